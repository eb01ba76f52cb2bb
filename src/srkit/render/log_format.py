"""Log lines of the servers with their control characters escaped.

Kept apart from :mod:`srkit.render.escape` so that the commands that only print
(``srkit dump``) do not import :mod:`logging` at start-up.
"""

from __future__ import annotations

import logging

from srkit.render.escape import escape_control, text_lines

__all__ = ["EscapingFormatter"]


class EscapingFormatter(logging.Formatter):
    """A logging formatter whose output has its control characters escaped (a UID or
    an error message from a received data set cannot drive the server's terminal, nor
    forge a log line: the message stays one line); the line breaks of a traceback are
    kept.

    Parameters
    ----------
    inner : logging.Formatter, optional
        The formatter whose output is escaped (the default formatter when None).
    """

    def __init__(self, inner: logging.Formatter | None = None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        """The inner formatter's text: the message on one line, each line escaped."""
        safe = logging.makeLogRecord(record.__dict__)
        safe.msg, safe.args = escape_control(record.getMessage()), None
        return "\n".join(text_lines(self.inner.format(safe)))
