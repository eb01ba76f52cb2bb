"""The load layer imports only the layers below it, and nothing heavy on import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import srkit.load

ALLOWED = (
    "srkit.load",
    "srkit.codec",
    "srkit.model",
    "srkit.templates",
    "srkit.errors",
    "srkit.diagnostics",
    "srkit.atomic",
)


def test_load_imports_only_lower_layers():
    folder = Path(srkit.load.__file__).parent
    seen = {}
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name.startswith("srkit"):
                    seen.setdefault(name, path.name)
    upward = {n: f for n, f in seen.items() if not n.startswith(ALLOWED)}
    assert upward == {}
    assert "srkit.templates.tid1500" in seen  # the TID 1500 plugin reuses the reader


def test_importing_srkit_load_is_light():
    # (pydicom and NumPy come with ``import srkit`` itself, through the codec)
    code = (
        "import sys, srkit.load\n"
        "print(sorted(m for m in ('nibabel', 'highdicom', 'srkit.load.geometry',"
        " 'srkit.load.volume', 'srkit.load.nifti', 'srkit.load.seg') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
