"""The facts the executable-model issue names, and the Linux digest's rules §1-4, each with an
expectation written by hand from the cited source (not read back from the model)."""

from __future__ import annotations

import pytest
from conftest import fill, trace

from listenspec.models import rules
from listenspec.models.profiles import PROFILES


def connects(results: list[str]) -> list[str]:
    return results[1::2]


def test_freebsd_src_listen_2_admits_four_and_resets_the_fifth() -> None:
    out = trace("s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 2)\n" + fill(5) + "netstat(s)\n"
                "syslog()", "freebsd-src")
    assert connects(out[2:12]) == ["0", "0", "0", "0", "-1 ECONNRESET"]
    assert out[12] == "4/0/2"
    assert "4 already in queue awaiting acceptance (1 occurrences)" in out[13]


def test_freebsd_src_listen_0_admits_one() -> None:
    out = trace("s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 0)\n" + fill(2), "freebsd-src")
    assert connects(out[2:]) == ["0", "-1 ECONNRESET"]


@pytest.mark.parametrize(("q", "expected"), [(0, 1), (1, 2), (2, 4), (3, 5), (4, 7), (5, 8),
                                             (10, 16), (128, 193), (4096, 6145)])
def test_freebsd_src_capacity_table_of_the_digest(q: int, expected: int) -> None:
    # reference/freebsd.md §2a: C(q) = floor(3q/2) + 1
    assert rules.max_completed(PROFILES["freebsd-src"], q) == expected


@pytest.mark.parametrize("profile", ["freebsd-9", "freebsd-10", "freebsd-13", "intime"])
@pytest.mark.parametrize(("q", "expected"), [(0, 0), (1, 1), (2, 3), (3, 4), (5, 7), (128, 192)])
def test_pages_real_maximum_is_floor_one_and_a_half_q(profile: str, q: int, expected: int) -> None:
    assert rules.max_completed(PROFILES[profile], q) == expected
    n = expected + 1
    out = trace(f"s = socket(AF_UNIX, SOCK_STREAM)\nbind(s)\nlisten(s, {q})\n"
                + fill(n, "AF_UNIX"), profile)
    assert connects(out[3:]) == ["0"] * expected + ["-1 ECONNREFUSED"]


# ---------------------------------------------------------------- reference/linux.md §1


@pytest.mark.parametrize(("somaxconn", "backlog", "effective"), [
    (4096, -1, 4096), (4096, -2147483648, 4096), (4096, 0, 0), (4096, 1, 1), (4096, 5, 5),
    (4096, 100, 100), (4096, 65535, 4096), (4096, 2147483647, 4096),
    (8, -1, 8), (8, -2147483648, 8), (8, 0, 0), (8, 1, 1), (8, 5, 5), (8, 8, 8), (8, 9, 8),
    (8, 100, 8), (8, 2147483647, 8),
])
def test_linux_exp1_send_q_after_listen(somaxconn: int, backlog: int, effective: int) -> None:
    out = trace(f'sysctl("net.core.somaxconn", {somaxconn})\ns = socket(AF_INET, SOCK_STREAM)\n'
                f"listen(s, {backlog})\nnetstat(s)", "linux")
    assert out == ["0", "fd", "0", f"0/0/{effective}"]


def test_linux_exp1_sysctl_range_and_relisten() -> None:
    out = trace('sysctl("net.core.somaxconn", 0)\nsysctl("net.core.somaxconn", 65536)\n'
                'sysctl("net.core.somaxconn", 2147483647)\nsysctl("net.core.somaxconn", -1)\n'
                'sysctl("net.core.somaxconn", 4096)\n'
                "s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 5)\nlisten(s, 2)\nnetstat(s)\n"
                "listen(s, 7)\nnetstat(s)\nlisten(s, 0)\nnetstat(s)\nlisten(s, -1)\nnetstat(s)\n"
                'sysctl("net.core.somaxconn", 3)\nlisten(s, 100)\nnetstat(s)', "linux")
    assert out[:4] == ["0", "0", "0", "-1 EINVAL"]
    assert out[8::2][:4] == ["0/0/2", "0/0/7", "0/0/0", "0/0/4096"]
    assert out[-1] == "0/0/3"


def test_linux_exp1_errors() -> None:
    out = trace("listen(8934, 1)\nf = open()\nlisten(f, 1)\nu = socket(AF_INET, SOCK_DGRAM)\n"
                "listen(u, 1)\nt = socket(AF_INET, SOCK_STREAM)\nlisten(t, 1)\n"
                "c = socket(AF_INET, SOCK_STREAM)\nconnect(c, t)\nlisten(c, 1)\n"
                "a = accept(t)\nlisten(a, 1)\nv = socket(AF_INET6, SOCK_STREAM)\nlisten(v, -1)\n"
                "netstat(v)", "linux")
    assert out == ["-1 EBADF", "fd", "-1 ENOTSOCK", "fd", "-1 EOPNOTSUPP", "fd", "0", "fd",
                   "0", "-1 EINVAL", "fd", "-1 EINVAL", "fd", "0", "0/0/4096"]


# ---------------------------------------------------------------- reference/linux.md §2


@pytest.mark.parametrize("backlog", [0, 1, 2, 5])
def test_linux_exp2_accept_queue_holds_backlog_plus_one(backlog: int) -> None:
    n = backlog + 3
    out = trace(f"s = socket(AF_INET, SOCK_STREAM)\nlisten(s, {backlog})\n" + fill(n)
                + 'netstat(s)\ncounter("ListenOverflows")\ncounter("ListenDrops")', "linux")
    assert connects(out[2:2 + 2 * n]) == ["0"] * (backlog + 1) + ["-1 EINPROGRESS"] * 2
    assert out[-3:] == [f"{backlog + 1}/0/{backlog}", "2", "2"]


def test_linux_exp2_small_somaxconn_caps_listen_100_and_minus_1() -> None:
    for b in (100, -1):
        out = trace(f'sysctl("net.core.somaxconn", 2)\ns = socket(AF_INET, SOCK_STREAM)\n'
                    f"listen(s, {b})\n" + fill(4) + "netstat(s)", "linux")
        assert connects(out[3:11]) == ["0", "0", "0", "-1 EINPROGRESS"]
        assert out[-1] == "3/0/2"


# ---------------------------------------------------------------- reference/linux.md §3


def test_linux_full_queue_shows_recv_q_one_above_send_q() -> None:
    out = trace("s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 3)\n" + fill(5) + "netstat(s)",
                "linux")
    assert out[-1] == "4/0/3"


# ---------------------------------------------------------------- reference/linux.md §4


def test_linux_exp4_unix_listen_errors() -> None:
    for stype in ("SOCK_STREAM", "SOCK_SEQPACKET"):
        out = trace(f"u = socket(AF_UNIX, {stype})\nlisten(u, 1)\nbind(u)\nlisten(u, 1)",
                    "linux")
        assert out == ["fd", "-1 EINVAL", "0", "0"]
    out = trace("d = socket(AF_UNIX, SOCK_DGRAM)\nlisten(d, 1)\nbind(d)\nlisten(d, 1)", "linux")
    assert out == ["fd", "-1 EOPNOTSUPP", "0", "-1 EOPNOTSUPP"]


@pytest.mark.parametrize("stype", ["SOCK_STREAM", "SOCK_SEQPACKET"])
@pytest.mark.parametrize(("backlog", "admitted"), [(0, 1), (1, 2), (3, 4)])
def test_linux_exp4_unix_backlog(stype: str, backlog: int, admitted: int) -> None:
    n = admitted + 2
    out = trace(f"s = socket(AF_UNIX, {stype})\nbind(s)\nlisten(s, {backlog})\n"
                + fill(n, "AF_UNIX", stype) + "netstat(s)\na = accept(s)\n"
                + f"z = socket(AF_UNIX, {stype})\nconnect(z, s)", "linux")
    assert connects(out[3:3 + 2 * n]) == ["0"] * admitted + ["-1 EAGAIN"] * 2
    assert out[3 + 2 * n] == f"{admitted}/0/{backlog}"
    assert out[-1] == "0"  # after one accept the next connect gets in


def test_linux_exp4_unix_relisten_sequence() -> None:
    out = trace("s = socket(AF_UNIX, SOCK_STREAM)\nbind(s)\nlisten(s, 1)\n" + fill(3, "AF_UNIX")
                + "listen(s, 3)\n"
                + "".join(f"d{i} = socket(AF_UNIX, SOCK_STREAM)\nconnect(d{i}, s)\n"
                          for i in range(3))
                + "netstat(s)\nlisten(s, 0)\nz = socket(AF_UNIX, SOCK_STREAM)\nconnect(z, s)\n"
                + "netstat(s)", "linux")
    assert connects(out[3:9]) == ["0", "0", "-1 EAGAIN"]
    assert connects(out[10:16]) == ["0", "0", "-1 EAGAIN"]
    assert out[16] == "4/0/3"
    assert out[-2:] == ["-1 EAGAIN", "4/0/0"]
