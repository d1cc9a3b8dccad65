#!/bin/sh
# A recording that does not verify is shipped all the same, and raises a
# recording_damaged alert. The alert used to be raised after the recording left
# the spool: a worker killed between the two (kill -9, the OOM killer) lost it
# for good, since no later pass finds the file to raise it again. It is now
# raised before the removal, so a crash there repeats it at worst.
# strace kills the worker (SIGKILL) at its first unlink(2) after the recording's
# own removal: that of the upload's resume file, which follows it at once.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup 'workers = 1'
up_rec bad.tgr user=hank
up_flip_middle "$T/spool/sessions/bad.tgr" "$T/orig/bad.tgr"
"$TG_TOP_BUILDDIR/session_recorder/tollgate-replay" verify -k "$T/keys/signing.pub" \
	"$T/spool/sessions/bad.tgr" >/dev/null 2>&1 && tg_fail "the damaged recording verifies"
# (the resume state is named after the SHA-256 of the recording's name)
up_start_traced -o /dev/null \
	-P "$T/spool/state/multipart/$(printf %s bad.tgr | sha256sum | cut -d' ' -f1).json" -e trace=unlink \
	-e inject=unlink:signal=SIGKILL:when=1
up_wait_until 30 "the worker did not remove the recording" up_no_recs
up_message_alert() { up_messages | grep -q recording_damaged; }
up_wait_until 30 "the recording left the spool, and its recording_damaged alert never reached Slack: $(tail -5 "$T/uploader.log")" \
	up_message_alert
cat "$T/uploader.log"
grep -q "worker .* killed\|signal 9\|SIGKILL\|died" "$T/uploader.log" ||
	tg_fail "the worker was not killed where the test meant it to be (the test proves nothing)"
up_s3_objects tollgate | grep -q "/bad.tgr._S3rver_object$" || tg_fail "S3 does not hold the recording"
echo PASS
