"""DIMSE (PS3.7, PS3.8): the listener and the client commands.

The listener, layer by layer:

- :mod:`~srkit.net.dimse.pdu`: the Upper Layer, PDUs on a socket (PS3.8 Section 9)
  and association negotiation;
- :mod:`~srkit.net.dimse.commands`: DIMSE command sets (PS3.7 Section 6.3, Annex E);
- :mod:`~srkit.net.dimse.messages`: received messages, C-STORE data sets staged to disk;
- :mod:`~srkit.net.dimse.association`: one association, served by its own thread;
- :mod:`~srkit.net.dimse.server`: accepts connections, with the limits on them;
- :mod:`~srkit.net.dimse.workers`: ``srkit listen`` with several worker processes;
- :mod:`~srkit.net.dimse.services`: contexts and handlers of the services, one module
  each: :mod:`~srkit.net.dimse.verification`, :mod:`~srkit.net.dimse.storage`,
  :mod:`~srkit.net.dimse.find` (responses by :mod:`~srkit.net.dimse.responses`),
  :mod:`~srkit.net.dimse.retrieve` (C-MOVE, C-GET);
- :mod:`~srkit.net.dimse.identifiers`: Query/Retrieve levels, keys and identifiers;
- :mod:`~srkit.net.dimse.peers`: the one :class:`Peer` class and the peers file.

The client: :mod:`~srkit.net.dimse.client` (C-ECHO, C-FIND, C-MOVE, C-GET, C-STORE)
with :mod:`~srkit.net.dimse.tuning` (work-arounds for pynetdicom's requestor).
Statuses: :mod:`srkit.net.status`.
"""

from __future__ import annotations
