"""Where the batches run: in this process (``serial``), in a local process pool
(``--jobs N``, one per CPU by default) or on a Dask cluster (``--dask ADDRESS`` for a
running ``dask.distributed`` scheduler, ``--dask local:N`` for a LocalCluster of N
worker processes on 127.0.0.1).

Every executor yields results as tasks finish, with a bounded number in flight (two
per worker), so the driver's memory does not grow with the input. On Dask a task of a
worker that dies is run again elsewhere (the scheduler's own recovery); its result is
returned once, so the dataset gets it once.

Workers write their batches' data parts into the dataset folder when they see it
(:meth:`sees`): always for the local executors; for Dask when every worker finds, at
the same absolute path, a probe file the driver has just written there (a folder on
a file system they share). Otherwise the tables travel back to the driver.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from srkit.errors import MissingDependencyError, SrkitError

__all__ = [
    "DaskExecutor",
    "Executor",
    "ProcessExecutor",
    "SerialExecutor",
    "default_jobs",
    "local_cluster",
    "make_executor",
]


class Executor(Protocol):
    """Runs ``fn(*args)`` for each task, yielding results as they finish."""

    workers: int

    def run(self, fn: Callable[..., Any], tasks: Iterable[tuple[Any, ...]]) -> Iterator[Any]: ...

    def sees(self, root: str) -> bool: ...

    def close(self) -> None: ...


def default_jobs() -> int:
    """One worker per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class SerialExecutor:
    """Every task in this process, in order."""

    workers = 1

    def run(self, fn: Callable[..., Any], tasks: Iterable[tuple[Any, ...]]) -> Iterator[Any]:
        for args in tasks:
            yield fn(*args)

    def sees(self, root: str) -> bool:
        return True

    def close(self) -> None:
        pass


class ProcessExecutor:
    """A local pool of ``jobs`` worker processes."""

    def __init__(self, jobs: int | None = None) -> None:
        self.workers = jobs or default_jobs()
        self._pool: Any = None

    def run(self, fn: Callable[..., Any], tasks: Iterable[tuple[Any, ...]]) -> Iterator[Any]:
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
        limit = 2 * self.workers
        pending: set[Any] = set()
        todo = iter(tasks)
        exhausted = False
        while True:
            while not exhausted and len(pending) < limit:
                args = next(todo, None)
                if args is None:
                    exhausted = True
                    break
                pending.add(self._pool.submit(fn, *args))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()

    def sees(self, root: str) -> bool:
        return True  # processes of this machine

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor:
    """Tasks on a ``dask.distributed`` cluster.

    Parameters
    ----------
    target : str or Client
        A scheduler address (``tcp://127.0.0.1:8786``), ``local:N`` for a LocalCluster
        of N single-threaded worker processes on 127.0.0.1, or a ``Client``.
    """

    def __init__(self, target: Any) -> None:
        try:
            import distributed
        except ImportError:  # pragma: no cover - depends on the install
            raise MissingDependencyError(
                "--dask needs dask.distributed: install srkit[scale]"
            ) from None
        dist: Any = distributed
        self._cluster: Any = None
        self._own = True
        if isinstance(target, str) and target.startswith("local"):
            _, _, count = target.partition(":")
            n = int(count) if count else default_jobs()
            self._cluster = local_cluster(n)
            self.client = dist.Client(self._cluster)
        elif isinstance(target, str):
            try:
                self.client = dist.Client(target, timeout=30)
            except OSError as exc:
                raise SrkitError(f"cannot reach the Dask scheduler: {exc}", source=target) from None
        else:
            self.client = target
            self._own = False
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))

    def run(self, fn: Callable[..., Any], tasks: Iterable[tuple[Any, ...]]) -> Iterator[Any]:
        import distributed

        as_completed: Any = distributed.as_completed

        limit = 2 * max(1, len(self.client.scheduler_info().get("workers", {})) or self.workers)
        todo = iter(tasks)
        queue = as_completed()
        in_flight = 0

        def submit() -> bool:
            args = next(todo, None)
            if args is None:
                return False
            queue.add(self.client.submit(fn, *args, pure=False, retries=2))
            return True

        while in_flight < limit and submit():
            in_flight += 1
        for future in queue:
            result = future.result()
            future.release()
            in_flight -= 1
            if submit():
                in_flight += 1
            yield result

    def sees(self, root: str) -> bool:
        """Whether every worker sees the folder ``root`` (a probe file written there now
        is found, at the same path, and the folder is writable); else a warning says
        that the tables come back to the driver."""
        import secrets
        import warnings

        from srkit.errors import SrkitWarning

        token = secrets.token_hex(8)
        probe = os.path.join(root, "manifest", f".probe-{token}")
        with open(probe, "w", encoding="utf-8") as f:
            f.write(token)
        try:
            seen = self.client.run(_sees_probe, probe, token)
        except Exception as exc:
            seen = {"?": f"{type(exc).__name__}: {exc}"}
        finally:
            os.unlink(probe)
        blind = sorted(addr for addr, ok in seen.items() if ok is not True)
        if blind or not seen:
            warnings.warn(
                SrkitWarning(
                    f"{root}: Dask workers {', '.join(blind) or '(none)'} do not see this "
                    "folder at the same path; their tables come back to the driver, which "
                    "writes them (slower). Put the dataset on a file system the workers share."
                ),
                stacklevel=2,
            )
            return False
        return True

    def close(self) -> None:
        if self._own:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def _sees_probe(probe: str, token: str) -> bool:
    """On a worker: whether the driver's probe file is here and its folder writable."""
    try:
        with open(probe, encoding="utf-8") as f:
            found = f.read() == token
    except OSError:
        return False
    return found and os.access(os.path.dirname(os.path.dirname(probe)), os.W_OK)


LOCAL_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.target": False,
    "distributed.worker.memory.spill": False,
    "distributed.worker.memory.pause": False,
    "distributed.worker.memory.terminate": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}
"""The LocalCluster's Dask settings: no statistical profiler sampling each task's stack
every 10 ms, no memory monitor (nothing is kept in worker memory to spill) and a
slower event-loop tick: CPU that would otherwise go to the cluster, not the files."""


def local_cluster(n: int) -> Any:
    """A LocalCluster of ``n`` worker processes of one thread each on 127.0.0.1,
    set for extraction (:data:`LOCAL_CONFIG`, no memory limit); the nanny of each
    restarts its worker if it dies."""
    import dask
    import distributed

    dist: Any = distributed
    with dask.config.set(LOCAL_CONFIG):
        return dist.LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            memory_limit=0,
        )


def make_executor(spec: Any = None) -> Any:
    """An executor from a spec: an executor (kept), ``None`` or ``"processes"`` (one
    process per CPU), an int N or ``"jobs:N"`` (N processes; 1 is serial),
    ``"serial"``, ``"dask:ADDRESS"`` or ``"dask:local:N"``, or a Dask ``Client``."""
    if spec is None or spec == "processes":
        return ProcessExecutor()
    if type(spec).__name__ == "Client":
        return DaskExecutor(spec)
    if hasattr(spec, "run") and hasattr(spec, "close"):
        return spec
    if isinstance(spec, int):
        return SerialExecutor() if spec == 1 else ProcessExecutor(spec)
    if isinstance(spec, str):
        if spec == "serial":
            return SerialExecutor()
        if spec.startswith("jobs:"):
            return make_executor(int(spec[5:]))
        if spec.startswith("dask:"):
            return DaskExecutor(spec[5:])
        raise SrkitError(f"unknown executor {spec!r}: serial, jobs:N, dask:ADDRESS, dask:local:N")
    raise SrkitError(f"unknown executor {spec!r}")
