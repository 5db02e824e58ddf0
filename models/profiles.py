"""The eight profiles, as data: one model, each platform difference a named, cited parameter.

`freebsd-src` is written out in full from the FreeBSD source digest; every other profile states
what its own source (a seed page, the DragonFly / 4.4BSD / Linux source) says, and inherits the
rest from the nearest source profile. `cite` names the source of every parameter; an inherited
value is cited as `inherited from <profile>: <source>` so the catalogue can list each choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

from ..errors import ListenspecError
from . import sources as S

INT_MAX = 2**31 - 1
INT_MIN = -(2**31)
UINT_MAX = 2**32 - 1


@attrs.frozen
class Sysctl:
    """A sysctl name, what it sets, its default and the values a write accepts (inclusive)."""

    name: str
    key: str  # limit | overinterval | sooverprio | rst_on_sock_fail | syncookies
    default: int
    lo: int
    hi: int
    hidden: bool = False  # left out of `sysctl -a`, still readable and writable by name
    # -- gVisor (issue 11): a read-only file; every write fails with this errno (None: writable)
    write_errno: str | None = None


#: Settings a profile may give no sysctl for, and the value the system then runs with: the
#: compiled-in defaults of the source the sysctls come from (FreeBSD: syncookies and
#: rst_on_sock_fail on, sys/netinet/tcp_syncache.c; sooverinterval 60 s and sooverprio LOG_DEBUG,
#: sys/kern/uipc_socket.c; Linux: tcp_syncookies 1, net/ipv4/sysctl_net_ipv4.c).
FIXED: Mapping[str, int] = {"syncookies": 1, "rst_on_sock_fail": 1, "overinterval": 60,
                            "sooverprio": 7, "abort_on_overflow": 0, "migrate_req": 0,
                            "synack_retries": 5, "rexmtlimit": 3, "max_syn_backlog": 2048}

def _cites(cite: Mapping[str, str]) -> Mapping[str, str]:
    """Profile.cite, completed with the sources of the defaults of the parameters added for
    gVisor (GVISOR_DEFAULT_CITES, below: a profile that states one cites it itself)."""
    return _with_default_cites(cite)


Clamp = Literal["signed", "unsigned", "zero-min"]
Base = Literal["3q/2", "q", "q+1"]


@attrs.frozen
class Profile:
    name: str
    system: str
    basis: str  # what the profile formalises: a seed page, or a kernel source
    # -- backlog and the hard limit
    clamp: Clamp
    fixed_limit: int | None  # the hard limit when no sysctl sets it
    sysctls: tuple[Sysctl, ...]
    # -- admission to the completed queue
    admit_base: Base
    admit_inclusive: bool  # admitted while counted <= base (else while counted < base)
    admit_u32: bool  # the base is computed in C's u_int arithmetic
    admit_counts_half_open: bool
    # -- the accept-filter (secondary) queue
    accept_filters: tuple[str, ...]
    incq_base: Base
    incq_evict: Literal["loop", "one"]
    # -- a connection to a full queue
    tcp_overflow: Literal["reset", "drop"]
    unix_overflow: str
    overflow_counters: tuple[str, ...]
    # Linux: what a full request queue bumps: (without syncookies, with them); and a SYN the
    # full request queue drops
    synflood_counters: tuple[tuple[str, ...], tuple[str, ...]]
    request_drop_counters: tuple[str, ...]
    # event -> the counters it bumps: cookie-sent, cookie-recv (a syncookie SYN-ACK went out /
    # came back), abort-on-close / abort-on-data (a close that resets: unread data / SO_LINGER
    # 0), embryonic-reset (an overflow answered with an RST), migrated (tcp_migrate_req)
    counter_events: Mapping[str, tuple[str, ...]]
    counters: tuple[str, ...]
    overflow_log: bool
    log_suffix: str
    # -- half-open connections
    half_open: Literal["syncache", "reqsk", "q0"]
    syncache_cache_limit: int
    syncache_bucket_limit: int
    # -- errors
    unbound_unix_listen: str
    listen_connected: str
    # what listen() answers on a TCP socket whose connect() once sent a SYN, even once it is
    # unconnected again (it takes an ephemeral port on the way); None: it may listen
    listen_once_connected: str | None
    connect_reset: str  # connect() on a socket the peer reset (its error already reported)
    accept_not_listening: str  # accept() on a socket that is not listening (stream)
    accept_dgram: str  # accept() on a datagram socket
    connect_on_listener: str
    connect_on_unix_listener: str
    send_on_listener: str | None  # send() on a listening socket, first (None: the rows after)
    # (client domain, target domain [/unbound] or *, errno); anything else is EAFNOSUPPORT
    connect_family_errno: tuple[tuple[str, str, str], ...]
    # Linux: after a non-blocking TCP connect settles, the socket stays SS_CONNECTING until the
    # next connect(): that call returns 0 (or ECONNABORTED after a refusal), and listen() fails.
    sticky_connecting: bool
    dgram_v6_takes_v4: bool  # an AF_INET6 datagram socket may connect to an IPv4 address
    dgram_reconnect: bool  # a connected datagram socket may connect again (else EISCONN)
    unix_address_first: bool  # AF_UNIX connect() checks the address before the socket state
    unix_bind_name_first: bool  # AF_UNIX bind() to a name in use: EADDRINUSE even when bound
    unix_child_inherits: bool  # an accepted AF_UNIX socket has the listener's SO_LINGER etc.
    reset_unbinds: bool  # a TCP socket reset by its peer loses its local port (bind works)
    dgram_send_autobinds: bool  # send() on an unbound UDP socket binds it, even when it fails
    send_unconnected: str  # on a TCP socket (AF_UNIX: ENOTCONN everywhere)
    setsockopt_optlen_first: bool  # an option value shorter than an int is EINVAL at once
    inet6: bool
    inet_seqpacket: str
    # -- options and observability
    listenq_sockopts: bool
    tcp_defer_accept: bool
    recv_hiwat: int
    # -- the rest of a listener's life (issue 10): options, the data path, shutdown, poll
    option_bits: bool  # getsockopt of an on/off option returns its bit (so_options & bit), not 1
    filter_holds: bool  # an attached accept filter holds connections (else they go straight on)
    accf_replace: str  # setsockopt(SO_ACCEPTFILTER) with a filter already attached
    refused_drops: bool  # a TCP connect refused by an RST leaves the socket dropped (reset)
    bind_reset: str | None  # bind() on a reset (dropped) TCP socket; None: allowed
    connect_family_first: bool  # connect() checks the address family before the socket's state
    send_order: Literal["error-first", "epipe-first"]  # a pending error, or no more to send?
    unix_stream_send_error: bool  # an AF_UNIX stream send reports a pending error
    seqpacket_error_first: bool  # an AF_UNIX SEQPACKET recv reports the error before the data
    recv_eof_before_error: bool  # TCP recv after the peer's FIN: 0, even with an error pending
    recv_unconnected_unix_stream: str  # recv() on an AF_UNIX stream socket that is not connected
    rst_in_close_wait: str  # the error an RST sets on a socket that had the peer's FIN
    close_unread: Literal["rst", "fin"]  # closing with unread data resets the peer, or FINs
    accept_reset: Literal["dead-socket", "ECONNABORTED"]  # accept() of a connection reset first
    shutdown_listener: Literal["stop", "enotconn-abort", "refuse"]
    shutdown_marks_unconnected: bool  # shutdown() of an unconnected TCP socket still sets flags
    unix_shutdown_unconnected: str | None  # None: AF_UNIX shutdown() always succeeds
    shut_rd_discards: bool  # shutdown(SHUT_RD) discards what is queued to be read
    unix_listener_shut_refuses: bool  # an AF_UNIX listener shut for reading refuses connects
    unix_listen_disconnected: bool  # a disconnected AF_UNIX socket may listen (if bound)
    poll_style: Literal["linux", "bsd", "select", "gvisor"]  # select: select(2)'s two sets
    poll_rdhup: bool  # poll(2) has POLLRDHUP
    reuseport_pick: Literal["hash", "last"]  # which SO_REUSEPORT listener a connection reaches
    reuseport_lb: bool  # SO_REUSEPORT_LB exists
    reuseport_unix: str | None  # setsockopt(SO_REUSEPORT) on AF_UNIX; None: allowed
    linger_max: int | None  # setsockopt(SO_LINGER, N) outside 0..linger_max is EDOM
    cite: Mapping[str, str] = attrs.field(converter=_cites)
    # -- parameters added for gVisor's netstack (issue 11). Each default is what every other
    # profile does, cited once in GVISOR_DEFAULT_CITES below; the gvisor profile states its own.
    # an AF_INET6 stream socket may connect to an IPv4 address (as a v4-mapped one)
    stream_v6_takes_v4: bool = False
    # a full request queue is logged ("Possible SYN flooding", once per listener)
    synflood_log: bool = True
    # the request queue is full at qlimit half-open + deferred connections (else above it)
    request_queue_inclusive: bool = False
    # listen() on a listener holding more completed connections than the new backlog admits:
    # refused with this errno, the old backlog kept (None: accepted, the queue kept)
    relisten_shrink_errno: str | None = None
    # a TCP socket whose connection was refused or reset is closed for good (bind and listen
    # EINVAL; connect() reports the pending error once, then ECONNABORTED), and a refusal
    # leaves a second copy of ECONNREFUSED that only getsockopt(SO_ERROR) reads
    dead_after_error: bool = False
    # connect() of a connected UDP socket to the address it is connected to (None: allowed)
    dgram_reconnect_same: str | None = None
    # AF_UNIX connect() between a datagram and a stream/seqpacket socket
    unix_dgram_mismatch: str = "EPROTOTYPE"
    # AF_UNIX stream connect() checks the connecting socket (itself as the target, connected,
    # listening) before whether the target listens
    unix_client_first: bool = False
    # closing an AF_UNIX listener leaves its queued clients connected to a closed peer (send
    # EPIPE) instead of resetting them
    unix_close_hangs_up: bool = False
    # getsockopt(SO_ACCEPTCONN) reads 1 on a listening AF_UNIX socket
    unix_acceptconn: bool = True
    # TCP-level options are judged by the socket type alone: an AF_UNIX stream socket takes
    # (and ignores) them; reading one on a non-TCP socket is ENOPROTOOPT
    tcp_options_by_type: bool = False
    # setsockopt() at SOL_SOCKET accepts, and ignores, an option it does not know
    setsockopt_ignores_unknown: bool = False
    # TCP_DEFER_ACCEPT is kept in whole seconds up to this many (None: SYN-ACK retransmissions)
    defer_accept_max_seconds: int | None = None
    # a FIN without data from a deferred (TCP_DEFER_ACCEPT) connection's client ends the
    # deferral as data does (False: it is a bare ACK, dropped until the deferral's time is up)
    defer_ends_on_fin: bool = True
    # an AF_INET6 socket whose local address belongs to one family (bound to ::1, or set by a
    # datagram connect) connecting to an address of the other family (None: allowed, or the
    # dgram row and the family table decide)
    v6_pinned_errno: str | None = None
    # connect() reads the address's family before anything about the socket (even before an
    # AF_UNIX stream's target; profile.connect_family_first: after those)
    connect_address_first: bool = False
    # shutdown() of a datagram socket that is not connected marks its directions shut although
    # it answers ENOTCONN (where shutdown_marks_unconnected is off)
    shutdown_dgram_marks: bool = True
    # bind(S, T) of an AF_UNIX socket to a T that never had a name (a family-only address):
    # this errno (None: the socket autobinds)
    unix_bind_unnamed: str | None = None
    # shutdown() of a UDP socket that is bound but not connected succeeds
    dgram_shutdown_bound: bool = False
    # getsockopt(SO_LINGER) into an int-sized buffer: this errno (None: it reads l_onoff)
    linger_int_read: str | None = None
    # an accepted TCP socket keeps its listener's SO_REUSEPORT
    child_keeps_reuseport: bool = True
    # request socks (half_open "reqsk"): a firing request's retry limit drops while requests
    # fill over half the request queue's room (rules.reqsk_retries); False: each request has
    # its own retry limit, whatever the queue holds
    reqsk_prunes: bool = True
    # bind() to an address of another family, as connect_family_errno's table (None: that table)
    bind_family_errno: tuple[tuple[str, str, str], ...] | None = None
    # connect() of a TCP socket that a shutdown(SHUT_RD) once stopped listening: this errno,
    # ever after (None: such a socket connects as any other)
    connect_after_stop: str | None = None
    # connect_after_stop is checked before the target's family (False: after it, so a target
    # of another family gets the family errno first)
    connect_stop_before_family: bool = True
    # connect() of a TCP socket to its own address after a shutdown(SHUT_WR) that answered
    # ENOTCONN (shutdown_marks_unconnected): the simultaneous open sends a FIN to itself and ends
    # in CLOSE, its port held by the TIME_WAIT, and connect() gives this errno (None: it connects
    # to itself as any socket does)
    self_connect_shut_send: str | None = None
    # an autobound (abstract) AF_UNIX name is looked up with the socket type: a socket of
    # another type may bind to it too, and finds nobody there when it connects (ECONNREFUSED)
    # (False: a name is held once, whatever the type)
    unix_autobind_per_type: bool = False
    # bind() of a named AF_UNIX socket to a family-only address (an autobind) succeeds and
    # changes nothing (False: the socket already holds an address, EINVAL)
    unix_autobind_bound_ok: bool = False
    # a TCP listener shut for sending (shutdown(SHUT_WR) before listen()) makes its children
    # shut for sending: each child's FIN reaches its client at once, send() on it is EPIPE
    child_inherits_shut_wr: bool = False
    # a client that set TCP_DEFER_ACCEPT holds the handshake's final ACK (for data to carry
    # it), so the listener keeps a request sock meanwhile (False: the ACK goes at once)
    client_defer_holds_ack: bool = False
    # connect() of an AF_INET6 socket whose local address is of one family (a bind to ::1, or
    # the address a connect gave it) to a specific address (not 0.0.0.0 or ::) of the other:
    # rows (local family, target family, errno), checked before the socket's state (empty: no
    # such check; the address reaches the protocol)
    local_family_errno: tuple[tuple[str, str, str], ...] = ()

    def sysctl(self, name: str) -> Sysctl | None:
        return next((s for s in self.sysctls if s.name == name), None)

    def sysctl_default(self, key: str) -> int | None:
        return next((s.default for s in self.sysctls if s.key == key), None)

    def bumps(self, event: str) -> tuple[str, ...]:
        """The counters an event (see counter_events) bumps under this profile."""
        return tuple(self.counter_events.get(event, ()))

    def default(self, key: str) -> int:
        """The value a setting (a Sysctl.key) has at boot: its sysctl's default, or, where no
        sysctl sets it, the value the system has fixed (FIXED, the hard limit: fixed_limit)."""
        d = self.sysctl_default(key)
        if d is not None:
            return d
        if key == "limit":
            assert self.fixed_limit is not None, f"{self.name}: no hard limit"
            return self.fixed_limit
        return FIXED[key]

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(
            f.name for f in attrs.fields(Profile)
            if f.name not in ("name", "system", "basis", "cite")
        )


SOURCE_PROFILES = ("freebsd-src", "freebsd-main", "linux", "bsd-4.4")

# --------------------------------------------------------------------------- gVisor's defaults
#: What the parameters added for gVisor (issue 11) say for every profile that does not state
#: them: the behaviour each of those profiles already had, written once.
GVISOR_DEFAULT_CITES: Mapping[str, str] = {
    "stream_v6_takes_v4": f"{S.CHOICE}: tcp_v6_connect() and tcp6_connect() want an AF_INET6 "
                          "address (profile parameter connect_family_errno)",
    "synflood_log": f"{S.LX_CONN_REQUEST}: tcp_syn_flood_action() (used by Linux only)",
    "request_queue_inclusive": S.LX_REQSK_FULL,
    "relisten_shrink_errno": f"{S.FB_SOLISTEN}; {S.LX_INET_LISTEN} (only the limit is "
                             "rewritten)",
    "dead_after_error": f"{S.CHOICE}: a refused or reset socket may be used again "
                        "(measured on Linux by the kernel executor, spec/sources/"
                        "linux-6.18.md §0)",
    "dgram_reconnect_same": f"{S.CHOICE}: profile parameter dgram_reconnect",
    "unix_dgram_mismatch": f"{S.LX_UNIX_CONNECT}; {S.FB_UNIX_CONNECT} (EPROTOTYPE)",
    "unix_client_first": f"{S.LX_UNIX_CONNECT} (profile parameter unix_address_first)",
    "unix_close_hangs_up": f"{S.FB_SOCLOSE}; {S.LX_UNIX_CONNECT} (queued connections are "
                           "reset)",
    "unix_acceptconn": f"{S.CHOICE}: SO_ACCEPTCONN reads the listening flag of any socket",
    "tcp_options_by_type": f"{S.CHOICE}: do_tcp_setsockopt() is reached by TCP sockets only",
    "setsockopt_ignores_unknown": f"{S.FB_SOSETOPT}; {S.CHOICE}: sk_setsockopt() answers "
                                  "ENOPROTOOPT",
    "defer_accept_max_seconds": f"{S.LX_DEFER}: secs_to_retrans()",
    "defer_ends_on_fin": f"{S.LX_DEFER}: a segment with a FIN is not the bare ACK it drops "
                         "(measured by the kernel executor on 6.18.44: accept() right after "
                         "the client's close() is a descriptor); read only where "
                         "tcp_defer_accept is set",
    "connect_address_first": f"{S.CHOICE}: the protocol's connect looks at the address "
                             "(profile parameters connect_family_first, "
                             "connect_family_errno)",
    "shutdown_dgram_marks": f"{S.FB14_SHUTDOWN} (soshutdown() of a datagram socket); "
                            "profile parameter shutdown_marks_unconnected elsewhere",
    "unix_bind_unnamed": f"{S.CHOICE}: unix_bind() autobinds on an address of "
                         "sizeof(sa_family_t) (the bind(S, T) row; measured on Linux by the "
                         "kernel executor)",
    "dgram_shutdown_bound": f"{S.CHOICE}: inet_shutdown() and soshutdown() look at the "
                            "connection, not the address (measured on Linux)",
    "linger_int_read": f"{S.CHOICE}: an int-sized getsockopt(SO_LINGER) reads l_onoff "
                       "(measured on Linux by the kernel executor)",
    "child_keeps_reuseport": f"{S.CHOICE}: sk_clone_lock() and solisten_clone() copy the "
                             "listener's options (measured on Linux by the kernel executor)",
    "reqsk_prunes": f"{S.LX_TIMERS} (qlen << 1 > max(8, sk_max_ack_backlog): the young "
                    "share lowers max_syn_ack_retries, to 2 at least; measured by the kernel "
                    "executor: tests/test_survivors.py CROWDED_SCRIPT); read only where "
                    "half_open is reqsk",
    "bind_family_errno": f"{S.CHOICE}: inet_bind() and inet6_bind() answer as connect does "
                         "(profile parameter connect_family_errno)",
    "v6_pinned_errno": f"{S.CHOICE}: profile parameters dgram_v6_takes_v4 and "
                       "connect_family_errno decide",
    "unix_autobind_per_type": f"{S.CHOICE}: a name is bound once (unp_bind(): the path "
                              "exists)",
    "unix_autobind_bound_ok": f"{S.CHOICE}: a bound socket is refused whatever the address "
                              "(in_pcbbind(), unp_bind())",
    "local_family_errno": f"{S.CHOICE}: the protocol's connect looks at the address "
                          "(profile parameters connect_family_errno, dgram_v6_takes_v4, "
                          "stream_v6_takes_v4)",
    "client_defer_holds_ack": f"{S.CHOICE}: TCP_DEFER_ACCEPT is a listener's option (these "
                              "systems have no client side of it)",
    "child_inherits_shut_wr": f"{S.CHOICE}: a child starts with its own shutdown state "
                              "(solisten_clone() starts so_rcv and so_snd afresh)",
    "connect_after_stop": f"{S.CHOICE}: only Linux's shutdown(SHUT_RD) stops a listener and "
                          "leaves its socket to be used again (profile parameter "
                          "shutdown_listener)",
    "connect_stop_before_family": f"{S.CHOICE}: read only where connect_after_stop is set",
    "self_connect_shut_send": f"{S.CHOICE}: not measured on these systems; the socket "
                              "connects to itself as any other (read only where "
                              "shutdown_marks_unconnected is set)",
}


def _with_default_cites(cite: Mapping[str, str]) -> Mapping[str, str]:
    return {**GVISOR_DEFAULT_CITES, **cite}


_FREEBSD_SYSCTLS = (
    Sysctl("kern.ipc.soacceptqueue", "limit", 128, 1, UINT_MAX // 3),
    Sysctl("kern.ipc.somaxconn", "limit", 128, 1, UINT_MAX // 3, hidden=True),
    Sysctl("kern.ipc.sooverinterval", "overinterval", 60, 0, INT_MAX),
    Sysctl("kern.ipc.sooverprio", "sooverprio", 7, INT_MIN, INT_MAX),
    Sysctl("net.inet.tcp.syncache.rst_on_sock_fail", "rst_on_sock_fail", 1, INT_MIN, INT_MAX),
    Sysctl("net.inet.tcp.syncookies", "syncookies", 1, INT_MIN, INT_MAX),
    Sysctl("net.inet.tcp.syncache.rexmtlimit", "rexmtlimit", 3, 0, 12),
)

FREEBSD_SRC = Profile(
    name="freebsd-src",
    system=S.FB14_REVISION,
    basis=S.FB,
    clamp="signed",
    fixed_limit=None,
    sysctls=_FREEBSD_SYSCTLS,
    admit_base="3q/2",
    admit_inclusive=True,
    admit_u32=True,
    admit_counts_half_open=False,
    accept_filters=("dataready", "httpready", "dnsready"),
    incq_base="q+1",
    incq_evict="loop",
    tcp_overflow="reset",
    unix_overflow="ECONNREFUSED",
    overflow_counters=("tcps_listendrop",),
    synflood_counters=((), ()),
    request_drop_counters=(),
    counter_events={},
    counters=("tcps_listendrop",),
    overflow_log=True,
    log_suffix=", euid <euid>, rgid <rgid>, jail <jail>",
    half_open="syncache",
    syncache_cache_limit=15360,
    syncache_bucket_limit=30,
    unbound_unix_listen="EDESTADDRREQ",
    listen_connected="EINVAL",
    listen_once_connected=None,
    connect_reset="ECONNREFUSED",
    accept_not_listening="EINVAL",
    accept_dgram="EINVAL",
    connect_on_listener="EOPNOTSUPP",
    connect_on_unix_listener="EOPNOTSUPP",
    send_on_listener="ENOTCONN",
    connect_family_errno=(),
    sticky_connecting=False,
    dgram_v6_takes_v4=False,
    dgram_reconnect=True,
    unix_address_first=False,
    unix_bind_name_first=False,
    unix_child_inherits=True,
    reset_unbinds=True,
    dgram_send_autobinds=False,
    send_unconnected="ENOTCONN",
    setsockopt_optlen_first=False,
    inet6=True,
    inet_seqpacket="EPROTOTYPE",
    listenq_sockopts=True,
    tcp_defer_accept=False,
    recv_hiwat=65536,
    option_bits=True,
    filter_holds=False,
    accf_replace="EINVAL",
    refused_drops=True,
    bind_reset="EINVAL",
    connect_family_first=True,
    send_order="epipe-first",
    unix_stream_send_error=True,
    seqpacket_error_first=False,
    recv_eof_before_error=False,
    recv_unconnected_unix_stream="ENOTCONN",
    rst_in_close_wait="ECONNRESET",
    close_unread="fin",
    accept_reset="ECONNABORTED",
    shutdown_listener="enotconn-abort",
    shutdown_marks_unconnected=False,
    unix_shutdown_unconnected="ENOTCONN",
    shut_rd_discards=True,
    unix_listener_shut_refuses=False,
    unix_listen_disconnected=True,
    poll_style="bsd",
    poll_rdhup=True,
    reuseport_pick="last",
    reuseport_lb=True,
    reuseport_unix=None,
    linger_max=65535,
    cite={
        "clamp": S.FB_SOLISTEN,
        "fixed_limit": S.FB_SYSCTL,
        "sysctls": f"{S.FB_SYSCTL}; {S.FB_SOMAXCONN}; {S.FB_OVERFLOW_LOG}; {S.FB_RST_ON_FAIL}; "
                   f"sooverinterval 0..INT_MAX: {S.FB14_LISTENER_SO}; rexmtlimit: "
                   f"{S.FB14_SYNCACHE_TIMER}",
        "admit_base": S.FB_CLONE,
        "admit_inclusive": S.FB_CLONE,
        "admit_u32": f"{S.FB_CLONE} (sol_qlimit is u_int, sys/sys/socketvar.h)",
        "admit_counts_half_open": S.FB_CLONE,
        "accept_filters": f"{S.FB_ACCF_DATA}; {S.FB_ACCF_HTTP}; {S.FB14_ACCF} (no tlsready at "
                          "14.2)",
        "incq_base": S.FB_ENQUEUE,
        "incq_evict": S.FB_ENQUEUE,
        "tcp_overflow": S.FB_RST_ON_FAIL,
        "unix_overflow": S.FB_UNIX_CONNECT,
        "overflow_counters": S.FB_SYNCACHE_SOCKET,
        "synflood_counters": f"{S.FB_SYNCACHE}: no request queue (the syncache is not bounded "
                             "by the backlog)",
        "request_drop_counters": f"{S.FB_SYNCACHE}: no request queue",
        "counter_events": f"{S.CHOICE}: the model keeps tcps_listendrop only",
        "counters": S.FB_SYNCACHE_SOCKET,
        "overflow_log": S.FB_OVERFLOW_LOG,
        "log_suffix": S.FB_OVERFLOW_LOG,
        "half_open": S.FB_SYNCACHE,
        "syncache_cache_limit": S.FB_SYNCACHE,
        "syncache_bucket_limit": S.FB_SYNCACHE,
        "unbound_unix_listen": S.FB_UNIX_LISTEN,
        "listen_connected": S.FB_PROTO_CHECK,
        "listen_once_connected": f"{S.CHOICE}: solisten_proto_check() looks at the socket's "
                                 "state flags only",
        "connect_reset": f"{S.FB14_REFUSED} (a dropped inpcb: ECONNREFUSED)",
        "accept_not_listening": f"{S.FB_DEQUEUE} (kern_accept4: !SOLISTENING -> EINVAL)",
        "accept_dgram": f"{S.FB_DEQUEUE} (kern_accept4: !SOLISTENING -> EINVAL)",
        "connect_on_listener": f"{S.CHOICE}: soconnectat() refuses a listening socket",
        "connect_on_unix_listener": f"{S.CHOICE}: soconnectat() refuses a listening socket",
        "send_on_listener": S.FB14_SEND_LISTENER,
        "connect_family_errno": f"{S.CHOICE}: tcp_usr_connect() and unp_connectat(): "
                                "another family is EAFNOSUPPORT",
        "sticky_connecting": f"{S.CHOICE}: soconnectat() on a connected socket is EISCONN",
        "dgram_v6_takes_v4": f"{S.CHOICE}: udp6_connect() wants an AF_INET6 address",
        "unix_address_first": f"{S.CHOICE}: soconnectat() refuses a listening socket first",
        "unix_bind_name_first": f"{S.CHOICE}: uipc_bindat() refuses a socket that has a vnode "
                                "(EINVAL) before it looks the path up",
        "unix_child_inherits": f"{S.CHOICE}: every child is made by solisten_clone(), which "
                               "copies so_options but SO_ACCEPTCONN (TCP and AF_UNIX alike)",
        "dgram_reconnect": f"{S.FB14_OTHER} (soconnectat() disconnects a datagram socket "
                           "first; tools/regression/sockets/reconnect)",
        "reset_unbinds": f"{S.FB14_REFUSED} (in_pcbdrop() releases the port)",
        "dgram_send_autobinds": f"{S.CHOICE}: udp_send() checks the address before binding",
        "send_unconnected": f"{S.CHOICE}: sosend() on an unconnected stream socket",
        "setsockopt_optlen_first": f"{S.CHOICE}: sosetopt() looks the option up first "
                                   "(unknown: ENOPROTOOPT)",
        "inet6": S.CHOICE,
        "inet_seqpacket": f"{S.FB14_OTHER} (socreate() without sctp.ko: EPROTOTYPE)",
        "listenq_sockopts": f"{S.FB_SOGETOPT}; {S.FB_SOSETOPT}",
        "tcp_defer_accept": f"{S.CHOICE}: FreeBSD has no TCP_DEFER_ACCEPT (accf_data instead)",
        "recv_hiwat": f"{S.FB_ACCF_HTTP} (sbfull: net.inet.tcp.recvspace default 65536)",
        "option_bits": S.FB14_SOGETOPT,
        "filter_holds": S.FB14_FILTERS,
        "accf_replace": f"{S.FB14_ACCF} (\"don't try to replace an existing filter without "
                        "first removing it\")",
        "refused_drops": S.FB14_REFUSED,
        "bind_reset": f"{S.FB14_REFUSED} (tcp_usr_bind(): INP_DROPPED)",
        "connect_family_first": f"{S.F14} A11: tcp_usr_connect(), unp_connectat()",
        "send_order": S.FB14_SEND,
        "unix_stream_send_error": S.FB14_SEND,
        "seqpacket_error_first": S.FB14_SEQPACKET,
        "recv_eof_before_error": f"{S.FB14_SEQPACKET} (soreceive_generic_locked(): data, "
                                 "so_error, then CANTRCVMORE)",
        "recv_unconnected_unix_stream": f"{S.FB14_SEQPACKET} (PR_CONNREQUIRED: ENOTCONN)",
        "rst_in_close_wait": f"{S.F14} B9 (an RST sets so_error ECONNRESET in every state)",
        "close_unread": S.FB14_CLOSE_UNREAD,
        "accept_reset": S.FB14_ACCEPT_RESET,
        "shutdown_listener": S.FB14_SHUTDOWN,
        "shutdown_marks_unconnected": S.FB14_SHUTDOWN,
        "unix_shutdown_unconnected": S.FB14_SHUTDOWN,
        "shut_rd_discards": f"{S.FB14_SHUTDOWN} (sorflush())",
        "unix_listener_shut_refuses": f"{S.FB14_SHUTDOWN} (a listener's queues stay as they "
                                      "were)",
        "unix_listen_disconnected": f"{S.F14} B2 (uipc_listen(): bound, not connected)",
        "poll_style": S.FB14_POLL,
        "poll_rdhup": f"{S.FB14_POLL}; sys/sys/poll.h POLLRDHUP 0x4000",
        "reuseport_pick": S.FB14_REUSEPORT,
        "reuseport_lb": S.FB14_REUSEPORT,
        "reuseport_unix": f"{S.FB14_SOGETOPT} (a SOL_SOCKET bit for any socket)",
        "linger_max": S.FB14_LINGER,
    },
)


def derive(base: Profile, inherits_from: str, cite: Mapping[str, str], **changes: Any) -> Profile:
    """A profile that states `changes` (cited in `cite`) and inherits every other parameter."""
    merged: dict[str, str] = {}
    for param, source in base.cite.items():
        merged[param] = source if source.startswith("inherited") else (
            f"inherited from {inherits_from}: {source}"
        )
    merged.update(cite)
    missing = set(changes) - set(cite) - {"name", "system", "basis"}
    if missing:
        raise AssertionError(f"uncited parameters {sorted(missing)}")
    return attrs.evolve(base, cite=merged, **changes)


_PAGE_ADMISSION = {
    "filter_holds": True,
    "admit_base": "3q/2",
    "admit_inclusive": False,
    "admit_u32": False,
    "incq_base": "3q/2",
    "incq_evict": "one",
    "tcp_overflow": "drop",
}


def _page_cites(seed: str) -> dict[str, str]:
    return {
        "clamp": seed,
        "admit_base": f"{seed} (\"1.5 times\")",
        "admit_inclusive": f"{seed} (\"1.5 times\": the maximum is floor(1.5 q))",
        "admit_u32": f"{seed} (a real-number statement; no machine arithmetic)",
        "incq_base": f"{seed} (\"like the primary listen queue\")",
        "incq_evict": f"{seed} (\"the oldest socket ... will be terminated\")",
        "tcp_overflow": f"{seed} (\"silently dropped\")",
        "filter_holds": f"{seed} (\"a second queue will be used to hold sockets that have "
                        "connected, but have not yet met their accept filtering criteria\")",
        "unix_overflow": f"{seed} (\"ECONNREFUSED\")",
    }


FREEBSD_9 = derive(
    FREEBSD_SRC,
    "freebsd-src",
    {
        **_page_cites(S.SEED_FREEBSD_9),
        "sysctls": f"{S.SEED_FREEBSD_9} (kern.ipc.somaxconn); range and default: {S.FB_SYSCTL}",
        "overflow_log": f"{S.CHOICE}: {S.SEED_FREEBSD_9} predates the logging sentence",
        "log_suffix": f"{S.CHOICE}: no overflow log",
        "unbound_unix_listen": (
            f"{S.CHOICE}: the page's error list is cut off; {S.FB_UNIX_LISTEN_OLD}"
        ),
        "poll_rdhup": S.FB_NO_RDHUP,
    },
    name="freebsd-9",
    system="FreeBSD 5.x-9.x (manual page)",
    basis=S.SEED_FREEBSD_9,
    sysctls=(Sysctl("kern.ipc.somaxconn", "limit", 128, 1, UINT_MAX // 3),),
    overflow_log=False,
    log_suffix="",
    unbound_unix_listen="EINVAL",
    poll_rdhup=False,
    **_PAGE_ADMISSION,
)

FREEBSD_10 = derive(
    FREEBSD_SRC,
    "freebsd-src",
    {
        **_page_cites(S.SEED_FREEBSD_10),
        "sysctls": f"{S.SEED_FREEBSD_10} (soacceptqueue; somaxconn hidden); range: {S.FB_SYSCTL}",
        "overflow_log": f"{S.CHOICE}: {S.SEED_FREEBSD_10} predates the logging sentence",
        "log_suffix": f"{S.CHOICE}: no overflow log",
        "unbound_unix_listen": f"{S.SEED_FREEBSD_10} (EDESTADDRREQ)",
        "listen_connected": f"{S.SEED_FREEBSD_10} (EINVAL)",
        "poll_rdhup": S.FB_NO_RDHUP,
    },
    name="freebsd-10",
    system="FreeBSD 10+ (manual page, July 15, 2014)",
    basis=S.SEED_FREEBSD_10,
    sysctls=_FREEBSD_SYSCTLS[:2],
    overflow_log=False,
    log_suffix="",
    poll_rdhup=False,
    **_PAGE_ADMISSION,
)

FREEBSD_13 = derive(
    FREEBSD_SRC,
    "freebsd-src",
    {
        **_page_cites(S.SEED_FREEBSD_13),
        "filter_holds": f"{S.SEED_FREEBSD_13} (\"This secondary queue, like the primary listen "
                        "queue, is sized according to the backlog\": the page's sentence on "
                        "the queue that holds filtered connections)",
        "sysctls": (
            f"{S.SEED_FREEBSD_13} (soacceptqueue, sooverinterval); hidden somaxconn: "
            f"{S.SEED_FREEBSD_10}; ranges and defaults: {S.FB_SYSCTL}, {S.FB_OVERFLOW_LOG}"
        ),
        "overflow_log": f"{S.SEED_FREEBSD_13} (LOG_DEBUG message, per-socket sooverinterval)",
        "log_suffix": f"{S.CHOICE}: the page gives no text; the suffix is left open (<suffix>)",
        "unbound_unix_listen": f"{S.SEED_FREEBSD_13} (EDESTADDRREQ)",
        "listen_connected": f"{S.SEED_FREEBSD_13} (EINVAL)",
        "poll_rdhup": f"{S.CHOICE}: the page is dated April 14, 2020, before POLLRDHUP "
                      f"came to FreeBSD (2021); {S.FB_NO_RDHUP}",
    },
    name="freebsd-13",
    system="FreeBSD 12/13 (manual page, April 14, 2020)",
    basis=S.SEED_FREEBSD_13,
    sysctls=_FREEBSD_SYSCTLS[:3],
    log_suffix="<suffix>",
    poll_rdhup=False,
    **_PAGE_ADMISSION,
)

INTIME = derive(
    FREEBSD_SRC,
    "freebsd-src",
    {
        **_page_cites(S.SEED_INTIME),
        "fixed_limit": f"{S.SEED_INTIME} (sysctl \"Not supported\"); value: {S.FB_SOMAXCONN}",
        "sysctls": f"{S.SEED_INTIME} (\"Not supported by INtime\")",
        "overflow_log": f"{S.CHOICE}: {S.SEED_INTIME} has no logging sentence",
        "log_suffix": f"{S.CHOICE}: no overflow log",
        "unbound_unix_listen": (
            f"{S.CHOICE}: not in {S.SEED_INTIME}'s errors; {S.FB_UNIX_LISTEN_OLD}"
        ),
        "listen_connected": f"{S.SEED_INTIME} (EINVAL)",
    },
    name="intime",
    system="INtime SDK (netlib)",
    basis=S.SEED_INTIME,
    fixed_limit=128,
    sysctls=(),
    overflow_log=False,
    log_suffix="",
    unbound_unix_listen="EINVAL",
    **_PAGE_ADMISSION,
)

DRAGONFLY = derive(
    FREEBSD_SRC,
    "freebsd-src",
    {
        **_page_cites(S.SEED_DRAGONFLY),
        "admit_base": f"{S.SEED_DRAGONFLY} (\"the maximum length the queue ... may grow to\")",
        "admit_inclusive": f"{S.SEED_DRAGONFLY} (no \"1.5 times\" sentence: the maximum is q)",
        "incq_base": f"{S.SEED_DRAGONFLY} (\"like the primary listen queue\")",
        "incq_evict": f"{S.SEED_DRAGONFLY}; {S.DF_SONEWCONN} (a single `if`)",
        "sysctls": f"{S.SEED_DRAGONFLY} (kern.ipc.somaxconn); range: {S.DF_SYSCTL}",
        "overflow_log": f"{S.CHOICE}: {S.SEED_DRAGONFLY} has no logging sentence",
        "log_suffix": f"{S.CHOICE}: no overflow log",
        "unbound_unix_listen": (
            f"{S.CHOICE}: not in {S.SEED_DRAGONFLY}'s errors; {S.FB_UNIX_LISTEN_OLD}"
        ),
        "listen_connected": f"{S.DF_SOLISTEN} (the page omits EINVAL)",
    },
    name="dragonfly",
    system="DragonFly BSD (manual page, November 3, 1995)",
    basis=S.SEED_DRAGONFLY,
    sysctls=(Sysctl("kern.ipc.somaxconn", "limit", 128, INT_MIN, INT_MAX),),
    overflow_log=False,
    log_suffix="",
    unbound_unix_listen="EINVAL",
    **{**_PAGE_ADMISSION, "admit_base": "q", "incq_base": "q"},
)

FREEBSD_MAIN = derive(
    FREEBSD_SRC,
    "freebsd-src",
    {
        "filter_holds": f"{S.FB_MAIN} (solisten_clone() inherits SO_ACCEPTFILTER again: \"The "
                        "crucial bit to inherit is SO_ACCEPTFILTER\"); reference/freebsd.md §4",
        "accept_filters": f"{S.FB_MAIN} (sys/netinet/accf_tls.c so_hastls() at "
                          "freebsd/freebsd-src d73ce9d7264a)",
        "accf_replace": f"{S.FB_MAIN} (tests/sys/kern/socket_accf.c `change`: EBUSY)",
    },
    name="freebsd-main",
    system="FreeBSD main after 14.2 (the accept-filter fix, tlsready, EBUSY on replace)",
    basis=S.FB_MAIN,
    filter_holds=True,
    accept_filters=("dataready", "httpready", "dnsready", "tlsready"),
    accf_replace="EBUSY",
)


LINUX = Profile(
    name="linux",
    system="Linux 6.x",
    basis=S.LX,
    clamp="unsigned",
    fixed_limit=None,
    sysctls=(
        Sysctl("net.core.somaxconn", "limit", 4096, 0, INT_MAX),
        Sysctl("net.ipv4.tcp_syncookies", "syncookies", 1, 0, 255),
        Sysctl("net.ipv4.tcp_abort_on_overflow", "abort_on_overflow", 0, 0, 255),
        Sysctl("net.ipv4.tcp_max_syn_backlog", "max_syn_backlog", 2048, INT_MIN, INT_MAX),
        Sysctl("net.ipv4.tcp_synack_retries", "synack_retries", 5, 0, 255),
        Sysctl("net.ipv4.tcp_migrate_req", "migrate_req", 0, 0, 1),
    ),
    admit_base="q",
    admit_inclusive=True,
    admit_u32=True,
    admit_counts_half_open=False,
    accept_filters=(),
    incq_base="q+1",
    incq_evict="loop",
    tcp_overflow="drop",
    unix_overflow="EAGAIN",
    overflow_counters=("ListenOverflows", "ListenDrops"),
    synflood_counters=(("TCPReqQFullDrop",), ("TCPReqQFullDoCookies",)),
    request_drop_counters=("ListenDrops",),
    counter_events={"cookie-sent": ("SyncookiesSent",), "cookie-recv": ("SyncookiesRecv",),
                    "abort-on-close": ("TCPAbortOnClose",),
                    "abort-on-data": ("TCPAbortOnData",),
                    "embryonic-reset": ("EmbryonicRsts",),
                    "migrated": ("TCPMigrateReqSuccess",)},
    counters=("ListenOverflows", "ListenDrops", "TCPReqQFullDoCookies", "TCPReqQFullDrop",
              "SyncookiesSent", "SyncookiesRecv", "TCPAbortOnClose", "TCPAbortOnData",
              "EmbryonicRsts", "TCPMigrateReqSuccess"),
    overflow_log=False,
    log_suffix="",
    half_open="reqsk",
    syncache_cache_limit=0,
    syncache_bucket_limit=0,
    unbound_unix_listen="EINVAL",
    listen_connected="EINVAL",
    listen_once_connected="EINVAL",
    connect_reset="EISCONN",
    accept_not_listening="EINVAL",
    accept_dgram="EOPNOTSUPP",
    connect_on_listener="EISCONN",
    connect_on_unix_listener="EINVAL",
    send_on_listener=None,
    connect_family_errno=(
        ("AF_UNIX", "*", "EINVAL"),
        ("AF_INET6", "AF_INET", "EINVAL"),
        ("AF_INET6", "AF_INET/unbound", "EINVAL"),
        # an unbound AF_UNIX socket's address is its family alone, an autobound one 8 bytes:
        # both shorter than a sockaddr_in
        ("AF_INET", "AF_UNIX/unbound", "EINVAL"),
        ("AF_INET6", "AF_UNIX/unbound", "EINVAL"),
    ),
    sticky_connecting=True,
    dgram_v6_takes_v4=True,
    dgram_reconnect=True,
    unix_address_first=True,
    unix_bind_name_first=True,
    unix_child_inherits=False,
    reset_unbinds=True,
    dgram_send_autobinds=True,
    send_unconnected="EPIPE",
    setsockopt_optlen_first=True,
    inet6=True,
    inet_seqpacket="ESOCKTNOSUPPORT",
    listenq_sockopts=False,
    tcp_defer_accept=True,
    recv_hiwat=131072,
    option_bits=False,
    filter_holds=False,
    accf_replace="EINVAL",
    refused_drops=False,
    bind_reset=None,
    connect_family_first=False,
    send_order="error-first",
    unix_stream_send_error=False,
    seqpacket_error_first=True,
    recv_eof_before_error=True,
    recv_unconnected_unix_stream="EINVAL",
    rst_in_close_wait="EPIPE",
    close_unread="rst",
    accept_reset="dead-socket",
    shutdown_listener="stop",
    shutdown_marks_unconnected=True,
    unix_shutdown_unconnected=None,
    shut_rd_discards=False,
    unix_listener_shut_refuses=True,
    unix_listen_disconnected=False,
    poll_style="linux",
    poll_rdhup=True,
    reuseport_pick="hash",
    reuseport_lb=False,
    reuseport_unix="EOPNOTSUPP",
    linger_max=None,
    connect_after_stop="EINVAL",
    connect_stop_before_family=False,
    self_connect_shut_send="ECONNABORTED",
    unix_autobind_per_type=True,
    unix_autobind_bound_ok=True,
    child_inherits_shut_wr=True,
    client_defer_holds_ack=True,
    cite={
        "clamp": S.LX_SYS_LISTEN,
        "fixed_limit": S.LX_SYS_LISTEN,
        "sysctls": f"{S.LX_EXP1}; the tcp_* ranges and defaults: {S.LX_SYSCTLS} (measured "
                   "in a private namespace; tcp_max_syn_backlog's default follows the TCP hash "
                   "table's size, 2048 on this machine)",
        "admit_base": S.LX_ACCEPTQ_FULL,
        "admit_inclusive": S.LX_ACCEPTQ_FULL,
        "admit_u32": f"{S.LX_ACCEPTQ_FULL} (sk_ack_backlog, sk_max_ack_backlog are u32)",
        "admit_counts_half_open": S.LX_CONN_REQUEST,
        "accept_filters": f"{S.CHOICE}: Linux has no SO_ACCEPTFILTER (ENOPROTOOPT)",
        "incq_base": f"{S.LX_DEFER} (deferred connections wait as request socks)",
        "incq_evict": f"{S.LX_DEFER} (nothing is evicted)",
        "tcp_overflow": S.LX_CONN_REQUEST,
        "unix_overflow": S.LX_UNIX_CONNECT,
        "overflow_counters": S.LX_CONN_REQUEST,
        "synflood_counters": f"{S.LX_CONN_REQUEST}: tcp_syn_flood_action(), measured by the "
                             "kernel executor",
        "request_drop_counters": f"{S.LX_CONN_REQUEST}: the drop path bumps LISTENDROPS",
        "counter_events": f"{S.LX_SYSCTLS} (Syncookies*, EmbryonicRsts); {S.LX_LINGER} "
                          f"(TCPAbortOn*); {S.LX_REUSEPORT} (TCPMigrateReqSuccess)",
        "counters": f"{S.LX_COUNTERS}; TCPReqQFull*: tcp_syn_flood_action(), measured; "
                    f"Syncookies*, EmbryonicRsts: {S.LX_SYSCTLS}; TCPAbortOn*: {S.LX_LINGER}; "
                    f"TCPMigrateReqSuccess: {S.LX_REUSEPORT}",
        "overflow_log": f"{S.CHOICE}: Linux logs no accept-queue overflow (the once-per-listener "
                        "SYN-flood line of tcp_syn_flood_action() is always modelled)",
        "log_suffix": f"{S.CHOICE}: no overflow log",
        "half_open": S.LX_REQSK_FULL,
        "syncache_cache_limit": f"{S.LX_REQSK_FULL} (bounded by the backlog instead)",
        "syncache_bucket_limit": f"{S.LX_REQSK_FULL} (bounded by the backlog instead)",
        "unbound_unix_listen": S.LX_UNIX_LISTEN,
        "listen_connected": S.LX_INET_LISTEN,
        "listen_once_connected": f"{S.LX_618}: measured by the kernel executor on 6.18.44 (a "
                                 "socket that once sent a SYN never listens; the refused "
                                 "listen() keeps the port it took); earlier kernels let it",
        "connect_reset": f"{S.LX_618}: measured by the kernel executor: __inet_stream_connect() "
                         "on SS_CONNECTED is EISCONN, whatever the TCP state",
        "accept_not_listening": f"{S.CHOICE}: inet_accept() requires TCP_LISTEN",
        "accept_dgram": f"{S.CHOICE}: sock_no_accept()",
        "connect_on_listener": f"{S.CHOICE}: __inet_stream_connect() on a non-CLOSE socket",
        "connect_on_unix_listener": f"{S.CHOICE}, measured by the kernel executor: "
                                    "unix_stream_connect() on a listening socket",
        "send_on_listener": f"{S.CHOICE}, measured by the kernel executor: no check of its own; "
                            "a TCP listener's send() is EPIPE (sk_stream_wait_connect()), an "
                            "AF_UNIX one's ENOTCONN",
        "connect_family_errno": f"{S.CHOICE}, measured by the kernel executor: "
                                "unix_mkname_bsd() and tcp_v6_connect() check the length first",
        "sticky_connecting": f"{S.CHOICE}, measured by the kernel executor: after a "
                             "non-blocking connect settles, __inet_stream_connect() and "
                             "inet_listen() still see SS_CONNECTING",
        "dgram_v6_takes_v4": f"{S.CHOICE}, measured by the kernel executor: "
                             "ip6_datagram_connect() hands AF_INET to __ip4_datagram_connect()",
        "dgram_reconnect": f"{S.CHOICE}, measured by the kernel executor: "
                           "ip4_datagram_connect() simply reconnects",
        "unix_child_inherits": f"{S.L18} §5: unix_stream_connect() makes the child with "
                               "unix_create1() (no flags copied; a TCP child is sk_clone_lock()'s "
                               "copy, SO_LINGER and SO_REUSEPORT included); measured",
        "unix_bind_name_first": f"{S.L18} §5: unix_bind_bsd() makes the path (EEXIST: "
                                "EADDRINUSE) before it looks at u->addr (EINVAL); measured",
        "unix_address_first": f"{S.CHOICE}, measured by the kernel executor: "
                              "unix_stream_connect() validates the address first",
        "reset_unbinds": f"{S.CHOICE}, measured by the kernel executor: tcp_done() puts the "
                         "autobound port back",
        "dgram_send_autobinds": f"{S.CHOICE}, measured by the kernel executor: "
                                "inet_send_prepare() autobinds before udp_sendmsg() checks",
        "send_unconnected": f"{S.CHOICE}: tcp_sendmsg_locked() -> sk_stream_wait_connect()",
        "setsockopt_optlen_first": f"{S.CHOICE}, measured by the kernel executor: "
                                   "sk_setsockopt() and do_tcp_setsockopt() check optlen first",
        "inet6": S.CHOICE,
        "inet_seqpacket": f"{S.CHOICE}: inet_create() without SCTP",
        "listenq_sockopts": f"{S.LX_DIAG} (\"No getsockopt reads backlog\")",
        "tcp_defer_accept": S.LX_DEFER,
        "recv_hiwat": f"{S.CHOICE}: tcp_rmem default 131072",
        "option_bits": f"{S.CHOICE}, measured by the kernel executor: sk_getsockopt() answers "
                       "0 or 1",
        "filter_holds": f"{S.CHOICE}: no accept filters",
        "accf_replace": f"{S.CHOICE}: no accept filters (ENOPROTOOPT first)",
        "refused_drops": f"{S.LX_618} (a refused socket stays SS_CONNECTING: sticky_connecting)",
        "bind_reset": f"{S.LX_618} (the RST gave the port back: bind() works)",
        "connect_family_first": f"{S.CHOICE}, measured by the kernel executor: "
                                "__inet_stream_connect() looks at sock->state first",
        "send_order": S.LX_AFTER_RESET,
        "unix_stream_send_error": f"{S.LX_AFTER_RESET} (unix_stream_sendmsg() never reads "
                                  "sk_err)",
        "seqpacket_error_first": S.LX_AFTER_RESET,
        "recv_eof_before_error": f"{S.LX_RECV} (tcp_recvmsg_locked(): SOCK_DONE before sk_err)",
        "recv_unconnected_unix_stream": S.LX_RECV,
        "rst_in_close_wait": S.LX_PEER,
        "close_unread": S.LX_AFTER_RESET,
        "accept_reset": S.LX_PEER,
        "shutdown_listener": S.LX_SHUTDOWN,
        "shutdown_marks_unconnected": S.LX_SHUTDOWN,
        "unix_shutdown_unconnected": S.LX_SHUTDOWN,
        "shut_rd_discards": f"{S.LX_SHUTDOWN} (data sent afterwards is still received)",
        "unix_listener_shut_refuses": S.LX_SHUTDOWN,
        "unix_listen_disconnected": f"{S.LX_UNIX_LISTEN} (an ESTABLISHED socket: EINVAL)",
        "poll_style": S.LX_POLL,
        "poll_rdhup": S.LX_POLL,
        "reuseport_pick": f"{S.LX_REUSEPORT} (a hash of the 4-tuple: any listening member)",
        "reuseport_lb": f"{S.CHOICE}: no SO_REUSEPORT_LB (ENOPROTOOPT)",
        "reuseport_unix": S.LX_REUSEPORT,
        "linger_max": f"{S.LX_LINGER} (sk_setsockopt() takes any l_linger)",
        "connect_after_stop": f"{S.LX_SHUTDOWN}; measured by the kernel executor on 6.18.44: "
                              "every connect() of a TCP socket a shutdown(SHUT_RD) stopped "
                              "listening is EINVAL, also after bind() and after it listened "
                              "again (found by `listenspec conform --examples 3000`); gVisor "
                              "answers the same (measured)",
        "connect_stop_before_family": f"{S.L18} §3: net/ipv4/tcp_ipv4.c "
                                      "tcp_v4_connect() reads sin_family first; measured by "
                                      "the kernel executor on 6.18.44: a stopped listener's "
                                      "connect() to an AF_INET6 or AF_UNIX target is "
                                      "EAFNOSUPPORT, to an AF_INET one EINVAL (found by "
                                      "`listenspec conform --examples 400 --seed 6`)",
        "self_connect_shut_send": f"{S.LX_SHUTDOWN}; measured by the kernel executor on 6.18.44: "
                                  "socket(); shutdown(SHUT_WR) (ENOTCONN, SEND_SHUTDOWN set); "
                                  "bind(); connect() to itself is -1 ECONNABORTED with SO_ERROR "
                                  "0: the simultaneous open's FIN comes back to it "
                                  "(FIN_WAIT -> TIME_WAIT, tcp_done()), and "
                                  "__inet_stream_connect() finds TCP_CLOSE (found by "
                                  "`listenspec conform --examples 400 --seed 5`)",
        "unix_autobind_per_type": f"{S.LX_UNIX_BIND}: an autobound name is abstract, and "
                                  "__unix_find_socket_byname() looks it up with the socket "
                                  "type: a SOCK_STREAM socket binds to a SOCK_DGRAM socket's "
                                  "autobound name, and a connect() of another type is "
                                  "ECONNREFUSED, not a path's EPROTOTYPE (measured by the "
                                  "kernel executor, 6.18.44)",
        "client_defer_holds_ack": f"{S.L18} §8: net/ipv4/tcp_input.c "
                                  "tcp_rcv_synsent_state_process() (rskq_defer_accept on the "
                                  "client: the ACK delayed up to TCP_DELACK_MAX); measured by "
                                  "the kernel executor (6.18.44; example client_defer)",
        "child_inherits_shut_wr": f"{S.LX_SHUTDOWN}; sk_clone_lock() copies sk_shutdown: "
                                  "measured by the kernel executor (6.18.44): the client sees "
                                  "the child's FIN at once (POLLIN|POLLRDHUP, recv 0) and the "
                                  "accepted socket's send() is EPIPE (found by `listenspec "
                                  "conform --examples 3000`)",
        "unix_autobind_bound_ok": f"{S.LX_UNIX_BIND}: unix_autobind() returns 0 when the "
                                  "socket has a name already (measured by the kernel "
                                  "executor; found by `listenspec conform --examples 3000`)",
    },
)

BSD44 = derive(
    FREEBSD_SRC,
    "freebsd-src",
    {
        "clamp": S.BSD44_SOLISTEN,
        "fixed_limit": f"{S.BSD44_SOLISTEN} (SOMAXCONN 5)",
        "sysctls": f"{S.BSD44_SOLISTEN} (a compile-time SOMAXCONN, no sysctl)",
        "admit_base": S.BSD44_SONEWCONN,
        "admit_inclusive": S.BSD44_SONEWCONN,
        "admit_u32": f"{S.BSD44_SONEWCONN} (so_qlen, so_q0len, so_qlimit are shorts, "
                     "compared as int: signed; qlimit <= 5, so nothing wraps)",
        "admit_counts_half_open": S.BSD44_SONEWCONN,
        "accept_filters": f"{S.CHOICE}: accept filters came with FreeBSD 4.0",
        "tcp_overflow": f"{S.BSD44_SONEWCONN} (sonewconn on SYN fails: the SYN is dropped)",
        "overflow_counters": f"{S.CHOICE}: no listen-drop counter in 4.4BSD",
        "counters": f"{S.CHOICE}: no listen-drop counter in 4.4BSD",
        "overflow_log": f"{S.CHOICE}: 4.4BSD logs no overflow",
        "log_suffix": f"{S.CHOICE}: no overflow log",
        "half_open": S.BSD44_SONEWCONN,
        "syncache_cache_limit": f"{S.BSD44_SONEWCONN} (no syncache)",
        "syncache_bucket_limit": f"{S.BSD44_SONEWCONN} (no syncache)",
        "unbound_unix_listen": f"{S.CHOICE}: {S.FB_UNIX_LISTEN_OLD}",
        "inet6": f"{S.CHOICE}: 4.4BSD has no IPv6",
        "listenq_sockopts": f"{S.CHOICE}: SO_LISTENQ* came with FreeBSD 8",
        "reuseport_lb": f"{S.CHOICE}: SO_REUSEPORT_LB came with FreeBSD 12",
        "poll_style": S.BSD44_SELECT,
        "poll_rdhup": S.BSD44_SELECT,
    },
    name="bsd-4.4",
    system="4.4BSD-Lite2 (historical source)",
    basis=S.BSD44_SOLISTEN,
    clamp="zero-min",
    fixed_limit=5,
    sysctls=(),
    admit_base="3q/2",
    admit_inclusive=True,
    admit_u32=False,
    admit_counts_half_open=True,
    accept_filters=(),
    tcp_overflow="drop",
    overflow_counters=(),
    counters=(),
    overflow_log=False,
    log_suffix="",
    half_open="q0",
    syncache_cache_limit=0,
    syncache_bucket_limit=0,
    unbound_unix_listen="EINVAL",
    inet6=False,
    listenq_sockopts=False,
    reuseport_lb=False,
    poll_style="select",
    poll_rdhup=False,
)

# --------------------------------------------------------------------------- gVisor (issue 11)
#: gVisor's netstack as runsc 0.0~20221219.0 (Debian) runs it: the Linux profile where gVisor
#: does what Linux does, and every difference measured by the kernel executor inside
#: `runsc --network=none do` and read in gVisor's source at release-20221219.0
#: (spec/sources/gvisor-2022-12.md).
GVISOR = derive(
    LINUX,
    "linux",
    {
        "clamp": f"{S.GV_LISTEN} (the backlog is read as an unsigned int)",
        "fixed_limit": f"{S.GV_LISTEN} (maxListenBacklog = 1024, no somaxconn)",
        "sysctls": f"{S.GV_SYSCTL}: net.core.somaxconn is a read-only 128 (writes: EIO); "
                   "net.ipv4.tcp_synack_retries a read-only 5 (writes, even of 5: EIO; "
                   "measured, example timers); there is no net.ipv4.tcp_syncookies",
        "local_family_errno": f"{S.GV_PINNED}; AddrNetProtoLocked(): a local address of 16 "
                              "bytes and a target of 4 is ErrNetworkUnreachable, 4 and 16 "
                              "ErrInvalidEndpointState; BytesToIPAddress() makes the any "
                              "address empty, which is not checked; the local address stays "
                              "after a refusal (measured, TCP and UDP; found by `listenspec "
                              "conform --target gvisor --profile gvisor`)",
        "client_defer_holds_ack": f"{S.GV} §5: {S.GV_MEASURED}: a client's TCP_DEFER_ACCEPT "
                                  "is stored (getsockopt reads it back) but its connect() "
                                  "completes the "
                                  "handshake at once: accept() right after it returns the "
                                  "connection (example client_defer)",
        "shutdown_listener": f"{S.GV_DATA}; endpoint.go shutdownLocked() (StateListen, "
                             "ShutdownRead: the accept queue's connections are reset, RcvClosed "
                             "set, the endpoint kept in the demuxer) and listen() (which "
                             "clears it again): measured, the socket still reads "
                             "SO_ACCEPTCONN 1, polls 0, holds its port (bind EADDRINUSE), "
                             "answers a connect with an RST and accept() with EINVAL; a "
                             "second shutdown(SHUT_RD) is 0 (example shutdown)",
        "inet_seqpacket": f"{S.GV_SOCKET} (EPROTONOSUPPORT)",
        "connect_on_listener": f"{S.GV_CONNECT} (a listening endpoint: EINVAL)",
        "connect_family_errno": f"{S.GV_CONNECT} (an address of another family: EINVAL)",
        "overflow_counters": S.GV_OBSERVE,
        "synflood_counters": S.GV_OBSERVE,
        "request_drop_counters": S.GV_OBSERVE,
        "counters": S.GV_OBSERVE,
        "stream_v6_takes_v4": f"{S.GV_CONNECT} (checkV4MappedLocked())",
        "synflood_log": f"{S.GV_ADMIT} (nothing is logged); {S.GV_OBSERVE}",
        "request_queue_inclusive": f"{S.GV_ADMIT} (pendingEndpoints == capacity-1: cookies)",
        "relisten_shrink_errno": S.GV_RELISTEN,
        "dead_after_error": S.GV_DEAD,
        "dgram_reconnect_same": S.GV_UDP,
        "unix_dgram_mismatch": S.GV_UNIX,
        "unix_client_first": S.GV_UNIX,
        "unix_close_hangs_up": S.GV_UNIX_CLOSE,
        "unix_acceptconn": S.GV_OPTIONS,
        "tcp_options_by_type": S.GV_OPTIONS,
        "setsockopt_ignores_unknown": S.GV_OPTIONS,
        "defer_accept_max_seconds": f"{S.GV_OPTIONS} (MaxRTO = 120 s)",
        "defer_ends_on_fin": f"{S.GV} §2: {S.GV_MEASURED}; "
                             "pkg/tcpip/transport/tcp/handshake.go synRcvdState() drops an "
                             "ACK with s.payloadSize() == 0, which a FIN has",
        "v6_pinned_errno": f"{S.GV_PINNED}",
        "poll_style": S.GV_DATA,
        "poll_rdhup": f"{S.GV_DATA} (POLLRDHUP is never reported)",
        "shutdown_marks_unconnected": S.GV_DATA,
        "connect_stop_before_family": f"{S.GV_CONNECT}: a stopped listener's connect() is "
                                      "EINVAL whatever the target's family (measured)",
        "self_connect_shut_send": f"{S.GV_DATA}: shutdown() of an unconnected socket sets "
                                  "nothing, so the self-connect succeeds (measured)",
        "shutdown_dgram_marks": S.GV_DATA,
        "unix_shutdown_unconnected": S.GV_DATA,
        "recv_unconnected_unix_stream": S.GV_DATA,
        "unix_bind_unnamed": S.GV_DATA,
        "dgram_shutdown_bound": S.GV_DATA,
        "linger_int_read": S.GV_OPTIONS,
        "bind_family_errno": f"{S.GV_DATA}; pkg/sentry/socket/netstack/netstack.go Bind() "
                             "(AddressAndFamily(): an address the socket's family cannot take "
                             "is EAFNOSUPPORT; an AF_INET address to an AF_INET6 socket, and "
                             "an unnamed AF_UNIX one (the family alone) to an AF_INET or "
                             "AF_INET6 socket, are too short: EINVAL; the latter found by "
                             "`listenspec conform --target gvisor --profile gvisor --seed 11`, "
                             "measured)",
        "reuseport_unix": S.GV_OPTIONS,
        "unix_autobind_bound_ok": f"{S.GV_DATA}: bind() to a family-only address is EINVAL "
                                  "whether or not the socket has a name (measured)",
        "unix_autobind_per_type": f"{S.GV_DATA}: bind() never autobinds (unix_bind_unnamed), "
                                  "so no abstract name is made that way",
        "reqsk_prunes": f"{S.GV} §9: pkg/tcpip/transport/tcp/connect.go "
                        "retransmitHandlerLocked() (each passive handshake has its own backoff "
                        "timer; read, not observable there)",
        "child_keeps_reuseport": f"{S.GV_OPTIONS} (the accepted endpoint starts with fresh "
                                 "socket options)",
        "connect_address_first": f"{S.GV_CONNECT}; pkg/sentry/socket/netstack/netstack.go "
                                "Connect() and pkg/sentry/socket/unix/unix.go "
                                "extractEndpoint() read the address first",
    },
    name="gvisor",
    system="gVisor netstack (runsc 2022-12)",
    basis=S.GV,
    clamp="unsigned",
    fixed_limit=1024,
    sysctls=(Sysctl("net.core.somaxconn", "somaxconn", 128, 0, INT_MAX, write_errno="EIO"),
             Sysctl("net.ipv4.tcp_synack_retries", "synack_retries", 5, 0, 255,
                    write_errno="EIO")),
    inet_seqpacket="EPROTONOSUPPORT",
    connect_on_listener="EINVAL",
    connect_family_errno=(("AF_INET", "*", "EINVAL"), ("AF_INET6", "*", "EINVAL"),
                          ("AF_UNIX", "*", "EINVAL")),
    overflow_counters=(),
    synflood_counters=((), ()),
    request_drop_counters=(),
    counters=(),
    stream_v6_takes_v4=True,
    synflood_log=False,
    request_queue_inclusive=True,
    relisten_shrink_errno="EINVAL",
    dead_after_error=True,
    dgram_reconnect_same="EADDRINUSE",
    unix_dgram_mismatch="ECONNREFUSED",
    unix_client_first=True,
    unix_close_hangs_up=True,
    unix_acceptconn=False,
    tcp_options_by_type=True,
    setsockopt_ignores_unknown=True,
    defer_accept_max_seconds=120,
    defer_ends_on_fin=False,
    connect_address_first=True,
    v6_pinned_errno="EHOSTUNREACH",
    poll_style="gvisor",
    poll_rdhup=False,
    shutdown_marks_unconnected=False,
    connect_stop_before_family=True,
    self_connect_shut_send=None,
    shutdown_dgram_marks=False,
    unix_shutdown_unconnected="ENOTCONN",
    recv_unconnected_unix_stream="ENOTCONN",
    unix_bind_unnamed="EINVAL",
    dgram_shutdown_bound=True,
    linger_int_read="EINVAL",
    bind_family_errno=(("AF_INET", "AF_UNIX/unbound", "EINVAL"), ("AF_INET", "*", "EAFNOSUPPORT"),
                       ("AF_INET6", "AF_UNIX", "EAFNOSUPPORT"),
                       ("AF_INET6", "AF_UNIX/unbound", "EINVAL"), ("AF_INET6", "*", "EINVAL"),
                       ("AF_UNIX", "*", "EINVAL")),
    reuseport_unix=None,
    child_keeps_reuseport=False,
    reqsk_prunes=False,
    unix_autobind_bound_ok=False,
    unix_autobind_per_type=False,
    client_defer_holds_ack=False,
    shutdown_listener="refuse",
    local_family_errno=(("AF_INET6", "AF_INET", "ENETUNREACH"),
                        ("AF_INET", "AF_INET6", "EINVAL")),
)

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (FREEBSD_9, FREEBSD_10, FREEBSD_13, FREEBSD_SRC, FREEBSD_MAIN, DRAGONFLY, INTIME,
              LINUX, BSD44, GVISOR)
}


def get(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ListenspecError(
            f"unknown profile {name!r} (known: {', '.join(PROFILES)})"
        ) from None
