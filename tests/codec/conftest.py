"""Every codec test runs on both parsers: the compiled one and the pure-Python one.

``SRKIT_PURE_PYTHON=1`` (the second pass of ``.ci/run``) runs them on the pure-Python
parser only. Where the extension is not built, the compiled pass is a skip locally
and a failure under ``CI=true`` (``pip install`` builds it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from srkit.codec import fastparse
from tests.conftest import skip_or_fail

PURE_FORCED = os.environ.get("SRKIT_PURE_PYTHON", "").strip() not in ("", "0")
PARSERS = ["pure-python"] if PURE_FORCED else ["compiled", "pure-python"]


@pytest.fixture(scope="module", autouse=True, params=PARSERS)
def parser(request: pytest.FixtureRequest) -> Iterator[str]:
    """The parser the test runs on (``srkit.codec.fastparse.use``)."""
    name: str = request.param
    if name == "compiled" and not fastparse.COMPILED_AVAILABLE:
        skip_or_fail("the compiled parser is not built (python3 setup.py build_ext --inplace)")
    previous = fastparse.use(name)
    yield name
    fastparse.use(previous)
