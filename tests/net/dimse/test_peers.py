"""The peers file: TOML and JSON, access policy, addresses, bad input."""

from __future__ import annotations

import json

import pytest

from srkit.net.dimse.peers import ConfigError, PeersConfig, load_config, parse_address

TOML = """
[peers.ORTHANC]
host = "127.0.0.1"
port = 4242

[peers.VIEWER]
host = "127.0.0.1"
port = 11113
allow = ["echo", "find", "get"]
"""


def test_toml_peers_and_policy(tmp_path):
    path = tmp_path / "peers.toml"
    path.write_text(TOML)
    config = load_config(path)
    assert config.restricted is True
    assert config.destination("ORTHANC") == ("127.0.0.1", 4242)
    assert config.destination("NOBODY") is None
    assert config.may("ORTHANC", "store") is True
    assert config.may("VIEWER", "find") is True
    assert config.may("VIEWER", "store") is False
    assert config.may("VIEWER", "move") is False
    assert config.may("STRANGER", "echo") is False


def test_json_with_unknown_callers_allowed(tmp_path):
    path = tmp_path / "peers.json"
    path.write_text(
        json.dumps({"allow_unknown": True, "peers": {"PACS": {"host": "h", "port": 104}}})
    )
    config = load_config(path)
    assert config.restricted is False
    assert config.may("STRANGER", "store") is True
    assert config.may("PACS", "move") is True


def test_no_file_is_open():
    config = load_config(None)
    assert config == PeersConfig()
    assert config.may("ANYONE", "get") is True
    assert config.destination("ANYONE") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[peers.A]\nallow = ['fly']\n", "unknown service"),
        ("[peers.A]\nport = 70000\n", "port"),
        ("[peers.A]\nhost = 12\n", "host"),
        ("[peers.THIS_TITLE_IS_TOO_LONG]\n", "1 to 16"),
        ("peers = 3\n", "table of AE titles"),
        ("allow_unknown = 'yes'\n", "true or false"),
        ("[peers\n", "cannot parse"),
    ],
)
def test_bad_files(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")


def test_parse_address():
    config = PeersConfig({}, True)
    assert parse_address("PACS@10.0.0.1:104") == ("PACS", "10.0.0.1", 104)
    assert parse_address("localhost:11112", config) == ("ANY-SCP", "localhost", 11112)
    for bad in ("nohost", "A@host:", "A@host:99999", "A@:104", "SEVENTEEN_CHARS_X@h:1"):
        with pytest.raises(ConfigError):
            parse_address(bad)


def test_parse_known_title(tmp_path):
    path = tmp_path / "peers.toml"
    path.write_text(TOML)
    assert parse_address("ORTHANC", load_config(path)) == ("ORTHANC", "127.0.0.1", 4242)


def test_known_peers_by_title_and_host():
    from srkit.net.dimse.peers import KnownPeers, config_from_mapping

    config = config_from_mapping(
        {
            "peers": {
                "LOCAL": {"host": "localhost", "port": 104},
                "ANYWHERE": {},
                "LOST": {"host": "no-such-host.invalid", "port": 104},
                "OTHER": {"host": "127.0.0.9", "port": 104},
            }
        }
    )
    known = KnownPeers.from_config(config)
    assert known.addresses >= {"127.0.0.1", "127.0.0.9"}
    assert known.peer("LOCAL", "127.0.0.1") is True
    assert known.peer("LOCAL ", "::ffff:127.0.0.1") is True  # padded title, mapped IPv4
    assert known.peer("LOCAL", "127.0.0.2") is False  # a listed title from elsewhere
    assert known.peer("ANYWHERE", "192.0.2.1") is True  # no host: from anywhere
    assert known.peer("LOST", "127.0.0.1") is False  # its host does not resolve
    assert known.peer("STRANGER", "127.0.0.1") is False
    assert known.address("127.0.0.9") is True
    assert known.address("127.0.0.2") is False
    assert not KnownPeers.from_config(PeersConfig())
