#include "privs.h"

#include <grp.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tg_error.h"

/*
 * The kernel keeps credentials per thread; glibc's setgroups() changes them in every thread of
 * the process (POSIX), so that in a threaded PAM application another thread would run, for a
 * while, with this user's groups. The system call itself changes the calling thread only, as
 * setfsuid() does.
 */
#ifdef SYS_setgroups32
#define SYS_SETGROUPS SYS_setgroups32
#else
#define SYS_SETGROUPS SYS_setgroups
#endif

static int thread_setgroups(int n, const gid_t *groups)
{
	return (int)syscall(SYS_SETGROUPS, (size_t)n, groups);
}

/* pw's groups (primary and supplementary) into a malloc'd array. */
static int user_groups(const struct passwd *pw, gid_t **out, int *n)
{
	int want = 64;

	for (;;) {
		gid_t *g = malloc(sizeof(*g) * (size_t)want);
		int got = want;

		if (g == NULL)
			return TG_ERR_NOMEM;
		if (getgrouplist(pw->pw_name, pw->pw_gid, g, &got) >= 0) {
			*out = g;
			*n = got;
			return TG_OK;
		}
		free(g);
		/* got is the number needed; never more than the kernel allows */
		if (got <= want || got > NGROUPS_MAX)
			return TG_ERR_LIMIT;
		want = got;
	}
}

static void forget_groups(struct tgp_privs *p)
{
	free(p->old_groups);
	p->old_groups = NULL;
	p->nold_groups = 0;
}

int tgp_privs_drop(struct tgp_privs *p, const struct passwd *pw)
{
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid, *groups = NULL;
	int n, ngroups = 0, r;

	p->switched = 0;
	p->old_groups = NULL;
	p->nold_groups = 0;
	if (geteuid() != 0 || uid == 0)
		return TG_OK; /* the kernel already checks as the caller, or root reads its own */
	/* the caller's (sshd's) supplementary groups would let the user's ids reach what only
	 * root's groups may: the user's groups replace them while switched */
	if ((n = getgroups(0, NULL)) < 0)
		return TG_ERR_SYSTEM;
	if ((p->old_groups = malloc(sizeof(gid_t) * (size_t)(n > 0 ? n : 1))) == NULL)
		return TG_ERR_NOMEM;
	if ((p->nold_groups = getgroups(n, p->old_groups)) < 0) {
		forget_groups(p);
		return TG_ERR_SYSTEM;
	}
	if ((r = user_groups(pw, &groups, &ngroups)) != TG_OK) {
		forget_groups(p);
		return r;
	}
	r = thread_setgroups(ngroups, groups);
	free(groups);
	if (r != 0) {
		/* a failed setgroups changes nothing */
		forget_groups(p);
		return TG_ERR_PERM;
	}
	/* setfsuid returns the previous value and never reports failure: ask again to check */
	p->old_gid = (gid_t)setfsgid(gid);
	p->old_uid = (uid_t)setfsuid(uid);
	p->switched = 1;
	if ((uid_t)setfsuid((uid_t)-1) != uid || (gid_t)setfsgid((gid_t)-1) != gid) {
		r = tgp_privs_restore(p);

		(void)r; /* failing either way */
		return TG_ERR_PERM;
	}
	return TG_OK;
}

int tgp_privs_restore(struct tgp_privs *p)
{
	if (!p->switched)
		return TG_OK;
	setfsuid(p->old_uid);
	setfsgid(p->old_gid);
	if ((uid_t)setfsuid((uid_t)-1) != p->old_uid || (gid_t)setfsgid((gid_t)-1) != p->old_gid ||
	    thread_setgroups(p->nold_groups, p->old_groups) != 0)
		return TG_ERR_PERM;
	p->switched = 0;
	forget_groups(p);
	return TG_OK;
}
