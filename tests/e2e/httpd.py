"""Small loopback HTTP servers for capture tests (outside the recorded session).

HTTP/1.1 over TLS (or plain): fixed answers whose bytes a test knows.
  GET /gzip        a gzip-encoded body (Content-Length framing)
  GET /chunked     a body sent in several chunks (Transfer-Encoding: chunked)
  GET /echo/NAME   "echo:NAME" (keep-alive; lets a test pair requests with
                   responses)
  GET /big/N       N bytes of "b" (Content-Length framing)
  POST /echo/NAME  "echo:NAME:" + the request body
HTTP/2 over TLS: nghttpd serving a directory (Debian's nghttp2-server).
"""
import gzip
import http.server
import os
import socket
import socketserver
import ssl
import subprocess
import threading
import time

GZIP_PLAIN = b"".join(b"line %d of a gzip-encoded response\n" % i for i in range(400))
CHUNKS = [b"first chunk;", b"second chunk, a little longer;", b"x" * 5000, b"last"]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/gzip":
            self._send(200, gzip.compress(GZIP_PLAIN), [("Content-Encoding", "gzip"),
                                                        ("Content-Type", "text/plain")])
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            for c in CHUNKS:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        elif self.path.startswith("/echo/"):
            self._send(200, b"echo:" + self.path[6:].encode())
        elif self.path.startswith("/big/"):
            n = int(self.path[5:])
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            block = b"b" * (1 << 20)
            while n > 0:
                self.wfile.write(block[:min(n, len(block))])
                n -= min(n, len(block))
        else:
            self._send(404, b"not found")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        self._send(200, b"echo:" + self.path[6:].encode() + b":" + body)


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Http1Server:
    def __init__(self, tls_files=None):
        self.srv = _Server(("127.0.0.1", 0), _Handler)
        if tls_files:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls_files.server_cert, tls_files.server_key)
            ctx.set_alpn_protocols(["http/1.1"])
            self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.port = self.srv.server_address[1]
        self.scheme = "https" if tls_files else "http"
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    @property
    def base(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class H2Server:
    """nghttpd over TLS serving docroot; files are the responses."""

    def __init__(self, docroot, tls_files):
        self.port = free_port()
        self.p = subprocess.Popen(["nghttpd", "--htdocs=" + docroot, "-a", "127.0.0.1",
                                   str(self.port), tls_files.server_key, tls_files.server_cert],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.time() + 10
        while time.time() < end:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.close()
        raise AssertionError("nghttpd did not start")

    @property
    def base(self):
        return "https://127.0.0.1:%d" % self.port

    def close(self):
        self.p.terminate()
        self.p.wait(timeout=10)
