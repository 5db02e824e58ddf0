"""The clause catalogue: every normative sentence of the five seed pages, in our own words.

Each clause names the seed files that state it, the profiles it applies to, the model rules
and profile parameters that implement it, and (through the example scripts' `# clauses:`
headers, see examples.py) the tests that cover it. Where a page is silent and a profile
inherits from a source profile, a CHOICE clause records the choice.
"""

from __future__ import annotations

import attrs

from listenspec.models import sources as S

ALL = ("freebsd-9", "freebsd-10", "freebsd-13", "freebsd-src", "freebsd-main", "dragonfly",
       "intime", "linux",
       "bsd-4.4")
FREEBSD_PAGES = ("freebsd-9", "freebsd-10", "freebsd-13", "intime")
BSD_PAGES = (*FREEBSD_PAGES, "dragonfly")
FILTERING = ("freebsd-9", "freebsd-10", "freebsd-13", "freebsd-src", "freebsd-main", "dragonfly",
             "intime")
ALL_SEEDS = S.SEEDS
PAGES_1_5 = (S.SEED_FREEBSD_9, S.SEED_FREEBSD_13, S.SEED_INTIME, S.SEED_FREEBSD_10)


@attrs.frozen
class Clause:
    id: str
    seeds: tuple[str, ...]  # the seed files that state it (empty for a CHOICE)
    text: str  # the rule, in the project's own words
    profiles: tuple[str, ...]  # the profiles it applies to
    rules: tuple[str, ...]  # model rules / profile parameters / guard tables implementing it
    topic: str


CLAUSES: tuple[Clause, ...] = (
    # ------------------------------------------------------------------ the life cycle
    Clause("LIFECYCLE", ALL_SEEDS,
           "A server creates a socket, marks it listening with listen() and takes connections "
           "with accept(); accept() on a socket that is not listening fails.",
           ALL, ("tables.LIFECYCLE", "tables.CHECKS[accept]", "profile.accept_not_listening"),
           "errors"),
    Clause("STREAM-ONLY", ALL_SEEDS,
           "listen() applies only to SOCK_STREAM and SOCK_SEQPACKET sockets; on any other type "
           "it fails with EOPNOTSUPP.",
           ALL, ("tables.CHECKS[listen]",), "errors"),
    Clause("RETURN", (S.SEED_FREEBSD_9, S.SEED_FREEBSD_13, S.SEED_INTIME, S.SEED_DRAGONFLY,
                      S.SEED_FREEBSD_10),
           "listen() returns 0 on success, and -1 with errno set on failure.",
           ALL, ("host.listen",), "errors"),
    # ------------------------------------------------------------------ backlog and limit
    Clause("BACKLOG-MAX", ALL_SEEDS,
           "The backlog bounds how long the queue of pending connections may grow.",
           ALL, ("rules.admits", "rules.max_completed"), "admission"),
    Clause("REAL-MAX-1.5", PAGES_1_5,
           "The real maximum queue length is 1.5 times the backlog: for an effective backlog q "
           "at most ⌊1.5·q⌋ connections wait to be accepted.",
           FREEBSD_PAGES, ("rules.max_completed", "profile.admit_base",
                           "profile.admit_inclusive"), "admission"),
    Clause("DF-MAX-Q", (S.SEED_DRAGONFLY,),
           "With no 1.5 factor on the page, at most q connections wait to be accepted.",
           ("dragonfly",), ("rules.max_completed", "profile.admit_base"), "admission"),
    Clause("RELISTEN", PAGES_1_5,
           "listen() on a listening socket changes its queue limit to the new (clamped) backlog; "
           "connections already queued stay queued.",
           ALL, ("host.listen", "rules.effective_backlog"), "relisten"),
    Clause("HARD-LIMIT", ALL_SEEDS,
           "A sysctl sets a hard limit on the backlog (kern.ipc.somaxconn, or "
           "kern.ipc.soacceptqueue from FreeBSD 10).",
           ("freebsd-9", "freebsd-10", "freebsd-13", "freebsd-src", "dragonfly", "linux"),
           ("profile.sysctls", "host.sysctl", "rules.sysctl_accepts"), "backlog"),
    Clause("CLAMP", ALL_SEEDS,
           "A backlog above the hard limit, or below zero, is silently replaced by the hard "
           "limit.",
           ("freebsd-9", "freebsd-10", "freebsd-13", "freebsd-src", "dragonfly", "intime",
            "linux"),
           ("rules.effective_backlog", "profile.clamp"), "backlog"),
    Clause("NEGATIVE-MAX", (S.SEED_DRAGONFLY, S.SEED_FREEBSD_10),
           "Since FreeBSD 2.2 a negative backlog asks for the largest allowed value (before, "
           "as in 4.4BSD, it meant 0).",
           ALL, ("rules.effective_backlog", "profile.clamp"), "backlog"),
    Clause("SOACCEPTQUEUE", (S.SEED_FREEBSD_10, S.SEED_FREEBSD_13),
           "From FreeBSD 10 the hard limit is kern.ipc.soacceptqueue; kern.ipc.somaxconn still "
           "reads and writes the same value but is hidden from `sysctl -a`.",
           ("freebsd-10", "freebsd-13", "freebsd-src"), ("profile.sysctls",), "backlog"),
    Clause("INTIME-NO-SYSCTL", (S.SEED_INTIME,),
           "INtime has no sysctl for the hard limit: the backlog is clamped against a fixed "
           "limit, and sysctl names do not exist (ENOENT).",
           ("intime",), ("profile.fixed_limit", "profile.sysctls"), "backlog"),
    # ------------------------------------------------------------------ overflow
    Clause("FULL-REFUSED", ALL_SEEDS,
           "A connection request to a full queue may be refused with ECONNREFUSED (AF_UNIX "
           "on the BSDs; EAGAIN on Linux).",
           ALL, ("rules.admits", "profile.unix_overflow"), "overflow"),
    Clause("FULL-TCP-DROP", ALL_SEEDS,
           "A TCP connection request to a full queue is silently dropped (the client hears "
           "nothing); the FreeBSD source instead completes the handshake and resets it.",
           ALL, ("rules.admits", "profile.tcp_overflow"), "overflow"),
    Clause("NETSTAT", PAGES_1_5,
           "The current queue lengths of a listening socket can be read (netstat -L: "
           "completed/incomplete/limit).",
           ALL, ("host.netstat", "options.getsockopt"), "observing"),
    Clause("OVERFLOW-LOG", (S.SEED_FREEBSD_13,),
           "When the listen queue overflows the kernel logs a LOG_DEBUG message.",
           ("freebsd-13", "freebsd-src"), ("rules.overflow_log_line", "profile.overflow_log"),
           "logging"),
    Clause("OVERFLOW-RATE", (S.SEED_FREEBSD_13,),
           "kern.ipc.sooverinterval limits, per socket, how often the overflow message is "
           "logged; overflows in between are counted and reported with the next message.",
           ("freebsd-13", "freebsd-src"), ("rules.ratecheck",), "logging"),
    # ------------------------------------------------------------------ syncache
    Clause("PRE-SYNCACHE", ALL_SEEDS,
           "Before FreeBSD 4.5 the backlog also bounded the incomplete (half-open) connections: "
           "they counted against it.",
           ("bsd-4.4",), ("rules.admits", "profile.admit_counts_half_open"), "syncache"),
    Clause("SYNCACHE", ALL_SEEDS,
           "Half-open connections are held in the syncache, which the queue lengths do not "
           "affect: a SYN is answered whatever the backlog, and half-open connections never "
           "keep a completed connection out.",
           ("freebsd-9", "freebsd-10", "freebsd-13", "freebsd-src", "dragonfly", "intime"),
           ("host.syn", "profile.half_open"), "syncache"),
    Clause("NO-INFLATED-BACKLOG", ALL_SEEDS,
           "Inflating the backlog to survive a SYN flood is no longer needed: a flood of "
           "half-open connections does not starve real ones.",
           ("freebsd-9", "freebsd-10", "freebsd-13", "freebsd-src", "dragonfly", "intime"),
           ("host.syn", "rules.admits"), "syncache"),
    # ------------------------------------------------------------------ accept filters
    Clause("ACCF-QUEUE", ALL_SEEDS,
           "With an accept filter, connections that have not met the filter's criteria wait "
           "in a second (incomplete) queue.",
           FILTERING, ("options.setsockopt", "profile.accept_filters"), "filters"),
    Clause("ACCF-PROMOTE", ALL_SEEDS,
           "Once a connection meets the criteria it moves to the completed queue, to be "
           "accepted.",
           FILTERING, ("rules.filter_ready",), "filters"),
    Clause("ACCF-EVICT", ALL_SEEDS,
           "When the second queue is full and a connection arrives, the oldest connection that "
           "has not met the criteria is terminated.",
           FILTERING, ("rules.evictions", "rules.evicted", "profile.incq_evict"),
           "filters"),
    Clause("ACCF-SIZE", ALL_SEEDS,
           "The second queue, like the first, is sized by the backlog.",
           FILTERING, ("rules.incq_capacity", "profile.incq_base"), "filters"),
    # ------------------------------------------------------------------ errors
    Clause("ERR-EBADF", ALL_SEEDS, "listen() on a descriptor that is not open fails with EBADF.",
           ALL, ("tables.CHECKS[listen]",), "errors"),
    Clause("ERR-ENOTSOCK", ALL_SEEDS,
           "listen() on a descriptor that is not a socket fails with ENOTSOCK.",
           ALL, ("tables.CHECKS[listen]",), "errors"),
    Clause("ERR-EOPNOTSUPP", ALL_SEEDS,
           "listen() on a socket type that cannot listen fails with EOPNOTSUPP.",
           ALL, ("tables.CHECKS[listen]",), "errors"),
    Clause("ERR-EINVAL", (S.SEED_FREEBSD_13, S.SEED_INTIME, S.SEED_FREEBSD_10),
           "listen() on a socket that is connected, or being connected, fails with EINVAL.",
           ALL, ("tables.CHECKS[listen]", "profile.listen_connected"), "errors"),
    Clause("ERR-EDESTADDRREQ", (S.SEED_FREEBSD_13, S.SEED_FREEBSD_10),
           "listen() on a socket with no local address, whose protocol cannot listen unbound "
           "(AF_UNIX), fails with EDESTADDRREQ.",
           ("freebsd-10", "freebsd-13", "freebsd-src"),
           ("tables.CHECKS[listen]", "profile.unbound_unix_listen"), "errors"),
    # ------------------------------------------------------------------ source facts
    Clause("SRC-RST-ON-SOCK-FAIL", (),
           "FreeBSD source: a connection that finds the queue full has completed its handshake "
           "and is reset (ECONNRESET) while net.inet.tcp.syncache.rst_on_sock_fail is 1 (the "
           "default); with 0 the final ACK is dropped: the client's connect() succeeds but nothing "
           "reaches the listener (reference/freebsd.md §6).",
           ("freebsd-src",), ("profile.tcp_overflow", "host._arrive"), "overflow"),
    Clause("SRC-DEFER-ACCEPT", (),
           "Linux TCP_DEFER_ACCEPT: the connection waits as a request sock (not in the accept "
           "queue) until data arrives, and then needs room in the accept queue; the option "
           "reads back rounded up to whole SYN-ACK retransmissions (reference/linux.md §5).",
           ("linux",), ("rules.defer_secs_to_retrans", "host._feed"), "filters"),
    Clause("SRC-ACCF-NO-LIMIT", (),
           "FreeBSD source: a connection an accept filter releases joins the completed queue "
           "without a limit check, so that queue can exceed the longest the admission test "
           "allows (up to ⌊3q/2⌋+1 + q+1; reference/freebsd.md §2b, §4).",
           FILTERING, ("host._feed", "rules.filter_ready"), "filters"),
    Clause("SRC-LINUX-SYN-QUEUE", (),
           "Linux bounds the request (SYN) queue by the same backlog; a full one answers with "
           "SYN cookies, or, with net.ipv4.tcp_syncookies=0, drops the SYN (ListenDrops): "
           "half-open connections then keep real clients out (reference/linux.md §2, "
           "inet_csk_reqsk_queue_is_full(), tcp_conn_request()).",
           ("linux",), ("host.syn", "host._arrive", "profile.half_open"), "syncache"),
    Clause("SRC-LINUX-CONNECTING", (),
           "Linux: after a non-blocking TCP connect settles, the socket stays SS_CONNECTING "
           "until the next connect(), which returns 0 (or the pending error, or ECONNABORTED); "
           "until then listen() fails with EINVAL. Measured by the kernel executor "
           "(net/ipv4/af_inet.c __inet_stream_connect(), inet_listen()).",
           ("linux",), ("profile.sticky_connecting", "host._end_connect"), "errors"),
    Clause("SRC-LINUX-ONCE-CONNECTED", (),
           "Linux 6.18: a TCP socket whose connect() once sent a SYN never listens again: "
           "listen() fails with EINVAL, also once the socket is unconnected again, and takes an "
           "ephemeral port it keeps. A client reset while its connect was still unconfirmed "
           "reports the reset on its next connect() and can then connect anew; one whose "
           "connect was confirmed answers EISCONN from then on. Measured by the kernel executor "
           "(spec/sources/linux-6.18.md §0).",
           ("linux",), ("profile.listen_once_connected", "profile.connect_reset",
                        "tables.CHECKS[listen]", "host._end_connect"), "errors"),
    # ------------------------------------------------------------------ choices
    Clause("CHOICE-INHERIT", (),
           "Where a page is silent on something a script can do, its profile inherits the "
           "behaviour of the nearest source profile (freebsd-src); every inherited parameter "
           "is cited `inherited from freebsd-src` in `listenspec profiles --sources`.",
           BSD_PAGES, ("profiles.derive",), "choices"),
    Clause("CHOICE-UNIX-UNBOUND", (),
           "Pages that do not list EDESTADDRREQ (FreeBSD 9, DragonFly, INtime) return EINVAL for "
           "listen() on an unbound AF_UNIX socket, as FreeBSD did before 13.",
           ("freebsd-9", "dragonfly", "intime", "linux", "bsd-4.4"),
           ("profile.unbound_unix_listen",), "choices"),
    Clause("CHOICE-NO-LOG", (),
           "Pages without the logging sentence log nothing on overflow and have no "
           "kern.ipc.sooverinterval.",
           ("freebsd-9", "freebsd-10", "dragonfly", "intime"), ("profile.overflow_log",),
           "choices"),
)

BY_ID = {c.id: c for c in CLAUSES}
