#!/usr/bin/env python3
"""bench/recorder's driver: runs every recorder on a real pseudo-terminal, the
way sshd would, and measures it. Prints one line per (case, metric, tool):
    case<TAB>metric<TAB>tool<TAB>median value
which bench/recorder turns into rows (bench/lib.sh). Details on stderr.

Metrics: throughput (output bytes a second, as the terminal received them),
cpu_s (CPU seconds of the recorder's own processes and threads, from
/proc/*/task/*/schedstat sampled every 10 ms down the tree, stopping at
bench-cpu-wrap, which runs the workload; the last <10 ms are missed), log_ratio
(bytes logged per output byte), rss_kib (peak resident memory of the
recorder's main process, VmHWM sampled every 20 ms), p50_us and p99_us
(echo round trip of single keystrokes).

Before each run (untimed) the page cache is written out (sync): a tool that
syncs nothing leaves its log dirty, and on ext4 the next tool's fsync would
wait for that write-back too, charging one tool's log to another.
"""
import glob
import json
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import fcntl
import time

BUILD = os.environ["TG_TOP_BUILDDIR"]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
KEYSTROKES = int(os.environ.get("BENCH_KEYSTROKES", "2000"))
# BENCH_TOOLS / BENCH_CASES: comma lists to run a subset (for profiling); the relay always runs
ONLY_TOOLS = set(filter(None, os.environ.get("BENCH_TOOLS", "").split(",")))
ONLY_CASES = set(filter(None, os.environ.get("BENCH_CASES", "").split(",")))
RELAY = os.path.join(BUILD, "bench", "pty-relay-bare")
CPUWRAP = os.path.join(BUILD, "bench", "bench-cpu-wrap")
RECORDER = os.path.join(BUILD, "session_recorder", "tollgate-record-testing")
KEYGEN = os.path.join(BUILD, "session_recorder", "tollgate-keygen")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


PYEXE = os.path.realpath(sys.executable)


def exe(pid):
    try:
        return os.path.realpath(os.readlink("/proc/%d/exe" % pid))
    except OSError:
        return None


def vmhwm(pid):
    """Peak RSS of pid, once it runs the tool (before exec it is a copy of this python)."""
    try:
        if exe(pid) in (PYEXE, None):
            return None
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


CPUWRAP_REAL = None


def tool_cpu(pid, seen):
    """Run time (ns, from /proc/*/task/*/schedstat) of pid and its descendants, stopping at
    bench-cpu-wrap (the workload). seen[pid] keeps the last value of every process met,
    so processes that ended between samples still count."""
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            if exe(p) == CPUWRAP_REAL:
                continue
            total = 0
            kids = []
            for t in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/schedstat" % (p, t)) as f:
                    total += int(f.read().split()[0])
                with open("/proc/%d/task/%s/children" % (p, t)) as f:
                    kids += [int(x) for x in f.read().split()]
        except (OSError, ValueError):
            continue
        seen[p] = max(seen.get(p, 0), total)
        stack += kids


def spawn(argv, env):
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    pid = os.fork()
    if pid == 0:
        os.close(master)
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        if slave > 2:
            os.close(slave)
        try:
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    os.close(slave)
    return pid, master


def run(argv, env, latency=False):
    """One run: (bytes received, wall seconds, rusage, peak rss KiB, [latencies µs], status,
    seconds to the last byte). Wall runs from the start to the tool's exit, so it holds what
    the tool does after the output (tollgate-record's seal and its fsync, before the hand-over);
    the last byte's time leaves that out."""
    t0 = time.perf_counter()
    t_last = t0
    pid, fd = spawn(argv, env)
    got = 0
    peak = 0
    lat = []
    next_sample = 0.0
    buf = b""
    seen = {}
    if latency:
        try:
            while b"READY" not in buf:
                r, _, _ = select.select([fd], [], [], 10)
                if not r:
                    raise RuntimeError("no READY from %s: %r" % (argv[0], buf[-200:]))
                buf += os.read(fd, 65536)
        except (OSError, RuntimeError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(fd)
            raise
        time.sleep(0.3)  # let the echoing program set the terminal raw
        for i in range(KEYSTROKES):
            b = b"abcdefghijklmnopqrstuvwxyz"[i % 26:i % 26 + 1]
            s = time.perf_counter_ns()
            os.write(fd, b)
            echo = b""
            while b not in echo:
                echo += os.read(fd, 65536)
            lat.append((time.perf_counter_ns() - s) / 1000.0)
            if i % 100 == 0:
                peak = max(peak, vmhwm(pid) or 0)
                tool_cpu(pid, seen)
    while True:
        now = time.perf_counter()
        if now >= next_sample:
            peak = max(peak, vmhwm(pid) or 0)
            if exe(pid) != PYEXE:
                tool_cpu(pid, seen)
            next_sample = now + 0.01
        r, _, _ = select.select([fd], [], [], 0.02)
        if r:
            try:
                d = os.read(fd, 1 << 20)
            except OSError:
                break
            if not d:
                break
            got += len(d)
            t_last = time.perf_counter()
    tool_cpu(pid, seen)  # a zombie still has its numbers until reaped
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    os.close(fd)
    return got, wall, sum(seen.values()) / 1e9, peak, lat, status, t_last - t0


def run_latency_all(tools, env):
    """Every tool's session open at once; keystroke i goes to each tool in turn (order rotated),
    so that a burst of load on this shared machine hits all of them alike.
    Returns {tool: (cpu_s, peak_kib, [latencies us])}."""
    sess = {}
    for name, (argv, _) in tools.items():
        pid, fd = spawn(argv, env)
        buf = b""
        end = time.time() + 20
        try:
            while b"READY" not in buf and time.time() < end:
                r, _, _ = select.select([fd], [], [], 1)
                if r:
                    buf += os.read(fd, 65536)
        except OSError:
            pass
        if b"READY" not in buf:
            log("keystroke-echo %-10s FAILED to start: %r" % (name, buf[-200:]))
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(fd)
            continue
        sess[name] = {"pid": pid, "fd": fd, "lat": [], "seen": {}, "peak": 0}
    time.sleep(0.5)  # let every echoing program set its terminal raw
    names = list(sess)
    for i in range(KEYSTROKES):
        k = i % len(names) if names else 0
        for name in names[k:] + names[:k]:
            t = sess[name]
            b = b"abcdefghijklmnopqrstuvwxyz"[i % 26:i % 26 + 1]
            s0 = time.perf_counter_ns()
            os.write(t["fd"], b)
            echo = b""
            while b not in echo:
                echo += os.read(t["fd"], 65536)
            t["lat"].append((time.perf_counter_ns() - s0) / 1000.0)
            if i % 200 == 0:
                t["peak"] = max(t["peak"], vmhwm(t["pid"]) or 0)
    out = {}
    for name, t in sess.items():
        t["peak"] = max(t["peak"], vmhwm(t["pid"]) or 0)
        while True:
            tool_cpu(t["pid"], t["seen"])
            r, _, _ = select.select([t["fd"]], [], [], 0.01)
            if r:
                try:
                    if not os.read(t["fd"], 65536):
                        break
                except OSError:
                    break
        tool_cpu(t["pid"], t["seen"])
        os.wait4(t["pid"], 0)
        os.close(t["fd"])
        out[name] = (sum(t["seen"].values()) / 1e9, t["peak"], t["lat"])
    return out


def median(v):
    v = sorted(v)
    n = len(v)
    return (v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2.0) if n else 0.0


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int((len(v) - 1) * p / 100.0))] if v else 0.0


def main():
    global CPUWRAP_REAL
    CPUWRAP_REAL = os.path.realpath(CPUWRAP)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))  # clean the temp folder up on TERM too
    work = tempfile.mkdtemp(prefix="tg-bench.")
    try:
        bench(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench(work):
    size = int(100_000_000 * SCALE)
    data_a = os.path.join(work, "a.txt")
    data_b = os.path.join(work, "b.txt")
    data_c = os.path.join(work, "c.bin")
    log("preparing %d MB of test data in %s" % (size // 1_000_000 * 2 + size // 2_000_000, work))
    subprocess.run("base64 -w 4095 /dev/urandom | head -c %d > %s" % (size, data_a), shell=True, check=True)
    subprocess.run("seq -f 'log line %%09g: short text' 1 %d | head -c %d > %s" % (size // 25, size, data_b),
                   shell=True, check=True)
    subprocess.run("head -c %d /dev/urandom > %s" % (size // 2, data_c), shell=True, check=True)
    cases = {
        "large-writes": ["cat", data_a],
        "short-lines": ["cat", data_b],
        "base64-random": ["base64", data_c],
        "keystroke-echo": ["sh", "-c", "echo REA''DY; stty raw -echo; exec dd bs=1 count=%d 2>/dev/null" % KEYSTROKES],
    }
    cases = {k: v for k, v in cases.items() if not ONLY_CASES or k in ONLY_CASES}
    # tollgate: its own config, spool and key
    spool = os.path.join(work, "spool")
    conf = os.path.join(work, "tollgate.conf")
    with open(conf, "w") as f:
        f.write("[general]\nspool_dir = %s\n[recorder]\nshell = /bin/sh\nsigning_key = %s/k/signing.key\n"
                "public_key = %s/k/signing.pub\n" % (spool, work, work))
    owner = ["--owner", "root"] if os.geteuid() == 0 else []
    subprocess.run([KEYGEN, "-c", conf] + owner, check=True, stdout=subprocess.DEVNULL)
    cpu_file = os.path.join(work, "cpu")
    logs = os.path.join(work, "logs")

    def q(argv):
        return " ".join("'%s'" % a.replace("'", "'\\''") for a in argv)

    def tools(cmd):
        inner = [CPUWRAP, cpu_file] + cmd
        s = q(inner)
        t = {
            "relay": ([RELAY] + inner, []),
            "script": (["script", "-q", "-E", "never", "-T", logs + "/timing", "-c", s, logs + "/typescript"],
                       [logs + "/timing", logs + "/typescript"]),
            "tlog-rec": (["tlog-rec", "-w", "file", "-o", logs + "/tlog.json"] + inner, [logs + "/tlog.json"]),
            "asciinema": (["asciinema", "rec", "-q", "--overwrite", "-c", s, logs + "/a.cast"], [logs + "/a.cast"]),
            "ttyrec": (["ttyrec", "-e", s, logs + "/ttyrec"], [logs + "/ttyrec"]),
            "tollgate": ([RECORDER, "-c", s], [spool + "/sessions/*.tgr"]),
        }
        t = {k: v for k, v in t.items() if k == "relay" or not ONLY_TOOLS or k in ONLY_TOOLS}
        return {k: v for k, v in t.items() if k in ("relay", "tollgate") or shutil.which(v[0][0])}

    env = dict(os.environ, TERM="xterm-256color", SHELL="/bin/sh", TOLLGATE_RECORD_TEST_CONFIG=conf,
               SSH_CONNECTION="192.0.2.7 50022 192.0.2.1 22", LANG="C.UTF-8")
    env.pop("TOLLGATE_SESSION_ID", None)
    results = {}  # (case, tool) -> {metric: [values]}
    for rnd in range(ROUNDS):
        for case, cmd in cases.items():
            ts = tools(cmd)
            if case == "keystroke-echo":
                for name, (cpu, peak, lat) in run_latency_all(ts, env).items():
                    m = results.setdefault((case, name), {})
                    m.setdefault("p50_us", []).append(pct(lat, 50))
                    m.setdefault("p99_us", []).append(pct(lat, 99))
                    m.setdefault("cpu_s", []).append(cpu)
                    m.setdefault("rss_kib", []).append(peak)
                    log("round %d %-15s %-10s cpu=%6.3fs rss=%6d KiB p50=%.1fus p99=%.1fus" % (
                        rnd + 1, case, name, cpu, peak, pct(lat, 50), pct(lat, 99)))
                continue
            names = list(ts)
            names = names[rnd % len(names):] + names[:rnd % len(names)]  # interleaved, order rotated
            for name in names:
                argv, logfiles = ts[name]
                shutil.rmtree(logs, ignore_errors=True)
                shutil.rmtree(spool, ignore_errors=True)
                os.makedirs(logs)
                if os.path.exists(cpu_file):
                    os.unlink(cpu_file)
                latency = case == "keystroke-echo"
                # untimed: the tool before left its log in the page cache, and its write-back
                # would otherwise land in this tool's run (on ext4 a sync waits for it)
                os.sync()
                try:
                    got, wall, cpu, peak, lat, status, stream = run(argv, env, latency)
                except (OSError, RuntimeError) as e:
                    log("round %d %-15s %-10s FAILED: %s" % (rnd + 1, case, name, e))
                    continue
                if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
                    log("round %d %-15s %-10s FAILED: status %d" % (rnd + 1, case, name, status))
                    continue
                logged = sum(os.path.getsize(p) for g in logfiles for p in glob.glob(g))
                end_ms = (wall - stream) * 1e3  # from the last byte to the exit
                m = results.setdefault((case, name), {})
                if latency:
                    m.setdefault("p50_us", []).append(pct(lat, 50))
                    m.setdefault("p99_us", []).append(pct(lat, 99))
                    m.setdefault("cpu_s", []).append(cpu)
                    m.setdefault("rss_kib", []).append(peak)
                else:
                    m.setdefault("throughput_MBps", []).append(got / wall / 1e6)
                    # to the last byte: the relaying alone; end_ms: from it to the exit
                    m.setdefault("to_last_byte_MBps", []).append(got / stream / 1e6 if stream > 0 else 0.0)
                    m.setdefault("end_ms", []).append(end_ms)
                    m.setdefault("cpu_s", []).append(cpu)
                    m.setdefault("log_ratio", []).append(logged / got if got else 0.0)
                    m.setdefault("rss_kib", []).append(peak)
                log("round %d %-15s %-10s out=%9d wall=%6.2fs end=%5.0fms cpu=%6.3fs log=%9d rss=%6d KiB%s" % (
                    rnd + 1, case, name, got, wall, end_ms, cpu, logged, peak,
                    (" p50=%.1fus p99=%.1fus" % (pct(lat, 50), pct(lat, 99))) if latency else ""))
    log("")
    log("%-15s %-22s %12s %12s %12s %12s %12s %12s" % (("case", "metric") + tuple(
        ["relay", "tollgate", "script", "tlog-rec", "asciinema", "ttyrec"])))
    for case in cases:
        metrics = results.get((case, "relay"), {})
        for metric in metrics:
            vals = []
            for tool in ["relay", "tollgate", "script", "tlog-rec", "asciinema", "ttyrec"]:
                v = results.get((case, tool), {}).get(metric)
                if v is None:
                    vals.append("-")
                    continue
                med = median(v)
                rel = median(metrics[metric])
                vals.append("%.4g (%.2fx)" % (med, med / rel if rel else 0) if tool != "relay" else "%.4g" % med)
                print("%s\t%s\t%s\t%.6g" % (case, metric, tool, med))
            log("%-15s %-22s " % (case, metric) + " ".join("%12s" % x for x in vals))


if __name__ == "__main__":
    main()
