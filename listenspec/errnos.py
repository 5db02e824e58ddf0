"""The errno names a trace may carry, and the one spelling the format uses for each.

A trace from a stack's own harness may name any errno its system has, so the checker knows the
names of every system a profile formalises; a name none of them has (`EINPROGRES`) is a typo in
the trace, reported where it stands, not a result that merely differs.

Sources (each list is the `#define E...` names of the file, pseudo-errors and `ELAST` left out):

- Linux: `include/uapi/asm-generic/errno-base.h` and `errno.h`, as installed on this machine
  by Debian's linux-libc-dev 6.1.187 (unchanged since EHWPOISON, 133, in Linux 2.6.32; the
  lwIP and gVisor errno tables use these names too). tests/test_trace_results.py checks that
  every name Python's `errno` module knows here is in the list.
- FreeBSD: `sys/sys/errno.h` of FreeBSD 14.2 (kaizenwa/freebsd-14.2 @ b66633d79ade, blob
  927ddd338cac, the tree spec/sources/freebsd.md reads), `ELAST` = EINTEGRITY = 97.
- DragonFly BSD: `sys/sys/errno.h` (DragonFlyBSD/DragonFlyBSD @ 45a53ae1f300): FreeBSD's older
  list plus ENOMEDIUM and EASYNC (its EUNUSED94..98 are placeholders, not errors).
"""

from __future__ import annotations

from typing import Final


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


LINUX: Final = _names("""
    EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EAGAIN ENOMEM EACCES EFAULT
    ENOTBLK EBUSY EEXIST EXDEV ENODEV ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOTTY ETXTBSY EFBIG
    ENOSPC ESPIPE EROFS EMLINK EPIPE EDOM ERANGE EDEADLK ENAMETOOLONG ENOLCK ENOSYS ENOTEMPTY
    ELOOP EWOULDBLOCK ENOMSG EIDRM ECHRNG EL2NSYNC EL3HLT EL3RST ELNRNG EUNATCH ENOCSI EL2HLT
    EBADE EBADR EXFULL ENOANO EBADRQC EBADSLT EDEADLOCK EBFONT ENOSTR ENODATA ETIME ENOSR ENONET
    ENOPKG EREMOTE ENOLINK EADV ESRMNT ECOMM EPROTO EMULTIHOP EDOTDOT EBADMSG EOVERFLOW ENOTUNIQ
    EBADFD EREMCHG ELIBACC ELIBBAD ELIBSCN ELIBMAX ELIBEXEC EILSEQ ERESTART ESTRPIPE EUSERS
    ENOTSOCK EDESTADDRREQ EMSGSIZE EPROTOTYPE ENOPROTOOPT EPROTONOSUPPORT ESOCKTNOSUPPORT
    EOPNOTSUPP EPFNOSUPPORT EAFNOSUPPORT EADDRINUSE EADDRNOTAVAIL ENETDOWN ENETUNREACH ENETRESET
    ECONNABORTED ECONNRESET ENOBUFS EISCONN ENOTCONN ESHUTDOWN ETOOMANYREFS ETIMEDOUT
    ECONNREFUSED EHOSTDOWN EHOSTUNREACH EALREADY EINPROGRESS ESTALE EUCLEAN ENOTNAM ENAVAIL
    EISNAM EREMOTEIO EDQUOT ENOMEDIUM EMEDIUMTYPE ECANCELED ENOKEY EKEYEXPIRED EKEYREVOKED
    EKEYREJECTED EOWNERDEAD ENOTRECOVERABLE ERFKILL EHWPOISON ENOTSUP
""")  # ENOTSUP: glibc's name for EOPNOTSUPP (bits/errno.h), which userspace sees

FREEBSD: Final = _names("""
    EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EDEADLK ENOMEM EACCES EFAULT
    ENOTBLK EBUSY EEXIST EXDEV ENODEV ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOTTY ETXTBSY EFBIG
    ENOSPC ESPIPE EROFS EMLINK EPIPE EDOM ERANGE EAGAIN EWOULDBLOCK EINPROGRESS EALREADY ENOTSOCK
    EDESTADDRREQ EMSGSIZE EPROTOTYPE ENOPROTOOPT EPROTONOSUPPORT ESOCKTNOSUPPORT EOPNOTSUPP
    ENOTSUP EPFNOSUPPORT EAFNOSUPPORT EADDRINUSE EADDRNOTAVAIL ENETDOWN ENETUNREACH ENETRESET
    ECONNABORTED ECONNRESET ENOBUFS EISCONN ENOTCONN ESHUTDOWN ETOOMANYREFS ETIMEDOUT
    ECONNREFUSED ELOOP ENAMETOOLONG EHOSTDOWN EHOSTUNREACH ENOTEMPTY EPROCLIM EUSERS EDQUOT
    ESTALE EREMOTE EBADRPC ERPCMISMATCH EPROGUNAVAIL EPROGMISMATCH EPROCUNAVAIL ENOLCK ENOSYS
    EFTYPE EAUTH ENEEDAUTH EIDRM ENOMSG EOVERFLOW ECANCELED EILSEQ ENOATTR EDOOFUS EBADMSG
    EMULTIHOP ENOLINK EPROTO ENOTCAPABLE ECAPMODE ENOTRECOVERABLE EOWNERDEAD EINTEGRITY
""")

DRAGONFLY_EXTRA: Final = frozenset({"ENOMEDIUM", "EASYNC"})

#: every errno name a trace may carry
KNOWN: Final = LINUX | FREEBSD | DRAGONFLY_EXTRA

#: names that are another name's alias on every system that has both; a trace is read with the
#: format's spelling (SCRIPT_FORMAT.md, "Results": EWOULDBLOCK is written EAGAIN; ENOTSUP is
#: EOPNOTSUPP on Linux, 95, and on FreeBSD, `#define ENOTSUP EOPNOTSUPP`; EDEADLOCK is EDEADLK
#: on Linux, the only system here that has it)
ALIASES: Final = {
    "EWOULDBLOCK": "EAGAIN",
    "ENOTSUP": "EOPNOTSUPP",
    "EDEADLOCK": "EDEADLK",
}


def canonical(name: str) -> str:
    """The format's spelling of an errno name (`EWOULDBLOCK` -> `EAGAIN`)."""
    return ALIASES.get(name, name)


def close_to(name: str) -> list[str]:
    """Known names a mistyped one is probably meant to be, best first."""
    import difflib

    return difflib.get_close_matches(name, sorted(KNOWN), n=3, cutoff=0.75)
