"""Network events: connect v4/v6 with byte counts, accept/bind/listen, DNS names."""
import os
import socket
import struct
import threading
from atlib import PY, eq, record, run_tests, tmpdir


class Echo:
    """A loopback server outside the session: reads until EOF (or n bytes),
    answers with `reply` bytes, closes."""

    def __init__(self, family, addr, reply):
        self.s = socket.socket(family, socket.SOCK_STREAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind((addr, 0))
        self.s.listen(8)
        self.port = self.s.getsockname()[1]
        self.reply = reply
        self.received = []
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        while True:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            n = 0
            while True:
                b = c.recv(65536)
                if not b:
                    break
                n += len(b)
            self.received.append(n)
            c.sendall(b"r" * self.reply)
            c.close()

    def close(self):
        self.s.close()


CLIENT = """
import socket, sys
fam = socket.AF_INET6 if sys.argv[1] == '6' else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.connect((sys.argv[2], int(sys.argv[3])))
s.sendall(b'x' * int(sys.argv[4]))
s.shutdown(socket.SHUT_WR)
got = 0
while True:
    b = s.recv(65536)
    if not b:
        break
    got += len(b)
s.close()
assert got == int(sys.argv[5]), got
"""


def test_connect_ipv4_and_ipv6_with_bytes():
    v4 = Echo(socket.AF_INET, "127.0.0.1", 777)
    v6 = Echo(socket.AF_INET6, "::1", 4242)
    d = tmpdir()
    client = os.path.join(d, "client.py")
    with open(client, "w") as f:
        f.write(CLIENT)
    try:
        r = record(["sh", "-c", "%s %s 4 127.0.0.1 %d 123456 777 && %s %s 6 ::1 %d 54321 4242" %
                    (PY, client, v4.port, PY, client, v6.port)])
    finally:
        v4.close()
        v6.close()
    eq(r.rc, 0, "status")
    c4 = r.one("connect", dport=v4.port)
    eq(c4["family"], "inet", "family")
    eq(c4["sotype"], "stream", "sotype")
    eq(c4["daddr"], "127.0.0.1", "daddr")
    eq(c4["saddr"], "127.0.0.1", "saddr")
    eq(c4["ret"], 0, "ret")
    cl4 = r.one("sock_close", sock=c4["sock"])
    eq(cl4["bytes_sent"], 123456, "v4 bytes sent")
    eq(cl4["bytes_recv"], 777, "v4 bytes received")
    eq(v4.received, [123456], "server saw the same")
    c6 = r.one("connect", dport=v6.port)
    eq(c6["family"], "inet6", "family")
    eq(c6["daddr"], "::1", "daddr")
    cl6 = r.one("sock_close", sock=c6["sock"])
    eq(cl6["bytes_sent"], 54321, "v6 bytes sent")
    eq(cl6["bytes_recv"], 4242, "v6 bytes received")


def test_connect_refused_records_errno():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    r = record([PY, "-c", "import socket\ntry:\n socket.create_connection(('127.0.0.1', %d))\n"
                "except ConnectionRefusedError:\n pass\n" % port])
    c = r.one("connect", dport=port)
    eq(c["errno"], "ECONNREFUSED", "errno")
    eq(c["ret"], -111, "ret")


def test_server_side_bind_listen_accept_and_unix():
    d = tmpdir()
    sock_path = os.path.join(d, "s.sock")
    script = """
import socket, threading
srv = socket.socket()
srv.bind(('127.0.0.1', 0))
srv.listen(5)
port = srv.getsockname()[1]
def cli():
    c = socket.create_connection(('127.0.0.1', port)); c.sendall(b'abc'); c.close()
t = threading.Thread(target=cli); t.start()
conn, _ = srv.accept()
while conn.recv(10):
    pass
conn.close(); t.join()
u = socket.socket(socket.AF_UNIX)
try:
    u.connect(%r)
except OSError:
    pass
print(port)
""" % sock_path
    r = record([PY, "-c", script])
    eq(r.rc, 0, "status")
    b = r.one("bind", family="inet")
    port = b["sport"]
    eq(b["saddr"], "127.0.0.1", "bind address")
    eq(b["ret"], 0, "bind ret")
    ls = r.one("listen", sport=port)
    eq(ls["backlog"], 5, "backlog")
    a = r.one("accept", sport=port)
    eq(a["daddr"], "127.0.0.1", "peer address of the accepted socket")
    cl = r.one("sock_close", sock=a["sock"])
    eq(cl["bytes_recv"], 3, "accepted socket received 3 bytes")
    u = r.one("connect", family="unix")
    eq(u["unix_path"], sock_path, "unix path")
    eq(u["errno"], "ENOENT", "no such socket")


def dns_answer(query, addr):
    qid = query[:2]
    # the question section ends after the name and 4 bytes of type/class
    i = 12
    labels = []
    while query[i] != 0:
        labels.append(query[i + 1:i + 1 + query[i]].decode())
        i += query[i] + 1
    qtype = struct.unpack("!H", query[i + 1:i + 3])[0]
    question = query[12:i + 5]
    name = ".".join(labels)
    answers = b""
    count = 0
    if qtype == 1 and name == "api.agenttrail.test":
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(addr)
        count = 1
    flags = 0x8180 if name == "api.agenttrail.test" else 0x8183
    return qid + struct.pack("!HHHHH", flags, 1, count, 0, 0) + question + answers


class DnsServer:
    """A DNS server on 127.0.0.53:53, UDP and TCP, outside the session."""

    def __init__(self):
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.53", 53))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.53", 53))
        self.tcp.listen(4)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.serve_udp, daemon=True),
                        threading.Thread(target=self.serve_tcp, daemon=True)]
        for t in self.threads:
            t.start()

    def serve_udp(self):
        self.udp.settimeout(0.2)
        while not self.stop.is_set():
            try:
                q, peer = self.udp.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            self.udp.sendto(dns_answer(q, "127.0.0.1"), peer)

    def serve_tcp(self):
        self.tcp.settimeout(0.2)
        while not self.stop.is_set():
            try:
                c, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(5)
            n = int.from_bytes(c.recv(2), "big")
            q = b""
            while len(q) < n:
                q += c.recv(n - len(q))
            a = dns_answer(q, "127.0.0.1")
            c.sendall(len(a).to_bytes(2, "big") + a)
            c.close()

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join()
        self.udp.close()
        self.tcp.close()


def test_dns_over_tcp_names_the_connect():
    server = Echo(socket.AF_INET, "127.0.0.1", 3)
    dns = DnsServer()
    # a client that speaks DNS over TCP itself: length prefix read first,
    # then the message, in two recv calls
    client = ("import socket, struct\n"
              "q = struct.pack('!HHHHHH', 0x1234, 0x0100, 1, 0, 0, 0)\n"
              "q += b''.join(bytes([len(l)]) + l for l in (b'api', b'agenttrail', b'test')) + b'\\0'\n"
              "q += struct.pack('!HH', 1, 1)\n"
              "s = socket.create_connection(('127.0.0.53', 53))\n"
              "s.sendall(len(q).to_bytes(2, 'big') + q)\n"
              "n = int.from_bytes(s.recv(2), 'big')\n"
              "a = b''\n"
              "while len(a) < n: a += s.recv(n - len(a))\n"
              "s.close()\n"
              "ip = socket.inet_ntoa(a[-4:])\n"
              "c = socket.create_connection((ip, %d)); c.sendall(b'tcp'); c.shutdown(1)\n"
              "while c.recv(100): pass\n" % server.port)
    try:
        r = record([PY, "-c", client])
    finally:
        dns.close()
        server.close()
    eq(r.rc, 0, "status: " + r.stderr)
    msgs = [e for e in r.of("dns") if e.get("qname") == "api.agenttrail.test"]
    eq(len(msgs), 1, "one DNS message over TCP, the length prefix alone is not an event")
    eq(msgs[0]["answers"][0]["addr"], "127.0.0.1", "answer")
    eq([e for e in r.of("dns") if "error" in e], [], "no undecodable DNS capture")
    c = r.one("connect", dport=server.port)
    eq(c["domain"], "api.agenttrail.test", "the TCP DNS answer names the connect")


def test_dns_name_becomes_domain_of_connect():
    server = Echo(socket.AF_INET, "127.0.0.1", 5)
    dns = DnsServer()
    d = tmpdir()
    resolv = os.path.join(d, "resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver 127.0.0.53\noptions timeout:2 attempts:2\n")
    client = ("import socket\n"
              "ai = socket.getaddrinfo('api.agenttrail.test', %d, socket.AF_INET, socket.SOCK_STREAM)\n"
              "s = socket.create_connection(ai[0][4]); s.sendall(b'hello'); s.shutdown(1)\n"
              "while s.recv(100): pass\n" % server.port)
    try:
        r = record(["unshare", "-m", "--propagation", "private", "sh", "-c",
                    "mount --bind %s /etc/resolv.conf && exec %s -c \"$0\"" % (resolv, PY), client])
    finally:
        dns.close()
        server.close()
    eq(r.rc, 0, "status: " + r.stderr)
    answers = [e for e in r.of("dns") if e.get("qname") == "api.agenttrail.test" and e.get("answers")]
    eq(len(answers), 1, "one DNS answer seen")
    eq(answers[0]["answers"][0]["addr"], "127.0.0.1", "answer address")
    eq(answers[0]["server"], "127.0.0.53", "server")
    c = r.one("connect", dport=server.port)
    eq(c["domain"], "api.agenttrail.test", "connect carries the resolved name")
    cl = r.one("sock_close", sock=c["sock"])
    eq(cl["domain"], "api.agenttrail.test", "close carries it too")
    eq(cl["bytes_sent"], 5, "bytes sent")


def test_a_file_dup2ed_over_a_dns_socket_cannot_forge_a_name():
    server = Echo(socket.AF_INET, "127.0.0.2", 1)
    d = tmpdir()
    forged = os.path.join(d, "answer.bin")
    q = struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x03api\x0aagenttrail\x04test\x00" + \
        struct.pack("!HH", 1, 1)
    with open(forged, "wb") as f:
        f.write(dns_answer(q, "127.0.0.2"))
    script = ("import os, socket\n"
              "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
              "u.connect(('127.0.0.53', 53))\n"
              "fd = os.open(%r, os.O_RDONLY)\n"
              "os.dup2(fd, u.fileno())\n"
              "os.read(u.fileno(), 2048)\n"
              "c = socket.create_connection(('127.0.0.2', %d)); c.shutdown(1)\n"
              "while c.recv(10): pass\n" % (forged, server.port))
    try:
        r = record([PY, "-c", script])
    finally:
        server.close()
    eq(r.rc, 0, "status: " + r.stderr)
    eq(r.of("dns"), [], "a file read is not DNS")
    eq(r.one("connect", dport=server.port)["domain"], None, "no forged domain")


run_tests(globals())
