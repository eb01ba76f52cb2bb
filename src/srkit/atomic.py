"""Writing a file so that nobody ever sees it half-written."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable

from srkit.errors import SrkitError

__all__ = ["replace_atomically"]


def replace_atomically(path: str | os.PathLike[str], write: Callable[[str], object]) -> None:
    """Call ``write(tmp)`` for a temporary file beside ``path``, then rename it to
    ``path`` (:func:`os.replace`, atomic on one file system).

    On any failure nothing is left behind; an :class:`OSError` becomes
    :class:`SrkitError` naming ``path``, anything else ``write`` raises goes on.
    """
    target = os.fspath(path)
    tmp = f"{target}.{os.getpid()}.{secrets.token_hex(4)}.part"
    try:
        write(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        raise SrkitError(f"cannot write: {exc.strerror or exc}", source=target) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
