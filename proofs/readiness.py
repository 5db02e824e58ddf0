"""Readiness: what poll(2) says of a listener, over every combination of the facts it reads.

- poll-listener: a listener with no pending error that was never shut down is POLLIN exactly
  when its completed queue is not empty (so exactly when accept() would return a connection),
  and never POLLOUT, POLLHUP or POLLERR; for every kind of listener (TCP, AF_UNIX stream and
  SOCK_SEQPACKET), with the facts dataplane.poll_facts gives every listener (not connected, not
  closed, nothing to read) and every value of the others;
- poll-listener-shut: the same "POLLIN only when accept() has a connection" without those
  preconditions. It fails everywhere, and the counterexample is run on the model: on Linux an
  AF_UNIX listener shut for reading polls POLLIN|POLLRDHUP with nothing to accept (unix_poll():
  RCV_SHUTDOWN; measured by the kernel executor); on the BSDs shutdown(SHUT_RD) leaves
  so_error ECONNABORTED, which makes a listener readable (sopoll_generic(), soreadable()).

Both evaluate rules.poll_events, the function the model's poll() returns, over Z3 Booleans.

    python -m listenspec.proofs.readiness
"""

from __future__ import annotations

import z3

from listenspec.models.arith import Term, and_, not_
from listenspec.models.profiles import Profile
from listenspec.models.rules import PollFacts
from listenspec.results import render
from listenspec.runner import run_model
from listenspec.script import parse

from . import smt
from .listener import implies
from .property import Property, Verdict
from .ruleset import Rules

#: the kinds of socket that listen, and the socket() call that makes one
LISTENERS = {"tcp": "socket(AF_INET, SOCK_STREAM)", "unix-stream": "socket(AF_UNIX, SOCK_STREAM)",
             "unix-seqpacket": "socket(AF_UNIX, SOCK_SEQPACKET)"}
FACTS = ("acceptable", "closed", "connected", "readable", "error", "rcv_shut", "snd_shut")


def _facts(kind: str) -> tuple[PollFacts, dict[str, Term]]:
    v = {f: z3.Bool(f"{kind}.{f}") for f in FACTS}
    return PollFacts(kind=kind, listening=True, **v), v


def _check(p: Profile, r: Rules, shut_too: bool) -> Verdict:
    for kind in LISTENERS:
        f, v = _facts(kind)
        ev = r.poll_events(p, f)

        def has(flag: str, ev: dict[str, Term] = ev) -> Term:
            return ev.get(flag, False)

        # what dataplane.poll_facts says of every listening socket
        calm = [not_(f.closed), not_(f.connected), not_(f.readable)]
        if not shut_too:
            calm += [not_(f.error), not_(f.rcv_shut), not_(f.snd_shut)]
        if shut_too:
            claim = implies(has("POLLIN"), f.acceptable)
        else:
            claim = and_(has("POLLIN") == f.acceptable, not_(has("POLLOUT")),
                         not_(has("POLLHUP")), not_(has("POLLERR")))
        smt.require_sat(f"a {kind} listener", calm)
        m = smt.refute(calm, claim)
        if m is not None:
            vals = smt.values(m, v)
            return Verdict("counterexample", _witness(p, r, kind, vals, shut_too))
    how = ("for every fact a listener's readiness is computed from" if shut_too else
           "for every fact, with no pending error and no shutdown")
    return Verdict("proved", detail=f"{how}: TCP, AF_UNIX stream and SOCK_SEQPACKET listeners")


def _witness(p: Profile, r: Rules, kind: str, vals: dict[str, int | bool],
             shut: bool) -> str:
    """The facts, and (for the real rules, after a shutdown) the script run on the model."""
    facts = ", ".join(f"{k}={'1' if v else '0'}" for k, v in vals.items())
    head = f"a {kind} listener with {facts}: readiness is not what accept() would do"
    if not shut:
        return head
    if not r.is_real:
        return head + "\n# (rules injected: not run on the model, which runs the real rules)"
    lines = [f"x = {LISTENERS[kind]}"]
    if kind != "tcp":
        lines.append("bind(x)")
    lines += ["listen(x, 1)", "shutdown(x, SHUT_RD)", "poll(x)", "accept(x)"]
    ran = run_model(parse("\n".join(lines) + "\n", "<proof>"), p)
    shown = "\n".join(f"{line}  # = {render(ex.result)}" for line, ex in zip(lines, ran,
                                                                          strict=True))
    return f"{head}\n{shown}"


def check_listener(p: Profile, r: Rules) -> Verdict:
    return _check(p, r, shut_too=False)


def check_shut(p: Profile, r: Rules) -> Verdict:
    return _check(p, r, shut_too=True)


PROPERTIES = (
    Property("poll-listener", "a listener with no error that was never shut down is POLLIN "
             "iff its completed queue is not empty, and never POLLOUT/POLLHUP/POLLERR",
             check_listener),
    Property("poll-listener-shut", "the same POLLIN => a connection to accept, after "
             "shutdown(SHUT_RD) (fails: Linux AF_UNIX RCV_SHUTDOWN, the BSDs' so_error)",
             check_shut, expected=lambda p: "proved" if p.poll_style == "gvisor"
             else "counterexample"),  # gVisor: a listener's readiness ignores shutdown
)


if __name__ == "__main__":
    from .run import module_main

    raise SystemExit(module_main(PROPERTIES))
