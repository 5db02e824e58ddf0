"""The step interpreter: one script call -> the system calls it stands for -> the measured result.

It owns no semantics (DESIGN.md, "The kernel adapter is thin"): each call is mapped to the system
call(s) SCRIPT_FORMAT.md names, and the result is whatever the kernel answered. The only logic
here is bookkeeping the format asks for: NAMEs -> descriptors, the address each NAME was bound to,
settling a non-blocking connect, and closing what the script opened.

How each observation is made was checked against a known answer before the run (probes.py); an
observation whose mechanism failed its probe is `unsupported("why")`, never a value the stack did
not give. The same executor runs on Linux and inside gVisor's sandbox, where sock_diag, the
TcpExt counters and SO_ACCEPTCONN for AF_UNIX listeners fail their probes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import struct
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Final

from ..calls import CALLS
from ..literals import to_bytes
from ..results import Err, ErrName, Events, Lines, NewFd, Queue, Result, Ret, Str, Unsupported
from ..script import Arg, Call, Const, Name, Null, Step
from . import libc
from .counters import Counters
from .diag import Diag, NotFound
from .kmsg import Kmsg
from .libc import NOT_OPEN, SysError, errno_name
from .probes import FAMILIES, NOTHING, Probed, unix_listening
from .synpeer import ANSWER_WAIT, SLOW_ANSWER_WAIT, SynPeer
from .sysctl import sysctl_read, sysctl_write

DOMAINS: Final = {
    "AF_INET": socket.AF_INET,
    "AF_INET6": socket.AF_INET6,
    "AF_UNIX": socket.AF_UNIX,
}
TYPES: Final = {
    "SOCK_STREAM": socket.SOCK_STREAM,
    "SOCK_SEQPACKET": socket.SOCK_SEQPACKET,
    "SOCK_DGRAM": socket.SOCK_DGRAM,
}
#: FreeBSD's option numbers (sys/sys/socket.h), passed at Linux's SOL_SOCKET as a program ported
#: verbatim would pass them; Linux answers for itself (ENOPROTOOPT), nothing is emulated.
SO_ACCEPTFILTER: Final = 0x1000
SO_LISTENQLIMIT: Final = 0x1011
SO_LISTENQLEN: Final = 0x1012
SO_LISTENINCQLEN: Final = 0x1013
SO_REUSEPORT_LB: Final = 0x10000
#: counters whose value depends on which member of an SO_REUSEPORT group each SYN reached
#: (reuseport_select_sock(): a hash of the connection's ports; measured: 0, 1, 2, 0 migrated
#: for 1 to 4 clients of one member)
HASHED_COUNTERS: Final = frozenset({"TCPMigrateReqSuccess", "TCPMigrateReqFailure"})
#: without it no connection migrates, and both counters stay 0 whatever the hash
MIGRATE_REQ: Final = "net.ipv4.tcp_migrate_req"
#: option name -> (level, optname)
SOCKOPTS: Final = {
    "SO_ACCEPTCONN": (socket.SOL_SOCKET, socket.SO_ACCEPTCONN),
    "SO_ERROR": (socket.SOL_SOCKET, socket.SO_ERROR),
    "SO_ACCEPTFILTER": (socket.SOL_SOCKET, SO_ACCEPTFILTER),
    "SO_LISTENQLIMIT": (socket.SOL_SOCKET, SO_LISTENQLIMIT),
    "SO_LISTENQLEN": (socket.SOL_SOCKET, SO_LISTENQLEN),
    "SO_LISTENINCQLEN": (socket.SOL_SOCKET, SO_LISTENINCQLEN),
    "TCP_DEFER_ACCEPT": (socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT),
    "SO_REUSEPORT": (socket.SOL_SOCKET, socket.SO_REUSEPORT),
    "SO_REUSEPORT_LB": (socket.SOL_SOCKET, SO_REUSEPORT_LB),
    "SO_LINGER": (socket.SOL_SOCKET, socket.SO_LINGER),
}
#: shutdown(2)'s how
HOWS: Final = {"SHUT_RD": socket.SHUT_RD, "SHUT_WR": socket.SHUT_WR,
               "SHUT_RDWR": socket.SHUT_RDWR}
#: the events poll() asks for, and the flags it reports by name (in the model's order)
POLL_EVENTS: Final = select.POLLIN | select.POLLPRI | select.POLLOUT | select.POLLRDHUP
POLL_FLAGS: Final = (("POLLIN", select.POLLIN), ("POLLPRI", select.POLLPRI),
                     ("POLLOUT", select.POLLOUT), ("POLLERR", select.POLLERR),
                     ("POLLHUP", select.POLLHUP), ("POLLRDHUP", select.POLLRDHUP),
                     ("POLLNVAL", select.POLLNVAL))
#: how much one recv() asks for (the model's RECV_MAX)
RECV_SIZE: Final = 65536
#: a descriptor number above any open one (poll(2) answers POLLNVAL for it)
NEVER_OPEN: Final = 1 << 20
#: sizeof(struct accept_filter_arg) on FreeBSD: char af_name[16]; char af_arg[256-16].
ACCEPT_FILTER_ARG_SIZE: Final = 256
ACCEPT_FILTER_NAME_SIZE: Final = 16

# TCP states (include/net/tcp_states.h), as TCP_INFO's first byte reports them.
TCP_ESTABLISHED: Final = 1
TCP_SYN_SENT: Final = 2
TCP_CLOSE: Final = 7

#: Bounds on settling a non-blocking connect (SCRIPT_FORMAT.md: "wait until the outcome is
#: settled"). Loopback completes a handshake inside the connect() call; a SYN to a full queue is
#: dropped inside it too (linux.md §2 `tcp_conn_request()`), moving the drop counters at once.
SETTLE_WAIT: Final = 0.2
#: How long a sandboxed stack (gVisor) may take to deliver what a send(), shutdown() or close()
#: sent over loopback to another socket of the script. Linux delivers inside the call; netstack
#: delivers on a goroutine of its own, so without this wait the next call would race it.
DELIVERY_WAIT: Final = 0.05
#: ... and once one socket's readiness changed, how long no other change must come before the
#: delivery counts as done (a close() of a listener resets each of its queued clients in turn)
DELIVERY_QUIET: Final = 0.005
RESET_GRACE: Final = 0.02
#: The longest single sleep() a script may ask for; the run's time limit includes sleeps.
MAX_SLEEP: Final = 60.0

DROPPED: Final = Err("EINPROGRESS")


class Executor:
    """Runs steps in the current process (the runner puts it in its own namespace first).

    The executor's own descriptors (the /proc counters, /dev/kmsg and the sock_diag socket) are
    opened here, before the script's first step: a script that uses up its descriptors then
    gets `-1 EMFILE` from its own calls, and never leaves the executor unable to observe (or
    lets it take a number the script would have been given). syn()'s peer is made at the
    first syn(), by the method the probes found to work (raw sockets or a TUN device).

    isolated: the process is in a private network namespace made for this script.
    sandboxed: the process is in a sandbox made for the run (not for this script): it may
    change limits and add devices there, and every sysctl it writes is reported through
    `on_write` (path, old value) so that the caller restores it after the script.
    probes: what the known-answer probes found for runs made this way (probes.probed).
    """

    def __init__(self, *, isolated: bool, unix_dir: str | None = None,
                 probes: Probed = NOTHING, sandboxed: bool = False,
                 on_write: Callable[[str, bytes], None] | None = None) -> None:
        self.isolated = isolated
        self.sandboxed = sandboxed
        self.probes = probes
        self.on_write = on_write
        self.unix_dir = unix_dir  # where bind() puts AF_UNIX names (None: abstract names)
        self.fd_of: dict[str, int] = {}  # NAME -> descriptor; NOT_OPEN once closed / failed
        self.addr_of: dict[str, bytes] = {}  # NAME -> sockaddr it was last seen bound to
        self.owned: set[int] = set()  # descriptors the script opened and has not closed
        self.ports: set[int] = set()  # local ports of this run (to filter kernel log lines)
        self.reuseport = False  # an SO_REUSEPORT was set: SYNs may reach another group member
        self.migrating = False  # net.ipv4.tcp_migrate_req was set: a closed member hands on
        self._unix_names = 0
        self._token = f"{os.getpid()}-{os.urandom(4).hex()}"
        self.counters = Counters()
        self.counters_problem = probes.counters
        if self.counters_problem is None and isolated:
            # Known answer: a namespace made for this script has counted nothing yet.
            fresh = self.counters.lookup("TcpExt.ListenOverflows")
            if fresh not in (None, 0):
                self.counters_problem = (f"a fresh network namespace shows ListenOverflows "
                                         f"{fresh} (the known answer is 0)")
        self.diag = Diag()
        self.diag.open()
        self.kmsg = Kmsg()
        self.peer: SynPeer | None = None
        self._started: float | None = None  # when the first step began (time.monotonic())
        self._slept = 0.0  # seconds of sleep() the script asked for so far
        self._baseline = {} if isolated else self.counters.snapshot()
        # one method per declared call, named after it (`_listen` performs listen())
        self._calls: dict[str, Callable[[Call], Result]] = {
            c.name: getattr(self, f"_{c.name}") for c in CALLS if hasattr(self, f"_{c.name}")
        }

    # ------------------------------------------------------------------ running

    @property
    def drift(self) -> float:
        """Seconds the run has spent outside the sleep()s it asked for, from the start of its
        first step until now: the time that passed on the stack and not in the model, which
        takes every step as instantaneous (see timing.py)."""
        if self._started is None:
            return 0.0
        return time.monotonic() - self._started - self._slept

    def run_step(self, step: Step) -> Result:
        if self._started is None:
            self._started = time.monotonic()
        call = self._calls.get(step.call.name)
        if call is None:
            return Unsupported(f"{step.call.name}() is not known to the kernel executor")
        result = call(step.call)
        for arg in step.call.args:  # any call may have given a named socket an address
            if isinstance(arg, Name) and self.fd_of.get(arg.name, NOT_OPEN) != NOT_OPEN:
                self._remember_addr(arg, self.fd_of[arg.name])
        if step.bind is not None:
            # Only descriptor calls may be bound (the parser checks); a failed one leaves the
            # NAME standing for a descriptor that is certainly not open.
            self.fd_of[step.bind] = self._last_fd if isinstance(result, NewFd) else NOT_OPEN
            self.addr_of.pop(step.bind, None)
            if isinstance(result, NewFd):  # an accepted socket is born with an address
                self._remember_addr(Name(step.bind), self._last_fd)
        return result

    def unbind(self, name: str) -> None:
        """NAME now stands for a descriptor that is certainly not open and for no address (the
        executor protocol's `%unbind`: the line that bound it was not performed here)."""
        self.fd_of[name] = NOT_OPEN
        self.addr_of.pop(name, None)

    def close(self) -> None:
        """Close everything the script left open, then the executor's own descriptors."""
        for fd in sorted(self.owned):
            with contextlib.suppress(SysError):
                libc.sys_close(fd)
        self.owned.clear()
        if self.peer is not None:
            self.peer.close()
        self.diag.close()
        self.counters.close()
        self.kmsg.close()

    # ------------------------------------------------------------------ arguments

    def _fd(self, arg: Arg) -> int:
        """The descriptor an argument stands for."""
        if isinstance(arg, Name):
            return self.fd_of.get(arg.name, NOT_OPEN)
        if isinstance(arg, int):
            # Raw literals go to the kernel as written, except when the number is one of the
            # executor's own descriptors (result pipe, netlink, /proc files): those are not
            # open as far as the script is concerned.
            if arg in self.owned or not libc.is_open(arg):
                return arg
            return NOT_OPEN
        raise TypeError(f"not a descriptor argument: {arg!r}")

    def _new_fd(self, fd: int) -> Result:
        self.owned.add(fd)
        self._last_fd = fd
        return NewFd()

    def _forget(self, fd: int) -> None:
        """fd was closed: every NAME for it now stands for a closed descriptor."""
        self.owned.discard(fd)
        for name, value in self.fd_of.items():
            if value == fd:
                self.fd_of[name] = NOT_OPEN

    def _remember_addr(self, arg: Arg, fd: int) -> None:
        if not isinstance(arg, Name):
            return
        try:
            addr = libc.sys_getsockname(fd)
        except SysError:
            return
        if not _is_bound(addr):
            return  # nothing to remember: a NAME stands for the address it *had*
        self.addr_of[arg.name] = addr
        inet = libc.sockaddr_inet(addr)
        if inet is not None and inet[2]:
            self.ports.add(inet[2])

    def _target_addr(self, arg: Arg) -> bytes | Err:
        """The address S is bound to: asked now if S is open, else as last seen."""
        fd = self._fd(arg)
        try:
            addr = libc.sys_getsockname(fd)
        except SysError as exc:
            if isinstance(arg, Name) and arg.name in self.addr_of:
                return self.addr_of[arg.name]
            return Err(exc.args[0])
        if isinstance(arg, Name) and _is_bound(addr):
            self.addr_of[arg.name] = addr
        return addr

    # ------------------------------------------------------------------ calls

    def _socket(self, call: Call) -> Result:
        domain, type_ = call.args
        assert isinstance(domain, Const) and isinstance(type_, Const)
        try:
            return self._new_fd(libc.sys_socket(DOMAINS[domain.name], TYPES[type_.name]))
        except SysError as exc:
            return Err(exc.args[0])

    def _fresh_addr(self, family: int) -> bytes:
        if family == socket.AF_INET6:
            return libc.sockaddr_in6("::1", 0)
        if family == socket.AF_UNIX:
            self._unix_names += 1
            if self.unix_dir is not None:
                # A path, as programs use: the abstract namespace differs in what it answers
                # (its lookup includes the socket type, so a SOCK_SEQPACKET connect to a
                # SOCK_STREAM name gives ECONNREFUSED instead of a path's EPROTOTYPE).
                path = os.path.join(self.unix_dir, str(self._unix_names))
                return libc.sockaddr_un(path.encode() + b"\0")
            name = f"\0listenspec-{self._token}-{self._unix_names}".encode()
            return libc.sockaddr_un(name)
        return libc.sockaddr_in("127.0.0.1", 0)

    def _bind(self, call: Call) -> Result:
        target = call.args[0]
        fd = self._fd(target)
        if len(call.args) == 2:  # bind(S, T): the address T's socket is (or was) bound to
            addr = self._target_addr(call.args[1])
            if isinstance(addr, Err):
                return addr
        else:
            try:
                family = libc.sys_getsockopt_int(fd, socket.SOL_SOCKET, socket.SO_DOMAIN)
            except SysError:
                family = socket.AF_INET  # not a socket: bind(2) itself says so (EBADF, ENOTSOCK)
            addr = self._fresh_addr(family)
        try:
            libc.sys_bind(fd, addr)
        except SysError as exc:
            return Err(exc.args[0])
        self._remember_addr(target, fd)
        return Ret(0)

    def _delivered(self, fd: int, act: Callable[[], Result]) -> Result:
        """Run `act` (a call on `fd` that may send a segment to another socket of this script)
        and, in a sandbox, wait (bounded) until another socket's readiness changes and no
        further change follows for DELIVERY_QUIET: the delivery is then done, as it is on Linux
        when the call returns (one call may reach several sockets: a listener's close)."""
        if not self.sandboxed:
            return act()
        watch = select.epoll()
        try:
            for other in self.owned:
                if other != fd:
                    try:
                        watch.register(other, select.EPOLLIN | select.EPOLLOUT | select.EPOLLRDHUP
                                       | select.EPOLLET)
                    except OSError:
                        continue  # a file, or a descriptor the stack cannot watch
            watch.poll(0)  # consume the current readiness: only a change wakes it
            result = act()
            deadline = time.monotonic() + DELIVERY_WAIT
            if watch.poll(DELIVERY_WAIT):  # something arrived: wait for the rest, until quiet
                while (left := deadline - time.monotonic()) > 0 and watch.poll(
                        min(DELIVERY_QUIET, left)):
                    pass
            return result
        finally:
            watch.close()

    def _recv(self, call: Call) -> Result:
        try:
            data = libc.sys_recv(self._fd(call.args[0]), RECV_SIZE)
        except SysError as exc:
            return Err(exc.args[0])
        return Str.of_bytes(data) if data else Ret(0)

    def _shutdown(self, call: Call) -> Result:
        target, how = call.args
        assert isinstance(how, Const)
        fd = self._fd(target)

        def act() -> Result:
            try:
                libc.sys_shutdown(fd, HOWS[how.name])
            except SysError as exc:
                return Err(exc.args[0])
            return Ret(0)
        return self._delivered(fd, act)

    def _poll(self, call: Call) -> Result:
        fd = self._fd(call.args[0])
        if fd < 0:  # poll(2) skips a negative descriptor; a closed NAME is a descriptor not open
            fd = NEVER_OPEN
        poller = select.poll()
        poller.register(fd, POLL_EVENTS)
        got = poller.poll(0)
        revents = got[0][1] if got else 0
        names = tuple(name for name, bit in POLL_FLAGS if revents & bit)
        return Events(names) if names else Ret(0)

    def _listen(self, call: Call) -> Result:
        target, backlog = call.args
        assert isinstance(backlog, int)
        fd = self._fd(target)
        try:
            libc.sys_listen(fd, backlog)  # through libc: negatives reach the kernel (linux.md §7)
        except SysError as exc:
            return Err(exc.args[0])
        self._remember_addr(target, fd)  # listen() autobinds an unbound TCP socket (§1)
        return Ret(0)

    def _accept(self, call: Call) -> Result:
        try:
            return self._new_fd(libc.sys_accept(self._fd(call.args[0])))
        except SysError as exc:
            return Err(exc.args[0])

    def _send(self, call: Call) -> Result:
        target, data = call.args
        assert isinstance(data, str)
        fd = self._fd(target)

        def act() -> Result:
            try:
                return Ret(libc.sys_send(fd, to_bytes(data)))
            except SysError as exc:
                return Err(exc.args[0])
        return self._delivered(fd, act)

    def _close(self, call: Call) -> Result:
        fd = self._fd(call.args[0])

        def act() -> Result:
            try:
                libc.sys_close(fd)
            except SysError as exc:
                return Err(exc.args[0])
            self._forget(fd)
            return Ret(0)
        return self._delivered(fd, act)

    def _open(self, call: Call) -> Result:
        try:
            return self._new_fd(os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC))
        except OSError as exc:
            return Err(errno_name(exc.errno or errno.EIO))

    def _connect(self, call: Call) -> Result:
        client, server = call.args
        addr = self._target_addr(server)
        if isinstance(addr, Err):
            return addr
        fd = self._fd(client)
        before = self._drops()
        arrivals = self._watch_listener(fd, server)
        try:
            try:
                libc.sys_connect(fd, addr)
            except SysError as exc:
                if exc.code != errno.EINPROGRESS:
                    return Err(exc.args[0])
                result = self._settle(fd, before)
            else:
                return Ret(0)
            if result == DROPPED:
                self._abandon(fd)
            elif result == Ret(0) and arrivals is not None and self._drops() == before:
                # The client's end is settled; the listener's end may be queued a moment
                # later on a stack that completes handshakes in a thread of its own (gVisor).
                # Wait (bounded) until the listener is told of a new connection, so that the
                # next call sees the stack settled, as on Linux, where it already is.
                arrivals.poll(SETTLE_WAIT)
            return result
        finally:
            if arrivals is not None:
                arrivals.close()

    def _watch_listener(self, fd: int, server: Arg) -> select.epoll | None:
        """An edge-triggered watch on the target, when it is a TCP listener of this script
        that queues what connects (not one that defers connections: TCP_DEFER_ACCEPT); None
        otherwise. Its current readiness is consumed, so only a new connection wakes it.
        Only in a sandbox: Linux has queued the connection when connect() returns, and a wait
        would change what the script sees (a client's own TCP_DEFER_ACCEPT holds its final ACK
        for 200 ms: the wait would let it through)."""
        target = self._fd(server)
        if not self.sandboxed or target not in self.owned:
            return None
        try:
            family = libc.sys_getsockopt_int(target, socket.SOL_SOCKET, socket.SO_DOMAIN)
            if family not in (socket.AF_INET, socket.AF_INET6) or \
                    self.probes.acceptconn.get(_family_name(family)) is not None:
                return None
            if not libc.sys_getsockopt_int(target, socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                return None
            if libc.sys_getsockopt_int(target, socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT):
                return None
        except SysError:
            return None
        watch = select.epoll()
        try:
            watch.register(target, select.EPOLLIN | select.EPOLLET)
            watch.poll(0)
        except OSError:
            watch.close()
            return None
        return watch

    def _drops(self) -> tuple[int, int]:
        """The drop counters where they are trusted; otherwise a constant (never 'moved')."""
        return self.counters.listen_drops() if self.counters_problem is None else (0, 0)

    def _settle(self, fd: int, before: tuple[int, int]) -> Result:
        """The settled outcome of a TCP connect that returned EINPROGRESS."""
        if self.probes.tcp_info is not None:
            return self._settle_by_poll(fd)
        deadline = time.monotonic() + SETTLE_WAIT
        while True:
            state = _tcp_state(fd)
            if state == TCP_SYN_SENT:
                # Positive evidence of a silent drop: the listener counted it (linux.md §2).
                if self._drops() != before or time.monotonic() >= deadline:
                    return DROPPED
                _wait(fd, select.POLLOUT, min(0.01, deadline - time.monotonic()))
                continue
            if state == TCP_ESTABLISHED and self._drops() != before:
                # The final ACK overflowed the queue (§2 `tcp_check_req()`); with
                # tcp_abort_on_overflow=1 a RST follows: give it a moment to arrive.
                _wait(fd, select.POLLERR | select.POLLHUP, RESET_GRACE)
            pending = _so_error(fd)
            if pending:
                return Err(errno_name(pending))
            if _tcp_state(fd) == TCP_CLOSE:
                return Err("ECONNABORTED")
            return Ret(0)

    def _settle_by_poll(self, fd: int) -> Result:
        """Without a trusted TCP_INFO: poll for writability, then SO_ERROR, with a grace for a
        reset that follows an accepted handshake (as the C executor does off Linux)."""
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        if not poller.poll(int(SETTLE_WAIT * 1000)):
            return DROPPED
        _wait(fd, select.POLLERR | select.POLLHUP, RESET_GRACE)
        pending = _so_error(fd)
        return Err(errno_name(pending)) if pending else Ret(0)

    def _abandon(self, fd: int) -> None:
        """Drop a connection attempt for good: a SYN_SENT socket that is closed goes straight
        to CLOSE (tcp_close_state(): nothing sent, never retransmitted). Lingering is turned
        off first, as a close with SO_LINGER {1, 0} would count TCPAbortOnData: the executor's
        own step must not show in the script's counters (measured on Linux 6.18)."""
        with contextlib.suppress(SysError):
            libc.sys_setsockopt(fd, socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 0, 0))
        with contextlib.suppress(SysError):
            libc.sys_close(fd)
        self._forget(fd)

    def _syn(self, call: Call) -> Result:
        if not (self.isolated or self.sandboxed):
            return Unsupported(
                "syn() is not supported by the kernel executor outside a private network "
                "namespace: it adds a TUN device and routes for the half-open peer"
            )
        addr = self._target_addr(call.args[0])
        if isinstance(addr, Err):
            return addr
        inet = libc.sockaddr_inet(addr)
        if inet is None:
            family_name = _family_name(libc.sockaddr_family(addr))
            return Unsupported(f"syn() is not supported by the kernel executor for an {family_name}"
                               " socket: a SYN needs an AF_INET or AF_INET6 address")
        family, host, port = inet
        method = self.probes.syn_method(family)
        if method is None:
            return Unsupported(self.probes.syn_problem(family))
        if self.peer is None or self.peer.method != method:
            if self.peer is not None:
                self.peer.close()
            wait = ANSWER_WAIT if self.counters_problem is None else SLOW_ANSWER_WAIT
            self.peer = SynPeer(method, wait=wait)  # type: ignore[arg-type]
        try:
            return self.peer.syn(family, host, port, self._drops)
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            return Unsupported(
                f"syn() is not supported by the kernel executor here: {exc.strerror}{where}"
            )

    def _setsockopt(self, call: Call) -> Result:
        target, opt, value = call.args
        assert isinstance(opt, Const)
        level, optname = SOCKOPTS[opt.name]
        raw: bytes | None
        if isinstance(value, Null):
            raw = None
        elif opt.name == "SO_LINGER" and isinstance(value, int):
            raw = struct.pack("ii", 1, value)  # struct linger {l_onoff 1, l_linger N}
        elif isinstance(value, str):
            data = to_bytes(value)
            if opt.name == "SO_ACCEPTFILTER":  # struct accept_filter_arg, name NUL-padded
                raw = data[: ACCEPT_FILTER_NAME_SIZE - 1].ljust(ACCEPT_FILTER_ARG_SIZE, b"\0")
            else:
                raw = data
        else:
            assert isinstance(value, int)
            raw = struct.pack("=i", value)
        try:
            libc.sys_setsockopt(self._fd(target), level, optname, raw)
        except SysError as exc:
            return Err(exc.args[0])
        if opt.name == "SO_REUSEPORT" and value:
            self.reuseport = True
        return Ret(0)

    def _getsockopt(self, call: Call) -> Result:
        target, opt = call.args
        assert isinstance(opt, Const)
        level, optname = SOCKOPTS[opt.name]
        fd = self._fd(target)
        try:
            if opt.name == "SO_ACCEPTFILTER":
                raw = libc.sys_getsockopt(fd, level, optname, ACCEPT_FILTER_ARG_SIZE)
                name = raw[:ACCEPT_FILTER_NAME_SIZE].split(b"\0", 1)[0]
                return Str(name.decode("utf-8", "surrogateescape"))  # as to_bytes encodes
            value = libc.sys_getsockopt_int(fd, level, optname)
        except SysError as exc:
            return Err(exc.args[0])
        if opt.name == "SO_ERROR":
            return ErrName(errno_name(value)) if value else Ret(0)
        return Ret(value)

    def _sysctl(self, call: Call) -> Result:
        name = call.args[0]
        assert isinstance(name, str)
        if len(call.args) == 1:
            return sysctl_read(name)
        value = call.args[1]
        assert isinstance(value, int)
        done = sysctl_write(name, value, isolated=self.isolated,
                            sandboxed=self.sandboxed, on_write=self.on_write)
        if name == MIGRATE_REQ and value and done == Ret(0):
            self.migrating = True
        return done

    def _netstat(self, call: Call) -> Result:
        fd = self._fd(call.args[0])
        try:
            family = libc.sys_getsockopt_int(fd, socket.SOL_SOCKET, socket.SO_DOMAIN)
        except SysError as exc:
            return Err(exc.args[0])
        name = _family_name(family)
        listening = self._listening(fd, family)
        if not isinstance(listening, bool):
            return listening
        if not listening:
            return Queue(0, 0, 0)
        problem = self.probes.diag.get(name, f"no socket diagnostics probed for {name}")
        if problem is not None:
            return Unsupported(f"netstat: {problem}")
        try:
            return self.diag.listener_queue(fd, family)
        except NotFound as exc:
            return Unsupported(f"netstat: {exc}")

    def _listening(self, fd: int, family: int) -> bool | Result:
        """Whether the socket listens, by a mechanism that gave the known answers: SO_ACCEPTCONN,
        or for AF_UNIX /proc/self/net/unix's listening flag."""
        name = _family_name(family)
        problem = self.probes.acceptconn.get(name, f"SO_ACCEPTCONN was not probed for {name}")
        if problem is None:
            try:
                return bool(libc.sys_getsockopt_int(fd, socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
            except SysError as exc:
                return Err(exc.args[0])
        if family == socket.AF_UNIX and self.probes.proc_unix is None:
            try:
                flag = unix_listening(os.fstat(fd).st_ino)
            except OSError as exc:
                return Unsupported(f"netstat: /proc/self/net/unix cannot be read: {exc.strerror}")
            if flag is not None:
                return flag
            problem += "; /proc/self/net/unix does not list the socket"
        elif family == socket.AF_UNIX:
            problem += f"; {self.probes.proc_unix}"
        return Unsupported(f"netstat: cannot tell whether the socket listens: {problem}")

    def _sleep(self, call: Call) -> Result:
        (seconds,) = call.args
        assert isinstance(seconds, Decimal)
        if seconds > MAX_SLEEP:
            # every wait is bounded: a longer sleep is refused rather than cut short in secret
            return Unsupported(f"sleep() longer than {MAX_SLEEP:g} s is not performed by the "
                               "kernel executor")
        self._slept += float(seconds)
        time.sleep(float(seconds))
        return Ret(0)

    def _syslog(self, call: Call) -> Result:
        if self.kmsg.problem is not None:
            return Unsupported(f"syslog(): {self.kmsg.problem}")
        return Lines(tuple(self.kmsg.read_new(self.ports)))

    def _counter(self, call: Call) -> Result:
        name = call.args[0]
        assert isinstance(name, str)
        if self.counters_problem is not None:
            return Unsupported(f"counter: {self.counters_problem}")
        if self.reuseport and name in HASHED_COUNTERS and (
                self.migrating or sysctl_read(MIGRATE_REQ) not in (Ret(0), Err("ENOENT"))):
            return Unsupported(f"counter: {name} counts the connections of a closed listener "
                               "of an SO_REUSEPORT group, and which member each SYN reached is "
                               "the group's hash of the ports this run drew")
        value = self.counters.lookup(name)
        if value is None:
            bare = self.counters.unvalued(name)
            if bare is not None:
                return Unsupported(f"counter: {bare} is listed without a value")
            return Err("ENOENT")
        # A private namespace starts every counter at 0, so its value is this run's count. The
        # host namespace's counters also count everything else that ever happened there: report
        # the change since this run started, which is what the run itself can have caused.
        return Ret(value if self.isolated else value - self._baseline.get(name, 0))

    _last_fd: int = NOT_OPEN


# ---------------------------------------------------------------------- helpers


def _tcp_state(fd: int) -> int:
    """tcpi_state, the first byte of struct tcp_info; TCP_CLOSE if it cannot be read."""
    try:
        return libc.sys_getsockopt(fd, socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
    except (SysError, IndexError):
        return TCP_CLOSE


def _family_name(family: int) -> str:
    name = next((n for n, f in FAMILIES.items() if f == family), None)
    if name is not None:
        return name
    try:
        return socket.AddressFamily(family).name
    except ValueError:
        return f"address family {family}"


def _so_error(fd: int) -> int:
    try:
        return libc.sys_getsockopt_int(fd, socket.SOL_SOCKET, socket.SO_ERROR)
    except SysError as exc:
        return exc.code


def _wait(fd: int, events: int, timeout: float) -> None:
    if timeout <= 0:
        return
    poller = select.poll()
    poller.register(fd, events)
    poller.poll(max(1, int(timeout * 1000)))


def _is_bound(addr: bytes) -> bool:
    """Whether a getsockname() answer is a real local address (a port, or a path)."""
    inet = libc.sockaddr_inet(addr)
    if inet is not None:
        return inet[2] != 0
    return len(addr) > 2  # AF_UNIX: more than the family means a name
