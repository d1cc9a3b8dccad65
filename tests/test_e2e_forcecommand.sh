#!/bin/sh
# End to end, ForceCommand mode: the real OpenSSH client logs in to a private
# sshd (publickey + TOTP through pam_tollgate.so), works interactively, runs a
# command, copies files with scp, sftp and rsync, logs out; then the recording
# verifies and replays, the uploader put it in S3 and told Slack.
set -eu
. "${TG_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/e2e/lib.sh"

e2e_init forcecommand
e2e_setup forcecommand
e2e_scenario_main
e2e_check_results
echo "PASS: e2e forcecommand"
