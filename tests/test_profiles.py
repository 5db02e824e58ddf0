"""Profiles are data: every parameter of every profile cites where it comes from."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import pytest
from conftest import trace

from listenspec.calls import limit_sysctl
from listenspec.models import sources
from listenspec.models.profiles import FIXED, FREEBSD_SRC, PROFILES, Profile, derive

SOURCE_RE = re.compile(r"(seeds/\d{3}_[0-9a-f]{16}\.txt|reference/(freebsd|linux)\.md|"
                       r"spec/sources/(freebsd|linux-6\.18|gvisor-2022-12)\.md|listenspec choice)")


@pytest.mark.parametrize("profile", list(PROFILES.values()), ids=list(PROFILES))
def test_every_parameter_cites_a_seed_a_reference_or_a_recorded_choice(profile: Profile) -> None:
    for param in profile.parameters:
        cite = profile.cite[param]
        assert SOURCE_RE.search(cite), (profile.name, param, cite)


def test_documented_profiles_inherit_visibly() -> None:
    f9 = PROFILES["freebsd-9"]
    assert f9.cite["clamp"] == sources.SEED_FREEBSD_9
    assert f9.cite["half_open"].startswith("inherited from freebsd-src: ")


def test_derive_refuses_an_uncited_change() -> None:
    with pytest.raises(AssertionError, match="uncited"):
        derive(FREEBSD_SRC, "freebsd-src", {}, tcp_overflow="drop")


CONTRACT = ["freebsd-9", "freebsd-10", "freebsd-13", "freebsd-src", "dragonfly", "intime",
            "linux", "bsd-4.4"]
#: profiles the project adds (an extension of the contract, documented in docs/format.md)
EXTENSIONS = {"freebsd-main", "gvisor"}


def test_profile_names_are_the_contract() -> None:
    assert [n for n in PROFILES if n in CONTRACT] == CONTRACT
    assert set(PROFILES) - set(CONTRACT) <= EXTENSIONS


def test_every_gvisor_difference_from_linux_cites_gvisor() -> None:
    gv, lx = PROFILES["gvisor"], PROFILES["linux"]
    for param in gv.parameters:
        if getattr(gv, param) != getattr(lx, param):
            assert "spec/sources/gvisor-2022-12.md" in gv.cite[param], param


# --- Each profile's sysctls, written out from the sources their cites name (not from the
# model): name, default, the values a write accepts (lo..hi, inclusive), and what a write
# answers where it never succeeds. Every one is an int in the kernel (sysctl_handle_int,
# proc_dointvec_minmax, proc_dou8vec_minmax), so each range lies within a C int, which is also
# all a script can write.
C_INT_MIN, C_INT_MAX = -(2**31), 2**31 - 1
FB_LIMIT = 1431655765  # freebsd.md A7: sysctl_somaxconn(), val < 1 || val > UINT_MAX / 3
_FB = [("kern.ipc.soacceptqueue", 128, 1, FB_LIMIT),  # A7: SOMAXCONN 128
       ("kern.ipc.somaxconn", 128, 1, FB_LIMIT),  # A7: the same handler, CTLFLAG_SKIP
       ("kern.ipc.sooverinterval", 60, 0, C_INT_MAX),  # A4: sysctl_sec_to_timeval(), secs < 0
       ("kern.ipc.sooverprio", 7, C_INT_MIN, C_INT_MAX),  # A4: SYSCTL_INT, LOG_DEBUG
       ("net.inet.tcp.syncache.rst_on_sock_fail", 1, C_INT_MIN, C_INT_MAX),  # A5
       ("net.inet.tcp.syncookies", 1, C_INT_MIN, C_INT_MAX),  # A6
       ("net.inet.tcp.syncache.rexmtlimit", 3, 0, 12)]  # B12: 0..TCP_MAXRXTSHIFT
SYSCTL_TABLE: dict[str, list[tuple[str, int, int, int]]] = {
    "freebsd-9": _FB[1:2],  # the page names kern.ipc.somaxconn
    "freebsd-10": _FB[:2],  # soacceptqueue, somaxconn hidden
    "freebsd-13": _FB[:3],  # and sooverinterval
    "freebsd-src": _FB,
    "freebsd-main": _FB,
    # reference/freebsd.md §8: a plain SYSCTL_INT with no range check, default SOMAXCONN
    "dragonfly": [("kern.ipc.somaxconn", 128, C_INT_MIN, C_INT_MAX)],
    "intime": [],  # "Not supported by INtime"
    "bsd-4.4": [],  # a compile-time SOMAXCONN
    # linux-6.18.md §9 (and measured: tests/test_survivors.py, on this kernel)
    "linux": [("net.core.somaxconn", 4096, 0, C_INT_MAX),
              ("net.ipv4.tcp_syncookies", 1, 0, 255),
              ("net.ipv4.tcp_abort_on_overflow", 0, 0, 255),
              ("net.ipv4.tcp_max_syn_backlog", 2048, C_INT_MIN, C_INT_MAX),
              ("net.ipv4.tcp_synack_retries", 5, 0, 255),
              ("net.ipv4.tcp_migrate_req", 0, 0, 1)],
    # gvisor-2022-12.md §6: read-only files (0444), every write EIO (tests/test_gvisor.py)
    "gvisor": [("net.core.somaxconn", 128, 0, C_INT_MAX),
               ("net.ipv4.tcp_synack_retries", 5, 0, 255)],
}
SYSCTL_HIDDEN = {(p, "kern.ipc.somaxconn")  # freebsd.md A7 (CTLFLAG_SKIP); seed page 10
                 for p in ("freebsd-10", "freebsd-13", "freebsd-src", "freebsd-main")}
SYSCTL_READ_ONLY = {"gvisor": "EIO"}
#: names that read and write one variable (freebsd.md A7: somaxconn is soacceptqueue's old name)
SAME_VARIABLE = {"kern.ipc.somaxconn": "kern.ipc.soacceptqueue"}
ALL_SYSCTL_NAMES = sorted({n for rows in SYSCTL_TABLE.values() for n, *_ in rows})


def test_each_profiles_sysctls_are_as_their_sources_state() -> None:
    assert set(SYSCTL_TABLE) == set(PROFILES)
    for name, p in PROFILES.items():
        assert [(s.name, s.default, s.lo, s.hi) for s in p.sysctls] == SYSCTL_TABLE[name], name
        assert {(name, s.name) for s in p.sysctls if s.hidden} == {
            h for h in SYSCTL_HIDDEN if h[0] == name}, name
        assert {s.write_errno for s in p.sysctls} <= {SYSCTL_READ_ONLY.get(name)}, name
        for s in p.sysctls:
            assert C_INT_MIN <= s.lo <= s.default <= s.hi <= C_INT_MAX, (name, s.name)


def sysctl_edges(profile: str) -> tuple[str, list[str]]:
    """A script that reads every sysctl name any profile has, and writes each of the profile's
    own just outside, at and just inside both ends of its range (each write read back), with
    the trace SYSCTL_TABLE says it gives."""
    rows = {n: (d, lo, hi) for n, d, lo, hi in SYSCTL_TABLE[profile]}
    refused = SYSCTL_READ_ONLY.get(profile)
    lines, want = [], []
    values = {SAME_VARIABLE.get(n, n): d for n, (d, _, _) in rows.items()}
    for name in ALL_SYSCTL_NAMES:
        var = SAME_VARIABLE.get(name, name)
        lines.append(f'sysctl("{name}")')
        if name not in rows:
            lines.append(f'sysctl("{name}", 1)')
            want += ["-1 ENOENT", "-1 ENOENT"]
            continue
        _, lo, hi = rows[name]
        want.append(str(values[var]))
        for v in sorted({lo - 1, lo, lo + 1, hi - 1, hi, hi + 1}):
            if not C_INT_MIN <= v <= C_INT_MAX:
                continue
            lines += [f'sysctl("{name}", {v})', f'sysctl("{name}")']
            if refused is None and lo <= v <= hi:
                values[var] = v
                want.append("0")
            else:
                want.append(f"-1 {refused or 'EINVAL'}")
            want.append(str(values[var]))
    return "".join(line + "\n" for line in lines), want


@pytest.mark.parametrize("profile", list(PROFILES))
def test_sysctl_writes_at_each_end_of_the_range(profile: str) -> None:
    text, want = sysctl_edges(profile)
    assert trace(text, profile) == want


@pytest.mark.parametrize("profile", list(PROFILES))
def test_the_explorer_sets_the_limit_through_the_visible_sysctl(profile: str) -> None:
    # calls.limit_sysctl(): the sysctl the explorer writes to vary the hard limit
    visible = [(n, max(lo, 0)) for n, _, lo, _ in SYSCTL_TABLE[profile]
               if n.endswith(("somaxconn", "soacceptqueue")) and (profile, n) not in SYSCTL_HIDDEN
               and profile != "gvisor"]  # gVisor's somaxconn does not set the limit (§6)
    assert limit_sysctl(PROFILES[profile]) == (visible[0] if visible else None)


def test_the_fixed_settings_are_the_sources_compiled_in_defaults() -> None:
    # profiles.FIXED: a setting no sysctl of the profile sets runs with the default of the
    # sysctl that sets it in the source (freebsd-src: FreeBSD's; linux: Linux's)
    for key, value in FIXED.items():
        defaults = {s.default for name in ("freebsd-src", "linux")
                    for s in PROFILES[name].sysctls if s.key == key}
        assert defaults == {value}, key


def test_uint_max_is_read_only_as_its_third() -> None:
    # the premise of tools/mutation.py's EQUIVALENT entry for profiles.UINT_MAX's `- 1` made
    # `+ 1`: every read of the name is `UINT_MAX // 3` (the FreeBSD limit's range), and
    # (2**32 + 1) // 3 == (2**32 - 1) // 3
    import ast
    from pathlib import Path

    assert (2**32 + 1) // 3 == (2**32 - 1) // 3 == FB_LIMIT
    root = Path(__file__).resolve().parents[1]
    reads = 0
    for folder in ("models", "listenspec", "proofs", "spec", "tools", "tests"):
        for path in (root / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            thirds = {id(n.left) for n in ast.walk(tree) if isinstance(n, ast.BinOp)
                      and isinstance(n.op, ast.FloorDiv) and isinstance(n.right, ast.Constant)
                      and n.right.value == 3}
            for n in ast.walk(tree):
                if isinstance(n, ast.ImportFrom):
                    assert "UINT_MAX" not in {a.name for a in n.names}, path
                if isinstance(n, ast.Name) and n.id == "UINT_MAX" and isinstance(n.ctx, ast.Load):
                    assert id(n) in thirds, f"{path}:{n.lineno}"
                    reads += 1
    assert reads  # the FreeBSD limit sysctls of profiles.py


# --- The premise of tools/mutation.py's EQUIVALENT entry for child_inherits_shut_wr's default
# (profiles.py 224:36): the profiles that leave it False (FreeBSD's, the pages', 4.4BSD) never
# have a TCP listener shut for sending, so dataplane.child_shut_wr() is False there either way.
# The ways to one: shutdown(SHUT_WR) before listen() (ENOTCONN, nothing marked:
# soshutdown()), of the listener itself (ENOTCONN), or of a connection that then listens
# (EINVAL: a socket that was connected never listens); then random scripts.
SHUT_WR_WAYS = """s = socket(AF_INET, SOCK_STREAM)
shutdown(s, SHUT_WR)
listen(s, 4)
shutdown(s, SHUT_WR)
t = socket(AF_INET6, SOCK_STREAM)
shutdown(t, SHUT_RDWR)
listen(t, 4)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
shutdown(c, SHUT_WR)
a = accept(s)
close(a)
listen(c, 4)
close(s)
listen(c, 4)
"""


def _never_a_listener_shut_for_sending(profile: Profile, script: Any) -> None:
    from listenspec.models.state import SND
    from listenspec.runner import ModelRun

    run = ModelRun(profile)
    for step in script.steps:
        run.step(step)
        for sock in run.state.socks.values():
            assert not (sock.listener is not None and sock.type == "SOCK_STREAM"
                        and sock.domain != "AF_UNIX" and sock.shut & SND), (profile.name, step)


NO_SHUT_WR_CHILDREN = [n for n, p in PROFILES.items() if not p.child_inherits_shut_wr]


@pytest.mark.parametrize("profile", NO_SHUT_WR_CHILDREN)
def test_where_children_do_not_inherit_shut_wr_no_tcp_listener_is_shut_for_sending(
        profile: str) -> None:
    assert set(NO_SHUT_WR_CHILDREN) == set(PROFILES) - {"linux", "gvisor"}
    from listenspec.script import parse

    _never_a_listener_shut_for_sending(PROFILES[profile], parse(SHUT_WR_WAYS))


def _for_random_scripts(profile: str, n: int, check: Callable[[Any], object]) -> None:
    """check() each of n random scripts of the profile (scriptgen, drawn derandomized)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from listenspec.scriptgen import scripts

    @settings(max_examples=n, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data: st.DataObject) -> None:
        check(data.draw(scripts(profile=profile)))

    run()


@pytest.mark.parametrize("profile", NO_SHUT_WR_CHILDREN)
def test_no_random_script_shuts_a_tcp_listener_for_sending_there(profile: str) -> None:
    _for_random_scripts(profile, 60, lambda script: _never_a_listener_shut_for_sending(
        PROFILES[profile], script))


# --- The premise of tools/mutation.py's EQUIVALENT entry for freebsd-src's
# unix_stream_send_error (profiles.py 399:28): where send() looks at a pending error after
# CANTSENDMORE (send_order epipe-first) and refuses a listener first (send_on_listener), an
# AF_UNIX stream socket that is not listening has a pending error only once it is shut for
# sending (unp_drop(), the peer's close: spec/sources/freebsd.md B4), so the EPIPE row answers
# first and the flag is never read. The ways to one: the listener closed with the client
# queued, the peer closed with data unread, the listener shut (its ECONNABORTED stays on the
# listener); then random scripts.
UNIX_ERROR_WAYS = """s = socket(AF_UNIX, SOCK_STREAM)
bind(s)
listen(s, 2)
c = socket(AF_UNIX, SOCK_STREAM)
connect(c, s)
d = socket(AF_UNIX, SOCK_STREAM)
connect(d, s)
a = accept(s)
send(d, "unread")
close(a)
shutdown(s, SHUT_RDWR)
close(s)
q = socket(AF_UNIX, SOCK_SEQPACKET)
bind(q)
listen(q, 1)
e = socket(AF_UNIX, SOCK_SEQPACKET)
connect(e, q)
close(q)
"""


def _unix_errors_come_shut(profile: Profile, script: Any) -> int:
    from listenspec.models.state import SND
    from listenspec.runner import ModelRun

    run, errors = ModelRun(profile), 0
    for step in script.steps:
        run.step(step)
        for sock in run.state.socks.values():
            if (sock.domain == "AF_UNIX" and sock.type == "SOCK_STREAM"
                    and sock.error is not None and sock.listener is None):
                assert sock.shut & SND, (profile.name, step)
                errors += 1
    return errors


UNIX_SEND_ERROR_UNREAD = [n for n, p in PROFILES.items()
                          if p.send_order == "epipe-first" and p.send_on_listener is not None]


@pytest.mark.parametrize("profile", UNIX_SEND_ERROR_UNREAD)
def test_where_send_sees_epipe_first_a_unix_streams_error_comes_with_shut_wr(
        profile: str) -> None:
    assert set(UNIX_SEND_ERROR_UNREAD) == set(PROFILES) - {"linux", "gvisor"}
    from listenspec.script import parse

    assert _unix_errors_come_shut(PROFILES[profile], parse(UNIX_ERROR_WAYS)) > 0


@pytest.mark.parametrize("profile", UNIX_SEND_ERROR_UNREAD)
def test_no_random_script_gives_an_unshut_unix_stream_an_error_there(profile: str) -> None:
    _for_random_scripts(profile, 60,
                        lambda script: _unix_errors_come_shut(PROFILES[profile], script))


# --- The premise of tools/mutation.py's EQUIVALENT entry for linux's filter_holds
# (profiles.py 767:18; gvisor inherits it): host.py reads filter_holds only beside a listener's
# accept filter, and a listener gets one only from options._set_accept_filter(), after the name
# was found among its profile's accept_filters, which Linux and gVisor have none of.
def test_a_listener_gets_an_accept_filter_only_by_a_name_its_profile_has() -> None:
    import ast
    from pathlib import Path

    setters = []
    for path in Path(__file__).resolve().parents[1].joinpath("models").glob("*.py"):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.keyword) and node.arg == "accept_filter" and not (
                        isinstance(node.value, ast.Constant) and node.value.value is None):
                    setters.append((path.name, fn.name, ast.unparse(node.value)))
    assert setters == [("options.py", "_set_accept_filter", "name")]
    from listenspec.models.options import _set_accept_filter

    assert "if name not in p.accept_filters:" in inspect.getsource(_set_accept_filter)
    assert [n for n, p in PROFILES.items() if not p.accept_filters] == ["linux", "bsd-4.4",
                                                                        "gvisor"]


@pytest.mark.parametrize("profile", ["linux", "gvisor", "bsd-4.4"])
def test_no_filter_name_gives_a_listener_an_accept_filter_there(profile: str) -> None:
    from listenspec.runner import ModelRun
    from listenspec.script import parse

    names = sorted({f for p in PROFILES.values() for f in p.accept_filters})
    script = parse("s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 4)\n" + "".join(
        f'setsockopt(s, SO_ACCEPTFILTER, "{n}")\n' for n in names)
        + "c = socket(AF_INET, SOCK_STREAM)\nconnect(c, s)\n")
    run = ModelRun(PROFILES[profile])
    for step in script.steps:
        run.step(step)
        assert all(s.listener is None or s.listener.accept_filter is None
                   for s in run.state.socks.values()), step


# --- The premise of tools/mutation.py's EQUIVALENT entry for bsd-4.4's poll_rdhup (profiles.py
# 977:16): poll_rdhup only takes POLLRDHUP out of what the poll style computes, and the select
# style (4.4BSD's soo_select(): a read set and a write set) never computes it, for any socket.
def test_select_style_readiness_never_names_pollrdhup() -> None:
    import itertools

    import attrs

    from listenspec.models import rules

    p = PROFILES["bsd-4.4"]
    assert p.poll_style == "select"
    on = attrs.evolve(p, poll_rdhup=True)
    names = [f.name for f in attrs.fields(rules.PollFacts) if f.name != "kind"]
    for kind in ("tcp", "udp", "unix-stream", "unix-seqpacket", "unix-dgram"):
        for values in itertools.product((False, True), repeat=len(names)):
            facts = rules.PollFacts(kind=kind, **dict(zip(names, values, strict=True)))
            assert rules.poll_events(on, facts) == rules.poll_events(p, facts), facts
            assert not rules.poll_events(on, facts).get("POLLRDHUP", False), facts


# --- The premise of tools/mutation.py's EQUIVALENT entry for gvisor's unix_autobind_per_type
# (profiles.py 1111:28): it is read only for an autobound (abstract) AF_UNIX name, and gVisor
# makes none: bind() to a family-only address is EINVAL (unix_bind_unnamed), listen() and
# connect() of an unbound AF_UNIX socket do not autobind it. The ways that autobind on Linux,
# then random scripts.
AUTOBIND_WAYS = """n = socket(AF_UNIX, SOCK_STREAM)
u = socket(AF_UNIX, SOCK_STREAM)
bind(u, n)
listen(u, 1)
g = socket(AF_UNIX, SOCK_DGRAM)
bind(g, n)
d = socket(AF_UNIX, SOCK_DGRAM)
bind(d)
connect(g, d)
send(g, "x")
s = socket(AF_UNIX, SOCK_SEQPACKET)
bind(s, n)
listen(s, 1)
c = socket(AF_UNIX, SOCK_STREAM)
connect(c, u)
"""


def _autobound_unix_names(profile: Profile, script: Any) -> int:
    from listenspec.runner import ModelRun

    run, named = ModelRun(profile), 0
    for step in script.steps:
        run.step(step)
        named += sum(s.domain == "AF_UNIX" and s.addr is not None and s.wildcard
                     for s in run.state.socks.values())
    return named


def test_gvisor_autobinds_no_unix_socket_where_linux_does() -> None:
    from listenspec.script import parse

    assert _autobound_unix_names(PROFILES["linux"], parse(AUTOBIND_WAYS)) > 0
    assert _autobound_unix_names(PROFILES["gvisor"], parse(AUTOBIND_WAYS)) == 0


def test_no_random_script_autobinds_a_unix_socket_on_gvisor() -> None:
    def check(script: Any) -> None:
        assert _autobound_unix_names(PROFILES["gvisor"], script) == 0

    _for_random_scripts("gvisor", 100, check)


def test_the_syncache_limits_are_tcp_syncache_cs_defaults() -> None:
    # freebsd.md A5: TCP_SYNCACHE_HASHSIZE 512, TCP_SYNCACHE_BUCKETLIMIT 30, and cache_limit =
    # hashsize * bucket_limit (syncache_init()); the profiles without a syncache have none
    for name, p in PROFILES.items():
        want = (30, 512 * 30) if p.half_open == "syncache" else (0, 0)
        assert (p.syncache_bucket_limit, p.syncache_cache_limit) == want, name


#: the receive buffer an accept filter's sbfull() reads (profile.recv_hiwat): FreeBSD's
#: net.inet.tcp.recvspace (freebsd.md B3, and tests/test_survivors.py at the boundary), Linux's
#: net.ipv4.tcp_rmem default (read only by accept filters, which Linux has none of: pinned
#: here, and against this kernel below)
LINUX_RCVBUF = 131072


def test_the_receive_buffers_are_the_systems_defaults() -> None:
    for name, p in PROFILES.items():
        want = LINUX_RCVBUF if p.half_open == "reqsk" else 65536
        assert p.recv_hiwat == want, name


def test_the_linux_receive_buffer_is_this_kernels_tcp_rmem_default() -> None:
    import sys
    from pathlib import Path

    if not sys.platform.startswith("linux"):
        pytest.skip("Linux only")
    assert int(Path("/proc/sys/net/ipv4/tcp_rmem").read_text().split()[1]) == LINUX_RCVBUF
