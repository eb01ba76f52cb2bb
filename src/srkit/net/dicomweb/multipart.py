"""``multipart/related`` bodies (RFC 2387) as DICOMweb uses them (PS3.18 Section 8.6.1.2).

Parsing is strict about the framing (boundary lines, header block, final boundary) and
never raises anything but :class:`MultipartError`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from srkit.errors import SrkitError

__all__ = [
    "End",
    "Headers",
    "MultipartError",
    "Part",
    "StreamParser",
    "content_type_params",
    "encode_part",
    "new_boundary",
    "parse",
]


class MultipartError(SrkitError):
    """The body or its Content-Type is not a well-formed ``multipart/related`` message."""


@dataclass(frozen=True, slots=True)
class Part:
    """One body part: lower-cased header names, and the content."""

    headers: dict[str, str]
    content: bytes

    @property
    def content_type(self) -> str:
        """The media type of the part without parameters (lower case); '' if absent."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def content_type_params(value: str) -> tuple[str, dict[str, str]]:
    """Split a Content-Type into its media type (lower case) and parameters
    (names lower case, quotes removed; RFC 9110 Section 8.3.1)."""
    media, *rest = _split_params(value)
    params: dict[str, str] = {}
    for item in rest:
        name, sep, val = item.partition("=")
        if not sep:
            continue
        val = val.strip()
        if len(val) >= 2 and val[0] == val[-1] == '"':
            val = val[1:-1].replace('\\"', '"')
        params[name.strip().lower()] = val
    return media.strip().lower(), params


def _split_params(value: str) -> list[str]:
    items: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    items.append("".join(current))
    return items


def _headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.split(b"\r\n"):
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise MultipartError(f"bad part header line {line[:60]!r}")
        headers[name.decode("latin-1").strip().lower()] = value.decode("latin-1").strip()
    return headers


def parse(body: bytes, boundary: str) -> list[Part]:
    """The parts of a ``multipart/related`` body (held in memory; :class:`StreamParser`
    reads one as it arrives).

    Raises
    ------
    MultipartError
        When the boundary never occurs, a part has no header block, or the closing
        boundary is missing.
    """
    parser = StreamParser(boundary)
    parts: list[Part] = []
    headers: dict[str, str] = {}
    content: list[bytes] = []
    for event in [*parser.feed(body), *parser.close()]:
        if isinstance(event, Headers):
            headers, content = event.headers, []
        elif isinstance(event, End):
            parts.append(Part(headers, b"".join(content)))
        else:
            content.append(bytes(event))
    return parts


@dataclass(frozen=True, slots=True)
class Headers:
    """Event of :class:`StreamParser`: a part begins, with these headers."""

    headers: dict[str, str]

    @property
    def content_type(self) -> str:
        """As :attr:`Part.content_type`."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass(frozen=True, slots=True)
class End:
    """Event of :class:`StreamParser`: the current part ended."""


Event = Headers | End | bytes
"""What :meth:`StreamParser.feed` yields: part headers, content bytes, part end."""

MAX_HEADERS = 1 << 16
"""Longest header block of a part (and preamble before the first boundary)."""


class StreamParser:
    """An incremental ``multipart/related`` parser: bytes in as they arrive, events
    out (:class:`Headers`, content ``bytes``, :class:`End`), the boundary found across
    chunk edges. Memory stays bounded by the chunk size plus the delimiter length
    (headers and preamble at most :data:`MAX_HEADERS`).

    Parameters
    ----------
    boundary : str
        The ``boundary`` parameter of the body's Content-Type (RFC 2046 Section 5.1.1).

    Raises
    ------
    MultipartError
        From :meth:`feed` or :meth:`close` when the framing is broken.
    """

    def __init__(self, boundary: str) -> None:
        if not boundary or len(boundary) > 200:
            raise MultipartError("missing or invalid boundary")
        self._delimiter = b"--" + boundary.encode("latin-1")
        self._marker = b"\r\n" + self._delimiter
        self._buf = bytearray()
        self._state = "preamble"

    @property
    def done(self) -> bool:
        """Whether the closing boundary was read."""
        return self._state == "done"

    def feed(self, chunk: bytes | bytearray | memoryview) -> Iterator[Event]:
        """The events that ``chunk`` completes."""
        if self._state == "done":
            return  # the epilogue is ignored
        self._buf += chunk
        while True:
            step = getattr(self, f"_{self._state}")()
            if step is None:
                return
            yield from step

    def close(self) -> Iterator[Event]:
        """End of the body: raises :class:`MultipartError` unless the closing
        boundary was read."""
        if self._state == "preamble":
            raise MultipartError("the boundary does not occur in the body")
        if self._state == "headers" and len(self._buf) > 2:
            raise MultipartError("part without the blank line ending its headers")
        if self._state != "done":
            raise MultipartError("the closing boundary is missing")
        return iter(())

    # each state: None (needs more bytes), or the events of one step
    def _preamble(self) -> list[Event] | None:
        buf, delimiter = self._buf, self._delimiter
        start = buf.find(delimiter)
        if start < 0:
            if len(buf) > MAX_HEADERS:
                raise MultipartError("the boundary does not occur in the body")
            return None
        if start > 0 and buf[start - 2 : start] != b"\r\n":
            raise MultipartError("the boundary does not occur in the body")
        del buf[: start + len(delimiter)]
        self._state = "delimited"
        return []

    def _delimited(self) -> list[Event] | None:
        buf = self._buf
        if len(buf) < 2:
            return None
        if buf[:2] == b"--":
            self._state = "done"
            buf.clear()
            return None
        eol = buf.find(b"\r\n")
        if eol < 0:
            if len(buf) > MAX_HEADERS:
                raise MultipartError("the closing boundary is missing")
            return None
        del buf[:eol]  # transport padding; the CRLF stays, the header search starts there
        self._state = "headers"
        return []

    def _headers(self) -> list[Event] | None:
        buf = self._buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEADERS:
                raise MultipartError("part without the blank line ending its headers")
            return None
        headers = _headers(bytes(buf[2:end])) if end > 0 else {}
        del buf[: end + 4]
        self._state = "content"
        return [Headers(headers)]

    def _content(self) -> list[Event] | None:
        buf, marker = self._buf, self._marker
        end = buf.find(marker)
        if end < 0:
            keep = len(marker) - 1
            if len(buf) <= keep:
                return None
            out = bytes(buf[: len(buf) - keep])
            del buf[: len(buf) - keep]
            return [out]  # the next round finds too few bytes and waits
        events: list[Event] = [bytes(buf[:end])] if end else []
        del buf[: end + len(marker)]
        self._state = "delimited"
        return [*events, End()]


def new_boundary() -> str:
    """A fresh random boundary."""
    return f"srkit-{secrets.token_hex(16)}"


def encode_part(boundary: str, content_type: str, content: bytes, location: str = "") -> bytes:
    """One part, with its leading boundary line (append ``--boundary--`` at the end)."""
    head = f"--{boundary}\r\nContent-Type: {content_type}\r\n"
    if location:
        head += f"Content-Location: {location}\r\n"
    return head.encode("latin-1") + b"\r\n" + content + b"\r\n"


def encode(boundary: str, parts: Iterable[tuple[str, bytes]]) -> Iterator[bytes]:
    """Chunks of a whole body from ``(content_type, content)`` pairs."""
    for content_type, content in parts:
        yield encode_part(boundary, content_type, content)
    yield f"--{boundary}--\r\n".encode("latin-1")
