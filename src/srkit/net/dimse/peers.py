"""DICOM peers: the one :class:`Peer` class (an application entity, PS3.8 Section 7.1:
AE title, where it listens, what it may ask of us), and the peers file that lists
the known ones with what each caller may do (a TOML or JSON file).

A peers file names application entities (AE titles, PS3.8 Section 7.1) with their
address, for C-MOVE destinations and for the client commands, and lists which DIMSE
services each caller may use. When the file lists peers and does not set
``allow_unknown``, callers whose AE title is not listed are refused at association.

Example (TOML)::

    allow_unknown = false          # default: false when peers are listed

    [peers.ORTHANC]
    host = "127.0.0.1"
    port = 4242
    allow = ["echo", "store", "find", "move", "get"]   # default: all

    [peers.VIEWER]
    host = "127.0.0.1"
    port = 11113
    allow = ["echo", "find", "get"]

The same structure is accepted as JSON.

The listed peers are also the *known* peers of the listener (:class:`KnownPeers`):
their addresses get a place among the connections that have not associated yet,
and a caller with a listed AE title, from that peer's ``host`` when one is given,
may take the association slots reserved for known peers.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srkit.errors import SrkitError

__all__ = [
    "SERVICES",
    "ConfigError",
    "KnownPeers",
    "Peer",
    "PeersConfig",
    "config_from_mapping",
    "load_config",
    "normal_address",
    "parse_address",
    "resolve_peer",
]

SERVICES: frozenset[str] = frozenset({"echo", "store", "find", "move", "get"})
"""DIMSE services a caller may be allowed: C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET."""


class ConfigError(SrkitError):
    """The peers file is unreadable or breaks the structure above."""


@dataclass(frozen=True, slots=True)
class Peer:
    """An application entity: one listed in the peers file, a C-MOVE destination, or
    the peer a client command calls (:mod:`srkit.net.dimse.client`).

    Parameters
    ----------
    ae_title : str
        The AE title (at most 16 characters, PS3.5 Table 6.2-1, VR AE); the called
        AE title when srkit calls the peer.
    host : str, optional
        Address where the peer listens (needed for C-MOVE destinations and to call it).
    port : int, optional
        Its port.
    allow : frozenset of str
        Services this peer may request from us (subset of :data:`SERVICES`).
    """

    ae_title: str
    host: str | None = None
    port: int | None = None
    allow: frozenset[str] = SERVICES

    def address(self) -> tuple[str, int]:
        """``(host, port)`` where the peer listens; :class:`ConfigError` if not given."""
        if self.host is None or self.port is None:
            raise ConfigError(f"peer {self.ae_title!r} has no host and port")
        return self.host, self.port

    def __str__(self) -> str:
        """``AET@HOST:PORT`` (``AET`` alone without an address)."""
        if self.host is None or self.port is None:
            return self.ae_title
        return f"{self.ae_title}@{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class PeersConfig:
    """The known peers and the access policy.

    Parameters
    ----------
    peers : dict
        AE title -> :class:`Peer`.
    allow_unknown : bool
        Whether callers not listed may associate (then with every service).
    """

    peers: Mapping[str, Peer] = field(default_factory=dict)
    allow_unknown: bool = True

    @property
    def restricted(self) -> bool:
        """True when unknown callers are refused at association."""
        return bool(self.peers) and not self.allow_unknown

    def may(self, calling_ae: str, service: str) -> bool:
        """Whether ``calling_ae`` may use ``service`` (one of :data:`SERVICES`)."""
        peer = self.peers.get(calling_ae.strip())
        if peer is None:
            return not self.restricted
        return service in peer.allow

    def destination(self, ae_title: str) -> tuple[str, int] | None:
        """Address of a known C-MOVE destination, or None."""
        peer = self.peers.get(ae_title.strip())
        if peer is None or peer.host is None or peer.port is None:
            return None
        return peer.host, peer.port


def normal_address(address: str) -> str:
    """An IP address as text, IPv4-mapped IPv6 addresses as IPv4 (``::ffff:a.b.c.d``)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def _resolve(host: str) -> frozenset[str]:
    """The IP addresses of ``host`` (none when it cannot be resolved)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return frozenset()
    return frozenset(normal_address(str(info[4][0])) for info in infos)


@dataclass(frozen=True, slots=True)
class KnownPeers:
    """Who the listener counts as a known peer, with the host names resolved once.

    Parameters
    ----------
    titles : dict
        AE title -> the addresses it must call from (``None``: from anywhere, the
        peer has no ``host``).
    addresses : frozenset of str
        Every address of a listed peer.
    """

    titles: Mapping[str, frozenset[str] | None] = field(default_factory=dict)
    addresses: frozenset[str] = frozenset()

    @classmethod
    def from_config(cls, config: PeersConfig) -> KnownPeers:
        """Resolve the hosts of ``config``'s peers (a host that does not resolve
        makes its peer known by no address)."""
        titles: dict[str, frozenset[str] | None] = {}
        for title, peer in config.peers.items():
            titles[title] = None if peer.host is None else _resolve(peer.host)
        addresses = frozenset().union(*(a for a in titles.values() if a is not None))
        return cls(titles, addresses)

    def __bool__(self) -> bool:
        return bool(self.titles)

    def address(self, address: str) -> bool:
        """Whether a connection from ``address`` comes from a listed peer's host."""
        return normal_address(address) in self.addresses

    def peer(self, calling_ae: str, address: str) -> bool:
        """Whether ``calling_ae`` is listed and calls from its peer's host (if given)."""
        title = calling_ae.strip()
        if title not in self.titles:
            return False
        hosts = self.titles[title]
        return hosts is None or normal_address(address) in hosts


def _peer(title: str, raw: Any, source: str) -> Peer:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"peer {title!r} must be a table", source=source)
    if not title or len(title) > 16:
        raise ConfigError(f"AE title {title!r} must have 1 to 16 characters", source=source)
    allow = raw.get("allow", sorted(SERVICES))
    if isinstance(allow, str):
        allow = [allow]
    unknown = set(allow) - SERVICES
    if unknown:
        raise ConfigError(
            f"peer {title!r}: unknown service(s) {sorted(unknown)}; use {sorted(SERVICES)}",
            source=source,
        )
    port = raw.get("port")
    if port is not None and (not isinstance(port, int) or not 0 < port < 65536):
        raise ConfigError(f"peer {title!r}: port must be an integer 1-65535", source=source)
    host = raw.get("host")
    if host is not None and not isinstance(host, str):
        raise ConfigError(f"peer {title!r}: host must be a string", source=source)
    return Peer(title, host, port, frozenset(allow))


def config_from_mapping(data: Mapping[str, Any], source: str = "<config>") -> PeersConfig:
    """Build a :class:`PeersConfig` from parsed TOML or JSON."""
    raw_peers = data.get("peers", {})
    if not isinstance(raw_peers, Mapping):
        raise ConfigError("'peers' must be a table of AE titles", source=source)
    peers = {title: _peer(title, raw, source) for title, raw in raw_peers.items()}
    allow_unknown = data.get("allow_unknown", not peers)
    if not isinstance(allow_unknown, bool):
        raise ConfigError("'allow_unknown' must be true or false", source=source)
    return PeersConfig(peers, allow_unknown)


def load_config(path: str | Path | None) -> PeersConfig:
    """Read a peers file (``.toml`` or ``.json``); None gives an open configuration.

    Raises
    ------
    ConfigError
        When the file cannot be read or parsed.
    """
    if path is None:
        return PeersConfig()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read peers file: {exc.strerror}", source=str(path)) from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot parse peers file: {exc}", source=str(path)) from None
    if not isinstance(data, Mapping):
        raise ConfigError("peers file must hold a table", source=str(path))
    return config_from_mapping(data, str(path))


def parse_address(text: str, config: PeersConfig | None = None) -> tuple[str, str, int]:
    """Resolve a peer given as ``AET@HOST:PORT``, ``HOST:PORT`` or a known AE title.

    Returns
    -------
    tuple
        ``(ae_title, host, port)``; the AE title is ``"ANY-SCP"`` when not given.
    """
    if config is not None and text in config.peers:
        peer = config.peers[text]
        if peer.host is None or peer.port is None:
            raise ConfigError(f"peer {text!r} has no host and port")
        return text, peer.host, peer.port
    title, _, address = text.rpartition("@")
    host, sep, port_text = address.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ConfigError(f"peer {text!r}: expected AET@HOST:PORT, HOST:PORT or a known AE title")
    port = int(port_text)
    if not 0 < port < 65536:
        raise ConfigError(f"peer {text!r}: port out of range")
    if len(title) > 16 or "\\" in title:
        raise ConfigError(f"peer {text!r}: an AE title has at most 16 characters")
    return title or "ANY-SCP", host, port


def resolve_peer(text: str, config: PeersConfig | None = None, called: str | None = None) -> Peer:
    """The :class:`Peer` to call for ``text`` (as :func:`parse_address` takes it);
    ``called`` overrides its AE title."""
    title, host, port = parse_address(text, config)
    return Peer(called or title, host, port)
