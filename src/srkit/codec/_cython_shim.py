"""The few names of Cython's ``cython`` module that :mod:`srkit.codec._fastparse` uses.

``_fastparse`` is written in Cython's pure Python mode: compiled by Cython it is the
C extension ``srkit.codec._fastparse_c``; run as it is, it is the pure-Python
parser. Cython is needed only to build the extension, so where it is not
installed, these stand-ins make the decorators and types do nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F")

compiled = False

Py_ssize_t = int
uint = int
bint = bool
p_const_uchar = bytes
p_const_char = bytes


def cfunc(fn: F) -> F:
    return fn


inline = cfunc
cclass = cfunc
final = cfunc
ccall = cfunc


def exceptval(*args: Any, **kwargs: Any) -> Callable[[F], F]:
    return cfunc


def cast(kind: Any, value: F) -> F:
    return value


def declare(kind: Any, value: Any = None, **kwargs: Any) -> Any:
    return value
