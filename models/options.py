"""The socket options of the script format: setsockopt() and getsockopt() transitions.

SO_ACCEPTFILTER (FreeBSD accept filters), SO_LISTENQLIMIT / SO_LISTENQLEN / SO_LISTENINCQLEN
(read-only), SO_ACCEPTCONN, SO_ERROR and Linux's TCP_DEFER_ACCEPT. Like host.py: pure, and a
refused call returns the state it was given.
"""

from __future__ import annotations

from . import rules
from .outcome import Outcome, transition
from .outcome import put as _put
from .outcome import refuse as _refuse
from .outcome import sock_of as _s
from .outcome import with_listener as _with_listener
from .profiles import Profile
from .state import Host, Socket, evolve
from .tables import refusal, resolve
from .values import ErrName, Ret, Str

LISTENQ_OPTS = ("SO_LISTENQLIMIT", "SO_LISTENQLEN", "SO_LISTENINCQLEN")


@transition
def setsockopt(p: Profile, h: Host, fd: int, opt: str, value: int | bytes | None) -> Outcome:
    """`value` is an int, the bytes of a string literal, or None for NULL."""
    c = resolve(h, fd)
    if (errno := refusal("setsockopt", p, c)) is not None:
        return _refuse(h, errno)
    sock = _s(c)
    if p.setsockopt_optlen_first and (
        value is None
        or (isinstance(value, bytes) and opt != "SO_ACCEPTFILTER" and len(value) < 4)
    ):
        return _refuse(h, "EINVAL")
    if opt == "SO_ACCEPTFILTER" and p.accept_filters:
        return _set_accept_filter(p, h, sock, value)
    if opt == "TCP_DEFER_ACCEPT" and p.tcp_defer_accept:
        if sock.domain == "AF_UNIX":
            return _refuse(h, "EOPNOTSUPP")
        if sock.type != "SOCK_STREAM":
            return _refuse(h, "ENOPROTOOPT")
        if not isinstance(value, int):
            return _refuse(h, "EINVAL")
        retrans = rules.defer_secs_to_retrans(value)
        return Outcome(_put(h, evolve(sock, defer_accept=retrans)), Ret(0))
    # SO_LISTENQ*, SO_ACCEPTCONN and SO_ERROR are read-only; the rest are unknown here.
    return _refuse(h, "ENOPROTOOPT")


def _set_accept_filter(p: Profile, h: Host, sock: Socket, value: int | bytes | None) -> Outcome:
    lst = sock.listener
    if value is None:  # accept_filt_setopt(so, NULL): remove
        if lst is None:
            return _refuse(h, "EINVAL")
        if lst.accept_filter is None:
            return Outcome(h, Ret(0))
        # Only children still carrying SO_ACCEPTFILTER move; parked ones wait for their upcall.
        moving = tuple(e for e in lst.incomp if e.upcall is None)
        staying = tuple(e for e in lst.incomp if e.upcall is not None)
        lst = evolve(lst, accept_filter=None, comp=lst.comp + moving, incomp=staying)
        return Outcome(_with_listener(h, sock, lst), Ret(0))
    if not isinstance(value, bytes):
        return _refuse(h, "EINVAL")  # optlen shorter than struct accept_filter_arg
    name = value.decode("latin-1")  # af_name, compared byte for byte
    if name not in p.accept_filters:
        return _refuse(h, "ENOENT")  # checked before the listening check
    if lst is None or lst.accept_filter is not None:
        return _refuse(h, "EINVAL")
    return Outcome(_with_listener(h, sock, evolve(lst, accept_filter=name)), Ret(0))


@transition
def getsockopt(p: Profile, h: Host, fd: int, opt: str) -> Outcome:
    c = resolve(h, fd)
    if (errno := refusal("getsockopt", p, c)) is not None:
        return _refuse(h, errno)
    sock = _s(c)
    lst = sock.listener
    if opt == "SO_ACCEPTCONN":
        return Outcome(h, Ret(int(lst is not None)))
    if opt == "SO_ERROR":
        if sock.error is None:
            return Outcome(h, Ret(0))
        return Outcome(_put(h, evolve(sock, error=None)), ErrName(sock.error))
    if opt == "SO_ACCEPTFILTER" and p.accept_filters:
        if lst is None or lst.accept_filter is None:
            return _refuse(h, "EINVAL")
        return Outcome(h, Str(lst.accept_filter))
    if opt in LISTENQ_OPTS and p.listenq_sockopts:
        if lst is None:
            return Outcome(h, Ret(0))
        value = {
            "SO_LISTENQLIMIT": lst.qlimit,
            "SO_LISTENQLEN": len(lst.comp),
            "SO_LISTENINCQLEN": len(lst.incomp),
        }[opt]
        return Outcome(h, Ret(value))
    if opt == "TCP_DEFER_ACCEPT" and p.tcp_defer_accept:
        if sock.domain == "AF_UNIX" or sock.type != "SOCK_STREAM":
            return _refuse(h, "EOPNOTSUPP")
        return Outcome(h, Ret(rules.defer_retrans_to_secs(sock.defer_accept)))
    return _refuse(h, "ENOPROTOOPT")


