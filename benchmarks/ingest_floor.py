"""``srkit listen`` cut down to a floor, for ``bench_net.py --floor`` (not a server to use).

The C-STORE handler is replaced, for the process this script starts, by one of:

- ``answer`` (``SRKIT_FLOOR=answer``): answer 0x0000 at once, nothing written. The cost of
  srkit's association, PDU and DIMSE layers alone.
- ``file``: write the data set behind its File Meta Information to a staged file and rename
  it into ``<storage>/floor/<SOP Instance UID>.dcm``, nothing parsed, nothing indexed.
  That is what ``storescp`` does. It is the least a listener that answered before indexing
  (a deferred index) would still do per instance.

The real listener does both of those, then parses the header and indexes the instance
before it answers. The gap between ``file`` and the real listener is the cost of the
parse and the index; the gap between ``storescp`` and ``file`` is the cost of writing
files from Python.

Run: ``python3 benchmarks/ingest_floor.py listen --port P --db DIR/srkit.sqlite`` with
``SRKIT_FLOOR`` set.
"""

from __future__ import annotations

import os
import sys
from typing import Any

MODE = os.environ.get("SRKIT_FLOOR", "file")


def _floor_store(self: Any, assoc: Any, msg: Any, stored: list[dict[str, Any]]) -> tuple[int, str]:
    from srkit.db.staging import StagedFile
    from srkit.net.dimse.messages import file_meta

    if MODE == "answer":
        return 0, ""
    context = assoc.contexts[msg.context_id]
    sop_class = str(msg.command.get(0x0002, ""))
    uid = str(msg.command.get(0x1000, ""))
    if msg.staged is not None:  # a large data set, staged while it arrived
        staged = msg.staged
    else:
        staged = StagedFile(self.db.storage)
        staged.write(file_meta(sop_class, uid, str(context.transfer_syntax[0]), assoc.calling_ae))
        for fragment in msg.fragments or ():
            staged.write(fragment)
    staged.finish()
    folder = self.db.storage / "floor"
    folder.mkdir(exist_ok=True)
    os.replace(staged.path, folder / f"{os.path.basename(uid)}.dcm")
    staged.close()
    return 0, ""


def main() -> None:
    from srkit.cli.main import main as srkit_main
    from srkit.net.dimse.storage import Storage

    if MODE not in ("answer", "file"):
        raise SystemExit(f"SRKIT_FLOOR must be answer or file, not {MODE!r}")
    Storage._store = _floor_store  # type: ignore[method-assign]
    sys.exit(srkit_main(sys.argv[1:]))


if __name__ == "__main__":
    main()
