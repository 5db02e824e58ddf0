"""A run happens in a forked child: it enters a private network namespace, runs every step and
streams each result back over a pipe. The parent bounds the whole run in time and kills and
reaps the child if it overruns. A `Runner` keeps a child whose run went well for the next run:
right after its last result the child closes everything the script opened, moves into a
fresh namespace (made ahead of use) and says it is ready, so each script still starts in a
namespace of its own, with nothing open but the pipes, while a fork, an exit and a namespace
for every run are saved (`python benchmarks/bench_kernel.py`: a short run took 9.5 ms of the
machine's CPU with a child per run, 2.4 ms with the child kept).

Why a child process, even without isolation:
- the namespace (and everything in it: sysctl values, the syn() peer's TUN device) is one no
  other script has used, and goes when the script's sockets close; nothing needs undoing,
- a stuck call cannot hang the caller: the parent stops reading at the run's time limit, kills
  the child and reports the steps that did not finish,
- the caller's descriptors never change: whatever a script opens, it opens in the child.
Nothing is left behind on any exit path: the parent kills and reaps the child in a `finally`
(Ctrl-C included), the child dies with its parent (PR_SET_PDEATHSIG) and has its own alarm.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import select
import shutil
import signal
import struct
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from decimal import Decimal
from types import FrameType
from typing import Any, Final, TypeAlias

import attrs

from ..results import Result, Unsupported
from ..script import Step
from .executor import MAX_SLEEP, Executor
from .failure import KernelExecutorError, RunInterrupted
from .libc import PR_SET_PDEATHSIG, sys_prctl
from .netns import NetnsBase, enter_fresh_netns, prepare_netns
from .probes import NOTHING, Probed
from .timing import ATTEMPTS, Late, first_late, paused

#: Default time limit: a fixed allowance, a generous one per step (connect settling is bounded
#: by executor.SETTLE_WAIT), plus every sleep() the script asks for.
BASE_LIMIT: Final = 10.0
PER_STEP_LIMIT: Final = 0.25
#: How much longer than the run's limit the child's own alarm waits before it kills the child
#: (the backstop for a parent that cannot kill it).
ALARM_SLACK: Final = 5
#: sun_path holds 108 bytes; a longer temporary directory falls back to abstract names.
MAX_UNIX_DIR: Final = 90
#: How long a child that closed its end of the pipe early gets to finish exiting.
EXIT_WAIT: Final = 1.0
#: How long a child made ahead of use waits for its steps before it gives up (seconds).
IDLE_LIMIT: Final = 600
#: A kept child idle longer than this is ended rather than reused (it may be about to give up).
REUSE_IDLE: Final = IDLE_LIMIT / 2
#: How long the parent waits for a kept child's "ready" (it is sent long before, as a rule).
READY_WAIT: Final = 5.0

_FRAME: Final = struct.Struct("!I")
_DEFERRED: Final = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
#: Signals whose default action ends the process at once: caught during a run, so it unwinds.
_CAUGHT: Final = (signal.SIGTERM, signal.SIGHUP)


class _Signalled(BaseException):
    """SIGTERM or SIGHUP arrived during a run (raised by the handler Runner.run installs)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_signalled(signum: int, _frame: FrameType | None) -> None:
    raise _Signalled(signum)


_Handler: TypeAlias = Callable[[int, FrameType | None], Any] | int | signal.Handlers


def _catch_signals() -> dict[int, _Handler]:
    """Make SIGTERM and SIGHUP raise _Signalled; return the handlers to put back."""
    if threading.current_thread() is not threading.main_thread():
        return {}  # only the main thread may set handlers (and it is the one signals reach)
    previous: dict[int, _Handler] = {}
    for signum in _CAUGHT:
        old = signal.getsignal(signum)
        if old is signal.SIG_IGN:
            continue  # nohup and friends asked for it to be ignored
        previous[signum] = signal.SIG_DFL if old is None else old  # None: set outside Python
        signal.signal(signum, _raise_signalled)
    return previous


def default_time_limit(steps: tuple[Step, ...]) -> float:
    sleeps = sum(
        min(float(arg), MAX_SLEEP)
        for step in steps
        if step.call.name == "sleep"
        for arg in step.call.args
        if isinstance(arg, Decimal)
    )
    return BASE_LIMIT + PER_STEP_LIMIT * len(steps) + sleeps


def run_steps(steps: tuple[Step, ...], *, isolated: bool, limit: float,
              probes: Probed = NOTHING) -> list[Result]:
    """Run the steps in a child process (in a new network namespace if `isolated`), observing
    only by the mechanisms `probes` found trustworthy."""
    if not steps:
        return []
    runner = Runner(isolated=isolated, ahead=False)
    try:
        return runner.run(steps, limit, probes)
    finally:
        runner.close()


@attrs.define
class _Child:
    pid: int
    job: int  # the parent's end of the pipe the child reads its steps from
    results: int  # the parent's end of the pipe the child writes its results to
    ready: bool = False  # a kept child's "ready" frame has been read
    pending: bytes = b""  # bytes of a frame after the last result, read with it
    idle_since: float = 0.0  # when a kept child's last run ended (time.monotonic())


class Runner:
    """Runs scripts one after another, each in a network namespace of its own (if `isolated`)
    in a forked child. With `ahead`, a child whose run went well is kept for the next run: it
    has entered a fresh namespace and waits for its steps by the time they come (made ahead of
    use). `close()` kills and reaps that spare child; a runner may be used again after it."""

    def __init__(self, *, isolated: bool, ahead: bool = True) -> None:
        self.isolated = isolated
        self.ahead = ahead
        self._spare: _Child | None = None
        self._exiting: list[int] = []  # children past their last result, not yet reaped
        self.drifts: list[float] = []  # the last run's Executor.drift after each step
        self.late: Late | None = None  # whether the last run was late (timing.py), and where

    def run(self, steps: tuple[Step, ...], limit: float,
            probes: Probed = NOTHING) -> list[Result]:
        """Ctrl-C, SIGTERM or SIGHUP during the run raise RunInterrupted with the results of
        the steps that finished, once the run's child and directory are gone. A run late
        because of a pause is made again (timing.py); `late` says whether the last one was."""
        if not steps:
            return []
        previous = _catch_signals()
        try:
            for runs in range(1, ATTEMPTS + 1):
                results = self._run(steps, limit, probes)
                at = first_late(self.drifts)
                self.late = None if at is None else Late(at, self.drifts[at], runs)
                if at is None or not paused(self.drifts):
                    break
            return results
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _run(self, steps: tuple[Step, ...], limit: float, probes: Probed) -> list[Result]:
        self._reap(0.0)
        stopped_by: int | None = None
        frames = _Frames()
        error: str | None = None
        timed_out = False
        unix_dir: str | None = None
        child: _Child | None = None
        reaped: int | None = None
        # Ctrl-C (and SIGTERM) wait while a child or a directory exists that the `finally`
        # below would not know about yet, and again while it cleans up; they are delivered in
        # between, where the `finally` handles them.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
        try:
            # AF_UNIX names live in a directory of this run, made and removed here in the
            # parent, so that even a killed child leaves no socket file behind.
            unix_dir = tempfile.mkdtemp(prefix=f"listenspec-{os.getpid()}-")
            child = self._take_spare() or self._fork(mask)
            usable = unix_dir if len(unix_dir) <= MAX_UNIX_DIR else None
            # a child gone already makes this a BrokenPipeError: _collect sees EOF, we say how
            with contextlib.suppress(BrokenPipeError):
                _write_frame(child.job, (steps, limit, usable, probes))
            if not self.ahead:  # no run after this one: the child exits after its last result
                os.close(child.job)
                child.job = -1
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                error, timed_out = _collect(child.results, len(steps), time.monotonic() + limit,
                                            frames)
            except KeyboardInterrupt:
                stopped_by = signal.SIGINT
            except _Signalled as e:
                stopped_by = e.signum
            if stopped_by is not None:
                signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
                _drain(child.results, frames)  # results the child wrote before the signal came
            results = frames.results[: len(steps)]
            self.drifts = frames.drifts[: len(steps)]
            if stopped_by is None and not timed_out and error is None:
                if len(results) == len(steps) and self.ahead:
                    # kept for the next run, which it is making its namespace for now
                    child.ready, child.idle_since = frames.ready, time.monotonic()
                    child.pending = bytes(frames.buf)
                    self._spare, reaped = child, 0
                elif len(results) == len(steps):
                    # the child exits by itself after its last result: reaped later (by the
                    # next run or close()), so that its exit costs this run nothing
                    self._exiting.append(child.pid)
                    reaped = 0
                elif _await_eof(child.results, EXIT_WAIT):  # it ended early: say how
                    reaped = _exit_status(child.pid, EXIT_WAIT)
        finally:
            signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
            if child is not None and child is not self._spare:
                for fd in (child.job, child.results):
                    if fd >= 0:
                        os.close(fd)
                if reaped is None:
                    _kill_and_reap(child.pid)
            if unix_dir is not None:
                shutil.rmtree(unix_dir, ignore_errors=True)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if stopped_by is not None:
            raise RunInterrupted(stopped_by, results)
        if error is not None:
            raise KernelExecutorError(error)
        return results + _unfinished(len(steps) - len(results), timed_out, limit, reaped)

    def _take_spare(self) -> _Child | None:
        """The child kept from the last run, once it says it is ready; None (it is ended) if it
        is not ready in time, said anything else, or has been idle too long."""
        spare, self._spare = self._spare, None
        if spare is None:
            return None
        if time.monotonic() - spare.idle_since < REUSE_IDLE and (
                spare.ready or _await_ready(spare.results, READY_WAIT, spare.pending)):
            spare.ready = False
            return spare
        for fd in (spare.job, spare.results):
            os.close(fd)
        _kill_and_reap(spare.pid)
        return None

    def _fork(self, mask: set[int | signal.Signals]) -> _Child:
        """A child that enters its namespace and waits for one run's steps (signals deferred
        by the caller)."""
        parent = os.getpid()
        job_r, job_w = os.pipe2(os.O_CLOEXEC)
        res_r, res_w = os.pipe2(os.O_CLOEXEC)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child; coverage cannot see it
            os.close(job_w)
            os.close(res_r)
            _child(job_r, res_w, parent=parent, isolated=self.isolated, mask=mask)
        os.close(job_r)
        os.close(res_w)
        return _Child(pid, job_w, res_r)

    def _reap(self, wait: float) -> None:
        """Reap the children that exited after their last result; with wait > 0, give the
        rest that long, then kill them."""
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
        try:
            left = []
            for pid in self._exiting:
                if (_exit_status(pid, wait) if wait > 0 else _poll_exit(pid)) is not None:
                    continue
                if wait > 0:
                    _kill_and_reap(pid)
                else:
                    left.append(pid)
            self._exiting = left
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def close(self) -> None:
        """Reap every child (killing the spare, which never got a run); idempotent."""
        self._reap(EXIT_WAIT)
        spare, self._spare = self._spare, None
        if spare is None:
            return
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
        try:
            for fd in (spare.job, spare.results):
                if fd >= 0:
                    os.close(fd)
            _kill_and_reap(spare.pid)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _await_eof(fd: int, timeout: float) -> bool:
    """Whether the pipe reaches its end (the writer exited) within `timeout`; data is read and
    dropped (there is none after the last result)."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready and not os.read(fd, 1 << 16):
            return True


def _unfinished(missing: int, timed_out: bool, limit: float, status: int | None) -> list[Result]:
    if missing <= 0:
        return []
    if timed_out:
        first: Result = Unsupported(f"stopped: the run exceeded its time limit of {limit:g} s")
        rest: Result = Unsupported("not run: an earlier step exceeded the run's time limit")
    else:
        how = "ended" if status is None else _describe_status(status)
        first = Unsupported(f"stopped: the executor process {how}")
        rest = Unsupported("not run: the executor process had ended")
    return [first] + [rest] * (missing - 1)


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def _exit_status(pid: int, timeout: float) -> int | None:
    """The child's wait status once it has exited (reaping it), or None after `timeout`."""
    deadline = time.monotonic() + timeout
    pause = 0.0002  # a child whose pipe just closed is a zombie within microseconds
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() >= deadline:
            return None
        time.sleep(pause)
        pause = min(pause * 2, 0.01)


def _poll_exit(pid: int) -> int | None:
    done, status = os.waitpid(pid, os.WNOHANG)
    return status if done else None


def _kill_and_reap(pid: int) -> None:
    """SIGKILL the child (harmless if it already exited: it stays a zombie until reaped, so the
    pid cannot have been reused) and wait for it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while True:
        try:
            os.waitpid(pid, 0)
            return
        except ChildProcessError:
            return
        except InterruptedError:  # pragma: no cover - PEP 475 retries for us
            continue


class _Frames:
    """The result frames read so far from the child, and the bytes of an unfinished one."""

    def __init__(self) -> None:
        self.results: list[Result] = []
        self.drifts: list[float] = []  # the run's drift (Executor.drift) after each result
        self.ready = False  # the child said it is ready for another run (after the results)
        self.buf = bytearray()

    def feed(self, chunk: bytes) -> str | None:
        """Take in bytes; return the message of an error frame if one is complete."""
        self.buf += chunk
        while len(self.buf) >= _FRAME.size:
            (size,) = _FRAME.unpack_from(self.buf)
            if len(self.buf) < _FRAME.size + size:
                break
            kind, payload = pickle.loads(bytes(self.buf[_FRAME.size : _FRAME.size + size]))
            del self.buf[: _FRAME.size + size]
            if kind == "error":
                return str(payload)
            if kind == "ready":
                self.ready = True
                continue
            result, drift = payload
            self.results.append(result)
            self.drifts.append(drift)
        return None


def _collect(fd: int, count: int, deadline: float, frames: _Frames) -> tuple[str | None, bool]:
    """Read result frames until `count` results, EOF, an error frame or the deadline; return
    the error, if any, and whether the deadline passed."""
    while len(frames.results) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, True
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return None, False
        if (error := frames.feed(chunk)) is not None:
            return error, False
    return None, False


def _await_ready(fd: int, timeout: float, pending: bytes = b"") -> bool:
    """Whether the next frame on `fd` (after the bytes already read of it, `pending`), within
    `timeout`, is a kept child's "ready" and nothing else follows it."""
    frames = _Frames()
    if pending and frames.feed(pending) is not None:
        return False
    deadline = time.monotonic() + timeout
    while not frames.ready:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            return False
        chunk = os.read(fd, 1 << 16)
        if not chunk or frames.feed(chunk) is not None:
            return False
    return not frames.results and not frames.buf


def _drain(fd: int, frames: _Frames) -> None:
    """Take in whatever the pipe holds now, without waiting."""
    while select.select([fd], [], [], 0)[0]:
        chunk = os.read(fd, 1 << 16)
        if not chunk or frames.feed(chunk) is not None:
            return


def _write_frame(fd: int, obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_FRAME.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _child(
    job: int, fd: int, *, parent: int, isolated: bool, mask: set[int | signal.Signals],
) -> None:  # pragma: no cover - runs in the child
    code = 0
    try:
        # The parent owns Ctrl-C: it kills this process, which must not run the caller's
        # handlers or unwind into the caller's code.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        sys_prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before PDEATHSIG was armed
            os._exit(1)
        # Everything inherited from the parent is left out of garbage collection: a full
        # collection over a large parent's objects takes ~0.2 s here, a pause in mid-script
        # the stack's timers see (timing.py).
        gc.freeze()
        signal.alarm(IDLE_LIMIT)  # a spare waits for its steps this long at most
        # What the caller had open is not the script's: close it, so that the script starts as
        # a fresh program would, with 0, 1 and 2 (and the two pipes) only.
        close_all_but(sorted((job, fd)))
        problem: str | None = None
        base: NetnsBase | None = None
        if isolated:
            try:
                base = prepare_netns()
                enter_fresh_netns(base)
            except BaseException:
                problem = traceback.format_exc()
        reader = _JobReader(job)
        while True:
            got = reader.read()
            if got is None:
                os._exit(0)  # the parent closed the runner: no (further) run for this child
            steps, limit, unix_dir, probes = got
            signal.alarm(int(limit) + ALARM_SLACK)
            if problem is not None:
                _write_frame(fd, ("error", problem))
                os._exit(1)
            executor = Executor(isolated=isolated, unix_dir=unix_dir, probes=probes)
            try:
                for step in steps:
                    result = executor.run_step(step)
                    _write_frame(fd, ("result", (result, executor.drift)))
            finally:
                executor.close()
            # The next script starts as a fresh program in a fresh namespace would: whatever
            # this one left open is closed (its namespace goes with its last socket).
            signal.alarm(IDLE_LIMIT)
            if reader.closed():
                os._exit(0)
            start_afresh((job, fd), base)
            _write_frame(fd, ("ready", None))
    except BrokenPipeError:
        code = 1  # the parent stopped listening; nothing to report to
    except BaseException:
        code = 1
        with contextlib.suppress(OSError):
            _write_frame(fd, ("error", traceback.format_exc()))
    finally:
        os._exit(code)


_Job: TypeAlias = tuple[tuple[Step, ...], float, str | None, Probed]


def close_all_but(kept: list[int]) -> None:
    """Close every descriptor of this process above 2 but those in `kept` (sorted)."""
    low = 3
    for k in kept:
        os.closerange(low, k)
        low = k + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


def start_afresh(pipes: tuple[int, int], base: NetnsBase | None) -> None:
    """In a kept child, between two scripts: close whatever the last one left open (all but
    the pipes and `base`'s descriptor) and, where it has private namespaces, move into a fresh
    one, so that the next starts as a fresh program in a fresh namespace would."""
    kept = {*pipes} | ({base.fd} if base is not None and base.fd is not None else set())
    close_all_but(sorted(kept))
    if base is not None:
        enter_fresh_netns(base)


class _JobReader:
    """The frames the parent sends a child, one per run (its steps, time limit, AF_UNIX
    directory, what the probes found); bytes read past one frame are kept for the next."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = bytearray()

    def read(self) -> _Job | None:
        """The next job, or None at EOF (the parent closed its end: no more runs)."""
        while True:
            if len(self.buf) >= _FRAME.size:
                (size,) = _FRAME.unpack_from(self.buf)
                if len(self.buf) >= _FRAME.size + size:
                    job: _Job = pickle.loads(bytes(self.buf[_FRAME.size:_FRAME.size + size]))
                    del self.buf[:_FRAME.size + size]
                    return job
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return None
            self.buf += chunk

    def closed(self) -> bool:
        """Whether the parent has closed its end already (no run will follow), without
        waiting; bytes of a job that came are kept."""
        if self.buf or not select.select([self.fd], [], [], 0)[0]:
            return False
        chunk = os.read(self.fd, 1 << 16)
        self.buf += chunk
        return not chunk
