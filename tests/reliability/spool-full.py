#!/usr/bin/env python3
# The spool on a full 4 MiB tmpfs, filled while a session writes output: with
# on_failure = deny the session is ended with the documented message and a new
# one is refused; with allow it goes on unrecorded and a new one runs with a
# warning; every recording left verifies (sealed, or unsealed up to a checkpoint,
# never corrupt); once space is freed, recording works again. Full scale: the
# session through pipes and on a pty; quick: through pipes.

import errno
import os
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["TG_TOP_SRCDIR"], "tests"))
sys.path.insert(0, os.path.join(os.environ["TG_TOP_SRCDIR"], "tests", "reliability"))
from recorder_lib import (RECORDER, TG_ERR_UNSEALED, Env, Failed, PtySession, Recording, check,  # noqa: E402
                          run_pipes, skip)
import rel  # noqa: E402

FAILED_MSG = b"tollgate-record: the session recording failed; the session is ended."
DENIED_MSG = b"this session cannot be recorded"
DENIED_END = b"access denied."
NOT_RECORDED_MSG = b"tollgate-record: warning: this session is NOT recorded."


def fill(path):
    """Write a file until the filesystem is full; its size."""
    n = 0
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                k = f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
            n += k
            if k < len(chunk):
                chunk = chunk[:max(1, len(chunk) - k)]
    return n


# How long a session may take to do what the test waits for (its recording to grow, output to
# pass after the fill, or, with deny, its end): generous, for a loaded machine. Only a wrong
# recorder makes the test wait that long.
WAIT_S = 60


def session_filled(env, via, stop_after_bytes=None):
    """A session writing output through pipes or on a pty; the spool is filled once its recording has grown.
    The command writes until the test makes a stop file, then ends with FLOODEND: once stop_after_bytes of
    output passed after the fill, or WAIT_S s after the fill (with deny the recorder ends it before).
    Returns (exit status, bytes before the fill, bytes after it, the client's last output (pipes: stdout),
    the failure message's text (pipes: stderr; pty: the terminal), seconds from the fill to the message
    (None without one), seconds from the fill to the end)."""
    stop = os.path.join(env.dir, "stop-flood")
    if os.path.exists(stop):
        os.unlink(stop)
    cmd = ("i=0; while [ $i -lt 10000 ] && [ ! -e %s ]; do i=$((i+1)); head -c 6000 /dev/urandom | od -An -tx1; "
           "sleep 0.05; done; echo FLOOD''END" % stop)
    if via == "pipes":
        p = subprocess.Popen([RECORDER], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env.environ(SSH_ORIGINAL_COMMAND=cmd))
        pid, fds = p.pid, {p.stdout.fileno(): "out", p.stderr.fileno(): "err"}
    else:
        s = PtySession(env, argv=[RECORDER, "-c", cmd])
        pid, fds = s.pid, {s.fd: "out"}
    status = None
    try:
        got = {"out": b"", "err": b""}
        n = 0
        before, filled_at, msg_at = None, None, None
        start = time.time()
        while fds:
            if time.time() - start > 3 * WAIT_S:
                raise Failed("the session did not end")
            r, _, _ = select.select(list(fds), [], [], 0.1)
            for fd in r:
                try:
                    d = os.read(fd, 1 << 16)
                except OSError:  # a pty whose other side is all closed
                    d = b""
                if not d:
                    del fds[fd]
                else:
                    got[fds[fd]] = (got[fds[fd]] + d)[-4096:]
                    n += len(d) if fds[fd] == "out" else 0
            if msg_at is None and FAILED_MSG in got["out"] + got["err"]:
                msg_at = time.time()
            # filled once the recording has grown (not at a fixed time: a start may be slow)
            files = env.active() if filled_at is None else []
            if filled_at is None and (len(files) == 1 and os.path.getsize(files[0]) > 10000 or
                                      time.time() - start > WAIT_S):
                check(len(files) == 1 and os.path.getsize(files[0]) > 10000,
                      "%s: the session's recording is growing in active/ (%s bytes)"
                      % (via, os.path.getsize(files[0]) if len(files) == 1 else "no file,"))
                before = n
                filler = fill(os.path.join(env.spool, "filler"))
                filled_at = time.time()
                print("spool filled (%d bytes of filler) after %d bytes of output" % (filler, before))
            if filled_at is not None and not os.path.exists(stop) and (
                    stop_after_bytes is not None and n - before > stop_after_bytes or
                    time.time() - filled_at > WAIT_S):
                open(stop, "w").close()
        status = os.waitpid(pid, 0)[1]
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        if via == "pty":
            os.close(s.fd)
        else:
            p.stdout.close()
            p.stderr.close()
    return (status, before, n - before, got["out"], got["out"] + got["err"],
            None if msg_at is None else msg_at - filled_at, time.time() - filled_at)


def verify_all(env, what):
    """Every recording in the spool verifies: sealed, or unsealed up to a checkpoint. Returns (sealed, unsealed)."""
    sealed = unsealed = 0
    for path in env.sessions() + env.active():
        v = Recording(env.pub, path, data=False).verdict
        size = os.path.getsize(path)
        ok = v["key_checked"] and (v["status"] == 0 and v["sealed"] or
                                   v["status"] == TG_ERR_UNSEALED and 0 < v["verified_bytes"] <= size)
        check(ok, "%s: %s: %s, verified %d of %d bytes (%s)" % (what, os.path.basename(path), v["status_str"],
                                                              v["verified_bytes"], size, v["reason"]))
        sealed += v["status"] == 0
        unsealed += v["status"] != 0
    return sealed, unsealed


def failure_events(env):
    try:
        return [e for e in env.events() if e.get("type") == "recording_failure"]
    except (OSError, ValueError):
        return []


def clear(env):
    for sub in ("active", "sessions", "events"):
        d = os.path.join(env.spool, sub)
        if os.path.isdir(d):
            for n in os.listdir(d):
                os.unlink(os.path.join(d, n))
    f = os.path.join(env.spool, "filler")
    if os.path.exists(f):
        os.unlink(f)


def run_policy(env, policy, via):
    """One on_failure policy on the full spool; returns the figure's words."""
    env.write_conf(shell="/bin/sh", on_failure=policy)
    clear(env)
    print("== on_failure = %s, the session %s" % (policy, via))
    # allow: the command ends once well more than the 100000 bytes checked below passed
    st, before, after, out_tail, msgs, msg_secs, secs = session_filled(
        env, via, None if policy == "deny" else 300000)
    evs = failure_events(env)
    if policy == "deny":
        check(st != 0 and msg_secs is not None, "deny: the session was ended with the message (wait status %#x, "
              "%r)" % (st, msgs[-200:]))
        # no bound on the seconds (measured for the figure only: a loaded machine stretches them); the
        # command ran on until told to stop, WAIT_S s after the fill, so the recorder ended it before that
        print("deny: the message came %.1f s after the spool filled, the recorder ended %.1f s after it"
              % (msg_secs, secs))
        check(b"FLOODEND" not in out_tail, "deny: the command did not run to its end")
    else:
        check(st == 0 and b"FLOODEND" in out_tail, "allow: the session ran to its end (wait status %#x)" % st)
        check(after > 100000, "allow: %d bytes of output passed on after the spool filled" % after)
        check(msg_secs is None, "allow: no 'session ended' message")
    sealed, unsealed = verify_all(env, policy + ", the session that hit the full disk")
    check(len(env.sessions()) == 1 and unsealed == 1, "%s: its recording was handed over unsealed" % policy)
    ev_mid = len(evs)
    # a new session while the disk is full
    rc2, out2, err2 = run_pipes(env, "echo new-session")
    evs2 = failure_events(env)
    if policy == "deny":
        check(rc2 != 0 and out2 == b"" and DENIED_MSG in err2 and DENIED_END in err2,
              "deny: a new session is refused (exit %d, %r)" % (rc2, err2.strip()[-200:]))
    else:
        check(rc2 == 0 and out2 == b"new-session\n" and NOT_RECORDED_MSG in err2,
              "allow: a new session runs unrecorded, with the warning (%r)" % err2.strip()[-200:])
    check(len(env.sessions()) == 1 and not env.active(), "%s: it left no recording in the full spool" % policy)
    stray = [n for n in os.listdir(os.path.join(env.spool, "active"))]
    check(not stray, "%s: nothing left in active/ (%s)" % (policy, stray))
    verify_all(env, policy + ", after the refused/unrecorded session")
    # space freed
    os.unlink(os.path.join(env.spool, "filler"))
    rc3, out3, err3 = run_pipes(env, "echo after-free")
    check(rc3 == 0 and out3 == b"after-free\n", "%s: once space is freed a session runs" % policy)
    sealed, unsealed = verify_all(env, policy + ", after space was freed")
    check(len(env.sessions()) == 2 and sealed == 1 and unsealed == 1, "%s: and is recorded, sealed" % policy)
    print("%s: recording_failure events in the spool: %d during the session, %d after the new one" %
          (policy, ev_mid, len(evs2)))
    return dict(msg=msg_secs, end=secs, after=after, events=len(evs2))


def sentence(policy, runs):
    vias = " and ".join({"pipes": "through pipes", "pty": "on a pty"}[v] for v in runs)
    if policy == "deny":
        return ("on_failure = deny (session %s): the user got \"the session recording failed; the session is "
                "ended.\" %s s after the spool filled and the recorder ended %s s after it (it gives the shell "
                "up to 2 s to end); the recording was handed over unsealed and verifies up to its last checkpoint; a "
                "new session on the full disk was refused (\"this session cannot be recorded (... No space left on "
                "device); access denied.\"); %d recording_failure event(s) fit on the full spool; once space was "
                "freed the next session was recorded and sealed"
                % (vias, "/".join("%.1f" % r["msg"] for r in runs.values()),
                   "/".join("%.1f" % r["end"] for r in runs.values()), sum(r["events"] for r in runs.values())))
    return ("on_failure = allow (session %s): the session went on unrecorded to its normal end (%s bytes passed on "
            "after the spool filled); its recording was handed over unsealed and verifies up to its last "
            "checkpoint; a new session on the full disk ran with \"warning: this session is NOT recorded.\"; %d "
            "recording_failure event(s) fit on the full spool; once space was freed the next session was recorded "
            "and sealed" % (vias, "/".join("%d" % r["after"] for r in runs.values()),
                            sum(r["events"] for r in runs.values())))


def main():
    if os.geteuid() != 0:
        skip("needs root to mount a small tmpfs as the spool")
    if not os.path.exists(RECORDER):
        skip("the recorder test build is missing: " + RECORDER)
    t0 = time.time()
    env = Env(shell="/bin/sh")
    os.makedirs(env.spool, exist_ok=True)
    mounted = False
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tollgate-spool-full", env.spool],
                           stderr=subprocess.PIPE)
        if r.returncode != 0:
            skip("cannot mount a tmpfs: %s" % r.stderr.decode().strip())
        mounted = True
        vias = rel.scale(["pipes"], ["pipes", "pty"])
        figures = [sentence(policy, {via: run_policy(env, policy, via) for via in vias})
                   for policy in ("deny", "allow")]
        for i, f in enumerate(figures):
            rel.figure("Spool on a full 4 MiB tmpfs, filled while a session writes output, %s%s." %
                       (f, "; %.0f s in all" % (time.time() - t0) if i == len(figures) - 1 else ""))
    except Failed as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        if mounted:
            if subprocess.run(["umount", env.spool]).returncode != 0:
                subprocess.run(["umount", "-l", env.spool])
        env.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
