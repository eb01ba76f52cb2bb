"""Text for a terminal: control characters shown, never sent.

A TEXT value (PS3.3 Section C.17.3.2.1, VR UT), a person name or a file name can hold
C0 controls (ESC, BEL, CR, ...), DEL and C1 controls (U+0080 to U+009F, CSI and OSC
among them), which a terminal would obey: clear the screen, set the window title, hide
what was printed before. Every line srkit prints for people goes through
:func:`escape_control`, which writes each such character as a visible escape
(``\\x1b``, ``\\r``); DICOM line breaks (PS3.5 Section 6.1.3: CR LF, also seen as
LF, CR or LF CR) become lines of their own with :func:`text_lines`. Bytes that were
not UTF-8 in a file name (decoded by Python as lone surrogates) are shown as
``\\xNN`` too, since written back raw they could be C1 controls. Log lines of the
servers go through :class:`srkit.render.log_format.EscapingFormatter`. JSON outputs
need none of this: ``json.dumps`` escapes controls already.
"""

from __future__ import annotations

import re

__all__ = ["escape_control", "text_lines"]

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_BREAK = re.compile("\r\n|\n\r|\r|\n")


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_control(text: str) -> str:
    """``text`` with every C0 control, DEL, C1 control and lone surrogate written as a
    visible escape (``\\t``, ``\\n``, ``\\r``, ``\\xNN``); other characters unchanged.

    Applying it twice changes nothing more (backslashes are not escaped), so a line
    built from escaped parts may be escaped again as a whole.

    Parameters
    ----------
    text : str
        What is about to be printed.

    Returns
    -------
    str
        One line with no character a terminal would act on.
    """
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(_escaped, text)


def text_lines(text: str) -> list[str]:
    """The lines of a multi-line value, split at its line breaks (CR LF, LF CR, CR or
    LF), each escaped; line breaks at the end are dropped.

    Parameters
    ----------
    text : str
        A TEXT value or any string that may span lines.

    Returns
    -------
    list of str
        At least one line (``[""]`` for an empty value).
    """
    lines = _BREAK.split(text)
    while len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return [escape_control(line) for line in lines]
