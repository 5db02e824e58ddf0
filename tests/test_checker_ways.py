"""The checker follows every way of reading a trace up to MAX_WORLDS, and a line only a way it
left out might explain is undecided, never a difference (docs/cli.md#undecided)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from listenspec import checker, conform
from listenspec.checker import check
from listenspec.checkreport import CheckReport
from listenspec.cli import EXIT_FAILED, EXIT_OK, EXIT_UNDECIDED, main
from listenspec.models.profiles import get
from listenspec.results import Result, render
from listenspec.runner import run_model
from listenspec.script import Script, parse

# Seven connections, each of which may reach either member of a SO_REUSEPORT group: 2**7 ways
# of reading the trace, and the last one (every connection on s2) is the one netstat shows.
SEVEN = "\n".join([
    "s1 = socket(AF_INET, SOCK_STREAM)", "s2 = socket(AF_INET, SOCK_STREAM)",
    "setsockopt(s1, SO_REUSEPORT, 1)", "setsockopt(s2, SO_REUSEPORT, 1)",
    "bind(s1)", "bind(s2, s1)", "listen(s1, 8)", "listen(s2, 8)",
    *(line for i in range(1, 8)
      for line in (f"c{i} = socket(AF_INET, SOCK_STREAM)", f"connect(c{i}, s1)")),
    "netstat(s2)",
])


def _trace_text(netstat: str) -> str:
    """SEVEN as the model traces it, but with this last line."""
    script = parse(SEVEN, "<seven>")
    model = [e.result for e in run_model(script, get("linux"))]
    lines = [f"{step.text} = {render(r)}" for step, r in zip(script.steps, model, strict=True)]
    lines[-1] = f"netstat(s2) = {netstat}"
    return "\n".join(lines) + "\n"


def _trace(netstat: str) -> Script:
    return parse(_trace_text(netstat), "<seven>", trace=True)


def test_every_connection_on_the_second_member_is_allowed() -> None:
    # the way that explains the last line is the 128th: a bound of 64 left it out and called
    # the line a difference (conform --examples 400 --seed 7 on this kernel)
    verdicts = check(_trace("7/0/8"), "linux")
    assert all(v.ok for v in verdicts) and len(verdicts) == len(SEVEN.splitlines())


def test_a_result_no_way_gives_differs_while_no_way_was_left_out() -> None:
    report = CheckReport.of(_trace("8/0/8"), "linux")
    assert report.verdict == "differs" and report.first_undecided is None
    assert report.first_difference is not None and report.first_difference.step.line == 23


def test_past_the_bound_a_line_no_kept_way_explains_is_undecided(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checker, "MAX_WORLDS", 4)
    report = CheckReport.of(_trace("7/0/8"), "linux")
    assert report.verdict == "undecided" and not report.differences
    u = report.first_undecided
    assert u is not None and u.step.line == 23 and not u.ok
    assert u.undecided is not None and "at line 14 it left out 4" in u.undecided
    data = report.as_json()
    assert data["verdict"] == "undecided" and data["first_difference"] is None
    assert data["undecided"]["line"] == 23 and "at most 4" in data["undecided"]["why"]
    assert data["lines"][-1]["undecided"] == u.undecided
    assert all("undecided" not in row for row in data["lines"][:-1])
    # the lines every kept way explains are still allowed
    assert CheckReport.of(_trace("0/0/8"), "linux").verdict == "allowed"


def test_check_exits_4_when_undecided_and_says_why(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "seven.trace"
    f.write_text(_trace_text("7/0/8"))
    assert main(["check", str(f), "--profile", "linux"]) == EXIT_OK
    monkeypatch.setattr(checker, "MAX_WORLDS", 4)
    capsys.readouterr()
    assert main(["check", str(f), "--profile", "linux"]) == EXIT_UNDECIDED
    out = capsys.readouterr().out
    assert out.startswith(f"{f}:23:") and "undecided" in out and "left out" in out
    assert main(["check", str(f), "--profile", "linux", "--json"]) == EXIT_UNDECIDED
    assert json.loads(capsys.readouterr().out)["verdict"] == "undecided"
    # a difference before ways were left out is still a difference
    f.write_text(f.read_text().replace("listen(s2, 8) = 0", "listen(s2, 8) = -1 EINVAL"))
    assert main(["check", str(f), "--profile", "linux"]) == EXIT_FAILED


def test_conform_counts_an_undecided_line_and_the_rest_as_not_comparable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    script = parse(SEVEN, "<seven>")
    results: list[Result] = [s.expected for s in _trace("7/0/8").steps]  # type: ignore[misc]
    assert conform.judge(script, get("linux"), results) == (None, None)
    monkeypatch.setattr(checker, "MAX_WORLDS", 4)
    at, undecided = conform.judge(script, get("linux"), results)
    assert at is None and undecided is not None and undecided[0] == 22
    got = conform.Checked(tuple(results), at, ("0",) * len(results), frozenset(), undecided)
    stats = conform.ConformStats()
    stats.add(script, got)
    assert stats.skipped_steps == 1 and stats.unsupported == {conform.UNDECIDED: 1}
    assert "and the checker's" in stats.not_comparable_lines()[0]
