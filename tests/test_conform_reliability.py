"""`listenspec conform` keeps what it found and says what it did not compare (issue 14.7, 14.12).

The kernel is replaced by a fake executor here (the model's own trace, with one planted
difference or some unsupported steps), so these run anywhere and quickly; tests/test_conform.py
runs the real kernel."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

import listenspec.kernel
from listenspec.cli import main
from listenspec.models.profiles import get
from listenspec.results import Err, Result, Unsupported, render
from listenspec.runner import run_model
from listenspec.script import Script

ROOT = Path(__file__).resolve().parents[1]


def _planted(script: Script, **_: object) -> list[Result]:
    """The model's results, except that every listen() fails: a divergence to be found."""
    model = [t.result for t in run_model(script, get("linux"))]
    return [Err("EFAKE") if s.call.name == "listen" else r
            for s, r in zip(script.steps, model, strict=True)]


def _unsupported(script: Script, **_: object) -> list[Result]:
    model = [t.result for t in run_model(script, get("linux"))]
    return [Unsupported(f"{s.call.name}() is not here") if s.call.name in ("netstat", "getsockopt")
            else r for s, r in zip(script.steps, model, strict=True)]


def _conform(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["conform", "--examples", "60", "--seed", "3", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_mismatch_is_saved_where_the_user_can_write(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    monkeypatch.setattr(listenspec.kernel, "run_on_kernel", _planted)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # where the fallback goes
    monkeypatch.chdir("/proc")  # a working directory nobody, not even root, can write in
    code, out, _ = _conform(capsys)
    assert code == 1
    assert "counterexamples is not writable" in out
    saved = [p for p in tmp_path.rglob("conform-linux-*.lsn")]
    assert len(saved) == 1 and f"saved to {saved[0]}" in out
    assert saved[0].with_suffix(".kernel.trace").is_file()
    assert "listen(" in saved[0].read_text()


def test_a_mismatch_that_cannot_be_saved_anywhere_is_printed(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(listenspec.kernel, "run_on_kernel", _planted)
    monkeypatch.setattr("tempfile.tempdir", "/proc/no-such-dir")
    monkeypatch.chdir("/proc")
    code, out, _ = _conform(capsys)
    assert code == 1
    assert "not saved" in out
    script = out.split("the script:\n", 1)[1]
    assert "listen(" in script and "<-- differs" in out


def test_the_summary_counts_the_steps_not_compared_with_the_reasons(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    monkeypatch.setattr(listenspec.kernel, "run_on_kernel", _unsupported)
    code, out, _ = _conform(capsys, "--out", str(tmp_path))
    assert code == 0
    head = out.splitlines()[0]
    skipped = int(head.split("(", 1)[1].split(" not comparable", 1)[0])
    assert skipped > 0
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("not comparable: "))
    reasons = [m for line in lines[start + 1:]
               if (m := re.fullmatch(r"\s+(\d+) x (.*)", line)) is not None]
    assert any("netstat() is not here" in m.group(2) for m in reasons)
    assert len(reasons) <= 5 and sum(int(m.group(1)) for m in reasons) <= skipped


def test_the_summary_says_when_every_step_was_compared(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    monkeypatch.setattr(listenspec.kernel, "run_on_kernel",
                        lambda script, **_: [t.result for t in run_model(script, get("linux"))])
    code, out, _ = _conform(capsys, "--out", str(tmp_path))
    assert code == 0 and "(every step compared)" in out.splitlines()[0]
    assert "not comparable: " not in out


def test_the_kernel_executor_needs_nothing_beyond_the_standard_library(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # issue 14 (12): conform once compared fewer steps where pyroute2 was missing. syn()'s
    # peer now sets up its device over rtnetlink itself (listenspec/kernel/rtnl.py), so
    # nothing is missing: with pyroute2 unimportable, syn() gives this kernel's answers.
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not any(d.startswith("pyroute2") for d in deps), deps
    if not sys.platform.startswith("linux"):
        pytest.skip("the kernel executor runs on Linux only")
    from listenspec.kernel import run_on_kernel
    from listenspec.kernel.netns import isolation_problem
    from listenspec.script import parse

    if (problem := isolation_problem()) is not None:
        pytest.skip(f"no private network namespace here: {problem}")
    monkeypatch.setitem(sys.modules, "pyroute2", None)  # import pyroute2 now fails
    script = parse("s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 1)\nsyn(s)\nsyn(s)\n"
                   "t = socket(AF_INET6, SOCK_STREAM)\nlisten(t, 0)\nsyn(t)\nnetstat(s)\n")
    got = run_on_kernel(script)
    assert not any(isinstance(r, Unsupported) for r in got), got
    # each SYN answered (0) and left half-open: the queue reads 0/2/1, as the linux profile says
    assert [render(r) for r in got] == [render(e.result) for e in run_model(script, get("linux"))]
    assert [render(r) for r in got][2:] == ["0", "0", "fd", "0", "0", "0/2/1"]
