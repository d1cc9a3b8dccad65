#!/usr/bin/python3
"""An HTTP proxy for the tests of which requests go through $http_proxy and
its kin (tests/test_s3_proxy.sh).

usage: connect_proxy.py PORTFILE LOGFILE
Every connection it takes is appended to LOGFILE as one line: its request
line, and " authorization" when the request carried an Authorization header.
CONNECT host:port is tunnelled to host:port, as a proxy does for https (TLS
stays end to end); any other request (plain http sent through the proxy, in
clear text) is answered 502, so that a client that should not have come here
fails rather than hangs.
Binds 127.0.0.1 on a free port, writes it to PORTFILE; ends on SIGTERM.
"""
import os
import signal
import socket
import sys
import threading

portfile, logfile = sys.argv[1:3]
log_lock = threading.Lock()


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def serve(conn):
    with conn:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            data = conn.recv(4096)
            if not data:
                break
            head += data
        lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        auth = any(l.lower().startswith("authorization:") for l in lines[1:])
        with log_lock, open(logfile, "a", encoding="utf-8") as f:
            f.write(lines[0] + (" authorization" if auth else "") + "\n")
        words = lines[0].split()
        if len(words) != 3 or words[0] != "CONNECT":
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        host, _, port = words[1].rpartition(":")
        try:
            up = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
            up.settimeout(None)
        except (OSError, ValueError):
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        with up:
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            rest = head.split(b"\r\n\r\n", 1)[1]
            if rest:
                up.sendall(rest)
            back = threading.Thread(target=pump, args=(up, conn), daemon=True)
            back.start()
            pump(conn, up)
            back.join()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(64)
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
open(logfile, "a", encoding="utf-8").close()
with open(portfile + ".tmp", "w", encoding="utf-8") as f:
    f.write("%d\n" % srv.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
