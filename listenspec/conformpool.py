"""Where conformance checks scripts: in this process, or in worker processes on every core.

A check (`conform.check_one`) runs a script on the target and reads the target's results as a
trace of the profile; it depends on the script alone, so checks may run anywhere and in any
order: `conform` puts the answers back in the scripts' order, which keeps its summary and the
mismatch it finds the same for any number of workers.

`Workers(n)` forks n worker processes; each makes its own target (for `linux`: its own runner,
so every run still gets a network namespace of its own, made ahead of use) and checks the
scripts it is sent, one at a time, up to `DEPTH` queued so it never waits for the parent.
With `then`, a worker only runs the script on its target, and `then(script, results)` (the
model's check) is done by one of a few *judges*, processes that run only when no run wants a
core (SCHED_IDLE): a run's steps are never kept waiting by a check, which on a busy machine
made steps late and scripts run again, and the checks take what time is left. A
script's sleep() steps are real seconds on a real stack, so the scripts that sleep are sent
first, the longest first (as in longest-processing-time scheduling), each to a worker of its
own, while a core's worth of workers stays with the scripts that do not sleep, and those run
on at most BUSY_PER_CORE workers a core (each keeps a core busy).
Nothing is left behind: `close()` (also on Ctrl-C) ends the workers with SIGTERM, which unwinds
their runs (each kills and reaps its child and removes its directory), and SIGKILLs a worker
that is not gone within `EXIT_WAIT`; a worker dies with the parent (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import heapq
import os
import pickle
import select
import signal
import struct
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any, Final, Protocol

import attrs

from .errors import ListenspecError
from .script import Script
from .targets import Target

#: scripts queued on a worker at once (one running, the next ready to start)
DEPTH: Final = 2
#: runs queued on a judge at once (Workers(then=...))
JUDGE_DEPTH: Final = 4
#: Workers per core by default: a kernel run mostly waits (its sleep()s, a connect settling),
#: and the model's checks are made by judges of their own (Workers(then=...)), so many runs
#: at once keep the cores busy. Measured here (2 cores, `listenspec conform --examples 2000`
#: timed by hand, seed 1): 20.8 s with 64 workers, 15.7 s with 96, 14.4-15.5 s with 128,
#: 15.4 s with 160 (the cores are the bound by then); ~4.5 MB of memory a process.
PER_CORE: Final = 64
#: ... but never more than this many (each holds a process and a namespace made ahead of use)
MOST_WORKERS: Final = 256
#: the same for any other target, whose every worker holds a sandbox or a program. Measured
#: here on gVisor (`listenspec conform --target gvisor --profile gvisor --examples 100 --seed 1
#: --workers N`): 14.2 s with 8 and with 16 workers, 21.7 s with 32 (32 sandboxes on 2 cores)
OTHER_PER_CORE: Final = 8
OTHER_MOST: Final = 64
#: workers a core that may hold scripts that do not sleep (the rest wait out sleep() steps)
BUSY_PER_CORE: Final = 2
#: CPU seconds a script's run and check take after its sleep() (about 14 ms here): sleepers are
#: started this long apart divided by the cores, because sleepers of one length started
#: together wake together, and twenty runs taking their next steps at one moment on two cores
#: make some step wait 50 ms (a pause: kernel/timing.py runs the script again)
SLEEPER_SPACING: Final = 0.02


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        os.cpu_count() or 1


def default_workers(target: str = "linux") -> int:
    """How many workers conformance uses unless told: for this kernel PER_CORE per core, at
    most MOST_WORKERS; for another target (a gVisor sandbox or an executor program a worker)
    OTHER_PER_CORE per core, at most OTHER_MOST."""
    if target == "linux":
        return min(PER_CORE * cores(), MOST_WORKERS)
    return min(OTHER_PER_CORE * cores(), OTHER_MOST)


def waits(script: Script) -> float:
    """The seconds a script's sleep() steps take on a real stack: time a worker spends waiting,
    using no core."""
    return sum(float(a) for st in script.steps if st.call.name == "sleep"
               for a in st.call.args if isinstance(a, Decimal))


def busy_lanes(n: int, ncores: int) -> int:
    """Of n workers, how many may hold scripts that do not sleep at once: BUSY_PER_CORE a
    core. Such a script keeps a core busy nearly all its run, so more at once only makes
    them take turns (and the sleepers' timers late)."""
    return min(n, BUSY_PER_CORE * ncores)


def sleeper_lanes(n: int, ncores: int) -> int:
    """Of n workers, how many may be running a script that sleeps at once while scripts that
    do not are waiting: the rest (one a core, at most half the workers) stay with those, so
    the cores are kept busy while the sleepers wait."""
    return n - min(ncores, n // 2)
#: how long a worker may go without answering before the run is given up (a check is bounded
#: by its kernel run's own limit, at most 60 s of sleep plus ~16 s for 25 steps)
STALL_LIMIT: Final = 300.0
#: while scripts are still being drawn, how often the dispatcher looks for new ones (s)
DRAW_POLL: Final = 0.002
EXIT_WAIT: Final = 2.0

_FRAME: Final = struct.Struct("!I")


class Pool(Protocol):
    def checks(self, scripts: Sequence[Script] | Drawing) -> Iterator[tuple[int, Any]]:
        """(index, check) for every script, in any order; stopping early is allowed."""
        ...

    def check(self, script: Script) -> Any:
        """One script's check, now."""
        ...

    def close(self) -> None: ...


@attrs.define
class InProcess:
    """Checks in this process, in order."""

    check: Callable[[Script], Any]

    def checks(self, scripts: Sequence[Script] | Drawing) -> Iterator[tuple[int, Any]]:
        for i, s in enumerate(scripts.result() if isinstance(scripts, Drawing) else scripts):
            yield i, self.check(s)

    def close(self) -> None:
        pass


@attrs.define
class _Worker:
    pid: int
    jobs: int  # write end: frames (index, script)
    answers: int  # read end: frames ("check", index, check) or ("error", text)
    buf: bytearray = attrs.field(factory=bytearray)
    queued: deque[int] = attrs.field(factory=deque)


class Drawing:
    """Scripts drawn in a process of their own while the workers check the first ones, so that
    drawing them (Hypothesis: about 2 ms a script) overlaps the checks instead of coming first,
    and takes neither this process's time nor its interpreter lock from the dispatching (in a
    thread of this process it did: at 128 workers the last of 2,000 scripts came at 13.1 s, in
    a process at 11.3 s; drawing them alone takes 4 s, the rest is waiting for a core).
    `draw(put)` calls put(script) for each script, in order; `poll()` takes what has arrived.
    Start it after the workers are forked (they must not hold its pipe), from a process with no
    other thread (it forks); the drawing process dies with this one."""

    def __init__(self, draw: Callable[[Callable[[Script], None]], None] | None = None) -> None:
        self.scripts: list[Script] = []
        self.complete = draw is None
        self._error: BaseException | None = None
        self._pid: int | None = None
        self._fd: int | None = None
        self._buf = bytearray()
        if draw is not None:
            self._start(draw)

    @classmethod
    def done(cls, scripts: Sequence[Script]) -> Drawing:
        d = cls()
        d.scripts = list(scripts)
        return d

    def _start(self, draw: Callable[[Callable[[Script], None]], None]) -> None:
        r, w = os.pipe2(os.O_CLOEXEC)
        parent = os.getpid()
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the drawing process
                os.close(r)
                _draw_here(draw, w, parent, mask)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(w)
        os.set_blocking(r, False)
        self._pid, self._fd = pid, r

    def poll(self, timeout: float = 0.0) -> None:
        """Take the scripts that have arrived (waiting up to `timeout` for some)."""
        if self._fd is None:
            return
        if timeout > 0:
            select.select([self._fd], [], [], timeout)
        while self._fd is not None:
            try:
                chunk = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                return
            if not chunk:  # the drawing process ended: it said how before it did
                self._finish("the process drawing the scripts ended without a word")
                return
            self._buf += chunk
            for kind, obj in _received(self._buf):
                if kind == "script":
                    self.scripts.append(obj)
                else:
                    self._finish(None if kind == "done" else obj)
                    return

    def _finish(self, error: BaseException | str | None) -> None:
        if isinstance(error, str):
            error = ListenspecError(error)
        self._error = self._error or error
        self._reap(kill=False)
        self.complete = True

    def _reap(self, *, kill: bool) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._pid is not None:
            if kill:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            self._pid = None

    def result(self) -> list[Script]:
        """Every script drawn (after the draw ends); the draw's own error, if it failed."""
        while not self.complete:
            self.poll(STALL_LIMIT)
        if self._error is not None:
            raise self._error
        return self.scripts

    def stop(self) -> None:
        """End the draw now (the scripts that arrived stay)."""
        if not self.complete:
            self.poll()
        if not self.complete:
            self._reap(kill=True)
            self.complete = True


def _draw_here(draw: Callable[[Callable[[Script], None]], None], out: int, parent: int,
               mask: set[int | signal.Signals]) -> None:  # pragma: no cover - drawing process
    from .kernel.libc import PR_SET_PDEATHSIG, sys_prctl
    from .kernel.runner import close_all_but

    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns Ctrl-C
        sys_prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        close_all_but([out])  # the workers' pipes among them: they see their EOF
        draw(lambda script: _send(out, ("script", script)))
        _send(out, ("done", None))
    except BrokenPipeError:
        code = 1
    except BaseException as e:
        code = 1
        try:
            pickle.dumps(e)
            report: BaseException | str = e
        except Exception:
            report = "".join(traceback.format_exception(e))
        with contextlib.suppress(OSError):
            _send(out, ("error", report))
    finally:
        os._exit(code)


class Workers:
    """n worker processes, each with its own target made by `make_target()`, checking scripts
    with `check(script, target)` (module docstring)."""

    def __init__(self, n: int, make_target: Callable[[], Target],
                 check: Callable[[Script, Target], Any], *,
                 then: Callable[[Script, Any], Any] | None = None,
                 judges: int | None = None) -> None:
        if n < 1:
            raise ListenspecError(f"--workers must be at least 1, not {n}")
        self.workers: list[_Worker] = []
        self.judges: list[_Worker] = []  # none without `then`
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            for _ in range(n):
                self.workers.append(_spawn(make_target, check, mask))
            if then is not None:
                judge = then
                for _ in range(judges or cores()):
                    self.judges.append(_spawn(contextlib.nullcontext,  # type: ignore[arg-type]
                                              lambda job, _: judge(*job), mask, idle=True))
        except BaseException:
            self.close()
            raise
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def checks(self, scripts: Sequence[Script] | Drawing) -> Iterator[tuple[int, Any]]:
        """Scripts that sleep go first, the longest first, each to a worker with nothing else
        queued, SLEEPER_SPACING apart, and at most `sleeper_lanes` of them at once while
        others wait; the others go in order, up to DEPTH a worker, never behind a sleeper.
        The answers are the same in any order (conform puts them back in the scripts' order).
        With a Drawing, the scripts are taken as they are drawn."""
        source = scripts if isinstance(scripts, Drawing) else Drawing.done(scripts)
        arrived = source.scripts
        wait: list[float] = []
        sleepers: list[tuple[float, int]] = []  # a heap: the longest first, then in order
        others: deque[int] = deque()
        lanes = sleeper_lanes(len(self.workers), cores())
        busy = busy_lanes(len(self.workers), cores())
        sleeping: set[int] = set()  # indexes of the sleepers under way
        judging: deque[tuple[int, tuple[Script, Any]]] = deque()  # runs not yet sent to a judge
        spacing = SLEEPER_SPACING / cores()
        last_sleeper = -spacing
        waiting = 0
        changed = True  # since the last pass over the workers for scripts that do not sleep
        quiet_since = time.monotonic()

        def give(w: _Worker, i: int) -> None:
            nonlocal waiting
            _send(w.jobs, (i, arrived[i]))
            w.queued.append(i)
            waiting += 1
            if wait[i] > 0:
                sleeping.add(i)

        while True:
            source.poll()
            complete = source.complete  # read first: what it covers has arrived
            for i in range(len(wait), len(arrived)):
                changed = True
                wait.append(waits(arrived[i]))
                if wait[i] > 0:
                    heapq.heappush(sleepers, (-wait[i], i))
                else:
                    others.append(i)
            if complete and not (sleepers or others or waiting):
                break
            due: float | None = None  # when a sleeper may start, if one is waiting to
            if sleepers and (len(sleeping) < lanes or not others):
                free = next((w for w in self.workers if not w.queued), None)
                due = last_sleeper + spacing - time.monotonic()
                if free is None:
                    due = None  # the next answer frees a worker
                elif due <= 0:
                    give(free, heapq.heappop(sleepers)[1])
                    last_sleeper = time.monotonic()
                    changed = True
                    due = spacing
            if others and changed:  # else the last pass found no room, and there is none
                changed = False
                # the scripts that do not sleep use a core all along: on at most `busy` workers
                def holds_sleeper(w: _Worker) -> bool:
                    return any(j in sleeping for j in w.queued)

                holding = sum(1 for w in self.workers if w.queued and not holds_sleeper(w))
                for depth in range(1, DEPTH + 1):  # every worker busy before any gets a second
                    for w in self.workers:
                        if not others:
                            break
                        if len(w.queued) < depth and not holds_sleeper(w) \
                                and (w.queued or holding < busy):
                            holding += not w.queued
                            give(w, others.popleft())
            timeout = STALL_LIMIT if complete else DRAW_POLL
            got = self._answers(timeout if due is None else min(timeout, due))
            if got or not waiting:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > STALL_LIMIT:
                raise ListenspecError(f"a conformance worker gave no answer in {STALL_LIMIT:g} s")
            for w, i, answer in got:
                if w in self.judges:
                    waiting -= 1
                    yield i, answer
                    continue
                changed = True  # a worker has room again
                sleeping.discard(i)
                if not self.judges:
                    waiting -= 1
                    yield i, answer
                else:
                    judging.append((i, (arrived[i], answer)))
            self._judge(judging)
        source.result()  # a draw that failed fails here

    def check(self, script: Script) -> Any:
        got = self._one(self.workers[0], script)
        return self._one(self.judges[0], (script, got)) if self.judges else got

    def _one(self, w: _Worker, job: Any) -> Any:
        _send(w.jobs, (-1, job))
        w.queued.append(-1)
        while True:
            for _w, i, got in self._answers():
                if i == -1:
                    return got

    def _judge(self, judging: deque[tuple[int, tuple[Script, Any]]]) -> None:
        """Send runs to the judges, the least loaded first, at most JUDGE_DEPTH queued on each
        (a judge waits for idle cores: more would fill its pipe while the parent writes)."""
        while judging:
            j = min(self.judges, key=lambda w: len(w.queued))
            if len(j.queued) >= JUDGE_DEPTH:
                return
            i, job = judging.popleft()
            _send(j.jobs, (i, job))
            j.queued.append(i)

    def _answers(self, timeout: float = STALL_LIMIT) -> list[tuple[_Worker, int, Any]]:
        busy = {w.answers: w for w in (*self.workers, *self.judges) if w.queued}
        ready, _, _ = select.select(list(busy), [], [], timeout)
        if not ready and timeout >= STALL_LIMIT:
            raise ListenspecError(f"a conformance worker gave no answer in {STALL_LIMIT:g} s")
        out = []
        for fd in ready:
            w = busy[fd]
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise ListenspecError("a conformance worker ended unexpectedly")
            w.buf += chunk
            for msg in _received(w.buf):
                if msg[0] == "error":
                    # the error itself first: a long message is cut (errors.MESSAGE_LIMIT)
                    last = msg[1].strip().splitlines()[-1:] or ["(no traceback)"]
                    raise ListenspecError(f"a conformance worker failed: {last[0]}\n{msg[1]}")
                _, i, got = msg
                w.queued.remove(i)
                out.append((w, i, got))
        return out

    def close(self) -> None:
        """End every worker and reap it (idempotent)."""
        workers, self.workers, self.judges = [*self.workers, *self.judges], [], []
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            for w in workers:
                for fd in (w.jobs, w.answers):
                    with contextlib.suppress(OSError):
                        os.close(fd)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(w.pid, signal.SIGTERM)
            deadline = time.monotonic() + EXIT_WAIT
            for w in workers:
                while not os.waitpid(w.pid, os.WNOHANG)[0]:
                    if time.monotonic() >= deadline:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(w.pid, signal.SIGKILL)
                        os.waitpid(w.pid, 0)
                        break
                    time.sleep(0.002)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _received(buf: bytearray) -> Iterator[Any]:
    """The whole frames at the start of buf, each taken out of it as it is given."""
    while len(buf) >= _FRAME.size:
        (size,) = _FRAME.unpack_from(buf)
        if len(buf) < _FRAME.size + size:
            return
        obj = pickle.loads(bytes(buf[_FRAME.size:_FRAME.size + size]))
        del buf[:_FRAME.size + size]
        yield obj


def _send(fd: int, obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_FRAME.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _spawn(make_target: Callable[[], Target], check: Callable[[Any, Target], Any],
           mask: set[int | signal.Signals], *, idle: bool = False) -> _Worker:
    jobs_r, jobs_w = os.pipe2(os.O_CLOEXEC)
    ans_r, ans_w = os.pipe2(os.O_CLOEXEC)
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the worker; coverage cannot see it
        os.close(jobs_w)
        os.close(ans_r)
        _work(jobs_r, ans_w, parent, make_target, check, mask, idle)
    os.close(jobs_r)
    os.close(ans_w)
    return _Worker(pid, jobs_w, ans_r)


def _stop(signum: int, frame: object) -> None:  # pragma: no cover - in a worker
    raise SystemExit(1)


def _work(jobs: int, answers: int, parent: int, make_target: Callable[[], Target],
          check: Callable[[Any, Target], Any], mask: set[int | signal.Signals],
          idle: bool) -> None:  # pragma: no cover - in a worker
    from .kernel.libc import PR_SET_PDEATHSIG, sys_prctl

    code = 0
    try:
        # the parent owns Ctrl-C; SIGTERM (from close(), or the parent's death) unwinds the
        # run under way, which releases its child and directory
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, _stop)
        sys_prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:
            os._exit(1)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if idle and hasattr(os, "SCHED_IDLE"):
            # a judge runs only where no run, and not the parent's drawing, wants a core
            # (lowering one's own priority needs no privilege)
            with contextlib.suppress(OSError):
                os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        with make_target() as stack:
            buf = bytearray()
            while True:
                chunk = os.read(jobs, 1 << 16)
                if not chunk:
                    break
                buf += chunk
                for i, job in _received(buf):
                    _send(answers, ("check", i, check(job, stack)))
    except (BrokenPipeError, SystemExit):
        code = 1
    except BaseException:
        code = 1
        with contextlib.suppress(OSError):
            _send(answers, ("error", traceback.format_exc()))
    finally:
        os._exit(code)
