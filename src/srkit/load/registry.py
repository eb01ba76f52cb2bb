"""The registry of loading plugins, by entry point group ``srkit.load_plugins``.

Another package adds a plugin by declaring, in its ``pyproject.toml``::

    [project.entry-points."srkit.load_plugins"]
    myplugin = "mypackage.module:MyPlugin"

where ``MyPlugin`` is a class (instantiated without arguments) with a ``name``, an
``examine(file_lists, headers)`` returning loadables and a ``load(loadable, **options)``.
srkit's own plugins are declared the same way; when srkit's package metadata is absent
(a source tree on ``PYTHONPATH``) the built-in table below stands in for them.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

from srkit.errors import SrkitError

if TYPE_CHECKING:
    from srkit.load.headers import HeaderCache
    from srkit.load.loadable import Loadable

__all__ = ["ENTRY_POINT_GROUP", "BUILTIN_PLUGINS", "LoadPlugin", "plugins", "get_plugin"]

ENTRY_POINT_GROUP = "srkit.load_plugins"

BUILTIN_PLUGINS: dict[str, str] = {
    "scalar": "srkit.load.scalar:ScalarVolumePlugin",
    "enhanced": "srkit.load.enhanced:EnhancedVolumePlugin",
    "parametric": "srkit.load.parametric:ParametricMapPlugin",
    "seg": "srkit.load.seg:SegmentationPlugin",
    "tid1500": "srkit.load.tid1500:MeasurementReportPlugin",
    "kos": "srkit.load.kos:KeyObjectSelectionPlugin",
    "registration": "srkit.load.registration:SpatialRegistrationPlugin",
    "rtstruct": "srkit.load.rtstruct:RTStructurePlugin",
}
"""srkit's plugins, as declared in its ``pyproject.toml`` (name -> ``module:class``)."""


class LoadPlugin(Protocol):
    """What a loading plugin provides."""

    name: str

    def examine(
        self, file_lists: Sequence[Sequence[str]], headers: HeaderCache
    ) -> list[Loadable]: ...

    def load(self, loadable: Loadable, **options: Any) -> Any: ...


_cache: dict[str, LoadPlugin] | None = None


def _instantiate(name: str, target: Any) -> LoadPlugin:
    plugin: LoadPlugin = target() if isinstance(target, type) else target
    if not getattr(plugin, "name", None):
        plugin.name = name
    return plugin


def _resolve(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def plugins(*, reload: bool = False) -> dict[str, LoadPlugin]:
    """Every registered plugin by name: entry points first, built-ins filled in.

    Parameters
    ----------
    reload : bool
        Read the entry points again (after installing a package).

    Returns
    -------
    dict
        Plugin name -> plugin instance, built-ins first in their declared order.
    """
    global _cache
    if _cache is not None and not reload:
        return _cache
    found: dict[str, Any] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found[ep.name] = ep.load()
        except Exception as exc:  # a broken third-party plugin must not stop loading
            import warnings

            from srkit.errors import SrkitWarning

            warnings.warn(
                f"load plugin {ep.name} ({ep.value}) could not be imported: {exc}",
                SrkitWarning,
                stacklevel=2,
            )
    out: dict[str, LoadPlugin] = {}
    for name, spec in BUILTIN_PLUGINS.items():
        out[name] = _instantiate(name, found.pop(name, None) or _resolve(spec))
    for name, target in found.items():
        out[name] = _instantiate(name, target)
    _cache = out
    return out


def get_plugin(name: str) -> LoadPlugin:
    """The plugin of that name; :class:`SrkitError` naming the known ones otherwise."""
    table = plugins()
    if name not in table:
        raise SrkitError(f"no load plugin named {name!r} (known: {', '.join(table)})")
    return table[name]
