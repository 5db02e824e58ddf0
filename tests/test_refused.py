"""Failed calls change nothing: a call refused by a guard returns the very state it was given,
for every profile, on random call sequences. Errors that are not refusals are protocol
outcomes, and only a known few exist."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from listenspec.models import host
from listenspec.models.host import Target
from listenspec.models.profiles import PROFILES
from listenspec.results import Err

OPTS = ["SO_ACCEPTCONN", "SO_ACCEPTFILTER", "SO_LISTENQLIMIT", "SO_LISTENQLEN",
        "SO_LISTENINCQLEN", "SO_ERROR", "TCP_DEFER_ACCEPT"]
SYSCTLS = ["kern.ipc.soacceptqueue", "kern.ipc.somaxconn", "kern.ipc.sooverinterval",
           "net.core.somaxconn", "net.ipv4.tcp_syncookies", "nope"]

fd = st.integers(-1, 12)
backlog = st.sampled_from([-2**31, -1, 0, 1, 2, 3, 5, 128, 2**31 - 1])
domain = st.sampled_from(["AF_INET", "AF_INET6", "AF_UNIX"])
stype = st.sampled_from(["SOCK_STREAM", "SOCK_SEQPACKET", "SOCK_DGRAM"])
addr = st.one_of(st.none(), st.integers(0, 30))
target = st.builds(Target, addr, st.one_of(st.none(), domain), st.one_of(st.none(), stype))
value = st.one_of(st.none(), st.integers(-3, 3), st.sampled_from([b"dataready", b"httpready",
                                                                  b"zz"]))
CALL = st.one_of(
    st.tuples(st.just("socket"), domain, stype),
    st.tuples(st.just("open")),
    st.tuples(st.just("bind"), fd),
    st.tuples(st.just("listen"), fd, backlog),
    st.tuples(st.just("connect"), fd, target),
    st.tuples(st.just("syn"), target),
    st.tuples(st.just("accept"), fd),
    st.tuples(st.just("send"), fd, st.sampled_from([b"", b"x", b"GET / HTTP/1.0\n\n"])),
    st.tuples(st.just("close"), fd),
    st.tuples(st.just("setsockopt"), fd, st.sampled_from(OPTS), value),
    st.tuples(st.just("getsockopt"), fd, st.sampled_from(OPTS)),
    st.tuples(st.just("sysctl"), st.sampled_from(SYSCTLS), st.one_of(st.none(), backlog)),
    st.tuples(st.just("netstat"), fd),
    st.tuples(st.just("counter"), st.sampled_from(["ListenOverflows", "tcps_listendrop", "x"])),
)

#: (call, errno) pairs that are outcomes of the protocol, not refusals of the call.
OUTCOMES = {
    ("connect", "ECONNRESET"), ("connect", "EINPROGRESS"), ("connect", "ECONNREFUSED"),
    ("connect", "EAGAIN"), ("connect", "ECONNABORTED"), ("syn", "EINPROGRESS"),
    ("connect", "EAFNOSUPPORT"), ("connect", "EINVAL"),  # Linux binds a UDP socket first
    ("send", "ECONNRESET"),  # a pending error, reported and cleared
    ("send", "EDESTADDRREQ"),  # Linux binds an unbound UDP socket before it refuses
    ("listen", "EINVAL"),  # Linux 6.18: a socket that once sent a SYN takes a port, refused
}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(PROFILES)), st.lists(CALL, max_size=40))
def test_refused_calls_leave_the_state_unchanged(profile: str, calls: list[tuple]) -> None:
    p = PROFILES[profile]
    h = host.initial(p)
    for call, *args in calls:
        out = host.apply(p, h, call, *args)
        if out.refused:
            assert out.state is h, (call, args, out.result)
            assert isinstance(out.result, Err)
        elif isinstance(out.result, Err):
            assert (call, out.result.errno) in OUTCOMES, (call, args, out.result)
        h = out.state


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(PROFILES)), st.lists(CALL, max_size=30))
def test_the_model_is_deterministic_and_never_raises(profile: str, calls: list[tuple]) -> None:
    p = PROFILES[profile]
    h1 = h2 = host.initial(p)
    for call, *args in calls:
        o1, o2 = host.apply(p, h1, call, *args), host.apply(p, h2, call, *args)
        assert o1 == o2
        h1, h2 = o1.state, o2.state
    assert hash(h1) == hash(h2)
