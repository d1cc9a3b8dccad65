#!/usr/bin/env python3
"""A free TCP port on 127.0.0.1 for a test server, printed (or free_port()).

The port is taken below the kernel's ephemeral range
(/proc/sys/net/ipv4/ip_local_port_range), where outgoing connections never
get their source ports: between this check and the server's bind, or while a
test restarts its server on the same port, no client connection can take it,
and a client retrying a stopped server cannot end up connected to itself
(a TCP self-connect, which only an ephemeral port allows).
"""
import random
import socket


def free_port():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            first = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        first = 32768
    low = 10000
    if first - 1 > low:
        for _ in range(200):
            port = random.randint(low, first - 1)
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                pass
            finally:
                s.close()
    s = socket.socket()  # no room below the range: any port the kernel gives
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


if __name__ == "__main__":
    print(free_port())
