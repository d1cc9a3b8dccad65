#!/usr/bin/env python3
"""tollgate-record interactive: under a real pseudo-terminal, the shell's output
is recorded and verifies, window-size changes are passed on and recorded, the
exit status and a deadly signal come back, what is typed at bash's prompt is
stored while input at password prompts never is, and the header binds who,
from where, which session."""
import fcntl
import os
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from recorder_lib import (KEYGEN, RECORDER, REPLAY, Env, Failed, PtySession, Recording, check,  # noqa: E402
                          check_jobs_ended, check_terminal_restored, deny_setresuid, flood_until_ended,
                          gone, kill_quietly, main, run_on_own_pty, skip, start_jobs, traceme_command)

PAM_ID = "0123456789ABCDEF0123456789abcdef"
TIOCGEXCL = 0x80045440  # _IOR('T', 0x40, int)


def test_shell_output_resize_exit():
    env = Env(shell="/bin/sh")
    try:
        s = PtySession(env, environ=env.environ(TOLLGATE_SESSION_ID=PAM_ID), cols=80, rows=24)
        s.sync()
        s.send(b"stty size; echo out-$((6*7))\n")
        s.read_until(b"out-42")
        s.read_until(b"24 80")
        s.resize(132, 50)
        os.kill(s.pid, signal.SIGWINCH)  # the pty driver tells only the foreground group
        s.send(b"sleep 0.2; stty size\n")
        s.read_until(b"50 132")
        s.send(b"exit 7\n")
        st = s.wait()
        check(os.WIFEXITED(st) and os.WEXITSTATUS(st) == 7, "exit status 7 passed through")
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok(), "sealed, intact, certified by the host key")
        h = rec.header
        check(h["mode"] == "interactive" and h["term"] == "xterm", "header: interactive on xterm")
        check(h["cols"] == 80 and h["rows"] == 24, "header: the starting window size")
        check(h["client_addr"] == "192.0.2.7" and h["client_port"] == 50022, "header: client from SSH_CONNECTION")
        check(h["pam_session_id"] == PAM_ID.lower(), "header: the PAM session id, validated")
        check(h["uid"] == os.getuid(), "header: the real uid")
        out = rec.data("out")
        check(b"out-42" in out and b"50 132" in out, "the output is in the recording")
        rs = rec.of("resize")
        check(any(r["cols"] == 132 and r["rows"] == 50 for r in rs), "the resize is recorded")
        end = rec.end()
        check(end["exit_status"] == 7 and end["reason"] == "exit", "END holds the exit status")
        check(end["bytes"]["out"] == len(out) and end["stored"]["out"] == len(out), "END byte counts match")
        check(not rec.of("in") and not rec.of("in-hidden"), "input not recorded by default")
        # so replay's cat --input shows nothing: it must say why, with the recorder's count
        r = subprocess.run([REPLAY, "-c", env.conf, "cat", "--input", env.only_session()],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        said = b"holds no typed input: its END record counts %d bytes typed" % end["bytes"]["in"]
        check(r.returncode == 0 and r.stdout == b"" and end["bytes"]["in"] > 0 and said in r.stderr,
              "cat --input says the typed input was only counted: %r" % r.stderr)
        check(rec.of("checkpoint")[0]["index"] == 2, "a checkpoint right after the header")
    finally:
        env.cleanup()


def test_resize_in_pixels_passed_on():
    """A change of the window's size in pixels alone reaches the shell's terminal (image
    protocols such as sixel draw by it); the recording keeps columns and rows only."""
    env = Env(shell="/bin/sh")
    try:
        s = PtySession(env, cols=80, rows=24)
        s.sync()
        s.resize(80, 24, 800, 480)
        os.kill(s.pid, signal.SIGWINCH)
        s.send(b"sleep 0.2; python3 -c 'import fcntl, struct, termios; "
               b"r, c, x, y = struct.unpack(\"HHHH\", fcntl.ioctl(0, termios.TIOCGWINSZ, bytes(8))); "
               b"print(\"px\", x, y, \"cells\", c, r)'\n")
        s.read_until(b"px 800 480 cells 80 24")
        s.send(b"exit\n")
        s.wait()
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok(), "sealed and intact")
        check(not rec.of("resize"), "a change in pixels alone records no resize")
    finally:
        env.cleanup()


def test_resize_before_relay_recorded():
    """A resize after the header took the window's size and before the relay catches SIGWINCH
    (a window manager tiling the new terminal at once) reaches the shell's terminal, and so must
    reach the recording: without it the replay draws the session in the wrong size. strace holds
    the recorder in that gap (the signing key's open) while the window changes."""
    if shutil.which("strace") is None:
        print("(skipped: strace not installed)")
        return
    env = Env(shell="/bin/sh")
    try:
        s = PtySession(env, argv=["strace", "-f", "-o", "/dev/null", "-e", "trace=openat", "-P", env.key,
                                  "-e", "inject=openat:delay_enter=3000000", RECORDER], cols=80, rows=24)

        def in_key_open(pid):
            try:
                f = open("/proc/%d/syscall" % pid).read().split()
                if f[0] != "257":
                    return False
                with open("/proc/%d/mem" % pid, "rb") as m:
                    m.seek(int(f[2], 16))
                    return m.read(len(env.key) + 1) == env.key.encode() + b"\0"
            except (OSError, IndexError, ValueError):
                return False

        rec_pid, end = None, time.monotonic() + 60
        while rec_pid is None and time.monotonic() < end:
            kids = open("/proc/%d/task/%d/children" % (s.pid, s.pid)).read().split()
            if kids and in_key_open(int(kids[0])):
                rec_pid = int(kids[0])
            time.sleep(0.01)
        check(rec_pid is not None, "the recorder opens its signing key")
        s.resize(132, 50)
        if not in_key_open(rec_pid):
            print("(skipped: the resize came too late for the gap)")
            s.send(b"exit\n")
            s.wait()
            return
        s.sync()
        s.send(b"stty size; exit\n")
        s.read_until(b"50 132")
        s.wait()
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok(), "sealed and intact")
        check(rec.header["cols"] == 80 and rec.header["rows"] == 24, "the header has the size at the start")
        rs = rec.of("resize")
        check(rs and rs[0]["cols"] == 132 and rs[0]["rows"] == 50,
              "the new size, which the shell's terminal got, is recorded (%s)" % rs)
    finally:
        env.cleanup()


def test_bad_pam_id_ignored():
    env = Env(shell="/bin/sh")
    try:
        s = PtySession(env, environ=env.environ(TOLLGATE_SESSION_ID="../../etc/passwd"))
        s.sync()
        s.send(b"echo id=$TOLLGATE_SESSION_ID.; exit\n")
        s.read_until(b"id=.")
        s.wait()
        rec = Recording(env.pub, env.only_session())
        check(rec.header["pam_session_id"] == "", "an invalid TOLLGATE_SESSION_ID is dropped")
    finally:
        env.cleanup()


def test_signal_death_passed():
    env = Env(shell="/bin/sh")
    try:
        s = PtySession(env, argv=[RECORDER, "-c", "echo dying; kill -TERM $$"])
        st = s.wait()
        check(os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGTERM, "the shell's death by SIGTERM is passed on")
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.end()["signal"] == signal.SIGTERM, "END records the signal")
    finally:
        env.cleanup()


def test_traceme_shell_goes_on():
    """A shell that makes the recorder its tracer (PTRACE_TRACEME) stopped for it at its next
    signal, and the recorder took the stop for its end: the session ended with a made-up status.
    It is let go, untraced, with its signal, and the session runs to its real end."""
    env = Env(shell="/bin/sh")
    try:
        s = PtySession(env, argv=[RECORDER, "-c", traceme_command(env)])
        st = s.wait(timeout=60)
        if b"traceme-refused" in s.out:
            print("(skipped: PTRACE_TRACEME refused here, a Yama ptrace_scope of 3)")
            return
        check(os.WIFEXITED(st) and os.WEXITSTATUS(st) == 7 and b"got-usr1\r\nafter-exec\r\n" in s.out,
              "the shell ran to its end (%r %r)" % (st, s.out[-200:]))
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.end()["exit_status"] == 7, "END records its exit status (%r)" % rec.end())
    finally:
        env.cleanup()


def test_echo_off_input_never_stored():
    env = Env(shell="/bin/sh", record_input="yes")
    try:
        s = PtySession(env, environ=env.environ())
        s.sync()
        s.send(b"echo visible-typing\n")
        s.read_until(b"visible-typing\r\n")
        s.send(b"stty -echo; echo PRO''MPT; read pw; stty echo; echo len=${#pw}\n")
        s.read_until(b"PROMPT\r\n")
        s.send(b"hunter2-secret\n")
        s.read_until(b"len=14")
        s.send(b"exit\n")
        s.wait()
        path = env.only_session()
        rec = Recording(env.pub, path)
        check(rec.sealed_ok(), "sealed and intact")
        typed = rec.data("in")
        check(b"echo visible-typing" in typed, "input typed with echo on is recorded")
        hidden = sum(r["hidden"] for r in rec.of("in-hidden"))
        check(hidden >= len(b"hunter2-secret\n"), "echo-off input is counted (%d bytes)" % hidden)
        with open(path, "rb") as f:
            raw = f.read()
        check(b"hunter2" not in raw, "the echo-off input is nowhere in the file")
    finally:
        env.cleanup()


def bash_ready(s):
    """Wait until bash reads the next line in readline: it shows its prompt after putting the
    terminal in its own mode, while input sent earlier arrives with the terminal still cooked."""
    if not getattr(s, "ps1", False):
        s.send(b"PS1='rl-''ready> '\n")
        s.ps1 = True
    s.sync()
    s.read_until(b"rl-ready> ", since=s.out.rindex(b"SYNC%d\r\n" % s.n))


def test_bash_typing_recorded():
    """bash's readline turns ECHO and ICANON off and echoes by itself: what is typed at its
    prompt is input to store, not a password."""
    env = Env(shell="/bin/bash", record_input="yes")
    try:
        s = PtySession(env, environ=env.environ())
        bash_ready(s)
        s.send(b"echo hello-''typed\n")
        s.read_until(b"hello-typed\r\n")
        s.send(b"exit\n")
        s.wait()
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok(), "sealed and intact")
        check(b"echo hello-''typed" in rec.data("in"), "a command typed at bash's prompt is in IN")
        check(not rec.of("in-hidden"), "nothing typed at bash's prompt is hidden")
    finally:
        env.cleanup()


def check_secret_hidden(env, secret, hidden_expected):
    path = env.only_session()
    rec = Recording(env.pub, path)
    check(rec.sealed_ok(), "sealed and intact")
    with open(path, "rb") as f:
        raw = f.read()
    check(secret not in raw, "the secret is nowhere in the file")
    hidden = sum(r["hidden"] for r in rec.of("in-hidden"))
    allowed = hidden_expected if isinstance(hidden_expected, tuple) else (hidden_expected,)
    check(hidden in allowed, "IN_HIDDEN counts %d bytes (%s expected)" % (hidden, " or ".join(map(str, allowed))))
    return rec


def test_canonical_echo_off_hidden():
    """getpass() reads with ECHO off in canonical mode: hidden whatever the prompt says."""
    env = Env(shell="/bin/bash", record_input="yes")
    try:
        s = PtySession(env, environ=env.environ())
        bash_ready(s)
        # getpass turns echo off (TCSAFLUSH) before it writes the prompt; the prompt names no secret
        s.send(b"python3 -c 'import getpass; x = getpass.getpass(\"Q\" + \"> \"); print(\"len=%d\" % len(x))'\n")
        s.read_until(b"Q> ")
        s.send(b"canon-s3cret-42\n")
        s.read_until(b"len=15")
        bash_ready(s)
        s.send(b"echo after-''getpass\n")
        s.read_until(b"after-getpass\r\n")
        s.send(b"exit\n")
        s.wait()
        rec = check_secret_hidden(env, b"canon-s3cret", len(b"canon-s3cret-42\n"))
        check(b"echo after-''getpass" in rec.data("in"), "the next command is stored again")
    finally:
        env.cleanup()


RAW_PROMPT = r"""
import os, sys, termios, tty
old = termios.tcgetattr(0)
tty.setraw(0)  # ECHO and ICANON off, as pinentry-curses or vim's :X have it
def line():
    b = b""
    while True:
        c = os.read(0, 1)
        if c in (b"\r", b"\n"):
            return b
        b += c
try:
    os.write(1, b"Enter Passphrase: ")
    secret = line()
    os.write(1, b"*")  # no new line: the prompt is still the last line
    after = line()
finally:
    termios.tcsetattr(0, termios.TCSADRAIN, old)
print("\ngot %d,%d" % (len(secret), len(after)))
"""


def prompt_session(env, name, text):
    """The program text saved as name in the test's folder, and a pty session to run it in."""
    prog = os.path.join(env.dir, name)
    with open(prog, "w") as f:
        f.write(text)
    return prog, PtySession(env, environ=env.environ())


def wait_raw(flag):
    """Until the prompt program made flag: it turned raw (at most 20 s)."""
    end = time.time() + 20
    while not os.path.exists(flag):
        if time.time() > end:
            check(False, "the program turned raw within 20 s")
        time.sleep(0.01)


def test_raw_mode_secret_prompt_hidden():
    """A prompt read in raw mode: hidden up to the Enter because the last line of output names a
    passphrase; raw input after the Enter is stored again."""
    env = Env(shell="/bin/bash", record_input="yes")
    try:
        prog, s = prompt_session(env, "rawprompt.py", RAW_PROMPT)
        bash_ready(s)
        s.send(b"python3 %s\n" % prog.encode())
        s.read_until(b"Enter Passphrase: ")
        s.send(b"raw-s3cret-77\r")
        s.read_until(b"Passphrase: *")
        s.send(b"raw-after-enter\r")
        s.read_until(b"got 13,15")
        s.send(b"exit\n")
        s.wait()
        rec = check_secret_hidden(env, b"raw-s3cret", len(b"raw-s3cret-77\r"))
        check(b"raw-after-enter\r" in rec.data("in"), "raw input after the Enter is stored")
    finally:
        env.cleanup()


# The end of the raw-mode prompt programs below: read a line byte by byte (no echo: raw mode),
# put the terminal back, say how long it was.
READ_LINE_RAW = r"""
    b = b""
    while True:
        c = os.read(0, 1)
        if c in (b"\r", b"\n"):
            break
        b += c
finally:
    termios.tcsetattr(0, termios.TCSADRAIN, old)
print("\ngot %d" % len(b))
"""


LINE_PROMPT = r"""
import os, sys, termios, time, tty
os.write(1, b"Enter your PIN:\n")  # the line ended, then raw mode: whenever the recorder reads it
time.sleep(float(sys.argv[1]))
old = termios.tcgetattr(0)
tty.setraw(0)
try:
    open(sys.argv[2], "w").close()  # the test waits for this: raw now, with no output after the prompt
""" + READ_LINE_RAW


def test_prompt_line_ended_before_raw_hidden():
    """A prompt and its line end, then raw mode with echo off (bash's read -rs -n, tty.setraw):
    hidden whether the recorder read the prompt before or after the mode changed."""
    env = Env(shell="/bin/bash", record_input="yes")
    try:
        prog, s = prompt_session(env, "lineprompt.py", LINE_PROMPT)
        delays = ("0", "0.05", "0", "0.05")
        for i, delay in enumerate(delays):
            bash_ready(s)
            mark = len(s.out)
            flag = os.path.join(env.dir, "raw%d" % i)
            s.send(b"python3 %s %s %s\n" % (prog.encode(), delay.encode(), flag.encode()))
            s.read_until(b"Enter your PIN:\r\n", since=mark)
            wait_raw(flag)
            s.send(b"line-pin-%d\r" % i)
            s.read_until(b"got 10", since=mark)
        bash_ready(s)
        s.send(b"exit\n")
        s.wait()
        check_secret_hidden(env, b"line-pin-", len(delays) * len(b"line-pin-0\r"))
    finally:
        env.cleanup()


STAR_PROMPT = r"""
import os, sys, termios, time, tty
os.write(1, b"Enter your PIN:\n")
time.sleep(0.1)  # the recorder reads the prompt and its line end before the mode changes
old = termios.tcgetattr(0)
tty.setraw(0)
try:
    open(sys.argv[1], "w").close()
""" + READ_LINE_RAW.replace("b += c\n", "b += c\n        os.write(1, b\"*\")  # a star for each key\n")


def test_prompt_line_ended_stars_hidden():
    """The prompt's line ended before raw mode, and the program draws a star for each key typed:
    every key is hidden up to the Enter, not the first alone."""
    env = Env(shell="/bin/bash", record_input="yes")
    try:
        prog, s = prompt_session(env, "starprompt.py", STAR_PROMPT)
        bash_ready(s)
        mark = len(s.out)
        flag = os.path.join(env.dir, "raw")
        s.send(b"python3 %s %s\n" % (prog.encode(), flag.encode()))
        s.read_until(b"Enter your PIN:\r\n", since=mark)
        wait_raw(flag)
        secret = b"star-pin-9"
        for k in range(len(secret)):
            s.send(secret[k:k + 1])
            s.read_until(b"*" * (k + 1), since=mark)
        s.send(b"\r")
        s.read_until(b"got 10", since=mark)
        bash_ready(s)
        s.send(b"exit\n")
        s.wait()
        rec = check_secret_hidden(env, b"star-pin", len(b"star-pin-9\r"))
        check(b"tar-pin" not in rec.data("in"), "no key of the PIN is stored")
    finally:
        env.cleanup()


DRAWN_AWAY_PROMPT = r"""
import os, sys, termios, time, tty
old = termios.tcgetattr(0)
tty.setraw(0)
try:
    if sys.argv[1] == "burst":
        # one write: the prompt, then a pane below scrolls (tmux draws both panes at once)
        os.write(1, b"Enter PIN: \x1b7\x1b[14;24r" + b"".join(
            b"\x1b[24;1H\n\x1b[Aline%d\r\n\x1b[K" % i for i in range(5)) + b"\x1b[1;24r\x1b8")
    else:
        os.write(1, b"Enter PIN: ")
    for _ in range(3000):  # until the test saw the prompt (at most 30 s)
        if os.path.exists(sys.argv[2]):
            break
        time.sleep(0.01)
    if sys.argv[1] == "clock":
        # a status line's clock redrawn elsewhere on the screen (tmux, screen): more than the
        # guard's window of output, none of it a new line
        for sec in range(60):
            os.write(1, b"\x1b7\x1b[24;1H\x1b[30m\x1b[42m[0] 0:sh*   host 12:00:%02d\x1b(B\x1b[m\x1b8" % sec)
    elif sys.argv[1] == "pane":
        # a pane below scrolls (tail -f in a tmux split): its lines end in line ends
        for i in range(5):
            os.write(1, b"\x1b[14;24r\x1b[24;1H\n\x1b[Aline%d\r\n\x1b[K\x1b[1;24r\x1b[1;12H" % i)
    os.write(1, b"\x1b[?25h")  # the test waits for this
""" + READ_LINE_RAW


def test_raw_prompt_drawn_away_still_hidden():
    """A secret prompt pushed out of the guard's window by screen drawing (the clock of tmux's
    status line, or another pane's lines, while sudo asks for a password inside tmux; or drawn in
    the same write as another pane's lines) still hides what is typed for it, up to the Enter."""
    env = Env(shell="/bin/bash", record_input="yes")
    s = None
    try:
        prog, s = prompt_session(env, "drawn.py", DRAWN_AWAY_PROMPT)
        for how in ("clock", "pane", "burst"):
            bash_ready(s)
            pos = len(s.out)
            go = os.path.join(env.dir, how)
            s.send(b"python3 %s %s %s\n" % (prog.encode(), how.encode(), go.encode()))
            s.read_until(b"Enter PIN: ", since=pos)
            open(go, "w").close()
            s.read_until(b"\x1b[?25h", since=pos)
            s.send(b"drawn-s3cret-5\r")
            s.read_until(b"got 14", since=pos)
            bash_ready(s)
            s.send(b"echo after-''drawn\n")
            s.read_until(b"after-drawn\r\n", since=pos)
        s.send(b"exit\n")
        s.wait()
        rec = check_secret_hidden(env, b"drawn-s3cret", 3 * len(b"drawn-s3cret-5\r"))
        check(rec.data("in").count(b"echo after-''drawn") == 3, "the next command is stored again")
    finally:
        if s is not None:
            s.kill()
        env.cleanup()


def test_full_screen_secret_prompts():
    """vim's :X and pinentry-curses ask in raw mode, amid screen drawing: hidden up to the Enter."""
    import shutil
    found = [p for p in ("vim", "pinentry-curses") if shutil.which(p)]
    if not found:
        print("(skipped: neither vim nor pinentry-curses is installed)")
        return
    env = Env(shell="/bin/bash", record_input="yes")
    try:
        s = PtySession(env, environ=env.environ())
        expected = 0
        if "vim" in found:
            bash_ready(s)
            s.send(b"vim -u NONE -i NONE -N %s/crypted.txt\n" % env.dir.encode())
            s.read_until(b"crypted.txt")
            s.send(b":X\r")
            s.read_until(b"Enter encryption key: ")
            s.send(b"vim-s3cret\r")
            s.read_until(b"Enter same key again: ")
            s.send(b"vim-s3cret\r")
            expected += 2 * len(b"vim-s3cret\r")
            pos = len(s.out)
            # typed at once after the key, ":q!" may come in the same read as its Enter, and is
            # then hidden with it (typed before vim could draw again)
            s.send(b":q!\r")
            late = len(b":q!\r")
            s.read_until(b"rl-ready> ", since=pos)  # vim flushes input that comes before it is gone
        if "pinentry-curses" in found:
            bash_ready(s)
            pe_out = os.path.join(env.dir, "pinentry.out")
            s.send(b"printf 'GETPIN\\nBYE\\n' | pinentry-curses --ttyname /dev/tty --ttytype xterm"
                   b" --lc-ctype C.UTF-8 >%s\n" % pe_out.encode())
            s.read_until(b"<Cancel>")
            pos = len(s.out)
            s.send(b"pe-s3cret\r")
            s.read_until(b"rl-ready> ", since=pos)
            expected += len(b"pe-s3cret\r")
        bash_ready(s)
        s.send(b"exit\n")
        s.wait()
        if "pinentry-curses" in found:
            with open(pe_out, "rb") as f:
                check(b"D pe-s3cret" in f.read(), "pinentry-curses got the secret")
        rec = check_secret_hidden(env, b"s3cret", (expected, expected + late) if "vim" in found else expected)
        check(b":X\r" in rec.data("in"), "the commands around the prompts are stored")
    finally:
        env.cleanup()


def test_translated_pinentry_hidden():
    """gpg-agent gives pinentry its prompt and text in the user's language: a French one names
    no secret in English ("Phrase secrète :"), and what was typed at it was stored."""
    import shutil
    if not shutil.which("pinentry-curses"):
        print("(skipped: pinentry-curses is not installed)")
        return
    env = Env(shell="/bin/bash", record_input="yes")
    try:
        s = PtySession(env, environ=env.environ())
        bash_ready(s)
        pe_out = os.path.join(env.dir, "pinentry.out")
        script = os.path.join(env.dir, "pinentry.in")
        with open(script, "w", encoding="utf-8") as f:
            f.write("SETDESC Veuillez entrer la phrase secrète pour déverrouiller la clef secrète OpenPGP :\n"
                    "SETPROMPT Phrase secrète :\nSETOK _OK\nSETCANCEL _Annuler\nGETPIN\nBYE\n")
        s.send(b"pinentry-curses --ttyname /dev/tty --ttytype xterm --lc-ctype C.UTF-8 <%s >%s\n"
               % (script.encode(), pe_out.encode()))
        s.read_until(b"Annuler>")
        pos = len(s.out)
        s.send(b"fr-s3cret\r")
        s.read_until(b"rl-ready> ", since=pos)
        bash_ready(s)
        s.send(b"exit\n")
        s.wait()
        with open(pe_out, "rb") as f:
            check(b"D fr-s3cret" in f.read(), "pinentry-curses got the secret")
        check_secret_hidden(env, b"s3cret", len(b"fr-s3cret\r"))
    finally:
        env.cleanup()


TIOCGEXCL = 0x80045440  # _IOR('T', 0x40, int)


def test_outer_terminal_exclusive():
    """The terminal sshd gave cannot be opened again by the user's processes while recorded:
    output written to it would reach the client unrecorded."""
    import fcntl
    import struct
    env = Env(shell="/bin/sh")
    try:
        s = PtySession(env)
        s.sync()
        outer = os.readlink("/proc/%d/fd/0" % s.pid)
        fd = os.open(outer, os.O_RDWR | os.O_NOCTTY)  # the test may: root, or the opener before
        try:
            excl = struct.unpack("i", fcntl.ioctl(fd, TIOCGEXCL, struct.pack("i", 0)))[0]
        finally:
            os.close(fd)
        check(excl == 1, "the outer terminal %s is exclusive (TIOCEXCL) during the session" % outer)
        if os.geteuid() == 0:
            # as the session's user would: owner of the pty, without CAP_SYS_ADMIN
            os.chown(outer, 65534, -1)
            pid = os.fork()
            if pid == 0:
                try:
                    os.setgroups([])
                    os.setgid(65534)
                    os.setuid(65534)
                    os.open(outer, os.O_WRONLY | os.O_NOCTTY)
                    os._exit(0)
                except OSError as e:
                    os._exit(3 if e.errno == 16 else 4)  # 16: EBUSY
            _, st = os.waitpid(pid, 0)
            check(os.WEXITSTATUS(st) == 3, "its owner cannot open it (EBUSY), status %d" % os.WEXITSTATUS(st))
        else:
            print("(skipped the open-as-owner check: needs root to change uid)")
        s.send(b"exit\n")
        s.wait()
    finally:
        env.cleanup()


def test_login_shell_entry():
    env = Env(shell="/bin/sh")
    try:
        # sshd runs a login shell as "-name"; a command as "name -c cmd"
        # the account's shell is the recorder, as in a login-shell deployment
        s = PtySession(env, argv=[RECORDER, "-c", "echo via-login-shell; exit 3"],
                       environ=env.environ(TOLLGATE_RECORD_TEST_ACCOUNT_SHELL=RECORDER))
        st = s.wait()
        check(b"via-login-shell" in s.out and os.WEXITSTATUS(st) == 3, "login shell -c runs the command")
        rec = Recording(env.pub, env.only_session())
        check(rec.header["command"] == "echo via-login-shell; exit 3", "the -c command is in the header")
        check(rec.notes("start")[0]["entry"] == "login_shell", "entry noted as login_shell")
        check(not rec.notes("recording_escape"), "no escape alert for a login shell")
    finally:
        env.cleanup()
    # "su user" (without -) starts the account's shell as "name" alone, in the environment of
    # the session it ran in: an interactive shell for the user, not that session's
    # SSH_ORIGINAL_COMMAND again (su asking for the password over and over), and no escape
    # alert (su - is not one either)
    env = Env(shell="/bin/sh")
    try:
        s = PtySession(env, argv=[RECORDER], environ=env.environ(TOLLGATE_RECORD_TEST_ACCOUNT_SHELL=RECORDER,
                                                                SSH_ORIGINAL_COMMAND="echo outer-command"))
        s.sync()
        s.send(b"exit 4\n")
        st = s.wait()
        check(b"outer-command" not in s.out and os.WEXITSTATUS(st) == 4, "an interactive shell (%r)" % s.out[-200:])
        rec = Recording(env.pub, env.only_session())
        check(rec.header["command"] is None, "no command in the header")
        check(rec.notes("start")[0]["entry"] == "login_shell", "entry noted as login_shell")
        check(not rec.notes("recording_escape") and not env.events(), "no escape alert for su's shell")
    finally:
        env.cleanup()
    # the account's shell is another one: "tollgate-record -c true; exec bash" from a
    # ~/.bashrc must not leave a clean recording for the PAM session behind
    env = Env(shell="/bin/sh")
    try:
        s = PtySession(env, argv=[RECORDER, "-c", "true"],
                       environ=env.environ(TOLLGATE_RECORD_TEST_ACCOUNT_SHELL="/bin/sh"))
        s.wait()
        rec = Recording(env.pub, env.only_session())
        esc = rec.notes("recording_escape")
        check(esc and "not by sshd" in esc[0]["reason"], "an escape alert when the account's shell is not us")
        check(any(e["type"] == "recording_escape" for e in env.events()), "and a recording_escape event")
    finally:
        env.cleanup()
    # the same from ~/.bashrc as sshd really runs it: the parent is then "<shell> -c
    # tollgate-record" under sshd, which is no sshd
    env = Env(shell="/bin/sh")
    try:
        sshd = os.path.join(env.dir, "sshd")  # a process named sshd, as the real one is
        shutil.copy("/bin/sh", sshd)
        tr = os.path.join(env.dir, "tollgate-record")
        os.symlink(RECORDER, tr)
        rc = os.path.join(env.dir, "bashrc")
        with open(rc, "w") as f:
            f.write("'%s' -c true </dev/null; exit 0\n" % tr)
        e = env.environ(TOLLGATE_RECORD_TEST_ACCOUNT_SHELL="/bin/sh", BASH_ENV=rc)
        p = subprocess.run([sshd, "-c", "bash -c '%s'; :" % tr], env=e, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        check(p.returncode == 0, "the ~/.bashrc ran the recorder")
        rec = Recording(env.pub, env.only_session())
        check(rec.header["command"] == "true", "the recording is that of 'tollgate-record -c true'")
        esc = rec.notes("recording_escape")
        check(esc and "not by sshd" in esc[0]["reason"], "an escape alert for a login-shell start from ~/.bashrc")
        check(any(e["type"] == "recording_escape" for e in env.events()), "and a recording_escape event")
    finally:
        env.cleanup()


def test_clean_environment():
    env = Env(shell="/bin/sh")
    try:
        e = env.environ(LD_PRELOAD="/nonexistent/evil.so", BASH_ENV="/tmp/evil", LC_ALL="C",
                        SHELL="/tmp/evil-shell", HOME="/tmp/evil-home")
        s = PtySession(env, environ=e)
        s.sync()
        s.send(b"env | sort; echo ENV-END; exit\n")
        s.read_until(b"ENV-END\r\n")
        s.wait()
        out = s.out.decode(errors="replace")
        lines = out.split("\r\n")
        check(not any(l.startswith(("LD_PRELOAD=", "BASH_ENV=")) for l in lines),
              "LD_* and BASH_ENV do not reach the shell")
        check("LC_ALL=C" in out and "TERM=xterm" in out, "locale and TERM pass")
        check("SHELL=/bin/sh" in out, "SHELL is the configured shell")
        check("HOME=/tmp/evil-home" not in out, "HOME comes from the password database")
        check("TOLLGATE_RECORDING=" in out, "the recording id is in the environment")
    finally:
        env.cleanup()


def test_hangup_seals():
    env = Env(shell="/bin/sh")
    try:
        s = PtySession(env, environ=env.environ())
        s.sync()
        s.send(b"echo before-hangup\n")
        s.read_until(b"before-hangup\r\n")
        os.kill(s.pid, signal.SIGHUP)  # what the kernel sends when sshd's pty goes away
        s.wait()
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.end()["reason"] == "hangup", "SIGHUP: the shell is hung up, the recording sealed")
        check(b"before-hangup" in rec.data("out"), "output before the hangup is there")
    finally:
        env.cleanup()


def test_hangup_wait_flushed():
    # a shell that ignores the hangup keeps the recorder waiting (up to 2 s) before it seals:
    # the output the user saw last is in the file meanwhile, not only in the recorder's
    # buffer, so a kill -9 then does not take it
    env = Env(shell="/bin/sh")
    try:
        # output every 20 ms before the marker: the recorder's 100 ms flush has always run
        # lately, so the marker is still in its buffer when the hangup comes (the old code's
        # case), however slowly the shell starts
        s = PtySession(env, argv=[RECORDER, "-c", "trap '' HUP; for i in 1 2 3 4 5 6 7 8 9 10 11 12 "
                                  "13 14 15; do echo tick; sleep 0.02; done; echo hup-ign''ored; "
                                  "exec sleep 30"])
        s.read_until(b"hup-ignored\r\n")
        os.kill(s.pid, signal.SIGHUP)
        # looked at while the recorder waits (2 s for the shell): the flush comes first, so
        # the marker is there at once; only a test stalled past the wait cannot tell
        found, sealed, deadline = False, False, time.monotonic() + 1.8
        while not found and time.monotonic() < deadline:
            files = env.active()
            if not files:
                sealed = True
                break
            with open(files[0], "rb") as f:
                found = b"hup-ignored" in f.read()
            if not found:
                time.sleep(0.02)
        if sealed:
            print("note: test_hangup_wait_flushed: sealed before it was looked at (a stalled "
                  "test): the wait's flush cannot be told apart here")
        else:
            check(found, "the last output is in the file while the recorder waits")
        s.wait(timeout=120)
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and b"hup-ignored" in rec.data("out"), "sealed, with the output")
    finally:
        env.cleanup()


def test_term_ends_session():
    # SIGTERM cannot go through TIOCSIG (the kernel passes only SIGINT, SIGQUIT, SIGTSTP): it
    # hangs the shell up, as SIGHUP does, instead of being dropped. The sleep outlasts the
    # generous wait: the session can end within it only because the SIGTERM ended it
    env = Env(shell="/bin/sh")
    try:
        s = PtySession(env, argv=[RECORDER, "-c", "echo started; sleep 3600; echo slept-through"])
        s.read_until(b"started\r\n")
        os.kill(s.pid, signal.SIGTERM)
        s.wait(timeout=120)
        check(b"slept-through" not in s.out, "the shell did not run on")
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.end()["reason"] == "hangup", "SIGTERM: hung up, the recording sealed")
    finally:
        env.cleanup()


def children_of(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(x) for x in f.read().split()]


def test_parent_killed_hangs_up():
    """The recorder's parent killed (kill -9 of the su that started it as alice's login shell):
    the terminal goes back to the shell su ran in, and the session ends as at a hangup. The
    recorder ran on in the background, its terminal exclusive (TIOCEXCL: no program of the
    user's could open /dev/tty) and its shell unseen, until it happened to read a key before
    that shell did."""
    env = Env(shell="/bin/sh")
    pid, fd = os.forkpty()
    if pid == 0:
        try:
            os.execve("/bin/bash", ["bash", "--norc", "--noprofile", "-i"], env.environ(PS1="PROMPT$ "))
        finally:
            os._exit(127)
    s = PtySession.__new__(PtySession)
    s.pid, s.fd, s.out, s.status = pid, fd, b"", None
    rec = inner = None
    try:
        s.read_until(b"PROMPT$ ")
        s.send(b"sh -c '%s -c \"echo IN''NER; exec sleep 300\"; :'\n" % RECORDER.encode())
        s.read_until(b"INNER")
        tty = os.readlink("/proc/%d/fd/0" % pid)
        parent = children_of(pid)[0]
        rec = children_of(parent)[0]
        inner = children_of(rec)[0]
        os.kill(parent, signal.SIGKILL)
        check(gone(rec) and gone(inner), "the recorder and its shell end")
        t = os.open(tty, os.O_RDWR | os.O_NOCTTY)
        try:
            excl = struct.unpack("i", fcntl.ioctl(t, TIOCGEXCL, b"\0" * 4))[0]
        finally:
            os.close(t)
        check(excl == 0, "the terminal is not left exclusive")
        s.send(b"echo D''ONE\n")
        s.read_until(b"DONE")
    finally:
        kill_quietly(pid, rec, inner)
        os.waitpid(pid, 0)
        os.close(fd)
    try:
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.end()["reason"] == "hangup", "sealed as hung up")
    finally:
        env.cleanup()


def test_tstp_reaches_foreground_job():
    """SIGTSTP to the recorder goes to the shell's foreground job through TIOCSIG, as SIGINT and
    SIGQUIT do (a command session stops its command the same way): the job stops, the shell
    takes over, the session goes on."""
    env = Env(shell="/bin/bash")
    try:
        s = PtySession(env, environ=env.environ())
        s.sync()
        s.send(b"sh -c 'echo RE\"\"ADY; exec sleep 300'\n")
        s.read_until(b"READY\r\n")
        os.kill(s.pid, signal.SIGTSTP)
        s.read_until(b"Stopped")
        s.send(b"kill -9 %1\n")
        s.read_until(b"Killed")
        s.send(b"exit 0\n")
        st = s.wait()
        check(os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0, "the job stopped, the shell went on and ended")
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.end()["reason"] == "exit", "sealed")
    finally:
        env.cleanup()


def test_idle_heartbeats():
    env = Env(shell="/bin/sh", checkpoint_interval=1)
    try:
        # each heartbeat is due an interval after the one before, so delays add
        # up on a busy machine: 6.5 s leaves room for 4 of them
        s = PtySession(env, argv=[RECORDER, "-c", "sleep 6.5; echo woke"])
        s.wait()
        rec = Recording(env.pub, env.only_session())
        cps = [r for r in rec.of("checkpoint") if not r["final"]]
        check(len(cps) >= 4, "idle heartbeats: %d checkpoints in 6.5 s of silence" % len(cps))
        check(rec.sealed_ok(), "sealed and intact")
    finally:
        env.cleanup()


def test_keygen_missing_config():
    # a mistyped -c must not fall back to the default paths and write the host's
    # real key pair; run as nobody when root, so that a regression cannot write /etc
    env = Env()
    try:
        missing = os.path.join(env.dir, "no-such.conf")
        argv = [KEYGEN, "-c", missing, "--owner", "nobody"]
        if os.geteuid() == 0:
            argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + argv
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = r.stderr.decode(errors="replace")
        check(r.returncode != 0 and missing in err and "No such file" in err,
              "keygen -c with a missing file is refused, naming it: rc %d, %r" % (r.returncode, err))
    finally:
        env.cleanup()


def test_keygen_same_path_refused():
    # signing_key and public_key naming one file: the public key took the secret key's place,
    # keygen said it wrote both, and every session then failed on the signing key
    env = Env()
    try:
        both = os.path.join(env.dir, "keys", "host.key")
        env.write_conf(signing_key=both, public_key=both)
        r = subprocess.run([KEYGEN, "-c", env.conf, "--force"] + (["--owner", "root"] if os.geteuid() == 0 else []),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = r.stderr.decode(errors="replace")
        check(r.returncode == 1 and "same file" in err, "refused: rc %d, %r" % (r.returncode, err))
        check(not os.path.exists(both), "nothing is written")
    finally:
        env.cleanup()


def test_background_writer_does_not_hold_the_end():
    # The shell exits and leaves a job that keeps writing to the terminal faster than the
    # 100 ms "terminal quiet" end (a loop, a "tail -f" left running): sshd ends such a
    # session with the shell; the recorder must not wait for the job, which may never end.
    # An interactive bash (job control): the job has a process group of its own, which the
    # kernel does not hang up when the shell ends.
    env = Env(shell="/bin/bash")
    try:
        s = PtySession(env, environ=env.environ())
        bash_ready(s)
        s.send(b"(while echo tick; do sleep 0.02; done) &\n")
        s.read_until(b"tick")
        s.send(b"exit 3\n")
        st = s.wait()
        check(os.WIFEXITED(st) and os.WEXITSTATUS(st) == 3, "the session ended with the shell's status")
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.end()["reason"] == "exit" and rec.end()["exit_status"] == 3,
              "sealed, END: the shell exited with 3 (%r)" % rec.end())
    finally:
        env.cleanup()


def test_slow_client_gets_the_last_output():
    # The shell prints, then exits while the client is not reading (a slow link): what it
    # printed must still reach the client and the recording, not be cut off by the 100 ms
    # "terminal quiet" end that is meant for background jobs holding the terminal.
    env = Env(shell="/bin/sh")
    n = 20000
    master, slave = os.openpty()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(master)
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            argv = [RECORDER, "-c", "head -c %d /dev/zero | tr '\\0' x; echo; echo END-MARK" % n]
            os.execve(argv[0], argv, env.environ())
        finally:
            os._exit(127)
    # the test keeps its own copy of the slave: what the recorder wrote stays readable after it left
    out = b""
    st = None
    try:
        time.sleep(2)  # not read while the shell prints and exits
        end = time.time() + 30
        while st is None and time.time() < end:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                out += os.read(master, 65536)
            p, status = os.waitpid(pid, os.WNOHANG)
            if p == pid:
                st = status
        if st is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise Failed("the recorder did not end")
        while b"END-MARK" not in out and select.select([master], [], [], 1)[0]:
            out += os.read(master, 65536)
        check(os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0, "the recorder ended with the shell")
        check(out.count(b"x") == n and b"END-MARK" in out,
              "the client got all of the output (%d of %d bytes)" % (out.count(b"x"), n))
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok(), "sealed and intact")
        data = rec.data("out")
        check(data.count(b"x") == n and b"END-MARK" in data,
              "the recording holds all of the output (%d of %d bytes)" % (data.count(b"x"), n))
        check(rec.end()["reason"] == "exit", "END: the shell exited")
    finally:
        os.close(master)
        os.close(slave)
        env.cleanup()


def test_failure_message_reaches_slow_client():
    """A recording failure (deny) ends the session with a message; a client slow to read (the
    output that fills the disk keeps its terminal full) must still get it, not lose it to EAGAIN."""
    env = Env(shell="/bin/sh", max_session_bytes="1G")
    try:
        for i in range(3):
            # a file size limit put on the running recorder (one under max_session_bytes at the
            # start is refused): the recording fails at 512 KiB
            s = PtySession(env, argv=[RECORDER, "-c",
                                      "echo g''o; sleep 1; head -c 3000000 /dev/zero | tr '\\0' a; echo finished"])
            try:
                s.read_until(b"go")
                resource.prlimit(s.pid, resource.RLIMIT_FSIZE, (512 * 1024, 512 * 1024))
                while len(s.out) < 500000:
                    s.read_until(b"a", since=len(s.out))
                time.sleep(1.0)  # the client stops reading while the recording fails
                s.wait()
            finally:
                s.kill()
            check(b"finished" not in s.out and s.out.endswith(b"the session is ended.\r\n"),
                  "round %d: the slow client is told why the session ended (%r)" % (i, s.out[-200:]))
    finally:
        env.cleanup()


def test_failure_ends_jobs():
    """on_failure = deny: a recording failure ends an interactive session, and with it what
    the session left running. The terminal's hangup alone left jobs that ignore SIGHUP, or get
    none, running on unrecorded after the session had ended for the failure; the hangup helper
    now kills what is left of the shell's session after the hangup's grace."""
    env = Env(shell="/bin/bash", max_session_bytes="1G")
    pids = {}
    try:
        s = PtySession(env, environ=env.environ(PS1="$ "))
        try:
            pids = start_jobs(s)
            # a file size limit put on the running recorder (one under max_session_bytes at the
            # start is refused): the recording fails at 512 KiB
            resource.prlimit(s.pid, resource.RLIMIT_FSIZE, (512 * 1024, 512 * 1024))
            flood_until_ended(s, 3000000)
        finally:
            s.kill()
        ev = [x for x in env.events() if x["type"] == "recording_failure"]
        check(len(ev) == 1 and "write failed" in ev[0]["reason"], "a recording_failure event says why")
        check_jobs_ended(pids)
    finally:
        kill_quietly(*pids.values())
        env.cleanup()


def test_normal_end_leaves_jobs():
    """A session that ends as ever (the shell exits) leaves the jobs it started running, as
    sshd does: only a recording failure (deny) ends them."""
    env = Env(shell="/bin/bash")
    pids = {}
    try:
        s = PtySession(env, environ=env.environ(PS1="$ "))
        try:
            pids = start_jobs(s)
            s.send(b"exit 0\n")
            st = s.wait()
        finally:
            s.kill()
        check(os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0, "the session ends with the shell")
        for name, pid in sorted(pids.items()):
            check(not gone(pid, 3.0), "the %s job (pid %d) runs on" % (name.lower(), pid))
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.end()["reason"] == "exit", "sealed")
    finally:
        kill_quietly(*pids.values())
        env.cleanup()


def test_failed_drop_restores_terminal():
    """The recorder cannot become the audit user for good (its setresuid() refused: a seccomp
    filter here) after it made the terminal raw and exclusive: it must not leave it so (the
    user's terminal would stay raw, and no program could open /dev/tty again), and say why."""
    env = Env(shell="/bin/sh")
    fds = ()
    try:
        st, out, fds, before = run_on_own_pty([RECORDER, "-c", "echo never"], env.environ(),
                                              child_setup=deny_setresuid)
        if os.WIFEXITED(st) and os.WEXITSTATUS(st) == 99:
            skip("cannot set a seccomp filter here")
        check(os.WIFEXITED(st) and os.WEXITSTATUS(st) == 1, "refused with status 1 (%r)" % st)
        check(b"cannot switch to the audit user" in out, "it says why (%r)" % out[-300:])
        check(b"never" not in out, "the shell did not run")
        check_terminal_restored(fds[1], before, "failed drop")
        check(len(env.active()) == 1 and not env.sessions(), "the recording is left in active/")
        subprocess.run([RECORDER, "--recover"], env=env.environ(), check=True, stdout=subprocess.DEVNULL)
        rec = Recording(env.pub, env.only_session())
        check(not rec.verdict["sealed"], "recovery hands it over, unsealed")
    finally:
        for fd in fds:
            os.close(fd)
        env.cleanup()


if __name__ == "__main__":
    main([test_keygen_missing_config, test_keygen_same_path_refused,
          test_shell_output_resize_exit, test_resize_in_pixels_passed_on, test_resize_before_relay_recorded,
          test_bad_pam_id_ignored,
          test_signal_death_passed, test_traceme_shell_goes_on,
          test_echo_off_input_never_stored, test_bash_typing_recorded,
          test_canonical_echo_off_hidden, test_raw_mode_secret_prompt_hidden,
          test_prompt_line_ended_before_raw_hidden, test_prompt_line_ended_stars_hidden,
          test_raw_prompt_drawn_away_still_hidden,
          test_full_screen_secret_prompts, test_translated_pinentry_hidden,
          test_outer_terminal_exclusive, test_login_shell_entry, test_clean_environment, test_hangup_seals, test_hangup_wait_flushed,
          test_term_ends_session, test_parent_killed_hangs_up, test_tstp_reaches_foreground_job, test_idle_heartbeats,
          test_background_writer_does_not_hold_the_end, test_slow_client_gets_the_last_output,
          test_failure_message_reaches_slow_client, test_failure_ends_jobs, test_normal_end_leaves_jobs,
          test_failed_drop_restores_terminal])
