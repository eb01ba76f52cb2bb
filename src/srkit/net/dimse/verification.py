"""Verification (PS3.4 Annex A): the C-ECHO handler of the listener."""

from __future__ import annotations

from srkit.net.dimse.association import Association
from srkit.net.dimse.commands import Field
from srkit.net.dimse.messages import Message
from srkit.net.dimse.peers import PeersConfig
from srkit.net.status import NOT_AUTHORIZED, SUCCESS

__all__ = ["VERIFICATION", "Verification"]

VERIFICATION = "1.2.840.10008.1.1"
"""Verification SOP Class (PS3.4 Annex A)."""


class Verification:
    """C-ECHO (PS3.4 Annex A): success, or 0x0124 if the caller may not echo."""

    def __init__(self, config: PeersConfig) -> None:
        self.config = config

    def __call__(self, assoc: Association, msg: Message) -> None:
        allowed = self.config.may(assoc.calling_ae, "echo")
        assoc.respond(msg, Field.C_ECHO_RSP, SUCCESS if allowed else NOT_AUTHORIZED)
