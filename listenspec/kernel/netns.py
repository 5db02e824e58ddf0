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
"""

from __future__ import annotations

import fcntl
import os
import platform
import socket
import struct
from functools import cache
from typing import Final

from .libc import CLONE_NEWNET, SysError, errno_name, sys_unshare

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


def enter_private_netns() -> None:
    """Move this process into a new network namespace and bring its loopback up.

    Why two unshares: a namespace made from the initial one shares the host's TCP established
    hash (262,144 buckets here), and every sock_diag dump of request sockets (netstat's incqlen)
    walks all of it, ~1 ms a dump. A namespace made from a non-initial namespace whose
    net.ipv4.tcp_child_ehash_entries is set gets a small table of its own (Linux 5.19+,
    Documentation/networking/ip-sysctl.rst), and the same dump takes ~0.1 ms. The intermediate
    namespace has no other reference and vanishes at the second unshare. Kernels without the
    sysctl get the plain single namespace.
    """
    if os.geteuid() != 0:
        _enter_user_namespace()
    sys_unshare(CLONE_NEWNET)
    try:
        derived = {name: _read(_IPV4 + name) for name in _DERIVED}
        _write(_IPV4 + "tcp_child_ehash_entries", str(CHILD_EHASH_ENTRIES))
    except OSError:
        set_link_up("lo")
        return
    sys_unshare(CLONE_NEWNET)
    for name, value in derived.items():
        _write(_IPV4 + name, value)
    set_link_up("lo")


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
    """ifconfig IFNAME up, by ioctl (no `ip` binary, no netlink socket needed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        name = ifname.encode()
        ifr = struct.pack("16sH22x", name, 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH22x", name, flags | IFF_UP))


@cache
def isolation_problem() -> str | None:
    """Why a private network namespace cannot be made here, or None if it can.

    Probed once per process by trying it in a throw-away child, since only trying tells
    (a container may refuse unshare even to root; a system may forbid user namespaces).
    """
    if platform.system() != "Linux":
        return f"not Linux ({platform.system()})"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the probe child
        code = 0
        try:
            enter_private_netns()
        except SysError as exc:
            code = min(exc.code, 255)
        except OSError as exc:
            code = min(exc.errno or 1, 255)
        except BaseException:
            code = 255
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        return None
    who = "root" if os.geteuid() == 0 else "not root, unprivileged user namespace"
    return f"unshare(CLONE_NEWNET) failed ({who}): {errno_name(code) if code > 0 else code}"


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
