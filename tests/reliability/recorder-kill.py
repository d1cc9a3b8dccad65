#!/usr/bin/env python3
# The recorder killed (kill -9) at 100 random instants, on a pty and through
# pipes, some during start-up: every session that began left exactly one
# recording, every file verifies up to a checkpoint (unsealed, host key
# checked, never "tampered"), and the next start or --recover hands each one
# over to sessions/; none is missing. Quick scale: 15 kills.

import os
import random
import select
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["TG_TOP_SRCDIR"], "tests"))
sys.path.insert(0, os.path.join(os.environ["TG_TOP_SRCDIR"], "tests", "reliability"))
from recorder_lib import RECORDER, TG_ERR_UNSEALED, Env, Failed, Recording, check, skip  # noqa: E402
from test_recorder_crash import PRODUCER, kill_pty, kill_tree  # noqa: E402
import rel  # noqa: E402


def read_until(fd, first, end, begun_only):
    """Read non-blocking fd as sshd would until time end (with begun_only, only until its first 8 bytes came)
    or its end; returns first with what the first 8 bytes lacked added."""
    while time.time() < end and not (begun_only and len(first) >= 8):
        select.select([fd], [], [], max(0.0, min(end - time.time(), 0.05)))
        try:
            d = os.read(fd, 1 << 16)
        except BlockingIOError:
            continue
        if not d:
            break
        first += d[:8 - len(first)]
    return first


def kill_pipes(env, delay, in_session=False):
    """A recorder through pipes, its output read as sshd would, killed after delay s (in_session: after delay s
    of its session, however long its start took); True if it had begun."""
    p = subprocess.Popen([RECORDER], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=env.environ(SSH_ORIGINAL_COMMAND=PRODUCER))
    fd = p.stdout.fileno()
    os.set_blocking(fd, False)
    first = read_until(fd, b"", time.time() + 30.0, True) if in_session else b""
    first = read_until(fd, first, time.time() + delay, False)
    kill_tree(p.pid)
    p.wait()
    if len(first) < 8:
        select.select([fd], [], [], 5.0)
        try:
            first += os.read(fd, 8)
        except BlockingIOError:
            pass
    p.stdout.close()
    return first.startswith(b"started")


def main():
    if not os.path.exists(RECORDER):
        skip("the recorder test build is missing: " + RECORDER)
    kills = rel.scale(15, 100)
    seed = int(os.environ.get("TG_RELIABILITY_SEED", os.getpid()))
    rnd = random.Random(seed)
    print("kills: %d, seed %d (TG_RELIABILITY_SEED=%d repeats the instants)" % (kills, seed, seed))
    t0 = time.time()
    env = Env(shell="/bin/sh")
    seen = {}  # recording name -> (verified bytes, file bytes)
    begun = startup = extra = 0
    try:
        for i in range(kills):
            # one in seven dies during start-up (config, key, header), the rest in the session
            early = rnd.random() < 1 / 7
            delay = rnd.uniform(0.0, 0.03) if early else rnd.uniform(0.0, 2.5)
            startup += early
            via = "pipes" if i % 2 == 0 else "pty"
            # in the session: once it has begun, a start slow on a loaded machine left out of the delay
            began = (kill_pipes if via == "pipes" else kill_pty)(env, delay, in_session=not early)
            new = [p for p in env.active() + env.sessions() if os.path.basename(p) not in seen]
            begun += began
            extra += (not began) and len(new) == 1
            check(len(new) == 1 if began else len(new) in (0, 1),
                  "kill %d (%s, after %.3f s, session %s): %d new recording(s)" %
                  (i + 1, via, delay, "begun" if began else "not begun", len(new)))
            for path in new:
                v = Recording(env.pub, path, data=False).verdict
                size = os.path.getsize(path)
                check(v["status"] == TG_ERR_UNSEALED and v["key_checked"] and 0 < v["verified_bytes"] <= size,
                      "  %s: unsealed, intact up to byte %d of %d (%.2f s)" %
                      (os.path.basename(path), v["verified_bytes"], size, v["verified_time_us"] / 1e6))
                seen[os.path.basename(path)] = (v["verified_bytes"], size)
            # verified files already handed over are not needed any more (disk space)
            for path in env.sessions():
                if os.path.basename(path) in seen:
                    os.truncate(path, 0)
        check(len(env.active()) <= 1, "all but the last recording were handed over by the next recorder's start")
        last = len(env.active())
        r = subprocess.run([RECORDER, "--recover"], env=env.environ(), stdout=subprocess.PIPE, timeout=60)
        check(r.returncode == 0 and b"%d recording(s)" % last in r.stdout, "--recover hands the last one over")
        names = set(os.path.basename(p) for p in env.sessions())
        check(not env.active() and names == set(seen), "active/ is empty and sessions/ holds all %d" % len(seen))
        stray = [n for n in os.listdir(os.path.join(env.spool, "active")) if not n.endswith(".tgr.new")]
        check(not stray, "nothing else in active/ (%s)" % stray)
        check(begun >= kills // 2, "most sessions had begun (%d of %d)" % (begun, kills))
        fr = [vb / sz for vb, sz in seen.values()]
        low = min(seen.values(), key=lambda x: x[0] / x[1])
        rel.figure("%d kill -9 of the recorder at random instants (%d during start-up; half on a pty, half "
                   "through pipes, their output read as a client would): %d sessions had begun, %d recordings in "
                   "the spool (%d from recorders killed after the header was durable but before the session's "
                   "output), all %d verify up to a checkpoint (unsealed, host key checked; median %.0f%% of a "
                   "file's bytes verified, the least %d of %d bytes), 0 missing, all handed over to sessions/; "
                   "%.0f s."
                   % (kills, startup, begun, len(seen), extra, len(seen), 100 * statistics.median(fr), low[0], low[1],
                      time.time() - t0))
    except Failed as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        env.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
