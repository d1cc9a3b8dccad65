#!/bin/sh
# End to end, login-shell mode: tollgate-record is the test user's shell (no
# ForceCommand). The same login, session, command and file copies as in
# ForceCommand mode (with git, scp -O -r, a 50 MB file, failing transfers and
# transfer_content = full), all recorded; then a ~/.bashrc holding 'exec bash' does
# not escape: the shell it starts runs inside the recording; nor does a
# ~/.ssh/rc, which sshd does not run (PermitUserRC no).
set -eu
. "${TG_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/e2e/lib.sh"

e2e_init loginshell
e2e_have record || tg_skip "tollgate-record is not built: nothing to test in login-shell mode"
e2e_setup loginshell
e2e_scenario_login
e2e_scenario_interactive
e2e_scenario_command
e2e_scenario_files
e2e_scenario_transfers
e2e_scenario_transfer_full
e2e_scenario_bashrc_in_login_shell
e2e_scenario_user_rc
e2e_log "logout"
e2e_logout
e2e_check_results
echo "PASS: e2e loginshell"
