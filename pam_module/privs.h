/*
 * Touch a user's files with the user's privileges: switch the file-system
 * uid and gid (setfsuid/setfsgid, Linux) so that the kernel checks access
 * as that user, and the capabilities that would bypass the check are dropped
 * while switched. Only the fs ids change: signals, /proc and the rest of the
 * process (sshd) keep their ids. Always restore before returning to PAM.
 */
#ifndef TGP_PRIVS_H
#define TGP_PRIVS_H

#include <sys/types.h>

struct tgp_privs {
	int switched;
	uid_t old_uid;
	gid_t old_gid;
};
#define TGP_PRIVS_VOID {0, 0, 0}

/* Become uid/gid for file access when running as root; a no-op otherwise. */
int tgp_privs_drop(struct tgp_privs *p, uid_t uid, gid_t gid) __attribute__((warn_unused_result));
/* Back to the ids saved by tgp_privs_drop; checked. Safe when nothing was switched. */
int tgp_privs_restore(struct tgp_privs *p) __attribute__((warn_unused_result));

#endif
