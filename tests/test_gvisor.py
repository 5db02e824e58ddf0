"""`--target gvisor`: the kernel executor inside one gVisor sandbox, and the gvisor profile.

What needs gVisor is skipped, saying why, where `runsc --network=none do` cannot run (not
Linux, no runsc, not root, or a sandbox that does not start). The rest holds the executor to
its rule on this machine's kernel: an observation whose known-answer probe failed is
`unsupported("why")`, never a value.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from listenspec import conform
from listenspec.cli import main
from listenspec.errors import ListenspecError
from listenspec.kernel.counters import Counters
from listenspec.results import Err, Queue, Result, Ret, Unsupported, render
from listenspec.script import parse
from listenspec.spec.examples import all_examples

if not sys.platform.startswith("linux"):  # pragma: no cover
    pytest.skip("the kernel executor runs on Linux only", allow_module_level=True)

from listenspec.kernel.executor import Executor
from listenspec.kernel.probes import FAMILIES, Probed, probe_here
from listenspec.targets.gvisor import GVisorTarget, gvisor_problem


def _sandbox_problem() -> str | None:
    problem = gvisor_problem()
    if problem is not None:
        return problem
    try:
        with GVisorTarget() as stack:
            stack.describe()  # the handshake: the sandbox started and the executor answers
    except ListenspecError as exc:
        return f"runsc cannot start a sandbox here: {exc}"
    return None


PROBLEM = _sandbox_problem()
needs_gvisor = pytest.mark.skipif(PROBLEM is not None, reason=f"no gVisor sandbox: {PROBLEM}")

#: what the driver and the server answer when the executor itself failed or was stopped
BROKEN = ("stopped", "not run")


def run_here(text: str, probes: Probed) -> list[Result]:
    """A script on this process's own network namespace (loopback only), observed only by
    the mechanisms `probes` trusts."""
    script = parse(textwrap.dedent(text).strip() + "\n", "<test>")
    executor = Executor(isolated=False, probes=probes)
    try:
        return [executor.run_step(step) for step in script.steps]
    finally:
        executor.close()


# --------------------------------------------------------------------------- without gVisor


def test_a_mechanism_that_failed_its_probe_is_never_a_value() -> None:
    # Linux's sock_diag and SO_ACCEPTCONN are trustworthy: the probes find so here ...
    good = probe_here(unix_dir=None)
    assert good.diag["AF_INET"] is None and good.acceptconn["AF_UNIX"] is None
    text = """
        s = socket(AF_INET, SOCK_STREAM)
        bind(s)
        listen(s, 3)
        netstat(s)
        u = socket(AF_UNIX, SOCK_STREAM)
        bind(u)
        listen(u, 3)
        netstat(u)
        v = socket(AF_UNIX, SOCK_STREAM)
        netstat(v)
    """
    assert run_here(text, good)[3] == Queue(0, 0, 3)
    # ... and where they fail (as gVisor's do), netstat of a listener says why
    bad = attrs.evolve(good, diag=dict.fromkeys(FAMILIES, "no sock_diag netlink socket"),
                       acceptconn={**good.acceptconn, "AF_UNIX": "SO_ACCEPTCONN reads 0"})
    got = run_here(text, bad)
    assert isinstance(got[3], Unsupported) and "no sock_diag" in got[3].reason
    assert isinstance(got[7], Unsupported)
    assert got[9] == Queue(0, 0, 0)  # told by /proc/net/unix, which passed its probe
    # and with /proc/net/unix untrusted too, whether an AF_UNIX socket listens is unknown
    worse = attrs.evolve(bad, proc_unix="not listed")
    assert isinstance(run_here(text, worse)[9], Unsupported)


def test_counters_listed_without_values_are_unsupported(tmp_path: Path) -> None:
    # gVisor 2022-12's /proc/net/netstat: the TcpExt header, and no line of values
    netstat = tmp_path / "netstat"
    netstat.write_text("TcpExt: SyncookiesSent ListenOverflows ListenDrops\n"
                       "IpExt: InNoRoutes InOctets\nIpExt: 0 5\n")
    counters = Counters()
    counters.close()
    counters._fds = [os.open(netstat, os.O_RDONLY)]
    try:
        assert counters.lookup("ListenOverflows") is None
        assert counters.unvalued("ListenOverflows") == "TcpExt.ListenOverflows"
        assert counters.unvalued("TcpExtListenDrops") == "TcpExt.ListenDrops"
        assert counters.lookup("InOctets") == 5 and counters.unvalued("InOctets") is None
        assert counters.unvalued("NoSuchCounter") is None
    finally:
        counters.close()


def test_a_sandboxed_sysctl_write_is_reported_for_restoring(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    from listenspec.kernel import sysctl

    root = tmp_path / "sys"
    (root / "net" / "core").mkdir(parents=True)
    knob = root / "net" / "core" / "somaxconn"
    knob.write_text("4096\n")
    monkeypatch.setattr(sysctl, "PROC_SYS", str(root))
    wrote: list[tuple[str, bytes]] = []
    # (a /proc file is rewritten whole by one write; this plain file keeps its length)
    assert sysctl.sysctl_write("net.core.somaxconn", 8888, isolated=False, sandboxed=True,
                               on_write=lambda p, old: wrote.append((p, old))) == Ret(0)
    assert knob.read_text() == "8888\n" and wrote == [(str(knob), b"4096\n")]
    assert sysctl.sysctl_restore(*wrote[0]) is None and knob.read_text() == "4096\n"
    # outside a namespace or a sandbox made for the run: refused, nothing written
    got = sysctl.sysctl_write("net.core.somaxconn", 8888, isolated=False)
    assert isinstance(got, Unsupported) and knob.read_text() == "4096\n"


def test_the_target_says_why_it_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from listenspec.targets import gvisor

    monkeypatch.setattr(gvisor.shutil, "which", lambda name: None)
    with pytest.raises(ListenspecError, match="runsc is not installed"):
        GVisorTarget()
    assert main(["run", str(all_examples()[0].path), "--target", "gvisor"]) == 2


# --------------------------------------------------------------------------- in gVisor


@pytest.fixture(scope="module")
def gvisor() -> Iterator[GVisorTarget]:
    stack = GVisorTarget()
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def example_runs(gvisor: GVisorTarget) -> dict[str, list[Result]]:
    """Every example, run once on gVisor (two tests read these runs: a run takes as long as
    the example's sleeps)."""
    return {ex.name: gvisor.run(ex.script) for ex in all_examples()}


@needs_gvisor
def test_every_example_runs_and_every_line_is_a_result_or_unsupported(
        example_runs: dict[str, list[Result]]) -> None:
    for ex in all_examples():
        results = example_runs[ex.name]
        assert len(results) == len(ex.script.steps)
        for step, r in zip(ex.script.steps, results, strict=True):
            if isinstance(r, Unsupported):
                assert r.reason and not r.reason.startswith(BROKEN), (ex.name, step.text, r)


@needs_gvisor
def test_run_target_gvisor_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    ex = next(e for e in all_examples() if e.name == "admission_tcp")
    assert main(["run", str(ex.path), "--target", "gvisor"]) == 0
    out, err = capsys.readouterr()
    assert "gVisor netstack (runsc" in err
    lines = out.splitlines()
    assert [line.rsplit(" = ", 1)[0] for line in lines] == [s.text for s in ex.script.steps]


@needs_gvisor
def test_what_gvisor_lacks_is_unsupported_and_what_it_has_is_measured(
        gvisor: GVisorTarget) -> None:
    got = gvisor.run(parse(textwrap.dedent("""
        s = socket(AF_INET, SOCK_STREAM)
        listen(s, 3)
        c = socket(AF_INET, SOCK_STREAM)
        connect(c, s)
        netstat(s)
        u = socket(AF_UNIX, SOCK_STREAM)
        bind(u)
        netstat(u)
        listen(u, 3)
        netstat(u)
        getsockopt(u, SO_ACCEPTCONN)
        counter("ListenOverflows")
        syslog()
        syn(s)
        b = socket(AF_INET, SOCK_STREAM)
        bind(b)
        listen(b, 3)
        syn(b)
        sysctl("net.core.somaxconn", 8)
    """).strip() + "\n"))
    assert got[3] == Ret(0)
    assert isinstance(got[4], Unsupported) and "sock_diag" in got[4].reason  # no sock_diag
    assert got[7] == Queue(0, 0, 0)  # not listening: /proc/net/unix says so (checked)
    assert isinstance(got[9], Unsupported)  # a listener: its queue cannot be read
    assert got[10] == Ret(0)  # what gVisor answers for an AF_UNIX listener (Linux: 1)
    assert isinstance(got[11], Unsupported) and "without a value" in got[11].reason
    assert isinstance(got[12], Unsupported)  # no /dev/kmsg
    assert got[13] == Ret(0)  # a SYN written into the TUN device reaches a wildcard listener
    assert isinstance(got[17], Unsupported) and "wildcard" in got[17].reason
    assert got[18] == Err("EIO")  # somaxconn is a read-only file in gVisor


@needs_gvisor
def test_the_gvisor_sysctls_are_read_only_at_each_end_of_the_range(gvisor: GVisorTarget) -> None:
    # tests/test_profiles.py SYSCTL_TABLE: each gvisor sysctl reads its default and refuses
    # every write with EIO (the names of the other profiles: ENOENT), as the profile says
    from test_profiles import sysctl_edges

    text, want = sysctl_edges("gvisor")
    assert [render(r) for r in gvisor.run(parse(text))] == want


@needs_gvisor
def test_an_unconnected_datagram_sockets_shutdown_marks_nothing_on_gvisor(
        gvisor: GVisorTarget) -> None:
    # tests/test_survivors.py DGRAM_SHUT: ENOTCONN, and the send() after a connect goes out
    from test_survivors import DGRAM_SHUT

    assert [render(r) for r in gvisor.run(parse(DGRAM_SHUT))][-2:] == ["0", "1"]


@needs_gvisor
def test_a_bound_unconnected_datagram_sockets_shutdown_succeeds_on_gvisor(
        gvisor: GVisorTarget) -> None:
    from test_survivors import DGRAM_BOUND_SHUT

    assert [render(r) for r in gvisor.run(parse(DGRAM_BOUND_SHUT))][-1] == "0"


@needs_gvisor
def test_a_sysctl_a_script_wrote_is_put_back_before_the_next(gvisor: GVisorTarget) -> None:
    # net.ipv4.tcp_sack is writable in gVisor; the sandbox is shared by every script
    before = gvisor.run(parse('sysctl("net.ipv4.tcp_sack")\n'))
    assert isinstance(before[0], Ret)
    flipped = 1 - before[0].value
    assert gvisor.run(parse(f'sysctl("net.ipv4.tcp_sack", {flipped})\n'
                            'sysctl("net.ipv4.tcp_sack")\n')) == [Ret(0), Ret(flipped)]
    assert gvisor.run(parse('sysctl("net.ipv4.tcp_sack")\n')) == before


@needs_gvisor
def test_the_gvisor_profile_matches_gvisor_on_a_sample(tmp_path: Path,
                                                       gvisor: GVisorTarget) -> None:
    stats, report = conform.conform("gvisor", 40, None, tmp_path, stack=gvisor)
    assert stats.mismatches == 0, report
    assert stats.scripts == 40 and stats.steps > stats.skipped_steps


@needs_gvisor
def test_gvisor_differs_from_linux_and_the_difference_is_shrunk(tmp_path: Path,
                                                                gvisor: GVisorTarget) -> None:
    stats, report = conform.conform("linux", 100, None, tmp_path, stack=gvisor)
    assert stats.mismatches == 1 and "<-- differs" in report and "target" in report
    shrunk = parse(Path(stats.saved or "").read_text())
    assert len(shrunk.steps) <= 5, report


@needs_gvisor
def test_conform_cli_on_gvisor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a fixed sample (seed 6, at most 12 steps: 200 such scripts gave 0 mismatches), one worker
    assert main(["conform", "--target", "gvisor", "--profile", "gvisor", "--examples", "15",
                 "--seed", "6", "--max-steps", "12", "--workers", "1",
                 "--json", "--out", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["scripts"] == 15 and data["divergences"] == [] and "gVisor" in err


@needs_gvisor
def test_the_gvisor_profile_gives_gvisors_answer_on_every_example(
        example_runs: dict[str, list[Result]]) -> None:
    # the examples' gvisor traces (spec/examples/*.gvisor.trace) are the profile's; gVisor
    # itself gives the same wherever it can be observed
    for ex in all_examples():
        if "gvisor" not in ex.profiles:
            continue
        model = conform.run_model(ex.script, conform.get("gvisor"))
        got = example_runs[ex.name]
        at = conform.first_difference(ex.script, conform.get("gvisor"), got)
        assert at is None, (ex.name, ex.script.steps[at].text, model[at].result, got[at])


@needs_gvisor
def test_sigterm_during_a_gvisor_conform_removes_the_sandbox_and_its_directory() -> None:
    import shutil
    import signal
    import subprocess
    import tempfile
    import time

    # short: runsc keeps unix sockets under its root directory (108 bytes a path at most)
    tmp = Path(tempfile.mkdtemp(prefix="ls-", dir="/tmp"))
    tmp.chmod(0o755)  # the sandbox runs as another user, who must reach its directory
    proc = subprocess.Popen(
        [sys.executable, "-m", "listenspec.cli", "conform", "--target", "gvisor", "--profile",
         "gvisor", "--examples", "200", "--workers", "1"],
        cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "TMPDIR": str(tmp)})
    try:
        deadline = time.monotonic() + 90
        while (not list(tmp.glob("listenspec-runsc-*/runsc-*")) and proc.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.2)
        if proc.poll() is not None:
            pytest.fail(f"conform ended before its sandbox started: {proc.communicate()[1]}")
        assert list(tmp.glob("listenspec-runsc-*/runsc-*")), "the sandbox never started"
        time.sleep(3)  # scripts under way
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        left = subprocess.run(["pgrep", "-f", str(tmp)], capture_output=True, text=True)
        assert proc.returncode == 143, err
        assert err.strip().splitlines()[-1] == "listenspec: stopped by SIGTERM"
        assert not list(tmp.iterdir())  # the sandbox's root directory went with it
        assert left.stdout == ""  # and no runsc process of it is left
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def test_the_sandbox_directory_goes_where_the_sandbox_can_reach_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    from listenspec.targets.gvisor import sandbox_tmp

    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    assert sandbox_tmp() == "/tmp"  # runsc failed "cannot create sandbox" under it (measured)
    private.chmod(0o755)
    tmp_path.chmod(0o755)
    reachable = all(os.stat(p).st_mode & 0o001 for p in (private, *private.parents))
    assert sandbox_tmp() == (str(private) if reachable else "/tmp")


@needs_gvisor
def test_a_stopped_listeners_connect_and_a_shut_self_connect_on_gvisor(
        gvisor: GVisorTarget) -> None:
    # tests/test_self_connect.py: EINVAL whatever the family; the self-connect goes through
    from test_self_connect import SHUT_SELF, STOPPED, STOPPED_GVISOR

    assert [render(r) for r in gvisor.run(parse(STOPPED))][-4:] == STOPPED_GVISOR
    assert render(gvisor.run(parse(SHUT_SELF))[3]) == "0"


@needs_gvisor
def test_a_deferred_connections_fin_waits_for_the_deferral_on_gvisor(
        gvisor: GVisorTarget) -> None:
    # tests/test_defer_fin.py: held until the deferral's second is up, then accepted with EOF;
    # data ends the deferral at once
    from test_defer_fin import CLOSED, GVISOR_SEEN, SHUT_THEN_DATA

    # not the last line: when the EOF comes depends on the client's FIN retransmission
    assert [render(r) for r in gvisor.run(parse(CLOSED))][-6:-1] == GVISOR_SEEN[:-1]
    assert [render(r) for r in gvisor.run(parse(SHUT_THEN_DATA))][-6:] == [
        "0", "fd", "0", "1", "fd", '"y"']
