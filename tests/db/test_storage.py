"""The storage layout: names built from checked UIDs, never outside the folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from srkit.db.storage import storage_path
from srkit.errors import SrkitError


def test_layout_is_study_series_instance(tmp_path):
    path = storage_path(tmp_path, "1.2.3", "1.2.3.4", "1.2.3.4.5")
    assert path == tmp_path / "1.2.3" / "1.2.3.4" / "1.2.3.4.5.dcm"
    # UI padding (a trailing NUL or space) is not part of the name
    assert storage_path(tmp_path, "1.2.3\0", "1.2.3.4 ", "1.2.3.4.5\0") == path


def test_a_known_series_folder_still_checks_every_instance_uid(tmp_path):
    storage_path(tmp_path, "1.2.3", "1.2.3.4", "1.2.3.4.5")  # the series folder is cached
    with pytest.raises(SrkitError, match="SOP Instance UID"):
        storage_path(tmp_path, "1.2.3", "1.2.3.4", "../../etc/passwd")
    with pytest.raises(SrkitError, match="Series Instance UID"):
        storage_path(tmp_path, "1.2.3", "1.2.3.4/..", "1.2.3.4.5")
    other = tmp_path / "other"
    assert storage_path(other, "1.2.3", "1.2.3.4", "1.2.3.4.6").parent.parent.parent == other


@given(st.text(max_size=70), st.text(max_size=70), st.text(max_size=70))
def test_any_uids_give_a_name_inside_the_folder_or_an_error(study, series, sop):
    root = Path("/srv/storage")
    try:
        path = storage_path(root, study, series, sop)
    except SrkitError as exc:
        message = exc.message
    else:
        assert path.parent.parent.parent == root
        assert all(part.replace(".", "").isdigit() for part in path.relative_to(root).parts[:2])
        assert path.suffix == ".dcm"
        assert ".." not in path.parts
        return
    assert "not usable as a file name" in message
