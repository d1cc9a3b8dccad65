#!/bin/sh
# --once at a terminal draws a progress bar naming the file it uploads, and a
# file name in the spool is anyone's choice: its escape sequences (ESC ] 0; to
# set the window's title, ESC [ 2J to clear the screen) reached the terminal.
# The bar now shows them escaped (\x1b), as the log and status do. Run under
# script(1), whose typescript holds every byte the terminal got.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

tg_need_cmd script
up_setup 'multipart_threshold = 5M' 'part_size = 5M'
name=$(printf 'x\033]0;OWNED\007\033[2J.tgr')
up_rec "$name" user=alice bytes=6000000
script -q -e -c "'$UPLOADER' -c '$T/tollgate.conf' --once" "$T/typescript" >/dev/null 2>&1 ||
	tg_fail "--once under script failed: $(tail -c 600 "$T/typescript")"
[ ! -e "$T/spool/sessions/$name" ] || tg_fail "the recording did not ship"
if grep -q "$(printf '\033]0;OWNED')" "$T/typescript" || grep -q "$(printf '\033\\[2J')" "$T/typescript"; then
	tg_fail "the file name's escape sequences reached the terminal"
fi
grep -q 'x\\x1b\]0;OWNED' "$T/typescript" || tg_fail "the bar does not show the name escaped: $(tr -d '\r' <"$T/typescript" | tail -c 400)"
echo PASS
