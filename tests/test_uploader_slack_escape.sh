#!/bin/sh
# Values a user controls (the name of a failed MFA attempt, which anyone can
# pick over ssh, a reverse-resolved client host, a file name in an alert) reach
# the security team's Slack channel. Slack parses mrkdwn: `<!channel>` pings,
# `<https://evil|click here>` is a disguised link, `*`, `_`, `~` and backticks
# format, `:skull:` is an emoji. Through the real uploader and the local
# receiver (which refuses a `<`, `>` or bare `&` in mrkdwn, and an entity in
# plain_text): every value must show exactly as it is, in a plain_text field
# with emoji codes off; the fallback `text` (mrkdwn) has it with &, <, >
# escaped; the only mrkdwn fields are the fixed labels. A line break in a value
# (a user name "eve\nFrom: 10.0.0.1") would forge a line of the message, in the
# header and the fallback text: control characters show as spaces, and so do
# Unicode's other line breaks (U+0085, U+2028, U+2029) and its bidirectional
# controls (a right-to-left override shows a value reversed).
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

up_setup
NASTY='<!channel> *boss* _it_ ~x~ `y` ```z <@U123> <https://evil.example|click here> & :skull:'
HOSTV='<!here>.evil.example'
FILEV='spool/*a*_b_ `c` <!subteam^S1|ops> & d.tgr'
up_event 1 mfa_failure "\"user\":\"$NASTY\",\"client_addr\":\"$HOSTV\",\"service\":\"sshd\",\"reason\":\"bad_code\""
up_event 2 alert "\"alert\":\"no_recording\",\"message\":\"$FILEV\""
up_event 3 mfa_failure '"user":"eve\nFrom: 10.0.0.1\r\tx","client_addr":"192.0.2.1","service":"sshd","reason":"bad_code"'
# Unicode's line breaks (NEL, LINE SEPARATOR) and a right-to-left override are no better
up_event 4 mfa_failure '"user":"mel\u2028From: 10.0.0.2\u0085Reason: ok\u202exyz\u2066","client_addr":"192.0.2.1","service":"sshd","reason":"bad_code"'
up_start
up_wait_messages 4 30 || tg_fail "the messages did not arrive: $(cat "$T/slack/stats.json")"
up_wait_empty 30 || tg_fail "the spool did not drain"
cat "$T/slack/stats.json"
echo
python3 - "$T/slack/messages.jsonl" "$T/slack/stats.json" "$NASTY" "$HOSTV" "$FILEV" <<'PY' || tg_fail "a value was not shown as it is"
import json, re, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
stats = json.load(open(sys.argv[2]))
nasty, hostv, filev = sys.argv[3:6]
ok = True
def fail(why):
    global ok
    print("FAIL:", why)
    ok = False
def esc(v):
    return v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
refused = {k: v for k, v in stats.items() if k.startswith("400")}
if refused:
    fail("the receiver refused messages: %s" % refused)
want = {"MFA failure: %s@testhost" % nasty: {"User": nasty, "From": hostv},
        "Tollgate alert on testhost: no_recording": {"What": filev},
        "MFA failure: eve From: 10.0.0.1  x@testhost": {"User": "eve From: 10.0.0.1  x",
                                                         "From": "192.0.2.1"},
        "MFA failure: mel From: 10.0.0.2 Reason: ok xyz @testhost": {
            "User": "mel From: 10.0.0.2 Reason: ok xyz ", "From": "192.0.2.1"}}
for m in msgs:
    if "blocks" not in m:
        fail("a message went without blocks: %r" % m["text"])
        continue
    head = m["blocks"][0]["text"]
    if any(c in head["text"] for c in "\n\r\t\u0085\u2028\u202e\u2066"):
        fail("a control character in the header: %r" % head["text"])
    if any(l.startswith("From: 10.0.0.") for l in re.split("[\n\u0085\u2028\u2029]", m["text"])):
        fail("a line of the fallback text is forged: %r" % m["text"])
    if head["text"] not in want:
        fail("a message with an unexpected header: %r" % head["text"])
        continue
    if head.get("emoji") is not False:
        fail("the header turns :codes: into emoji: %r" % head)
    fields = [f for b in m["blocks"][1:] for f in b.get("fields", [])]
    for f in fields:
        if f["type"] == "mrkdwn" and not re.fullmatch(r"\*[A-Za-z ]+\*", f["text"]):
            fail("a mrkdwn field holds more than a label: %r" % f["text"])
    for label, value in want.pop(head["text"]).items():
        shown = [f for i, f in enumerate(fields) if f["type"] == "plain_text" and i > 0
                 and fields[i - 1] == {"type": "mrkdwn", "text": "*%s*" % label}]
        if [f["text"] for f in shown] != [value]:
            fail("%s is not shown as it is: %r" % (label, [f["text"] for f in fields]))
        elif shown[0].get("emoji") is not False:
            fail("%s turns :codes: into emoji" % label)
        if "\n%s: %s" % (label, esc(value)) not in m["text"]:
            fail("the fallback text lacks %s escaped: %r" % (label, m["text"]))
if want:
    fail("messages missing: %s" % list(want))
sys.exit(0 if ok else 1)
PY
tg_stop_pid "$UP_PID"
UP_PID=
echo PASS
