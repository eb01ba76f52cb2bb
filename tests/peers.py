"""Reference peers as child processes: Orthanc and DCMTK ``storescp``.

Used by the tests and by ``benchmarks/bench_net.py`` to talk to real implementations.
Each process gets its own configuration, its own folders and free high ports on
127.0.0.1; it is stopped by its PID. DCMTK and Orthanc run with ``TCP_NODELAY=1``
(Debian's DCMTK otherwise waits about 40 ms per exchange).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = [
    "ORTHANC",
    "STORESCP",
    "Orthanc",
    "Storescp",
    "dicomweb_plugin",
    "fresh_copies",
    "free_port",
    "peer_env",
    "wait_for_port",
]

ORTHANC = "/usr/sbin/Orthanc"
STORESCP = "/usr/bin/storescp"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""How the browser tests start Debian's Chromium (Playwright, no browser download): as
root, headless, with no connection of its own to the closed network."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def peer_env() -> dict[str, str]:
    """The environment for DCMTK and Orthanc: ours plus ``TCP_NODELAY=1``."""
    return {**os.environ, "TCP_NODELAY": "1"}


def wait_for_port(port: int, timeout: float = 20.0, host: str = "127.0.0.1") -> None:
    """Wait until something listens on ``host:port``; TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")


def dicomweb_plugin() -> str | None:
    """Path of Orthanc's DICOMweb plugin (Debian ``orthanc-dicomweb``), if installed."""
    for candidate in (
        "/usr/share/orthanc/plugins/libOrthancDicomWeb.so",
        "/usr/lib/orthanc/libOrthancDicomWeb.so",
    ):
        if Path(candidate).exists():
            return candidate
    try:
        out = subprocess.run(
            ["dpkg", "-L", "orthanc-dicomweb"], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        return None
    for line in out.splitlines():
        if "DicomWeb" in line and ".so" in line and Path(line).is_file():
            return line
    return None


def fresh_copies(
    sources: list[Path], count: int, out: Path, *, per_series: int = 20, per_study: int = 2
) -> list[Path]:
    """Write ``count`` copies of real files with fresh UIDs (for volume tests).

    Every ``per_series`` files start a new series, every ``per_study`` series a new
    study; each study copies one source (in turn), so a study keeps one patient.
    """
    from pydicom import dcmread
    from pydicom.uid import generate_uid

    templates = [dcmread(p) for p in sources]
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    study = series = ""
    for i in range(count):
        if i % (per_series * per_study) == 0:
            study = generate_uid()
        if i % per_series == 0:
            series = generate_uid()
        ds = templates[(i // (per_series * per_study)) % len(templates)]
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = series
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = i % per_series + 1
        path = out / f"{i:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


class Orthanc:
    """An Orthanc server in a folder of its own.

    Parameters
    ----------
    workdir : Path
        Folder for the configuration, storage, index and log.
    modalities : dict, optional
        AE title -> ``(host, port)`` of peers Orthanc may send to (C-MOVE).
    aet : str
        Orthanc's own AE title.
    dicomweb : bool
        Load the DICOMweb plugin (served under ``/dicom-web/``).
    sync : bool
        Keep Orthanc's default of syncing every stored file (``SyncStorageArea``).
    """

    def __init__(
        self,
        workdir: str | Path,
        *,
        modalities: Mapping[str, tuple[str, int]] | None = None,
        aet: str = "ORTHANC",
        dicomweb: bool = True,
        sync: bool = True,
    ) -> None:
        self.workdir = Path(workdir)
        self.aet = aet
        self.http_port = free_port()
        self.dicom_port = free_port()
        self.modalities = dict(modalities or {})
        self.dicomweb = dicomweb
        self.sync = sync
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the REST API."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        """Base URL of the DICOMweb plugin."""
        return f"{self.url}/dicom-web"

    def config(self) -> dict[str, Any]:
        """The JSON configuration written for this instance."""
        config: dict[str, Any] = {
            "Name": "srkit-test",
            "StorageDirectory": str(self.workdir / "storage"),
            "IndexDirectory": str(self.workdir / "index"),
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "DicomAet": self.aet,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomCheckCalledAet": False,
            "DicomAlwaysAllowEcho": True,
            "DicomAlwaysAllowStore": True,
            "DicomAlwaysAllowFind": True,
            "DicomAlwaysAllowGet": True,
            "SyncStorageArea": self.sync,
            "DicomModalities": {
                title: [title, host, port] for title, (host, port) in self.modalities.items()
            },
            "Plugins": [],
        }
        plugin = dicomweb_plugin() if self.dicomweb else None
        if plugin:
            config["Plugins"] = [plugin]
            config["DicomWeb"] = {"Enable": True, "Root": "/dicom-web/"}
        return config

    def start(self, timeout: float = 30.0) -> Orthanc:
        """Write the configuration, start Orthanc, wait until its REST API answers."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / "orthanc.json"
        path.write_text(json.dumps(self.config(), indent=2))
        log = (self.workdir / "orthanc.log").open("wb")
        self.proc = subprocess.Popen(
            [ORTHANC, str(path)], stdout=log, stderr=subprocess.STDOUT, env=peer_env()
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Orthanc exited; see {self.workdir / 'orthanc.log'}")
            try:
                self.get("/system")
                wait_for_port(self.dicom_port, timeout=max(0.1, deadline - time.monotonic()))
                return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        self.stop()
        raise TimeoutError("Orthanc did not start")

    def get(self, path: str) -> Any:
        """GET a REST resource and decode its JSON."""
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.loads(response.read())

    def post(self, path: str, body: bytes | dict[str, Any] | list[Any]) -> Any:
        """POST bytes (a DICOM file) or JSON to the REST API; decode the JSON answer."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")

    def delete(self, path: str) -> None:
        """DELETE a REST resource."""
        request = urllib.request.Request(self.url + path, method="DELETE")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    def upload(self, paths: list[Path]) -> list[str]:
        """Store files through the REST API; returns Orthanc's instance ids."""
        return [self.post("/instances", Path(p).read_bytes())["ID"] for p in paths]

    def stop(self) -> None:
        """Stop the process (by PID)."""
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None

    def __enter__(self) -> Orthanc:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class Storescp:
    """DCMTK ``storescp`` writing into a folder (on a free high port)."""

    def __init__(self, workdir: str | Path, *, aet: str = "STORESCP") -> None:
        self.workdir = Path(workdir)
        self.aet = aet
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Storescp:
        """Start ``storescp`` accepting every storage SOP class; wait for its port."""
        out = self.workdir / "received"
        out.mkdir(parents=True, exist_ok=True)
        if not shutil.which(STORESCP):
            raise FileNotFoundError(STORESCP)
        self.proc = subprocess.Popen(
            [STORESCP, "-aet", self.aet, "-od", str(out), "+xa", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=peer_env(),
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        """Stop the process (by PID)."""
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None

    def __enter__(self) -> Storescp:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
