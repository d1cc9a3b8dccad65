#!/bin/sh
# The text-only retry after Slack refused a message's blocks (400) is a post
# like any other: it waits for the rate limit (one message a second per
# webhook, [slack] min_interval_ms), where it used to go out at once, right
# behind the refused one.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup
sed -i 's/^min_interval_ms = .*/min_interval_ms = 1000/' "$T/tollgate.conf"
echo 1000 >"$T/slack/min_interval_ms"
echo BLOCKSBAD >"$T/slack/refuse_blocks_marker"
up_start
up_event 1 mfa_failure '"user":"first","client_addr":"192.0.2.1","service":"sshd","reason":"bad_code"'
up_event 2 mfa_failure '"user":"BLOCKSBAD","client_addr":"192.0.2.1","service":"sshd","reason":"bad_code"'
up_event 3 mfa_failure '"user":"third","client_addr":"192.0.2.1","service":"sshd","reason":"bad_code"'
up_wait_messages 3 30 || tg_fail "the three messages did not arrive: $(tail -5 "$T/uploader.log")"
cat "$T/slack/requests.log"
grep -q 'BLOCKSBAD' "$T/slack/messages.jsonl" || tg_fail "the text-only retry did not arrive"
grep -q '"400_blocks"' "$T/slack/stats.json" && tg_fail "the receiver refused other blocks"
python3 - "$T/slack/requests.log" <<'PY' || tg_fail "posts closer than min_interval_ms"
import sys
t = [float(l.split()[0]) for l in open(sys.argv[1])]
gaps = [b - a for a, b in zip(t, t[1:])]
print("gaps between posts:", " ".join("%.3f" % g for g in gaps))
sys.exit(0 if len(t) == 4 and min(gaps) >= 0.95 else 1)
PY
echo PASS
