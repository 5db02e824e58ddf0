"""The executor protocol's driver (listenspec.targets.protocol) against small fake executors,
and the Python kernel executor speaking the protocol (listenspec.kernel.serve).

The fakes are Python scripts that behave exactly as told (answer, hang, exit, misbehave), so
every path of the driver that protects the caller is exercised: a time limit, an executor that
dies, an answer that is not a result, a call the handshake does not list.
"""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from choices import first_choice

from listenspec.calls import BY_NAME as CALLS
from listenspec.cli import main
from listenspec.errors import ListenspecError
from listenspec.results import Lines, NewFd, Result, Ret, Unsupported
from listenspec.script import Script, parse
from listenspec.targets import LinuxTarget, target
from listenspec.targets import protocol as proto
from listenspec.targets.protocol import ProtocolTarget, parse_handshake

ROOT = Path(__file__).resolve().parents[1]


def script(text: str) -> Script:
    return parse(textwrap.dedent(text).strip() + "\n", "<test>")


def fake(tmp_path: Path, body: str, *, calls: list[str] | None = None) -> list[str]:
    """argv of a fake executor: it logs every line it reads to tmp_path/log, then runs `body`
    (with `line` bound to the line read, and `answer(text)` to reply)."""
    hs = {"stack": "fake stack", "calls": calls if calls is not None else list(CALLS)}
    prog = tmp_path / "fake_executor.py"
    prog.write_text(
        "import sys, time, os\n"
        f"log = open({str(tmp_path / 'log')!r}, 'a')\n"
        "def answer(text):\n"
        "    sys.stdout.write(text + '\\n'); sys.stdout.flush()\n"
        "log.write('<start>\\n'); log.flush()\n"
        f"answer('listenspec-executor 1 ' + {json.dumps(json.dumps(hs))})\n"
        "for line in sys.stdin:\n"
        "    line = line.rstrip('\\n')\n"
        "    log.write(line + '\\n'); log.flush()\n"
        "    if line == '%quit': break\n"
        "    if line.startswith('%'):\n"
        "        answer('%ok'); continue\n"
        + textwrap.indent(textwrap.dedent(body), "    ")
    )
    return [sys.executable, str(prog)]


def log(tmp_path: Path) -> list[str]:
    return (tmp_path / "log").read_text().splitlines()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0): look at its state
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


# --------------------------------------------------------------------------- handshake


def test_handshake_is_read_and_checked() -> None:
    hs = parse_handshake('listenspec-executor 1 {"stack": "S", "calls": ["listen"], '
                         '"observes": {"netstat": null}, "notes": "n", "future": 1}')
    assert hs.stack == "S" and hs.calls == {"listen"} and hs.observes == {"netstat": None}
    for bad in ("hello", "listenspec-executor 2 {}", "listenspec-executor 1 [1]",
                "listenspec-executor 1 {\"calls\": []}", "listenspec-executor 1 {\"stack\": \"S\"}",
                "listenspec-executor 1 {\"stack\": \"S\", \"calls\": [1]}",
                "listenspec-executor 1 {not json"):
        with pytest.raises(ValueError):
            parse_handshake(bad)


def test_a_program_that_is_no_executor_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ListenspecError, match="no executor handshake"):
        ProtocolTarget([sys.executable, "-c", "print('hello')"]).run(script("open()"))
    with pytest.raises(ListenspecError, match="cannot start"):
        ProtocolTarget([str(tmp_path / "missing")]).run(script("open()"))


def test_a_handshake_nested_too_deeply_is_refused_not_a_crash() -> None:
    # found by the fuzzer (entry point "protocol"): json.loads raised RecursionError
    with pytest.raises(ValueError, match="nested too deeply"):
        parse_handshake("listenspec-executor 1 " + "[" * 100_000)
    with pytest.raises(ValueError) as caught:  # a long echo is cut
        parse_handshake("x" * 100_000)
    assert len(str(caught.value)) < 1000


def test_an_endless_line_stops_the_executor(tmp_path: Path) -> None:
    # before, the driver buffered an unended line for as long as the executor wrote one
    argv = fake(tmp_path, """
        sys.stdout.write('0' * (3 << 20)); sys.stdout.flush(); time.sleep(30)
    """)
    start = time.monotonic()
    with ProtocolTarget(argv) as t:
        got = t.run(script("listen(1, 1)\nlisten(1, 1)"))
    assert got[0] == Unsupported(f"stopped: the executor wrote a line of over {proto.MAX_LINE} "
                                 "bytes")
    assert time.monotonic() - start < 10


def test_target_names() -> None:
    assert isinstance(target("linux"), LinuxTarget)
    assert isinstance(target("exec:prog --flag 'a b'"), ProtocolTarget)
    assert target("exec:prog --flag 'a b'").argv == ("prog", "--flag", "a b")  # type: ignore[attr-defined]
    for bad in ("exec:", "exec:'unterminated", "gvisor-or-something"):
        with pytest.raises(ListenspecError):
            target(bad)


# --------------------------------------------------------------------------- running


def test_lines_go_out_one_at_a_time_and_results_come_back(tmp_path: Path) -> None:
    argv = fake(tmp_path, "answer('fd' if '=' in line else '0')")
    with ProtocolTarget(argv) as t:
        first = t.run(script("s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 1)"))
        second = t.run(script("t = socket(AF_INET, SOCK_STREAM)"))
    assert first == [NewFd(), Ret(0)] and second == [NewFd()]
    # one executor for both scripts, each ended by %reset, the executor told to quit
    assert log(tmp_path) == ["<start>", "s = socket(AF_INET, SOCK_STREAM)", "listen(s, 1)",
                             "%reset", "t = socket(AF_INET, SOCK_STREAM)", "%reset", "%quit"]


def test_calls_the_handshake_does_not_list_are_never_sent(tmp_path: Path) -> None:
    argv = fake(tmp_path, "answer('fd' if '=' in line else '0')", calls=["socket", "listen"])
    with ProtocolTarget(argv) as t:
        got = t.run(script("""
            s = socket(AF_INET, SOCK_STREAM)
            listen(s, 1)
            a = accept(s)
            syn(s)
            listen(a, 1)
        """))
    assert isinstance(got[2], Unsupported) and "accept()" in got[2].reason
    assert isinstance(got[3], Unsupported) and "syn()" in got[3].reason
    assert got[4] == Ret(0)
    # the skipped binding still reaches the executor, as %unbind: `a` now stands for nothing
    assert log(tmp_path)[1:] == ["s = socket(AF_INET, SOCK_STREAM)", "listen(s, 1)",
                                 "%unbind a", "listen(a, 1)", "%reset", "%quit"]


def test_an_executor_that_does_not_answer_is_killed(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proto, "LINE_LIMIT", 0.5)
    argv = fake(tmp_path, """
        if line.startswith('listen'):
            answer(str(os.getpid()))
        else:
            time.sleep(3600)
    """)
    t = ProtocolTarget(argv)
    started = time.monotonic()
    got = t.run(script("listen(1, 1)\nsocket(AF_INET, SOCK_STREAM)\nlisten(2, 1)\nopen()"))
    assert time.monotonic() - started < 5
    assert isinstance(got[0], Ret)
    pid = got[0].value
    assert got[1] == Unsupported("stopped: no answer within 0.5 s")
    assert got[2:] == [Unsupported("not run: an earlier step stopped the executor")] * 2
    assert not alive(pid)
    # the next script gets a fresh executor
    assert t.run(script("listen(3, 1)")) != [Ret(pid)]
    t.close()
    assert log(tmp_path).count("<start>") == 2


def test_an_executor_that_exits_or_babbles_is_reported(tmp_path: Path) -> None:
    argv = fake(tmp_path, """
        if line.startswith('close'):
            sys.exit(3)
        answer('what?' if line.startswith('open') else '0')
    """)
    with ProtocolTarget(argv) as t:
        got = t.run(script("listen(1, 1)\nclose(1)\nlisten(1, 1)"))
        assert got[0] == Ret(0)
        assert got[1] == Unsupported("stopped: the executor exited with status 3")
        assert got[2] == Unsupported("not run: an earlier step stopped the executor")
        got = t.run(script("open()\nlisten(1, 1)"))
        assert isinstance(got[0], Unsupported) and "'what?', which is not a result" in got[0].reason


def test_reset_notes_are_kept(tmp_path: Path) -> None:
    prog = tmp_path / "noting.py"
    prog.write_text(textwrap.dedent("""
        import sys
        print('listenspec-executor 1 {"stack": "s", "calls": ["listen"]}', flush=True)
        for line in sys.stdin:
            line = line.strip()
            if line == '%quit':
                break
            print('%ok could not restore x' if line == '%reset' else '0', flush=True)
    """))
    with ProtocolTarget([sys.executable, str(prog)]) as t:
        assert t.run(script("listen(1, 1)")) == [Ret(0)]
        assert t.notes == ["could not restore x"]


def test_close_kills_an_executor_that_ignores_quit(tmp_path: Path) -> None:
    prog = tmp_path / "stubborn.py"
    prog.write_text(textwrap.dedent("""
        import os, signal, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print('listenspec-executor 1 {"stack": "s", "calls": ["listen"]}', flush=True)
        sys.stdin.readline()
        print(os.getpid(), flush=True)
        sys.stdin.readline()
        print('%ok', flush=True)
        time.sleep(3600)
    """))
    t = ProtocolTarget([sys.executable, str(prog)])
    (pid,) = t.run(script("listen(1, 1)"))
    assert isinstance(pid, Ret)
    t.close()
    assert not alive(pid.value)


# --------------------------------------------------------------------------- the kernel server

if sys.platform.startswith("linux"):
    from listenspec.kernel.netns import isolation_problem

    PROBLEM = isolation_problem()
else:  # pragma: no cover
    PROBLEM = "not Linux"
needs_netns = pytest.mark.skipif(PROBLEM is not None, reason=f"no private network namespace: "
                                                              f"{PROBLEM}")
SERVE = [sys.executable, "-m", "listenspec.kernel.serve"]
_PORT = re.compile(r":[0-9]+")


def comparable(result: Result) -> Result:
    """Ports differ between runs; a log line is compared with its port numbers masked, and
    so is the reason of an `unsupported(...)` (netstat names a shared port)."""
    if isinstance(result, Lines):
        return Lines(tuple(_PORT.sub(":<port>", line) for line in result.lines))
    if isinstance(result, Unsupported):
        return Unsupported(re.sub(r"[0-9]+", "N", result.reason))
    return result


@needs_netns
def test_the_kernel_server_gives_the_kernel_executors_traces(
        kernel_run: Callable[[object], list[Result]]) -> None:
    from listenspec.spec.examples import all_examples

    examples = [ex for ex in all_examples() if "linux" in ex.profiles]
    with ProtocolTarget(SERVE) as served:
        assert served.handshake().calls == set(CALLS)
        for ex in examples:
            direct = kernel_run(ex)
            via = served.run(ex.script)
            assert len(direct) == len(via)
            # from the first step where the system may choose (a SO_REUSEPORT group picks its
            # listener), two runs of one kernel may differ
            choice = first_choice(ex.script, direct)
            end = len(direct) if choice is None else choice
            for step, d, v in zip(ex.script.steps[:end], direct[:end], via[:end], strict=True):
                assert comparable(d) == comparable(v), (ex.name, step.line, step.text, d, v)


@needs_netns
def test_the_kernel_server_isolates_each_script() -> None:
    with ProtocolTarget(SERVE) as served:
        first = served.run(script('sysctl("net.core.somaxconn", 7)\nsysctl("net.core.somaxconn")'))
        second = served.run(script('sysctl("net.core.somaxconn")'))
    assert first == [Ret(0), Ret(7)]
    assert second == [Ret(4096)]  # a fresh namespace: the write died with the first script


def test_the_kernel_server_answers_every_line(tmp_path: Path) -> None:
    import subprocess

    lines = ["s = socket(AF_INET, SOCK_STREAM)", "listen(s, 3)", "bogus(s)", "%unbind x",
             "listen(x, 1)", "%nonsense", "%reset", "listen(s, 1)", "%quit"]
    done = subprocess.run(SERVE, input="\n".join(lines) + "\n", capture_output=True, text=True,
                          timeout=60, check=True)
    out = done.stdout.splitlines()
    assert out[0].startswith("listenspec-executor 1 ")
    assert out[1:3] == ["fd", "0"]
    assert out[3].startswith('unsupported("not a script line: <protocol>:3:1: unknown call')
    assert out[4:6] == ["%ok", "-1 EBADF"]  # %unbind: x stands for a descriptor not open
    assert out[6].startswith("%error unknown control line")
    assert out[7] == "%ok"
    # after %reset the script's names are gone: using one is an error in the line
    assert out[8].startswith('unsupported("not a script line: <protocol>:1:8: name \'s\'')
    assert len(out) == 9


@needs_netns
def test_run_with_an_exec_target_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    example = ROOT / "spec" / "examples" / "admission_tcp.lsn"
    assert main(["run", str(example), "--target",
                 f"exec:{sys.executable} -m listenspec.kernel.serve"]) == 0
    out, err = capsys.readouterr()
    assert err.startswith("# target: Linux ") and "listenspec.kernel.serve" in err
    assert "connect(c4, s) = -1 EINPROGRESS" in out.splitlines()
    assert main(["run", str(example), "--target", "exec:"]) == 2


def planted_server(tmp_path: Path, run_step: str, limit: float = 5.0) -> list[str]:
    """argv of the kernel server with Executor.run_step replaced (the forked children inherit
    it): a bug or a stuck call inside the executor, planted."""
    prog = tmp_path / "planted_serve.py"
    prog.write_text(
        "import sys, time\n"
        "from listenspec.kernel import executor, serve\n"
        "def run_step(self, step):\n"
        + textwrap.indent(textwrap.dedent(run_step).strip(), "    ") + "\n"
        "executor.Executor.run_step = run_step\n"
        f"serve.STEP_LIMIT = {limit}\n"
        "sys.exit(serve.main(['--no-isolate']))\n"
    )
    return [sys.executable, str(prog)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel server is Linux's")
def test_the_kernel_server_survives_a_failing_executor(tmp_path: Path) -> None:
    argv = planted_server(tmp_path, "raise RuntimeError('planted')")
    with ProtocolTarget(argv) as served:
        for _ in range(2):  # each script gets a fresh child, and the server goes on
            got = served.run(script("listen(1, 1)\nlisten(2, 1)"))
            assert got == [Unsupported("stopped: the kernel executor failed (RuntimeError: "
                                       "planted)"),
                           Unsupported("not run: the kernel executor had failed")]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel server is Linux's")
def test_the_kernel_server_bounds_each_step(tmp_path: Path) -> None:
    argv = planted_server(tmp_path, """
        if step.call.name == "open":
            time.sleep(3600)
        from listenspec.results import Ret
        return Ret(0)
    """, limit=0.5)
    with ProtocolTarget(argv) as served:
        started = time.monotonic()
        got = served.run(script("listen(1, 1)\nopen()\nlisten(2, 1)"))
        assert time.monotonic() - started < 5
        assert got == [Ret(0), Unsupported("stopped: the step took longer than 0.5 s"),
                       Unsupported("not run: an earlier step took longer than 0.5 s")]
        assert served.run(script("listen(1, 1)")) == [Ret(0)]  # the server itself went on


@needs_netns
def test_the_kernel_server_keeps_its_child_and_gives_each_script_a_fresh_namespace() -> None:
    import io

    from listenspec.kernel import serve
    from listenspec.kernel.probes import probed

    out = io.BytesIO()
    server = serve.Server(out, isolated=True, probes=probed(isolated=True))
    lines = ['sysctl("net.core.somaxconn")', 'sysctl("net.core.somaxconn", 7)',
             "s = socket(AF_INET, SOCK_STREAM)", "listen(s, 100)", "netstat(s)",
             "c = socket(AF_INET, SOCK_STREAM)", "connect(c, s)"]
    pids, namespaces = [], []
    try:
        for _ in range(3):
            for line in lines:
                server.script_line(line)
            assert server.control("%reset")
            child = server.child
            assert child is not None and child.pid > 0  # kept for the next script
            pids.append(child.pid)
            namespaces.append(os.readlink(f"/proc/{child.pid}/ns/net"))
            fds = set(os.listdir(f"/proc/{child.pid}/fd"))
            assert len(fds) <= 6, fds  # 0, 1, 2, the two pipes and the namespace it makes from
    finally:
        server.close()
    answers = out.getvalue().decode().splitlines()
    # each script saw the default, not the 7 the one before wrote, and nothing it left open
    assert answers == ["4096", "0", "fd", "0", "0/0/7", "fd", "0", "%ok"] * 3
    assert len(set(pids)) == 1 and len(set(namespaces)) == 3
    assert os.readlink("/proc/self/ns/net") not in namespaces
    assert server.child is None
    with pytest.raises(ChildProcessError):
        os.waitpid(pids[0], os.WNOHANG)  # close() ended it and reaped it
