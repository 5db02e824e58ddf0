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


#: Settings a profile may give no sysctl for, and the value the system then runs with: the
#: compiled-in defaults of the source the sysctls come from (FreeBSD: syncookies and
#: rst_on_sock_fail on, sys/netinet/tcp_syncache.c; sooverinterval 60 s and sooverprio LOG_DEBUG,
#: sys/kern/uipc_socket.c; Linux: tcp_syncookies 1, net/ipv4/sysctl_net_ipv4.c).
FIXED: Mapping[str, int] = {"syncookies": 1, "rst_on_sock_fail": 1, "overinterval": 60,
                            "sooverprio": 7}

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
    # (client domain, target domain [/unbound] or *, errno); anything else is EAFNOSUPPORT
    connect_family_errno: tuple[tuple[str, str, str], ...]
    # Linux: after a non-blocking TCP connect settles, the socket stays SS_CONNECTING until the
    # next connect(): that call returns 0 (or ECONNABORTED after a refusal), and listen() fails.
    sticky_connecting: bool
    dgram_v6_takes_v4: bool  # an AF_INET6 datagram socket may connect to an IPv4 address
    dgram_reconnect: bool  # a connected datagram socket may connect again (else EISCONN)
    unix_address_first: bool  # AF_UNIX connect() checks the address before the socket state
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
    cite: Mapping[str, str]

    def sysctl(self, name: str) -> Sysctl | None:
        return next((s for s in self.sysctls if s.name == name), None)

    def sysctl_default(self, key: str) -> int | None:
        return next((s.default for s in self.sysctls if s.key == key), None)

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


SOURCE_PROFILES = ("freebsd-src", "linux", "bsd-4.4")

_FREEBSD_SYSCTLS = (
    Sysctl("kern.ipc.soacceptqueue", "limit", 128, 1, UINT_MAX // 3),
    Sysctl("kern.ipc.somaxconn", "limit", 128, 1, UINT_MAX // 3, hidden=True),
    Sysctl("kern.ipc.sooverinterval", "overinterval", 60, INT_MIN, INT_MAX),
    Sysctl("kern.ipc.sooverprio", "sooverprio", 7, INT_MIN, INT_MAX),
    Sysctl("net.inet.tcp.syncache.rst_on_sock_fail", "rst_on_sock_fail", 1, INT_MIN, INT_MAX),
    Sysctl("net.inet.tcp.syncookies", "syncookies", 1, INT_MIN, INT_MAX),
)

FREEBSD_SRC = Profile(
    name="freebsd-src",
    system="FreeBSD (current source)",
    basis=S.FB,
    clamp="signed",
    fixed_limit=None,
    sysctls=_FREEBSD_SYSCTLS,
    admit_base="3q/2",
    admit_inclusive=True,
    admit_u32=True,
    admit_counts_half_open=False,
    accept_filters=("dataready", "httpready"),
    incq_base="q+1",
    incq_evict="loop",
    tcp_overflow="reset",
    unix_overflow="ECONNREFUSED",
    overflow_counters=("tcps_listendrop",),
    synflood_counters=((), ()),
    request_drop_counters=(),
    counters=("tcps_listendrop",),
    overflow_log=True,
    log_suffix=", euid <euid>, rgid <rgid>, jail <jail>",
    half_open="syncache",
    syncache_cache_limit=15360,
    syncache_bucket_limit=30,
    unbound_unix_listen="EDESTADDRREQ",
    listen_connected="EINVAL",
    listen_once_connected=None,
    connect_reset="EINVAL",
    accept_not_listening="EINVAL",
    accept_dgram="EINVAL",
    connect_on_listener="EOPNOTSUPP",
    connect_on_unix_listener="EOPNOTSUPP",
    connect_family_errno=(),
    sticky_connecting=False,
    dgram_v6_takes_v4=False,
    dgram_reconnect=False,
    unix_address_first=False,
    reset_unbinds=False,
    dgram_send_autobinds=False,
    send_unconnected="ENOTCONN",
    setsockopt_optlen_first=False,
    inet6=True,
    inet_seqpacket="EPROTONOSUPPORT",
    listenq_sockopts=True,
    tcp_defer_accept=False,
    recv_hiwat=65536,
    cite={
        "clamp": S.FB_SOLISTEN,
        "fixed_limit": S.FB_SYSCTL,
        "sysctls": f"{S.FB_SYSCTL}; {S.FB_SOMAXCONN}; {S.FB_OVERFLOW_LOG}; {S.FB_RST_ON_FAIL}",
        "admit_base": S.FB_CLONE,
        "admit_inclusive": S.FB_CLONE,
        "admit_u32": f"{S.FB_CLONE} (sol_qlimit is u_int, sys/sys/socketvar.h)",
        "admit_counts_half_open": S.FB_CLONE,
        "accept_filters": f"{S.FB_ACCF_DATA}; {S.FB_ACCF_HTTP}",
        "incq_base": S.FB_ENQUEUE,
        "incq_evict": S.FB_ENQUEUE,
        "tcp_overflow": S.FB_RST_ON_FAIL,
        "unix_overflow": S.FB_UNIX_CONNECT,
        "overflow_counters": S.FB_SYNCACHE_SOCKET,
        "synflood_counters": f"{S.FB_SYNCACHE}: no request queue (the syncache is not bounded "
                             "by the backlog)",
        "request_drop_counters": f"{S.FB_SYNCACHE}: no request queue",
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
        "connect_reset": f"{S.CHOICE}: a reset socket is refused",
        "accept_not_listening": f"{S.FB_DEQUEUE} (kern_accept4: !SOLISTENING -> EINVAL)",
        "accept_dgram": f"{S.FB_DEQUEUE} (kern_accept4: !SOLISTENING -> EINVAL)",
        "connect_on_listener": f"{S.CHOICE}: soconnectat() refuses a listening socket",
        "connect_on_unix_listener": f"{S.CHOICE}: soconnectat() refuses a listening socket",
        "connect_family_errno": f"{S.CHOICE}: tcp_usr_connect() and unp_connectat(): "
                                "another family is EAFNOSUPPORT",
        "sticky_connecting": f"{S.CHOICE}: soconnectat() on a connected socket is EISCONN",
        "dgram_v6_takes_v4": f"{S.CHOICE}: udp6_connect() wants an AF_INET6 address",
        "unix_address_first": f"{S.CHOICE}: soconnectat() refuses a listening socket first",
        "dgram_reconnect": f"{S.CHOICE}: udp_connect() refuses a connected socket (EISCONN)",
        "reset_unbinds": f"{S.CHOICE}: a dropped inpcb keeps its port",
        "dgram_send_autobinds": f"{S.CHOICE}: udp_send() checks the address before binding",
        "send_unconnected": f"{S.CHOICE}: sosend() on an unconnected stream socket",
        "setsockopt_optlen_first": f"{S.CHOICE}: sosetopt() looks the option up first "
                                   "(unknown: ENOPROTOOPT)",
        "inet6": S.CHOICE,
        "inet_seqpacket": f"{S.CHOICE}: no SCTP in the modelled kernel",
        "listenq_sockopts": f"{S.FB_SOGETOPT}; {S.FB_SOSETOPT}",
        "tcp_defer_accept": f"{S.CHOICE}: FreeBSD has no TCP_DEFER_ACCEPT (accf_data instead)",
        "recv_hiwat": f"{S.FB_ACCF_HTTP} (sbfull: net.inet.tcp.recvspace default 65536)",
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
    },
    name="freebsd-9",
    system="FreeBSD 5.x-9.x (manual page)",
    basis=S.SEED_FREEBSD_9,
    sysctls=(Sysctl("kern.ipc.somaxconn", "limit", 128, 1, UINT_MAX // 3),),
    overflow_log=False,
    log_suffix="",
    unbound_unix_listen="EINVAL",
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
    },
    name="freebsd-10",
    system="FreeBSD 10+ (manual page, July 15, 2014)",
    basis=S.SEED_FREEBSD_10,
    sysctls=_FREEBSD_SYSCTLS[:2],
    overflow_log=False,
    log_suffix="",
    **_PAGE_ADMISSION,
)

FREEBSD_13 = derive(
    FREEBSD_SRC,
    "freebsd-src",
    {
        **_page_cites(S.SEED_FREEBSD_13),
        "sysctls": (
            f"{S.SEED_FREEBSD_13} (soacceptqueue, sooverinterval); hidden somaxconn: "
            f"{S.SEED_FREEBSD_10}; ranges and defaults: {S.FB_SYSCTL}, {S.FB_OVERFLOW_LOG}"
        ),
        "overflow_log": f"{S.SEED_FREEBSD_13} (LOG_DEBUG message, per-socket sooverinterval)",
        "log_suffix": f"{S.CHOICE}: the page gives no text; the suffix is left open (<suffix>)",
        "unbound_unix_listen": f"{S.SEED_FREEBSD_13} (EDESTADDRREQ)",
        "listen_connected": f"{S.SEED_FREEBSD_13} (EINVAL)",
    },
    name="freebsd-13",
    system="FreeBSD 12/13 (manual page, April 14, 2020)",
    basis=S.SEED_FREEBSD_13,
    sysctls=_FREEBSD_SYSCTLS[:3],
    log_suffix="<suffix>",
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

LINUX = Profile(
    name="linux",
    system="Linux 6.x",
    basis=S.LX,
    clamp="unsigned",
    fixed_limit=None,
    sysctls=(
        Sysctl("net.core.somaxconn", "limit", 4096, 0, INT_MAX),
        Sysctl("net.ipv4.tcp_syncookies", "syncookies", 1, 0, 2),
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
    counters=("ListenOverflows", "ListenDrops", "TCPReqQFullDoCookies", "TCPReqQFullDrop"),
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
    connect_family_errno=(
        ("AF_UNIX", "*", "EINVAL"),
        ("AF_INET6", "AF_INET", "EINVAL"),
        ("AF_INET6", "AF_INET/unbound", "EINVAL"),
        # an unbound AF_UNIX socket's address is its family alone: shorter than a sockaddr_in
        ("AF_INET", "AF_UNIX/unbound", "EINVAL"),
        ("AF_INET6", "AF_UNIX/unbound", "EINVAL"),
    ),
    sticky_connecting=True,
    dgram_v6_takes_v4=True,
    dgram_reconnect=True,
    unix_address_first=True,
    reset_unbinds=True,
    dgram_send_autobinds=True,
    send_unconnected="EPIPE",
    setsockopt_optlen_first=True,
    inet6=True,
    inet_seqpacket="ESOCKTNOSUPPORT",
    listenq_sockopts=False,
    tcp_defer_accept=True,
    recv_hiwat=131072,
    cite={
        "clamp": S.LX_SYS_LISTEN,
        "fixed_limit": S.LX_SYS_LISTEN,
        "sysctls": f"{S.LX_EXP1}; net.ipv4.tcp_syncookies: {S.LX_CONN_REQUEST}",
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
        "counters": f"{S.LX_COUNTERS}; TCPReqQFull*: tcp_syn_flood_action(), measured",
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
        "connect_family_errno": f"{S.CHOICE}, measured by the kernel executor: "
                                "unix_mkname_bsd() and tcp_v6_connect() check the length first",
        "sticky_connecting": f"{S.CHOICE}, measured by the kernel executor: after a "
                             "non-blocking connect settles, __inet_stream_connect() and "
                             "inet_listen() still see SS_CONNECTING",
        "dgram_v6_takes_v4": f"{S.CHOICE}, measured by the kernel executor: "
                             "ip6_datagram_connect() hands AF_INET to __ip4_datagram_connect()",
        "dgram_reconnect": f"{S.CHOICE}, measured by the kernel executor: "
                           "ip4_datagram_connect() simply reconnects",
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
        "admit_u32": f"{S.BSD44_SONEWCONN} (qlimit <= 5: no wrap possible)",
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
)

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (FREEBSD_9, FREEBSD_10, FREEBSD_13, FREEBSD_SRC, DRAGONFLY, INTIME, LINUX, BSD44)
}


def get(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ListenspecError(
            f"unknown profile {name!r} (known: {', '.join(PROFILES)})"
        ) from None
