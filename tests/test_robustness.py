"""Issue 14's reproducers for the parser, the results and the CLI: every input becomes a result or
a `FILE:LINE:COL` error, in linear time, and messages stay short."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from listenspec import results
from listenspec.cli import main
from listenspec.errors import ListenspecError
from listenspec.literals import quote, to_bytes, unescape
from listenspec.script import parse

ROOT = Path(__file__).resolve().parents[1]
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
    import listenspec.checkreport

    def broken(*_: object, **__: object) -> None:
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(listenspec.checkreport, "check", broken)
    f = tmp_path / "t.trace"
    f.write_text("listen(3, 1) = -1 EBADF\n")
    code, out, err = run_cli(capsys, "check", str(f), "--profile", "linux")
    assert code == 3  # never 1, which means "not allowed"
    assert out == ""
    assert err.count("\n") == 1 and "internal error" in err and "ZeroDivisionError" in err
    assert "Traceback" not in err


# ------------------------------------------------------------------ (3) placeholder matching


def test_placeholder_matching_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    # The shape that made nested lazy patterns backtrack: many placeholders, and an actual line
    # that matches none of the fixed parts after the first ones. The matcher must not use the
    # regex engine, and must look at each character of the actual line a bounded number of times.
    expected = "a<x>" * 3000 + "b"
    actual = "a" * 20000
    calls: list[int] = []
    real_find = results._find  # the one primitive the matcher scans with

    def counting(hay: str, needle: str, start: int) -> int:
        calls.append(start)
        return real_find(hay, needle, start)

    monkeypatch.setattr(results, "_find", counting)
    monkeypatch.setattr(re, "fullmatch", None)  # any use of a regex here would now fail
    assert results._line_matches(expected, actual) is False
    assert len(calls) <= 3002  # one search per fixed part


@pytest.mark.parametrize(("expected", "actual", "ok"), [
    ("TCP: request_sock_TCP: Possible SYN flooding on port <addr>:<port>. Sending cookies.",
     "TCP: request_sock_TCP: Possible SYN flooding on port 127.0.0.1:4000. Sending cookies.",
     True),
    ("sonewconn: pcb <ptr>: Listen queue overflow", "sonewconn: pcb 0xfff: Listen queue overflow",
     True),
    ("a<x>b", "ab", False),  # a placeholder stands for at least one character
    ("a<x>b", "axxb", True),
    ("<x>", "", False),
    ("<x><y>", "z", False),
    ("<x><y>", "zz", True),
    ("a<x>", "a\nb", True),
    ("x<p>y<q>z", "x1y2y3z", True),
    ("x<p>y<q>z", "x1y2y3", False),
    ("start<p>", "star", False),
    ("<p>end", "theend", True),
    ("<p>end", "end", False),
    ("plain", "plain", True),
    ("plain", "plain!", False),
    ("a < b <", "a < b <", True),
    ("a < b <", "a < c <", False),
    ("ab<x>ba", "aba", False),  # the fixed parts may not overlap
    ("ab<x>ba", "abxba", True),
])
def test_placeholders_match_as_before(expected: str, actual: str, ok: bool) -> None:
    assert results._line_matches(expected, actual) is ok


@given(st.lists(st.sampled_from(["a", "b", "<x>", "<", ">"]), max_size=8).map("".join),
       st.text("ab<>x", max_size=10))
@settings(max_examples=300, deadline=None)
def test_placeholders_match_as_the_regex_did_on_small_lines(expected: str, actual: str) -> None:
    # The former matcher, a reference on lines too short for its backtracking to matter.
    parts = re.split(r"<[a-z_]+>", expected)
    pattern = "(?:.+?)".join(re.escape(p) for p in parts)
    assert results._line_matches(expected, actual) is (
        re.fullmatch(pattern, actual, re.DOTALL) is not None)


def test_a_crafted_trace_is_checked_quickly(tmp_path: Path) -> None:
    # The 23 KB shape that took 46 s (and 106 s at 21 KB on this machine): freebsd-src's overflow
    # log line has five placeholders, and the actual line repeats its fixed parts without ever
    # ending as the expected line does. Run as the user would, with a generous bound.
    example = (ROOT / "spec/examples/overflow_log.freebsd-src.trace").read_text()
    head = example.split("syslog()", 1)[0]
    crafted = "sonewconn: pcb " + (
        "x (local:y): Listen queue overflow: 2 already in queue awaiting acceptance "
        "(1 occurrences), euid 1, rgid 1") * 200 + ", jail"
    assert len(crafted) > 20_000
    f = tmp_path / "t.trace"
    f.write_text(f'{head}syslog() = ["{crafted}"]\n')
    proc = subprocess.run([sys.executable, "-m", "listenspec.cli", "check", str(f), "--profile",
                           "freebsd-src"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert ":14:12: freebsd-src expects `syslog() = [" in proc.stdout


# ------------------------------------------------------------------ (10) strings are bytes


@pytest.mark.parametrize(("literal", "data"), [
    ('"é"', "é".encode()),
    ('"€"', "€".encode()),
    ('"\\xe9"', b"\xe9"),
    ('"\\xc3\\xa9"', b"\xc3\xa9"),
    ('"a\\x00b"', b"a\x00b"),
    ('"\\x41é\\xff"', b"A\xc3\xa9\xff"),
    ('"\\n\\r\\t\\\\\\""', b"\n\r\t\\\""),
])
def test_text_is_utf8_and_hex_escapes_are_bytes(literal: str, data: bytes) -> None:
    value = parse(f"send(3, {literal})").steps[0].call.args[1]
    assert isinstance(value, str)
    assert to_bytes(value) == data


def test_a_string_renders_back_to_the_same_bytes() -> None:
    for literal in ['"é"', '"\\xe9"', '"\\xc3\\xa9"', '"€\\x80"', '"\\x7f\\x00"']:
        value = parse(f"send(3, {literal})").steps[0].call.args[1]
        assert isinstance(value, str)
        again = unescape(quote(value)[1:-1], lambda m, c: ListenspecError(m))
        assert to_bytes(again) == to_bytes(value), literal


def test_send_counts_bytes_of_utf8_text(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "s.lsn"
    f.write_text(
        "s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 1)\nc = socket(AF_INET, SOCK_STREAM)\n"
        'connect(c, s)\nsend(c, "é")\nsend(c, "€")\nsend(c, "\\xe9")\n'
    )
    code, out, _ = run_cli(capsys, "run", str(f), "--profile", "linux")
    assert code == 0
    assert out.splitlines()[-3:] == ['send(c, "é") = 2', 'send(c, "€") = 3',
                                     'send(c, "\\xe9") = 1']


# ------------------------------------------------------------------ (11) messages


def test_long_echoes_are_cut(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "z" * 100_000
    f = tmp_path / "s.lsn"
    f.write_text(f"{name}(3)\n")
    code, _, err = run_cli(capsys, "run", str(f), "--profile", "linux")
    assert code == 2 and len(err) < 200 and "…" in err
    code, _, err = run_cli(capsys, "run", str(f), "--profile", name)
    assert code == 2 and len(err) < 2000 and "…" in err and name not in err
    code, _, err = run_cli(capsys, "machines", "--examples", "9" * 5000)
    assert code == 2 and len(err) < 2000 and "…" in err


def test_machines_with_no_examples_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "machines", "--examples", "0", "--profile", "linux")
    assert (code, out) == (2, "")
    assert "--examples" in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_non_utf8_file_names_its_first_bad_byte(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "s.lsn"
    f.write_bytes(b"s = open()\nsend(s, \"\xc3\xa9\xe9\")\n")
    code, out, err = run_cli(capsys, "run", str(f), "--profile", "linux")
    assert (code, out) == (2, "")
    assert err.startswith(f"{f}:2:11: ") and "UTF-8" in err and "0xe9" in err


def test_non_utf8_standard_input_names_its_first_bad_byte(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io

    class Stdin(io.TextIOWrapper):
        pass

    monkeypatch.setattr(sys, "stdin", Stdin(io.BytesIO(b"\xff\n"), encoding="utf-8"))
    code, out, err = run_cli(capsys, "run", "-", "--profile", "linux")
    assert (code, out) == (2, "")
    assert err.startswith("<stdin>:1:1: ")


# ------------------------------------------------------------------ (4) Ctrl-C in a model run


def test_ctrl_c_in_a_model_run_prints_the_lines_computed_and_where_it_stopped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from listenspec.runner import ModelRun

    real = ModelRun.step
    taken: list[int] = []

    def interrupted_at_the_third(self: ModelRun, step: object) -> object:
        taken.append(1)
        if len(taken) == 3:
            raise KeyboardInterrupt
        return real(self, step)  # type: ignore[arg-type]

    monkeypatch.setattr(ModelRun, "step", interrupted_at_the_third)
    f = tmp_path / "s.lsn"
    f.write_text("s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 1)\n\nnetstat(s)\nclose(s)\n")
    code, out, err = run_cli(capsys, "run", str(f), "--profile", "linux")
    assert code == 130
    assert out == "s = socket(AF_INET, SOCK_STREAM) = fd\nlisten(s, 1) = 0\n"
    assert err == f"{f}:4: stopped by SIGINT at netstat(s), after 2 of 4 steps\n"


def test_ctrl_c_elsewhere_is_one_line_and_130(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import listenspec.checkreport

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(listenspec.checkreport, "check", interrupted)
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO("listen(3, 1) = 0\n"))
    code, out, err = run_cli(capsys, "check", "-", "--profile", "linux")
    assert (code, out, err) == (130, "", "listenspec: stopped by SIGINT\n")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)],
                         ids=["sigterm", "sighup"])
def test_sigterm_or_sighup_during_any_command_unwinds_with_one_line(
        signum: signal.Signals, code: int) -> None:
    # explore holds no kernel run: before, the signal's default action ended the process at
    # once, skipping every `finally` (a gVisor target's sandbox directory was left behind)
    proc = subprocess.Popen(
        [sys.executable, "-m", "listenspec.cli", "explore", "--profile", "linux", "--depth",
         "40", "--workers", "1"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        time.sleep(3)  # well into the search (imports take about a second)
        assert proc.poll() is None
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == f"listenspec: stopped by {signum.name}"


def test_the_cli_puts_back_the_signal_handlers_it_found() -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)
    assert main(["profiles", "--profile", "linux", "--width", "8"]) == 0
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)) == before


# ------------------------------------------------------------------ found by the fuzzer


@pytest.mark.parametrize("path", ["a\0b", "\udcff-no-such.lsn"])
def test_an_unopenable_path_is_a_usage_error(path: str, capsys: pytest.CaptureFixture[str]) -> None:
    # main() takes any str; a NUL byte cannot be in a path (and os raises ValueError, not
    # OSError), and a path from undecodable argv bytes holds lone surrogates.
    for command in (["run", path, "--profile", "linux"], ["check", path, "--profile", "linux"]):
        code, out, err = run_cli(capsys, *command)
        assert (code, out) == (2, ""), err
        assert "cannot read" in err and err.count("\n") == 1


def test_a_call_of_a_million_arguments_is_not_read_to_its_end() -> None:
    # 350,000 arguments took 3 s to tokenize before arity was checked; no call has more than
    # three, so the parser stops after a bound far above that.
    err = error_of("s = open()\nclose(s" + ", s" * 350_000 + ")\n")
    assert (err.line, err.col) == (2, 1505) and "more than 1000 tokens" in err.message
    assert "listen takes 2 argument(s), not 3" in error_of("listen(3, 1, 2)").message
