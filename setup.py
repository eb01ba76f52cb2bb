"""Build srkit, with the optional compiled parser (``srkit.codec._fastparse_c``).

The C extension is Cython's compilation of ``src/srkit/codec/_fastparse.py`` (Cython's
pure Python mode: the same file is the pure-Python fallback). It is optional: where
Cython or a C compiler is missing, or the compile fails, the build says so and goes on,
and srkit runs the pure-Python parser (``srkit --version`` tells which is active).

    python3 setup.py build_ext --inplace   # in a work tree
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "src" / "srkit" / "codec" / "_fastparse.py"
NAME = "srkit.codec._fastparse_c"


class OptionalBuildExt(build_ext):
    """Cythonize and compile the parser; a failure is a warning, not a failed install."""

    def run(self) -> None:
        try:
            for ext in self.extensions:
                if ext.name == NAME:
                    ext.sources = self._cythonized()
            super().run()
        except Exception as exc:  # no Cython, no compiler, a compile error
            self._skip(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._skip(exc)

    def _cythonized(self) -> list[str]:
        from Cython.Build import cythonize

        # the extension's module name is its file's: compile a copy named after it
        work = Path(self.build_temp) / "cython" / "srkit" / "codec"
        work.mkdir(parents=True, exist_ok=True)
        copy = work / "_fastparse_c.py"
        shutil.copyfile(SOURCE, copy)
        ext = Extension(NAME, [str(copy)])
        return list(
            cythonize(
                [ext],
                compiler_directives={
                    "language_level": 3,
                    "boundscheck": False,
                    "wraparound": False,
                    "binding": False,
                },
                quiet=True,
            )[0].sources
        )

    def _skip(self, exc: BaseException) -> None:
        print(
            f"warning: srkit's compiled parser was not built ({exc}); "
            "srkit will use the pure-Python parser",
            file=sys.stderr,
        )
        self.extensions = []


setup(ext_modules=[Extension(NAME, [str(SOURCE)])], cmdclass={"build_ext": OptionalBuildExt})
