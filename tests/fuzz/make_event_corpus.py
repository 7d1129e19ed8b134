#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of the fuzz_event_json target: valid kernel records.

Usage: make_event_corpus.py [OUTPUT_DIR]   (default: corpus/fuzz_event_json next to this file)

Each file is a sequence of chunks as tests/fuzz/fuzz_event_json.c reads them:
u8 ctrl, u16 length (little-endian), the bytes. The records are laid out as
include/agenttrail/events.h declares them on x86-64 (little-endian, natural
alignment): struct at_hdr, the fixed part, the packed NUL-terminated strings.

The output is deterministic; the files are committed next to this script, so
run it again after changing it and commit both.
"""
import os
import struct
import sys

# enum at_kind
(EXEC, FORK, EXIT, OPEN, UNLINK, RENAME, MKDIR, CHMOD, CONNECT, ACCEPT, BIND, LISTEN,
 SOCK_CLOSE, DNS, SESSION) = range(1, 16)

# at_hdr.flags
F_ARGV_TRUNC, F_PATH_TRUNC, F_THREAD, F_PATH_LEXICAL = 1, 2, 4, 8
F_DNS_TCP, F_DNS_TRUNC, F_CORE_DUMP = 16, 32, 64

AF_UNIX, AF_INET, AF_INET6 = 1, 2, 10
SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET = 1, 2, 5
O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_CLOEXEC, O_PATH = 1, 2, 0o100, 0o1000, 0o2000000, 0o10000000
ENOENT, EACCES, EEXIST, EINPROGRESS = 2, 13, 17, 115

HDR = "<HHIQQQIIII16s"          # 64 bytes
EXEC_FIXED = "<QQIIIIHHHHH6xQII"   # 64 bytes after the header
FORK_FIXED = "<QII"
EXIT_FIXED = "<iiQ"
FILE_FIXED = "<qIIQIiHHHH"      # 40 bytes
NET_FIXED = "<qQQQHHHH16s16siI108s4x"  # 192 bytes (struct padded to 256)
DNS_FIXED = "<HHHH16s"
DNS_MAX = 2048

assert struct.calcsize(HDR) == 64
assert struct.calcsize(EXEC_FIXED) == 128 - 64
assert struct.calcsize(FILE_FIXED) == 104 - 64
assert struct.calcsize(NET_FIXED) == 256 - 64
assert struct.calcsize(DNS_FIXED) + DNS_MAX == 2136 - 64


def record(kind, flags, body, pid=4242, session=7):
    size = 64 + len(body)
    hdr = struct.pack(HDR, kind, flags, size, 5_000_000_000, session, 123456789, pid, pid,
                      4000, 1000, b"agent")
    return hdr + body


def cstr(s):
    """A packed string and its length field (0 = absent)."""
    if s is None:
        return b"", 0
    raw = (s.encode() if isinstance(s, str) else s) + b"\0"
    return raw, len(raw)


def exec_rec(argv, filename, exe, cwd, cgroup=None, flags=0, cgroup_id=4321):
    argv_raw = b"".join(a.encode() + b"\0" for a in argv) or b"\0"
    strs = [cstr(filename), cstr(exe), cstr(cwd), cstr(cgroup)]
    body = struct.pack(EXEC_FIXED, 111, cgroup_id, 0, 1000, len(argv), 4000, len(argv_raw),
                       *[n for _, n in strs], 726, 0xfe00000, 0)
    body += argv_raw + b"".join(r for r, _ in strs)
    return record(EXEC, flags, body)


def file_rec(kind, ret, path=None, arg=None, path2=None, arg2=None, flags=0, oflags=0,
             mode=0):
    strs = [cstr(path), cstr(arg), cstr(path2), cstr(arg2)]
    body = struct.pack(FILE_FIXED, ret, oflags, mode, 777, 2049, -100, *[n for _, n in strs])
    body += b"".join(r for r, _ in strs)
    return record(kind, flags, body)


def v4(text):
    return bytes(int(x) for x in text.split(".")) + bytes(12)


def net_rec(kind, family, sotype, saddr=bytes(16), sport=0, daddr=bytes(16), dport=0, ret=0,
            sent=0, recv=0, backlog=0, unix=b""):
    body = struct.pack(NET_FIXED, ret, 0xFFFF888012345678, sent, recv, family, sotype, sport,
                       dport, saddr, daddr, 5, backlog, unix)
    return record(kind, 0, body)


def dns_rec(msg, flags=0, family=AF_INET, server=v4("8.8.8.8")):
    body = struct.pack(DNS_FIXED, len(msg), 53, family, 0, server)
    body += msg[:DNS_MAX] + bytes(DNS_MAX - min(len(msg), DNS_MAX))
    return record(DNS, flags, body)


def dns_name(dotted):
    out = b""
    for label in [l for l in dotted.split(".") if l]:
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def dns_response(ident, qname, qtype, answers):
    """answers: (owner_ptr_or_name, type, ttl, rdata); rdata bytes."""
    body = dns_name(qname) + struct.pack(">HH", qtype, 1)
    for owner, rtype, ttl, rdata in answers:
        body += struct.pack(">H", 0xC000 | owner) if isinstance(owner, int) else dns_name(owner)
        body += struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata
    return struct.pack(">HHHHHH", ident, 0x8180, 1, len(answers), 0, 0) + body


V6_DB8_1 = bytes.fromhex("20010db8000000000000000000000001")
V6_DB8_5 = bytes.fromhex("20010db8000000000000000000000005")
V6_LOOP = bytes(15) + b"\1"

DNS_CNAME_A = dns_response(0xBEEF, "api.example.com", 1, [
    (12, 5, 60, dns_name("edge.example.net")),
    ("edge.example.net", 1, 300, bytes([93, 184, 216, 34])),
])
DNS_AAAA = dns_response(7, "v6.example.org", 28, [(12, 28, 30, V6_DB8_5)])
HEX64 = "0123456789abcdef" * 4


def chunk(rec, ctrl=0):
    return struct.pack("<BH", ctrl, len(rec)) + rec


def corpus():
    c = {}
    c["exec.bin"] = chunk(exec_rec(["ls", "-la", "/tmp"], "/bin/ls", "/usr/bin/ls", "/home/u"))
    c["exec_docker_cgroup.bin"] = chunk(exec_rec(
        ["python3", "-c", "print(1)", ""], "/usr/bin/python3", "/usr/bin/python3.11", "/",
        cgroup="/system.slice/docker-%s.scope" % HEX64))
    c["exec_argv_trunc.bin"] = chunk(exec_rec(["sh", "x" * 300], "/bin/sh", "/usr/bin/dash",
                                              "/tmp", flags=F_ARGV_TRUNC | F_PATH_TRUNC))
    c["exec_empty_argv.bin"] = chunk(exec_rec([], "/proc/self/fd/3", None, None))
    c["fork_process.bin"] = chunk(record(FORK, 0, struct.pack(FORK_FIXED, 999, 4000, 4242)))
    c["fork_thread.bin"] = chunk(record(FORK, F_THREAD, struct.pack(FORK_FIXED, 999, 4000, 4250)))
    c["exit_code.bin"] = chunk(record(EXIT, 0, struct.pack(EXIT_FIXED, 3, 0, 1_500_000_000)))
    c["exit_signal_core.bin"] = chunk(record(EXIT, F_CORE_DUMP, struct.pack(EXIT_FIXED, 0, 11, 42)))
    c["session.bin"] = chunk(record(SESSION, 0, b""))
    c["open_kernel.bin"] = chunk(file_rec(OPEN, 3, "/etc/passwd", "../../etc/passwd",
                                          oflags=O_CLOEXEC))
    c["open_fail_lexical.bin"] = chunk(file_rec(
        OPEN, -ENOENT, "/home/u/proj", "../missing/./f.txt", flags=F_PATH_LEXICAL,
        oflags=O_WRONLY | O_CREAT | O_TRUNC, mode=0o644))
    c["open_fail_absolute.bin"] = chunk(file_rec(OPEN, -EACCES, None, "/etc/./ssl/../shadow",
                                                 oflags=O_RDWR))
    c["open_path_non_utf8.bin"] = chunk(file_rec(OPEN, 4, b"/tmp/\xff\xfe-caf\xc3\xa9", "x",
                                                 oflags=O_PATH, flags=F_PATH_TRUNC))
    c["unlink.bin"] = chunk(file_rec(UNLINK, 0, "/tmp/w", "d", flags=F_PATH_LEXICAL, oflags=512))
    c["rename.bin"] = chunk(file_rec(RENAME, 0, "/work/a", "old.txt", "/work/b",
                                     "sub/../new.txt", flags=F_PATH_LEXICAL))
    c["mkdir.bin"] = chunk(file_rec(MKDIR, -EEXIST, "/tmp", "w/new/", flags=F_PATH_LEXICAL,
                                    mode=0o755))
    c["chmod.bin"] = chunk(file_rec(CHMOD, 0, None, "/usr/local/bin/x", mode=0o4755))
    c["connect_v4.bin"] = chunk(net_rec(CONNECT, AF_INET, SOCK_STREAM, v4("10.0.0.2"), 40000,
                                        v4("203.0.113.7"), 443, ret=-EINPROGRESS))
    c["connect_v6.bin"] = chunk(net_rec(CONNECT, AF_INET6, SOCK_DGRAM, V6_LOOP, 5353, V6_DB8_1,
                                        53))
    c["accept_unix_abstract.bin"] = chunk(net_rec(ACCEPT, AF_UNIX, SOCK_STREAM,
                                                  unix=b"\0my-abstract"))
    c["bind_unix_path.bin"] = chunk(net_rec(BIND, AF_UNIX, SOCK_SEQPACKET,
                                            unix=b"/run/agent.sock"))
    c["listen_v6.bin"] = chunk(net_rec(LISTEN, AF_INET6, SOCK_STREAM, sport=8080, backlog=128))
    c["sock_close.bin"] = chunk(net_rec(SOCK_CLOSE, AF_INET, SOCK_STREAM, v4("192.168.1.10"),
                                        51000, v4("198.51.100.1"), 80, sent=1234,
                                        recv=5_000_000_000))
    c["dns_cname_a.bin"] = chunk(dns_rec(DNS_CNAME_A))
    c["dns_tcp_aaaa.bin"] = chunk(dns_rec(struct.pack(">H", len(DNS_AAAA)) + DNS_AAAA,
                                          flags=F_DNS_TCP, family=AF_INET6, server=V6_DB8_1))
    c["dns_garbage.bin"] = chunk(dns_rec(bytes((i * 37 + 0xC0) & 0xFF for i in range(40))))
    # a name, then connects that find it (v4, v4-mapped v6) and the close
    mapped = bytes(10) + b"\xff\xff" + bytes([93, 184, 216, 34])
    c["dns_then_connect.bin"] = (
        chunk(dns_rec(DNS_CNAME_A))
        + chunk(net_rec(CONNECT, AF_INET, SOCK_STREAM, daddr=v4("93.184.216.34"), dport=443))
        + chunk(net_rec(CONNECT, AF_INET6, SOCK_STREAM, daddr=mapped, dport=443))
        + chunk(net_rec(SOCK_CLOSE, AF_INET, SOCK_STREAM, daddr=v4("93.184.216.34"),
                        dport=443, sent=10, recv=20)))
    c["dns_aaaa_then_connect_v6.bin"] = (
        chunk(dns_rec(DNS_AAAA, family=AF_INET6, server=V6_DB8_1))
        + chunk(net_rec(CONNECT, AF_INET6, SOCK_STREAM, daddr=V6_DB8_5, dport=443)))
    # every kind from an empty chunk: kind forced, zero-padded, size fixed
    c["every_kind_padded.bin"] = b"".join(chunk(b"", 0x70 | k) for k in range(0, 16))[:3 * 8]
    c["every_kind_padded_2.bin"] = b"".join(chunk(b"", 0x70 | k) for k in range(8, 16))
    # the largest strings the kernel sends: argv of AT_ARGV_MAX bytes, paths
    # of AT_PATH_MAX - 1 characters (these also raise libFuzzer's -max_len)
    long_dir = "/" + "/".join(["d" * 62] * 64)[:4094]
    c["exec_max_sizes.bin"] = chunk(exec_rec(
        ["sh"] + ["a" * 1000] * 16, "/" + "f" * 4094, long_dir, long_dir,
        flags=F_ARGV_TRUNC))
    c["open_fail_long_lexical.bin"] = chunk(file_rec(
        OPEN, -ENOENT, long_dir, "/".join(["x"] * 2048), flags=F_PATH_LEXICAL,
        oflags=O_WRONLY | O_CREAT))
    c["rename_long_lexical.bin"] = chunk(file_rec(
        RENAME, -ENOENT, long_dir, "../" * 1365, long_dir, "./" * 2047 + "n",
        flags=F_PATH_LEXICAL))
    # a record inside a larger buffer
    c["exit_in_larger_buffer.bin"] = chunk(record(EXIT, 0, struct.pack(EXIT_FIXED, 1, 0, 5)),
                                           0x87)
    return c


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_event_json")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(corpus().items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("wrote %d files to %s" % (len(corpus()), out))


if __name__ == "__main__":
    main()
