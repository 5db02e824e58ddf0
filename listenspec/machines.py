"""Hypothesis stateful machines over the model, one per profile, for your own test suite too.

Pick a profile (and any Hypothesis settings) with `machine_for`, and hand its `TestCase` to
pytest or unittest::

    from listenspec.machines import machine_for

    TestFreeBSD = machine_for("freebsd-src", max_examples=200).TestCase
    TestLinux = machine_for("linux", max_examples=50, stateful_step_count=60,
                            counterexample_dir="build/counterexamples").TestCase

    # or every profile at once
    from listenspec.machines import all_machines
    globals().update({f"Test_{n}": m.TestCase for n, m in all_machines(max_examples=20).items()})

`machine_for(profile, *, counterexample_dir="counterexamples", **settings)` takes any keyword of
`hypothesis.settings` (max_examples, stateful_step_count, database, ...); the defaults are 100
examples of 40 steps, no deadline. `run_machine(profile, examples=..., steps=...,
seed_value=...)` runs one machine outside a test framework (`listenspec machines` uses it), and
`measure(profile, runs)` counts the deep states reached (`listenspec machines --deep`).

What a machine does: every rule is a call of the script format (socket, open, bind, listen,
connect, syn, accept, send, close, setsockopt, getsockopt, sysctl, netstat, sleep, syslog,
counter), run through `listenspec.runner.ModelRun` under the profile, with the script's NAMEs
kept in three Bundles: `sockets` (any descriptor), `listeners` and `clients`. After every call
the named invariants (`listenspec.models.invariants.check_step`, which includes `check_state`)
are checked. Deep states are reached on purpose, not by luck: each run starts by setting a small
hard limit where the profile has a sysctl for it, and by making a listener (and, where the
profile has accept filters, maybe a filtered one) with a small backlog, maybe filled to
overflowing at once; `fill` connects fresh clients until the listener refuses one (and a few
more, for the rate-limited log); `shrink` re-listens a listener holding connections with a
backlog below their number. `benchmarks/deep_states.py` measures how often each deep state
(`DEEP_STATES`) is reached per 1,000 runs.

On a failure the shrunk counterexample is printed as a script in the format (runnable with
`listenspec run FILE --profile P`) and saved to
`<counterexample_dir>/<profile>-machine-<timestamp>.lsn` (the directory can also be set with the
environment variable LISTENSPEC_COUNTEREXAMPLES; None disables saving). So is a failure that
is not the machine's own: an assertion in a rule or invariant your subclass adds (the script
then runs up to the call after which it failed).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import EllipsisType
from typing import Any, ClassVar, cast

from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.errors import HypothesisException
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    get_state_machine_test,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from .calls import CALLS, KINDS, SOCKOPTS, CallSpec, limit_sysctl
from .checked import CheckedRun, describe, save_counterexample
from .deepstates import run_deep_states, step_events
from .models import rules
from .models.host import Outcome
from .models.invariants import check_state
from .models.profiles import PROFILES, Profile, get
from .models.state import Socket
from .models.values import Err, NewFd, Ret
from .script import Call, Const, Name, Null
from .strategies import draw_call

# --------------------------------------------------------------------------- the machine


class InvariantBroken(AssertionError):
    """A step broke a named invariant (or crashed the model); the message holds the script."""


#: values the rules draw from; small on purpose, so queues fill within a run
BACKLOGS = st.sampled_from([0, 0, 1, 1, 2, 2, 3, -1, 5, -2147483648, 2147483647])
SMALL_BACKLOGS = st.sampled_from([0, 0, 1, 1, 2, 3, -1])
FIRST_BACKLOGS = st.sampled_from([0, 1, 1, 2, 2, 3, -1])
LIMITS = st.sampled_from([None, 1, 1, 2, 2, 3, 4])  # first: what shrinking prefers
DATA = st.sampled_from(["x", "GET / HTTP/1.0\r\n\r\n", "GET /", "HEAD / HTTP/1.1\r\n\r\n", "",
                        "\x00"])
SECONDS = st.sampled_from([Decimal("0.1"), Decimal(1), Decimal("59.9"), Decimal(60),
                           Decimal(61)])
SYSCTL_VALUES = st.sampled_from([None, None, 0, 1, 2, 3, -1, 60, 2147483647])
TYPES = st.sampled_from(["SOCK_STREAM", "SOCK_STREAM", "SOCK_STREAM", "SOCK_SEQPACKET",
                         "SOCK_DGRAM"])
STREAM_TYPES = st.sampled_from(["SOCK_STREAM", "SOCK_STREAM", "SOCK_SEQPACKET"])
FILTERS = st.sampled_from([None, None, "dataready", "dataready", "httpready"])
FILL_CAP = 16  # most connections `fill` tries
_OK = Ret(0)


def _arg(v: Any) -> Any:
    """A rule's value as a script argument: None is NULL, the rest is as it is."""
    return Null() if v is None else v


class ListenMachine(RuleBasedStateMachine):
    """The model under one profile, driven call by call (subclassed per profile by machine_for)."""

    profile: ClassVar[Profile]
    counterexample_dir: ClassVar[Path | None] = None
    #: False (measuring): a broken invariant is counted in `violations`, the run goes on
    raise_on_violation: ClassVar[bool] = True
    #: called at the end of every run with the deep states it reached and the machine
    observers: ClassVar[list[Callable[[set[str], ListenMachine], None]]] = []

    sockets = Bundle("sockets")
    listeners = Bundle("listeners")
    clients = Bundle("clients")

    def __init__(self) -> None:
        super().__init__()
        self.run = CheckedRun(self.profile)
        self.events: set[str] = set()
        self.violations: list[str] = []
        self._pending_clients: list[str] = []

    # -- running one call
    def call(self, name: str, *args: Any, bind: str | None = None) -> Outcome:
        call = Call(name, tuple(_arg(a) for a in args))
        try:
            out, resolved, before = self.run.do(call, bind)
        except Exception as e:
            self._fail([f"model-error: {type(e).__name__}: {e}"], e)
        if self.run.broken:
            if not self.raise_on_violation:
                self.violations += self.run.broken
            else:
                self._fail(self.run.broken)
        self.events |= step_events(self.profile, before, name, resolved, out)
        return out

    def _fail(self, broken: list[str], cause: BaseException | None = None) -> Any:
        p = self.profile
        header = [f"counterexample found by the Hypothesis machine for {p.name}",
                  *describe(broken), f"reproduce: listenspec run FILE --profile {p.name}", ""]
        text = self.run.script(header, "<- " + ", ".join(broken))
        where = ""
        if current_build_context().is_final:  # the shrunk example, replayed to report it
            if self.counterexample_dir is not None:
                path = save_counterexample(text, p.name, self.counterexample_dir, "machine")
                where = f"\n(saved to {path})"
            print(f"\n{text}{where}", file=sys.stderr)
        raise InvariantBroken(f"{', '.join(broken)}\n\n{text}{where}") from cause

    def _save_foreign_failure(self) -> None:
        """A failure that is not the machine's own (an assertion in a rule or invariant a user's
        subclass adds, or in an observer) also comes back as a script: Hypothesis runs
        teardown while that exception propagates, so it is the one being handled here."""
        failure = sys.exc_info()[1]
        if (not isinstance(failure, Exception)
                or isinstance(failure, (InvariantBroken, HypothesisException))
                or not current_build_context().is_final):
            return
        p = self.profile
        header = [f"counterexample found by the Hypothesis machine for {p.name}",
                  f"fails in the test: {type(failure).__name__}: {failure}".splitlines()[0],
                  f"reproduce: listenspec run FILE --profile {p.name}", ""]
        text = self.run.script(header, f"<- {type(failure).__name__} after this call")
        where = ""
        if self.counterexample_dir is not None:
            path = save_counterexample(text, p.name, self.counterexample_dir, "machine")
            where = f"\n(saved to {path})"
        print(f"\n{text}{where}", file=sys.stderr)

    def socket_of(self, name: str) -> Socket | None:
        """The model socket a NAME was bound to, if it is still open."""
        b = self.run.model.names.get(name)
        return None if b is None or b.sid is None else self.run.state.socks.get(b.sid)

    def _kind(self, name: str) -> tuple[str, str]:
        """Domain and type of the socket NAME was bound to (remembered after a close)."""
        b = self.run.model.names.get(name)
        if b is not None and b.target.domain is not None and b.target.type is not None:
            return b.target.domain, b.target.type
        return "AF_INET", "SOCK_STREAM"

    def _new(self, prefix: str, domain: str, type_: str) -> str | None:
        name = self.run.fresh(prefix)
        out = self.call("socket", Const(domain), Const(type_), bind=name)
        return name if isinstance(out.result, NewFd) else None

    def teardown(self) -> None:
        self._save_foreign_failure()
        reached = run_deep_states(self.events)
        for observe in self.observers:
            observe(reached, self)

    # -- set-up: a small hard limit where a sysctl sets it, and a listener or two to work on
    @initialize(limit=LIMITS)
    def boot(self, limit: int | None) -> None:
        lim = limit_sysctl(self.profile)
        if lim is not None and limit is not None:
            self.call("sysctl", lim[0], limit)

    @initialize(target=listeners, domain=st.sampled_from(["AF_INET", "AF_INET", "AF_UNIX"]),
                backlog=FIRST_BACKLOGS, filtered=st.sampled_from([False, True, True]),
                prefill=st.sampled_from([None, "plain", "filtered", "both"]))
    def first_listeners(self, domain: str, backlog: int, filtered: bool,
                        prefill: str | None) -> Any:
        """A listener, maybe a filtered one (where the profile has accept filters), and maybe
        filled to overflowing at once (the plain one, the filtered one or both): the rest of
        the run starts deep."""
        plain = self._listener(domain, "SOCK_STREAM", backlog, domain == "AF_UNIX", None)
        filt = None
        if filtered and self.profile.accept_filters:
            filt = self._listener("AF_INET", "SOCK_STREAM", backlog, False, "dataready")
        targets = {None: [], "plain": [plain], "filtered": [filt], "both": [plain, filt]}
        for lsn in targets[prefill]:
            if lsn is not None:
                # The clients reach their bundle through adopt_clients (an initialize rule
                # has one target).
                self._pending_clients += self._fill(lsn, extra=1)
        names = [plain, filt]
        return multiple(*(n for n in names if n is not None))

    def _listener(self, domain: str, type_: str, backlog: int, bind_first: bool,
                  accept_filter: str | None) -> str | None:
        name = self._new("l", domain, type_)
        if name is None:
            return None
        if bind_first or domain == "AF_UNIX":
            self.call("bind", Name(name))
        out = self.call("listen", Name(name), backlog)
        if accept_filter is not None and self.profile.accept_filters:
            self.call("setsockopt", Name(name), Const("SO_ACCEPTFILTER"), accept_filter)
        return name if out.result == _OK else None

    @invariant()
    def state_invariants(self) -> None:
        broken = list(check_state(self.profile, self.run.state))
        if broken and self.raise_on_violation:
            self._fail(broken)
        self.violations += broken

    # -- descriptors
    @rule(target=sockets, domain=st.sampled_from(["AF_INET", "AF_INET6", "AF_UNIX"]),
          type_=TYPES)
    def socket(self, domain: str, type_: str) -> Any:
        name = self._new("s", domain, type_)
        return name if name is not None else multiple()

    @rule(target=sockets)
    def open(self) -> Any:
        name = self.run.fresh("f")
        self.call("open", bind=name)
        return name

    @rule(sock=sockets)
    def bind(self, sock: str) -> None:
        self.call("bind", Name(sock))

    @rule(sock=sockets)
    def close_socket(self, sock: str) -> None:
        self.call("close", Name(sock))

    # -- listeners
    @rule(target=listeners, domain=st.sampled_from(["AF_INET", "AF_INET", "AF_UNIX",
                                                     "AF_INET6"]),
          type_=STREAM_TYPES, backlog=SMALL_BACKLOGS, bind_first=st.booleans(),
          accept_filter=FILTERS)
    def new_listener(self, domain: str, type_: str, backlog: int, bind_first: bool,
                     accept_filter: str | None) -> Any:
        """socket + bind + listen (+ an accept filter) in one rule."""
        name = self._listener(domain, type_, backlog, bind_first, accept_filter)
        return name if name is not None else multiple()

    @rule(target=listeners, sock=sockets, backlog=BACKLOGS)
    def listen(self, sock: str, backlog: int) -> Any:
        out = self.call("listen", Name(sock), backlog)
        return sock if out.result == _OK else multiple()

    @rule(lsn=listeners, backlog=SMALL_BACKLOGS)
    def relisten(self, lsn: str, backlog: int) -> None:
        self.call("listen", Name(lsn), backlog)

    def _queued(self) -> list[str]:
        """NAMEs of open listeners whose completed queue is not empty."""
        out = []
        for name, b in self.run.model.names.items():
            sock = self.run.state.socks.get(b.sid) if b.sid is not None else None
            if sock is not None and sock.listener is not None and sock.listener.comp \
                    and b.fd is not None and self.run.state.fds.get(b.fd) == b.sid:
                out.append(name)
        return sorted(out)

    @precondition(lambda self: bool(self._queued()))
    @rule(data=st.data(), by=st.integers(0, 2))
    def shrink(self, data: st.DataObject, by: int) -> None:
        """Re-listen a listener that holds completed connections with a backlog below their
        number (the model must keep them all)."""
        name = data.draw(st.sampled_from(self._queued()), label="listener")
        sock = self.socket_of(name)
        assert sock is not None and sock.listener is not None
        self.call("listen", Name(name), max(len(sock.listener.comp) - 1 - by, 0))

    @rule(lsn=listeners, accept_filter=st.sampled_from(["dataready", "httpready", "nonesuch",
                                                        None]))
    def set_accept_filter(self, lsn: str, accept_filter: str | None) -> None:
        self.call("setsockopt", Name(lsn), Const("SO_ACCEPTFILTER"), accept_filter)

    @rule(target=sockets, lsn=listeners)
    def accept(self, lsn: str) -> Any:
        name = self.run.fresh("a")
        out = self.call("accept", Name(lsn), bind=name)
        return name if isinstance(out.result, NewFd) else multiple()

    @rule(lsn=listeners)
    def close_listener(self, lsn: str) -> None:
        self.call("close", Name(lsn))

    @rule(lsn=listeners)
    def netstat(self, lsn: str) -> None:
        self.call("netstat", Name(lsn))

    @rule(lsn=listeners, opt=st.sampled_from(["TCP_DEFER_ACCEPT", "SO_LISTENQLIMIT"]),
          value=st.integers(0, 3))
    def listener_option(self, lsn: str, opt: str, value: int) -> None:
        self.call("setsockopt", Name(lsn), Const(opt), value)

    @rule(lsn=listeners, opt=st.sampled_from(SOCKOPTS))
    def getsockopt(self, lsn: str, opt: str) -> None:
        self.call("getsockopt", Name(lsn), Const(opt))

    # -- clients
    @rule(target=clients, lsn=listeners)
    def connect_new(self, lsn: str) -> Any:
        """A fresh socket of the listener's kind connects to it."""
        name = self._new("c", *self._kind(lsn))
        if name is None:
            return multiple()
        self.call("connect", Name(name), Name(lsn))
        return name

    @rule(target=clients, lsn=listeners, extra=st.integers(0, 2))
    def fill(self, lsn: str, extra: int) -> Any:
        """Connect fresh clients until the listener refuses one, then `extra` more."""
        return multiple(*self._fill(lsn, extra))

    @precondition(lambda self: bool(self._pending_clients))
    @rule(target=clients)
    def adopt_clients(self) -> Any:
        """Hand the clients the set-up made to the `clients` bundle (no call)."""
        names, self._pending_clients = self._pending_clients, []
        return multiple(*names)

    def _fill(self, lsn: str, extra: int) -> list[str]:
        sock = self.socket_of(lsn)
        if sock is None or sock.listener is None:
            return []
        q = sock.listener.qlimit
        tries = min(FILL_CAP, max(rules.max_completed(self.profile, q),
                                  rules.incq_capacity(self.profile, q)) + 2 + extra)
        names: list[str] = []
        refused = 0
        for _ in range(tries):
            name = self._new("c", *self._kind(lsn))
            if name is None:
                break
            names.append(name)
            out = self.call("connect", Name(name), Name(lsn))
            if isinstance(out.result, Err):
                refused += 1
                if refused > extra:
                    break
        return names

    @rule(sock=sockets, lsn=listeners)
    def connect(self, sock: str, lsn: str) -> None:
        self.call("connect", Name(sock), Name(lsn))

    @rule(sock=sockets, other=sockets)
    def connect_any(self, sock: str, other: str) -> None:
        self.call("connect", Name(sock), Name(other))

    @rule(lsn=listeners)
    def syn(self, lsn: str) -> None:
        self.call("syn", Name(lsn))

    @rule(client=clients, data=DATA)
    def send(self, client: str, data: str) -> None:
        self.call("send", Name(client), data)

    @rule(client=clients)
    def close_client(self, client: str) -> None:
        self.call("close", Name(client))

    @rule(client=clients)
    def client_error(self, client: str) -> None:
        self.call("getsockopt", Name(client), Const("SO_ERROR"))

    @rule(sock=sockets, opt=st.sampled_from(["SO_LISTENQLIMIT", "TCP_DEFER_ACCEPT",
                                             "SO_ACCEPTCONN"]),
          value=st.integers(-1, 3))
    def setsockopt(self, sock: str, opt: str, value: int) -> None:
        self.call("setsockopt", Name(sock), Const(opt), value)

    # -- the host
    @rule(data=st.data(), value=SYSCTL_VALUES)
    def sysctl(self, data: st.DataObject, value: int | None) -> None:
        names = [s.name for s in self.profile.sysctls] + ["kern.ipc.nonesuch"]
        name = data.draw(st.sampled_from(names), label="name")
        if value is None:
            self.call("sysctl", name)
        else:
            self.call("sysctl", name, value)

    @rule(seconds=SECONDS)
    def sleep(self, seconds: Decimal) -> None:
        self.call("sleep", seconds)

    @rule()
    def syslog(self) -> None:
        self.call("syslog")

    @precondition(lambda self: bool(self.profile.counters))
    @rule(data=st.data())
    def counter(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from([*self.profile.counters, "nonesuch"]), label="name")
        self.call("counter", name)


# --------------------------------------------------------------------------- building machines

DEFAULT_SETTINGS: dict[str, Any] = {
    "max_examples": 100,
    "stateful_step_count": 40,
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
}

def machine_for(profile: str | Profile, *,
                counterexample_dir: str | Path | EllipsisType | None = ...,
                **settings_kwargs: Any) -> type[ListenMachine]:
    """A machine class for one profile; `.TestCase` is a unittest/pytest test case.

    settings_kwargs go to `hypothesis.settings` (over DEFAULT_SETTINGS). Counterexamples are
    saved under counterexample_dir (default: $LISTENSPEC_COUNTEREXAMPLES or
    ./counterexamples; None: not saved).
    """
    p = get(profile) if isinstance(profile, str) else profile
    if counterexample_dir is ...:
        counterexample_dir = os.environ.get("LISTENSPEC_COUNTEREXAMPLES", "counterexamples")
    cls_name = "Machine_" + p.name.replace("-", "_").replace(".", "_")
    cls = type(cls_name, (ListenMachine,), {
        "profile": p,
        "counterexample_dir": None if counterexample_dir is None else Path(counterexample_dir),
        "observers": [],
        "__module__": __name__,
        **{f"call_{c.name}": _generic_rule(c) for c in CALLS if c.name not in HAND_RULES},
    })
    return settings(**{**DEFAULT_SETTINGS, **settings_kwargs})(cls)


#: the calls ListenMachine has hand-written rules for; every other declared call (calls.CALLS)
#: gets a generic rule from its declaration (strategies.draw_call)
HAND_RULES = frozenset({"socket", "open", "bind", "listen", "connect", "syn", "accept", "send",
                        "close", "setsockopt", "getsockopt", "sysctl", "netstat", "sleep",
                        "syslog", "counter"})


def _generic_rule(c: CallSpec) -> Any:
    needs_fd = any(KINDS[prm.kind].syntax == "desc" for form in c.forms for prm in form)

    def run(self: ListenMachine, data: st.DataObject) -> Any:
        names = sorted(self.run.model.names)
        call = draw_call(data.draw, c, self.profile, names)
        if call is None:
            return multiple()
        bind = self.run.fresh("g") if c.new_fd else None
        out = self.call(c.name, *call.args, bind=bind)
        if bind is None:
            return multiple()
        return bind if isinstance(out.result, NewFd) else multiple()

    run.__name__ = f"call_{c.name}"
    ruled = rule(target=ListenMachine.sockets, data=st.data())(run)
    if needs_fd:
        return precondition(lambda self: bool(self.run.model.names))(ruled)
    return ruled


def all_machines(**kwargs: Any) -> dict[str, type[ListenMachine]]:
    """One machine per profile (same keywords as machine_for)."""
    return {name: machine_for(name, **kwargs) for name in PROFILES}


def run_machine(profile: str | Profile, *, examples: int = 100, steps: int = 40,
                seed_value: int | None = None, counterexample_dir: str | Path | None = None,
                observe: Callable[[set[str], ListenMachine], None] | None = None,
                raise_on_violation: bool = True, **settings_kwargs: Any) -> None:
    """Run one machine now (raises InvariantBroken with the script on a failure)."""
    kwargs = {"max_examples": examples, "stateful_step_count": steps, "database": None,
              **settings_kwargs}
    cls = machine_for(profile, counterexample_dir=counterexample_dir)
    cls.raise_on_violation = raise_on_violation
    if observe is not None:
        cls.observers.append(observe)
    # untyped in some Hypothesis releases and typed in others: call it through one signature
    make_test = cast(Callable[..., Callable[[], None]], get_state_machine_test)
    test = make_test(cls, settings=settings(**{**DEFAULT_SETTINGS, **kwargs}))
    if seed_value is not None:
        test = seed(seed_value)(test)
    test()
