"""Extraction from s3:// URLs through s3fs, against a real S3 API server on 127.0.0.1
(moto's server mode): a bucket of SRs gives the rows of the same files on disk."""

from __future__ import annotations

import os

import pytest

from srkit.extract.run import extract
from tests.conftest import require_module
from tests.extract.helpers import errors, table_rows


@pytest.fixture
def s3_server():
    moto_server = require_module("moto.moto_server.threaded_moto_server")
    require_module("s3fs")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ["AWS_ACCESS_KEY_ID"] = os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    try:
        yield endpoint
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_s3_bucket_equals_the_files(tmp_path, corpus, s3_server):
    import s3fs

    fs = s3fs.S3FileSystem(
        key="testing", secret="testing", client_kwargs={"endpoint_url": s3_server}
    )
    fs.call_s3("create_bucket", Bucket="srs")
    files = sorted(corpus.iterdir())[:40]
    for p in files:
        fs.put_file(str(p), f"srs/corpus/{p.name}")
    options = {
        "anon": False,
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": s3_server, "region_name": "us-east-1"},
    }
    local, remote = tmp_path / "local", tmp_path / "s3"
    a = extract(files, kind="quantitative", out=local, executor="serial", batch_size=8)
    listing = tmp_path / "bucket.s5cmd"
    listing.write_text("cp s3://srs/corpus/* .\ncp s3://srs/no-such-object.dcm .\n")
    b = extract(
        [listing],
        kind="quantitative",
        out=remote,
        executor=2,
        batch_size=8,
        storage_options=options,
    )
    assert b.listed == len(files) + 1
    assert a.rows == b.rows
    same_names = [e for e in errors(remote) if e[0] != "s3://srs/no-such-object.dcm"]
    assert [(n.rsplit("/", 1)[-1], s, r) for n, s, r in same_names] == errors(local)
    assert ("s3://srs/no-such-object.dcm", "read") in [(n, s) for n, s, _ in errors(remote)]
    assert table_rows(local, "measurements") == table_rows(remote, "measurements")
