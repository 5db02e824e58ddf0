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
#: FreeBSD's so_options bits (sys/sys/socket.h), which sogetopt() returns for an on/off option
#: where profile.option_bits says so (spec/sources/freebsd.md B1); elsewhere 1
BITS = {"SO_ACCEPTCONN": 0x2, "SO_LINGER": 0x80, "SO_REUSEPORT": 0x200,
        "SO_REUSEPORT_LB": 0x10000}
#: the SOL_SOCKET options setsockopt() knows where profile.setsockopt_ignores_unknown
SETTABLE = ("SO_LINGER", "SO_REUSEPORT")

#: TCP_DEFER_ACCEPT (level IPPROTO_TCP) on a socket that is not TCP: the protocol's own
#: {get,set}sockopt() sees a level it does not know (Linux 6.18, measured by the kernel
#: executor): ip_getsockopt() answers EOPNOTSUPP where ip_setsockopt() and ipv6_*sockopt()
#: answer ENOPROTOOPT; AF_UNIX has no protocol options (EOPNOTSUPP)
NOT_TCP = {("get", "AF_INET"): "EOPNOTSUPP", ("set", "AF_INET"): "ENOPROTOOPT",
           ("get", "AF_INET6"): "ENOPROTOOPT", ("set", "AF_INET6"): "ENOPROTOOPT",
           ("get", "AF_UNIX"): "EOPNOTSUPP", ("set", "AF_UNIX"): "EOPNOTSUPP"}


def _on(p: Profile, opt: str, on: bool) -> int:
    return (BITS[opt] if p.option_bits else 1) if on else 0


def _int_value(value: int | bytes | None) -> int | None:
    """An int-sized option value: an int, or the first four bytes of a string (as the kernel
    reads an int from them); None when the value is shorter than an int."""
    if isinstance(value, int):
        return value
    if isinstance(value, bytes) and len(value) >= 4:
        return int.from_bytes(value[:4], "little", signed=True)
    return None


@transition
def setsockopt(p: Profile, h: Host, fd: int, opt: str, value: int | bytes | None) -> Outcome:
    """`value` is an int, the bytes of a string literal, or None for NULL."""
    c = resolve(h, fd)
    if (errno := refusal("setsockopt", p, c)) is not None:
        return _refuse(h, errno)
    sock = _s(c)
    if p.setsockopt_ignores_unknown and opt.startswith("SO_") and opt not in SETTABLE and not (
            opt == "SO_ACCEPTFILTER" and p.accept_filters):
        return Outcome(h, Ret(0))  # gVisor setSockOptSocket(): an unknown name is ignored
    if opt == "TCP_DEFER_ACCEPT" and p.tcp_defer_accept and p.tcp_options_by_type:
        return _set_tcp_option_by_type(p, h, sock, value)
    if p.setsockopt_optlen_first and (
        value is None
        or (isinstance(value, bytes) and opt != "SO_ACCEPTFILTER" and len(value) < 4)
    ):
        return _refuse(h, "EINVAL")
    if opt == "SO_ACCEPTFILTER" and p.accept_filters:
        return _set_accept_filter(p, h, sock, value)
    if opt == "TCP_DEFER_ACCEPT" and p.tcp_defer_accept:
        if sock.domain == "AF_UNIX" or sock.type != "SOCK_STREAM":
            return _refuse(h, NOT_TCP["set", sock.domain])
        if not isinstance(value, int):
            return _refuse(h, "EINVAL")
        retrans = rules.defer_store(p, value)
        return Outcome(_put(h, evolve(sock, defer_accept=retrans)), Ret(0))
    if opt == "SO_LINGER":
        return _set_linger(p, h, sock, value)
    if opt == "SO_REUSEPORT" or (opt == "SO_REUSEPORT_LB" and p.reuseport_lb):
        n = _int_value(value)
        if n is None:
            return _refuse(h, "EINVAL")
        if opt == "SO_REUSEPORT" and n and sock.domain == "AF_UNIX" and p.reuseport_unix:
            return _refuse(h, p.reuseport_unix)  # "net: restrict SO_REUSEPORT to inet sockets"
        sock = (evolve(sock, reuseport=bool(n)) if opt == "SO_REUSEPORT"
                else evolve(sock, reuseport_lb=bool(n)))
        return Outcome(_put(h, sock), Ret(0))
    # SO_LISTENQ*, SO_ACCEPTCONN and SO_ERROR are read-only; the rest are unknown here.
    return _refuse(h, "ENOPROTOOPT")


def _set_tcp_option_by_type(p: Profile, h: Host, sock: Socket,
                            value: int | bytes | None) -> Outcome:
    """gVisor setSockOptTCP(): a SOCK_STREAM socket counts as TCP whatever its domain (an
    AF_UNIX one ignores the option); the value must hold an int."""
    if sock.type != "SOCK_STREAM":
        return _refuse(h, "ENOPROTOOPT")
    if not isinstance(value, int):
        return _refuse(h, "EINVAL")
    if sock.domain == "AF_UNIX":
        return Outcome(h, Ret(0))
    return Outcome(_put(h, evolve(sock, defer_accept=rules.defer_store(p, value))), Ret(0))


def _set_linger(p: Profile, h: Host, sock: Socket, value: int | bytes | None) -> Outcome:
    """setsockopt(S, SO_LINGER, N) passes struct linger {l_onoff 1, l_linger N}."""
    if not isinstance(value, int):
        return _refuse(h, "EINVAL")  # shorter than struct linger
    if p.linger_max is not None and not 0 <= value <= p.linger_max:
        return _refuse(h, "EDOM")  # FreeBSD sosetopt(): 0..min(USHRT_MAX, INT_MAX / hz)
    return Outcome(_put(h, evolve(sock, linger=value)), Ret(0))


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
    if lst is None:
        return _refuse(h, "EINVAL")
    if lst.accept_filter is not None:
        return _refuse(h, p.accf_replace)
    return Outcome(_with_listener(h, sock, evolve(lst, accept_filter=name)), Ret(0))


@transition
def getsockopt(p: Profile, h: Host, fd: int, opt: str) -> Outcome:
    c = resolve(h, fd)
    if (errno := refusal("getsockopt", p, c)) is not None:
        return _refuse(h, errno)
    sock = _s(c)
    lst = sock.listener
    if opt == "SO_ACCEPTCONN":
        listening = lst is not None and (sock.domain != "AF_UNIX" or p.unix_acceptconn)
        return Outcome(h, Ret(_on(p, opt, listening)))
    if opt == "SO_LINGER" and p.linger_int_read is not None:
        return _refuse(h, p.linger_int_read)  # gVisor: optlen < sizeof(struct linger)
    if opt == "SO_LINGER":  # an int-sized read gets l_onoff
        return Outcome(h, Ret(_on(p, opt, sock.linger is not None)))
    if opt == "SO_REUSEPORT" or (opt == "SO_REUSEPORT_LB" and p.reuseport_lb):
        on = sock.reuseport if opt == "SO_REUSEPORT" else sock.reuseport_lb
        return Outcome(h, Ret(_on(p, opt, on)))
    if opt == "SO_ERROR":
        if sock.error is not None:
            return Outcome(_put(h, evolve(sock, error=None)), ErrName(sock.error))
        if sock.last_error is not None:  # gVisor: the refusal's second copy
            return Outcome(_put(h, evolve(sock, last_error=None)),
                           ErrName(sock.last_error))
        return Outcome(h, Ret(0))
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
            # gVisor: an AF_UNIX stream socket passes as TCP, then its endpoint knows no
            # such option; any other non-TCP socket is refused at once
            return _refuse(h, "ENOPROTOOPT" if p.tcp_options_by_type
                           else NOT_TCP["get", sock.domain])
        return Outcome(h, Ret(rules.defer_read(p, sock.defer_accept)))
    return _refuse(h, "ENOPROTOOPT")


