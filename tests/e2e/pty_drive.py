#!/usr/bin/env python3
"""Drive an interactive program under a pseudo-terminal, like a person would.

Usage: pty_drive.py SCRIPT TIMEOUT -- COMMAND [ARG...]

SCRIPT holds one step per line (blank lines and lines starting with '#' are
skipped):
    expect REGEX     wait until the output so far (since the last match)
                     matches REGEX (Python syntax, bytes)
    send TEXT        type TEXT (backslash escapes: \\n \\r \\t \\x04 ...)
    sendline TEXT    type TEXT and a carriage return, as Enter does
    resize COLS ROWS change the terminal's size (the program gets SIGWINCH)
    sleep SECONDS    pause (only to let a remote shell settle; never asserted)
    eof              wait for the program to end (bounded by TIMEOUT)
The terminal starts at 80 columns, 24 rows. Everything the program prints goes to stdout. Each expect and the final eof
wait at most TIMEOUT seconds. Exit status: the program's own, 124 on a
timeout (the program is then killed), 2 on a usage error.
"""
import codecs
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time


def set_size(fd, cols, rows):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def unescape(text):
    return codecs.decode(text.encode("latin-1"), "unicode_escape").encode("latin-1")


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.stderr.write(__doc__)
        return 2
    script, timeout, argv = sys.argv[1], float(sys.argv[2]), sys.argv[4:]
    with open(script, encoding="utf-8") as f:
        steps = [l.rstrip("\n") for l in f if l.strip() and not l.lstrip().startswith("#")]

    pid, fd = pty.fork()
    if pid == 0:
        try:
            set_size(0, 80, 24)
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)

    pending = b""
    closed = False

    def read_some(deadline):
        nonlocal pending, closed
        left = deadline - time.monotonic()
        if left <= 0 or closed:
            return False
        r, _, _ = select.select([fd], [], [], min(left, 0.5))
        if not r:
            return True
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the other side of the pty is gone
            data = b""
        if not data:
            closed = True
            return False
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        pending += data
        return True

    def give_up(why):
        sys.stderr.write("\npty_drive: %s\n" % why)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        return 124

    for step in steps:
        verb, _, arg = step.partition(" ")
        if verb == "expect":
            rx = re.compile(arg.encode())
            deadline = time.monotonic() + timeout
            while True:
                m = rx.search(pending)
                if m:
                    pending = pending[m.end():]
                    break
                if not read_some(deadline):
                    return give_up("timed out or EOF waiting for /%s/" % arg)
        elif verb in ("send", "sendline"):
            data = unescape(arg) + (b"\r" if verb == "sendline" else b"")
            os.write(fd, data)
        elif verb == "resize":
            cols, rows = arg.split()
            set_size(fd, int(cols), int(rows))  # the kernel sends SIGWINCH
        elif verb == "sleep":
            end = time.monotonic() + float(arg)
            while time.monotonic() < end:
                read_some(end)
        elif verb == "eof":
            deadline = time.monotonic() + timeout
            while read_some(deadline):
                pass
            if not closed:
                return give_up("timed out waiting for the program to end")
        else:
            return give_up("unknown step %r" % step)

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) & 0xFF
        read_some(min(deadline, time.monotonic() + 0.2))
    return give_up("timed out waiting for the program to exit")


if __name__ == "__main__":
    sys.exit(main())
