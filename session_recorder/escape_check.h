/*
 * Best-effort check that the recorder is the first thing sshd ran.
 *
 * With ForceCommand, sshd runs "$SHELL -c tollgate-record"; the shell reads
 * ~/.bashrc first (Debian's bash does for sshd), so a user may start another
 * program there and reach the recorder, if at all, from it. The recorder
 * looks at its parent: sshd (or sshd-session) is fine; anything else, a
 * "<shell> -c <this program>" that did not exec its command included (a
 * ~/.bashrc runs in that shell), is reported; so is a start that looks like a
 * side run (escape_check_start). A process can rename itself, and a user who
 * knows the checks can pass them, so a clean result proves nothing; the PAM session id in the
 * header (and the uploader's check for logins without a recording) is what catches a recorder that
 * never ran.
 */
#ifndef ESCAPE_CHECK_H
#define ESCAPE_CHECK_H

#include <stddef.h>
#include <sys/types.h>

/* 1 when the parent pid is not sshd; reason then says why. */
int escape_check(pid_t parent, char *reason, size_t len);
/*
 * 1 when, under a parent that passed escape_check, the start itself looks like a side run
 * from ~/.bashrc (reason says why): a standard fd that is /dev/null or a file, a process the
 * shell left behind as the recorder's child, or one in the session the recorder leads. own:
 * the recorder's own helper, or -1. Raises the bar; a user who knows the checks can still
 * pass them (setsid, pipes of their own): login-shell mode is what closes the escape.
 */
int escape_check_start(pid_t own, char *reason, size_t len);

#endif
