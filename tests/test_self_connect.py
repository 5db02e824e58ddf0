"""Two Linux answers of connect() that conformance found and the model now gives, each checked
on this kernel (spec/sources/linux-6.18.md §3):

- a listener a shutdown(SHUT_RD) stopped: connect() to a target of another family is
  EAFNOSUPPORT (tcp_v4_connect() reads the family before anything else), to one of its own
  family EINVAL (profile parameters connect_after_stop, connect_stop_before_family; found by
  `listenspec conform --examples 400 --seed 6`). gVisor answers EINVAL to both (measured);
- a socket that shutdown(SHUT_WR) marked before it was connected (ENOTCONN, SEND_SHUTDOWN set)
  connecting to itself: its FIN comes back to it, the connection is over (TIME_WAIT holds the
  port) and connect() is ECONNABORTED (profile parameter self_connect_shut_send; found by
  `--seed 5`)."""

from __future__ import annotations

import attrs
import pytest
from test_stopped_port import _kernel_allowed, _model

from listenspec.models.profiles import PROFILES

STOPPED = """s2 = socket(AF_INET6, SOCK_STREAM)
s6 = socket(AF_INET6, SOCK_STREAM)
listen(s6, 1)
u = socket(AF_UNIX, SOCK_STREAM)
bind(u)
s9 = socket(AF_INET, SOCK_STREAM)
listen(s9, 0)
shutdown(s9, SHUT_RD)
connect(s9, s2)
connect(s9, s6)
connect(s9, u)
connect(s9, s9)
"""
STOPPED_LINUX = ["-1 EAFNOSUPPORT"] * 3 + ["-1 EINVAL"]
STOPPED_GVISOR = ["-1 EINVAL"] * 4

# the abort, what the socket is after it, and how later connects settle (an end-pending one,
# then a fresh SYN to the port the TIME_WAIT holds, refused, then the end of that one)
SHUT_SELF = """s1 = socket(AF_INET6, SOCK_STREAM)
shutdown(s1, SHUT_WR)
bind(s1, s1)
connect(s1, s1)
connect(s1, s1)
connect(s1, s1)
connect(s1, s1)
getsockopt(s1, SO_ERROR)
send(s1, "x")
recv(s1)
bind(s1)
poll(s1)
x = socket(AF_INET6, SOCK_STREAM)
bind(x, s1)
s2 = socket(AF_INET, SOCK_STREAM)
shutdown(s2, SHUT_WR)
bind(s2, s2)
connect(s2, s2)
listen(s2, 1)
bind(s2)
connect(s2, s2)
connect(s2, s2)
"""
SHUT_SELF_SEEN = ["fd", "-1 ENOTCONN", "0", "-1 ECONNABORTED", "-1 ECONNABORTED",
                  "-1 ECONNREFUSED", "-1 ECONNABORTED", "0", "-1 EPIPE", "-1 ENOTCONN", "0",
                  "POLLOUT|POLLHUP", "fd", "-1 EADDRINUSE",
                  "fd", "-1 ENOTCONN", "0", "-1 ECONNABORTED", "-1 EINVAL", "0",
                  "-1 ECONNABORTED", "0"]

# the aborted socket once sent a SYN: unconnected again after the next connect(), it still
# never listens (spec/sources/linux-6.18.md §0.3)
ABORTED_LISTEN = """s = socket(AF_INET, SOCK_STREAM)
shutdown(s, SHUT_WR)
bind(s, s)
connect(s, s)
connect(s, s)
listen(s, 1)
"""

# shut for reading only: nothing is sent, the socket connects to itself
RD_SELF = """s = socket(AF_INET, SOCK_STREAM)
shutdown(s, SHUT_RD)
bind(s, s)
connect(s, s)
"""


def test_a_stopped_listener_reads_the_targets_family_first_on_linux() -> None:
    assert _model(STOPPED)[-4:] == STOPPED_LINUX


def test_a_stopped_listener_refuses_every_family_alike_on_gvisor() -> None:
    results = _model(STOPPED, "gvisor")
    assert results[-4:] == STOPPED_GVISOR


@pytest.mark.parametrize("before", [True, False])
def test_without_connect_after_stop_a_stopped_listener_connects_as_any_other(
        before: bool) -> None:
    # connect_after_stop None: neither row applies, on whichever side of the family row
    p = attrs.evolve(PROFILES["linux"], connect_after_stop=None,
                     connect_stop_before_family=before)
    results = _model(STOPPED, p)
    assert results[-4:] == ["-1 EAFNOSUPPORT"] * 3 + ["-1 ECONNREFUSED"]


def test_a_self_connect_shut_for_sending_ends_in_its_own_fin() -> None:
    assert _model(SHUT_SELF) == SHUT_SELF_SEEN


def test_an_aborted_self_connect_never_listens() -> None:
    assert _model(ABORTED_LISTEN)[-3:] == ["-1 ECONNABORTED", "-1 ECONNABORTED", "-1 EINVAL"]


def test_a_self_connect_shut_for_reading_only_connects() -> None:
    assert _model(RD_SELF)[-1] == "0"


def test_elsewhere_the_self_connect_is_unchanged() -> None:
    # gVisor's shutdown() of an unconnected socket marks nothing (measured), so it connects
    results = _model(SHUT_SELF, "gvisor")
    assert results[3] == "0"


@pytest.mark.parametrize("text", [STOPPED, SHUT_SELF, ABORTED_LISTEN, RD_SELF],
                         ids=["stopped", "shut", "aborted", "rd"])
def test_the_kernel_agrees(text: str) -> None:
    _kernel_allowed(text)


def test_every_profile_with_connect_after_stop_places_it_against_the_family_row() -> None:
    # the premise of tools/mutation.py's argument for connect_stop_before_family's default:
    # a profile that sets connect_after_stop says (and cites) where its row goes
    for p in PROFILES.values():
        if p.connect_after_stop is not None:
            assert not p.cite["connect_stop_before_family"].startswith("listenspec choice"), p.name


def test_on_gvisor_the_stop_row_and_the_family_row_give_one_errno() -> None:
    # the premise of tools/mutation.py's argument for gvisor's connect_stop_before_family: the
    # family errno is EINVAL for every pair of families, as connect_after_stop is, so the two
    # rows' order cannot show
    g = PROFILES["gvisor"]
    assert {errno for _, _, errno in g.connect_family_errno} == {g.connect_after_stop}
