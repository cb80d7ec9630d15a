"""A minimal libpcap file writer and reader for UDP datagrams over IPv4 (bytes in, bytes out).

sipp's `play_pcap_audio` replays a capture: it keeps every RTP byte as written and only
rewrites the UDP ports (sipp src/send_packets.c), so the capture we write decides sequence
numbers, timestamps, marker bits and pacing (from the record times). We write classic pcap
(magic a1b2c3d4, version 2.4) with Ethernet framing (link type 1), which every sipp version
reads (src/prepare_pcap.c), and compute real IPv4 and UDP checksums so that tcpdump and
Wireshark show the file as clean.

The reader accepts what we write plus the other link types sipp accepts (raw IPv4, Linux
cooked capture) in either byte order, so tests can check our files and people can inspect
captures of what Asterisk sent back.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from ivr.sipp.errors import PcapFormatError

MAGIC = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
SNAPLEN = 65535
ETHERTYPE_IPV4 = 0x0800
IPPROTO_UDP = 17

_GLOBAL = struct.Struct("<IHHiIII")  # written little-endian; read in either order
_RECORD = struct.Struct("<IIII")
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_UDP = struct.Struct("!HHHH")


@dataclass(frozen=True, slots=True)
class UdpRecord:
    """One UDP datagram in a capture, with its capture time in seconds."""

    time_s: float
    src: str
    sport: int
    dst: str
    dport: int
    payload: bytes


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ipv4_udp(record: UdpRecord, ident: int) -> bytes:
    src = ipaddress.IPv4Address(record.src).packed
    dst = ipaddress.IPv4Address(record.dst).packed
    udp_len = _UDP.size + len(record.payload)
    pseudo = src + dst + struct.pack("!BBH", 0, IPPROTO_UDP, udp_len)
    udp_header = _UDP.pack(record.sport, record.dport, udp_len, 0)
    udp_sum = _checksum(pseudo + udp_header + record.payload) or 0xFFFF  # RFC 768: 0 = none
    udp = _UDP.pack(record.sport, record.dport, udp_len, udp_sum) + record.payload
    total = 20 + len(udp)
    if total > 0xFFFF:
        raise PcapFormatError(f"UDP payload of {len(record.payload)} bytes does not fit IPv4")
    header = _IPV4.pack(0x45, 0, total, ident & 0xFFFF, 0x4000, 64, IPPROTO_UDP, 0, src, dst)
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return header + udp


def encode_pcap(records: list[UdpRecord]) -> bytes:
    """A whole pcap file (Ethernet framing) holding `records` in order."""
    out = bytearray(_GLOBAL.pack(MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET))
    ethernet = b"\x00" * 12 + struct.pack("!H", ETHERTYPE_IPV4)
    for ident, record in enumerate(records):
        if record.time_s < 0:
            raise PcapFormatError(f"record {ident} has a negative time {record.time_s}")
        frame = ethernet + _ipv4_udp(record, ident)
        micros = round(record.time_s * 1_000_000)
        seconds, usec = divmod(micros, 1_000_000)
        out += _RECORD.pack(seconds, usec, len(frame), len(frame))
        out += frame
    return bytes(out)


def decode_pcap(data: bytes) -> list[UdpRecord]:
    """Every IPv4/UDP datagram of a pcap file; other packets are skipped."""
    if len(data) < _GLOBAL.size:
        raise PcapFormatError(f"pcap of {len(data)} bytes is shorter than its global header")
    (magic_le,) = struct.unpack_from("<I", data)
    if magic_le == MAGIC:
        order = "<"
    elif magic_le == 0xD4C3B2A1:
        order = ">"
    else:
        raise PcapFormatError(f"not a classic pcap file (magic {magic_le:#010x})")
    _, major, _, _, _, _, linktype = struct.unpack_from(order + _GLOBAL.format[1:], data)
    if major != 2:
        raise PcapFormatError(f"pcap version {major} is not 2")
    if linktype == LINKTYPE_ETHERNET:
        link_len = 14
    elif linktype == LINKTYPE_LINUX_SLL:
        link_len = 16
    elif linktype == LINKTYPE_RAW:
        link_len = 0
    else:
        raise PcapFormatError(f"pcap link type {linktype} is not Ethernet, raw IP or Linux SLL")
    records: list[UdpRecord] = []
    offset = _GLOBAL.size
    while offset < len(data):
        if offset + _RECORD.size > len(data):
            raise PcapFormatError(f"record header at byte {offset} is truncated")
        seconds, usec, caplen, origlen = struct.unpack_from(
            order + _RECORD.format[1:], data, offset
        )
        offset += _RECORD.size
        frame = data[offset : offset + caplen]
        offset += caplen
        if len(frame) != caplen or caplen != origlen:
            raise PcapFormatError(f"packet at byte {offset - caplen} is truncated")
        parsed = _parse_frame(frame, link_len, seconds + usec / 1_000_000)
        if parsed is not None:
            records.append(parsed)
    return records


def _parse_frame(frame: bytes, link_len: int, time_s: float) -> UdpRecord | None:
    if link_len:
        (ethertype,) = struct.unpack_from("!H", frame, link_len - 2)
        if ethertype != ETHERTYPE_IPV4:
            return None
    ip = frame[link_len:]
    if len(ip) < 20 or ip[0] >> 4 != 4:
        return None
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack_from("!H", ip, 2)[0]
    if ip[9] != IPPROTO_UDP:
        return None
    if len(ip) < total or total < ihl + _UDP.size:
        raise PcapFormatError(f"IPv4 packet of {len(ip)} bytes claims {total} bytes")
    sport, dport, udp_len, _ = _UDP.unpack_from(ip, ihl)
    payload = ip[ihl + _UDP.size : ihl + udp_len]
    return UdpRecord(
        time_s=time_s,
        src=str(ipaddress.IPv4Address(ip[12:16])),
        sport=sport,
        dst=str(ipaddress.IPv4Address(ip[16:20])),
        dport=dport,
        payload=bytes(payload),
    )


def verify_checksums(frame_ip: bytes) -> bool:
    """True when an IPv4 header and its UDP datagram both carry correct checksums."""
    ihl = (frame_ip[0] & 0x0F) * 4
    if _checksum(frame_ip[:ihl]) != 0:
        return False
    udp_len = struct.unpack_from("!H", frame_ip, ihl + 4)[0]
    pseudo = frame_ip[12:20] + struct.pack("!BBH", 0, IPPROTO_UDP, udp_len)
    return _checksum(pseudo + frame_ip[ihl : ihl + udp_len]) == 0
