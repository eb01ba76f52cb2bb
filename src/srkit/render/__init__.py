"""Documents for people (text, HTML) and as plain records."""

from srkit.render.records import code_dict, document_records, item_record, item_value
from srkit.render.text import dump_lines

__all__ = ["code_dict", "document_records", "dump_lines", "item_record", "item_value"]
