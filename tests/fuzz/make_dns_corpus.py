#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of the fuzz_dns target: a few valid DNS messages.

Usage: make_dns_corpus.py [OUTPUT_DIR]   (default: corpus/fuzz_dns next to this file)

The output is deterministic; the files are committed next to this script, so
run it again after changing it and commit both.
"""
import os
import struct
import sys

T_A, T_NS, T_CNAME, T_SOA, T_TXT, T_AAAA, T_OPT, T_HTTPS = 1, 2, 5, 6, 16, 28, 41, 65
C_IN = 1
F_QUERY = 0x0100      # RD
F_RESPONSE = 0x8180   # QR RD RA, NOERROR
F_NXDOMAIN = 0x8183


class Msg:
    """A DNS message being written, with name compression on request."""

    def __init__(self, ident, flags):
        self.ident, self.flags = ident, flags
        self.counts = [0, 0, 0, 0]
        self.body = bytearray()

    def offset(self):
        return 12 + len(self.body)

    def name(self, dotted, ptr=None):
        """Labels of dotted, then a pointer to ptr or the root; returns the offset."""
        at = self.offset()
        for label in [l for l in dotted.split(".") if l]:
            raw = label.encode()
            assert 1 <= len(raw) <= 63
            self.body += bytes([len(raw)]) + raw
        if ptr is None:
            self.body += b"\x00"
        else:
            self.body += struct.pack(">H", 0xC000 | ptr)
        return at

    def question(self, dotted, qtype):
        at = self.name(dotted)
        self.body += struct.pack(">HH", qtype, C_IN)
        self.counts[0] += 1
        return at

    def rr(self, section, owner_ptr, rtype, ttl, rdata_fn, klass=C_IN):
        """A record owned by the name at owner_ptr (None: the root).

        rdata_fn writes the rdata and may use name() for compressed names;
        returns what rdata_fn returned."""
        if owner_ptr is None:
            self.body += b"\x00"
        else:
            self.body += struct.pack(">H", 0xC000 | owner_ptr)
        self.body += struct.pack(">HHIH", rtype, klass, ttl, 0)
        rdlen_at = len(self.body) - 2
        result = rdata_fn()
        rdlen = len(self.body) - rdlen_at - 2
        self.body[rdlen_at:rdlen_at + 2] = struct.pack(">H", rdlen)
        self.counts[section] += 1
        return result

    def raw(self, data):
        return lambda: self.body.extend(data)

    def bytes(self):
        return struct.pack(">HHHHHH", self.ident, self.flags, *self.counts) + bytes(self.body)


def v4(text):
    return bytes(int(x) for x in text.split("."))


V6 = bytes.fromhex("20010db8000000000000000000000001")


def query_a():
    m = Msg(0x1a2b, F_QUERY)
    m.question("example.com", T_A)
    return m.bytes()


def response_a():
    m = Msg(0x1a2b, F_RESPONSE)
    q = m.question("example.com", T_A)
    m.rr(1, q, T_A, 3600, m.raw(v4("93.184.216.34")))
    m.rr(1, q, T_A, 3600, m.raw(v4("10.0.0.1")))
    return m.bytes()


def response_aaaa():
    m = Msg(0x0042, F_RESPONSE)
    q = m.question("v6.Example.org", T_AAAA)
    m.rr(1, q, T_AAAA, 300, m.raw(V6))
    return m.bytes()


def response_cname_chain():
    m = Msg(0x1234, F_RESPONSE)
    q = m.question("api.x.com", T_A)
    t1 = m.rr(1, q, T_CNAME, 300, lambda: m.name("edge.y.net"))
    t2 = m.rr(1, t1, T_CNAME, 60, lambda: m.name("e1.cdn", ptr=t1 + 5))
    m.rr(1, t2, T_TXT, 60, m.raw(b"\x05hello"))
    m.rr(1, t2, T_A, 20, m.raw(v4("1.2.3.4")))
    m.rr(1, t2, T_A, 20, m.raw(v4("5.6.7.8")))
    m.rr(1, t2, T_AAAA, 20, m.raw(V6))
    m.rr(2, q + 4, T_NS, 900, lambda: m.name("ns1", ptr=q + 4))
    m.rr(3, None, T_OPT, 0, m.raw(b""), klass=1232)
    return m.bytes()


def response_nxdomain():
    m = Msg(0x7777, F_NXDOMAIN)
    q = m.question("missing.example.net", T_A)

    def soa():
        m.name("ns", ptr=q + 8)
        m.name("hostmaster", ptr=q + 8)
        m.body.extend(struct.pack(">IIIII", 2024010101, 7200, 3600, 1209600, 300))

    m.rr(2, q + 8, T_SOA, 300, soa)
    return m.bytes()


def response_https_and_many():
    m = Msg(0x0101, F_RESPONSE)
    q = m.question("many.example", T_A)
    m.rr(1, q, T_HTTPS, 60, m.raw(b"\x00\x01\x00"))
    for i in range(40):
        m.rr(1, q, T_A, 60, m.raw(bytes([10, 0, i // 256, i % 256])))
    return m.bytes()


def query_dig_edns():
    # A query exactly as dig 9.18 sent it ("dig WWW.Example.COM AAAA"): mixed
    # case, EDNS OPT record in the additional section with a client cookie.
    return bytes.fromhex(
        "482d0120000100000000000103575757074578616d706c6503434f4d00001c0001"
        "00002904d000000000000c000a00087063bde468fba146")


def tcp(message):
    return struct.pack(">H", len(message)) + message


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "fuzz_dns")
    os.makedirs(out, exist_ok=True)
    seeds = {
        "query_a": query_a(),
        "query_dig_edns": query_dig_edns(),
        "response_a": response_a(),
        "response_aaaa": response_aaaa(),
        "response_cname_chain": response_cname_chain(),
        "response_nxdomain": response_nxdomain(),
        "response_https_and_many": response_https_and_many(),
        "tcp_response_cname_chain": tcp(response_cname_chain()),
        "tcp_query_a": tcp(query_a()),
    }
    for name, data in sorted(seeds.items()):
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(seeds), out))


if __name__ == "__main__":
    main()
