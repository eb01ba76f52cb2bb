"""Test helpers for the DIMSE tests: an archive (listener over a fresh database) on a
free port of 127.0.0.1, the sample files it is filled with, DCMTK tools run as
peers (:func:`dcmtk`; a test using it carries ``@pytest.mark.peers``), and what
``storescu -v`` says it stored (:func:`acknowledged`)."""

from __future__ import annotations

import re
import subprocess
import threading
from pathlib import Path

from srkit.db import Database
from srkit.db.inbox import Inbox
from srkit.net.dimse import services
from srkit.net.dimse.peers import Peer, load_config
from tests.conftest import data_files, data_path, require_tool
from tests.peers import free_port, peer_env

CT2 = "ct/pydicom_CT2"
CT3 = "ct/dcmqi_ct-3slice"


def sample_files() -> list[Path]:
    """Two CT series and five TID 1500 reports (three studies share CT_small's study)."""
    return [
        *data_files(f"{CT2}/*.dcm"),
        *data_files(f"{CT3}/*.dcm"),
        *data_files("sr-tid1500/*.dcm"),
        data_path("ct/pydicom_CT_small.dcm"),
    ]


class Archive:
    """An SCP over a fresh database, on a free port of 127.0.0.1."""

    def __init__(
        self,
        root: Path,
        config_text: str | None = None,
        aet: str = "SRKIT",
        port: int = 0,
        *,
        deferred: bool = False,
        direct: bool | None = None,
    ) -> None:
        self.root = root
        self.db = Database(root / "db.sqlite", storage=root / "storage")
        self.port = port or free_port()
        self.aet = aet
        config = None
        if config_text is not None:
            (root / "peers.toml").write_text(config_text)
            config = load_config(root / "peers.toml")
        self.inbox = Inbox(self.db.storage) if deferred else None
        if self.inbox is not None and direct is not None:  # False: always staged first
            self.inbox.direct = direct
        self._indexer: threading.Thread | None = None
        self._stop = threading.Event()
        if self.inbox is not None:  # the indexer, as srkit listen runs it, in a thread
            self._index_db = Database(root / "db.sqlite", storage=root / "storage")
            self._indexer = threading.Thread(
                target=self.inbox.run, args=(self._index_db, self._stop), daemon=True
            )
            self._indexer.start()
        self.server = services.start(
            self.db, port=self.port, aet=aet, config=config, inbox=self.inbox
        )
        self.peer = Peer(aet, "127.0.0.1", self.port)

    def address(self) -> str:
        return f"{self.aet}@127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        if self._indexer is not None:
            self._stop.set()
            self._indexer.join(30)
            self._index_db.close()
        if self.inbox is not None:
            self.inbox.close()
        self.db.close()


def dcmtk(tool: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    path = require_tool(tool, f"/usr/bin/{tool}")
    return subprocess.run(
        [path, *args], capture_output=True, text=True, env=peer_env(), timeout=60, cwd=cwd
    )


def acknowledged(log: str) -> tuple[list[Path], list[str]]:
    """Files storescu -v reports as stored with success, and the other responses."""
    ok, other = [], []
    current = None
    for line in log.splitlines():
        sending = re.match(r"I: Sending file: (.*)$", line)
        if sending:
            current = Path(sending.group(1).strip())
        elif "Received Store Response" in line and current is not None:
            (ok if "(Success)" in line else other).append(current if "(Success)" in line else line)
            current = None
    return ok, other
