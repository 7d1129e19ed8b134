#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of the fuzz_http1 target: a few HTTP/1 conversations.

Usage: make_http1_corpus.py [OUTPUT_DIR]   (default: corpus/fuzz_http1 next to this file)

Input format (see fuzz_http1.c): one configuration byte, then chunks, each
a header byte (bit 7: to the client, bit 6: gap, bits 0-5: length) and the
data. The output is deterministic; the files are committed next to this
script, so run it again after changing it and commit both.
"""
import os
import sys
import zlib

TO_SERVER, TO_CLIENT = 0x00, 0x80


def chunks(direction, data, size=63):
    out = bytearray()
    for i in range(0, len(data), size):
        piece = data[i:i + size]
        out.append(direction | len(piece))
        out += piece
    return bytes(out)


def gap(direction, n):
    return bytes([direction | 0x40 | (n & 0x3f)])


def convo(cfg, *parts):
    return bytes([cfg]) + b"".join(parts)


def gzip_bytes(data):
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


SSE = (b"event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
       b": ping\r\nevent: content_block_delta\r\ndata: {\"delta\":{\"text\":\"Hi\"}}\r\n\r\n"
       b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")

GZ = gzip_bytes(b'{"id":"msg","content":[{"type":"text","text":"hello hello hello"}]}')
DEFL = zlib.compress(b"deflated body deflated body")

SEEDS = {
    "length.bin": convo(0,
        chunks(TO_SERVER, b"POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n"
               b"Content-Length: 11\r\n\r\n{\"a\":\"b\"}\r\n"),
        chunks(TO_CLIENT, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")),
    "chunked_trailers.bin": convo(0,
        chunks(TO_SERVER, b"GET / HTTP/1.1\r\n\r\n"),
        chunks(TO_CLIENT, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5;ext=1\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n", 7)),
    "close.bin": convo(0,
        chunks(TO_SERVER, b"GET /x HTTP/1.0\r\n\r\n"),
        chunks(TO_CLIENT, b"HTTP/1.0 200 OK\r\n\r\nuntil the end")),
    "pipelined.bin": convo(0,
        chunks(TO_SERVER, b"GET /a HTTP/1.1\r\n\r\nHEAD /b HTTP/1.1\r\n\r\n"
               b"POST /c HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi"),
        chunks(TO_CLIENT, b"HTTP/1.1 204 No Content\r\n\r\n"
               b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"
               b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n")),
    "gzip.bin": convo(0,
        chunks(TO_SERVER, b"GET / HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n"),
        chunks(TO_CLIENT, b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "
               + str(len(GZ)).encode() + b"\r\n\r\n" + GZ)),
    "deflate_chunked.bin": convo(4,
        chunks(TO_CLIENT, b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(DEFL) + DEFL
               + b"\r\n0\r\n\r\n")),
    "sse.bin": convo(8,
        chunks(TO_SERVER, b"POST /v1/messages HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"),
        chunks(TO_CLIENT, b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(SSE) + SSE
               + b"\r\n0\r\n\r\n", 13)),
    "gaps.bin": convo(0,
        chunks(TO_CLIENT, b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\nabc"),
        gap(TO_CLIENT, 3),
        chunks(TO_CLIENT, b"tail\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
        chunks(TO_SERVER, b"GET /x HTTP/1.1\r\nHo"),
        gap(TO_SERVER, 1),
        chunks(TO_SERVER, b"st: a\r\n\r\nGET /y HTTP/1.1\r\n\r\n")),
    "limits.bin": convo(3,
        chunks(TO_SERVER, b"GET / HTTP/1.1\r\n" + b"X-A: 1\r\n" * 40 + b"\r\n"),
        chunks(TO_CLIENT, b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n")),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_http1")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(SEEDS)} files to {out}")


if __name__ == "__main__":
    main()
