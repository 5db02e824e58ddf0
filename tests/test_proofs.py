"""The Z3 proofs: they hold on the model, they fail on broken rules, and the abstract listener
they reason about is the concrete model's listener (Hypothesis, on random runs)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import time
from collections.abc import Callable
from typing import Any

import attrs
import pytest
import z3
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from listenspec.commands.prove import register
from listenspec.models import host
from listenspec.models.arith import and_, ite, min_, or_
from listenspec.models.profiles import INT_MAX, INT_MIN, PROFILES, Profile
from listenspec.models.state import Host
from listenspec.proofs import (
    ProofResult,
    clamp,
    queue_bound,
    readiness,
    relisten,
    reuseport,
    run_all,
    secondary_queue,
    syncache,
)
from listenspec.proofs import listener as L
from listenspec.proofs.property import Property, Verdict
from listenspec.proofs.ruleset import REAL, Rules, broken
from listenspec.proofs.run import module_main
from listenspec.proofs.witness import queued
from listenspec.results import Err, Ret, render
from listenspec.runner import run_model
from listenspec.script import parse

ALL = list(PROFILES)
FILTERING = [n for n, p in PROFILES.items() if p.accept_filters and p.filter_holds]


def verdict(props: tuple[Property, ...], name: str, profile: str | Profile,
            rules: Rules = REAL) -> Verdict:
    prop = next(x for x in props if x.name == name)
    p = PROFILES[profile] if isinstance(profile, str) else profile
    return prop.run(p, rules)


# --------------------------------------------------------------------------- the real rules


@pytest.fixture(scope="module")
def results() -> list[ProofResult]:
    return run_all()


def test_every_cell_is_as_expected(results: list[ProofResult]) -> None:
    # (how fast: benchmarks/bench_proofs.py, not a timed test)
    bad = [(r.property, r.profile, r.status, r.counterexample or r.detail)
           for r in results if not r.ok]
    assert bad == []
    assert len({(r.property, r.profile) for r in results}) == len(results) == 18 * len(ALL)


def test_expected_counterexamples_are_the_documented_divergences(
        results: list[ProofResult]) -> None:
    cex = {(r.property, r.profile) for r in results if r.status == "counterexample"}
    assert ("syncache-independence", "bsd-4.4") in cex
    assert ("syncache-independence", "freebsd-src") not in cex
    assert ("relisten-raw", "bsd-4.4") not in cex  # 4.4BSD clamps negatives to 0: monotone
    assert {("relisten-raw", n) for n in ALL if n != "bsd-4.4"} <= cex
    assert ("clamp-wrap-unchecked", "freebsd-src") in cex
    assert ("clamp", "dragonfly") in cex  # a plain SYSCTL_INT accepts a negative limit
    assert {("incq-bound-lowering", n) for n in FILTERING if n != "freebsd-main"} <= cex
    assert ("incq-bound-lowering", "freebsd-main") not in cex
    assert {("queue-bound-lowering", n) for n in ALL if n != "gvisor"} <= cex
    # gVisor refuses a re-listen below the queue it holds, and cannot turn SYN cookies off
    assert not {("queue-bound-lowering", "gvisor"), ("relisten-product", "gvisor"),
                ("syncache-independence", "gvisor")} & cex
    assert ("relisten-product", "linux") in cex and ("syncache-independence", "linux") in cex


def test_counterexample_scripts_were_run_on_the_model(results: list[ProofResult]) -> None:
    # Every run counterexample carries the model's answers (`# = ...`), and rerunning the
    # script reproduces them.
    for r in results:
        if r.counterexample is None or "\n" not in r.counterexample:
            continue
        script = r.counterexample.split("\n", 1)[1]
        if "sysctl" in script and "not a run" in r.counterexample:
            continue
        lines = [x for x in script.splitlines() if x.strip()]
        ran = run_model(parse(script + "\n"), PROFILES[r.profile])
        for line, ex in zip(lines, ran, strict=True):
            if "# = " in line:
                assert line.split("# = ")[1] == render(ex.result), (r.property, line)


def test_the_syn_flood_from_the_pages_history() -> None:
    text = ("s = socket(AF_INET, SOCK_STREAM)\nlisten(s, 1)\nsyn(s)\nsyn(s)\n"
            "c = socket(AF_INET, SOCK_STREAM)\nconnect(c, s)\n")
    flood = [e.result for e in run_model(parse(text), PROFILES["bsd-4.4"])]
    assert flood[-1] == Err("EINPROGRESS")
    calm = run_model(parse(text.replace("syn(s)\n", "")), PROFILES["bsd-4.4"])
    assert calm[-1].result == Ret(0)
    v = verdict(syncache.PROPERTIES, "syncache-independence", "bsd-4.4")
    assert v.status == "counterexample" and v.counterexample is not None
    assert "syn(a)" in v.counterexample and "EINPROGRESS" in v.counterexample


def test_tightness_witness_reaches_the_maximum(results: list[ProofResult]) -> None:
    for r in results:
        if r.property == "queue-bound-tight":
            assert r.detail is not None and "witness" in r.detail
            q = PROFILES[r.profile]
            n = REAL.max_completed(q, 2)
            assert f"netstat(s)  # = {n}/0/2" in r.detail


def test_wrap_shows_concrete_values_and_the_refusing_range_check() -> None:
    v = verdict(clamp.PROPERTIES, "clamp-wrap-unchecked", "freebsd-src")
    assert v.status == "counterexample" and v.counterexample is not None
    assert "admits(u_int)=0 admits(ideal)=1" in v.counterexample
    assert "-1 EINVAL" in v.counterexample


def test_removing_the_range_check_from_the_profile_breaks_no_wrap() -> None:
    p = PROFILES["freebsd-src"]
    wide = attrs.evolve(p, sysctls=tuple(attrs.evolve(s, hi=INT_MAX) if s.key == "limit" else s
                                         for s in p.sysctls))
    assert verdict(clamp.PROPERTIES, "clamp-no-wrap", p).status == "proved"
    assert verdict(clamp.PROPERTIES, "clamp-no-wrap", wide).status == "counterexample"
    # ... and the product: the larger backlog then admits fewer (found by the search, run on
    # the concrete model with the widened profile)
    assert verdict(relisten.PROPERTIES, "relisten-product", wide).status == "counterexample"


# --------------------------------------------------------------------------- broken rules


def admits_one_more(p: Profile, qlen: Any, half_open: Any, qlimit: Any) -> Any:
    return or_(REAL.admits(p, qlen, half_open, qlimit), REAL.admits(p, qlen - 1, half_open,
                                                                     qlimit))


def admits_one_fewer(p: Profile, qlen: Any, half_open: Any, qlimit: Any) -> Any:
    return and_(REAL.admits(p, qlen, half_open, qlimit),
                REAL.admits(p, qlen + 1, half_open, qlimit))


def newest_first(i: Any, k: Any, n: Any) -> Any:
    return i >= n - k


def relisten_truncates(p: Profile, qlen: Any, incq: Any, qlimit: Any) -> tuple[Any, Any]:
    return (min_(qlen, REAL.max_completed(p, qlimit)),
            min_(incq, REAL.incq_capacity(p, qlimit)))


def negatives_to_zero(p: Profile, backlog: Any, limit: Any) -> Any:
    return ite(backlog < 0, 0, REAL.effective_backlog(p, backlog, limit))


def negatives_to_limit(p: Profile, backlog: Any, limit: Any) -> Any:
    return ite(backlog < 0, limit, REAL.effective_backlog(p, backlog, limit))


def not_monotone(p: Profile, qlen: Any, half_open: Any, qlimit: Any) -> Any:
    return and_(REAL.admits(p, qlen, half_open, qlimit), qlimit != 3)


def counts_half_open(p: Profile, qlen: Any, half_open: Any, qlimit: Any) -> Any:
    return REAL.admits(attrs.evolve(p, admit_counts_half_open=True), qlen, half_open, qlimit)


def evicts_one_fewer(p: Profile, incq: Any, qlimit: Any) -> Any:
    k = REAL.evictions(p, incq, qlimit)
    return ite(k > 0, k - 1, 0)


def evicts_too_many(p: Profile, incq: Any, qlimit: Any) -> Any:
    return REAL.evictions(p, incq, qlimit) * 2


def listener_writable(p: Profile, f: Any) -> Any:
    return {**REAL.poll_events(p, f), "POLLOUT": True}


def listener_never_ready(p: Profile, f: Any) -> Any:
    return {**REAL.poll_events(p, f), "POLLIN": False}


MUTANTS = [
    (queue_bound, "queue-bound", ALL, broken(admits=admits_one_more)),
    (queue_bound, "queue-bound-states", ["freebsd-src", "linux", "bsd-4.4"],
     broken(admits=admits_one_more)),
    (queue_bound, "queue-bound-tight", ALL, broken(admits=admits_one_fewer)),
    (secondary_queue, "evict-oldest", FILTERING, broken(victim=newest_first)),
    (secondary_queue, "evict-oldest", ["freebsd-main"], broken(evictions=evicts_too_many)),
    (secondary_queue, "incq-bound", FILTERING, broken(evictions=evicts_one_fewer)),
    (relisten, "relisten-keeps", ALL, broken(relisten_kept=relisten_truncates)),
    (relisten, "relisten-product", ["freebsd-src", "dragonfly", "bsd-4.4"],
     broken(admits=not_monotone)),
    (relisten, "relisten-raw", ["bsd-4.4"], broken(effective_backlog=negatives_to_limit)),
    (clamp, "clamp", ["freebsd-src", "freebsd-9", "linux", "intime"],
     broken(effective_backlog=negatives_to_zero)),
    (syncache, "syncache-independence", ["freebsd-src", "freebsd-13", "intime"],
     broken(admits=counts_half_open)),
    (readiness, "poll-listener", ALL, broken(poll_events=listener_writable)),
    (readiness, "poll-listener", ["linux", "freebsd-src", "bsd-4.4"],
     broken(poll_events=listener_never_ready)),
    (reuseport, "reuseport-group", ["linux", "freebsd-src", "freebsd-13", "bsd-4.4"],
     broken(admits=admits_one_more)),
]


@pytest.mark.parametrize(("module", "name", "profiles", "rules"), MUTANTS,
                         ids=[f"{m[1]}-{i}" for i, m in enumerate(MUTANTS)])
def test_a_broken_rule_gives_a_counterexample(module: Any, name: str, profiles: list[str],
                                              rules: Rules) -> None:
    for profile in profiles:
        assert verdict(module.PROPERTIES, name, profile).status == "proved"
        v = verdict(module.PROPERTIES, name, profile, rules)
        assert v.status == "counterexample", (profile, v)
        assert v.counterexample


def test_truncating_relisten_would_restore_the_queue_bound() -> None:
    # A sanity check on the lowering counterexample: it is the kept connections that break it.
    rules = broken(relisten_kept=relisten_truncates)
    assert verdict(queue_bound.PROPERTIES, "queue-bound-lowering", "freebsd-src",
                   rules).status == "proved"


def test_unsatisfiable_hypotheses_are_reported_vacuous() -> None:
    rules = broken(sysctl_accepts=lambda lo, hi, v: and_(v >= lo, v <= hi, v != v))
    assert verdict(clamp.PROPERTIES, "clamp", "freebsd-src", rules).status == "vacuous"
    assert verdict(queue_bound.PROPERTIES, "queue-bound", "linux", rules).status == "vacuous"
    # a rule under which nothing is ever admitted makes "every admission is bounded" vacuous
    never = broken(admits=lambda p, qlen, ho, q: qlen != qlen)
    assert verdict(queue_bound.PROPERTIES, "queue-bound", "freebsd-src", never).status == \
        "vacuous"


# --------------------------------------------------------------------------- abstraction = model


@attrs.define
class Concrete:
    """One listener driven through host.apply, with the abstract transition alongside."""

    p: Profile
    h: Host
    fd: int
    sid: int
    others: list[int] = attrs.field(factory=list)  # client and accepted descriptors

    def call(self, name: str, *args: Any) -> host.Outcome:
        out = host.apply(self.p, self.h, name, *args)
        self.h = out.state
        return out

    def target(self) -> host.Target:
        return host.Target(self.h.socks[self.sid].addr, "AF_INET", "SOCK_STREAM")

    def new_client(self) -> int:
        out = self.call("socket", "AF_INET", "SOCK_STREAM")
        assert out.fd is not None
        self.others.append(out.fd)
        return out.fd

    def state(self) -> L.Listener:
        return L.project(self.p, self.h, self.sid)

    def waiting_clients(self) -> list[int]:
        lst = self.h.socks[self.sid].listener
        assert lst is not None
        return [fd for fd in self.others if self.h.fds.get(fd) in {e.client for e in lst.incomp}]


# mostly small queues, so that they fill up; and the edges of the clamp
backlogs = st.one_of(st.integers(0, 3), st.integers(-3, 9),
                     st.sampled_from([INT_MIN, INT_MAX, -1]))


# rst_on_sock_fail changes what a refused connect() returns, never the queues
SYSCTL_KEYS = ("limit", "syncookies", "rst_on_sock_fail")


def sysctl_values(p: Profile) -> st.SearchStrategy[tuple[str, int]]:
    names = [s for s in p.sysctls if s.key in SYSCTL_KEYS]
    return st.tuples(
        st.sampled_from([s.name for s in names]),
        st.one_of(st.integers(-2, 8), st.sampled_from(
            [v for s in names for v in (s.lo, s.hi, s.lo - 1, s.hi + 1)
             if INT_MIN <= v <= INT_MAX])),
    )


def events(p: Profile, filtered: bool, connects: int) -> st.SearchStrategy[tuple[Any, ...]]:
    """One event; connect (and syn) weighted so queues fill up and evictions happen."""
    params: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
        "connect": st.just(("connect",)), "syn": st.just(("syn",)),
        "accept": st.just(("accept",)),
        "close": st.tuples(st.just("close"), st.integers(0, 50)),
        "listen": st.tuples(st.just("listen"), backlogs),
    }
    if any(s.key in SYSCTL_KEYS for s in p.sysctls):
        params["sysctl"] = st.tuples(st.just("sysctl"), sysctl_values(p))
    if filtered:
        params["send"] = st.tuples(st.just("send"), st.integers(0, 50))
    kinds = [*["connect"] * (connects - 1), "syn", *params]
    return st.sampled_from(kinds).flatmap(lambda k: params[k])


Run = tuple[str, bool, int, list[tuple[Any, ...]]]


@st.composite
def runs(draw: st.DrawFn, profiles: list[str], filtered: bool | None = None,
         connects: int = 3) -> Run:
    name = draw(st.sampled_from(profiles))
    p = PROFILES[name]
    if filtered is None:
        filtered = bool(p.accept_filters) and p.filter_holds and draw(st.booleans())
    evs = draw(st.lists(events(p, filtered, connects), min_size=4, max_size=40))
    return name, filtered, draw(backlogs), evs


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs(ALL))
def test_abstract_transitions_agree_with_host_apply(run: Run) -> None:
    check_agreement(run)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs(FILTERING, filtered=True, connects=8))
def test_abstract_arrivals_with_a_filter_agree_with_host_apply(run: Run) -> None:
    check_agreement(run)


def check_agreement(run: Run) -> None:
    """Drive one listener through host.apply and the abstract transitions side by side; after
    every step the projection of the host must equal the abstract state."""
    name, filtered, backlog, evs = run
    p = PROFILES[name]
    r = REAL
    h = host.initial(p)
    out = host.apply(p, h, "socket", "AF_INET", "SOCK_STREAM")
    assert out.fd is not None
    c = Concrete(p, out.state, out.fd, out.state.fds[out.fd])
    c.call("listen", c.fd, backlog)
    if filtered:
        assert c.call("setsockopt", c.fd, "SO_ACCEPTFILTER", b"dataready").result == Ret(0)
    s = L.listen(p, r, backlog, host.limit(p, c.h), host.setting(p, c.h, "syncookies"), filtered)
    assert c.state() == s
    for ev in evs:
        kind = ev[0]
        evicted_expected: list[int] | None = None
        if kind == "connect":
            lst = c.h.socks[c.sid].listener
            assert lst is not None
            before = lst.incomp
            fd = c.new_client()
            client = c.h.fds[fd]
            step = L.connect(p, r, s)
            c.call("connect", fd, c.target())
            assert queued(c.h, c.sid, client) == step.admitted
            if filtered and step.admitted:
                k = int(step.evicted)
                assert k == r.evictions(p, len(before), s.qlimit)
                evicted_expected = [e.conn for i, e in enumerate(before)
                                    if r.victim(i, k, len(before))]
                after = c.h.socks[c.sid].listener
                assert after is not None
                kept = {e.conn for e in after.incomp}
                assert [e.conn for e in before if e.conn not in kept] == evicted_expected
        elif kind == "syn":
            step = L.syn(p, r, s)
            c.call("syn", c.target())
        elif kind == "accept":
            step = L.accept(p, r, s)
            out = c.call("accept", c.fd)
            if out.fd is not None:
                c.others.append(out.fd)
        elif kind == "listen":
            step = L.relisten(p, r, s, ev[1])
            c.call("listen", c.fd, ev[1])
        elif kind == "sysctl":
            name, value = ev[1]
            spec = p.sysctl(name)
            assert spec is not None
            if spec.key == "rst_on_sock_fail":
                step = L.Step(s)
            else:
                fn = L.set_limit if spec.key == "limit" else L.set_cookies
                step = fn(p, r, s, spec, value)
            c.call("sysctl", name, value)
        elif kind == "close":
            if not c.others:
                continue
            fd = c.others[ev[1] % len(c.others)]
            # a client whose connection waits on the filter sends its FIN: dataready releases it
            releases = fd in c.waiting_clients()
            c.others.remove(fd)
            step = L.release(p, r, s) if releases else L.Step(s)
            c.call("close", fd)
        else:  # send: a waiting client's data releases its connection
            waiting = c.waiting_clients()
            if not waiting:
                continue
            step = L.release(p, r, s)
            c.call("send", waiting[ev[1] % len(waiting)], b"x")
        _note(kind, s, step)
        s = step.state
        assert c.state() == s, (kind, ev)
        assert L.well_formed(p, r, s) is True


def _note(kind: str, before: L.Listener, step: L.Step) -> None:
    """Label the interesting steps, so --hypothesis-show-statistics shows they are reached."""
    if kind == "connect":
        event("connect: " + ("evicts" if step.evicted else "admitted" if step.admitted
                             else "refused"))
    elif kind == "listen" and step.state.qlimit < before.qlimit:
        event("re-listen lowers qlimit below the queue" if before.qlen > step.state.qlimit
              else "re-listen lowers qlimit")
    elif kind == "syn" and step.state.half_open == before.half_open:
        event("syn: no half-open entry")
    elif kind in ("close", "send") and step.state.incq < before.incq:
        event("filter releases")


def _z3_state(tag: str) -> L.Listener:
    f = ("qlen", "incq", "half_open", "qlimit", "limit", "cookies")
    return L.Listener(*(z3.Int(f"{tag}.{x}") for x in f))


def _bind(sym: L.Listener, con: L.Listener) -> list[tuple[Any, Any]]:
    fields = ("qlen", "incq", "half_open", "qlimit", "limit", "cookies")
    return [(getattr(sym, x), z3.IntVal(getattr(con, x))) for x in fields]


def _eval(term: Any, subst: list[tuple[Any, Any]]) -> Any:
    if isinstance(term, bool | int):
        return term
    v = z3.simplify(z3.substitute(term, *subst))
    return z3.is_true(v) if z3.is_bool(v) else v.as_long()


counts = st.one_of(st.integers(0, 12), st.integers(0, 2**33))
qlimits = st.one_of(st.integers(-3, 12), st.integers(INT_MIN, 2**32))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ALL), st.booleans(), counts, counts, counts, qlimits,
       st.integers(INT_MIN, INT_MAX), st.integers(-1, 3), st.integers(INT_MIN, INT_MAX))
def test_symbolic_and_concrete_evaluation_agree(name: str, filtered: bool, qlen: int, incq: int,
                                                half_open: int, qlimit: int, limit: int,
                                                cookies: int, arg: int) -> None:
    """Every transition, on Z3 Ints then substituted, equals the same code on Python ints."""
    p = PROFILES[name]
    con = L.Listener(qlen, incq, half_open, qlimit, limit, cookies, filtered)
    sym = attrs.evolve(_z3_state("s"), filtered=filtered)
    subst = _bind(sym, con)
    spec = (p.sysctls or (None,))[0]
    steps: dict[str, Callable[[L.Listener], L.Step]] = {
        "connect": lambda s: L.connect(p, REAL, s),
        "syn": lambda s: L.syn(p, REAL, s),
        "accept": lambda s: L.accept(p, REAL, s),
        "release": lambda s: L.release(p, REAL, s),
        "listen": lambda s: L.relisten(p, REAL, s, arg),
    }
    if spec is not None:
        steps["sysctl"] = lambda s: L.set_limit(p, REAL, s, spec, arg)
    for what, fn in steps.items():
        a, b = fn(con), fn(sym)
        for f in ("qlen", "incq", "half_open", "qlimit", "limit", "cookies"):
            assert getattr(a.state, f) == _eval(getattr(b.state, f), subst), (what, f)
        assert a.admitted == _eval(b.admitted, subst), what
        assert a.evicted == _eval(b.evicted, subst), what
    assert L.well_formed(p, REAL, con) == _eval(L.well_formed(p, REAL, sym), subst)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ALL), st.integers(INT_MIN, INT_MAX), st.integers(INT_MIN, INT_MAX),
       st.integers(0, 2**32 - 1))
def test_bitvector_clamp_and_admission_agree_with_ints(name: str, backlog: int, limit: int,
                                                       qlen: int) -> None:
    """The clamp proofs' C arithmetic (32-bit vectors) is the runner's on every C int."""
    p = PROFILES[name]
    bv = REAL.effective_backlog(p, z3.BitVecVal(backlog, 32), z3.BitVecVal(limit, 32))
    q = REAL.effective_backlog(p, backlog, limit)
    assert z3.simplify(bv).as_signed_long() == q
    if p.admit_u32 and q >= 0:
        adm = REAL.admits(p, z3.BitVecVal(qlen, 32), 0, z3.BitVecVal(q, 32))
        assert z3.is_true(z3.simplify(adm)) == REAL.admits(p, qlen, 0, q)


# --------------------------------------------------------------------------- API and CLI


def test_prove_command_json_and_exit_code() -> None:
    ap = argparse.ArgumentParser()
    register(ap.add_subparsers(dest="command"))
    args = ap.parse_args(["prove", "--profile", "bsd-4.4", "--json"])
    buf = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(buf):
        code = args.func(args)
    assert time.perf_counter() - t0 < 5
    assert code == 0
    rows = json.loads(buf.getvalue())
    assert {tuple(sorted(r)) for r in rows} == {
        ("counterexample", "profile", "property", "seconds", "status")}
    by = {r["property"]: r for r in rows}
    assert by["syncache-independence"]["status"] == "counterexample"
    assert "syn(a)" in by["syncache-independence"]["counterexample"]
    assert by["incq-bound"]["status"] == "n/a"
    assert by["clamp"]["status"] == "proved" and by["clamp"]["counterexample"] is None


def test_an_unexpected_failure_exits_1() -> None:
    failing = Property("always-fails", "a property whose proof finds a counterexample",
                       lambda p, r: Verdict("counterexample", "x=1"))
    surprising = Property("expected-to-fail", "documented to fail, but proved",
                          lambda p, r: Verdict("proved"), expected=lambda p: "counterexample")
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        assert module_main([failing], ["--profile", "linux", "--quiet"]) == 1
        assert module_main([surprising], ["--profile", "linux", "--quiet"]) == 1
        assert module_main(list(syncache.PROPERTIES), ["--profile", "bsd-4.4"]) == 0
    assert "UNEXPECTED" in quiet.getvalue()


def test_verify_stage_reports_the_table(results: list[ProofResult],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from listenspec.proofs import run as proof_run
    from listenspec.stages import proofs as verify_stage

    # the stage's own work is the table and the figures; the proofs it would run are the ones
    # this module's fixture ran (run_all() with no arguments), so it reads those
    asked: list[dict[str, object]] = []

    def ran(**kw: object) -> list[ProofResult]:
        asked.append(kw)
        return results

    monkeypatch.setattr(proof_run, "run_all", ran)
    res = verify_stage(quick=True)
    assert asked == [{"progress": None}]  # every proof, with no bar when piped
    assert res.ok and res.name == "proofs"
    assert res.figures["unexpected"] == []
    assert res.figures["cells"] == len(results) and len(res.figures["results"]) == len(results)
    assert any(line.startswith("syncache-independence") for line in res.lines)
