/*
 * Touch a user's files with the user's privileges: switch the file-system
 * uid and gid (setfsuid/setfsgid, Linux) and the supplementary groups so that
 * the kernel checks access as that user, and the capabilities that would
 * bypass the check are dropped while switched. Only the fs ids and the groups
 * of the calling thread change: signals, /proc, other threads and the rest of
 * the process (sshd) keep their ids. Always restore before returning to PAM.
 */
#ifndef TGP_PRIVS_H
#define TGP_PRIVS_H

#include <pwd.h>
#include <sys/types.h>

struct tgp_privs {
	int switched;
	uid_t old_uid;
	gid_t old_gid;
	gid_t *old_groups; /* the caller's supplementary groups (malloc'd) */
	int nold_groups;
};
#define TGP_PRIVS_VOID                                                                             \
	{                                                                                          \
		0, 0, 0, NULL, 0                                                                   \
	}

/* Become pw's user (uid, gid, groups) for file access when running as root; a no-op otherwise. */
int tgp_privs_drop(struct tgp_privs *p, const struct passwd *pw)
    __attribute__((warn_unused_result));
/* Back to the ids saved by tgp_privs_drop; checked. Safe when nothing was switched. */
int tgp_privs_restore(struct tgp_privs *p) __attribute__((warn_unused_result));

#endif
