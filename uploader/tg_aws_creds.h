/*
 * AWS credentials in the order the AWS SDKs use: the [s3] config keys, the
 * environment, the shared credentials file and profile, EC2 instance
 * metadata (IMDSv2). Temporary credentials are refreshed before they expire.
 * Secrets live in fixed arrays and are wiped with sodium_memzero.
 */
#ifndef TG_AWS_CREDS_H
#define TG_AWS_CREDS_H

#include <stddef.h>
#include <time.h>

#include "tg_config.h"

#define TG_AWS_CREDS_MAX_FILE (64 * 1024) /* a credentials file larger than this is refused */
/* Temporary credentials are renewed this long before they expire. */
#define TG_AWS_CREDS_REFRESH_MARGIN 300

struct tg_aws_creds {
	char access_key_id[129];
	char secret_access_key[129];
	char session_token[4097]; /* "" for long-term keys */
	time_t expiration;        /* 0: does not expire */
	char source[16];          /* "config", "env", "file", "imds" */
};

struct tg_aws_creds_provider;

/* A provider reading the [s3] section of cfg (credentials_file, profile, imds_endpoint, use_imds).
 */
int tg_aws_creds_provider_new(struct tg_aws_creds_provider **out, const struct tg_config *cfg,
                              char *err, size_t errlen);
/*
 * Current credentials into out: cached ones while they are fresh, else the
 * first source that has some. force: forget the cache (after ExpiredToken).
 * TG_ERR_NOT_FOUND when no source has credentials (err says which were
 * tried), TG_ERR_NET when instance metadata could not be asked (may pass),
 * TG_ERR_CONFIG, TG_ERR_PARSE or TG_ERR_PERM for a bad setting or file.
 * A profile named in [s3] profile or $AWS_PROFILE that gives no keys (no
 * file, no such section, no keys in it) is TG_ERR_CONFIG: only the implicit
 * "default" goes on to instance metadata.
 */
int tg_aws_creds_get(struct tg_aws_creds_provider *p, int force, struct tg_aws_creds *out,
                     char *err, size_t errlen);
/*
 * The shared credentials file tg_aws_creds_get() reads with cfg and the environment as they
 * are now, into out: TG_OK. TG_ERR_NOT_FOUND when a source before it has keys (the [s3] keys,
 * the environment) or there is no home directory for ~/.aws/credentials; TG_ERR_LIMIT when
 * the path does not fit. Whether the file exists is not asked.
 */
int tg_aws_creds_file_in_use(const struct tg_config *cfg, char *out, size_t outlen);
/* Release; wipes the cache. Safe on NULL. */
void tg_aws_creds_provider_free(struct tg_aws_creds_provider *p);

/* Wipe a credentials struct. */
void tg_aws_creds_clear(struct tg_aws_creds *c);

/* The sources, one by one (for tests and for tollgate-uploader status). */
/* AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; TG_ERR_NOT_FOUND when unset. */
int tg_aws_creds_from_env(struct tg_aws_creds *out, char *err, size_t errlen);
/* One [profile] of a shared credentials file's text; TG_ERR_NOT_FOUND when the profile is
 * missing or has no keys (err says which). */
int tg_aws_creds_parse_file(const char *text, size_t len, const char *profile,
                            struct tg_aws_creds *out, char *err, size_t errlen);
/* Read path (regular, not a symlink, not writable by group or others, at most
 * TG_AWS_CREDS_MAX_FILE). */
int tg_aws_creds_from_file(const char *path, const char *profile, struct tg_aws_creds *out,
                           char *err, size_t errlen);
/*
 * IMDSv2 at endpoint (e.g. "http://169.254.169.254"): PUT /latest/api/token,
 * then GET /latest/meta-data/iam/security-credentials/ and .../ROLE.
 * Never through a proxy; short timeouts.
 */
int tg_aws_creds_from_imds(const char *endpoint, struct tg_aws_creds *out, char *err,
                           size_t errlen);
/* Parse an ISO 8601 UTC time "YYYY-MM-DDTHH:MM:SS[.fff]Z"; TG_ERR_PARSE otherwise. */
int tg_aws_parse_iso8601(const char *s, time_t *out);

#endif
