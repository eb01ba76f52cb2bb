"""``multipart/related`` bodies (RFC 2387) as DICOMweb uses them (PS3.18 Section 8.6.1.2).

Parsing is strict about the framing (boundary lines, header block, final boundary) and
never raises anything but :class:`MultipartError`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from srkit.errors import SrkitError

__all__ = ["MultipartError", "Part", "content_type_params", "encode_part", "parse", "new_boundary"]


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
    """The parts of a ``multipart/related`` body.

    Raises
    ------
    MultipartError
        When the boundary never occurs, a part has no header block, or the closing
        boundary is missing.
    """
    if not boundary or len(boundary) > 200:
        raise MultipartError("missing or invalid boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0 or (start > 0 and body[start - 2 : start] != b"\r\n"):
        raise MultipartError("the boundary does not occur in the body")
    parts: list[Part] = []
    pos = start + len(delimiter)
    marker = b"\r\n" + delimiter
    while True:
        if body[pos : pos + 2] == b"--":
            return parts
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            break
        if body[eol : eol + 4] == b"\r\n\r\n":
            head_end, headers = eol, {}
        else:
            head_end = body.find(b"\r\n\r\n", eol)
            if head_end < 0:
                raise MultipartError("part without the blank line ending its headers")
            headers = _headers(body[eol + 2 : head_end])
        end = body.find(marker, head_end + 4)
        if end < 0:
            break
        parts.append(Part(headers, body[head_end + 4 : end]))
        pos = end + len(marker)
    raise MultipartError("the closing boundary is missing")


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
