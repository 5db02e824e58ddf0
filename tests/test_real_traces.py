"""`listenspec check` on traces as real stacks' harnesses write them (issue 12, point 2): a
descriptor number for `fd`, EWOULDBLOCK, an errno with its text in parentheses, a mistyped
errno (malformed, not a mismatch), keep-going, the JSON object and the public Python API."""

from __future__ import annotations

import errno
import json
import re
from pathlib import Path

import pytest

import listenspec
from listenspec.cli import main
from listenspec.errnos import KNOWN, canonical

# The linux profile's (and this kernel's) trace of a full AF_UNIX queue, as a harness prints it
REAL = """\
s = socket(AF_UNIX, SOCK_STREAM) = 3
bind(s) = 0
listen(s, 0) = 0
c1 = socket(AF_UNIX, SOCK_STREAM) = 4
connect(c1, s) = 0
c2 = socket(AF_UNIX, SOCK_STREAM) = 5
connect(c2, s) = -1 EWOULDBLOCK
a = accept(s) = 6
b = accept(s) = -1 EAGAIN (Resource temporarily unavailable)
netstat(s) = 0/0/0
getsockopt(s, SO_ACCEPTCONN) = 1
getsockopt(c2, SO_ERROR) = 0
close(a) = 0
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, text: str) -> str:
    f = tmp_path / "real.trace"
    f.write_text(text)
    return str(f)


def test_a_harness_trace_with_numbers_ewouldblock_and_errno_texts_is_allowed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, REAL)
    code, out, err = run(capsys, "check", f, "--profile", "linux")
    assert (code, err) == (0, "")
    assert out == f"{f}: all 13 lines allowed by linux\n"


def test_a_descriptor_number_is_checked_like_fd(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    # accept() gives a descriptor where the profile says EAGAIN: a difference, not a pass
    f = write(tmp_path, REAL.replace("b = accept(s) = -1 EAGAIN (Resource temporarily "
                                     "unavailable)", "b = accept(s) = 7"))
    code, out, _ = run(capsys, "check", f, "--profile", "linux")
    assert code == 1
    assert out.startswith(f"{f}:9:17: linux expects `b = accept(s) = -1 EAGAIN`, the trace "
                          "has `7`")
    # and where the profile says fd, a negative number is no descriptor
    f = write(tmp_path, REAL.replace("a = accept(s) = 6", "a = accept(s) = -2"))
    assert run(capsys, "check", f, "--profile", "linux")[0] == 1


def test_ewouldblock_reads_as_eagain_everywhere(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    trace = listenspec.parse(REAL.replace("SO_ERROR) = 0", "SO_ERROR) = EWOULDBLOCK"),
                             "t.trace", trace=True)
    assert listenspec.render(trace.steps[6].expected) == "-1 EAGAIN"  # type: ignore[arg-type]
    assert listenspec.render(trace.steps[11].expected) == "EAGAIN"  # type: ignore[arg-type]
    assert canonical("ENOTSUP") == "EOPNOTSUPP"


@pytest.mark.parametrize(("result", "col", "hint"), [
    ("-1 EINPROGRES", 21, "(did you mean EINPROGRESS?)"),
    ("-1 EINPROGRES (Operation now in progress)", 21, "(did you mean EINPROGRESS?)"),
    ("-1 EXYZZY", 21, None),
])
def test_an_unknown_errno_name_is_a_malformed_line(result: str, col: int, hint: str | None,
                                                   tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, REAL.replace("-1 EWOULDBLOCK", result))
    code, out, err = run(capsys, "check", f, "--profile", "linux")
    assert (code, out) == (2, "")
    name = result.split()[1]
    assert err.startswith(f"{f}:7:{col}: unknown errno name '{name}'")
    assert (hint in err) if hint else "did you mean" not in err


def test_an_unknown_so_error_name_is_malformed_too(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, REAL.replace("SO_ERROR) = 0", "SO_ERROR) = ECONNRESTE"))
    code, out, err = run(capsys, "check", f, "--profile", "linux")
    assert (code, out) == (2, "")
    assert err.startswith(f"{f}:12:28: unknown errno name 'ECONNRESTE' (did you mean "
                          "ECONNRESET or ")


TWO_WRONG = (REAL.replace("netstat(s) = 0/0/0", "netstat(s) = 1/0/0")
             .replace("SO_ERROR) = 0", "SO_ERROR) = ECONNRESET"))


def test_keep_going_reports_every_differing_line(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, TWO_WRONG)
    code, out, _ = run(capsys, "check", f, "--profile", "linux")
    assert code == 1 and len(out.splitlines()) == 1 and f"{f}:10:" in out
    code, out, _ = run(capsys, "check", "-k", f, "--profile", "linux")
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith(f"{f}:10:14: linux expects `netstat(s) = 0/0/0`")
    assert lines[1].startswith(f"{f}:12:28: linux expects `getsockopt(c2, SO_ERROR) = 0`")
    assert lines[1].endswith("(after the difference at line 10)")
    assert lines[2].startswith(f"{f}: 2 of 13 lines differ from linux")


def test_keep_going_continues_from_what_the_profile_allows(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The trace says listen() failed; the profile says it succeeded. Keep-going goes on from the
    # profile's answer (s listens), so SO_ACCEPTCONN = 1 is allowed and = 0 is not.
    head = "s = socket(AF_INET, SOCK_STREAM) = 3\nlisten(s, 5) = -1 EINVAL\n"
    f = write(tmp_path, head + "getsockopt(s, SO_ACCEPTCONN) = 1\n")
    report = json.loads(run(capsys, "check", "-k", "--json", f, "--profile", "linux")[1])
    assert [r["ok"] for r in report["lines"]] == [True, False, True]
    f = write(tmp_path, head + "getsockopt(s, SO_ACCEPTCONN) = 0\n")
    report = json.loads(run(capsys, "check", "-k", "--json", f, "--profile", "linux")[1])
    assert [r["ok"] for r in report["lines"]] == [True, False, False]
    assert [r["after_difference"] for r in report["lines"]] == [False, False, True]


def test_check_json_is_one_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, TWO_WRONG)
    code, out, _ = run(capsys, "check", "--json", "--keep-going", f, "--profile", "linux")
    report = json.loads(out)
    assert code == 1
    assert {k: report[k] for k in ("trace", "profile", "verdict", "keep_going", "differences",
                                   "not_compared")} == {
        "trace": f, "profile": "linux", "verdict": "differs", "keep_going": True,
        "differences": 2, "not_compared": 0}
    assert report["first_difference"] == {"line": 10, "col": 14, "call": "netstat(s)",
                                          "expected": "0/0/0", "result": "1/0/0"}
    assert len(report["lines"]) == 13
    assert report["lines"][0] == {"line": 1, "call": "s = socket(AF_UNIX, SOCK_STREAM)",
                                  "result": "3", "expected": "fd", "ok": True,
                                  "skipped": False, "after_difference": False}
    code, out, _ = run(capsys, "check", "--json", write(tmp_path, REAL), "--profile", "linux")
    report = json.loads(out)
    assert (code, report["verdict"], report["first_difference"]) == (0, "allowed", None)


def test_the_python_api_checks_a_trace() -> None:
    trace = listenspec.parse(TWO_WRONG, "stack.trace", trace=True)
    verdicts = listenspec.check(trace, "linux", keep_going=True)
    assert [v.step.line for v in verdicts if not v.ok] == [10, 12]
    assert len(listenspec.check(trace, "linux")) == 10  # stops at the first difference
    report = listenspec.CheckReport.of(trace, "linux")
    assert not report.ok and report.first_difference is not None
    assert report.first_difference.step.line == 10
    with pytest.raises(listenspec.ListenspecError) as e:
        listenspec.parse("listen(s, 1) = 0\n", "bad.trace", trace=True)
    assert str(e.value).startswith("bad.trace:1:8: ")
    with pytest.raises(listenspec.ListenspecError):
        listenspec.check(trace, "freebsd-99")


def test_every_errno_this_machine_and_the_model_name_is_known() -> None:
    assert set(errno.errorcode.values()) <= KNOWN
    root = Path(__file__).resolve().parents[1]
    in_model = {m for path in (root / "models").glob("*.py")
                for m in re.findall(r'"(E[A-Z0-9]{2,})"', path.read_text())}
    assert in_model and in_model <= KNOWN


def test_the_documented_python_example_runs_and_prints_what_the_page_says(
        capsys: pytest.CaptureFixture[str]) -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "format.md").read_text()
    section = page.split("## Checking a trace from Python", 1)[1]
    code, printed = re.findall(r"```(?:python|text)\n(.*?)```", section, re.DOTALL)[:2]
    exec(compile(code, "docs/format.md", "exec"), {})
    assert capsys.readouterr().out == printed
