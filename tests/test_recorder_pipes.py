#!/usr/bin/env python3
"""tollgate-record without a terminal: "ssh host cmd" through pipes, stdout and
stderr recorded as separate streams; file transfers (scp, sftp, rsync, git)
through the real clients, byte for byte, recorded as metadata (or in full);
on_failure deny and allow."""
import hashlib
import os
import pty
import re
import resource
import select
import shutil
import signal
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from recorder_lib import (RECORDER, REPLAY, Env, PtySession, Recording, check, end_process, gone, kill_quietly, main, read_line, run_pipes, traceme_command, TRACEME_THREAD_SCRIPT, TRACEME_TRAP_SCRIPT)  # noqa: E402


def fake_ssh(env):
    """An "ssh" for scp -S / rsync -e / GIT_SSH_COMMAND: the remote command goes to the
    recorder as sshd would hand it over (SSH_ORIGINAL_COMMAND)."""
    path = os.path.join(env.dir, "fake-ssh")
    with open(path, "w") as f:
        f.write('#!/bin/sh\n'
                'while [ $# -gt 0 ]; do case $1 in\n'
                '  --) shift; break ;;\n'
                '  -[oilpFcmbeSJLRDWEOQ]) shift 2 ;;\n'
                '  -*) shift ;;\n'
                '  *) break ;;\n'
                'esac; done\n'
                'shift\n'  # the host; the rest is the remote command, joined as ssh does
                'SSH_ORIGINAL_COMMAND="$*" exec "%s"\n' % RECORDER)
    os.chmod(path, 0o755)
    return path


def client_env(env):
    e = dict(os.environ)
    e.update(env.environ())
    e.pop("SSH_ORIGINAL_COMMAND", None)
    return e


def have(*tools):
    """Some cases need the real clients; without one, that case is skipped (said on stdout)."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        print("(skipped: %s not installed)" % ", ".join(missing))
    return not missing


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_command_streams():
    env = Env(shell="/bin/sh")
    try:
        rc, out, err = run_pipes(env, "printf 'to-out\\n'; printf 'to-err\\n' >&2; printf '\\000\\377bin'; exit 4")
        check(rc == 4, "exit status 4 passed through")
        check(out == b"to-out\n\x00\xffbin" and err == b"to-err\n", "stdout and stderr kept apart, binary intact")
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok(), "sealed and intact")
        check(rec.header["mode"] == "command" and rec.header["term"] == "", "header: command mode, no terminal")
        check(rec.data("out") == out and rec.data("err") == err, "OUT and ERR recorded as separate streams")
        check(rec.end()["bytes"] == {"out": len(out), "err": len(err), "in": 0}, "END byte counts")
    finally:
        env.cleanup()


def test_kernel_hostname_not_text():
    """With [general] hostname empty the header carries the kernel's name, which root may set to
    any bytes: it got into the header as it was, a replacement character for the byte that is
    no UTF-8 and a control character, where the configured name gets refused for either. Now
    the host is "unknown" (and the log says why). The name is set in a UTS namespace of the
    test's own."""
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or not unshare or subprocess.run([unshare, "-u", "true"]).returncode != 0:
        print("(skipped: needs root and unshare, for a UTS namespace of its own)")
        return
    env = Env(shell="/bin/sh")
    try:
        # hostname(1) itself refuses such a name; the system call does not
        argv = [unshare, "-u", sys.executable, "-c",
                "import os, socket, sys; socket.sethostname(b'caf\\xe9\\x01'); os.execv(sys.argv[1], sys.argv[1:])",
                RECORDER]
        rc, out, err = run_pipes(env, "echo hi", argv=argv)
        check(rc == 0 and out == b"hi\n", "the session runs (%r, %r, %r)" % (rc, out, err[-300:]))
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.header["host"] == "unknown", "recorded, the host \"unknown\" (%r)"
              % rec.header.get("host"))
    finally:
        env.cleanup()


def test_command_stdin_and_no_tty():
    env = Env(shell="/bin/sh")
    try:
        data = os.urandom(300000)
        rc, out, err = run_pipes(env, "tty; cat", stdin=data)
        check(out == b"not a tty\n" + data, "no terminal is allocated; stdin reaches the command intact")
        rec = Recording(env.pub, env.only_session())
        check(not rec.of("in") and rec.end()["bytes"]["in"] == len(data), "stdin counted, not stored by default")
    finally:
        env.cleanup()


def check_stdin_stored(env, cases, stdin=b"echo x\n"):
    """Each (command, stored) of cases run through the recorder with stdin: whether IN holds it."""
    for cmd, stored in cases:
        rc, out, err = run_pipes(env, cmd, stdin=stdin)
        rec = Recording(env.pub, env.only_session())
        check(bool(rec.of("in")) == stored and rec.end()["bytes"]["in"] == len(stdin),
              "%r: stdin %s (%r %r)" % (cmd, "stored" if stored else "only counted", out, err[-200:]))
        os.unlink(env.only_session())


def test_shell_commands_on_stdin_stored():
    """A shell with no terminal ("ssh -T host", "ssh host < script", "ssh host sh -s") runs what
    comes on stdin: that is stored, or the commands would leave no trace but their output."""
    env = Env(shell="/bin/sh")
    try:
        script = b"echo one\nprintf two >&2\ntouch %s/ran\n" % env.dir.encode()
        e = env.environ()
        e.pop("SSH_ORIGINAL_COMMAND", None)
        rc, out, err = run_pipes(env, None, stdin=script, environ=e)
        check(rc == 0 and out == b"one\n" and err == b"two", "the shell ran its stdin (%r %r)" % (out, err))
        rec = Recording(env.pub, env.only_session())
        check(rec.data("in") == script, "the commands on stdin are stored as IN (%r)" % rec.data("in"))
        check(rec.notes("start")[0].get("input") == "shell_commands", "the start NOTE says why input is stored")
        os.unlink(env.only_session())
        check_stdin_stored(env, (("sh -s", True), ("/bin/sh", True), ("sh -s -x", True), ("sh -ec cat", False),
                                 ("cat", False), ("sh script", False), ("sh -c 'cat'", False),
                                 # a redirection is not followed: a shell named in the line stores stdin
                                 ("sh </dev/stdin", True),
                                 # through env or exec, an option with an argument, -s with arguments: stdin
                                 # is still the commands (they went unstored); --version reads none (it was
                                 # stored)
                                 ("bash -l", True), ("env bash", True), ("exec sh", True), ("LC_ALL=C sh", True),
                                 ("sh -s a b", True), ("bash -o posix", True), ("bash --version", False),
                                 ("command -v sh", False),
                                 # env -S splits its string into the command's words
                                 ("env -S 'sh -s'", True), ("env --split-string=sh", True),
                                 ("env -S 'sh -c cat'", False),
                                 # xargs makes its input the command's words: the command itself, or args
                                 ("xargs sh -c", True), ("xargs -0 -I X sh -c X", True), ("xargs echo", False),
                                 ("xargs -a /dev/stdin sh -c", True), ("xargs -a /dev/stdin echo", False),
                                 # unshare runs its program (with no namespace to leave, any user may)
                                 ("unshare sh", True), ("unshare sh -c cat", False)))
        env.write_conf(shell="/bin/sh", record_shell_input="no")
        rc, out, err = run_pipes(env, None, stdin=script, environ=e)
        rec = Recording(env.pub, env.only_session())
        check(out == b"one\n" and not rec.of("in") and rec.end()["bytes"]["in"] == len(script),
              "record_shell_input = no: counted only")
        check("input" not in rec.notes("start")[0], "and the start NOTE does not say it is stored")
    finally:
        env.cleanup()


def test_interpreter_program_on_stdin_stored():
    """"ssh host python3 - < payload.py": the program python runs comes on stdin, and is stored as a
    shell's commands are; "python3 script.py < data" reads data there, which is only counted."""
    env = Env(shell="/bin/sh")
    try:
        payload = b"import sys\nprint('ran', 6 * 7)\nsys.stderr.write('e')\n"
        rc, out, err = run_pipes(env, "python3 -", stdin=payload)
        check(rc == 0 and out == b"ran 42\n" and err == b"e", "python3 ran the program on stdin (%r %r)" % (out, err))
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok(), "sealed and intact")
        check(rec.data("in") == payload, "the program is stored as IN (%r)" % rec.data("in"))
        check(rec.notes("start")[0].get("input") == "shell_commands", "the start NOTE says why input is stored")
        os.unlink(env.only_session())
        script = os.path.join(env.dir, "count.py")
        with open(script, "w") as f:
            f.write("import sys\nprint(len(sys.stdin.buffer.read()))\n")
        data = b"not a program\n" * 100
        rc, out, err = run_pipes(env, "python3 " + script, stdin=data)
        rec = Recording(env.pub, env.only_session())
        check(rc == 0 and out == b"%d\n" % len(data), "the script read its data (%r %r)" % (out, err))
        check(not rec.of("in") and rec.end()["bytes"]["in"] == len(data), "a script's data is only counted")
        check("input" not in rec.notes("start")[0], "and the start NOTE does not say input is stored")
    finally:
        env.cleanup()


def test_shell_line_program_on_stdin_stored():
    """"ssh host 'cd /tmp; python3 -' < payload.py": simple commands joined by ; && || are read one
    by one, and one that reads its program from stdin stores it; a line with syntax not followed
    (a pipe, $) stores it when it names a shell or an interpreter."""
    env = Env(shell="/bin/sh")
    try:
        payload = b"print('ran', 6 * 7)\n"
        rc, out, err = run_pipes(env, "cd /tmp; python3 -", stdin=payload)
        check(rc == 0 and out == b"ran 42\n", "python3 ran the program on stdin (%r %r)" % (out, err))
        rec = Recording(env.pub, env.only_session())
        check(rec.data("in") == payload, "the program is stored as IN (%r)" % rec.data("in"))
        check(rec.notes("start")[0].get("input") == "shell_commands", "the start NOTE says why input is stored")
        os.unlink(env.only_session())
        data = os.path.join(env.dir, "data")
        check_stdin_stored(env, (("cd /tmp && sh", True), ("umask 077; sh -s", True), ("export X=1; sh", True),
                                 ("X=1 Y=2 sh", True), ("cd / || exit 1; python3 -", True),
                                 ("cat | sh", True), ("cd $HOME; sh", True),
                                 ("cd /tmp; cat > %s" % data, False), ("umask 077 && cat > %s" % data, False),
                                 ("cd /tmp; python3 -c pass", False), ("cat > %s | wc -c" % data, False)))
    finally:
        env.cleanup()


def test_command_string_program_on_stdin_stored():
    """"ssh host "flock /tmp/l -c 'python3 -'" < payload.py": the string a shell is given to run
    (sh -c, su -c, flock -c, eval) is read as a command line of its own."""
    env = Env(shell="/bin/sh")
    try:
        lock, data = os.path.join(env.dir, "lock"), os.path.join(env.dir, "data")
        payload = b"print('ran', 6 * 7)\n"
        rc, out, err = run_pipes(env, "flock %s -c 'cd /tmp; python3 -'" % lock, stdin=payload)
        check(rc == 0 and out == b"ran 42\n", "python3 ran the program on stdin (%r %r)" % (out, err))
        rec = Recording(env.pub, env.only_session())
        check(rec.data("in") == payload, "the program is stored as IN (%r)" % rec.data("in"))
        os.unlink(env.only_session())
        check_stdin_stored(env, (("sh -c 'sh'", True), ("bash -c \"cd /tmp; sh -s\"", True),
                                 ("sh -c \"sh -c 'exec sh'\"", True), ("eval 'cd /; sh'", True),
                                 ("flock %s --command sh" % lock, True), ("script -qc sh /dev/null", True),
                                 # BASH_ENV names the file of commands bash runs first
                                 ("BASH_ENV=/dev/stdin bash -c :", True),
                                 ("export BASH_ENV=/dev/stdin; bash -c true", True),
                                 ("env BASH_ENV=/dev/fd/0 bash -c :", True),
                                 ("BASH_ENV=/dev/null bash -c 'cat > %s'" % data, False),
                                 ("sh -c 'cat > %s'" % data, False), ("flock %s -c 'cat > %s'" % (lock, data), False),
                                 ("bash -c 'cd /tmp; python3 -c pass'", False)))
    finally:
        env.cleanup()


def test_client_commands_on_stdin_stored():
    """"ssh host sqlite3 app.db < cmds.sql": a query client or a debugger with stdin not a terminal
    runs the commands it reads there (sqlite3's .shell too), stored as a shell's are; with its
    commands on the command line (sqlite3 DB SQL, gdb -batch), stdin is data, only counted."""
    if not have("sqlite3", "bc", "gdb"):
        return
    env = Env(shell="/bin/sh")
    try:
        db = os.path.join(env.dir, "app.db")
        sql = b"select 6 * 7;\n.shell echo from-shell\n"
        rc, out, err = run_pipes(env, "cd /tmp && sqlite3 " + db, stdin=sql)
        check(rc == 0 and out == b"42\nfrom-shell\n", "sqlite3 ran the commands on stdin (%r %r)" % (out, err))
        rec = Recording(env.pub, env.only_session())
        check(rec.data("in") == sql, "the commands are stored as IN (%r)" % rec.data("in"))
        check(rec.notes("start")[0].get("input") == "shell_commands", "the start NOTE says why input is stored")
        os.unlink(env.only_session())
        check_stdin_stored(env, (("sqlite3", True), ("bc -q", True), ("gdb -q -nx", True),
                                 ("sqlite3 %s 'select 1'" % db, False), ("gdb -batch -nx", False),
                                 ("bc --version", False)), stdin=b"1 + 1\n")
    finally:
        env.cleanup()


def test_user_umask_kept():
    env = Env(shell="/bin/sh")
    try:
        for mask in (0o022, 0o027):
            p = subprocess.run([RECORDER], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, timeout=60,
                               env=env.environ(SSH_ORIGINAL_COMMAND="umask"), preexec_fn=lambda: os.umask(mask))
            check(p.stdout == b"%04o\n" % mask, "the command runs with the user's umask %04o (%r)" % (mask, p.stdout))
        for path in env.sessions():
            check(stat.S_IMODE(os.stat(path).st_mode) == 0o600, "the recording stays 0600")
    finally:
        env.cleanup()


def test_scp_upload_metadata():
    if not have("scp"):
        return
    env = Env(shell="/bin/sh")
    try:
        src = os.path.join(env.dir, "random.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(10 * 1024 * 1024))
        dest = os.path.join(env.dir, "dest")
        os.mkdir(dest)
        p = subprocess.run(["scp", "-O", "-q", "-S", fake_ssh(env), src, "host:" + dest + "/"], env=client_env(env),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        check(p.returncode == 0, "scp -O upload through the recorder succeeds (%r)" % p.stderr[-200:])
        check(sha(src) == sha(os.path.join(dest, "random.bin")), "10 MiB of random bytes arrive byte for byte")
        path = env.only_session()
        rec = Recording(env.pub, path, data=False)
        check(rec.sealed_ok(), "sealed and intact")
        check(rec.header["mode"] == "transfer", "header: transfer mode")
        t = rec.end()["transfer"]
        check(t["kind"] == "scp" and t["direction"] == "upload" and t["exit_status"] == 0, "END: scp upload, status 0")
        check(t["bytes_in"] >= 10 * 1024 * 1024 and t["bytes_in"] < 10 * 1024 * 1024 + 4096, "END: bytes in")
        check(rec.notes("transfer") and rec.notes("transfer")[0]["bytes_in"] == t["bytes_in"], "a transfer NOTE too")
        # doc/recording-format.md's HEADER and END examples name what the recorder writes
        for what, real in (("HEADER", rec.header), ("END", rec.end())):
            # audit_session only where the process has one (pam_loginuid): not in this test
            want, got = doc_example_keys(what) - {"audit_session"}, json_keys(real) - {"audit_session"}
            check(want == got, "recording-format.md's %s example names the recorder's keys "
                  "(only in the doc: %s; only written: %s)" % (what, sorted(want - got), sorted(got - want)))
        check(not rec.of("in") and not rec.of("out"), "no content stored (transfer_content = metadata)")
        check(sum(r["dropped"] for r in rec.of("dropped")) == t["bytes_in"] + t["bytes_out"],
              "DROPPED records account for every byte not stored")
        check(os.path.getsize(path) < 16384, "the recording is small (%d bytes)" % os.path.getsize(path))
        # replay says why the bytes are missing: the transfer setting, not a cap
        r = subprocess.run([REPLAY, "-c", env.conf, "cat", "--input", path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        check(r.returncode == 0 and b"transfer_content = metadata" in r.stderr and b"cap" not in r.stderr,
              "cat --input of a metadata transfer names transfer_content: %r" % r.stderr)
    finally:
        env.cleanup()


def json_keys(o):
    """Every key of a JSON object, at any depth."""
    if isinstance(o, dict):
        return set(o) | set().union(*(json_keys(v) for v in o.values()))
    if isinstance(o, list):
        return set().union(*(json_keys(v) for v in o))
    return set()


def doc_example_keys(section):
    """The keys of the json example under doc/recording-format.md's heading "### SECTION"."""
    src = os.environ.get("TG_TOP_SRCDIR") or os.path.join(os.path.dirname(__file__), "..")
    text = open(os.path.join(src, "doc", "recording-format.md")).read()
    m = re.search(r"^### " + section + r"\b.*?^```json\n(.*?)^```", text, re.S | re.M)
    check(m is not None, "recording-format.md has a json example under ### %s" % section)
    return set(re.findall(r'"(\w+)":', m.group(1)))


def test_scp_download_full():
    if not have("scp"):
        return
    env = Env(shell="/bin/sh", transfer_content="full")
    try:
        src = os.path.join(env.dir, "src.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(1024 * 1024))
        dest = os.path.join(env.dir, "got.bin")
        p = subprocess.run(["scp", "-O", "-q", "-S", fake_ssh(env), "host:" + src, dest], env=client_env(env),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        check(p.returncode == 0 and sha(src) == sha(dest), "scp -O download byte for byte")
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.end()["transfer"]["direction"] == "download", "sealed; direction download")
        with open(src, "rb") as f:
            check(f.read() in rec.data("out"), "transfer_content = full stores the stream")
    finally:
        env.cleanup()


def test_sftp_internal_mapped():
    if not have("sftp", "/usr/lib/openssh/sftp-server"):
        return
    env = Env(shell="/bin/sh", sftp_server="/usr/lib/openssh/sftp-server")
    try:
        src = os.path.join(env.dir, "s.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(2 * 1024 * 1024))
        batch = os.path.join(env.dir, "batch")
        with open(batch, "w") as f:
            f.write("put %s %s/s.copy\n" % (src, env.dir))
        e = client_env(env)
        e["SSH_ORIGINAL_COMMAND"] = "internal-sftp"
        p = subprocess.run(["sftp", "-q", "-b", batch, "-D", RECORDER], env=e, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        check(p.returncode == 0 and sha(src) == sha(os.path.join(env.dir, "s.copy")),
              "sftp (internal-sftp mapped to sftp-server) byte for byte")
        rec = Recording(env.pub, env.only_session(), data=False)
        check(rec.sealed_ok() and rec.end()["transfer"]["kind"] == "sftp", "recorded as an sftp transfer")
        check(rec.notes("start")[0]["ran"].startswith("/usr/lib/openssh/sftp-server"), "the mapped command noted")
    finally:
        env.cleanup()


def test_mapped_command_not_utf8_noted():
    """internal-sftp is mapped to the sftp server; the start NOTE says what ran. A command with
    bytes that are not UTF-8 after it must still have that said (U+FFFD for the bad bytes, as in
    the header), not lose the "ran" field without a word."""
    env = Env(shell="/bin/sh", sftp_server="/bin/echo")
    try:
        rc, out, err = run_pipes(env, "internal-sftp \udcff x")  # \udcff: the byte 0xff
        check(rc == 0 and out == b"\xff x\n", "the mapped command runs (%r %r)" % (out, err))
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok(), "sealed")
        n = rec.notes("start")
        check(n and n[0].get("ran") == "/bin/echo \ufffd x", "the start NOTE says what ran (%s)" % n)
    finally:
        env.cleanup()


def test_transfer_command_not_utf8_kept():
    """A transfer whose command holds bytes that are not UTF-8 (a quoted Latin-1 path) lost its
    facts: END's "transfer" was null and no transfer NOTE was written, so the recording said
    neither kind, direction, byte counts nor exit status of what it did not store."""
    if not have("scp"):
        return
    env = Env(shell="/bin/sh")
    try:
        rc, out, err = run_pipes(env, "scp -f '/nonexistent/r\udce9po'")  # \udce9: the byte 0xe9
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.header["mode"] == "transfer", "sealed, a transfer (%r)" % err)
        t = rec.end()["transfer"]
        check(isinstance(t, dict) and t["kind"] == "scp" and t["direction"] == "download",
              "END keeps the transfer's facts (%r)" % t)
        check(t["command"] == "scp -f '/nonexistent/r\ufffdpo'", "the command, U+FFFD for the bad byte (%r)" % t)
        check(rec.notes("transfer") and rec.notes("transfer")[0]["kind"] == "scp", "a transfer NOTE too")
    finally:
        env.cleanup()


def test_rsync_and_git():
    if not have("rsync", "git"):
        return
    env = Env(shell="/bin/sh")
    try:
        src = os.path.join(env.dir, "r.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(3 * 1024 * 1024))
        p = subprocess.run(["rsync", "-e", fake_ssh(env), src, "host:" + env.dir + "/r.copy"], env=client_env(env),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        check(p.returncode == 0 and sha(src) == sha(os.path.join(env.dir, "r.copy")), "rsync --server byte for byte")
        rec = Recording(env.pub, env.only_session(), data=False)
        check(rec.end()["transfer"]["kind"] == "rsync", "recorded as an rsync transfer")
        os.unlink(env.only_session())
        repo = os.path.join(env.dir, "repo")
        g = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main"]
        subprocess.run(g + ["init", "-q", repo], check=True)
        with open(os.path.join(repo, "f"), "w") as f:
            f.write("content\n")
        subprocess.run(g + ["-C", repo, "add", "f"], check=True)
        subprocess.run(g + ["-C", repo, "commit", "-q", "-m", "m"], check=True)
        e = client_env(env)
        e["GIT_SSH_COMMAND"] = fake_ssh(env)
        e["GIT_SSH_VARIANT"] = "ssh"  # no "ssh -G" probe
        p = subprocess.run(g + ["clone", "-q", "host:" + repo, os.path.join(env.dir, "clone")], env=e,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        check(p.returncode == 0 and os.path.exists(os.path.join(env.dir, "clone", "f")), "git clone over the recorder")
        rec = Recording(env.pub, env.only_session(), data=False)
        check(rec.end()["transfer"]["kind"] == "git-upload-pack", "recorded as git-upload-pack")
    finally:
        env.cleanup()


def test_on_failure_deny_and_allow():
    env = Env(shell="/bin/sh")
    try:
        os.unlink(env.key)
        rc, out, err = run_pipes(env, "echo should-not-run")
        check(rc != 0 and b"should-not-run" not in out and b"denied" in err, "deny: no key, no session")
        ev = [e for e in env.events() if e["type"] == "recording_failure"]
        check(len(ev) == 1 and ev[0]["on_failure"] == "deny", "deny: a recording_failure event")
        env.write_conf(on_failure="allow")
        rc, out, err = run_pipes(env, "echo runs-anyway; exit 6")
        check(rc == 6 and out == b"runs-anyway\n" and b"NOT recorded" in err, "allow: the session goes on, warned")
        ev = [e for e in env.events() if e["type"] == "recording_failure"]
        check(len(ev) == 2 and ev[1]["on_failure"] == "allow", "allow: a recording_failure event")
        # the command replaces the recorder: the hangup helper, forked before the failure, must
        # not be left to it as a child nobody waits for (sftp-server never would: a zombie).
        # sh runs a lone command in its own place: ps lists the children it took over
        rc, out, err = run_pipes(env, "ps -o comm --ppid $$")
        check(out.startswith(b"COMMAND") and b"tollgate" not in out, "allow: no helper left to the command (%r)" % out)
    finally:
        env.cleanup()


def test_spool_full_refused():
    """[uploader] spool_max_bytes: past it a new session gets no recording, and on_failure decides."""
    env = Env(shell="/bin/sh")
    try:
        with open(env.conf, "a") as f:
            f.write("[uploader]\nspool_max_bytes = 1M\n")
        os.makedirs(env.spool, exist_ok=True)
        with open(os.path.join(env.spool, "ballast"), "wb") as f:
            f.write(os.urandom(2 * 1024 * 1024))
        rc, out, err = run_pipes(env, "echo should-not-run")
        check(rc != 0 and b"should-not-run" not in out and b"denied" in err, "deny: a full spool, no session")
        ev = [e for e in env.events() if e["type"] == "recording_failure"]
        check(len(ev) == 1 and "full" in ev[0]["reason"], "a recording_failure event says the spool is full")
        check(not env.sessions(), "no recording was made")
        os.unlink(os.path.join(env.spool, "ballast"))
        rc, out, err = run_pipes(env, "echo runs")
        check(rc == 0 and out == b"runs\n" and len(env.sessions()) == 1, "with room again, recorded")
    finally:
        env.cleanup()


def test_spool_unreadable_part_counted_without():
    """A folder in the spool that the recorder cannot read (none of its files are there) neither
    blocks sessions nor hides what the rest holds: the rest is still measured against
    spool_max_bytes. As root the recorder runs without the capabilities that read any folder
    (setpriv), as the audit user would."""
    env = Env(shell="/bin/sh")
    hidden = os.path.join(env.spool, "hidden")
    try:
        with open(env.conf, "a") as f:
            f.write("[uploader]\nspool_max_bytes = 1M\n")
        argv = [RECORDER]
        if os.geteuid() == 0:
            argv = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"] + argv
        os.makedirs(hidden)
        os.chmod(hidden, 0)
        with open(os.path.join(env.spool, "ballast"), "wb") as f:
            f.write(os.urandom(2 * 1024 * 1024))
        rc, out, err = run_pipes(env, "echo should-not-run", argv=argv)
        check(rc != 0 and b"should-not-run" not in out and b"is full" in err,
              "the readable rest is still measured: full, refused (%r)" % err)
        os.unlink(os.path.join(env.spool, "ballast"))
        rc, out, err = run_pipes(env, "echo runs", argv=argv)
        check(rc == 0 and out == b"runs\n" and len(env.sessions()) == 1,
              "with room, the unreadable folder does not block the session (%r)" % err)
    finally:
        if os.path.isdir(hidden):
            os.chmod(hidden, 0o700)
        env.cleanup()


def test_traceme_command_goes_on():
    """A command that makes the recorder its tracer (PTRACE_TRACEME) stopped for it at its next
    signal, and the recorder, taking the stop for its end, waited for ever on its pipes: it is let
    go, untraced, with its signal, and the session runs to its real end."""
    env = Env(shell="/bin/sh")
    try:
        rc, out, err = run_pipes(env, traceme_command(env), timeout=60)
        if out == b"traceme-refused\n":
            print("(skipped: PTRACE_TRACEME refused here, a Yama ptrace_scope of 3)")
            return
        check(rc == 7 and out == b"got-usr1\nafter-exec\n", "the command ran to its end (%r %r %r)" % (rc, out, err))
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.end()["exit_status"] == 7, "END records its exit status (%r)" % rec.end())
        # from a thread: let go when it stops, reaped when it ends (the session hung for ever)
        shutil.rmtree(env.spool)
        rc, out, err = run_pipes(env, traceme_command(env, script=TRACEME_THREAD_SCRIPT), timeout=60)
        check(rc == 7 and out == b"got-usr1\nafter-thread\n", "a thread's TRACEME: ran to its end (%r %r %r)" % (rc, out, err))
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.end()["exit_status"] == 7, "a thread's TRACEME: END records 7 (%r)" % rec.end())
        # a SIGTRAP that no execve raised is passed on: it ends the command, as untraced
        shutil.rmtree(env.spool)
        rc, out, err = run_pipes(env, traceme_command(env, script=TRACEME_TRAP_SCRIPT), timeout=60)
        check(out == b"trapping\n" and rc != 0, "a raised SIGTRAP still ends the command (%r %r %r)" % (rc, out, err))
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.end()["signal"] == signal.SIGTRAP, "END records SIGTRAP (%r)" % rec.end())
    finally:
        env.cleanup()


def test_long_command_recorded():
    """A command too long for the header (and not UTF-8) is still recorded, whole in a NOTE:
    it used to fail the recording, which with on_failure = allow ran it unrecorded."""
    env = Env(shell="/bin/sh")
    try:
        env.write_conf(on_failure="allow")
        cmd = ":" + " " * 5000 + "\udcff; echo RAN"  # \udcff: the byte 0xff in the environment
        rc, out, err = run_pipes(env, cmd)
        check(rc == 0 and out == b"RAN\n" and b"NOT recorded" not in err, "the command runs, recorded")
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and b"RAN" in rec.data("out"), "sealed, with its output")
        n = rec.notes("command")
        check(n and n[0]["length"] == len(os.fsencode(cmd)) and not n[0]["truncated"], "a command NOTE with its length")
        import base64
        check(base64.b64decode(n[0]["command_b64"]) == os.fsencode(cmd), "the NOTE holds the exact command")
        check(rec.header["command_length"] == len(os.fsencode(cmd)) and len(rec.header["command"]) <= 4096,
              "the header holds the start and the length")
        check(not [e for e in env.events() if e["type"] == "recording_failure"], "no recording_failure")
    finally:
        env.cleanup()


def fail_part_way(env, cmd):
    """Run cmd (it prints "go" first) and, once it runs, put a file size limit on the recorder:
    its writes fail part way (EFBIG; one under max_session_bytes at the start is refused).
    Returns (stdout, stderr)."""
    p = subprocess.Popen([RECORDER], env=env.environ(SSH_ORIGINAL_COMMAND=cmd), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        check(read_line(p.stdout) == b"go\n", "the command runs")
        resource.prlimit(p.pid, resource.RLIMIT_FSIZE, (512 * 1024, 512 * 1024))
        return p.communicate(timeout=120)
    finally:
        end_process(p)


def test_failure_mid_session():
    env = Env(shell="/bin/sh", max_session_bytes="1G")
    try:
        # deny ends the session
        out, err = fail_part_way(env, "echo go; sleep 1; head -c 50000000 /dev/zero; echo finished")
        check(b"finished" not in out and b"recording failed" in err, "deny: the session is ended")
        ev = [x for x in env.events() if x["type"] == "recording_failure"]
        check(len(ev) == 1 and "write failed" in ev[0]["reason"], "a recording_failure event says why")
        rec = Recording(env.pub, env.only_session(), data=False)
        check(rec.verdict["status"] == -13 and rec.verdict["verified_bytes"] > 0,
              "the cut recording is handed over, unsealed, verified up to its last checkpoint")
    finally:
        env.cleanup()


def test_recording_removed_mid_session():
    """A recording removed from the spool mid-session (alone, or with the spool folder) is a
    recording failure at the next checkpoint: the file took the writes as ever, so deny let the
    session run to its end, and all of it was lost when the file could not be handed over."""
    env = Env(shell="/bin/sh", max_session_bytes="1G")
    try:
        for remove in ("file", "folder"):
            p = subprocess.Popen([RECORDER], env=env.environ(SSH_ORIGINAL_COMMAND="echo go; sleep 5; echo finished"),
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                check(read_line(p.stdout) == b"go\n", "the command runs")
                if remove == "file":
                    for f in env.active():
                        os.unlink(f)
                else:
                    shutil.rmtree(env.spool)
                out, err = p.communicate(timeout=60)
            finally:
                end_process(p)
            check(b"finished" not in out and b"recording failed" in err,
                  "%s removed: deny ends the session (%r %r)" % (remove, out, err))
            ev = [x for x in env.events() if x["type"] == "recording_failure"]
            check(ev and "write failed" in ev[0]["reason"], "a recording_failure event says why: %r" % ev)
            shutil.rmtree(os.path.join(env.spool, "events"))
        env.write_conf(shell="/bin/sh", on_failure="allow")
        p = subprocess.Popen([RECORDER], env=env.environ(SSH_ORIGINAL_COMMAND="echo go; sleep 3; echo finished"),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            check(read_line(p.stdout) == b"go\n", "the command runs")
            for f in env.active():
                os.unlink(f)
            out, err = p.communicate(timeout=60)
        finally:
            end_process(p)
        check(out == b"finished\n" and p.returncode == 0, "allow: the session goes on")
        ev = [x for x in env.events() if x["type"] == "recording_failure"]
        check(ev and ev[0]["on_failure"] == "allow" and "write failed" in ev[0]["reason"],
              "and the failure is reported while it runs, not only at the end: %r" % ev)
    finally:
        env.cleanup()


def test_failure_ends_quiet_command():
    """Deny ends the command itself, not only its pipes: a command that writes nothing more
    (and one that ignores SIGHUP, and what it started) must not run on unrecorded."""
    env = Env(shell="/bin/sh", max_session_bytes="1G")
    try:
        me, bg = os.path.join(env.dir, "me.pid"), os.path.join(env.dir, "bg.pid")
        cmd = ("sleep 300 & echo $! > %s; echo $$ > %s; trap '' HUP; echo go; sleep 1; "
               "head -c 50000000 /dev/zero; sleep 300" % (bg, me))
        out, err = fail_part_way(env, cmd)
        pids = [int(open(f).read()) for f in (me, bg)]
        try:
            check(b"recording failed" in err, "deny: the session is ended")
            check(gone(pids[0]), "the command's shell, which ignores SIGHUP, is ended (SIGKILL)")
            check(gone(pids[1]), "what it started in the background is ended (SIGHUP)")
        finally:
            kill_quietly(*pids)
    finally:
        env.cleanup()


def take_pid(pid, tries=50):
    """A process (sleep, in a session and process group of its own) with this very pid, made
    through ns_last_pid; None when the pid stays taken (or ns_last_pid cannot be written)."""
    for _ in range(tries):
        try:
            with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                f.write(str(pid - 1))
        except OSError:
            return None
        p = subprocess.Popen(["sleep", "300"], start_new_session=True)
        if p.pid == pid:
            return p
        p.kill()
        p.wait()
    return None


def test_failure_spares_reused_pid():
    """The hangup after a failure reaches the command's process group and nothing else. The
    command's shell ended while a process it started in another group still writes; its pid,
    the group's id, must not be free for a new process (here one in a group of its own, as
    another session of the user would be) that the helper would then hang up and kill."""
    env = Env(shell="/bin/sh", max_session_bytes="1G")
    victim, bg = None, None
    try:
        fifo, bgf = os.path.join(env.dir, "go"), os.path.join(env.dir, "bg.pid")
        os.mkfifo(fifo)
        cmd = ("setsid sh -c 'echo $$ > %s; read x < %s; head -c 50000000 /dev/zero; exec sleep 300' & "
               "echo $$" % (bgf, fifo))
        p = subprocess.Popen([RECORDER], env=env.environ(SSH_ORIGINAL_COMMAND=cmd), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            leader = int(read_line(p.stdout))
            check(gone(leader), "the command's shell ends")
            victim = take_pid(leader)
            resource.prlimit(p.pid, resource.RLIMIT_FSIZE, (512 * 1024, 512 * 1024))
            with open(fifo, "w") as f:
                f.write("go\n")
            out, err = p.communicate(timeout=120)
            bg = int(open(bgf).read())
            check(b"recording failed" in err, "deny: the session is ended")
            check(victim is None or not gone(victim.pid, 3.0),
                  "the process that got the command's pid (%d) is not hung up" % leader)
        finally:
            end_process(p)
    finally:
        kill_quietly(victim.pid if victim else None, bg)
        if victim is not None:
            victim.wait()
        env.cleanup()


def test_normal_end_leaves_background():
    """A command that ends on its own is not hung up: what it left running goes on, as with sshd."""
    env = Env(shell="/bin/sh")
    try:
        rc, out, err = run_pipes(env, "sleep 300 >/dev/null 2>&1 </dev/null & echo $!")
        pid = int(out)
        try:
            check(rc == 0 and not gone(pid, 1.0), "the background process outlives the session")
        finally:
            os.kill(pid, signal.SIGKILL)
    finally:
        env.cleanup()


def test_term_closes_pipes():
    env = Env(shell="/bin/sh")
    try:
        p = subprocess.Popen([RECORDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env.environ(SSH_ORIGINAL_COMMAND="echo up; cat"))
        check(read_line(p.stdout) == b"up\n", "the command runs")
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=30)
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.end()["reason"] == "hangup", "SIGTERM: pipes closed, the recording sealed")
    finally:
        env.cleanup()


def test_term_ends_quiet_command():
    """SIGTERM (an admin ending the session) or SIGHUP ends the command, as closing the pty
    master hangs up a terminal session's shell: closing its pipes alone left a command that
    writes nothing more (and ignores SIGHUP) running, unrecorded, after the seal."""
    env = Env(shell="/bin/sh")
    try:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            p = subprocess.Popen([RECORDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=env.environ(SSH_ORIGINAL_COMMAND="trap '' HUP; sleep 300 & echo $!; echo $$; wait"))
            pids = []
            try:
                pids = [int(read_line(p.stdout)), int(read_line(p.stdout))]
                p.send_signal(sig)
                p.communicate(timeout=60)
                check(gone(pids[0]) and gone(pids[1]),
                      "%s: the command and what it started are ended" % signal.Signals(sig).name)
            finally:
                end_process(p, *pids)
        rec = [Recording(env.pub, f) for f in env.sessions()]
        check(len(rec) == 2 and all(r.sealed_ok() and r.end()["reason"] == "hangup" for r in rec),
              "both recordings sealed, reason hangup")
        check(not any(r.notes("hangup_incomplete") for r in rec), "the hangup reached all of the command")
    finally:
        env.cleanup()


def test_hangup_done_when_only_zombies_left():
    """After the hangup the helper waits for the command's process group to be gone, then
    SIGKILLs what is left. A process of the group whose parent (the shell) died first is a
    zombie until init, or the nearest subreaper, reaps it: seconds later under some container
    inits, never under a subreaper that does not wait. kill(-pgid, 0) finds zombies too, so the
    helper waited out its 2 s for nothing and the user's "session is ended" came that late.
    A group left with zombies only is done: no SIGKILL (seen with strace)."""
    if shutil.which("strace") is None:
        print("(skipped: strace not installed)")
        return
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    env = Env(shell="/bin/sh")
    orphan = None
    # this process, a subreaper that does not wait, is where the shell's orphan goes
    check(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, "a subreaper")
    try:
        trace = os.path.join(env.dir, "trace")
        p = subprocess.Popen(["strace", "-f", "-qq", "-o", trace, "-e", "trace=kill", RECORDER],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env.environ(SSH_ORIGINAL_COMMAND="(trap '' HUP; sleep 0.5) & echo $!; "
                                             "echo $PPID; wait"))
        try:
            orphan, recorder = int(read_line(p.stdout)), int(read_line(p.stdout))
            os.kill(recorder, signal.SIGTERM)
            p.communicate(timeout=60)
        finally:
            end_process(p)
        with open("/proc/%d/stat" % orphan) as f:
            check(f.read().rsplit(")", 1)[1].split()[0] == "Z",
                  "the shell's orphan is a zombie of this process's, not reaped")
        with open(trace) as f:
            kills = [line.strip() for line in f if "SIGKILL" in line]
        check(not kills, "no SIGKILL for a group of zombies (%s)" % kills)
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.end()["reason"] == "hangup", "the recording sealed, reason hangup")
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        if orphan is not None:
            kill_quietly(orphan)
            try:
                os.waitpid(orphan, 0)
            except ChildProcessError:
                pass
        env.cleanup()


def test_ctrl_c_while_helper_starts():
    """The hangup helper is in the recorder's process group, so a Ctrl-C there (su alice -c cmd)
    reaches it too, and it ignores it. It set that up only after its fork, its id drop and its
    descriptors: a Ctrl-C in the meantime ended it, and the command, out of the recorder's
    reach, got no Ctrl-C then, and no hangup at the session's end. Its setup is slowed here
    (strace delays each dup2, which the helper makes before it gets to its signals; a test of
    the hangup helper's run alone hung for 10 minutes on a loaded machine): it now starts with
    them blocked and ignores them first."""
    if shutil.which("strace") is None:
        print("(skipped: strace not installed)")
        return
    env = Env(shell="/bin/sh")
    try:
        cmd = "trap 'echo caught' INT; echo $$; while :; do read x; done"
        p = subprocess.Popen(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=dup2",
                              "-e", "inject=dup2:delay_enter=1500000", RECORDER],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env.environ(SSH_ORIGINAL_COMMAND=cmd), start_new_session=True)
        pid = recorder = None
        try:
            pid = int(read_line(p.stdout))
            with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
                recorder = int(f.read().split()[0])
            os.killpg(p.pid, signal.SIGINT)
            check(read_line(p.stdout) == b"caught\n",
                  "a Ctrl-C while the helper set up reached the command")
            os.kill(recorder, signal.SIGTERM)
            p.communicate(timeout=120)
            check(gone(pid), "SIGTERM after it: the command is hung up")
        finally:
            # the recorder first: killed, strace lets it run on, and it would write into the
            # test's folder after its removal
            if recorder is not None:
                kill_quietly(recorder)
                gone(recorder)
            end_process(p, pid)
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.end()["reason"] == "hangup", "sealed as hung up")
    finally:
        env.cleanup()


def test_ctrl_c_reaches_command():
    """Ctrl-C at the terminal a command session runs on (su alice -c cmd > file, alice's login
    shell the recorder) reaches the command's process group, as a terminal's would. The command
    runs in a session of its own, so the terminal's SIGINT reached only the recorder and the
    hangup helper in its group: the recorder closed the pipes and left a quiet command running
    on, unrecorded, after the seal, and the helper died of it. The recorder now records on to
    the command's end and passes its status on."""
    env = Env(shell="/bin/sh")
    try:
        # the command catches both and goes on; a SIGTERM to the recorder still hangs it up:
        # the helper outlived the Ctrl-C that its process group got too
        cmd = "trap 'echo caught' INT QUIT; echo $$; while :; do read x; done"
        p = subprocess.Popen([RECORDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env.environ(SSH_ORIGINAL_COMMAND=cmd), start_new_session=True)
        pid = None
        try:
            pid = int(read_line(p.stdout))
            for sig in (signal.SIGINT, signal.SIGQUIT):
                os.killpg(p.pid, sig)
                check(read_line(p.stdout) == b"caught\n",
                      "%s: the command gets it and runs on" % signal.Signals(sig).name)
            p.send_signal(signal.SIGTERM)
            p.communicate(timeout=60)
            check(gone(pid), "SIGTERM after them: the command is hung up")
        finally:
            end_process(p, pid)
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.data("out").endswith(b"caught\ncaught\n") and rec.end()["reason"] == "hangup",
              "what it wrote after the Ctrl-C recorded, then sealed as hung up")
        # one that dies of it: the recorder dies of the same signal, the recording says so
        os.unlink(env.only_session())
        p = subprocess.Popen([RECORDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env.environ(SSH_ORIGINAL_COMMAND="echo $$; exec sleep 37"), start_new_session=True)
        pid = None
        try:
            pid = int(read_line(p.stdout))
            os.killpg(p.pid, signal.SIGINT)
            p.communicate(timeout=60)
            check(gone(pid, 1.0), "SIGINT: the command is ended")
            check(p.returncode == -signal.SIGINT, "the recorder dies of it too (rc %d)" % p.returncode)
        finally:
            end_process(p, pid)
        end = Recording(env.pub, env.only_session()).end()
        check(end["reason"] == "exit" and end["signal"] == signal.SIGINT, "sealed with its signal: %r" % end)
    finally:
        env.cleanup()


def test_signals_together_all_passed():
    """Signals that reach the recorder together, pending at one wake-up of the relay (it was
    stopped, or busy), are each passed on: the relay's one flag takes one per ppoll, the rest
    stay pending for the next. SIGQUIT then SIGINT to a command session; the same to a terminal
    session's foreground job, through TIOCSIG."""
    env = Env(shell="/bin/sh")
    try:
        cmd = "trap 'echo INT' INT; trap 'echo QUIT' QUIT; echo ready; while :; do sleep 1; done"
        p = subprocess.Popen([RECORDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env.environ(SSH_ORIGINAL_COMMAND=cmd), start_new_session=True)
        try:
            check(read_line(p.stdout) == b"ready\n", "the command runs")
            os.kill(p.pid, signal.SIGSTOP)
            os.kill(p.pid, signal.SIGQUIT)
            os.kill(p.pid, signal.SIGINT)
            os.kill(p.pid, signal.SIGCONT)
            got, end = b"", time.monotonic() + 10
            while got.count(b"\n") < 2 and select.select([p.stdout], [], [], max(0, end - time.monotonic()))[0]:
                d = os.read(p.stdout.fileno(), 100)
                if not d:
                    break
                got += d
            check(sorted(got.splitlines()) == [b"INT", b"QUIT"], "command session: both reach the command (%r)" % got)
            p.send_signal(signal.SIGTERM)
            p.communicate(timeout=60)
        finally:
            end_process(p)
        os.unlink(env.only_session())
        prog = ("import os, signal, time\n"
                "for s in (signal.SIGINT, signal.SIGQUIT):\n"
                "    signal.signal(s, lambda n, f: os.write(1, b'GOT%d\\n' % n))\n"
                "os.write(1, b'READY\\n')\n"
                "while True: time.sleep(1)\n")
        s = PtySession(env, argv=[RECORDER, "-c", "exec python3 -c \"%s\"" % prog])
        try:
            s.read_until(b"READY")
            os.kill(s.pid, signal.SIGSTOP)
            os.kill(s.pid, signal.SIGQUIT)
            os.kill(s.pid, signal.SIGINT)
            os.kill(s.pid, signal.SIGCONT)
            s.read_until(b"GOT%d" % signal.SIGINT)
            s.read_until(b"GOT%d" % signal.SIGQUIT)
            check(True, "terminal session: both reach the foreground job")
            os.kill(s.pid, signal.SIGHUP)
            s.wait()
        finally:
            s.kill()
    finally:
        env.cleanup()


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def wait_state(pid, stopped, wait_s=10.0):
    """pid is stopped (or, with stopped false, runs again), waiting up to wait_s."""
    end = time.monotonic() + wait_s
    while (proc_state(pid) == "T") != stopped:
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def nonblock(pid, fd):
    """Whether pid's fd is O_NONBLOCK (its /proc fdinfo: the open file's flags, in octal)."""
    with open("/proc/%d/fdinfo/%d" % (pid, fd)) as f:
        flags = [l.split()[1] for l in f if l.startswith("flags:")][0]
    return bool(int(flags, 8) & os.O_NONBLOCK)


def test_ctrl_z_stops_command():
    """Ctrl-Z at the terminal a command session runs on (su alice --session-command cmd > file,
    alice's login shell the recorder) stops the whole job, the command too, as a terminal's stops its foreground job;
    fg goes on with both. The command runs in a session of its own: the terminal's SIGTSTP
    stopped only the recorder (and its helper), and the command ran on while the shell said
    the job was stopped."""
    env = Env(shell="/bin/sh")
    try:
        # the recorder in a process group of its own in this session, as a job of the shell
        # su runs in: the terminal's SIGTSTP goes to that group
        cmd = "echo $$; while read x; do echo got $x; done; exit 3"
        # stdout and stderr one open file, as a terminal is for su's caller
        p = subprocess.Popen([RECORDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env=env.environ(SSH_ORIGINAL_COMMAND=cmd), process_group=0)
        pid = None
        try:
            pid = int(read_line(p.stdout))
            check(nonblock(p.pid, 1) and nonblock(p.pid, 2), "while relaying, stdout and stderr are non-blocking")
            os.killpg(p.pid, signal.SIGTSTP)
            check(wait_state(p.pid, True), "Ctrl-Z: the recorder stops, the job shows as stopped")
            check(wait_state(pid, True), "and the command is stopped with it")
            # on a terminal they are the open file the caller's shell reads from meanwhile
            check(not nonblock(p.pid, 1) and not nonblock(p.pid, 2),
                  "stopped, stdout and stderr have their own flags back")
            os.killpg(p.pid, signal.SIGCONT)
            check(wait_state(p.pid, False) and wait_state(pid, False), "fg: both go on")
            p.stdin.write(b"hello\n")
            p.stdin.flush()
            check(read_line(p.stdout) == b"got hello\n", "the command still reads and writes")
            check(nonblock(p.pid, 1) and nonblock(p.pid, 2), "and stdout and stderr are non-blocking again")
            p.stdin.close()
            p.wait(timeout=60)
            check(p.returncode == 3, "its exit status is passed on (rc %d)" % p.returncode)
        finally:
            end_process(p, pid)
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.end()["reason"] == "exit" and rec.data("out").endswith(b"got hello\n"),
              "recorded to the end and sealed")
        # "ssh host cmd": the recorder leads a session of its own, where the kernel drops a
        # SIGTSTP (an orphaned process group); the command must not be left stopped either
        os.unlink(env.only_session())
        p = subprocess.Popen([RECORDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env.environ(SSH_ORIGINAL_COMMAND=cmd), start_new_session=True)
        pid = None
        try:
            pid = int(read_line(p.stdout))
            os.killpg(p.pid, signal.SIGTSTP)
            p.stdin.write(b"again\n")
            p.stdin.flush()
            check(read_line(p.stdout) == b"got again\n" and proc_state(p.pid) != "T",
                  "no job control without a terminal: the session goes on")
            p.stdin.close()
            p.wait(timeout=60)
            check(p.returncode == 3, "its exit status is passed on (rc %d)" % p.returncode)
        finally:
            end_process(p, pid)
    finally:
        env.cleanup()


# A job-control shell on a terminal: runs the recorder as a job, stops it (Ctrl-Z), resumes it
# in the background (bg), waits for it to stop on the terminal's input, then brings it to the
# foreground (fg) and ends it with ^D. What it saw goes to its stdout, the terminal.
BG_SHELL = r"""
import os, signal, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
from test_recorder_pipes import proc_state, wait_state
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
p = subprocess.Popen(sys.argv[2:3], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, process_group=0)
os.tcsetpgrp(0, p.pid)
pid = int(p.stdout.readline())
os.killpg(p.pid, signal.SIGTSTP)
wait_state(p.pid, True)
os.tcsetpgrp(0, os.getpgrp())
os.killpg(p.pid, signal.SIGCONT)
wait_state(p.pid, False)
wait_state(pid, False)
print("BG", flush=True)
ok = wait_state(p.pid, True)
wait_state(pid, True)  # the helper stops the command after the recorder asked it to
print("STOPPED %d %s" % (ok, proc_state(pid)), flush=True)
os.tcsetpgrp(0, p.pid)
os.killpg(p.pid, signal.SIGCONT)
print("FG " + p.stdout.readline().decode().strip(), flush=True)
print("RC %d" % p.wait(), flush=True)
"""


def job_shell_session(env, shell_script, cmd, *extra):
    """A PtySession running shell_script (a python program that starts the recorder as a job
    of an interactive shell: BG_SHELL and the like) with the recorder's command cmd; extra:
    more arguments after the recorder's path."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(sys.executable, [sys.executable, "-c", shell_script,
                                       os.path.dirname(os.path.abspath(__file__)), RECORDER] + list(extra),
                      env.environ(SSH_ORIGINAL_COMMAND=cmd))
        finally:
            os._exit(127)
    s = PtySession.__new__(PtySession)
    s.pid, s.fd, s.out, s.status = pid, fd, b"", None
    return s


def test_bg_job_stops_on_terminal_read():
    """A command session stopped with Ctrl-Z and resumed with bg (su alice --session-command
    cmd, alice's login shell the recorder) stops again, the command with it, when it would read
    the terminal, as any background job does. The terminal's SIGTTIN stopped the recorder (and
    its helper) alone: the command ran on while the shell said the job was stopped."""
    env = Env(shell="/bin/sh")
    try:
        cmd = "echo $$; while read x; do echo got $x; done; exit 3"
        s = job_shell_session(env, BG_SHELL, cmd)
        try:
            s.read_until(b"BG\r\n")
            s.send(b"hello\n")
            s.read_until(b"STOPPED")
            s.read_until(b"\r\n", since=s.out.index(b"STOPPED"))
            check(b"STOPPED 1 T" in s.out, "the job read the terminal in the background: stopped, command too (%r)"
                  % s.out[s.out.index(b"STOPPED"):])
            s.read_until(b"FG")
            s.read_until(b"\r\n", since=s.out.index(b"FG"))
            check(b"FG got hello" in s.out, "fg: it reads the input it stopped on, and passes it on")
            s.send(b"\x04")
            s.read_until(b"RC 3")
            check(True, "^D ends it with the command's status")
            s.wait()
        finally:
            s.kill()
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.end()["reason"] == "exit" and rec.data("out").endswith(b"got hello\n"),
              "recorded to the end and sealed")
    finally:
        env.cleanup()


# The start of the shells below (argv[1]: the tests folder, argv[2]: the recorder, argv[3]: the
# file the command writes its pid to): the recorder started as the terminal's foreground job,
# until the command has made argv[3].done.
BG_JOB_START = r"""
import os, resource, signal, subprocess, sys, termios, time
sys.path.insert(0, sys.argv[1])
from test_recorder_pipes import proc_state, wait_state
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
p = subprocess.Popen(sys.argv[2:3], stdout=subprocess.DEVNULL, process_group=0,
                     preexec_fn=lambda: signal.signal(signal.SIGTTOU, signal.SIG_DFL))
os.tcsetpgrp(0, p.pid)
while not os.path.exists(sys.argv[3] + ".done"):
    time.sleep(0.05)
"""


# The same shell with "stty tostop": the recorder writes the command's stderr to the terminal
# (su alice --session-command cmd > file); in the background, that stops the job (SIGTTOU). The
# command's pid comes in a file.
BG_WRITE_SHELL = BG_JOB_START + r"""pid = int(open(sys.argv[3]).read())
os.killpg(p.pid, signal.SIGTSTP)
wait_state(p.pid, True)
os.tcsetpgrp(0, os.getpgrp())
t = termios.tcgetattr(0)
t[3] |= termios.TOSTOP
termios.tcsetattr(0, termios.TCSANOW, t)
os.killpg(p.pid, signal.SIGCONT)
ok = wait_state(p.pid, True)
wait_state(pid, True)  # the helper stops the command after the recorder asked it to
print("STOPPED %d %s" % (ok, proc_state(pid)), flush=True)
os.tcsetpgrp(0, p.pid)
os.killpg(p.pid, signal.SIGCONT)
time.sleep(3)  # fg: a tick (one each 0.2 s) comes through resume, helper, command, recorder
os.kill(p.pid, signal.SIGTERM)
print("RC %d" % p.wait(), flush=True)
"""


def test_bg_job_stops_on_terminal_write():
    """With stty tostop, a command session resumed with bg stops, the command with it, when the
    recorder writes the command's stderr to the terminal, as any background job does. The
    terminal's SIGTTOU stopped the recorder and its helper alone, and the command ran on."""
    env = Env(shell="/bin/sh")
    try:
        pidf = os.path.join(env.dir, "cmd.pid")
        # one process that forks nothing (a shell's loop would be seen in vfork, state D)
        cmd = ("echo $$ > %s; touch %s.done; exec perl -e '$| = 1; "
               "while (1) { print STDERR \"tick\\n\"; select(undef, undef, undef, 0.2) }'" % (pidf, pidf))
        s = job_shell_session(env, BG_WRITE_SHELL, cmd, pidf)
        cmd_pid = None
        try:
            s.read_until(b"STOPPED")
            s.read_until(b"\r\n", since=s.out.index(b"STOPPED"))
            cmd_pid = int(open(pidf).read())
            check(b"STOPPED 1 T" in s.out, "the job wrote to the terminal in the background: stopped, command too (%r)"
                  % s.out[s.out.index(b"STOPPED"):])
            at = len(s.out)
            s.read_until(b"RC")
            check(b"tick" in s.out[at:], "fg: it goes on writing")
            s.wait()
        finally:
            s.kill()
            kill_quietly(cmd_pid)
        rec = Recording(env.pub, env.only_session())
        check(rec.sealed_ok() and rec.end()["reason"] == "hangup", "recorded to the end and sealed")
    finally:
        env.cleanup()


# The same shell: the job, stopped and resumed in the background with "stty tostop", has its
# recording fail (a file size limit put on the running recorder). The command's stdout goes to a
# file; the recorder's stderr, the terminal, gets only the reason. The command's pid comes in a
# file, and it starts its output once the go file is there.
BG_FAIL_SHELL = BG_JOB_START + r"""os.killpg(p.pid, signal.SIGTSTP)
wait_state(p.pid, True)
os.tcsetpgrp(0, os.getpgrp())
t = termios.tcgetattr(0)
t[3] |= termios.TOSTOP
termios.tcsetattr(0, termios.TCSANOW, t)
resource.prlimit(p.pid, resource.RLIMIT_FSIZE, (512 * 1024, 512 * 1024))
os.killpg(p.pid, signal.SIGCONT)
t0 = time.monotonic()
open(sys.argv[3] + ".go", "w").close()
stopped = 0
writes = {}  # the most write(2) calls each process of the recorder's tree was seen to have made
while p.poll() is None and time.monotonic() - t0 < 60:
    todo = [p.pid]
    while todo:
        q = todo.pop()
        try:
            with open("/proc/%d/io" % q) as f:
                n = int([l for l in f if l.startswith("syscw:")][0].split()[1])
            writes[q] = max(writes.get(q, 0), n)
            for tid in os.listdir("/proc/%d/task" % q):
                with open("/proc/%d/task/%s/children" % (q, tid)) as f:
                    todo += [int(x) for x in f.read().split()]
        except (OSError, IndexError, ValueError):
            pass
    if proc_state(p.pid) == "T":
        stopped += 1
        os.tcsetpgrp(0, p.pid)
        os.killpg(p.pid, signal.SIGCONT)
    time.sleep(0.05)
print("RC %s %.1f STOPS %d WRITES %d" % (p.poll(), time.monotonic() - t0, stopped, sum(writes.values())),
      flush=True)
"""


def test_bg_failure_message_not_lost():
    """A recording failure (deny) of a command session that runs in the background with stty
    tostop (su alice --session-command cmd > file, then Ctrl-Z, bg): the command is ended and the
    user told why, at once. The recorder caught SIGTTOU for the job's stop and wrote the
    message into it again and again, for 5 s, at full CPU, and the message never came."""
    env = Env(shell="/bin/sh", max_session_bytes="1G")
    try:
        pidf = os.path.join(env.dir, "cmd.pid")
        cmd = ("echo $$ > %s; touch %s.done; while [ ! -e %s.go ]; do sleep 0.05; done; "
               "head -c 3000000 /dev/zero; sleep 30" % (pidf, pidf, pidf))
        s = job_shell_session(env, BG_FAIL_SHELL, cmd, pidf)
        cmd_pid = None
        try:
            s.read_until(b"STOPS", timeout=90)
            s.read_until(b"\r\n", since=s.out.index(b"RC "))
            cmd_pid = int(open(pidf).read())
            res = s.out[s.out.index(b"RC "):].split()
            check(res[1] == b"-1", "the session ended as its hung-up command did, SIGHUP (%r)" % s.out[-300:])
            check(b"the session recording failed; the session is ended." in s.out,
                  "the user is told why (%r)" % s.out[-300:])
            # at once: counted in write(2) calls, not timed (a spin on EINTR makes a million in
            # its 5 s; a slow machine makes no more calls, only slower ones)
            check(int(res[6]) < 10000, "at once: no write spun on the terminal (%s write calls "
                  "in the recorder's processes, %s s)" % (res[6].decode(), res[2].decode()))
            check(gone(cmd_pid), "the command was ended")
            s.wait()
        finally:
            s.kill()
            kill_quietly(cmd_pid)
        rec = Recording(env.pub, env.only_session())
        check(rec.end() is None, "the recording is handed over unsealed")
    finally:
        env.cleanup()


def test_transfer_disguise_recorded():
    """A command dressed as a transfer ("scp -t x; cat secret") is a command, recorded in full;
    a real transfer runs without the configured shell, so no start-up file of it runs."""
    if not have("scp"):
        return
    env = Env(shell="/bin/sh")
    try:
        rc, out, err = run_pipes(env, "scp -t /nonexistent-dir/x 2>/dev/null; echo SECRET-OUTPUT")
        check(b"SECRET-OUTPUT" in out, "the disguised command runs")
        rec = Recording(env.pub, env.only_session())
        check(rec.header["mode"] == "command", "recorded as a command, not a transfer")
        check(b"SECRET-OUTPUT" in rec.data("out"), "its output is stored")
        # a t in the argument of -S is no -t: scp runs as a client, and starts that program
        prog = os.path.join(env.dir, "prog.t")
        with open(prog, "w") as f:
            f.write("#!/bin/sh\necho SECRET-OUTPUT >&2\n")
        os.chmod(prog, 0o755)
        os.unlink(env.only_session())
        rc, out, err = run_pipes(env, "scp -S%s host:file %s" % (prog, os.path.join(env.dir, "copy")))
        check(b"SECRET-OUTPUT" in err, "the program named with -S runs")
        rec = Recording(env.pub, env.only_session())
        check(rec.header["mode"] == "command" and b"SECRET-OUTPUT" in rec.data("err"),
              "recorded as a command, its output stored")
        # a -t after the first operand is a file name to scp's getopt: a client again
        os.unlink(env.only_session())
        rc, out, err = run_pipes(env, "scp -S %s host:file -t" % prog)
        check(b"SECRET-OUTPUT" in err, "the program named with -S runs before a late -t")
        rec = Recording(env.pub, env.only_session())
        check(rec.header["mode"] == "command" and b"SECRET-OUTPUT" in rec.data("err"),
              "scp -S prog host:file -t recorded as a command, its output stored")
        if have("git"):
            # "git upload-pack --help" runs "git help", which runs the man viewer the
            # repository's own config names
            repo = os.path.join(env.dir, "repo")
            subprocess.run(["git", "init", "-q", repo], check=True)
            for k, v in (("help.format", "man"), ("man.viewer", "tgview"),
                         ("man.tgview.cmd", "%s #" % prog)):
                subprocess.run(["git", "-C", repo, "config", k, v], check=True)
            os.unlink(env.only_session())
            # run where sshd runs it, in the folder holding the repository's config
            p = subprocess.run([RECORDER], input=b"", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env.environ(SSH_ORIGINAL_COMMAND="git upload-pack --help"),
                               cwd=repo, timeout=120)
            check(b"SECRET-OUTPUT" in p.stderr, "git help ran the repository's man viewer")
            rec = Recording(env.pub, env.only_session())
            check(rec.header["mode"] == "command" and b"SECRET-OUTPUT" in rec.data("err"),
                  "git upload-pack --help recorded as a command, its output stored")
        if have("rsync"):
            # the same with "--server" as the argument of an rsync option: a client, running -e
            os.unlink(env.only_session())
            rc, out, err = run_pipes(env, "rsync -e %s --rsync-path --server a host:%s" % (prog, env.dir))
            check(b"SECRET-OUTPUT" in err, "the program named with -e runs")
            rec = Recording(env.pub, env.only_session())
            check(rec.header["mode"] == "command" and b"SECRET-OUTPUT" in rec.data("err"),
                  "recorded as a command, its output stored")
    finally:
        env.cleanup()
    marker = None
    env = Env(shell="/bin/sh")
    try:
        # a "shell" that leaves a marker: a transfer must not go through it
        marker = os.path.join(env.dir, "shell-ran")
        shell = os.path.join(env.dir, "marking-shell")
        with open(shell, "w") as f:
            f.write("#!/bin/sh\ntouch '%s'\nexec /bin/sh \"$@\"\n" % marker)
        os.chmod(shell, 0o755)
        env2 = Env(shell=shell)
        try:
            rc, out, err = run_pipes(env2, "scp -f /nonexistent-file")
            rec = Recording(env2.pub, env2.only_session(), data=False)
            check(rec.header["mode"] == "transfer", "scp -f is a transfer")
            check(not os.path.exists(marker), "the transfer ran without the shell")
            rc, out, err = run_pipes(env2, "echo via-shell")
            check(out == b"via-shell\n" and os.path.exists(marker), "a command still runs through the shell")
        finally:
            env2.cleanup()
    finally:
        env.cleanup()


def test_closed_or_unreadable_std_fds():
    # stdout closed: the recording must not become fd 1 and take the command's output
    env = Env(shell="/bin/sh")
    try:
        p = subprocess.run([RECORDER], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, close_fds=True, timeout=60,
                           env=env.environ(SSH_ORIGINAL_COMMAND="echo INJECTED; exit 5"),
                           preexec_fn=lambda: os.close(1))
        check(p.returncode == 5, "with stdout closed: exit status 5 passed through (rc %d, %r)"
              % (p.returncode, p.stderr))
        rec = Recording(env.pub, env.only_session())
        # output written into the file itself would break its chain
        check(rec.sealed_ok(), "with stdout closed: the recording verifies, nothing written into it")
        check(rec.data("out") == b"INJECTED\n", "the output is recorded as output: %r" % rec.data("out"))
    finally:
        env.cleanup()
    # stdin open for writing only (what glibc puts on a closed fd 0 of a set-id program): every
    # read fails; that is an end of input, not a loop that spins for ever
    env = Env(shell="/bin/sh")
    try:
        def wronly_stdin():
            fd = os.open("/dev/null", os.O_WRONLY)
            os.dup2(fd, 0)
            os.close(fd)
        p = subprocess.run([RECORDER], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                           env=env.environ(SSH_ORIGINAL_COMMAND="echo hi; exit 3"),
                           preexec_fn=wronly_stdin)
        check(p.returncode == 3 and p.stdout == b"hi\n",
              "with an unreadable stdin: the command runs and ends (rc %d, %r)" % (p.returncode, p.stdout))
        check(Recording(env.pub, env.only_session()).sealed_ok(), "with an unreadable stdin: sealed")
    finally:
        env.cleanup()


def test_escape_alert_survives_odd_parent_name():
    """The escape alert names the parent process; a name that is not UTF-8 (a copy of a shell
    named so by the user) must not make the alert vanish from the recording and the event."""
    env = Env(shell="/bin/sh")
    try:
        odd = os.path.join(env.dir.encode(), b"\xff\xfe-sh")
        shutil.copy("/bin/sh", odd)
        os.chmod(odd, 0o755)
        # "; true": the shell forks the recorder instead of exec'ing it, so it is the parent
        rc, out, err = run_pipes(env, None, environ=env.environ(SSH_ORIGINAL_COMMAND="echo hi"),
                                 argv=[odd, b"-c", RECORDER.encode() + b"; true"])
        check(rc == 0 and out == b"hi\n", "the command ran (rc %d, %r, %r)" % (rc, out, err))
        rec = Recording(env.pub, env.only_session())
        esc = rec.notes("recording_escape")
        check(esc and "not by sshd" in esc[0]["reason"],
              "the escape alert is in the recording: %r" % (esc,))
        ev = [e for e in env.events() if e["type"] == "recording_escape"]
        check(ev and "not by sshd" in ev[0].get("reason", ""), "and in the event, with its reason: %r" % (ev,))
    finally:
        env.cleanup()


def test_escape_from_startup_file_forcecommand_start():
    """sshd runs the ForceCommand as "<shell> -c .../tollgate-record", and bash reads ~/.bashrc
    first, inside that very shell. A ~/.bashrc that runs the recorder there, with no argument
    as sshd would, leaves a clean recording for the PAM session and then goes on unrecorded
    ('exec bash'): the recorder's parent is then that shell under sshd, which must not pass."""
    env = Env(shell="/bin/sh")
    try:
        sshd = os.path.join(env.dir, "sshd")  # a process named sshd, as the real one is
        shutil.copy("/bin/sh", sshd)
        tr = os.path.join(env.dir, "tollgate-record")
        os.symlink(RECORDER, tr)
        rc = os.path.join(env.dir, "bashrc")
        with open(rc, "w") as f:
            f.write("SSH_ORIGINAL_COMMAND=true '%s' </dev/null; echo went-on; exit 0\n" % tr)
        p = subprocess.run([sshd, "-c", "bash -c '%s'; :" % tr], env=env.environ(BASH_ENV=rc),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        check(p.returncode == 0 and p.stdout == b"went-on\n",
              "the ~/.bashrc ran the recorder, then went on (rc %d, %r, %r)" % (p.returncode, p.stdout, p.stderr))
        rec = Recording(env.pub, env.only_session())
        check(rec.header["command"] == "true", "the recording is that of the ~/.bashrc's run")
        esc = rec.notes("recording_escape")
        check(esc and "not by sshd" in esc[0]["reason"], "an escape alert in the recording: %r" % (esc,))
        check(any(e["type"] == "recording_escape" for e in env.events()), "and a recording_escape event")
    finally:
        env.cleanup()


def test_checkpoints_synced_after_a_burst():
    """A checkpoint that covers at most 1 MiB is synced (fdatasync, for power loss), also after
    a burst of more: once a 2 MB burst went by, every later checkpoint of a busy session (top,
    tail -f) used to go unsynced until the seal."""
    if shutil.which("strace") is None:
        print("(skipped: strace not installed)")
        return
    env = Env(shell="/bin/sh")  # checkpoint_interval = 1
    try:
        trace = os.path.join(env.dir, "trace")
        cmd = ("head -c 2000000 /dev/zero | od -v | head -c 2000000; "
               "i=0; while [ $i -lt 16 ]; do echo tick $i; sleep 0.5; i=$((i + 1)); done")
        p = subprocess.run(["strace", "-f", "-qq", "-o", trace, "-e", "trace=fdatasync,fsync", RECORDER],
                           env=env.environ(SSH_ORIGINAL_COMMAND=cmd), stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
        check(p.returncode == 0, "the command ran (%r)" % p.stderr[-300:])
        with open(trace) as f:
            n = sum(1 for line in f if "fdatasync(" in line and "= 0" in line)
        # 8 s of ticks at one checkpoint a second; the publish and the burst's own take 2 more
        check(n >= 6, "checkpoints after the burst are synced: %d fdatasync calls" % n)
    finally:
        env.cleanup()


SSHD_LIKE = r"""
import ctypes, os, subprocess, sys
ctypes.CDLL(None).prctl(15, b"sshd", 0, 0, 0)  # PR_SET_NAME: the parent the recorder looks for
# as sshd runs a session's shell: a session of its own, stdin and stdout pipes
p = subprocess.run(["bash", "-c", sys.argv[1]], preexec_fn=os.setsid, input=b"",
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
sys.stdout.buffer.write(p.stdout)
sys.exit(p.returncode)
"""


def test_escape_side_run_under_sshd():
    """A ~/.bashrc under the ForceCommand's "bash -c" can start a shell on the session's
    channel and then run the recorder on the side: its parent is sshd all the same. What the
    start leaves is flagged: a job the shell left behind (the recorder's child), one whose
    parent has gone (still in the recorder's session), a standard fd that is /dev/null. So
    when it runs the recorder as a login shell is run (-c CMD), the account's shell being
    another."""
    env = Env(shell="/bin/sh")
    try:
        tr = os.path.join(env.dir, "tollgate-record")
        os.symlink(RECORDER, tr)
        cases = (("sleep 3 & exec %s" % tr, "'sleep') was started before the recorder"),
                 ("(sleep 3 &); exec %s" % tr, "'sleep') is in the session the recorder leads"),
                 ("exec %s </dev/null" % tr, "standard input is a device that is no terminal"),
                 ("exec %s" % tr, None),
                 # as a login shell is started (-c), which the account's shell is not: the same
                 ("sleep 3 & exec %s -c 'echo ran'" % tr, "'sleep') was started before the recorder"),
                 ("exec %s -c 'echo ran' </dev/null" % tr, "standard input is a device that is no terminal"),
                 ("exec %s -c 'echo ran'" % tr, None))
        for cmd, want in cases:
            if os.path.isdir(os.path.join(env.spool, "sessions")):
                for f in os.listdir(os.path.join(env.spool, "sessions")):
                    os.unlink(os.path.join(env.spool, "sessions", f))
            p = subprocess.run([sys.executable, "-c", SSHD_LIKE, cmd],
                               env=env.environ(SSH_ORIGINAL_COMMAND="echo ran"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=90)
            check(p.returncode == 0 and p.stdout == b"ran\n",
                  "%s: the command ran (rc %d, %r, %r)" % (cmd, p.returncode, p.stdout, p.stderr))
            esc = Recording(env.pub, env.only_session()).notes("recording_escape")
            if want is None:
                check(not esc, "%s: a clean start under sshd is no escape: %r" % (cmd, esc))
            else:
                check(esc and want in esc[0]["reason"], "%s: flagged: %r" % (cmd, esc))
    finally:
        env.cleanup()


def test_header_names_audit_session():
    """The header names the kernel's audit session of the recorder (pam_loginuid's, inherited
    from the process PAM ran in), which the uploader compares with the login event's: the
    session id comes from the environment, which a user's ~/.bashrc can set to another of their
    logins'. None (the field left out) when the process has none. With it, the boot it is of
    (the ids start again at each boot), which is this machine's."""
    env = Env(shell="/bin/sh")
    with open("/proc/sys/kernel/random/boot_id") as f:
        boot = f.read().strip()
    try:
        with open("/proc/self/sessionid") as f:
            own = int(f.read())
    except (OSError, ValueError):
        own = 4294967295
    try:
        rc, out, err = run_pipes(env, "echo hi")
        check(rc == 0 and out == b"hi\n", "the command ran (%d, %r)" % (rc, err[-200:]))
        h = Recording(env.pub, env.only_session()).header
        want = None if own in (0, 4294967295) else own
        check(h.get("audit_session") == want,
              "the header's audit session is ours (%r): %r" % (want, h.get("audit_session")))
        check(h.get("boot_id") == boot, "the header names this boot %s: %r" % (boot, h.get("boot_id")))
        # a login's: as pam_loginuid does, a new loginuid gives the process a new audit session
        if os.geteuid() != 0 or own != 4294967295:
            print("(part skipped: needs root and no audit session yet, to make one as "
                  "pam_loginuid does)")
            return
        os.unlink(env.only_session())

        def login():
            with open("/proc/self/loginuid", "w") as f:
                f.write("0")

        try:
            p = subprocess.run(["sh", "-c", 'cat /proc/self/sessionid >&2; exec "$0"', RECORDER],
                               env=env.environ(SSH_ORIGINAL_COMMAND="echo hi"), preexec_fn=login,
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        except subprocess.SubprocessError as e:
            print("(part skipped: cannot set a loginuid here: %s)" % e)
            return
        sid = int(p.stderr.split(b"\n", 1)[0])
        check(p.returncode == 0 and 0 < sid < 4294967295, "a new audit session %d (%r)" % (sid, p.stderr[-200:]))
        h = Recording(env.pub, env.only_session()).header
        check(h.get("audit_session") == sid,
              "the header names the login's audit session %d: %r" % (sid, h.get("audit_session")))
    finally:
        env.cleanup()


def test_large_output_written_back_early():
    """A large session's recording goes to the disk while it runs (a sync on the sync thread
    every 8 MiB of growth), so its end, the user's logout, waits for a tail and not for all of
    it: starting writeback alone (sync_file_range) left the journal commit of the whole file's
    block allocations to the end, 130-225 ms on 100 MB."""
    if shutil.which("strace") is None:
        print("(skipped: strace not installed)")
        return
    env = Env(shell="/bin/sh")
    try:
        trace = os.path.join(env.dir, "trace")
        size = 40 * 1024 * 1024
        rc, out, err = run_pipes(env, "head -c %d /dev/zero" % size,
                                 argv=["strace", "-f", "-qq", "-o", trace, "-e", "trace=fdatasync,clone3,clone",
                                       RECORDER])
        check(rc == 0 and len(out) == size, "40 MiB passed on (%d, %d bytes)" % (rc, len(out)))
        check(Recording(env.pub, env.only_session()).sealed_ok(), "sealed and intact")
        with open(trace) as f:
            lines = f.read().splitlines()
        # the sync thread: the one clone3 with CLONE_THREAD (the shell is a process: no flag)
        threads = [ln.rsplit("=", 1)[1].split()[0] for ln in lines
                   if "clone3(" in ln and "CLONE_THREAD" in ln and "=" in ln and "resumed" not in ln]
        threads += [ln.rsplit("=", 1)[1].split()[0] for ln in lines
                    if "clone3 resumed>" in ln and "=" in ln]
        syncs = [ln for ln in lines if ln.split(" ", 1)[0] in threads and "fdatasync(" in ln]
        # a burst's checkpoints cover more than 1 MiB and are not synced: these are the growth's
        check(len(syncs) >= 2, "synced during the session by the sync thread (%d times; threads %r)"
              % (len(syncs), threads))
    finally:
        env.cleanup()


if __name__ == "__main__":
    main([test_command_streams, test_kernel_hostname_not_text, test_command_stdin_and_no_tty, test_shell_commands_on_stdin_stored, test_interpreter_program_on_stdin_stored,
          test_shell_line_program_on_stdin_stored, test_command_string_program_on_stdin_stored,
          test_client_commands_on_stdin_stored,
          test_user_umask_kept, test_scp_upload_metadata, test_scp_download_full,
          test_sftp_internal_mapped, test_mapped_command_not_utf8_noted, test_transfer_command_not_utf8_kept, test_rsync_and_git, test_on_failure_deny_and_allow, test_spool_full_refused, test_spool_unreadable_part_counted_without, test_traceme_command_goes_on, test_long_command_recorded, test_failure_mid_session, test_recording_removed_mid_session,
          test_failure_ends_quiet_command, test_failure_spares_reused_pid, test_normal_end_leaves_background,
          test_term_closes_pipes, test_term_ends_quiet_command, test_hangup_done_when_only_zombies_left,
          test_ctrl_c_while_helper_starts, test_ctrl_c_reaches_command, test_signals_together_all_passed, test_ctrl_z_stops_command, test_bg_job_stops_on_terminal_read, test_bg_job_stops_on_terminal_write, test_bg_failure_message_not_lost,
          test_transfer_disguise_recorded, test_closed_or_unreadable_std_fds,
          test_escape_alert_survives_odd_parent_name,
          test_escape_from_startup_file_forcecommand_start,
          test_escape_side_run_under_sshd, test_header_names_audit_session,
          test_large_output_written_back_early,
          test_checkpoints_synced_after_a_burst])
