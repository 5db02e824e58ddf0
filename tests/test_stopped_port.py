"""What a Linux listener that shutdown(SHUT_RD) stopped keeps of its address: a port the
kernel chose goes (bind(S) asks for port 0, listen() autobinds), so the socket may bind()
again; a port the caller named stays (bind(S, T) sets SOCK_BINDPORT_LOCK); the address a
bind() gave stays (SOCK_BINDADDR_LOCK), so listen() again autobinds on it. Found by `listenspec
conform --examples 400 --seed 6` (the model said bind() EINVAL); every script here is checked
on this kernel too (net/ipv4/tcp.c tcp_set_state(), tcp_disconnect(); af_inet.c __inet_bind())."""

from __future__ import annotations

import pytest
from test_survivors import _kernel_trace

from listenspec.checker import check
from listenspec.models.profiles import PROFILES, Profile
from listenspec.results import render
from listenspec.runner import run_model
from listenspec.script import parse

# bind(S) took port 0: the stop gives the port back; another socket may take the address
# the executor remembers for s, and s may bind and listen again
CHOSEN = """s = socket(AF_INET, SOCK_STREAM)
bind(s)
listen(s, 0)
shutdown(s, SHUT_RD)
x = socket(AF_INET, SOCK_STREAM)
bind(x, s)
listen(x, 1)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
bind(s)
listen(s, 1)
d = socket(AF_INET, SOCK_STREAM)
connect(d, s)
"""
CHOSEN_SEEN = ["0"] * 3 + ["fd", "0", "0", "fd", "0", "0", "0", "fd", "0"]

# s9 named its port (it joined s8's, SO_REUSEPORT): the stop keeps it
NAMED = """s8 = socket(AF_INET, SOCK_STREAM)
s9 = socket(AF_INET, SOCK_STREAM)
setsockopt(s8, SO_REUSEPORT, 1)
setsockopt(s9, SO_REUSEPORT, 1)
bind(s8)
bind(s9, s8)
listen(s9, 0)
shutdown(s9, SHUT_RD)
bind(s9)
bind(s9, s8)
"""
NAMED_SEEN = ["fd", "fd", "0", "0", "0", "0", "0", "0", "-1 EINVAL", "-1 EINVAL"]

# listen() again autobinds on the address the socket kept: 127.0.0.1 after bind() (s, u), the
# wildcard after an autobind (t); the SYN flood line names it
KEPT_ADDRESS = """sysctl("net.ipv4.tcp_syncookies", 1)
s = socket(AF_INET, SOCK_STREAM)
listen(s, 0)
shutdown(s, SHUT_RD)
bind(s)
listen(s, 0)
syn(s)
syn(s)
syslog()
t = socket(AF_INET, SOCK_STREAM)
listen(t, 0)
shutdown(t, SHUT_RD)
listen(t, 0)
syn(t)
syn(t)
syslog()
u = socket(AF_INET, SOCK_STREAM)
bind(u)
listen(u, 0)
shutdown(u, SHUT_RD)
listen(u, 0)
syn(u)
syn(u)
syslog()
"""
FLOOD = "TCP: request_sock_TCP: Possible SYN flooding on port {}:<port>. Sending cookies."


def _model(text: str, profile: Profile | str = "linux") -> list[str]:
    p = PROFILES[profile] if isinstance(profile, str) else profile
    return [render(e.result) for e in run_model(parse(text), p)]


def _kernel_allowed(text: str) -> None:
    """The kernel's trace of the script is one the linux profile allows, line by line."""
    trace = "".join(line + "\n" for line in _kernel_trace(text))
    bad = [(v.step.text, render(v.expected), render(v.actual))
           for v in check(parse(trace, "<kernel>", trace=True), "linux") if not v.ok]
    assert bad == [], trace


def test_a_stopped_listener_gives_back_a_port_the_kernel_chose() -> None:
    assert _model(CHOSEN)[1:] == CHOSEN_SEEN


def test_a_stopped_listener_keeps_a_port_it_named() -> None:
    assert _model(NAMED) == NAMED_SEEN


def test_listening_again_autobinds_on_the_address_kept() -> None:
    logs = [r for r in _model(KEPT_ADDRESS) if r.startswith("[")]
    assert logs == [f'["{FLOOD.format(a)}"]' for a in ("127.0.0.1", "0.0.0.0", "127.0.0.1")]


@pytest.mark.parametrize("text", [CHOSEN, NAMED, KEPT_ADDRESS], ids=["chosen", "named", "kept"])
def test_the_kernel_agrees(text: str) -> None:
    _kernel_allowed(text)
