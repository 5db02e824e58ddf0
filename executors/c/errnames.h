/* errnames.h: errno value -> the name a trace spells it with (SCRIPT_FORMAT.md, "Results").
 *
 * Every name is guarded, so the table holds exactly the errnos this platform defines. Where two
 * names share a value the first listed wins: EAGAIN (not EWOULDBLOCK), EOPNOTSUPP (not ENOTSUP)
 * and EDEADLK (not EDEADLOCK), as listenspec.kernel.libc.errno_name spells them. Generated from
 * Python's errno.errorcode on Linux plus the BSD and Darwin additions. */
#define LSN_E(x) {x, #x},
#ifdef EAGAIN
LSN_E(EAGAIN)
#endif
#ifdef EOPNOTSUPP
LSN_E(EOPNOTSUPP)
#endif
#ifdef EDEADLK
LSN_E(EDEADLK)
#endif
#ifdef E2BIG
LSN_E(E2BIG)
#endif
#ifdef EACCES
LSN_E(EACCES)
#endif
#ifdef EADDRINUSE
LSN_E(EADDRINUSE)
#endif
#ifdef EADDRNOTAVAIL
LSN_E(EADDRNOTAVAIL)
#endif
#ifdef EADV
LSN_E(EADV)
#endif
#ifdef EAFNOSUPPORT
LSN_E(EAFNOSUPPORT)
#endif
#ifdef EALREADY
LSN_E(EALREADY)
#endif
#ifdef EAUTH
LSN_E(EAUTH)
#endif
#ifdef EBADARCH
LSN_E(EBADARCH)
#endif
#ifdef EBADE
LSN_E(EBADE)
#endif
#ifdef EBADEXEC
LSN_E(EBADEXEC)
#endif
#ifdef EBADF
LSN_E(EBADF)
#endif
#ifdef EBADFD
LSN_E(EBADFD)
#endif
#ifdef EBADMACHO
LSN_E(EBADMACHO)
#endif
#ifdef EBADMSG
LSN_E(EBADMSG)
#endif
#ifdef EBADR
LSN_E(EBADR)
#endif
#ifdef EBADRPC
LSN_E(EBADRPC)
#endif
#ifdef EBADRQC
LSN_E(EBADRQC)
#endif
#ifdef EBADSLT
LSN_E(EBADSLT)
#endif
#ifdef EBFONT
LSN_E(EBFONT)
#endif
#ifdef EBUSY
LSN_E(EBUSY)
#endif
#ifdef ECANCELED
LSN_E(ECANCELED)
#endif
#ifdef ECAPMODE
LSN_E(ECAPMODE)
#endif
#ifdef ECHILD
LSN_E(ECHILD)
#endif
#ifdef ECHRNG
LSN_E(ECHRNG)
#endif
#ifdef ECOMM
LSN_E(ECOMM)
#endif
#ifdef ECONNABORTED
LSN_E(ECONNABORTED)
#endif
#ifdef ECONNREFUSED
LSN_E(ECONNREFUSED)
#endif
#ifdef ECONNRESET
LSN_E(ECONNRESET)
#endif
#ifdef EDESTADDRREQ
LSN_E(EDESTADDRREQ)
#endif
#ifdef EDEVERR
LSN_E(EDEVERR)
#endif
#ifdef EDOM
LSN_E(EDOM)
#endif
#ifdef EDOOFUS
LSN_E(EDOOFUS)
#endif
#ifdef EDOTDOT
LSN_E(EDOTDOT)
#endif
#ifdef EDQUOT
LSN_E(EDQUOT)
#endif
#ifdef EEXIST
LSN_E(EEXIST)
#endif
#ifdef EFAULT
LSN_E(EFAULT)
#endif
#ifdef EFBIG
LSN_E(EFBIG)
#endif
#ifdef EFTYPE
LSN_E(EFTYPE)
#endif
#ifdef EHOSTDOWN
LSN_E(EHOSTDOWN)
#endif
#ifdef EHOSTUNREACH
LSN_E(EHOSTUNREACH)
#endif
#ifdef EIDRM
LSN_E(EIDRM)
#endif
#ifdef EILSEQ
LSN_E(EILSEQ)
#endif
#ifdef EINPROGRESS
LSN_E(EINPROGRESS)
#endif
#ifdef EINTEGRITY
LSN_E(EINTEGRITY)
#endif
#ifdef EINTR
LSN_E(EINTR)
#endif
#ifdef EINVAL
LSN_E(EINVAL)
#endif
#ifdef EIO
LSN_E(EIO)
#endif
#ifdef EISCONN
LSN_E(EISCONN)
#endif
#ifdef EISDIR
LSN_E(EISDIR)
#endif
#ifdef EISNAM
LSN_E(EISNAM)
#endif
#ifdef EKEYEXPIRED
LSN_E(EKEYEXPIRED)
#endif
#ifdef EKEYREJECTED
LSN_E(EKEYREJECTED)
#endif
#ifdef EKEYREVOKED
LSN_E(EKEYREVOKED)
#endif
#ifdef EL2HLT
LSN_E(EL2HLT)
#endif
#ifdef EL2NSYNC
LSN_E(EL2NSYNC)
#endif
#ifdef EL3HLT
LSN_E(EL3HLT)
#endif
#ifdef EL3RST
LSN_E(EL3RST)
#endif
#ifdef ELIBACC
LSN_E(ELIBACC)
#endif
#ifdef ELIBBAD
LSN_E(ELIBBAD)
#endif
#ifdef ELIBEXEC
LSN_E(ELIBEXEC)
#endif
#ifdef ELIBMAX
LSN_E(ELIBMAX)
#endif
#ifdef ELIBSCN
LSN_E(ELIBSCN)
#endif
#ifdef ELNRNG
LSN_E(ELNRNG)
#endif
#ifdef ELOOP
LSN_E(ELOOP)
#endif
#ifdef EMEDIUMTYPE
LSN_E(EMEDIUMTYPE)
#endif
#ifdef EMFILE
LSN_E(EMFILE)
#endif
#ifdef EMLINK
LSN_E(EMLINK)
#endif
#ifdef EMSGSIZE
LSN_E(EMSGSIZE)
#endif
#ifdef EMULTIHOP
LSN_E(EMULTIHOP)
#endif
#ifdef ENAMETOOLONG
LSN_E(ENAMETOOLONG)
#endif
#ifdef ENAVAIL
LSN_E(ENAVAIL)
#endif
#ifdef ENEEDAUTH
LSN_E(ENEEDAUTH)
#endif
#ifdef ENETDOWN
LSN_E(ENETDOWN)
#endif
#ifdef ENETRESET
LSN_E(ENETRESET)
#endif
#ifdef ENETUNREACH
LSN_E(ENETUNREACH)
#endif
#ifdef ENFILE
LSN_E(ENFILE)
#endif
#ifdef ENOANO
LSN_E(ENOANO)
#endif
#ifdef ENOATTR
LSN_E(ENOATTR)
#endif
#ifdef ENOBUFS
LSN_E(ENOBUFS)
#endif
#ifdef ENOCSI
LSN_E(ENOCSI)
#endif
#ifdef ENODATA
LSN_E(ENODATA)
#endif
#ifdef ENODEV
LSN_E(ENODEV)
#endif
#ifdef ENOENT
LSN_E(ENOENT)
#endif
#ifdef ENOEXEC
LSN_E(ENOEXEC)
#endif
#ifdef ENOKEY
LSN_E(ENOKEY)
#endif
#ifdef ENOLCK
LSN_E(ENOLCK)
#endif
#ifdef ENOLINK
LSN_E(ENOLINK)
#endif
#ifdef ENOMEDIUM
LSN_E(ENOMEDIUM)
#endif
#ifdef ENOMEM
LSN_E(ENOMEM)
#endif
#ifdef ENOMSG
LSN_E(ENOMSG)
#endif
#ifdef ENONET
LSN_E(ENONET)
#endif
#ifdef ENOPKG
LSN_E(ENOPKG)
#endif
#ifdef ENOPOLICY
LSN_E(ENOPOLICY)
#endif
#ifdef ENOPROTOOPT
LSN_E(ENOPROTOOPT)
#endif
#ifdef ENOSPC
LSN_E(ENOSPC)
#endif
#ifdef ENOSR
LSN_E(ENOSR)
#endif
#ifdef ENOSTR
LSN_E(ENOSTR)
#endif
#ifdef ENOSYS
LSN_E(ENOSYS)
#endif
#ifdef ENOTBLK
LSN_E(ENOTBLK)
#endif
#ifdef ENOTCAPABLE
LSN_E(ENOTCAPABLE)
#endif
#ifdef ENOTCONN
LSN_E(ENOTCONN)
#endif
#ifdef ENOTDIR
LSN_E(ENOTDIR)
#endif
#ifdef ENOTEMPTY
LSN_E(ENOTEMPTY)
#endif
#ifdef ENOTNAM
LSN_E(ENOTNAM)
#endif
#ifdef ENOTRECOVERABLE
LSN_E(ENOTRECOVERABLE)
#endif
#ifdef ENOTSOCK
LSN_E(ENOTSOCK)
#endif
#ifdef ENOTTY
LSN_E(ENOTTY)
#endif
#ifdef ENOTUNIQ
LSN_E(ENOTUNIQ)
#endif
#ifdef ENXIO
LSN_E(ENXIO)
#endif
#ifdef EOVERFLOW
LSN_E(EOVERFLOW)
#endif
#ifdef EOWNERDEAD
LSN_E(EOWNERDEAD)
#endif
#ifdef EPERM
LSN_E(EPERM)
#endif
#ifdef EPFNOSUPPORT
LSN_E(EPFNOSUPPORT)
#endif
#ifdef EPIPE
LSN_E(EPIPE)
#endif
#ifdef EPROCLIM
LSN_E(EPROCLIM)
#endif
#ifdef EPROGMISMATCH
LSN_E(EPROGMISMATCH)
#endif
#ifdef EPROGUNAVAIL
LSN_E(EPROGUNAVAIL)
#endif
#ifdef EPROTO
LSN_E(EPROTO)
#endif
#ifdef EPROTONOSUPPORT
LSN_E(EPROTONOSUPPORT)
#endif
#ifdef EPROTOTYPE
LSN_E(EPROTOTYPE)
#endif
#ifdef EPWROFF
LSN_E(EPWROFF)
#endif
#ifdef EQFULL
LSN_E(EQFULL)
#endif
#ifdef ERANGE
LSN_E(ERANGE)
#endif
#ifdef EREMCHG
LSN_E(EREMCHG)
#endif
#ifdef EREMOTE
LSN_E(EREMOTE)
#endif
#ifdef EREMOTEIO
LSN_E(EREMOTEIO)
#endif
#ifdef ERESTART
LSN_E(ERESTART)
#endif
#ifdef ERFKILL
LSN_E(ERFKILL)
#endif
#ifdef EROFS
LSN_E(EROFS)
#endif
#ifdef ERPCMISMATCH
LSN_E(ERPCMISMATCH)
#endif
#ifdef ESHLIBVERS
LSN_E(ESHLIBVERS)
#endif
#ifdef ESHUTDOWN
LSN_E(ESHUTDOWN)
#endif
#ifdef ESOCKTNOSUPPORT
LSN_E(ESOCKTNOSUPPORT)
#endif
#ifdef ESPIPE
LSN_E(ESPIPE)
#endif
#ifdef ESRCH
LSN_E(ESRCH)
#endif
#ifdef ESRMNT
LSN_E(ESRMNT)
#endif
#ifdef ESTALE
LSN_E(ESTALE)
#endif
#ifdef ESTRPIPE
LSN_E(ESTRPIPE)
#endif
#ifdef ETIME
LSN_E(ETIME)
#endif
#ifdef ETIMEDOUT
LSN_E(ETIMEDOUT)
#endif
#ifdef ETOOMANYREFS
LSN_E(ETOOMANYREFS)
#endif
#ifdef ETXTBSY
LSN_E(ETXTBSY)
#endif
#ifdef EUCLEAN
LSN_E(EUCLEAN)
#endif
#ifdef EUNATCH
LSN_E(EUNATCH)
#endif
#ifdef EUSERS
LSN_E(EUSERS)
#endif
#ifdef EXDEV
LSN_E(EXDEV)
#endif
#ifdef EXFULL
LSN_E(EXFULL)
#endif
#ifdef EWOULDBLOCK
LSN_E(EWOULDBLOCK)
#endif
#ifdef ENOTSUP
LSN_E(ENOTSUP)
#endif
#ifdef EDEADLOCK
LSN_E(EDEADLOCK)
#endif
#undef LSN_E
