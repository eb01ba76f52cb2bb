"""Bearer tokens from ``$SRKIT_TOKEN`` or ``--token-file`` (``--token`` warns: it shows in
``ps``), and the warning before a server binds beyond loopback without access control."""

from __future__ import annotations

import socket
import threading
import time

import click
import pydicom
import pytest
import uvicorn
from click.testing import CliRunner

from srkit.cli.access import cleartext_warning, exposure_warning, is_loopback, resolve_token
from srkit.cli.main import cli
from srkit.db import Database
from srkit.net.dimse.peers import config_from_mapping
from srkit.web.app import create_app
from tests.conftest import data_path
from tests.peers import free_port

SR = "sr-tid1500/highdicom_sr_document.dcm"


def test_token_sources(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SRKIT_TOKEN", "from-env")
    assert resolve_token(None, None) == "from-env"
    assert capsys.readouterr().err == ""
    secret = tmp_path / "token"
    secret.write_text("from-file\nsecond line ignored\n")
    assert resolve_token(None, str(secret)) == "from-file"
    assert capsys.readouterr().err == ""
    assert resolve_token("from-argv", None) == "from-argv"  # still works, with a warning
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("srkit: warning [token-in-argv]: --token is visible")
    assert "SRKIT_TOKEN" in line
    monkeypatch.setenv("SRKIT_TOKEN", "")
    assert resolve_token(None, None) is None
    monkeypatch.delenv("SRKIT_TOKEN")
    assert resolve_token(None, None) is None


def test_bad_tokens_are_one_line_errors(tmp_path, monkeypatch, capsys):
    with pytest.raises(click.UsageError, match="not both"):
        resolve_token("a", str(tmp_path / "t"))
    empty = tmp_path / "empty"
    empty.write_text("\n")
    rule = "the token must be visible ASCII characters without spaces"
    for args, expected in [
        ((None, str(tmp_path / "missing")), f"{tmp_path}/missing: cannot read the token: "),
        ((None, str(empty)), f"{empty}: {rule}"),
        (("two words", None), f"--token: {rule}"),
    ]:
        with pytest.raises(SystemExit) as stop:
            resolve_token(*args)
        assert stop.value.code == 1
        assert capsys.readouterr().err.splitlines()[-1].startswith(f"srkit: {expected}")


def test_loopback_decision():
    for host in ("127.0.0.1", "127.8.9.10", "::1", "[::1]", "::ffff:127.0.0.1", "localhost"):
        assert is_loopback(host), host
    for host in ("", "0.0.0.0", "::", "192.168.1.20", "10.0.0.1", "::ffff:10.0.0.1", "fe80::1"):
        assert not is_loopback(host), host


def test_exposure_warnings():
    assert exposure_warning("serve", "127.0.0.1", protected=False) is None
    assert exposure_warning("serve", "0.0.0.0", protected=True) is None
    code, message = exposure_warning("serve", "0.0.0.0", protected=False)
    assert code == "exposed-without-token"
    assert message.startswith("serving on 0.0.0.0, beyond this machine, without a token")
    code, message = exposure_warning("serve", "", protected=False)
    assert "serving on every interface" in message
    open_peers = config_from_mapping({})
    closed = config_from_mapping({"peers": {"VIEWER": {"host": "127.0.0.1", "port": 11113}}})
    assert not open_peers.restricted
    assert closed.restricted
    assert exposure_warning("listen", "::1", protected=open_peers.restricted) is None
    assert exposure_warning("listen", "10.1.2.3", protected=closed.restricted) is None
    code, message = exposure_warning("listen", "10.1.2.3", protected=open_peers.restricted)
    assert code == "exposed-open-listener"
    assert "accepting any calling AE title" in message
    assert "--config" in message


def test_token_in_clear_warning():
    assert cleartext_warning("http://10.0.0.5:8042/dicomweb", None) is None
    assert cleartext_warning("https://10.0.0.5/dicomweb", "t") is None
    assert cleartext_warning("http://127.0.0.1:8042/dicomweb", "t") is None
    assert cleartext_warning("http://[::1]:8042/dicomweb", "t") is None
    code, message = cleartext_warning("HTTP://10.0.0.5:8042/dicomweb", "t")
    assert code == "token-in-clear"
    assert message.startswith("the token goes to 10.0.0.5 over plain http")


def _busy_port():
    """A listening socket on 127.0.0.1: ``serve`` on its port stops right after the
    checks (a one-line error), so the warnings can be seen without serving."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock


def test_serve_warns_about_token_in_argv(tmp_path):
    with _busy_port() as busy:
        port = str(busy.getsockname()[1])
        db = str(tmp_path / "db.sqlite")
        argv = CliRunner().invoke(cli, ["serve", "--db", db, "--port", port, "--token", "x"])
        env = CliRunner(env={"SRKIT_TOKEN": "x"}).invoke(cli, ["serve", "--db", db, "-p", port])
        both = CliRunner().invoke(
            cli, ["serve", "--db", db, "-p", port, "--token", "x", "--token-file", db]
        )
    assert argv.exit_code == 1
    warning, error = argv.stderr.splitlines()
    assert warning.startswith("srkit: warning [token-in-argv]: ")
    assert error == f"srkit: 127.0.0.1:{port}: cannot listen: Address already in use"
    assert env.exit_code == 1
    assert env.stderr.splitlines() == [error]
    assert both.exit_code == 2
    assert "give --token or --token-file, not both" in both.stderr


def test_pull_takes_the_token_from_the_environment(tmp_path):
    db = Database(tmp_path / "served.sqlite", storage=tmp_path / "storage")
    ds = pydicom.dcmread(data_path(SR))
    db.store_dataset(ds)
    port = free_port()
    app = create_app(db, token="s3cret", public_url=f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        url = f"http://127.0.0.1:{port}/dicomweb"
        out = tmp_path / "out"
        ok = CliRunner(env={"SRKIT_TOKEN": "s3cret"}).invoke(
            cli, ["dicomweb", "pull", url, "-o", str(out)]
        )
        assert ok.exit_code == 0, ok.stderr
        assert ok.stderr.splitlines() == [f"{url}: received 1 instance(s)"]
        assert pydicom.dcmread(out / f"{ds.SOPInstanceUID}.dcm").SOPInstanceUID == ds.SOPInstanceUID
        secret = tmp_path / "token"
        secret.write_text("s3cret\n")
        other = data_path("sr-tid1500/dcmqi_sr-example_sr.dcm")
        pushed = CliRunner(env={"SRKIT_TOKEN": None}).invoke(
            cli, ["dicomweb", "push", url, str(other), "--token-file", str(secret)]
        )
        assert pushed.exit_code == 0, pushed.stderr
        assert pushed.stderr.splitlines() == [f"{url}: stored 1 of 1"]
        sop = str(pydicom.dcmread(other, stop_before_pixels=True).SOPInstanceUID)
        assert db.instance_path(sop) is not None
        refused = CliRunner(env={"SRKIT_TOKEN": "wrong"}).invoke(
            cli, ["dicomweb", "pull", url, "-o", str(tmp_path / "no")]
        )
        assert refused.exit_code == 1
        assert "401" in refused.stderr
    finally:
        server.should_exit = True
        thread.join(10)
        db.close()


def test_servers_warn_when_exposed(tmp_path, monkeypatch):
    """The commands print the decision's warning (the bind itself stays on loopback:
    the address is taken to be exposed, and the port is busy)."""
    monkeypatch.setattr("srkit.cli.access.is_loopback", lambda host: False)
    db = str(tmp_path / "db.sqlite")
    peers = tmp_path / "peers.toml"
    peers.write_text('[peers.VIEWER]\nhost = "127.0.0.1"\nport = 11113\n')
    with _busy_port() as busy:
        port = str(busy.getsockname()[1])
        plain = CliRunner(env={"SRKIT_TOKEN": None})
        serve = plain.invoke(cli, ["serve", "--db", db, "-p", port])
        served = CliRunner(env={"SRKIT_TOKEN": "x"}).invoke(cli, ["serve", "--db", db, "-p", port])
        listen = plain.invoke(cli, ["listen", "--db", db, "-p", port, "-w", "1"])
        listened = plain.invoke(cli, ["listen", "--db", db, "-p", port, "--config", str(peers)])
    failed = f"srkit: 127.0.0.1:{port}: cannot listen: Address already in use"
    assert serve.stderr.splitlines()[0].startswith(
        "srkit: warning [exposed-without-token]: serving on 127.0.0.1, beyond this machine"
    )
    assert serve.stderr.splitlines()[1] == failed
    assert served.stderr.splitlines() == [failed]
    assert listen.stderr.splitlines()[0].startswith(
        "srkit: warning [exposed-open-listener]: listening on 127.0.0.1, beyond this machine"
    )
    assert listen.stderr.splitlines()[1] == failed
    assert listened.stderr.splitlines() == [failed]


def test_serve_default_port_is_not_orthancs():
    from click.testing import CliRunner

    from srkit.cli.main import cli

    help_text = CliRunner().invoke(cli, ["serve", "--help"]).stdout
    assert "[default: 8700;" in help_text
    assert "default: 8042" not in help_text
