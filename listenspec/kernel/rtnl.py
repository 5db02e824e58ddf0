"""The two routing-table changes the SYN peer makes in its namespace, over rtnetlink with the
standard library: a route to a subnet through a device (RTM_NEWROUTE), or an address on a
device (RTM_NEWADDR), each acknowledged by the kernel (include/uapi/linux/{netlink,rtnetlink,
if_addr}.h; rtnetlink(7)).

pyroute2's IPRoute, used before, starts an asyncio loop and took about 25 ms of the run's
child to look up the device and add two routes, a third of a SYN-using run's CPU (measured
with cProfile in the child over 60 conform scripts); this is one socket and two messages. The
messages carry what IPRoute sent, so the tables come out the same (`ip -d route` and `ip -d
addr` in the namespace show `proto static scope global` for a route, `scope global` for an
address, as before).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import select
import socket
import struct
from typing import Final

# the netlink header, its request flag and its error message: diag.py's (netlink.h)
from .diag import _NLATTR, _NLMSGHDR, NLM_F_REQUEST, NLMSG_ERROR, _align

# include/uapi/linux/netlink.h, rtnetlink.h, if_addr.h
RTM_NEWADDR: Final = 20
RTM_NEWROUTE: Final = 24
NLM_F_ACK: Final = 0x4
NLM_F_EXCL: Final = 0x200
NLM_F_CREATE: Final = 0x400
RT_TABLE_MAIN: Final = 254
RTPROT_STATIC: Final = 4
RT_SCOPE_UNIVERSE: Final = 0
RTN_UNICAST: Final = 1
RTA_DST: Final = 1
RTA_OIF: Final = 4
IFA_ADDRESS: Final = 1
IFA_LOCAL: Final = 2

_RTMSG: Final = struct.Struct("=BBBBBBBBI")  # family, dst_len, src_len, tos, table, protocol,
#                                              scope, type, flags
_IFADDRMSG: Final = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
_ERR: Final = struct.Struct("=i")
#: How long the kernel's acknowledgement may take (seconds): it is written during send().
ACK_WAIT: Final = 2.0


def _attr(kind: int, value: bytes) -> bytes:
    raw = _NLATTR.pack(_NLATTR.size + len(value), kind) + value
    return raw.ljust(_align(len(raw)), b"\0")


def _family(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _request(kind: int, body: bytes) -> None:
    """Send one request and wait for its acknowledgement; OSError(errno) if the kernel says
    no (or does not answer within ACK_WAIT)."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                       socket.NETLINK_ROUTE) as nl:
        nl.bind((0, 0))
        flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
        nl.send(_NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, flags, 1, 0) + body)
        ready, _, _ = select.select([nl], [], [], ACK_WAIT)
        if not ready:
            raise OSError(errno.ETIMEDOUT, "rtnetlink: no acknowledgement")
        answer = nl.recv(1 << 16)
    if len(answer) < _NLMSGHDR.size + _ERR.size:
        raise OSError(errno.EPROTO, "rtnetlink: a short answer")
    _len, mtype, _flags, _seq, _pid = _NLMSGHDR.unpack_from(answer)
    if mtype != NLMSG_ERROR:
        raise OSError(errno.EPROTO, f"rtnetlink: answer of type {mtype}, not an acknowledgement")
    (code,) = _ERR.unpack_from(answer, _NLMSGHDR.size)
    if code:
        raise OSError(-code, os.strerror(-code))


def add_route(dst: str, ifname: str) -> None:
    """`ip route add DST dev IFNAME proto static` (DST as a network, "192.0.2.0/24")."""
    net = ipaddress.ip_network(dst)
    family = _family(dst)
    body = _RTMSG.pack(family, net.prefixlen, 0, 0, RT_TABLE_MAIN, RTPROT_STATIC,
                       RT_SCOPE_UNIVERSE, RTN_UNICAST, 0)
    body += _attr(RTA_DST, net.network_address.packed)
    body += _attr(RTA_OIF, struct.pack("=I", socket.if_nametoindex(ifname)))
    _request(RTM_NEWROUTE, body)


def add_address(address: str, prefixlen: int, ifname: str) -> None:
    """`ip addr add ADDRESS/PREFIXLEN dev IFNAME`, with IFA_LOCAL and IFA_ADDRESS both set
    (gVisor's netstack reads IFA_LOCAL only; Linux takes IFA_LOCAL as the address)."""
    packed = ipaddress.ip_address(address).packed
    body = _IFADDRMSG.pack(_family(address), prefixlen, 0, RT_SCOPE_UNIVERSE,
                           socket.if_nametoindex(ifname))
    body += _attr(IFA_LOCAL, packed) + _attr(IFA_ADDRESS, packed)
    _request(RTM_NEWADDR, body)
