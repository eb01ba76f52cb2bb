"""Build srkit, with the optional compiled reader (``srkit.codec._fastparse_c``, the
parser, and ``srkit.codec._tree_c``, the content tree builder).

Each C extension is Cython's compilation of one source file,
``src/srkit/codec/_fastparse.py`` and ``src/srkit/codec/_tree.py`` (Cython's pure Python
mode: the same file is the pure-Python fallback). It is optional: where
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
CODEC = HERE / "src" / "srkit" / "codec"
COMPILED = {
    "srkit.codec._fastparse_c": CODEC / "_fastparse.py",
    "srkit.codec._tree_c": CODEC / "_tree.py",
}
"""Extension name -> the pure-Python-mode source Cython compiles into it."""


class OptionalBuildExt(build_ext):
    """Cythonize and compile the reader; a failure is a warning, not a failed install."""

    def run(self) -> None:
        try:
            for ext in self.extensions:
                if ext.name in COMPILED:
                    ext.sources = self._cythonized(ext.name)
            super().run()
        except Exception as exc:  # no Cython, no compiler, a compile error
            self._skip(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._skip(exc)

    def _cythonized(self, name: str) -> list[str]:
        from Cython.Build import cythonize

        # the extension's module name is its file's: compile a copy named after it
        work = Path(self.build_temp) / "cython" / "srkit" / "codec"
        work.mkdir(parents=True, exist_ok=True)
        copy = work / (name.rsplit(".", 1)[1] + ".py")
        shutil.copyfile(COMPILED[name], copy)
        ext = Extension(name, [str(copy)])
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
            f"warning: srkit's compiled reader was not built ({exc}); "
            "srkit will use the pure-Python reader",
            file=sys.stderr,
        )
        self.extensions = []


setup(
    ext_modules=[Extension(name, [str(source)]) for name, source in COMPILED.items()],
    cmdclass={"build_ext": OptionalBuildExt},
)
