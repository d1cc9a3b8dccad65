/*
 * Privilege separation for the setuid recorder.
 *
 * tollgate-record is installed setuid to the audit user. It starts with
 * real uid = the login user, effective and saved uid = the audit user, and
 * ends up as two processes:
 *   - the recorder: real, effective and saved uid all the audit user, so the
 *     recorded user can neither signal nor ptrace it (privsep_drop_recorder);
 *   - the user's shell: real, effective and saved uid all the login user
 *     (privsep_drop_child, in the child before exec).
 * Both calls must come after fork(): the recorder needs the user's id to
 * hand it to the child, the child needs the audit id gone before exec.
 * The same holds for group ids when the binary is also setgid to the audit
 * group (mode 6755): the config (0640 root:audit, it may hold the Slack
 * webhook) and /etc/tollgate (0750 root:audit) are then readable by the
 * recorder through its group, and the shell gets the user's gids back.
 * When the program was not started setuid (ruid == euid), both are no-ops.
 */
#ifndef PRIVSEP_H
#define PRIVSEP_H

#include <sys/resource.h>
#include <sys/types.h>

/* Resource limits the user could lower to make the recorder fail (a file size limit cuts the
 * recording, a CPU or stack limit kills it): soft raised to hard for the recorder, the user's
 * for the child. */
#define PRIVSEP_RAISED 6
/* The least hard stack limit the recorder runs under: below it, the recorder dies of SIGSEGV
 * part way through the session (some 32 KiB do), so it is refused at the start instead. */
#define PRIVSEP_STACK_MIN (256 * 1024)

struct privsep {
	uid_t user_uid;  /* real uid at start: the login user */
	gid_t user_gid;  /* real gid at start */
	uid_t audit_uid; /* effective uid at start: owner of the setuid binary */
	gid_t audit_gid; /* effective gid at start: the audit group when setgid */
	int setuid_mode; /* started setuid (user_uid != audit_uid or AT_SECURE) */
	mode_t umask_saved; /* the user's umask, for the child */
	struct rlimit core_saved;
	struct rlimit limits_saved[PRIVSEP_RAISED]; /* the user's, of those raised */
};

/*
 * Capture the ids, make the process non-dumpable, core size 0, umask 077, the
 * soft limits the user could lower at their hard limits.
 * Call first thing in main().
 */
int privsep_init(struct privsep *ps);
/* Switch the effective (and file system) uid and gid to the user's and back: for openpty(), and
 * to look at the user's processes in /proc. Either leaves the process not dumpable (the change
 * of ids reset that to fs.suid_dumpable). */
int privsep_as_user(const struct privsep *ps);
int privsep_as_audit(const struct privsep *ps);
/* Recorder side: real, effective and saved uid (and gid) the audit user's; checked. */
int privsep_drop_recorder(const struct privsep *ps);
/* Child side, before exec: real, effective and saved gid and uid the user's, the process
 * not dumpable; the user's resource limits and umask back. Checked; on failure the child
 * must _exit. */
int privsep_drop_child(const struct privsep *ps);

#endif
