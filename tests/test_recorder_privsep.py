#!/usr/bin/env python3
"""Privilege separation, as installed: a copy of the recorder setuid and setgid
to a test audit user (mode 6755), run by a test login user. The recorder ends
with real, effective, saved (and file system) uid and gid all of the audit
user, the shell with all of the user's; the user can neither signal the
recorder nor read the recording; the pty belongs to the user. Also: the
installed build takes its config only from the compiled-in path, and
tollgate-keygen gives the secret key to the audit user. Needs root (useradd);
the users are removed at the end."""
import functools
import os
import pwd
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from recorder_lib import (KEYGEN, RECORDER, RECORDER_INSTALLED, Env, Failed, PtySession, Recording, check,  # noqa: E402
                          check_jobs_ended, check_terminal_restored, deny_setresuid, end_process,
                          flood_until_ended, gone, kill_quietly, main, read_line, run_on_own_pty, skip,
                          start_jobs, traceme_command)

AUD = "tgra%d" % (os.getpid() % 100000)
USR = "tgru%d" % (os.getpid() % 100000)


def ids(pid):
    """(uids, gids) lines of /proc/pid/status: real, effective, saved, fs."""
    u = g = None
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                u = [int(x) for x in line.split()[1:]]
            elif line.startswith("Gid:"):
                g = [int(x) for x in line.split()[1:]]
    return u, g


def children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(x) for x in f.read().split()]


def test_installed_build_ignores_env_config():
    e = dict(os.environ, TOLLGATE_RECORD_TEST_CONFIG="/nonexistent/test.conf")
    p = subprocess.run([RECORDER_INSTALLED, "--help"], env=e, stdout=subprocess.PIPE, timeout=30)
    check(b"/nonexistent" not in p.stdout and b"/tollgate/tollgate.conf" in p.stdout,
          "the installed build names its compiled-in config and ignores the environment")


def useradd(args):
    """useradd, retried while another test holds the passwd lock (make -j2 check)."""
    for _ in range(100):
        r = subprocess.run(["useradd"] + args, stderr=subprocess.PIPE)
        if r.returncode == 0:
            return
        if b"lock" not in r.stderr:
            break
        time.sleep(0.2)
    raise RuntimeError("useradd %s: %s" % (args[-1], r.stderr.decode(errors="replace")))


class Users:
    def __init__(self):
        if os.geteuid() != 0:
            skip("needs root to create the test users and a setuid copy of the recorder")
        if not shutil.which("useradd") or not shutil.which("setpriv"):
            skip("useradd or setpriv is not installed")
        for u in (AUD, USR):
            subprocess.run(["userdel", u], stderr=subprocess.DEVNULL)
        useradd(["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                 "/usr/sbin/nologin", AUD])
        useradd(["--user-group", "--no-create-home", "--home-dir", "/tmp", "--shell", "/bin/sh", USR])
        self.aud = pwd.getpwnam(AUD)
        self.usr = pwd.getpwnam(USR)

    def remove(self):
        # userdel refuses while a process of the user runs: end ours first (by pid), then retry a little
        for u in (USR, AUD):
            for _ in range(50):
                pids = subprocess.run(["ps", "-o", "pid=", "-u", u], stdout=subprocess.PIPE).stdout.split()
                for pid in pids:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except OSError:
                        pass
                if subprocess.run(["userdel", u], stderr=subprocess.DEVNULL).returncode in (0, 6):  # 6: no such user
                    break
                time.sleep(0.1)


def setup(env, users):
    """Lay the test folder out as a package would: setuid copy, config and key readable by the audit group."""
    a = users.aud
    binary = os.path.join(env.dir, "tollgate-record")
    shutil.copy(RECORDER, binary)
    os.chown(binary, a.pw_uid, a.pw_gid)
    os.chmod(binary, 0o6755)
    keydir = os.path.dirname(env.key)
    os.chown(keydir, 0, a.pw_gid)
    os.chmod(keydir, 0o750)
    os.chown(env.key, a.pw_uid, a.pw_gid)
    os.chown(env.conf, 0, a.pw_gid)
    os.chmod(env.conf, 0o640)
    if not os.path.isdir(env.spool):
        os.makedirs(env.spool)
    os.chown(env.spool, a.pw_uid, a.pw_gid)
    os.chmod(env.spool, 0o700)
    return binary


def as_user(users, argv):
    u = users.usr
    return ["setpriv", "--reuid=%d" % u.pw_uid, "--regid=%d" % u.pw_gid, "--init-groups", "--"] + argv


def test_privsep():
    users = Users()
    env = Env(shell="/bin/sh")
    try:
        binary = setup(env, users)
        a, u = users.aud, users.usr
        e = env.environ(SSH_ORIGINAL_COMMAND="echo ready; sleep 5; echo done", LD_LIBRARY_PATH="/nonexistent")
        p = subprocess.Popen(as_user(users, [binary]), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=e)
        try:
            line = read_line(p.stdout)
            check(line == b"ready\n", "the command runs under the setuid recorder")
            ru, rg = ids(p.pid)
            check(ru == [a.pw_uid] * 4, "recorder: real, effective, saved, fs uid = audit user (%s)" % ru)
            check(rg == [a.pw_gid] * 4, "recorder: all gids = audit group (%s)" % rg)
            kids = children(p.pid)
            shells = [k for k in kids if open("/proc/%d/cmdline" % k, "rb").read().startswith(b"sh\0-c\0")]
            helpers = [k for k in kids if k not in shells]
            check(len(shells) == 1 and len(helpers) == 1, "two children: the shell and the hangup helper")
            hu, hg = ids(helpers[0])
            check(hu == [u.pw_uid] * 4 and hg == [u.pw_gid] * 4, "helper: all ids the user's (%s %s)" % (hu, hg))
            fds = sorted(int(f) for f in os.listdir("/proc/%d/fd" % helpers[0]))
            nulls = [os.readlink("/proc/%d/fd/%d" % (helpers[0], f)) for f in (0, 1, 2)]
            check(fds == [0, 1, 2, 3] and nulls == ["/dev/null"] * 3,
                  "helper: /dev/null and its pipe, no other descriptor (%s %s)" % (fds, nulls))
            r = subprocess.run(as_user(users, ["cat", "/proc/%d/environ" % helpers[0]]), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            check(r.returncode != 0, "the user cannot read the helper's memory (not dumpable)")
            su, sg = ids(shells[0])
            check(su == [u.pw_uid] * 4, "shell: all uids = the user (%s)" % su)
            check(sg == [u.pw_gid] * 4, "shell: all gids = the user's (%s)" % sg)
            k = subprocess.run(as_user(users, ["kill", "-TERM", str(p.pid)]), stderr=subprocess.PIPE)
            check(k.returncode != 0, "the user cannot signal the recorder")
            active = os.path.join(env.spool, "active")
            r = subprocess.run(as_user(users, ["sh", "-c", "cat %s/*" % active]), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            check(r.returncode != 0, "the user cannot read the recording")
            r = subprocess.run(as_user(users, ["cat", env.key]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            check(r.returncode != 0, "the user cannot read the signing key")
            out, err = p.communicate(timeout=30)
        finally:
            end_process(p)
        check(p.returncode == 0 and out == b"done\n", "the session ends normally")
        path = env.only_session()
        st = os.stat(path)
        check(st.st_uid == a.pw_uid and stat.S_IMODE(st.st_mode) == 0o600, "the recording: audit user's, 0600")
        rec = Recording(env.pub, path)
        check(rec.sealed_ok() and rec.header["user"] == USR and rec.header["uid"] == u.pw_uid,
              "sealed; the header names the login user")
    finally:
        env.cleanup()
        users.remove()


def test_privsep_pty():
    users = Users()
    env = Env(shell="/bin/sh")
    try:
        binary = setup(env, users)
        s = PtySession(env, argv=as_user(users, [binary]), environ=env.environ())
        s.sync()
        s.send(b"echo TTY=$(stat -c %u $(tty)) ID=$(id -u)/$(id -ru) GID=$(id -g)/$(id -rg).; echo E''ND\n")
        s.read_until(b"END\r\n")
        u = users.usr
        want = b"TTY=%d ID=%d/%d GID=%d/%d." % (u.pw_uid, u.pw_uid, u.pw_uid, u.pw_gid, u.pw_gid)
        check(want in s.out, "the shell's terminal and ids are the user's (%r in %r)" % (want, s.out[-300:]))
        ru, _ = ids(s.pid)
        check(ru == [users.aud.pw_uid] * 4, "the pty recorder runs as the audit user")
        s.send(b"exit 3\n")
        st = s.wait()
        check(os.WEXITSTATUS(st) == 3, "exit status passed through the setuid recorder")
        check(Recording(env.pub, env.only_session()).sealed_ok(), "sealed and intact")
    finally:
        env.cleanup()
        users.remove()


def test_traceme_under_privsep():
    """The user's shell makes the setuid recorder (the audit user's) its tracer with
    PTRACE_TRACEME, then stops at a signal and an exec: the recorder lets it go (PTRACE_DETACH
    works for a tracer of another uid) and the session runs to its real end."""
    users = Users()
    env = Env(shell="/bin/sh")
    where = tempfile.mkdtemp(prefix="tg-traceme.")
    try:
        binary = setup(env, users)
        os.chmod(where, 0o755)
        python = shutil.which("python3", path="/usr/bin:/bin") or "python3"
        cmd = traceme_command(env, where=where, python=python)
        p = subprocess.run(as_user(users, [binary]), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env.environ(SSH_ORIGINAL_COMMAND=cmd), timeout=60)
        if p.stdout == b"traceme-refused\n":
            print("(skipped: PTRACE_TRACEME refused here, a Yama ptrace_scope of 3)")
            return
        check(p.returncode == 7 and p.stdout == b"got-usr1\nafter-exec\n",
              "the command ran to its end (%r %r %r)" % (p.returncode, p.stdout, p.stderr))
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.end()["exit_status"] == 7, "END records its exit status (%r)" % rec.end())
    finally:
        shutil.rmtree(where, ignore_errors=True)
        env.cleanup()
        users.remove()


def test_outer_terminal_exclusive_before_shell():
    """The terminal sshd gave is made exclusive before the user's shell starts: a shell that
    opens it at once (here while the recorder hands over orphaned recordings) must not get it."""
    users = Users()
    env = Env(shell="/bin/sh")
    try:
        binary = setup(env, users)
        a, u = users.aud, users.usr
        active = os.path.join(env.spool, "active")
        os.makedirs(active)
        os.chown(active, a.pw_uid, a.pw_gid)
        os.chmod(active, 0o700)
        for i in range(3000):
            path = os.path.join(active, "%032x.tgr" % i)
            with open(path, "wb") as f:
                f.write(b"x")
            os.chown(path, a.pw_uid, a.pw_gid)
        # as sshd leaves it: the terminal belongs to the user
        inner = "if (: >$o) 2>/dev/null; then echo OPE''NED; else echo BU''SY; fi; sleep 0.5"
        wrapper = 'o=$(tty); chown %d "$o"; exec %s "%s"' % (
            u.pw_uid, " ".join(as_user(users, [binary, "-c"])), inner)
        s = PtySession(env, argv=["sh", "-c", wrapper], environ=env.environ())
        try:
            s.read_until(b"BUSY", timeout=60)
        except Exception:
            raise Failed("the shell could open the outer terminal: %r" % s.out[-300:])
        finally:
            s.wait()
        check(b"OPENED" not in s.out, "the user's shell cannot open the outer terminal, even at once")
        check(len(env.sessions()) == 3001, "the orphaned recordings were handed over")
    finally:
        env.cleanup()
        users.remove()


def test_keygen_owner():
    users = Users()
    env = Env()
    try:
        os.unlink(env.key)
        os.unlink(env.pub)
        r = subprocess.run([KEYGEN, "-c", env.conf, "--owner", AUD], stdout=subprocess.PIPE, check=True)
        st = os.stat(env.key)
        check(st.st_uid == users.aud.pw_uid and stat.S_IMODE(st.st_mode) == 0o400, "secret key: audit user's, 0400")
        check(stat.S_IMODE(os.stat(env.pub).st_mode) == 0o444, "public key: 0444")
        with open(env.pub) as f:
            pub = f.read().split()
        check(pub[2].encode() in r.stdout and pub[1].encode() in r.stdout, "the public key and its id are printed")
        r = subprocess.run([KEYGEN, "-c", env.conf, "--owner", AUD], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        check(r.returncode != 0 and b"refusing" in r.stderr, "an existing key is not replaced")
        subprocess.run([KEYGEN, "-c", env.conf, "--owner", AUD, "--force"], stdout=subprocess.PIPE, check=True)
        with open(env.pub) as f:
            check(f.read().split()[1] != pub[1], "--force makes a new key")
        r = subprocess.run([KEYGEN, "-c", env.conf, "--force", "--owner", "no-such-user-tg"], stderr=subprocess.PIPE)
        check(r.returncode != 0 and b"does not exist" in r.stderr, "a missing audit user is an error")
        # folders keygen makes are 0755 whatever root's umask (077 on hardened hosts): else the
        # audit user cannot reach its own key, and every session fails to be recorded
        key, pub = os.path.join(env.dir, "new", "keys", "s.key"), os.path.join(env.dir, "new", "pub", "s.pub")
        env.write_conf(signing_key=key, public_key=pub)
        subprocess.run([KEYGEN, "-c", env.conf, "--owner", AUD], stdout=subprocess.PIPE, check=True,
                       preexec_fn=lambda: os.umask(0o077))
        modes = [stat.S_IMODE(os.stat(os.path.dirname(d)).st_mode) for d in (key, os.path.dirname(key), pub)]
        check(modes == [0o755] * 3, "folders made with umask 077 are 0755: %s" % [oct(m) for m in modes])
        a = users.aud
        r = subprocess.run(["setpriv", "--reuid=%d" % a.pw_uid, "--regid=%d" % a.pw_gid, "--clear-groups", "--",
                            "cat", key], stdout=subprocess.DEVNULL)
        check(r.returncode == 0, "the audit user can read its key")
    finally:
        env.cleanup()
        users.remove()


def test_fsize_limit_below_cap_refused():
    """A hard file size limit the user set (ulimit -Hf in a start-up file, prlimit) stays in force
    in the setuid recorder. Below max_session_bytes it would cut the recording short in the middle
    of the session, and what the shell did in the moments before the recorder noticed would be
    lost: the session is refused at once instead (on_failure = deny)."""
    users = Users()
    env = Env(shell="/bin/sh", max_session_bytes="1048576")
    try:
        binary = setup(env, users)
        e = env.environ(SSH_ORIGINAL_COMMAND="echo RAN")
        p = subprocess.run(["prlimit", "--fsize=500000:500000", "--"] + as_user(users, [binary]),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                           timeout=60)
        check(p.returncode == 1 and b"RAN" not in p.stdout, "a file size limit under max_session_bytes: refused")
        check(b"file size limit" in p.stderr and b"access denied" in p.stderr,
              "the user is told why (%r)" % p.stderr)
        check(any(ev.get("reason", "").find("file size limit") >= 0 for ev in env.events()),
              "a recording_failure event names the limit")
        check(env.sessions() == [] and env.active() == [], "no recording is left behind")
        p = subprocess.run(["prlimit", "--fsize=2000000:2000000", "--"] + as_user(users, [binary]),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                           timeout=60)
        check(p.returncode == 0 and p.stdout == b"RAN\n", "a limit above max_session_bytes: recorded")
        check(Recording(env.pub, env.only_session()).sealed_ok(), "sealed")
    finally:
        env.cleanup()
        users.remove()


def test_stack_limit():
    """A soft stack limit the user lowered (ulimit -s in a start-up file) is raised to the hard
    one, as the file size and CPU limits are: at some 24 KiB the recorder died of SIGSEGV after
    its header, the session's end never recorded. A hard one under what the recorder needs is
    refused at the start (on_failure = deny), not a crash part way through."""
    users = Users()
    env = Env(shell="/bin/sh")
    try:
        binary = setup(env, users)
        e = env.environ(SSH_ORIGINAL_COMMAND="echo RAN; sleep 0.5; echo END")
        p = subprocess.run(["prlimit", "--stack=24576:unlimited", "--"] + as_user(users, [binary]),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                           timeout=60)
        check(p.returncode == 0 and p.stdout == b"RAN\nEND\n",
              "a low soft stack limit: the session runs (status %d)" % p.returncode)
        check(Recording(env.pub, env.only_session()).sealed_ok(), "sealed")
        os.unlink(env.only_session())
        p = subprocess.run(["prlimit", "--stack=65536:65536", "--"] + as_user(users, [binary]),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                           timeout=60)
        check(p.returncode == 1 and b"RAN" not in p.stdout, "a hard stack limit too low: refused")
        check(b"stack size limit" in p.stderr and b"access denied" in p.stderr, "the user is told why (%r)" % p.stderr)
        check(env.sessions() == [] and env.active() == [], "no recording is left behind")
    finally:
        env.cleanup()
        users.remove()


def mount_small_spool(env):
    """A 2 MiB tmpfs as the spool (the caller unmounts it); skips the test when mount fails."""
    os.makedirs(env.spool)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tgtest", env.spool],
                      stderr=subprocess.DEVNULL).returncode != 0:
        skip("cannot mount a tmpfs for the spool")
    return True


def test_failure_ends_command():
    """The setuid recorder may not signal the user's processes: when the recording fails (deny)
    the hangup helper, with the user's ids, ends the command and what it started."""
    users = Users()
    env = Env(shell="/bin/sh", max_session_bytes="1G")
    mounted = False
    try:
        # a small file system for the spool (root may not prlimit() another user's process
        # here: no CAP_SYS_RESOURCE), filled by the command's output
        mounted = mount_small_spool(env)
        binary = setup(env, users)
        cmd = "sleep 300 & echo $!; trap '' HUP; echo $$; head -c 50000000 /dev/zero; sleep 300"
        p = subprocess.Popen(as_user(users, [binary]), env=env.environ(SSH_ORIGINAL_COMMAND=cmd),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        pids = []
        try:
            pids = [int(read_line(p.stdout)), int(read_line(p.stdout))]
            rec = [k for k in children(p.pid) if ids(k)[0][0] != pwd.getpwnam(USR).pw_uid]
            check(not rec, "the recorder's only children are the user's")
            out, err = p.communicate(timeout=120)
            check(b"recording failed" in err, "deny: the session is ended (%r)" % err[-200:])
            check(gone(pids[0]) and gone(pids[1]), "the command and its background process are ended")
        finally:
            end_process(p, *pids)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", env.spool])
        env.cleanup()
        users.remove()


def test_failure_ends_session_jobs():
    """The same for a terminal session: when the recording fails (deny) the terminal is hung up,
    and what of the shell's session runs on past that (a job that ignores SIGHUP, one under
    nohup, a disowned one) the hangup helper kills, having the user's ids: the recorder, the
    audit user, may not."""
    users = Users()
    env = Env(shell="/bin/bash", max_session_bytes="1G")
    mounted, pids = False, {}
    try:
        mounted = mount_small_spool(env)
        binary = setup(env, users)
        s = PtySession(env, argv=as_user(users, [binary]), environ=env.environ(PS1="$ "))
        try:
            pids = start_jobs(s)
            flood_until_ended(s, 5000000)
        finally:
            s.kill()
        check_jobs_ended(pids)
    finally:
        kill_quietly(*pids.values())
        if mounted:
            subprocess.run(["umount", "-l", env.spool])
        env.cleanup()
        users.remove()


def test_helper_holds_nothing_at_drop():
    """The hangup helper drops to the user's ids while it still held what the recorder had open:
    0 to 2 (sshd's pipes here; the outer terminal, another user's after su, in a terminal session
    with on_failure = deny), and all else. Until its PR_SET_DUMPABLE 0 one system call later,
    the user could take a copy of any of them (pidfd_getfd, fs.suid_dumpable = 1). Stopped right
    after its setresuid() (strace delays its return), it must hold its socket and /dev/null only."""
    if not shutil.which("strace"):
        skip("strace is not installed")
    users = Users()
    env = Env(shell="/bin/sh")
    try:
        binary = setup(env, users)
        u = users.usr
        argv = ["strace", "-f", "-qq", "-o", "/dev/null", "-u", u.pw_name, "-e", "trace=setresuid",
                "-e", "inject=setresuid:delay_exit=3000000", binary]
        p = subprocess.Popen(argv, env=env.environ(SSH_ORIGINAL_COMMAND="exit 0"), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            helper, end = None, time.monotonic() + 20.0
            while helper is None and time.monotonic() < end:
                for rec in children(p.pid):
                    for k in children(rec):
                        try:
                            if ids(k)[0] == [u.pw_uid] * 4 and b"tollgate-record" in open("/proc/%d/cmdline" % k, "rb").read():
                                helper = k
                        except OSError:
                            pass
                time.sleep(0.05)
            if helper is None:
                skip("the helper was not seen between its drop and its next call")
            fds = {int(f): os.readlink("/proc/%d/fd/%s" % (helper, f)) for f in os.listdir("/proc/%d/fd" % helper)}
            check(sorted(fds) == [0, 1, 2, 3] and all(fds[f] == "/dev/null" for f in (0, 1, 2))
                  and fds[3].startswith("socket:"), "the helper, the user's, holds its socket only (%r)" % fds)
        finally:
            try:
                p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
    finally:
        env.cleanup()
        users.remove()


def test_ctrl_c_ends_command():
    """The setuid recorder may not signal the user's processes: a Ctrl-C at the terminal of a
    command session (su user -c cmd) reaches the command through the hangup helper, which
    has the user's ids and outlives the Ctrl-C that its process group gets too."""
    users = Users()
    env = Env(shell="/bin/sh")
    try:
        binary = setup(env, users)
        p = subprocess.Popen(as_user(users, [binary]), env=env.environ(SSH_ORIGINAL_COMMAND="echo $$; exec sleep 37"),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        pid = None
        try:
            pid = int(read_line(p.stdout))
            os.killpg(p.pid, signal.SIGINT)
            p.communicate(timeout=60)
            check(gone(pid, 1.0), "SIGINT: the command is ended")
            check(p.returncode == -signal.SIGINT, "the recorder dies of the same signal (rc %d)" % p.returncode)
        finally:
            end_process(p, pid)
        end = Recording(env.pub, env.only_session()).end()
        check(end["reason"] == "exit" and end["signal"] == signal.SIGINT, "sealed with its signal: %r" % end)
    finally:
        env.cleanup()
        users.remove()


def test_hangup_of_root_processes_said():
    """A command that becomes root (a setuid program that makes itself root for good) is out of
    the hangup helper's reach, which has the user's ids: a SIGHUP still ends the session and
    seals the recording, and the recording says that processes of the command's group ran
    on, where it used to read as a clean hangup."""
    users = Users()
    env = Env(shell="/bin/sh")
    try:
        binary = setup(env, users)
        rootpy = os.path.join(env.dir, "rootpy")  # python keeps a setuid root it is started with
        shutil.copy("/usr/bin/python3", rootpy)
        os.chown(rootpy, 0, users.usr.pw_gid)  # for the test user alone
        os.chmod(rootpy, 0o4750)
        root = "%s -c 'import os, time; os.setresuid(0, 0, 0); print(os.getpid(), flush=True); time.sleep(300)'" % rootpy
        # the whole group root's (the command never ends: no status, 255), and one with the
        # user's shell beside it (it ignores SIGHUP: killed, and the recorder dies of it)
        for cmd, rc in (("exec " + root, 255), ("trap '' HUP; " + root + " & wait", -signal.SIGKILL)):
            p = subprocess.Popen(as_user(users, [binary]), env=env.environ(SSH_ORIGINAL_COMMAND=cmd),
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            pid = None
            try:
                pid = int(read_line(p.stdout))
                p.send_signal(signal.SIGHUP)
                p.communicate(timeout=60)
                check(not gone(pid, 0.5), "the root process runs on (the helper may not signal it)")
                check(p.returncode == rc, "the recorder ends (rc %d)" % p.returncode)
            finally:
                end_process(p, pid)
            rec = Recording(env.pub, env.only_session())
            check(rec.sealed_ok() and rec.end()["reason"] == "hangup", "sealed as hung up")
            check(len(rec.notes("hangup_incomplete")) == 1, "a note says what ran on: %r" % rec.notes())
            os.unlink(env.only_session())
    finally:
        env.cleanup()
        users.remove()


def test_failure_found_at_seal_reported():
    """A write that fails only when the recorder seals (the shell's last output was still in the
    writer's buffer when it exited, within the 100 ms before the next flush) is a recording failure
    like one the relay saw: the user is told and the reason is logged (and an event written when
    the spool has room for one), instead of a silent normal end over a truncated recording."""
    users = Users()
    env = Env(shell="/bin/sh", checkpoint_interval="60")
    mounted = False
    try:
        mounted = mount_small_spool(env)
        binary = setup(env, users)
        s = PtySession(env, argv=as_user(users, [binary]), environ=env.environ())
        try:
            s.sync()
            filler = os.path.join(env.spool, "filler")
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                while os.write(fd, b"x" * 4096) > 0:
                    pass
            except OSError:
                pass
            finally:
                os.close(fd)
            s.send(b"seq 1 3000; echo AFTER''FULL; exit 7\n")
            st = s.wait()
        finally:
            s.kill()
        # Which path finds the full disk depends on timing: when the shell's output and exit
        # fit in the 100 ms between two flushes (a quiet machine), only the seal finds it; on
        # a loaded one a flush in between finds it first and ends the session. Either way
        # the user is told, never a silent normal end over a cut recording.
        check(b"the session recording failed" in s.out,
              "the user is told the recording failed (%r)" % s.out[-300:])
        if b"its end is not recorded" in s.out:
            print("(found by the seal)")
            check(b"AFTERFULL" in s.out, "the shell ran its last command")
            check(os.WIFEXITED(st) and os.WEXITSTATUS(st) == 7,
                  "the shell's exit status is passed on (%r)" % st)
        else:
            print("(found by a flush during the session: this machine was slow)")
            check(b"the session is ended" in s.out, "the session was ended as recording failed")
        rec = Recording(env.pub, env.only_session(), data=False)
        check(not rec.verdict["sealed"], "the recording is handed over unsealed")
    finally:
        if mounted:
            subprocess.run(["umount", "-l", env.spool])
        env.cleanup()
        users.remove()


def test_escape_check_under_hidepid():
    """A /proc mounted hidepid=2 (a common hardening) shows the audit user none of the user's
    processes: the parent check must look as the user, or every session started by sshd (whose
    session process runs as the user) raises a false recording_escape alert. Here a copy of sh
    named sshd, run by the user, is the recorder's parent, in a mount namespace of the test's own."""
    users = Users()
    env = Env(shell="/bin/sh")
    try:
        binary = setup(env, users)
        if subprocess.run(["unshare", "-m", "sh", "-c", "mount -t proc -o hidepid=2 proc /proc"],
                          stderr=subprocess.DEVNULL).returncode != 0:
            print("(skipped: cannot mount a hidepid /proc in a mount namespace)")
            return
        sshd = os.path.join(env.dir, "sshd")
        shutil.copy("/bin/sh", sshd)
        os.chmod(sshd, 0o755)
        inner = "mount -t proc -o hidepid=2 proc /proc && exec " + " ".join(
            as_user(users, [sshd, "-c", "'%s; true'" % binary]))
        # a pipe on stdin, as sshd gives (/dev/null would be flagged: a side run's stream)
        p = subprocess.run(["unshare", "-m", "sh", "-c", inner], input=b"", stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env.environ(SSH_ORIGINAL_COMMAND="echo hidden-proc"), timeout=60)
        check(p.returncode == 0 and p.stdout == b"hidden-proc\n", "the command runs (%r %r)" % (p.stdout, p.stderr))
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok(), "sealed")
        check(not rec.notes("recording_escape"), "no escape alert for a start by sshd (%s)" % rec.notes("recording_escape"))
        check(not [e for e in env.events() if e["type"] == "recording_escape"], "no recording_escape event")
        # a start by anything else is still one, and named
        inner = "mount -t proc -o hidepid=2 proc /proc && exec " + " ".join(
            as_user(users, ["/bin/sh", "-c", "'%s; true'" % binary]))
        p = subprocess.run(["unshare", "-m", "sh", "-c", inner], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env.environ(SSH_ORIGINAL_COMMAND="true"), timeout=60)
        n = [Recording(env.pub, path).notes("recording_escape") for path in env.sessions()]
        check(p.returncode == 0 and sorted(len(x) for x in n) == [0, 1], "one more recording, with an escape alert")
        reason = [x for x in n if x][0][0]["reason"]
        check(reason.startswith("started by 'sh'"), "the alert names the parent (%s)" % reason)
    finally:
        env.cleanup()
        users.remove()


def test_spool_missing_said():
    """A spool folder that is missing (removed, never installed) cannot be made by the audit
    user: the user and the log are told the folder is missing and why it could not be made,
    not a bare "system error (Permission denied)"."""
    users = Users()
    env = Env(shell="/bin/sh")
    try:
        binary = setup(env, users)
        shutil.rmtree(env.spool)
        p = subprocess.run(as_user(users, [binary]), env=env.environ(SSH_ORIGINAL_COMMAND="echo should-not-run"),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        check(p.returncode != 0 and b"should-not-run" not in p.stdout, "deny: no spool, no session")
        want = ("the spool folder %s is missing and could not be made: Permission denied" % env.spool).encode()
        check(want in p.stderr, "the user is told the spool folder is missing (%r)" % p.stderr[-300:])
    finally:
        env.cleanup()
        users.remove()


def test_user_timer_cannot_kill_recorder():
    """Interval timers survive execve and their signals need no right to send: a user who arms
    one (setitimer, then exec of the recorder: a ~/.bashrc under ForceCommand can exec such a
    wrapper, and sshd is still the parent) must not get the recorder killed by SIGALRM, SIGVTALRM
    or SIGPROF at a moment of their choosing, mid-session, with the recording left unsealed."""
    users = Users()
    env = Env(shell="/bin/sh")
    try:
        binary = setup(env, users)
        arm = ("import os, signal, sys; signal.setitimer(signal.ITIMER_REAL, 1.0); "
               "signal.setitimer(signal.ITIMER_VIRTUAL, 0.001); signal.setitimer(signal.ITIMER_PROF, 0.001); "
               "os.execv(sys.argv[1], sys.argv[1:])")
        e = env.environ(SSH_ORIGINAL_COMMAND="sleep 2; echo done")
        p = subprocess.run(as_user(users, [sys.executable, "-c", arm, binary]), env=e, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        check(p.returncode == 0 and p.stdout == b"done\n",
              "a timer the user armed does not end the session (status %d, %r)" % (p.returncode, p.stderr[-200:]))
        check(Recording(env.pub, env.only_session()).sealed_ok(), "the recording is sealed")
    finally:
        env.cleanup()
        users.remove()


def test_shell_fork_failure_said():
    """The shell cannot be started (fork fails: the user is at the process limit, ulimit -u)
    after the terminal was made raw: the user is told why on a terminal put back first (in raw
    mode the message's line end came out without a carriage return, and the next prompt began
    under its end), the log says it too, and the recording is sealed with the reason "error".
    With on_failure = deny the hangup helper, forked first, meets the limit before the shell
    does: the session is refused then, before the terminal is made raw."""
    users = Users()
    env = Env(shell="/bin/sh", on_failure="deny")
    fds = ()
    try:
        binary = setup(env, users)
        # the limit on the user's processes the recorder starts under (set by the user: prlimit
        # after the change to the user, for setpriv's own exec would fail under it)
        argv = [shutil.which("setpriv")] + as_user(users, ["prlimit", "--nproc=1:1", "--", binary, "-c",
                                                            "echo never"])[1:]
        st, out, fds, before = run_on_own_pty(argv, env.environ())
        check(os.WIFEXITED(st) and os.WEXITSTATUS(st) == 1, "deny: refused with status 1 (%r, %r)" % (st, out[-300:]))
        check(b"never" not in out and out.endswith(b"session refused\r\n") and b"cannot set up" in out,
              "deny: refused at the start, and told why (%r)" % out[-300:])
        check_terminal_restored(fds[1], before, "deny, helper not started")
        for fd in fds:
            os.close(fd)
        fds = ()
        env.write_conf(shell="/bin/sh", on_failure="allow")
        setup(env, users)
        st, out, fds, before = run_on_own_pty(argv, env.environ())
        check(os.WIFEXITED(st) and os.WEXITSTATUS(st) == 1, "refused with status 1 (%r, %r)" % (st, out[-300:]))
        check(b"never" not in out, "no shell ran")
        check(out.endswith(b"tollgate-record: cannot start the shell: Resource temporarily unavailable\r\n"),
              "the user is told why, on a terminal put back first (%r)" % out[-300:])
        check_terminal_restored(fds[1], before, "shell not started")
        end = Recording(env.pub, env.only_session()).end()
        check(end is not None and end["reason"] == "error", "the recording is sealed, the reason error")
    finally:
        for fd in fds:
            os.close(fd)
        env.cleanup()
        users.remove()


def audit_children(pid, users):
    """The children of pid that run as the audit user, all four ids: the terminal's keeper."""
    return [k for k in children(pid) if ids(k)[0] == [users.aud.pw_uid] * 4]


def keeper_fds(pid, done, wait_s=30.0):
    """pid's open files as sorted (fd, target) pairs, once done(them) holds or wait_s have
    passed (a keeper closes what it inherited, then puts /dev/null in place of what it must not
    hold, after it was forked)."""
    end = time.monotonic() + wait_s
    while True:
        try:
            held = sorted((int(f), os.readlink("/proc/%d/fd/%s" % (pid, f)))
                          for f in os.listdir("/proc/%d/fd" % pid))
        except FileNotFoundError:  # closed between the listing and the look: look again
            held = []
        if (held and done(held)) or time.monotonic() > end:
            return held
        time.sleep(0.05)


def test_killed_recorder_terminal_restored():
    """kill -9 of the recorder (by root, the audit user, the OOM killer) runs none of its own
    restores: the terminal it was started on (su alice from another user's terminal, here
    root's) stayed raw, and exclusive, so that no program of that user's could open /dev/tty
    again. A keeper the recorder forks as the audit user (out of the user's reach) puts it back;
    there is none on a terminal the user may open (sshd's, the user's own)."""
    import fcntl
    import struct
    import termios
    users = Users()
    env = Env(shell="/bin/sh")
    fds = ()
    try:
        binary = setup(env, users)
        argv = [shutil.which("setpriv")] + as_user(users, [binary, "-c", "echo RE''ADY; exec sleep 300"])[1:]
        keepers = []

        def kill_it(pid, read_until):
            read_until(b"READY")
            keepers[:] = audit_children(pid, users)
            if keepers:
                # the shell's READY can come before the keeper has closed what it inherited
                held = [f for f, _ in keeper_fds(keepers[0], lambda h: [f for f, _ in h] == [0, 1, 2, 3])]
                check(held == [0, 1, 2, 3],
                      "the keeper holds the terminal and its pipe, nothing else (%r)" % held)
            os.kill(pid, signal.SIGKILL)

        def users_terminal():
            os.fchown(0, users.usr.pw_uid, -1)
            return True

        st, out, fds, before = run_on_own_pty(argv, env.environ(), child_setup=users_terminal, after_start=kill_it)
        check(not keepers, "no keeper of a terminal the user may open")
        for fd in fds:
            os.close(fd)
        fds = ()
        st, out, fds, before = run_on_own_pty(argv, env.environ(), after_start=kill_it)
        check(len(keepers) == 1, "a keeper, the audit user's, for another user's terminal")
        check(os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGKILL, "the recorder is killed (%r)" % st)
        slave, end = fds[1], time.monotonic() + 30.0
        while time.monotonic() < end:
            excl = struct.unpack("i", fcntl.ioctl(slave, 0x80045440, b"\0" * 4))[0]  # TIOCGEXCL
            if excl == 0 and termios.tcgetattr(slave)[:6] == before[:6]:
                break
            time.sleep(0.05)
        check_terminal_restored(slave, before, "recorder killed")
        # the relay made the terminal's open file non-blocking (it writes to a client that may
        # not read): the same open file as the caller's shell's 0 to 2, whose programs would
        # read EAGAIN from it
        check(not fcntl.fcntl(slave, fcntl.F_GETFL) & os.O_NONBLOCK,
              "recorder killed: the terminal's open file is not left non-blocking")
    finally:
        for fd in fds:
            os.close(fd)
        env.cleanup()
        users.remove()


def test_killed_command_recorder_terminal_blocking():
    """Command mode ("su alice -c cmd" from root's terminal, stdin not a terminal): the relay
    makes stdout and stderr non-blocking, and on a terminal that is the open file the caller's
    shell reads from. kill -9 of the recorder left it so, and the caller's next programs read
    EAGAIN. The keeper (the audit user's) holds the terminal, not the caller's pipe on stdin (its
    writer must see EPIPE once the recorder is gone), and makes it blocking again; it is in a
    process group of its own, so a kill -9 of the recorder's whole job (kill -9 %1) leaves it.
    There is none when no terminal is on 0 to 2."""
    import fcntl
    users = Users()
    env = Env(shell="/bin/sh")
    fds = ()
    r = w = None
    try:
        binary = setup(env, users)
        argv = [shutil.which("setpriv")] + as_user(users, [binary, "-c", "echo RE''ADY; exec sleep 300"])[1:]
        keepers, held = [], []
        r, w = os.pipe()

        def kill_it(pid, read_until):
            read_until(b"READY")
            keepers[:] = audit_children(pid, users)
            if keepers:
                # until it has put /dev/null in the place of the caller's pipe
                held[:] = keeper_fds(keepers[0], lambda h: h and h[0][1] == "/dev/null")
            os.killpg(pid, signal.SIGKILL)  # the recorder leads its session and group here

        def stdin_pipe():
            os.dup2(r, 0)
            os.close(r)
            os.close(w)
            return True

        st, out, fds, before = run_on_own_pty(argv, env.environ(), child_setup=stdin_pipe, after_start=kill_it)
        check(len(keepers) == 1, "a keeper, the audit user's, for another user's terminal on stdout")
        check(os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGKILL, "the recorder is killed (%r)" % st)
        tty = os.ttyname(fds[1])
        check([f for f, _ in held] == [0, 1, 2, 3] and held[0][1] == "/dev/null" and
              held[1][1] == tty and held[2][1] == tty,
              "the keeper holds the terminal on 1 and 2, /dev/null for the caller's pipe (%r)" % held)
        slave, end = fds[1], time.monotonic() + 30.0
        while time.monotonic() < end and fcntl.fcntl(slave, fcntl.F_GETFL) & os.O_NONBLOCK:
            time.sleep(0.05)
        check(not fcntl.fcntl(slave, fcntl.F_GETFL) & os.O_NONBLOCK,
              "recorder's group killed: the terminal's open file is not left non-blocking")
        for fd in fds:
            os.close(fd)
        fds = ()
        os.close(r)
        os.close(w)
        r = w = None
        # no terminal at all: no keeper
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                fd = os.open("/dev/null", os.O_RDONLY)
                os.dup2(fd, 0)
                os.dup2(w, 1)
                os.dup2(w, 2)
                os.execve(argv[0], argv, env.environ())
            finally:
                os._exit(127)
        os.close(w)
        w = None
        out, found = b"", None
        end = time.monotonic() + 30.0
        while b"READY" not in out and time.monotonic() < end:
            if select.select([r], [], [], 0.1)[0]:
                out += os.read(r, 65536)
        found = audit_children(pid, users)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        check(b"READY" in out and not found, "no keeper without a terminal (%r, %r)" % (out, found))
    finally:
        for fd in tuple(fds) + tuple(f for f in (r, w) if f is not None):
            os.close(fd)
        env.cleanup()
        users.remove()


def test_failed_drop_runs_no_shell():
    """The recorder cannot become the audit user for good (its setresuid() to the audit user
    refused: a seccomp filter here), while the shell's drop to the user works: the shell, and
    the start-up files of a login shell, must not run at all, not even while the recorder says
    why and leaves: nothing it does is recorded. (The recorder's stderr is a full pipe here, so
    that it takes its time.)"""
    import fcntl
    users = Users()
    env = Env(shell="/bin/sh")
    r = w = master = slave = pid = None
    try:
        binary = setup(env, users)
        box = os.path.join(env.dir, "box")
        os.mkdir(box)
        os.chmod(box, 0o777)
        marker = os.path.join(box, "ran")
        master, slave = os.openpty()
        r, w = os.pipe()
        fcntl.fcntl(w, fcntl.F_SETFL, os.O_NONBLOCK)
        try:
            while True:
                os.write(w, b"x" * 4096)
        except BlockingIOError:
            pass
        fcntl.fcntl(w, fcntl.F_SETFL, 0)
        argv = [shutil.which("setpriv")] + as_user(users, [binary, "-c", "touch %s" % marker])[1:]
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                os.dup2(slave, 0)
                os.dup2(slave, 1)
                os.dup2(w, 2)
                if not deny_setresuid(users.aud.pw_uid):
                    os._exit(99)
                os.execve(argv[0], argv, env.environ())
            finally:
                os._exit(127)
        os.close(w)
        w = None
        end = time.monotonic() + 3
        while time.monotonic() < end and not os.path.exists(marker):
            time.sleep(0.05)
        check(not os.path.exists(marker), "no shell ran while the recorder was leaving")
        err = b""
        while True:
            d = os.read(r, 65536)
            if not d:
                break
            err += d
        _, st = os.waitpid(pid, 0)
        pid = None
        if os.WIFEXITED(st) and os.WEXITSTATUS(st) == 99:
            skip("cannot set a seccomp filter here")
        check(os.WIFEXITED(st) and os.WEXITSTATUS(st) == 1 and b"cannot switch to the audit user" in err,
              "the recorder says why and ends (%r, %r)" % (st, err[-200:]))
        time.sleep(0.5)
        check(not os.path.exists(marker), "no shell ran after it either")
    finally:
        kill_quietly(pid)
        for fd in (r, w, master, slave):
            if fd is not None:
                os.close(fd)
        env.cleanup()
        users.remove()


def slow_setresuid(users, binary):
    """argv running the setuid copy as the user under strace, each setresuid() returning 1.5 s
    late, so that the moment after the child's drop lasts; None (said) where that cannot be done."""
    strace = shutil.which("strace")
    if not strace or subprocess.run([strace, "-qq", "-o", "/dev/null", "-e", "trace=setresuid", "-e",
                                     "inject=setresuid:delay_exit=1", "true"],
                                    stderr=subprocess.DEVNULL).returncode != 0:
        print("(skipped: strace is not installed, or cannot delay a system call here)")
        return None
    return [strace, "-f", "-qq", "-o", "/dev/null", "-e", "trace=setresuid",
            "-e", "inject=setresuid:delay_exit=1500000"] + as_user(users, [binary])


def probe_users_processes(probe):
    """Run a command session of the setuid copy with setresuid() slowed (slow_setresuid) and call
    probe(pid, binary, env) for every process with the user's real, effective and saved uid, again
    and again while the session runs. Returns the Env (the caller reads its recording, then
    env.cleanup()), or None when it cannot be done (said)."""
    users = Users()
    env = Env(shell="/bin/sh")
    p = None
    try:
        binary = setup(env, users)
        uid = users.usr.pw_uid
        argv = slow_setresuid(users, binary)
        if argv is None:
            env.cleanup()
            return None
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env.environ(SSH_ORIGINAL_COMMAND="echo done"))
        while p.poll() is None:
            for pid in [int(d) for d in os.listdir("/proc") if d.isdigit()]:
                try:
                    if ids(pid)[0][:3] == [uid] * 3:
                        probe(pid, binary, env)
                except (OSError, TypeError, IndexError):
                    pass
            time.sleep(0.01)
        out, err = p.communicate(timeout=60)
        check(p.returncode == 0 and out == b"done\n", "the session runs (%d, %r)" % (p.returncode, err[-300:]))
        return env
    except BaseException:
        env.cleanup()
        raise
    finally:
        if p is not None:
            end_process(p)
        users.remove()


def test_child_holds_nothing_once_the_users():
    """The shell's process holds no descriptor of the recorder's (the recording, writable, with
    its lock) from the moment it runs with the user's ids: the user may signal, and where the
    change of ids makes it dumpable again (fs.suid_dumpable = 1) trace, a process of theirs, and
    one stopped in that moment would let them write into their own recording at will. Here each
    setresuid() returns 1.5 s late (strace), so the moment lasts."""
    held = set()

    def spool_files(pid, binary, env):
        spool = os.path.realpath(env.spool)
        for fd in os.listdir("/proc/%d/fd" % pid):
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            if target.startswith(spool + "/"):
                held.add((pid, int(fd), target))

    env = probe_users_processes(spool_files)
    if env is None:
        return
    env.cleanup()
    check(not held, "no process with the user's ids holds a file of the spool (%s)" % sorted(held))


def ed25519_pk(seed):
    """The Ed25519 public key of a 32-byte seed (openssl: an independent implementation)."""
    der = bytes.fromhex("302e020100300506032b657004220420") + seed
    out = subprocess.run(["openssl", "pkey", "-inform", "DER", "-pubout", "-outform", "DER"], input=der,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return out.stdout[-32:] if out.returncode == 0 else None


def writable_memory(pid):
    """The bytes of a process's writable mappings (heap, stack, anonymous): read as root."""
    parts = []
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
        for line in maps:
            f = line.split()
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            if "w" not in f[1] or hi - lo > 64 * 1024 * 1024:
                continue
            try:
                mem.seek(lo)
                parts.append(mem.read(hi - lo))
            except OSError:
                pass
    return b"".join(parts)


def test_child_has_no_session_key():
    """The shell's process wipes its copy of the session's signing key before it becomes the
    user's: in the moment between its setresuid() and PR_SET_DUMPABLE 0 (fs.suid_dumpable = 1)
    a user's ptrace could attach and read it, and sign a recording of their own making that
    verifies. Here each setresuid() returns 1.5 s late (strace); the memory of every process
    with the user's ids is read then, and searched for the key (seed and public key, as
    libsodium keeps it) whose public key the recording's header names."""
    if not shutil.which("openssl"):
        print("(skipped: openssl is not installed)")
        return
    dumps = {}

    def memory(pid, binary, env):
        # the recorder's own child (the shell before its exec), once
        if pid not in dumps and os.readlink("/proc/%d/exe" % pid) == binary:
            dumps[pid] = writable_memory(pid)

    env = probe_users_processes(memory)
    if env is None:
        return
    try:
        check(dumps and all(dumps.values()), "the user's processes of the recorder were read (%d)" % len(dumps))
        pk = bytes.fromhex(Recording(env.pub, env.only_session()).header["session_key"])
    finally:
        env.cleanup()
    found = []
    for pid, mem in dumps.items():
        at = mem.find(pk)
        while at >= 0:
            if at >= 32 and ed25519_pk(mem[at - 32:at]) == pk:
                found.append((pid, at))
            at = mem.find(pk, at + 1)
    check(not found, "no process with the user's ids holds the session's signing key (%s)" % found)


def test_transfer_path_not_repointed():
    """A transfer named by an absolute path through a symlink of the user's (here to /usr/bin)
    passed the check that the program and its folder are root's alone, and the shell's process
    ran it later by the same path: in between, the user pointed the link at a folder of their
    own, and their own "scp" (any program: a shell reading commands from stdin) ran as a
    transfer, recorded as metadata only. Whatever runs must be recorded in full, or be the file
    checked. Here each setresuid() returns 1.5 s late (strace), and the link is re-pointed once
    the recording exists, that is, after the check."""
    users = Users()
    env = Env(shell="/bin/sh")
    p = None
    try:
        binary = setup(env, users)
        argv = slow_setresuid(users, binary)
        if argv is None:
            return
        u = users.usr
        box = os.path.join(env.dir, "box")
        own = os.path.join(box, "own")
        os.makedirs(own)
        marker = os.path.join(box, "ran")
        with open(os.path.join(own, "scp"), "w") as f:
            f.write("#!/bin/sh\necho own program; touch %s\n" % marker)
        os.chmod(os.path.join(own, "scp"), 0o755)
        link = os.path.join(box, "bin")
        os.symlink("/usr/bin", link)
        for path in (box, own, os.path.join(own, "scp"), link):
            os.lchown(path, u.pw_uid, u.pw_gid)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env.environ(SSH_ORIGINAL_COMMAND="%s/scp -t %s" % (link, box)))
        end = time.monotonic() + 30
        while not env.active() and p.poll() is None and time.monotonic() < end:
            time.sleep(0.005)
        check(env.active() != [], "the recording exists: the program was checked")
        new = link + ".new"
        os.symlink(own, new)
        os.lchown(new, u.pw_uid, u.pw_gid)
        os.rename(new, link)
        out, err = p.communicate(timeout=60)
        rec = Recording(env.pub, env.only_session())
        ran = os.path.exists(marker) or b"own program" in out
        check(not ran or rec.header["mode"] == "command",
              "the user's own program put in its place did not run as a transfer (%s, %r %r)"
              % (rec.header["mode"], out, err[-200:]))
        check(not ran or b"own program" in rec.data("out"), "what ran is recorded in full")
        # a link of the user's named scp, to a program of root's (bash: its -t runs one command
        # read from stdin) is no scp either
        link = os.path.join(box, "scp")
        os.symlink(shutil.which("bash") or "/bin/sh", link)
        os.lchown(link, u.pw_uid, u.pw_gid)
        p = subprocess.Popen(as_user(users, [binary]), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env.environ(SSH_ORIGINAL_COMMAND="%s -t" % link))
        out, err = p.communicate(b"echo unseen-command\n", timeout=60)
        modes = [Recording(env.pub, f).header["mode"] for f in env.sessions()]
        check(modes.count("transfer") == 0, "a link named scp is no transfer (%s, %r %r)" % (modes, out, err[-200:]))
    finally:
        if p is not None:
            end_process(p)
        env.cleanup()
        users.remove()


def suid_dumpable(value):
    """Set fs.suid_dumpable; the value it had, or None when it cannot be set here."""
    path = "/proc/sys/fs/suid_dumpable"
    try:
        with open(path) as f:
            old = f.read().strip()
        with open(path, "w") as f:
            f.write(value)
        return old
    except OSError:
        return None


def with_suid_dumpable_1(test):
    """Run test with fs.suid_dumpable = 1, the value it had put back after; skipped, and said
    so, where it cannot be set."""
    @functools.wraps(test)
    def run():
        old = suid_dumpable("1")
        if old is None:
            print("(skipped: fs.suid_dumpable cannot be set here)")
            return
        try:
            test()
        finally:
            suid_dumpable(old)
    return run


@with_suid_dumpable_1
def test_recorder_stays_undumpable():
    """The recorder switches its effective ids to the user's and back (to open the pty as the
    user, to look at its parent as the user), and every such change makes the kernel reset the
    dumpable flag to fs.suid_dumpable. With 1 there the recorder was dumpable for the rest of
    the session, the session's signing key in its memory: a core dump the user provokes (before
    the final drop their real uid may still signal it, and a shell that dies of SIGSEGV has the
    recorder raise it too) must not be possible. A process that is not dumpable has its /proc
    files owned by root; here they were the audit user's. fs.suid_dumpable is 1 for the test
    only."""
    users = Users()
    env = Env(shell="/bin/sh")
    p = s = None
    try:
        binary = setup(env, users)
        a = users.aud
        # a command session: the escape check looks at the parent as the user
        p = subprocess.Popen(as_user(users, [binary]), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env.environ(SSH_ORIGINAL_COMMAND="echo ready; sleep 3"))
        check(read_line(p.stdout) == b"ready\n", "the command runs")
        check(ids(p.pid)[0] == [a.pw_uid] * 4, "the recorder is the audit user's")
        owner = os.stat("/proc/%d/status" % p.pid).st_uid
        check(owner == 0, "command session: the recorder is not dumpable (its /proc owned by %d)" % owner)
        end_process(p)
        p = None
        # a terminal session: the pty is opened as the user
        s = PtySession(env, argv=as_user(users, [binary]), environ=env.environ())
        s.sync()
        check(ids(s.pid)[0] == [a.pw_uid] * 4, "the pty recorder is the audit user's")
        owner = os.stat("/proc/%d/status" % s.pid).st_uid
        check(owner == 0, "terminal session: the recorder is not dumpable (its /proc owned by %d)" % owner)
        s.send(b"exit\n")
        s.wait()
        s = None
    finally:
        if p is not None:
            end_process(p)
        if s is not None:
            s.kill()
        env.cleanup()
        users.remove()


SPY = r"""
import os, sys, time
binary, secret, stop = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
done, found = set(), []
while not os.path.exists(stop):
    for d in os.listdir("/proc"):
        if not d.isdigit() or d in done:
            continue
        try:
            # only while the process is this user's and dumpable can its exe, maps and mem be opened
            if os.readlink("/proc/%s/exe" % d) != binary:
                continue
            with open("/proc/%s/maps" % d) as maps, open("/proc/%s/mem" % d, "rb", buffering=0) as mem:
                done.add(d)
                for line in maps:
                    f = line.split()
                    lo, hi = (int(x, 16) for x in f[0].split("-"))
                    if "w" not in f[1] or hi - lo > 64 << 20:
                        continue
                    try:
                        mem.seek(lo)
                        if secret in mem.read(hi - lo):
                            found.append(d)
                    except OSError:
                        pass
        except OSError:
            pass
    time.sleep(0.002)
print("read %d found %d" % (len(done), len(found)))
"""


@with_suid_dumpable_1
def test_config_secrets_not_left_to_user():
    """tollgate.conf may hold the uploader's secrets (the Slack webhook, static S3 keys), and the
    recorder reads all of it. The hangup helper and the shell's process are copies of the
    recorder that become the user's; PR_SET_DUMPABLE 0 comes one system call after their
    setresuid(), and with fs.suid_dumpable = 1 a process of the user's that opens their memory
    in that moment keeps reading it (/proc/PID/mem is checked at open only): the helper's for
    the whole session. Neither may hold those secrets by then. Here each setresuid() returns
    1.5 s late (strace) and fs.suid_dumpable is 1, so that the user's reader gets in."""
    users = Users()
    env = Env(shell="/bin/sh")
    secret = "https://hooks.slack.com/services/T0/B0/tollgate-test-secret-%d" % os.getpid()
    with open(env.conf, "a") as f:
        f.write("[slack]\nwebhook_url = %s\n" % secret)
    p = spy = None
    try:
        binary = setup(env, users)
        argv = slow_setresuid(users, binary)
        if argv is None:
            return
        stop = os.path.join(env.dir, "stop")
        spy = subprocess.Popen(as_user(users, [sys.executable, "-c", SPY, binary, secret, stop]),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env.environ(SSH_ORIGINAL_COMMAND="echo done"))
        out, err = p.communicate(timeout=60)
        check(p.returncode == 0 and out == b"done\n", "the session runs (%d, %r)" % (p.returncode, err[-300:]))
        open(stop, "w").close()
        said, err = spy.communicate(timeout=30)
        read = said.split()
        check(len(read) == 4 and int(read[1]) >= 1,
              "the user's reader got into the recorder's processes of theirs (%r %r)" % (said, err[-300:]))
        check(read[3] == b"0", "none of them holds the config's secret (%r)" % said)
    finally:
        if p is not None:
            end_process(p)
        if spy is not None:
            end_process(spy)
        env.cleanup()
        users.remove()


if __name__ == "__main__":
    main([test_installed_build_ignores_env_config, test_privsep, test_privsep_pty, test_traceme_under_privsep,
          test_outer_terminal_exclusive_before_shell,
          test_keygen_owner, test_fsize_limit_below_cap_refused, test_stack_limit, test_failure_ends_command,
          test_failure_ends_session_jobs, test_helper_holds_nothing_at_drop,
          test_ctrl_c_ends_command, test_hangup_of_root_processes_said, test_failure_found_at_seal_reported, test_escape_check_under_hidepid, test_spool_missing_said,
          test_user_timer_cannot_kill_recorder, test_shell_fork_failure_said, test_killed_recorder_terminal_restored,
          test_killed_command_recorder_terminal_blocking, test_failed_drop_runs_no_shell,
          test_child_holds_nothing_once_the_users, test_child_has_no_session_key,
          test_transfer_path_not_repointed, test_recorder_stays_undumpable,
          test_config_secrets_not_left_to_user])
