"""Tests for the mutants of the model that issue 14's hand-made mutation run left alive: each pins
a rule the rest of the suite did not observe. The Linux ones are also run on this machine's
kernel where a private network namespace can be made (the pinned values were measured so on
Linux 6.18); the FreeBSD and page ones pin the model to its cited sources."""

from __future__ import annotations

import sys

import pytest

from listenspec.models.profiles import PROFILES
from listenspec.results import render
from listenspec.runner import run_model
from listenspec.script import parse


def _trace(text: str, profile: str) -> list[str]:
    script = parse(text)
    return [f"{t.step.text} = {render(t.result)}" for t in run_model(script, PROFILES[profile])]


def _kernel_trace(text: str) -> list[str]:
    if not sys.platform.startswith("linux"):
        pytest.skip("the kernel executor runs on Linux only")
    pytest.importorskip("pyroute2")
    from listenspec.kernel import run_on_kernel
    from listenspec.kernel.netns import isolation_problem

    if (problem := isolation_problem()) is not None:
        pytest.skip(f"no private network namespace here: {problem}")
    script = parse(text)
    return [f"{s.text} = {render(r)}" for s, r in zip(script.steps, run_on_kernel(script),
                                                       strict=True)]


# --- TCP_DEFER_ACCEPT: seconds -> SYN-ACK retransmissions, with the RTO capped at 120 s
# (net/ipv4/tcp.c secs_to_retrans/retrans_to_secs, TCP_RTO_MAX). A cap of 60 gives 183 for 128.
DEFER = [(1, 1), (64, 127), (128, 247), (200, 247), (1000, 1087), (100_000, 29887),
         (2147483647, 29887)]
DEFER_SCRIPT = "s = socket(AF_INET, SOCK_STREAM)\n" + "".join(
    f"setsockopt(s, TCP_DEFER_ACCEPT, {n})\ngetsockopt(s, TCP_DEFER_ACCEPT)\n" for n, _ in DEFER)
DEFER_TRACE = ["s = socket(AF_INET, SOCK_STREAM) = fd"] + [
    line for n, secs in DEFER for line in (f"setsockopt(s, TCP_DEFER_ACCEPT, {n}) = 0",
                                           f"getsockopt(s, TCP_DEFER_ACCEPT) = {secs}")]


def test_defer_accept_rounds_up_with_the_rto_capped_at_120_s() -> None:
    assert _trace(DEFER_SCRIPT, "linux") == DEFER_TRACE


def test_defer_accept_rounding_on_this_kernel() -> None:
    assert _kernel_trace(DEFER_SCRIPT) == DEFER_TRACE


# --- A full request queue with syncookies sends a cookie, and the ACK that returns it makes
# the child at once: it is not deferred by TCP_DEFER_ACCEPT (net/ipv4/tcp_input.c
# tcp_conn_request(): want_cookie skips the request sock). So are all connections with
# tcp_syncookies=2.
COOKIE_SCRIPT = """s = socket(AF_INET, SOCK_STREAM)
listen(s, 1)
setsockopt(s, TCP_DEFER_ACCEPT, 5)
c0 = socket(AF_INET, SOCK_STREAM)
connect(c0, s)
netstat(s)
syn(s)
syn(s)
netstat(s)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
netstat(s)
sysctl("net.ipv4.tcp_syncookies", 2)
t = socket(AF_INET, SOCK_STREAM)
listen(t, 8)
setsockopt(t, TCP_DEFER_ACCEPT, 5)
d = socket(AF_INET, SOCK_STREAM)
connect(d, t)
netstat(t)
"""
COOKIE_NETSTATS = ["0/1/1",  # c0 deferred: a request sock until it sends
                   "0/2/1",  # one half-open peer more: the request queue is full
                   "1/2/1",  # c came back with a cookie: completed, not deferred
                   "1/0/8"]  # syncookies=2: every connection, full or not


def _netstats(trace: list[str]) -> list[str]:
    return [line.rsplit(" = ", 1)[1] for line in trace if line.startswith("netstat(")]


def test_a_cookie_connection_is_not_deferred() -> None:
    assert _netstats(_trace(COOKIE_SCRIPT, "linux")) == COOKIE_NETSTATS


def test_a_cookie_connection_is_not_deferred_on_this_kernel() -> None:
    assert _netstats(_kernel_trace(COOKIE_SCRIPT)) == COOKIE_NETSTATS


# --- net.ipv4.tcp_syncookies takes 0..255 on this kernel (a u8 with no bounds,
# net/ipv4/sysctl_net_ipv4.c: proc_dou8vec_minmax without extra1/extra2); 3..255 act as 1.
SYNCOOKIES_SCRIPT = """sysctl("net.ipv4.tcp_syncookies", 3)
sysctl("net.ipv4.tcp_syncookies", 255)
sysctl("net.ipv4.tcp_syncookies", 256)
sysctl("net.ipv4.tcp_syncookies", -1)
sysctl("net.ipv4.tcp_syncookies", 2)
"""
SYNCOOKIES_RESULTS = ["0", "0", "-1 EINVAL", "-1 EINVAL", "0"]


def _results(trace: list[str]) -> list[str]:
    return [line.rsplit(" = ", 1)[1] for line in trace]


def test_the_syncookies_range_on_this_kernel() -> None:
    assert _results(_kernel_trace(SYNCOOKIES_SCRIPT)) == SYNCOOKIES_RESULTS


def test_the_syncookies_range_of_the_linux_profile() -> None:
    assert _results(_trace(SYNCOOKIES_SCRIPT, "linux")) == SYNCOOKIES_RESULTS


# --- freebsd-src's syncache takes entries while it holds fewer than its limit (15,360, from
# tcp_syncache.c: hash size 512 x bucket limit 30), whatever listener they are for; with
# syncookies off, the SYN after that is dropped.
def test_the_syncache_limit_is_exclusive() -> None:
    limit = PROFILES["freebsd-src"].syncache_cache_limit
    per = limit // 16
    assert per * 16 == limit
    lines = ['sysctl("net.inet.tcp.syncookies", 0)']
    for i in range(16):
        lines += [f"s{i} = socket(AF_INET, SOCK_STREAM)", f"listen(s{i}, 5)"] + [f"syn(s{i})"] * per
    lines += ["t = socket(AF_INET, SOCK_STREAM)", "listen(t, 5)", "syn(t)"]
    trace = _trace("\n".join(lines) + "\n", "freebsd-src")
    syns = [line for line in trace if line.startswith("syn(")]
    assert len(syns) == limit + 1
    assert all(line.endswith(" = 0") for line in syns[:-1])  # the limit-th is taken
    assert syns[-1] == "syn(t) = -1 EINPROGRESS"


# --- On the pages an arrival terminates one connection of the incomplete queue ("the oldest
# socket ... will be terminated", a single `if` in DragonFly's sonewconn), however far above
# the limit it is; FreeBSD main loops while it is above (freebsd-main: in 14.2, freebsd-src, an
# accept filter holds nothing, so there is no incomplete queue to evict from).
EVICT_SCRIPT = "".join([
    "s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 4)\n",
    'setsockopt(s, SO_ACCEPTFILTER, "dataready")\n',
    *(f"c{i} = socket(AF_INET, SOCK_STREAM)\nconnect(c{i}, s)\n" for i in range(7)),
    "netstat(s)\nlisten(s, 1)\nnetstat(s)\n",
    "c = socket(AF_INET, SOCK_STREAM)\nconnect(c, s)\nnetstat(s)\n",
])


@pytest.mark.parametrize(("profile", "incomplete"), [
    ("freebsd-9", 6), ("freebsd-10", 6), ("freebsd-13", 6), ("intime", 6), ("dragonfly", 4),
])
def test_one_eviction_per_arrival_on_the_pages(profile: str, incomplete: int) -> None:
    before, lowered, after = _netstats(_trace(EVICT_SCRIPT, profile))
    assert before == f"0/{incomplete}/4" and lowered == f"0/{incomplete}/1"
    assert after == lowered  # one terminated for the one that arrived


def test_freebsd_main_evicts_until_the_queue_is_within_its_limit() -> None:
    _, lowered, after = _netstats(_trace(EVICT_SCRIPT, "freebsd-main"))
    assert lowered == "0/5/1"
    assert int(after.split("/")[1]) < 5 - 1  # more than one terminated for the one arriving


# --- Timers fire at their exact microsecond (found by tools/mutation.py: a second of 1,000,001
# µs, or 75 + SECOND for the 4.4BSD lifetime, survived every other test). 4.4BSD drops an
# embryonic connection after TCPTV_KEEP_INIT, 75 s (tcp_timer.h); Linux drops a request sock
# after tcp_synack_retries=5 retransmissions, 1+2+4+8+16+32 = 63 s (reqsk_timer_handler(),
# spec/sources/linux-6.18.md §8).
@pytest.mark.parametrize(("profile", "lifetime"), [("bsd-4.4", "75"), ("linux", "63")])
def test_a_half_open_connection_lives_to_its_exact_microsecond(profile: str,
                                                                lifetime: str) -> None:
    before = f"{int(lifetime) - 1}.999999"
    trace = _trace("s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 5)\nsyn(s)\n"
                   f"sleep({before})\nnetstat(s)\nsleep(0.000001)\nnetstat(s)\n", profile)
    assert _netstats(trace) == ["0/1/5", "0/0/5"]
