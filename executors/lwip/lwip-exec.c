/*
 * lwip-exec: listenspec's executor over lwIP's socket API (a user-space TCP/IP stack).
 *
 *   cc -O2 -o lwip-exec lwip-exec.c $(pkg-config --cflags --libs lwip) -lpthread
 *   ./lwip-exec                 speak the executor protocol (docs/protocol.md)
 *   ./lwip-exec SCRIPT.lsn      print the script's trace
 *
 * This file is a second backend for the reference C executor: it #includes
 * ../c/listenspec-exec.c (the script parser, the NAME bookkeeping, the call mapping and the
 * protocol, shared word for word) and supplies the `be_*` functions over lwIP instead of the
 * host's sockets. It is what an embedded-stack developer adapts: swap the lwip_* calls for
 * another stack's.
 *
 * The stack: Debian's liblwip (2.1.3, built for the Hurd's pfinet; its lwipopts.h is the one
 * the library was compiled with). Each script runs in a forked process that starts a fresh lwIP
 * (tcpip_init: the tcpip thread and its timers) with one netif holding 127.0.0.1/8 and ::1.
 * With LWIP_NETIF_LOOPBACK=1 and LWIP_HAVE_LOOPIF=0 that netif loops back every packet for a
 * loopback address or one of its own addresses (src/core/ipv4/ip4.c ip4_route() and
 * ip4_output_if_opt_src(), src/core/ipv6/ip6.c ip6_output_if_src()); anything else reaches its
 * output function, which keeps it for syn() and sends it nowhere. Nothing here touches the
 * host's network: lwIP's sockets are lwIP's own descriptors.
 *
 * What lwIP lacks is unsupported(...) (and left out of the handshake's calls): open() (every
 * lwIP descriptor is a socket), netstat() (no listen-queue count or limit is exported),
 * counter() (LWIP_STATS=0), sysctl() (its limits are compile-time options), syslog().
 */

#define LSN_EXTERNAL_BACKEND 1
#include "../c/listenspec-exec.c"

#include <pthread.h>

/* <netinet/tcp.h> (for the core) names the system's TCP_MSS; lwIP's own comes from lwipopts.h. */
#undef TCP_MSS
#include "lwip/opt.h"
#include "lwip/init.h"
#include "lwip/sys.h"
#include "lwip/tcpip.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/ip_addr.h"
#include "lwip/sockets.h"

#define CAPTURED 64 /* packets kept from the netif's output, newest last */

static struct {
    struct netif netif;
    sys_sem_t ready;
    pthread_mutex_t lock; /* the capture below: written by the tcpip thread */
    unsigned char pkt[CAPTURED][1600];
    size_t len[CAPTURED];
    int n;
    int next_port;
    sys_sem_t synced;        /* signalled by the tcpip thread at each quiesce() */
    unsigned long sync_done; /* quiesce() rounds it has reached (under lock) */
    unsigned long sync_asked;
} L = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ------------------------------------------------------------------------ quiescence */

/* Loopback in lwIP is asynchronous: a packet a call sends is queued by netif_loop_output(),
 * which schedules netif_poll() on the tcpip thread (src/core/netif.c), and the call returns
 * before the other end has seen it. Linux's loopback delivers within the call. Without this,
 * what the next call observes (a recv() after the peer's close, a poll() after its shutdown)
 * depended on the scheduler: measured on `connect(c, s)`, `setsockopt(c, SO_LINGER, 0)`,
 * `close(c)`, `a = accept(s)`, `recv(a)`: 7 runs of 12 `-1 EAGAIN`, 5 `0`. So after each call
 * that can send, the harness waits (bounded) until the tcpip thread has run everything queued
 * before a callback of its own: netif_poll() drains the loop queue, the packets it enqueues
 * meanwhile (the replies) included. Timers (retransmissions, delayed ACKs) are not waited for:
 * those take sleep(), as on any stack. */
#define QUIESCE_WAIT_MS 1000

static void on_quiesce(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&L.lock);
    L.sync_done++;
    pthread_mutex_unlock(&L.lock);
    sys_sem_signal(&L.synced);
}

/* 1 if the tcpip thread reached this round within the bound, 0 if not. */
static int quiesce(void)
{
    int e = errno, done = 0;
    unsigned long want = ++L.sync_asked;
    if (tcpip_callback(on_quiesce, NULL) == ERR_OK) {
        long long deadline = now_ms() + QUIESCE_WAIT_MS;
        for (;;) {
            pthread_mutex_lock(&L.lock);
            done = L.sync_done >= want; /* a late signal of an earlier round is harmless */
            pthread_mutex_unlock(&L.lock);
            long long left = deadline - now_ms();
            if (done || left <= 0)
                break;
            sys_arch_sem_wait(&L.synced, (u32_t)left);
        }
    }
    errno = e;
    return done;
}

/* ------------------------------------------------------------------------ the netif */

static void capture(struct pbuf *p)
{
    pthread_mutex_lock(&L.lock);
    if (L.n == CAPTURED) { /* keep the newest */
        memmove(L.pkt[0], L.pkt[1], sizeof L.pkt[0] * (CAPTURED - 1));
        memmove(L.len, L.len + 1, sizeof L.len[0] * (CAPTURED - 1));
        L.n--;
    }
    L.len[L.n] = pbuf_copy_partial(p, L.pkt[L.n], sizeof L.pkt[0], 0);
    L.n++;
    pthread_mutex_unlock(&L.lock);
}

/* Called for packets that are not looped back (to the syn() peer, IPv6 router solicitations,
 * MLD reports): kept for syn(), then dropped, as by a wire nobody listens on. */
static err_t out4(struct netif *netif, struct pbuf *p, const ip4_addr_t *to)
{
    (void)netif;
    (void)to;
    capture(p);
    return ERR_OK;
}

static err_t out6(struct netif *netif, struct pbuf *p, const ip6_addr_t *to)
{
    (void)netif;
    (void)to;
    capture(p);
    return ERR_OK;
}

static err_t loop_init(struct netif *netif)
{
    netif->name[0] = 'l';
    netif->name[1] = 'o';
    netif->output = out4;
    netif->output_ip6 = out6;
    netif->mtu = 1500;
    return ERR_OK;
}

static void on_tcpip_ready(void *arg)
{
    (void)arg;
    ip4_addr_t addr, mask, gw;
    IP4_ADDR(&addr, 127, 0, 0, 1);
    IP4_ADDR(&mask, 255, 0, 0, 0);
    IP4_ADDR(&gw, 0, 0, 0, 0);
    netif_add(&L.netif, &addr, &mask, &gw, NULL, loop_init, tcpip_input);
    ip6_addr_t lo6;
    s8_t index = -1;
    ip6_addr_set_loopback(&lo6);
    /* ::1 as an address of the netif, valid at once (no duplicate detection on a loop): so
     * that a socket connecting to ::1 gets ::1 as its source (ip6_select_source_address). */
    if (netif_add_ip6_address(&L.netif, &lo6, &index) == ERR_OK && index >= 0)
        netif_ip6_addr_set_state(&L.netif, index, IP6_ADDR_PREFERRED);
    netif_set_default(&L.netif);
    netif_set_up(&L.netif);
    netif_set_link_up(&L.netif);
    sys_sem_signal(&L.ready);
}

/* ------------------------------------------------------------------------ the backend */

static const char *be_not_performed(enum call_id call)
{
    switch (call) {
    case C_OPEN:
        return "every lwIP descriptor is a socket (there is no non-socket descriptor to open)";
    case C_NETSTAT:
        return "lwIP exports no listen-queue count or limit (TCP_LISTEN_BACKLOG="
#if TCP_LISTEN_BACKLOG
               "1"
#else
               "0: it keeps no limit at all"
#endif
               ")";
    case C_COUNTER:
#if LWIP_STATS
        return "lwIP's statistics are not read by this harness";
#else
        return "lwIP's statistics are compiled out (LWIP_STATS=0)";
#endif
    case C_SYSCTL:
        return "lwIP has no run-time system limits: they are compile-time options (lwipopts.h)";
    case C_SYSLOG:
        return "lwIP logs nothing here (LWIP_DEBUG is off)";
    default:
        return NULL;
    }
}

static void be_describe(struct sbuf *stack, struct sbuf *observes, struct sbuf *notes)
{
    sb_printf(stack, "lwIP %s via its socket API (Debian liblwip, Hurd build: "
                     "TCP_LISTEN_BACKLOG=%d), loopback netif (C executor, lwIP backend)",
              LWIP_VERSION_STRING, TCP_LISTEN_BACKLOG);
    sb_puts(observes, "\"netstat\": null, \"counter\": null, \"syslog\": null, \"sysctl\": null");
    sb_puts(notes, "each script in a forked process with a fresh lwIP stack (one netif holding "
                   "127.0.0.1/8 and ::1); syn() injects a SYN into the netif's input");
}

static void be_process_start(void) {}

static void be_script_begin(const char *unix_dir)
{
    (void)unix_dir;
    L.n = 0;
    L.next_port = 20000;
    srandom((unsigned)(time(NULL) ^ (getpid() << 8)));
    if (sys_sem_new(&L.ready, 0) != ERR_OK) {
        fprintf(stderr, "lwip-exec: cannot make a semaphore\n");
        _exit(1);
    }
    if (sys_sem_new(&L.synced, 0) != ERR_OK) {
        fprintf(stderr, "lwip-exec: cannot make a semaphore\n");
        _exit(1);
    }
    tcpip_init(on_tcpip_ready, NULL);
    sys_sem_wait(&L.ready);
    sys_sem_free(&L.ready);
}

static void be_script_end(struct sbuf *note)
{
    (void)note; /* the stack ends with the script's process */
}

static int nonblocking(int fd)
{
    if (fd < 0)
        return -1;
    if (lwip_fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
        int e = errno;
        lwip_close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* lwIP takes the domain as it is given (src/api/sockets.c lwip_socket(): "@todo: check
 * this"): anything but AF_INET makes an IPv6 socket. Passed unchanged, as everywhere. */
static int be_socket(int domain, int type) { return nonblocking(lwip_socket(domain, type, 0)); }
static int be_bind(int fd, const struct sockaddr *a, socklen_t len) { return lwip_bind(fd, a, len); }
static int be_listen(int fd, int backlog) { return lwip_listen(fd, backlog); }
static int be_accept(int fd) { return nonblocking(lwip_accept(fd, NULL, NULL)); }

/* The calls that can send a packet are followed by quiesce(): the peer has seen it. */
static long be_send(int fd, const void *data, size_t n)
{
    long r = (long)lwip_send(fd, data, n, MSG_DONTWAIT);
    quiesce();
    return r;
}

static long be_recv(int fd, void *buf, size_t n)
{
    long r = (long)lwip_recv(fd, buf, n, MSG_DONTWAIT); /* may open the window: an ACK */
    quiesce();
    return r;
}

static int be_shutdown(int fd, int how)
{
    int r = lwip_shutdown(fd, how);
    quiesce();
    return r;
}

/* lwIP's poll (LWIP_SOCKET_POLL, on by default; Debian's build has LWIP_SOCKET_SELECT=0, so it
 * is the one readiness call there is). It reports POLLIN, POLLOUT, POLLERR and, for a
 * descriptor that is not one of its sockets, POLLNVAL with a return of -1 and no errno
 * (src/api/sockets.c lwip_pollscan(), lwip_poll()); never POLLHUP or POLLRDHUP. Debian's
 * build has LWIP_SOCKET_EXTERNAL_HEADERS=1: lwip/posix/sockets.h takes struct pollfd and the
 * POLL* values from the host's <poll.h>, so the bits mean what the core's names say (lwIP's
 * own values, POLLOUT 0x2 and so on, are defined only where <poll.h> is not). */
static int be_poll(int fd, short events, short *revents)
{
    struct pollfd p = {fd, events, 0};
    int n = lwip_poll(&p, 1, 0);
    *revents = p.revents;
    return n;
}

static int lingering_listener(int fd, struct linger *l);

static int be_close(int fd)
{
    /* a script's close() of a lingering listener is refused first (be_close_refused()); what
     * reaches here with one is the harness closing what a script left open: lingering off, or
     * lwIP aborts on the assertion described below and takes the script's %reset with it */
    struct linger l;
    if (lingering_listener(fd, &l)) {
        struct linger off = {0, 0};
        lwip_setsockopt(fd, SOL_SOCKET, SO_LINGER, &off, sizeof off);
    }
    int r = lwip_close(fd);
    quiesce();
    return r;
}

/* Whether fd is a listener with SO_LINGER on (its setting in *l). */
static int lingering_listener(int fd, struct linger *l)
{
    int listening = 0;
    socklen_t n = sizeof listening;
    socklen_t ln = sizeof *l;
    memset(l, 0, sizeof *l);
    if (lwip_getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &n) < 0 || !listening)
        return 0;
    return lwip_getsockopt(fd, SOL_SOCKET, SO_LINGER, l, &ln) == 0 && l->l_onoff;
}

/* A listener with SO_LINGER on is not closed as asked. lwIP 2.1.3's
 * lwip_netconn_do_close_internal() (src/api/api_msg.c; unchanged on master) decides whether to
 * linger by reading pcb.tcp->unsent and ->unacked, fields a struct tcp_pcb_listen does not have:
 * it reads past the listen pcb. Measured: with a connection pending, a linger-0 close fails
 * the assertion "don't call tcp_abort/tcp_abandon for listen-pcbs" (tcp.c) and the process
 * aborts; a linger-3 close answers -1 EAGAIN after resetting the pending connection. Neither is
 * an answer lwIP means to give, so the harness turns lingering off, closes, and says so. */
static int be_close_refused(int fd, struct sbuf *out)
{
    struct linger l;
    if (!lingering_listener(fd, &l))
        return 0;
    struct linger off = {0, 0};
    lwip_setsockopt(fd, SOL_SOCKET, SO_LINGER, &off, sizeof off);
    int r = lwip_close(fd);
    int e = errno;
    quiesce();
    r_unsupported(out, "close() of a listener with SO_LINGER {1, %d} is not performed: lwIP "
                       "2.1.3 tests the unsent data of its listen pcb, which has none to test "
                       "(lwip_netconn_do_close_internal() reads past struct tcp_pcb_listen; "
                       "with a connection pending it aborts on an assertion). The descriptor "
                       "was closed with lingering off instead%s%s",
                  (int)l.l_linger, r < 0 ? ", which failed: " : "", r < 0 ? errno_name(e) : "");
    return 1;
}

static int be_open_file(void)
{
    errno = ENOSYS; /* never called: open() is not performed */
    return -1;
}

static int be_getsockopt(int fd, int level, int opt, void *val, socklen_t *len)
{
    return lwip_getsockopt(fd, level, opt, val, len);
}

static int be_setsockopt(int fd, int level, int opt, const void *val, socklen_t len)
{
    return lwip_setsockopt(fd, level, opt, val, len);
}

static int be_getsockname(int fd, struct sockaddr *a, socklen_t *len)
{
    return lwip_getsockname(fd, a, len);
}

static int be_is_open(int fd) { return fd >= 0 && lwip_fcntl(fd, F_GETFL, 0) >= 0; }
static int be_abstract_unix(void) { return 0; }

static void be_abandon(int fd)
{
    /* Lingering off, then close, as the other executors: a SYN_SENT pcb that is closed is
     * removed at once and sends nothing (tcp_close_shutdown(), src/core/tcp.c), so the attempt
     * can never complete later. With SO_LINGER {1, 0} the unacked SYN would make
     * lwip_netconn_do_close_internal() call tcp_abort(), and tcp_abandon() sends a RST: a
     * packet of the executor's own, not the script's. */
    struct linger l = {0, 0};
    lwip_setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    lwip_close(fd);
    quiesce();
}

/* Settle a connect that returned EINPROGRESS: wait (bounded) for writability, then SO_ERROR.
 * No grace period for a later reset is needed: lwIP handles a loopback exchange in one pass of
 * the tcpip thread (netif_poll() drains the loop queue, packets it enqueues meanwhile
 * included), holding the core lock that lwip_getsockopt() takes, so SO_ERROR is read after
 * the whole handshake, the listener's accept and any RST it sent. */
static int be_connect(int fd, const struct sockaddr *addr, socklen_t len, struct sbuf *out)
{
    if (lwip_connect(fd, addr, len) == 0) {
        r_int(out, 0);
        return 0;
    }
    if (errno != EINPROGRESS) {
        r_err(out, errno);
        return 0;
    }
    long long deadline = now_ms() + SETTLE_WAIT_MS;
    struct pollfd p = {fd, POLLOUT, 0};
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            r_err(out, EINPROGRESS);
            return 1;
        }
        p.revents = 0;
        if (lwip_poll(&p, 1, (int)left) > 0)
            break;
    }
    int pending = 0;
    socklen_t plen = sizeof pending;
    if (lwip_getsockopt(fd, SOL_SOCKET, SO_ERROR, &pending, &plen) < 0)
        pending = errno;
    if (pending)
        r_err(out, pending);
    else
        r_int(out, 0);
    return 0;
}

static void be_netstat(int fd, struct sbuf *out)
{
    (void)fd;
    r_unsupported(out, "netstat: %s", be_not_performed(C_NETSTAT));
}

static void be_counter(const char *name, struct sbuf *out)
{
    (void)name;
    r_unsupported(out, "counter: %s", be_not_performed(C_COUNTER));
}

static void be_sysctl(const struct arg *name, const struct arg *value, struct sbuf *out)
{
    (void)name;
    (void)value;
    r_unsupported(out, "sysctl: %s", be_not_performed(C_SYSCTL));
}

static void be_syslog(const int *ports, size_t nports, struct sbuf *out)
{
    (void)ports;
    (void)nports;
    r_unsupported(out, "syslog(): %s", be_not_performed(C_SYSLOG));
}

static int be_syn_refused(struct sbuf *out)
{
    (void)out;
    return 0;
}

/* syn(): a SYN from the documentation peer, handed to the netif's input as if it came off a
 * wire; lwIP's answer leaves through the netif's output (the peer is not a loopback address),
 * where it is found. SYN-ACK -> 0; RST -> -1 ECONNREFUSED; nothing once the tcpip thread has
 * handled the packet -> -1 EINPROGRESS (dropped). */
static void be_syn(const struct sockaddr *addr, socklen_t alen, struct sbuf *out)
{
    (void)alen;
    int family = addr->sa_family;
    unsigned char src[16], dst[16], pkt[64];
    unsigned short dport;
    syn_addresses(addr, src, dst, &dport);
    unsigned short sport = (unsigned short)L.next_port;
    L.next_port = 20000 + (L.next_port - 20000 + 1) % 40000;
    uint32_t isn = (uint32_t)random() << 1 ^ (uint32_t)random();
    size_t n = syn_packet(family, src, dst, sport, dport, isn, pkt);
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_RAM);
    if (p == NULL) {
        r_unsupported(out, "syn(): lwIP has no buffer for the packet");
        return;
    }
    pbuf_take(p, pkt, (u16_t)n);
    pthread_mutex_lock(&L.lock);
    L.n = 0;
    pthread_mutex_unlock(&L.lock);
    if (L.netif.input(p, &L.netif) != ERR_OK) {
        pbuf_free(p);
        r_unsupported(out, "syn(): lwIP refused the packet on its input");
        return;
    }
    /* The tcpip thread answers a SYN within the pass that takes it from its mailbox
     * (tcp_listen_input() sends the SYN-ACK, tcp_input() the RST): once it has run a callback
     * queued after the packet, the answer is in the capture or there is none. Waiting for that,
     * rather than for a time, keeps a loaded machine from turning a late answer into a drop. */
    int settled = quiesce();
    int flags = -1;
    pthread_mutex_lock(&L.lock);
    for (int i = 0; i < L.n && flags < 0; i++)
        flags = syn_answer(L.pkt[i], L.len[i], family, dport, sport, isn);
    pthread_mutex_unlock(&L.lock);
    if (flags >= 0 && (flags & TH_SYN) && (flags & TH_ACK))
        r_int(out, 0);
    else if (flags >= 0 && (flags & TH_RST))
        r_err(out, ECONNREFUSED);
    else if (settled)
        r_err(out, EINPROGRESS); /* handled, and nothing sent back: dropped */
    else
        r_unsupported(out, "syn(): lwIP's tcpip thread had not handled the SYN within %d ms",
                      QUIESCE_WAIT_MS);
}
