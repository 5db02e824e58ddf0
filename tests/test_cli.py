"""The command-line contract of SCRIPT_FORMAT.md: exit codes, stdout/stderr, --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from listenspec.cli import main

SCRIPT = """sysctl("kern.ipc.soacceptqueue", 128)
s = socket(AF_INET, SOCK_STREAM)
listen(s, -1)
getsockopt(s, SO_LISTENQLIMIT)
"""
TRACE = """sysctl("kern.ipc.soacceptqueue", 128) = 0
s = socket(AF_INET, SOCK_STREAM) = fd
listen(s, -1) = 0
getsockopt(s, SO_LISTENQLIMIT) = 128
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_prints_the_contract_example_trace(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ex.lsn"
    f.write_text(SCRIPT)
    code, out, err = run(capsys, "run", str(f), "--profile", "freebsd-src")
    assert (code, out, err) == (0, TRACE, "")


def test_run_exits_0_whatever_the_calls_returned(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ex.lsn"
    f.write_text("listen(400, 0)\n")
    assert run(capsys, "run", str(f), "--profile", "linux") == (0, "listen(400, 0) = -1 EBADF\n",
                                                                 "")


def test_run_json_has_one_object_per_step(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ex.lsn"
    f.write_text("# c\n\n" + SCRIPT)
    code, out, _ = run(capsys, "run", str(f), "--profile", "freebsd-src", "--json")
    rows = json.loads(out)
    assert code == 0
    assert rows[0] == {"line": 3, "call": 'sysctl("kern.ipc.soacceptqueue", 128)', "result": "0"}
    assert [r["result"] for r in rows] == ["0", "fd", "0", "128"]


def test_check_accepts_an_allowed_trace(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ok.trace"
    f.write_text(TRACE)
    code, _, err = run(capsys, "check", str(f), "--profile", "freebsd-src")
    assert code == 0 and err == ""


def test_check_names_the_first_differing_line_and_the_expectation(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bad.trace"
    f.write_text(TRACE.replace("= 128", "= 0"))
    code, out, _ = run(capsys, "check", str(f), "--profile", "freebsd-src")
    assert code == 1
    assert out.startswith(f"{f}:4:")
    assert "expects `getsockopt(s, SO_LISTENQLIMIT) = 128`" in out
    assert "the trace has `0`" in out


def test_check_json_marks_the_failing_step(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bad.trace"
    f.write_text(TRACE.replace("listen(s, -1) = 0", "listen(s, -1) = -1 EINVAL"))
    code, out, _ = run(capsys, "check", str(f), "--profile", "freebsd-src", "--json")
    report = json.loads(out)
    rows = report["lines"]
    assert code == 1
    assert rows[-1] == {"line": 3, "call": "listen(s, -1)", "result": "-1 EINVAL",
                        "expected": "0", "ok": False, "skipped": False,
                        "after_difference": False}
    assert len(rows) == 3  # stops at the first difference
    assert report["verdict"] == "differs" and report["profile"] == "freebsd-src"
    assert report["first_difference"] == {"line": 3, "col": 17, "call": "listen(s, -1)",
                                          "expected": "0", "result": "-1 EINVAL"}


def test_check_matches_log_placeholders(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    real = ("sonewconn: pcb 0xfffff80003a1b000 (127.0.0.1:5555 (proto 6)): Listen queue "
            "overflow: 1 already in queue awaiting acceptance (1 occurrences), euid 0, rgid 0, "
            "jail 0")
    f = tmp_path / "log.trace"
    f.write_text("s = socket(AF_INET, SOCK_STREAM) = fd\nbind(s) = 0\nlisten(s, 0) = 0\n"
                 "c = socket(AF_INET, SOCK_STREAM) = fd\nconnect(c, s) = 0\n"
                 "d = socket(AF_INET, SOCK_STREAM) = fd\nconnect(d, s) = -1 ECONNRESET\n"
                 f'syslog() = ["{real}"]\n')
    assert run(capsys, "check", str(f), "--profile", "freebsd-src")[0] == 0
    f.write_text(f.read_text().replace("1 already", "2 already"))
    assert run(capsys, "check", str(f), "--profile", "freebsd-src")[0] == 1


@pytest.mark.parametrize("command", ["run", "check"])
def test_malformed_input_exits_2_with_position_and_nothing_on_stdout(
        command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bad.lsn"
    suffix = " = 0" if command == "check" else ""
    f.write_text(f"s = socket(AF_INET, SOCK_STREAM){suffix}\nlisten(s, 99999999999){suffix}\n")
    code, out, err = run(capsys, command, str(f), "--profile", "linux")
    assert code == 2 and out == ""
    assert err.startswith(f"{f}:2:11: ")


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "run", str(tmp_path / "nope.lsn"), "--profile", "linux")
    assert code == 2 and out == "" and "nope.lsn: cannot read" in err


def test_unknown_profile_is_a_usage_error(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ex.lsn"
    f.write_text(SCRIPT)
    with pytest.raises(SystemExit) as e:
        main(["run", str(f), "--profile", "freebsd-99"])
    assert e.value.code == 2
    assert "freebsd-99" in capsys.readouterr().err


def test_profiles_table_lists_every_profile_and_parameter(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "profiles")
    assert code == 0
    header = out.splitlines()[0]
    for name in ("freebsd-9", "freebsd-10", "freebsd-13", "freebsd-src", "dragonfly", "intime",
                 "linux", "bsd-4.4"):
        assert name in header
    assert "⌊3q/2⌋+1" in out and "q+1" in out
    code, out, _ = run(capsys, "profiles", "--json")
    data = json.loads(out)
    assert data["freebsd-src"]["parameters"]["admit_base"]["source"].startswith(
        "reference/freebsd.md")


def test_clauses_lists_coverage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "clauses", "--json")
    rows = json.loads(out)
    assert code == 0
    assert all(r["examples"] for r in rows)
    assert {r["id"] for r in rows} >= {"CLAMP", "REAL-MAX-1.5", "ACCF-EVICT", "OVERFLOW-RATE"}


def test_check_skips_lines_the_executor_could_not_perform(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "k.trace"
    f.write_text("s = socket(AF_INET, SOCK_STREAM) = fd\nlisten(s, 1) = 0\n"
                 'syn(s) = unsupported("no TUN device")\nnetstat(s) = 0/0/1\n')
    code, out, _ = run(capsys, "check", str(f), "--profile", "linux")
    assert code == 0
    assert "all 3 lines allowed by linux (1 not compared" in out
    f.write_text(f.read_text().replace("0/0/1", "0/0/2"))
    assert run(capsys, "check", str(f), "--profile", "linux")[0] == 1


def test_profiles_table_fits_a_narrow_terminal_in_blocks() -> None:
    from listenspec import profile_table as pt

    text = pt.format_text(pt.table(), width=24, columns=100)
    assert max(len(line) for line in text.splitlines()) <= 100
    headers = [line for line in text.splitlines() if line.startswith("parameter")]
    assert len(headers) >= 3  # eight profiles do not fit in 100 columns at once
    named = " ".join(headers)
    for name in ("freebsd-9", "freebsd-src", "linux", "bsd-4.4"):
        assert name in named


def test_run_and_check_read_standard_input(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(SCRIPT))
    assert run(capsys, "run", "-", "--profile", "freebsd-src") == (0, TRACE, "")
    monkeypatch.setattr("sys.stdin", io.StringIO(TRACE))
    assert run(capsys, "check", "-", "--profile", "freebsd-src")[0] == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("listen(s, 1)\n"))
    code, out, err = run(capsys, "run", "-", "--profile", "linux")
    assert (code, out) == (2, "") and err.startswith("<stdin>:1:8: ")
