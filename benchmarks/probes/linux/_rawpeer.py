"""A half-open TCP peer for the probes: raw IPv4 segments from 192.0.2.2 (a TUN device nobody
answers for), and the listener's answers read back from the TUN queue.

The device and routes are set up by listenspec's own SynPeer (listenspec/kernel/synpeer.py) in
the probe's private namespace; this module only adds what the probes need beyond one SYN: any
flags, sequence numbers of our choosing, and the arrival times of the listener's SYN-ACKs.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import time

from listenspec.kernel.synpeer import PEER4, SynPeer

SYN, RST, ACK = 0x02, 0x04, 0x10


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


class RawPeer:
    def __init__(self) -> None:
        self._peer = SynPeer()
        self.tun = self._peer._setup()
        self.raw = self._peer._raw_socket(socket.AF_INET)

    def close(self) -> None:
        self._peer.close()

    def send(self, dport: int, sport: int, seq: int, ack: int, flags: int,
             payload: bytes = b"") -> None:
        opts = struct.pack("!BBH", 2, 4, 1460) if flags & SYN else b""
        off = (20 + len(opts)) // 4
        hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                          off << 4, flags, 65535, 0, 0)
        seg = hdr + opts + payload
        src, dst = socket.inet_aton(PEER4), socket.inet_aton("127.0.0.1")
        pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(seg))
        seg = seg[:16] + struct.pack("!H", _csum(pseudo + seg)) + seg[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 0, 0x4000, 64,
                         socket.IPPROTO_TCP, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
        self.raw.sendto(ip + seg, ("127.0.0.1", 0))

    def read(self, timeout: float) -> list[tuple[float, int, int, int, int, int]]:
        """Segments the stack sent towards the peer within `timeout`:
        (monotonic time, sport, dport, seq, ack, flags)."""
        out = []
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return out
            r, _, _ = select.select([self.tun], [], [], left)
            if not r:
                return out
            while True:
                try:
                    pkt = os.read(self.tun, 65536)
                except BlockingIOError:
                    break
                if len(pkt) < 40 or pkt[0] >> 4 != 4 or pkt[9] != 6:
                    continue
                tcp = pkt[(pkt[0] & 0x0F) * 4:]
                sp, dp, seq, ack = struct.unpack("!HHII", tcp[:12])
                out.append((time.monotonic(), sp, dp, seq, ack, tcp[13]))
