"""Equality, hashing and ``repr`` shared by the model's frozen dataclasses.

A frozen dataclass gets six methods generated from source at import time (``__init__``,
``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``), each one a
call to :func:`compile`; for the thirty classes of the model that was a fifth of
``srkit dump``'s start-up. The classes of :mod:`srkit.model.items` and
:mod:`srkit.model.document` are declared ``eq=False, repr=False`` and inherit these
three from :class:`ValueObject` instead, written once and driven by
:func:`dataclasses.fields`, with the semantics of the generated ones:

- ``a == b`` when both are of the same class and their compared fields (those without
  ``compare=False``) are equal, in field order; another class gives
  ``NotImplemented``;
- ``hash`` is the hash of the same tuple, so equal objects hash alike;
- ``repr`` is ``Class(name=value, ...)`` over the fields without ``repr=False``.

The tests compare these with the methods :func:`dataclasses.dataclass` generates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, cast

__all__ = ["ValueObject"]

_KEYS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}
_REPR_FIELDS: dict[type, tuple[str, ...]] = {}


def _key_of(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """The function giving the tuple of ``cls``'s compared field values."""
    key = _KEYS.get(cls)
    if key is None:
        names = tuple(f.name for f in dataclasses.fields(cls) if f.compare)

        def key(obj: Any, names: tuple[str, ...] = names) -> tuple[Any, ...]:
            return tuple([getattr(obj, name) for name in names])

        _KEYS[cls] = key
    return key


class ValueObject:
    """The base of a frozen model dataclass declared with ``eq=False, repr=False``."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        key = _key_of(self.__class__)
        return key(self) == key(other)

    def __hash__(self) -> int:
        return hash(_key_of(self.__class__)(self))

    def __repr__(self) -> str:
        cls = self.__class__
        names = _REPR_FIELDS.get(cls)
        if names is None:
            fields = dataclasses.fields(cast(Any, cls))
            names = _REPR_FIELDS[cls] = tuple(f.name for f in fields if f.repr)
        parts = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{cls.__qualname__}({parts})"
