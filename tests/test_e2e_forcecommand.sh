#!/bin/sh
# End to end, ForceCommand mode: the real OpenSSH client logs in to a private
# sshd (publickey + TOTP through pam_tollgate.so), works interactively, runs a
# command, copies files with scp, sftp (sshd's internal-sftp, which the
# recorder maps to sftp-server) and rsync, a 50 MB file, trees with scp -O -r,
# pushes and clones with git, lets transfers fail (exit status passed on and
# recorded), keeps a transfer's bytes (transfer_content = full), logs out;
# then the recording verifies and replays, the uploader put it in S3 and told Slack. Three
# ~/.bashrc escapes: one that wraps the recorder (it flags itself), one that
# replaces the shell before the recorder runs (the uploader reports a login
# with no recording), one that runs the recorder itself and then replaces the
# shell (the recorder flags itself).
set -eu
. "${TG_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/e2e/lib.sh"

e2e_init forcecommand
# sftp as sshd's own internal-sftp: the recorder runs [recorder] sftp_server for it
E2E_SFTP_SUBSYSTEM=internal-sftp
e2e_setup forcecommand
e2e_scenario_login
e2e_scenario_interactive
e2e_scenario_command
e2e_scenario_files
e2e_scenario_transfers
if e2e_have record; then
	e2e_scenario_transfer_full
fi
if e2e_have record; then
	e2e_scenario_escape_wrapped
	e2e_scenario_user_rc
fi
e2e_log "logout"
e2e_logout
if e2e_have record; then
	e2e_scenario_escape_exec
	e2e_scenario_escape_rerun
else
	e2e_skip_part "tollgate-record not built: no ~/.bashrc escape scenarios"
fi
e2e_check_results
echo "PASS: e2e forcecommand"
