"""`listenspec compare` (issue 12, point 1): every system side by side, differences marked, the
layout fits a width without cutting a cell, --json and --markdown; `run` points there."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from listenspec import columns
from listenspec.cli import main
from listenspec.models.profiles import PROFILES

UNIX_FULL = """\
s = socket(AF_UNIX, SOCK_STREAM)
bind(s)
listen(s, 0)
c1 = socket(AF_UNIX, SOCK_STREAM)
connect(c1, s)
c2 = socket(AF_UNIX, SOCK_STREAM)
connect(c2, s)
a = accept(s)
netstat(s)
"""

# A connection to a SO_REUSEPORT group: on Linux it may reach either listener (two ways)
REUSEPORT = """\
l1 = socket(AF_INET, SOCK_STREAM)
setsockopt(l1, SO_REUSEPORT, 1)
bind(l1)
l2 = socket(AF_INET, SOCK_STREAM)
setsockopt(l2, SO_REUSEPORT, 1)
bind(l2, l1)
listen(l1, 5)
listen(l2, 5)
c = socket(AF_INET, SOCK_STREAM)
connect(c, l1)
a = accept(l1)
b = accept(l2)
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def script(tmp_path: Path, text: str) -> str:
    f = tmp_path / "s.lsn"
    f.write_text(text)
    return str(f)


def rows(out: str) -> dict[int, str]:
    """Text table rows by script line number (first block)."""
    found: dict[int, str] = {}
    for line in out.splitlines():
        m = re.match(r"^(\S?)\s+(\d+)  ", line)
        if m and int(m.group(2)) not in found:
            found[int(m.group(2))] = line
    return found


def test_every_profile_gets_a_column_and_differing_lines_are_marked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "compare", script(tmp_path, UNIX_FULL), "--width", "0")
    assert (code, err) == (0, "")
    header = out.splitlines()[0].split()
    assert header == ["line", "script", *PROFILES]  # default: all, in one block when unlimited
    r = rows(out)
    assert r[1].startswith(" ") and r[2].startswith(" ")  # every system agrees
    assert r[5].startswith("≠")  # linux queues c1, FreeBSD 13's page refuses it
    assert "≠  the systems differ on this line" in out


def test_a_column_shows_what_run_shows(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    f = script(tmp_path, UNIX_FULL)
    data = json.loads(run(capsys, "compare", f, "--json", "--profiles", "linux,bsd-4.4")[1])
    for name in ("linux", "bsd-4.4"):
        trace = run(capsys, "run", f, "--profile", name)[1].splitlines()
        assert [f"{ln['call']} = {ln['results'][name]}" for ln in data["lines"]] == trace


def test_a_call_with_several_allowed_outcomes_is_shown_honestly(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = script(tmp_path, REUSEPORT)
    code, out, _ = run(capsys, "compare", f, "--profiles", "linux,freebsd-src", "--width", "0")
    r = rows(out)
    assert code == 0
    # linux's column follows `run` (the first listener) and says what the other way gives
    assert "fd (or -1 EAGAIN)" in r[11]
    assert "line 10: linux may answer `connect(c, l1)` in 2 ways" in out
    # freebsd-src's answer is one linux allows: the lines differ only in the way taken
    assert r[11].startswith("~") and r[12].startswith("~")
    data = json.loads(run(capsys, "compare", f, "--json", "--profiles", "linux,freebsd-src")[1])
    line10, line11 = data["lines"][9], data["lines"][10]
    assert line10["ways"] == {"linux": 2} and line10["mark"] == "same"
    assert line11["also_allowed"] == {"linux": ["-1 EAGAIN"]}
    assert line11["mark"] == "may agree"


@pytest.mark.parametrize("width", [40, 60, 80, 132])
def test_the_table_fits_the_width_in_blocks_and_keeps_every_cell(
        width: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = script(tmp_path, UNIX_FULL + 'syslog()\nsysctl("kern.ipc.somaxconn")\n')
    code, out, _ = run(capsys, "compare", f, "--width", str(width))
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= width
    headers = [line for line in out.splitlines() if line.lstrip().startswith("line  script")]
    named = " ".join(headers).split()
    assert all(p in named for p in PROFILES)  # every profile in some block
    assert len(headers) == len(columns.blocks(_table(f), width)) > (1 if width < 132 else 0)
    # nothing is cut: every result of every profile is in the text, whitespace aside
    data = json.loads(run(capsys, "compare", f, "--json")[1])
    flat = re.sub(r"\s+", "", out)
    for ln in data["lines"]:
        for result in ln["results"].values():
            assert re.sub(r"\s+", "", result) in flat


def _table(path: str) -> columns.Table:
    from listenspec.compare import compare, profile_column
    from listenspec.inputs import read_script

    s = read_script(path)
    return compare(s, [profile_column(s, p) for p in PROFILES.values()]).table()


def cells_of(text: str) -> list[dict[str, str]]:
    """Read a to_text table back: per block, per row, each header's cell (wrapped pieces
    joined), by the column spans of the block's rule line. A row starts where its line number
    (the key's first part, 4 wide here) is printed."""
    out: list[dict[str, str]] = []
    for block in text.split("\n\n"):
        lines = block.splitlines()
        rule = next(i for i, line in enumerate(lines) if set(line) <= {" ", "-"})
        spans = [(m.start(), m.end()) for m in re.finditer(r"-+", lines[rule])]
        heads = [" ".join(" ".join(line[a:b] for line in lines[:rule]).split())
                 for a, b in spans]
        rows: list[dict[str, list[str]]] = []
        for line in lines[rule + 1:]:
            pieces = [line[a:b] for a, b in spans]
            if pieces[0][:4].strip():
                rows.append({h: [] for h in heads})
            for h, piece in zip(heads, pieces, strict=True):
                rows[-1][h].append(piece.strip())
        out += [{h: " ".join(p for p in v if p) for h, v in r.items()} for r in rows]
    return out


cell = st.text(alphabet="ab c,()-", min_size=0, max_size=70)


@settings(max_examples=80, deadline=None)
@given(cells=st.lists(st.lists(cell, min_size=3, max_size=3), min_size=1, max_size=5),
       width=st.integers(24, 120))
def test_layout_never_exceeds_the_width_and_never_cuts(cells: list[list[str]],
                                                        width: int) -> None:
    t = columns.Table(("line", "script"), ("one", "two", "three"),
                      tuple((str(i), f"call_{i}(x, y)") for i in range(len(cells))),
                      tuple(tuple(r) for r in cells), tuple("≠" if i % 2 else ""
                                                          for i in range(len(cells))))
    text = columns.to_text(t, width)
    assert max(len(line) for line in text.splitlines()) <= width
    read = cells_of(text)
    blocks = columns.blocks(t, width)
    for b, block in enumerate(blocks):
        for r, row in enumerate(cells):
            got = read[b * len(cells) + r]
            assert got["line script"].replace(" ", "") == f"{r}call_{r}(x,y)"
            for i in block:
                assert got[t.headers[i]].replace(" ", "") == row[i].replace(" ", "")


def test_markdown_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = script(tmp_path, UNIX_FULL)
    code, out, _ = run(capsys, "compare", f, "--markdown", "--profiles", "linux,freebsd-13")
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == "|  | line | script | linux | freebsd-13 |"
    assert lines[1] == "| --- | --- | --- | --- | --- |"
    assert lines[6] == ("| ≠ | 5 | `connect(c1, s)` | `0` | `-1 ECONNREFUSED` |")
    data = json.loads(run(capsys, "compare", f, "--json", "--profiles", "freebsd-13,linux")[1])
    assert [s["name"] for s in data["systems"]] == ["freebsd-13", "linux"]
    assert data["lines"][4] == {"line": 5, "call": "connect(c1, s)",
                                "results": {"freebsd-13": "-1 ECONNREFUSED", "linux": "0"},
                                "also_allowed": {}, "ways": {}, "mark": "differs"}
    assert data["targets"] == {}


def test_profiles_are_named_exactly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = script(tmp_path, UNIX_FULL)
    with pytest.raises(SystemExit) as e:
        main(["compare", f, "--profiles", "linux,freebsd13"])
    assert e.value.code == 2
    assert "unknown profile 'freebsd13' (did you mean freebsd-13" in capsys.readouterr().err
    data = json.loads(run(capsys, "compare", f, "--json", "--profiles", "all")[1])
    assert [s["name"] for s in data["systems"]] == list(PROFILES)


def test_a_target_gets_a_column_and_its_trace_is_checked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from listenspec.kernel.netns import isolation_problem

    if (problem := isolation_problem()) is not None:
        pytest.skip(problem)
    f = script(tmp_path, UNIX_FULL)
    code, out, err = run(capsys, "compare", f, "--profiles", "linux,freebsd-13", "--target",
                         "linux", "--width", "0")
    assert code == 0 and err.startswith("# kernel: ")
    assert out.splitlines()[0].split()[-1] == "kernel"
    assert ("kernel's trace, checked (`listenspec check`): allowed by linux; not by "
            "freebsd-13 (line 5)") in out


def test_an_unsupported_cell_is_not_compared_and_says_why(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a fake executor that knows no netstat(): every netstat line comes back unsupported
    hs = {"stack": "fake", "calls": ["socket", "bind", "listen", "connect", "accept"]}
    prog = tmp_path / "fake.py"
    prog.write_text(
        "import sys, json\n"
        "def answer(t):\n    sys.stdout.write(t + '\\n'); sys.stdout.flush()\n"
        f"answer('listenspec-executor 1 ' + {json.dumps(json.dumps(hs))})\n"
        "for line in sys.stdin:\n"
        "    line = line.rstrip('\\n')\n"
        "    if line == '%quit': break\n"
        "    if line.startswith('%'): answer('%ok'); continue\n"
        "    answer('fd' if 'socket(' in line or 'accept(' in line else "
        "('-1 EAGAIN' if 'c2' in line else '0'))\n")
    f = script(tmp_path, UNIX_FULL)
    name = f"exec:{sys.executable} {prog}"
    code, out, _ = run(capsys, "compare", f, "--profiles", "linux", "--target", name,
                       "--width", "0")
    assert code == 0
    assert rows(out)[9].startswith(" ")  # netstat: linux says 0/0/0, the target nothing
    assert 'unsupported("' in rows(out)[9]
    assert f"{name}: line(s) 9 not compared: the target could not perform the call" in out
    assert f"{name}'s trace, checked (`listenspec check`): allowed by linux" in out


def test_run_refuses_several_profiles_and_points_to_compare(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = script(tmp_path, UNIX_FULL)
    for argv in (["run", f, "--profile", "linux", "--profile", "freebsd-13"],
                 ["run", f, "--profile", "all"],
                 ["check", f, "--profile", "linux", "--profile", "linux"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert "listenspec compare SCRIPT --profiles" in captured.err


def test_a_malformed_script_is_a_located_error(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    f = script(tmp_path, "s = socket(AF_INET, SOCK_STREAM)\nlisten(s, x y)\n")
    code, out, err = run(capsys, "compare", f)
    assert (code, out) == (2, "")
    assert err == f"{f}:2:13: expected ',' between arguments\n"
    code, out, err = run(capsys, "compare", str(tmp_path / "missing.lsn"))
    assert (code, out) == (2, "") and "cannot read" in err
