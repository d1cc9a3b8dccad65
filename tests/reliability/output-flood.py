#!/usr/bin/env python3
# An output flood (cat /dev/urandom for 60 s, quick scale 10 s) through the
# recorder, once on a pty and once through pipes, with max_session_bytes = 2M
# and max_rate = 256K: every byte reaches the client, the file stays under the
# cap, stored + DROPPED = passed on, the recording is sealed and verifies, and
# the recorder's peak memory (VmHWM) stays small.

import os
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["TG_TOP_SRCDIR"], "tests"))
sys.path.insert(0, os.path.join(os.environ["TG_TOP_SRCDIR"], "tests", "reliability"))
from recorder_lib import RECORDER, Env, Failed, PtySession, Recording, check, skip  # noqa: E402
import rel  # noqa: E402

MIB = 1024 * 1024
CAP = 2 * MIB
RATE = 256 * 1024


def hwm(pid, peak):
    """The larger of peak and the process's VmHWM (kB), while it lives."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return max(peak, int(line.split()[1]))
    except OSError:
        pass
    return peak


def flood_pipes(env, secs):
    p = subprocess.Popen([RECORDER], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env.environ(SSH_ORIGINAL_COMMAND="timeout %d cat /dev/urandom; echo done >&2" % secs))
    fds = {p.stdout.fileno(): "out", p.stderr.fileno(): "err"}
    got = {"out": 0, "err": 0}
    tail = b""
    peak, next_hwm = 0, 0.0
    deadline = time.time() + secs + 60
    while fds:
        if time.time() > deadline:
            p.kill()
            raise Failed("pipes: the session did not end")
        r, _, _ = select.select(list(fds), [], [], 0.5)
        for fd in r:
            d = os.read(fd, 1 << 20)
            if not d:
                del fds[fd]
                continue
            got[fds[fd]] += len(d)
            if fds[fd] == "err":
                tail += d
        if time.time() >= next_hwm:
            peak, next_hwm = hwm(p.pid, peak), time.time() + 0.5
    peak = hwm(p.pid, peak)
    rc = p.wait()
    check(rc == 0 and tail == b"done\n", "pipes: the session ended normally (exit %d, stderr %r)" % (rc, tail[-80:]))
    return got, peak


def flood_pty(env, secs):
    s = PtySession(env, argv=[RECORDER, "-c", "timeout %d cat /dev/urandom; echo; echo FLOOD''DONE" % secs])
    try:
        return flood_pty_read(s, secs)
    finally:
        s.kill()


def flood_pty_read(s, secs):
    got, tail = 0, b""
    peak, next_hwm = 0, 0.0
    deadline = time.time() + secs + 60
    while b"FLOODDONE" not in tail:
        if time.time() > deadline:
            raise Failed("pty: the session did not end")
        r, _, _ = select.select([s.fd], [], [], 0.5)
        if r:
            try:
                d = os.read(s.fd, 1 << 20)
            except OSError:
                break
            if not d:
                break
            got += len(d)
            tail = (tail + d)[-64:]
        if time.time() >= next_hwm:
            peak, next_hwm = hwm(s.pid, peak), time.time() + 0.5
    peak = hwm(s.pid, peak)
    s.out = b""
    st = s.wait()
    got += len(s.out)
    check(b"FLOODDONE" in tail + s.out and os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0,
          "pty: the session ended normally (status %d)" % st)
    return {"out": got, "err": 0}, peak


def examine(env, kind, got, peak, secs):
    path = env.only_session()
    size = os.path.getsize(path)
    rec = Recording(env.pub, path, data=False)
    end = rec.end()
    dropped = {k: sum(r["dropped"] for r in rec.of("dropped") if r["stream"] == k) for k in ("out", "err", "in")}
    check(rec.sealed_ok(), "%s: sealed and intact" % kind)
    check(size <= CAP, "%s: the file (%d bytes) stays under max_session_bytes (%d)" % (kind, size, CAP))
    for k in ("out", "err", "in"):
        check(end["bytes"][k] == end["stored"][k] + dropped[k],
              "%s: %s: passed on %d = stored %d + DROPPED %d" % (kind, k, end["bytes"][k], end["stored"][k],
                                                                 dropped[k]))
    check(end["bytes"]["out"] == got["out"] and end["bytes"]["err"] == got["err"],
          "%s: END counts what the client got (%d out, %d err)" % (kind, got["out"], got["err"]))
    stored = end["stored"]["out"] + end["stored"]["err"]
    check(stored <= RATE * (end["duration_us"] / 1e6 + 1), "%s: stored bytes (%d) follow max_rate" % (kind, stored))
    caps = sorted(set(n.get("cap") for n in rec.notes("cap")))
    check("max_session_bytes" in caps, "%s: a NOTE marks the size cap (%s)" % (kind, caps))
    check(peak < 16 * 1024, "%s: the recorder's peak RSS is %.1f MiB" % (kind, peak / 1024))
    os.rename(path, path + ".done")
    return ("%s: %.0f MB reached the client (%.1f MB/s); the file is %d bytes (cap %d); %d bytes stored + %d "
            "counted in %d DROPPED records = %d passed on; sealed and verified; recorder peak RSS %.1f MiB"
            % ({"pty": "On a pty", "pipes": "Through pipes"}[kind], got["out"] / 1e6 + got["err"] / 1e6, (got["out"] + got["err"]) / 1e6 / secs, size, CAP,
               stored, dropped["out"] + dropped["err"], len(rec.of("dropped")),
               end["bytes"]["out"] + end["bytes"]["err"], peak / 1024))


def main():
    if not os.path.exists(RECORDER):
        skip("the recorder test build is missing: " + RECORDER)
    secs = rel.scale(10, 60)
    t0 = time.time()
    parts = []
    for kind, fn in (("pty", flood_pty), ("pipes", flood_pipes)):
        env = Env(shell="/bin/sh", max_session_bytes=str(CAP), max_rate=str(RATE))
        try:
            print("== %s, %d s" % (kind, secs))
            got, peak = fn(env, secs)
            parts.append(examine(env, kind, got, peak, secs))
        except Failed as e:
            print("FAIL: %s: %s" % (kind, e))
            return 1
        finally:
            env.cleanup()
    for i, part in enumerate(parts):
        rel.figure("cat /dev/urandom for %d s with max_session_bytes = 2 MiB and max_rate = 256 KiB/s. %s%s."
                   % (secs, part, "; %.0f s for both runs" % (time.time() - t0) if i == len(parts) - 1 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
