"""syn(S): a peer that sends one bare SYN and never completes the handshake.

How (only inside the run's private network namespace, since it adds a device and routes):
- The peer's address is a documentation address (192.0.2.2 / 2001:db8:5e::2) routed to a TUN
  device `lsn0` that nobody answers for. The SYN is written with a raw socket to the listener's
  loopback address, as if it came from the peer.
- The listener answers (SYN-ACK) towards the peer; the answer leaves through `lsn0`, where this
  module reads it from the TUN descriptor. Our own stack never sees it, so it never answers with
  a RST and the connection stays half-open (a request socket, reference/linux.md §2/§5), exactly
  like one SYN of a SYN flood. Later SYN-ACK retransmissions go to the TUN queue too.
- route_localnet=1 on `lsn0` lets a packet from 127.0.0.1 leave through it (IPv4 refuses a
  loopback source on another device otherwise: net/ipv4/route.c `__mkroute_output()`).
Outcomes: a SYN-ACK -> 0; a RST -> -1 ECONNREFUSED (nobody listens there); nothing -> -1
EINPROGRESS, detected positively when ListenOverflows/ListenDrops moved (a SYN dropped by
`tcp_conn_request()`, linux.md §2), otherwise after a bounded wait.

That is the `raw` method. A stack without raw sockets or route_localnet (gVisor 2022-12:
socket(SOCK_RAW) is EPERM, and netstack delivers a packet only to an address of the device it
arrived on) gets the `tun` method: the device is given the addresses 192.0.2.1/24 and
2001:db8:5e::1/64 (RTM_NEWADDR, which also routes the subnet to it) and the SYN is written into
the TUN descriptor, as if it arrived from the peer on the wire, addressed to the device's own
address. A listener on the wildcard address (the one listen() binds by itself) owns that address
too; a listener bound to loopback is out of its reach, and syn() says so (unsupported).
Which method works is decided by probes.py, against known answers, never assumed.
"""

from __future__ import annotations

import fcntl
import os
import platform
import random
import select
import socket
import struct
import time
from collections.abc import Callable
from functools import cache
from typing import Final, Literal

from ..results import Err, Result, Ret, Unsupported
from . import rtnl
from .libc import errno_name
from .netns import enter_private_netns, set_link_up

TUNSETIFF: Final = 0x400454CA
IFF_TUN: Final = 0x0001
IFF_NO_PI: Final = 0x1000
IFNAME: Final = "lsn0"
PEER4: Final = "192.0.2.2"
NET4: Final = "192.0.2.0/24"
PEER6: Final = "2001:db8:5e::2"
NET6: Final = "2001:db8:5e::/64"
#: The TUN device's own addresses (the `tun` method aims the SYN at them).
LOCAL4: Final = "192.0.2.1"
LOCAL6: Final = "2001:db8:5e::1"
TH_SYN: Final = 0x02
TH_RST: Final = 0x04
TH_ACK: Final = 0x10
#: How long to wait for an answer when no drop counter moved (loopback answers within
#: microseconds: the SYN is processed in the softirq of the sending call).
ANSWER_WAIT: Final = 0.1
#: ... where the stack answers in a thread of its own and no drop counter can be read (gVisor).
SLOW_ANSWER_WAIT: Final = 0.3

Method = Literal["raw", "tun"]
METHODS: Final[tuple[Method, ...]] = ("raw", "tun")


#: The name of the probe's device (it lives in a throw-away namespace).
PROBE_IFNAME: Final = "lsnprobe"
TUN_DEVICE: Final = "/dev/net/tun"


@cache
def tun_problem() -> str | None:
    """Why a run's namespace cannot have syn()'s TUN device here, or None if it can.

    Probed once per process in a throw-away child that does what a run does (a private network
    namespace, then /dev/net/tun and TUNSETIFF): the device's mode and what a user namespace
    may do with it differ between systems, so nothing is assumed (0600 here, 0666 on many).
    """
    if platform.system() != "Linux":
        return f"not Linux ({platform.system()})"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the probe child
        code = 0
        try:
            enter_private_netns()
            tun = os.open(TUN_DEVICE, os.O_RDWR | os.O_CLOEXEC)
            fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH22x", PROBE_IFNAME.encode(),
                                                     IFF_TUN | IFF_NO_PI))
        except OSError as exc:
            code = min(exc.errno or 1, 254)
        except BaseException:
            code = 255
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        return None
    return f"{TUN_DEVICE}: {errno_name(code) if 0 < code < 255 else 'the probe failed'}"


class SynPeer:
    """The half-open peer; set up on the first syn() of a run."""

    def __init__(self, method: Method = "raw", *, wait: float = ANSWER_WAIT) -> None:
        self.method: Method = method
        self.wait = wait
        self._tun: int | None = None
        self._raw: dict[int, socket.socket] = {}
        self._next_port = 20000

    def fds(self) -> list[int]:
        fds = [s.fileno() for s in self._raw.values()]
        return fds + ([] if self._tun is None else [self._tun])

    def close(self) -> None:
        for s in self._raw.values():
            s.close()
        self._raw = {}
        if self._tun is not None:
            os.close(self._tun)
            self._tun = None

    def prepare(self) -> None:
        """Make the peer before the script's first step (see Executor: its descriptors must
        not compete with the script's); any failure is left for syn() to report."""
        try:
            self._setup()
            for family in (socket.AF_INET, socket.AF_INET6):
                self._raw_socket(family)
        except OSError:
            pass

    def _setup(self) -> int:
        if self._tun is not None:
            return self._tun
        tun = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            ifr = struct.pack("16sH22x", IFNAME.encode(), IFF_TUN | IFF_NO_PI)
            fcntl.ioctl(tun, TUNSETIFF, ifr)
            if self.method == "raw":
                with open(f"/proc/sys/net/ipv4/conf/{IFNAME}/route_localnet", "w") as f:
                    f.write("1")
            set_link_up(IFNAME)
            if self.method == "raw":
                rtnl.add_route(NET4, IFNAME)
                rtnl.add_route(NET6, IFNAME)
            else:  # an address routes its subnet to the device (RTM_NEWADDR)
                rtnl.add_address(LOCAL4, 24, IFNAME)
                rtnl.add_address(LOCAL6, 64, IFNAME)
        except BaseException:
            os.close(tun)
            raise
        self._tun = tun
        return tun

    def _raw_socket(self, family: int) -> socket.socket:
        if family not in self._raw:
            # IPPROTO_RAW implies a header we write ourselves (IP_HDRINCL / IPV6_HDRINCL).
            self._raw[family] = socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_RAW)
        return self._raw[family]

    def syn(
        self, family: int, host: str, port: int, drops: Callable[[], tuple[int, int]]
    ) -> Result:
        """Send one SYN to host:port; report how it was answered (see the module doc)."""
        wildcard = host in ("0.0.0.0", "::")
        if self.method == "tun":
            if not wildcard:
                return Unsupported(
                    f"syn() to a listener bound to {host} is not supported by the kernel "
                    "executor here: its SYN can only be written into a TUN device and "
                    "addressed to the device's own address, which only a listener on the "
                    "wildcard address owns")
            host = LOCAL4 if family == socket.AF_INET else LOCAL6
        elif wildcard:  # a wildcard listener is reached on loopback
            host = "127.0.0.1" if family == socket.AF_INET else "::1"
        tun = self._setup()
        _drain(tun)
        peer = PEER4 if family == socket.AF_INET else PEER6
        sport = self._next_port
        self._next_port = 20000 + (self._next_port - 20000 + 1) % 40000
        isn = random.getrandbits(32)
        before = drops()
        packet = _syn_packet(family, peer, host, sport, port, isn)
        if self.method == "tun":
            os.write(tun, packet)
        else:
            self._raw_socket(family).sendto(packet, (host, 0))
        deadline = time.monotonic() + self.wait
        while True:
            flags = _find_answer(tun, family, port, sport, isn)
            if flags is not None:
                if flags & TH_SYN and flags & TH_ACK:
                    return Ret(0)
                if flags & TH_RST:
                    return Err("ECONNREFUSED")
            if drops() != before:
                return Err("EINPROGRESS")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Err("EINPROGRESS")
            select.select([tun], [], [], min(remaining, 0.01))


def _drain(tun: int) -> None:
    while True:
        try:
            os.read(tun, 65536)
        except BlockingIOError:
            return


def _find_answer(tun: int, family: int, lport: int, sport: int, isn: int) -> int | None:
    """TCP flags of the first packet in the TUN queue that answers our SYN, if any."""
    while True:
        try:
            pkt = os.read(tun, 65536)
        except BlockingIOError:
            return None
        tcp = _tcp_payload(pkt, family)
        if tcp is None or len(tcp) < 14:
            continue
        src_port, dst_port, _seq, ack = struct.unpack("!HHII", tcp[:12])
        flags = tcp[13]
        if src_port == lport and dst_port == sport and ack == (isn + 1) & 0xFFFFFFFF:
            return flags


def _tcp_payload(pkt: bytes, family: int) -> bytes | None:
    if not pkt:
        return None
    version = pkt[0] >> 4
    if family == socket.AF_INET and version == 4 and len(pkt) >= 20 and pkt[9] == 6:
        return pkt[(pkt[0] & 0x0F) * 4 :]
    if family == socket.AF_INET6 and version == 6 and len(pkt) >= 40 and pkt[6] == 6:
        return pkt[40:]
    return None


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def _syn_packet(family: int, src: str, dst: str, sport: int, dport: int, isn: int) -> bytes:
    """An IPv4/IPv6 packet carrying a bare TCP SYN (with an MSS option, as real stacks send)."""
    options = struct.pack("!BBH", 2, 4, 1460)  # MSS 1460
    offset = (20 + len(options)) // 4
    header = struct.pack("!HHIIBBHHH", sport, dport, isn, 0, offset << 4, TH_SYN, 65535, 0, 0)
    segment = header + options
    s, d = socket.inet_pton(family, src), socket.inet_pton(family, dst)
    if family == socket.AF_INET:
        pseudo = s + d + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(segment))
    else:
        pseudo = s + d + struct.pack("!I3xB", len(segment), socket.IPPROTO_TCP)
    csum = _checksum(pseudo + segment)
    segment = segment[:16] + struct.pack("!H", csum) + segment[18:]
    if family == socket.AF_INET:
        ip = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(segment), 0, 0x4000, 64, socket.IPPROTO_TCP,
            0, s, d,
        )
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    else:
        ip = struct.pack("!IHBB16s16s", 6 << 28, len(segment), socket.IPPROTO_TCP, 64, s, d)
    return ip + segment
