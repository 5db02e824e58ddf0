"""A FIN without data from the client of a deferred (TCP_DEFER_ACCEPT) connection: Linux ends
the deferral (tcp_check_req() drops only a bare ACK), so the connection is accepted at once
with its EOF; gVisor takes it for a bare ACK (handshake.go synRcvdState(): payloadSize() == 0)
and drops it until the deferral's time is up, then the connection comes with its EOF
(profile parameter defer_ends_on_fin). Found by `listenspec conform --target gvisor --profile
gvisor --seed 1`; the Linux side is checked on this kernel here, the gVisor side in
tests/test_gvisor.py."""

from __future__ import annotations

from test_stopped_port import _kernel_allowed, _model

CLOSED = """s = socket(AF_INET, SOCK_STREAM)
listen(s, 5)
setsockopt(s, TCP_DEFER_ACCEPT, 1)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
close(c)
poll(s)
a = accept(s)
sleep(1.5)
poll(s)
b = accept(s)
recv(b)
"""
# after close(): poll, accept; after the deferral's second: poll, accept, recv
LINUX_SEEN = ["POLLIN", "fd", "0", "0", "-1 EAGAIN", "-1 EBADF"]
# the model's gVisor reads the EOF at once (recv 0); gVisor itself may still say EAGAIN there,
# its EOF coming with the client's next FIN retransmission (docs/assurance.md#open-differences)
GVISOR_SEEN = ["0", "-1 EAGAIN", "0", "POLLIN", "fd", "0"]

# data still ends gVisor's deferral at once: only the FIN waits
SHUT_THEN_DATA = """s = socket(AF_INET, SOCK_STREAM)
listen(s, 5)
setsockopt(s, TCP_DEFER_ACCEPT, 1)
c = socket(AF_INET, SOCK_STREAM)
connect(c, s)
shutdown(c, SHUT_WR)
poll(s)
d = socket(AF_INET, SOCK_STREAM)
connect(d, s)
send(d, "y")
a = accept(s)
recv(a)
"""


def test_linux_accepts_a_deferred_connection_once_its_client_closes() -> None:
    assert _model(CLOSED)[-6:] == LINUX_SEEN


def test_gvisor_holds_it_until_the_deferrals_time_is_up() -> None:
    assert _model(CLOSED, "gvisor")[-6:] == GVISOR_SEEN


def test_on_gvisor_data_still_ends_the_deferral_at_once() -> None:
    assert _model(SHUT_THEN_DATA, "gvisor")[-6:] == ["0", "fd", "0", "1", "fd", '"y"']


def test_the_kernel_agrees() -> None:
    _kernel_allowed(CLOSED)
