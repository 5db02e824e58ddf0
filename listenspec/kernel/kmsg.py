"""syslog(): kernel log lines emitted during the run, read from /dev/kmsg.

The kernel log is not per network namespace, so the reader starts at the end of the log when the
run starts (lseek SEEK_END) and keeps only records that mention one of this run's ports (e.g.
net/ipv4/tcp_input.c `tcp_syn_flood_action()`: "Possible SYN flooding on port ..."). A record
from another namespace that happens to use the same port number would pass the filter; that is
the limit of what the log lets us tell apart.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable


class Kmsg:
    def __init__(self) -> None:
        self.problem: str | None = None
        self._fd: int | None = None
        try:
            fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            self.problem = f"cannot read /dev/kmsg: {os.strerror(exc.errno or 0)}"
            return
        try:
            os.lseek(fd, 0, os.SEEK_END)  # only records emitted from now on
        except OSError as exc:
            os.close(fd)
            self.problem = f"cannot seek /dev/kmsg: {os.strerror(exc.errno or 0)}"
            return
        self._fd = fd

    def fds(self) -> list[int]:
        return [] if self._fd is None else [self._fd]

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def read_new(self, ports: Iterable[int]) -> list[str]:
        """Messages since the previous call that mention one of `ports`, oldest first."""
        if self._fd is None:
            return []
        wanted = {str(p) for p in ports if p}
        out: list[str] = []
        while True:
            try:
                record = os.read(self._fd, 8192)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.EPIPE:  # records were overwritten; go on with the next
                    continue
                break
            if not record:
                break
            message = _message(record)
            if message is not None and wanted & set(_NUMBER_RE.findall(message)):
                out.append(message)
        return out


# A port appears as ":41234", "port 41234" or "]:41234" in the kernel's messages.
_NUMBER_RE = re.compile(r"(?:(?<=:)|(?<=port ))([0-9]{1,5})\b")


def _message(record: bytes) -> str | None:
    """The text of one /dev/kmsg record: "prio,seq,usec,flags;text\\n[ KEY=value\\n...]"."""
    _head, sep, rest = record.partition(b";")
    if not sep:
        return None
    text = rest.split(b"\n", 1)[0]
    return text.decode("utf-8", "replace").rstrip()
