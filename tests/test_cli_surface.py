"""The command line's surface (issue 12, point 5): bare help, verify's stages and --json,
machines --json, clauses --id, conform's count and "not comparable", progress, prove's summary.
"""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest
from hypothesis import Phase
from injected import admit_one_more, assert_reproduces

from listenspec.cli import main
from listenspec.script import parse
from listenspec.verify import STAGE_NAMES

# an executor that performs nothing: the driver or it answers every call unsupported("...")
NOTHING = """\
import sys, json
def answer(t):
    sys.stdout.write(t + '\\n'); sys.stdout.flush()
answer('listenspec-executor 1 ' + json.dumps({"stack": "nothing", "calls": ["socket"]}))
for line in sys.stdin:
    line = line.rstrip('\\n')
    if line == '%quit': break
    if line.startswith('%'): answer('%ok'); continue
    answer('unsupported("nothing: performs no call")')
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def exits(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int | str | None, str]:
    with pytest.raises(SystemExit) as e:
        main(list(argv))
    return e.value.code, capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bare_listenspec_prints_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert (code, err) == (0, "")
    assert out.startswith("usage: listenspec")
    for command in ("run", "check", "compare", "verify", "prove", "conform", "machines"):
        assert f"    {command} " in out or f"    {command}\n" in out


def test_verify_only_rejects_an_unknown_stage_and_help_lists_them(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, err = exits(capsys, "verify", "--only", "proof")
    assert code == 2
    assert "invalid choice: 'proof'" in err
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    helptext = " ".join(capsys.readouterr().out.split())
    assert f"one of: {', '.join(STAGE_NAMES)}" in helptext


def test_verify_json_prints_only_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", "--quick", "--only", "machines", "--json")
    summary = json.loads(out)  # the whole of stdout is one JSON document
    assert code == (0 if summary["machines"]["ok"] else 1)
    assert set(summary) >= {"clauses", "examples", "machines", "seconds"}
    assert "proofs" not in summary  # --only chose the stages


def test_machines_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "machines", "--profile", "linux", "--profile", "bsd-4.4",
                       "--examples", "3", "--steps", "8", "--seed", "1", "--json")
    data = json.loads(out)
    assert code == 0
    assert [d["profile"] for d in data] == ["linux", "bsd-4.4"]
    assert all(d["ok"] is True and d["examples"] == 3 and d["steps"] == 8 for d in data)


def test_machines_json_carries_the_failure(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """The command's plumbing (a real failure is in the next tests): a profile whose machine
    fails is `ok: false` with the failure's text, the others still run, stdout is JSON alone."""
    from listenspec.commands import machines as cmd
    from listenspec.machines import InvariantBroken

    def fake(name: str, **_: object) -> None:
        if name == "linux":
            raise InvariantBroken("queue-bound\n\n# counterexample ...")

    monkeypatch.setattr(cmd, "run_machine", fake)
    code, out, _ = run(capsys, "machines", "--profile", "linux", "--profile", "bsd-4.4",
                       "--examples", "3", "--json")
    data = json.loads(out)
    assert code == 1
    assert [(d["profile"], d["ok"]) for d in data] == [("linux", False), ("bsd-4.4", True)]
    assert data[0]["failure"] == "queue-bound\n\n# counterexample ..."


@pytest.mark.slow
def test_machines_json_carries_a_real_failure_with_its_script(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    admit_one_more(monkeypatch)
    code, out, _ = run(capsys, "machines", "--profile", "freebsd-main", "--examples", "60",
                       "--steps", "15", "--seed", "1", "--save-dir", str(tmp_path), "--json")
    data = json.loads(out)  # stdout is the JSON alone, failure included
    assert code == 1 and data[0]["ok"] is False
    failure = data[0]["failure"]
    assert "queue-bound" in failure
    script = failure[failure.index("# counterexample"):failure.index("\n(saved to ")]
    assert_reproduces("freebsd-main", script, "queue-bound")


def test_a_machine_failure_in_a_users_suite_comes_back_as_a_runnable_script(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """What a user's own suite gets (`TestX = machine_for(P).TestCase` under unittest or
    pytest): besides Hypothesis' own program, a .lsn file that `listenspec run` runs."""
    import unittest

    from listenspec.machines import machine_for

    admit_one_more(monkeypatch)
    # (no shrinking, to keep the test quick: the final replay saves the script either way)
    case = machine_for("freebsd-main", max_examples=60, stateful_step_count=15,
                       database=None, counterexample_dir=tmp_path,
                       phases=(Phase.generate,)).TestCase
    result = unittest.TextTestRunner(stream=io.StringIO()).run(case("runTest"))
    assert not result.wasSuccessful()
    saved = list(tmp_path.glob("freebsd-main-machine-*.lsn"))
    assert len(saved) == 1
    capsys.readouterr()
    code, out, err = run(capsys, "run", str(saved[0]), "--profile", "freebsd-main")
    assert (code, err) == (0, "")
    assert len(out.splitlines()) == len(parse(saved[0].read_text()).steps)
    assert_reproduces("freebsd-main", saved[0].read_text(), "queue-bound")


def test_clauses_unknown_id_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    from listenspec.spec.clauses import CLAUSES

    real = CLAUSES[0].id
    code, out, err = run(capsys, "clauses", "--id", real + "x")
    assert (code, out) == (2, "")
    assert f"unknown clause id '{real}x' (did you mean {real}" in err
    code, out, _ = run(capsys, "clauses", "--id", real)
    assert out.startswith(real)


def test_conform_runs_n_scripts_and_explains_not_comparable(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prog = tmp_path / "nothing.py"
    prog.write_text(NOTHING)
    target = f"exec:{sys.executable} {prog}"
    code, out, _ = run(capsys, "conform", "--examples", "4", "--target", target,
                       "--out", str(tmp_path))
    assert code == 0
    assert out.startswith("4 scripts, ")
    assert "not comparable: a step the target could not perform" in out
    assert "x nothing: performs no call" in out
    data = json.loads(run(capsys, "conform", "--examples", "3", "--target", target, "--json",
                          "--out", str(tmp_path))[1])
    assert (data["scripts"], data["requested"]) == (3, 3)
    assert data["skipped_steps"] == data["steps"] == sum(data["not_comparable"].values())
    code, err = exits_or_code(capsys, "conform", "--examples", "0", "--target", target)
    assert code == 2 and "--examples must be at least 1" in err


def exits_or_code(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def test_conform_says_why_fewer_scripts_ran() -> None:
    from listenspec.conform import ConformStats

    assert ConformStats(scripts=5, requested=5).shortfall() == ""
    assert "stops at the first mismatch" in ConformStats(scripts=2, requested=5,
                                                        mismatches=1).shortfall()
    assert "only 3 of 5 scripts ran" in ConformStats(scripts=3, requested=5).shortfall()


def test_conform_counts_one_reason_once_whatever_port_it_names() -> None:
    from listenspec.conform import ConformStats

    share = "netstat: 2 listeners share port {} (SO_REUSEPORT): incqlen is not observable"
    stats = ConformStats(skipped_steps=9, unsupported={
        share.format(36109): 3, share.format(43725): 3, "syn(): AF_UNIX": 2,
        share.format(5): 1})
    lines = stats.not_comparable_lines()
    assert lines[1:] == [f"      7 x {share.format('N')}", "      2 x syn(): AF_UNIX"]


def test_prove_fits_a_screen_by_default_with_details_on_request(
        capsys: pytest.CaptureFixture[str]) -> None:
    from listenspec.proofs.run import properties

    code, out, _ = run(capsys, "prove", "--profile", "bsd-4.4", "--profile", "linux")
    lines = out.splitlines()
    assert code == 0
    assert max(len(line) for line in lines) <= 80
    assert len(lines) <= len(properties()) + 8  # a line per property, a few more
    assert "relisten-product       1/2       linux" in out  # the expected counterexample
    assert "not as expected" in out and "--details" in out
    code, full, _ = run(capsys, "prove", "--profile", "bsd-4.4", "--profile", "linux",
                        "--details")
    assert code == 0 and len(full.splitlines()) > 3 * len(lines)
    assert "[relisten-product / linux] counterexample (expected)" in full


def test_prove_summary_shows_what_was_not_as_expected_in_full() -> None:
    from listenspec.proofs.run import ProofResult, summary

    text = "\n".join(summary([
        ProofResult("clamp", "linux", "proved", 0.1, None, "proved"),
        ProofResult("clamp", "bsd-4.4", "unknown", 0.1, None, "proved", "z3 said unknown")]))
    assert "clamp     1/2       -  ! bsd-4.4" in text
    assert "! [clamp / bsd-4.4] unknown (UNEXPECTED, expected proved)\n    z3 said unknown" in text
    assert "1 not as expected" in text


@pytest.mark.parametrize("argv", [
    ["prove", "--profile", "bsd-4.4"],
    ["machines", "--profile", "bsd-4.4", "--examples", "3", "--steps", "5"],
    ["machines", "--profile", "bsd-4.4", "--examples", "3", "--steps", "5", "--deep"],
    ["explore", "--profile", "bsd-4.4", "--depth", "3"],
    ["conform", "--examples", "3", "--target", "NOTHING"],
])
def test_long_runs_show_progress_with_a_total_on_a_terminal_and_nothing_when_piped(
        argv: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    prog = tmp_path / "nothing.py"
    prog.write_text(NOTHING)
    argv = [f"exec:{sys.executable} {prog}" if a == "NOTHING" else a for a in argv]
    if argv[0] == "conform":
        argv += ["--out", str(tmp_path)]
    for terminal in (True, False):
        err = Terminal() if terminal else io.StringIO()
        monkeypatch.setattr(sys, "stderr", err)
        assert main(argv) == 0
        capsys.readouterr()
        shown = err.getvalue().replace("# target: nothing\n", "")
        if terminal:
            assert "\r" in shown and "] " in shown, shown  # the bar, redrawn in place
            assert all(re.search(r"\] \d+/\d+", draw) for draw in shown.split("\r")
                       if draw.strip()), shown  # every drawing counts against a total
        else:
            assert shown == ""


def test_every_verify_stage_shows_progress_on_a_terminal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from listenspec import stages
    from listenspec.proofs import run as proofs_run

    one = {"bsd-4.4": stages.PROFILES["bsd-4.4"]}  # one profile each, to be quick
    monkeypatch.setattr(stages, "PROFILES", one)
    monkeypatch.setattr(proofs_run, "PROFILES", one)
    for stage in (stages.proofs, stages.exploration, stages.machines):
        err = Terminal()
        monkeypatch.setattr(sys, "stderr", err)
        stage(True)
        assert re.search(r"\] \d+/\d+", err.getvalue()), stage


def test_a_failure_a_users_own_rule_raises_comes_back_as_a_script_too(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A user extends the machine with their own check (here: "no listener ever holds a
    queued connection", false as soon as a connection is queued); its AssertionError is
    reported by Hypothesis and the run is saved as a .lsn that replays up to the failing call."""
    import unittest

    from hypothesis.stateful import invariant

    from listenspec.machines import machine_for

    base = machine_for("linux", max_examples=60, stateful_step_count=15, database=None,
                       counterexample_dir=tmp_path, phases=(Phase.generate,))

    class Mine(base):  # type: ignore[valid-type,misc]
        @invariant()
        def nothing_queued(self) -> None:
            for sock in self.run.state.socks.values():
                assert sock.queued_on is None, "a connection was queued"

    result = unittest.TextTestRunner(stream=io.StringIO()).run(Mine.TestCase("runTest"))
    assert not result.wasSuccessful()
    assert "a connection was queued" in str(result.failures or result.errors)
    saved = list(tmp_path.glob("linux-machine-*.lsn"))
    assert len(saved) == 1
    text = saved[0].read_text()
    assert "fails in the test: AssertionError: a connection was queued" in text
    capsys.readouterr()
    code, out, _ = run(capsys, "run", str(saved[0]), "--profile", "linux")
    assert code == 0
    assert len(out.splitlines()) == len(parse(text).steps)
