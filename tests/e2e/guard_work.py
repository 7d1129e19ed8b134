"""Workloads for test_guard.py: each subcommand tries one thing and prints
one line per attempt, "NAME ok" or "NAME errno=N", so the test can compare
what the kernel allowed with what the policy says.

Runs inside the test's network namespace, where the "remote" addresses live
on a dummy interface and a listener accepts on each.
"""
import errno
import os
import socket
import struct
import sys
import threading
import time


def attempt(name, fn):
    try:
        fn()
        print(name, "ok", flush=True)
    except OSError as e:
        print(name, "errno=%d" % e.errno, flush=True)


def tcp(host, port, family=socket.AF_INET, payload=b"x"):
    def go():
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(3)
        try:
            s.connect((host, port))
            s.sendall(payload)
        finally:
            s.close()
    return go


def udp(host, port, family=socket.AF_INET):
    def go():
        s = socket.socket(family, socket.SOCK_DGRAM)
        try:
            s.sendto(b"x", (host, port))
        finally:
            s.close()
    return go


def read(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    cmd = sys.argv[1]
    args = sys.argv[2:]
    if cmd == "connect":            # connect HOST PORT [NAME]
        attempt(args[2] if len(args) > 2 else "connect", tcp(args[0], int(args[1])))
    elif cmd == "connect6":
        attempt(args[2] if len(args) > 2 else "connect6",
                tcp(args[0], int(args[1]), socket.AF_INET6))
    elif cmd == "read-connect":     # read-connect FILE HOST PORT NAME
        read(args[0])
        attempt(args[3], tcp(args[1], int(args[2])))
    elif cmd == "read-connect6":
        read(args[0])
        attempt(args[3], tcp(args[1], int(args[2]), socket.AF_INET6))
    elif cmd == "read-udp":
        read(args[0])
        attempt(args[3], udp(args[1], int(args[2])))
    elif cmd == "read-udp6":
        read(args[0])
        attempt(args[3], udp(args[1], int(args[2]), socket.AF_INET6))
    elif cmd == "read-fork-connect":  # the child inherits the label
        read(args[0])
        pid = os.fork()
        if pid == 0:
            attempt(args[3], tcp(args[1], int(args[2])))
            sys.stdout.flush()
            os._exit(0)
        os.waitpid(pid, 0)
    elif cmd == "thread-read-connect":  # a thread reads, the main thread connects
        t = threading.Thread(target=read, args=(args[0],))
        t.start()
        t.join()
        attempt(args[3], tcp(args[1], int(args[2])))
    elif cmd == "stdin-connect":    # what came in on stdin (a pipe) carries its labels
        sys.stdin.buffer.read()
        attempt(args[2], tcp(args[0], int(args[1])))
    elif cmd == "connect-wait-connect":  # connect, wait for a file, connect again
        attempt(args[3] + "-before", tcp(args[1], int(args[2])))
        with open(args[4], "w") as f:
            f.write("waiting")
        deadline = time.time() + 20
        while not os.path.exists(args[4] + ".go") and time.time() < deadline:
            time.sleep(0.02)
        attempt(args[3], tcp(args[1], int(args[2])))
    elif cmd == "read-wait-connect":  # read, wait for a go file, connect
        read(args[0])
        with open(args[4], "w") as f:
            f.write("waiting")
        deadline = time.time() + 20
        while not os.path.exists(args[4] + ".go") and time.time() < deadline:
            time.sleep(0.02)
        attempt(args[3], tcp(args[1], int(args[2])))
    elif cmd == "write":            # write PATH NAME: open for appending
        def go():
            with open(args[0], "a") as f:
                f.write("x\n")
        attempt(args[1], go)
    elif cmd == "read":             # read PATH NAME
        attempt(args[1], lambda: read(args[0]))
    elif cmd == "recv-exec":        # recv-exec HOST PORT PROG NAME: data in, then exec
        recv(args[0], int(args[1]))
        attempt(args[3], lambda: os.execvp(args[2], [args[2]]))
    elif cmd == "recv-write":       # recv-write HOST PORT PATH NAME
        recv(args[0], int(args[1]))
        def go():
            with open(args[2], "a") as f:
                f.write("x\n")
        attempt(args[3], go)
    elif cmd == "gate-dns-connect":  # GATE SERVER NAME PORT LABEL: wait for GATE, then dns-connect
        with open(args[0] + ".waiting", "w") as f:
            f.write("1")
        deadline = time.time() + 30
        while not os.path.exists(args[0]) and time.time() < deadline:
            time.sleep(0.01)
        addr = resolve(args[1], args[2])
        attempt(args[4], tcp(addr, int(args[3])))
        with open(args[0] + ".done", "w") as f:
            f.write("1")
    elif cmd == "dns-connect":      # dns-connect SERVER NAME PORT LABEL: resolve, connect at once
        addr = resolve(args[0], args[1])
        attempt(args[3], tcp(addr, int(args[2])))
    else:
        sys.exit("unknown workload " + cmd)


def recv(host, port):
    s = socket.create_connection((host, port), timeout=3)
    data = s.recv(4096)
    s.close()
    return data


def resolve(server, name):
    """One A query over UDP to server:53 (the test's resolver)."""
    q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(q, (server, 53))
    resp, _ = s.recvfrom(2048)
    s.close()
    # the answer is the last 4 bytes of the single A record
    return socket.inet_ntoa(resp[-4:])


if __name__ == "__main__":
    main()
