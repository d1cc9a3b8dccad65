#!/usr/bin/env python3
"""kill -9 of the recorder at random instants leaves a recording that verifies
up to its last checkpoint (unsealed, never "tampered"); such files are handed
over to sessions/ by the next recorder start or by --recover, while the file of
a live recorder is left alone."""
import os
import random
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from recorder_lib import (RECORDER, TG_ERR_UNSEALED, Env, PtySession, Recording, check, main,  # noqa: E402
                          read_line, run_pipes)

PRODUCER = "echo started; i=0; while :; do i=$((i+1)); echo line $i; done"


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def kill_tree(pid):
    """SIGKILL the recorder, then its shell (which the recorder may no longer be able to end)."""
    kids = children(pid)
    os.kill(pid, signal.SIGKILL)
    for k in kids:
        try:
            os.kill(k, signal.SIGKILL)
        except OSError:
            pass


def first_bytes(f, wait_s):
    """Up to the first 8 bytes of pipe f, waiting at most wait_s s (less at its end)."""
    first = b""
    end = time.monotonic() + wait_s
    while len(first) < 8:
        r, _, _ = select.select([f], [], [], max(0.0, end - time.monotonic()))
        d = os.read(f.fileno(), 8 - len(first)) if r else b""
        if not d:
            break
        first += d
    return first


def kill_pipes(env, delay, in_session=False):
    """A recorder through pipes, killed after delay s (in_session: after delay s of its session,
    however long its start took); True if its session had begun."""
    p = subprocess.Popen([RECORDER], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=env.environ(SSH_ORIGINAL_COMMAND=PRODUCER))
    first = first_bytes(p.stdout, 30.0) if in_session else b""
    time.sleep(delay)
    kill_tree(p.pid)
    p.wait()
    if not in_session:
        first = first_bytes(p.stdout, 5.0)
    p.stdout.close()
    return first.startswith(b"started")


def kill_pty(env, delay, in_session=False):
    """A recorder on a pty, read as a client would, killed after delay s (in_session: after
    delay s of its session, however long its start took); True if its session had begun."""
    s = PtySession(env, argv=[RECORDER, "-c", PRODUCER])
    if in_session:
        try:
            s.read_until(b"started", timeout=30.0)
        except Exception:
            pass  # not begun: the check on the count says so
    began = False
    end = time.time() + delay
    while time.time() < end:
        try:
            s.read_until(b"\x00never", timeout=min(0.1, max(0.01, end - time.time())))
        except Exception:
            pass
        began = began or b"started" in s.out
        s.out = s.out[-4096:]
    kill_tree(s.pid)
    s.wait()
    return began or b"started" in s.out


def test_kill9_loop():
    env = Env(shell="/bin/sh")
    rnd = random.Random(os.getpid())
    try:
        n, begun = 12, 0
        for i in range(n):
            # the first ones die during start-up (config, key, header), the rest in the session:
            # once it has begun, a start slow on a loaded machine left out of their delay
            delay = rnd.uniform(0.0, 0.01) if i < 4 else rnd.uniform(0.0, 2.5)
            before = len(env.active() + env.sessions())
            began = (kill_pipes if i % 2 == 0 else kill_pty)(env, delay, in_session=i >= 4)
            grew = len(env.active() + env.sessions()) - before
            begun += began
            check(grew == 1 if began else grew in (0, 1),
                  "recorder %d killed after %.3f s (session %s): %d recording(s) more" %
                  (i, delay, "begun" if began else "not begun", grew))
        check(begun >= n - 4, "%d of the %d sessions had begun" % (begun, n))
        # each start hands over the files of those killed before it: they are in sessions/ by now
        files = env.active() + env.sessions()
        check(len(env.active()) <= 1, "all but the last were handed over by the next recorder's start")
        for path in files:
            rec = Recording(env.pub, path, data=False)
            v = rec.verdict
            check(v["status"] == TG_ERR_UNSEALED and v["key_checked"],
                  "%s: unsealed, intact up to byte %d of %d (%.2f s)" % (os.path.basename(path), v["verified_bytes"],
                                                                       os.path.getsize(path),
                                                                       v["verified_time_us"] / 1e6))
        last = len(env.active())
        r = subprocess.run([RECORDER, "--recover"], env=env.environ(), stdout=subprocess.PIPE, timeout=60)
        check(r.returncode == 0 and b"%d recording(s)" % last in r.stdout, "--recover hands the last one over")
        check(not env.active() and len(env.sessions()) == len(files), "active/ is empty, sessions/ holds them")
        # a recorder killed before its header was durable leaves at most a dot-file, never a *.tgr
        stray = [n for n in os.listdir(os.path.join(env.spool, "active")) if not n.endswith(".tgr.new")]
        check(not stray, "nothing else in active/ (%s)" % stray)
    finally:
        env.cleanup()


def test_live_file_left_alone_and_next_start_recovers():
    env = Env(shell="/bin/sh")
    try:
        p = subprocess.Popen([RECORDER], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             env=env.environ(SSH_ORIGINAL_COMMAND="echo started; sleep 30"))
        read_line(p.stdout)
        r = subprocess.run([RECORDER, "--recover"], env=env.environ(), stdout=subprocess.PIPE, timeout=60)
        check(b"0 recording(s)" in r.stdout and len(env.active()) == 1, "a live recorder's file stays in active/")
        kill_tree(p.pid)
        p.wait()
        rc, out, err = run_pipes(env, "echo next")
        check(rc == 0 and out == b"next\n", "the next session runs")
        check(not env.active() and len(env.sessions()) == 2, "and its recorder handed the orphan over")
    finally:
        env.cleanup()


def test_stalled_client_still_checkpointed():
    """A client that stops reading (flow control) does not stall the recorder in write():
    what was passed on is checkpointed on time, so a kill -9 then loses none of it."""
    env = Env(shell="/bin/sh")
    try:
        p = subprocess.Popen([RECORDER], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=env.environ(SSH_ORIGINAL_COMMAND=PRODUCER))
        s = PtySession(env, argv=[RECORDER, "-c", PRODUCER])
        time.sleep(2.5)  # nobody reads: the pipe and the terminal to the client fill up
        # the recorders checkpoint on their own clock, later than that on a loaded machine: wait
        # (at most 30 s, the client still stalled) for what the checks below want, then check
        end = time.monotonic() + 30
        while True:
            verdicts = [Recording(env.pub, a, data=False).verdict for a in env.active()]
            if (len(verdicts) == 2 and all(v["verified_time_us"] > 0 and v["verified_bytes"] > 4096
                                           for v in verdicts)) or time.monotonic() > end:
                break
            time.sleep(0.2)
        kill_tree(p.pid)
        p.wait()
        p.stdout.close()
        kill_tree(s.pid)
        s.wait()
        check(len(verdicts) == 2, "two live recordings")
        for v in verdicts:
            check(v["verified_time_us"] > 0 and v["verified_bytes"] > 4096,
                  "stalled client: checkpointed up to byte %d (%.2f s)" % (v["verified_bytes"],
                                                                        v["verified_time_us"] / 1e6))
    finally:
        env.cleanup()


if __name__ == "__main__":
    main([test_kill9_loop, test_live_file_left_alone_and_next_start_recovers,
          test_stalled_client_still_checkpointed])
