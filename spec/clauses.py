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
       "bsd-4.4", "gvisor")
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
           "queue) until data or a FIN arrives, and then needs room in the accept queue (gVisor "
           "takes a FIN without data for a bare ACK and drops it until the deferral's time is "
           "up, then lets the connection in: profile parameter defer_ends_on_fin, found by "
           "`listenspec conform --target gvisor --profile gvisor`, measured); the option "
           "reads back rounded up to whole SYN-ACK retransmissions (reference/linux.md §5). A "
           "client that resets meanwhile (close() with SO_LINGER 0) takes its request sock "
           "away and counts EmbryonicRsts (tcp_check_req(): embryonic_reset; found by "
           "`listenspec conform --examples 3000`, measured).",
           ("linux",), ("rules.defer_secs_to_retrans", "dataplane.feed",
                        "profile.defer_ends_on_fin"), "filters"),
    Clause("SRC-ACCF-NO-LIMIT", (),
           "FreeBSD source: a connection an accept filter releases joins the completed queue "
           "without a limit check, so that queue can exceed the longest the admission test "
           "allows (up to ⌊3q/2⌋+1 + q+1; reference/freebsd.md §2b, §4).",
           FILTERING, ("dataplane.feed", "rules.filter_ready"), "filters"),
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
    # ------------------------------------------------------------------ gVisor (issue 11)
    Clause("SRC-GVISOR-BACKLOG", (),
           "gVisor reads the backlog as an unsigned int and caps it at 1024, whatever "
           "net.core.somaxconn says (a read-only 128; writes fail with EIO); a listener holds "
           "q+1 completed connections, as on Linux. A re-listen whose backlog admits fewer "
           "connections than the completed queue holds is refused with EINVAL, and the old "
           "backlog stays (measured by the kernel executor in gVisor; "
           "spec/sources/gvisor-2022-12.md §1, §6).",
           ("gvisor",), ("profile.clamp", "profile.fixed_limit", "profile.sysctls",
                         "profile.relisten_shrink_errno", "rules.relisten_refused"),
           "relisten"),
    Clause("SRC-GVISOR-SYN-QUEUE", (),
           "gVisor: the request queue is full once it holds q half-open (or deferred) "
           "connections, one earlier than Linux; a full one always answers with a SYN cookie "
           "(there is no tcp_syncookies to turn them off), so half-open connections never keep "
           "a client out; nothing is logged (spec/sources/gvisor-2022-12.md §2).",
           ("gvisor",), ("profile.request_queue_inclusive", "rules.request_queue_full",
                         "profile.synflood_log", "host.syn"), "syncache"),
    Clause("SRC-GVISOR-DEAD", (),
           "gVisor: a TCP socket whose connection was refused or reset is closed for good: "
           "bind() and listen() fail with EINVAL, connect() reports the pending error once and "
           "then ECONNABORTED; a refusal leaves ECONNREFUSED for one more getsockopt(SO_ERROR) "
           "(spec/sources/gvisor-2022-12.md §3).",
           ("gvisor",), ("profile.dead_after_error", "tables.CHECKS[connect]",
                         "tables.CHECKS[bind]", "host._dead_connect", "host._refused_dead"),
           "errors"),
    Clause("SRC-GVISOR-CONNECT", (),
           "gVisor's connect(): an address of another family is EINVAL, checked before the "
           "socket; an AF_INET6 socket reaches an IPv4 address (v4-mapped) unless its local "
           "address belongs to the other family (EHOSTUNREACH; a specific address, not 0.0.0.0 "
           "or ::, of the other family is refused before the socket's state: ENETUNREACH for "
           "a local IPv6 address, EINVAL for a local IPv4 one, also after a refusal: profile "
           "parameter local_family_errno); connect() on a listener is "
           "EINVAL; a UDP socket connecting again to the address it is connected to gets "
           "EADDRINUSE (spec/sources/gvisor-2022-12.md §3).",
           ("gvisor",), ("profile.connect_address_first", "profile.connect_family_errno",
                         "profile.stream_v6_takes_v4", "profile.v6_pinned_errno",
                         "profile.local_family_errno",
                         "profile.connect_on_listener", "profile.dgram_reconnect_same"),
           "errors"),
    Clause("SRC-GVISOR-UNIX", (),
           "gVisor AF_UNIX: connect() looks at the connecting socket (its own name: EINVAL; "
           "connected: EISCONN; listening: EINVAL) before whether the target listens; a "
           "datagram socket on the other side is ECONNREFUSED; closing a listener leaves its "
           "queued clients connected to a closed peer (send EPIPE); SO_ACCEPTCONN reads 0 on "
           "a listener (spec/sources/gvisor-2022-12.md §1, §4).",
           ("gvisor",), ("profile.unix_client_first", "profile.unix_dgram_mismatch",
                         "profile.unix_close_hangs_up", "profile.unix_acceptconn"), "errors"),
    Clause("SRC-GVISOR-OPTIONS", (),
           "gVisor: setsockopt() at SOL_SOCKET accepts and ignores an option it does not know "
           "(SO_ACCEPTFILTER, SO_LISTENQLIMIT, ...); TCP options are judged by the socket type, "
           "so an AF_UNIX stream socket takes TCP_DEFER_ACCEPT and ignores it; TCP_DEFER_ACCEPT "
           "is kept in seconds, at most 120 (spec/sources/gvisor-2022-12.md §5).",
           ("gvisor",), ("profile.setsockopt_ignores_unknown", "profile.tcp_options_by_type",
                         "profile.defer_accept_max_seconds", "rules.defer_store"), "filters"),
    Clause("SRC-GVISOR-DATA", (),
           "gVisor's data path: poll() of a TCP socket never connected is POLLHUP alone, of a "
           "TCP connection over (both ways, reset or refused) POLLIN|POLLPRI|POLLOUT|POLLERR|"
           "POLLHUP, of an AF_UNIX socket that is not connected 0, and POLLRDHUP never; "
           "shutdown() of a socket that is not connected is ENOTCONN and marks nothing; recv() "
           "of an unconnected AF_UNIX stream socket is ENOTCONN "
           "(spec/sources/gvisor-2022-12.md §8).",
           ("gvisor",), ("profile.poll_style", "profile.shutdown_marks_unconnected",
                         "profile.shutdown_dgram_marks", "profile.unix_shutdown_unconnected",
                         "profile.recv_unconnected_unix_stream", "rules.poll_events"),
           "errors"),
    # ------------------------------------------------------------------ a peer that leaves
    Clause("SRC-PEER-CLOSED-BEFORE-ACCEPT", (),
           "A connection whose client closed (a FIN) before accept() stays queued and is "
           "accepted like any other: the accepted socket reads what the client sent, then end "
           "of file (recv() 0), and may still send; a client that only shut its sending side "
           "is still there, and an abortive close of the accepted socket resets it (found by "
           "`listenspec conform --target gvisor`, measured on Linux and gVisor). Every profile "
           "(the pages are silent: "
           "CHOICE-INHERIT). Linux measured by the kernel executor (spec/sources/linux-6.18.md "
           "§1); FreeBSD 14.2 soisdisconnecting() leaves it on so_comp (spec/sources/freebsd.md "
           "B9).",
           ALL, ("dataplane.feed", "dataplane.connection_closes", "tables.CHECKS[recv]"),
           "peers"),
    Clause("SRC-PEER-RESET-BEFORE-ACCEPT", (),
           "A connection whose client reset (SO_LINGER 0, close) before accept(): on Linux it "
           "stays queued and accept() returns it; the socket polls POLLIN|POLLOUT|POLLERR|POLLHUP"
           "|POLLRDHUP, recv() reports ECONNRESET once, then send() EPIPE (tcp_reset(), "
           "inet_csk_accept(); measured). FreeBSD 14.2 keeps it queued too (poll() says POLLIN) "
           "but accept() takes it off the queue and fails with ECONNABORTED "
           "(tcp_usr_accept(): spec/sources/freebsd.md B9); the page profiles inherit that.",
           ALL, ("profile.accept_reset", "dataplane.feed", "tables.CHECKS[accept]"), "peers"),
    Clause("SRC-SEND-AFTER-RESET", (),
           "send() on a TCP connection the other end reset: Linux reports the pending "
           "ECONNRESET on the first send() and EPIPE on every later one (tcp_sendmsg_locked(): "
           "sk_err first); an RST that comes after the peer's FIN sets EPIPE instead "
           "(tcp_reset() in CLOSE_WAIT). FreeBSD checks SBS_CANTSENDMORE first, so every send() "
           "after the reset is EPIPE and the ECONNRESET stays for recv() or SO_ERROR "
           "(sosend_generic_locked(): spec/sources/freebsd.md B10). Linux measured by the "
           "kernel executor (spec/sources/linux-6.18.md §2).",
           ALL, ("profile.send_order", "profile.rst_in_close_wait", "tables.CHECKS[send]",
                 "ops.reset_socket"), "peers"),
    Clause("SRC-CLOSE-UNREAD", (),
           "Closing a TCP socket with data it never read: Linux resets the peer (tcp_close(): "
           "TCPAbortOnClose; measured), FreeBSD discards the data and sends a FIN "
           "(tcp_disconnect(): sbflush(); spec/sources/freebsd.md B11); the peer's next send "
           "then meets the orphan's RST.",
           ALL, ("profile.close_unread", "dataplane.connection_closes"), "peers"),
    Clause("SRC-RECV-ORDER", (),
           "recv() returns the queued data first; then on Linux a TCP socket that had the "
           "peer's FIN returns 0 (end of file) before any pending error (tcp_recvmsg_locked(): "
           "SOCK_DONE first; measured), and a reset one reports ECONNRESET once, then 0. "
           "FreeBSD reports the pending error first (soreceive_generic(): so_error before "
           "SBS_CANTRCVMORE).",
           ALL, ("profile.recv_eof_before_error", "tables.CHECKS[recv]"), "peers"),
    Clause("SRC-SEQPACKET-PEER-CLOSED", (),
           "AF_UNIX SOCK_SEQPACKET and SOCK_STREAM: when the peer closes, the survivor reads "
           "what was sent, then 0, and every send() is EPIPE (unix_release_sock(), "
           "unix_stream_sendmsg(); measured); FreeBSD 14.2 alike (uipc_send(): EPIPE once the "
           "peer is gone; spec/sources/freebsd.md B4). A pending error comes before the data "
           "of a SEQPACKET socket on Linux (profile.seqpacket_error_first).",
           ALL, ("profile.seqpacket_error_first", "profile.unix_stream_send_error",
                 "dataplane.connection_closes"), "peers"),
    Clause("SRC-LINGER-ABORT", (),
           "setsockopt(S, SO_LINGER, 0) then close(): an abortive close. An accepted connection "
           "resets its client (SO_ERROR ECONNRESET; Linux counts TCPAbortOnData); a listener "
           "closed so resets every queued connection as any listener close does. Linux takes "
           "any l_linger (sk_setsockopt()); FreeBSD refuses one outside 0..min(USHRT_MAX, "
           "INT_MAX / hz) with EDOM (sosetopt(): spec/sources/freebsd.md B8). getsockopt() "
           "reads l_onoff (FreeBSD: the option's bit, 0x80). An accepted socket has the "
           "listener's SO_LINGER and SO_REUSEPORT (sk_clone_lock(), solisten_clone()), except a "
           "Linux AF_UNIX child, made fresh by unix_create1() (measured).",
           ALL, ("profile.linger_max", "profile.unix_child_inherits", "options.setsockopt",
                 "dataplane.connection_closes",
                 "dataplane.listener_closes"), "peers"),
    # ------------------------------------------------------------------ time
    Clause("SRC-TIMER-HALF-OPEN", (),
           "Time passes only in sleep(). Linux: a half-open request resends its SYN-ACK after "
           "TCP_TIMEOUT_INIT << n (1, 2, 4 s ... capped at 120 s) and expires after "
           "net.ipv4.tcp_synack_retries resends (reqsk_timer_handler(), syn_ack_recalc(); "
           "spec/sources/linux-6.18.md §8, measured). FreeBSD's syncache entry expires after "
           "net.inet.tcp.syncache.rexmtlimit resends, sent 1 s, then 2.2, 4.2, 8.2 s ... apart "
           "(syncache_timer(): tcp_backoff[] plus tcp_rexmit_slop; "
           "spec/sources/freebsd.md B12); it is not counted by netstat. 4.4BSD drops a q0 "
           "entry when its 75 s connection-establishment timer fires (TCPTV_KEEP_INIT).",
           ALL, ("rules.reqsk_timeout", "rules.syn_ack_recalc", "rules.syncache_timeout",
                 "timers.sleep"), "time"),
    Clause("SRC-TIMER-DEFER", (),
           "Linux TCP_DEFER_ACCEPT: a connection that sends nothing becomes acceptable when its "
           "deferral runs out: the request sock is moved to the accept queue on the timer "
           "firing after the deferral's last SYN-ACK retransmission (syn_ack_recalc(), "
           "inet_csk_reqsk_queue_drop(); measured by the kernel executor).",
           ("linux",), ("rules.syn_ack_recalc", "timers.sleep"), "time"),
    Clause("SRC-CLIENT-DEFER", (),
           "Linux: a client that set TCP_DEFER_ACCEPT before connect() holds its final ACK for "
           "up to TCP_DELACK_MAX (200 ms) so that data can carry it "
           "(tcp_rcv_synsent_state_process()): connect() returns 0, but the listener keeps a "
           "request sock (netstat counts it incomplete, accept() is EAGAIN, poll() says 0) "
           "until the ACK, data or a FIN arrives. An ACK that finds the accept queue full is "
           "dropped and counted (ListenOverflows); the next SYN-ACK retransmission completes "
           "it (found by conformance, seed 22; measured by the kernel executor).",
           ("linux",), ("host._arrive", "timers.sleep", "dataplane.feed",
                        "rules.TCP_DELACK_MAX"), "time"),
    Clause("SRC-CLIENT-RESEND", (),
           "Linux: a segment a request sock drops on a full accept queue (a TCP_DEFER_ACCEPT "
           "connection's first data) is unacknowledged, so its client sends it again 0.2, 0.4, "
           "0.8, 1.6 s ... after the first sending (the tail loss probe at 2·srtt + "
           "TCP_RTO_MIN, then TCP_RTO_MIN doubling; tcp_schedule_loss_probe(), "
           "tcp_retransmit_timer()), each drop counted again (ListenOverflows); what the client "
           "sends meanwhile Nagle holds back, to go with it; the first resend that finds room "
           "makes the child with all of it. Found when CI's kernel run took 0.2 s longer than "
           "the script and counted 2; measured by the kernel executor.",
           ("linux",), ("rules.client_resend_gap", "dataplane.feed", "timers.sleep"), "time"),
    # ------------------------------------------------------------------ the queue sysctls
    Clause("SRC-LINUX-SYNCOOKIES", (),
           "Linux net.ipv4.tcp_syncookies takes 0..255 on this kernel (measured; 256 is "
           "EINVAL): 0 never sends cookies (a full request queue drops the SYN), 2 always does "
           "(every SYN is answered with a cookie and bumps TCPReqQFullDoCookies and "
           "SyncookiesSent; nothing is queued half-open), any other value sends them when the "
           "request queue is full (tcp_conn_request(), tcp_syn_flood_action(); "
           "spec/sources/linux-6.18.md §9).",
           ("linux",), ("rules.syn_arrival", "profile.counter_events", "host.syn"),
           "syncache"),
    Clause("SRC-LINUX-MAX-SYN-BACKLOG", (),
           "Linux net.ipv4.tcp_max_syn_backlog (1..INT_MAX, default 2048 here): with SYN "
           "cookies off, a SYN that would fill the last quarter of it is dropped "
           "(tcp_conn_request(); spec/sources/linux-6.18.md §9). listenspec applies it to "
           "syn()'s bare SYNs only: a connect() from this host is from a proven peer "
           "(tcp_peer_is_proven()).",
           ("linux",), ("host.syn", "rules.syn_arrival"), "syncache"),
    Clause("SRC-LINUX-ABORT-ON-OVERFLOW", (),
           "Linux net.ipv4.tcp_abort_on_overflow=1: a final ACK that finds the accept queue "
           "full is answered with a reset, so the client's connect() fails with ECONNRESET "
           "(or its first I/O does) instead of the handshake being retried "
           "(tcp_check_req(); measured by the kernel executor).",
           ("linux",), ("rules.overflow_answer", "rules.arrival"), "overflow"),
    # ------------------------------------------------------------------ shutdown
    Clause("SRC-SHUTDOWN-LISTENER", (),
           "shutdown() of a listener. Linux: SHUT_RD (or SHUT_RDWR) stops it: every queued "
           "connection is reset, the socket is no longer listening (accept() EINVAL, connects "
           "refused) and may listen again, but never connects again (connect() EINVAL, and "
           "EAFNOSUPPORT to a target of another family, whose family tcp_v4_connect() reads "
           "first; gVisor EINVAL whatever the family; measured: profile parameters "
           "connect_after_stop, connect_stop_before_family), its shutdown state cleared; a port "
           "the kernel chose (bind() to port 0, listen()'s autobind) is given back, so bind() "
           "succeeds again, while one bind(S, T) named stays (SOCK_BINDPORT_LOCK), and a later "
           "listen() autobinds on the address bind() gave (tcp_set_state(), found by `listenspec "
           "conform --seed 6`, measured: tests/test_stopped_port.py); SHUT_WR "
           "does nothing to a listener, but one shut for sending before listen() makes its "
           "children shut for sending (their FIN reaches the client at once, send() EPIPE; "
           "found by `listenspec conform --examples 3000`, measured: profile parameter "
           "child_inherits_shut_wr) (inet_shutdown(), "
           "tcp_disconnect(); measured). FreeBSD 14.2: ENOTCONN, and SHUT_RD sets so_error "
           "ECONNABORTED, which the next accept() reports; the queue stays and connections are "
           "still admitted (soshutdown(): spec/sources/freebsd.md B5). gVisor: SHUT_RD resets "
           "the queued connections but the socket stays listening and bound, shut for reading "
           "(SO_ACCEPTCONN 1, poll 0, bind to its address EADDRINUSE, a connect refused, "
           "accept() EINVAL, a second shutdown() 0) until listen() opens it again "
           "(endpoint.go shutdownLocked(); measured: profile parameter shutdown_listener "
           "refuse). An AF_UNIX listener "
           "shut for reading refuses connects on Linux. The stopped listener's half-open requests "
           "stay until they expire: if it listens again they count against its request queue "
           "(a full one: the SYN gets a cookie), though netstat no longer shows them (measured).",
           ALL, ("profile.shutdown_listener", "profile.unix_listener_shut_refuses",
                 "profile.connect_after_stop", "profile.connect_stop_before_family",
                 "profile.child_inherits_shut_wr", "tables.CHECKS[shutdown]"), "shutdown"),
    Clause("SRC-SHUTDOWN-CONNECTION", (),
           "shutdown() of a connection: SHUT_WR sends a FIN (the peer reads end of file, the "
           "socket's own send() is EPIPE), SHUT_RD stops reading (FreeBSD also discards what "
           "is queued: sorflush()). An unconnected TCP socket answers ENOTCONN everywhere; an "
           "unconnected AF_UNIX one succeeds on Linux (unix_shutdown()) and is ENOTCONN on "
           "FreeBSD. Linux's ENOTCONN still marks the TCP socket (inet_shutdown()): one shut "
           "for sending that then connects to itself sends itself its FIN, the connection ends "
           "(TIME_WAIT holds the port) and connect() is ECONNABORTED (found by `listenspec "
           "conform --seed 5`, measured: profile parameter self_connect_shut_send, "
           "tests/test_self_connect.py).",
           ALL, ("profile.shut_rd_discards", "profile.unix_shutdown_unconnected",
                 "profile.shutdown_marks_unconnected", "profile.self_connect_shut_send",
                 "tables.CHECKS[shutdown]", "tables.CHECKS[connect]"), "shutdown"),
    # ------------------------------------------------------------------ readiness
    Clause("SRC-POLL-LISTENER", (),
           "poll() of a listener: POLLIN exactly when its completed queue is not empty, i.e. "
           "when accept() would return a connection (a connection an accept filter or "
           "TCP_DEFER_ACCEPT still holds does not count); never POLLOUT. FreeBSD adds "
           "POLLIN|POLLHUP while so_error is set (after shutdown(SHUT_RD)). Linux tcp_poll(), "
           "unix_poll() (spec/sources/linux-6.18.md §4, measured); FreeBSD sopoll_generic() "
           "(spec/sources/freebsd.md B6); 4.4BSD has only select(2) (soo_select()).",
           ALL, ("rules.poll_events", "profile.poll_style"), "readiness"),
    Clause("SRC-POLL-CONNECTION", (),
           "poll() of a connection: POLLIN when data, end of file or an error waits, POLLOUT "
           "while it may send, POLLRDHUP once the peer's FIN came, POLLHUP once both "
           "directions are shut, POLLERR (Linux only) while an error is pending; FreeBSD's "
           "pollscan() clears POLLOUT wherever POLLHUP is set. A descriptor that is not open "
           "polls POLLNVAL (4.4BSD's select(): EBADF). Profiles whose system has no POLLRDHUP "
           "never report it.",
           ALL, ("rules.poll_events", "rules.POLL_NOT_OPEN", "profile.poll_rdhup",
                 "dataplane.poll"), "readiness"),
    # ------------------------------------------------------------------ SO_REUSEPORT
    Clause("SRC-REUSEPORT-SHARE", (),
           "SO_REUSEPORT: a socket may bind an address another holds when both set the option "
           "before binding (else EADDRINUSE); two listeners then share the port, each with its "
           "own queue and backlog. Linux refuses the option on AF_UNIX (EOPNOTSUPP); FreeBSD "
           "has SO_REUSEPORT_LB besides (a load-balancing group). An AF_UNIX name is never "
           "shared (EADDRINUSE); rebinding a bound AF_UNIX socket to its own name is EADDRINUSE "
           "on Linux (the path exists; measured) and EINVAL on FreeBSD (already bound). A Linux "
           "autobound name is abstract: rebinding to it is EINVAL (already bound, looked at "
           "first), and it is held per socket type, so a socket of another type binds to it "
           "and a connect() of another type is ECONNREFUSED (a path's is EPROTOTYPE) "
           "(unix_bind_abstract(); found by `listenspec conform --examples 3000`, measured); an "
           "autobind of a socket that has a name returns 0 and changes nothing "
           "(unix_autobind()). "
           "inet_csk_bind_conflict() "
           "(spec/sources/linux-6.18.md §5), in_pcbbind_setup() (spec/sources/freebsd.md B7).",
           ALL, ("profile.reuseport_unix", "profile.reuseport_lb", "profile.unix_bind_name_first",
                 "profile.unix_autobind_per_type", "profile.unix_autobind_bound_ok",
                 "tables.CHECKS[bind]"),
           "reuseport"),
    Clause("SRC-REUSEPORT-PICK", (),
           "Which listener of a SO_REUSEPORT group a connection reaches: Linux hashes the "
           "connection's addresses and ports onto a member, so any member may get it (the "
           "model lists every member as an allowed outcome and the checker follows each); "
           "FreeBSD's lookup finds the member that bound last (SO_REUSEPORT) or hashes over a "
           "SO_REUSEPORT_LB group. A full member drops the connection even while another has "
           "room. Closing a member resets its queue, or with net.ipv4.tcp_migrate_req=1 hands "
           "it to another member (TCPMigrateReqSuccess).",
           ALL, ("profile.reuseport_pick", "tables.reach", "dataplane.listener_closes"),
           "reuseport"),
    # ------------------------------------------------------------------ FreeBSD, today
    Clause("SRC-FB14-ACCEPTCONN", (),
           "FreeBSD returns the option's bit for an on/off option: getsockopt(SO_ACCEPTCONN) "
           "on a listener is 2, SO_REUSEPORT 512, SO_LINGER 128 (sogetopt(): so_options & bit; "
           "spec/sources/freebsd.md B1); Linux returns 1.",
           ALL, ("profile.option_bits", "options.getsockopt"), "observing"),
    Clause("SRC-FB14-REFUSED", (),
           "FreeBSD 14.2: a TCP socket whose connect() was refused (or whose connection was "
           "dropped) has lost its inpcb: listen() and bind() fail with EINVAL "
           "(tcp_usr_listen(), tcp_usr_bind() on INP_DROPPED; spec/sources/freebsd.md B2); "
           "Linux can bind it again, but not listen (SRC-LINUX-ONCE-CONNECTED).",
           ALL, ("profile.refused_drops", "profile.bind_reset", "tables.CHECKS[bind]"),
           "errors"),
    Clause("SRC-FB14-FILTERS", (),
           "FreeBSD 14.2 (releng/14.2 at BETA1): solisten_clone() does not give a new "
           "connection SO_ACCEPTFILTER, so an attached filter holds nothing and every "
           "connection goes straight to the completed queue (spec/sources/freebsd.md A8); later "
           "main fixed it (freebsd-main), and the pages describe filters that hold. dnsready "
           "(accf_dns) and, on main, tlsready are further filters; attaching a filter where one "
           "is attached is EINVAL on 14.2 and EBUSY on main (accept_filt_setopt()).",
           FILTERING, ("profile.filter_holds", "profile.accf_replace", "profile.accept_filters",
                       "rules.filter_ready"), "filters"),
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
