"""The attributes the index keeps (:mod:`srkit.model.attributes`, defined once in the
model's vocabulary), under the name the database layer has always imported them by."""

from __future__ import annotations

from srkit.model.attributes import ATTRIBUTES, BY_LEVEL, FILE_META, INTEGER_COLUMNS, Attribute

__all__ = ["Attribute", "ATTRIBUTES", "BY_LEVEL", "FILE_META", "INTEGER_COLUMNS"]
