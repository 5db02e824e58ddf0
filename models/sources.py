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
BSD44_SONEWCONN = f"{FB} §8: 4.4BSD-Lite2 sys/kern/uipc_socket2.c sonewconn1()"

# Linux (reference/linux.md).
LX = "reference/linux.md"
LX_618 = "spec/sources/linux-6.18.md §0"
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
