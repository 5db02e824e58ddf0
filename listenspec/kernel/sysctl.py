"""sysctl("a.b.c") and sysctl("a.b.c", VALUE) through /proc/sys/a/b/c.

Nothing is emulated: a FreeBSD name (`kern.ipc.somaxconn`) has no /proc/sys file, so Linux answers
ENOENT, as sysctl(8) would. Writes are the one place the executor could change the host, so:
- they happen only inside the run's private network namespace, or inside a sandbox made for the
  run (gVisor: `--sandbox`), where each value written is handed to `on_write` with the value it
  replaced, so that it is put back after the script (many scripts share one sandbox), and
- only under /proc/sys/net/: in a child namespace those files are that namespace's own copies
  (tables registered for init_net only are not even visible there), whereas kernel.*, vm.*, fs.*
  are global and writing them from any namespace would change the host.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from typing import Final

from ..results import Err, Ret, Str, Unsupported
from ..results import Result as _Result
from .libc import errno_name

PROC_SYS: Final = "/proc/sys"
#: Out of descriptors: the executor cannot open the /proc/sys file, which says nothing about
#: the sysctl (sysctl(3) on the BSDs needs no descriptor at all).
_NO_DESCRIPTOR: Final = (errno.EMFILE, errno.ENFILE)


def _unreadable(path: str, exc: OSError) -> _Result:
    if exc.errno in _NO_DESCRIPTOR:
        return Unsupported(f"the kernel executor had no descriptor left to open {path} "
                           f"({errno_name(exc.errno or errno.EMFILE)})")
    return Err(errno_name(exc.errno or errno.EIO))


def sysctl_path(name: str) -> str | None:
    """/proc/sys path for a dotted name, or None if the name cannot name a /proc/sys file."""
    parts = name.split(".")
    # An empty part or a '/' would leave the a.b.c -> a/b/c mapping (and could escape it).
    if not name or any(not p or "/" in p or "\0" in p for p in parts):
        return None
    return os.path.join(PROC_SYS, *parts)


def sysctl_read(name: str) -> _Result:
    path = sysctl_path(name)
    if path is None:
        return Err("ENOENT")
    try:
        with open(path, "rb") as f:
            raw = f.read(4096)
    except OSError as exc:
        return _unreadable(path, exc)
    text = raw.decode("utf-8", "replace").strip()
    try:
        return Ret(int(text))
    except ValueError:
        return Str(text)  # a vector sysctl such as net.ipv4.tcp_rmem


def sysctl_write(name: str, value: int, *, isolated: bool, sandboxed: bool = False,
                 on_write: Callable[[str, bytes], None] | None = None) -> _Result:
    path = sysctl_path(name)
    if path is None:
        return Err("ENOENT")
    private = isolated or sandboxed
    if not private or not path.startswith(PROC_SYS + "/net/"):
        # Writing a name that does not exist changes nothing; say what Linux answers.
        if not os.path.exists(path):
            return Err("ENOENT")
        if not private:
            return Unsupported(
                "sysctl writes need a private network namespace, which this run lacks; "
                "refused so as not to change the host"
            )
        return Unsupported(
            f"{name} is not per network namespace; refused so as not to change the host"
        )
    old: bytes | None = None
    if not isolated:  # the sandbox outlives the script: keep what to put back
        try:
            with open(path, "rb") as f:
                old = f.read(4096)
        except OSError as exc:
            return Err(errno_name(exc.errno or errno.EIO))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except OSError as exc:
        return _unreadable(path, exc)
    try:
        os.write(fd, f"{value}\n".encode())
    except OSError as exc:
        return Err(errno_name(exc.errno or errno.EIO))
    finally:
        os.close(fd)
    if old is not None and on_write is not None:
        on_write(path, old)
    return Ret(0)


def sysctl_restore(path: str, old: bytes) -> str | None:
    """Put back a value sysctl_write replaced; None, or what could not be restored."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, old)
        finally:
            os.close(fd)
    except OSError as exc:
        name = path.removeprefix(PROC_SYS + "/").replace("/", ".")
        return f"could not restore {name} ({errno_name(exc.errno or errno.EIO)})"
    return None
