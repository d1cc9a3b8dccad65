/*
 * Best-effort check that the recorder is the first thing sshd ran.
 *
 * With ForceCommand, sshd runs "$SHELL -c tollgate-record"; the shell reads
 * ~/.bashrc first (Debian's bash does for sshd), so a user may start another
 * program there and reach the recorder, if at all, from it. The recorder
 * looks at its parent: sshd (or sshd-session) is fine; anything else, a
 * "<shell> -c <this program>" that did not exec its command included (a
 * ~/.bashrc runs in that shell), is reported. A process can rename itself,
 * so a clean result proves nothing; the PAM session id in the header (and
 * the uploader's check for logins without a recording) is what catches a
 * recorder that never ran.
 */
#ifndef ESCAPE_CHECK_H
#define ESCAPE_CHECK_H

#include <stddef.h>
#include <sys/types.h>

/* 1 when the parent pid is not sshd; reason then says why. */
int escape_check(pid_t parent, char *reason, size_t len);

#endif
