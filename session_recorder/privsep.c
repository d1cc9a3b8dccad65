#include "privsep.h"

#include <errno.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "tg_error.h"

static const int privsep_raised[PRIVSEP_RAISED] = {RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_CPU,
                                                   RLIMIT_AS,    RLIMIT_DATA,   RLIMIT_STACK};

int privsep_init(struct privsep *ps)
{
	static const struct itimerval off;
	struct rlimit zero = {0, 0}, raised;
	int i;

	ps->user_uid = getuid();
	ps->user_gid = getgid();
	ps->audit_uid = geteuid();
	ps->audit_gid = getegid();
	ps->setuid_mode = ps->user_uid != ps->audit_uid || ps->user_gid != ps->audit_gid ||
	                  getauxval(AT_SECURE) != 0;
	ps->umask_saved = umask(077);
	/* no core file and no ptrace attach may expose the signing key */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return TG_ERR_SYSTEM;
	if (getrlimit(RLIMIT_CORE, &ps->core_saved) != 0)
		return TG_ERR_SYSTEM;
	zero.rlim_max = ps->core_saved.rlim_max;
	if (setrlimit(RLIMIT_CORE, &zero) != 0)
		return TG_ERR_SYSTEM;
	/* the user sets the limits we start with: "ulimit -f 8" must not cut the recording short.
	 * Raising one may fail (a NOFILE hard limit above fs.nr_open): the recorder then starts
	 * with the user's, as it did before, rather than not at all */
	for (i = 0; i < PRIVSEP_RAISED; i++) {
		if (getrlimit(privsep_raised[i], &ps->limits_saved[i]) != 0)
			return TG_ERR_SYSTEM;
		raised = ps->limits_saved[i];
		raised.rlim_cur = raised.rlim_max;
		/* at a hard CPU limit the kernel sends SIGKILL, which nothing catches: the terminal
		 * would stay raw, the recording unsealed. A second of CPU under it comes SIGXCPU,
		 * which the relay takes for the session's end (the kernel moves the soft limit up
		 * to the hard one as it sends it) */
		if (privsep_raised[i] == RLIMIT_CPU && raised.rlim_max != RLIM_INFINITY &&
		    raised.rlim_max >= 2)
			raised.rlim_cur = raised.rlim_max - 1;
		(void)setrlimit(privsep_raised[i], &raised);
	}
	/* interval timers survive execve and fire whatever the ids: an alarm the user set before
	 * starting the recorder (setitimer, then exec) would kill it, its signals being SIGALRM,
	 * SIGVTALRM and SIGPROF, at the moment of the user's choosing */
	if (setitimer(ITIMER_REAL, &off, NULL) != 0 || setitimer(ITIMER_VIRTUAL, &off, NULL) != 0 ||
	    setitimer(ITIMER_PROF, &off, NULL) != 0)
		return TG_ERR_SYSTEM;
	/* a hard file size limit the user lowered is a write error (a recording failure), not death
	 */
	if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR)
		return TG_ERR_SYSTEM;
	return TG_OK;
}

/* Not dumpable, again: a change of the effective ids resets the flag to fs.suid_dumpable, and
 * with 1 there the recorder, its keys in memory, would be dumpable for the rest of the session
 * (a core dump the user provokes: a signal while their real uid is still its, or a shell that
 * dies of SIGSEGV, which the recorder then raises too). */
static int undumpable(void)
{
	return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 ? TG_OK : TG_ERR_SYSTEM;
}

/* The gid too: what looks at the user's processes (/proc under hidepid=) compares both. */
int privsep_as_user(const struct privsep *ps)
{
	if (!ps->setuid_mode)
		return TG_OK;
	if (setegid(ps->user_gid) != 0)
		return TG_ERR_SYSTEM;
	if (seteuid(ps->user_uid) != 0 || undumpable() != TG_OK) {
		(void)!seteuid(ps->audit_uid);
		(void)!setegid(ps->audit_gid);
		(void)undumpable();
		return TG_ERR_SYSTEM;
	}
	return TG_OK;
}

int privsep_as_audit(const struct privsep *ps)
{
	if (!ps->setuid_mode)
		return TG_OK;
	return seteuid(ps->audit_uid) == 0 && setegid(ps->audit_gid) == 0 ? undumpable()
	                                                                  : TG_ERR_SYSTEM;
}

/* All three uids are want. */
static int uids_are(uid_t want)
{
	uid_t r, e, s;

	if (getresuid(&r, &e, &s) != 0)
		return 0;
	return r == want && e == want && s == want;
}

/* All three gids are want. */
static int gids_are(gid_t want)
{
	gid_t r, e, s;

	if (getresgid(&r, &e, &s) != 0)
		return 0;
	return r == want && e == want && s == want;
}

int privsep_drop_recorder(const struct privsep *ps)
{
	if (setresgid(ps->audit_gid, ps->audit_gid, ps->audit_gid) != 0 || !gids_are(ps->audit_gid))
		return TG_ERR_PERM;
	if (setresuid(ps->audit_uid, ps->audit_uid, ps->audit_uid) != 0)
		return TG_ERR_SYSTEM;
	if (!uids_are(ps->audit_uid)) {
		errno = EPERM;
		return TG_ERR_PERM;
	}
	return undumpable();
}

int privsep_drop_child(const struct privsep *ps)
{
	int i;

	/* groups first: after the uid drop there is no right left to change them */
	if (setresgid(ps->user_gid, ps->user_gid, ps->user_gid) != 0 || !gids_are(ps->user_gid))
		return TG_ERR_PERM;
	if (setresuid(ps->user_uid, ps->user_uid, ps->user_uid) != 0)
		return TG_ERR_SYSTEM;
	/* the change of ids made it dumpable again if fs.suid_dumpable says so: until its execve
	 * the process holds the recorder's memory (the config, the session's signing key) */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return TG_ERR_SYSTEM;
	/* a failed or partial drop must never exec the user's shell */
	if (!uids_are(ps->user_uid)) {
		errno = EPERM;
		return TG_ERR_PERM;
	}
	if (ps->setuid_mode && ps->user_uid != 0 &&
	    (setresuid(-1, ps->audit_uid, -1) == 0 ||
	     (ps->audit_gid != ps->user_gid && setresgid(-1, ps->audit_gid, -1) == 0))) {
		errno = EPERM;
		return TG_ERR_PERM;
	}
	if (setrlimit(RLIMIT_CORE, &ps->core_saved) != 0)
		return TG_ERR_SYSTEM;
	for (i = 0; i < PRIVSEP_RAISED; i++)
		if (setrlimit(privsep_raised[i], &ps->limits_saved[i]) != 0)
			return TG_ERR_SYSTEM;
	/* 077 is for the recorder's files: the shell creates the user's with the user's umask */
	umask(ps->umask_saved);
	return TG_OK;
}
