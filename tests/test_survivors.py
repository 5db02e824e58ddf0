"""Tests for the mutants of the model that issue 14's hand-made mutation run left alive: each pins
a rule the rest of the suite did not observe. The Linux ones are also run on this machine's
kernel where a private network namespace can be made (the pinned values were measured so on
Linux 6.18); the FreeBSD and page ones pin the model to its cited sources."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

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
    from listenspec.kernel import run_on_kernel
    from listenspec.kernel.netns import isolation_problem

    if (problem := isolation_problem()) is not None:
        pytest.skip(f"no private network namespace here: {problem}")
    script = parse(text)
    return [f"{s.text} = {render(r)}" for s, r in zip(script.steps, run_on_kernel(script),
                                                       strict=True)]


# --- TCP_DEFER_ACCEPT: seconds -> SYN-ACK retransmissions, with the RTO capped at 120 s
# (net/ipv4/tcp.c secs_to_retrans/retrans_to_secs, TCP_RTO_MAX). A cap of 60 gives 183 for 128.
DEFER = [(-5, 0), (0, 0), (1, 1), (64, 127), (128, 247), (200, 247), (247, 247), (248, 367),
         (1000, 1087), (100_000, 29887), (2147483647, 29887)]
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


def _results(trace: list[str]) -> list[str]:
    return [line.rsplit(" = ", 1)[1] for line in trace]


def _seen(trace: list[str], *calls: str) -> list[str]:
    """The results of the trace's lines that start with one of `calls` (e.g. "netstat(")."""
    return _results([line for line in trace if line.startswith(calls)])


def _netstats(trace: list[str]) -> list[str]:
    return _seen(trace, "netstat(")


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


# ------------------------------------------------------- accept filters (the mutation run's)
#: Each filter's predicate, case by case as spec/sources/freebsd.md B3 reads accf_data.c,
#: accf_http.c, accf_dns.c and accf_tls.c (hiwat 100): written from the source's reading, not
#: from rules.filter_ready, whose mutants otherwise survived (no example sends such data).
TLS_HEAD = b"\x16\x03\x01"
FILTER_CASES = [
    ("dataready", b"", False, False, False), ("dataready", b"x", False, False, True),
    ("dataready", b"", True, False, True), ("dataready", b"", False, True, True),
    ("httpready", b"", False, False, False), ("httpready", b"G", False, False, False),
    ("httpready", b"", True, False, True), ("httpready", b"a" * 100, False, False, True),
    ("httpready", b"XY", False, False, True), ("httpready", b"GE", False, False, False),
    ("httpready", b"GX", False, False, True), ("httpready", b"HEA", False, False, False),
    ("httpready", b"HEX", False, False, True), ("httpready", b"GET /\r\n", False, False, True),
    ("httpready", b"GET / HTTP/1.0\r\n", False, False, False),
    ("httpready", b"GET / HTTP/1.0\r\n\r\n", False, False, True),
    ("httpready", b"GET / HTTP/1.1\n\n", False, False, True),
    ("httpready", b"HEAD / HTTP/1.1\r\nHost: x\r\n", False, False, False),
    ("httpready", b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", False, False, True),
    ("httpready", b"GET / HTTP/1.", False, False, False),
    ("httpready", b"GET / HTTP/2", False, False, True),
    ("httpready", b"GET  /  HTTP/1.0\n\n", False, False, True),
    ("httpready", b"GET /\r", False, False, True), ("httpready", b"GET /\n", False, False, True),
    ("httpready", b"GET  /  X", False, False, True), ("httpready", b"GET / X", False, False, True),
    ("httpready", b"GET / HTTP/1.0", False, False, False),
    ("httpready", b"GET / HTTP/2.0x", False, False, True),
    ("httpready", b"GETX", False, False, True),
    ("httpready", b"GET  / HTTP/1.0", False, False, False),  # a run of spaces counts once
    ("httpready", b"GET " + b"/" * 96, False, False, True),  # a full buffer (hiwat)
    ("httpready", b"GET " + b"/" * 95, False, False, False),
    ("dnsready", b"", False, False, False), ("dnsready", b"\x00", False, False, False),
    ("dnsready", b"\x00\x00", False, False, True), ("dnsready", b"\x00\x01a", False, False, True),
    ("dnsready", b"\x00\x02a", False, False, False),
    ("dnsready", b"\x00\x05", True, False, False), ("dnsready", b"\x00\xff" + b"a" * 98, False,
                                                     False, True),
    ("tlsready", b"", False, False, False), ("tlsready", b"", True, False, True),
    ("tlsready", b"", False, True, True), ("tlsready", TLS_HEAD, False, False, False),
    ("tlsready", b"\x17abcd", False, False, True),
    ("tlsready", TLS_HEAD + b"\x00\x02a", False, False, False),
    ("tlsready", TLS_HEAD + b"\x00\x02ab", False, False, True),
    ("tlsready", TLS_HEAD + b"\x40\x00", False, False, False),  # 16384: waits for it all
    ("tlsready", TLS_HEAD + b"\x40\x01", False, False, True),  # longer than a record: released
    ("tlsready", TLS_HEAD + b"\x00\x60" + b"a" * 95, False, False, True),  # a full buffer
    ("nosuchfilter", b"x", True, True, False),
]


@pytest.mark.parametrize(("name", "data", "eof", "reset", "ready"), FILTER_CASES)
def test_each_accept_filter_releases_as_its_source_reads(name: str, data: bytes, eof: bool,
                                                          reset: bool, ready: bool) -> None:
    from listenspec.models import rules

    assert rules.filter_ready(name, data, eof, 100, reset) is ready


def test_the_syncache_retransmits_on_freebsd_s_schedule() -> None:
    """spec/sources/freebsd.md B12: the first timeout tcp_rexmit_initial (1 s), then
    TCPT_RANGESET(rexmit_initial * tcp_backoff[rxmits]) plus tcp_rexmit_slop (200 ms), clamped
    to 64 s; with the defaults the entry expires at 15.6 s (the file's own "15600 ms")."""
    from listenspec.models import rules

    seconds = [rules.syncache_timeout(n) / 1_000_000 for n in range(13)]
    assert seconds == [1.0, 2.2, 4.2, 8.2, 16.2, 32.2] + [64.0] * 7
    assert sum(rules.syncache_timeout(n) for n in range(4)) == 15_600_000


def test_the_linux_timers_are_their_constants() -> None:
    """reqsk_timer_handler(): TCP_TIMEOUT_INIT << n capped at TCP_RTO_MAX (120 s); a client's
    resend of a segment a request sock dropped: 0.2, 0.4, 0.8, 1.6, 3.2 s after its first
    sending (spec/sources/linux-6.18.md §8, measured), the gap capped at TCP_RTO_MAX too."""
    from listenspec.models import rules

    assert [rules.reqsk_timeout(n) // 1_000_000 for n in range(10)] == [
        1, 2, 4, 8, 16, 32, 64, 120, 120, 120]
    sent = [sum(rules.client_resend_gap(k) for k in range(n + 1)) for n in range(5)]
    assert sent == [200_000, 400_000, 800_000, 1_600_000, 3_200_000]
    assert rules.client_resend_gap(10) == 102_400_000  # 0.2 s << 9
    assert rules.client_resend_gap(11) == 120_000_000


def test_a_client_holds_its_deferred_ack_to_the_microsecond() -> None:
    """TCP_DELACK_MAX (HZ/5): a client that set TCP_DEFER_ACCEPT sends its final ACK 200 ms
    after the handshake, not a microsecond before (spec/sources/linux-6.18.md §8)."""
    got = _trace("s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 1)\n"
                 "c = socket(AF_INET, SOCK_STREAM)\nsetsockopt(c, TCP_DEFER_ACCEPT, 1)\n"
                 "connect(c, s)\nsleep(0.199999)\nnetstat(s)\nsleep(0.000001)\nnetstat(s)\n",
                 "linux")
    assert _netstats(got) == ["0/1/1", "1/0/1"]


def test_a_dropped_segment_is_resent_to_the_microsecond() -> None:
    """TCP_RTO_MIN (HZ/5): the client's first resend of its data, dropped by a deferred
    request sock on a full accept queue, comes 200 ms after it was sent (example
    client_resend, measured by the kernel executor)."""
    head = ("s = socket(AF_INET, SOCK_STREAM)\nsetsockopt(s, TCP_DEFER_ACCEPT, 4)\n"
            "listen(s, 0)\nc1 = socket(AF_INET, SOCK_STREAM)\nconnect(c1, s)\n"
            "c2 = socket(AF_INET, SOCK_STREAM)\nconnect(c2, s)\nsend(c1, \"a\")\n"
            "send(c2, \"b\")\ncounter(\"ListenOverflows\")\n")
    got = _trace(head + "sleep(0.199999)\ncounter(\"ListenOverflows\")\nsleep(0.000001)\n"
                 "counter(\"ListenOverflows\")\n", "linux")
    counts = _seen(got, "counter")
    assert counts[1] == counts[0] and int(counts[2]) == int(counts[1]) + 1, got


# --- An int option given as a string: the first four bytes, little-endian, as the kernel copies
# an int from the buffer (FreeBSD sooptcopyin(sopt, &optval, sizeof optval, sizeof optval): a
# value shorter than the minimum is EINVAL, a longer one is read to its first int,
# spec/sources/freebsd.md; Linux copy_safe_from_sockptr(), measured by the kernel executor);
# and the bit of SO_REUSEPORT_LB, 0x10000, on FreeBSD (sys/sys/socket.h).
INT_STRING_SCRIPT = """s = socket(AF_INET, SOCK_STREAM)
setsockopt(s, SO_REUSEPORT, "ab")
getsockopt(s, SO_REUSEPORT)
setsockopt(s, SO_REUSEPORT, "abc")
setsockopt(s, SO_REUSEPORT, "abcd")
getsockopt(s, SO_REUSEPORT)
setsockopt(s, SO_REUSEPORT, "\\x00\\x00\\x00\\x00")
getsockopt(s, SO_REUSEPORT)
setsockopt(s, SO_REUSEPORT, "\\x01\\x00\\x00\\x00")
getsockopt(s, SO_REUSEPORT)
setsockopt(s, SO_REUSEPORT, "\\x00\\x00\\x00\\x00x")
getsockopt(s, SO_REUSEPORT)
setsockopt(s, SO_REUSEPORT, NULL)
setsockopt(s, SO_REUSEPORT_LB, "abcd")
getsockopt(s, SO_REUSEPORT_LB)
setsockopt(s, SO_REUSEPORT_LB, 0)
getsockopt(s, SO_REUSEPORT_LB)
"""


def _int_string_trace(on: str, lb: tuple[str, str, str, str]) -> list[str]:
    return [
        "s = socket(AF_INET, SOCK_STREAM) = fd",
        'setsockopt(s, SO_REUSEPORT, "ab") = -1 EINVAL', "getsockopt(s, SO_REUSEPORT) = 0",
        'setsockopt(s, SO_REUSEPORT, "abc") = -1 EINVAL',
        'setsockopt(s, SO_REUSEPORT, "abcd") = 0', f"getsockopt(s, SO_REUSEPORT) = {on}",
        'setsockopt(s, SO_REUSEPORT, "\\x00\\x00\\x00\\x00") = 0',
        "getsockopt(s, SO_REUSEPORT) = 0",
        'setsockopt(s, SO_REUSEPORT, "\\x01\\x00\\x00\\x00") = 0',
        f"getsockopt(s, SO_REUSEPORT) = {on}",
        'setsockopt(s, SO_REUSEPORT, "\\x00\\x00\\x00\\x00x") = 0',
        "getsockopt(s, SO_REUSEPORT) = 0",
        "setsockopt(s, SO_REUSEPORT, NULL) = -1 EINVAL",
        f'setsockopt(s, SO_REUSEPORT_LB, "abcd") = {lb[0]}',
        f"getsockopt(s, SO_REUSEPORT_LB) = {lb[1]}",
        f"setsockopt(s, SO_REUSEPORT_LB, 0) = {lb[2]}",
        f"getsockopt(s, SO_REUSEPORT_LB) = {lb[3]}",
    ]


FREEBSD_LB = ("0", "65536", "0", "0")
LINUX_LB = ("-1 ENOPROTOOPT",) * 4


@pytest.mark.parametrize(("profile", "on", "lb"), [
    ("freebsd-src", "512", FREEBSD_LB), ("freebsd-13", "512", FREEBSD_LB),
    ("linux", "1", LINUX_LB)])
def test_an_int_option_read_from_a_string(profile: str, on: str,
                                          lb: tuple[str, str, str, str]) -> None:
    assert _trace(INT_STRING_SCRIPT, profile) == _int_string_trace(on, lb)


def test_an_int_option_read_from_a_string_on_this_kernel() -> None:
    assert _kernel_trace(INT_STRING_SCRIPT) == _int_string_trace("1", LINUX_LB)


# --- Linux checks an option value's length before the option's name: a value shorter than an
# int is EINVAL for any SOL_SOCKET option, known or not (net/core/sock.c sk_setsockopt():
# `if (optlen < sizeof(int)) return -EINVAL` precedes the switch; measured by the kernel
# executor); at full length the unknown or read-only name is ENOPROTOOPT.
SHORT_SCRIPT = """s = socket(AF_INET, SOCK_STREAM)
setsockopt(s, SO_ACCEPTCONN, "ab")
setsockopt(s, SO_ACCEPTCONN, "abcd")
setsockopt(s, SO_LISTENQLIMIT, "ab")
setsockopt(s, SO_ERROR, "ab")
setsockopt(s, SO_ERROR, "abcd")
"""
SHORT_TRACE = ["s = socket(AF_INET, SOCK_STREAM) = fd",
               'setsockopt(s, SO_ACCEPTCONN, "ab") = -1 EINVAL',
               'setsockopt(s, SO_ACCEPTCONN, "abcd") = -1 ENOPROTOOPT',
               'setsockopt(s, SO_LISTENQLIMIT, "ab") = -1 EINVAL',
               'setsockopt(s, SO_ERROR, "ab") = -1 EINVAL',
               'setsockopt(s, SO_ERROR, "abcd") = -1 ENOPROTOOPT']


def test_a_short_value_is_einval_before_the_name_is_looked_at_on_linux() -> None:
    assert _trace(SHORT_SCRIPT, "linux") == SHORT_TRACE


def test_a_short_value_is_einval_before_the_name_is_looked_at_on_this_kernel() -> None:
    assert _kernel_trace(SHORT_SCRIPT) == SHORT_TRACE


# --- FreeBSD's SO_LINGER bound is inclusive: 0..min(USHRT_MAX, INT_MAX / hz) = 65535 at
# hz 1000 (sys/kern/uipc_socket.c sosetopt(), spec/sources/freebsd.md); and the SO_LISTENQ*
# options of a socket that does not listen read 0 (sogetopt(): `SOLISTENING(so) ? ... : 0`).
def test_the_freebsd_linger_bound_is_inclusive() -> None:
    script = ("s = socket(AF_INET, SOCK_STREAM)\n" + "".join(
        f"setsockopt(s, SO_LINGER, {n})\n" for n in (0, 65534, 65535, 65536, -1)))
    assert _trace(script, "freebsd-src")[1:] == [
        "setsockopt(s, SO_LINGER, 0) = 0", "setsockopt(s, SO_LINGER, 65534) = 0",
        "setsockopt(s, SO_LINGER, 65535) = 0", "setsockopt(s, SO_LINGER, 65536) = -1 EDOM",
        "setsockopt(s, SO_LINGER, -1) = -1 EDOM"]


@pytest.mark.parametrize("profile", ["freebsd-src", "freebsd-13", "freebsd-10"])
def test_listenq_options_of_a_socket_that_does_not_listen_read_0(profile: str) -> None:
    script = ("s = socket(AF_INET, SOCK_STREAM)\nbind(s)\n" + "".join(
        f"getsockopt(s, {o})\n" for o in ("SO_LISTENQLIMIT", "SO_LISTENQLEN",
                                          "SO_LISTENINCQLEN")))
    assert _trace(script, profile)[2:] == [
        f"getsockopt(s, {o}) = 0"
        for o in ("SO_LISTENQLIMIT", "SO_LISTENQLEN", "SO_LISTENINCQLEN")]


def test_a_stack_that_ignores_unknown_options_still_sets_its_accept_filters() -> None:
    # setsockopt()'s gVisor row (an unknown SOL_SOCKET name is ignored, endpoint.go
    # setSockOptSocket()) leaves SO_ACCEPTFILTER to the accept-filter rule wherever a profile
    # has accept filters: the two rules compose, checked on a profile that has both.
    import attrs

    both = attrs.evolve(PROFILES["gvisor"], accept_filters=PROFILES["freebsd-src"].accept_filters)
    script = parse("s = socket(AF_INET, SOCK_STREAM)\n"
                   'setsockopt(s, SO_ACCEPTFILTER, "nosuchfilter")\n'
                   'setsockopt(s, SO_LISTENQLIMIT, 1)\n')
    got = [render(t.result) for t in run_model(script, both)]
    assert got == ["fd", "-1 ENOENT", "0"]


# --- The syncache's entries expire at the first firing after rexmtlimit retransmissions:
# syncache_timeout() counts the insert's own timeout in sc_rxmits, and syncache_timer() drops
# the entry when sc_rxmits > rexmtlimit (spec/sources/freebsd.md B12: 15.6 s with the default
# 3). Observed through the cache limit (cachelimit is a loader tunable; 4 here, so that four
# syn()s fill the cache): a syn() finds no room (EINPROGRESS, syncookies off) until the entries
# expire. The entries are made 2 s into the run, so their times are relative to their birth.
@pytest.mark.parametrize(("rexmtlimit", "expiry"), [(0, "1.0"), (1, "3.2"), (3, "15.6"),
                                                    (4, "31.8")])
def test_a_syncache_entry_expires_after_rexmtlimit_retransmissions(rexmtlimit: int,
                                                                   expiry: str) -> None:
    import attrs

    small = attrs.evolve(PROFILES["freebsd-src"], syncache_cache_limit=4)
    before = f"{float(expiry) - 0.01:.2f}"
    script = parse("\n".join([
        'sysctl("net.inet.tcp.syncookies", 0)',
        f'sysctl("net.inet.tcp.syncache.rexmtlimit", {rexmtlimit})', "sleep(2)",
        *(line for i in range(4)
          for line in (f"s{i} = socket(AF_INET, SOCK_STREAM)", f"listen(s{i}, 5)", f"syn(s{i})")),
        "t = socket(AF_INET, SOCK_STREAM)", "listen(t, 5)", "syn(t)",
        f"sleep({before})", "syn(t)", "sleep(0.02)", "syn(t)"]) + "\n")
    got = [render(t.result) for t in run_model(script, small) if t.step.text == "syn(t)"]
    assert got == ["-1 EINPROGRESS", "-1 EINPROGRESS", "0"]


# --- A deferred request whose deferral ends on a full accept queue expires at the next firing
# (syn_ack_recalc(): num_timeout >= synack_retries and >= the deferral); its client is not
# told, and the data it sends later draws an RST (inet_csk_reqsk_queue_drop(); measured by the
# kernel executor). A client that closed first is simply gone.
EXPIRED_SCRIPT = """sysctl("net.ipv4.tcp_synack_retries", 1)
s = socket(AF_INET, SOCK_STREAM)
setsockopt(s, TCP_DEFER_ACCEPT, 1)
listen(s, 0)
c1 = socket(AF_INET, SOCK_STREAM)
connect(c1, s)
c0 = socket(AF_INET, SOCK_STREAM)
connect(c0, s)
send(c0, "a")
netstat(s)
sleep(1.5)
netstat(s)
counter("ListenOverflows")
sleep(2)
netstat(s)
send(c1, "x")
sleep(0.2)
recv(c1)
"""
EXPIRED_TAIL = ["netstat(s) = 1/1/0", "sleep(1.5) = 0", "netstat(s) = 1/1/0",
                'counter("ListenOverflows") = 1', "sleep(2) = 0", "netstat(s) = 1/0/0",
                'send(c1, "x") = 1', "sleep(0.2) = 0", "recv(c1) = -1 ECONNRESET"]
CLOSED_SCRIPT = EXPIRED_SCRIPT.split("counter(")[0] + "close(c1)\nsleep(2)\nnetstat(s)\n"
CLOSED_TAIL = ["netstat(s) = 1/1/0", "sleep(1.5) = 0", "netstat(s) = 1/1/0", "close(c1) = 0",
               "sleep(2) = 0", "netstat(s) = 1/0/0"]


@pytest.mark.parametrize(("script", "tail"), [(EXPIRED_SCRIPT, EXPIRED_TAIL),
                                              (CLOSED_SCRIPT, CLOSED_TAIL)])
def test_a_deferred_request_expires_unknown_to_its_client(script: str, tail: list[str]) -> None:
    assert _trace(script, "linux")[-len(tail):] == tail


@pytest.mark.parametrize(("script", "tail"), [(EXPIRED_SCRIPT, EXPIRED_TAIL),
                                              (CLOSED_SCRIPT, CLOSED_TAIL)])
def test_a_deferred_request_expires_unknown_to_its_client_on_this_kernel(
        script: str, tail: list[str]) -> None:
    assert _kernel_trace(script)[-len(tail):] == tail


# --- A dropped segment's resends are timed from when it was sent, not from the handshake: sent
# 0.5 s after the connect, first resent at 0.7 s (TCP_RTO_MIN after the sending; measured).
LATE_SEND = ("s = socket(AF_INET, SOCK_STREAM)\nsetsockopt(s, TCP_DEFER_ACCEPT, 4)\n"
             "listen(s, 0)\nc1 = socket(AF_INET, SOCK_STREAM)\nconnect(c1, s)\n"
             "c2 = socket(AF_INET, SOCK_STREAM)\nconnect(c2, s)\nsleep(0.5)\nsend(c1, \"a\")\n"
             "send(c2, \"b\")\ncounter(\"ListenOverflows\")\n")


def _counts(trace: list[str]) -> list[int]:
    return [int(n) for n in _seen(trace, "counter")]


def test_a_late_segment_is_resent_from_when_it_was_sent() -> None:
    got = _trace(LATE_SEND + "sleep(0.199999)\ncounter(\"ListenOverflows\")\n"
                 "sleep(0.000001)\ncounter(\"ListenOverflows\")\n", "linux")
    assert _counts(got) == [1, 1, 2]


def test_a_late_segment_is_resent_from_when_it_was_sent_not_from_boot() -> None:
    # the same a second after boot: the resend is timed from the connection's birth
    got = _trace("sleep(1)\n" + LATE_SEND + "sleep(0.199999)\ncounter(\"ListenOverflows\")\n"
                 "sleep(0.000001)\ncounter(\"ListenOverflows\")\n", "linux")
    assert _counts(got) == [1, 1, 2]


def test_a_late_segment_is_resent_from_when_it_was_sent_on_this_kernel() -> None:
    # the kernel's timers come a little late: the sleeps stay 0.1 s clear of the moment
    got = _kernel_trace(LATE_SEND + "sleep(0.1)\ncounter(\"ListenOverflows\")\n"
                        "sleep(0.2)\ncounter(\"ListenOverflows\")\n")
    assert _counts(got) == [1, 1, 2]


def test_only_reqsk_timers_admit_segments_and_none_counts_half_open() -> None:
    # timers._segment_arrives() asks rules.admits() with 0 half-open connections: it is reached
    # only by profiles with Linux request socks, and none of them counts half-open connections
    # against the backlog (only 4.4BSD's q0 does). A profile that did would need that argument
    # reviewed (tools/mutation.py lists the mutant as equivalent on this premise).
    assert not [name for name, p in PROFILES.items()
                if p.half_open == "reqsk" and p.admit_counts_half_open]


# --- Each half-open request keeps its own timer: three SYNs 0.5 s apart each resend at their
# own 1 s and expire at their own 3 s (synack_retries 1), whichever fires first leaving the
# others as they were (reqsk_timer_handler(); measured by the kernel executor).
STAGGERED = """sysctl("net.ipv4.tcp_synack_retries", 1)
s = socket(AF_INET, SOCK_STREAM)
bind(s)
listen(s, 5)
syn(s)
sleep(0.5)
syn(s)
sleep(0.5)
syn(s)
netstat(s)
sleep(0.2)
netstat(s)
sleep(0.5)
netstat(s)
sleep(1.5)
netstat(s)
sleep(0.6)
netstat(s)
sleep(0.5)
netstat(s)
"""
STAGGERED_QUEUES = ["0/3/5", "0/3/5", "0/3/5", "0/2/5", "0/1/5", "0/0/5"]


def test_staggered_half_open_requests_keep_their_own_timers() -> None:
    assert _netstats(_trace(STAGGERED, "linux")) == STAGGERED_QUEUES


def test_staggered_half_open_requests_keep_their_own_timers_on_this_kernel() -> None:
    assert _netstats(_kernel_trace(STAGGERED)) == STAGGERED_QUEUES


# --- Deferred requests keep their own timers too: of two made 0.5 s apart, the first's deferral
# ends (child made) or it expires (accept queue full) while the second stays, until its own
# time (syn_ack_recalc(); measured by the kernel executor).
TWO_DEFERRED = """u = socket(AF_INET, SOCK_STREAM)
setsockopt(u, TCP_DEFER_ACCEPT, 3)
listen(u, 5)
b1 = socket(AF_INET, SOCK_STREAM)
connect(b1, u)
sleep(0.5)
b2 = socket(AF_INET, SOCK_STREAM)
connect(b2, u)
sleep(0.7)
netstat(u)
sysctl("net.ipv4.tcp_synack_retries", 1)
s = socket(AF_INET, SOCK_STREAM)
setsockopt(s, TCP_DEFER_ACCEPT, 1)
listen(s, 5)
c1 = socket(AF_INET, SOCK_STREAM)
connect(c1, s)
sleep(0.5)
c2 = socket(AF_INET, SOCK_STREAM)
connect(c2, s)
netstat(s)
sleep(0.7)
netstat(s)
sleep(0.5)
netstat(s)
t = socket(AF_INET, SOCK_STREAM)
setsockopt(t, TCP_DEFER_ACCEPT, 1)
listen(t, 1)
d1 = socket(AF_INET, SOCK_STREAM)
connect(d1, t)
sleep(0.5)
d2 = socket(AF_INET, SOCK_STREAM)
connect(d2, t)
e1 = socket(AF_INET, SOCK_STREAM)
connect(e1, t)
send(e1, "a")
e2 = socket(AF_INET, SOCK_STREAM)
connect(e2, t)
send(e2, "b")
netstat(t)
sleep(2.7)
netstat(t)
sleep(0.5)
netstat(t)
"""
TWO_DEFERRED_QUEUES = ["0/2/5", "0/2/5", "1/1/5", "2/0/5", "2/2/1", "2/1/1", "2/0/1"]


def test_two_deferred_requests_keep_their_own_timers() -> None:
    assert _netstats(_trace(TWO_DEFERRED, "linux")) == TWO_DEFERRED_QUEUES


def test_two_deferred_requests_keep_their_own_timers_on_this_kernel() -> None:
    assert _netstats(_kernel_trace(TWO_DEFERRED)) == TWO_DEFERRED_QUEUES


# --- After shutdown(SHUT_RD) a Linux listener's half-open requests still count, each until its
# own expiry (3.0 and 3.5 s here): a listen() again finds them in its request queue, so a SYN
# at 3.2 s finds room for one request and the next gets a cookie (measured by the kernel
# executor; spec/sources/linux-6.18.md).
STALE_SCRIPT = """sysctl("net.ipv4.tcp_synack_retries", 1)
s = socket(AF_INET, SOCK_STREAM)
bind(s)
listen(s, 1)
syn(s)
sleep(0.5)
syn(s)
shutdown(s, SHUT_RD)
listen(s, 1)
syn(s)
counter("SyncookiesSent")
sleep(2.7)
syn(s)
syn(s)
counter("SyncookiesSent")
sleep(0.6)
syn(s)
counter("SyncookiesSent")
"""
STALE_COUNTS = [1, 2, 2]


def test_a_stopped_listeners_requests_count_until_each_expires() -> None:
    assert _counts(_trace(STALE_SCRIPT, "linux")) == STALE_COUNTS


def test_a_stopped_listeners_requests_count_until_each_expires_on_this_kernel() -> None:
    assert _counts(_kernel_trace(STALE_SCRIPT)) == STALE_COUNTS


# Linux's request timer reads tcp_synack_retries at each firing (reqsk_timer_handler()), also
# for a stopped listener's requests: lowered from 2 to 1 after the first shutdown, the kernel
# expires that request at 3.0 s, not 7.0 s (so the two SYNs at 3.2 s give no cookie). Found
# as a divergence at stop 19 (the model then fixed a stopped listener's requests' expiry when
# it stopped: SyncookiesSent 1, 2, 3), kept as a strict xfail until timers.py decided at each
# firing.
STALE_LOWERED = STALE_SCRIPT.replace(
    'listen(s, 1)\nsyn(s)\nsleep(0.5)\nsyn(s)\nshutdown(s, SHUT_RD)\n',
    'listen(s, 1)\nsyn(s)\nshutdown(s, SHUT_RD)\n'
    'sysctl("net.ipv4.tcp_synack_retries", 1)\nlisten(s, 1)\nsyn(s)\nsleep(0.5)\n'
    'shutdown(s, SHUT_RD)\n').replace('tcp_synack_retries", 1)\ns =',
                                      'tcp_synack_retries", 2)\ns =')


def test_a_stopped_listeners_request_expires_by_the_retries_of_each_firing() -> None:
    assert _counts(_trace(STALE_LOWERED, "linux")) == [1, 1, 2]


def test_the_lowered_retries_reproducer_is_what_the_kernel_was_measured_on() -> None:
    assert _counts(_kernel_trace(STALE_LOWERED)) == [1, 1, 2]


# --- Linux prunes old requests while they crowd the request queue (reqsk_timer_handler():
# while qlen << 1 > max(8, sk_max_ack_backlog), each doubling of the never-fired requests,
# counted twice, that qlen still reaches lowers the firing request's retry limit by one, to 2
# at least; rules.reqsk_retries). Four listeners, measured on this kernel:
# - s: six requests on backlog 8 (12 > 8): at their third firing (7.0 s) none is young, so the
#   limit is 2 and the first two expire, after which qlen 4 no longer crowds (8 > 8 is false);
# - t: five on backlog 10 (10 > 10 is false): none pruned, all stay until 63 s;
# - u: seven on backlog 8 and one more at 6.9 s: at 7.0 s qlen 8 and one young (2, 4, 8 <= 8:
#   limit 2) expire the first; then qlen 7 < 8 keeps the limit at 3 for the rest;
# - v: backlog 4 (the sixth SYN gets a cookie): five requests, 10 > max(8, 4): one expires.
CROWDED_SCRIPT = "".join(
    f"{name} = socket(AF_INET, SOCK_STREAM)\nlisten({name}, {backlog})\n" + f"syn({name})\n" * n
    for name, backlog, n in (("s", 8, 6), ("t", 10, 5), ("u", 8, 7), ("v", 4, 6))
) + "".join(f"netstat({n})\n" for n in "stuv") + "sleep(6.9)\nsyn(u)\nsleep(0.9)\n" + "".join(
    f"netstat({n})\n" for n in "stuv")
CROWDED_QUEUES = ["0/6/8", "0/5/10", "0/7/8", "0/5/4", "0/4/8", "0/5/10", "0/7/8", "0/4/4"]


def test_crowding_requests_lower_the_retry_limit() -> None:
    assert _netstats(_trace(CROWDED_SCRIPT, "linux")) == CROWDED_QUEUES


def test_crowding_requests_lower_the_retry_limit_on_this_kernel() -> None:
    assert _netstats(_kernel_trace(CROWDED_SCRIPT)) == CROWDED_QUEUES


@pytest.mark.parametrize(("retries", "qlen", "young", "backlog", "limit"), [
    (5, 6, 6, 8, 5), (5, 6, 3, 8, 4), (5, 6, 1, 8, 3), (5, 6, 0, 8, 2),
    (5, 4, 0, 8, 5), (5, 5, 0, 8, 2), (5, 8, 1, 8, 2), (5, 7, 1, 8, 3),
    (5, 5, 0, 10, 5), (5, 6, 0, 10, 2), (5, 5, 0, 4, 2), (5, 4, 0, 4, 5),
    (2, 9, 0, 8, 2), (1, 9, 0, 8, 1), (0, 9, 0, 8, 0), (255, 20, 1, 8, 251)])
def test_the_retry_limit_of_a_crowded_request_queue(retries: int, qlen: int, young: int,
                                                    backlog: int, limit: int) -> None:
    from listenspec.models import rules

    assert rules.reqsk_retries(retries, qlen, young, backlog) == limit


def test_gvisor_keeps_each_requests_own_retry_limit() -> None:
    # the same script under gvisor: no request is pruned (connect.go retransmitHandlerLocked())
    # (its request queue is full at the backlog: v holds four requests)
    assert _netstats(_trace(CROWDED_SCRIPT, "gvisor"))[4:] == ["0/6/8", "0/5/10", "0/8/8",
                                                               "0/4/4"]


# --- A stopped listener's request goes at its next firing unless the socket listens again
# then (reqsk_timer_handler(): `!= TCP_LISTEN`: drop): stopped with one request and listening
# again only at 1.5 s, after the first firing, the socket finds its request queue empty (two
# requests, no cookie), as a fresh listener would.
STALE_LATE = """s = socket(AF_INET, SOCK_STREAM)
bind(s)
listen(s, 1)
syn(s)
shutdown(s, SHUT_RD)
sleep(1.5)
listen(s, 1)
syn(s)
syn(s)
counter("SyncookiesSent")
"""


def test_a_stopped_listeners_request_goes_at_its_next_firing() -> None:
    assert _counts(_trace(STALE_LATE, "linux")) == [0]


def test_a_stopped_listeners_request_goes_at_its_next_firing_on_this_kernel() -> None:
    assert _counts(_kernel_trace(STALE_LATE)) == [0]


# --- The crowded queue counts every request: TCP_DEFER_ACCEPT-deferred ones (w: three
# deferred, which a deferral of 100 s keeps, and three half-open, of which two expire at 7 s)
# and a stopped listener's (x: six left by shutdown(SHUT_RD), which netstat does not show; two
# expire at 7 s, so after it six new SYNs make one cookie where six left would make three and
# none left none). Measured on this kernel.
CROWDED_MIXED = """\
w = socket(AF_INET, SOCK_STREAM)
setsockopt(w, TCP_DEFER_ACCEPT, 100)
listen(w, 8)
c1 = socket(AF_INET, SOCK_STREAM)
connect(c1, w)
c2 = socket(AF_INET, SOCK_STREAM)
connect(c2, w)
c3 = socket(AF_INET, SOCK_STREAM)
connect(c3, w)
syn(w)
syn(w)
syn(w)
x = socket(AF_INET, SOCK_STREAM)
bind(x)
listen(x, 8)
syn(x)
syn(x)
syn(x)
syn(x)
syn(x)
syn(x)
shutdown(x, SHUT_RD)
listen(x, 8)
netstat(w)
netstat(x)
sleep(7.8)
netstat(w)
counter("SyncookiesSent")
syn(x)
syn(x)
syn(x)
syn(x)
syn(x)
syn(x)
counter("SyncookiesSent")
"""
CROWDED_MIXED_SEEN = ["0/6/8", "0/0/8", "0/4/8", "SyncookiesSent 0", "SyncookiesSent 1"]


def _mixed_seen(trace: list[str]) -> list[str]:
    return _netstats(trace) + [f"SyncookiesSent {n}" for n in _counts(trace)]


def test_the_crowded_queue_counts_deferred_and_stopped_requests() -> None:
    assert _mixed_seen(_trace(CROWDED_MIXED, "linux")) == CROWDED_MIXED_SEEN


def test_the_crowded_queue_counts_deferred_and_stopped_requests_on_this_kernel() -> None:
    assert _mixed_seen(_kernel_trace(CROWDED_MIXED)) == CROWDED_MIXED_SEEN


def _gvisor_trace(text: str) -> list[str]:
    """The script's trace on gVisor's netstack (`--target gvisor`: the kernel executor in a
    runsc sandbox, as tests/test_gvisor.py runs it), skipped where no sandbox can start."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the kernel executor runs on Linux only")
    from listenspec.errors import ListenspecError
    from listenspec.targets.gvisor import GVisorTarget, gvisor_problem

    if (problem := gvisor_problem()) is not None:
        pytest.skip(f"no gVisor sandbox: {problem}")
    script = parse(text)
    stack = GVisorTarget()
    try:
        try:
            stack.describe()  # the handshake: the sandbox started and the executor answers
        except ListenspecError as exc:
            pytest.skip(f"runsc cannot start a sandbox here: {exc}")
        results = stack.run(script)
    finally:
        stack.close()
    return [f"{s.text} = {render(r)}" for s, r in zip(script.steps, results, strict=True)]


# --- A connect() gives an AF_UNIX client no name (host._arrive() and _dgram(): only an inet
# socket takes a port): a socket that aims at such a client aims at a family-only address,
# EINVAL (unix_validate_addr(); unp_connectat(): no path), for a stream client that reached a
# listener and for a datagram client that recorded its peer. (Linux autobinds a connecting
# AF_UNIX socket only with SO_PASSCRED, which no script sets.) The same on this kernel and
# on gVisor. The host.py mutants `tcp or client.addr is None` (_arrive) and
# `client.domain != "AF_UNIX" or client.addr is None` (_dgram) named the client.
UNIX_UNNAMED = """l = socket(AF_UNIX, SOCK_STREAM)
bind(l)
listen(l, 2)
c = socket(AF_UNIX, SOCK_STREAM)
connect(c, l)
x = socket(AF_UNIX, SOCK_STREAM)
connect(x, c)
v = socket(AF_UNIX, SOCK_DGRAM)
bind(v)
u = socket(AF_UNIX, SOCK_DGRAM)
connect(u, v)
w = socket(AF_UNIX, SOCK_DGRAM)
connect(w, u)
"""
UNIX_UNNAMED_SEEN = ["0", "-1 EINVAL", "0", "-1 EINVAL"]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_a_connect_gives_an_unix_client_no_name(profile: str) -> None:
    assert _seen(_trace(UNIX_UNNAMED, profile), "connect(") == UNIX_UNNAMED_SEEN


def test_a_connect_gives_an_unix_client_no_name_on_this_kernel() -> None:
    assert _seen(_kernel_trace(UNIX_UNNAMED), "connect(") == UNIX_UNNAMED_SEEN


def test_a_connect_gives_an_unix_client_no_name_on_the_gvisor_kernel() -> None:
    assert _seen(_gvisor_trace(UNIX_UNNAMED), "connect(") == UNIX_UNNAMED_SEEN


# --- close() of a descriptor that is not a socket (open()) closes it: 0, then EBADF (host.close:
# a file has no socket to tear down; the mutant `sock is None and ...` crashed there). The
# same on this kernel and on gVisor.
CLOSE_FILE = "f = open()\nclose(f)\nclose(f)\n"
CLOSE_FILE_SEEN = ["0", "-1 EBADF"]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_closing_a_file_closes_it(profile: str) -> None:
    assert _seen(_trace(CLOSE_FILE, profile), "close(") == CLOSE_FILE_SEEN


def test_closing_a_file_closes_it_on_this_kernel() -> None:
    assert _seen(_kernel_trace(CLOSE_FILE), "close(") == CLOSE_FILE_SEEN


def test_closing_a_file_closes_it_on_the_gvisor_kernel() -> None:
    assert _seen(_gvisor_trace(CLOSE_FILE), "close(") == CLOSE_FILE_SEEN


# --- Premises of the EQUIVALENT entries for host.py's _keep_peer_family() and _dgram(): the
# peer's family and address a connect records (Socket.peer_family, dgram_peer) are read only
# by local_family() (called by connect's rows for profile.local_family_errno and
# v6_pinned_errno), host._keep_peer_family() itself, and the connect row for
# profile.dgram_reconnect_same; and a profile sets all three parameters or none (gVisor).
def _reads_of(names: set[str]) -> set[tuple[str, str, str]]:
    """(file, where, name) for each read of an attribute (or call of a function) in `names`
    in models/: where is the enclosing function, or at module level the connect row (its
    `then`) whose test reads it."""
    import ast

    found: set[tuple[str, str, str]] = set()

    def visit(node: ast.AST, where: str, path: Path) -> None:
        for child in ast.iter_child_nodes(node):
            here = where
            if isinstance(child, ast.FunctionDef):
                here = child.name
            elif (where.startswith("<module>") and isinstance(child, ast.Call)
                  and isinstance(child.func, ast.Name) and child.func.id == "Check"
                  and len(child.args) > 2 and isinstance(child.args[2], ast.Constant)):
                here = f"<module> row {child.args[2].value}"
            if isinstance(child, ast.Attribute) and child.attr in names \
                    and isinstance(child.ctx, ast.Load):
                found.add((path.name, here, child.attr))
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Name) \
                    and child.func.id in names:
                found.add((path.name, here, child.func.id))
            visit(child, here, path)

    for path in sorted((ROOT / "models").glob("*.py")):
        visit(ast.parse(path.read_text()), "<module>", path)
    return found


def test_a_recorded_peer_family_is_read_only_where_gvisor_s_parameters_ask() -> None:
    assert _reads_of({"peer_family", "dgram_peer", "local_family"}) == {
        ("host.py", "_keep_peer_family", "peer_family"),
        ("tables.py", "local_family", "peer_family"),
        ("tables.py", "_local_mismatch", "local_family"),
        ("tables.py", "_pinned_elsewhere", "local_family"),
        ("tables.py", "<module> row profile.dgram_reconnect_same", "peer_family"),
        ("tables.py", "<module> row profile.dgram_reconnect_same", "dgram_peer"),
    }
    # and the rows that call _local_mismatch and _pinned_elsewhere are made only by the
    # profiles with local_family_errno and v6_pinned_errno
    from listenspec.models.tables import checks

    for name, p in PROFILES.items():
        rows = {row.then for row in checks("connect", p)}
        assert ("local-family" in rows) == bool(p.local_family_errno), name
        assert ("profile.v6_pinned_errno" in rows) == (p.v6_pinned_errno is not None), name
        assert ("profile.dgram_reconnect_same" in rows) == \
            (p.dgram_reconnect_same is not None), name


def test_a_profile_sets_all_of_gvisor_s_peer_family_parameters_or_none() -> None:
    sets = {name: (bool(p.local_family_errno), p.v6_pinned_errno is not None,
                   p.dgram_reconnect_same is not None) for name, p in PROFILES.items()}
    assert any(any(s) for s in sets.values())  # gVisor sets them
    assert all(all(s) == any(s) for s in sets.values()), sets


# --- Premise of the EQUIVALENT entry for host.accept()'s `server.peer is not None and client
# is not None`: accept() finds the head entry's client alive but not queued on the listener
# only after that client closed its side while queued, which takes a Linux listener shut for
# sending (profile.child_inherits_shut_wr: the child's FIN reaches the client at once, and
# the client's own FIN ends it, dataplane._closed()). That client is DISCONNECTED and shut both
# ways, and every call that would read its peer is refused first, on this kernel as in the
# model: send() EPIPE, shutdown() ENOTCONN, connect() EISCONN, and close() tells nobody.
CLOSED_WHILE_QUEUED = """s = socket(AF_INET, SOCK_STREAM)
shutdown(s, SHUT_WR)
listen(s, 4)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
shutdown(c, SHUT_WR)
a = accept(s)
send(c, "x")
shutdown(c, SHUT_RDWR)
t = socket(AF_INET, SOCK_STREAM)
listen(t, 4)
connect(c, t)
close(c)
recv(a)
send(a, "y")
"""
CLOSED_WHILE_QUEUED_TAIL = ["fd", "-1 EPIPE", "-1 ENOTCONN", "fd", "0", "-1 EISCONN", "0", "0",
                            "-1 EPIPE"]


def test_a_client_closed_while_queued_is_refused_every_call_that_reads_its_peer() -> None:
    from listenspec.models.state import BOTH, SockState
    from listenspec.runner import ModelRun

    script = parse(CLOSED_WHILE_QUEUED)
    run = ModelRun(PROFILES["linux"])
    for step in script.steps[:6]:
        run.step(step)
    h = run.state
    lsock = h.socks[h.fds[run.names["s"].fd]]
    assert lsock.listener is not None
    client = h.socks[lsock.listener.comp[0].client]  # alive, but no longer queued on s
    assert (client.queued_on, client.state, client.shut) == (None, SockState.DISCONNECTED, BOTH)
    assert _results(_trace(CLOSED_WHILE_QUEUED, "linux"))[6:] == CLOSED_WHILE_QUEUED_TAIL


def test_a_client_closed_while_queued_is_refused_every_call_that_reads_its_peer_on_this_kernel(
        ) -> None:
    assert _results(_kernel_trace(CLOSED_WHILE_QUEUED))[6:] == CLOSED_WHILE_QUEUED_TAIL


# --- A Linux listener shut for sending makes its children shut for sending, and a child sends
# its FIN when it is made: at the handshake (host._arrive()), and also when a request sock
# becomes one (dataplane.child_made()): the listener's deferral ended by the client's data,
# by the SYN-ACK retransmission it answers, or by its FIN (then the client, which sent its
# own first, is over: POLLHUP, EPIPE, and its TIME_WAIT keeps the port), or the final ACK a
# TCP_DEFER_ACCEPT client held (200 ms). Until then the client reads nothing (EAGAIN).
# Found triaging host.py's mutant 332:65 (`not _holds_ack(...)` dropped): the model gave a
# request sock's child no FIN (recv() EAGAIN where this kernel reads the end of file); fixed.
CHILD_FIN = """s = socket(AF_INET, SOCK_STREAM)
shutdown(s, SHUT_WR)
setsockopt(s, TCP_DEFER_ACCEPT, 5)
listen(s, 4)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
recv(c)
send(c, "x")
sleep(0.1)
netstat(s)
recv(c)
t = socket(AF_INET, SOCK_STREAM)
shutdown(t, SHUT_WR)
listen(t, 4)
d = socket(AF_INET, SOCK_STREAM)
setsockopt(d, TCP_DEFER_ACCEPT, 1)
connect(d, t)
netstat(t)
recv(d)
sleep(0.3)
netstat(t)
recv(d)
u = socket(AF_INET, SOCK_STREAM)
shutdown(u, SHUT_WR)
setsockopt(u, TCP_DEFER_ACCEPT, 1)
listen(u, 4)
e = socket(AF_INET, SOCK_STREAM)
connect(e, u)
recv(e)
sleep(3.5)
netstat(u)
recv(e)
v = socket(AF_INET, SOCK_STREAM)
shutdown(v, SHUT_WR)
setsockopt(v, TCP_DEFER_ACCEPT, 5)
listen(v, 4)
f = socket(AF_INET, SOCK_STREAM)
connect(f, v)
shutdown(f, SHUT_WR)
sleep(0.1)
netstat(v)
recv(f)
poll(f)
send(f, "y")
close(f)
x = socket(AF_INET, SOCK_STREAM)
bind(x, f)
"""
CHILD_FIN_SEEN = ["-1 EAGAIN", "1", "1/0/4", "0",  # s: the data ends the deferral
                  "0/1/4", "-1 EAGAIN", "1/0/4", "0",  # t: the held ACK comes
                  "-1 EAGAIN", "1/0/4", "0",  # u: the retransmission's answer
                  "1/0/4", "0", "POLLIN|POLLOUT|POLLHUP|POLLRDHUP", "-1 EPIPE",  # v: a FIN
                  "-1 EADDRINUSE"]


def _child_fin_seen(trace: list[str]) -> list[str]:
    return _seen(trace, "recv(", "netstat(", "poll(", "send(", "bind(")


def test_a_request_socks_child_of_a_listener_shut_for_sending_sends_its_fin() -> None:
    assert _child_fin_seen(_trace(CHILD_FIN, "linux")) == CHILD_FIN_SEEN


def test_a_request_socks_child_of_a_listener_shut_for_sending_sends_its_fin_on_this_kernel(
        ) -> None:
    assert _child_fin_seen(_kernel_trace(CHILD_FIN)) == CHILD_FIN_SEEN


# --- ... and only a child sends it: on backlog 0, c1 waits as a deferred request, c2's SYN
# meets the full request queue and its cookie makes a child at once (with its FIN), so c1's
# data meets a full accept queue and is dropped (ListenOverflows): no child, no FIN, c1 reads
# nothing (dataplane.feed()'s `made`; the mutant `made = True` sent the FIN anyway).
NO_CHILD_NO_FIN = """s = socket(AF_INET, SOCK_STREAM)
shutdown(s, SHUT_WR)
setsockopt(s, TCP_DEFER_ACCEPT, 4)
listen(s, 0)
c1 = socket(AF_INET, SOCK_STREAM)
connect(c1, s)
netstat(s)
c2 = socket(AF_INET, SOCK_STREAM)
connect(c2, s)
netstat(s)
send(c1, "a")
sleep(0.05)
netstat(s)
counter("ListenOverflows")
recv(c1)
recv(c2)
"""
NO_CHILD_NO_FIN_SEEN = ["0/1/0", "1/1/0", "1/1/0", "1", "-1 EAGAIN", "0"]


def _no_child_seen(trace: list[str]) -> list[str]:
    return _seen(trace, "netstat(", "counter(", "recv(")


def test_a_request_sock_whose_segment_is_dropped_sends_no_fin() -> None:
    assert _no_child_seen(_trace(NO_CHILD_NO_FIN, "linux")) == NO_CHILD_NO_FIN_SEEN


def test_a_request_sock_whose_segment_is_dropped_sends_no_fin_on_this_kernel() -> None:
    assert _no_child_seen(_kernel_trace(NO_CHILD_NO_FIN)) == NO_CHILD_NO_FIN_SEEN


# --- Linux: an AF_UNIX socket shut for reading before listen() listens refusing (sk_shutdown
# stays: unix_stream_connect() ECONNREFUSED; profile.unix_listener_shut_refuses), where a TCP
# one shut so (ENOTCONN, the direction marked) takes connections (host.listen()'s `refusing`:
# the mutant `sock.domain != "AF_UNIX"` swapped the two). The same on this kernel.
SHUT_RD_FIRST = """u = socket(AF_UNIX, SOCK_STREAM)
bind(u)
shutdown(u, SHUT_RD)
listen(u, 4)
d = socket(AF_UNIX, SOCK_STREAM)
connect(d, u)
s = socket(AF_INET, SOCK_STREAM)
shutdown(s, SHUT_RD)
listen(s, 4)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
netstat(s)
"""
SHUT_RD_FIRST_SEEN = ["0", "-1 ECONNREFUSED", "-1 ENOTCONN", "0", "1/0/4"]


def test_an_unix_socket_shut_for_reading_before_listen_refuses_and_a_tcp_one_does_not() -> None:
    assert _seen(_trace(SHUT_RD_FIRST, "linux"), "shutdown(", "connect(", "netstat(") == \
        SHUT_RD_FIRST_SEEN


def test_an_unix_socket_shut_for_reading_before_listen_refuses_on_this_kernel() -> None:
    assert _seen(_kernel_trace(SHUT_RD_FIRST), "shutdown(", "connect(", "netstat(") == \
        SHUT_RD_FIRST_SEEN


def test_bind_joins_only_a_target_with_an_address() -> None:
    # premise of the EQUIVALENT entry for host.bind()'s assert (`target is not None and
    # target.addr is not None`): on every profile the "-> wildcard" row, which takes each
    # target without an address, comes before the "-> join" row, which needs a target
    from listenspec.models.tables import checks

    for name, p in PROFILES.items():
        thens = [row.then for row in checks("bind", p)]
        assert "-> wildcard" in thens and thens.index("-> wildcard") < thens.index("-> join"), \
            name


# --- Premises of the EQUIVALENT entries for `sent_syn=True` in host._self_connect(),
# _refused_dead() and _refused_drop(): Socket.sent_syn is read only by listen()'s row for
# profile.listen_once_connected, which comes after the row that refuses a connected or reset
# socket (or one with a pending connect); no profile whose refused connect drops the socket
# (refused_drops) has that row; a gVisor socket a refusal closed for good stays so, and a
# self-connected socket stays connected until its own FIN, then reset for good: each listen()
# of them is refused by its state first (EINVAL), in the model, on this kernel and on gVisor.
SENT_SYN_SCRIPTS = {"self": """s = socket(AF_INET, SOCK_STREAM)
bind(s)
connect(s, s)
listen(s, 1)
connect(s, s)
listen(s, 1)
shutdown(s, SHUT_RDWR)
listen(s, 1)
connect(s, s)
listen(s, 1)
t = socket(AF_INET, SOCK_STREAM)
bind(t)
connect(t, t)
shutdown(t, SHUT_WR)
listen(t, 1)
recv(t)
listen(t, 1)
""", "refused": """l = socket(AF_INET, SOCK_STREAM)
bind(l)
c = socket(AF_INET, SOCK_STREAM)
connect(c, l)
listen(c, 1)
connect(c, l)
listen(c, 1)
shutdown(c, SHUT_RDWR)
listen(c, 1)
bind(c)
listen(c, 1)
"""}


def test_sent_syn_is_read_only_past_the_row_for_connected_and_reset_sockets() -> None:
    from listenspec.models.tables import checks

    assert _reads_of({"sent_syn"}) == {("tables.py", "<module> row profile.listen_once_connected",
                                        "sent_syn")}
    for name, p in PROFILES.items():
        thens = [row.then for row in checks("listen", p)]
        if "profile.listen_once_connected" in thens:
            assert not p.refused_drops, name
            assert thens.index("profile.listen_connected") < \
                thens.index("profile.listen_once_connected"), name


@pytest.mark.parametrize(("script", "profile"), [("self", "linux"), ("self", "gvisor"),
                                                 ("refused", "gvisor")])
def test_a_self_connected_or_dead_socket_never_listens(script: str, profile: str) -> None:
    assert set(_seen(_trace(SENT_SYN_SCRIPTS[script], profile), "listen(")) == {"-1 EINVAL"}


def test_a_self_connected_socket_never_listens_on_this_kernel() -> None:
    assert set(_seen(_kernel_trace(SENT_SYN_SCRIPTS["self"]), "listen(")) == {"-1 EINVAL"}


@pytest.mark.parametrize("script", ["self", "refused"])
def test_a_self_connected_or_dead_socket_never_listens_on_the_gvisor_kernel(script: str) -> None:
    assert set(_seen(_gvisor_trace(SENT_SYN_SCRIPTS[script]), "listen(")) == {"-1 EINVAL"}


# --- Premise of the EQUIVALENT entry for host.syn()'s `d.answered and p.half_open == "reqsk"`:
# only profiles with Linux request socks count a cookie SYN-ACK (a "cookie-sent" counter), so
# the mutant's `or` bumps no counter elsewhere (and on them a SYN neither dropped, overflowed
# nor stored was answered, with a cookie).
# --- A stopped listener's half-open requests count against its request queue when a
# connect() arrives after it listens again (host._arrive(): `half_open + len(lsock.stale)`;
# the mutant subtracted them): three of them on backlog 2 fill it, so the client's SYN is
# answered with a cookie. The same on this kernel.
STALE_CONNECT = """s = socket(AF_INET, SOCK_STREAM)
bind(s)
listen(s, 4)
syn(s)
syn(s)
syn(s)
shutdown(s, SHUT_RD)
listen(s, 2)
counter("SyncookiesSent")
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
counter("SyncookiesSent")
netstat(s)
"""
STALE_CONNECT_SEEN = ["0", "0", "1", "1/0/2"]


def test_a_stopped_listeners_requests_count_when_a_client_connects() -> None:
    assert _seen(_trace(STALE_CONNECT, "linux"), "counter(", "connect(", "netstat(") == \
        STALE_CONNECT_SEEN


def test_a_stopped_listeners_requests_count_when_a_client_connects_on_this_kernel() -> None:
    assert _seen(_kernel_trace(STALE_CONNECT), "counter(", "connect(", "netstat(") == \
        STALE_CONNECT_SEEN


# --- Premise of the EQUIVALENT entry for host._end_connect()'s `peer_gone=False`: the socket
# it leaves (a Linux connect() reported the reset) is unconnected, so send() refuses it
# (EPIPE) before deliver() reads peer_gone, and once it connects again the ways it loses its
# peer set peer_gone anew (the peer's close: the first send draws the RST, then EPIPE). The
# same on this kernel.
RESET_REPORTED = """s = socket(AF_INET, SOCK_STREAM)
listen(s, 4)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
close(s)
t = socket(AF_INET, SOCK_STREAM)
listen(t, 4)
connect(c, t)
send(c, "q")
connect(c, t)
a = accept(t)
close(a)
recv(c)
send(c, "y")
send(c, "z")
"""
RESET_REPORTED_TAIL = ["-1 ECONNRESET", "-1 EPIPE", "0", "fd", "0", "0", "1", "-1 EPIPE"]


def test_a_socket_whose_reset_connect_reported_sends_only_once_reconnected() -> None:
    assert _results(_trace(RESET_REPORTED, "linux"))[7:] == RESET_REPORTED_TAIL


def test_a_socket_whose_reset_connect_reported_sends_only_once_reconnected_on_this_kernel(
        ) -> None:
    assert _results(_kernel_trace(RESET_REPORTED))[7:] == RESET_REPORTED_TAIL


# --- FreeBSD with net.inet.tcp.syncache.rst_on_sock_fail=0: a connection the full queue could
# not take is established for its client and unknown to the listener (spec/sources/freebsd.md
# via reference/freebsd.md §6: the final ACK finds the syncache entry gone), so the client's
# data draws an RST (host._unqueued()'s `peer_gone=True`; the mutant left the client waiting).
UNQUEUED = """sysctl("net.inet.tcp.syncache.rst_on_sock_fail", 0)
s = socket(AF_INET, SOCK_STREAM)
listen(s, 0)
c1 = socket(AF_INET, SOCK_STREAM)
connect(c1, s)
c2 = socket(AF_INET, SOCK_STREAM)
connect(c2, s)
send(c2, "x")
recv(c2)
send(c2, "y")
"""


@pytest.mark.parametrize("profile", ["freebsd-src", "freebsd-main"])
def test_an_unqueued_freebsd_client_is_reset_when_it_sends(profile: str) -> None:
    assert _results(_trace(UNQUEUED, profile))[-4:] == ["0", "1", "-1 ECONNRESET", "-1 EPIPE"]


# --- An AF_UNIX listener's full queue is no TCP overflow: Linux counts nothing in
# ListenOverflows (host._unix_overflow(): `overflow(..., tcp=False)`). The same on this kernel.
UNIX_OVERFLOW = """u = socket(AF_UNIX, SOCK_STREAM)
bind(u)
listen(u, 0)
d1 = socket(AF_UNIX, SOCK_STREAM)
connect(d1, u)
d2 = socket(AF_UNIX, SOCK_STREAM)
connect(d2, u)
d3 = socket(AF_UNIX, SOCK_STREAM)
connect(d3, u)
counter("ListenOverflows")
"""
UNIX_OVERFLOW_SEEN = ["0", "-1 EAGAIN", "-1 EAGAIN", "0"]


def test_an_unix_overflow_is_no_listen_overflow() -> None:
    assert _seen(_trace(UNIX_OVERFLOW, "linux"), "connect(", "counter(") == UNIX_OVERFLOW_SEEN


def test_an_unix_overflow_is_no_listen_overflow_on_this_kernel() -> None:
    assert _seen(_kernel_trace(UNIX_OVERFLOW), "connect(", "counter(") == UNIX_OVERFLOW_SEEN


# --- FreeBSD: an accepted socket copies its listener's options (solisten_clone():
# so_options), so a listener without SO_REUSEPORT_LB makes children without it
# (host.accept()'s `reuseport_lb=lsock.reuseport_lb and inherits`; the mutant set it).
@pytest.mark.parametrize("profile", ["freebsd-src", "freebsd-main"])
def test_an_accepted_socket_has_so_reuseport_lb_only_from_its_listener(profile: str) -> None:
    text = ("s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 1)\nc = socket(AF_INET, SOCK_STREAM)\n"
            "connect(c, s)\na = accept(s)\ngetsockopt(a, SO_REUSEPORT_LB)\n")
    assert _results(_trace(text, profile))[-1] == "0"


# --- A socket that joins a SO_REUSEPORT address by bind(S, T) is bound to T's address, a
# specific one (127.0.0.1), not the wildcard (host.bind()'s `join(..., wildcard=False)`): the
# SYN-flood line names 127.0.0.1 (the mutant printed 0.0.0.0). The same on this kernel.
JOINED_LOG = """s = socket(AF_INET, SOCK_STREAM)
setsockopt(s, SO_REUSEPORT, 1)
bind(s)
t = socket(AF_INET, SOCK_STREAM)
setsockopt(t, SO_REUSEPORT, 1)
bind(t, s)
listen(t, 1)
syn(t)
syn(t)
syn(t)
syslog()
"""


def _logged_address(trace: list[str]) -> str:
    line = _results(trace)[-1]
    found = re.search(r"on port ([0-9.]+):", line)
    assert found is not None, line
    return found.group(1)


def test_a_joined_socket_is_bound_to_its_targets_address() -> None:
    assert _logged_address(_trace(JOINED_LOG, "linux")) == "127.0.0.1"


def test_a_joined_socket_is_bound_to_its_targets_address_on_this_kernel() -> None:
    assert _logged_address(_kernel_trace(JOINED_LOG)) == "127.0.0.1"


# --- Premise of the EQUIVALENT entry for host._dgram()'s `take_port(..., wildcard=True)`: on
# the profiles that read a datagram socket's wildcard (dgram_v6_takes_v4's connect row, and
# gVisor's local_family()) connect() binds an unbound UDP socket by an earlier row
# (dgram_send_autobinds), so _dgram() never takes a port for one there.
def test_connect_binds_an_unbound_udp_socket_before_dgram_where_its_wildcard_is_read() -> None:
    from listenspec.models.tables import checks

    for name, p in PROFILES.items():
        if not (p.dgram_v6_takes_v4 or p.local_family_errno or p.v6_pinned_errno):
            continue
        rows = [(row.then, row.effect) for row in checks("connect", p)]
        assert p.dgram_send_autobinds, name
        assert rows.index(("", "autobind")) < rows.index(("-> dgram", None)), name


# --- A divergence found triaging host.py's 250:51, not fixed: on this kernel an AF_INET6 UDP
# socket that connected to an IPv4 address (v4-mapped) has a v4-mapped local address, and a
# connect() to ::1 is then EAFNOSUPPORT; the model gives 0 (it has the other direction only:
# profile.dgram_v6_takes_v4, bound to ::1 and aiming at IPv4).
V4_THEN_V6 = """l4 = socket(AF_INET, SOCK_DGRAM)
bind(l4)
l6 = socket(AF_INET6, SOCK_DGRAM)
bind(l6)
x = socket(AF_INET6, SOCK_DGRAM)
connect(x, l4)
connect(x, l6)
connect(x, l4)
"""
V4_THEN_V6_SEEN = ["0", "-1 EAFNOSUPPORT", "0"]


@pytest.mark.xfail(strict=True, reason="divergence: the model has no v4-mapped local address "
                   "for an AF_INET6 UDP socket that connected to IPv4")
def test_an_inet6_udp_socket_connected_to_ipv4_cannot_connect_to_ipv6() -> None:
    assert _seen(_trace(V4_THEN_V6, "linux"), "connect(x") == V4_THEN_V6_SEEN


def test_an_inet6_udp_socket_connected_to_ipv4_cannot_connect_to_ipv6_on_this_kernel() -> None:
    assert _seen(_kernel_trace(V4_THEN_V6), "connect(x") == V4_THEN_V6_SEEN


def test_only_request_sock_profiles_count_cookies_sent() -> None:
    counting = {name for name, p in PROFILES.items() if p.bumps("cookie-sent")}
    assert counting and all(PROFILES[name].half_open == "reqsk" for name in counting)


ROOT = Path(__file__).resolve().parent.parent


def _driver() -> Any:
    """tools/mutation.py, loaded as a module (tools/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("mutation_driver", ROOT / "tools/mutation.py")
    assert spec is not None and spec.loader is not None
    driver = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(driver)
    return driver


def test_every_mutant_argued_equivalent_is_one_the_driver_makes() -> None:
    # EQUIVALENT names mutants by line:column: an edit that moves a line must move its entry
    # too, or the argument would silently stop applying (and a new mutant there go unargued)
    driver, root = _driver(), ROOT
    made = {(f, d) for f in {f for f, _ in driver.EQUIVALENT}
            for d in driver.mutants((root / f).read_text())}
    assert sorted(set(driver.EQUIVALENT) - made) == []


def test_only_an_assertions_and_made_or_is_equivalent_by_rule() -> None:
    driver = _driver()
    source = ("def f(a, b):\n    assert a and b\n    assert a or b\n    assert not (a and b)\n"
              "    x = a and b\n    assert a and (b and a), 'why'\n    return x\n")
    assert sorted(driver.weakened_assertions(source)) == ["line 2:12: and -> or",
                                                          "line 6:12: and -> or"]
    assert set(driver.weakened_assertions(source)) <= set(driver.mutants(source))


# --- shutdown(SHUT_RD) leaves a TCP_DEFER_ACCEPT-deferred request sock in place as it leaves a
# half-open one (inet_csk_listen_stop() empties only the accept queue), so once the socket
# listens again the client's data completes the handshake and the child is queued on the new
# listener (netstat 1/0/5, accept() a descriptor, the client unharmed); netstat does not count
# the request before (it waits on the old port). Found at stop 20 as a divergence (the model
# gave the client up at the shutdown: its data drew an RST) and fixed the same stop
# (Socket.stale_requests). Measured on this kernel.
DEFERRED_STOPPED = """s = socket(AF_INET, SOCK_STREAM)
bind(s)
setsockopt(s, TCP_DEFER_ACCEPT, 5)
listen(s, 5)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
shutdown(s, SHUT_RD)
poll(c)
listen(s, 5)
netstat(s)
send(c, "x")
sleep(0.1)
netstat(s)
poll(c)
a = accept(s)
recv(c)
"""
DEFERRED_STOPPED_TAIL = ["netstat(s) = 0/0/5", 'send(c, "x") = 1', "sleep(0.1) = 0",
                         "netstat(s) = 1/0/5", "poll(c) = POLLOUT", "a = accept(s) = fd",
                         "recv(c) = -1 EAGAIN"]


def test_a_deferred_request_outlives_shutdown_and_completes_on_the_next_listener() -> None:
    assert _trace(DEFERRED_STOPPED, "linux")[-7:] == DEFERRED_STOPPED_TAIL


def test_the_deferred_stopped_reproducer_is_what_the_kernel_was_measured_on() -> None:
    assert _kernel_trace(DEFERRED_STOPPED)[-7:] == DEFERRED_STOPPED_TAIL


# --- A deferred request whose client's data was dropped on a full accept queue, left behind by
# shutdown(SHUT_RD): the client sends the data again 0.2 s on (its loss probe), before the
# request's own timer (1 s), and that segment finds no listener: an RST, so the client is reset
# by 0.45 s. Later its recv() reads the end. Kills timers.py's mutant of _next_due() that never
# picked the stale request's resend (line 60:32, `or` made `and`): the timer at 1 s then drops
# the request unanswered and the client learns nothing by 0.45 s. Measured on this kernel.
STALE_RESEND = """s = socket(AF_INET, SOCK_STREAM)
bind(s)
setsockopt(s, TCP_DEFER_ACCEPT, 5)
listen(s, 0)
c2 = socket(AF_INET, SOCK_STREAM)
connect(c2, s)
c1 = socket(AF_INET, SOCK_STREAM)
connect(c1, s)
send(c1, "a")
sleep(0.05)
send(c2, "b")
sleep(0.05)
netstat(s)
shutdown(s, SHUT_RD)
poll(c2)
sleep(0.35)
poll(c2)
recv(c2)
sleep(1.5)
recv(c2)
"""
STALE_RESEND_TAIL = ["netstat(s) = 1/1/0", "shutdown(s, SHUT_RD) = 0", "poll(c2) = POLLOUT",
                     "sleep(0.35) = 0", "poll(c2) = POLLIN|POLLOUT|POLLERR|POLLHUP|POLLRDHUP",
                     "recv(c2) = -1 ECONNRESET", "sleep(1.5) = 0", "recv(c2) = 0"]


def test_a_stale_requests_client_resending_is_reset_before_the_requests_timer() -> None:
    assert _trace(STALE_RESEND, "linux")[-8:] == STALE_RESEND_TAIL


def test_the_stale_resend_reproducer_is_what_the_kernel_does() -> None:
    assert _kernel_trace(STALE_RESEND)[-8:] == STALE_RESEND_TAIL


# --- The SYN queue's sysctls without syncookies (spec/sources/linux-6.18.md §9.3, §9.4): a
# bare SYN is dropped for tcp_max_syn_backlog's last quarter (8 - 7 < 8 >> 2: the eighth;
# ListenDrops only), for a full request queue (more than the backlog: ListenDrops and
# TCPReqQFullDrop), and for a full accept queue (ListenOverflows and ListenDrops, with
# syncookies on or off). Measured on this kernel; the counters are cumulative over the run.
SYN_QUEUE_SCRIPT = "\n".join([
    'sysctl("net.ipv4.tcp_syncookies", 0)', 'sysctl("net.ipv4.tcp_max_syn_backlog", 8)',
    's = socket(AF_INET, SOCK_STREAM)', 'listen(s, 64)', *['syn(s)'] * 9, 'netstat(s)',
    'counter("ListenDrops")', 'counter("TCPReqQFullDrop")',
    'sysctl("net.ipv4.tcp_max_syn_backlog", 128)', 't = socket(AF_INET, SOCK_STREAM)',
    'listen(t, 4)', *['syn(t)'] * 7, 'netstat(t)', 'counter("ListenDrops")',
    'counter("TCPReqQFullDrop")',
    'u = socket(AF_INET, SOCK_STREAM)', 'listen(u, 0)', 'c = socket(AF_INET, SOCK_STREAM)',
    'connect(c, u)', 'syn(u)', 'netstat(u)', 'counter("ListenOverflows")',
    'counter("ListenDrops")', 'sysctl("net.ipv4.tcp_syncookies", 1)', 'syn(u)',
    'counter("ListenOverflows")', 'counter("ListenDrops")']) + "\n"
SYN_QUEUE_SEEN = ["0"] * 7 + ["-1 EINPROGRESS"] * 2 + ["0/7/64", "2", "0"] + ["0"] * 5 + [
    "-1 EINPROGRESS"] * 2 + ["0/5/4", "4", "2", "-1 EINPROGRESS", "1/0/0", "1", "5",
                             "-1 EINPROGRESS", "2", "6"]


def _syn_queue_seen(trace: list[str]) -> list[str]:
    return _seen(trace, "syn(", "netstat(", "counter(")


def test_the_syn_queue_sysctls_without_syncookies() -> None:
    assert _syn_queue_seen(_trace(SYN_QUEUE_SCRIPT, "linux")) == SYN_QUEUE_SEEN


def test_the_syn_queue_sysctls_without_syncookies_on_this_kernel() -> None:
    assert _syn_queue_seen(_kernel_trace(SYN_QUEUE_SCRIPT)) == SYN_QUEUE_SEEN


# --- A connecting peer meets tcp_max_syn_backlog's last quarter too (tcp_conn_request(); with
# syncookies 0): eight TCP_DEFER_ACCEPT clients, so that each stays a request, on a limit of 8:
# the eighth SYN is dropped (ListenDrops; the executor abandons that connect), and so is a bare
# SYN after it. Also after a connection that exchanged data and closed: the kernel executor
# keeps no TCP metrics, so no peer is ever proven alive (found while writing the tests above:
# with metrics, that one connection exempted every later 127.0.0.1 client). And a SYN that
# finds both queues full with syncookies on goes by cookie, then meets the full accept queue:
# dropped as an overflow (ListenOverflows), not answered. Measured on this kernel.
QUARTER_SCRIPT = "\n".join([
    't = socket(AF_INET, SOCK_STREAM)', 'listen(t, 5)', 'x = socket(AF_INET, SOCK_STREAM)',
    'connect(x, t)', 'a = accept(t)', 'send(x, "hi")', 'recv(a)', 'close(x)', 'close(a)',
    'sysctl("net.ipv4.tcp_syncookies", 0)', 'sysctl("net.ipv4.tcp_max_syn_backlog", 8)',
    'w = socket(AF_INET, SOCK_STREAM)', 'setsockopt(w, TCP_DEFER_ACCEPT, 30)', 'listen(w, 64)',
    *(f'c{i} = socket(AF_INET, SOCK_STREAM)\nconnect(c{i}, w)' for i in range(8)),
    'netstat(w)', 'counter("ListenDrops")', 'syn(w)', 'counter("ListenDrops")',
    'sysctl("net.ipv4.tcp_syncookies", 1)', 'u = socket(AF_INET, SOCK_STREAM)', 'listen(u, 0)',
    'syn(u)', 'd = socket(AF_INET, SOCK_STREAM)', 'connect(d, u)', 'syn(u)', 'netstat(u)',
    'counter("ListenOverflows")', 'counter("SyncookiesSent")']) + "\n"
QUARTER_SEEN = ["0"] * 7 + ["-1 EINPROGRESS", "0/7/64", "1", "-1 EINPROGRESS", "2", "0", "0",
                            "-1 EINPROGRESS", "1/1/0", "1", "1"]


def _quarter_seen(trace: list[str]) -> list[str]:
    return _seen(trace, "connect(c", "connect(d", "syn(", "netstat(", "counter(")


def test_a_connecting_peer_meets_the_last_quarter() -> None:
    assert _quarter_seen(_trace(QUARTER_SCRIPT, "linux")) == QUARTER_SEEN


def test_a_connecting_peer_meets_the_last_quarter_on_this_kernel() -> None:
    assert _quarter_seen(_kernel_trace(QUARTER_SCRIPT)) == QUARTER_SEEN


# --- tcp_syncookies=2 sends every SYN by cookie and logs nothing (tcp_syn_flood_action():
# the warning is skipped at 2, so the listener is not marked warned): back at 1, its first full
# request queue logs the line. Measured on this kernel.
COOKIES_TWO_SCRIPT = """sysctl("net.ipv4.tcp_syncookies", 2)
s = socket(AF_INET, SOCK_STREAM)
listen(s, 1)
syn(s)
syn(s)
syn(s)
syslog()
counter("SyncookiesSent")
sysctl("net.ipv4.tcp_syncookies", 1)
syn(s)
syn(s)
syn(s)
syslog()
"""
COOKIES_TWO_SEEN = ["[]", "3", '["TCP: request_sock_TCP: Possible SYN flooding on port '
                    '0.0.0.0:<port>. Sending cookies."]']


def _logs_and_counts(trace: list[str]) -> list[str]:
    # the kernel's log names the listener's real port
    return [re.sub(r"0\.0\.0\.0:\d+", "0.0.0.0:<port>", seen)
            for seen in _seen(trace, "syslog(", "counter(")]


def test_syncookies_two_logs_nothing_and_leaves_the_warning_for_later() -> None:
    assert _logs_and_counts(_trace(COOKIES_TWO_SCRIPT, "linux")) == COOKIES_TWO_SEEN


def test_syncookies_two_logs_nothing_and_leaves_the_warning_for_later_on_this_kernel() -> None:
    assert _logs_and_counts(_kernel_trace(COOKIES_TWO_SCRIPT)) == COOKIES_TWO_SEEN


def test_every_counter_a_script_can_read_starts_at_zero() -> None:
    # the host starts each counter counter() reads at 0 and counter() refuses every other name
    # (gVisor's bumps reach names it does not show), so bump()'s default for a name not seen
    # yet is never read (tools/mutation.py lists that mutant as equivalent on this)
    from listenspec.models.host import counter, initial

    for p in PROFILES.values():
        h = initial(p)
        assert dict(h.counters.items()) == dict.fromkeys(p.counters, 0), p.name
        assert render(counter(p, h, "NoSuchCounter").result) == "-1 ENOENT"


# --- ... and while the socket does not listen, a stopped listener's deferred request goes at
# its next event: the client's data finds no socket (an RST: ECONNRESET), so does data after
# the request's timer dropped it (1 s; listening again by then changes nothing), and so after
# the socket's close. Measured on this kernel.
STOPPED_WINDOW = """s = socket(AF_INET, SOCK_STREAM)
bind(s)
setsockopt(s, TCP_DEFER_ACCEPT, 5)
listen(s, 5)
c1 = socket(AF_INET, SOCK_STREAM)
connect(c1, s)
c2 = socket(AF_INET, SOCK_STREAM)
connect(c2, s)
shutdown(s, SHUT_RD)
send(c1, "x")
sleep(0.1)
recv(c1)
sleep(1.2)
listen(s, 5)
netstat(s)
send(c2, "y")
sleep(0.1)
recv(c2)
netstat(s)
t = socket(AF_INET, SOCK_STREAM)
bind(t)
setsockopt(t, TCP_DEFER_ACCEPT, 5)
listen(t, 5)
d = socket(AF_INET, SOCK_STREAM)
connect(d, t)
shutdown(t, SHUT_RD)
close(t)
send(d, "z")
sleep(0.1)
recv(d)
"""
STOPPED_WINDOW_SEEN = ["-1 ECONNRESET", "0/0/5", "-1 ECONNRESET", "0/0/5", "-1 ECONNRESET"]


def _window_seen(trace: list[str]) -> list[str]:
    return _seen(trace, "recv(", "netstat(")


def test_a_stopped_listeners_deferred_request_goes_at_its_next_event() -> None:
    assert _window_seen(_trace(STOPPED_WINDOW, "linux")) == STOPPED_WINDOW_SEEN


def test_a_stopped_listeners_deferred_request_goes_at_its_next_event_on_this_kernel() -> None:
    assert _window_seen(_kernel_trace(STOPPED_WINDOW)) == STOPPED_WINDOW_SEEN


# --- An AF_UNIX socket reset by its listener's close keeps its name (Linux releases a port on
# a TCP reset only: reset_unbinds is about TCP): another socket's bind to it is EADDRINUSE.
# Measured on this kernel.
UNIX_RESET_SCRIPT = """c = socket(AF_UNIX, SOCK_STREAM)
bind(c)
l = socket(AF_UNIX, SOCK_STREAM)
bind(l)
listen(l, 5)
connect(c, l)
close(l)
recv(c)
x = socket(AF_UNIX, SOCK_STREAM)
bind(x, c)
"""
UNIX_RESET_TAIL = ["recv(c) = -1 ECONNRESET", "x = socket(AF_UNIX, SOCK_STREAM) = fd",
                   "bind(x, c) = -1 EADDRINUSE"]


def test_an_af_unix_socket_reset_keeps_its_name() -> None:
    assert _trace(UNIX_RESET_SCRIPT, "linux")[-3:] == UNIX_RESET_TAIL


def test_an_af_unix_socket_reset_keeps_its_name_on_this_kernel() -> None:
    assert _kernel_trace(UNIX_RESET_SCRIPT)[-3:] == UNIX_RESET_TAIL


# --- An accept filter's full queue evicts the oldest waiting connection (ACCF-EVICT) even when
# its client has already closed: the AF_UNIX child keeps waiting on the filter after its peer
# went (solisten_enqueue()), and its eviction resets nobody (ops.reset_client()'s guard).
EVICT_CLOSED_SCRIPT = """s = socket(AF_UNIX, SOCK_STREAM)
bind(s)
listen(s, 1)
setsockopt(s, SO_ACCEPTFILTER, "dataready")
c1 = socket(AF_UNIX, SOCK_STREAM)
connect(c1, s)
close(c1)
netstat(s)
c2 = socket(AF_UNIX, SOCK_STREAM)
connect(c2, s)
netstat(s)
getsockopt(c2, SO_ERROR)
"""
EVICT_CLOSED_TAIL = ["netstat(s) = 0/1/1", "c2 = socket(AF_UNIX, SOCK_STREAM) = fd",
                     "connect(c2, s) = 0", "netstat(s) = 0/1/1", "getsockopt(c2, SO_ERROR) = 0"]


def test_evicting_a_closed_clients_connection_resets_nobody() -> None:
    assert _trace(EVICT_CLOSED_SCRIPT, "freebsd-13")[-5:] == EVICT_CLOSED_TAIL


# --- Premise of the argued-equivalent `take_port()` default (tools/mutation.py): the one caller
# that takes it is a TCP client's connect, and a socket that has connected never listens, so
# its `wildcard` (read only for listeners, AF_UNIX names and unconnected AF_INET6 sockets)
# is never read.
RELISTEN_CLIENT = """s = socket(AF_INET, SOCK_STREAM)
listen(s, 1)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
listen(c, 1)
close(s)
recv(c)
listen(c, 1)
"""


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_a_socket_that_connected_never_listens(profile: str) -> None:
    results = _results(_trace(RELISTEN_CLIENT, profile))
    assert results[4] == results[7] == "-1 EINVAL"


def test_a_socket_that_connected_never_listens_on_this_kernel() -> None:
    results = _results(_kernel_trace(RELISTEN_CLIENT))
    assert results[4] == results[7] == "-1 EINVAL"


# --- The overflow log's rate limit at its exact boundary (rules.ratecheck(): kern_time.c
# ratecheck() fires at `delta >= interval`) and sooverprio 0, the lowest priority that still
# logs (solisten_clone(): `sooverprio >= 0`; reference/freebsd.md §3). A second overflow
# 0.999999 s after the logged one is counted, not logged; one at exactly 1 s is logged.
RATECHECK_SCRIPT = """sysctl("kern.ipc.sooverinterval", 1)
sysctl("kern.ipc.sooverprio", 0)
s = socket(AF_INET, SOCK_STREAM)
listen(s, 0)
c1 = socket(AF_INET, SOCK_STREAM)
connect(c1, s)
c2 = socket(AF_INET, SOCK_STREAM)
connect(c2, s)
syslog()
sleep(0.999999)
c3 = socket(AF_INET, SOCK_STREAM)
connect(c3, s)
syslog()
sleep(0.000001)
c4 = socket(AF_INET, SOCK_STREAM)
connect(c4, s)
syslog()
"""


def test_the_overflow_log_fires_at_exactly_its_interval_and_at_priority_0() -> None:
    got = _seen(_trace(RATECHECK_SCRIPT, "freebsd-src"), "sysctl", "syslog")
    assert got[:2] == ["0", "0"], got
    first, early, on_time = got[2:]
    assert "Listen queue overflow: 1 already in queue" in first and "(1 occurrences)" in first
    assert early == "[]"
    assert "(2 occurrences)" in on_time, on_time  # c3's overflow counted, not logged


def test_the_overflow_log_interval_counts_from_the_last_log_not_from_boot() -> None:
    # the same, 5 s after boot: the interval is `now - last`, so a clock far from 0 changes
    # nothing (kills rules.py's ratecheck() mutant `now + last`, which logged c3 here)
    got = _seen(_trace("sleep(5)\n" + RATECHECK_SCRIPT, "freebsd-src"), "sysctl", "syslog")
    first, early, on_time = got[2:]
    assert "(1 occurrences)" in first
    assert early == "[]"
    assert "(2 occurrences)" in on_time, on_time


# --- An AF_UNIX client that shut only its sending side before accept() (dataplane.accepted()):
# the child's read side is shut (uipc_shutdown() / unix_shutdown(): socantrcvmore on the peer,
# spec/sources/freebsd.md B5), but it still sends to the client, and it is not hung up. The
# model had treated it as a closed client (both sides shut, the peer gone: EPIPE, POLLHUP);
# found by the mutant `client is None and entry.eof` surviving. This kernel and gVisor agree.
UNIX_HALF_CLOSED = """s = socket(AF_UNIX, SOCK_STREAM)
bind(s)
listen(s, 1)
c = socket(AF_UNIX, SOCK_STREAM)
connect(c, s)
shutdown(c, SHUT_WR)
a = accept(s)
send(a, "x")
recv(c)
recv(a)
poll(a)
send(c, "y")
"""
UNIX_HALF_CLOSED_TAIL = ["1", '"x"', "0", "POLLIN|POLLOUT", "-1 EPIPE"]


@pytest.mark.parametrize("profile", ["linux", "freebsd-13", "gvisor"])
def test_a_half_closed_unix_client_still_hears_its_accepted_peer(profile: str) -> None:
    got = _results(_trace(UNIX_HALF_CLOSED, profile))[-5:]
    # Linux also reports POLLRDHUP (the profile has it)
    expected = [*UNIX_HALF_CLOSED_TAIL]
    if profile == "linux":
        expected[3] += "|POLLRDHUP"
    assert got == expected


def test_a_half_closed_unix_client_still_hears_its_accepted_peer_on_this_kernel() -> None:
    got = _results(_kernel_trace(UNIX_HALF_CLOSED))[-5:]
    assert got == [*UNIX_HALF_CLOSED_TAIL[:3], "POLLIN|POLLOUT|POLLRDHUP", "-1 EPIPE"]


# --- recv() reads at most dataplane.RECV_MAX (65536) bytes, the buffer the executors pass
# (executors/c/README.md): 65537 bytes sent in one send() take two recv() calls.
BIG = "x" * 65537
BIG_RECV = f"""s = socket(AF_UNIX, SOCK_STREAM)
bind(s)
listen(s, 1)
c = socket(AF_UNIX, SOCK_STREAM)
connect(c, s)
a = accept(s)
send(c, "{BIG}")
recv(a)
recv(a)
recv(a)
"""
BIG_RECV_TAIL = ["65537", '"' + "x" * 65536 + '"', '"x"', "-1 EAGAIN"]


def test_one_recv_reads_at_most_65536_bytes() -> None:
    assert _results(_trace(BIG_RECV, "linux"))[-4:] == BIG_RECV_TAIL


def test_one_recv_reads_at_most_65536_bytes_on_this_kernel() -> None:
    assert _results(_kernel_trace(BIG_RECV))[-4:] == BIG_RECV_TAIL


# --- An empty send() (dataplane.deliver()): on SOCK_SEQPACKET it is a record of its own (recv
# gives 0, then the next record); on a stream it moves nothing (TCP and AF_UNIX).
EMPTY_SENDS = """s = socket(AF_UNIX, SOCK_SEQPACKET)
bind(s)
listen(s, 1)
c = socket(AF_UNIX, SOCK_SEQPACKET)
connect(c, s)
a = accept(s)
send(c, "")
send(c, "y")
recv(a)
recv(a)
recv(a)
t = socket(AF_INET, SOCK_STREAM)
listen(t, 1)
d = socket(AF_INET, SOCK_STREAM)
connect(d, t)
b = accept(t)
send(d, "")
recv(b)
u = socket(AF_UNIX, SOCK_STREAM)
bind(u)
listen(u, 1)
e = socket(AF_UNIX, SOCK_STREAM)
connect(e, u)
f = accept(u)
send(e, "")
recv(f)
poll(f)
"""
EMPTY_SENDS_SEEN = ["0", "1", "0", '"y"', "-1 EAGAIN", "0", "-1 EAGAIN", "0", "-1 EAGAIN",
                    "POLLOUT"]


def test_an_empty_send_is_a_record_only_on_seqpacket() -> None:
    assert _seen(_trace(EMPTY_SENDS, "linux"), "send", "recv", "poll") == EMPTY_SENDS_SEEN


def test_an_empty_send_is_a_record_only_on_seqpacket_on_this_kernel() -> None:
    assert _seen(_kernel_trace(EMPTY_SENDS), "send", "recv", "poll") == EMPTY_SENDS_SEEN


# --- Linux net.ipv4.tcp_migrate_req=1 (dataplane.listener_closes(), _migration_heir()): closing
# one listener of an SO_REUSEPORT group hands its queued connections to another, which accepts
# them and their data. Which listener a SYN reaches is the group's hash, so only what holds
# after the close is compared (netstat and TCPMigrateReqSuccess before it vary with the ports).
MIGRATE_SCRIPT = """sysctl("net.ipv4.tcp_migrate_req", 1)
s1 = socket(AF_INET, SOCK_STREAM)
setsockopt(s1, SO_REUSEPORT, 1)
bind(s1)
listen(s1, 4)
s2 = socket(AF_INET, SOCK_STREAM)
setsockopt(s2, SO_REUSEPORT, 1)
bind(s2, s1)
listen(s2, 4)
c1 = socket(AF_INET, SOCK_STREAM)
connect(c1, s1)
c2 = socket(AF_INET, SOCK_STREAM)
connect(c2, s1)
close(s1)
netstat(s2)
a = accept(s2)
b = accept(s2)
accept(s2)
send(c1, "x")
send(c2, "y")
recv(a)
recv(b)
"""
MIGRATE_TAIL = ["2/0/4", "fd", "fd", "-1 EAGAIN", "1", "1", '"x"', '"y"']


def test_closing_a_reuseport_listener_migrates_its_queue() -> None:
    assert _results(_trace(MIGRATE_SCRIPT, "linux"))[-8:] == MIGRATE_TAIL


def test_closing_a_reuseport_listener_migrates_its_queue_on_this_kernel() -> None:
    got = _results(_kernel_trace(MIGRATE_SCRIPT))[-8:]
    # the accept order is the order the connections reached s2: by the hash, or migrated
    assert [*got[:6], *sorted(got[6:])] == MIGRATE_TAIL


# --- Linux (profile.sticky_connecting): a connect() that settled leaves the socket at
# SS_CONNECTING, so the next connect() returns 0 once; a shutdown() in between confirms the
# connection (inet_shutdown() moves SS_CONNECTING to SS_CONNECTED), so that connect() is EISCONN.
SHUTDOWN_CONFIRMS = """s = socket(AF_INET, SOCK_STREAM)
listen(s, 1)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
shutdown(c, SHUT_WR)
connect(c, s)
d = socket(AF_INET, SOCK_STREAM)
connect(d, s)
shutdown(d, SHUT_RD)
connect(d, s)
"""
SHUTDOWN_CONFIRMS_SEEN = ["0", "0", "-1 EISCONN", "0", "0", "-1 EISCONN"]


def test_a_shutdown_confirms_a_settled_connect() -> None:
    got = _seen(_trace(SHUTDOWN_CONFIRMS, "linux"), "connect", "shutdown")
    assert got == SHUTDOWN_CONFIRMS_SEEN


def test_a_shutdown_confirms_a_settled_connect_on_this_kernel() -> None:
    got = _seen(_kernel_trace(SHUTDOWN_CONFIRMS), "connect", "shutdown")
    assert got == SHUTDOWN_CONFIRMS_SEEN


# --- shutdown(SHUT_RD) and unread data: Linux keeps it readable; FreeBSD's sorflush() discards
# it (spec/sources/freebsd.md B5, profile.shut_rd_discards); SHUT_WR discards nothing anywhere.
SHUT_RD_DATA = """s = socket(AF_INET, SOCK_STREAM)
listen(s, 1)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
a = accept(s)
send(c, "x")
send(a, "y")
shutdown(a, SHUT_RD)
shutdown(c, SHUT_WR)
recv(a)
recv(c)
recv(a)
"""


@pytest.mark.parametrize(("profile", "first"), [("linux", '"x"'), ("freebsd-13", "0")])
def test_shut_rd_keeps_or_discards_unread_data(profile: str, first: str) -> None:
    assert _seen(_trace(SHUT_RD_DATA, profile), "recv") == [first, '"y"', "0"]


def test_shut_rd_keeps_unread_data_on_this_kernel() -> None:
    assert _seen(_kernel_trace(SHUT_RD_DATA), "recv") == ['"x"', '"y"', "0"]


# --- AF_UNIX shutdown() mirrored on the peer (dataplane._shut(): unix_shutdown() sets the
# peer's opposite bits): SHUT_RD stops the peer sending (EPIPE) but not reading; SHUT_WR stops
# the peer reading (0) but not sending. A listener shut for reading refuses new connects (Linux,
# profile.unix_listener_shut_refuses), and a connection already queued stays.
UNIX_SHUT_MIRROR = """s = socket(AF_UNIX, SOCK_STREAM)
bind(s)
listen(s, 1)
c = socket(AF_UNIX, SOCK_STREAM)
connect(c, s)
a = accept(s)
shutdown(a, SHUT_RD)
recv(c)
send(c, "x")
send(a, "y")
recv(c)
poll(c)
shutdown(c, SHUT_WR)
recv(a)
poll(a)
send(a, "z")
recv(c)
d = socket(AF_UNIX, SOCK_STREAM)
connect(d, s)
shutdown(s, SHUT_RD)
e = socket(AF_UNIX, SOCK_STREAM)
connect(e, s)
"""
UNIX_SHUT_MIRROR_SEEN = ["-1 EAGAIN", "-1 EPIPE", "1", '"y"', "POLLOUT", "0",
                         "POLLIN|POLLOUT|POLLRDHUP", "1", '"z"', "0", "-1 ECONNREFUSED"]


def test_an_af_unix_shutdown_is_mirrored_on_the_peer() -> None:
    got = _seen(_trace(UNIX_SHUT_MIRROR, "linux"), "recv", "send", "poll", "connect(d",
                "connect(e")
    assert got == UNIX_SHUT_MIRROR_SEEN


def test_an_af_unix_shutdown_is_mirrored_on_the_peer_on_this_kernel() -> None:
    got = _seen(_kernel_trace(UNIX_SHUT_MIRROR), "recv", "send", "poll", "connect(d",
                "connect(e")
    assert got == UNIX_SHUT_MIRROR_SEEN


# --- Linux: closing a listener drops a TCP_DEFER_ACCEPT-deferred request sock quietly; its
# client stays established until it sends, and its data then draws an RST (measured).
DEFERRED_LISTENER_CLOSED = """s = socket(AF_INET, SOCK_STREAM)
setsockopt(s, TCP_DEFER_ACCEPT, 5)
listen(s, 1)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
close(s)
send(c, "x")
recv(c)
send(c, "y")
poll(c)
"""
DEFERRED_LISTENER_CLOSED_TAIL = ["1", "-1 ECONNRESET", "-1 EPIPE",
                                 "POLLIN|POLLOUT|POLLHUP|POLLRDHUP"]


def test_a_deferred_client_of_a_closed_listener_is_reset_when_it_sends() -> None:
    assert _results(_trace(DEFERRED_LISTENER_CLOSED, "linux"))[-4:] == \
        DEFERRED_LISTENER_CLOSED_TAIL


def test_a_deferred_client_of_a_closed_listener_is_reset_when_it_sends_on_this_kernel() -> None:
    assert _results(_kernel_trace(DEFERRED_LISTENER_CLOSED))[-4:] == \
        DEFERRED_LISTENER_CLOSED_TAIL


# --- A connected datagram socket's send() is never answered with an RST (dataplane.deliver():
# only a TCP stream whose peer is gone is reset). The model does not carry datagrams to their
# receiver (a recv() there is EAGAIN; this kernel delivers them): only the sends are compared.
UDP_SENDS = """u = socket(AF_INET, SOCK_DGRAM)
bind(u)
v = socket(AF_INET, SOCK_DGRAM)
connect(v, u)
send(v, "x")
send(v, "y")
"""


def test_a_datagram_send_is_never_reset() -> None:
    assert _seen(_trace(UDP_SENDS, "linux"), "send") == ["1", "1"]


def test_a_datagram_send_is_never_reset_on_this_kernel() -> None:
    assert _seen(_kernel_trace(UDP_SENDS), "send") == ["1", "1"]


# --- A TCP client that closed before accept() (dataplane.accepted(): the peer is gone): the
# accepted socket reads the FIN, its first send() draws an RST from the client's orphan, and
# the next send() is EPIPE (the RST after the FIN: Linux tcp_reset() in CLOSE_WAIT; FreeBSD
# reports the RST itself to the recv() in between).
CLOSED_BEFORE_ACCEPT = """s = socket(AF_INET, SOCK_STREAM)
listen(s, 1)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
close(c)
a = accept(s)
recv(a)
send(a, "x")
recv(a)
send(a, "y")
"""


@pytest.mark.parametrize(("profile", "after_rst"), [("linux", "0"), ("gvisor", "0"),
                                                    ("freebsd-13", "-1 ECONNRESET")])
def test_sending_to_a_client_that_closed_before_accept_draws_an_rst(profile: str,
                                                                     after_rst: str) -> None:
    assert _results(_trace(CLOSED_BEFORE_ACCEPT, profile))[-4:] == ["0", "1", after_rst,
                                                                    "-1 EPIPE"]


def test_sending_to_a_client_that_closed_before_accept_draws_an_rst_on_this_kernel() -> None:
    assert _results(_kernel_trace(CLOSED_BEFORE_ACCEPT))[-4:] == ["0", "1", "0", "-1 EPIPE"]


# --- The active closer's TIME_WAIT keeps its port (dataplane._orphan(), receive_fin()): the
# side whose FIN went first holds its port after both closed (bind: EADDRINUSE), the other side
# frees its own. A client closing first holds the client's port; an accepted socket that shut
# its sending side first holds the listener's port once the listener is gone too. Every
# profile, this kernel and gVisor (measured) agree.
TIME_WAIT_CLIENT = """s = socket(AF_INET, SOCK_STREAM)
listen(s, 1)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
a = accept(s)
close(c)
close(a)
close(s)
x = socket(AF_INET, SOCK_STREAM)
bind(x, c)
y = socket(AF_INET, SOCK_STREAM)
bind(y, s)
"""
TIME_WAIT_SERVER = """s = socket(AF_INET, SOCK_STREAM)
listen(s, 1)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
a = accept(s)
shutdown(a, SHUT_WR)
recv(c)
close(c)
recv(a)
close(a)
close(s)
x = socket(AF_INET, SOCK_STREAM)
bind(x, s)
y = socket(AF_INET, SOCK_STREAM)
bind(y, c)
"""
# The client shuts its sending side first, the accepted socket answers with its own FIN
# (send_fin() after the peer's: LAST_ACK, then closed), so only the client's port is held.
TIME_WAIT_ANSWERED = """s = socket(AF_INET, SOCK_STREAM)
listen(s, 1)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
a = accept(s)
shutdown(c, SHUT_WR)
recv(a)
shutdown(a, SHUT_WR)
recv(c)
close(a)
close(c)
close(s)
x = socket(AF_INET, SOCK_STREAM)
bind(x, s)
y = socket(AF_INET, SOCK_STREAM)
bind(y, c)
"""
TIME_WAIT_CASES = [(TIME_WAIT_CLIENT, ["-1 EADDRINUSE", "0"]),
                   (TIME_WAIT_SERVER, ["-1 EADDRINUSE", "0"]),
                   (TIME_WAIT_ANSWERED, ["0", "-1 EADDRINUSE"])]


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize(("script", "binds"), TIME_WAIT_CASES)
def test_the_active_closer_keeps_its_port(profile: str, script: str, binds: list[str]) -> None:
    assert _seen(_trace(script, profile), "bind") == binds


@pytest.mark.parametrize(("script", "binds"), TIME_WAIT_CASES)
def test_the_active_closer_keeps_its_port_on_this_kernel(script: str, binds: list[str]) -> None:
    assert _seen(_kernel_trace(script), "bind") == binds


# --- A TCP socket connected to itself (simultaneous open on one port): its shutdown(SHUT_WR)
# returns 0 and its own FIN arrives (recv: 0); closed, it is the active closer of its port.
SELF_CONNECTED = """c = socket(AF_INET, SOCK_STREAM)
bind(c)
connect(c, c)
send(c, "x")
recv(c)
shutdown(c, SHUT_WR)
recv(c)
close(c)
d = socket(AF_INET, SOCK_STREAM)
bind(d, c)
"""
SELF_CONNECTED_SEEN = ["0", "1", '"x"', "0", "0", "-1 EADDRINUSE"]


@pytest.mark.parametrize("profile", ["linux", "freebsd-13", "gvisor"])
def test_a_self_connected_socket_hears_its_own_fin(profile: str) -> None:
    got = _seen(_trace(SELF_CONNECTED, profile), "connect", "send", "recv", "shutdown", "bind(d")
    assert got == SELF_CONNECTED_SEEN


def test_a_self_connected_socket_hears_its_own_fin_on_this_kernel() -> None:
    got = _seen(_kernel_trace(SELF_CONNECTED), "connect", "send", "recv", "shutdown", "bind(d")
    assert got == SELF_CONNECTED_SEEN


# --- A closed AF_UNIX socket's name stays (ops.forget()): the file bind() made remains until
# unlink(2), which no call of the format makes, so bind() to it is EADDRINUSE and connect()
# ECONNREFUSED, on every profile (unix_bind(), unp_bind()), this kernel and gVisor (measured).
# The model had freed the name. Found while writing the test below for a dataplane.py survivor.
UNIX_NAME_STAYS = """s = socket(AF_UNIX, SOCK_STREAM)
bind(s)
listen(s, 1)
close(s)
y = socket(AF_UNIX, SOCK_STREAM)
connect(y, s)
x = socket(AF_UNIX, SOCK_STREAM)
bind(x, s)
u = socket(AF_UNIX, SOCK_DGRAM)
bind(u)
close(u)
v = socket(AF_UNIX, SOCK_DGRAM)
connect(v, u)
bind(v, u)
"""
UNIX_NAME_STAYS_SEEN = ["-1 ECONNREFUSED", "-1 EADDRINUSE", "-1 ECONNREFUSED", "-1 EADDRINUSE"]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_a_closed_unix_sockets_name_stays(profile: str) -> None:
    got = _seen(_trace(UNIX_NAME_STAYS, profile), "connect", "bind(x", "bind(v")
    assert got == UNIX_NAME_STAYS_SEEN


def test_a_closed_unix_sockets_name_stays_on_this_kernel() -> None:
    got = _seen(_kernel_trace(UNIX_NAME_STAYS), "connect", "bind(x", "bind(v")
    assert got == UNIX_NAME_STAYS_SEEN


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_a_closed_unix_sockets_name_is_held_by_the_orphan_not_by_the_closed_socket(
        profile: str) -> None:
    # the name is held by state.ORPHAN, not by the id of a socket that is gone: every step
    # keeps the state consistent (kills ops.forget()'s mutant `s != sock.sid`, 86:63, which
    # left the closed socket's id holding it, and an ORPHAN for nobody)
    from listenspec.models.invariants import check_state
    from listenspec.models.state import ORPHAN
    from listenspec.runner import ModelRun

    p = PROFILES[profile]
    run = ModelRun(p)
    for step in parse(UNIX_NAME_STAYS).steps:
        run.step(step)
        assert list(check_state(p, run.state)) == [], step.text
    assert sorted(held for _, held in run.state.addrs.items()
                  if ORPHAN in held) == [(ORPHAN,), (ORPHAN,)]


# --- Closing an AF_UNIX connection is never a TCP abort (dataplane.connection_closes(): only
# an inet stream counts TCPAbortOnClose / TCPAbortOnData), even with unread data or SO_LINGER 0;
# the peer sees a reset for the unread data (unix_release_sock()), else an end of file.
UNIX_CLOSE_COUNTS = """s = socket(AF_UNIX, SOCK_STREAM)
bind(s)
listen(s, 2)
c = socket(AF_UNIX, SOCK_STREAM)
connect(c, s)
a = accept(s)
send(c, "x")
close(a)
counter("TCPAbortOnClose")
recv(c)
d = socket(AF_UNIX, SOCK_STREAM)
connect(d, s)
b = accept(s)
setsockopt(b, SO_LINGER, 0)
close(b)
counter("TCPAbortOnClose")
counter("TCPAbortOnData")
recv(d)
"""
UNIX_CLOSE_COUNTS_SEEN = ["0", "-1 ECONNRESET", "0", "0", "0"]


def test_an_af_unix_close_is_never_a_tcp_abort() -> None:
    assert _seen(_trace(UNIX_CLOSE_COUNTS, "linux"), "counter", "recv") == UNIX_CLOSE_COUNTS_SEEN


def test_an_af_unix_close_is_never_a_tcp_abort_on_this_kernel() -> None:
    assert _seen(_kernel_trace(UNIX_CLOSE_COUNTS), "counter", "recv") == UNIX_CLOSE_COUNTS_SEEN


def test_the_drivers_diff_tells_a_killed_mutant_from_an_equivalent_one(tmp_path: Path) -> None:
    # tools/mutation.py --diff: RECV_MAX's mutant changes BIG_RECV's trace on every profile;
    # the SHUT_WR mirror arm argued equivalent changes none of UNIX_SHUT_MIRROR's
    import subprocess

    driver, root = _driver(), ROOT
    descs = driver.mutants((root / "models/dataplane.py").read_text())
    recv_max = descs.index("line 32:12: 65536 -> 65537")
    mirror = next(k for k, d in enumerate(descs)
                  if ("models/dataplane.py", d) in driver.EQUIVALENT and "0 -> 1" in d
                  and "SHUT_WR" in driver.EQUIVALENT[("models/dataplane.py", d)])
    for k, text, differing in ((recv_max, BIG_RECV, len(PROFILES)),
                               (mirror, UNIX_SHUT_MIRROR, 0)):
        script = tmp_path / f"m{k}.lsn"
        script.write_text(text)
        done = subprocess.run([sys.executable, "tools/mutation.py", "--file",
                               "models/dataplane.py", "--only", str(k), "--diff", str(script)],
                              cwd=root, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert f"{differing} of {len(PROFILES)} traces differ" in done.stdout, done.stdout


def test_the_migration_counters_under_reuseport_are_not_reported_on_this_kernel() -> None:
    # which member of the group each SYN reached is the group's hash of the ports drawn, so
    # with tcp_migrate_req TCPMigrateReq* after the close vary run to run: the kernel executor
    # declines them
    got = _results(_kernel_trace(MIGRATE_SCRIPT + 'counter("TCPMigrateReqSuccess")\n'
                                 'counter("TCPMigrateReqFailure")\n'))
    assert all(r.startswith('unsupported("counter: TCPMigrateReq') for r in got[-2:]), got[-2:]
    assert got[-10:-2] != [] and not any(r.startswith("unsupported") for r in got[-10:-2])
    # without tcp_migrate_req nothing migrates: both stay 0 whatever the hash, and are compared
    unmigrated = MIGRATE_SCRIPT.replace('sysctl("net.ipv4.tcp_migrate_req", 1)\n', "")
    got = _results(_kernel_trace(unmigrated + 'counter("TCPMigrateReqSuccess")\n'
                                 'counter("TCPMigrateReqFailure")\n'))
    assert got[-2:] == ["0", "0"]


# --- A socket that was bound and never connected gives its port back when it closes
# (dataplane.connection_closes(): only a connected socket's close sends a FIN and leaves an
# orphan holding its port): bind() to that port again succeeds, on every profile and this kernel.
BOUND_CLOSED = """x = socket(AF_INET, SOCK_STREAM)
bind(x)
close(x)
y = socket(AF_INET, SOCK_STREAM)
bind(y, x)
"""


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_closing_a_socket_that_never_connected_frees_its_port(profile: str) -> None:
    assert _seen(_trace(BOUND_CLOSED, profile), "close", "bind(y") == ["0", "0"]


def test_closing_a_socket_that_never_connected_frees_its_port_on_this_kernel() -> None:
    assert _seen(_kernel_trace(BOUND_CLOSED), "close", "bind(y") == ["0", "0"]


# --- shutdown(SHUT_RD) of a connected TCP socket sends no FIN (dataplane._shut(): only the
# first SHUT_WR of a connected socket does): its peer reads nothing yet (EAGAIN) and polls
# POLLOUT alone. Every profile and this kernel.
SHUT_RD_NO_FIN = """s = socket(AF_INET, SOCK_STREAM)
listen(s, 1)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
a = accept(s)
shutdown(a, SHUT_RD)
recv(c)
poll(c)
"""
SHUT_RD_NO_FIN_TAIL = ["0", "-1 EAGAIN", "POLLOUT"]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_shut_rd_sends_no_fin(profile: str) -> None:
    assert _results(_trace(SHUT_RD_NO_FIN, profile))[-3:] == SHUT_RD_NO_FIN_TAIL


def test_shut_rd_sends_no_fin_on_this_kernel() -> None:
    assert _results(_kernel_trace(SHUT_RD_NO_FIN))[-3:] == SHUT_RD_NO_FIN_TAIL


# --- tcp_migrate_req=1 also hands over a queued connection whose client has already closed
# (dataplane.listener_closes(): the entry moves, and only a client still there is re-pointed):
# the new listener accepts it with the client's data, then the end of file.
MIGRATE_CLOSED = """sysctl("net.ipv4.tcp_migrate_req", 1)
s1 = socket(AF_INET, SOCK_STREAM)
setsockopt(s1, SO_REUSEPORT, 1)
bind(s1)
listen(s1, 4)
s2 = socket(AF_INET, SOCK_STREAM)
setsockopt(s2, SO_REUSEPORT, 1)
bind(s2, s1)
listen(s2, 4)
c1 = socket(AF_INET, SOCK_STREAM)
connect(c1, s1)
send(c1, "x")
close(c1)
close(s1)
netstat(s2)
a = accept(s2)
recv(a)
recv(a)
accept(s2)
"""
MIGRATE_CLOSED_TAIL = ["0", "1/0/4", "fd", '"x"', "0", "-1 EAGAIN"]


def test_a_closed_clients_connection_migrates_too() -> None:
    assert _results(_trace(MIGRATE_CLOSED, "linux"))[-6:] == MIGRATE_CLOSED_TAIL


def test_a_closed_clients_connection_migrates_too_on_this_kernel() -> None:
    assert _results(_kernel_trace(MIGRATE_CLOSED))[-6:] == MIGRATE_CLOSED_TAIL


# --- A deferred request whose client closed while the accept queue was full (the FIN made the
# child, which found no room: ListenOverflows, the request kept for the client's resend) goes
# with its listener's shutdown(SHUT_RD) like any other (dataplane.stale_request_hit(): its
# client is gone, so nobody is told); listen() again finds nothing to accept.
STALE_CLIENT_GONE = """s = socket(AF_INET, SOCK_STREAM)
setsockopt(s, TCP_DEFER_ACCEPT, 5)
listen(s, 1)
c1 = socket(AF_INET, SOCK_STREAM)
connect(c1, s)
c0 = socket(AF_INET, SOCK_STREAM)
connect(c0, s)
send(c0, "a")
c2 = socket(AF_INET, SOCK_STREAM)
connect(c2, s)
send(c2, "b")
netstat(s)
close(c1)
netstat(s)
counter("ListenOverflows")
shutdown(s, SHUT_RD)
netstat(s)
sleep(5)
listen(s, 1)
netstat(s)
accept(s)
"""
STALE_CLIENT_GONE_TAIL = ["2/1/1", "0", "2/1/1", "1", "0", "0/0/0", "0", "0", "0/0/1",
                          "-1 EAGAIN"]


def test_a_stopped_listeners_request_whose_client_closed_goes_quietly() -> None:
    assert _results(_trace(STALE_CLIENT_GONE, "linux"))[-10:] == STALE_CLIENT_GONE_TAIL


def test_a_stopped_listeners_request_whose_client_closed_goes_quietly_on_this_kernel() -> None:
    assert _results(_kernel_trace(STALE_CLIENT_GONE))[-10:] == STALE_CLIENT_GONE_TAIL


# --- A FIN from the client of a request that a stopped listener (shutdown(SHUT_RD)) left
# behind. The socket no longer listens, so tcp_v4_rcv() drops the request and, finding no
# socket for the segment, answers it with an RST (measured on this kernel): a client that shut
# its sending side is reset (recv ECONNRESET, POLLHUP), and one that closed is gone with its
# port (bind() to it: 0). The model once let such a FIN go unanswered, as a timer or an RST
# (dataplane.stale_request_hit(), `answer=not (reset or eof)`, and the orphan of the closed
# client kept the port): both were strict xfails until it was changed.
STALE_FIN_SHUT = """s = socket(AF_INET, SOCK_STREAM)
bind(s)
setsockopt(s, TCP_DEFER_ACCEPT, 5)
listen(s, 5)
d = socket(AF_INET, SOCK_STREAM)
connect(d, s)
shutdown(s, SHUT_RD)
shutdown(d, SHUT_WR)
sleep(0.1)
recv(d)
poll(d)
send(d, "x")
"""
STALE_FIN_SHUT_TAIL = ["0", "0", "-1 ECONNRESET", "POLLIN|POLLOUT|POLLHUP|POLLRDHUP", "-1 EPIPE"]
STALE_FIN_CLOSE = """s = socket(AF_INET, SOCK_STREAM)
bind(s)
setsockopt(s, TCP_DEFER_ACCEPT, 5)
listen(s, 5)
d = socket(AF_INET, SOCK_STREAM)
bind(d)
connect(d, s)
shutdown(s, SHUT_RD)
close(d)
sleep(0.1)
x = socket(AF_INET, SOCK_STREAM)
bind(x, d)
"""


def test_a_stopped_listeners_request_answers_its_clients_fin_with_an_rst() -> None:
    assert _results(_trace(STALE_FIN_SHUT, "linux"))[-5:] == STALE_FIN_SHUT_TAIL


def test_a_stopped_listeners_request_answers_its_clients_fin_with_an_rst_on_this_kernel(
        ) -> None:
    assert _results(_kernel_trace(STALE_FIN_SHUT))[-5:] == STALE_FIN_SHUT_TAIL


def test_a_stopped_listeners_client_that_closed_frees_its_port() -> None:
    assert _seen(_trace(STALE_FIN_CLOSE, "linux"), "close", "bind(x") == ["0", "0"]


def test_a_stopped_listeners_client_that_closed_frees_its_port_on_this_kernel() -> None:
    assert _seen(_kernel_trace(STALE_FIN_CLOSE), "close", "bind(x") == ["0", "0"]


# --- rules.relisten_refused() is False on every profile that does not refuse a lowering
# re-listen (only gVisor has relisten_shrink_errno). The model asks it only where the profile
# refuses, but proofs/listener.py's relisten() asks it unguarded for every profile: a True
# there would keep the old qlimit in the proofs. With more completed connections than the new
# backlog admits (the case gVisor refuses) and with fewer.
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_only_gvisor_refuses_a_lowering_relisten(profile: str) -> None:
    from listenspec.models import rules

    p = PROFILES[profile]
    cases = [(qlen, q) for q in (0, 1, 5) for qlen in (0, rules.max_completed(p, q) + 1)]
    got = [rules.relisten_refused(p, qlen, q) for qlen, q in cases]
    if p.relisten_shrink_errno is None:
        assert got == [False] * len(cases)
    else:
        assert got == [qlen > rules.max_completed(p, q) for qlen, q in cases]


# --- Premise of the argued-equivalent `admits()` half-open count in dataplane.feed()
# (tools/mutation.py): a request sock (a TCP_DEFER_ACCEPT-deferred connection, or one whose
# client holds its final ACK) arises only on a profile with TCP_DEFER_ACCEPT or
# client_defer_holds_ack, and none of those counts half-open connections in admission.
def test_request_socks_arise_only_where_half_open_connections_are_not_admitted() -> None:
    makers = [name for name, p in PROFILES.items()
              if p.tcp_defer_accept or p.client_defer_holds_ack]
    assert makers and not [name for name in makers if PROFILES[name].admit_counts_half_open]


# --- Premise of the argued-equivalent POLLRDHUP entries of rules._gvisor_poll()
# (tools/mutation.py): poll_events() drops POLLRDHUP for a profile without it, and the only
# profiles with the gvisor poll style have none (gVisor never reports it, measured).
def test_the_gvisor_poll_style_never_reports_pollrdhup() -> None:
    styled = [name for name, p in PROFILES.items() if p.poll_style == "gvisor"]
    assert styled and not [name for name in styled if PROFILES[name].poll_rdhup]


# --- An accepted socket's address is its listener's, never one taken implicitly
# (state.Socket.wildcard's default, which accept() leaves): an AF_INET connect() to an accepted
# AF_UNIX socket aims at a whole sockaddr_un, EAFNOSUPPORT on Linux (this kernel), where an
# autobound name's short address would read as a family-only one (EINVAL); gVisor answers
# EINVAL for both (measured with --target gvisor).
ACCEPTED_UNIX_TARGET = """l = socket(AF_UNIX, SOCK_STREAM)
bind(l)
listen(l, 1)
c = socket(AF_UNIX, SOCK_STREAM)
connect(c, l)
a = accept(l)
x = socket(AF_INET, SOCK_STREAM)
connect(x, a)
"""


def test_an_accepted_unix_sockets_address_is_its_listeners_name() -> None:
    assert _results(_trace(ACCEPTED_UNIX_TARGET, "linux"))[-1] == "-1 EAFNOSUPPORT"
    assert _results(_trace(ACCEPTED_UNIX_TARGET, "gvisor"))[-1] == "-1 EINVAL"


def test_an_accepted_unix_sockets_address_is_its_listeners_name_on_this_kernel() -> None:
    assert _results(_kernel_trace(ACCEPTED_UNIX_TARGET))[-1] == "-1 EAFNOSUPPORT"


def test_the_model_passes_every_field_whose_default_is_argued_unread() -> None:
    # tools/mutation.py EQUIVALENT argues Pending.born's and Listener.refusing's defaults
    # unread: every constructor of those classes in the model passes them
    import ast

    wanted = {"Pending": "born", "Listener": "refusing"}
    seen = dict.fromkeys(wanted, 0)
    for path in Path(__file__).resolve().parents[1].joinpath("models").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in wanted):
                seen[node.func.id] += 1
                assert wanted[node.func.id] in {k.arg for k in node.keywords}, \
                    f"{path.name}:{node.lineno}: {node.func.id}() without {wanted[node.func.id]}"
    assert all(seen.values()), seen  # the constructors were found


# --- Linux's sysctls at each end of their ranges (tests/test_profiles.py SYSCTL_TABLE, which
# kills profiles.py's range and default mutants on the model): the same on this kernel, in the
# private namespace, with the FreeBSD names absent (ENOENT).
def test_the_linux_sysctl_ranges_on_this_kernel() -> None:
    from test_profiles import sysctl_edges

    text, want = sysctl_edges("linux")
    assert _results(_kernel_trace(text)) == want


# --- shutdown() of a datagram socket that is not connected answers ENOTCONN, yet marks its
# directions shut (FreeBSD soshutdown(): "the work is still done", spec/sources/freebsd.md B5;
# Linux inet_shutdown() falls through; the pages and 4.4BSD inherit FreeBSD's), so a send()
# once it connects is EPIPE; gVisor marks nothing (gvisor-2022-12.md: send() works). Kills
# profiles.py 195:34 (shutdown_dgram_marks' default made false).
DGRAM_SHUT = """u = socket(AF_INET, SOCK_DGRAM)
shutdown(u, SHUT_RDWR)
l = socket(AF_INET, SOCK_DGRAM)
bind(l)
connect(u, l)
send(u, "x")
"""


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_an_unconnected_datagram_sockets_shutdown_still_marks_it(profile: str) -> None:
    sent = "1" if profile == "gvisor" else "-1 EPIPE"
    assert _results(_trace(DGRAM_SHUT, profile)) == ["fd", "-1 ENOTCONN", "fd", "0", "0", sent]


def test_an_unconnected_datagram_sockets_shutdown_still_marks_it_on_this_kernel() -> None:
    assert _results(_kernel_trace(DGRAM_SHUT)) == ["fd", "-1 ENOTCONN", "fd", "0", "0",
                                                   "-1 EPIPE"]


# --- ... and a bound one is no different: shutdown() looks at the connection, not the address
# (ENOTCONN; gVisor alone answers 0). Kills profiles.py 200:34 (dgram_shutdown_bound's default
# made true).
DGRAM_BOUND_SHUT = "u = socket(AF_INET, SOCK_DGRAM)\nbind(u)\nshutdown(u, SHUT_WR)\n"


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_a_bound_unconnected_datagram_sockets_shutdown_is_enotconn(profile: str) -> None:
    assert _results(_trace(DGRAM_BOUND_SHUT, profile))[-1] == (
        "0" if profile == "gvisor" else "-1 ENOTCONN")


def test_a_bound_unconnected_datagram_sockets_shutdown_is_enotconn_on_this_kernel() -> None:
    assert _results(_kernel_trace(DGRAM_BOUND_SHUT))[-1] == "-1 ENOTCONN"


# --- DragonFly's somaxconn takes any int (a plain SYSCTL_INT, reference/freebsd.md §8), so a
# negative backlog can give a listener a negative limit; the profile's admission is the page's
# real-number "maximum length the queue may grow to" (admit_u32 False: no machine arithmetic),
# so such a listener admits nobody (the SYN is dropped). Kills profiles.py 524:18 (the pages'
# admit_u32 made true: an unsigned compare would admit).
NEGATIVE_LIMIT = """sysctl("kern.ipc.somaxconn", -5)
s = socket(AF_INET, SOCK_STREAM)
listen(s, -1)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
netstat(s)
"""


def test_a_negative_limit_admits_nobody_on_dragonfly() -> None:
    assert _results(_trace(NEGATIVE_LIMIT, "dragonfly")) == ["0", "fd", "0", "fd",
                                                             "-1 EINPROGRESS", "0/0/-5"]


# --- An accept filter releases a connection whose receive buffer is full (sbfull()) even
# mid-request: at so_rcv's high-water mark, net.inet.tcp.recvspace's default 65536
# (profile.recv_hiwat; accf_http.c, spec/sources/freebsd.md B3). A GET request line 65535
# bytes long is held, one more byte releases it. Kills profiles.py 389:16 (65536 made 65537).
def _long_get(n: int) -> str:
    return ('s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 4)\n'
            'setsockopt(s, SO_ACCEPTFILTER, "httpready")\n'
            'c = socket(AF_INET, SOCK_STREAM)\nconnect(c, s)\n'
            f'send(c, "GET {"a" * (n - 4)}")\nnetstat(s)\nsend(c, "a")\nnetstat(s)\n')


@pytest.mark.parametrize("profile", ["freebsd-13", "freebsd-main"])
def test_an_accept_filter_releases_at_the_receive_buffers_high_water_mark(profile: str) -> None:
    assert _results(_trace(_long_get(65535), profile))[-4:] == ["65535", "0/1/4", "1", "1/0/4"]
    assert _results(_trace(_long_get(65534), profile))[-4:] == ["65534", "0/1/4", "1", "0/1/4"]


# --- send() on a listening socket: FreeBSD takes the send I/O lock first, and soiolock()
# answers a listener ENOTCONN before the send buffer or so_error is looked at
# (spec/sources/freebsd.md B10), so the ECONNABORTED that shutdown(SHUT_RD) leaves on a
# listener (B5) is not consumed by send() and the next accept() returns it. The model gave it
# to send() (found from profiles.py 399:28, unix_stream_send_error made false, whose only
# witness was this wrong answer). Linux: a TCP listener's send() is EPIPE, an AF_UNIX one's
# ENOTCONN, and shutdown(SHUT_RD) leaves no error: it stops a TCP listener (accept() EINVAL),
# not an AF_UNIX one (EAGAIN) (this kernel).
LISTENER_SEND = """u = socket(AF_UNIX, SOCK_STREAM)
bind(u)
listen(u, 1)
send(u, "x")
shutdown(u, SHUT_RD)
send(u, "x")
send(u, "x")
s = socket(AF_INET, SOCK_STREAM)
listen(s, 1)
shutdown(s, SHUT_RD)
send(s, "x")
accept(s)
accept(u)
"""


# --- FreeBSD's admission compares in C's u_int (sol_qlen > 3 * sol_qlimit / 2): at the largest
# limit the bound is 2^31 - 1, and a 2^31st queued connection is refused. As the proofs see it,
# over 32-bit words, a signed compare would read 2^31 as negative and admit it. Kills
# profiles.py 350:15 (freebsd-src's admit_u32 made false; no trace can queue 2^31 connections).
def test_freebsd_admission_is_unsigned_over_32_bit_words() -> None:
    import z3

    from listenspec.models.rules import admits

    p = PROFILES["freebsd-src"]
    word = lambda n: z3.BitVecVal(n, 32)  # noqa: E731
    top = 0xFFFFFFFF // 3  # kern.ipc.soacceptqueue's largest value
    assert z3.is_false(z3.simplify(admits(p, word(2**31), word(0), word(top))))
    assert z3.is_true(z3.simplify(admits(p, word(2**31 - 1), word(0), word(top))))
    # and plain ints agree
    assert not admits(p, 2**31, 0, top) and admits(p, 2**31 - 1, 0, top)


# --- A listening AF_UNIX socket's connect() is refused for what it is (EOPNOTSUPP: FreeBSD
# soconnectat() looks at SOLISTENING before the protocol reads the address), whatever it aims
# at: an unbound socket, itself, a bound non-listener. Linux reads the address first
# (unix_address_first: EINVAL for an unbound target, ECONNREFUSED for one that does not
# listen). Kills profiles.py 380:24 (freebsd-src's unix_address_first made true).
UNIX_LISTENER_CONNECT = """s = socket(AF_UNIX, SOCK_STREAM)
bind(s)
listen(s, 1)
n = socket(AF_UNIX, SOCK_STREAM)
connect(s, n)
connect(s, s)
b = socket(AF_UNIX, SOCK_STREAM)
bind(b)
connect(s, b)
"""


# --- A TCP socket reset by its peer gives its port back (FreeBSD: tcp_close() -> in_pcbdrop()
# takes the PCB out of the hash, spec/sources/freebsd.md B10's RST; Linux tcp_done()): another
# socket can then bind to it and listen. Kills profiles.py 383:19 (freebsd-src's reset_unbinds
# made false).
RESET_PORT = """s = socket(AF_INET, SOCK_STREAM)
listen(s, 5)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
a = accept(s)
setsockopt(a, SO_LINGER, 0)
close(a)
getsockopt(c, SO_ERROR)
n = socket(AF_INET, SOCK_STREAM)
bind(n, c)
listen(n, 1)
"""


@pytest.mark.parametrize("profile", ["freebsd-src", "freebsd-13", "bsd-4.4", "linux"])
def test_a_reset_socket_gives_its_port_back(profile: str) -> None:
    assert _results(_trace(RESET_PORT, profile))[-4:] == ["ECONNRESET", "fd", "0", "0"]


def test_a_reset_socket_gives_its_port_back_on_this_kernel() -> None:
    assert _results(_kernel_trace(RESET_PORT))[-4:] == ["ECONNRESET", "fd", "0", "0"]


# --- An AF_UNIX SOCK_SEQPACKET socket whose peer closed with data unread: FreeBSD's
# soreceive_generic_locked() returns the queued record first, then so_error (ECONNRESET), then
# end of file (spec/sources/freebsd.md B4); Linux's __skb_recv_datagram() reports the error
# first (this kernel). Kills profiles.py 400:27 (freebsd-src's seqpacket_error_first made true).
SEQPACKET_UNREAD = """s = socket(AF_UNIX, SOCK_SEQPACKET)
bind(s)
listen(s, 1)
c = socket(AF_UNIX, SOCK_SEQPACKET)
connect(c, s)
a = accept(s)
send(a, "rec")
send(c, "unread")
close(a)
recv(c)
recv(c)
recv(c)
"""


# --- A bound AF_UNIX socket whose connection was reset (its listener closed with it queued:
# unp_drop(), so_error ECONNRESET) may listen on FreeBSD: uipc_listen() finds unp_conn NULL
# and solisten_proto_check() does not mask SS_ISDISCONNECTED (spec/sources/freebsd.md B2), and
# the new listener takes connections (B5: nothing refuses them). The model crashed there ("no
# lifecycle transition from disconnected on listen", every BSD profile). Linux refuses the
# listen() (EINVAL: unix_listen() wants an unconnected socket; this kernel). Kills profiles.py
# 411:30 (freebsd-src's unix_listen_disconnected made false), 410:32 (its
# unix_listener_shut_refuses made true: the reset shut the socket, and a connect() would be
# refused) and 785:30 (linux's unix_listen_disconnected made true).
UNIX_RESET_LISTEN = """s = socket(AF_UNIX, SOCK_STREAM)
bind(s)
listen(s, 1)
c = socket(AF_UNIX, SOCK_STREAM)
bind(c)
connect(c, s)
close(s)
recv(c)
listen(c, 1)
x = socket(AF_UNIX, SOCK_STREAM)
connect(x, c)
netstat(c)
a = accept(c)
"""


#: the scripts above where the BSD profiles answer as their sources read and Linux otherwise
#: (measured on this kernel): (script, how many results at its end, BSDs, Linux)
BSD_VS_LINUX = {
    "send-on-listener": (LISTENER_SEND, 13, [
        "fd", "0", "0", "-1 ENOTCONN", "-1 ENOTCONN", "-1 ENOTCONN", "-1 ENOTCONN",
        "fd", "0", "-1 ENOTCONN", "-1 ENOTCONN", "-1 ECONNABORTED", "-1 ECONNABORTED"], [
        "fd", "0", "0", "-1 ENOTCONN", "0", "-1 ENOTCONN", "-1 ENOTCONN",
        "fd", "0", "0", "-1 EPIPE", "-1 EINVAL", "-1 EAGAIN"]),
    "unix-listener-connect": (UNIX_LISTENER_CONNECT, 5,
                              ["-1 EOPNOTSUPP", "-1 EOPNOTSUPP", "fd", "0", "-1 EOPNOTSUPP"],
                              ["-1 EINVAL", "-1 EINVAL", "fd", "0", "-1 ECONNREFUSED"]),
    "seqpacket-unread": (SEQPACKET_UNREAD, 3, ['"rec"', "-1 ECONNRESET", "0"],
                         ["-1 ECONNRESET", '"rec"', "0"]),
    "unix-reset-listen": (UNIX_RESET_LISTEN, 6,
                          ["-1 ECONNRESET", "0", "fd", "0", "1/0/1", "fd"],
                          ["-1 ECONNRESET", "-1 EINVAL", "fd", "-1 ECONNREFUSED", "0/0/0",
                           "-1 EINVAL"]),
}
BSDS = sorted(set(PROFILES) - {"linux", "gvisor"})


@pytest.mark.parametrize("profile", BSDS)
@pytest.mark.parametrize("case", sorted(BSD_VS_LINUX))
def test_the_bsds_answer_as_their_sources_read(case: str, profile: str) -> None:
    script, n, bsds, _ = BSD_VS_LINUX[case]
    assert _results(_trace(script, profile))[-n:] == bsds


@pytest.mark.parametrize("case", sorted(BSD_VS_LINUX))
def test_linux_answers_otherwise(case: str) -> None:
    script, n, _, linux = BSD_VS_LINUX[case]
    assert _results(_trace(script, "linux"))[-n:] == linux


@pytest.mark.parametrize("case", sorted(BSD_VS_LINUX))
def test_linux_answers_otherwise_on_this_kernel(case: str) -> None:
    script, n, _, linux = BSD_VS_LINUX[case]
    assert _results(_kernel_trace(script))[-n:] == linux


# --- Linux's unix_stream_sendmsg() never reads sk_err: an AF_UNIX stream client whose
# listener closed with it queued (ECONNRESET pending) gets EPIPE from send(), and the error is
# left for recv() (this kernel). Kills profiles.py 773:28 (linux's unix_stream_send_error made
# true: send() would report ECONNRESET first).
UNIX_RESET_SEND = """s = socket(AF_UNIX, SOCK_STREAM)
bind(s)
listen(s, 1)
c = socket(AF_UNIX, SOCK_STREAM)
connect(c, s)
close(s)
send(c, "x")
recv(c)
"""


def test_a_reset_unix_streams_send_is_epipe_on_linux() -> None:
    want = ["0", "-1 EPIPE", "-1 ECONNRESET"]
    assert _results(_trace(UNIX_RESET_SEND, "linux"))[-3:] == want
    assert _results(_kernel_trace(UNIX_RESET_SEND))[-3:] == want


# --- Linux's accept queue compares u32 (sk_ack_backlog > sk_max_ack_backlog): with
# net.core.somaxconn at INT_MAX a 2^31st queued connection is refused; over 32-bit words a
# signed compare would read it as negative and admit it. Kills profiles.py 710:15 (linux's
# admit_u32 made false; no trace can queue 2^31 connections).
def test_linux_admission_is_unsigned_over_32_bit_words() -> None:
    import z3

    from listenspec.models.rules import admits

    p = PROFILES["linux"]
    word = lambda n: z3.BitVecVal(n, 32)  # noqa: E731
    top = 2**31 - 1
    assert z3.is_false(z3.simplify(admits(p, word(2**31), word(0), word(top))))
    assert z3.is_true(z3.simplify(admits(p, word(2**31 - 1), word(0), word(top))))


# --- 4.4BSD's sonewconn1() compares `so_qlen + so_q0len > 3 * so_qlimit / 2` on shorts
# promoted to int (4.4BSD-Lite2 sys/sys/socketvar.h): a signed compare. Over 32-bit words, as
# the proofs see it, a count of 0xFFFFFFFF is -1 and admitted, where an unsigned compare (the
# FreeBSD and Linux profiles', above) refuses it. Kills profiles.py 961:15 (bsd-4.4's admit_u32
# made true; with its fixed limit of 5 no trace tells the two apart).
def test_bsd44_admission_is_signed_over_32_bit_words() -> None:
    import z3

    from listenspec.models.rules import admits

    p = PROFILES["bsd-4.4"]
    word = lambda n: z3.BitVecVal(n, 32)  # noqa: E731
    assert z3.is_true(z3.simplify(admits(p, word(0xFFFFFFFF), word(0), word(5))))
    assert z3.is_false(z3.simplify(admits(p, word(8), word(0), word(5))))
    assert z3.is_true(z3.simplify(admits(p, word(7), word(0), word(5))))


# --- A client holding its final ACK (its own TCP_DEFER_ACCEPT, up to TCP_DELACK_MAX) whose
# SYN met a full request queue was answered with a syncookie: the listener keeps nothing for
# it until the ACK comes (netstat does not count it, nor does the request queue), then the
# cookie makes the child at once. The model kept a request sock for it (0/2/0 where this
# kernel shows 0/1/0); found by `listenspec explore --profile linux --domain AF_INET --domain
# AF_INET6 --domain AF_UNIX --reads --depth 8` (invariant incq-bound).
COOKIE_HELD_ACK = """s1 = socket(AF_INET, SOCK_STREAM)
setsockopt(s1, TCP_DEFER_ACCEPT, 1)
listen(s1, 0)
s2 = socket(AF_INET, SOCK_STREAM)
setsockopt(s2, TCP_DEFER_ACCEPT, 1)
s3 = socket(AF_INET, SOCK_STREAM)
connect(s3, s1)
connect(s2, s1)
netstat(s1)
sleep(0.1)
netstat(s1)
sleep(0.2)
netstat(s1)
a = accept(s1)
send(s2, "x")
recv(a)
netstat(s1)
"""
COOKIE_HELD_ACK_SEEN = ["0/1/0", "0/1/0", "1/1/0", "0/1/0"]


def test_a_cookie_answered_client_holding_its_ack_is_not_counted() -> None:
    assert _seen(_trace(COOKIE_HELD_ACK, "linux"), "netstat(") == COOKIE_HELD_ACK_SEEN
    assert _results(_trace(COOKIE_HELD_ACK, "linux"))[-3:] == ["1", '"x"', "0/1/0"]


def test_a_cookie_answered_client_holding_its_ack_is_not_counted_on_this_kernel() -> None:
    trace = _kernel_trace(COOKIE_HELD_ACK)
    assert _seen(trace, "netstat(") == COOKIE_HELD_ACK_SEEN
    assert _results(trace)[-3:] == ["1", '"x"', "0/1/0"]


# --- gVisor: bind() of a named AF_UNIX socket to a socket that never had a name is EINVAL (a
# family-only address), where Linux's unix_autobind() returns 0 at once for a socket that has
# a name (measured on gVisor's netstack and on this kernel). Kills profiles.py 1110:28
# (gvisor's unix_autobind_bound_ok made true).
BIND_NAMED_TO_UNNAMED = """u = socket(AF_UNIX, SOCK_STREAM)
bind(u)
n = socket(AF_UNIX, SOCK_STREAM)
bind(u, n)
g = socket(AF_UNIX, SOCK_DGRAM)
bind(g)
bind(g, n)
"""


def test_gvisor_refuses_binding_a_named_unix_socket_to_no_name() -> None:
    assert _results(_trace(BIND_NAMED_TO_UNNAMED, "gvisor"))[-4:] == [
        "-1 EINVAL", "fd", "0", "-1 EINVAL"]
    assert _results(_trace(BIND_NAMED_TO_UNNAMED, "linux"))[-4:] == ["0", "fd", "0", "0"]


def test_gvisor_refuses_binding_a_named_unix_socket_to_no_name_on_gvisor() -> None:
    assert _results(_gvisor_trace(BIND_NAMED_TO_UNNAMED))[-4:] == [
        "-1 EINVAL", "fd", "0", "-1 EINVAL"]


def test_linux_binds_a_named_unix_socket_to_no_name_as_a_no_op_on_this_kernel() -> None:
    assert _results(_kernel_trace(BIND_NAMED_TO_UNNAMED))[-4:] == ["0", "fd", "0", "0"]


# --- tables.reach() answers (None,) for a target without an address, or none at all: nobody
# is reached (its guard; resolve() asks only about addresses, connect() about any target).
# Kills tables.py 127:8 (`or` made `and`: a target of None crashed).
def test_nobody_is_reached_without_an_address() -> None:
    from listenspec.models.state import Host, Target
    from listenspec.models.tables import reach

    for name in ("linux", "freebsd-src"):
        assert reach(PROFILES[name], Host(), None) == (None,)
        assert reach(PROFILES[name], Host(), Target(None, "AF_INET", "SOCK_STREAM")) == (None,)


# --- TCP and UDP ports are apart: a UDP socket bound to a TCP listener's port is not among the
# listeners a TCP connect() may reach (reach() keeps the holders of the connecting socket's
# type), so the connection is queued, and a UDP connect() to the port works too (this kernel).
# On the profiles whose lookup takes the last socket bound (reuseport_pick "last") counting the
# UDP socket would refuse it. And the bind() itself works: a holder of another type does not
# hold the port for it (_in_use()). Kills tables.py 130:13 (`or group` made `and group`) and
# 377:12 (_in_use()'s `or` made `and`: the other type's holder would count).
MIXED_PORT = """s = socket(AF_INET, SOCK_STREAM)
listen(s, 2)
u = socket(AF_INET, SOCK_DGRAM)
bind(u, s)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
netstat(s)
d = socket(AF_INET, SOCK_DGRAM)
connect(d, s)
"""


MIXED_PORT_RESULTS = ["fd", "0", "fd", "0", "fd", "0", "1/0/2", "fd", "0"]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_a_udp_socket_on_a_tcp_listeners_port_is_not_reached(profile: str) -> None:
    assert _results(_trace(MIXED_PORT, profile)) == MIXED_PORT_RESULTS


def test_a_udp_socket_on_a_tcp_listeners_port_is_not_reached_on_this_kernel() -> None:
    assert _results(_kernel_trace(MIXED_PORT)) == MIXED_PORT_RESULTS


# --- A descriptor that is no socket (not open, or a file) holds no address, and every table
# answers it before any row reads holds_addr (its descriptor rows, or a target row before
# them, as first() shows under every profile with either value): kills tables.py 81:24
# (Ctx.holds_addr's default made true). And the premise of tools/mutation.py's EQUIVALENT
# entry for resolve()'s `pick` default (146:51): every resolve() that passes a profile, the one
# case reach()[pick] is read, passes pick.
def test_no_table_reads_holds_addr_of_a_descriptor_that_is_no_socket() -> None:
    import attrs

    from listenspec.models.state import FILE, FMap, Host, Target
    from listenspec.models.tables import CHECKS, first, resolve

    targets = (None, Target(None, "AF_INET", "SOCK_STREAM", errno="EBADF"),
               Target(None, "AF_INET", "SOCK_STREAM"))
    files = Host(fds=FMap().set(3, FILE))
    for name, p in PROFILES.items():
        for call in CHECKS:
            for target in targets[call in ("connect", "syn"):]:  # those two always aim
                for c in (resolve(Host(), 3, target), resolve(files, 3, target)):
                    assert c.sock is None and not c.holds_addr
                    a, b = first(call, p, c), first(call, p, attrs.evolve(c, holds_addr=True))
                    assert a == b, (name, call, target)


def test_every_resolve_given_a_profile_is_given_its_pick() -> None:
    import ast

    calls = 0
    for path in ROOT.joinpath("models").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "resolve":
                kw = {k.arg for k in node.keywords}
                assert "p" not in kw or "pick" in kw, f"{path.name}:{node.lineno}"
                calls += "p" in kw
    assert calls == 2


# --- tables.checks() computes a call's rows for a profile once (the hot path of every call):
# asked again, it hands back the very tuple, and a profile equal to another but not the same
# object gets its own. Kills tables.py 834:27 (the memo's `got[0]` made `got[1]`: it would
# recompute every time, the same rows, slower).
def test_a_profiles_rows_are_computed_once() -> None:
    import attrs

    from listenspec.models.tables import checks

    p = PROFILES["linux"]
    assert checks("connect", p) is checks("connect", p)
    twin = attrs.evolve(p)
    assert checks("connect", twin) == checks("connect", p)
    assert checks("connect", twin) is checks("connect", twin)


# --- The premise of tools/mutation.py's EQUIVALENT entry for tables.py 610:19 (the connect
# row "an unbound UDP socket: it is bound first" with its `not c.holds_addr` dropped): that
# row's errno is empty (the walk goes on) and its effect, walk._autobind(), leaves a socket
# that holds an address as it is, so the row holding for a bound socket changes nothing.
def test_autobind_leaves_a_socket_that_holds_an_address_alone() -> None:
    from listenspec.models.tables import CHECKS, resolve
    from listenspec.models.walk import EFFECTS
    from listenspec.runner import ModelRun

    row = next(r for r in CHECKS["connect"] if r.effect == "autobind")
    assert row.then == ""
    for name in ("linux", "gvisor"):
        run = ModelRun(PROFILES[name])
        for step in parse("u = socket(AF_INET, SOCK_DGRAM)\nbind(u)\n").steps:
            run.step(step)
        h = run.state
        (fd,) = list(h.fds.keys())
        c = resolve(h, fd)
        assert c.holds_addr and EFFECTS["autobind"](PROFILES[name], h, c) is h


# --- The connect table's refusal rows compose: an RST answering a TCP connect leaves the
# socket dead where the profile says so (dead_after_error), whatever its other refusal
# parameters, so a gVisor-like profile that were not sticky_connecting answers as gVisor does
# (ECONNREFUSED, left for SO_ERROR too; the next connect ECONNABORTED), not through the plain
# ECONNREFUSED row, which no profile of the project uses (each is sticky_connecting or
# refused_drops). Kills tables.py 668:19 (that row's `not p.dead_after_error` dropped).
REFUSED_TWICE = """l = socket(AF_INET, SOCK_STREAM)
bind(l)
c = socket(AF_INET, SOCK_STREAM)
connect(c, l)
getsockopt(c, SO_ERROR)
connect(c, l)
listen(c, 1)
"""


def test_a_dead_after_error_profile_is_dead_whatever_else_it_says() -> None:
    import attrs

    gvisor = PROFILES["gvisor"]
    want = ["fd", "0", "fd", "-1 ECONNREFUSED", "ECONNREFUSED", "-1 ECONNABORTED", "-1 EINVAL"]
    got = [render(t.result) for t in run_model(parse(REFUSED_TWICE),
                                               attrs.evolve(gvisor, sticky_connecting=False))]
    assert _results(_trace(REFUSED_TWICE, "gvisor")) == want == got
    assert all(p.sticky_connecting or p.refused_drops for p in PROFILES.values())


# --- Linux hashes an abstract (autobound) AF_UNIX name with its socket type
# (unix_autobind_per_type): a datagram or SEQPACKET socket connecting to a stream socket's
# autobound name finds nobody there (ECONNREFUSED), where a path name of the wrong type would
# be EPROTOTYPE (this kernel). Kills tables.py 631:53 (the datagram row's stream=False made
# True: the datagram connect would answer EPROTOTYPE).
ABSTRACT_OTHER_TYPE = """s = socket(AF_UNIX, SOCK_STREAM)
n = socket(AF_UNIX, SOCK_STREAM)
bind(s, n)
listen(s, 1)
d = socket(AF_UNIX, SOCK_DGRAM)
connect(d, s)
q = socket(AF_UNIX, SOCK_SEQPACKET)
connect(q, s)
"""


def test_an_abstract_name_of_another_type_is_nobody_on_linux() -> None:
    want = ["fd", "-1 ECONNREFUSED", "fd", "-1 ECONNREFUSED"]
    assert _results(_trace(ABSTRACT_OTHER_TYPE, "linux"))[-4:] == want
    assert _results(_kernel_trace(ABSTRACT_OTHER_TYPE))[-4:] == want
