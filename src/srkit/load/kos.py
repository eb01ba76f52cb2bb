"""The Key Object Selection plugin: the key images of a KOS document (PS3.3 A.35.4,
PS3.16 TID 2010).

The loadable names the referenced images found among the examined files (which the
image plugins offer as their own loadables); those not found are a
``referenced_instances_absent`` warning. Loading gives the :class:`KeyImages`: the
document title and, per key image, its SOP Instance UID, series, frames and file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srkit.load.headers import HeaderCache
from srkit.load.loadable import Loadable, LoadWarning

__all__ = ["KeyObjectSelectionPlugin", "KeyImages", "KEY_OBJECT_SELECTION"]

KEY_OBJECT_SELECTION = "1.2.840.10008.5.1.4.1.1.88.59"


@dataclass(slots=True, kw_only=True)
class KeyImages:
    """The key images of one KOS document."""

    title: str
    images: list[dict[str, Any]]
    name: str = ""
    warnings: tuple[LoadWarning, ...] = ()
    description: str = ""
    files: list[str] = field(default_factory=list)

    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        doc = {"title": self.title, "description": self.description, "images": self.images}
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        return path


def _key_images(path: str) -> tuple[str, str, list[dict[str, Any]]] | None:
    import warnings

    from srkit.codec.reader import read
    from srkit.errors import SrkitError, SrkitWarning
    from srkit.model.items import ImageContentItem, TextContentItem

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SrkitWarning)
            doc = read(path)
    except SrkitError:
        return None
    series_of = {
        ref.sop_instance_uid: s.series_instance_uid
        for study in doc.evidence
        for s in study.series
        for ref in s.instances
    }
    title = doc.root.concept.meaning if doc.root.concept else ""
    description = ""
    images = []
    for pos in doc.walk():
        item = pos.item
        if isinstance(item, TextContentItem) and not description:
            description = str(getattr(item, "value", "") or "")
        if isinstance(item, ImageContentItem) and item.referenced is not None:
            uid = item.referenced.sop_instance_uid
            images.append(
                {
                    "sop_instance_uid": uid,
                    "sop_class_uid": item.referenced.sop_class_uid,
                    "series_instance_uid": series_of.get(uid, ""),
                    "frames": list(item.frames) if item.frames else None,
                }
            )
    return str(title), description, images


class KeyObjectSelectionPlugin:
    """KOS -> key images."""

    name = "kos"

    def examine(self, file_lists: Sequence[Sequence[str]], headers: HeaderCache) -> list[Loadable]:
        by_uid = {h.sop_instance_uid: h.path for h in headers.headers.values()}
        out = []
        for files in file_lists:
            for h in headers.of(str(f) for f in files):
                if h.sop_class_uid != KEY_OBJECT_SELECTION:
                    continue
                found = _key_images(h.path)
                if found is None:
                    continue
                title, _desc, images = found
                uids = [im["sop_instance_uid"] for im in images]
                absent = [u for u in uids if u not in by_uid]
                warnings = []
                if absent:
                    warnings.append(
                        LoadWarning(
                            code="referenced_instances_absent",
                            message=f"{h.path}: {len(absent)} of {len(uids)} key images are "
                            f"not among the files (first {absent[0]})",
                            measured={"absent": absent},
                            files=(h.path,),
                        )
                    )
                out.append(
                    Loadable(
                        files=(h.path,),
                        name=f"{title or 'Key Object Selection'} ({len(uids)} key images)",
                        tooltip="Key Object Selection",
                        warnings=tuple(warnings),
                        confidence=0.9,
                        plugin=self.name,
                        series_uid=h.series_uid,
                        extra={"referenced_files": [by_uid[u] for u in uids if u in by_uid]},
                    )
                )
        return out

    def load(self, loadable: Loadable, **_: Any) -> KeyImages:
        from srkit.load.pixels import LoadError

        found = _key_images(loadable.files[0])
        if found is None:
            raise LoadError(
                "not a readable Key Object Selection document", source=loadable.files[0]
            )
        title, description, images = found
        return KeyImages(
            title=title,
            description=description,
            images=images,
            name=loadable.name,
            warnings=tuple(loadable.warnings),
            files=list(loadable.extra.get("referenced_files", [])),
        )
