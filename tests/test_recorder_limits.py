#!/usr/bin/env python3
"""max_session_bytes and max_rate: "cat /dev/urandom" does not grow the
recording past the cap; what is not stored is counted (DROPPED records and the
END totals), and the recording stays sealed and verifiable."""
import os
import resource
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from recorder_lib import (REPLAY, RECORDER, Env, Failed, PtySession, Recording, check,  # noqa: E402
                          check_terminal_restored, main, run_on_own_pty, run_pipes)

MIB = 1024 * 1024


def accounted(rec, stream):
    end = rec.end()
    dropped = sum(r["dropped"] for r in rec.of("dropped") if r["stream"] == stream)
    return end["bytes"][stream] == end["stored"][stream] + dropped


def test_size_cap_pipes():
    env = Env(shell="/bin/sh", max_session_bytes="1M")
    try:
        # the output goes to /dev/null: the test need not hold gigabytes
        subprocess.run([RECORDER], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, timeout=120,
                       env=env.environ(SSH_ORIGINAL_COMMAND="timeout 10 cat /dev/urandom; true"))
        path = env.only_session()
        size = os.path.getsize(path)
        check(size <= 1 * MIB, "the recording stays under max_session_bytes (%d bytes)" % size)
        rec = Recording(env.pub, path, data=False)
        check(rec.sealed_ok(), "sealed and intact")
        # well past the 1 MiB cap, and within reach of a loaded machine in 10 s
        check(rec.end()["bytes"]["out"] > 4 * MIB, "END counts every byte passed on (%d MiB)" %
              (rec.end()["bytes"]["out"] // MIB))
        check(accounted(rec, "out"), "stored + DROPPED = passed on")
        check(any(n.get("cap") == "max_session_bytes" for n in rec.notes("cap")), "a NOTE marks the cap")
    finally:
        env.cleanup()


def test_size_cap_pty():
    env = Env(shell="/bin/sh", max_session_bytes="1M")
    try:
        s = PtySession(env, argv=[RECORDER, "-c", "timeout 5 cat /dev/urandom; echo; echo DO''NE"])
        s.read_until(b"DONE", timeout=60)
        s.wait()
        path = env.only_session()
        check(os.path.getsize(path) <= 1 * MIB, "pty: the recording stays under the cap (%d)" % os.path.getsize(path))
        rec = Recording(env.pub, path, data=False)
        check(rec.sealed_ok() and accounted(rec, "out"), "pty: sealed; stored + DROPPED = passed on")
    finally:
        env.cleanup()


def test_rate_cap():
    env = Env(shell="/bin/sh", max_rate="65536")
    try:
        t0 = time.time()
        rc, out, err = run_pipes(env, "head -c 20000000 /dev/zero; sleep 1.5; echo after-pause", timeout=120)
        dur = time.time() - t0
        rec = Recording(env.pub, env.only_session(), data=False)
        stored = rec.end()["stored"]["out"]
        check(out.endswith(b"after-pause\n") and len(out) == 20000000 + 12, "everything passed on")
        check(stored <= 65536 * (dur + 1), "stored bytes follow max_rate (%d in %.1f s)" % (stored, dur))
        check(accounted(rec, "out") and rec.sealed_ok(), "sealed; stored + DROPPED = passed on")
        check(b"after-pause" in Recording(env.pub, env.only_session()).data("out"),
              "output after the burst is stored again")
    finally:
        env.cleanup()


def test_rate_cap_file_growth():
    """Under max_rate the file grows by about the rate, not only the stored payload: a producer
    faster than the cap used to get one byte stored per read, each with its framing and a
    DROPPED record before it, and the file grew at up to 16 times the rate."""
    rate = 65536
    env = Env(shell="/bin/sh", max_rate=str(rate))
    try:
        t0 = time.time()
        p = subprocess.run([RECORDER], env=env.environ(SSH_ORIGINAL_COMMAND="timeout 4 cat /dev/zero"),
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=120)
        dur = time.time() - t0
        path = env.only_session()
        size = os.path.getsize(path)
        rec = Recording(env.pub, path, data=False)
        check(rec.sealed_ok() and accounted(rec, "out"), "sealed; stored + DROPPED = passed on (%r)" % p.stderr[-200:])
        check(size <= rate * (dur + 1) + 16384,
              "the file grew by %d bytes in %.1f s at max_rate %d (at most %d)" % (size, dur, rate, rate * (dur + 1) + 16384))
        check(rec.end()["stored"]["out"] >= rate, "output is still stored at the rate: %d bytes" % rec.end()["stored"]["out"])
    finally:
        env.cleanup()


def test_resize_storm_rate_cap():
    """Window-size changes count against max_rate as output does: a client that sends them as fast
    as it can (SIGWINCH via TIOCSWINSZ on the outer terminal) does not grow the recording past the
    rate. Past it they are coalesced: the last size is recorded before the output that follows."""
    rate = 2048
    env = Env(shell="/bin/sh", max_rate=str(rate))
    s = None
    try:
        s = PtySession(env)
        s.sync()
        t0 = time.time()
        for i in range(200000):
            s.resize(60 + i % 40, 20 + i % 7)
        s.resize(97, 31)
        # output at once (the rate cap holds it, and the last size), and after a pause that
        # lets the rate through again
        s.send(b"stty size; sleep 1.5; stty size; echo DO''NE\n")
        s.read_until(b"DONE\r\n", timeout=60)
        s.send(b"exit\n")
        s.wait()
        dur = time.time() - t0
        path = env.only_session()
        size = os.path.getsize(path)
        rec = Recording(env.pub, path)
        check(rec.sealed_ok(), "sealed and intact")
        r = subprocess.run([REPLAY, "-c", env.conf, "verify", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        check(r.returncode == 0, "tollgate-replay verify passes: %r" % r.stdout[-300:])
        resizes = rec.of("resize")
        # a RESIZE record is at most 11 bytes and counts as 16 (one more may be written at the
        # end); what else is in the file (header, checkpoints every 5 s, END, the seal, a few
        # lines of output) is some KiB
        check(len(resizes) * 16 <= rate * (dur + 1) + 16,
              "window changes follow max_rate (%d in %.1f s)" % (len(resizes), dur))
        check(size <= rate * (dur + 1) + 16384, "the recording stays bounded (%d bytes in %.1f s)" % (size, dur))
        # the size in force when "stty size" printed is the last one recorded before its output
        last = None
        for rr in rec.records:
            if rr["type"] == "resize":
                last = (rr["cols"], rr["rows"])
            elif rr["type"] == "out" and b"31 97" in bytes.fromhex(rr.get("hex", "")):
                break
        else:
            raise Failed("the output of stty size is not stored")
        check(last == (97, 31), "the last window size precedes the output that follows it (%r)" % (last,))
        check(any(n.get("cap") == "max_rate" for n in rec.notes("cap")), "a NOTE marks the rate cap")
        dropped = rec.end().get("resizes_dropped", 0)
        check(dropped > 0, "END counts the window changes not recorded")
        r = subprocess.run([REPLAY, "-c", env.conf, "info", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        want = ("%d (last 97x31), %d more not recorded (max_rate or max_session_bytes)"
                % (len(resizes), dropped)).encode()
        check(want in r.stdout, "info shows the window changes not recorded: %r" % r.stdout[-600:])
    finally:
        if s is not None:
            s.kill()
        env.cleanup()


def test_user_rlimits():
    """Soft limits the user set before starting the recorder bind the shell, not the recorder."""
    env = Env(shell="/bin/sh")

    def lower():
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        resource.setrlimit(resource.RLIMIT_CPU, (1, resource.getrlimit(resource.RLIMIT_CPU)[1]))

    try:
        p = subprocess.run([RECORDER], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, timeout=120, preexec_fn=lower,
                           env=env.environ(SSH_ORIGINAL_COMMAND="head -c 300000 /dev/zero | od -v; sleep 0.3; "
                                           "ulimit -f; ulimit -t"))
        check(p.returncode == 0 and p.stdout.endswith(b"\n128\n1\n"), "the command runs with the user's limits")
        rec = Recording(env.pub, env.only_session(), data=False)
        check(rec.sealed_ok(), "a file size limit of the user's does not cut the recording (%s)" % rec.verdict)
        check(rec.end()["stored"]["out"] == len(p.stdout), "all the output is stored")
    finally:
        env.cleanup()


def test_cpu_limit_ends_session_cleanly():
    """A hard CPU time limit (ulimit -Ht, limits.conf "cpu") stays in force in the recorder. At
    it the kernel sends SIGKILL, which nothing catches: the terminal stayed raw and exclusive,
    the recording unsealed, a command's helper left to end the command. A second before it the
    recorder now gets SIGXCPU and ends the session as at a hangup: the shell hung up, the
    recording sealed (reason cpu_limit), the terminal restored, the user told why."""
    env = Env(shell="/bin/sh", max_session_bytes="1M")
    fds = ()
    zero = open("/dev/zero", "rb")
    try:
        # terminal: SIGXCPU as the kernel sends it (a pty the test reads is too slow a way to use
        # up the recorder's CPU time)
        def xcpu(pid, read_until):
            read_until(b"READY")
            os.kill(pid, signal.SIGXCPU)

        st, out, fds, before = run_on_own_pty([RECORDER, "-c", "echo RE''ADY; exec sleep 60"], env.environ(),
                                              after_start=xcpu)
        tail = out[-300:]
        check(os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGHUP,
              "terminal: the session ends as its hung-up shell did (%r, %r)" % (st, tail))
        check_terminal_restored(fds[1], before, "SIGXCPU")
        check(b"CPU time limit" in tail, "the user is told why (%r)" % tail)
        rec = Recording(env.pub, env.only_session(), data=False)
        check(rec.sealed_ok() and rec.end()["reason"] == "cpu_limit", "sealed, the reason cpu_limit")
        os.unlink(env.only_session())
        # command: the real limit, 2 s of CPU. The recorder's work is the most here (stdin from
        # /dev/zero, input only counted, into the command's pipe); the command's (cat, with the
        # same limit) is less: the recorder's time runs out first
        p = subprocess.run([shutil.which("prlimit"), "--cpu=2:2", "--", RECORDER], stdin=zero,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120,
                           env=env.environ(SSH_ORIGINAL_COMMAND="exec cat >/dev/null"))
        # the command ends at the EOF of its stdin, or of the helper's SIGHUP
        check(p.returncode in (0, -signal.SIGHUP), "command: ended with its command, not killed (%d, %r)" %
              (p.returncode, p.stderr[-300:]))
        check(b"CPU time limit" in p.stderr, "the user is told why (%r)" % p.stderr[-300:])
        rec = Recording(env.pub, env.only_session(), data=False)
        check(rec.sealed_ok() and rec.end()["reason"] == "cpu_limit", "command: sealed, the reason cpu_limit")
    finally:
        zero.close()
        for fd in fds:
            os.close(fd)
        env.cleanup()


def test_spool_cap_sessions_at_once():
    """spool_max_bytes is a cap during sessions too, not only at their start: sessions that run at
    once, each under max_session_bytes (a user starts them side by side, or runs the recorder in
    a loop), must not fill the disk far past it. Three floods of 30 MB with a 2 MiB spool cap:
    once the spool holds the cap, each stores no more, notes why, and is still sealed."""
    env = Env(shell="/bin/sh", max_session_bytes="64M")
    try:
        with open(env.conf, "a") as f:
            f.write("[uploader]\nspool_max_bytes = 2M\n")
        procs = [subprocess.Popen([RECORDER], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  env=env.environ(SSH_ORIGINAL_COMMAND="head -c 30000000 /dev/urandom"))
                 for _ in range(3)]
        for p in procs:
            p.wait(timeout=120)
        paths = env.sessions()
        check(len(paths) == 3 and all(p.returncode == 0 for p in procs), "three sessions recorded")
        total = sum(os.path.getsize(p) for p in paths)
        check(total < 8 * MIB, "the spool stays near spool_max_bytes (%d bytes, not 90 MB)" % total)
        recs = [Recording(env.pub, p, data=False) for p in paths]
        check(all(r.sealed_ok() and accounted(r, "out") for r in recs), "sealed; stored + DROPPED = passed on")
        check(all(r.end()["bytes"]["out"] == 30000000 for r in recs), "END counts every byte passed on")
        check(any(n.get("cap") == "spool_max_bytes" for r in recs for n in r.notes("cap")),
              "a NOTE says the spool cap held the output back")
    finally:
        env.cleanup()


if __name__ == "__main__":
    main([test_size_cap_pipes, test_size_cap_pty, test_rate_cap, test_rate_cap_file_growth, test_resize_storm_rate_cap, test_user_rlimits,
          test_spool_cap_sessions_at_once, test_cpu_limit_ends_session_cleanly])
