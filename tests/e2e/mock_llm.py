#!/usr/bin/python3
"""A mock LLM API server on loopback, for tests that run real agents offline.

Speaks HTTP/1.1 (keep-alive) over TLS signed by a throw-away test CA, or
plain HTTP (--plain, like a local model server). Standard library only, plus
the `openssl` command for the certificates.

APIs served
-----------
POST /v1/messages[?beta=true]      Anthropic Messages API, streaming (SSE,
                                   chunked) when the body says "stream": true,
                                   else one JSON body.
POST /v1/messages/count_tokens     {"input_tokens": N}
POST /v1/chat/completions          OpenAI Chat Completions, streaming or not.
POST /v1/responses                 OpenAI Responses API (as Codex calls it,
                                   wire_api "responses"), streaming (SSE,
                                   chunked) when the body says "stream":
                                   true, else one Response object.
GET  /v1/models[/ID]               a one-model list / the model.
GET  /api/claude_code/organizations/metrics_enabled
                                   {"metrics_logging_enabled": false}
POST /v1beta/models/MODEL:streamGenerateContent[?alt=sse]
                                   Gemini API (generativelanguage v1beta, as
                                   Gemini CLI calls it with an API key), SSE:
                                   `data: {GenerateContentResponse}` and a
                                   blank line (CRLFs, like the real API), an
                                   event a chunk (also under /v1alpha, /v1).
POST /v1beta/models/MODEL:generateContent    one GenerateContentResponse.
POST /v1beta/models/MODEL:countTokens        {"totalTokens": N}
GET  /v1beta/models[/MODEL]        {"models": [...]} / the model.
any other /v1beta/ or /v1alpha/ path
                                   404 with a Google-style error body.
HEAD or GET /  (any other GET)     200, empty JSON object.
anything else                      404 with an Anthropic-style error body.

Scripted turns
--------------
A script (JSON file or dict) is either a list of turns or an object:

    {"turns": [
        {"tool_use": {"id": "toolu_01", "name": "Bash",
                      "input": {"command": "echo hi", "description": "..."}}},
        {"text": "All tests passed."}],
     "aux_text": "OK",          # reply to auxiliary requests (default "OK")
     "exhausted_text": "...",   # reply once the turns are used up
     "match": "tools"}          # which requests get the turns: "tools"|"all"

The SSE stream is Anthropic's event sequence: message_start, ping, per
block content_block_start / content_block_delta (text_delta pieces, or
input_json_delta pieces: an empty one first, then the input JSON cut in
four) / content_block_stop, message_delta (stop_reason, usage),
message_stop; one HTTP chunk per event.

A turn has an optional "text" and an optional "tool_use" (one object) or
"tool_uses" (a list); a turn with tool uses ends with stop_reason
"tool_use" (OpenAI: finish_reason "tool_calls"), otherwise "end_turn"
("stop"). A tool use without "id" gets "toolu_mock_<seq>_<n>".

Gemini: a GenerateContentResponse is {"candidates": [{"content": {"role":
"model", "parts": [...]}, "index": 0, "finishReason"}], "usageMetadata",
"modelVersion" (MODEL of the path), "responseId"}. The turn's text is cut
into three {"text"} chunks, then each tool use is one chunk with a part
{"functionCall": {"name", "args": input}} (plus "id" only when the script's
tool use has one: the real API sends none, Gemini CLI makes its own); the
last chunk has finishReason "STOP" and usageMetadata (promptTokenCount,
candidatesTokenCount, totalTokenCount). Gemini has no "tool_use" stop
reason: a function call ends with "STOP" as well. generateContent sends
the same parts in one response.

Responses: the SSE stream is `event: NAME` / `data: {"type": NAME,
"sequence_number", ...}` events: response.created, response.in_progress
(each with the Response object, status "in_progress", output []); for the
text a "message" output item (role "assistant"): response.output_item.added,
response.content_part.added, response.output_text.delta (the text cut in
three), response.output_text.done, response.content_part.done,
response.output_item.done; for each tool use a "function_call" item
{"id": "fc_...", "call_id", "name", "arguments": the input as a JSON
string}: response.output_item.added (arguments ""),
response.function_call_arguments.delta (the arguments cut in four),
response.function_call_arguments.done, response.output_item.done; last
response.completed with the whole Response (status "completed", output:
the items, usage: input_tokens, input_tokens_details.cached_tokens,
output_tokens, output_tokens_details.reasoning_tokens, total_tokens). A
tool use's "id" is the call_id (default "call_mock_<seq>_<n>"). The next
request carries the call back as a "function_call_output" input item with
that call_id. Without "stream" the reply is the completed Response.

Which request gets which turn (the rule, chosen to be robust against the
agent's side requests and against retries):
  * A request is *main* when it carries a non-empty "tools" array (with
    "match": "all", every Messages / Chat Completions request is main).
    Claude Code's side requests (title / topic detection on a small model,
    quota checks, summaries) carry no tools (or "tools": []) and get the
    short aux_text reply; one that asks for structured output
    (output_config.format json_schema, like the session-title request) gets
    a minimal JSON object fitting its schema instead.
  * The turn served to a main request is the number of assistant messages
    already in its "messages": the first request gets turn 0; the request
    that carries the tool_result of turn 0 has one assistant message and
    gets turn 1; and so on. A retried request gets the same turn again.
    Past the end of the list the reply is exhausted_text.
  * Gemini: a request is main when its "tools" declare functions
    (functionDeclarations) and it asks for no JSON (no
    generationConfig.responseMimeType "application/json", responseSchema
    or responseJsonSchema); "match": "all" makes every generateContent /
    streamGenerateContent request main. Its turn is the number of "model"
    contents already in its "contents". Side requests get aux_text, or,
    when they ask for JSON, a minimal object fitting responseJsonSchema /
    responseSchema (types in either case; numbers without a minimum are 1,
    enums their first value). Gemini CLI 0.61's side request: the model
    router's classifier (generateContent on a flash-lite model, schema
    {complexity_reasoning, complexity_score 1-100}; score 1 routes the main
    requests to the flash model); its next-speaker check (next_speaker
    "user": the CLI stops) and loop detection get the same treatment when
    they run.
  * Responses: a request is main when it carries a non-empty "tools"
    array ("match": "all": every one); its turn is the number of runs of
    model output already in its "input": consecutive items of the types
    the model produces (an assistant "message", "function_call",
    "reasoning", "custom_tool_call", ...) count as one turn, so a turn's
    text and its calls count once, and the "function_call_output" (or a
    user message) after them ends the run. Side requests get aux_text, or,
    when they ask for structured output (text.format type "json_schema"),
    a minimal JSON object fitting its schema. Codex 0.171 `exec` sends
    only main requests (tools exec_command, write_stdin, ... with the
    conversation as "input" items, "stream": true, "store": false).

Log (in the directory given, flushed and fsync'ed line by line)
---------------------------------------------------------------
DIR/log.jsonl, one JSON object a line, in order:
  {"kind": "request", "seq": N, "conn": C, "t": unix_time, "method", "path",
   "version" ("HTTP/1.1"), "headers": [[name, value], ...] (as received),
   "chunked": bool (the body came with chunked transfer encoding),
   "body_len", "body_sha256", "body_b64" (the body exactly as received,
   after de-chunking, not decompressed), "body_file", "tls": {"version",
   "cipher", "alpn", "sni"} or null}
    -- written before the reply is sent, so a test can wait for it.
  {"kind": "response", "seq": N, "conn": C, "t", "status", "headers",
   "chunked": bool, "body_len", "body_sha256", "body_file",
   "api": "anthropic"|"openai"|"responses"|"gemini"|..., "stream": bool, "role": "main"|"aux",
   "turn": index or null}
  {"kind": "connection", "conn": C, "t", "peer", "event": "open"|"close"}
  {"kind": "tls_error", "conn": null, "t", "peer", "error"}  a failed
    handshake (e.g. the client does not trust the test CA)
  {"kind": "bad_request" | "handler_error", "t", "error", ...}  a broken
    request body, a client that went away mid-reply
Request and response records of one exchange share "seq"; "conn" numbers
the TCP connections in accept order (keep-alive: several seqs a conn).
DIR/bodies/NNNNNN.req and NNNNNN.resp: each body, raw bytes (the response
body as the client sees it after de-chunking: the SSE text, or the JSON).

CLI
---
  mock_llm.py --dir DIR [--plain] [--host 127.0.0.1] [--port 0]
              [--script SCRIPT.json] [--ready-file F] [--tls-dir D]
Writes the port (a line) to F once listening. In TLS mode the test CA is
made in --tls-dir (default DIR/tls) unless a ca.pem/server.pem/server.key
set is already there; the CA certificate is DIR/tls/ca.pem (for
NODE_EXTRA_CA_CERTS, curl --cacert, SSL_CERT_FILE). SIGTERM or SIGINT stop
it cleanly (exit 0).

Python API
----------
  make_test_ca(directory, hosts=("localhost",), ips=("127.0.0.1", "::1"))
      -> TLSFiles(ca_cert, ca_key, server_cert, server_key)
  load_script(path_or_obj) -> dict
  MockLLM(log_dir, script=None, plain=False, host="127.0.0.1", port=0,
          tls=None)   .start() .stop() .port .base_url .ca_cert
          .log() -> read_log(log_dir); usable as a context manager.
      script: as load_script takes; tls: None (certificates in
      log_dir/tls, made if absent), a directory, or a TLSFiles.
      The server runs in a daemon thread of the calling process.
  read_log(log_dir, kind=None) -> list of dicts; request/response records
      get "body" (bytes) and, when the body is JSON, "json"
  requests(log_dir, path=None) -> request records (path matched without
      the query string)
  start_process(log_dir, script_path=None, plain=False, timeout=15,
      extra_args=(), python="/usr/bin/python3") -> (Popen, port): the
      server as a separate process (the CLI below); CA: log_dir/tls/ca.pem
  stop_process(popen) -> exit status (SIGTERM, then SIGKILL after 10 s)
"""
import argparse
import base64
import collections
import hashlib
import http.server
import json
import os
import re
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import zlib

TLSFiles = collections.namedtuple("TLSFiles", "ca_cert ca_key server_cert server_key")

DEFAULT_AUX_TEXT = "OK"
DEFAULT_EXHAUSTED_TEXT = "(mock LLM: no more scripted turns)"


# ---------------------------------------------------------------- TLS


def _openssl(args, cwd):
    p = subprocess.run(["openssl"] + args, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args), p.stderr.decode(errors="replace")))


def make_test_ca(directory, hosts=("localhost",), ips=("127.0.0.1", "::1")):
    """Create a CA and a server certificate for hosts/ips signed by it.

    Files in directory: ca.key, ca.pem, server.key, server.pem (plus the
    openssl working files server.csr, server.ext, ca.srl). Returns TLSFiles
    of absolute paths. EC P-256 keys; the server certificate has the
    names as subjectAltName entries and serverAuth usage.
    """
    d = os.path.abspath(directory)
    os.makedirs(d, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(["req", "-x509"] + ec + [
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650", "-sha256",
        "-subj", "/O=agenttrail tests/CN=agenttrail test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash"], d)
    _openssl(["req"] + ec + [
        "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/O=agenttrail tests/CN=%s" % (hosts[0] if hosts else ips[0])], d)
    san = ",".join(["DNS:%s" % h for h in hosts] + ["IP:%s" % i for i in ips])
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid,issuer\n"
                "subjectAltName=%s\n" % san)
    _openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
              "-CAcreateserial", "-out", "server.pem", "-days", "365", "-sha256",
              "-extfile", "server.ext"], d)
    for k in ("ca.key", "server.key"):
        os.chmod(os.path.join(d, k), 0o600)
    return TLSFiles(*(os.path.join(d, n) for n in ("ca.pem", "ca.key", "server.pem", "server.key")))


def _existing_tls(directory):
    files = TLSFiles(*(os.path.join(os.path.abspath(directory), n)
                       for n in ("ca.pem", "ca.key", "server.pem", "server.key")))
    if all(os.path.exists(p) for p in (files.ca_cert, files.server_cert, files.server_key)):
        return files
    return None


# ---------------------------------------------------------------- script


def load_script(script):
    """Normalise a script: a path to a JSON file, a list of turns, a dict, or None."""
    if script is None:
        script = {}
    elif isinstance(script, str):
        with open(script) as f:
            script = json.load(f)
    if isinstance(script, list):
        script = {"turns": script}
    script = dict(script)
    script.setdefault("turns", [])
    script.setdefault("aux_text", DEFAULT_AUX_TEXT)
    script.setdefault("exhausted_text", DEFAULT_EXHAUSTED_TEXT)
    script.setdefault("match", "tools")
    if script["match"] not in ("tools", "all"):
        raise ValueError("script match must be 'tools' or 'all'")
    for t in script["turns"]:
        if not isinstance(t, dict) or not ({"text", "tool_use", "tool_uses"} & set(t)):
            raise ValueError("a turn needs text, tool_use or tool_uses: %r" % (t,))
    return script


def _turn_blocks(turn, seq):
    """(text or None, [tool uses with ids]) of a turn."""
    uses = list(turn.get("tool_uses") or [])
    if turn.get("tool_use"):
        uses.append(turn["tool_use"])
    out = []
    for n, u in enumerate(uses):
        out.append({"id": u.get("id") or "toolu_mock_%d_%d" % (seq, n),
                    "name": u["name"], "input": u.get("input", {})})
    return turn.get("text"), out


def _split(s, parts):
    """s cut into `parts` non-empty pieces at most (fewer if s is short)."""
    if not s:
        return []
    n = max(1, min(parts, len(s)))
    step = -(-len(s) // n)
    return [s[i:i + step] for i in range(0, len(s), step)]


# ---------------------------------------------------------------- log


class Log:
    def __init__(self, directory):
        self.dir = os.path.abspath(directory)
        self.bodies = os.path.join(self.dir, "bodies")
        os.makedirs(self.bodies, exist_ok=True)
        self.path = os.path.join(self.dir, "log.jsonl")
        self._f = open(self.path, "a")
        self._lock = threading.Lock()
        self._seq = 0
        self._conn = 0
        self._closed = False

    def next_seq(self):
        with self._lock:
            self._seq += 1
            return self._seq

    def next_conn(self):
        with self._lock:
            self._conn += 1
            return self._conn

    def body(self, seq, suffix, data):
        name = os.path.join(self.bodies, "%06d.%s" % (seq, suffix))
        with open(name, "wb") as f:
            f.write(data)
        return name

    def write(self, rec):
        rec.setdefault("t", time.time())
        line = json.dumps(rec, sort_keys=False) + "\n"
        with self._lock:
            if self._closed:  # a connection thread outliving stop()
                return
            self._f.write(line)
            self._f.flush()
            os.fsync(self._f.fileno())

    def close(self):
        with self._lock:
            self._closed = True
            self._f.close()


def read_log(log_dir, kind=None):
    """The records of DIR/log.jsonl (complete lines only), with bodies decoded."""
    path = os.path.join(log_dir, "log.jsonl")
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            if not line.endswith("\n") or not line.strip():
                continue
            r = json.loads(line)
            if kind and r.get("kind") != kind:
                continue
            if r.get("kind") == "request":
                r["body"] = base64.b64decode(r.get("body_b64", ""))
            elif r.get("kind") == "response" and r.get("body_file") and os.path.exists(r["body_file"]):
                with open(r["body_file"], "rb") as bf:
                    r["body"] = bf.read()
            if "body" in r:
                try:
                    r["json"] = json.loads(_decoded(r["body"], _header(r.get("headers", []), "content-encoding")))
                except ValueError:
                    pass
            out.append(r)
    return out


def requests(log_dir, path=None):
    """Request records, optionally only those whose path (less ?query) is `path`."""
    rs = read_log(log_dir, "request")
    if path is not None:
        rs = [r for r in rs if r["path"].split("?", 1)[0] == path]
    return rs


def _header(pairs, name):
    for k, v in pairs:
        if k.lower() == name:
            return v
    return None


def _decoded(body, encoding):
    enc = (encoding or "").strip().lower()
    if enc in ("gzip", "x-gzip"):
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if enc == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)
    return body


# ---------------------------------------------------------------- handler


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-llm/1"
    sys_version = ""
    timeout = 300  # idle keep-alive connections are closed after this

    def setup(self):
        super().setup()
        self.conn_id = self.server.mock_log.next_conn()
        self.server.mock_log.write({"kind": "connection", "conn": self.conn_id,
                                    "peer": list(self.client_address[:2]), "event": "open"})

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.mock_log.write({"kind": "connection", "conn": self.conn_id,
                                        "peer": list(self.client_address[:2]), "event": "close"})

    def log_message(self, fmt, *args):  # quiet; everything is in log.jsonl
        if os.environ.get("MOCK_LLM_VERBOSE"):
            sys.stderr.write("mock_llm: " + (fmt % args) + "\n")

    # -- request body

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            parts = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("EOF in chunked body")
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    return b"".join(parts), True
                parts.append(self._read_exact(size))
                self.rfile.readline(65537)  # CRLF after the chunk
        n = int(self.headers.get("Content-Length") or 0)
        return self._read_exact(n), False

    def _read_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            b = self.rfile.read(n - len(buf))
            if not b:
                raise ConnectionError("EOF in body")
            buf += b
        return bytes(buf)

    def _tls_info(self):
        s = self.connection
        if not isinstance(s, ssl.SSLSocket):
            return None
        c = s.cipher()
        return {"version": s.version(), "cipher": c[0] if c else None,
                "alpn": s.selected_alpn_protocol(), "sni": getattr(s, "mock_sni", None)}

    # -- dispatch

    def _handle(self):
        try:
            body, chunked = self._read_body()
        except (ConnectionError, ValueError) as e:
            self.server.mock_log.write({"kind": "bad_request", "conn": self.conn_id, "error": str(e)})
            self.close_connection = True
            return
        log = self.server.mock_log
        seq = log.next_seq()
        headers = [[k, v] for k, v in self.headers.items()]
        log.write({"kind": "request", "seq": seq, "conn": self.conn_id,
                   "method": self.command, "path": self.path, "version": self.request_version,
                   "headers": headers, "chunked": chunked, "body_len": len(body),
                   "body_sha256": hashlib.sha256(body).hexdigest(),
                   "body_b64": base64.b64encode(body).decode(),
                   "body_file": log.body(seq, "req", body), "tls": self._tls_info()})
        self.seq = seq
        self.body_len = len(body)
        self.resp_meta = {"api": None, "stream": False, "role": None, "turn": None}
        req = None
        if body:
            try:
                req = json.loads(_decoded(body, self.headers.get("Content-Encoding")))
            except (ValueError, zlib.error):
                req = None
        path = urllib.parse.urlsplit(self.path).path.rstrip("/") or "/"
        m = self.command
        if m == "POST" and path == "/v1/messages":
            return self._anthropic(req)
        if m == "POST" and path == "/v1/messages/count_tokens":
            self.resp_meta["api"] = "anthropic"
            return self._json(200, {"input_tokens": max(1, len(body) // 4)})
        if m == "POST" and path in ("/v1/chat/completions", "/chat/completions"):
            return self._openai(req)
        if m == "POST" and path in ("/v1/responses", "/responses"):
            return self._responses(req)
        if m in ("GET", "HEAD") and path in ("/v1/models", "/models"):
            return self._json(200, {"object": "list", "data": [_model_obj("claude-mock")],
                                    "has_more": False, "first_id": "claude-mock",
                                    "last_id": "claude-mock"})
        if m in ("GET", "HEAD") and path.startswith("/v1/models/"):
            return self._json(200, _model_obj(path.rsplit("/", 1)[1]))
        if path == "/api/claude_code/organizations/metrics_enabled":
            # Claude Code 2.1.113 (API-key auth) asks this of api.anthropic.com
            # on exit, whatever ANTHROPIC_BASE_URL says; answer "no metrics"
            # should a test point that name here.
            return self._json(200, {"metrics_logging_enabled": False})
        gm = _GEMINI_PATH.match(path)
        if gm and m == "POST":
            return self._gemini(req, gm.group(2), gm.group(3))
        if m in ("GET", "HEAD") and _GEMINI_MODELS.match(path):
            self.resp_meta["api"] = "gemini"
            name = path.split("/models", 1)[1].strip("/")
            if name:
                return self._json(200, _gemini_model_obj(name))
            return self._json(200, {"models": [_gemini_model_obj(n) for n in GEMINI_MODELS]})
        if _GEMINI_PREFIX.match(path):
            self.resp_meta["api"] = "gemini"
            return self._json(404, {"error": {"code": 404, "status": "NOT_FOUND",
                                              "message": "mock LLM: no route for %s %s" % (m, path)}})
        if m in ("GET", "HEAD") and not path.startswith("/v1/"):
            return self._json(200, {})
        return self._json(404, {"type": "error", "error": {
            "type": "not_found_error", "message": "mock LLM: no route for %s %s" % (m, path)}})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _handle

    # -- responses

    def version_string(self):
        return self.server_version

    def _common_headers(self):
        self.send_header("request-id", "req_mock_%06d" % self.seq)

    def _sent(self, status, headers, data, chunked):
        log = self.server.mock_log
        rec = {"kind": "response", "seq": self.seq, "conn": self.conn_id, "status": status,
               "headers": headers, "chunked": chunked, "body_len": len(data),
               "body_sha256": hashlib.sha256(data).hexdigest(),
               "body_file": log.body(self.seq, "resp", data)}
        rec.update(self.resp_meta)
        log.write(rec)

    def _json(self, status, obj, extra_headers=()):
        data = json.dumps(obj).encode()
        headers = [["Content-Type", "application/json"], ["Content-Length", str(len(data))]]
        headers += [list(h) for h in extra_headers]
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self._common_headers()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()
        self._sent(status, headers, data if self.command != "HEAD" else b"", False)

    def _sse(self, events):
        """Send events (a list of bytes) as one chunk each, chunked encoding."""
        headers = [["Content-Type", "text/event-stream; charset=utf-8"],
                   ["Cache-Control", "no-cache"], ["Transfer-Encoding", "chunked"]]
        self.send_response(200)
        for k, v in headers:
            self.send_header(k, v)
        self._common_headers()
        self.end_headers()
        self.wfile.flush()
        sent = bytearray()
        for ev in events:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(ev), ev))
            self.wfile.flush()
            sent += ev
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self._sent(200, headers, bytes(sent), True)

    def _pick(self, req):
        """(role, turn index or None, turn dict)"""
        script = self.server.script
        tools = req.get("tools") if isinstance(req, dict) else None
        is_main = script["match"] == "all" or bool(tools)
        if not is_main:
            fmt = ((req.get("output_config") or {}).get("format") or {}) if isinstance(req, dict) else {}
            if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
                # Structured output (e.g. Claude Code's session title request):
                # a minimal JSON value that fits the schema.
                return "aux", None, {"text": json.dumps(_schema_example(fmt["schema"]))}
            return "aux", None, {"text": script["aux_text"]}
        msgs = req.get("messages") or []
        idx = sum(1 for m in msgs if isinstance(m, dict) and m.get("role") == "assistant")
        turns = script["turns"]
        if idx < len(turns):
            return "main", idx, turns[idx]
        return "main", idx, {"text": script["exhausted_text"]}

    def _anthropic(self, req):
        self.resp_meta["api"] = "anthropic"
        if not isinstance(req, dict) or not isinstance(req.get("messages"), list):
            return self._json(400, {"type": "error", "error": {
                "type": "invalid_request_error", "message": "mock LLM: body is not a Messages request"}})
        role, idx, turn = self._pick(req)
        self.resp_meta.update(role=role, turn=idx, stream=bool(req.get("stream")))
        text, uses = _turn_blocks(turn, self.seq)
        model = req.get("model") or "claude-mock"
        msg_id = "msg_mock_%06d" % self.seq
        in_tokens = max(1, self.body_len // 4)
        content = []
        if text:
            content.append({"type": "text", "text": text})
        for u in uses:
            content.append({"type": "tool_use", "id": u["id"], "name": u["name"], "input": u["input"]})
        stop = "tool_use" if uses else "end_turn"
        out_tokens = max(1, len(json.dumps(content)) // 4)
        usage = {"input_tokens": in_tokens, "cache_creation_input_tokens": 0,
                 "cache_read_input_tokens": 0, "output_tokens": out_tokens,
                 "service_tier": "standard"}
        if not req.get("stream"):
            return self._json(200, {"id": msg_id, "type": "message", "role": "assistant",
                                    "model": model, "content": content, "stop_reason": stop,
                                    "stop_sequence": None, "usage": usage})

        def ev(name, obj):
            return ("event: %s\ndata: %s\n\n" % (name, json.dumps(obj, separators=(",", ":")))).encode()
        start_usage = dict(usage, output_tokens=1)
        events = [ev("message_start", {"type": "message_start", "message": {
            "id": msg_id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": start_usage}})]
        events.append(ev("ping", {"type": "ping"}))
        i = 0
        if text:
            events.append(ev("content_block_start", {"type": "content_block_start", "index": i,
                                                     "content_block": {"type": "text", "text": ""}}))
            for piece in _split(text, 3):
                events.append(ev("content_block_delta", {"type": "content_block_delta", "index": i,
                                                         "delta": {"type": "text_delta", "text": piece}}))
            events.append(ev("content_block_stop", {"type": "content_block_stop", "index": i}))
            i += 1
        for u in uses:
            events.append(ev("content_block_start", {"type": "content_block_start", "index": i,
                                                     "content_block": {"type": "tool_use", "id": u["id"],
                                                                       "name": u["name"], "input": {}}}))
            pieces = [""] + _split(json.dumps(u["input"]), 4)
            for piece in pieces:
                events.append(ev("content_block_delta", {"type": "content_block_delta", "index": i,
                                                         "delta": {"type": "input_json_delta",
                                                                   "partial_json": piece}}))
            events.append(ev("content_block_stop", {"type": "content_block_stop", "index": i}))
            i += 1
        events.append(ev("message_delta", {"type": "message_delta",
                                           "delta": {"stop_reason": stop, "stop_sequence": None},
                                           "usage": {"input_tokens": in_tokens,
                                                     "cache_creation_input_tokens": 0,
                                                     "cache_read_input_tokens": 0,
                                                     "output_tokens": out_tokens}}))
        events.append(ev("message_stop", {"type": "message_stop"}))
        self._sse(events)

    def _openai(self, req):
        self.resp_meta["api"] = "openai"
        if not isinstance(req, dict) or not isinstance(req.get("messages"), list):
            return self._json(400, {"error": {"message": "mock LLM: body is not a chat completion request",
                                              "type": "invalid_request_error", "code": None}})
        role, idx, turn = self._pick(req)
        self.resp_meta.update(role=role, turn=idx, stream=bool(req.get("stream")))
        text, uses = _turn_blocks(turn, self.seq)
        model = req.get("model") or "gpt-mock"
        cid = "chatcmpl-mock%06d" % self.seq
        created = int(time.time())
        calls = [{"id": u["id"], "type": "function",
                  "function": {"name": u["name"], "arguments": json.dumps(u["input"])}} for u in uses]
        finish = "tool_calls" if uses else "stop"
        p_tokens = max(1, self.body_len // 4)
        c_tokens = max(1, (len(text or "") + sum(len(c["function"]["arguments"]) for c in calls)) // 4)
        usage = {"prompt_tokens": p_tokens, "completion_tokens": c_tokens,
                 "total_tokens": p_tokens + c_tokens}
        if not req.get("stream"):
            msg = {"role": "assistant", "content": text}
            if calls:
                msg["tool_calls"] = calls
            return self._json(200, {"id": cid, "object": "chat.completion", "created": created,
                                    "model": model, "choices": [{"index": 0, "message": msg,
                                                                 "logprobs": None,
                                                                 "finish_reason": finish}],
                                    "usage": usage})

        def chunk(delta, fin=None, with_usage=False):
            o = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                 "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": fin}]}
            if with_usage:
                o["choices"] = []
                o["usage"] = usage
            return ("data: %s\n\n" % json.dumps(o, separators=(",", ":"))).encode()
        events = [chunk({"role": "assistant", "content": ""})]
        for piece in _split(text or "", 3):
            events.append(chunk({"content": piece}))
        for n, c in enumerate(calls):
            events.append(chunk({"tool_calls": [{"index": n, "id": c["id"], "type": "function",
                                                 "function": {"name": c["function"]["name"],
                                                              "arguments": ""}}]}))
            for piece in _split(c["function"]["arguments"], 4):
                events.append(chunk({"tool_calls": [{"index": n, "function": {"arguments": piece}}]}))
        events.append(chunk({}, finish))
        if (req.get("stream_options") or {}).get("include_usage"):
            events.append(chunk({}, None, with_usage=True))
        events.append(b"data: [DONE]\n\n")
        self._sse(events)

    # -- OpenAI Responses API

    def _responses(self, req):
        self.resp_meta["api"] = "responses"
        if not isinstance(req, dict) or not isinstance(req.get("input"), (list, str)):
            return self._json(400, {"error": {"message": "mock LLM: body is not a Responses request",
                                              "type": "invalid_request_error", "param": None,
                                              "code": None}})
        role, idx, turn = self._responses_pick(req)
        stream = bool(req.get("stream"))
        self.resp_meta.update(role=role, turn=idx, stream=stream)
        text, uses = _turn_blocks(turn, self.seq)
        explicit = list(turn.get("tool_uses") or []) + ([turn["tool_use"]] if turn.get("tool_use") else [])
        model = req.get("model") or "gpt-mock"
        rid = "resp_mock%06d" % self.seq
        created = int(time.time())
        items = []  # the output items, complete
        if text:
            items.append({"id": "msg_mock%06d" % self.seq, "type": "message", "status": "completed",
                          "role": "assistant",
                          "content": [{"type": "output_text", "text": text, "annotations": []}]})
        for n, u in enumerate(uses):
            call_id = explicit[n].get("id") or "call_mock_%d_%d" % (self.seq, n)
            items.append({"id": "fc_mock%06d_%d" % (self.seq, n), "type": "function_call",
                          "status": "completed", "call_id": call_id, "name": u["name"],
                          "arguments": json.dumps(u["input"])})
        in_tokens = max(1, self.body_len // 4)
        out_tokens = max(1, len(json.dumps(items)) // 4)
        usage = {"input_tokens": in_tokens, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": out_tokens, "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": in_tokens + out_tokens}

        def response(status, output, with_usage):
            return {"id": rid, "object": "response", "created_at": created, "status": status,
                    "error": None, "incomplete_details": None, "model": model, "output": output,
                    "parallel_tool_calls": bool(req.get("parallel_tool_calls")),
                    "tool_choice": req.get("tool_choice", "auto"), "tools": req.get("tools") or [],
                    "usage": usage if with_usage else None}
        if not stream:
            return self._json(200, response("completed", items, True))
        seqno = [0]

        def ev(name, obj):
            o = {"type": name, "sequence_number": seqno[0]}
            o.update(obj)
            seqno[0] += 1
            return ("event: %s\ndata: %s\n\n" % (name, json.dumps(o, separators=(",", ":")))).encode()
        events = [ev("response.created", {"response": response("in_progress", [], False)}),
                  ev("response.in_progress", {"response": response("in_progress", [], False)})]
        for i, it in enumerate(items):
            if it["type"] == "message":
                events.append(ev("response.output_item.added", {"output_index": i, "item": dict(
                    it, status="in_progress", content=[])}))
                part = {"type": "output_text", "text": "", "annotations": []}
                events.append(ev("response.content_part.added", {"item_id": it["id"], "output_index": i,
                                                                 "content_index": 0, "part": part}))
                for piece in _split(text, 3):
                    events.append(ev("response.output_text.delta", {
                        "item_id": it["id"], "output_index": i, "content_index": 0, "delta": piece,
                        "logprobs": []}))
                events.append(ev("response.output_text.done", {"item_id": it["id"], "output_index": i,
                                                               "content_index": 0, "text": text,
                                                               "logprobs": []}))
                events.append(ev("response.content_part.done", {
                    "item_id": it["id"], "output_index": i, "content_index": 0,
                    "part": dict(part, text=text)}))
            else:
                events.append(ev("response.output_item.added", {"output_index": i, "item": dict(
                    it, status="in_progress", arguments="")}))
                for piece in _split(it["arguments"], 4):
                    events.append(ev("response.function_call_arguments.delta", {
                        "item_id": it["id"], "output_index": i, "delta": piece}))
                events.append(ev("response.function_call_arguments.done", {
                    "item_id": it["id"], "output_index": i, "arguments": it["arguments"]}))
            events.append(ev("response.output_item.done", {"output_index": i, "item": it}))
        events.append(ev("response.completed", {"response": response("completed", items, True)}))
        self._sse(events)

    def _responses_pick(self, req):
        """(role, turn index or None, turn dict) of a Responses request."""
        script = self.server.script
        fmt = (req.get("text") or {}).get("format") if isinstance(req.get("text"), dict) else None
        is_main = script["match"] == "all" or bool(req.get("tools"))
        if not is_main:
            if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
                return "aux", None, {"text": json.dumps(_schema_example(fmt["schema"]))}
            return "aux", None, {"text": script["aux_text"]}
        # one turn = one run of output items (the model's message,
        # reasoning, calls) between the items the client added
        idx, in_run = 0, False
        for it in req["input"] if isinstance(req["input"], list) else []:
            out = isinstance(it, dict) and (
                it.get("type") in _RESPONSES_OUTPUT_TYPES
                or (it.get("type", "message") == "message" and it.get("role") == "assistant"))
            if out and not in_run:
                idx += 1
            in_run = out
        turns = script["turns"]
        if idx < len(turns):
            return "main", idx, turns[idx]
        return "main", idx, {"text": script["exhausted_text"]}

    # -- Gemini API (generativelanguage v1beta)

    def _gemini(self, req, model, method):
        self.resp_meta["api"] = "gemini"
        if method == "countTokens":
            return self._json(200, {"totalTokens": max(1, self.body_len // 4)})
        if method not in ("generateContent", "streamGenerateContent"):
            return self._json(404, {"error": {"code": 404, "status": "NOT_FOUND",
                                              "message": "mock LLM: no method %s" % method}})
        if not isinstance(req, dict) or not isinstance(req.get("contents"), list):
            return self._json(400, {"error": {"code": 400, "status": "INVALID_ARGUMENT",
                                              "message": "mock LLM: body is not a generateContent request"}})
        stream = method == "streamGenerateContent"
        role, idx, turn = self._gemini_pick(req)
        self.resp_meta.update(role=role, turn=idx, stream=stream)
        text, uses = _turn_blocks(turn, self.seq)
        # the script's tool uses in _turn_blocks' order
        explicit = list(turn.get("tool_uses") or []) + ([turn["tool_use"]] if turn.get("tool_use") else [])
        calls = []
        for n, u in enumerate(uses):
            fc = {"name": u["name"], "args": u["input"]}
            if explicit[n].get("id"):  # the real API sends no id unless asked
                fc["id"] = explicit[n]["id"]
            calls.append({"functionCall": fc})
        p_tokens = max(1, self.body_len // 4)
        c_tokens = max(1, (len(text or "") + len(json.dumps(calls))) // 4)
        usage = {"promptTokenCount": p_tokens, "candidatesTokenCount": c_tokens,
                 "totalTokenCount": p_tokens + c_tokens}
        rid = "mock%06d" % self.seq

        def resp(parts, finish=None, with_usage=False):
            cand = {"content": {"role": "model", "parts": parts}, "index": 0}
            if finish:
                cand["finishReason"] = finish
            o = {"candidates": [cand], "modelVersion": model, "responseId": rid}
            if with_usage:
                o["usageMetadata"] = usage
            return o
        if not stream:
            parts = ([{"text": text}] if text else []) + calls
            return self._json(200, resp(parts or [{"text": ""}], "STOP", True))
        chunks = [resp([{"text": piece}]) for piece in _split(text or "", 3)]
        chunks += [resp([c]) for c in calls]
        if chunks:
            last = chunks[-1]["candidates"][0]
            last["finishReason"] = "STOP"
            chunks[-1]["usageMetadata"] = usage
        else:
            chunks = [resp([{"text": ""}], "STOP", True)]
        self._sse([("data: %s\r\n\r\n" % json.dumps(c, separators=(",", ":"))).encode()
                   for c in chunks])

    def _gemini_pick(self, req):
        """(role, turn index or None, turn dict) of a Gemini request."""
        script = self.server.script
        gen = req.get("generationConfig") or {}
        schema = gen.get("responseJsonSchema") or gen.get("responseSchema")
        wants_json = bool(schema) or gen.get("responseMimeType") == "application/json"
        tools = [t for t in (req.get("tools") or []) if isinstance(t, dict)
                 and (t.get("functionDeclarations") or t.get("function_declarations"))]
        is_main = script["match"] == "all" or (bool(tools) and not wants_json)
        if not is_main:
            if wants_json:
                # e.g. the model router's classifier, the next-speaker and
                # loop checks: 1 for numbers (scores are 1-100), first enums.
                return "aux", None, {"text": json.dumps(_schema_example(schema, number=1)
                                                        if schema else {})}
            return "aux", None, {"text": script["aux_text"]}
        idx = sum(1 for c in req["contents"] if isinstance(c, dict) and c.get("role") == "model")
        turns = script["turns"]
        if idx < len(turns):
            return "main", idx, turns[idx]
        return "main", idx, {"text": script["exhausted_text"]}


def _schema_example(schema, depth=0, number=0):
    """A small value that satisfies a (simple) JSON schema; `number` is the
    value of a number without a "minimum"."""
    if depth > 8 or not isinstance(schema, dict):
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for k in ("anyOf", "oneOf", "allOf"):
        if schema.get(k):
            return _schema_example(schema[k][0], depth + 1, number)
    t = schema.get("type")
    if isinstance(t, str):
        t = t.lower()  # Gemini's responseSchema spells types "OBJECT", "STRING"
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), t[0] if t else None)
    if t == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {k: _schema_example(v, depth + 1, number) for k, v in props.items()
                if k in (schema.get("required") or props)}
    if t == "array":
        n = schema.get("minItems") or 0
        return [_schema_example(schema.get("items") or {}, depth + 1, number) for _ in range(n)]
    if t == "string":
        return "Mock title" if depth <= 1 else "mock"
    if t in ("integer", "number"):
        return schema.get("minimum", number)
    if t == "boolean":
        return False
    return None


# Responses input items that the model produced (a turn's output)
_RESPONSES_OUTPUT_TYPES = ("function_call", "custom_tool_call", "local_shell_call", "reasoning",
                           "web_search_call", "tool_search_call", "image_generation_call")


GEMINI_MODELS = ("gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite")
_GEMINI_PREFIX = re.compile(r"^/(v1beta|v1alpha)/")
_GEMINI_PATH = re.compile(r"^/(v1beta|v1|v1alpha)/models/([^/:]+):([A-Za-z]+)$")
_GEMINI_MODELS = re.compile(r"^/(v1beta|v1alpha)/models(/[^/:]+)?$")


def _gemini_model_obj(name):
    name = name.split("/")[-1]
    return {"name": "models/" + name, "version": "001", "displayName": name,
            "description": "mock model", "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
            "supportedGenerationMethods": ["generateContent", "countTokens"]}


def _model_obj(mid):
    return {"type": "model", "id": mid, "display_name": mid, "created_at": "2025-01-01T00:00:00Z",
            "object": "model", "created": 1735689600, "owned_by": "mock"}


# ---------------------------------------------------------------- server


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, log, script, ssl_ctx):
        self.address_family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        self.mock_log = log
        self.script = script
        self.ssl_ctx = ssl_ctx
        self.active = set()
        self.active_lock = threading.Lock()
        http.server.HTTPServer.__init__(self, addr, Handler)

    def close_connections(self, timeout=3):
        """End the open (keep-alive) connections and wait for their threads."""
        with self.active_lock:
            socks = list(self.active)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        end = time.time() + timeout
        while time.time() < end:
            with self.active_lock:
                if not self.active:
                    return
            time.sleep(0.02)

    def server_bind(self):
        # HTTPServer.server_bind does a reverse lookup for server_name: skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ssl_ctx is not None:
            # The handshake runs in the connection's thread (finish_request),
            # so a slow or failing client does not block accept().
            sock = self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def finish_request(self, request, client_address):
        with self.active_lock:
            self.active.add(request)
        try:
            if isinstance(request, ssl.SSLSocket):
                request.settimeout(30)
                try:
                    request.do_handshake()
                except (ssl.SSLError, OSError) as e:
                    self.mock_log.write({"kind": "tls_error", "conn": None,
                                         "peer": list(client_address[:2]), "error": str(e)})
                    return
                request.settimeout(None)
            Handler(request, client_address, self)
        finally:
            with self.active_lock:
                self.active.discard(request)

    def handle_error(self, request, client_address):
        # Client went away, reset, etc.: log it instead of printing a trace.
        e = sys.exc_info()[1]
        self.mock_log.write({"kind": "handler_error", "peer": list(client_address[:2]),
                             "error": "%s: %s" % (type(e).__name__, e)})


def _ssl_context(tls):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(tls.server_cert, tls.server_key)
    ctx.set_alpn_protocols(["http/1.1"])

    def sni(sock, name, _ctx):
        sock.mock_sni = name
    ctx.sni_callback = sni
    return ctx


class MockLLM:
    """The server in a background thread of this process."""

    def __init__(self, log_dir, script=None, plain=False, host="127.0.0.1", port=0, tls=None):
        self.log_dir = os.path.abspath(log_dir)
        os.makedirs(self.log_dir, exist_ok=True)
        self.script = load_script(script)
        self.plain = plain
        self.tls = None
        if not plain:
            if tls is None:
                tdir = os.path.join(self.log_dir, "tls")
                tls = _existing_tls(tdir) or make_test_ca(tdir)
            elif isinstance(tls, str):
                tls = _existing_tls(tls) or make_test_ca(tls)
            self.tls = tls
        self.log_obj = Log(self.log_dir)
        self.httpd = _Server((host, port), self.log_obj, self.script,
                             None if plain else _ssl_context(self.tls))
        self.host = host
        self.port = self.httpd.server_address[1]
        self._thread = None

    @property
    def ca_cert(self):
        return self.tls.ca_cert if self.tls else None

    @property
    def base_url(self):
        h = "[%s]" % self.host if ":" in self.host else self.host
        return "%s://%s:%d" % ("http" if self.plain else "https", h, self.port)

    def start(self):
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="mock-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._thread:
            self.httpd.shutdown()
            self._thread.join(10)
            self._thread = None
        self.httpd.server_close()
        self.httpd.close_connections()
        self.log_obj.close()

    def log(self, kind=None):
        return read_log(self.log_dir, kind)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def start_process(log_dir, script_path=None, plain=False, timeout=15, extra_args=(),
                  python="/usr/bin/python3"):
    """Run this file as a separate process; return (Popen, port) once it listens."""
    os.makedirs(log_dir, exist_ok=True)
    ready = os.path.join(log_dir, "ready")
    if os.path.exists(ready):
        os.unlink(ready)
    argv = [python, os.path.abspath(__file__), "--dir", log_dir, "--ready-file", ready]
    if script_path:
        argv += ["--script", script_path]
    if plain:
        argv.append("--plain")
    argv += list(extra_args)
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(ready):
            with open(ready) as f:
                return p, int(f.read().strip())
        if p.poll() is not None:
            out, err = p.communicate()
            raise RuntimeError("mock_llm exited %d: %s" % (p.returncode, err.decode(errors="replace")))
        time.sleep(0.05)
    p.kill()
    raise RuntimeError("mock_llm did not start within %ss" % timeout)


def stop_process(p, timeout=10):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


def main(argv=None):
    ap = argparse.ArgumentParser(description="Mock LLM API server (Anthropic Messages, OpenAI Chat "
                                             "Completions, OpenAI Responses, Gemini API) for loopback "
                                             "tests.")
    ap.add_argument("--dir", required=True, help="log directory (log.jsonl, bodies/, tls/)")
    ap.add_argument("--plain", action="store_true", help="plain HTTP, no TLS")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0: any free port")
    ap.add_argument("--script", help="JSON script of turns")
    ap.add_argument("--ready-file", help="the port is written here once listening")
    ap.add_argument("--tls-dir", help="where the test CA and server certificate are (made if absent); "
                                      "default DIR/tls")
    a = ap.parse_args(argv)
    tls = None
    if not a.plain:
        tls = a.tls_dir or os.path.join(a.dir, "tls")
    srv = MockLLM(a.dir, a.script, plain=a.plain, host=a.host, port=a.port, tls=tls)
    stop = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: stop.set())
    srv.start()
    if a.ready_file:
        tmp = a.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.port)
        os.rename(tmp, a.ready_file)
    sys.stderr.write("mock_llm: listening on %s%s\n" % (srv.base_url, "" if a.plain else
                                                         " (CA %s)" % srv.ca_cert))
    sys.stderr.flush()
    while not stop.wait(0.5):
        pass
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
