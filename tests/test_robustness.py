"""Issue 14's reproducers for the parser, the results and the CLI: every input becomes a result or
a `FILE:LINE:COL` error, in linear time, and messages stay short."""

from __future__ import annotations

import pytest

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
