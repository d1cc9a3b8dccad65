/* tollgate-replay: S3 sources (not built in yet: the S3 client is not there). */
#include "replay.h"
#include "tg_error.h"
#include "tg_log.h"

int replay_s3_open(struct replay_src *s, const struct replay_opts *o, const char *url);
int replay_s3_close(struct replay_src *s);

int replay_s3_open(struct replay_src *s, const struct replay_opts *o, const char *url)
{
	(void)s;
	(void)o;
	tg_error("%s: this tollgate-replay was built without S3 support", url);
	return TG_ERR_INVALID;
}

int replay_s3_close(struct replay_src *s)
{
	(void)s;
	return TG_OK;
}

int replay_s3_list(const struct replay_opts *o, const char *url,
		   int (*cb)(void *ctx, const char *name, uint64_t size), void *ctx)
{
	(void)o;
	(void)cb;
	(void)ctx;
	tg_error("%s: this tollgate-replay was built without S3 support", url);
	return TG_ERR_INVALID;
}
