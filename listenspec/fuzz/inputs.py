"""Hypothesis strategies for hostile inputs: what a file, standard input or an argument can hold.

Each kind of issue 14's fuzzing has a strategy of its own: random bytes; the shipped example
scripts and traces (spec/examples), mutated; integers of any length; text with every character
that may end a line somewhere (U+2028, \\x0b, \\x85, ...); NUL bytes; megabyte lines; deep
parentheses; long scripts. Large inputs are drawn as a short recipe and built from it, since
Hypothesis draws at most a few kilobytes of choices per example.

Within a kind, the choices come from one `random.Random` that Hypothesis draws per input
(st.randoms): a Hypothesis draw costs tens of microseconds, and a mutated example makes dozens
of choices, which made generation most of the fuzzer's time. Every strategy is built once.
"""

from __future__ import annotations

import random
import string
from functools import cache
from typing import Any

from hypothesis import strategies as st

from ..models.profiles import PROFILES
from ..scriptgen import script_text, scripts

#: Characters that end a line for str.splitlines() (and some other tools), and other trouble.
ODD_CHARS = ("\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\r", "\0",
             "\ufeff", "\u200b", "\u0301", "é", "€", "\U0001f600", "\x7f", "\t", "\\", '"')
#: Fragments of the format, for mutations that land near something meaningful.
TOKENS = ("(", ")", ",", "=", " = ", '"', "\\", "#", "\n", "\r\n", "\0", "-", "-1", "0", "fd",
          "NULL", "2147483647", "2147483648", "-2147483649", "-1 EINVAL", "-1 ", "E", "1/0/5",
          "[", "]", '["a"]', "unsupported(", "<port>", "<x>", "s", "s = ", "socket(", "listen(",
          "AF_INET", "SOCK_STREAM", "SO_ACCEPTFILTER", "\\x", "\\xff", "\\q", "0.5", "1e9",
          "\u2028", "\x85", "\xff", "\xc3", "\xed\xa0\x80")
#: Digit-string lengths around every bound that matters (C int, 64 bits, CPython's 4,300).
DIGITS = (1, 9, 10, 11, 19, 20, 21, 40, 4300, 4301, 10_000, 100_000)
MEGABYTE = 1 << 20

LINE_TEMPLATES = (
    "listen(3, {n})", "listen({n}, 1)", 'sysctl("kern.ipc.somaxconn", {n})', "sleep({n})",
    "sleep(0.{n})", "setsockopt(3, TCP_DEFER_ACCEPT, {n})", "close({n})",
)
RESULT_TEMPLATES = (
    "listen(3, 1) = {n}", "listen(3, 1) = -{n}", "netstat(3) = {n}/0/1", "netstat(3) = 0/{n}/1",
    "netstat(3) = 0/0/{n}", "listen(3, {n}) = 0", "sleep({n}) = 0",
)


@cache
def corpus(trace: bool) -> tuple[bytes, ...]:
    """The shipped examples: scripts (.lsn) or the traces of every profile (.trace)."""
    from ..spec.examples import examples_dir

    pattern = "*.trace" if trace else "*.lsn"
    return tuple(p.read_bytes() for p in sorted(examples_dir().glob(pattern)))


def _encoded(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


#: One Random per input, seeded by Hypothesis (so a run is reproducible from its seed).
RANDOMS: st.SearchStrategy[random.Random] = st.randoms(use_true_random=True)


def digit_string(r: random.Random) -> str:
    """A decimal literal: a length near a bound, digits, maybe a sign and leading zeros."""
    length = r.choice(DIGITS)
    body = r.choice("123456789") + r.choice("0123456789") * (length - 1)
    return r.choice(("", "", "-")) + "0" * r.choice((0, 0, 1, 5000)) + body


def huge_integers(r: random.Random, trace: bool) -> bytes:
    templates = RESULT_TEMPLATES if trace else LINE_TEMPLATES
    lines = [r.choice(templates).format(n=digit_string(r)) for _ in range(r.randint(1, 3))]
    return _encoded("\n".join(lines) + "\n")


def mutated(r: random.Random, trace: bool) -> bytes:
    """An example with a few edits (mutate_bytes)."""
    return mutate_bytes(r, r.choice(corpus(trace)))


def mutate_bytes(r: random.Random, original: bytes) -> bytes:
    """A few edits: tokens and odd characters inserted, ranges deleted or doubled, numbers
    made huge, lines swapped, NULs sprinkled, the end cut off."""
    data = bytearray(original)
    for _ in range(r.randint(1, 6)):
        op = r.choice(("insert", "insert", "delete", "double", "number", "swap", "nul", "cut",
                       "byte"))
        at = r.randint(0, len(data))
        if op == "insert":
            data[at:at] = _encoded(r.choice(TOKENS + ODD_CHARS))
        elif op == "delete":
            del data[at : at + r.randint(1, 40)]
        elif op == "double":
            data[at:at] = data[at : at + r.randint(1, 200)]
        elif op == "number":
            data[at:at] = digit_string(r).encode()
        elif op == "swap":
            lines = bytes(data).split(b"\n")
            i, j = r.randrange(len(lines)), r.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\n".join(lines))
        elif op == "nul":
            data[at:at] = b"\0" * r.randint(1, 3)
        elif op == "cut":
            del data[at:]
        else:
            data[at : at + 1] = bytes([r.randrange(256)])
    return bytes(data)


def megabyte_lines(r: random.Random, trace: bool) -> bytes:
    """One line of a megabyte or more (or a megabyte of empty lines)."""
    n = MEGABYTE + r.randint(0, 3)
    shapes = [
        lambda: 'send(3, "' + "a" * n + '")', lambda: "#" * n, lambda: "x" * n + "(",
        lambda: "listen(3, " + "1" * n + ")", lambda: "s" * n + " = socket(AF_INET, SOCK_STREAM)",
        lambda: "\n" * n, lambda: " " * n + "open()",
        lambda: 'send(3, "' + "\\x41" * (n // 4) + '")',
        lambda: "s = open()\nclose(s" + ", s" * (n // 3) + ")",
    ]
    if trace:
        shapes += [lambda: 'syslog() = ["' + "a<x>" * (n // 4) + '"]',
                   lambda: "syslog() = [" + '"a", ' * (n // 5) + '"b"]',
                   lambda: "open() = " + "9" * n, lambda: "open() = -1 " + "E" * n]
    return _encoded(r.choice(shapes)())


def long_scripts(r: random.Random, trace: bool) -> bytes:
    """Many short lines: a long script is linear work, but a lot of it."""
    n = r.choice((1000, 5000, 20_000))
    head = "s = socket(AF_INET, SOCK_STREAM)" + (" = fd" if trace else "")
    line = r.choice(("netstat(s)", "listen(s, 1)", "x = accept(s)")) + (
        r.choice((" = 0/0/0", " = 0", " = -1 EINVAL")) if trace else "")
    return _encoded(head + "\n" + (line + "\n") * n)


def deep_parentheses(r: random.Random, trace: bool) -> bytes:
    depth = r.choice((10, 100, 1000, 10_000, 100_000))
    shapes = ["listen(" + "(" * depth + "3" + ")" * depth + ", 1)", "(" * depth,
              "listen(3, 1" + ")" * depth, "[" * depth]
    if trace:
        shapes += ["syslog() = " + "[" * depth + "]" * depth,
                   "open() = " + "unsupported(" * depth + '"x"' + ")" * depth,
                   'syslog() = ["' + "(" * depth + '"]']
    return _encoded(r.choice(shapes))


#: Text from the odd characters and the format's own, or any characters at all: Hypothesis's
#: own text strategy, for the breadth of Unicode it draws from.
ODD_TEXT: st.SearchStrategy[bytes] = st.text(
    st.one_of(st.sampled_from(ODD_CHARS), st.sampled_from(string.printable),
              st.characters(codec="utf-8")), max_size=300).map(_encoded)

#: One input in this many is a megabyte line, and one a long script: they cost up to a second
#: of CPU each, where the others cost milliseconds.
LARGE_EVERY = 1000


def random_text(r: random.Random, size: int) -> str:
    """Text of odd characters, the format's own, and any code point (no lone surrogates)."""
    out = []
    for _ in range(size):
        pool = r.randrange(3)
        if pool == 0:
            out.append(r.choice(ODD_CHARS))
        elif pool == 1:
            out.append(r.choice(string.printable))
        else:
            c = r.randrange(0x110000)
            out.append(chr(c) if not 0xD800 <= c <= 0xDFFF else "\ufffd")
    return "".join(out)


def _document(r: random.Random, trace: bool) -> bytes:
    k = r.randrange(LARGE_EVERY)  # uniform: Hypothesis's integers favour the ends of a range
    if k == 0:
        return megabyte_lines(r, trace)
    if k == 1:
        return long_scripts(r, trace)
    kind = r.randrange(6)
    if kind == 0:
        return r.randbytes(r.randint(0, 600))
    if kind == 1:
        return _encoded(random_text(r, r.randint(0, 300)))
    if kind == 2:
        return huge_integers(r, trace)
    if kind == 3:
        return deep_parentheses(r, trace)
    return mutated(r, trace)


@cache
def documents(*, trace: bool) -> st.SearchStrategy[bytes]:
    """Any of the hostile kinds: mostly drawn from one Random (random bytes, odd text, huge
    integers, deep parentheses, and a mutated example one time in three; a megabyte line and a
    long script rarely), and one input in eight is Hypothesis's own Unicode text."""
    built = st.builds(_document, RANDOMS, st.just(trace))
    return st.one_of(built, built, built, built, built, built, built, ODD_TEXT)


def _valid_script(r: random.Random, script: Any) -> bytes:
    text = script_text(script)
    name = next((step.bind for step in script.steps if step.bind), None)
    if r.random() < 0.5:
        text = text.replace(", 5)", f", {r.choice(('2147483647', '-2147483648'))})")
    if r.random() < 0.5:
        text = text.replace('"x"', r.choice(('"é€\\xff\\x00"', '"' + "y" * 5000 + '"')))
    if r.random() < 0.5:
        text += r.choice(("sleep(99999999999999999999.5)\n", "sleep(0.000001)\n",
                          'sysctl("kern.ipc.somaxconn", -2147483648)\n',
                          f'setsockopt({name}, SO_ACCEPTFILTER, "dataready")\n'
                          if name else "open()\n", "syslog()\n", 'counter("nothing")\n'))
    return text.encode()


#: A well-formed random script (conform's generator), with values pushed to their ends.
VALID_SCRIPTS: st.SearchStrategy[bytes] = st.builds(_valid_script, RANDOMS,
                                                    scripts(max_steps=40, syn=True))

PROFILE_NAMES: st.SearchStrategy[str] = st.sampled_from(sorted(PROFILES))

#: Option values: the usual, the edges, and nonsense.
ARGUMENT_WORDS = ("0", "1", "-1", "2", "100", "nan", "inf", "-inf", "1e309", "0x10", "", "-",
                  "--", " ", "linux", "freebsd-src", "kernel", "proofs", "stages", "AF_UNIX",
                  "STAGE", "x.md", "x.html", "x.txt", "127.0.0.1:0", "é", "\udcff", "a\nb",
                  "z" * 100_000)


def argument_value(r: random.Random) -> str:
    kind = r.randrange(4)
    if kind == 0:
        return r.choice(ARGUMENT_WORDS)
    if kind == 1:
        return str(r.randint(-(2**70), 2**70))
    if kind == 2:
        return digit_string(r)
    return random_text(r, r.randint(0, 20))
