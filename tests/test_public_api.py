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
