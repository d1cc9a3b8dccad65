#!/usr/bin/env python3
"""A fault-injecting TCP proxy for the uploader's tests.

    fault_proxy.py PORTFILE TARGET_PORT RATE [SEED|-] [MODE]

Listens on a free 127.0.0.1 port (written to PORTFILE) and forwards each
connection to 127.0.0.1:TARGET_PORT byte for byte. MODE says what RATE (0..1)
is a share of:

  connections (default)  that share of the connections are doomed: their
      request reaches the server, which acts on it, and then the answer is
      thrown away and the client's connection is reset. That is the fault the
      server's own fault injection cannot make: "the upload was stored, but
      the client never heard so", after which a retry must not leave a second
      copy. Counts ("connections dropped_answers") go to PORTFILE.stats.
  requests  the proxy reads the HTTP/1.1 requests on each (kept-alive)
      connection, and that share of the requests fails, in one of four ways
      chosen evenly: "500" (the proxy answers 500 InternalError itself, the
      server never sees the request), "503" (503 SlowDown, likewise), "reset"
      (the connection is reset before the request reaches the server), "lost"
      (the server acts on the request, its answer is thrown away and the
      connection reset). A request with Transfer-Encoding (no Content-Length)
      ends the parsing of its connection: the rest is forwarded as is.
      PORTFILE.stats as above (dropped_answers = "lost"); all counts, as JSON
      ({"connections", "requests", "failed", "500", "503", "reset", "lost",
      "completes"}; "failed" is the sum of the four faults, a "lost" one
      counted once its answer came; "completes" the S3 multipart completions,
      POST ...?uploadId=..., that reached the server), go to PORTFILE.json.
SEED (an integer; "-" for none) makes the choices reproducible.
"""
import json
import os
import random
import selectors
import socket
import struct
import sys

portfile, target, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
if len(sys.argv) > 4 and sys.argv[4] not in ("", "-"):
    random.seed(int(sys.argv[4]))
MODE = sys.argv[5] if len(sys.argv) > 5 else "connections"
if MODE not in ("connections", "requests"):
    sys.exit("fault_proxy.py: MODE is connections or requests")
stats = {"connections": 0, "dropped_answers": 0}
rstats = {"connections": 0, "requests": 0, "failed": 0, "500": 0, "503": 0, "reset": 0, "lost": 0,
          "completes": 0}


def save_stats():
    tmp = portfile + ".stats.tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (stats["connections"], stats["dropped_answers"]))
    os.replace(tmp, portfile + ".stats")
    if MODE == "requests":
        rstats["connections"] = stats["connections"]
        rstats["lost"] = stats["dropped_answers"]
        rstats["failed"] = rstats["500"] + rstats["503"] + rstats["reset"] + rstats["lost"]
        tmp = portfile + ".json.tmp"
        with open(tmp, "w") as f:
            json.dump(rstats, f)
        os.replace(tmp, portfile + ".json")


ERRORS = {
    "500": (b"500 Internal Server Error", b"InternalError", b"We encountered an internal error. Please try again."),
    "503": (b"503 Slow Down", b"SlowDown", b"Please reduce your request rate."),
}


def error_answer(kind, method):
    status, code, message = ERRORS[kind]
    body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>' + code + b"</Code><Message>" + message
            + b"</Message><RequestId>FAULTPROXY</RequestId></Error>")
    head = (b"HTTP/1.1 " + status + b"\r\nContent-Type: application/xml\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n")
    return head if method == b"HEAD" else head + body


class Requests:
    """The request framing of one client connection (MODE requests)."""

    def __init__(self):
        self.buf = b""
        self.left = 0          # body bytes of the current request still to come
        self.fault = None      # the current request's fault: None, "500", "503", "lost"
        self.method = b""
        self.passthrough = False


def reset(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    srv.setblocking(False)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.replace(tmp, portfile)
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ, None)
    # peer[s] = the other socket; doomed = client sockets whose first answer is dropped
    peer, doomed, is_client = {}, set(), set()
    framing = {}  # client socket -> Requests (MODE requests)

    def drop(s, hard):
        for x in (s, peer.get(s)):
            if x is None or x not in peer:
                continue
            sel.unregister(x)
            del peer[x]
            is_client.discard(x)
            doomed.discard(x)
            framing.pop(x, None)
            if hard:
                reset(x)
            else:
                x.close()

    def send(s, data):
        try:
            s.sendall(data)
            return True
        except OSError:
            drop(s, True)
            return False

    def from_server(u, c, data):
        r = framing.get(c)
        if r is not None and r.fault == "lost":
            if data.startswith(b"HTTP/1.1 100 ") and data.count(b"\r\n\r\n") == 1 and data.endswith(b"\r\n\r\n"):
                send(c, data)  # an interim answer: the final one is still to come
                return
            # the server acted and answered: the client never hears it
            stats["dropped_answers"] += 1
            save_stats()
            drop(u, True)
            return
        send(c, data)

    def from_client(c, u, data):
        r = framing[c]
        if r.passthrough:
            send(u, data)
            return
        r.buf += data
        while r.buf:
            if r.left > 0:
                chunk, r.buf = r.buf[:r.left], r.buf[r.left:]
                r.left -= len(chunk)
                if r.fault in ("500", "503"):
                    if r.left == 0 and not answer_error(c, r):
                        return
                    continue
                if not send(u, chunk):
                    return
                continue
            end = r.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(r.buf) > 65536:
                    r.passthrough = True
                    send(u, r.buf)
                    r.buf = b""
                return
            head, r.buf = r.buf[:end + 4], r.buf[end + 4:]
            lines = head.split(b"\r\n")
            r.method = lines[0].split(b" ", 1)[0]
            length, chunked, expect = 0, False, False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value.strip() or b"0")
                elif name == b"transfer-encoding":
                    chunked = True
                elif name == b"expect" and value.strip():
                    expect = True
            rstats["requests"] += 1
            r.fault = None
            if random.random() < rate:
                r.fault = random.choice(("500", "503", "reset", "lost"))
                if r.fault != "lost":
                    rstats[r.fault] += 1
            save_stats()
            if (r.fault in (None, "lost") and lines[0].startswith(b"POST ")
                    and b"uploadId=" in lines[0].split(b" ")[1]):
                rstats["completes"] += 1
                save_stats()
            if r.fault == "reset":
                drop(c, True)
                return
            if r.fault in ("500", "503"):
                if expect or length == 0 or chunked:
                    # the client waits for an answer before it sends the body
                    answer_error(c, r)
                    return
                r.left = length
                continue
            if not send(u, head):
                return
            if chunked:
                r.passthrough = True
                send(u, r.buf)
                r.buf = b""
                return
            r.left = length

    def answer_error(c, r):
        """Answers the current request with its error and ends the connection."""
        try:
            c.sendall(error_answer(r.fault, r.method))
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        drop(c, False)
        return False

    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if s is srv:
                try:
                    c, _ = srv.accept()
                except OSError:
                    continue
                try:
                    u = socket.create_connection(("127.0.0.1", target))
                except OSError:
                    reset(c)
                    continue
                # a peer that stops reading (a server that answered early) must not
                # stall the loop for long: a send that cannot finish ends both sides
                c.settimeout(5)
                u.setblocking(True)
                u.settimeout(5)
                peer[c], peer[u] = u, c
                is_client.add(c)
                stats["connections"] += 1
                if MODE == "requests":
                    framing[c] = Requests()
                elif random.random() < rate:
                    doomed.add(c)
                save_stats()
                sel.register(c, selectors.EVENT_READ, None)
                sel.register(u, selectors.EVENT_READ, None)
                continue
            if s not in peer:
                continue
            try:
                data = s.recv(262144)
            except OSError:
                data = None
            if not data:
                # either side is done: so is the other, at once (HTTP needs no half-close)
                drop(s, data is None)
                continue
            other = peer[s]
            if MODE == "requests":
                if s in is_client:
                    from_client(s, other, data)
                else:
                    from_server(s, other, data)
                continue
            if s not in is_client and other in doomed:
                # the server acted and answered: the client never hears it
                stats["dropped_answers"] += 1
                save_stats()
                drop(s, True)
                continue
            try:
                other.sendall(data)
            except OSError:
                drop(s, True)


if __name__ == "__main__":
    main()
