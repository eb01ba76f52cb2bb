"""The record of a named dose-report fix-up."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DoseFixup"]


@dataclass(frozen=True, slots=True)
class DoseFixup:
    """A named repair of a vendor's dose report.

    Parameters
    ----------
    name : str
        The name diagnostics carry.
    maker : str
        The manufacturer whose reports need it.
    description : str
        What is wrong and what srkit does about it.
    example : str
        A real file that needs it (path inside the shared test data).
    """

    name: str
    maker: str
    description: str
    example: str
