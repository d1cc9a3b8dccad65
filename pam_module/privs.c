#include "privs.h"

#include <sys/fsuid.h>
#include <unistd.h>

#include "tg_error.h"

int tgp_privs_drop(struct tgp_privs *p, uid_t uid, gid_t gid)
{
	p->switched = 0;
	if (geteuid() != 0 || uid == 0)
		return TG_OK; /* the kernel already checks as the caller, or root reads its own */
	/* setfsuid returns the previous value and never reports failure: ask again to check */
	p->old_gid = (gid_t)setfsgid(gid);
	p->old_uid = (uid_t)setfsuid(uid);
	p->switched = 1;
	if ((uid_t)setfsuid((uid_t)-1) != uid || (gid_t)setfsgid((gid_t)-1) != gid) {
		int r = tgp_privs_restore(p);

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
	if ((uid_t)setfsuid((uid_t)-1) != p->old_uid || (gid_t)setfsgid((gid_t)-1) != p->old_gid)
		return TG_ERR_PERM;
	p->switched = 0;
	return TG_OK;
}
