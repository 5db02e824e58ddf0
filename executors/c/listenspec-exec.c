/*
 * listenspec-exec: the reference executor of listenspec's script format, in portable C.
 *
 *   cc -O2 -o listenspec-exec listenspec-exec.c
 *   ./listenspec-exec                   speak the executor protocol on stdin/stdout
 *   ./listenspec-exec SCRIPT.lsn        print the script's trace (`LINE = RESULT`)
 *
 * It is the thin adapter listenspec's DESIGN.md asks for: every script call becomes the POSIX
 * socket call SCRIPT_FORMAT.md names, and every result is what the system answered. Nothing is
 * derived from a model; an observation this platform lacks is `unsupported("why")`.
 *
 * The file has two halves. The first is the part every stack shares: the script parser (NAMEs,
 * C ints, strings with C escapes, symbolic constants), the NAME -> descriptor bookkeeping, the
 * mapping of each call onto a small backend interface (`be_*`), the trace printer and the
 * executor protocol (docs/protocol.md). The second is the POSIX backend: plain sockets
 * everywhere; on Linux also sock_diag for netstat(), /proc for counter() and sysctl(),
 * /dev/kmsg for syslog(), a TUN device for syn(), and a private network namespace per script;
 * on FreeBSD and DragonFly SO_LISTENQLEN & co. for netstat() and sysctlbyname() for sysctl().
 * Another stack (see ../lwip/) defines LSN_EXTERNAL_BACKEND, #includes this file, and supplies
 * its own `be_*` functions: one parser, several backends. Build with -DLSN_PORTABLE to get only
 * what POSIX itself offers (what a port to a new system starts from).
 *
 * Every mapping matches listenspec/kernel/executor.py (the Python kernel executor); where a
 * comment says "as the Python executor", the behaviour is pinned by the CI test that compares
 * the two on every example script.
 */

#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* accept4, unshare, pipe2 */
#endif

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#if defined(__linux__)
#include <sys/prctl.h>
#elif defined(__FreeBSD__)
#include <sys/procctl.h>
#endif

#if defined(__linux__) && !defined(LSN_PORTABLE) && !defined(LSN_EXTERNAL_BACKEND)
#define LSN_LINUX 1
#endif
#if (defined(__FreeBSD__) || defined(__DragonFly__)) && !defined(LSN_PORTABLE) \
    && !defined(LSN_EXTERNAL_BACKEND)
#define LSN_FREEBSD 1
#endif
#if (defined(LSN_FREEBSD) || defined(__APPLE__) || defined(__NetBSD__)) \
    && !defined(LSN_PORTABLE) && !defined(LSN_EXTERNAL_BACKEND)
#define LSN_SYSCTLBYNAME 1
#endif
#if defined(__FreeBSD__) || defined(__DragonFly__) || defined(__NetBSD__) \
    || defined(__OpenBSD__) || defined(__APPLE__)
#define LSN_SA_LEN 1 /* struct sockaddr starts with a length byte */
#endif

#if defined(__GNUC__) || defined(__clang__)
#define LSN_UNUSED __attribute__((unused)) /* used by some backends or platforms only */
#else
#define LSN_UNUSED
#endif

#define LSN_PROTOCOL_VERSION 1
#define NOT_OPEN (-1) /* a descriptor that is certainly not open: EBADF before anything else */

/* Bounds on settling a non-blocking connect (SCRIPT_FORMAT.md: "wait until the outcome is
 * settled"), as the Python executor's SETTLE_WAIT and RESET_GRACE. */
#define SETTLE_WAIT_MS 200
#define RESET_GRACE_MS 20
/* The longest single sleep() performed; a longer one is refused, never cut short in secret. */
#define MAX_SLEEP_S 60
/* sizeof(struct accept_filter_arg) on FreeBSD: char af_name[16]; char af_arg[256-16]. */
#define ACCEPT_FILTER_ARG_SIZE 256
#define ACCEPT_FILTER_NAME_SIZE 16

/* ======================================================================== small utilities */

struct sbuf {
    char *p;
    size_t len, cap;
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) {
        fprintf(stderr, "listenspec-exec: out of memory\n");
        exit(1);
    }
    return q;
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = xrealloc(NULL, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
    char small[512];
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(small, sizeof small, fmt, copy);
    va_end(copy);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        sb_add(b, small, (size_t)n);
        return;
    }
    char *big = xrealloc(NULL, (size_t)n + 1);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    sb_add(b, big, (size_t)n);
    free(big);
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(b, fmt, ap);
    va_end(ap);
}

static void sb_clear(struct sbuf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

static void sb_free(struct sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* A C string literal for bytes, escaping exactly what listenspec's parser unescapes (the
 * trace's quote()): \" \\ \n \r \t, and \xHH for other control bytes and bytes >= 0x80. */
static void sb_quote(struct sbuf *b, const unsigned char *s, size_t n)
{
    sb_puts(b, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\')
            sb_printf(b, "\\%c", c);
        else if (c == '\n')
            sb_puts(b, "\\n");
        else if (c == '\r')
            sb_puts(b, "\\r");
        else if (c == '\t')
            sb_puts(b, "\\t");
        else if (c < 0x20 || c >= 0x7f)
            sb_printf(b, "\\x%02x", c);
        else
            sb_add(b, (const char *)&c, 1);
    }
    sb_puts(b, "\"");
}

/* A JSON string (for the handshake). */
static void sb_json(struct sbuf *b, const char *s)
{
    sb_puts(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            sb_printf(b, "\\%c", c);
        else if (c < 0x20)
            sb_printf(b, "\\u%04x", c);
        else
            sb_add(b, (const char *)&c, 1);
    }
    sb_puts(b, "\"");
}

static const struct {
    int code;
    const char *name;
} ERRNAMES[] = {
#include "errnames.h"
};

/* The contract's name for an errno value (EAGAIN, EOPNOTSUPP, ...); E<number> if unnamed. */
static const char *errno_name(int code)
{
    static char other[32];
    for (size_t i = 0; i < sizeof ERRNAMES / sizeof ERRNAMES[0]; i++)
        if (ERRNAMES[i].code == code)
            return ERRNAMES[i].name;
    snprintf(other, sizeof other, "E%d", code);
    return other;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* write(2) all of it; an answer that cannot be written means the driver is gone. */
static void emit(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDOUT_FILENO, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(0);
        s += w;
        n -= (size_t)w;
    }
}

/* ======================================================================== the script format */

/* The calls, in the order listenspec/calls.py declares them. */
enum call_id {
    C_SOCKET, C_BIND, C_LISTEN, C_CONNECT, C_SYN, C_ACCEPT, C_SEND, C_CLOSE, C_RECV, C_SHUTDOWN,
    C_POLL, C_OPEN, C_SETSOCKOPT, C_GETSOCKOPT, C_SYSCTL, C_NETSTAT, C_SLEEP, C_SYSLOG, C_COUNTER,
    C_COUNT
};

/* Argument kinds, as listenspec/calls.py's KINDS:
 * desc: a NAME or a non-negative int literal (also a "target": the address its socket is or
 * was bound to); int: a C int; num: a non-negative decimal; str: a string literal;
 * domain/type/opt/how: a symbolic constant of that group; optval: an int, a string or NULL. */
enum kind { K_DESC = 1, K_INT, K_NUM, K_STR, K_DOMAIN, K_TYPE, K_OPT, K_HOW, K_OPTVAL };

static const struct call_spec {
    const char *name;
    signed char shapes[2][4]; /* up to two argument lists, 0-terminated */
    int binds;                /* returns a descriptor, so may be bound to a NAME */
} CALLS[C_COUNT] = {
    [C_SOCKET] = {"socket", {{K_DOMAIN, K_TYPE}}, 1},
    [C_BIND] = {"bind", {{K_DESC}, {K_DESC, K_DESC}}, 0},
    [C_LISTEN] = {"listen", {{K_DESC, K_INT}}, 0},
    [C_CONNECT] = {"connect", {{K_DESC, K_DESC}}, 0},
    [C_SYN] = {"syn", {{K_DESC}}, 0},
    [C_ACCEPT] = {"accept", {{K_DESC}}, 1},
    [C_SEND] = {"send", {{K_DESC, K_STR}}, 0},
    [C_CLOSE] = {"close", {{K_DESC}}, 0},
    [C_RECV] = {"recv", {{K_DESC}}, 0},
    [C_SHUTDOWN] = {"shutdown", {{K_DESC, K_HOW}}, 0},
    [C_POLL] = {"poll", {{K_DESC}}, 0},
    [C_OPEN] = {"open", {{0}}, 1},
    [C_SETSOCKOPT] = {"setsockopt", {{K_DESC, K_OPT, K_OPTVAL}}, 0},
    [C_GETSOCKOPT] = {"getsockopt", {{K_DESC, K_OPT}}, 0},
    [C_SYSCTL] = {"sysctl", {{K_STR}, {K_STR, K_INT}}, 0},
    [C_NETSTAT] = {"netstat", {{K_DESC}}, 0},
    [C_SLEEP] = {"sleep", {{K_NUM}}, 0},
    [C_SYSLOG] = {"syslog", {{0}}, 0},
    [C_COUNTER] = {"counter", {{K_STR}}, 0},
};

enum opt_id {
    O_ACCEPTCONN, O_ACCEPTFILTER, O_LISTENQLIMIT, O_LISTENQLEN, O_LISTENINCQLEN, O_ERROR,
    O_DEFER_ACCEPT, O_REUSEPORT, O_REUSEPORT_LB, O_LINGER
};

static const struct constant {
    const char *name;
    int group; /* K_DOMAIN, K_TYPE, K_OPT or K_HOW */
    int value; /* AF_*, SOCK_*, an enum opt_id or SHUT_* */
} CONSTANTS[] = {
    {"AF_INET", K_DOMAIN, AF_INET},
    {"AF_INET6", K_DOMAIN, AF_INET6},
    {"AF_UNIX", K_DOMAIN, AF_UNIX},
    {"SOCK_STREAM", K_TYPE, SOCK_STREAM},
    {"SOCK_SEQPACKET", K_TYPE, SOCK_SEQPACKET},
    {"SOCK_DGRAM", K_TYPE, SOCK_DGRAM},
    {"SO_ACCEPTCONN", K_OPT, O_ACCEPTCONN},
    {"SO_ACCEPTFILTER", K_OPT, O_ACCEPTFILTER},
    {"SO_LISTENQLIMIT", K_OPT, O_LISTENQLIMIT},
    {"SO_LISTENQLEN", K_OPT, O_LISTENQLEN},
    {"SO_LISTENINCQLEN", K_OPT, O_LISTENINCQLEN},
    {"SO_ERROR", K_OPT, O_ERROR},
    {"TCP_DEFER_ACCEPT", K_OPT, O_DEFER_ACCEPT},
    {"SO_REUSEPORT", K_OPT, O_REUSEPORT},
    {"SO_REUSEPORT_LB", K_OPT, O_REUSEPORT_LB},
    {"SO_LINGER", K_OPT, O_LINGER},
    {"SHUT_RD", K_HOW, SHUT_RD},
    {"SHUT_WR", K_HOW, SHUT_WR},
    {"SHUT_RDWR", K_HOW, SHUT_RDWR},
};
#define NCONSTANTS (sizeof CONSTANTS / sizeof CONSTANTS[0])

enum vkind { V_NAME, V_INT, V_NUM, V_STR, V_CONST, V_NULL };

struct arg {
    enum vkind kind;
    long long i;   /* V_INT; V_CONST: the constant's value */
    char *s;       /* V_NAME: the name; V_STR: the bytes; V_NUM: the decimal text */
    size_t n;      /* V_STR: how many bytes */
    char *utf8;    /* V_STR: the string as text (for sysctl and counter names) */
    size_t un;     /* V_STR: its length (a \0 escape makes it differ from strlen) */
};

struct step {
    int line;
    enum call_id call;
    int nargs;
    struct arg a[3];
    char *bind; /* the NAME the line binds, or NULL */
    char *text; /* the line as written: comment and surrounding blanks removed */
};

/* A set of NAMEs (names are few; a linear search is the simplest correct thing). */
struct names_set {
    char **v;
    size_t n;
};

static int set_has(const struct names_set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], name) == 0)
            return 1;
    return 0;
}

static void set_add(struct names_set *s, const char *name)
{
    if (set_has(s, name))
        return;
    s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
    s->v[s->n++] = xstrndup(name, strlen(name));
}

static void set_clear(struct names_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

struct perr {
    int col;
    char msg[320];
};

static int fail(struct perr *e, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->col = col;
    return -1;
}

enum tkind { T_NUM, T_IDENT, T_STR, T_PUNCT };

struct tok {
    enum tkind kind;
    const char *s;
    size_t n;
    int col; /* 1-based */
};

static int is_name(const char *s, size_t n)
{
    if (n == 0 || !(s[0] >= 'a' && s[0] <= 'z'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static int tok_is(const struct tok *t, const char *text)
{
    return t->n == strlen(text) && memcmp(t->s, text, t->n) == 0;
}

/* The line without its comment; a '#' inside a string literal is not a comment. */
static size_t comment_start(const char *s, size_t n)
{
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        if (in_str) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == '"')
                in_str = 0;
        } else if (s[i] == '"') {
            in_str = 1;
        } else if (s[i] == '#') {
            return i;
        }
    }
    return n;
}

/* Tokens of the call part of a line, up to its first ')'; *rest is where the rest begins. */
static int tokenize(const char *s, size_t n, struct tok *toks, int max, int *ntoks, size_t *rest,
                    struct perr *e)
{
    size_t pos = 0;
    int k = 0;
    while (pos < n) {
        if (k > 0 && toks[k - 1].kind == T_PUNCT && tok_is(&toks[k - 1], ")"))
            break;
        char c = s[pos];
        if (c == ' ' || c == '\t') {
            pos++;
            continue;
        }
        if (k == max)
            return fail(e, (int)pos + 1, "too many tokens on one line");
        struct tok *t = &toks[k];
        size_t start = pos;
        if (isdigit((unsigned char)c) || (c == '-' && pos + 1 < n && isdigit((unsigned char)s[pos + 1]))) {
            pos++;
            while (pos < n && isdigit((unsigned char)s[pos]))
                pos++;
            if (pos + 1 < n && s[pos] == '.' && isdigit((unsigned char)s[pos + 1])) {
                pos++;
                while (pos < n && isdigit((unsigned char)s[pos]))
                    pos++;
            }
            t->kind = T_NUM;
        } else if (isalpha((unsigned char)c) || c == '_') {
            while (pos < n && (isalnum((unsigned char)s[pos]) || s[pos] == '_'))
                pos++;
            t->kind = T_IDENT;
        } else if (c == '"') {
            pos++;
            while (pos < n && s[pos] != '"' && s[pos] != '\n') {
                if (s[pos] == '\\') {
                    if (pos + 1 >= n || s[pos + 1] == '\n')
                        break;
                    pos++;
                }
                pos++;
            }
            if (pos >= n || s[pos] != '"')
                return fail(e, (int)start + 1, "unterminated string");
            pos++;
            t->kind = T_STR;
        } else if (c == '(' || c == ')' || c == ',' || c == '=') {
            pos++;
            t->kind = T_PUNCT;
        } else {
            return fail(e, (int)pos + 1, "unexpected character '%c'", c);
        }
        t->s = s + start;
        t->n = pos - start;
        t->col = (int)start + 1;
        k++;
    }
    *ntoks = k;
    *rest = pos;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode a string literal's C escapes. Two results, because listenspec's parser has two:
 * `bytes` is what the format sends (literals.to_bytes: a \xHH escape is that byte, other text
 * is its UTF-8, "é" two bytes), `text` is the string as
 * text (UTF-8; what sysctl and counter names are looked up by). */
static int unescape(const struct tok *t, struct arg *out, struct perr *e)
{
    const char *s = t->s + 1;
    size_t n = t->n - 2;
    char *bytes = xrealloc(NULL, n + 1), *text = xrealloc(NULL, 2 * n + 1);
    size_t nb = 0, nt = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c != '\\') {
            bytes[nb++] = (char)c;
            text[nt++] = (char)c;
            i++;
            continue;
        }
        char nx = i + 1 < n ? s[i + 1] : '\0';
        int v = -1;
        switch (nx) {
        case 'n': v = '\n'; break;
        case 'r': v = '\r'; break;
        case 't': v = '\t'; break;
        case '\\': v = '\\'; break;
        case '"': v = '"'; break;
        case '0': v = 0; break;
        default: break;
        }
        if (v >= 0) {
            bytes[nb++] = (char)v;
            text[nt++] = (char)v;
            i += 2;
            continue;
        }
        if (nx == 'x' && i + 3 < n && hexval(s[i + 2]) >= 0 && hexval(s[i + 3]) >= 0) {
            int b = hexval(s[i + 2]) * 16 + hexval(s[i + 3]);
            bytes[nb++] = (char)b;
            if (b < 0x80) {
                text[nt++] = (char)b;
            } else { /* the character U+00HH, in UTF-8 */
                text[nt++] = (char)(0xc0 | (b >> 6));
                text[nt++] = (char)(0x80 | (b & 0x3f));
            }
            i += 4;
            continue;
        }
        free(bytes);
        free(text);
        return fail(e, t->col + 1 + (int)i, "unknown escape '\\%c' in string", nx ? nx : ' ');
    }
    bytes[nb] = '\0';
    text[nt] = '\0';
    out->kind = V_STR;
    out->s = bytes;
    out->n = nb;
    out->utf8 = text;
    out->un = nt;
    return 0;
}

/* A C int, written in decimal: anything outside INT_MIN..INT_MAX is an error in the script. */
static int c_int(const struct tok *t, long long *v, struct perr *e)
{
    size_t digits = t->n - (t->s[0] == '-');
    char buf[32];
    if (digits > 12)
        goto out_of_range;
    memcpy(buf, t->s, t->n);
    buf[t->n] = '\0';
    *v = strtoll(buf, NULL, 10);
    if (*v < INT_MIN || *v > INT_MAX)
        goto out_of_range;
    return 0;
out_of_range:
    return fail(e, t->col, "integer %.*s is outside the C int range", (int)t->n, t->s);
}

static const struct constant *constant(const struct tok *t)
{
    for (size_t i = 0; i < NCONSTANTS; i++)
        if (tok_is(t, CONSTANTS[i].name))
            return &CONSTANTS[i];
    return NULL;
}

static int convert(const struct tok *t, int kind, const struct names_set *bound, struct arg *a,
                   struct perr *e)
{
    int has_dot = memchr(t->s, '.', t->n) != NULL;
    memset(a, 0, sizeof *a);
    switch (kind) {
    case K_DESC:
        if (t->kind == T_NUM) {
            if (has_dot || t->s[0] == '-')
                return fail(e, t->col, "a raw descriptor is a non-negative integer");
            a->kind = V_INT;
            return c_int(t, &a->i, e);
        }
        if (t->kind == T_IDENT) {
            if (!is_name(t->s, t->n))
                return fail(e, t->col, "expected a descriptor NAME, got '%.*s'", (int)t->n, t->s);
            a->kind = V_NAME;
            a->s = xstrndup(t->s, t->n);
            if (!set_has(bound, a->s))
                return fail(e, t->col, "name '%s' is not bound", a->s);
            return 0;
        }
        return fail(e, t->col, "expected a descriptor (a NAME or an integer)");
    case K_INT:
        if (t->kind != T_NUM || has_dot)
            return fail(e, t->col, "expected an integer");
        a->kind = V_INT;
        return c_int(t, &a->i, e);
    case K_NUM:
        if (t->kind != T_NUM || t->s[0] == '-')
            return fail(e, t->col, "expected a non-negative number of seconds");
        a->kind = V_NUM;
        a->s = xstrndup(t->s, t->n);
        return 0;
    case K_STR:
        if (t->kind != T_STR)
            return fail(e, t->col, "expected a string literal");
        return unescape(t, a, e);
    case K_DOMAIN:
    case K_TYPE:
    case K_OPT:
    case K_HOW: {
        const struct constant *c = t->kind == T_IDENT ? constant(t) : NULL;
        if (c == NULL || c->group != kind) {
            struct sbuf names = {0};
            for (size_t i = 0; i < NCONSTANTS; i++)
                if (CONSTANTS[i].group == kind)
                    sb_printf(&names, "%s%s", names.len ? ", " : "", CONSTANTS[i].name);
            fail(e, t->col, "expected one of %s", names.p);
            sb_free(&names);
            return -1;
        }
        a->kind = V_CONST;
        a->i = c->value;
        return 0;
    }
    default: /* K_OPTVAL */
        if (t->kind == T_NUM && !has_dot) {
            a->kind = V_INT;
            return c_int(t, &a->i, e);
        }
        if (t->kind == T_STR)
            return unescape(t, a, e);
        if (t->kind == T_IDENT && tok_is(t, "NULL")) {
            a->kind = V_NULL;
            return 0;
        }
        return fail(e, t->col, "expected an integer, a string or NULL");
    }
}

static void step_free(struct step *st)
{
    for (int i = 0; i < 3; i++) {
        free(st->a[i].s);
        free(st->a[i].utf8);
    }
    free(st->bind);
    free(st->text);
    memset(st, 0, sizeof *st);
}

#define MAX_TOKENS 64

/* Parse one line, `[NAME =] CALL(ARGS)`, as listenspec's script.parse_line does (same checks,
 * same order, same messages). Returns 1 for a step, 0 for a blank or comment line, -1 for an
 * error (in *e). A NAME the line binds is added to `bound`. */
static int parse_line(const char *raw, size_t rawlen, int lineno, struct names_set *bound,
                      struct step *st, struct perr *e)
{
    struct tok toks[MAX_TOKENS];
    int ntoks = 0, i = 0;
    size_t n = comment_start(raw, rawlen), rest;
    size_t end = n;
    memset(st, 0, sizeof *st);
    while (end > 0 && isspace((unsigned char)raw[end - 1]))
        end--;
    int blank = 1;
    for (size_t k = 0; k < n; k++)
        if (!isspace((unsigned char)raw[k]))
            blank = 0;
    if (blank)
        return 0;
    int end_col = (int)end + 1;
    if (tokenize(raw, n, toks, MAX_TOKENS, &ntoks, &rest, e) < 0)
        return -1;
    const struct tok *target = NULL;
    if (ntoks >= 2 && toks[1].kind == T_PUNCT && tok_is(&toks[1], "=")) {
        if (toks[0].kind != T_IDENT || !is_name(toks[0].s, toks[0].n))
            return fail(e, toks[0].col, "a NAME is [a-z][a-z0-9_]*, not '%.*s'", (int)toks[0].n,
                        toks[0].s);
        target = &toks[0];
        i = 2;
    }
    if (i >= ntoks)
        return fail(e, end_col, "expected a call after '='");
    const struct tok *head = &toks[i];
    if (head->kind != T_IDENT)
        return fail(e, head->col, "expected a call, got '%.*s'", (int)head->n, head->s);
    int call = -1;
    for (int c = 0; c < C_COUNT; c++)
        if (tok_is(head, CALLS[c].name))
            call = c;
    if (call < 0)
        return fail(e, head->col, "unknown call '%.*s'", (int)head->n, head->s);
    i++;
    if (i >= ntoks || !tok_is(&toks[i], "("))
        return fail(e, i < ntoks ? toks[i].col : end_col, "expected '(' after %s", CALLS[call].name);
    i++;
    const struct tok *args[MAX_TOKENS];
    int nargs = 0;
    for (;;) {
        if (i >= ntoks)
            return fail(e, end_col, "missing ')'");
        const struct tok *t = &toks[i];
        if (t->kind == T_PUNCT && tok_is(t, ")")) {
            if (nargs && tok_is(&toks[i - 1], ","))
                return fail(e, t->col, "expected an argument after ','");
            i++;
            break;
        }
        if (t->kind == T_PUNCT) {
            if (tok_is(t, ",") && nargs && !tok_is(&toks[i - 1], ",")) {
                i++;
                continue;
            }
            return fail(e, t->col, "unexpected '%.*s'", (int)t->n, t->s);
        }
        if (nargs && !tok_is(&toks[i - 1], ","))
            return fail(e, t->col, "expected ',' between arguments");
        args[nargs++] = t;
        i++;
    }
    const struct call_spec *spec = &CALLS[call];
    int shape = -1;
    for (int s = 0; s < 2; s++) {
        int len = (int)strlen((const char *)spec->shapes[s]);
        if ((s == 0 || len > 0) && len == nargs) {
            shape = s;
            break;
        }
    }
    if (shape < 0) {
        int l0 = (int)strlen((const char *)spec->shapes[0]);
        int l1 = (int)strlen((const char *)spec->shapes[1]);
        if (l1)
            return fail(e, head->col, "%s takes %d or %d argument(s), not %d", spec->name, l0, l1,
                        nargs);
        return fail(e, head->col, "%s takes %d argument(s), not %d", spec->name, l0, nargs);
    }
    st->call = (enum call_id)call;
    st->nargs = nargs;
    for (int k = 0; k < nargs; k++)
        if (convert(args[k], spec->shapes[shape][k], bound, &st->a[k], e) < 0) {
            step_free(st);
            return -1;
        }
    if (target != NULL && !spec->binds) {
        step_free(st);
        return fail(e, toks[0].col,
                    "%s() does not return a descriptor, so it cannot be bound to a NAME", spec->name);
    }
    const struct tok *close_paren = &toks[i - 1];
    size_t after = rest;
    while (after < n && isspace((unsigned char)raw[after]))
        after++;
    if (after < n) {
        step_free(st);
        if (raw[after] != '=')
            return fail(e, (int)after + 1, "unexpected '%c' after the call", raw[after]);
        return fail(e, (int)after + 1, "a script line carries no result (is this a trace?)");
    }
    size_t first = 0, last = (size_t)close_paren->col; /* text up to and including ')' */
    while (first < last && isspace((unsigned char)raw[first]))
        first++;
    st->text = xstrndup(raw + first, last - first);
    st->line = lineno;
    if (target != NULL) {
        st->bind = xstrndup(target->s, target->n);
        set_add(bound, st->bind);
    }
    return 1;
}

/* ======================================================================== the backend */

/* What a backend supplies (the POSIX one is at the end of this file; ../lwip/ has another).
 * Descriptor calls return -1 with errno set on failure, as POSIX calls do; the observation
 * calls write their whole result (a value, `-1 ERRNO` or `unsupported("why")`) to `out`. */
struct script_env;
static void be_describe(struct sbuf *stack, struct sbuf *observes_json, struct sbuf *notes);
/* NULL if the backend performs the call, else why not (the call is then left out of the
 * handshake's "calls", and answered unsupported(why) in file mode). */
static const char *be_not_performed(enum call_id call);
static void be_process_start(void);
static void be_script_begin(const char *unix_dir);
static void be_script_end(struct sbuf *note);
static int be_socket(int domain, int type); /* non-blocking, close-on-exec */
static int be_bind(int fd, const struct sockaddr *addr, socklen_t len);
static int be_listen(int fd, int backlog);
static int be_accept(int fd); /* the new socket is non-blocking too */
static long be_send(int fd, const void *data, size_t n);
static long be_recv(int fd, void *buf, size_t n); /* never waits */
static int be_shutdown(int fd, int how);
/* poll(2) of one descriptor with timeout 0: its return value, *revents what it reported. */
static int be_poll(int fd, short events, short *revents);
static int be_close(int fd);
/* 1 if close(fd) cannot be made as the script asks on this stack (an unsupported(...) answer
 * written; the backend has released the descriptor as well as the stack allows). */
static int be_close_refused(int fd, struct sbuf *out);
static int be_open_file(void);
static int be_getsockopt(int fd, int level, int opt, void *val, socklen_t *len);
static int be_setsockopt(int fd, int level, int opt, const void *val, socklen_t len);
static int be_getsockname(int fd, struct sockaddr *addr, socklen_t *len);
static int be_is_open(int fd);
/* connect() and settle it; returns 1 if the attempt was dropped (`-1 EINPROGRESS` written),
 * after which the caller abandons the descriptor. */
static int be_connect(int fd, const struct sockaddr *addr, socklen_t len, struct sbuf *out);
static void be_abandon(int fd);
static int be_abstract_unix(void); /* 1 if AF_UNIX names may be abstract (Linux) */
static void be_netstat(int fd, struct sbuf *out);
static void be_counter(const char *name, struct sbuf *out);
static void be_sysctl(const struct arg *name, const struct arg *value, struct sbuf *out);
static void be_syslog(const int *ports, size_t nports, struct sbuf *out);
static int be_syn_refused(struct sbuf *out); /* 1 if syn() cannot be made (reason written) */
static void be_syn(const struct sockaddr *addr, socklen_t len, struct sbuf *out);

/* Options: the script's name -> (level, optname). FreeBSD's numbers (sys/sys/socket.h) where
 * the system lacks the option, passed verbatim as a program ported unchanged would pass them:
 * the system answers for itself (ENOPROTOOPT on Linux), nothing is emulated. */
#ifndef SO_ACCEPTFILTER
#define SO_ACCEPTFILTER 0x1000
#endif
#ifndef SO_LISTENQLIMIT
#define SO_LISTENQLIMIT 0x1011
#endif
#ifndef SO_LISTENQLEN
#define SO_LISTENQLEN 0x1012
#endif
#ifndef SO_LISTENINCQLEN
#define SO_LISTENINCQLEN 0x1013
#endif
#ifndef TCP_DEFER_ACCEPT
#define TCP_DEFER_ACCEPT 9 /* Linux's number (include/uapi/linux/tcp.h) */
#endif
/* SO_REUSEPORT_LB is FreeBSD's (sys/sys/socket.h: 0x00010000). Linux has no socket option of
 * that number, so there it is passed as the Python executor passes it (Linux answers
 * ENOPROTOOPT); on another system the number might name some other option: not performed. */
#if !defined(SO_REUSEPORT_LB) && defined(__linux__)
#define SO_REUSEPORT_LB 0x10000
#endif

static const char *opt_name(int opt)
{
    for (size_t i = 0; i < NCONSTANTS; i++)
        if (CONSTANTS[i].group == K_OPT && CONSTANTS[i].value == opt)
            return CONSTANTS[i].name;
    return "?";
}

/* The (level, optname) of a script's option: NULL, or why this platform cannot name it. */
static const char *option(int opt, int *level, int *name)
{
    *level = SOL_SOCKET;
    switch (opt) {
    case O_ACCEPTCONN: *name = SO_ACCEPTCONN; return NULL;
    case O_ACCEPTFILTER: *name = SO_ACCEPTFILTER; return NULL;
    case O_LISTENQLIMIT: *name = SO_LISTENQLIMIT; return NULL;
    case O_LISTENQLEN: *name = SO_LISTENQLEN; return NULL;
    case O_LISTENINCQLEN: *name = SO_LISTENINCQLEN; return NULL;
    case O_ERROR: *name = SO_ERROR; return NULL;
    case O_LINGER: *name = SO_LINGER; return NULL;
    case O_REUSEPORT:
#ifdef SO_REUSEPORT
        *name = SO_REUSEPORT;
        return NULL;
#else
        return "this system's <sys/socket.h> defines no SO_REUSEPORT";
#endif
    case O_REUSEPORT_LB:
#ifdef SO_REUSEPORT_LB
        *name = SO_REUSEPORT_LB;
        return NULL;
#else
        return "SO_REUSEPORT_LB is FreeBSD's, and this system's <sys/socket.h> defines none";
#endif
    default: *level = IPPROTO_TCP; *name = TCP_DEFER_ACCEPT; return NULL;
    }
}

/* ======================================================================== results */

static void r_int(struct sbuf *o, long long v) { sb_printf(o, "%lld", v); }
static void r_err(struct sbuf *o, int code) { sb_printf(o, "-1 %s", errno_name(code)); }

static void r_unsupported(struct sbuf *o, const char *fmt, ...)
{
    struct sbuf why = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&why, fmt, ap);
    va_end(ap);
    sb_puts(o, "unsupported(");
    sb_quote(o, (const unsigned char *)why.p, why.len);
    sb_puts(o, ")");
    sb_free(&why);
}

/* A POSIX-only settle (SCRIPT_FORMAT.md): wait up to SETTLE_WAIT_MS for writability, then read
 * SO_ERROR; a short grace for a reset that follows a completed handshake (a FreeBSD listener
 * with a full queue and rst_on_sock_fail=1). Not writable in time: dropped. Backends with a
 * better signal (Linux: TCP_INFO and the drop counters) use their own. */
LSN_UNUSED static int settle_by_poll(int fd, int (*poll_fn)(struct pollfd *, nfds_t, int), struct sbuf *out)
{
    long long deadline = now_ms() + SETTLE_WAIT_MS;
    struct pollfd p = {fd, POLLOUT, 0};
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            r_err(out, EINPROGRESS);
            return 1;
        }
        p.revents = 0;
        int n = poll_fn(&p, 1, (int)left);
        if (n > 0)
            break;
        if (n < 0 && errno != EINTR) {
            r_err(out, errno);
            return 0;
        }
    }
    int pending = 0;
    socklen_t len = sizeof pending;
    if (!(p.revents & (POLLERR | POLLHUP))) {
        struct pollfd q = {fd, POLLERR | POLLHUP, 0};
        poll_fn(&q, 1, RESET_GRACE_MS);
    }
    if (be_getsockopt(fd, SOL_SOCKET, SO_ERROR, &pending, &len) < 0)
        pending = errno;
    if (pending)
        r_err(out, pending);
    else
        r_int(out, 0);
    return 0;
}

/* ======================================================================== syn() packets */

/* The half-open peer of syn() (listenspec/kernel/synpeer.py): documentation addresses routed
 * to a device nobody answers for, a bare SYN with an MSS option, as real stacks send. Shared by
 * the backends that can inject a packet (Linux: a raw socket; lwIP: its netif input). */
#define PEER4 "192.0.2.2"
#define PEER6 "2001:db8:5e::2"
#define ANSWER_WAIT_MS 100
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

static unsigned short checksum(const unsigned char *d, size_t n, unsigned long sum)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (unsigned long)(d[i] << 8 | d[i + 1]);
    if (n & 1)
        sum += (unsigned long)(d[n - 1] << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (unsigned short)(~sum & 0xffff);
}

/* An IPv4 or IPv6 packet carrying a bare SYN from src:sport to dst:dport (addresses in network
 * order, 4 or 16 bytes); its length. pkt holds at least 64 bytes. */
LSN_UNUSED static size_t syn_packet(int family, const unsigned char *src,
                                    const unsigned char *dst, unsigned short sport,
                                    unsigned short dport, uint32_t isn, unsigned char *pkt)
{
    unsigned char seg[24], pseudo[40 + sizeof seg];
    size_t alen = family == AF_INET ? 4 : 16, plen;
    memset(seg, 0, sizeof seg);
    seg[0] = (unsigned char)(sport >> 8), seg[1] = (unsigned char)sport;
    seg[2] = (unsigned char)(dport >> 8), seg[3] = (unsigned char)dport;
    seg[4] = (unsigned char)(isn >> 24), seg[5] = (unsigned char)(isn >> 16);
    seg[6] = (unsigned char)(isn >> 8), seg[7] = (unsigned char)isn;
    seg[12] = (unsigned char)((sizeof seg / 4) << 4);
    seg[13] = TH_SYN;
    seg[14] = 0xff, seg[15] = 0xff;                      /* window 65535 */
    seg[20] = 2, seg[21] = 4, seg[22] = 1460 >> 8, seg[23] = 1460 & 0xff; /* MSS 1460 */
    memcpy(pseudo, src, alen);
    memcpy(pseudo + alen, dst, alen);
    if (family == AF_INET) {
        pseudo[8] = 0, pseudo[9] = IPPROTO_TCP, pseudo[10] = 0, pseudo[11] = sizeof seg;
        plen = 12;
    } else {
        memset(pseudo + 32, 0, 8);
        pseudo[35] = sizeof seg, pseudo[39] = IPPROTO_TCP;
        plen = 40;
    }
    memcpy(pseudo + plen, seg, sizeof seg);
    unsigned short sum = checksum(pseudo, plen + sizeof seg, 0);
    seg[16] = (unsigned char)(sum >> 8), seg[17] = (unsigned char)sum;
    memset(pkt, 0, 40);
    if (family == AF_INET) {
        pkt[0] = 0x45;
        pkt[3] = 20 + sizeof seg;
        pkt[6] = 0x40; /* DF */
        pkt[8] = 64, pkt[9] = IPPROTO_TCP;
        memcpy(pkt + 12, src, 4);
        memcpy(pkt + 16, dst, 4);
        unsigned short ipsum = checksum(pkt, 20, 0);
        pkt[10] = (unsigned char)(ipsum >> 8), pkt[11] = (unsigned char)ipsum;
        memcpy(pkt + 20, seg, sizeof seg);
        return 20 + sizeof seg;
    }
    pkt[0] = 0x60;
    pkt[5] = sizeof seg, pkt[6] = IPPROTO_TCP, pkt[7] = 64;
    memcpy(pkt + 8, src, 16);
    memcpy(pkt + 24, dst, 16);
    memcpy(pkt + 40, seg, sizeof seg);
    return 40 + sizeof seg;
}

/* The TCP flags of a packet that answers our SYN (from lport to sport, acking isn + 1), or -1. */
LSN_UNUSED static int syn_answer(const unsigned char *pkt, size_t n, int family,
                                 unsigned short lport, unsigned short sport, uint32_t isn)
{
    const unsigned char *tcp = NULL;
    size_t tlen = 0;
    if (family == AF_INET && n >= 20 && pkt[0] >> 4 == 4 && pkt[9] == IPPROTO_TCP) {
        size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
        tcp = pkt + ihl;
        tlen = n > ihl ? n - ihl : 0;
    } else if (family == AF_INET6 && n >= 40 && pkt[0] >> 4 == 6 && pkt[6] == IPPROTO_TCP) {
        tcp = pkt + 40;
        tlen = n - 40;
    }
    if (tcp == NULL || tlen < 14)
        return -1;
    unsigned short src = (unsigned short)(tcp[0] << 8 | tcp[1]);
    unsigned short dst = (unsigned short)(tcp[2] << 8 | tcp[3]);
    uint32_t ack = (uint32_t)tcp[8] << 24 | (uint32_t)tcp[9] << 16 | (uint32_t)tcp[10] << 8 | tcp[11];
    if (src == lport && dst == sport && ack == isn + 1)
        return tcp[13];
    return -1;
}

/* Peer and listener addresses of a syn() to `addr` (a wildcard listener is reached on
 * loopback): family-sized byte strings, and the listener's port. */
LSN_UNUSED static void syn_addresses(const struct sockaddr *addr, unsigned char *src,
                                     unsigned char *dst, unsigned short *dport)
{
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const void *)addr;
        uint32_t a = s->sin_addr.s_addr == htonl(INADDR_ANY) ? htonl(INADDR_LOOPBACK)
                                                             : s->sin_addr.s_addr;
        memcpy(dst, &a, 4);
        *dport = ntohs(s->sin_port);
        inet_pton(AF_INET, PEER4, src);
    } else {
        const struct sockaddr_in6 *s = (const void *)addr;
        memcpy(dst, IN6_IS_ADDR_UNSPECIFIED(&s->sin6_addr) ? &in6addr_loopback : &s->sin6_addr,
               16);
        *dport = ntohs(s->sin6_port);
        inet_pton(AF_INET6, PEER6, src);
    }
}

/* ======================================================================== the executor */

struct name {
    char *name;
    int fd;                       /* NOT_OPEN once closed, or when the binding call failed */
    int has_addr;                 /* the address its socket last had */
    struct sockaddr_storage addr;
    socklen_t alen;
};

static struct {
    struct name *v;
    size_t n;
    struct names_set bound; /* what the parser accepts as bound (every NAME ever bound) */
    int *owned;             /* descriptors the script opened and has not closed */
    size_t nowned;
    int *ports; /* local ports of this script (to pick its kernel log lines) */
    size_t nports;
    const char *unix_dir;   /* where bind() puts AF_UNIX names (NULL: abstract names) */
    int unix_names;
    char token[32];
    int newfd;              /* the descriptor the current call returned, if any */
} X;

static struct name *name_get(const char *name)
{
    for (size_t i = 0; i < X.n; i++)
        if (strcmp(X.v[i].name, name) == 0)
            return &X.v[i];
    return NULL;
}

static struct name *name_set(const char *name)
{
    struct name *nm = name_get(name);
    if (nm == NULL) {
        X.v = xrealloc(X.v, (X.n + 1) * sizeof *X.v);
        nm = &X.v[X.n++];
        memset(nm, 0, sizeof *nm);
        nm->name = xstrndup(name, strlen(name));
    }
    nm->fd = NOT_OPEN;
    nm->has_addr = 0;
    return nm;
}

static int owned_has(int fd)
{
    for (size_t i = 0; i < X.nowned; i++)
        if (X.owned[i] == fd)
            return 1;
    return 0;
}

static void owned_add(int fd)
{
    if (owned_has(fd))
        return;
    X.owned = xrealloc(X.owned, (X.nowned + 1) * sizeof *X.owned);
    X.owned[X.nowned++] = fd;
}

/* fd was closed: every NAME for it now stands for a closed descriptor. */
static void forget_fd(int fd)
{
    for (size_t i = 0; i < X.nowned; i++)
        if (X.owned[i] == fd)
            X.owned[i--] = X.owned[--X.nowned];
    for (size_t i = 0; i < X.n; i++)
        if (X.v[i].fd == fd)
            X.v[i].fd = NOT_OPEN;
}

/* The descriptor an argument stands for. A raw literal goes to the system as written, except
 * when it is one of the executor's own descriptors (standard streams, netlink, /proc files):
 * those are not open as far as the script is concerned. */
static int arg_fd(const struct arg *a)
{
    if (a->kind == V_NAME) {
        struct name *nm = name_get(a->s);
        return nm ? nm->fd : NOT_OPEN;
    }
    int fd = (int)a->i;
    if (owned_has(fd) || !be_is_open(fd))
        return fd;
    return NOT_OPEN;
}

static int new_fd(int fd, struct sbuf *out)
{
    if (fd < 0) {
        r_err(out, errno);
        return -1;
    }
    owned_add(fd);
    X.newfd = fd;
    sb_puts(out, "fd");
    return 0;
}

static int sa_family_of(const struct sockaddr_storage *a) { return ((const struct sockaddr *)a)->sa_family; }

static int inet_port(const struct sockaddr_storage *a, socklen_t len)
{
    if (sa_family_of(a) == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in))
        return ntohs(((const struct sockaddr_in *)a)->sin_port);
    if (sa_family_of(a) == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6))
        return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
    return -1;
}

/* Whether a getsockname() answer is a real local address (a port, or a path). */
static int is_bound(const struct sockaddr_storage *a, socklen_t len)
{
    int port = inet_port(a, len);
    if (port >= 0)
        return port != 0;
    if (sa_family_of(a) != AF_UNIX)
        return 0;
    long path = (long)len - (long)offsetof(struct sockaddr_un, sun_path);
    const char *p = ((const struct sockaddr_un *)a)->sun_path;
    return be_abstract_unix() ? path > 0 : path > 0 && p[0] != '\0';
}

static void remember_addr(const struct arg *a, int fd)
{
    if (a->kind != V_NAME)
        return;
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    memset(&addr, 0, sizeof addr);
    if (be_getsockname(fd, (struct sockaddr *)&addr, &len) < 0 || !is_bound(&addr, len))
        return; /* nothing to remember: a NAME stands for the address it *had* */
    struct name *nm = name_get(a->s);
    if (nm == NULL)
        return;
    nm->addr = addr;
    nm->alen = len;
    nm->has_addr = 1;
    int port = inet_port(&addr, len);
    if (port > 0) {
        for (size_t i = 0; i < X.nports; i++)
            if (X.ports[i] == port)
                return;
        X.ports = xrealloc(X.ports, (X.nports + 1) * sizeof *X.ports);
        X.ports[X.nports++] = port;
    }
}

/* The address S is bound to: asked now if S is open, else as last seen. 0, or an errno. */
static int target_addr(const struct arg *a, struct sockaddr_storage *addr, socklen_t *len)
{
    int fd = arg_fd(a);
    struct name *nm = a->kind == V_NAME ? name_get(a->s) : NULL;
    *len = sizeof *addr;
    memset(addr, 0, sizeof *addr);
    if (be_getsockname(fd, (struct sockaddr *)addr, len) < 0) {
        int e = errno;
        if (nm != NULL && nm->has_addr) {
            *addr = nm->addr;
            *len = nm->alen;
            return 0;
        }
        return e;
    }
    if (nm != NULL && is_bound(addr, *len)) {
        nm->addr = *addr;
        nm->alen = *len;
        nm->has_addr = 1;
    }
    return 0;
}

static socklen_t fresh_addr(int family, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_loopback;
#ifdef LSN_SA_LEN
        s6->sin6_len = sizeof *s6;
#endif
        return sizeof *s6;
    }
    if (family == AF_UNIX) {
        struct sockaddr_un *su = (struct sockaddr_un *)ss;
        su->sun_family = AF_UNIX;
        X.unix_names++;
        size_t n;
        if (X.unix_dir != NULL) {
            /* A path, as programs use: the abstract namespace differs in what it answers (its
             * lookup includes the socket type: ECONNREFUSED where a path gives EPROTOTYPE). */
            snprintf(su->sun_path, sizeof su->sun_path, "%s/%d", X.unix_dir, X.unix_names);
            n = strlen(su->sun_path) + 1; /* with its NUL, as the Python executor passes it */
        } else {
            n = 1 + (size_t)snprintf(su->sun_path + 1, sizeof su->sun_path - 1,
                                     "listenspec-%s-%d", X.token, X.unix_names);
        }
#ifdef LSN_SA_LEN
        su->sun_len = (unsigned char)(offsetof(struct sockaddr_un, sun_path) + n);
#endif
        return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
#ifdef LSN_SA_LEN
    s4->sin_len = sizeof *s4;
#endif
    return sizeof *s4;
}

/* ------------------------------------------------------------------------ the calls */

static void do_socket(const struct step *st, struct sbuf *out)
{
    new_fd(be_socket((int)st->a[0].i, (int)st->a[1].i), out);
}

static void do_bind(const struct step *st, struct sbuf *out)
{
    int fd = arg_fd(&st->a[0]);
    struct sockaddr_storage mine, addr;
    socklen_t alen;
    if (st->nargs == 2) { /* bind(S, T): the address T's socket is (or was) bound to */
        int e = target_addr(&st->a[1], &addr, &alen);
        if (e) {
            r_err(out, e);
            return;
        }
    } else {
        socklen_t len = sizeof mine;
        int family = AF_INET; /* not a socket: let bind(2) itself say so (EBADF, ENOTSOCK) */
        memset(&mine, 0, sizeof mine);
        if (be_getsockname(fd, (struct sockaddr *)&mine, &len) == 0)
            family = sa_family_of(&mine);
        alen = fresh_addr(family, &addr);
    }
    if (be_bind(fd, (struct sockaddr *)&addr, alen) < 0) {
        r_err(out, errno);
        return;
    }
    remember_addr(&st->a[0], fd);
    r_int(out, 0);
}

static void do_listen(const struct step *st, struct sbuf *out)
{
    int fd = arg_fd(&st->a[0]);
    if (be_listen(fd, (int)st->a[1].i) < 0) { /* the backlog goes to the system unchanged */
        r_err(out, errno);
        return;
    }
    remember_addr(&st->a[0], fd); /* listen() autobinds an unbound TCP socket */
    r_int(out, 0);
}

static void do_connect(const struct step *st, struct sbuf *out)
{
    struct sockaddr_storage addr;
    socklen_t len;
    int e = target_addr(&st->a[1], &addr, &len);
    if (e) {
        r_err(out, e);
        return;
    }
    int fd = arg_fd(&st->a[0]);
    if (be_connect(fd, (struct sockaddr *)&addr, len, out)) {
        /* Dropped: SCRIPT_FORMAT.md has the executor abandon the attempt, so it can never
         * complete later, and close C. */
        be_abandon(fd);
        forget_fd(fd);
    }
}

static void do_syn(const struct step *st, struct sbuf *out)
{
    if (be_syn_refused(out))
        return;
    struct sockaddr_storage addr;
    socklen_t len;
    int e = target_addr(&st->a[0], &addr, &len);
    if (e) {
        r_err(out, e);
        return;
    }
    if (inet_port(&addr, len) < 0) {
        r_unsupported(out, "syn() is not supported by the C executor for an %s socket: a SYN "
                           "needs an AF_INET or AF_INET6 address",
                      sa_family_of(&addr) == AF_UNIX ? "AF_UNIX" : "unknown address family");
        return;
    }
    be_syn((struct sockaddr *)&addr, len, out);
}

static void do_accept(const struct step *st, struct sbuf *out)
{
    new_fd(be_accept(arg_fd(&st->a[0])), out);
}

static void do_send(const struct step *st, struct sbuf *out)
{
    long n = be_send(arg_fd(&st->a[0]), st->a[1].s, st->a[1].n);
    if (n < 0)
        r_err(out, errno);
    else
        r_int(out, n);
}

static void do_close(const struct step *st, struct sbuf *out)
{
    int fd = arg_fd(&st->a[0]);
    if (be_close_refused(fd, out)) {
        forget_fd(fd);
        return;
    }
    if (be_close(fd) < 0) {
        r_err(out, errno);
        return;
    }
    forget_fd(fd);
    r_int(out, 0);
}

/* How much one recv() asks for (the Python executor's RECV_SIZE, the model's RECV_MAX). */
#define RECV_SIZE 65536

static void do_recv(const struct step *st, struct sbuf *out)
{
    static unsigned char buf[RECV_SIZE];
    long n = be_recv(arg_fd(&st->a[0]), buf, sizeof buf);
    if (n < 0)
        r_err(out, errno);
    else if (n == 0)
        r_int(out, 0); /* end of file */
    else
        sb_quote(out, buf, (size_t)n); /* the bytes, as a string literal */
}

static void do_shutdown(const struct step *st, struct sbuf *out)
{
    if (be_shutdown(arg_fd(&st->a[0]), (int)st->a[1].i) < 0)
        r_err(out, errno);
    else
        r_int(out, 0);
}

/* The events poll() asks for, and the flags a trace names, in the trace's order (the model's
 * POLL_FLAGS, models/rules.py). POLLRDHUP is Linux's: where <poll.h> lacks it, it is neither
 * asked for nor reported. */
#ifdef POLLRDHUP
#define POLL_EVENTS (POLLIN | POLLPRI | POLLOUT | POLLRDHUP)
#else
#define POLL_EVENTS (POLLIN | POLLPRI | POLLOUT)
#endif
static const struct {
    const char *name;
    short bit;
} POLL_FLAGS[] = {
    {"POLLIN", POLLIN}, {"POLLPRI", POLLPRI}, {"POLLOUT", POLLOUT}, {"POLLERR", POLLERR},
    {"POLLHUP", POLLHUP},
#ifdef POLLRDHUP
    {"POLLRDHUP", POLLRDHUP},
#endif
    {"POLLNVAL", POLLNVAL},
};
/* A descriptor number above any open one: poll(2) answers POLLNVAL for it (a negative one it
 * would skip), so a closed NAME polls as a descriptor never open, as in the Python executor. */
#define NEVER_OPEN (1 << 20)

static void sb_events(struct sbuf *out, short revents)
{
    size_t before = out->len;
    for (size_t i = 0; i < sizeof POLL_FLAGS / sizeof POLL_FLAGS[0]; i++)
        if (revents & POLL_FLAGS[i].bit)
            sb_printf(out, "%s%s", out->len > before ? "|" : "", POLL_FLAGS[i].name);
}

static void do_poll(const struct step *st, struct sbuf *out)
{
    int fd = arg_fd(&st->a[0]);
    short revents = 0;
    errno = 0;
    int n = be_poll(fd < 0 ? NEVER_OPEN : fd, POLL_EVENTS, &revents);
    if (n < 0 && errno == 0) {
        /* a failure that names no errno: there is no `-1 ERRNO` to report */
        struct sbuf got = {0};
        sb_events(&got, revents);
        r_unsupported(out, "poll() returned -1 and set no errno (revents: %s)",
                      got.len ? got.p : "0");
        sb_free(&got);
    } else if (n < 0) {
        r_err(out, errno);
    } else if (revents == 0) {
        r_int(out, 0);
    } else {
        size_t before = out->len;
        sb_events(out, revents);
        if (out->len == before) /* only flags a trace does not name */
            r_int(out, 0);
    }
}

static void do_open(const struct step *st, struct sbuf *out)
{
    (void)st;
    new_fd(be_open_file(), out);
}

static void do_setsockopt(const struct step *st, struct sbuf *out)
{
    int level, name, rc;
    const struct arg *v = &st->a[2];
    const char *why = option((int)st->a[1].i, &level, &name);
    if (why != NULL) {
        r_unsupported(out, "setsockopt(%s) is not performed by the C executor here: %s",
                      opt_name((int)st->a[1].i), why);
        return;
    }
    int fd = arg_fd(&st->a[0]);
    if (v->kind == V_NULL) {
        rc = be_setsockopt(fd, level, name, NULL, 0); /* removing an accept filter */
    } else if (v->kind == V_INT && st->a[1].i == O_LINGER) {
        struct linger l; /* setsockopt(S, SO_LINGER, N): struct linger {l_onoff 1, l_linger N} */
        memset(&l, 0, sizeof l);
        l.l_onoff = 1;
        l.l_linger = (int)v->i;
        rc = be_setsockopt(fd, level, name, &l, sizeof l);
    } else if (v->kind == V_STR && st->a[1].i == O_ACCEPTFILTER) {
        char afa[ACCEPT_FILTER_ARG_SIZE]; /* struct accept_filter_arg, the name NUL-padded */
        memset(afa, 0, sizeof afa);
        memcpy(afa, v->s, v->n < ACCEPT_FILTER_NAME_SIZE - 1 ? v->n : ACCEPT_FILTER_NAME_SIZE - 1);
        rc = be_setsockopt(fd, level, name, afa, sizeof afa);
    } else if (v->kind == V_STR) {
        rc = be_setsockopt(fd, level, name, v->s, (socklen_t)v->n);
    } else {
        int value = (int)v->i;
        rc = be_setsockopt(fd, level, name, &value, sizeof value);
    }
    if (rc < 0)
        r_err(out, errno);
    else
        r_int(out, 0);
}

static void do_getsockopt(const struct step *st, struct sbuf *out)
{
    int level, name;
    const char *why = option((int)st->a[1].i, &level, &name);
    if (why != NULL) {
        r_unsupported(out, "getsockopt(%s) is not performed by the C executor here: %s",
                      opt_name((int)st->a[1].i), why);
        return;
    }
    int fd = arg_fd(&st->a[0]);
    if (st->a[1].i == O_ACCEPTFILTER) {
        char afa[ACCEPT_FILTER_ARG_SIZE];
        socklen_t len = sizeof afa;
        memset(afa, 0, sizeof afa);
        if (be_getsockopt(fd, level, name, afa, &len) < 0) {
            r_err(out, errno);
            return;
        }
        size_t n = len < ACCEPT_FILTER_NAME_SIZE ? len : ACCEPT_FILTER_NAME_SIZE, k = 0;
        while (k < n && afa[k] != '\0')
            k++;
        sb_quote(out, (unsigned char *)afa, k);
        return;
    }
    int value = 0; /* an int-sized read: of SO_LINGER's struct linger, l_onoff */
    socklen_t len = sizeof value;
    if (be_getsockopt(fd, level, name, &value, &len) < 0) {
        r_err(out, errno);
        return;
    }
    if (st->a[1].i == O_ERROR && value != 0)
        sb_puts(out, errno_name(value)); /* the pending error by name */
    else
        r_int(out, value);
}

static void do_sleep(const struct step *st, struct sbuf *out)
{
    const char *s = st->a[0].s, *dot = strchr(s, '.');
    long long whole = strtoll(s, NULL, 10);
    long long nanos = 0;
    if (whole > MAX_SLEEP_S || strlen(s) > 15) {
        r_unsupported(out, "sleep() longer than %d s is not performed by the C executor",
                      MAX_SLEEP_S);
        return;
    }
    if (dot != NULL) {
        long long scale = 100000000;
        for (const char *p = dot + 1; *p && scale > 0; p++, scale /= 10)
            nanos += (*p - '0') * scale;
    }
    if (whole == MAX_SLEEP_S && nanos > 0) {
        r_unsupported(out, "sleep() longer than %d s is not performed by the C executor",
                      MAX_SLEEP_S);
        return;
    }
    struct timespec ts = {(time_t)whole, (long)nanos}, left;
    while (nanosleep(&ts, &left) < 0 && errno == EINTR)
        ts = left;
    r_int(out, 0);
}

/* Run one step; its result text in `out`. */
static void run_step(const struct step *st, struct sbuf *out)
{
    sb_clear(out);
    X.newfd = NOT_OPEN;
    const char *why = be_not_performed(st->call);
    if (why != NULL) {
        r_unsupported(out, "%s() is not performed by this executor: %s", CALLS[st->call].name,
                      why);
    } else {
        switch (st->call) {
        case C_SOCKET: do_socket(st, out); break;
        case C_BIND: do_bind(st, out); break;
        case C_LISTEN: do_listen(st, out); break;
        case C_CONNECT: do_connect(st, out); break;
        case C_SYN: do_syn(st, out); break;
        case C_ACCEPT: do_accept(st, out); break;
        case C_SEND: do_send(st, out); break;
        case C_CLOSE: do_close(st, out); break;
        case C_RECV: do_recv(st, out); break;
        case C_SHUTDOWN: do_shutdown(st, out); break;
        case C_POLL: do_poll(st, out); break;
        case C_OPEN: do_open(st, out); break;
        case C_SETSOCKOPT: do_setsockopt(st, out); break;
        case C_GETSOCKOPT: do_getsockopt(st, out); break;
        case C_SYSCTL: be_sysctl(&st->a[0], st->nargs > 1 ? &st->a[1] : NULL, out); break;
        case C_NETSTAT: be_netstat(arg_fd(&st->a[0]), out); break;
        case C_SLEEP: do_sleep(st, out); break;
        case C_SYSLOG: be_syslog(X.ports, X.nports, out); break;
        case C_COUNTER: be_counter(st->a[0].utf8, out); break;
        case C_COUNT: break; /* not a call: the parser never makes a step of it */
        }
    }
    for (int i = 0; i < st->nargs; i++) { /* any call may have given a named socket an address */
        if (st->a[i].kind == V_NAME) {
            struct name *nm = name_get(st->a[i].s);
            if (nm != NULL && nm->fd != NOT_OPEN)
                remember_addr(&st->a[i], nm->fd);
        }
    }
    if (st->bind != NULL) {
        /* A failed (or unsupported) call leaves the NAME standing for a descriptor that is
         * certainly not open. */
        int fd = X.newfd;
        struct name *nm = name_set(st->bind);
        nm->fd = fd;
        if (fd != NOT_OPEN) { /* an accepted socket is born with an address */
            struct arg named = {.kind = V_NAME, .s = st->bind};
            remember_addr(&named, fd);
        }
    }
}

static void unbind(const char *name)
{
    name_set(name); /* not open, no address */
    set_add(&X.bound, name);
}

/* ------------------------------------------------------------------------ scripts */

static void script_begin(const char *unix_dir)
{
    X.unix_dir = unix_dir;
    X.unix_names = 0;
    snprintf(X.token, sizeof X.token, "%ld-%lx", (long)getpid(), (unsigned long)time(NULL));
    be_script_begin(unix_dir);
}

static void script_end(struct sbuf *note)
{
    for (size_t i = 0; i < X.nowned; i++)
        be_close(X.owned[i]);
    X.nowned = 0;
    be_script_end(note);
    for (size_t i = 0; i < X.n; i++)
        free(X.v[i].name);
    free(X.v);
    X.v = NULL;
    X.n = 0;
    X.nports = 0;
    set_clear(&X.bound);
}

/* A directory of this script for AF_UNIX names: made before the script, removed after it by
 * the process that made it (so even a killed script process leaves no socket file behind). */
static char *make_unix_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/listenspec-c-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(path) == NULL)
        return NULL;
    /* sun_path holds ~104-108 bytes: leave room for "/NNNNN"; a longer directory falls back
     * to abstract names where the platform has them. */
    if (strlen(path) + 8 > sizeof(((struct sockaddr_un *)0)->sun_path) && be_abstract_unix()) {
        rmdir(path);
        return NULL;
    }
    return xstrndup(path, strlen(path));
}

static void remove_unix_dir(char *dir)
{
    if (dir == NULL)
        return;
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *ent;
        char path[PATH_MAX];
        while ((ent = readdir(d)) != NULL) {
            if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

/* ======================================================================== the protocol */

/* A signal that stops the protocol-mode process (the driver's SIGTERM before its SIGKILL,
 * Ctrl-C, a hang-up): noted, so the wait for the script's process returns (EINTR), and the
 * script's directory is removed before the exit. */
static volatile sig_atomic_t g_stop_signal;

/* One line from standard input, read a byte at a time so that nothing past the line is taken
 * from the pipe: a forked script process and its parent read the same input in turn. */
static char *read_line(size_t *len)
{
    static struct sbuf b;
    sb_clear(&b);
    for (;;) {
        char c;
        ssize_t r = read(STDIN_FILENO, &c, 1);
        if (r < 0 && errno == EINTR && !g_stop_signal)
            continue;
        if (r <= 0) {
            if (b.len == 0)
                return NULL;
            break;
        }
        if (c == '\n')
            break;
        sb_add(&b, &c, 1);
    }
    if (b.len == 0)
        sb_add(&b, "", 0);
    if (b.len > 0 && b.p[b.len - 1] == '\r')
        b.p[--b.len] = '\0';
    *len = b.len;
    return b.p;
}

static void say(const char *s)
{
    emit(s, strlen(s));
    emit("\n", 1);
}

static void handshake(void)
{
    struct sbuf stack = {0}, observes = {0}, notes = {0}, line = {0};
    be_describe(&stack, &observes, &notes);
    sb_printf(&line, "listenspec-executor %d {\"stack\": ", LSN_PROTOCOL_VERSION);
    sb_json(&line, stack.p ? stack.p : "unknown");
    sb_puts(&line, ", \"calls\": [");
    int first = 1;
    for (int c = 0; c < C_COUNT; c++) {
        if (be_not_performed((enum call_id)c) != NULL)
            continue;
        sb_puts(&line, first ? "" : ", ");
        sb_json(&line, CALLS[c].name);
        first = 0;
    }
    sb_puts(&line, "], \"observes\": {");
    sb_puts(&line, observes.p ? observes.p : "");
    sb_puts(&line, "}, \"notes\": ");
    sb_json(&line, notes.p ? notes.p : "");
    sb_puts(&line, "}");
    say(line.p);
    sb_free(&stack);
    sb_free(&observes);
    sb_free(&notes);
    sb_free(&line);
}

enum { LINE_SCRIPT, LINE_RESET, LINE_QUIT, LINE_UNBIND, LINE_BAD_CONTROL, LINE_BLANK };

static int classify(const char *s, size_t n, const char **arg)
{
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    size_t i = 0;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    if (i == n || s[i] == '#')
        return LINE_BLANK;
    if (s[i] != '%')
        return LINE_SCRIPT;
    s += i;
    n -= i;
    if (n == 6 && memcmp(s, "%reset", 6) == 0)
        return LINE_RESET;
    if (n == 5 && memcmp(s, "%quit", 5) == 0)
        return LINE_QUIT;
    if (n > 8 && memcmp(s, "%unbind ", 8) == 0) {
        const char *p = s + 8;
        while (*p == ' ')
            p++;
        if (is_name(p, (size_t)(s + n - p))) {
            *arg = p;
            return LINE_UNBIND;
        }
    }
    return LINE_BAD_CONTROL;
}

/* Answer one script line (or %unbind) inside the script's process. */
static void answer(const char *line, size_t len, int kind, const char *arg, int lineno)
{
    static struct sbuf out;
    if (kind == LINE_UNBIND) {
        char *name = xstrndup(arg, strlen(arg));
        size_t k = strlen(name);
        while (k > 0 && isspace((unsigned char)name[k - 1]))
            name[--k] = '\0';
        unbind(name);
        free(name);
        say("%ok");
        return;
    }
    struct step st;
    struct perr e = {0, ""};
    int rc = parse_line(line, len, lineno, &X.bound, &st, &e);
    sb_clear(&out);
    if (rc < 0) {
        struct sbuf why = {0};
        sb_printf(&why, "<protocol>:%d:%d: %s", lineno, e.col, e.msg);
        r_unsupported(&out, "not a script line: %s", why.p);
        sb_free(&why);
    } else if (rc == 0) {
        return;
    } else {
        run_step(&st, &out);
        step_free(&st);
    }
    say(out.p);
}

/* The lines of one script, in this (forked) process, until %reset, %quit or end of input.
 * Returns 0 after %reset, 3 when the executor should exit. */
static int script_process(const char *first, size_t first_len, int first_kind,
                          const char *first_arg, const char *unix_dir)
{
    int lineno = 1;
    struct sbuf note = {0};
    script_begin(unix_dir);
    answer(first, first_len, first_kind, first_arg, lineno);
    for (;;) {
        size_t len;
        const char *arg = NULL;
        char *line = read_line(&len);
        if (line == NULL) {
            script_end(&note);
            return 3;
        }
        int kind = classify(line, len, &arg);
        if (kind == LINE_QUIT) {
            script_end(&note);
            return 3;
        }
        if (kind == LINE_RESET) {
            script_end(&note);
            if (note.len) {
                struct sbuf ok = {0};
                sb_printf(&ok, "%%ok %s", note.p);
                say(ok.p);
                sb_free(&ok);
            } else {
                say("%ok");
            }
            sb_free(&note);
            return 0;
        }
        if (kind == LINE_BAD_CONTROL) {
            say("%error unknown control line (known: %reset, %unbind NAME, %quit)");
            continue;
        }
        if (kind == LINE_BLANK)
            continue;
        answer(line, len, kind, arg, ++lineno);
    }
}

/* A script process dies with the executor (which the driver may kill as a whole group, but a
 * parent killed alone must not leave its script process behind). */
static void set_parent_death_signal(pid_t parent)
{
#if defined(__linux__)
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#elif defined(__FreeBSD__) && defined(PROC_PDEATHSIG_CTL)
    int sig = SIGKILL;
    procctl(P_PID, 0, PROC_PDEATHSIG_CTL, &sig);
#endif
    if (getppid() != parent) /* the parent died before the signal was armed */
        _exit(1);
}

static void note_stop(int sig)
{
    g_stop_signal = sig;
}

static void on_stop_signals(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocked waitpid() returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* Protocol mode: the handshake, then scripts. Each script runs in a forked process of its own
 * (fresh names, a fresh network namespace where the backend makes one, a fresh stack for a
 * user-space stack), which reads its own lines from the shared standard input and exits at
 * %reset; this process only waits for it. */
static int protocol_mode(void)
{
    be_process_start();
    handshake();
    on_stop_signals(note_stop);
    for (;;) {
        size_t len;
        const char *arg = NULL;
        char *line = read_line(&len);
        if (g_stop_signal)
            return 128 + g_stop_signal;
        if (line == NULL)
            return 0;
        int kind = classify(line, len, &arg);
        if (kind == LINE_QUIT)
            return 0;
        if (kind == LINE_BLANK)
            continue;
        if (kind == LINE_RESET) {
            say("%ok"); /* no script was running: nothing to close */
            continue;
        }
        if (kind == LINE_BAD_CONTROL) {
            say("%error unknown control line (known: %reset, %unbind NAME, %quit)");
            continue;
        }
        char *unix_dir = make_unix_dir();
        pid_t parent = getpid(), pid = fork();
        if (pid < 0) {
            int e = errno;
            remove_unix_dir(unix_dir);
            fprintf(stderr, "listenspec-exec: fork: %s\n", strerror(e));
            return 1;
        }
        if (pid == 0) {
            on_stop_signals(SIG_DFL);
            set_parent_death_signal(parent);
            _exit(script_process(line, len, kind, arg, unix_dir));
        }
        int status = 0;
        for (;;) {
            if (g_stop_signal) {
                /* stopped while a script runs (it may hang: a stack that deadlocked in an
                 * assertion, say): end it, and leave no directory behind */
                kill(pid, SIGKILL);
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                    ;
                remove_unix_dir(unix_dir);
                _exit(128 + g_stop_signal);
            }
            if (waitpid(pid, &status, 0) >= 0 || errno != EINTR)
                break;
        }
        remove_unix_dir(unix_dir);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            continue;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
            return 0;
        /* The script's process died (a crash in the stack): its line has no answer. Exit, so
         * the driver sees the end at once and reports it, instead of waiting out its limit. */
        if (WIFSIGNALED(status))
            fprintf(stderr, "listenspec-exec: the script's process was killed by signal %d\n",
                    WTERMSIG(status));
        else
            fprintf(stderr, "listenspec-exec: the script's process exited with status %d\n",
                    WEXITSTATUS(status));
        return 1;
    }
}

/* ======================================================================== file mode */

static char *g_file_unix_dir;

static void on_signal(int sig)
{
    (void)sig;
    _exit(130); /* the atexit-free path: the directory is removed by the handler below */
}

static void cleanup_at_signal(int sig)
{
    if (g_file_unix_dir != NULL) {
        /* Only async-signal-safe calls: the names are 1, 2, ... in the directory. */
        char path[PATH_MAX];
        for (int i = 1; i <= X.unix_names; i++) {
            snprintf(path, sizeof path, "%s/%d", g_file_unix_dir, i);
            unlink(path);
        }
        rmdir(g_file_unix_dir);
    }
    on_signal(sig);
}

/* `listenspec-exec FILE.lsn`: parse the whole script first (a malformed one is
 * `FILE:LINE:COL: message` on stderr, exit 2, nothing on stdout), then run it and print its
 * trace, as `listenspec run FILE --kernel` does. */
static int file_mode(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
        return 2;
    }
    struct sbuf text = {0};
    char chunk[4096];
    size_t r;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
        sb_add(&text, chunk, r);
    if (f != stdin)
        fclose(f);
    struct step *steps = NULL;
    size_t nsteps = 0;
    struct names_set bound = {0};
    int lineno = 0;
    for (size_t pos = 0; text.p != NULL && pos < text.len;) {
        const char *nl = memchr(text.p + pos, '\n', text.len - pos);
        size_t end = nl ? (size_t)(nl - text.p) : text.len;
        size_t len = end - pos;
        if (len > 0 && text.p[pos + len - 1] == '\r')
            len--;
        struct step st;
        struct perr e = {0, ""};
        int rc = parse_line(text.p + pos, len, ++lineno, &bound, &st, &e);
        if (rc < 0) {
            fprintf(stderr, "%s:%d:%d: %s\n", path, lineno, e.col, e.msg);
            return 2;
        }
        if (rc > 0) {
            steps = xrealloc(steps, (nsteps + 1) * sizeof *steps);
            steps[nsteps++] = st;
        }
        pos = end + 1;
    }
    set_clear(&bound);
    be_process_start();
    struct sbuf stack = {0}, observes = {0}, notes = {0}, out = {0}, note = {0};
    be_describe(&stack, &observes, &notes);
    fprintf(stderr, "# target: %s; %s\n", stack.p ? stack.p : "?", notes.p ? notes.p : "");
    g_file_unix_dir = make_unix_dir();
    signal(SIGINT, cleanup_at_signal);
    signal(SIGTERM, cleanup_at_signal);
    signal(SIGHUP, cleanup_at_signal);
    script_begin(g_file_unix_dir);
    for (size_t i = 0; i < nsteps; i++) {
        run_step(&steps[i], &out);
        printf("%s = %s\n", steps[i].text, out.p);
        fflush(stdout);
        step_free(&steps[i]);
    }
    script_end(&note);
    if (note.len)
        fprintf(stderr, "# note: %s\n", note.p);
    char *dir = g_file_unix_dir;
    g_file_unix_dir = NULL;
    remove_unix_dir(dir);
    free(steps);
    sb_free(&stack);
    sb_free(&observes);
    sb_free(&notes);
    sb_free(&out);
    sb_free(&note);
    sb_free(&text);
    return 0;
}

/* ======================================================================== main */

static int g_no_isolate, g_allow_host_sysctl;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: listenspec-exec [--no-isolate] [--allow-host-sysctl] [SCRIPT.lsn | -]\n"
            "  no SCRIPT: speak the executor protocol on stdin/stdout (docs/protocol.md)\n"
            "  SCRIPT:    run it and print its trace (LINE = RESULT)\n"
            "  --no-isolate         run in the current network namespace (Linux)\n"
            "  --allow-host-sysctl  perform sysctl writes outside a private network namespace,\n"
            "                       restoring each value after the script (only on a machine\n"
            "                       made for the run: a VM or a jail)\n");
}

int main(int argc, char **argv)
{
    const char *file = NULL;
    signal(SIGPIPE, SIG_IGN); /* a reset peer gives EPIPE, not a signal that kills us */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-isolate") == 0)
            g_no_isolate = 1;
        else if (strcmp(argv[i], "--allow-host-sysctl") == 0)
            g_allow_host_sysctl = 1;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            usage(stderr);
            return 2;
        } else if (file == NULL)
            file = argv[i];
        else {
            usage(stderr);
            return 2;
        }
    }
    return file ? file_mode(file) : protocol_mode();
}

#ifndef LSN_EXTERNAL_BACKEND
#include "posix-backend.c"
#endif
