#!/usr/bin/env python3
"""tollgate-replay play under a real pseudo-terminal: keys (pause, step,
exact backward and forward seeks, q), the terminal restored on q and on
SIGTERM, and the refusal / --force banner for a tampered recording.
No timing is asserted: the events that must not appear are hours away."""
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import time

top_build = os.environ.get("TG_TOP_BUILDDIR", ".")
REPLAY = os.path.join(top_build, "session_recorder", "tollgate-replay")
GEN = os.path.join(top_build, "tests", "tg-rec-gen")
RESTORE = b"\x1b[?1006l"
HOUR = 3600 * 1000000


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


STARTED = []  # every play started, ended by main() whatever happens


class Play:
    def __init__(self, args, cwd, env=None):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(cwd)
            os.execve(REPLAY, [REPLAY, "-c", "conf", "--key", "k/signing.pub"] + args,
                      env if env is not None else os.environ)
        STARTED.append(self.pid)
        self.buf = b""

    def expect(self, pat, timeout=20):
        end = time.time() + timeout
        while pat not in self.buf:
            left = end - time.time()
            if left <= 0:
                fail("did not see %r in %r" % (pat, self.buf))
            r, _, _ = select.select([self.fd], [], [], min(left, 0.2))
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    data = b""
                if not data:
                    fail("output ended before %r: %r" % (pat, self.buf))
                self.buf += data

    def settle(self, seconds=0.5):
        """Read whatever comes within seconds (to check nothing more came)."""
        end = time.time() + seconds
        while time.time() < end:
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    return
                if not data:
                    return
                self.buf += data

    def send(self, b):
        os.write(self.fd, b)

    def lflag(self):
        return termios.tcgetattr(self.fd)[3]

    def wait(self, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            self.settle(0.1)
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.settle(0.2)
                return st
        os.kill(self.pid, signal.SIGKILL)
        fail("play did not end: %r" % self.buf)

    def close(self):
        try:
            os.close(self.fd)
        except OSError:
            pass


def raw_mode_reached(p):
    """Wait until play put the terminal in its key mode (no echo, no line editing)."""
    end = time.time() + 20
    while time.time() < end:
        if not (p.lflag() & (termios.ECHO | termios.ICANON)):
            return
        time.sleep(0.02)
    fail("terminal never left canonical mode")


def main():
    if not (os.access(REPLAY, os.X_OK) and os.access(GEN, os.X_OK)):
        fail("build tollgate-replay and tests/tg-rec-gen first")
    tmp = tempfile.mkdtemp(prefix="tg-test.")
    try:
        run(tmp)
    finally:
        for pid in STARTED:  # a failed check must not leave a player behind
            try:
                if os.waitpid(pid, os.WNOHANG) == (0, 0):
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")


def gen(tmp, name, script, fields=()):
    with open(os.path.join(tmp, name + ".txt"), "w") as f:
        f.write(script)
    with open(os.path.join(tmp, name + ".txt")) as f:
        subprocess.run([GEN, "script", "k/signing.key", name] + list(fields), cwd=tmp, stdin=f,
                       check=True)


def run(tmp):
    os.mkdir(os.path.join(tmp, "k"))
    subprocess.run([GEN, "keygen", os.path.join(tmp, "k")], check=True)
    with open(os.path.join(tmp, "conf"), "w") as f:
        f.write("")
    os.chmod(os.path.join(tmp, "conf"), 0o600)
    gen(tmp, "seek.tgr", "out 0 A\nout 10000000 B\nout %d C\nseal %d {}\n" % (HOUR, HOUR + 1))
    gen(tmp, "step.tgr", "out 0 A\nout %d B\nout %d C\nseal %d {}\n" % (HOUR, 2 * HOUR, 2 * HOUR + 1))

    # exact seeks: from 12 s, back 5 s shows only A again (B is at 10 s), forward 5 s shows B
    p = Play(["play", "--from", "12", "seek.tgr"], tmp)
    p.expect(b"AB")
    raw_mode_reached(p)
    p.send(b"\x1b[D")
    p.expect(b"AB\x1bcA")
    p.settle()
    if not p.buf.endswith(b"AB\x1bcA"):
        fail("backward seek rendered more than the past: %r" % p.buf)
    p.send(b"\x1b[C")
    p.expect(b"AB\x1bcAB")
    p.send(b"q")
    st = p.wait()
    if not os.WIFEXITED(st) or os.WEXITSTATUS(st) != 0:
        fail("q: status %r" % st)
    if RESTORE not in p.buf:
        fail("q: terminal modes not reset: %r" % p.buf)
    if not p.lflag() & termios.ECHO:
        fail("q: echo not restored")
    p.close()

    # output a cap kept out, said at the end: once, however often a seek back read it again
    gen(tmp, "drop.tgr", "out 0 A\ndropped 5000000 out 50\nout 10000000 B\nout %d C\nseal %d {}\n"
        % (HOUR, HOUR + 1))
    p = Play(["play", "--from", "12", "drop.tgr"], tmp)
    p.expect(b"AB")
    raw_mode_reached(p)
    p.send(b"\x1b[D")
    p.expect(b"AB\x1bcA")
    p.send(b"q")
    p.wait()
    p.settle()
    if b"50 bytes of output were passed on but not stored" not in p.buf:
        fail("play after a seek back: the output not stored not said once: %r" % p.buf[-300:])
    p.close()

    # cat to a terminal ended by ^C (here while its output waits for the terminal): the
    # terminal is given back all the same, and the title it pushed popped
    gen(tmp, "big.tgr", "".join("out %d %s\n" % (i, "x" * 2000) for i in range(150))
        + "seal 1000 {}\n")
    p = Play(["cat", "big.tgr"], tmp)
    p.expect(b"xxxx")
    os.kill(p.pid, signal.SIGINT)
    st = p.wait()
    if not os.WIFSIGNALED(st) or os.WTERMSIG(st) != signal.SIGINT:
        fail("cat ^C: status %r" % st)
    if not p.buf.rstrip(b"\r\n").endswith(RESTORE) or b"\x1b[23;0t" not in p.buf:
        fail("cat ^C did not give the terminal back: %r" % p.buf[-200:])
    p.close()

    # pause, then step one event at a time (the next ones are hours away)
    p = Play(["play", "step.tgr"], tmp)
    p.expect(b"A")
    raw_mode_reached(p)
    p.send(b" ")
    p.send(b".")
    p.expect(b"AB")
    p.send(b".")
    p.expect(b"ABC")
    st = p.wait()
    if not os.WIFEXITED(st) or os.WEXITSTATUS(st) != 0:
        fail("step: status %r" % st)
    p.close()

    # time stands still while paused: a pause longer than what was left of the wait (the
    # idle limit's 5 s, room for a loaded machine to take the pause key before B is due)
    # does not count as waited, so on resuming B is not due at once (space space: resume,
    # then pause again before B is due)
    p = Play(["play", "--idle-limit", "5", "step.tgr"], tmp)
    p.expect(b"A")
    raw_mode_reached(p)
    p.send(b" ")
    time.sleep(6)
    p.send(b"  ")
    p.settle(1)
    if b"B" in p.buf:
        fail("the time paused counted as waited: %r" % p.buf)
    p.send(b"q")
    st = p.wait()
    if not os.WIFEXITED(st) or os.WEXITSTATUS(st) != 0:
        fail("pause: status %r" % st)
    p.close()

    # several keys in one read, up/down arrows: a minute each way
    p = Play(["play", "--from", "30", "seek.tgr"], tmp)
    p.expect(b"AB")
    raw_mode_reached(p)
    p.send(b"\x1b[B\x1b[Aq")
    st = p.wait()
    if b"AB\x1bcAB" not in p.buf or not os.WIFEXITED(st):
        fail("down/up/q in one read: %r %r" % (p.buf, st))
    p.close()

    # ^Z (SIGTSTP): the terminal is given back (modes reset), and on resuming
    # the screen is drawn again from the start. (Under this test's pty the
    # process group is orphaned, so the kernel does not really stop it.)
    p = Play(["play", "--from", "12", "seek.tgr"], tmp)
    p.expect(b"AB")
    raw_mode_reached(p)
    os.kill(p.pid, signal.SIGTSTP)
    p.expect(RESTORE)
    os.kill(p.pid, signal.SIGCONT)  # (a SIGCONT sent with it would discard the SIGTSTP)
    p.expect(b"\x1bcAB")
    raw_mode_reached(p)
    p.send(b"q")
    st = p.wait()
    if not os.WIFEXITED(st) or os.WEXITSTATUS(st) != 0:
        fail("after ^Z: status %r" % st)
    p.close()

    # SIGTERM: the terminal comes back, then play dies of the signal
    p = Play(["play", "seek.tgr"], tmp)
    p.expect(b"A")
    raw_mode_reached(p)
    os.kill(p.pid, signal.SIGTERM)
    st = p.wait()
    if not os.WIFSIGNALED(st) or os.WTERMSIG(st) != signal.SIGTERM:
        fail("SIGTERM: status %r" % st)
    if RESTORE not in p.buf or not p.lflag() & termios.ECHO:
        fail("SIGTERM: terminal not restored: %r" % p.buf)
    p.close()

    # paused, then the keyboard goes away without a hangup signal (a terminal
    # that is not play's controlling one): play must go on to the end, not spin
    gen(tmp, "short.tgr", "out 0 A\nout 1000000 B\nseal 1500000 {}\n")
    master, slave = pty.openpty()
    q = subprocess.Popen([REPLAY, "-c", "conf", "--key", "k/signing.pub", "play", "short.tgr"],
                         cwd=tmp, stdin=slave, stdout=slave, stderr=slave)
    STARTED.append(q.pid)
    os.close(slave)
    seen = b""
    end = time.time() + 20
    while b"A" not in seen and time.time() < end:
        if select.select([master], [], [], 0.2)[0]:
            seen += os.read(master, 4096)
    if b"A" not in seen:
        fail("keyboard gone: play showed nothing: %r" % seen)
    os.write(master, b" ")  # pause
    time.sleep(0.3)
    os.close(master)
    try:
        q.wait(timeout=20)
    except subprocess.TimeoutExpired:
        fail("keyboard gone while paused: play did not end")

    # the keyboard goes away while paused: the time paused is not counted as waited
    # either (B is due 40 s after A, 5 s at x8; paused 6 s, 48 s counted, would show
    # it at once). Output goes to a pipe, which closing the keyboard leaves open.
    master, slave = pty.openpty()
    q = subprocess.Popen([REPLAY, "-c", "conf", "--key", "k/signing.pub", "play", "--speed",
                          "8", "--idle-limit", "40", "step.tgr"],
                         cwd=tmp, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    STARTED.append(q.pid)
    os.close(slave)
    seen = b""
    end = time.time() + 20
    while b"A" not in seen and time.time() < end:
        if select.select([q.stdout], [], [], 0.2)[0]:
            seen += os.read(q.stdout.fileno(), 4096)
    if b"A" not in seen:
        fail("keyboard gone: play showed nothing: %r" % seen)
    shown = time.time()
    end = time.time() + 20
    while termios.tcgetattr(master)[3] & (termios.ECHO | termios.ICANON):
        if time.time() > end:
            fail("terminal never left canonical mode")
        time.sleep(0.02)
    os.write(master, b" ")  # pause
    before_pause = time.time() - shown
    time.sleep(6)
    os.close(master)
    # Not counting the pause, B is due 5 s of play after A, of which before_pause
    # went by before it: watch until then (less a margin for the pty's latency), so
    # that a machine slow to reach the pause cannot make B look early.
    watch = 5 - before_pause - 0.5
    if watch < 0.3:
        fail("keyboard gone while paused: %.2f s from A to the pause leaves nothing to "
             "watch" % before_pause)
    end = time.time() + watch
    while time.time() < end:
        if select.select([q.stdout], [], [], 0.05)[0]:
            seen += os.read(q.stdout.fileno(), 4096)
    if b"B" in seen:
        fail("keyboard gone while paused: the time paused counted as waited: %r" % seen)
    q.kill()
    q.wait()
    q.stdout.close()

    # tampered: refused; with --force, played under a banner
    gen(tmp, "t.tgr", "out 0 ALPHA\nout 10000000 BRAVO\nout %d C\nseal %d {}\n" % (HOUR, HOUR + 1))
    data = bytearray(open(os.path.join(tmp, "t.tgr"), "rb").read())
    i = data.index(b"BRAVO")
    data[i + 1] = ord("X")
    open(os.path.join(tmp, "bad.tgr"), "wb").write(bytes(data))
    p = Play(["play", "bad.tgr"], tmp)
    st = p.wait()
    if not os.WIFEXITED(st) or os.WEXITSTATUS(st) != 1 or b"refused" not in p.buf:
        fail("tampered: %r %r" % (st, p.buf))
    p.close()
    p = Play(["play", "--force", "--from", "11", "bad.tgr"], tmp)
    p.expect(b"NOT VERIFIED")
    p.expect(b"ALPHABXAVO")
    raw_mode_reached(p)
    # a backward seek resets the terminal, the banner with it: it is shown again, before
    # what is drawn again
    p.send(b"\x1b[D")
    p.expect(b"\x1bc")
    p.settle()
    after = p.buf.split(b"\x1bc")[-1]
    if b"NOT VERIFIED" not in after or after.index(b"NOT VERIFIED") > after.find(b"ALPHA"):
        fail("tampered --force: the banner is gone after a backward seek: %r" % after)
    p.send(b"q")
    st = p.wait()
    if not os.WIFEXITED(st) or os.WEXITSTATUS(st) != 1:
        fail("tampered --force: status %r" % st)
    p.close()

    # the file rewritten in place while it plays (dd conv=notrunc): play shows the
    # private copy it verified, so the genuine end, sealed. Here everything past a
    # checkpoint gives way to an unsigned record; play reads ahead about 2 MiB, so
    # the rewrite lies 3 MiB past the pause.
    fill = "".join("out %d %s\\r\\n\n" % (2000000 + i, "x" * 4000) for i in range(800))
    gen(tmp, "swap.tgr", "out 0 ALPHA\nout 2000000 BRAVO\n" + fill +
        "checkpoint 2001000\nout 2002000 GENUINE\nseal 2003000 {}\n")
    path = os.path.join(tmp, "swap.tgr")
    data = open(path, "rb").read()
    cut = data.index(b"GENUINE") - 4  # type, dt (2 bytes: 1000), length: the record's start
    forged = b"\x01\x00\x06FORGED"
    p = Play(["play", "swap.tgr"], tmp)
    p.expect(b"ALPHA")
    with open(path, "r+b") as f:
        f.seek(cut)
        f.write(forged)
        f.truncate()
    st = p.wait()
    if not os.WIFEXITED(st) or os.WEXITSTATUS(st) != 0 or b"GENUINE" not in p.buf or \
            b"FORGED" in p.buf or b"changed while" in p.buf:
        fail("rewritten while playing: status %r, %r" % (st, p.buf[-400:]))
    if b"FORGED" not in open(path, "rb").read():
        fail("rewritten while playing: the file was not rewritten")
    p.close()

    # the recorded user chose the bytes: a clipboard write (OSC 52) and a cursor position
    # query (its answer would be typed into the investigator's shell), cut across records,
    # do not reach the terminal, and stderr says what was withheld; --raw passes them
    gen(tmp, "evil.tgr", "out 0 before\\e]52;c;ZWNobyBwd25lZA\n"
        "out 1000 ==\\x07mid\\e[\nout 2000 6nafter\\r\\n\nseal 3000 {}\n")
    for cmd in (["play"], ["cat"]):
        p = Play(cmd + ["evil.tgr"], tmp)
        st = p.wait()
        if not os.WIFEXITED(st) or os.WEXITSTATUS(st) != 0:
            fail("%s of escapes: status %r %r" % (cmd[0], st, p.buf))
        if b"beforemid" not in p.buf or b"after" not in p.buf:
            fail("%s of escapes: the text is not shown: %r" % (cmd[0], p.buf))
        if b"\x1b]52" in p.buf or b"ZWNo" in p.buf or b"\x1b[6n" in p.buf or b"6n" in p.buf:
            fail("%s: an escape of the recording reached the terminal: %r" % (cmd[0], p.buf))
        if (b"withheld from the terminal" not in p.buf or
                b"1 terminal query, 1 clipboard write (OSC 52)" not in p.buf or
                b"--raw passes them" not in p.buf):
            fail("%s: stderr does not say what was withheld: %r" % (cmd[0], p.buf))
        p.close()
        p = Play(cmd + ["--raw", "evil.tgr"], tmp)
        st = p.wait()
        if not os.WIFEXITED(st) or os.WEXITSTATUS(st) != 0:
            fail("%s --raw: status %r %r" % (cmd[0], st, p.buf))
        if (b"before\x1b]52;c;ZWNobyBwd25lZA==\x07mid\x1b[6nafter" not in p.buf or
                b"withheld" in p.buf):
            fail("%s --raw: not the recorded bytes: %r" % (cmd[0], p.buf))
        p.close()

    # a recording cut while it had the terminal in insert mode, on the alternate screen, in
    # reverse video, with a scroll region, the line-drawing set, origin mode, reverse
    # wraparound, no autorepeat, in a synchronized update: play and cat give the
    # terminal back as it was, after the recorded bytes (not only on q or a signal)
    # ... and a cursor style, a blinking cursor, smooth scroll, no tab stops, a title of its
    # own: the cursor's default back, jump scroll, a tab stop every 8 columns, and the title
    # pushed before the recording popped after it
    gen(tmp, "modes.tgr", "out 0 x\\e[4h\\e[?1049h\\e[?5h\\e[5;10r\\e(0\\x0e\\e[20h"
        "\\e[?6h\\e[?45h\\e[?8l\\e[?2026h\\e[5 q\\e[?12h\\e[?4h\\e[3g\\e]2;root@prod\\x07y\n"
        "seal 1000 {}\n")
    restore = (b"\x1b[?2026l\x1b[?1049l\x1b7\x1b[r\x1b8\x1b[?6l\x1b[0m\x1b[4l\x1b[20l\x1b[?5l"
               b"\x1b[?7h\x1b[?45l\x1b[?8h\x1b(B\x0f\x1b[?25h"
               b"\x1b[0 q\x1b[?12l\x1b[?4l\x1b[?5W\x1b[23;0t")
    for cmd in (["play"], ["cat"], ["cat", "--raw"]):
        p = Play(cmd + ["modes.tgr"], tmp)
        st = p.wait()
        if not os.WIFEXITED(st) or os.WEXITSTATUS(st) != 0:
            fail("%s of terminal modes: status %r %r" % (" ".join(cmd), st, p.buf))
        at = p.buf.find(b"y")
        if at < 0 or p.buf.find(restore, at) < 0 or p.buf.find(RESTORE, at) < 0:
            fail("%s left the terminal in the recording's modes: %r" % (" ".join(cmd), p.buf))
        title = p.buf.find(b"\x1b]2;root@prod")
        if title < 0 or not 0 <= p.buf.find(b"\x1b[22;0t") < title:
            fail("%s did not push the title before the recording's: %r" % (" ".join(cmd), p.buf))
        p.close()

    # to a terminal in an 8-bit locale (LC_ALL=C: an xterm started there reads bytes, not
    # UTF-8), U+00DB is C3 9B and 9B is CSI: "\u00db6n" would be a cursor position query,
    # "\u00dd52;c;...BEL" (C3 9D) a clipboard write. No byte 0x80..0x9f reaches it: each
    # character is written in the locale's charset, here '?', and stderr says how many and
    # that a UTF-8 locale shows them. A UTF-8 terminal (LC_ALL=C.UTF-8) gets them as they were.
    gen(tmp, "latin.tgr", "out 0 a\\xc3\\x9b6nb\\xc3\\x9d52;c;ZWNobw==\\x07c\\r\\n\n"
        "seal 1000 {}\n")
    c_env = dict(os.environ, LC_ALL="C")
    utf8_env = dict(os.environ, LC_ALL="C.UTF-8")
    for cmd in (["play", "latin.tgr"], ["cat", "latin.tgr"], ["search", "6nb", "latin.tgr"]):
        p = Play(cmd, tmp, c_env)
        st = p.wait()
        if not os.WIFEXITED(st) or os.WEXITSTATUS(st) != 0:
            fail("%s, LC_ALL=C: status %r %r" % (cmd[0], st, p.buf))
        if any(0x80 <= b <= 0x9f for b in p.buf):
            fail("%s, LC_ALL=C: a C1 byte reached the 8-bit terminal: %r" % (cmd[0], p.buf))
        if b"a?6nb?52;c;ZWNobw==" not in p.buf:
            fail("%s, LC_ALL=C: not each character as '?': %r" % (cmd[0], p.buf))
        if (b"2 characters written as '?'" not in p.buf or b"LANG=C.UTF-8" not in p.buf or
                b"ANSI_X3.4-1968" not in p.buf):
            fail("%s, LC_ALL=C: stderr does not say what was written as '?': %r" %
                 (cmd[0], p.buf))
        p.close()
        p = Play(cmd, tmp, utf8_env)
        st = p.wait()
        if not os.WIFEXITED(st) or os.WEXITSTATUS(st) != 0:
            fail("%s, LC_ALL=C.UTF-8: status %r %r" % (cmd[0], st, p.buf))
        if b"a\xc3\x9b6nb\xc3\x9d52;c;ZWNobw==" not in p.buf or b"'?'" in p.buf:
            fail("%s, LC_ALL=C.UTF-8: not as recorded: %r" % (cmd[0], p.buf))
        p.close()

    # what the recording's header says (the command, the user, chosen by the recorded user) is
    # written to the terminal by info, info --json and list, and by the warnings on stderr:
    # to an 8-bit terminal a character is written as an escape (\u00db), never as its UTF-8
    # bytes; to a UTF-8 one as it is
    gen(tmp, "cmd8.tgr", "out 0 x\r\n\nseal 1000 {}\n",
        ["command=echo \u00db6n \u00dd52;c;ZWNobw==\x07", "mode=command"])
    for cmd in (["info", "cmd8.tgr"], ["info", "--json", "cmd8.tgr"], ["list", "."],
                ["verify", "cmd8.tgr"]):
        p = Play(cmd, tmp, c_env)
        p.wait()
        if any(0x80 <= b <= 0x9f for b in p.buf):
            fail("%s, LC_ALL=C: a C1 byte reached the 8-bit terminal: %r" % (" ".join(cmd), p.buf))
        if cmd[0] == "info" and b"\\u00db6n" not in p.buf.lower():
            fail("%s, LC_ALL=C: the command's U+00DB not shown as \\u00db: %r" %
                 (" ".join(cmd), p.buf))
        p.close()
    p = Play(["info", "cmd8.tgr"], tmp, utf8_env)
    p.wait()
    if b"echo \xc3\x9b6n" not in p.buf:
        fail("info, LC_ALL=C.UTF-8: the command not shown as it is: %r" % p.buf)
    p.close()

    # what the terminal typed while the recording was shown (the answer to a query: with
    # --raw it is sent; here typed ahead) is discarded at the end, not left for the shell
    # to read as a command
    for cmd in (["play"], ["cat"], ["play", "--raw"], ["cat", "--raw"]):
        master, slave = pty.openpty()
        os.write(master, b"echo pwned\n")
        q = subprocess.Popen([REPLAY, "-c", "conf", "--key", "k/signing.pub"] + cmd +
                             ["evil.tgr"], cwd=tmp, stdin=subprocess.DEVNULL, stdout=slave,
                             stderr=slave)
        STARTED.append(q.pid)
        end = time.time() + 20
        while q.poll() is None and time.time() < end:
            if select.select([master], [], [], 0.1)[0]:
                os.read(master, 4096)
        if q.poll() != 0:
            fail("%s with input pending: status %r" % (" ".join(cmd), q.poll()))
        if select.select([slave], [], [], 0.2)[0]:
            fail("%s: input typed meanwhile is left for the shell: %r" %
                 (" ".join(cmd), os.read(slave, 100)))
        os.close(master)
        os.close(slave)


if __name__ == "__main__":
    main()
