#!/usr/bin/env python3
# Every single-byte change and every truncation point of a real 64 KiB recording
# is detected. The recorder records a terminal session (output, typed and hidden
# input, a resize, a rate cap's DROPPED and NOTE, checkpoints, the seal); each
# byte is then changed (xor 0x01, and at full scale also xor a random value) and
# the file cut at every length, each verified in memory by the format library's
# verifier (helper: tests/reliability/rec-tamper). Quick scale: a 32 KiB recording.
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.environ["TG_TOP_SRCDIR"], "tests"))
sys.path.insert(0, os.path.join(os.environ["TG_TOP_SRCDIR"], "tests", "reliability"))
from recorder_lib import RECORDER, Env, Failed, PtySession, Recording, check, skip  # noqa: E402
import rel  # noqa: E402

TAMPER = os.path.join(os.environ["TG_TOP_BUILDDIR"], "tests", "reliability", "rec-tamper")


def record(env, out_bytes):
    """One interactive session through the recorder; returns its sealed recording's path."""
    s = PtySession(env, argv=[RECORDER])
    try:
        return session(env, s, out_bytes)
    finally:
        s.kill()


def session(env, s, out_bytes):
    s.sync()
    # typed while echo is off: an IN_HIDDEN record
    s.send(b"stty -echo; read x; stty echo; echo HID''DEN\n")
    time.sleep(0.3)
    s.send(b"secret\n")
    s.read_until(b"HIDDEN\r\n")
    s.resize(100, 30)
    s.sync()
    # a burst over max_rate: DROPPED records and a cap NOTE
    s.send(b"head -c 30000 /dev/zero | tr '\\0' x; echo; echo BUR''ST\n")
    s.read_until(b"BURST\r\n")
    time.sleep(1.2)
    # text output in pieces, more than a checkpoint interval apart
    per = out_bytes // 4
    for i in range(4):
        s.send(b"head -c %d /dev/urandom | od -An -tx1 | head -c %d; echo; echo PI''ECE%d\n" % (per, per, i))
        s.read_until(b"PIECE%d\r\n" % i)
        time.sleep(1.1)
    s.send(b"exit 3\n")
    s.wait()
    return env.only_session()


def main():
    if not os.path.exists(RECORDER) or not os.path.exists(TAMPER):
        skip("build the check programs first (make check TESTS=): %s, %s" % (RECORDER, TAMPER))
    t0 = time.time()
    env = Env(shell="/bin/sh", record_input="yes", max_rate="20000")
    try:
        # aim at 64 KiB (quick: 32 KiB): one session, then another sized from what the first gave
        target = rel.scale(32, 64) * 1024
        out = target - 24000
        for attempt in range(3):
            path = record(env, out)
            size = os.path.getsize(path)
            print("recording: %d bytes with %d bytes of text output" % (size, out))
            if abs(size - target) <= target // 32 or attempt == 2:
                break
            out = max(1000, out + target - size)
            os.unlink(path)
        rec = Recording(env.pub, path, data=False)
        kinds = sorted(set(r["type"] for r in rec.records))
        check(rec.sealed_ok(), "the recording is sealed and intact (%d bytes, %d records: %s)" %
              (size, len(rec.records) + 1, ", ".join(kinds)))
        # the offsets split over one process per CPU; quick scale leaves out the random-value change
        xr = rel.scale(False, True)
        parts = os.cpu_count() or 1
        t1 = time.time()
        procs = [subprocess.Popen([TAMPER, env.pub, path, str(os.getpid()), str(k), str(parts)] +
                                  ([] if xr else ["noxr"]), stdout=subprocess.PIPE) for k in range(parts)]
        try:
            outs = [(pr.communicate(timeout=900)[0], pr.returncode) for pr in procs]
        finally:
            for pr in procs:
                if pr.poll() is None:
                    pr.kill()
                    pr.wait()
        secs = time.time() - t1
        lines = [line for o, _ in outs for line in o.decode().splitlines()]
        for line in lines:
            if line.startswith("original"):
                print(line)
        undetected = [line for line in lines if line.startswith("undetected")]
        for line in undetected[:50]:
            print("NOT DETECTED: " + line)
        t = {k: dict(n=0, det=0, tam=0, fmt=0, uns=0) for k in ("flip1", "flipr", "cut")}
        for line in lines:
            w = line.split()
            if w and w[0] in t and len(w) == 10:
                for key, val in zip(("n", "det", "tam", "fmt", "uns"), w[1::2]):
                    t[w[0]][key] += int(val)
        for k, v in t.items():
            print("%s: %s" % (k, v))
        check(all(rc in (0, 1) for _, rc in outs) and t["cut"]["n"] == size and t["flip1"]["n"] == size,
              "rec-tamper ran in %d processes (exit %s)" % (parts, [rc for _, rc in outs]))
        changes = t["flip1"]["n"] + t["flipr"]["n"]
        det = t["flip1"]["det"] + t["flipr"]["det"]
        tam = t["flip1"]["tam"] + t["flipr"]["tam"]
        fmt = t["flip1"]["fmt"] + t["flipr"]["fmt"]
        uns = t["flip1"]["uns"] + t["flipr"]["uns"]
        c = t["cut"]
        rel.figure("A sealed %d-byte recording (%d records: %s) changed at every byte, %s: "
                   "%d changes, %d detected (%d as tampered: signature or hash chain, %d as malformed, "
                   "%d as unsealed), %d not detected."
                   % (size, len(rec.records) + 1, ", ".join(kinds),
                      "twice each (xor 0x01 and xor a random value)" if xr else "once each (xor 0x01)",
                      changes, det, tam, fmt, uns, changes - det))
        rel.figure("The same recording cut at every length 0..%d: %d cuts, %d detected (%d reported unsealed "
                   "with at most the cut verified, %d as malformed), %d verified as sealed; "
                   "%.1f s for all %d verifications, %.0f s wall in all."
                   % (size - 1, c["n"], c["det"], c["uns"], c["fmt"] + c["tam"], c["n"] - c["det"], secs,
                      changes + c["n"], time.time() - t0))
        check(all(rc == 0 for _, rc in outs) and det == changes and c["det"] == c["n"],
              "every change and every cut was detected")
    except Failed as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        env.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
