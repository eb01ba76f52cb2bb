"""Workers write their batches' data parts into the dataset folder themselves
(srkit.extract.kinds.run_batch_into); the driver commits the manifest. A task run
twice replaces its parts; a batch whose parts are not in the folder is refused; an
executor whose workers do not see the folder sends the tables back instead."""

from __future__ import annotations

import os

import pytest

from srkit.errors import SrkitError
from srkit.extract.dataset import Dataset, Item
from srkit.extract.executors import SerialExecutor, _sees_probe
from srkit.extract.kinds import Job, run_batch_into, tables_of
from srkit.extract.run import extract
from srkit.extract.sources import list_items
from tests.extract.corpus import BROKEN
from tests.extract.helpers import same_dataset, sql, table_rows

JOB = Job(kind="quantitative")


def _dataset(out) -> Dataset:
    return Dataset(out, kind=JOB.kind, columns=JOB.columns, tables=tables_of(JOB))


def _items(corpus, count: int) -> tuple[Item, ...]:
    files = [*sorted(corpus.glob("sr*.dcm"))[:count], corpus / BROKEN[0]]
    return tuple(list_items([str(p) for p in files]))


def test_a_task_run_again_replaces_its_parts(tmp_path, corpus):
    """A batch done twice (its worker died after writing, the task ran elsewhere) is
    in the dataset once: the same part names, replaced."""
    items = _items(corpus, 12)
    out = tmp_path / "m"
    dataset = _dataset(out)
    first = run_batch_into(JOB, str(out), "0000000-test", items)
    again = run_batch_into(JOB, str(out), "0000000-test", items)
    assert first.written
    assert not first.tables
    assert first.row_counts() == again.row_counts()
    assert first.row_counts()["measurements"] > 0
    assert sorted(p.name for p in (out / "measurements").iterdir()) == ["part-0000000-test.parquet"]
    dataset.commit(again)
    dataset.finish()
    serial = tmp_path / "serial"
    extract([i.path for i in items], kind="quantitative", out=serial, executor="serial")
    same_dataset(serial, out, ["measurements"])
    count = sql(f"SELECT count(*) FROM '{out}/measurements/*.parquet'")[0][0]
    assert count == first.row_counts()["measurements"]


def test_a_batch_written_elsewhere_is_refused(tmp_path, corpus):
    """A worker that wrote into another folder (not shared with the driver): the commit
    says so rather than record rows the dataset does not hold."""
    items = _items(corpus, 3)
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    dataset = _dataset(here)
    _dataset(elsewhere)
    dataset.appear_wait = 0.5
    batch = run_batch_into(JOB, str(elsewhere), "0000000-test", items)
    with pytest.raises(SrkitError, match="workers must share it"):
        dataset.commit(batch)
    assert not list((here / "manifest").iterdir())


class _Blind(SerialExecutor):
    """An executor whose workers do not see the dataset folder (a remote cluster
    without a shared file system): the tables come back to the driver."""

    def sees(self, root: str) -> bool:
        return False


def test_workers_blind_to_the_folder_send_tables_back(tmp_path, corpus):
    files = [str(p) for p in _items(corpus, 20)]
    written: list[bool] = []
    blind, local = tmp_path / "blind", tmp_path / "local"
    extract(
        files,
        kind="quantitative",
        out=blind,
        executor=_Blind(),
        batch_size=4,
        on_batch=lambda batch, summary: written.append(batch.written),
    )
    extract(files, kind="quantitative", out=local, executor="serial", batch_size=4)
    assert written
    assert not any(written)
    same_dataset(local, blind, ["measurements"])


def test_probe_of_a_folder_a_worker_cannot_see(tmp_path):
    probe = tmp_path / "manifest" / ".probe-x"
    probe.parent.mkdir()
    assert not _sees_probe(str(probe), "x")
    probe.write_text("x")
    assert _sees_probe(str(probe), "x")
    assert not _sees_probe(str(probe), "y")  # another driver's probe


def test_finish_removes_a_killed_writer_temporary_file(tmp_path, corpus):
    out = tmp_path / "m"
    files = [str(p) for p in _items(corpus, 4)]
    extract(files, kind="quantitative", out=out, executor="serial")
    before = table_rows(out, "measurements")
    dataset = Dataset(out, kind=JOB.kind, columns=JOB.columns, tables=tables_of(JOB), resume=True)
    # left by a worker killed while writing, after the run had started
    left = out / "measurements" / f"part-0000000-x.parquet.{os.getpid()}.0a0b0c0d.part"
    left.write_bytes(b"PAR1 half")
    dataset.finish()
    assert not left.exists()
    assert table_rows(out, "measurements") == before
