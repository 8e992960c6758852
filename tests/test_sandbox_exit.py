"""The supervisor's wait for a sandbox process whose pipes are closed but which has not exited yet.

After the runner's last frame the pipes close first and bwrap exits a little later, once it has
torn its namespaces down (longer when the other cores are busy). The parent must wake when the
process ends, not sleep a fixed poll interval: that sleep made two batch workers on two cores
grade at 0.72-0.74 s per submission instead of ~0.56.
"""

from __future__ import annotations

import os
import subprocess
import time
import types

from autograder.assignment import Limits
from autograder.sandbox import supervisor
from autograder.sandbox.supervisor import CaseClock, CpuMeter, WaitMeter, fixed_time


def _no_sleep(*_args) -> None:
    raise AssertionError("the supervisor slept a fixed interval instead of waiting on the process")


def _collect_child(script: str) -> tuple[dict, str, int]:
    """`sh -c script` through _collect, with a result pipe the child never gets (closed at once)."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(["/bin/sh", "-c", script], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    os.close(write_fd)
    limits = Limits()
    clock = CaseClock({}, first=fixed_time(limits))
    clock.begin(CpuMeter(None, proc), WaitMeter(None, proc))
    return supervisor._collect(proc, read_fd, limits, clock)


def test_a_child_that_closes_its_pipes_before_exiting_is_waited_on_not_polled(monkeypatch):
    clock = types.SimpleNamespace(monotonic=time.monotonic, sleep=_no_sleep)
    monkeypatch.setattr(supervisor, "time", clock)
    streams, ended, returncode = _collect_child("echo said; exec >&- 2>&-; sleep 0.3; exit 3")
    assert (bytes(streams["stdout"]), ended, returncode) == (b"said\n", "finished", 3)


def test_a_child_that_exits_with_its_pipes_gives_its_exit_code():
    streams, ended, returncode = _collect_child("echo oops >&2; exit 0")
    assert (bytes(streams["stderr"]), ended, returncode) == (b"oops\n", "finished", 0)
