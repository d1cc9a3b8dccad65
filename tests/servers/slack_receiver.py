#!/usr/bin/env python3
"""A local Slack incoming-webhook receiver for the uploader's tests.

    slack_receiver.py DIR [HOOK_PATH [PORT]]

Listens on a free 127.0.0.1 port below the ephemeral range (free_port.py),
or on PORT (a receiver started again after a test stopped it, to make its
webhook refuse connections for a while), writes the port to DIR/port,
accepts POSTs to HOOK_PATH (default /services/T0/B0/secret) and enforces
Slack's documented payload rules (api.slack.com/messaging/webhooks,
/reference/block-kit):
  - Content-Type application/json, a JSON object body (else 400 invalid_payload)
  - `text` (non-empty string) or `blocks` (non-empty array) (else 400 no_text)
  - at most 50 blocks; header: plain_text of at most 150 characters; section:
    text of at most 3000 characters and/or at most 10 fields of at most 2000;
    context: at most 10 elements; divider; every text object has a known type
    (else 400 invalid_blocks)
  - one message a second per webhook: faster ones get 429 with Retry-After: 1
    (the rate window can be changed with DIR/min_interval_ms)
  - Slack's escaping rules (api.slack.com/reference/surfaces/formatting#escaping):
    the uploader sends no links or mentions, so a `<` or `>` in the top-level
    `text` or a mrkdwn text object, or an `&` that does not start `&amp;`,
    `&lt;` or `&gt;` there, is a value that went in unescaped (a `<!channel>`
    that would ping): 400 invalid_blocks, counted as 400_unescaped; plain_text
    is not parsed, so `&amp;`, `&lt;` or `&gt;` in it shows as such (escaped
    twice): 400 invalid_blocks, counted as 400_double_escaped. Real Slack
    takes both; this receiver refuses them so that a test sees them.
Accepted messages are appended, one JSON line each, to DIR/messages.jsonl,
and answered 200 "ok". Other paths answer 404 no_service.

Control, read afresh on every request (tests write these files):
  DIR/mode         "ok" (default), "down" (500), "429" (429 with Retry-After
                   from DIR/retry_after, default 2), "gone" (410 channel_is_archived),
                   "notok" (200 {"ok":false,"error":"not_authed"}: what Slack's Web
                   API answers a webhook payload posted to chat.postMessage),
                   "hang" (no answer: the request is held until the mode changes
                   or DIR/hang_s seconds, default 60, passed, then the connection
                   is closed; the message is never accepted). A held request
                   whose client closed the connection first (its timeout, or the
                   client's own end) is counted as "hang_gave_up", the moment
                   the receiver sees it, and is let go; its time.time() is
                   appended to DIR/gave_up.log, one a line
  DIR/refuse_blocks_marker  a message holding this string is answered 400
                   invalid_blocks while it has blocks (its text-only retry is taken)
  DIR/delay_ms     a slow webhook: each POST to the hook is answered that many
                   ms after it arrived (default 0)
  DIR/fault_rate   0..1: that share of requests is answered 500, 503 or reset
                   (the first post under a rate always is, so that a test with
                   few posts cannot pass without a fault by chance)
Every POST to the hook is noted in DIR/requests.log as it arrives: its
time.monotonic() and "blocks" or "text", one a line.
Counts of every answer go to DIR/stats.json (a receiver started again on the
same DIR goes on counting from there).
"""
import json
import os
import random
import re
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from free_port import free_port

DIR = sys.argv[1]
HOOK = sys.argv[2] if len(sys.argv) > 2 else "/services/T0/B0/secret"
lock = threading.Lock()
stats = {}
last_ok = [0.0]
faulted = [False]


def control(name, default):
    try:
        with open(os.path.join(DIR, name)) as f:
            v = f.read().strip()
            return v if v else default
    except OSError:
        return default


def count(what):
    stats[what] = stats.get(what, 0) + 1
    tmp = os.path.join(DIR, ".stats.tmp")
    with open(tmp, "w") as f:
        json.dump(stats, f)
    os.replace(tmp, os.path.join(DIR, "stats.json"))


def text_len_ok(obj, limit):
    return (isinstance(obj, dict) and obj.get("type") in ("plain_text", "mrkdwn")
            and isinstance(obj.get("text"), str) and 0 < len(obj["text"]) <= limit)


ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")
ENTITIES = re.compile(r"&(amp|lt|gt);")


def text_objects(blocks):
    """Every text object in blocks (already checked by check_blocks)."""
    for b in blocks:
        if isinstance(b.get("text"), dict):
            yield b["text"]
        for x in b.get("fields", []) + b.get("elements", []):
            yield x


def escaping_fault(msg):
    """400_unescaped or 400_double_escaped when msg breaks Slack's escaping rules, else None."""
    mrkdwn = [msg["text"]] if isinstance(msg.get("text"), str) else []
    plain = []
    for t in text_objects(msg.get("blocks") or []):
        (mrkdwn if t["type"] == "mrkdwn" else plain).append(t["text"])
    if any("<" in t or ">" in t or ENTITY.search(t) for t in mrkdwn):
        return "400_unescaped"
    if any(ENTITIES.search(t) for t in plain):
        return "400_double_escaped"
    return None


def check_blocks(blocks):
    if not isinstance(blocks, list) or not blocks or len(blocks) > 50:
        return False
    for b in blocks:
        if not isinstance(b, dict):
            return False
        t = b.get("type")
        if t == "header":
            if not text_len_ok(b.get("text"), 150) or b["text"]["type"] != "plain_text":
                return False
        elif t == "section":
            if "text" not in b and "fields" not in b:
                return False
            if "text" in b and not text_len_ok(b["text"], 3000):
                return False
            if "fields" in b:
                f = b["fields"]
                if not isinstance(f, list) or not f or len(f) > 10:
                    return False
                if not all(text_len_ok(x, 2000) for x in f):
                    return False
        elif t == "context":
            e = b.get("elements")
            if not isinstance(e, list) or not e or len(e) > 10 or not all(text_len_ok(x, 3000) for x in e):
                return False
        elif t == "divider":
            pass
        else:
            return False
    return True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body, headers=()):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def client_gave_up(self, wait_s):
        """True when the client closed (or reset) the connection, waiting wait_s at most."""
        try:
            r, _, _ = select.select([self.connection], [], [], wait_s)
            if not r:
                return False
            if self.connection.recv(1, socket.MSG_PEEK) == b"":
                return True
            time.sleep(wait_s)  # more bytes (a pipelined request): the client is there
            return False
        except OSError:
            return True

    def do_GET(self):
        self.answer(404, "no_service")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        if self.path == HOOK:
            with lock, open(os.path.join(DIR, "requests.log"), "a") as f:
                f.write("%.6f %s\n" % (time.monotonic(), "blocks" if b'"blocks"' in body else "text"))
        if self.path == HOOK and control("mode", "ok") == "hang":
            with lock:
                count("hang")
            end = time.monotonic() + float(control("hang_s", "60"))
            while control("mode", "ok") == "hang" and time.monotonic() < end:
                if self.client_gave_up(0.1):
                    with lock, open(os.path.join(DIR, "gave_up.log"), "a") as f:
                        f.write("%.6f\n" % time.time())
                        count("hang_gave_up")
                    break
            # never answered, never accepted: the client must send it again
            self.close_connection = True
            return
        if self.path == HOOK:
            time.sleep(float(control("delay_ms", "0")) / 1000.0)
        with lock:
            self.handle_post(body)

    def handle_post(self, body):
        if self.path != HOOK:
            count("404")
            return self.answer(404, "no_service")
        rate = float(control("fault_rate", "0"))
        if rate > 0 and (not faulted[0] or random.random() < rate):
            faulted[0] = True
            kind = random.choice(("500", "503", "reset"))
            count("fault_" + kind)
            if kind == "reset":
                self.close_connection = True
                try:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.connection.close()
                except OSError:
                    pass
                return None
            return self.answer(int(kind), "internal_error" if kind == "500" else "service_unavailable")
        mode = control("mode", "ok")
        if mode == "down":
            count("down")
            return self.answer(500, "internal_error")
        if mode == "429":
            count("429")
            return self.answer(429, "rate_limited", [("Retry-After", control("retry_after", "2"))])
        if mode == "gone":
            count("410")
            return self.answer(410, "channel_is_archived")
        if mode == "notok":
            count("200_notok")
            return self.answer(200, '{"ok":false,"error":"not_authed"}')
        marker = control("refuse_marker", "")
        if marker and marker.encode() in body:
            # a message Slack will never take (the test names it by a string in it)
            count("400_marked")
            return self.answer(400, "invalid_blocks")
        marker = control("refuse_blocks_marker", "")
        if marker and marker.encode() in body and b'"blocks"' in body:
            count("400_blocks_marked")
            return self.answer(400, "invalid_blocks")
        ctype = self.headers.get("Content-Type", "")
        if not ctype.split(";")[0].strip() == "application/json":
            count("400")
            return self.answer(400, "invalid_payload")
        try:
            msg = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            count("400")
            return self.answer(400, "invalid_payload")
        if not isinstance(msg, dict):
            count("400")
            return self.answer(400, "invalid_payload")
        text, blocks = msg.get("text"), msg.get("blocks")
        if not ((isinstance(text, str) and text) or blocks):
            count("400")
            return self.answer(400, "no_text")
        if blocks is not None and not check_blocks(blocks):
            count("400_blocks")
            return self.answer(400, "invalid_blocks")
        if text is not None and (not isinstance(text, str) or len(text) > 40000):
            count("400")
            return self.answer(400, "invalid_payload")
        fault = escaping_fault(msg)
        if fault:
            count(fault)
            return self.answer(400, "invalid_blocks")
        # Slack's documented limit: one message a second per webhook
        now = time.monotonic()
        gap = float(control("min_interval_ms", "1000")) / 1000.0
        if now - last_ok[0] < gap * 0.9:
            count("429_rate")
            return self.answer(429, "rate_limited", [("Retry-After", "1")])
        last_ok[0] = now
        with open(os.path.join(DIR, "messages.jsonl"), "a") as f:
            f.write(json.dumps(msg, sort_keys=True) + "\n")
        count("ok")
        return self.answer(200, "ok")


def main():
    try:
        with open(os.path.join(DIR, "stats.json")) as f:
            stats.update(json.load(f))
    except (OSError, ValueError):
        pass
    # a port below the ephemeral range: a test may stop this receiver and start
    # it again on the same port, which no client connection can take meanwhile
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[3]) if len(sys.argv) > 3 else free_port()), Handler)
    port = server.server_address[1]
    tmp = os.path.join(DIR, ".port.tmp")
    with open(tmp, "w") as f:
        f.write(str(port))
    os.replace(tmp, os.path.join(DIR, "port"))
    server.serve_forever()


if __name__ == "__main__":
    main()
