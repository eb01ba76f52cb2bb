"""Load: 2,000 instances over four parallel associations (four DCMTK storescu
processes); every acknowledged instance must be indexed and on disk."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pydicom
import pytest

from tests.conftest import data_files, data_path, require_tool
from tests.net.dimse.archive import acknowledged
from tests.peers import fresh_copies, peer_env

COUNT = 2000
WORKERS = 4


@pytest.mark.slow
@pytest.mark.peers
def test_parallel_ingest(archive, tmp_path):
    storescu = require_tool("storescu", "/usr/bin/storescu")
    sources = [  # one study in four is an SR document (indexing SR content costs more)
        data_path("ct/pydicom_CT_small.dcm"),
        data_files("mr/dcm4che_MR/*.dcm")[0],
        data_path("sr-tid1500/dcmjs_sample-sr.dcm"),
        data_files("ct/pydicom_CT2/*.dcm")[0],
    ]
    files = fresh_copies(sources, COUNT, tmp_path / "volume")
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                storescu,
                "-v",
                "-R",
                "-aec",
                "SRKIT",
                "127.0.0.1",
                str(archive.port),
                *map(str, files[k::WORKERS]),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=peer_env(),
        )
        for k in range(WORKERS)
    ]
    logs = [proc.communicate(timeout=300)[1] for proc in procs]
    elapsed = time.perf_counter() - start
    sent: list[Path] = []
    for proc, log in zip(procs, logs, strict=True):
        ok, other = acknowledged(log)
        assert proc.returncode == 0, log[-500:]
        assert other == []
        sent += ok
    assert sorted(sent) == sorted(files)
    indexed = {
        r["SOPInstanceUID"] for r in archive.db.query("IMAGE", {}, fields=["SOPInstanceUID"])
    }
    assert len(indexed) == COUNT
    for path in sent:
        uid = str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)
        assert uid in indexed
        stored = archive.db.instance_path(uid)
        assert stored is not None
        assert pydicom.dcmread(stored, stop_before_pixels=True).SOPInstanceUID == uid
    print(f"\n{COUNT} instances over {WORKERS} associations: {COUNT / elapsed:.0f}/s")
