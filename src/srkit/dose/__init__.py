"""Dose management over the archive: reference levels, alerts, size-specific dose.

Everything here is computed at query time from the ``dose_report`` rows the index
keeps (the contract's record of each TID 10011 / TID 10001 report, PS3.16), so that
no schema change is needed: :mod:`~srkit.dose.exams` turns reports into exams,
:mod:`~srkit.dose.mapping` maps vendor protocol names to standard ones,
:mod:`~srkit.dose.drl` computes and compares diagnostic reference levels,
:mod:`~srkit.dose.alerts` evaluates thresholds (per exam, cumulative per patient, and
the CT Dose Check of TID 10015).
"""
