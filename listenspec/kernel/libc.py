"""The system calls the kernel executor makes, through libc (ctypes), and their errno names.

Why libc and not the `socket` module: CPython's `socket.listen` turns a negative backlog into 0
(reference/linux.md §7, Modules/socketmodule.c `sock_listen()`), and its `connect`/`bind` accept
only addresses of the socket's own family. Going through libc passes every argument to the kernel
unchanged, so what comes back is the kernel's answer and nothing else.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import struct
import sys
from typing import Final

from ..errnos import ALIASES

_libc = ctypes.CDLL(None, use_errno=True)
_LINUX: Final = sys.platform.startswith("linux")

_INT = ctypes.c_int
_UINT = ctypes.c_uint
_SOCKLEN_P = ctypes.POINTER(ctypes.c_uint)

# The prototypes (and accept4, unshare, prctl) exist on Linux only; elsewhere this module
# still imports, and run_on_kernel() refuses before calling anything.
if _LINUX:
    _libc.socket.argtypes = [_INT, _INT, _INT]
    _libc.socket.restype = _INT
    _libc.bind.argtypes = [_INT, ctypes.c_char_p, _UINT]
    _libc.bind.restype = _INT
    _libc.connect.argtypes = [_INT, ctypes.c_char_p, _UINT]
    _libc.connect.restype = _INT
    _libc.listen.argtypes = [_INT, _INT]
    _libc.listen.restype = _INT
    _libc.accept4.argtypes = [_INT, ctypes.c_void_p, ctypes.c_void_p, _INT]
    _libc.accept4.restype = _INT
    _libc.getsockopt.argtypes = [_INT, _INT, _INT, ctypes.c_void_p, _SOCKLEN_P]
    _libc.getsockopt.restype = _INT
    _libc.setsockopt.argtypes = [_INT, _INT, _INT, ctypes.c_void_p, _UINT]
    _libc.setsockopt.restype = _INT
    _libc.getsockname.argtypes = [_INT, ctypes.c_void_p, _SOCKLEN_P]
    _libc.getsockname.restype = _INT
    _libc.send.argtypes = [_INT, ctypes.c_char_p, ctypes.c_size_t, _INT]
    _libc.send.restype = ctypes.c_ssize_t
    _libc.close.argtypes = [_INT]
    _libc.close.restype = _INT
    _libc.unshare.argtypes = [_INT]
    _libc.unshare.restype = _INT
    _libc.prctl.argtypes = [_INT, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    _libc.prctl.restype = _INT

CLONE_NEWNET: Final = 0x40000000
PR_SET_PDEATHSIG: Final = 1

SOL_SOCKET: Final = socket.SOL_SOCKET
IPPROTO_TCP: Final = socket.IPPROTO_TCP
SOCK_NONBLOCK: Final = getattr(socket, "SOCK_NONBLOCK", 0o4000)
SOCK_CLOEXEC: Final = getattr(socket, "SOCK_CLOEXEC", 0o2000000)
MSG_NOSIGNAL: Final = getattr(socket, "MSG_NOSIGNAL", 0x4000)
MSG_DONTWAIT: Final = getattr(socket, "MSG_DONTWAIT", 0x40)

#: A descriptor that is certainly not open: fd numbers are never negative, so the kernel's
#: fd lookup fails with EBADF before looking at anything else.
NOT_OPEN: Final = -1

#: Names the errno module spells differently from the contract (SCRIPT_FORMAT.md, "Results":
#: EWOULDBLOCK is written EAGAIN; reference/linux.md: ENOTSUP == EOPNOTSUPP == 95 on Linux);
#: the trace reader spells them the same way (listenspec/errnos.py).
_CANONICAL: Final = ALIASES


def errno_name(code: int) -> str:
    """The contract's name for an errno value (`EAGAIN`, `EOPNOTSUPP`, ...)."""
    name = errno.errorcode.get(code, f"E{code}")
    return _CANONICAL.get(name, name)


class SysError(Exception):
    """A system call failed; `code` is its errno."""

    def __init__(self, code: int) -> None:
        super().__init__(errno_name(code))
        self.code = code


def _check(rc: int) -> int:
    if rc < 0:
        raise SysError(ctypes.get_errno())
    return rc


def sys_socket(domain: int, type_: int) -> int:
    # Protocol 0: the kernel picks the default protocol, and refuses combinations it lacks
    # (AF_INET + SOCK_SEQPACKET -> ESOCKTNOSUPPORT) the way a C program would see it.
    return _check(_libc.socket(domain, type_ | SOCK_NONBLOCK | SOCK_CLOEXEC, 0))


def sys_bind(fd: int, addr: bytes) -> None:
    _check(_libc.bind(fd, addr, len(addr)))


def sys_connect(fd: int, addr: bytes) -> None:
    _check(_libc.connect(fd, addr, len(addr)))


def sys_listen(fd: int, backlog: int) -> None:
    _check(_libc.listen(fd, backlog))


def sys_accept(fd: int) -> int:
    # The accepted socket is non-blocking too (SCRIPT_FORMAT.md: every socket is non-blocking).
    return _check(_libc.accept4(fd, None, None, SOCK_NONBLOCK | SOCK_CLOEXEC))


def sys_send(fd: int, data: bytes) -> int:
    # MSG_NOSIGNAL: a reset peer gives EPIPE, not a SIGPIPE that would kill the executor.
    return _check(_libc.send(fd, data, len(data), MSG_NOSIGNAL | MSG_DONTWAIT))


def sys_recv(fd: int, size: int) -> bytes:
    buf = ctypes.create_string_buffer(size)
    n = _check(_libc.recv(fd, buf, size, MSG_DONTWAIT))
    return buf.raw[:n]


def sys_shutdown(fd: int, how: int) -> None:
    _check(_libc.shutdown(fd, how))


def sys_close(fd: int) -> None:
    _check(_libc.close(fd))


def sys_getsockopt(fd: int, level: int, opt: int, size: int = 4) -> bytes:
    buf = ctypes.create_string_buffer(size)
    length = ctypes.c_uint(size)
    _check(_libc.getsockopt(fd, level, opt, buf, ctypes.byref(length)))
    return buf.raw[: length.value]


def sys_getsockopt_int(fd: int, level: int, opt: int) -> int:
    raw = sys_getsockopt(fd, level, opt, 4)
    return int(struct.unpack("=i", raw.ljust(4, b"\0")[:4])[0])


def sys_setsockopt(fd: int, level: int, opt: int, value: bytes | None) -> None:
    if value is None:  # NULL, optlen 0 (removing an accept filter on FreeBSD)
        _check(_libc.setsockopt(fd, level, opt, None, 0))
        return
    buf = ctypes.create_string_buffer(value, len(value))
    _check(_libc.setsockopt(fd, level, opt, buf, len(value)))


def sys_getsockname(fd: int) -> bytes:
    buf = ctypes.create_string_buffer(128)  # sizeof(struct sockaddr_storage)
    length = ctypes.c_uint(128)
    _check(_libc.getsockname(fd, buf, ctypes.byref(length)))
    return buf.raw[: length.value]


def sys_unshare(flags: int) -> None:
    _check(_libc.unshare(flags))


def sys_setns(fd: int, nstype: int) -> None:
    _check(_libc.setns(fd, nstype))


def sys_prctl(option: int, arg: int) -> None:
    _check(_libc.prctl(option, arg, 0, 0, 0))


def is_open(fd: int) -> bool:
    """Is `fd` an open descriptor of this process?"""
    if fd < 0:
        return False
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


# --------------------------------------------------------------------------- socket addresses


def sockaddr_in(host: str, port: int) -> bytes:
    """struct sockaddr_in (16 bytes): family in host order, port and address in network order."""
    return struct.pack("=H", socket.AF_INET) + struct.pack(
        "!H4s8x", port, socket.inet_pton(socket.AF_INET, host)
    )


def sockaddr_in6(host: str, port: int) -> bytes:
    """struct sockaddr_in6 (28 bytes)."""
    return struct.pack("=H", socket.AF_INET6) + struct.pack(
        "!HI16sI", port, 0, socket.inet_pton(socket.AF_INET6, host), 0
    )


def sockaddr_un(path: bytes) -> bytes:
    """struct sockaddr_un cut to the name's length (abstract names start with NUL and are
    length-sensitive, so no terminating NUL is added)."""
    return struct.pack("=H", socket.AF_UNIX) + path


def sockaddr_family(addr: bytes) -> int:
    if len(addr) < 2:
        return socket.AF_UNSPEC
    return int(struct.unpack("=H", addr[:2])[0])


def sockaddr_inet(addr: bytes) -> tuple[int, str, int] | None:
    """(family, host, port) of an AF_INET/AF_INET6 sockaddr, else None."""
    family = sockaddr_family(addr)
    if family == socket.AF_INET and len(addr) >= 8:
        port, raw = struct.unpack("!H4s", addr[2:8])
        return family, socket.inet_ntop(family, raw), int(port)
    if family == socket.AF_INET6 and len(addr) >= 24:
        port, _flow, raw = struct.unpack("!HI16s", addr[2:24])
        return family, socket.inet_ntop(family, raw), int(port)
    return None
