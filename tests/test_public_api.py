"""The curated public API: every name in ``srkit.__all__`` exists and is documented."""

from __future__ import annotations

import srkit


def test_all_names_exist_and_are_public():
    assert len(srkit.__all__) == len(set(srkit.__all__))
    for name in srkit.__all__:
        assert hasattr(srkit, name), name
    public = {n for n in dir(srkit) if not n.startswith("_")}
    # submodules are reachable but not part of the curated list
    modules = {n for n in public if type(getattr(srkit, n)).__name__ == "module"}
    assert public - modules - set(srkit.__all__) == set()


def test_public_objects_have_docstrings():
    for name in srkit.__all__:
        obj = getattr(srkit, name)
        if callable(obj):
            assert obj.__doc__, f"{name} has no docstring"


def test_error_tree_has_one_root():
    for name in srkit.__all__:
        obj = getattr(srkit, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and not issubclass(obj, Warning):
            assert issubclass(obj, srkit.SrkitError), name
        if isinstance(obj, type) and issubclass(obj, Warning):
            assert issubclass(obj, srkit.SrkitWarning), name


def test_main_verbs_are_reexported_lazily():
    """``import srkit`` loads neither SQLAlchemy nor Jinja2; the verbs load on first use."""
    import subprocess
    import sys

    code = (
        "import sys, srkit; before = {'sqlalchemy', 'jinja2'} & set(sys.modules); "
        "srkit.Database, srkit.render_html, srkit.measurement_rows, srkit.dose_report; "
        "after = {'sqlalchemy', 'jinja2'} & set(sys.modules); print(sorted(before), sorted(after))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # nothing heavy before; the database verb brings SQLAlchemy (render_html loads Jinja2
    # only when it renders)
    assert out.stdout.split() == ["[]", "['sqlalchemy']"]
    from srkit.db import Database
    from srkit.templates.tid1500 import measurement_rows

    assert srkit.Database is Database
    assert srkit.measurement_rows is measurement_rows
