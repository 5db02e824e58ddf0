"""Backlog edge values under every profile, against the clamp each source states in words.

The oracle here is written from the citations, independently of rules.effective_backlog:
- FreeBSD solisten_proto(), the pages, DragonFly: a negative or too-large backlog becomes the
  hard limit;
- Linux __sys_listen_socket(): an unsigned compare, so the same for a non-negative limit;
- 4.4BSD solisten(): a negative backlog becomes 0, then min(backlog, SOMAXCONN).
"""

from __future__ import annotations

import pytest
from conftest import trace

from listenspec.models.profiles import PROFILES

INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def oracle(profile: str, backlog: int, limit: int) -> int:
    if profile == "bsd-4.4":
        return min(max(backlog, 0), limit)
    return limit if backlog < 0 or backlog > limit else backlog


def default_limit(profile: str) -> int:
    return PROFILES[profile].default("limit")


@pytest.mark.parametrize("profile", list(PROFILES))
def test_edges_at_the_default_limit(profile: str) -> None:
    limit = default_limit(profile)
    edges = [INT_MIN, -1, 0, 1, limit - 1, limit, limit + 1, INT_MAX]
    text = "s = socket(AF_INET, SOCK_STREAM)\n" + "".join(
        f"listen(s, {b})\nnetstat(s)\n" for b in edges)
    out = trace(text, profile)
    got = [int(q.split("/")[2]) for q in out[2::2]]
    assert got == [oracle(profile, b, limit) for b in edges]


LIMIT_SYSCTL = {"freebsd-9": "kern.ipc.somaxconn", "freebsd-10": "kern.ipc.soacceptqueue",
                "freebsd-13": "kern.ipc.soacceptqueue", "freebsd-src": "kern.ipc.soacceptqueue",
                "dragonfly": "kern.ipc.somaxconn", "linux": "net.core.somaxconn"}


@pytest.mark.parametrize("profile", list(LIMIT_SYSCTL))
@pytest.mark.parametrize("limit", [1, 2, 7, 1000])
def test_edges_at_a_set_limit(profile: str, limit: int) -> None:
    edges = [INT_MIN, -1, 0, 1, limit - 1, limit, limit + 1, INT_MAX]
    text = f'sysctl("{LIMIT_SYSCTL[profile]}", {limit})\ns = socket(AF_INET, SOCK_STREAM)\n'
    text += "".join(f"listen(s, {b})\nnetstat(s)\n" for b in edges)
    out = trace(text, profile)
    assert out[0] == "0"
    got = [int(q.split("/")[2]) for q in out[3::2]]
    assert got == [oracle(profile, b, limit) for b in edges]


@pytest.mark.parametrize(("profile", "name", "lo", "hi"), [
    ("freebsd-src", "kern.ipc.soacceptqueue", 1, 1431655765),
    ("freebsd-src", "kern.ipc.somaxconn", 1, 1431655765),
    ("freebsd-10", "kern.ipc.soacceptqueue", 1, 1431655765),
    ("freebsd-9", "kern.ipc.somaxconn", 1, 1431655765),
    ("linux", "net.core.somaxconn", 0, INT_MAX),
])
def test_every_sysctl_range_edge(profile: str, name: str, lo: int, hi: int) -> None:
    # freebsd.md §1: val < 1 || val > UINT_MAX / 3 is EINVAL; linux.md §1: -1 is EINVAL
    values = [v for v in (INT_MIN, lo - 1, lo, hi, hi + 1, INT_MAX) if INT_MIN <= v <= INT_MAX]
    text = "".join(f'sysctl("{name}", {v})\nsysctl("{name}")\n' for v in values)
    out = trace(text, profile)
    last_ok = None
    for v, (write, read) in zip(values, zip(out[::2], out[1::2], strict=True), strict=True):
        ok = lo <= v <= hi
        assert write == ("0" if ok else "-1 EINVAL"), (v, write)
        last_ok = v if ok else last_ok
        assert read == str(last_ok if last_ok is not None else default_limit(profile))


@pytest.mark.parametrize("profile", ["intime", "bsd-4.4"])
def test_profiles_without_a_limit_sysctl_say_enoent(profile: str) -> None:
    out = trace('sysctl("kern.ipc.somaxconn")\nsysctl("kern.ipc.somaxconn", 5)\n'
                'sysctl("kern.ipc.soacceptqueue")\nsysctl("net.core.somaxconn", 5)', profile)
    assert out == ["-1 ENOENT"] * 4
