"""The inputs of an extraction, listed: local paths, folders (walked, sorted), glob
patterns, manifest files (one path or URL a line, IDC's s5cmd manifests included:
``cp s3://bucket/prefix/* .``) and URLs that fsspec opens (``s3://``, ``gs://``,
``http(s)://``; folders and globs of buckets too), each with the size and modification
time that ``--resume`` compares.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from typing import Any

from srkit.errors import SrkitError
from srkit.extract.dataset import Item
from srkit.extract.kinds import is_url, storage_options

__all__ = ["MANIFEST_SUFFIXES", "list_items", "manifest_lines"]

MANIFEST_SUFFIXES = (".txt", ".s5cmd", ".manifest", ".lst")
"""A named file with one of these endings is a manifest: one input a line."""

_GLOB = set("*?[")


def manifest_lines(text: str) -> list[str]:
    """The inputs a manifest names: one path or URL a line; ``#`` comments and blank
    lines ignored; an s5cmd line ``cp SOURCE DEST`` names its SOURCE."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if words[0] == "cp" and len(words) >= 2:
            sources = [w for w in words[1:] if not w.startswith("-")]
            if sources:
                out.append(sources[0].strip("\"'"))
            continue
        out.append(line)
    return out


def _stat_item(path: str, named: bool) -> Item:
    try:
        st = os.stat(path)
    except OSError:
        return Item(path, None, None, named)
    return Item(path, st.st_size, st.st_mtime, named)


def _local(path: str, named: bool) -> Iterator[Item]:
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                yield _stat_item(os.path.join(root, name), False)
    elif any(c in _GLOB for c in path) and not os.path.exists(path):
        matches = sorted(glob.glob(path, recursive=True))
        if not matches:
            raise SrkitError("no file matches", source=path)
        for match in matches:
            yield from _local(match, True) if os.path.isdir(match) else [_stat_item(match, True)]
    else:
        yield _stat_item(path, named)


def _mtime(info: dict[str, Any]) -> float | None:
    for key in ("LastModified", "mtime", "updated", "last_modified", "created"):
        value = info.get(key)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return float(value.timestamp())
        if isinstance(value, int | float):
            return float(value)
        try:
            from datetime import datetime

            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
        except ValueError:
            continue
    return None


def _remote(url: str, options: tuple[tuple[str, Any], ...]) -> Iterator[Item]:
    import fsspec
    from fsspec.core import url_to_fs

    fs, path = url_to_fs(url, **storage_options(url, options))
    protocol = url.partition("://")[0]

    def name(p: str) -> str:
        return p if "://" in p else f"{protocol}://{p}"

    try:
        if any(c in _GLOB for c in path):
            found = fs.glob(path, detail=True)
            if not found:
                raise SrkitError("no object matches", source=url)
            entries = sorted(found.items())
        elif protocol in ("http", "https"):
            entries = [(url, fs.info(url))]
        else:
            info = fs.info(path)
            if info.get("type") == "directory":
                entries = sorted(fs.find(path, detail=True).items())
            else:
                entries = [(path, info)]
    except (OSError, FileNotFoundError, ValueError) as exc:  # listed as a failing input
        del exc
        yield Item(url, None, None, True)
        return
    for p, info in entries:
        if info.get("type") == "directory":
            continue
        size = info.get("size")
        yield Item(
            name(p) if protocol not in ("http", "https") else p,
            None if size is None else int(size),
            _mtime(info),
            True,
        )
    del fsspec


def list_items(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    options: tuple[tuple[str, Any], ...] = (),
) -> Iterator[Item]:
    """Every input named, expanded: folders walked, globs matched, manifests read,
    URLs listed. An input that cannot be listed is still yielded (without size), so
    that reading it names the failure in ``errors``."""
    seen: set[str] = set()
    for raw in inputs:
        text = os.fspath(raw)
        for item in _expand(text, options):
            if item.path not in seen:
                seen.add(item.path)
                yield item


def _expand(text: str, options: tuple[tuple[str, Any], ...]) -> Iterator[Item]:
    if is_url(text):
        yield from _remote(text, options)
        return
    if text.lower().endswith(MANIFEST_SUFFIXES) and os.path.isfile(text):
        with open(text, encoding="utf-8") as f:
            lines = manifest_lines(f.read())
        base = os.path.dirname(text)
        for line in lines:
            if not is_url(line) and not os.path.isabs(line):
                line = os.path.join(base, line)
            yield from _expand(line, options)
        return
    yield from _local(text, True)
