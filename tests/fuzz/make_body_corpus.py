#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of the fuzz_body target: gzip, deflate, br and zstd bodies.

Usage: make_body_corpus.py [OUTPUT_DIR]   (default: corpus/fuzz_body next to this file)

Input format (see fuzz_body.c): one configuration byte (bits 0-1: 0 gzip,
1 deflate, 2 br, 3 zstd; bit 2: small output cap; bits 3-7: how the body is
cut into pieces), then the encoded body. Python has no brotli or zstd
module by default, so the system's libbrotlienc and libzstd (the build needs
libbrotli-dev and libzstd-dev anyway) are called through ctypes. The output
is deterministic for given library versions; the files are committed next
to this script, so run it again after changing it and commit both.
"""
import ctypes
import ctypes.util
import os
import sys
import zlib

GZIP, DEFLATE, BR, ZSTD = 0, 1, 2, 3
SMALL_CAP = 4


def load(name):
    path = ctypes.util.find_library(name)
    if not path:
        sys.exit(f"make_body_corpus.py: lib{name} not found (install lib{name}-dev)")
    return ctypes.CDLL(path)


BROTLI = load("brotlienc")
BROTLI.BrotliEncoderMaxCompressedSize.restype = ctypes.c_size_t
BROTLI.BrotliEncoderMaxCompressedSize.argtypes = [ctypes.c_size_t]
BROTLI.BrotliEncoderCompress.restype = ctypes.c_int
BROTLI.BrotliEncoderCompress.argtypes = [
    ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_size_t, ctypes.c_char_p,
    ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p]

LIBZSTD = load("zstd")
LIBZSTD.ZSTD_compressBound.restype = ctypes.c_size_t
LIBZSTD.ZSTD_compressBound.argtypes = [ctypes.c_size_t]
LIBZSTD.ZSTD_createCCtx.restype = ctypes.c_void_p
LIBZSTD.ZSTD_freeCCtx.argtypes = [ctypes.c_void_p]
LIBZSTD.ZSTD_CCtx_setParameter.restype = ctypes.c_size_t
LIBZSTD.ZSTD_CCtx_setParameter.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
LIBZSTD.ZSTD_compress2.restype = ctypes.c_size_t
LIBZSTD.ZSTD_compress2.argtypes = [
    ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
LIBZSTD.ZSTD_isError.argtypes = [ctypes.c_size_t]
ZSTD_C_COMPRESSION_LEVEL, ZSTD_C_CHECKSUM_FLAG = 100, 201  # zstd.h ZSTD_cParameter


def br(data, quality=11, lgwin=22):
    cap = BROTLI.BrotliEncoderMaxCompressedSize(len(data)) or len(data) + 1024
    out = ctypes.create_string_buffer(cap)
    n = ctypes.c_size_t(cap)
    if not BROTLI.BrotliEncoderCompress(quality, lgwin, 0, len(data), data, ctypes.byref(n), out):
        sys.exit("make_body_corpus.py: BrotliEncoderCompress failed")
    return out.raw[:n.value]


def zstd(data, level=3, checksum=False):
    cctx = LIBZSTD.ZSTD_createCCtx()
    try:
        for param, value in ((ZSTD_C_COMPRESSION_LEVEL, level),
                             (ZSTD_C_CHECKSUM_FLAG, int(checksum))):
            if LIBZSTD.ZSTD_isError(LIBZSTD.ZSTD_CCtx_setParameter(cctx, param, value)):
                sys.exit("make_body_corpus.py: ZSTD_CCtx_setParameter failed")
        cap = LIBZSTD.ZSTD_compressBound(len(data))
        out = ctypes.create_string_buffer(cap)
        n = LIBZSTD.ZSTD_compress2(cctx, out, cap, data, len(data))
        if LIBZSTD.ZSTD_isError(n):
            sys.exit("make_body_corpus.py: ZSTD_compress2 failed")
        return out.raw[:n]
    finally:
        LIBZSTD.ZSTD_freeCCtx(cctx)


def gzip(data):
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def raw_deflate(data):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def seed(coding, body, pieces=0, small_cap=False):
    """pieces 0-31: the seed of the cutter; its two low bits pick the largest piece."""
    return bytes([coding | (SMALL_CAP if small_cap else 0) | (pieces << 3)]) + body


JSON = (b'{"id":"msg_01","type":"message","role":"assistant","model":"claude",'
        b'"content":[{"type":"text","text":"Hello! How can I help you today?"}],'
        b'"usage":{"input_tokens":12,"output_tokens":9}}')
SSE = b"".join(
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"token %d "}}\n\n' % i for i in range(60))
ZEROS = bytes(2 << 20)
# zstd frames written by hand: header with a 2^24 / 2^25 window, one raw block "hi"
ZSTD_WIN24 = bytes([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x70, 0x11, 0x00, 0x00]) + b"hi"
ZSTD_WIN25 = bytes([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x78, 0x11, 0x00, 0x00]) + b"hi"
ZSTD_SKIPPABLE = bytes([0x53, 0x2a, 0x4d, 0x18, 3, 0, 0, 0]) + b"xyz"

SEEDS = {
    "gzip_json.bin": seed(GZIP, gzip(JSON)),
    "gzip_sse_pieces.bin": seed(GZIP, gzip(SSE), pieces=1),
    "gzip_bomb.bin": seed(GZIP, gzip(ZEROS), pieces=3, small_cap=True),
    "deflate_zlib.bin": seed(DEFLATE, zlib.compress(JSON), pieces=2),
    "deflate_raw.bin": seed(DEFLATE, raw_deflate(SSE), pieces=0),
    "br_json.bin": seed(BR, br(JSON)),
    "br_sse_pieces.bin": seed(BR, br(SSE, quality=5, lgwin=16), pieces=5),
    "br_trailing.bin": seed(BR, br(JSON, quality=1) + b"JUNK", pieces=2),
    "br_empty.bin": seed(BR, b"\x3b"),
    "br_bomb.bin": seed(BR, br(ZEROS, quality=4), pieces=3, small_cap=True),
    "zstd_json.bin": seed(ZSTD, zstd(JSON)),
    "zstd_sse_checksum.bin": seed(ZSTD, zstd(SSE, level=19, checksum=True), pieces=1),
    "zstd_frames.bin": seed(ZSTD, zstd(JSON) + ZSTD_SKIPPABLE + zstd(b"second") + ZSTD_WIN24,
                            pieces=4),
    "zstd_trailing.bin": seed(ZSTD, zstd(JSON, level=1) + b"JUNK", pieces=2),
    "zstd_window25.bin": seed(ZSTD, ZSTD_WIN25),
    "zstd_bomb.bin": seed(ZSTD, zstd(ZEROS), pieces=3, small_cap=True),
    # found by the fuzzer, fixed: a frame declaring 184 bytes and holding
    # none (libzstd 1.5.4 noticed only when fed whole), a legacy v0.5 magic
    # (refused whole, awaited when fed in pieces)
    "regress_zstd_content_size.bin": seed(ZSTD, bytes([
        0x28, 0xb5, 0x2f, 0xfd, 0x20, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x00, 0x61, 0x00,
        0x00, 0xb5, 0xaa, 0x3f, 0x4b]), pieces=6),
    "regress_zstd_legacy_magic.bin": seed(ZSTD, bytes([0x25, 0xb5, 0x2f, 0xfd, 0x00, 0x78, 0xfd])),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_body")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(SEEDS)} files to {out}")


if __name__ == "__main__":
    main()
