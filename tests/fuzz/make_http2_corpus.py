#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of the fuzz_http2 target: a few HTTP/2 conversations.

Usage: make_http2_corpus.py [OUTPUT_DIR]   (default: corpus/fuzz_http2 next to this file)

Input format (see fuzz_http2.c): one configuration byte (bit 0: small
header limit, 1: few headers, 2: small body cap, 3: no on_body_chunk,
4: no close, 5: the client preface is fed before the input), then chunks,
each a header byte (bit 7: to the client, bit 6: gap, bits 0-5: length) and
the data. Header blocks are encoded by a small HPACK encoder below (static
and dynamic table references, literals with and without indexing, table
size updates; one Huffman literal taken from RFC 7541 C.4.1), so the script
needs nothing beyond Python. The output is deterministic; the files are
committed next to this script, so run it again after changing it and
commit both.
"""
import os
import sys
import zlib

TO_SERVER, TO_CLIENT = 0x00, 0x80
PREFACE_GIVEN = 0x20
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, \
    WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIO = 0x1, 0x1, 0x4, 0x8, 0x20


# ---- HPACK (RFC 7541), just enough ------------------------------------------

def hp_int(value, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


def hp_str(s):
    s = s.encode() if isinstance(s, str) else s
    return hp_int(len(s), 7) + s


def indexed(i):
    """An indexed field: static 1-61, dynamic from 62."""
    return hp_int(i, 7, 0x80)


def literal(name, value, index=False):
    """A literal field with a new name, added to the dynamic table when index."""
    return (b"\x40" if index else b"\x00") + hp_str(name) + hp_str(value)


def literal_named(i, value, index=False):
    """A literal value for the name of table entry i."""
    return hp_int(i, 6, 0x40) + hp_str(value) if index else hp_int(i, 4, 0x00) + hp_str(value)


def table_size(n):
    return hp_int(n, 5, 0x20)


# "www.example.com", Huffman-coded (RFC 7541 C.4.1)
HUFFMAN_AUTHORITY = b"\x8c\xf1\xe3\xc2\xe5\xf2\x3a\x6b\xa0\xab\x90\xf4\xff"


def request_block(path, authority="api.example.com", method=3, extra=b""):
    """method: static index 2 (GET) or 3 (POST); :scheme https."""
    return (indexed(method) + indexed(7) + literal_named(1, authority)
            + literal_named(4, path) + extra)


def status_block(code, extra=b""):
    static = {200: 8, 204: 9, 206: 10, 304: 11, 400: 12, 404: 13, 500: 14}
    if code in static:
        return indexed(static[code]) + extra
    return literal_named(8, str(code)) + extra


# ---- frames -------------------------------------------------------------------

def frame(ftype, flags, sid, payload=b""):
    n = len(payload)
    return bytes([n >> 16 & 0xff, n >> 8 & 0xff, n & 0xff, ftype, flags]) \
        + sid.to_bytes(4, "big") + payload


def headers(sid, block, end_stream=False, pad=None, prio=False):
    flags = END_HEADERS | (END_STREAM if end_stream else 0)
    payload = block
    if prio:
        flags |= PRIO
        payload = b"\x00\x00\x00\x00\x10" + payload
    if pad is not None:
        flags |= PADDED
        payload = bytes([pad]) + payload + b"\x00" * pad
    return frame(HEADERS, flags, sid, payload)


def data(sid, body, end_stream=False, size=0, pad=None):
    out = b""
    size = size or max(len(body), 1)
    pieces = [body[i:i + size] for i in range(0, len(body), size)] or [b""]
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        flags = END_STREAM if last and end_stream else 0
        if pad is not None:
            flags |= PADDED
            piece = bytes([pad]) + piece + b"\x00" * pad
        out += frame(DATA, flags, sid, piece)
    return out


def settings(*pairs):
    return frame(SETTINGS, 0, 0, b"".join(k.to_bytes(2, "big") + v.to_bytes(4, "big")
                                          for k, v in pairs))


SETTINGS_ACK = frame(SETTINGS, ACK, 0)
CLIENT_START = settings((2, 0), (4, 65535)) + SETTINGS_ACK
SERVER_START = settings((3, 100)) + SETTINGS_ACK


# ---- fuzz input -----------------------------------------------------------------

def chunks(direction, raw, size=63):
    out = bytearray()
    for i in range(0, len(raw), size):
        piece = raw[i:i + size]
        out.append(direction | len(piece))
        out += piece
    return bytes(out)


def gap(direction, n):
    return bytes([direction | 0x40 | (n & 0x3f)])


def convo(cfg, *parts):
    return bytes([cfg]) + b"".join(parts)


def cs(raw, size=63):
    return chunks(TO_SERVER, raw, size)


def sc(raw, size=63):
    return chunks(TO_CLIENT, raw, size)


def gzip_bytes(raw):
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(raw) + c.flush()


SSE = (b"event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
       b"event: content_block_delta\ndata: {\"delta\":{\"text\":\"Hi\"}}\n\n"
       b"event: message_stop\ndata: {}\n\n")
GZ = gzip_bytes(b'{"id":"chatcmpl","choices":[{"message":{"content":"hello hello"}}]}')
JSON_CT = literal_named(31, "application/json")


def post(sid, path, body):
    return headers(sid, request_block(path, extra=JSON_CT + literal_named(28, str(len(body))))) \
        + data(sid, body, end_stream=True)


SEEDS = {
    "get_200.bin": convo(0,
        cs(PREFACE + CLIENT_START + headers(1, request_block("/v1/models", method=2),
                                            end_stream=True)),
        sc(SERVER_START + headers(1, status_block(200, literal_named(28, "5")))
           + data(1, b"hello", end_stream=True))),
    "post_split.bin": convo(PREFACE_GIVEN,
        cs(CLIENT_START + headers(1, request_block("/v1/messages"))
           + data(1, b'{"model":"x","messages":[]}', size=4) + data(1, b"", end_stream=True), 11),
        sc(SERVER_START + headers(1, status_block(201), end_stream=True), 5)),
    "concurrent.bin": convo(PREFACE_GIVEN,
        cs(CLIENT_START + headers(1, request_block("/a")) + headers(3, request_block("/b"))
           + headers(5, request_block("/c")) + data(3, b"bb", True) + data(1, b"aa", True)
           + data(5, b"cc", True)),
        sc(SERVER_START + headers(5, status_block(200)) + headers(1, status_block(404))
           + data(5, b"C", True) + headers(3, status_block(500), end_stream=True)
           + data(1, b"A", True))),
    "gzip.bin": convo(PREFACE_GIVEN,
        cs(CLIENT_START + headers(1, request_block("/", method=2, extra=indexed(16)),
                                  end_stream=True)),
        sc(SERVER_START + headers(1, status_block(200, literal_named(26, "gzip")))
           + data(1, GZ, end_stream=True, size=17))),
    "sse.bin": convo(PREFACE_GIVEN | 4,
        cs(CLIENT_START + post(1, "/v1/messages", b"{}")),
        sc(SERVER_START + headers(1, status_block(200, literal_named(31, "text/event-stream")))
           + data(1, SSE, size=23) + data(1, b"", end_stream=True), 29)),
    "continuation_padding.bin": convo(PREFACE_GIVEN,
        cs(CLIENT_START
           + frame(HEADERS, PADDED | PRIO | END_STREAM, 1,
                   b"\x03" + b"\x00\x00\x00\x00\x20" + request_block("/cont")[:5] + b"\x00" * 3)
           + frame(CONTINUATION, 0, 1, request_block("/cont")[5:9])
           + frame(CONTINUATION, END_HEADERS, 1, request_block("/cont")[9:])),
        sc(SERVER_START + headers(1, status_block(200), pad=4, prio=True)
           + data(1, b"padded body", end_stream=True, pad=6))),
    "trailers.bin": convo(PREFACE_GIVEN,
        cs(CLIENT_START + headers(1, request_block("/svc/M", extra=literal("te", "trailers")))
           + data(1, b"\x00\x00\x00\x00\x00", end_stream=True)),
        sc(SERVER_START + headers(1, status_block(200)) + data(1, b"\x00\x00\x00\x00\x01z")
           + headers(1, literal("grpc-status", "0") + literal("grpc-message", "OK"),
                     end_stream=True))),
    "rst_stream.bin": convo(PREFACE_GIVEN,
        cs(CLIENT_START + headers(1, request_block("/stream"), end_stream=True)
           + headers(3, request_block("/up"))),
        sc(SERVER_START + headers(1, status_block(200, literal_named(31, "text/event-stream")))
           + data(1, b"data: 1\n\n")),
        cs(frame(RST_STREAM, 0, 1, (8).to_bytes(4, "big"))),
        sc(frame(RST_STREAM, 0, 3, (7).to_bytes(4, "big")) + data(1, b"data: 2\n\n"))),
    "goaway.bin": convo(PREFACE_GIVEN,
        cs(CLIENT_START + headers(1, request_block("/1"), end_stream=True)
           + headers(3, request_block("/3"), end_stream=True)),
        sc(SERVER_START + headers(1, status_block(200))
           + frame(GOAWAY, 0, 0, (1).to_bytes(4, "big") + (0).to_bytes(4, "big") + b"bye")
           + data(1, b"last", end_stream=True))),
    "gap.bin": convo(PREFACE_GIVEN,
        cs(CLIENT_START + headers(1, request_block("/"), end_stream=True)),
        sc(SERVER_START + headers(1, status_block(200, literal_named(28, "100")))
           + data(1, b"0123456789")),
        gap(TO_CLIENT, 7),
        sc(data(1, b"after", end_stream=True)),
        cs(headers(3, request_block("/3"), end_stream=True)),
        gap(TO_SERVER, 0)),
    "interim.bin": convo(PREFACE_GIVEN,
        cs(CLIENT_START + headers(1, request_block("/", extra=literal("expect", "100-continue")))),
        sc(SERVER_START + headers(1, status_block(100))),
        cs(data(1, b"body", end_stream=True)),
        sc(headers(1, status_block(103, literal("link", "</s.css>")))
           + headers(1, status_block(200), end_stream=True))),
    "push_promise.bin": convo(PREFACE_GIVEN,
        cs(CLIENT_START + headers(1, request_block("/", method=2), end_stream=True)),
        sc(SERVER_START
           + frame(PUSH_PROMISE, END_HEADERS | PADDED, 1,
                   b"\x02" + (2).to_bytes(4, "big")
                   + request_block("/pushed", method=2, extra=literal("x-push", "1", True))
                   + b"\x00\x00")
           + headers(1, status_block(200, indexed(62))) + headers(2, status_block(200))
           + data(2, b"pushed", end_stream=True) + data(1, b"main", end_stream=True))),
    "hpack_dynamic.bin": convo(PREFACE_GIVEN,
        cs(CLIENT_START
           + headers(1, indexed(3) + indexed(7) + hp_int(1, 6, 0x40) + HUFFMAN_AUTHORITY
                     + literal_named(4, "/v1/chat/completions", True)
                     + literal("authorization", "Bearer sk-test", True), end_stream=True)
           + headers(3, indexed(3) + indexed(7) + indexed(64) + indexed(63) + indexed(62),
                     end_stream=True)
           + headers(5, table_size(0) + table_size(4096) + indexed(2) + indexed(7)
                     + b"\x01" + HUFFMAN_AUTHORITY + indexed(4), end_stream=True)),
        sc(SERVER_START
           + headers(1, status_block(200, literal("x-request-id", "abc", True)), end_stream=True)
           + headers(3, status_block(200, indexed(62)), end_stream=True)
           + headers(5, status_block(304), end_stream=True))),
    "settings_table.bin": convo(PREFACE_GIVEN,
        cs(settings((1, 65536)) + SETTINGS_ACK
           + headers(1, request_block("/"), end_stream=True)),
        sc(SERVER_START
           + headers(1, table_size(65536) + status_block(200, literal("x-big", "b" * 300, True)))
           + data(1, b"", end_stream=True))),
    "limits.bin": convo(PREFACE_GIVEN | 1 | 2 | 4,
        cs(CLIENT_START + headers(1, request_block("/", extra=b"".join(
            literal("x-h%d" % i, "v" * 40) for i in range(8))), end_stream=True)),
        sc(SERVER_START + headers(1, status_block(200)) + data(1, b"x" * 200, end_stream=True))),
    "no_preface.bin": convo(0,
        cs(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
        sc(SERVER_START + headers(1, status_block(200), end_stream=True))),
    "bad_frames.bin": convo(PREFACE_GIVEN,
        cs(CLIENT_START + headers(1, request_block("/")) + frame(CONTINUATION, END_HEADERS, 1)),
        sc(SERVER_START + frame(PING, 0, 0, b"1234567") + frame(DATA, PADDED, 1, b"\x09abc"))),
    "control.bin": convo(PREFACE_GIVEN | 16,
        cs(CLIENT_START + frame(PING, 0, 0, b"12345678")
           + frame(WINDOW_UPDATE, 0, 0, b"\x00\x01\x00\x00") + frame(0xfa, 0xff, 7, b"unknown")
           + headers(1, request_block("/")) + frame(PRIORITY, 0, 1, b"\x00\x00\x00\x00\x10")),
        sc(SERVER_START + frame(PING, ACK, 0, b"12345678") + headers(1, status_block(200))
           + data(1, b"open at the end"))),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_http2")
    os.makedirs(out, exist_ok=True)
    for name, raw in sorted(SEEDS.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(raw)
    print(f"wrote {len(SEEDS)} files to {out}")


if __name__ == "__main__":
    main()
