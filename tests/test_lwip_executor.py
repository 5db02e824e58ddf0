"""The lwIP harness (executors/lwip): the C executor's parser and protocol over lwIP's socket
API. Built here where Debian's liblwip-dev is installed (skipped, saying why, where it is not),
run on every example script, and held to what was measured on lwIP 2.1.3 (Debian's Hurd build,
TCP_LISTEN_BACKLOG=0) — each fact below is what lwIP answered, with the lwIP source that says
why, not what any profile expects.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from listenspec.calls import BY_NAME as CALLS
from listenspec.results import Err, ErrName, NewFd, Result, Ret, Str, Unsupported, render
from listenspec.script import Script, parse
from listenspec.spec.examples import all_examples
from listenspec.targets.protocol import ProtocolTarget

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "executors" / "lwip" / "lwip-exec.c"
CC = shutil.which("cc") or shutil.which("gcc")
PKG_CONFIG = shutil.which("pkg-config")


def lwip_flags() -> list[str] | None:
    """The compiler flags for lwIP: pkg-config's, or Debian's paths where pkg-config is absent."""
    if PKG_CONFIG is not None:
        done = subprocess.run([PKG_CONFIG, "--cflags", "--libs", "lwip"], capture_output=True,
                              text=True)
        if done.returncode == 0:
            return done.stdout.split()
    if Path("/usr/include/lwip/lwipopts.h").exists():
        return ["-I/usr/include/lwip", "-llwip"]
    return None


FLAGS = lwip_flags()
if CC is None:
    pytest.skip("no C compiler (cc) to build executors/lwip with", allow_module_level=True)
if FLAGS is None:
    pytest.skip("lwIP is not installed (Debian: apt-get install liblwip-dev; pkg-config lwip "
                "finds nothing)", allow_module_level=True)


@pytest.fixture(scope="module")
def lwip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProtocolTarget]:
    assert CC is not None and FLAGS is not None
    exe = tmp_path_factory.mktemp("lwip") / "lwip-exec"
    done = subprocess.run([CC, "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(exe), str(SOURCE),
                           *FLAGS, "-lpthread"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with ProtocolTarget([str(exe)]) as target:
        yield target


def run(target: ProtocolTarget, text: str) -> list[Result]:
    return target.run(parse(textwrap.dedent(text).strip() + "\n", "<lwip>"))


def connects(n: int, first: int = 0) -> str:
    return "".join(f"c{i} = socket(AF_INET, SOCK_STREAM)\nconnect(c{i}, s)\n"
                   for i in range(first, first + n))


def test_handshake_names_the_stack_and_leaves_out_what_lwip_lacks(lwip: ProtocolTarget) -> None:
    hs = lwip.handshake()
    assert hs.stack.startswith("lwIP 2.") and "TCP_LISTEN_BACKLOG=0" in hs.stack
    assert hs.calls == set(CALLS) - {"open", "netstat", "counter", "sysctl", "syslog"}
    assert all(v is None for v in hs.observes.values())


EXAMPLES = [ex for ex in all_examples() if "linux" in ex.profiles]
#: the calls lwIP performs but answers, in some states, with nothing a result can spell
DECLINED = {"poll": "poll() returned -1 and set no errno",
            "close": "close() of a listener with SO_LINGER"}


@pytest.mark.parametrize("example", EXAMPLES, ids=[ex.name for ex in EXAMPLES])
def test_every_example_gives_a_well_formed_trace(lwip: ProtocolTarget, example: object) -> None:
    script: Script = example.script  # type: ignore[attr-defined]
    results = lwip.run(script)
    assert len(results) == len(script.steps)
    for step, result in zip(script.steps, results, strict=True):
        # every line a result or unsupported(...); none the driver had to stop
        if isinstance(result, Unsupported):
            assert not result.reason.startswith(("stopped", "not run")), (step.text, result)
            assert (step.call.name in ("open", "netstat", "counter", "sysctl", "syslog")
                    or result.reason.startswith(DECLINED.get(step.call.name, "\0"))), (
                step.text, result)
    text = "".join(f"{s.text} = {render(r)}\n" for s, r in zip(script.steps, results,
                                                               strict=True))
    assert parse(text, "lwip.trace", trace=True).steps  # and `listenspec check` can read it


@pytest.mark.parametrize("backlog", [0, 1, 5, 1000])
def test_every_backlog_admits_127_and_resets_the_128th(lwip: ProtocolTarget,
                                                       backlog: int) -> None:
    # TCP_LISTEN_BACKLOG=0: lwip_netconn_do_listen() ignores the backlog; what bounds the
    # queue is the accept mailbox (the unix port's ring of 128 slots holds 127): when
    # sys_mbox_trypost() fails, accept_function() returns ERR_MEM and tcp_process() aborts
    # the new connection with a RST (src/api/api_msg.c, src/core/tcp_in.c).
    got = run(lwip, f"s = socket(AF_INET, SOCK_STREAM)\nbind(s)\nlisten(s, {backlog})\n"
                    + connects(129) + "a = accept(s)\n" + connects(1, first=129))
    outcomes = got[4:3 + 2 * 129:2]
    assert outcomes[:127] == [Ret(0)] * 127
    assert outcomes[127:] == [Err("ECONNRESET")] * 2
    assert got[-3] == NewFd() and got[-1] == Ret(0)  # one accepted: one more admitted


def test_listen_does_not_pick_a_port(lwip: ProtocolTarget) -> None:
    # tcp_listen_with_backlog_and_err() copies local_port (0) from the unbound pcb: the
    # listener is on port 0, unreachable, and can no longer be bound (tcp_bind(): only in
    # state CLOSED). Linux and FreeBSD bind an ephemeral port (the examples rely on it).
    got = run(lwip, """
        s = socket(AF_INET, SOCK_STREAM)
        listen(s, 5)
        c = socket(AF_INET, SOCK_STREAM)
        connect(c, s)
        bind(s)
    """)
    assert got[3:] == [Err("EINPROGRESS"), Err("EINVAL")]


def test_a_refused_connect_is_a_reset_and_leaves_the_socket_unusable(lwip: ProtocolTarget) -> None:
    # A RST in SYN_SENT reaches the netconn as ERR_RST (ECONNRESET; Linux says ECONNREFUSED);
    # the pcb is gone afterwards, so listen() finds no pcb: ENOTCONN.
    got = run(lwip, """
        n = socket(AF_INET, SOCK_STREAM)
        bind(n)
        r = socket(AF_INET, SOCK_STREAM)
        connect(r, n)
        listen(r, 1)
    """)
    assert got[3:] == [Err("ECONNRESET"), Err("ENOTCONN")]


def test_the_domain_is_not_checked(lwip: ProtocolTarget) -> None:
    # lwip_socket() ignores the domain ("@todo: check this"): AF_UNIX gives an IPv6 TCP
    # socket, so bind() puts it on [::1] and it connects like TCP; SOCK_SEQPACKET is EINVAL.
    got = run(lwip, """
        s = socket(AF_UNIX, SOCK_STREAM)
        bind(s)
        listen(s, 1)
        c = socket(AF_UNIX, SOCK_STREAM)
        connect(c, s)
        q = socket(AF_UNIX, SOCK_SEQPACKET)
        k = socket(AF_INET, SOCK_SEQPACKET)
    """)
    assert got == [NewFd(), Ret(0), Ret(0), NewFd(), Ret(0), Err("EINVAL"), Err("EINVAL")]


def test_every_half_open_connection_is_answered(lwip: ProtocolTarget) -> None:
    # No backlog check for SYNs either (tcp_listen_input() with TCP_LISTEN_BACKLOG=0): each
    # SYN gets its SYN-ACK, and a real client still gets in.
    got = run(lwip, "s = socket(AF_INET, SOCK_STREAM)\nbind(s)\nlisten(s, 1)\n"
                    + "syn(s)\n" * 5 + connects(1))
    assert got[3:8] == [Ret(0)] * 5 and got[-1] == Ret(0)
    got = run(lwip, "s = socket(AF_INET, SOCK_STREAM)\nbind(s)\nclose(s)\nsyn(s)\n")
    assert got[-1] == Err("ECONNREFUSED")  # nobody listens there: a RST


def test_each_script_gets_a_fresh_stack(lwip: ProtocolTarget) -> None:
    # The queue a script filled is gone in the next one (a new process, a new lwIP).
    first = run(lwip, "s = socket(AF_INET, SOCK_STREAM)\nbind(s)\nlisten(s, 1)\n" + connects(3))
    again = run(lwip, "s = socket(AF_INET, SOCK_STREAM)\nbind(s)\nlisten(s, 1)\n" + connects(3))
    assert first == again


def test_smaller_differences_from_linux(lwip: ProtocolTarget) -> None:
    # The rest of the table in executors/lwip/README.md, each line what lwIP answered.
    got = run(lwip, """
        s = socket(AF_INET, SOCK_STREAM)
        bind(s)
        setsockopt(s, TCP_DEFER_ACCEPT, 4)
        listen(s, 5)
        setsockopt(s, SO_ACCEPTFILTER, NULL)
        c = socket(AF_INET, SOCK_STREAM)
        connect(c, s)
        connect(c, s)
        d = socket(AF_INET, SOCK_STREAM)
        connect(d, s)
        close(s)
        getsockopt(d, SO_ERROR)
        send(d, "late")
        n = socket(AF_INET, SOCK_STREAM)
        bind(n)
        connect(n, n)
        u = socket(AF_INET, SOCK_DGRAM)
        send(u, "x")
    """)
    assert (got[2], got[4]) == (Err("ENOPROTOOPT"), Err("EFAULT"))
    assert got[6:8] == [Ret(0), Err("EISCONN")]
    assert got[11:13] == [ErrName("ECONNRESET"), Err("ENOTCONN")]
    assert got[15] == Err("EINPROGRESS")
    assert got[17] == Ret(1)


def test_the_new_calls_answer_what_lwip_answers(lwip: ProtocolTarget) -> None:
    # recv(), shutdown(), poll() and the SO_REUSEPORT / SO_LINGER options, each what lwIP
    # 2.1.3 answered (the table in executors/lwip/README.md), with where lwIP says why.
    got = run(lwip, """
        s = socket(AF_INET, SOCK_STREAM)
        setsockopt(s, SO_REUSEPORT, 1)
        getsockopt(s, SO_LINGER)
        setsockopt(s, SO_LINGER, "x")
        setsockopt(s, SO_LINGER, 70000)
        bind(s)
        listen(s, 1)
        shutdown(s, SHUT_RD)
        c = socket(AF_INET, SOCK_STREAM)
        connect(c, s)
        send(c, "hi")
        a = accept(s)
        recv(a)
        shutdown(c, SHUT_WR)
        poll(a)
        recv(a)
        recv(a)
        close(a)
        poll(a)
        d = socket(AF_INET, SOCK_DGRAM)
        shutdown(d, SHUT_RD)
    """)
    # SO_REUSEPORT is "Unimplemented" (lwip/sockets.h): lwip_setsockopt_impl()'s default case
    assert got[1] == Err("ENOPROTOOPT")
    # SO_LINGER checks optlen against struct linger (LWIP_SOCKOPT_CHECK_OPTLEN_CONN): the
    # format's int-sized read is refused (Linux truncates it to l_onoff); a value above
    # 0xFFFF seconds is cut to 0xFFFF, not refused
    assert got[2:5] == [Err("EINVAL"), Err("EINVAL"), Ret(0)]
    # lwip_netconn_do_close(): "LISTEN doesn't support half shutdown"
    assert got[7] == Err("ENOTCONN")
    assert got[12] == Str("hi")
    # lwip_pollscan() reports POLLIN, POLLOUT, POLLERR only: no POLLRDHUP after the peer's FIN
    assert render(got[14]) == "POLLIN|POLLOUT"
    # the FIN reads as 0 once; after it netconn_recv_data_tcp() answers ERR_CONN (ENOTCONN)
    assert got[15:17] == [Ret(0), Err("ENOTCONN")]
    # a closed descriptor: lwip_pollscan() sets POLLNVAL and lwip_poll() returns -1 with no
    # errno, which no result of the format spells
    assert isinstance(got[18], Unsupported) and "POLLNVAL" in got[18].reason
    assert got[20] == Err("EOPNOTSUPP")  # lwip_shutdown(): TCP only


def test_a_peer_s_reset_is_seen_by_the_next_call(lwip: ProtocolTarget) -> None:
    # lwIP's loopback is asynchronous (netif_loop_output() queues, netif_poll() runs later on
    # the tcpip thread); the harness waits for it after each call that can send. Without that
    # wait this recv() answered -1 EAGAIN in 7 of 12 runs and 0 in 5.
    script = """
        s = socket(AF_INET, SOCK_STREAM)
        bind(s)
        listen(s, 1)
        c = socket(AF_INET, SOCK_STREAM)
        connect(c, s)
        setsockopt(c, SO_LINGER, 0)
        close(c)
        a = accept(s)
        recv(a)
    """
    assert {render(run(lwip, script)[-1]) for _ in range(8)} == {"0"}


@pytest.mark.parametrize("linger", [0, 3])
def test_a_lingering_listener_is_closed_with_lingering_off(lwip: ProtocolTarget,
                                                           linger: int) -> None:
    # lwip_netconn_do_close_internal() reads pcb.tcp->unsent of a struct tcp_pcb_listen: with a
    # connection pending, a linger-0 close aborted the harness on lwIP's assertion ("don't call
    # tcp_abort/tcp_abandon for listen-pcbs") and a linger-3 one answered -1 EAGAIN. The harness
    # closes it with lingering off and says so; the pending connection is reset, as by a close.
    got = run(lwip, f"""
        s = socket(AF_INET, SOCK_STREAM)
        bind(s)
        listen(s, 5)
        c = socket(AF_INET, SOCK_STREAM)
        connect(c, s)
        setsockopt(s, SO_LINGER, {linger})
        close(s)
        recv(c)
        close(s)
        q = socket(AF_INET, SOCK_STREAM)
        setsockopt(q, SO_LINGER, 0)
        close(q)
    """)
    assert isinstance(got[6], Unsupported), got[6]
    assert f"SO_LINGER {{1, {linger}}}" in got[6].reason and "lingering off" in got[6].reason
    assert got[7:] == [Err("ECONNRESET"), Err("EBADF"), NewFd(), Ret(0), Ret(0)]


def test_a_lingering_listener_left_open_is_closed_at_reset(lwip: ProtocolTarget,
                                                           tmp_path: Path) -> None:
    # the harness closes what a script left open at %reset: a listener with SO_LINGER among
    # them made lwIP abort on its assertion, the %reset went unanswered and the executor was
    # discarded (its AF_UNIX directory left behind); now it is closed with lingering off
    example = next(ex for ex in EXAMPLES if ex.name == "linger")
    t = ProtocolTarget(list(lwip.argv), env={"TMPDIR": str(tmp_path)})
    try:
        t.run(example.script)  # type: ignore[attr-defined]
        t.run(example.script)  # type: ignore[attr-defined]
        assert t.notes == []
    finally:
        t.close()
    assert list(tmp_path.glob("listenspec-c-*")) == []
