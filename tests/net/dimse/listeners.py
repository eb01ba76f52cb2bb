"""``srkit listen`` as a child process for the tests (stderr in a file), and the
child processes of a PID (Linux ``/proc``)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.peers import free_port, wait_for_port


def children(pid: int) -> list[int]:
    """PIDs of the running child processes of ``pid`` (Linux ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return sorted(found)


class Listener:
    """``srkit listen`` in a child process, stderr in a file."""

    def __init__(self, root: Path, *args: str, port: int = 0) -> None:
        self.port = port or free_port()
        self.db_path = root / "listen.sqlite"
        self.err_path = root / f"listen-{self.port}.err"
        command = [sys.executable, "-m", "srkit.cli.main", "listen", "--port", str(self.port)]
        command += ["--db", str(self.db_path), *args]
        with self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)

    def ready(self, workers: int) -> list[int]:
        """Wait for the port and ``workers`` worker processes; their PIDs."""
        wait_for_port(self.port, timeout=30)
        deadline = time.monotonic() + 30
        while len(pids := children(self.proc.pid)) < workers:
            assert time.monotonic() < deadline, self.stderr()
            time.sleep(0.05)
        return pids

    def stderr(self) -> str:
        return self.err_path.read_text()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(30)
