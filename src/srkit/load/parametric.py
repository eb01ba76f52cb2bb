"""The parametric map plugin: a float volume with its quantity and units (PS3.3 A.75,
C.7.6.16.2.11 Real World Value Mapping).

Frames and geometry as the enhanced multi-frame plugin reads them; the values are the
stored (float) values through the Real World Value Mapping (slope and intercept), the
units its Measurement Units Code Sequence (UCUM) and the quantity its Quantity Definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from srkit.load.enhanced import EnhancedVolumePlugin, _group
from srkit.load.headers import HeaderCache
from srkit.load.loadable import Loadable

__all__ = ["ParametricMapPlugin", "PARAMETRIC_MAP", "real_world_mapping"]

PARAMETRIC_MAP = "1.2.840.10008.5.1.4.1.1.30"


def real_world_mapping(ds: Any, frame: int = 0) -> dict[str, Any]:
    """Slope, intercept, units and quantity of the first mapping of a frame (0-based)."""
    item = _group(ds, frame, "RealWorldValueMappingSequence")
    if item is None:
        return {"slope": 1.0, "intercept": 0.0, "units": None, "quantity": None, "label": ""}
    units = item.get("MeasurementUnitsCodeSequence")
    quantity = None
    for q in item.get("QuantityDefinitionSequence", []) or []:
        if q.get("ConceptCodeSequence"):
            c = q.ConceptCodeSequence[0]
            quantity = {
                "value": str(c.CodeValue),
                "scheme": str(c.CodingSchemeDesignator),
                "meaning": str(c.CodeMeaning),
            }
    return {
        "slope": float(item.get("RealWorldValueSlope", 1.0)),
        "intercept": float(item.get("RealWorldValueIntercept", 0.0)),
        "units": {
            "value": str(units[0].CodeValue),
            "scheme": str(units[0].CodingSchemeDesignator),
            "meaning": str(units[0].CodeMeaning),
        }
        if units
        else None,
        "quantity": quantity,
        "label": str(item.get("LUTLabel", "")),
    }


class ParametricMapPlugin(EnhancedVolumePlugin):
    """Parametric Map -> float volume with quantity and units."""

    name = "parametric"
    sop_classes = (PARAMETRIC_MAP,)
    real_world = True

    def examine(self, file_lists: Sequence[Sequence[str]], headers: HeaderCache) -> list[Loadable]:
        """One loadable per parametric map, named by its quantity."""
        from dataclasses import replace

        out = []
        for item in super().examine(file_lists, headers):
            rwvm = real_world_mapping(headers.headers[item.files[0]].dataset)
            quantity = (rwvm["quantity"] or {}).get("meaning") or rwvm["label"] or "Parametric map"
            out.append(
                replace(
                    item,
                    name=f"{quantity} ({item.name})",
                    confidence=0.9,
                    extra={**item.extra, "quantity": rwvm["quantity"], "units": rwvm["units"]},
                )
            )
        return out

    def load(self, loadable: Loadable, **options: Any) -> Any:
        """The float32 :class:`~srkit.load.volume.Volume` of real-world values."""
        from pydicom import dcmread

        options["dtype"] = "float32"
        volume = super().load(loadable, **options)
        ds = dcmread(loadable.files[0], stop_before_pixels=True)
        first = real_world_mapping(ds, volume.meta["SrkitFrameNumbers"][0] - 1)
        volume.units = (first["units"] or {}).get("value", "")
        volume.meta["SrkitQuantity"] = first["quantity"]
        volume.meta["SrkitUnitsCode"] = first["units"]
        return volume
