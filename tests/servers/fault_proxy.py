#!/usr/bin/env python3
"""A fault-injecting TCP proxy for the uploader's tests.

    fault_proxy.py PORTFILE TARGET_PORT RATE [SEED]

Listens on a free 127.0.0.1 port (written to PORTFILE) and forwards each
connection to 127.0.0.1:TARGET_PORT byte for byte. RATE (0..1) of the
connections are doomed: their request reaches the server, which acts on it,
and then the answer is thrown away and the client's connection is reset.
That is the fault the server's own fault injection cannot make: "the upload
was stored, but the client never heard so", after which a retry must not
leave a second copy. Counts go to PORTFILE.stats.
"""
import os
import random
import selectors
import socket
import struct
import sys

portfile, target, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
if len(sys.argv) > 4:
    random.seed(int(sys.argv[4]))
stats = {"connections": 0, "dropped_answers": 0}


def save_stats():
    tmp = portfile + ".stats.tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (stats["connections"], stats["dropped_answers"]))
    os.replace(tmp, portfile + ".stats")


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

    def drop(s, hard):
        for x in (s, peer.get(s)):
            if x is None or x not in peer:
                continue
            sel.unregister(x)
            del peer[x]
            is_client.discard(x)
            doomed.discard(x)
            if hard:
                reset(x)
            else:
                x.close()

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
                if random.random() < rate:
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
