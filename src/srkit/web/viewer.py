"""The OHIF viewer (npm ``@ohif/viewer@4.12.51``, its standalone build) served under
``/viewer`` by ``srkit serve --viewer``, configured for srkit's DICOMweb on the same
origin: an ``app-config.js`` srkit writes (QIDO-RS, WADO-RS and WADO-URI roots at
``/dicomweb``, ``routerBasename`` ``/viewer``), the package's ``index.html`` with its
scripts under ``/viewer`` and without the polyfill script it loads from the internet,
and ``index.html`` for every other path (the viewer's own routes, ``/viewer/<study>``).

srkit does not ship the viewer: :func:`find_viewer` looks for it where ``--viewer-dir``
or ``$SRKIT_VIEWER_DIR`` says (its ``dist`` folder, the package folder, or an npm prefix).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from srkit.errors import SrkitError

__all__ = ["ENV", "OHIF_PACKAGE", "app_config", "find_viewer", "index_html", "viewer_routes"]

ENV = "SRKIT_VIEWER_DIR"
"""Environment variable naming where the viewer is installed."""

OHIF_PACKAGE = "@ohif/viewer@4.12.51"
"""The viewer srkit is configured and tested with."""

PREFIX = "/viewer"

ASSET_SUFFIXES = frozenset(
    {"js", "css", "map", "wasm", "png", "svg", "ico", "json", "woff", "woff2"}
)
"""A missing file with these suffixes is a 404, not the viewer's page (any other path
is one of the viewer's routes, such as ``/viewer/<Study Instance UID>``)."""

INSTALL_HINT = (
    f"install it with `npm pack {OHIF_PACKAGE}` and `tar xzf ohif-viewer-*.tgz` in a folder "
    f"DIR, then give --viewer-dir DIR or set ${ENV}"
)


def _dist(folder: Path) -> Path | None:
    for candidate in (
        folder,
        folder / "dist",
        folder / "package" / "dist",
        folder / "node_modules" / "@ohif" / "viewer" / "dist",
    ):
        if (candidate / "index.html").is_file() and (candidate / "index.umd.js").is_file():
            return candidate.resolve()
    return None


def find_viewer(given: str | os.PathLike[str] | None = None) -> Path:
    """The viewer's ``dist`` folder (``index.html`` and ``index.umd.js``), from
    ``given`` or ``$SRKIT_VIEWER_DIR``. SrkitError saying how to install it otherwise."""
    where = given if given is not None else os.environ.get(ENV)
    if not where:
        raise SrkitError(f"the OHIF viewer is not installed: {INSTALL_HINT}")
    found = _dist(Path(where).expanduser())
    if found is None:
        raise SrkitError(
            f"{where}: no OHIF viewer there (no dist/index.html and index.umd.js); {INSTALL_HINT}"
        )
    return found


NATIVE_FRAMES_SHIM = """\
// The standalone build cannot load its in-browser image decoders (their worker chunks
// are not in the package): ask for frames as native pixels, which srkit decompresses
// (PS3.18 8.7.3), instead of transfer-syntax=* (the stored, maybe compressed, bytes).
(function () {
  var setRequestHeader = XMLHttpRequest.prototype.setRequestHeader;
  XMLHttpRequest.prototype.setRequestHeader = function (name, value) {
    if (String(name).toLowerCase() === "accept" &&
        /type="?application\\/octet-stream"?/.test(value)) {
      value = value.replace("transfer-syntax=*", "transfer-syntax=1.2.840.10008.1.2.1");
    }
    return setRequestHeader.call(this, name, value);
  };
})();
"""


def app_config(dicomweb: str = "/dicomweb", basename: str = PREFIX) -> str:
    """The viewer's ``app-config.js``: one DICOMweb server, srkit's, on the page's own
    origin (PS3.18 QIDO-RS, WADO-RS and WADO-URI roots), and the viewer's frame
    requests made to ask for native pixels (:data:`NATIVE_FRAMES_SHIM`)."""
    server = {
        "name": "srkit",
        "qidoSupportsIncludeField": True,
        "imageRendering": "wadors",
        "thumbnailRendering": "wadors",
        "enableStudyLazyLoad": True,
        "supportsFuzzyMatching": True,
    }
    fields = "".join(f"        {json.dumps(k)}: {json.dumps(v)},\n" for k, v in server.items())
    return (
        "// written by srkit: the OHIF viewer on srkit's DICOMweb (same origin)\n"
        f"{NATIVE_FRAMES_SHIM}"
        f"var srkitRoot = window.location.origin + {json.dumps(dicomweb)};\n"
        "window.config = {\n"
        f"  routerBasename: {json.dumps(basename)},\n"
        "  showStudyList: true,\n"
        "  filterQueryParam: false,\n"
        "  servers: {\n"
        "    dicomWeb: [\n"
        "      {\n"
        f"{fields}"
        "        qidoRoot: srkitRoot,\n"
        "        wadoRoot: srkitRoot,\n"
        '        wadoUriRoot: srkitRoot + "/wado",\n'
        "      },\n"
        "    ],\n"
        "  },\n"
        "};\n"
    )


_SCRIPT_SRC = re.compile(r'src="/(app-config\.js|index\.umd\.js)"')
_REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>", re.S)


def index_html(dist: Path) -> str:
    """The package's ``index.html`` with its scripts under ``/viewer``, without
    scripts from other sites (the polyfill.io tag: no internet is needed) and with an
    empty icon."""
    text = (dist / "index.html").read_text(encoding="utf-8")
    text = _REMOTE_SCRIPT.sub("", text)
    if 'rel="icon"' not in text:  # no request for a /favicon.ico srkit does not have
        text = text.replace("<head>", '<head>\n  <link rel="icon" href="data:," />', 1)
    return _SCRIPT_SRC.sub(lambda m: f'src="{PREFIX}/{m.group(1)}"', text)


def viewer_routes(app: Any, dist: str | os.PathLike[str], dependencies: Sequence[Any]) -> None:
    """``/viewer``: the package's files, the generated ``app-config.js``, and
    ``index.html`` for any other path (the viewer routes on the client)."""
    from fastapi import HTTPException
    from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

    root = Path(dist).resolve()
    page = index_html(root)
    config = app_config()

    def home() -> Response:
        return RedirectResponse(PREFIX + "/")

    def app_config_js() -> Response:
        return Response(config, media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    def files(path: str = "") -> Response:
        if path and path != "index.html":
            target = (root / path).resolve()
            if target.is_relative_to(root) and target.is_file():
                return FileResponse(target)
            if path.rsplit(".", 1)[-1].lower() in ASSET_SUFFIXES:
                raise HTTPException(404, "no such file in the viewer")
        return HTMLResponse(page)

    deps = list(dependencies)
    app.add_api_route(PREFIX, home, methods=["GET"], dependencies=deps, include_in_schema=False)
    app.add_api_route(PREFIX + "/app-config.js", app_config_js, methods=["GET"], dependencies=deps)
    app.add_api_route(PREFIX + "/", files, methods=["GET"], dependencies=deps)
    app.add_api_route(PREFIX + "/{path:path}", files, methods=["GET"], dependencies=deps)
