#!/bin/sh
# End to end, ForceCommand mode: the real OpenSSH client logs in to a private
# sshd (publickey + TOTP through pam_tollgate.so), works interactively, runs a
# command, copies files with scp, sftp and rsync, logs out; then the recording
# verifies and replays, the uploader put it in S3 and told Slack. Two
# ~/.bashrc escapes: one that wraps the recorder (it flags itself), one that
# replaces the shell before the recorder runs (the uploader reports a login
# with no recording).
set -eu
. "${TG_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/e2e/lib.sh"

e2e_init forcecommand
e2e_setup forcecommand
e2e_scenario_login
e2e_scenario_interactive
e2e_scenario_command
e2e_scenario_files
if e2e_have record; then
	e2e_scenario_escape_wrapped
fi
e2e_log "logout"
e2e_logout
if e2e_have record; then
	e2e_scenario_escape_exec
else
	e2e_skip_part "tollgate-record not built: no ~/.bashrc escape scenarios"
fi
e2e_check_results
echo "PASS: e2e forcecommand"
