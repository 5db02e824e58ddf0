/*
 * posix-backend.c: the POSIX backend of listenspec-exec.c, which #includes it at its end (build
 * listenspec-exec.c, not this file).
 *
 * Plain POSIX sockets everywhere. Where the platform has more, it is used, and each probe that
 * decides how to observe is first checked against a known answer before it is trusted:
 *
 * Linux (reference/linux.md):
 *   - each script runs in a private network namespace (unshare(CLONE_NEWNET), `lo` brought up;
 *     not root: a user namespace first), as listenspec/kernel/netns.py does, so sysctl writes
 *     and syn()'s TUN device never touch the host; when none can be made, sysctl writes and
 *     syn() are refused with unsupported(...);
 *   - netstat(): sock_diag netlink, inet_diag (TCP: idiag_rqueue/idiag_wqueue of the listener,
 *     found by inode; its SYN_RECV request sockets counted by local address and port) and
 *     unix_diag (UNIX_DIAG_RQLEN), trusted only after a listener made with backlog 3 shows 0/0/3;
 *   - counter(): /proc/self/net/netstat and /proc/self/net/snmp, trusted only after a fresh
 *     namespace shows TcpExt ListenOverflows 0 (and every header has its values line);
 *   - sysctl(): /proc/sys; syslog(): /dev/kmsg, the lines naming one of the script's ports;
 *   - syn(): a bare SYN from a documentation address routed to a TUN device nobody answers
 *     (listenspec/kernel/synpeer.py);
 *   - connect(): settled with TCP_INFO and the ListenOverflows/ListenDrops counters
 *     (listenspec/kernel/executor.py `_settle`).
 * FreeBSD and DragonFly: netstat() from SO_LISTENQLEN, SO_LISTENINCQLEN and SO_LISTENQLIMIT
 * (trusted after the same backlog-3 probe), sysctl() through sysctlbyname(), counter() from
 * net.inet.tcp.stats (FreeBSD), accept filters natively. There is no private network namespace
 * to make: sysctl writes are refused unless --allow-host-sysctl says the machine is one made
 * for the run, and then every value written is restored after the script.
 * Anything else: only what POSIX offers; every other observation is unsupported(...).
 *
 * The FreeBSD and DragonFly parts follow FreeBSD 13's sys/sys/socket.h and sys/netinet/
 * tcp_var.h; they were not compiled on those systems when this was written (only Linux was at
 * hand): a port that finds them wrong should fix them here.
 */

#if defined(LSN_LINUX)
#include <sched.h>
#include <net/if.h>
#include <net/route.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#endif
#if defined(LSN_SYSCTLBYNAME)
#include <sys/sysctl.h>
#endif
#if defined(__FreeBSD__) && defined(LSN_FREEBSD)
#include <sys/param.h>
#include <sys/queue.h>
#include <netinet/tcp_var.h> /* struct tcpstat */
#endif

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif
#ifndef MSG_DONTWAIT
#define MSG_DONTWAIT 0
#endif
#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

static struct {
    int can_isolate;      /* a private network namespace can be made (probed once) */
    char why_not[200];
    int isolated;         /* this script runs in one */
    int probed;           /* the netstat probes ran for this script */
    int inet_ok, unix_ok; /* netstat's probes gave the known answer */
    char inet_why[200], unix_why[200];
    int acc_inet_ok, acc_unix_ok; /* SO_ACCEPTCONN gave the known answer (1 for a listener) */
    char acc_inet_why[200], acc_unix_why[200];
#if defined(LSN_LINUX)
    int diag;             /* NETLINK_SOCK_DIAG socket of the script's namespace */
    unsigned seq;
    int counter_fds[2];   /* /proc/self/net/netstat and snmp */
    int counters_ok;
    char counters_why[200];
    int kmsg;
    char kmsg_why[200];
    int tun, raw4, raw6;
    int next_port;
    int reuseport;        /* the script set SO_REUSEPORT on a socket (be_counter) */
#endif
    struct {              /* values to restore after the script (--allow-host-sysctl only) */
        char *name;
        char *old;
        size_t len;
    } restore[64];
    int nrestore;
    struct counter_value { /* counters at the script's start (not isolated: report the delta) */
        char *name;
        long long value;
    } *baseline;
    size_t nbaseline;
} P = {0};

static const char *be_not_performed(enum call_id call)
{
#if defined(LSN_LINUX)
    (void)call;
    return NULL;
#else
    if (call == C_SYN)
        return "the half-open peer needs a TUN device and a raw socket (Linux only here)";
    if (call == C_SYSLOG)
        return "the kernel log is read on Linux only (/dev/kmsg)";
    return NULL;
#endif
}

static int be_abstract_unix(void)
{
#if defined(__linux__)
    return 1;
#else
    return 0;
#endif
}

/* ======================================================================== descriptors */

LSN_UNUSED static int nonblocking_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
#ifdef SO_NOSIGPIPE
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    return fd;
}

static int be_socket(int domain, int type)
{
    /* Protocol 0: the system picks the default protocol, and refuses combinations it lacks
     * (AF_INET + SOCK_SEQPACKET -> ESOCKTNOSUPPORT on Linux) as any C program would see. */
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    return socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
    int fd = socket(domain, type, 0);
    return fd < 0 ? -1 : nonblocking_cloexec(fd);
#endif
}

static int be_bind(int fd, const struct sockaddr *a, socklen_t len) { return bind(fd, a, len); }
static int be_listen(int fd, int backlog) { return listen(fd, backlog); }

static int be_accept(int fd)
{
#if defined(__linux__) || defined(__FreeBSD__) || defined(__DragonFly__) || defined(__NetBSD__) \
    || defined(__OpenBSD__)
    return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    int a = accept(fd, NULL, NULL);
    return a < 0 ? -1 : nonblocking_cloexec(a);
#endif
}

static long be_send(int fd, const void *data, size_t n)
{
    /* MSG_NOSIGNAL: a reset peer gives EPIPE (SIGPIPE is ignored as well, for systems
     * without it); MSG_DONTWAIT: the socket is non-blocking anyway. */
    return (long)send(fd, data, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static long be_recv(int fd, void *buf, size_t n)
{
    return (long)recv(fd, buf, n, MSG_DONTWAIT); /* as the Python executor: MSG_DONTWAIT too */
}

static int be_shutdown(int fd, int how) { return shutdown(fd, how); }

static int be_close_refused(int fd, struct sbuf *out)
{
    (void)fd; /* every close(2) is made as asked */
    (void)out;
    return 0;
}

static int be_poll(int fd, short events, short *revents)
{
    struct pollfd p = {fd, events, 0};
    int n = poll(&p, 1, 0);
    *revents = p.revents;
    return n;
}

static int be_close(int fd) { return close(fd); }

static int be_open_file(void) { return open("/dev/null", O_RDONLY | O_CLOEXEC); }

static int be_getsockopt(int fd, int level, int opt, void *val, socklen_t *len)
{
    return getsockopt(fd, level, opt, val, len);
}

static int be_setsockopt(int fd, int level, int opt, const void *val, socklen_t len)
{
    int rc = setsockopt(fd, level, opt, val, len);
#if defined(LSN_LINUX)
    if (rc == 0 && level == SOL_SOCKET && opt == SO_REUSEPORT && val != NULL &&
        len >= (socklen_t)sizeof(int) && *(const int *)val != 0)
        P.reuseport = 1;
#endif
    return rc;
}

static int be_getsockname(int fd, struct sockaddr *a, socklen_t *len)
{
    return getsockname(fd, a, len);
}

static int be_is_open(int fd) { return fd >= 0 && fcntl(fd, F_GETFD) != -1; }

static void be_abandon(int fd)
{
    /* A SYN_SENT socket that is closed is forgotten at once, its SYN never retransmitted
     * (Linux: tcp_close_state() takes it straight to CLOSE). Lingering is turned off first: a
     * close with SO_LINGER {1, 0} counts TCPAbortOnData on Linux (measured on 6.18), and the
     * executor's own step must not show in the script's counter() results. As the Python
     * kernel executor's Executor._abandon(). */
    struct linger l = {0, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

/* ======================================================================== small files */

LSN_UNUSED static int read_text(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    ssize_t r = read(fd, buf, n - 1);
    int e = errno;
    close(fd);
    if (r < 0)
        return e;
    buf[r] = '\0';
    return 0;
}

LSN_UNUSED static int write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    ssize_t w = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    return w < 0 ? e : 0;
}

/* Known answer: SO_ACCEPTCONN is 1 on a socket that listens (gVisor 2022-12 says 0 for an
 * AF_UNIX listener; netstat() then cannot tell a listener from a socket that is not one). */
LSN_UNUSED static int acceptconn_ok(int fd, const char *family, char *why, size_t n)
{
    int v = -1;
    socklen_t len = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) < 0)
        snprintf(why, n, "SO_ACCEPTCONN fails on an %s listener: %s", family, strerror(errno));
    else if (v != 1)
        snprintf(why, n, "SO_ACCEPTCONN reads %d for an %s listener (the known answer is 1)", v,
                 family);
    else
        return 1;
    return 0;
}

/* ======================================================================== Linux */

#if defined(LSN_LINUX)

#define IPV4_SYSCTL "/proc/sys/net/ipv4/"
/* Hash buckets for TCP sockets in the script's namespace (listenspec/kernel/netns.py): a
 * namespace made from the initial one shares the host's established hash, and every dump of
 * request sockets walks all of it; one made from a namespace whose tcp_child_ehash_entries is
 * set gets a small table of its own (Linux 5.19+). The limits the kernel derives from the
 * table's size are set back to what a namespace sharing the global table gets. */
#define CHILD_EHASH_ENTRIES "1024"
#define LSN_TCP_ESTABLISHED 1
#define LSN_TCP_SYN_SENT 2
#define LSN_TCP_SYN_RECV 3
#define LSN_TCP_CLOSE 7
#define LSN_TCP_LISTEN 10

static int link_up(const char *ifname)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0 && !(ifr.ifr_flags & IFF_UP)) { /* already up (gVisor's lo): nothing to do */
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    int e = rc < 0 ? errno : 0;
    close(s);
    return e;
}

/* Move this process into a new network namespace with `lo` up; 0, or an errno with *step
 * naming what failed (so that a failure to bring up `lo` is not reported as unshare's). */
static int enter_netns(const char **step)
{
    char map[64];
    int e;
    *step = "unshare(CLONE_NEWUSER)";
    if (geteuid() != 0) { /* become root of a user namespace mapped to our own ids */
        uid_t uid = geteuid();
        gid_t gid = getegid();
        if (unshare(CLONE_NEWUSER) < 0)
            return errno;
        *step = "the user namespace's id maps";
        if ((e = write_text("/proc/self/setgroups", "deny")) != 0)
            return e;
        snprintf(map, sizeof map, "0 %ld 1", (long)uid);
        if ((e = write_text("/proc/self/uid_map", map)) != 0)
            return e;
        snprintf(map, sizeof map, "0 %ld 1", (long)gid);
        if ((e = write_text("/proc/self/gid_map", map)) != 0)
            return e;
    }
    *step = "unshare(CLONE_NEWNET)";
    if (unshare(CLONE_NEWNET) < 0)
        return errno;
    char syn_backlog[64], tw_buckets[64];
    if (read_text(IPV4_SYSCTL "tcp_max_syn_backlog", syn_backlog, sizeof syn_backlog) == 0
        && read_text(IPV4_SYSCTL "tcp_max_tw_buckets", tw_buckets, sizeof tw_buckets) == 0
        && write_text(IPV4_SYSCTL "tcp_child_ehash_entries", CHILD_EHASH_ENTRIES) == 0) {
        if (unshare(CLONE_NEWNET) < 0)
            return errno;
        write_text(IPV4_SYSCTL "tcp_max_syn_backlog", syn_backlog);
        write_text(IPV4_SYSCTL "tcp_max_tw_buckets", tw_buckets);
    }
    /* no TCP metrics, as listenspec/kernel/netns.py: an earlier connection would make every
     * later 127.0.0.1 peer "proven" (tcp_peer_is_proven(): exempt from tcp_max_syn_backlog's
     * last quarter) and seed later RTOs; best effort (a kernel without it saves none) */
    write_text(IPV4_SYSCTL "tcp_no_metrics_save", "1");
    *step = "bringing up lo (SIOCSIFFLAGS)";
    return link_up("lo");
}

static int so_error(int fd);

/* Known answer for a namespace: scripts reach a listener at the address it has, so in a new
 * namespace a connect must complete to a listener bound to 127.0.0.1 and to one that listen()
 * bound by itself (0.0.0.0:port). A sandbox may make the namespace, with `lo` flagged up, and
 * route nothing in it (gVisor 2022-12: EHOSTUNREACH for 0.0.0.0). 0 or an errno. */
static int connect_works(int bind_first)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int e = 0, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0 || c < 0 || (bind_first && bind(s, (struct sockaddr *)&a, sizeof a) < 0)
        || listen(s, 1) < 0 || getsockname(s, (struct sockaddr *)&a, &len) < 0)
        e = errno;
    else if (connect(c, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS)
        e = errno;
    else {
        struct pollfd p = {c, POLLOUT, 0};
        e = poll(&p, 1, 1000) == 1 ? so_error(c) : ETIMEDOUT;
    }
    if (s >= 0)
        close(s);
    if (c >= 0)
        close(c);
    return e;
}

/* ------------------------------------------------------------------------ sock_diag */

typedef void (*diag_cb)(const struct nlmsghdr *h, void *ctx);

/* One SOCK_DIAG_BY_FAMILY dump; 0 or an errno. Every wait is bounded (1 s a message). */
static int diag_dump(const void *req, size_t reqlen, diag_cb cb, void *ctx)
{
    if (P.diag < 0) {
        P.diag = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        if (P.diag < 0)
            return errno;
    }
    struct {
        struct nlmsghdr h;
        char body[128];
    } msg;
    memset(&msg, 0, sizeof msg);
    msg.h.nlmsg_len = (unsigned)NLMSG_LENGTH(reqlen);
    msg.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    msg.h.nlmsg_seq = ++P.seq;
    memcpy(NLMSG_DATA(&msg.h), req, reqlen);
    struct sockaddr_nl nl;
    memset(&nl, 0, sizeof nl);
    nl.nl_family = AF_NETLINK;
    if (sendto(P.diag, &msg, msg.h.nlmsg_len, 0, (struct sockaddr *)&nl, sizeof nl) < 0)
        return errno;
    static char buf[65536];
    for (;;) {
        struct pollfd p = {P.diag, POLLIN, 0};
        if (poll(&p, 1, 1000) <= 0)
            return ETIMEDOUT;
        ssize_t n = recv(P.diag, buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != P.seq)
                continue;
            if (h->nlmsg_type == NLMSG_DONE)
                return 0;
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *err = NLMSG_DATA(h);
                return err->error ? -err->error : 0;
            }
            cb(h, ctx);
        }
    }
}

struct inet_find {
    unsigned long ino;
    int found;
    unsigned rq, wq;
    unsigned short sport;
    unsigned src[4];
    int family;
    int incq;
    struct inet_listener { /* every listener of the dump: who shares the port */
        unsigned short sport;
        unsigned src[4];
    } *all;
    size_t nall;
};

static void on_listener(const struct nlmsghdr *h, void *ctx)
{
    struct inet_find *f = ctx;
    const struct inet_diag_msg *m = NLMSG_DATA(h);
    f->all = xrealloc(f->all, (f->nall + 1) * sizeof *f->all);
    f->all[f->nall].sport = m->id.idiag_sport;
    memcpy(f->all[f->nall++].src, m->id.idiag_src, sizeof f->all[0].src);
    if (m->idiag_inode == f->ino) {
        f->found = 1;
        f->rq = m->idiag_rqueue;
        f->wq = m->idiag_wqueue;
        f->sport = m->id.idiag_sport;
        memcpy(f->src, m->id.idiag_src, sizeof f->src);
    }
}

static void on_request(const struct nlmsghdr *h, void *ctx)
{
    /* Request sockets carry no inode; they belong to the listener on their local address and
     * port (a wildcard listener owns every local address on that port). */
    struct inet_find *f = ctx;
    const struct inet_diag_msg *m = NLMSG_DATA(h);
    size_t n = f->family == AF_INET ? 4 : 16;
    static const unsigned zero[4];
    int wildcard = memcmp(f->src, zero, n) == 0;
    if (m->id.idiag_sport == f->sport && (wildcard || memcmp(m->id.idiag_src, f->src, n) == 0))
        f->incq++;
}

/* qlen/incqlen/maxqlen of a TCP listener: 0, -1 (not in the dump), -2 (*sharing listeners
 * share its port), or an errno. */
static int inet_queue(int fd, int family, int q[3], int *sharing)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return errno;
    struct inet_find f;
    memset(&f, 0, sizeof f);
    f.ino = (unsigned long)st.st_ino;
    f.family = family;
    struct inet_diag_req_v2 req;
    memset(&req, 0, sizeof req);
    req.sdiag_family = (unsigned char)family;
    req.sdiag_protocol = IPPROTO_TCP;
    req.idiag_states = 1u << LSN_TCP_LISTEN;
    int e = diag_dump(&req, sizeof req, on_listener, &f);
    if (e == 0 && !f.found)
        e = -1;
    /* SO_REUSEPORT: which member a half-open request belongs to is not in the dump, but where
     * the port has none, each member has none (as the Python executor,
     * listenspec/kernel/diag.py) */
    size_t n = family == AF_INET ? 4 : 16;
    static const unsigned zero[4];
    int wildcard = memcmp(f.src, zero, n) == 0;
    *sharing = 0;
    for (size_t i = 0; e == 0 && i < f.nall; i++)
        if (f.all[i].sport == f.sport && (wildcard || memcmp(f.all[i].src, f.src, n) == 0
                                          || memcmp(f.all[i].src, zero, n) == 0))
            ++*sharing;
    free(f.all);
    if (e)
        return e;
    if (*sharing > 1)
        memset(f.src, 0, sizeof f.src); /* count every request on the port */
    req.idiag_states = 1u << LSN_TCP_SYN_RECV;
    if ((e = diag_dump(&req, sizeof req, on_request, &f)) != 0)
        return e;
    if (*sharing > 1 && f.incq > 0) {
        q[0] = ntohs(f.sport); /* for the message */
        return -2;
    }
    q[0] = (int)f.rq;
    q[1] = f.incq;
    q[2] = (int)f.wq;
    return 0;
}

struct unix_find {
    unsigned long ino;
    int found;
    int rq, wq;
};

static void on_unix(const struct nlmsghdr *h, void *ctx)
{
    struct unix_find *f = ctx;
    const struct unix_diag_msg *m = NLMSG_DATA(h);
    if (m->udiag_ino != f->ino)
        return;
    f->found = 1;
    int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof *m);
    for (const struct nlattr *a = (const void *)(m + 1); len >= (int)sizeof *a
         && a->nla_len >= sizeof *a && (int)a->nla_len <= len;
         len -= NLA_ALIGN(a->nla_len), a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len))) {
        if (a->nla_type == UNIX_DIAG_RQLEN && a->nla_len >= NLA_HDRLEN + sizeof(struct unix_diag_rqlen)) {
            const struct unix_diag_rqlen *rq = (const void *)((const char *)a + NLA_HDRLEN);
            f->rq = (int)rq->udiag_rqueue;
            f->wq = (int)rq->udiag_wqueue;
        }
    }
}

static int unix_queue(int fd, int q[3])
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return errno;
    struct unix_find f = {(unsigned long)st.st_ino, 0, 0, 0};
    struct unix_diag_req req;
    memset(&req, 0, sizeof req);
    req.sdiag_family = AF_UNIX;
    req.udiag_states = 1u << LSN_TCP_LISTEN;
    req.udiag_show = UDIAG_SHOW_RQLEN;
    int e = diag_dump(&req, sizeof req, on_unix, &f);
    if (e)
        return e;
    if (!f.found)
        return -1;
    q[0] = f.rq;
    q[1] = 0;
    q[2] = f.wq;
    return 0;
}

/* Known answers: a listener just made with backlog 3 has nothing queued and a limit of 3. */
static void probe_netstat(const char *unix_dir)
{
    int q[3] = {0, 0, 0}, e, sharing = 0;
    P.probed = 1;
    P.inet_ok = P.unix_ok = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a4;
    memset(&a4, 0, sizeof a4);
    a4.sin_family = AF_INET;
    a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    P.acc_inet_ok = P.acc_unix_ok = 0;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a4, sizeof a4) < 0 || listen(fd, 3) < 0) {
        snprintf(P.inet_why, sizeof P.inet_why, "the probe listener failed: %s", strerror(errno));
        snprintf(P.acc_inet_why, sizeof P.acc_inet_why, "%s", P.inet_why);
    } else if (!(P.acc_inet_ok = acceptconn_ok(fd, "AF_INET", P.acc_inet_why,
                                             sizeof P.acc_inet_why)))
        snprintf(P.inet_why, sizeof P.inet_why, "%s", P.acc_inet_why);
    else if ((e = inet_queue(fd, AF_INET, q, &sharing)) != 0)
        snprintf(P.inet_why, sizeof P.inet_why, "inet_diag %s for a probe listener",
                 e == -2 ? "shows another listener on its port"
                 : e < 0 ? "does not list the socket" : errno_name(e));
    else if (q[0] != 0 || q[1] != 0 || q[2] != 3)
        snprintf(P.inet_why, sizeof P.inet_why, "inet_diag shows %d/%d/%d for a fresh listener "
                 "with backlog 3 (the known answer is 0/0/3)", q[0], q[1], q[2]);
    else
        P.inet_ok = 1;
    if (fd >= 0)
        close(fd);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un au;
    socklen_t aulen = sizeof(sa_family_t); /* just the family: an autobound abstract name */
    memset(&au, 0, sizeof au);
    au.sun_family = AF_UNIX;
    if (unix_dir != NULL) { /* a path where there is one, as the scripts' own names */
        snprintf(au.sun_path, sizeof au.sun_path, "%s/probe", unix_dir);
        aulen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(au.sun_path) + 1);
    }
    if (fd < 0 || bind(fd, (struct sockaddr *)&au, aulen) < 0 || listen(fd, 3) < 0) {
        snprintf(P.unix_why, sizeof P.unix_why, "the probe listener failed: %s", strerror(errno));
        snprintf(P.acc_unix_why, sizeof P.acc_unix_why, "%s", P.unix_why);
    } else if (!(P.acc_unix_ok = acceptconn_ok(fd, "AF_UNIX", P.acc_unix_why,
                                             sizeof P.acc_unix_why)))
        snprintf(P.unix_why, sizeof P.unix_why, "%s", P.acc_unix_why);
    else if ((e = unix_queue(fd, q)) != 0)
        snprintf(P.unix_why, sizeof P.unix_why, "unix_diag %s for a probe listener",
                 e < 0 ? "does not list the socket" : errno_name(e));
    else if (q[0] != 0 || q[2] != 3)
        snprintf(P.unix_why, sizeof P.unix_why, "unix_diag shows %d/%d/%d for a fresh listener "
                 "with backlog 3 (the known answer is 0/0/3)", q[0], q[1], q[2]);
    else
        P.unix_ok = 1;
    if (fd >= 0)
        close(fd);
    if (unix_dir != NULL)
        unlink(au.sun_path);
}

/* ------------------------------------------------------------------------ counters */

struct counter_row {
    char sect[32], field[64];
    long long value;
    int has_value;
};

static size_t read_all(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got + 1 < n) {
        ssize_t r = pread(fd, buf + got, n - 1 - got, (off_t)got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    buf[got] = '\0';
    return got;
}

/* Every counter of the namespace, as (section, field, value) rows. A header line whose next
 * line is not its values line gives rows without values (gVisor's /proc/net/netstat). */
static size_t read_counters(struct counter_row **rows)
{
    static char text[65536];
    size_t n = 0, cap = 0;
    *rows = NULL;
    for (int k = 0; k < 2; k++) {
        if (P.counter_fds[k] < 0)
            continue;
        read_all(P.counter_fds[k], text, sizeof text);
        char *lines[256];
        int nl = 0;
        for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && nl < 256;
             l = strtok_r(NULL, "\n", &save))
            lines[nl++] = l;
        for (int i = 0; i < nl; i++) {
            char *colon = strchr(lines[i], ':');
            if (colon == NULL)
                continue;
            size_t plen = (size_t)(colon - lines[i]);
            char *values = NULL;
            if (i + 1 < nl && strncmp(lines[i + 1], lines[i], plen + 1) == 0)
                values = lines[i + 1] + plen + 1;
            char *hsave = NULL, *vsave = NULL;
            char *hv = colon + 1;
            char *name = strtok_r(hv, " \t", &hsave);
            char *val = values ? strtok_r(values, " \t", &vsave) : NULL;
            for (; name; name = strtok_r(NULL, " \t", &hsave)) {
                if (n == cap)
                    *rows = xrealloc(*rows, (cap = cap * 2 + 64) * sizeof **rows);
                struct counter_row *r = &(*rows)[n++];
                snprintf(r->sect, sizeof r->sect, "%.*s", (int)plen, lines[i]);
                snprintf(r->field, sizeof r->field, "%s", name);
                r->has_value = val != NULL;
                r->value = val ? strtoll(val, NULL, 10) : 0;
                if (val)
                    val = strtok_r(NULL, " \t", &vsave);
            }
            if (values)
                i++;
        }
    }
    return n;
}

/* A counter by field name (`ListenOverflows`: TcpExt first, then Tcp, then the other
 * sections in name order), by nstat name (`TcpExtListenOverflows`) or as `TcpExt.Field`. */
static const struct counter_row *find_counter(const struct counter_row *rows, size_t n,
                                              const char *name)
{
    const struct counter_row *best = NULL;
    int best_rank = 0;
    char full[128];
    for (size_t i = 0; i < n; i++) {
        snprintf(full, sizeof full, "%s.%s", rows[i].sect, rows[i].field);
        if (strcmp(full, name) == 0)
            return &rows[i];
        snprintf(full, sizeof full, "%s%s", rows[i].sect, rows[i].field);
        if (strcmp(full, name) == 0)
            return &rows[i];
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].field, name) != 0)
            continue;
        int rank = strcmp(rows[i].sect, "TcpExt") == 0 ? 1 : strcmp(rows[i].sect, "Tcp") == 0 ? 2 : 3;
        if (best == NULL || rank < best_rank
            || (rank == best_rank && rank == 3 && strcmp(rows[i].sect, best->sect) < 0)) {
            best = &rows[i];
            best_rank = rank;
        }
    }
    return best;
}

static long long listen_drops(void)
{
    if (!P.counters_ok)
        return 0;
    struct counter_row *rows;
    size_t n = read_counters(&rows);
    const struct counter_row *a = find_counter(rows, n, "TcpExt.ListenOverflows");
    const struct counter_row *b = find_counter(rows, n, "TcpExt.ListenDrops");
    long long v = (a ? a->value : 0) * 1000003LL + (b ? b->value : 0);
    free(rows);
    return v;
}

static void open_counters(void)
{
    const char *files[2] = {"/proc/self/net/netstat", "/proc/self/net/snmp"};
    P.counters_ok = 0;
    for (int k = 0; k < 2; k++)
        P.counter_fds[k] = open(files[k], O_RDONLY | O_CLOEXEC);
    if (P.counter_fds[0] < 0) {
        snprintf(P.counters_why, sizeof P.counters_why, "cannot read /proc/self/net/netstat: %s",
                 strerror(errno));
        return;
    }
    struct counter_row *rows;
    size_t n = read_counters(&rows);
    const struct counter_row *lo = find_counter(rows, n, "TcpExt.ListenOverflows");
    if (lo == NULL)
        snprintf(P.counters_why, sizeof P.counters_why,
                 "/proc/self/net/netstat has no TcpExt ListenOverflows");
    else if (!lo->has_value)
        snprintf(P.counters_why, sizeof P.counters_why,
                 "/proc/self/net/netstat lists TcpExt without a line of values");
    else if (P.isolated && lo->value != 0)
        snprintf(P.counters_why, sizeof P.counters_why, "a fresh network namespace shows "
                 "ListenOverflows %lld (the known answer is 0)", lo->value);
    else
        P.counters_ok = 1;
    free(rows);
}

/* ------------------------------------------------------------------------ kernel log */

static void open_kmsg(void)
{
    P.kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (P.kmsg < 0) {
        snprintf(P.kmsg_why, sizeof P.kmsg_why, "cannot read /dev/kmsg: %s", strerror(errno));
        return;
    }
    if (lseek(P.kmsg, 0, SEEK_END) < 0) { /* only records emitted from now on */
        snprintf(P.kmsg_why, sizeof P.kmsg_why, "cannot seek /dev/kmsg: %s", strerror(errno));
        close(P.kmsg);
        P.kmsg = -1;
    }
}

/* Does the message name one of the ports? A port appears as ":41234", "port 41234" or
 * "]:41234" in the kernel's messages (listenspec/kernel/kmsg.py). */
static int names_port(const char *s, size_t n, const int *ports, size_t nports)
{
    for (size_t j = 0; j < n; j++) {
        if (!isdigit((unsigned char)s[j]))
            continue;
        if (!((j > 0 && s[j - 1] == ':') || (j >= 5 && memcmp(s + j - 5, "port ", 5) == 0)))
            continue;
        size_t k = j;
        while (k < n && isdigit((unsigned char)s[k]))
            k++;
        if (k - j <= 5 && !(k < n && (isalnum((unsigned char)s[k]) || s[k] == '_'))) {
            int port = atoi(s + j);
            for (size_t i = 0; i < nports; i++)
                if (ports[i] == port && port != 0)
                    return 1;
        }
        j = k;
    }
    return 0;
}

/* ------------------------------------------------------------------------ syn() */

#define TUN_NAME "lsn0"

static int route_add(void)
{
    int e = 0;
    int s4 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    struct sockaddr_in *dst = (struct sockaddr_in *)&rt.rt_dst, *mask = (struct sockaddr_in *)&rt.rt_genmask;
    dst->sin_family = mask->sin_family = AF_INET;
    inet_pton(AF_INET, "192.0.2.0", &dst->sin_addr);
    inet_pton(AF_INET, "255.255.255.0", &mask->sin_addr);
    rt.rt_flags = RTF_UP;
    rt.rt_dev = (char *)TUN_NAME;
    if (s4 < 0 || ioctl(s4, SIOCADDRT, &rt) < 0)
        e = errno;
    if (s4 >= 0)
        close(s4);
    if (e)
        return e;
    int s6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct in6_rtmsg r6;
    memset(&r6, 0, sizeof r6);
    inet_pton(AF_INET6, "2001:db8:5e::", &r6.rtmsg_dst);
    r6.rtmsg_dst_len = 64;
    r6.rtmsg_metric = 1;
    r6.rtmsg_flags = RTF_UP;
    r6.rtmsg_ifindex = (int)if_nametoindex(TUN_NAME);
    if (s6 < 0 || ioctl(s6, SIOCADDRT, &r6) < 0)
        e = errno;
    if (s6 >= 0)
        close(s6);
    return e;
}

/* The TUN device the peer's address is routed to; 0, or an errno with *what naming the step. */
static int syn_setup(const char **what)
{
    if (P.tun >= 0)
        return 0;
    *what = "/dev/net/tun";
    int tun = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (tun < 0)
        return errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, TUN_NAME);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    int e = 0;
    *what = "TUNSETIFF";
    if (ioctl(tun, TUNSETIFF, &ifr) < 0)
        e = errno;
    /* route_localnet lets a packet from 127.0.0.1 leave through the device (IPv4 refuses a
     * loopback source elsewhere: net/ipv4/route.c __mkroute_output()). */
    if (!e && (*what = "route_localnet",
               e = write_text("/proc/sys/net/ipv4/conf/" TUN_NAME "/route_localnet", "1")) == 0
        && (*what = TUN_NAME " up", e = link_up(TUN_NAME)) == 0)
        *what = "routes", e = route_add();
    if (e) {
        close(tun);
        return e;
    }
    P.tun = tun;
    return 0;
}

static int find_answer(int family, unsigned short lport, unsigned short sport, uint32_t isn)
{
    static unsigned char pkt[65536];
    for (;;) {
        ssize_t n = read(P.tun, pkt, sizeof pkt);
        if (n <= 0)
            return -1;
        int flags = syn_answer(pkt, (size_t)n, family, lport, sport, isn);
        if (flags >= 0)
            return flags;
    }
}

static void be_syn(const struct sockaddr *addr, socklen_t alen, struct sbuf *out)
{
    (void)alen;
    const char *what = "";
    int e = syn_setup(&what);
    if (e) {
        r_unsupported(out, "syn() is not supported by the C executor here: %s (%s)", strerror(e),
                      what);
        return;
    }
    int family = addr->sa_family;
    unsigned char src[16], dst[16], pkt[64];
    unsigned short dport;
    syn_addresses(addr, src, dst, &dport);
    unsigned short sport = (unsigned short)P.next_port;
    P.next_port = 20000 + (P.next_port - 20000 + 1) % 40000;
    uint32_t isn = (uint32_t)random() << 1 ^ (uint32_t)random();
    size_t n = syn_packet(family, src, dst, sport, dport, isn, pkt);
    int *raw = family == AF_INET ? &P.raw4 : &P.raw6;
    if (*raw < 0) /* IPPROTO_RAW: the header is ours (IP_HDRINCL / IPV6_HDRINCL implied) */
        *raw = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
    if (*raw < 0) {
        r_unsupported(out, "syn() is not supported by the C executor here: %s (raw socket)",
                      strerror(errno));
        return;
    }
    while (find_answer(family, dport, sport, isn) >= 0) /* drain what is queued */
        ;
    struct sockaddr_storage to;
    memset(&to, 0, sizeof to);
    socklen_t tolen;
    if (family == AF_INET) {
        struct sockaddr_in *t = (void *)&to;
        t->sin_family = AF_INET;
        memcpy(&t->sin_addr, dst, 4);
        tolen = sizeof *t;
    } else {
        struct sockaddr_in6 *t = (void *)&to;
        t->sin6_family = AF_INET6;
        memcpy(&t->sin6_addr, dst, 16);
        tolen = sizeof *t;
    }
    long long before = listen_drops();
    if (sendto(*raw, pkt, n, 0, (struct sockaddr *)&to, tolen) < 0) {
        r_unsupported(out, "syn() is not supported by the C executor here: %s (sendto)",
                      strerror(errno));
        return;
    }
    long long deadline = now_ms() + ANSWER_WAIT_MS;
    for (;;) {
        int flags = find_answer(family, dport, sport, isn);
        if (flags >= 0) {
            if ((flags & TH_SYN) && (flags & TH_ACK)) {
                r_int(out, 0);
                return;
            }
            if (flags & TH_RST) { /* nobody listens there */
                r_err(out, ECONNREFUSED);
                return;
            }
        }
        /* No answer: dropped, positively when ListenOverflows/ListenDrops moved (linux.md §2
         * tcp_conn_request()), otherwise after a bounded wait. */
        if (listen_drops() != before || now_ms() >= deadline) {
            r_err(out, EINPROGRESS);
            return;
        }
        struct pollfd p = {P.tun, POLLIN, 0};
        poll(&p, 1, 10);
    }
}

/* ------------------------------------------------------------------------ connect */

static int tcp_state(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 || len < 1)
        return LSN_TCP_CLOSE;
    return ti.tcpi_state;
}

static void wait_for(int fd, short events, long long ms)
{
    if (ms <= 0)
        return;
    struct pollfd p = {fd, events, 0};
    poll(&p, 1, ms < 1 ? 1 : (int)ms);
}

static int so_error(int fd)
{
    int v = 0;
    socklen_t len = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &len) < 0)
        return errno;
    return v;
}

/* The settled outcome of a TCP connect that returned EINPROGRESS, as the Python executor's
 * _settle: loopback completes a handshake inside the connect() call, and a SYN to a full queue
 * is dropped inside it too, moving the drop counters at once. */
static int settle_linux(int fd, long long before, struct sbuf *out)
{
    long long deadline = now_ms() + SETTLE_WAIT_MS;
    for (;;) {
        int state = tcp_state(fd);
        if (state == LSN_TCP_SYN_SENT) {
            if (listen_drops() != before || now_ms() >= deadline) {
                r_err(out, EINPROGRESS);
                return 1;
            }
            long long left = deadline - now_ms();
            wait_for(fd, POLLOUT, left < 10 ? left : 10);
            continue;
        }
        /* The final ACK overflowed the queue (tcp_check_req()); with tcp_abort_on_overflow=1
         * a RST follows: give it a moment to arrive. */
        if (state == LSN_TCP_ESTABLISHED && listen_drops() != before)
            wait_for(fd, POLLERR | POLLHUP, RESET_GRACE_MS);
        int pending = so_error(fd);
        if (pending) {
            r_err(out, pending);
            return 0;
        }
        if (tcp_state(fd) == LSN_TCP_CLOSE) {
            r_err(out, ECONNABORTED);
            return 0;
        }
        r_int(out, 0);
        return 0;
    }
}

#endif /* LSN_LINUX */

/* ======================================================================== FreeBSD */

#if defined(LSN_FREEBSD)
static void probe_netstat(const char *unix_dir)
{
    (void)unix_dir;
    /* Known answer: a listener just made with backlog 3 reports 0 queued and a limit of 3. */
    P.probed = 1;
    P.inet_ok = P.unix_ok = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a4;
    memset(&a4, 0, sizeof a4);
    a4.sin_family = AF_INET;
    a4.sin_len = sizeof a4;
    a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int q = -1, inc = -1, lim = -1;
    socklen_t l = sizeof q;
    P.acc_inet_ok = P.acc_unix_ok = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a4, sizeof a4) == 0 && listen(fd, 3) == 0)
        P.acc_inet_ok = P.acc_unix_ok = acceptconn_ok(fd, "AF_INET", P.acc_inet_why,
                                                      sizeof P.acc_inet_why);
    snprintf(P.acc_unix_why, sizeof P.acc_unix_why, "%s", P.acc_inet_why);
    if (fd < 0 || !P.acc_inet_ok
        || getsockopt(fd, SOL_SOCKET, SO_LISTENQLEN, &q, &l) < 0
        || (l = sizeof inc, getsockopt(fd, SOL_SOCKET, SO_LISTENINCQLEN, &inc, &l)) < 0
        || (l = sizeof lim, getsockopt(fd, SOL_SOCKET, SO_LISTENQLIMIT, &lim, &l)) < 0)
        snprintf(P.inet_why, sizeof P.inet_why, "SO_LISTENQLEN probe failed: %s", strerror(errno));
    else if (q != 0 || inc != 0 || lim != 3)
        snprintf(P.inet_why, sizeof P.inet_why, "SO_LISTENQLEN & co. show %d/%d/%d for a fresh "
                 "listener with backlog 3 (the known answer is 0/0/3)", q, inc, lim);
    else
        P.inet_ok = P.unix_ok = 1;
    if (!P.unix_ok)
        snprintf(P.unix_why, sizeof P.unix_why, "%s", P.inet_why);
    if (fd >= 0)
        close(fd);
}
#endif

#if defined(LSN_SYSCTLBYNAME)
/* sysctlbyname() read: an int (4 bytes), a 64-bit value (8 bytes) or a NUL-terminated
 * string; the size tells them apart (a 4- or 8-byte string ending in its NUL is read as one). */
static void sysctl_value(const unsigned char *raw, size_t len, struct sbuf *out)
{
    size_t nul = 0;
    while (nul < len && raw[nul] != '\0' && isprint(raw[nul]))
        nul++;
    if (len > 0 && nul == len - 1 && raw[nul] == '\0' && (len != 4 && len != 8 ? 1 : nul > 0)) {
        sb_quote(out, raw, nul);
    } else if (len == sizeof(int)) {
        int v;
        memcpy(&v, raw, sizeof v);
        r_int(out, v);
    } else if (len == sizeof(int64_t)) {
        int64_t v;
        memcpy(&v, raw, sizeof v);
        r_int(out, (long long)v);
    } else {
        r_unsupported(out, "sysctl: a value of %zu bytes that is neither an integer nor a "
                           "string", len);
    }
}
#endif

/* ======================================================================== the backend hooks */

static void be_describe(struct sbuf *stack, struct sbuf *observes, struct sbuf *notes)
{
    struct utsname u;
    if (uname(&u) == 0)
        sb_printf(stack, "%s %s via POSIX sockets (C executor%s)", u.sysname, u.release,
#if defined(LSN_PORTABLE)
                  ", portable build"
#else
                  ""
#endif
        );
    else
        sb_puts(stack, "POSIX sockets (C executor)");
#if defined(LSN_LINUX)
    sb_puts(observes,
            "\"netstat\": \"sock_diag netlink (inet_diag, unix_diag), trusted after a backlog-3 "
            "listener shows 0/0/3\", \"counter\": \"/proc/self/net/netstat and snmp of the "
            "script's namespace\", \"syslog\": \"/dev/kmsg from the script's start, lines naming "
            "its ports\", \"sysctl\": \"/proc/sys; writes only under net.*, in the script's "
            "private namespace\"");
    if (P.can_isolate && geteuid() == 0)
        sb_puts(notes, "each script in a forked process in its own private network namespace "
                       "(unshare), loopback only");
    else if (P.can_isolate)
        sb_puts(notes, "each script in a forked process in its own private network namespace "
                       "inside a user namespace (not root), loopback only; syn() needs root "
                       "(/dev/net/tun)");
    else
        sb_printf(notes, "current network namespace (%s): sysctl writes%s and syn() are refused, "
                         "host limits are never changed",
                  P.why_not, g_allow_host_sysctl ? " (allowed by --allow-host-sysctl)" : "");
#elif defined(LSN_FREEBSD)
    sb_puts(observes, "\"netstat\": \"SO_LISTENQLEN, SO_LISTENINCQLEN, SO_LISTENQLIMIT\", "
                      "\"sysctl\": \"sysctlbyname\", \"counter\": "
#if defined(__FreeBSD__)
                      "\"net.inet.tcp.stats (struct tcpstat)\""
#else
                      "null"
#endif
                      ", \"syslog\": null");
    sb_puts(notes, g_allow_host_sysctl ? "the host's own stack; sysctl writes allowed "
                                         "(--allow-host-sysctl) and restored after each script"
                                       : "the host's own stack; sysctl writes are refused "
                                         "(--allow-host-sysctl allows them)");
#else
    sb_puts(observes, "\"netstat\": null, \"counter\": null, \"syslog\": null, \"sysctl\": "
#if defined(LSN_SYSCTLBYNAME)
                      "\"sysctlbyname\""
#else
                      "null"
#endif
    );
    sb_puts(notes, "only what POSIX offers: netstat(), counter() and syslog() are unsupported");
#endif
}

static void be_process_start(void)
{
#if defined(LSN_LINUX)
    if (g_no_isolate) {
        snprintf(P.why_not, sizeof P.why_not, "isolation not requested (--no-isolate)");
        return;
    }
    /* Only trying tells (a container may refuse unshare even to root; a system may forbid
     * user namespaces): try in a throw-away child. */
    int fds[2];
    if (pipe(fds) < 0) {
        snprintf(P.why_not, sizeof P.why_not, "pipe: %s", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        const char *step = "";
        int e = enter_netns(&step);
        /* in the throw-away probe only: a script's namespace starts untouched */
        if (e == 0 && (e = connect_works(1)) != 0)
            step = "a connect to 127.0.0.1 in the new namespace";
        else if (e == 0 && (e = connect_works(0)) != 0)
            step = "a connect to an autobound listener (0.0.0.0) in the new namespace";
        if (e)
            (void)!write(fds[1], step, strlen(step));
        _exit(e & 0xff);
    }
    close(fds[1]);
    char step[100] = "";
    ssize_t n = pid > 0 ? read(fds[0], step, sizeof step - 1) : 0;
    step[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    int status = 0;
    while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        P.can_isolate = 1;
        return;
    }
    snprintf(P.why_not, sizeof P.why_not, "%s failed (%s): %s", step[0] ? step : "fork",
             geteuid() == 0 ? "root" : "not root, unprivileged user namespace",
             pid < 0 ? strerror(errno) : WIFEXITED(status) ? errno_name(WEXITSTATUS(status))
                                                           : "the probe was killed");
#endif
}

static void be_script_begin(const char *unix_dir)
{
    (void)unix_dir; /* the netstat probe's AF_UNIX listener is made there */
    P.isolated = 0;
    P.probed = 0;
    P.nrestore = 0;
#if defined(LSN_LINUX)
    P.diag = P.kmsg = P.tun = P.raw4 = P.raw6 = -1;
    P.counter_fds[0] = P.counter_fds[1] = -1;
    P.next_port = 20000;
    P.reuseport = 0;
    P.kmsg_why[0] = '\0';
    srandom((unsigned)(time(NULL) ^ (getpid() << 8)));
    if (P.can_isolate) {
        const char *step = "";
        int e = enter_netns(&step);
        if (e == 0) {
            P.isolated = 1;
        } else {
            fprintf(stderr, "listenspec-exec: no private network namespace for this script: "
                            "%s: %s\n", step, errno_name(e));
        }
    }
    open_counters();
    open_kmsg();
    if (!P.isolated && P.counters_ok) {
        struct counter_row *rows;
        size_t n = read_counters(&rows);
        P.baseline = xrealloc(NULL, (n ? n : 1) * sizeof *P.baseline);
        P.nbaseline = 0;
        for (size_t i = 0; i < n; i++) {
            char full[128];
            snprintf(full, sizeof full, "%s.%s", rows[i].sect, rows[i].field);
            P.baseline[P.nbaseline].name = xstrndup(full, strlen(full));
            P.baseline[P.nbaseline++].value = rows[i].value;
        }
        free(rows);
    }
#endif
#if defined(LSN_LINUX) || defined(LSN_FREEBSD)
    probe_netstat(unix_dir); /* now, in the script's fresh namespace, before it can change a limit */
#endif
}

static void be_script_end(struct sbuf *note)
{
#if defined(LSN_LINUX)
    int *fds[] = {&P.diag, &P.kmsg, &P.tun, &P.raw4, &P.raw6, &P.counter_fds[0], &P.counter_fds[1]};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
#endif
    for (size_t i = 0; i < P.nbaseline; i++)
        free(P.baseline[i].name);
    free(P.baseline);
    P.baseline = NULL;
    P.nbaseline = 0;
    /* Values written outside a private namespace (--allow-host-sysctl): put back, newest
     * first, saying which could not be. */
    for (int i = P.nrestore - 1; i >= 0; i--) {
        int e = 0;
#if defined(LSN_LINUX)
        e = write_text(P.restore[i].name, P.restore[i].old);
#elif defined(LSN_SYSCTLBYNAME)
        if (sysctlbyname(P.restore[i].name, NULL, NULL, P.restore[i].old, P.restore[i].len) < 0)
            e = errno;
#endif
        if (e)
            sb_printf(note, "%scould not restore %s (%s)", note->len ? "; " : "",
                      P.restore[i].name, errno_name(e));
        free(P.restore[i].name);
        free(P.restore[i].old);
    }
    P.nrestore = 0;
    (void)note;
}

static int be_connect(int fd, const struct sockaddr *addr, socklen_t len, struct sbuf *out)
{
#if defined(LSN_LINUX)
    long long before = listen_drops();
#endif
    if (connect(fd, addr, len) == 0) {
        r_int(out, 0);
        return 0;
    }
    if (errno != EINPROGRESS) {
        r_err(out, errno);
        return 0;
    }
#if defined(LSN_LINUX)
    return settle_linux(fd, before, out);
#else
    return settle_by_poll(fd, poll, out);
#endif
}

static void be_netstat(int fd, struct sbuf *out)
{
#if defined(LSN_LINUX) || defined(LSN_FREEBSD)
    int listening = 0, family = 0;
    socklen_t len = sizeof listening;
#if defined(SO_DOMAIN)
    socklen_t flen = sizeof family;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &flen) < 0) {
        r_err(out, errno);
        return;
    }
#else
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        r_err(out, errno);
        return;
    }
    family = ss.ss_family;
#endif
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0) {
        r_err(out, errno);
        return;
    }
    if (!(family == AF_UNIX ? P.acc_unix_ok : P.acc_inet_ok)) {
        r_unsupported(out, "netstat: %s", family == AF_UNIX ? P.acc_unix_why : P.acc_inet_why);
        return;
    }
    if (!listening) {
        sb_puts(out, "0/0/0");
        return;
    }
    int unix_family = family == AF_UNIX;
    if (!(unix_family ? P.unix_ok : P.inet_ok)) {
        r_unsupported(out, "netstat: %s", unix_family ? P.unix_why : P.inet_why);
        return;
    }
    int q[3] = {0, 0, 0};
#if defined(LSN_LINUX)
    int e, sharing = 0;
    if (family == AF_INET || family == AF_INET6)
        e = inet_queue(fd, family, q, &sharing);
    else if (unix_family)
        e = unix_queue(fd, q);
    else {
        r_unsupported(out, "netstat: no socket diagnostics for address family %d", family);
        return;
    }
    if (e == -2) {
        r_unsupported(out, "netstat: %d listeners share port %d (SO_REUSEPORT) and it has "
                           "half-open requests, which name no listener, so incqlen is not "
                           "observable", sharing, q[0]);
        return;
    }
    if (e) {
        r_unsupported(out, "netstat: %s", e < 0 ? (unix_family ? "listener not in the unix_diag dump"
                                                               : "listener not in the inet_diag dump")
                                                : errno_name(e));
        return;
    }
#else
    int opts[3] = {SO_LISTENQLEN, SO_LISTENINCQLEN, SO_LISTENQLIMIT};
    for (int i = 0; i < 3; i++) {
        socklen_t l = sizeof q[i];
        if (getsockopt(fd, SOL_SOCKET, opts[i], &q[i], &l) < 0) {
            r_err(out, errno);
            return;
        }
    }
#endif
    sb_printf(out, "%d/%d/%d", q[0], q[1], q[2]);
#else
    (void)fd;
    r_unsupported(out, "netstat: this platform offers no listen-queue observation the C executor "
                       "knows (Linux: sock_diag; FreeBSD, DragonFly: SO_LISTENQLEN)");
#endif
}

#if defined(LSN_LINUX)
/* Whether net.ipv4.tcp_migrate_req may be on: a closed SO_REUSEPORT listener then hands its
 * connections to another member of its group (absent: off). */
static int migrate_req_on(void)
{
    char buf[64];
    int e = read_text("/proc/sys/net/ipv4/tcp_migrate_req", buf, sizeof buf);
    if (e != 0)
        return e != ENOENT; /* unreadable otherwise: it may be on (as the Python executor) */
    return strtol(buf, NULL, 10) != 0;
}
#endif

static void be_counter(const char *name, struct sbuf *out)
{
#if defined(LSN_LINUX)
    if (!P.counters_ok) {
        r_unsupported(out, "counter: %s", P.counters_why);
        return;
    }
    /* As the Python kernel executor (listenspec/kernel/executor.py, HASHED_COUNTERS): which
     * member of an SO_REUSEPORT group each SYN reached is the group's hash of the ports this
     * run drew, so what a closed member migrates varies from run to run. */
    if (P.reuseport && (strcmp(name, "TCPMigrateReqSuccess") == 0 ||
                        strcmp(name, "TCPMigrateReqFailure") == 0) && migrate_req_on()) {
        r_unsupported(out, "counter: %s counts the connections of a closed listener of an "
                           "SO_REUSEPORT group, and which member each SYN reached is the "
                           "group's hash of the ports this run drew", name);
        return;
    }
    struct counter_row *rows;
    size_t n = read_counters(&rows);
    const struct counter_row *r = find_counter(rows, n, name);
    if (r == NULL) {
        r_err(out, ENOENT); /* this kernel has no such counter */
    } else if (!r->has_value) {
        r_unsupported(out, "counter: %s %s is listed without a value", r->sect, r->field);
    } else {
        long long v = r->value;
        if (!P.isolated) {
            /* The host namespace's counters also count everything else that ever happened
             * there: report the change since this script started. */
            char full[128];
            snprintf(full, sizeof full, "%s.%s", r->sect, r->field);
            for (size_t i = 0; i < P.nbaseline; i++)
                if (strcmp(P.baseline[i].name, full) == 0)
                    v -= P.baseline[i].value;
        }
        r_int(out, v);
    }
    free(rows);
#elif defined(LSN_FREEBSD) && defined(__FreeBSD__)
    static const struct {
        const char *name;
        size_t offset;
    } FIELDS[] = {
#define F(x) {#x, offsetof(struct tcpstat, x)}
        F(tcps_listendrop), F(tcps_connattempt), F(tcps_accepts), F(tcps_connects),
        F(tcps_drops), F(tcps_conndrops), F(tcps_sc_added), F(tcps_sc_retransmitted),
        F(tcps_sc_dupsyn), F(tcps_sc_dropped), F(tcps_sc_completed), F(tcps_sc_bucketoverflow),
        F(tcps_sc_cacheoverflow), F(tcps_sc_reset), F(tcps_sc_stale), F(tcps_sc_aborted),
        F(tcps_sc_badack), F(tcps_sc_unreach), F(tcps_sc_zonefail), F(tcps_sc_sendcookie),
        F(tcps_sc_recvcookie),
#undef F
    };
    struct tcpstat ts;
    size_t len = sizeof ts;
    for (size_t i = 0; i < sizeof FIELDS / sizeof FIELDS[0]; i++) {
        if (strcmp(FIELDS[i].name, name) != 0)
            continue;
        if (sysctlbyname("net.inet.tcp.stats", &ts, &len, NULL, 0) < 0) {
            r_unsupported(out, "counter: net.inet.tcp.stats: %s", strerror(errno));
            return;
        }
        uint64_t v;
        memcpy(&v, (char *)&ts + FIELDS[i].offset, sizeof v);
        r_int(out, (long long)v); /* the host's count since boot (no per-run namespace) */
        return;
    }
    r_err(out, ENOENT);
#else
    (void)name;
    r_unsupported(out, "counter: no protocol statistics this executor knows on this platform");
#endif
}

static void be_syslog(const int *ports, size_t nports, struct sbuf *out)
{
#if defined(LSN_LINUX)
    if (P.kmsg < 0) {
        r_unsupported(out, "syslog(): %s", P.kmsg_why);
        return;
    }
    struct sbuf lines = {0};
    int count = 0;
    char rec[8192];
    for (;;) {
        ssize_t n = read(P.kmsg, rec, sizeof rec - 1);
        if (n < 0 && errno == EPIPE) /* records were overwritten; go on with the next */
            continue;
        if (n <= 0)
            break;
        rec[n] = '\0';
        char *text = memchr(rec, ';', (size_t)n); /* "prio,seq,usec,flags;text\n KEY=v..." */
        if (text == NULL)
            continue;
        text++;
        size_t len = strcspn(text, "\n");
        while (len > 0 && isspace((unsigned char)text[len - 1]))
            len--;
        if (!names_port(text, len, ports, nports))
            continue;
        sb_puts(&lines, count++ ? ", " : "");
        sb_quote(&lines, (unsigned char *)text, len);
    }
    sb_printf(out, "[%s]", lines.p ? lines.p : "");
    sb_free(&lines);
#else
    (void)ports;
    (void)nports;
    r_unsupported(out, "syslog(): the C executor reads the kernel log on Linux only");
#endif
}

static int be_syn_refused(struct sbuf *out)
{
#if defined(LSN_LINUX)
    if (P.isolated)
        return 0;
    r_unsupported(out, "syn() is not supported by the C executor outside a private network "
                       "namespace: it adds a TUN device and routes for the half-open peer");
    return 1;
#else
    r_unsupported(out, "syn() is not supported by the C executor on this platform");
    return 1;
#endif
}

#if !defined(LSN_LINUX)
static void be_syn(const struct sockaddr *addr, socklen_t len, struct sbuf *out)
{
    (void)addr;
    (void)len;
    r_unsupported(out, "syn() is not supported by the C executor on this platform");
}
#endif

static void be_sysctl(const struct arg *name, const struct arg *value, struct sbuf *out)
{
    const char *n = name->utf8;
#if defined(LSN_LINUX)
    /* a.b.c -> /proc/sys/a/b/c; an empty part or a '/' would leave the mapping (and could
     * escape it), so such a name exists nowhere: ENOENT, as listenspec/kernel/sysctl.py. */
    char path[PATH_MAX];
    size_t plen = (size_t)snprintf(path, sizeof path, "/proc/sys/");
    int bad = n[0] == '\0' || name->un != strlen(n);
    for (const char *p = n; *p && !bad; p++) {
        if (*p == '/' || (*p == '.' && (p == n || p[1] == '\0' || p[1] == '.')))
            bad = 1;
        if (plen + 2 >= sizeof path)
            bad = 1;
        else
            path[plen++] = *p == '.' ? '/' : *p;
    }
    path[plen] = '\0';
    if (bad) {
        r_err(out, ENOENT);
        return;
    }
    if (value == NULL) {
        char buf[4096];
        int e = read_text(path, buf, sizeof buf);
        if (e) {
            r_err(out, e);
            return;
        }
        size_t b = 0, len = strlen(buf);
        while (b < len && isspace((unsigned char)buf[b]))
            b++;
        while (len > b && isspace((unsigned char)buf[len - 1]))
            len--;
        size_t k = b + (buf[b] == '-' || buf[b] == '+');
        int digits = k < len;
        for (size_t i = k; i < len; i++)
            if (!isdigit((unsigned char)buf[i]))
                digits = 0;
        if (digits) {
            buf[len] = '\0';
            errno = 0;
            long long v = strtoll(buf + b, NULL, 10);
            if (errno == 0) {
                r_int(out, v);
                return;
            }
            if (buf[b] == '-') /* beyond 64 bits: the digits, without leading zeros */
                sb_puts(out, "-");
            while (k + 1 < len && buf[k] == '0')
                k++;
            sb_add(out, buf + k, len - k);
        } else {
            sb_quote(out, (unsigned char *)buf + b, len - b); /* a vector, e.g. tcp_rmem */
        }
        return;
    }
    int under_net = strncmp(path, "/proc/sys/net/", 14) == 0;
    int host = !P.isolated;
    if (host && !g_allow_host_sysctl) {
        if (access(path, F_OK) != 0) {
            r_err(out, ENOENT); /* writing a name that does not exist changes nothing */
            return;
        }
        r_unsupported(out, "sysctl writes need a private network namespace, which this run lacks; "
                           "refused so as not to change the host");
        return;
    }
    if (!under_net) {
        if (access(path, F_OK) != 0) {
            r_err(out, ENOENT);
            return;
        }
        r_unsupported(out, "%s is not per network namespace; refused so as not to change the host",
                      n);
        return;
    }
    if (host && P.nrestore < (int)(sizeof P.restore / sizeof P.restore[0])) {
        char old[4096];
        if (read_text(path, old, sizeof old) == 0) {
            int have = 0;
            for (int i = 0; i < P.nrestore; i++)
                have |= strcmp(P.restore[i].name, path) == 0;
            if (!have) {
                P.restore[P.nrestore].name = xstrndup(path, strlen(path));
                P.restore[P.nrestore].old = xstrndup(old, strlen(old));
                P.restore[P.nrestore++].len = strlen(old);
            }
        }
    } else if (host) {
        r_unsupported(out, "sysctl: too many values to restore; refused");
        return;
    }
    char text[32];
    snprintf(text, sizeof text, "%lld\n", value->i);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        r_err(out, errno);
        return;
    }
    ssize_t w = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    if (w < 0)
        r_err(out, e);
    else
        r_int(out, 0);
#elif defined(LSN_SYSCTLBYNAME)
    unsigned char raw[4096];
    size_t len = sizeof raw;
    if (name->un != strlen(n) || sysctlbyname(n, raw, &len, NULL, 0) < 0) {
        r_err(out, name->un != strlen(n) ? ENOENT : errno);
        return;
    }
    if (value == NULL) {
        sysctl_value(raw, len, out);
        return;
    }
    if (!g_allow_host_sysctl) {
        r_unsupported(out, "sysctl writes would change this host (no private network namespace "
                           "here); refused (--allow-host-sysctl performs them on a machine made "
                           "for the run, restoring each value after the script)");
        return;
    }
    if (P.nrestore >= (int)(sizeof P.restore / sizeof P.restore[0])) {
        r_unsupported(out, "sysctl: too many values to restore; refused");
        return;
    }
    int have = 0;
    for (int i = 0; i < P.nrestore; i++)
        have |= strcmp(P.restore[i].name, n) == 0;
    if (!have) {
        P.restore[P.nrestore].name = xstrndup(n, strlen(n));
        P.restore[P.nrestore].old = xrealloc(NULL, len);
        memcpy(P.restore[P.nrestore].old, raw, len);
        P.restore[P.nrestore++].len = len;
    }
    int v32 = (int)value->i;
    int64_t v64 = value->i;
    int rc = len == sizeof v64 ? sysctlbyname(n, NULL, NULL, &v64, sizeof v64)
                               : sysctlbyname(n, NULL, NULL, &v32, sizeof v32);
    if (rc < 0)
        r_err(out, errno);
    else
        r_int(out, 0);
#else
    (void)n;
    (void)value;
    r_unsupported(out, "sysctl: no system-limit interface this executor knows on this platform");
#endif
}
