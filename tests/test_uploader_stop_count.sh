#!/bin/sh
# Uploads that finish while the daemon stops (SIGTERM) count in `status`'s
# "sent". At a stop the daemon sees a Slack post under way to its end, then
# stops the upload workers; a worker that finished meanwhile had written its
# results to the pipe, which nobody read any more: the files had left the
# spool, uploaded, but `tollgate-uploader status` did not count them.
# Here: Slack holds a post without answering; S3 is frozen (SIGSTOP) while a
# recording is given to a worker; SIGTERM; S3 thawed, the worker uploads it
# while the daemon waits for Slack; then Slack lets go and the daemon exits.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

s3_sent() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["s3"]["sent"])' \
		"$T/spool/state/status.json"
}
# the daemon has a child (an upload worker)
# folder $1 holds no file
no_files() { [ -z "$(find "$1" -type f)" ]; }

up_setup
up_start_ready
echo 60 >"$T/slack/hang_s"
echo hang >"$T/slack/mode"
up_event 1 mfa_failure '"user":"held","client_addr":"192.0.2.1","service":"sshd","reason":"bad_code"'
up_wait_until 20 "the daemon did not post to Slack" grep -q '"hang"' "$T/slack/stats.json"
up_wait_until 20 "the event did not reach S3" no_files "$T/spool/outbox/s3"
# status.json is rewritten at most once a second, later on a loaded machine: the count
# before the stop is taken once it has the event S3 holds
up_settle_count s3 sent "$(up_s3_objects tollgate | wc -l)"
before=$(s3_sent)
[ "$before" -eq "$(up_s3_objects tollgate | wc -l)" ] ||
	tg_fail "S3 holds $(up_s3_objects tollgate | wc -l) objects, status.json counts $before sent"
kill -STOP "$TG_S3_PID"
up_rec a.tgr user=alice bytes=3000
# at S3: what is left of its work (the answer, the index) fits in the stop's 5 s wait for
# Slack even on a loaded machine, where reading and checking the file could take a while
up_wait_worker_at_s3
kill -TERM "$UP_PID"
kill -CONT "$TG_S3_PID"
up_wait_until 30 "the worker did not upload the recording" no_files "$T/spool/sessions"
kill -0 "$UP_PID" 2>/dev/null || tg_fail "the daemon did not wait for the Slack post"
echo ok >"$T/slack/mode" # the held post ends without an answer; the daemon exits
wait "$UP_PID" # the stop waits for a post 5 s at most
UP_PID=
after=$(s3_sent)
"$UPLOADER" -c "$T/tollgate.conf" status >"$T/status" 2>&1
cat "$T/status"
echo "S3 sent before the stop: $before, after: $after"
[ "$after" -eq $((before + 1)) ] ||
	tg_fail "a recording was uploaded while the daemon stopped, but sent went from $before to $after"
sed -n '/^S3:/,/^Slack:/p' "$T/status" | grep -q "^  sent  *$after\$" ||
	tg_fail "status does not show sent $after"
echo PASS
