"""The reference C executor (executors/c): built here, then held to the Python kernel executor
on every example script the linux profile applies to, line by line, and to listenspec's own
parser on malformed lines.

Skipped, saying why, where there is no C compiler; the comparison with the kernel also needs
a private network namespace (both executors run each script in one).
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from choices import first_choice
from test_kernel_executor import SYN_TO_A_CLOSED_CHILD
from test_survivors import MIGRATE_SCRIPT

from listenspec.calls import BY_NAME as CALLS
from listenspec.checker import check
from listenspec.kernel import run_on_kernel
from listenspec.kernel.netns import isolation_problem
from listenspec.literals import to_bytes
from listenspec.models.profiles import PROFILES
from listenspec.results import Lines, Queue, Result, Ret, Unsupported, render
from listenspec.runner import run_model
from listenspec.script import Script, parse
from listenspec.spec.examples import all_examples
from listenspec.targets.protocol import ProtocolTarget

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "executors" / "c" / "listenspec-exec.c"
CC = shutil.which("cc") or shutil.which("gcc")

if not sys.platform.startswith("linux"):  # pragma: no cover
    pytest.skip("the comparison runs the Python kernel executor, which needs Linux",
                allow_module_level=True)
if CC is None:
    pytest.skip("no C compiler (cc) to build executors/c with", allow_module_level=True)

PROBLEM = isolation_problem()
needs_netns = pytest.mark.skipif(PROBLEM is not None, reason=f"no private network namespace: "
                                                              f"{PROBLEM}")
LINUX_EXAMPLES = [ex for ex in all_examples() if "linux" in ex.profiles]
_PORT = re.compile(r":[0-9]+")
_PORT_NUMBER = re.compile(r"[0-9]+")


def build(out: Path, *flags: str) -> Path:
    assert CC is not None
    done = subprocess.run([CC, "-O2", "-Wall", "-Wextra", "-Werror", *flags, "-o", str(out),
                           str(SOURCE)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("c") / "listenspec-exec")


@pytest.fixture(scope="module")
def c_target(exe: Path) -> Iterator[ProtocolTarget]:
    t = ProtocolTarget([str(exe)])
    yield t
    t.close()


def running(pid: int) -> bool:
    """Is the process there, and not a zombie? (It may vanish between two looks.)"""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def comparable(result: Result) -> Result:
    """Ports differ between runs; a log line is compared with its port numbers masked."""
    if isinstance(result, Lines):
        return Lines(tuple(_PORT.sub(":<port>", line) for line in result.lines))
    return result


def trace_of(script: Script, results: list[Result], name: str) -> Script:
    return parse("".join(f"{s.text} = {render(r)}\n"
                         for s, r in zip(script.steps, results, strict=True)), name, trace=True)


@needs_netns
@pytest.mark.parametrize("example", LINUX_EXAMPLES, ids=[ex.name for ex in LINUX_EXAMPLES])
def test_same_trace_as_the_python_kernel_executor(
        example: object, c_target: ProtocolTarget,
        kernel_run: Callable[[object], list[Result]]) -> None:
    script = example.script  # type: ignore[attr-defined]
    python = kernel_run(example)
    c = c_target.run(script)
    choice = first_choice(script, python)
    end = len(script.steps) if choice is None else choice
    assert len(python) == len(c) == len(script.steps)
    for step, p, k in zip(script.steps[:end], python[:end], c[:end], strict=True):
        if isinstance(p, Unsupported) and isinstance(k, Unsupported):
            # both executors decline (netstat of a SO_REUSEPORT member): for the same reason
            assert _PORT_NUMBER.sub("N", p.reason) == _PORT_NUMBER.sub("N", k.reason), step.line
            continue
        # Here (root, a private namespace per script) both executors perform every call the
        # other performs: a line only one of them declines is a difference too.
        assert comparable(p) == comparable(k), (
            f"line {step.line} `{step.text}`: Python `{render(p)}`, C `{render(k)}`")
    if choice is not None:
        # From the first choice on, the system may pick differently in each run: the C trace
        # must be one the linux profile allows, as the Python executor's is.
        verdicts = check(trace_of(script, c, "c.trace"), PROFILES["linux"])
        bad = [v for v in verdicts if not v.ok]
        assert not bad, (f"line {bad[0].step.line} `{bad[0].step.text}`: C "
                         f"`{render(bad[0].actual)}`, linux profile `{render(bad[0].expected)}`")


def test_first_choice_is_the_first_step_with_alternatives() -> None:
    # Two SO_REUSEPORT listeners on one port: the connect may reach either (on Linux a hash
    # of the 4-tuple picks it); before that line every answer is determined.
    script = parse("a = socket(AF_INET, SOCK_STREAM)\nsetsockopt(a, SO_REUSEPORT, 1)\nbind(a)"
                   "\nb = socket(AF_INET, SOCK_STREAM)\nsetsockopt(b, SO_REUSEPORT, 1)\n"
                   "bind(b, a)\nlisten(a, 0)\nlisten(b, 0)\nc = socket(AF_INET, SOCK_STREAM)"
                   "\nconnect(c, a)\n")
    assert first_choice(script, run_model_results(script)) == 9
    one = parse("a = socket(AF_INET, SOCK_STREAM)\nbind(a)\nlisten(a, 0)\n"
                "c = socket(AF_INET, SOCK_STREAM)\nconnect(c, a)\n")
    assert first_choice(one, run_model_results(one)) is None


def run_model_results(script: Script) -> list[Result]:
    return [e.result for e in run_model(script, PROFILES["linux"])]


# Every call and option of issue 10 part 1 in the states where their answers differ: a fresh,
# bound, listening, connected, half-closed, reset and closed socket, UDP and AF_UNIX. Only one
# listener listens when the connection is made (a SO_REUSEPORT group picks its member at
# random), so each line has one answer.
NEW_CALLS = r"""
f = socket(AF_INET, SOCK_STREAM)
poll(f)
recv(f)
shutdown(f, SHUT_RDWR)
s = socket(AF_INET, SOCK_STREAM)
setsockopt(s, SO_REUSEPORT, 1)
getsockopt(s, SO_REUSEPORT)
setsockopt(s, SO_REUSEPORT_LB, 1)
getsockopt(s, SO_REUSEPORT_LB)
getsockopt(s, SO_LINGER)
bind(s)
t = socket(AF_INET, SOCK_STREAM)
bind(t, s)
setsockopt(t, SO_REUSEPORT, 1)
bind(t, s)
listen(s, 2)
netstat(s)
poll(s)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
poll(s)
poll(c)
send(c, "a\x00\xff\"\\\n\t\r\x7f~")
a = accept(s)
recv(a)
recv(a)
listen(t, 2)
netstat(s)
shutdown(c, SHUT_WR)
poll(a)
recv(a)
recv(a)
shutdown(a, SHUT_RD)
setsockopt(a, SO_LINGER, 0)
getsockopt(a, SO_LINGER)
close(a)
poll(a)
poll(c)
recv(c)
recv(c)
shutdown(c, SHUT_RDWR)
close(t)
shutdown(s, SHUT_RD)
poll(s)
poll(4096)
u = socket(AF_UNIX, SOCK_STREAM)
setsockopt(u, SO_REUSEPORT, 1)
bind(u)
v = socket(AF_UNIX, SOCK_STREAM)
bind(v, u)
close(u)
bind(v, u)
setsockopt(v, SO_LINGER, "x")
setsockopt(v, SO_LINGER, NULL)
d = socket(AF_INET, SOCK_DGRAM)
poll(d)
recv(d)
shutdown(d, SHUT_RD)
"""


@needs_netns
def test_the_new_calls_give_the_python_executors_trace(c_target: ProtocolTarget) -> None:
    script = parse(NEW_CALLS.lstrip(), "<new calls>")
    assert {s.call.name for s in script.steps} >= {"recv", "shutdown", "poll", "bind"}
    python = run_on_kernel(script)
    c = c_target.run(script)
    for step, p, k in zip(script.steps, python, c, strict=True):
        if step.text == "netstat(s)" and isinstance(p, Unsupported):
            # two listeners share the port: neither executor can tell whose requests are whose
            assert isinstance(k, Unsupported) and "share port" in k.reason, (step.line, k)
            continue
        assert p == k, f"line {step.line} `{step.text}`: Python `{render(p)}`, C `{render(k)}`"
    rendered = {s.line: render(r) for s, r in zip(script.steps, c, strict=True)}
    assert rendered[25] == r'"a\x00\xff\"\\\n\t\r\x7f~"'  # the format's escapes
    assert rendered[22] == "POLLOUT" and rendered[37] == "POLLNVAL"  # a closed NAME


# The same calls on what is not a TCP connection: a file, raw descriptors, AF_UNIX datagram and
# SEQPACKET sockets (an empty message reads as 0), UDP SO_REUSEPORT groups, bind(S, T) across
# families.
EDGES = r"""
o = open()
poll(o)
recv(o)
shutdown(o, SHUT_RD)
setsockopt(o, SO_LINGER, 1)
getsockopt(o, SO_LINGER)
setsockopt(o, SO_REUSEPORT, 1)
s = socket(AF_INET, SOCK_STREAM)
t = socket(AF_INET, SOCK_STREAM)
bind(s, t)
u = socket(AF_UNIX, SOCK_DGRAM)
bind(u)
w = socket(AF_UNIX, SOCK_DGRAM)
bind(w, u)
connect(w, u)
send(w, "d\x00g")
poll(u)
recv(u)
recv(u)
poll(u)
shutdown(w, SHUT_RDWR)
poll(w)
x = socket(AF_INET6, SOCK_STREAM)
bind(x, u)
bind(s)
bind(x, s)
y = socket(AF_INET6, SOCK_DGRAM)
bind(y)
setsockopt(y, SO_REUSEPORT, 1)
getsockopt(y, SO_REUSEPORT)
z = socket(AF_INET6, SOCK_DGRAM)
setsockopt(z, SO_REUSEPORT, 1)
bind(z, y)
setsockopt(z, SO_LINGER, 2)
getsockopt(z, SO_LINGER)
setsockopt(z, SO_LINGER, NULL)
setsockopt(z, SO_REUSEPORT_LB, 0)
poll(0)
recv(99)
shutdown(99, SHUT_WR)
q = socket(AF_UNIX, SOCK_SEQPACKET)
bind(q)
listen(q, 1)
r = socket(AF_UNIX, SOCK_SEQPACKET)
connect(r, q)
poll(q)
a = accept(q)
send(r, "")
send(r, "m")
recv(a)
recv(a)
recv(a)
close(r)
poll(a)
recv(a)
"""


@needs_netns
def test_the_new_calls_off_the_tcp_path_give_the_python_executors_trace(
        c_target: ProtocolTarget) -> None:
    script = parse(EDGES.lstrip(), "<edges>")
    python = run_on_kernel(script)
    c = c_target.run(script)
    assert not any(isinstance(r, Unsupported) for r in python)
    for step, p, k in zip(script.steps, python, c, strict=True):
        assert p == k, f"line {step.line} `{step.text}`: Python `{render(p)}`, C `{render(k)}`"


# A connect the full listener drops: the executor abandons the attempt. With lingering on and
# a zero timeout that close counts TCPAbortOnData (measured on Linux 6.18), a count the script
# never caused; both executors close with lingering off, and the count stays 0.
ABANDONED = """s = socket(AF_INET, SOCK_STREAM)
listen(s, 0)
a = socket(AF_INET, SOCK_STREAM)
connect(a, s)
b = socket(AF_INET, SOCK_STREAM)
connect(b, s)
counter("TCPAbortOnData")
"""


@needs_netns
def test_an_abandoned_connect_leaves_no_count(c_target: ProtocolTarget) -> None:
    script = parse(ABANDONED, "<abandoned>")
    c = c_target.run(script)
    assert [render(r) for r in c[-2:]] == ["-1 EINPROGRESS", "0"]
    assert c == run_on_kernel(script)


@needs_netns
def test_syn_to_a_closed_accepted_socket_goes_to_its_port(c_target: ProtocolTarget) -> None:
    script = parse(SYN_TO_A_CLOSED_CHILD, "<syn>")
    c = c_target.run(script)
    assert [render(r) for r in c[-2:]] == ["0", "0/1/2"]
    assert c == run_on_kernel(script)


@needs_netns
def test_the_migration_counters_under_reuseport_are_declined_as_the_python_executor_does(
        c_target: ProtocolTarget) -> None:
    # which member each SYN reached is the group's hash of the ports drawn: both executors
    # answer unsupported(...) with the same reason, and compare the counters (both 0) where
    # nothing can migrate
    # (the script of test_survivors' test of the Python executor)
    counters = 'counter("TCPMigrateReqSuccess")\ncounter("TCPMigrateReqFailure")\n'
    script = parse(MIGRATE_SCRIPT + counters, "<migrating>")
    c = c_target.run(script)
    assert all(render(r).startswith('unsupported("counter: TCPMigrateReq') for r in c[-2:]), c
    assert c[-2:] == run_on_kernel(script)[-2:]
    still = parse(MIGRATE_SCRIPT.replace('sysctl("net.ipv4.tcp_migrate_req", 1)\n', "")
                  + counters, "<still>")
    assert [render(r) for r in c_target.run(still)[-2:]] == ["0", "0"]


@needs_netns
def test_many_scripts_one_process_and_nothing_left_behind(exe: Path) -> None:
    before = set(glob.glob("/tmp/listenspec-c-*"))
    with ProtocolTarget([str(exe)]) as t:
        assert t.handshake().calls == set(CALLS)
        runs = [t.run(parse('sysctl("net.core.somaxconn", 5)\ns = socket(AF_UNIX, SOCK_STREAM)'
                            '\nbind(s)\nlisten(s, 9)\nnetstat(s)\n')) for _ in range(3)]
        pid = t._proc.popen.pid  # type: ignore[union-attr]
    assert all(render(r[-1]) == "0/0/5" for r in runs)  # each script: a fresh namespace, the
    assert render(t.run(parse('sysctl("net.core.somaxconn")\n'))[0]) == "4096"  # write gone
    t.close()
    # AF_UNIX names removed (<=: another process may remove its own meanwhile)
    assert set(glob.glob("/tmp/listenspec-c-*")) <= before
    assert not running(pid)


@needs_netns
def test_a_killed_executor_removes_the_running_scripts_names(exe: Path, tmp_path: Path) -> None:
    # the driver's kill is SIGTERM to the executor, then SIGKILL to its group: the executor,
    # waiting on a script's process, ends it and removes the script's AF_UNIX directory (a
    # SIGKILL alone left it: seen with lwIP aborting in a script's %reset)
    t = ProtocolTarget([str(exe)], env={"TMPDIR": str(tmp_path)})
    proc = t._started()
    assert proc.ask("s = socket(AF_UNIX, SOCK_STREAM)", 10) == "fd"
    assert proc.ask("bind(s)", 10) == "0"
    made = glob.glob(str(tmp_path / "listenspec-c-*"))
    assert len(made) == 1 and os.listdir(made[0])  # the directory, with the name in it
    pid = proc.popen.pid
    proc.kill()
    t._proc = None
    assert glob.glob(str(tmp_path / "listenspec-c-*")) == []
    assert not running(pid)


@needs_netns
def test_file_mode_prints_the_trace(exe: Path) -> None:
    example = next(ex for ex in LINUX_EXAMPLES if ex.name == "admission_tcp")
    done = subprocess.run([str(exe), str(example.path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0
    assert done.stderr.startswith("# target: Linux ")
    trace = parse(done.stdout, "c.trace", trace=True)
    assert [s.text for s in trace.steps] == [s.text for s in example.script.steps]
    python = run_on_kernel(example.script)
    assert [s.expected for s in trace.steps] == python


def test_without_a_namespace_host_changes_are_refused(exe: Path) -> None:
    done = subprocess.run([str(exe), "--no-isolate", "-"], capture_output=True, text=True,
                          timeout=60, input='sysctl("net.core.somaxconn", 8)\n'
                                            'sysctl("kern.ipc.nosuch", 8)\n'
                                            's = socket(AF_INET, SOCK_STREAM)\nlisten(s, 1)\n'
                                            'syn(s)\nsysctl("net.core.somaxconn")\n')
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith('sysctl("net.core.somaxconn", 8) = unsupported("sysctl writes '
                               'need a private network namespace')
    assert lines[1] == 'sysctl("kern.ipc.nosuch", 8) = -1 ENOENT'
    assert lines[4].startswith('syn(s) = unsupported("syn() is not supported by the C executor '
                               'outside a private network namespace')
    assert "current network namespace (isolation not requested" in done.stderr


# Malformed lines: the C parser says what listenspec's parser says, at the same column.
MALFORMED = [
    "x = listen(s, 1)",
    "s = socket(AF_INET, SOCK_STREAM)\nlisten(s 1)",
    "listen(3, 1",
    'send(3, "a\\q")',
    'send(3, "a\\x4")',
    'send(3, "abc)',
    "socket(AF_FOO, SOCK_STREAM)",
    "listen(99999999999999999999, 1)",
    "listen(1, 2147483648)",
    "listen(-1, 1)",
    "listen(1.5, 1)",
    "sleep(-1)",
    "= socket(AF_INET, SOCK_STREAM)",
    "X = socket(AF_INET, SOCK_STREAM)",
    "socket(AF_INET, SOCK_STREAM) = fd",
    "socket(AF_INET, SOCK_STREAM) x",
    "setsockopt(0, SO_ERROR, NUL)",
    "listen(1, 1, 1)",
    "sysctl()",
    "listen(1,, 1)",
    "listen(1, 1,)",
    "frobnicate(1)",
    "listen 1",
    "n = listen(1, 1)",
    "listen(1, @)",
    "s = accept(1)\ns2 = close(s)",
]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_lines_get_listenspecs_own_message(exe: Path, tmp_path: Path,
                                                     text: str) -> None:
    from listenspec.errors import ListenspecError

    path = tmp_path / "bad.lsn"
    path.write_text(text + "\n")
    with pytest.raises(ListenspecError) as python:
        parse(text + "\n", str(path))
    done = subprocess.run([str(exe), str(path)], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.strip() == str(python.value)


def test_strings_reach_the_socket_as_listenspec_sends_them(exe: Path) -> None:
    # \xHH is one byte; other text is UTF-8, so é is two bytes and € three (literals.to_bytes).
    text = ('s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 1)\nc = socket(AF_INET, SOCK_STREAM)\n'
            'connect(c, s)\nsend(c, "\\x00\\xff\\r\\n\\t\\\\\\"é€")\n')
    done = subprocess.run([str(exe), "--no-isolate", "-"], capture_output=True, text=True,
                          timeout=30, input=text)
    sent = parse(text, "<send>").steps[-1].call.args[1]
    assert isinstance(sent, str) and len(to_bytes(sent)) == 12  # 7 escapes, é 2 bytes, € 3
    assert done.stdout.splitlines()[-1].endswith(" = 12")


@needs_netns
def test_the_portable_build_performs_only_posix(tmp_path: Path) -> None:
    portable = build(tmp_path / "listenspec-exec-portable", "-DLSN_PORTABLE")
    with ProtocolTarget([str(portable)]) as t:
        hs = t.handshake()
        assert "portable build" in hs.stack
        assert "syn" not in hs.calls and "syslog" not in hs.calls
        for ex in LINUX_EXAMPLES:
            python = run_on_kernel(ex.script)
            c = t.run(ex.script)
            choice = first_choice(ex.script, python)  # from there on, a run may choose anew
            end = len(ex.script.steps) if choice is None else choice
            for step, p, k in zip(ex.script.steps[:end], python[:end], c[:end], strict=True):
                if step.call.name in ("netstat", "counter", "sysctl", "syn", "syslog"):
                    assert isinstance(k, Unsupported), (ex.name, step.text, k)
                elif not isinstance(p, Unsupported) and ex.name not in ("syn_queue", "syncache"):
                    # where no unperformed call changed the state, POSIX alone agrees
                    assert comparable(p) == comparable(k), (ex.name, step.text, p, k)


@needs_netns
def test_conform_runs_on_the_c_executor(exe: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from listenspec import conform
    from listenspec.cli import main

    with ProtocolTarget([str(exe)]) as stack:
        # four workers (each with an executor of its own): the scripts sleep() half a second each
        stats, report = conform.conform("linux", 60, None, tmp_path, stack=stack, workers=4)
    assert stats.mismatches == 0, report  # the same sample is clean on the Python executor
    assert stats.scripts == 60 and stats.steps > stats.skipped_steps
    assert main(["conform", "--examples", "10", "--target", f"exec:{exe}", "--json",
                 "--out", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["scripts"] == 10 and "C executor" in err


RUNSC = shutil.which("runsc")


@pytest.mark.skipif(RUNSC is None or os.geteuid() != 0,
                    reason="needs gVisor's runsc (Debian: apt-get install runsc) and root")
def test_in_a_sandbox_an_observation_that_fails_its_probe_is_unsupported(exe: Path) -> None:
    # gVisor's netstack (2022-12) lacks sock_diag, reads SO_ACCEPTCONN 0 for an AF_UNIX
    # listener and lists TcpExt without values: an executor that trusted them would print
    # 0/0/0 for a listener holding a connection, or a counter it never read.
    assert RUNSC is not None
    with ProtocolTarget([RUNSC, "--network=none", "do", str(exe)]) as sandboxed:
        got = sandboxed.run(parse(
            "s = socket(AF_UNIX, SOCK_STREAM)\nbind(s)\nlisten(s, 4)\n"
            "c = socket(AF_UNIX, SOCK_STREAM)\nconnect(c, s)\nnetstat(s)\n"
            "t = socket(AF_INET, SOCK_STREAM)\nlisten(t, 4)\n"
            "d = socket(AF_INET, SOCK_STREAM)\nconnect(d, t)\nnetstat(t)\n"
            'counter("ListenOverflows")\n'))
    assert render(got[4]) == "0" and render(got[9]) == "0"  # the connections are made
    for queue in (got[5], got[10]):
        assert isinstance(queue, Unsupported) or (isinstance(queue, Queue) and queue.qlen >= 1)
    assert isinstance(got[11], Unsupported | Ret)
    assert not any(isinstance(r, Unsupported) and r.reason.startswith(("stopped", "not run"))
                   for r in got)
