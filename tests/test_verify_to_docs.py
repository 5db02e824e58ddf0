"""`listenspec verify --report FILE.json` and `listenspec docs --verify FILE.json`: a docs build
shows the proofs and stages of a verify run it is given instead of running them again (CI
builds the site right after verify), and says on the page whose results they are."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from listenspec import verify
from listenspec.docsgen import assurance
from listenspec.report import write_report
from listenspec.stages import StageResult

LINES = ("first line the stage printed", "second")


def _fake_stages() -> list[tuple[str, object]]:
    def proofs(quick: bool) -> StageResult:
        return StageResult("proofs", True, ("proofs ran",), {
            "cells": 2, "seconds": 1.25,
            "results": [
                {"property": "clamp", "profile": "linux", "status": "proved",
                 "expected": "proved", "ok": True, "seconds": 0.5, "counterexample": ""},
                {"property": "bound", "profile": "linux", "status": "counterexample",
                 "expected": "counterexample", "ok": True, "seconds": 0.75,
                 "counterexample": "listen(s, -1)"}]})

    def exploration(quick: bool) -> StageResult:
        return StageResult("exploration", False, LINES, {"states": 7})

    return [("proofs", proofs), ("exploration", exploration)]


@pytest.fixture
def summary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(verify, "stages", _fake_stages)
    ok, summary = verify.verify(io.StringIO(), quick=True)
    path = tmp_path / "verify.json"
    write_report(path, ok, summary)
    return path


def test_a_json_report_is_the_summary_with_each_stages_lines_and_time(
        summary_file: Path) -> None:
    data = json.loads(summary_file.read_text())
    assert data["ok"] is False and data["quick"] is True  # the exploration stage failed
    assert data["exploration"]["lines"] == list(LINES)
    assert data["exploration"]["states"] == 7 and data["exploration"]["ok"] is False
    assert isinstance(data["exploration"]["stage_seconds"], float)
    assert data["proofs"]["results"][1]["counterexample"] == "listen(s, -1)"


def test_the_markdown_report_shows_what_a_stage_printed(tmp_path: Path,
                                                         summary_file: Path) -> None:
    data = json.loads(summary_file.read_text())
    ok = data.pop("ok")
    write_report(tmp_path / "r.md", ok, data)
    text = (tmp_path / "r.md").read_text()
    assert "What the stage printed" in text and LINES[0] in text
    assert "Stage: quick" not in text  # the run's form is not a stage


def test_the_docs_show_the_given_runs_results_and_say_whose(
        summary_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify, "stages", _fake_stages)
    monkeypatch.setenv(assurance.VERIFY_ENV, str(summary_file))
    for f in (assurance._verified, assurance.proofs, assurance.stage):
        f.cache_clear()
    try:
        run = assurance.stage("exploration")
        assert run.ok is False and run.lines == LINES and run.figures == {"states": 7}
        assert "listenspec verify --quick" in run.given
        pr = assurance.proofs()
        assert [(r.name, r.status, r.counterexample) for r in pr.rows] == [
            ("clamp", "proved", ""), ("bound", "counterexample", "listen(s, -1)")]
        assert pr.seconds == 1.25 and pr.given == run.given
        from listenspec.docsgen.directives import _stage_block

        assert _stage_block(run).count("From the `listenspec verify --quick` run") == 1
    finally:
        for f in (assurance._verified, assurance.proofs, assurance.stage):
            f.cache_clear()


def test_docs_refuses_a_file_that_is_not_a_verify_summary(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("mkdocs")
    from listenspec.cli import main

    bad = tmp_path / "not-a-summary.json"
    bad.write_text('{"seconds": 3}')
    assert main(["docs", "--out", str(tmp_path / "site"), "--verify", str(bad)]) != 0
    err = capsys.readouterr().err
    assert str(bad) in err and "listenspec verify --report FILE.json" in err
    assert not (tmp_path / "site").exists()  # nothing was built
