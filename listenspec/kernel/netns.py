"""The private network namespace a run happens in, and how to tell whether one can be made.

A run that may change system limits (net.core.somaxconn) or add a device (the syn() peer) must
not touch the host (DESIGN.md, "Never touch the host"). The runner forks a child; the child calls
unshare(CLONE_NEWNET), brings `lo` up and runs the whole script there. The namespace has no other
reference (no bind mount, no descriptor passed out), so it vanishes when the child exits.
somaxconn and the TcpExt counters are per network namespace (reference/linux.md §1
`__sys_listen_socket()` reads `sock_net(sock->sk)->core.sysctl_somaxconn`; §3 counters per netns).

Root unshares the network namespace directly. Any other user first makes a user namespace in
which it is root (unprivileged user namespaces, where the system allows them): its network
namespace is just as private, and its net.* sysctls are writable. Whether the syn() peer's
/dev/net/tun can be used there depends on the device's mode, so it is probed
(synpeer.tun_problem), not assumed.

A namespace is trusted only after a known answer: in a fresh one, a connect on loopback must
complete, to a listener bound to 127.0.0.1 and to one that listen() bound by itself (0.0.0.0).
A sandbox may make the namespace, with `lo` flagged up, and route nothing in it (gVisor 2022-12:
EHOSTUNREACH for 0.0.0.0). A failure names the step that failed, so that bringing up `lo` is
never reported as unshare's failure.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import platform
import select
import socket
import struct
from functools import cache
from typing import Final

import attrs

from .libc import CLONE_NEWNET, SysError, errno_name, sys_setns, sys_unshare

CLONE_NEWUSER: Final = 0x10000000
SIOCGIFFLAGS: Final = 0x8913
SIOCSIFFLAGS: Final = 0x8914
IFF_UP: Final = 0x1

#: Hash buckets for TCP sockets in the run's namespace (see enter_private_netns).
CHILD_EHASH_ENTRIES: Final = 1024
_IPV4: Final = "/proc/sys/net/ipv4/"
#: Per-namespace limits the kernel derives from the size of the TCP hash table
#: (net/ipv4/tcp_ipv4.c `tcp_set_hashinfo()`): restored to what a namespace sharing the global
#: table gets, so the smaller private table changes nothing a script can see but its speed.
_DERIVED: Final = ("tcp_max_syn_backlog", "tcp_max_tw_buckets")


class NetnsError(OSError):
    """A step of making the private namespace failed: `step` says which, `code` the errno."""

    def __init__(self, step: str, code: int) -> None:
        super().__init__(code, f"{step} failed: {errno_name(code)}")
        self.step = step
        self.code = code


def _step(step: str, code: int | None) -> NetnsError:
    return NetnsError(step, code or errno.EIO)


def enter_private_netns() -> None:
    """Move this process into a new network namespace and bring its loopback up; NetnsError
    names the step that failed.

    Why no TCP metrics (net.ipv4.tcp_no_metrics_save=1): a connection that closes leaves an
    RTT for its peer's address in the namespace's metrics cache, and Linux then treats that
    peer as proven alive (tcp_peer_is_proven(): its SYNs skip tcp_max_syn_backlog's last
    quarter) and seeds later connections' RTO from it. On loopback every peer is 127.0.0.1, so
    one earlier connection in a script would change how every later one is answered and timed;
    without metrics each connection is answered as the first (the model's assumption,
    spec/sources/linux-6.18.md §9.3; measured both ways).

    Why two unshares: a namespace made from the initial one shares the host's TCP established
    hash (262,144 buckets here), and every sock_diag dump of request sockets (netstat's incqlen)
    walks all of it, ~1 ms a dump. A namespace made from a non-initial namespace whose
    net.ipv4.tcp_child_ehash_entries is set gets a small table of its own (Linux 5.19+,
    Documentation/networking/ip-sysctl.rst), and the same dump takes ~0.1 ms. The intermediate
    namespace is kept only by a process that makes several (NetnsBase); kernels without the
    sysctl get the plain single namespace.
    """
    base = prepare_netns()
    try:
        enter_fresh_netns(base)
    finally:
        base.close()


@attrs.define
class NetnsBase:
    """What a process keeps to make a fresh private namespace for each of several scripts
    (runner.py reuses a run's child that way): a descriptor of the intermediate namespace,
    whose small hash table each namespace made from it gets, and the limits derived from the
    global table that each is given back; or, on a kernel without the sysctl, no descriptor
    (each namespace is made from the one before)."""

    fd: int | None
    derived: dict[str, str]
    #: the namespace prepare_netns() entered is still unused (no intermediate one: it is the
    #: first script's)
    unused: bool = False

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def prepare_netns() -> NetnsBase:
    """Enter the user namespace (not root) and the intermediate namespace, once per process
    (enter_private_netns says why there are two); NetnsError names the step that failed."""
    if os.geteuid() != 0:
        try:
            _enter_user_namespace()
        except SysError as exc:
            raise _step("unshare(CLONE_NEWUSER)", exc.code) from None
        except OSError as exc:
            raise _step("the user namespace's id maps", exc.errno) from None
    _unshare_net()
    try:
        derived = {name: _read(_IPV4 + name) for name in _DERIVED}
        _write(_IPV4 + "tcp_child_ehash_entries", str(CHILD_EHASH_ENTRIES))
    except OSError:
        return NetnsBase(None, {}, unused=True)  # no per-namespace hash table: plain ones
    try:
        fd = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise _step("opening /proc/self/ns/net", exc.errno) from None
    return NetnsBase(fd, derived)


def enter_fresh_netns(base: NetnsBase) -> None:
    """Move this process into a private namespace no script has used, made from `base`, with
    loopback up; NetnsError names the step that failed. The namespace it leaves goes once
    nothing holds it (its sockets closed)."""
    if base.fd is not None:
        try:
            sys_setns(base.fd, CLONE_NEWNET)
        except SysError as exc:
            raise _step("setns(CLONE_NEWNET)", exc.code) from None
        _unshare_net()
        for name, value in base.derived.items():
            _write(_IPV4 + name, value)
    elif base.unused:
        base.unused = False
    else:
        _unshare_net()
    try:
        set_link_up("lo")
    except OSError as exc:
        raise _step("bringing up lo (SIOCSIFFLAGS)", exc.errno) from None
    with contextlib.suppress(OSError):  # a kernel without it keeps no metrics per namespace
        _write(_IPV4 + "tcp_no_metrics_save", "1")


def _unshare_net() -> None:
    try:
        sys_unshare(CLONE_NEWNET)
    except SysError as exc:
        raise _step("unshare(CLONE_NEWNET)", exc.code) from None


def _enter_user_namespace() -> None:
    """Become root of a new user namespace, mapped to our own uid/gid (user_namespaces(7))."""
    uid, gid = os.geteuid(), os.getegid()
    sys_unshare(CLONE_NEWUSER)
    _write("/proc/self/setgroups", "deny")  # required before an unprivileged gid_map
    _write("/proc/self/uid_map", f"0 {uid} 1")
    _write("/proc/self/gid_map", f"0 {gid} 1")


def _read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def set_link_up(ifname: str) -> None:
    """ifconfig IFNAME up, by ioctl (no `ip` binary, no netlink socket needed). A link that is
    already up is left alone (gVisor's lo and TUN devices are born up, and it has no
    SIOCSIFFLAGS)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        name = ifname.encode()
        ifr = struct.pack("16sH22x", name, 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]
        if not flags & IFF_UP:
            fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH22x", name, flags | IFF_UP))


def connect_works(*, bind_first: bool) -> int:
    """0 if a loopback connect completes in the current namespace, else the errno: to a
    listener bound to 127.0.0.1 (bind_first) or to one listen() bound by itself (0.0.0.0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as lsock, \
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
        try:
            if bind_first:
                lsock.bind(("127.0.0.1", 0))
            lsock.listen(1)
            client.setblocking(False)
            code = client.connect_ex(lsock.getsockname())
        except OSError as exc:
            return exc.errno or errno.EIO
        if code not in (0, errno.EINPROGRESS):
            return code
        _, ready, _ = select.select([], [client], [], 1.0)
        if not ready:
            return errno.ETIMEDOUT
        return client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)


@cache
def isolation_problem() -> str | None:
    """Why a private network namespace cannot be made here, or None if it can.

    Probed once per process by trying it in a throw-away child, since only trying tells
    (a container may refuse unshare even to root; a system may forbid user namespaces; a sandbox
    may make a namespace that routes nothing). The child makes the namespace as a run would,
    then checks the known answer (connect_works); a failure names its step.
    """
    if platform.system() != "Linux":
        return f"not Linux ({platform.system()})"
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the probe child
        code, step = 0, ""
        try:
            os.close(read_end)
            enter_private_netns()
            if (code := connect_works(bind_first=True)) != 0:
                step = "a connect to 127.0.0.1 in the new namespace"
            elif (code := connect_works(bind_first=False)) != 0:
                step = "a connect to an autobound listener (0.0.0.0) in the new namespace"
        except NetnsError as exc:
            code, step = exc.code, exc.step
        except OSError as exc:
            code, step = exc.errno or 1, "making the namespace"
        except BaseException:
            code, step = 255, "making the namespace"
        try:
            os.write(write_end, step.encode())
        finally:
            os._exit(min(code, 255))
    os.close(write_end)
    try:
        step = os.read(read_end, 200).decode("utf-8", "replace")
    finally:
        os.close(read_end)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        return None
    who = "root" if os.geteuid() == 0 else "not root, unprivileged user namespace"
    what = errno_name(code) if 0 < code < 255 else f"status {code}"
    return f"{step or 'the namespace probe'} failed ({who}): {what}"


def describe(isolated: bool, tun_problem: str | None = None) -> str:
    """One line for the trace header / CLI: how a run is isolated, or why it is not, and what
    was probed for syn() (`tun_problem`: why its TUN device cannot be made, None if it can)."""
    release = platform.release()
    syn = "syn() available" if tun_problem is None else f"syn() unsupported ({tun_problem})"
    if isolated and os.geteuid() == 0:
        return f"private network namespace (unshare), loopback only; {syn}, Linux {release}"
    if isolated:
        return (
            f"private network namespace in a user namespace (not root), loopback only; "
            f"{syn}, Linux {release}"
        )
    why = isolation_problem() or "isolation not requested"
    return (
        f"current network namespace ({why}): sysctl writes and syn() are refused, "
        f"host limits are never changed, Linux {release}"
    )
