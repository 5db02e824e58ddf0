"""Issue 14's reproducers for the parser, the results and the CLI: every input becomes a result or
a `FILE:LINE:COL` error, in linear time, and messages stay short."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from listenspec import results
from listenspec.cli import main
from listenspec.errors import ListenspecError
from listenspec.script import parse

HUGE = "1" + "0" * 4300  # 4,301 digits: past CPython's int-from-string limit


def error_of(text: str, *, trace: bool = False) -> ListenspecError:
    with pytest.raises(ListenspecError) as info:
        parse(text, "in.lsn", trace=trace)
    return info.value


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as e:  # argparse's own errors
        code = e.code if isinstance(e.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------ (9) what ends a line


@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e",
                                 "\x85"])
def test_only_newline_ends_a_line(sep: str) -> None:
    err = error_of(f"s = open()\nclose(s){sep}close(s)\nbogus(\n")
    assert (err.line, err.col) == (2, 9), str(err)  # the separator is a character of line 2


def test_crlf_ends_a_line_and_later_lines_keep_their_numbers() -> None:
    script = parse("s = open()\r\n\r\nclose(s)\r\n")
    assert [st.line for st in script.steps] == [1, 3]
    assert script.steps[1].text == "close(s)"
    err = error_of("s = open()\r\nclose(t)\r\n")
    assert (err.line, err.col) == (2, 7)


# ------------------------------------------------------------------ (1) huge integers


@pytest.mark.parametrize(("text", "col"), [
    (f"listen(3, {HUGE})", 11),
    (f"listen(3, -{HUGE})", 11),
    (f"listen({HUGE}, 1)", 8),
    (f'sysctl("kern.ipc.somaxconn", {HUGE})', 30),
    (f"s = socket(AF_INET, SOCK_STREAM)\nsetsockopt(s, TCP_DEFER_ACCEPT, {HUGE})", 33),
])
def test_huge_integers_in_scripts_are_range_errors(text: str, col: int) -> None:
    err = error_of(text)
    assert (err.line, err.col) == (text.count("\n") + 1, col), str(err)
    assert "outside the C int range" in err.message
    assert len(str(err)) < 200  # the 4,301 digits are not echoed whole


def test_leading_zeros_do_not_make_an_integer_large() -> None:
    assert parse("listen(3, " + "0" * 5000 + "7)").steps[0].call.args == (3, 7)


@pytest.mark.parametrize(("result", "col"), [
    (HUGE, 16), (f"-{HUGE}", 16), (f"{HUGE}/0/1", 16), (f"0/{HUGE}/1", 18), (f"0/0/{HUGE}", 20),
])
def test_huge_integers_in_trace_results_are_range_errors(result: str, col: int) -> None:
    err = error_of(f"listen(3, 1) = {result}\n", trace=True)
    assert (err.line, err.col) == (1, col), str(err)
    assert "outside the" in err.message and "range" in err.message
    assert len(str(err)) < 200


def test_results_keep_the_64_bit_values_a_kernel_reports() -> None:
    # sysctl reads on Linux can be unsigned 64-bit (kernel.shmmax), so results are not C ints.
    step = parse('sysctl("kernel.shmmax") = 18446744073692774399', trace=True).steps[0]
    assert step.expected == results.Ret(18446744073692774399)


def test_huge_integers_never_reach_int(monkeypatch: pytest.MonkeyPatch) -> None:
    # CPython's limit is what turned them into tracebacks; with it at its strictest (640
    # digits), a 4,301-digit literal must still come back as a range error.
    monkeypatch.setattr(sys, "set_int_max_str_digits", sys.set_int_max_str_digits)
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        assert "C int range" in error_of(f"listen(3, {HUGE})").message
        assert "range" in error_of(f"listen(3, 1) = {HUGE}", trace=True).message
    finally:
        sys.set_int_max_str_digits(old)


def test_check_of_a_huge_result_is_exit_2_not_a_verdict(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "t.trace"
    f.write_text(f"listen(3, 1) = {HUGE}\n")
    code, out, err = run_cli(capsys, "check", str(f), "--profile", "linux")
    assert (code, out) == (2, "")
    assert re.fullmatch(rf"{re.escape(str(f))}:1:16: .*range.*\n", err)


def test_run_of_a_huge_backlog_is_exit_2(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "s.lsn"
    f.write_text(f"s = socket(AF_INET, SOCK_STREAM)\nlisten(s, {HUGE})\n")
    code, out, err = run_cli(capsys, "run", str(f), "--profile", "linux")
    assert (code, out) == (2, "")
    assert err.startswith(f"{f}:2:11: integer ") and err.count("\n") == 1
    assert "Traceback" not in err


# ------------------------------------------------------------------ internal errors


def test_an_internal_error_is_exit_3_and_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import listenspec.checker

    def broken(*_: object) -> None:
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(listenspec.checker, "check", broken)
    f = tmp_path / "t.trace"
    f.write_text("listen(3, 1) = -1 EBADF\n")
    code, out, err = run_cli(capsys, "check", str(f), "--profile", "linux")
    assert code == 3  # never 1, which means "not allowed"
    assert out == ""
    assert err.count("\n") == 1 and "internal error" in err and "ZeroDivisionError" in err
    assert "Traceback" not in err
