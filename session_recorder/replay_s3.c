/*
 * tollgate-replay: S3 sources. tg_s3_get() pushes the object into a sink;
 * the reader pulls. A thread runs the GET and writes into a pipe the reader
 * reads: the object streams through in constant memory (the pipe, the
 * reader's buffer), never whole in memory or on disk. A reader that stops
 * early closes the pipe, the sink fails with EPIPE and the GET stops.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay.h"
#include "tg_error.h"
#include "tg_log.h"
#include "tg_s3.h"
#include "tg_spool.h"

int replay_s3_open(struct replay_src *s, const struct replay_opts *o, const char *url);
int replay_s3_close(struct replay_src *s);

struct s3_stream {
	struct tg_s3 *s3;
	pthread_t th;
	int joined;
	int rfd, wfd;
	char key[1024 + 1]; /* S3 keys are at most 1024 bytes */
	int result;
	struct tg_s3_result res;
	const char *url;
};

/* Split s3://bucket/rest into bucket and rest. */
static int parse_url(const char *url, char *bucket, size_t blen, const char **rest)
{
	const char *b = url + 5, *slash = strchr(b, '/');
	size_t n = slash ? (size_t)(slash - b) : strlen(b);

	if (n == 0 || n >= blen)
		return TG_ERR_INVALID;
	memcpy(bucket, b, n);
	bucket[n] = '\0';
	*rest = slash ? slash + 1 : "";
	return TG_OK;
}

/* A client for the URL's bucket with the config's [s3] settings. */
static int client_for(const struct replay_opts *o, const char *url, struct tg_s3 **out,
                      const char **rest)
{
	char bucket[256], err[512];
	int r;

	*out = NULL;
	if (parse_url(url, bucket, sizeof(bucket), rest) != TG_OK) {
		tg_error("%s: not s3://bucket/key", url);
		return TG_ERR_INVALID;
	}
	if ((r = tg_config_set(o->cfg, TG_CONF_S3_BUCKET, bucket, err, sizeof(err))) != TG_OK) {
		tg_error("%s: %s", url, err);
		return r;
	}
	err[0] = '\0';
	if ((r = tg_s3_new(out, o->cfg, err, sizeof(err))) != TG_OK) {
		tg_error("%s: S3: %s", url, err[0] ? err : tg_strerror(r));
		return r;
	}
	return TG_OK;
}

static int sink(void *ctx, const void *p, size_t len)
{
	struct s3_stream *st = ctx;

	return tg_write_all(st->wfd, p, len) == TG_OK ? 0 : -1;
}

static void *get_thread(void *arg)
{
	struct s3_stream *st = arg;
	sigset_t set;

	/* a reader that stopped early must give EPIPE here, not kill the process */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	st->result = tg_s3_get(st->s3, st->key, sink, st, &st->res);
	close(st->wfd);
	st->wfd = -1;
	return NULL;
}

/* Read from the pipe; at its end, the GET's outcome decides: a cut transfer is an error, not a
 * short file. */
static ssize_t s3_read(void *ctx, void *buf, size_t n)
{
	struct s3_stream *st = ctx;
	ssize_t k = tg_rec_fd_read(&st->rfd, buf, n);

	if (k != 0)
		return k;
	if (!st->joined) {
		pthread_join(st->th, NULL);
		st->joined = 1;
	}
	if (st->result != TG_OK) {
		tg_error("%s: S3 GET: HTTP %ld %s %s", st->url, st->res.http_status, st->res.code,
		         st->res.message);
		return st->result < 0 ? st->result : TG_ERR_NET;
	}
	return 0;
}

int replay_s3_open(struct replay_src *s, const struct replay_opts *o, const char *url)
{
	struct s3_stream *st = calloc(1, sizeof(*st));
	const char *key = NULL;
	int p[2], r;

	if (st == NULL)
		return TG_ERR_NOMEM;
	st->rfd = st->wfd = -1;
	st->url = url;
	if ((r = client_for(o, url, &st->s3, &key)) != TG_OK)
		goto fail;
	if (*key == '\0' || strlen(key) >= sizeof(st->key)) {
		tg_error("%s: no object key", url);
		r = TG_ERR_INVALID;
		goto fail;
	}
	snprintf(st->key, sizeof(st->key), "%s", key);
	if (pipe2(p, O_CLOEXEC) != 0) {
		r = TG_ERR_SYSTEM;
		goto fail;
	}
	/* a bigger pipe means fewer wake-ups per MiB; failure is harmless */
	fcntl(p[1], F_SETPIPE_SZ, 1024 * 1024);
	st->rfd = p[0];
	st->wfd = p[1];
	if (pthread_create(&st->th, NULL, get_thread, st) != 0) {
		r = TG_ERR_SYSTEM;
		goto fail;
	}
	s->s3 = st;
	s->src.read = s3_read;
	s->src.ctx = st;
	return TG_OK;
fail:
	if (st->rfd >= 0)
		close(st->rfd);
	if (st->wfd >= 0)
		close(st->wfd);
	tg_s3_free(st->s3);
	free(st);
	return r;
}

int replay_s3_close(struct replay_src *s)
{
	struct s3_stream *st = s->s3;
	int r = TG_OK;

	if (st == NULL)
		return TG_OK;
	/* closing the read end first stops a GET whose reader gave up */
	close(st->rfd);
	if (!st->joined)
		pthread_join(st->th, NULL);
	tg_s3_free(st->s3);
	free(st);
	s->s3 = NULL;
	return r;
}

struct list_ctx {
	const char *bucket;
	int (*cb)(void *ctx, const char *name, uint64_t size);
	void *ctx;
	int failed;
};

static int list_cb(void *ctx, const char *key, uint64_t size, const char *last_modified)
{
	struct list_ctx *l = ctx;
	char name[2048];

	(void)last_modified;
	if ((size_t)snprintf(name, sizeof(name), "s3://%s/%s", l->bucket, key) >= sizeof(name))
		return 0;
	if (l->cb(l->ctx, name, size) != 0) {
		l->failed = 1;
		return 1;
	}
	return 0;
}

int replay_s3_list(const struct replay_opts *o, const char *url,
                   int (*cb)(void *ctx, const char *name, uint64_t size), void *ctx)
{
	struct tg_s3 *s3 = NULL;
	struct tg_s3_result res;
	struct list_ctx l = {NULL, cb, ctx, 0};
	char bucket[256];
	const char *prefix = NULL;
	int r;

	if ((r = client_for(o, url, &s3, &prefix)) != TG_OK)
		return r;
	parse_url(url, bucket, sizeof(bucket), &prefix);
	l.bucket = bucket;
	r = tg_s3_list(s3, prefix, list_cb, &l, &res);
	if (r != TG_OK && !l.failed)
		tg_error("%s: S3 list: HTTP %ld %s %s", url, res.http_status, res.code,
		         res.message);
	if (l.failed) {
		tg_error("out of memory");
		r = TG_ERR_NOMEM;
	}
	tg_s3_free(s3);
	return r;
}
