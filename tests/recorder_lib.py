"""Shared helpers for the recorder's black-box tests (tests/test_recorder_*.py).

Each test makes a private folder with a config, a host key (tollgate-keygen)
and a spool, runs the test build of the recorder
(session_recorder/tollgate-record-testing, which alone reads
TOLLGATE_RECORD_TEST_CONFIG) under a real pseudo-terminal or through pipes,
and reads the recordings back through tests/tg-rec-dump (the format
library's reader and verifier). Exit 77 = SKIP, as automake expects.
"""
import errno
import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

BUILD = os.environ.get("TG_TOP_BUILDDIR") or os.path.join(os.path.dirname(__file__), "..")
RECORDER = os.path.join(BUILD, "session_recorder", "tollgate-record-testing")
RECORDER_INSTALLED = os.path.join(BUILD, "session_recorder", "tollgate-record")
KEYGEN = os.path.join(BUILD, "session_recorder", "tollgate-keygen")
REPLAY = os.path.join(BUILD, "session_recorder", "tollgate-replay")
DUMP = os.path.join(BUILD, "tests", "tg-rec-dump")

TG_OK = 0
TG_ERR_UNSEALED = -13
TIOCGEXCL = 0x80045440  # _IOR('T', 0x40, int)


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)
    print("ok: " + what)


class Env:
    """A private folder with tollgate.conf, a key pair and a spool."""

    def __init__(self, **recorder_keys):
        self.dir = tempfile.mkdtemp(prefix="tg-test.", dir=os.environ.get("TMPDIR", "/tmp"))
        os.chmod(self.dir, 0o755)
        self.spool = os.path.join(self.dir, "spool")
        self.key = os.path.join(self.dir, "keys", "signing.key")
        self.pub = os.path.join(self.dir, "keys", "signing.pub")
        self.conf = os.path.join(self.dir, "tollgate.conf")
        self.write_conf(**recorder_keys)
        owner = ["--owner", "root"] if os.geteuid() == 0 else []
        subprocess.run([KEYGEN, "-c", self.conf] + owner, check=True, stdout=subprocess.DEVNULL)

    def write_conf(self, general=None, **recorder_keys):
        general = dict({"spool_dir": self.spool}, **(general or {}))
        rec = {"signing_key": self.key, "public_key": self.pub, "checkpoint_interval": "1"}
        rec.update({k: str(v) for k, v in recorder_keys.items()})
        with open(self.conf, "w") as f:
            f.write("[general]\n")
            for k, v in general.items():
                f.write("%s = %s\n" % (k, v))
            f.write("[recorder]\n")
            for k, v in rec.items():
                f.write("%s = %s\n" % (k, v))

    def environ(self, **extra):
        e = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "TERM": "xterm",
            "TOLLGATE_RECORD_TEST_CONFIG": self.conf,
            "SSH_CONNECTION": "192.0.2.7 50022 192.0.2.1 22",
            "LANG": "C.UTF-8",
        }
        e.update(extra)
        return {k: v for k, v in e.items() if v is not None}

    def sessions(self):
        d = os.path.join(self.spool, "sessions")
        if not os.path.isdir(d):
            return []
        return sorted(os.path.join(d, n) for n in os.listdir(d) if not n.startswith("."))

    def active(self):
        d = os.path.join(self.spool, "active")
        if not os.path.isdir(d):
            return []
        return sorted(os.path.join(d, n) for n in os.listdir(d) if not n.startswith("."))

    def events(self):
        d = os.path.join(self.spool, "events")
        if not os.path.isdir(d):
            return []
        out = []
        for n in sorted(os.listdir(d)):
            if n.endswith(".json"):
                with open(os.path.join(d, n)) as f:
                    out.append(json.load(f))
        return out

    def only_session(self):
        s = self.sessions()
        check(len(s) == 1, "exactly one recording in sessions/ (found %d)" % len(s))
        return s[0]

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Recording:
    """A recording read back through tg-rec-dump."""

    def __init__(self, pub, path, data=True):
        args = [DUMP] + ([] if data else ["--no-data"]) + [pub, path]
        out = subprocess.run(args, check=True, stdout=subprocess.PIPE).stdout.decode()
        lines = [json.loads(l) for l in out.splitlines() if l.strip()]
        self.header = lines[0].get("header") if lines and "header" in lines[0] else None
        self.verdict = lines[-1]["verdict"]
        self.records = [l for l in lines[1:-1]]

    def of(self, kind):
        return [r for r in self.records if r["type"] == kind]

    def data(self, kind):
        return b"".join(bytes.fromhex(r.get("hex", "")) for r in self.of(kind))

    def notes(self, event=None):
        n = [r["json"] for r in self.of("note")]
        return [j for j in n if event is None or j.get("event") == event]

    def end(self):
        e = self.of("end")
        return e[0]["json"] if e else None

    def sealed_ok(self):
        return self.verdict["status"] == TG_OK and self.verdict["sealed"] and self.verdict["key_checked"]


class PtySession:
    """The recorder on a real pseudo-terminal, driven like a user at a terminal."""

    def __init__(self, env, argv=None, environ=None, cols=80, rows=24):
        argv = argv or [RECORDER]
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
                os.execvpe(argv[0], argv, environ or env.environ())
            finally:
                os._exit(127)
        self.out = b""
        self.status = None

    def read_until(self, needle, timeout=20.0, since=0):
        """Read until needle is in the output from offset since on."""
        end = time.time() + timeout
        while needle not in self.out[since:]:
            left = end - time.time()
            if left <= 0:
                raise Failed("timed out waiting for %r; got %r" % (needle, self.out[-400:]))
            r, _, _ = select.select([self.fd], [], [], min(left, 0.2))
            if r:
                try:
                    d = os.read(self.fd, 65536)
                except OSError as e:
                    if e.errno == errno.EIO:
                        raise Failed("session ended waiting for %r; got %r" % (needle, self.out[-400:]))
                    raise
                if not d:
                    raise Failed("EOF waiting for %r" % needle)
                self.out += d
        return self.out

    def sync(self):
        """Wait until the shell runs commands (the typed line's echo does not match)."""
        self.n = getattr(self, "n", 0) + 1
        self.send(b"echo SY''NC%d\n" % self.n)
        self.read_until(b"SYNC%d\r\n" % self.n)

    def send(self, data):
        os.write(self.fd, data)

    def resize(self, cols, rows, xpixel=0, ypixel=0):
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, xpixel, ypixel))

    def wait(self, timeout=30.0):
        end = time.time() + timeout
        while True:
            try:
                r, _, _ = select.select([self.fd], [], [], 0.1)
                if r:
                    d = os.read(self.fd, 65536)
                    if d:
                        self.out += d
            except OSError:
                pass
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.status = st
                # what it wrote just before it ended may still be in the pty: take it all
                while True:
                    try:
                        r, _, _ = select.select([self.fd], [], [], 0.1)
                        d = os.read(self.fd, 65536) if r else b""
                    except OSError:
                        d = b""
                    if not d:
                        break
                    self.out += d
                break
            if time.time() > end:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                raise Failed("the recorder did not end")
        os.close(self.fd)
        return self.status

    def kill(self):
        """End a session a failure left running: the recorder by its pid, its shell by the hang-up."""
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                os.close(self.fd)
            except OSError:
                pass


def job_pids(s, names):
    """The pids the shell printed as NAME=PID, one for each name."""
    out = {}
    for n in names:
        m = re.search(rb"%s=(\d+)\r\n" % n.encode(), s.out)
        check(m is not None, "the shell says %s's pid" % n)
        out[n] = int(m.group(1))
    return out


def start_jobs(s):
    """Three jobs a terminal's hangup does not end: one that ignores SIGHUP, one under nohup,
    one disowned (bash does not pass its SIGHUP on to it). Their pids by name."""
    s.sync()
    s.send(b"(trap '' HUP; while :; do sleep 0.1; done) >/dev/null 2>&1 & echo TR''AP=$!\n")
    s.send(b"nohup sleep 300 >/dev/null 2>&1 & echo NO''HUP=$!\n")
    s.send(b"sleep 300 </dev/null >/dev/null 2>&1 & echo DIS''OWN=$!; disown\n")
    s.sync()
    return job_pids(s, ["TRAP", "NOHUP", "DISOWN"])


def flood_until_ended(s, nbytes):
    """Make the session's recording fail with a flood of nbytes (the caller has made the spool
    too small for it), and check that on_failure = deny ended the session: the shell said so,
    and never got to the command after the flood. The caller kills s at the end, as ever."""
    s.send(b"head -c %d /dev/zero | tr '\\0' a; echo fin''ished\n" % nbytes)
    s.wait(timeout=120)
    check(b"finished" not in s.out and b"the session is ended" in s.out,
          "deny: the session is ended (%r)" % s.out[-200:])


def check_jobs_ended(pids):
    """Every job of start_jobs is gone, waited for (60 s in all) rather than looked at once."""
    end = time.monotonic() + 60.0
    left = [n for n, pid in sorted(pids.items()) if not gone(pid, max(0.0, end - time.monotonic()))]
    check(not left, "every job is ended (running on: %s)" % ", ".join(left))


def run_on_own_pty(argv, environ, child_setup=None, timeout=30.0, after_start=None):
    """argv (argv[0] a path) on a new pty whose slave the test keeps open: its modes and TIOCEXCL can be read after
    the program ended (not its controlling terminal: a session leader's end would hang it up).
    after_start(pid, read_until) acts on the running program; read_until(needle) waits for its output.
    (status, output, (master, slave) fds, the slave's modes before the start): the caller closes
    the fds (the master first would hang the slave up)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    before = termios.tcgetattr(slave)
    pid = os.fork()
    if pid == 0:
        try:
            os.close(master)
            os.setsid()
            for i in range(3):
                os.dup2(slave, i)
            if child_setup is not None and not child_setup():
                os._exit(99)
            os.execve(argv[0], argv, environ)
        finally:
            os._exit(127)
    out, st, end = b"", None, time.time() + timeout

    def read_until(needle):
        nonlocal out
        while needle not in out:
            if time.time() > end:
                raise Failed("timed out waiting for %r; got %r" % (needle, out[-400:]))
            if select.select([master], [], [], 0.1)[0]:
                d = os.read(master, 65536)
                if not d:
                    raise Failed("EOF waiting for %r" % needle)
                out += d

    try:
        if after_start is not None:
            after_start(pid, read_until)
        while st is None:
            if time.time() > end:
                raise Failed("%s did not end; got %r" % (argv[0], out[-400:]))
            r, _, _ = select.select([master], [], [], 0.1)
            if r:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    pass
            p, s = os.waitpid(pid, os.WNOHANG)
            if p == pid:
                st = s
        while select.select([master], [], [], 0.2)[0]:
            try:
                d = os.read(master, 65536)
            except OSError:
                break
            if not d:
                break
            out += d
    finally:
        if st is None:
            kill_quietly(pid)
            os.waitpid(pid, 0)
            os.close(master)
            os.close(slave)
    return st, out, (master, slave), before


def read_line(f, limit=120.0):
    """f.readline(), but a failure after limit seconds instead of a wait for ever: a test whose
    process never writes its line (the code under test is broken) must fail, not hang the
    suite. The reading thread ends when the test, on its way out, kills the writer."""
    got = []
    t = threading.Thread(target=lambda: got.append(f.readline()), daemon=True)
    t.start()
    t.join(limit)
    if t.is_alive():
        raise Failed("no line within %d s" % limit)
    return got[0]


def check_terminal_restored(slave, before, what):
    now = termios.tcgetattr(slave)
    excl = struct.unpack("i", fcntl.ioctl(slave, TIOCGEXCL, b"\0" * 4))[0]
    check(now[3] & termios.ICANON and now[3] & termios.ECHO and now[:6] == before[:6],
          "%s: the terminal's modes are back as they were" % what)
    check(excl == 0, "%s: the terminal is not left exclusive (TIOCEXCL)" % what)


def deny_setresuid(to_uid=None):
    """In a child before exec: every setresuid() from here on fails with EPERM (a seccomp filter,
    as a container's or a systemd unit's SystemCallFilter would set), so the recorder's own drop
    to the audit user fails (and its shell's: only the recorder's way out is looked at). With
    to_uid, only a setresuid() whose real uid is to_uid fails, and, as root, the filter comes
    without no_new_privs, so that a setuid program still changes ids when run. False where the
    filter cannot be set (not x86_64)."""
    import ctypes
    import platform
    if platform.machine() != "x86_64":
        return False
    libc = ctypes.CDLL(None, use_errno=True)

    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                    ("k", ctypes.c_uint)]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

    ld, jeq, ret = 0x20, 0x15, 0x06  # BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_RET|BPF_K
    deny, allow = (ret, 0, 0, 0x00050000 | errno.EPERM), (ret, 0, 0, 0x7fff0000)  # SECCOMP_RET_*
    if to_uid is None:
        prog = [(ld, 0, 0, 4),                # seccomp_data.arch
                (jeq, 0, 3, 0xc000003e),      # AUDIT_ARCH_X86_64, else allow
                (ld, 0, 0, 0),                # seccomp_data.nr
                (jeq, 0, 1, 117),             # __NR_setresuid, else allow
                deny, allow]
    else:
        prog = [(ld, 0, 0, 4),
                (jeq, 0, 5, 0xc000003e),
                (ld, 0, 0, 0),
                (jeq, 0, 3, 117),
                (ld, 0, 0, 16),               # the low half of seccomp_data.args[0]: the real uid
                (jeq, 0, 1, to_uid),
                deny, allow]
    arr = (SockFilter * len(prog))(*[SockFilter(*i) for i in prog])
    fprog = SockFprog(len(prog), arr)
    if (to_uid is None or os.geteuid() != 0) and libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        return False
    return libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) == 0  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER


# A command that makes its parent, the recorder, its tracer (PTRACE_TRACEME, which needs no
# consent from the parent), then gets a signal it handles (a signal-delivery stop) and, traced
# again, execs (the exec's SIGTRAP stop): with no tracer acting, each stop would hold it for
# ever. It prints what it ran to, and exits 7.
TRACEME_SCRIPT = """import ctypes, os, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
signal.signal(signal.SIGUSR1, lambda *a: print("got-usr1", flush=True))
if libc.ptrace(0, 0, None, None) != 0:
    print("traceme-refused", flush=True)
    sys.exit(0)
os.kill(os.getpid(), signal.SIGUSR1)
time.sleep(0.2)
libc.ptrace(0, 0, None, None)
os.execv("/bin/sh", ["sh", "-c", "echo after-exec; exit 7"])
"""


# The same from a thread of the command: it stops at a signal sent to that thread, is traced
# again, and ends before the command does (a traced thread's end waits for its tracer, and
# holds back the command's). Prints what it ran to, and exits 7.
TRACEME_THREAD_SCRIPT = """import ctypes, os, signal, sys, threading
libc = ctypes.CDLL(None, use_errno=True)
signal.signal(signal.SIGUSR1, lambda *a: print("got-usr1", flush=True))
def thread():
    if libc.ptrace(0, 0, None, None) != 0:
        print("traceme-refused", flush=True)
        os._exit(0)
    signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)
    libc.ptrace(0, 0, None, None)
t = threading.Thread(target=thread)
t.start()
t.join()
print("after-thread", flush=True)
sys.exit(7)
"""

# A SIGTRAP that is no execve's (raise(): a breakpoint, an assert) still ends a traced command.
TRACEME_TRAP_SCRIPT = """import ctypes, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(0, 0, None, None) != 0:
    print("traceme-refused", flush=True)
    sys.exit(0)
print("trapping", flush=True)
signal.raise_signal(signal.SIGTRAP)
print("survived", flush=True)
"""


def traceme_command(env, where=None, python=None, script=TRACEME_SCRIPT):
    """A shell command that runs script (TRACEME_SCRIPT) in place of the shell (the recorder's
    child), written in folder where (env's by default), run by python (this one by default)."""
    path = os.path.join(where or env.dir, "traceme.py")
    with open(path, "w") as f:
        f.write(script)
    os.chmod(path, 0o755)
    return "exec %s %s" % (python or sys.executable, path)


def run_pipes(env, command, stdin=b"", environ=None, timeout=120, argv=None):
    """The recorder through pipes, as sshd runs "ssh host command": (rc, stdout, stderr)."""
    e = environ or env.environ(SSH_ORIGINAL_COMMAND=command)
    p = subprocess.run(argv or [RECORDER], input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=e, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def gone(pid, wait_s=10.0):
    """pid has ended (a zombie counts: only its parent's wait is left), waiting up to wait_s."""
    end = time.monotonic() + wait_s
    while True:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.05)


def kill_quietly(*pids):
    """SIGKILL each pid (None skipped) that is still there: what a test started, at its end."""
    for pid in pids:
        if pid is None:
            continue
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def end_process(p, *pids):
    """At a test's end: kill and reap the Popen p if it still runs, then kill_quietly(*pids)."""
    if p.poll() is None:
        p.kill()
        p.wait()
    kill_quietly(*pids)


def main(tests):
    """Run test functions in order; FAIL on the first failure."""
    if not os.path.exists(RECORDER):
        skip("the recorder test build is missing: " + RECORDER)
    for t in tests:
        print("== " + t.__name__)
        try:
            t()
        except Failed as e:
            print("FAIL: %s: %s" % (t.__name__, e))
            sys.exit(1)
    sys.exit(0)
