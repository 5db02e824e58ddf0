"""Known answers: every way the kernel executor observes is checked before it is trusted.

A stack may offer a mechanism and answer it wrongly (gVisor 2022-12 reads SO_ACCEPTCONN 0 for
an AF_UNIX listener, lists /proc/net/tcp listeners with empty queues and TcpExt without values),
so nothing is inferred from a call succeeding: each mechanism is asked about a situation whose
answer is known, and is used only if it gives that answer. A mechanism that fails is never a
value in a trace; the observations that need it are `unsupported("why")`, with the reason found
here.

The probes run once per process, in a throw-away child made as a script's child is made (in a
private network namespace when runs are isolated; in the current one otherwise), so nothing
they create outlives them and no script's state can bend them (a script may lower somaxconn).
What each probe asks and expects:

- SO_ACCEPTCONN (per family): 0 on a fresh socket, 1 once it listens;
- /proc/self/net/unix: lists an AF_UNIX listener (by inode) with __SO_ACCEPTCON (0x10000) and a
  bound socket that does not listen without it (netstat's "is it listening" for AF_UNIX where
  SO_ACCEPTCONN fails);
- sock_diag (per family): a listener made with backlog 3 shows 0/0/3, and 1/0/3 once a client
  connected. There is no second source for a TCP listener's queues: /proc/net/tcp prints a
  listener's completed queue as rx_queue but nothing of its limit (Linux 6.18
  net/ipv4/tcp_ipv4.c get_tcp4_sock(): tx_queue is write_seq - snd_una, 0 for a listener) and
  no SYN_RECV rows in gVisor; gVisor 2022-12 prints 0:0 for a listener holding a connection
  (measured);
- TCP_INFO: tcpi_state reads LISTEN on a listener and ESTABLISHED on a connected client;
- counters: one loopback connection adds 1 to Tcp ActiveOpens and to PassiveOpens;
- syn() (where the run may add a device): a SYN gets a SYN-ACK from a fresh listener and a RST
  from a port nobody listens on, by the `raw` method, else by the `tun` method (synpeer.py).
"""

from __future__ import annotations

import contextlib
import errno
import os
import pickle
import select
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from functools import cache
from typing import Final

import attrs

from ..results import Err, Queue, Ret, render
from .libc import SysError, errno_name

FAMILIES: Final = {"AF_INET": socket.AF_INET, "AF_INET6": socket.AF_INET6,
                   "AF_UNIX": socket.AF_UNIX}
LOOPBACK: Final[dict[int, str]] = {socket.AF_INET: "127.0.0.1", socket.AF_INET6: "::1"}
#: include/net/sock.h: the flag /proc/net/unix prints for a listening socket.
SO_ACCEPTCON_FLAG: Final = 0x10000
TCP_LISTEN: Final = 10
TCP_ESTABLISHED: Final = 1
#: The whole probe's time limit (the syn() probes wait for answers; a stack may be slow).
PROBE_LIMIT: Final = 30.0
#: How long a connection's other end may take to show up (gVisor completes handshakes in a
#: thread of its own).
ARRIVAL_WAIT: Final = 1.0


@attrs.frozen
class Probed:
    """What the probes found: for each mechanism, None if it gave the known answers, else why
    it is not trusted (a sentence for `unsupported(...)`)."""

    acceptconn: Mapping[str, str | None]
    proc_unix: str | None
    diag: Mapping[str, str | None]
    tcp_info: str | None
    counters: str | None
    #: family name -> the syn() method that gave the known answers, or why none did (empty:
    #: not probed, since the run has no syn(); see syn_probed)
    syn: Mapping[str, str] = attrs.field(factory=dict)

    def syn_method(self, family: int) -> str | None:
        name = _family_name(family)
        method = self.syn.get(name, "")
        return method if method in ("raw", "tun") else None

    def syn_problem(self, family: int) -> str:
        return self.syn.get(_family_name(family),
                            "syn() is not supported by the kernel executor here: not probed")


INET: Final = ("AF_INET", "AF_INET6")


def _family_name(family: int) -> str:
    return next((n for n, f in FAMILIES.items() if f == family), f"address family {family}")


# --------------------------------------------------------------------------- the probes


def _listener(family: int, backlog: int, unix_dir: str | None,
              *, bind: bool = True) -> socket.socket:
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        if family == socket.AF_UNIX:
            if unix_dir is not None:
                path = os.path.join(unix_dir, f"probe-{os.urandom(4).hex()}")
                s.bind(path)
            else:
                s.bind(b"\0listenspec-probe-" + os.urandom(6).hex().encode())
        elif bind:
            s.bind((LOOPBACK[family], 0))
        s.listen(backlog)
    except BaseException:
        s.close()
        raise
    return s


def _connected(lsock: socket.socket) -> socket.socket:
    c = socket.socket(lsock.family, socket.SOCK_STREAM)
    try:
        c.setblocking(False)
        code = c.connect_ex(lsock.getsockname())
        if code not in (0, errno.EINPROGRESS, errno.EAGAIN):
            raise OSError(code, os.strerror(code))
        _, ready, _ = select.select([], [c], [], ARRIVAL_WAIT)
        pending = c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if not ready or pending:
            raise OSError(pending or errno.ETIMEDOUT, "the probe's connect did not complete")
    except BaseException:
        c.close()
        raise
    # the listener's end may arrive a little later (asynchronous stacks)
    select.select([lsock], [], [], ARRIVAL_WAIT)
    return c


def probe_acceptconn(family: int, unix_dir: str | None) -> str | None:
    name = _family_name(family)
    try:
        with socket.socket(family, socket.SOCK_STREAM) as fresh:
            before = fresh.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        with _listener(family, 3, unix_dir) as lsock:
            after = lsock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
    except OSError as exc:
        return f"SO_ACCEPTCONN cannot be probed for {name}: {_why(exc)}"
    if (before, after) != (0, 1):
        return (f"SO_ACCEPTCONN reads {after} for an {name} listener and {before} for a fresh "
                "socket (the known answers are 1 and 0)")
    return None


def unix_listening(inode: int) -> bool | None:
    """Whether /proc/self/net/unix shows the socket with this inode listening; None if it is
    not listed."""
    # bytes: no codec module to import (a process that dropped root may not read them)
    with open("/proc/self/net/unix", "rb") as f:
        next(f, None)  # the header
        for line in f:
            fields = line.split()
            if len(fields) >= 7 and fields[6].isdigit() and int(fields[6]) == inode:
                return bool(int(fields[3], 16) & SO_ACCEPTCON_FLAG)
    return None


def probe_proc_unix(unix_dir: str | None) -> str | None:
    try:
        with _listener(socket.AF_UNIX, 3, unix_dir) as lsock, \
                socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as other:
            other.bind(b"\0listenspec-probe-" + os.urandom(6).hex().encode())
            got = (unix_listening(os.fstat(lsock.fileno()).st_ino),
                   unix_listening(os.fstat(other.fileno()).st_ino))
    except OSError as exc:
        return f"/proc/self/net/unix cannot be probed: {_why(exc)}"
    if got != (True, False):
        return (f"/proc/self/net/unix shows a listener as {_listed(got[0])} and a bound socket "
                f"that does not listen as {_listed(got[1])} (the known answers: listening, "
                "not listening)")
    return None


def _listed(flag: bool | None) -> str:
    return "absent" if flag is None else "listening" if flag else "not listening"


def probe_diag(family: int, unix_dir: str | None) -> str | None:
    from .diag import Diag, NotFound

    name = _family_name(family)
    diag = Diag()
    diag.open()
    try:
        with _listener(family, 3, unix_dir) as lsock:
            fresh = diag.listener_queue(lsock.fileno(), family)
            with _connected(lsock):
                one = diag.listener_queue(lsock.fileno(), family)
    except NotFound as exc:
        return f"sock_diag fails for an {name} probe listener: {exc}"
    except OSError as exc:
        return f"sock_diag cannot be probed for {name}: {_why(exc)}"
    finally:
        diag.close()
    if (fresh, one) != (Queue(0, 0, 3), Queue(1, 0, 3)):
        return (f"sock_diag shows {render(fresh)} for a fresh {name} listener with backlog 3 and "
                f"{render(one)} once a client connected (the known answers are 0/0/3 and 1/0/3)")
    return None


def probe_tcp_info() -> str | None:
    try:
        with _listener(socket.AF_INET, 3, None) as lsock, _connected(lsock) as client:
            states = (lsock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0],
                      client.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0])
    except (OSError, IndexError) as exc:
        return f"TCP_INFO cannot be probed: {_why(exc)}"
    if states != (TCP_LISTEN, TCP_ESTABLISHED):
        return (f"TCP_INFO reads state {states[0]} for a listener and {states[1]} for a "
                f"connected client (the known answers are {TCP_LISTEN} and {TCP_ESTABLISHED})")
    return None


def probe_counters() -> str | None:
    from .counters import Counters

    counters = Counters()
    try:
        names = ("Tcp.ActiveOpens", "Tcp.PassiveOpens")
        before = [counters.lookup(n) for n in names]
        if None in before:
            return "the counter files list no Tcp ActiveOpens and PassiveOpens with values"
        with _listener(socket.AF_INET, 3, None) as lsock, _connected(lsock):
            deadline = time.monotonic() + ARRIVAL_WAIT
            while True:
                after = [counters.lookup(n) for n in names]
                moved = [(a or 0) - (b or 0) for a, b in zip(after, before, strict=True)]
                if moved == [1, 1] or time.monotonic() >= deadline:
                    break
                time.sleep(0.01)
    except OSError as exc:
        return f"the counters cannot be probed: {_why(exc)}"
    finally:
        counters.close()
    if moved != [1, 1]:
        return (f"one loopback connection moved Tcp ActiveOpens by {moved[0]} and PassiveOpens "
                f"by {moved[1]} (the known answer is 1 and 1)")
    return None


def probe_syn(family: int, counters_ok: bool) -> str:
    """The method by which syn() gives the known answers for this family, or why none does."""
    from .counters import Counters
    from .synpeer import METHODS, SLOW_ANSWER_WAIT, SynPeer

    name = _family_name(family)
    tried = []
    for method in METHODS:
        peer = SynPeer(method, wait=SLOW_ANSWER_WAIT)
        counters = Counters()
        drops = counters.listen_drops if counters_ok else (lambda: (0, 0))
        try:
            with _listener(family, 3, None, bind=method == "raw") as lsock:
                port = lsock.getsockname()[1]
                host = lsock.getsockname()[0]
                answered = peer.syn(family, host, port, drops)
            with _listener(family, 3, None, bind=method == "raw") as closed:
                host, port = closed.getsockname()[:2]
            refused = peer.syn(family, host, port, drops)  # nobody listens there any more
        except ImportError as exc:
            return f"syn() is not supported by the kernel executor here: {exc}"
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            tried.append(f"{method}: {exc.strerror or exc}{where}")
            continue
        finally:
            peer.close()
            counters.close()
        if (answered, refused) == (Ret(0), Err("ECONNREFUSED")):
            return method
        tried.append(f"{method}: a SYN to a fresh {name} listener got {render(answered)} and one "
                     f"to a closed port {render(refused)} (the known answers are 0 and "
                     "-1 ECONNREFUSED)")
    return f"syn() is not supported by the kernel executor here: {'; '.join(tried)}"


def _nothing_yet() -> Probed:
    why = "the probes did not run"
    return Probed(acceptconn=dict.fromkeys(FAMILIES, why), proc_unix=why,
                  diag=dict.fromkeys(FAMILIES, why), tcp_info=why, counters=why)


#: What a run that trusts nothing gets (no probe was asked for).
NOTHING: Final = _nothing_yet()


def _why(exc: BaseException) -> str:
    if isinstance(exc, SysError):
        return str(exc.args[0])
    if isinstance(exc, OSError) and exc.errno:
        return errno_name(exc.errno)
    return str(exc) or type(exc).__name__


def probe_here(*, unix_dir: str | None) -> Probed:
    """Every probe but syn()'s, in the current process and namespace."""
    return Probed(
        acceptconn={n: probe_acceptconn(f, unix_dir) for n, f in FAMILIES.items()},
        proc_unix=probe_proc_unix(unix_dir),
        diag={n: probe_diag(f, unix_dir) for n, f in FAMILIES.items()},
        tcp_info=probe_tcp_info(),
        counters=probe_counters(),
    )


def probe_syn_here(*, may_add_devices: bool) -> dict[str, str]:
    if not may_add_devices:
        why = ("syn() is not supported by the kernel executor outside a private network "
               "namespace: it adds a TUN device and routes for the half-open peer")
        return dict.fromkeys(INET, why)
    counters_ok = probe_counters() is None
    return {n: probe_syn(FAMILIES[n], counters_ok) for n in INET}


# --------------------------------------------------------------------------- the throw-away child


@cache
def probed(*, isolated: bool) -> Probed:
    """The probes' findings (but syn()'s) for runs made this way; once per process."""
    found = _in_child(lambda unix_dir: probe_here(unix_dir=unix_dir), isolated=isolated)
    if isinstance(found, Probed):
        return found
    return _nothing(found.reason if isinstance(found, _Failed) else "the probes did not run")


@cache
def syn_probed(*, isolated: bool, sandboxed: bool = False) -> Mapping[str, str]:
    """The syn() method per family (or why none), for runs made this way; once per process,
    and only for a process whose runs use syn() (it sets up a device)."""
    found = _in_child(lambda unix_dir: probe_syn_here(may_add_devices=isolated or sandboxed),
                      isolated=isolated)
    if isinstance(found, dict):
        return found
    why = found.reason if isinstance(found, _Failed) else "its probe did not finish"
    return dict.fromkeys(INET, f"syn() is not supported by the kernel executor here: {why}")


def _in_child(job: Callable[[str | None], object], *, isolated: bool) -> object:
    """job(unix_dir) in a throw-away child made as a run's child is made; its pickled result,
    or None if it failed or ran out of time."""
    import shutil
    import tempfile

    from .libc import PR_SET_PDEATHSIG, sys_prctl
    from .netns import enter_private_netns

    unix_dir = tempfile.mkdtemp(prefix=f"listenspec-probe-{os.getpid()}-")
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the probe child
        code = 0
        try:
            os.close(read_end)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            sys_prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            signal.alarm(int(PROBE_LIMIT) + 5)
            if isolated:
                enter_private_netns()
            data = pickle.dumps(job(unix_dir if len(unix_dir) <= 90 else None))
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view):]
        except BaseException:
            code = 1
            with contextlib.suppress(BaseException):
                os.write(write_end, pickle.dumps(_Failed(traceback.format_exc())))
        finally:
            os._exit(code)
    os.close(write_end)
    chunks: list[bytes] = []
    try:
        deadline = time.monotonic() + PROBE_LIMIT
        while (remaining := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([read_end], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        shutil.rmtree(unix_dir, ignore_errors=True)
    try:
        found: object = pickle.loads(b"".join(chunks))
    except Exception:
        return _Failed("the probe's process ended without an answer")
    if isinstance(found, _Failed):  # a bug of the probe itself: say so, trust nothing
        print(f"listenspec: a known-answer probe failed:\n{found.why}", file=sys.stderr)
    return found


@attrs.frozen
class _Failed:
    why: str

    @property
    def reason(self) -> str:
        lines = self.why.strip().splitlines()
        return f"the probes failed ({lines[-1] if lines else '?'})"


def _nothing(why: str) -> Probed:
    return Probed(acceptconn=dict.fromkeys(FAMILIES, why), proc_unix=why,
                  diag=dict.fromkeys(FAMILIES, why), tcp_info=why, counters=why)
