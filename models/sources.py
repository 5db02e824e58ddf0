"""Where each fact comes from: the seed manual pages and the cited kernel-source digests.

A citation is a short string naming a seed file, or a `reference/` digest with the kernel source
file and function it quotes. Profiles and clauses use these constants, so a citation is written
once and the docs can list every place a source is relied on.
"""

from __future__ import annotations

# The five seed manual pages (../shared/seeds/).
SEED_FREEBSD_9 = "seeds/000_cd371817fa5c894e.txt"
SEED_FREEBSD_13 = "seeds/001_66a45d1b8c63fe3b.txt"
SEED_INTIME = "seeds/002_96ec2ea0fb86c8a7.txt"
SEED_DRAGONFLY = "seeds/003_88f53dfdd409cd5a.txt"
SEED_FREEBSD_10 = "seeds/004_239141d1d708b2f7.txt"

SEEDS = (SEED_FREEBSD_9, SEED_FREEBSD_13, SEED_INTIME, SEED_DRAGONFLY, SEED_FREEBSD_10)

# FreeBSD, DragonFly and 4.4BSD source (reference/freebsd.md).
FB = "reference/freebsd.md"
FB_SOLISTEN = f"{FB} §1: sys/kern/uipc_socket.c solisten_proto()"
FB_PROTO_CHECK = f"{FB} §1: sys/kern/uipc_socket.c solisten_proto_check()"
FB_TCP_LISTEN = f"{FB} §1: sys/netinet/tcp_usrreq.c tcp_usr_listen()"
FB_NOTSUPP = f"{FB} §1: sys/kern/uipc_domain.c pr_listen_notsupp()"
FB_SYSCTL = f"{FB} §1: sys/kern/uipc_socket.c sysctl_somaxconn()"
FB_SOMAXCONN = f"{FB} §1: sys/sys/socket.h SOMAXCONN"
FB_CLONE = f"{FB} §2a: sys/kern/uipc_socket.c solisten_clone()"
FB_ENQUEUE = f"{FB} §2b: sys/kern/uipc_socket.c solisten_enqueue()"
FB_DEQUEUE = f"{FB} §2b: sys/kern/uipc_socket.c solisten_dequeue()"
FB_SOCLOSE = f"{FB} §2c: sys/kern/uipc_socket.c soclose()"
FB_OVERFLOW_LOG = f"{FB} §3: sys/kern/uipc_socket.c solisten_clone() log()"
FB_RATECHECK = f"{FB} §3: sys/kern/kern_time.c ratecheck()"
FB_ACCF_SET = f"{FB} §4: sys/kern/uipc_accf.c accept_filt_setopt()"
FB_ACCF_GET = f"{FB} §4: sys/kern/uipc_accf.c accept_filt_getopt()"
FB_SOISCONNECTED = f"{FB} §4: sys/kern/uipc_socket.c soisconnected()"
FB_ACCF_DATA = f"{FB} §4: sys/netinet/accf_data.c sohasdata()"
FB_ACCF_HTTP = f"{FB} §4: sys/netinet/accf_http.c sohashttpget()"
FB_SOGETOPT = f"{FB} §5: sys/kern/uipc_socket.c sogetopt()"
FB_SOSETOPT = f"{FB} §5: sys/kern/uipc_socket.c sosetopt()"
FB_NETSTAT = f"{FB} §5: usr.bin/netstat inet.c"
FB_SYNCACHE = f"{FB} §6: sys/netinet/tcp_syncache.c syncache_add()"
FB_SYNCACHE_SOCKET = f"{FB} §6: sys/netinet/tcp_syncache.c syncache_socket()"
FB_RST_ON_FAIL = f"{FB} §6: sys/netinet/tcp_input.c tcp_input() (rst_on_sock_fail)"
FB_UNIX_LISTEN = f"{FB} §7: sys/kern/uipc_usrreq.c uipc_listen()"
FB_UNIX_LISTEN_OLD = f"{FB} §7: sys/kern/uipc_usrreq.c uipc_listen() (versions before 13)"
FB_UNIX_CONNECT = f"{FB} §7: sys/kern/uipc_usrreq.c unp_connectat()"
DF_SONEWCONN = f"{FB} §8: DragonFly sys/kern/uipc_socket2.c sonewconn_faddr()"
DF_SOLISTEN = f"{FB} §8: DragonFly sys/kern/uipc_socket.c solisten()"
DF_SYSCTL = f"{FB} §8: DragonFly somaxconn SYSCTL_INT"
BSD44_SOLISTEN = f"{FB} §8: 4.4BSD-Lite2 sys/kern/uipc_socket.c solisten()"
BSD44_SELECT = ("spec/sources/freebsd.md B14: 4.4BSD-Lite2 sys/kern/sys_socket.c soo_select() "
                "(no poll(2): select(2)'s read set is soreadable(), its write set sowriteable(); "
                "poll() results show them as POLLIN and POLLOUT)")
BSD44_SONEWCONN = f"{FB} §8: 4.4BSD-Lite2 sys/kern/uipc_socket2.c sonewconn1()"

# Linux (reference/linux.md).
LX = "reference/linux.md"
LX_618 = "spec/sources/linux-6.18.md §0"
# Linux 6.18.44 as measured by the kernel executor and the probes (spec/sources/linux-6.18.md)
L18 = "spec/sources/linux-6.18.md"
LX_PEER = f"{L18} §1: tcp_reset(), inet_csk_accept()"
LX_AFTER_RESET = f"{L18} §2: tcp_sendmsg_locked(), tcp_close(), unix_release_sock()"
LX_SHUTDOWN = f"{L18} §3: net/ipv4/af_inet.c inet_shutdown(), net/unix/af_unix.c unix_shutdown()"
LX_POLL = f"{L18} §4: net/ipv4/tcp.c tcp_poll(), net/unix/af_unix.c unix_poll()"
LX_REUSEPORT = f"{L18} §5: net/core/sock.c sk_setsockopt(), inet_csk_bind_conflict()"
LX_UNIX_BIND = f"{L18} §5: net/unix/af_unix.c unix_bind_abstract(), unix_autobind()"
LX_LINGER = f"{L18} §6: net/ipv4/tcp.c tcp_close()"
LX_RECV = f"{L18} §7: tcp_recvmsg_locked(), unix_stream_read_generic()"
LX_TIMERS = f"{L18} §8: net/ipv4/inet_connection_sock.c reqsk_timer_handler(), syn_ack_recalc()"
LX_SYSCTLS = f"{L18} §9: net/ipv4/sysctl_net_ipv4.c ipv4_net_table[], tcp_conn_request()"
# FreeBSD 14.2 (releng/14.2 at 14.2-BETA1) as read (spec/sources/freebsd.md)
F14 = "spec/sources/freebsd.md"
FB_NO_RDHUP = ("listenspec choice: POLLRDHUP came to FreeBSD's sys/sys/poll.h in 2021 (it is in "
               "14.2: kaizenwa/freebsd-14.2@b66633d79 sys/sys/poll.h); this version's has "
               "POLLINIGNEOF as its last flag")
FB_MAIN = (f"{F14} C1: later FreeBSD main (CHERI-Alliance/freebsd-src@03c9adbd "
           "sys/kern/uipc_socket.c solisten_clone(); tests/sys/kern/socket_accf.c)")
FB14_REVISION = "FreeBSD 14.2 (releng/14.2, 14.2-BETA1, __FreeBSD_version 1402000)"
FB14_FILTERS = f"{F14} A8: uipc_socket.c solisten_clone() (SO_ACCEPTFILTER not inherited)"
FB14_ACCF = f"{F14} B3: sys/netinet/accf_dns.c sohasdns(), uipc_accf.c accept_filt_setopt()"
FB14_SOGETOPT = f"{F14} B1: uipc_socket.c sogetopt() (so_options & the option's bit)"
FB14_REFUSED = f"{F14} B2: tcp_input.c, tcp_usrreq.c tcp_usr_bind()/tcp_usr_connect(), in_pcbdrop()"
FB14_SEQPACKET = f"{F14} B4: uipc_usrreq.c uipc_send(), sosend_generic_locked()"
FB14_SHUTDOWN = f"{F14} B5: uipc_socket.c soshutdown()"
FB14_POLL = f"{F14} B6: uipc_socket.c sopoll_generic(), sys_generic.c pollscan()"
FB14_REUSEPORT = f"{F14} B7: in_pcb.c in_pcbbind_setup(), in_pcblookup_hash_wild_smr()"
FB14_LINGER = f"{F14} B8: uipc_socket.c sosetopt() (EDOM), tcp_usrreq.c tcp_disconnect()"
FB14_ACCEPT_RESET = f"{F14} B9: tcp_usrreq.c tcp_usr_accept() (ECONNABORTED)"
FB14_SEND = f"{F14} B10: uipc_socket.c sosend_generic_locked() (CANTSENDMORE first)"
FB14_SEND_LISTENER = (f"{F14} B10: uipc_socket.c sosend_generic_locked() takes "
                      "SOCK_IO_SEND_LOCK(): soiolock() answers a listening socket ENOTCONN "
                      "before anything else")
FB14_CLOSE_UNREAD = f"{F14} B11: tcp_usrreq.c tcp_disconnect() (sbflush, FIN)"
FB14_SYNCACHE_TIMER = f"{F14} B12: tcp_syncache.c syncache_timer(), tcp_timer.h"
FB14_OTHER = f"{F14} B13: uipc_socket.c socreate(), soconnectat()"
FB14_LISTENER_SO = f"{F14} A4: kern_sysctl.c sysctl_sec_to_timeval()"
FB14_IOLOCK = ("kaizenwa/freebsd-14.2@b66633d79 sys/kern/uipc_socket.c soiolock() (the tree of "
               f"{F14}): a listener is ENOTCONN for send and recv")
LX_SYS_LISTEN = f"{LX} §1: net/socket.c __sys_listen_socket()"
LX_INET_LISTEN = f"{LX} §1: net/ipv4/af_inet.c inet_listen()"
LX_EXP1 = f"{LX} §1: Exp1 (sysctl net.core.somaxconn accepts 0..2147483647, -1 is EINVAL)"
LX_ACCEPTQ_FULL = f"{LX} §2: include/net/sock.h sk_acceptq_is_full()"
LX_CONN_REQUEST = f"{LX} §2: net/ipv4/tcp_input.c tcp_conn_request()"
LX_REQSK_FULL = f"{LX} §2: include/net/inet_connection_sock.h inet_csk_reqsk_queue_is_full()"
LX_DIAG = f"{LX} §3: net/ipv4/tcp_diag.c tcp_diag_get_info()"
LX_COUNTERS = f"{LX} §3: /proc/net/netstat TcpExt ListenOverflows, ListenDrops"
LX_UNIX_LISTEN = f"{LX} §4: net/unix/af_unix.c unix_listen()"
LX_UNIX_CONNECT = f"{LX} §4: net/unix/af_unix.c unix_stream_connect()"
LX_DEFER = f"{LX} §5: net/ipv4/tcp_minisocks.c tcp_check_req() (TCP_DEFER_ACCEPT)"

# Choices the project makes where no source speaks; the clause catalogue lists each.
CHOICE = "listenspec choice"

# gVisor's netstack (spec/sources/gvisor-2022-12.md): measured by the kernel executor inside
# `runsc --network=none do` (runsc 0.0~20221219.0), and gVisor's source at release-20221219.0.
GV = "spec/sources/gvisor-2022-12.md"
GV_MEASURED = "measured by the kernel executor in gVisor (runsc 2022-12)"
GV_LISTEN = f"{GV} §1: {GV_MEASURED}; pkg/sentry/syscalls/linux/sys_socket.go Listen()"
GV_RELISTEN = (f"{GV} §1: {GV_MEASURED}; pkg/tcpip/transport/tcp/endpoint.go listen(), "
               "pkg/sentry/socket/unix/transport/connectioned.go Listen()")
GV_ADMIT = f"{GV} §2: {GV_MEASURED}; pkg/tcpip/transport/tcp/accept.go handleListenSegment()"
GV_CONNECT = f"{GV} §3: {GV_MEASURED}; pkg/tcpip/transport/tcp/endpoint.go connect()"
GV_DEAD = (f"{GV} §3: {GV_MEASURED}; pkg/tcpip/transport/tcp/endpoint.go connect() "
           "(StateError: hardError, else ErrConnectionAborted), LastError()")
GV_UDP = (f"{GV} §3: {GV_MEASURED}; pkg/tcpip/transport/udp/endpoint.go Connect() (the new "
          "4-tuple is registered before the old one is removed)")
GV_PINNED = (f"{GV} §3: {GV_MEASURED}; pkg/tcpip/stack/stack.go AddrNetProtoLocked(), "
             "pkg/tcpip/transport/internal/network/endpoint.go (the route from the local "
             "address: ErrHostUnreachable)")
GV_UNIX = (f"{GV} §4: {GV_MEASURED}; pkg/sentry/socket/unix/transport/connectioned.go "
           "BidirectionalConnect(), connectionless.go")
GV_UNIX_CLOSE = f"{GV} §4: {GV_MEASURED}"
GV_OPTIONS = (f"{GV} §5: {GV_MEASURED}; pkg/sentry/socket/netstack/netstack.go "
              "setSockOptSocket(), getSockOptSocket(), isTCPSocket()")
GV_SYSCTL = f"{GV} §6: {GV_MEASURED}; pkg/sentry/fsimpl/proc/tasks_sys.go"
GV_SOCKET = f"{GV} §6: {GV_MEASURED}"
GV_DATA = (f"{GV} §8: {GV_MEASURED}; pkg/tcpip/transport/tcp/endpoint.go Readiness(), "
           "Shutdown(); pkg/sentry/socket/unix/transport/connectioned.go Readiness()")
GV_OBSERVE = (f"{GV} §7: {GV_MEASURED}: /proc/net/netstat lists TcpExt without values and "
              "there is no /dev/kmsg")
