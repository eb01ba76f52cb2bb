"""Documents for people (text, HTML) and as plain records.

The names below are imported from their modules when first asked for, so that a
command importing one renderer (``srkit dump`` imports :mod:`srkit.render.text` and
:mod:`srkit.render.escape`) does not import the others (:mod:`json` among them).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from srkit.render.records import code_dict, document_records, item_record, item_value
    from srkit.render.text import dump_lines

__all__ = ["code_dict", "document_records", "dump_lines", "item_record", "item_value"]

_HOMES = {
    "code_dict": "records",
    "document_records": "records",
    "item_record": "records",
    "item_value": "records",
    "dump_lines": "text",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"srkit.render.{home}"), name)
