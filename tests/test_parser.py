"""The script/trace parser: what it accepts, and every kind of malformed input with its place."""

from __future__ import annotations

from decimal import Decimal

import pytest

from listenspec.errors import ListenspecError
from listenspec.literals import quote, unescape
from listenspec.results import Err, ErrName, Lines, NewFd, Queue, Ret, Str, Unsupported, render
from listenspec.script import Call, Const, Name, Null, format_call, parse


def test_parses_every_call_of_the_format() -> None:
    text = """
# comment line
s = socket(AF_INET, SOCK_STREAM)   # trailing comment
bind(s)
listen(s, -1)
c = socket(AF_INET6, SOCK_SEQPACKET)
connect(c, s)
syn(s)
a = accept(s)
send(c, "GET #not-a-comment \\r\\n\\x41")
close(a)
f = open()
setsockopt(s, SO_ACCEPTFILTER, "dataready")
setsockopt(s, SO_ACCEPTFILTER, NULL)
setsockopt(s, SO_LISTENQLIMIT, 7)
getsockopt(s, SO_ERROR)
sysctl("kern.ipc.soacceptqueue")
sysctl("kern.ipc.soacceptqueue", 128)
netstat(s)
sleep(1.25)
syslog()
counter("ListenOverflows")
listen(400, 0)
"""
    script = parse(text, "all.lsn")
    calls = [s.call for s in script.steps]
    assert [c.name for c in calls] == [
        "socket", "bind", "listen", "socket", "connect", "syn", "accept", "send", "close",
        "open", "setsockopt", "setsockopt", "setsockopt", "getsockopt", "sysctl", "sysctl",
        "netstat", "sleep", "syslog", "counter", "listen",
    ]
    assert calls[0] == Call("socket", (Const("AF_INET"), Const("SOCK_STREAM")))
    assert calls[2] == Call("listen", (Name("s"), -1))
    assert calls[7].args[1] == "GET #not-a-comment \r\nA"
    assert calls[11].args[2] == Null()
    assert calls[17].args[0] == Decimal("1.25")
    assert calls[20] == Call("listen", (400, 0))
    assert script.steps[0].bind == "s" and script.steps[0].line == 3
    assert script.steps[0].text == "s = socket(AF_INET, SOCK_STREAM)"


def test_int_range_edges_are_accepted() -> None:
    s = parse("s = socket(AF_INET, SOCK_STREAM)\nlisten(s, -2147483648)\nlisten(s, 2147483647)")
    assert [st.call.args[1] for st in s.steps[1:]] == [-(2**31), 2**31 - 1]


def test_rebinding_a_name_is_allowed() -> None:
    s = parse("s = socket(AF_INET, SOCK_STREAM)\ns = socket(AF_UNIX, SOCK_STREAM)\nbind(s)")
    assert len(s.steps) == 3


MALFORMED = [
    ("listen(s, 1)", 1, 8, "name 's' is not bound"),
    ("s = open()\nlisten(s, 2147483648)", 2, 11, "outside the C int range"),
    ("s = open()\nlisten(s, -2147483649)", 2, 11, "outside the C int range"),
    ("frobnicate(1)", 1, 1, "unknown call 'frobnicate'"),
    ("listen 3, 1)", 1, 8, "expected '(' after listen"),
    ("listen(3 1)", 1, 10, "expected ',' between arguments"),
    ("listen(3, 1", 1, 12, "missing ')'"),
    ("listen(3,)", 1, 10, "expected an argument after ','"),
    ("listen(3, 1, 2)", 1, 1, "listen takes 2 argument(s), not 3"),
    ("sysctl()", 1, 1, "sysctl takes 1 or 2 argument(s), not 0"),
    ("x = listen(3, 1)", 1, 1, "does not return a descriptor"),
    ("S = open()", 1, 1, "a NAME is [a-z][a-z0-9_]*"),
    ("socket(AF_FOO, SOCK_STREAM)", 1, 8, "expected one of AF_INET"),
    ("socket(AF_INET, 1)", 1, 17, "expected one of SOCK_STREAM"),
    ("getsockopt(3, SO_FOO)", 1, 15, "expected one of SO_ACCEPTCONN"),
    ('send(3, "abc)', 1, 9, "unterminated string"),
    ('send(3, "a\\q")', 1, 11, "unknown escape"),
    ("send(3, 5)", 1, 9, "expected a string literal"),
    ("listen(3, 1.5)", 1, 11, "expected an integer"),
    ("listen(-3, 1)", 1, 8, "non-negative"),
    ("sleep(-1)", 1, 7, "non-negative number of seconds"),
    ("listen(3, 1) junk", 1, 14, "unexpected 'j' after the call"),
    ("listen(3, 1) = 0", 1, 14, "is this a trace?"),
    ("listen(3, @)", 1, 11, "unexpected character '@'"),
    ("= open()", 1, 1, "expected a call"),
    ("setsockopt(3, SO_ACCEPTFILTER, nil)", 1, 32, "an integer, a string or NULL"),
]


@pytest.mark.parametrize(("text", "line", "col", "message"), MALFORMED)
def test_malformed_script_names_file_line_col(text: str, line: int, col: int,
                                              message: str) -> None:
    with pytest.raises(ListenspecError) as info:
        parse(text, "bad.lsn")
    err = info.value
    assert (err.file, err.line, err.col) == ("bad.lsn", line, col), str(err)
    assert message in err.message
    assert str(err).startswith(f"bad.lsn:{line}:{col}: ")


TRACE_RESULTS = [
    ("fd", NewFd()),
    ("0", Ret(0)),
    ("-3", Ret(-3)),
    ("-1 EINVAL", Err("EINVAL")),
    ("3/0/5", Queue(3, 0, 5)),
    ('"dataready"', Str("dataready")),
    ("ECONNRESET", ErrName("ECONNRESET")),
    ("[]", Lines(())),
    ('["a \\"b\\"", "c"]', Lines(('a "b"', "c"))),
    ('unsupported("no raw sockets")', Unsupported("no raw sockets")),
]


@pytest.mark.parametrize(("text", "result"), TRACE_RESULTS)
def test_trace_results_parse_and_render_back(text: str, result: object) -> None:
    step = parse(f"listen(3, 1) = {text}", trace=True).steps[0]
    assert step.expected == result
    assert render(step.expected) == text  # type: ignore[union-attr]


MALFORMED_TRACES = [
    ("listen(3, 1)", 1, 13, "needs ' = RESULT'"),
    ("listen(3, 1) = ", 1, 15, "expected a result"),
    ("listen(3, 1) = -1 einval", 1, 19, "expected an errno name"),
    ("listen(3, 1) = what", 1, 16, "cannot read result"),
    ('syslog() = ["a",]', 1, 17, "expected a string after ','"),
    ('syslog() = ["a" "b"]', 1, 17, "unexpected '\"' after a string"),
    ('syslog() = ["a"', 1, 15, "expected ']'"),
]


@pytest.mark.parametrize(("text", "line", "col", "message"), MALFORMED_TRACES)
def test_malformed_trace_names_file_line_col(text: str, line: int, col: int,
                                             message: str) -> None:
    with pytest.raises(ListenspecError) as info:
        parse(text, "bad.trace", trace=True)
    err = info.value
    assert (err.line, err.col) == (line, col), str(err)
    assert message in err.message


def test_quote_and_unescape_round_trip() -> None:
    for s in ["", "plain", 'q"uote', "back\\slash", "\r\n\t", "\x00\x01\xff", "é"]:
        assert unescape(quote(s)[1:-1], lambda m, c: ListenspecError(m)) == s


def test_format_call_round_trips_through_the_parser() -> None:
    text = 's = socket(AF_INET, SOCK_STREAM)\nsetsockopt(s, SO_ACCEPTFILTER, "a\\"b")\nsleep(0.5)'
    for step in parse(text).steps:
        assert format_call(step.call, step.bind) == step.text
