"""The local backend's workers end with their parent, however it dies (a SIGTERM or SIGKILL reaches only it)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

SCRIPT = r"""
import os, sys, time
from archsim.study.runner import worker_pool
if __name__ == "__main__":
    pool = worker_pool(1)
    print(pool.submit(os.getpid).result(), flush=True)
    pool.submit(time.sleep, 600)  # a task that outlives the parent by far
    time.sleep(1.0)
    os.kill(os.getpid(), getattr(__import__("signal"), sys.argv[1]))
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_workers_exit_when_the_parent_is_killed(tmp_path, sig):
    script = tmp_path / "parent.py"
    script.write_text(SCRIPT)
    out = tmp_path / "out.txt"
    with open(out, "w") as f:  # a file, not a pipe: a surviving worker would hold a pipe open
        rc = subprocess.run([sys.executable, str(script), sig], stdout=f, stderr=subprocess.STDOUT,
                            timeout=120).returncode
    assert rc == -getattr(signal, sig), out.read_text()
    worker = int(out.read_text().split()[0])
    deadline = time.monotonic() + 30
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = _alive(worker)
    if alive:  # do not leave it running
        os.kill(worker, signal.SIGKILL)
    assert not alive, f"worker {worker} still running after its parent died of {sig}"
