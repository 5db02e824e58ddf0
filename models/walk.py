"""Walking a call's table of checks (tables.CHECKS) and the state changes a row may make on the
way (its `effect`): shared by the transition modules."""

from __future__ import annotations

from collections.abc import Callable

from .ops import implicit_bind
from .outcome import Outcome
from .outcome import put as _put
from .outcome import refuse as _refuse
from .profiles import Profile
from .state import Host, evolve
from .tables import Check, Ctx, checks
from .values import Err


def decide(call: str, p: Profile, h: Host,
           again: Callable[[Host], Ctx]) -> tuple[Host, Ctx, Check | None, str | None]:
    """Walk `call`'s table under p (tables.CHECKS): apply the effect of each row that holds and
    go on; stop at the first row that says what follows. Returns the state (changed only by
    effects), the context, that row and its errno (None for an outcome row), or None rows."""
    c = again(h)
    for row in checks(call, p):
        if not row.test(p, c):
            continue
        errno = row.errno_for(p, c) if row.then and row.outcome is None else None
        if row.effect is not None:
            h = EFFECTS[row.effect](p, h, c)
            c = again(h)
        if row.then:
            return h, c, row, errno
    return h, c, None, None


def refused(given: Host, h: Host, errno: str) -> Outcome:
    """A refusal: the very state given, unless a row's effect changed it first."""
    return _refuse(h, errno) if h is given else Outcome(h, Err(errno))


def _autobind(p: Profile, h: Host, c: Ctx) -> Host:
    """Take an ephemeral port on the wildcard address, unless the socket holds one."""
    assert c.sock is not None
    return h if c.holds_addr else implicit_bind(h, c.sock, wildcard=True)


def _clear_error(p: Profile, h: Host, c: Ctx) -> Host:
    assert c.sock is not None
    return _put(h, evolve(c.sock, error=None))


def _mark_shut(p: Profile, h: Host, c: Ctx) -> Host:
    """Linux: shutdown() of an unconnected TCP socket fails, yet sets sk_shutdown; one whose
    connect was still pending becomes SS_DISCONNECTING (inet_shutdown())."""
    assert c.sock is not None and c.how is not None
    sock = evolve(c.sock, shut=c.sock.shut | c.how)
    if sock.connect_pending is not None:
        sock = evolve(sock, connect_pending="disconnecting")
    return _put(h, sock)


#: tables.Check.effect -> the state change
EFFECTS: dict[str, Callable[[Profile, Host, Ctx], Host]] = {
    "autobind": _autobind,
    "clear-error": _clear_error,
    "mark-shut": _mark_shut,
}
