"""Protocol statistics counters of the executor's network namespace.

reference/linux.md §3: TcpExt `ListenOverflows` and `ListenDrops` are in /proc/net/netstat, per
network namespace (`tcp_conn_request()` and `tcp_v4_syn_recv_sock()` bump them,
include/net/tcp.h `tcp_listendrop()`). The Tcp MIB (`ActiveOpens`, `AttemptFails`, ...) is in
/proc/net/snmp. Both files are opened once, after the process entered its namespace:
/proc/self/net resolves to the namespace of the opener, and a seq_file re-read from offset 0
is regenerated, so every read is current.
"""

from __future__ import annotations

import os
from typing import Final

#: Sections searched, in this order, for a bare field name like "ListenOverflows".
_PREFERRED: Final = ("TcpExt", "Tcp")


class Counters:
    """Reads /proc/self/net/{netstat,snmp} of the namespace this object was created in."""

    def __init__(self) -> None:
        self._fds: list[int] = []
        for name in ("netstat", "snmp"):
            try:
                self._fds.append(os.open(f"/proc/self/net/{name}", os.O_RDONLY | os.O_CLOEXEC))
            except OSError:
                continue

    def close(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []

    def fds(self) -> list[int]:
        return list(self._fds)

    def sections(self) -> dict[str, dict[str, int]]:
        """{"TcpExt": {"ListenOverflows": 3, ...}, "Tcp": {...}, ...}"""
        return self._parse()[0]

    def _parse(self) -> tuple[dict[str, dict[str, int]], dict[str, str]]:
        """The sections with values, and every name listed in a header that no line of values
        follows (gVisor 2022-12 lists TcpExt so) -> its `Section.Field`."""
        out: dict[str, dict[str, int]] = {}
        bare: dict[str, str] = {}
        for fd in self._fds:
            lines = _read_all(fd).decode("ascii", "replace").splitlines()
            # Each section is a header line of names followed by a line of values.
            i = 0
            while i < len(lines):
                prefix, _, names = lines[i].partition(":")
                nxt = lines[i + 1] if i + 1 < len(lines) else ""
                vprefix, _, nums = nxt.partition(":")
                if vprefix != prefix or not _numbers(nums):
                    for key in names.split():
                        for alias in (key, prefix + key, f"{prefix}.{key}"):
                            bare.setdefault(alias, f"{prefix}.{key}")
                    i += 1
                    continue
                section = out.setdefault(prefix, {})
                for key, raw in zip(names.split(), nums.split(), strict=False):
                    try:
                        section[key] = int(raw)
                    except ValueError:
                        continue
                i += 2
        return out, bare

    def unvalued(self, name: str) -> str | None:
        """`Section.Field` if `name` is listed in a header without a line of values (and has no
        value elsewhere), else None."""
        if name in self.snapshot():
            return None
        return self._parse()[1].get(name)

    def lookup(self, name: str) -> int | None:
        """A counter by field name (`ListenOverflows`), by nstat name (`TcpExtListenOverflows`)
        or as `Section.Field`; None when this kernel has no such counter. The value
        `snapshot()[name]` holds, found without building the snapshot (every run's executor
        looks one up before its first step): the first section in snapshot's order with a
        field the name can mean, and in it the last such field, as snapshot's writes leave it."""
        for prefix, fields in self._ordered():
            meant = [name] if name in fields else []
            if name.startswith(prefix):
                rest = name[len(prefix):]
                meant += [k for k in (rest, rest[1:] if rest.startswith(".") else None)
                          if k is not None and k in fields]
            if meant:
                order = {k: i for i, k in enumerate(fields)} if len(meant) > 1 else {}
                return fields[max(meant, key=lambda k: order.get(k, 0))]
        return None

    def snapshot(self) -> dict[str, int]:
        """Every counter under every name `lookup` accepts for it."""
        out: dict[str, int] = {}
        for prefix, fields in reversed(list(self._ordered())):
            for key, value in fields.items():
                out[key] = value
                out[prefix + key] = value
                out[f"{prefix}.{key}"] = value
        return out

    def _ordered(self) -> list[tuple[str, dict[str, int]]]:
        sections = self.sections()
        order = [s for s in _PREFERRED if s in sections] + sorted(
            s for s in sections if s not in _PREFERRED
        )
        return [(prefix, sections[prefix]) for prefix in order]

    def listen_drops(self) -> tuple[int, int]:
        """(ListenOverflows, ListenDrops): what a silently dropped SYN moves (linux.md §2)."""
        text = _read_all(self._fds[0]) if self._fds else b""
        lines = text.split(b"\n")
        for head, values in zip(lines[0::2], lines[1::2], strict=False):
            if head.startswith(b"TcpExt:"):
                table = dict(zip(head.split(), values.split(), strict=False))
                return int(table.get(b"ListenOverflows", 0)), int(table.get(b"ListenDrops", 0))
        return 0, 0


def _numbers(text: str) -> bool:
    words = text.split()
    return bool(words) and all(w.lstrip("-").isdigit() for w in words)


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    offset = 0
    while True:
        chunk = os.pread(fd, 65536, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)
