/*
 * Uploads run in child processes, at most [uploader] workers at once, so a
 * 1 GiB recording neither holds back the small ones nor the Slack queue.
 * A child takes a batch of files (one large one, or up to UP_JOB_BATCH small
 * ones over one S3 connection), does each from start to end (upload,
 * confirm, remove) and writes one fixed-size result record per file to a
 * pipe shared by all children (smaller than PIPE_BUF, so writes never
 * interleave). A child dies with its
 * parent (PR_SET_PDEATHSIG), so a kill -9 of the daemon never leaves an
 * orphan racing a restarted uploader on the same file.
 */
#include "uploader.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tg_error.h"
#include "tg_log.h"
#include "tg_s3.h"
#include "tg_signal.h"

struct job_msg {
	pid_t pid;
	unsigned index; /* which file of the job */
	struct up_result res;
};

struct job {
	pid_t pid;
	enum up_queue q;
	size_t n;
	char name[UP_JOB_BATCH][UP_NAME_MAX];
	unsigned char reported[UP_JOB_BATCH];
	unsigned char removing[UP_JOB_BATCH]; /* the child said it removes the file (S3 has it) */
	int exited;
	int stopped; /* ended by up_jobs_stop(): its unreported files just stay in the spool */
	int ended;   /* ended from outside while the daemon ran (ended_from_outside()) */
};

struct up_jobs {
	unsigned max;
	int pipe_rd, pipe_wr;
	struct job *slot; /* max entries; pid 0 is free */
};

_Static_assert(sizeof(struct job_msg) < PIPE_BUF, "a job result must be written atomically");

/* In a child: the pipe to the daemon and the file it works on; -1 in the daemon. */
static int child_pipe = -1;
static unsigned child_index;

void up_job_removing(void)
{
	struct job_msg msg;

	if (child_pipe < 0)
		return;
	memset(&msg, 0, sizeof(msg));
	msg.pid = getpid();
	msg.index = child_index;
	msg.res.removing = 1;
	/* not said (a full pipe cannot be: the daemon reads it): a death right after the removal
	 * reads as someone else's, a false alarm rather than a removal let pass */
	(void)!write(child_pipe, &msg, sizeof(msg));
}

int up_jobs_new(struct up_jobs **out, unsigned max)
{
	struct up_jobs *j;
	int fds[2];

	*out = NULL;
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->slot = calloc(max, sizeof(*j->slot))) == NULL) {
		free(j);
		return TG_ERR_NOMEM;
	}
	/* the read end only is non-blocking: a worker whose result finds the pipe full (a
	 * parent busy posting to Slack) waits, rather than die mid-batch */
	if (pipe2(fds, O_CLOEXEC) != 0) {
		free(j->slot);
		free(j);
		return TG_ERR_SYSTEM;
	}
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0) {
		close(fds[0]);
		close(fds[1]);
		free(j->slot);
		free(j);
		return TG_ERR_SYSTEM;
	}
	j->pipe_rd = fds[0];
	j->pipe_wr = fds[1];
	j->max = max;
	*out = j; /* transferred */
	return TG_OK;
}

void up_jobs_free(struct up_jobs *j)
{
	if (j == NULL)
		return;
	up_jobs_stop(j);
	close(j->pipe_rd);
	close(j->pipe_wr);
	free(j->slot);
	free(j);
}

unsigned up_jobs_running(const struct up_jobs *j)
{
	unsigned i, n = 0;

	for (i = 0; i < j->max; i++)
		n += j->slot[i].pid != 0;
	return n;
}

unsigned up_jobs_max(const struct up_jobs *j)
{
	return j->max;
}

int up_jobs_fd(const struct up_jobs *j)
{
	return up_jobs_running(j) > 0 ? j->pipe_rd : -1;
}

void up_jobs_child_signals(void)
{
	sigset_t keep;

	/* SIGPIPE stays ignored, as in the daemon: a write to a connection S3 closed is an
	 * error curl reports, not the worker's death */
	sigemptyset(&keep);
	sigaddset(&keep, SIGPIPE);
	tg_signals_child_reset(&keep);
}

int up_jobs_start(struct up_ctx *c, enum up_queue q, const char *const *names, size_t n,
                  up_job_fn fn)
{
	struct up_jobs *j = c->jobs;
	pid_t parent = getpid(), pid;
	struct job *slot = NULL;
	unsigned i;

	if (n == 0 || n > UP_JOB_BATCH)
		return TG_ERR_INVALID;
	for (i = 0; i < j->max && slot == NULL; i++)
		if (j->slot[i].pid == 0)
			slot = &j->slot[i];
	if (slot == NULL)
		return TG_ERR_LIMIT;
	if ((pid = fork()) < 0)
		return TG_ERR_SYSTEM;
	if (pid == 0) {
		struct tg_s3 *s3 = NULL;
		struct job_msg msg;
		size_t k;

		up_jobs_child_signals();
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(1);
		/* the alerts the daemon keeps to write are its own: written here too, they would
		 * be twice in S3 and Slack; a worker's own are written at once or said to fail */
		json_decref(c->alerts_kept);
		c->alerts_kept = NULL;
		c->in_worker = 1;
		child_pipe = j->pipe_wr;
		for (k = 0; k < n; k++) {
			child_index = (unsigned)k;
			memset(&msg, 0, sizeof(msg));
			msg.pid = getpid();
			msg.index = (unsigned)k;
			fn(c, &s3, names[k], &msg.res);
			if (write(j->pipe_wr, &msg, sizeof(msg)) != (ssize_t)sizeof(msg))
				_exit(1);
		}
		tg_s3_free(s3);
		_exit(0);
	}
	memset(slot, 0, sizeof(*slot));
	slot->pid = pid;
	slot->q = q;
	slot->n = n;
	for (i = 0; i < n; i++)
		snprintf(slot->name[i], sizeof(slot->name[i]), "%s", names[i]);
	return TG_OK;
}

/*
 * A worker ended by a signal that is sent to stop, not by its file: SIGTERM (systemd's stop
 * reaches every process of the unit), SIGINT and SIGHUP (Ctrl-C, or the hangup of a terminal
 * running --foreground or --once, reach its whole process group). Charged to its file, three
 * such stops of a good recording would set it aside; a crash (SIGSEGV, SIGABRT) and the OOM
 * killer (SIGKILL) are the file's.
 */
static int ended_from_outside(int status)
{
	return WIFSIGNALED(status) && (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGINT ||
	                               WTERMSIG(status) == SIGHUP);
}

typedef void (*done_fn)(struct up_ctx *c, enum up_queue q, const char *name,
                        const struct up_result *res);

static void read_results(struct up_ctx *c, done_fn done)
{
	struct up_jobs *j = c->jobs;
	struct job_msg msg;
	unsigned i;

	while (read(j->pipe_rd, &msg, sizeof(msg)) == (ssize_t)sizeof(msg)) {
		for (i = 0; i < j->max; i++) {
			struct job *jb = &j->slot[i];

			if (jb->pid != msg.pid || msg.index >= jb->n || jb->reported[msg.index])
				continue;
			if (msg.res.removing) { /* a notice, not the report */
				jb->removing[msg.index] = 1;
				continue;
			}
			jb->reported[msg.index] = 1;
			done(c, jb->q, jb->name[msg.index], &msg.res);
		}
	}
}

void up_jobs_reap(struct up_ctx *c, done_fn done)
{
	struct up_jobs *j = c->jobs;
	unsigned i;

	read_results(c, done);
	for (i = 0; i < j->max; i++) {
		int status;

		if (j->slot[i].pid != 0 && !j->slot[i].exited &&
		    waitpid(j->slot[i].pid, &status, WNOHANG) == j->slot[i].pid) {
			j->slot[i].exited = 1;
			/* systemd's SIGTERM may be reaped here before the daemon takes its own */
			j->slot[i].ended = ended_from_outside(status);
		}
	}
	/* a child writes before it exits: what an exited child said is in the pipe by now */
	read_results(c, done);
	for (i = 0; i < j->max; i++) {
		struct job *jb = &j->slot[i];
		struct up_result res;
		size_t k, on;

		if (jb->pid == 0 || !jb->exited)
			continue;
		jb->pid = 0;
		/* a worker does its files in order: it died on the first it did not report, and
		 * never came to the ones after it */
		for (on = 0; on < jb->n && jb->reported[on]; on++)
			;
		memset(&res, 0, sizeof(res));
		res.rc = TG_ERR_SYSTEM;
		res.retryable = 1;
		res.stopped = jb->stopped;
		snprintf(res.message, sizeof(res.message), "the upload worker died");
		for (k = 0; k < jb->n; k++) {
			/* only a file it said it removes (S3 had it) may be gone by its hand */
			res.worker_died = jb->removing[k];
			/* the one it died on is charged with it; the others had no try, and go
			 * again at once rather than die with it again in the same batch. Ended
			 * from outside, it died on none: they all go again, uncharged */
			res.crashed = !jb->stopped && !jb->ended && k == on;
			res.not_started =
			    !jb->stopped && (k > on || (jb->ended && k == on)) && !jb->removing[k];
			/* stopped by us: its other files just stay in the spool, but one it said it
			 * removes must still be accounted for (S3 has it), or it counts nowhere */
			if (!jb->reported[k] && (!jb->stopped || jb->removing[k]))
				done(c, jb->q, jb->name[k], &res);
		}
	}
}

/* The slots stay taken until up_jobs_reap(): what a job wrote before it ended (files it
 * finished while the daemon stopped) is still read and accounted for. */
void up_jobs_stop(struct up_jobs *j)
{
	unsigned i;

	for (i = 0; i < j->max; i++) {
		int status;
		pid_t r;

		if (j->slot[i].pid == 0 || j->slot[i].exited)
			continue;
		/* Dead already, and not by a stop's signal (ended_from_outside(): systemd's
		 * SIGTERM, a terminal's Ctrl-C): it died on its file, which is charged with it.
		 * The OOM killer kills the worker, and systemd (OOMPolicy=stop) then stops the
		 * daemon at once: taken for stopped, that death was never counted, and a
		 * recording that exhausts the worker's memory was never set aside. */
		if (waitpid(j->slot[i].pid, &status, WNOHANG) == j->slot[i].pid) {
			j->slot[i].exited = 1;
			j->slot[i].stopped = ended_from_outside(status);
			continue;
		}
		/* the file stays in the spool; a multipart upload resumes next time */
		kill(j->slot[i].pid, SIGTERM);
		while ((r = waitpid(j->slot[i].pid, &status, 0)) < 0 && errno == EINTR)
			;
		j->slot[i].exited = 1;
		/* what it died of, not only that it died: the OOM killer's SIGKILL is sent before
		 * the worker is gone, and systemd may stop the daemon in that moment, when the
		 * WNOHANG above still finds it running. Only a death by another signal than ours
		 * (or a stop's) is its file's. */
		j->slot[i].stopped =
		    r != j->slot[i].pid || !WIFSIGNALED(status) || ended_from_outside(status);
	}
}
