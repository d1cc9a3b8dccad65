/*
 * s3cli: a test-only driver over uploader/libtgs3 for tests/test_s3_client.sh
 * and the other S3 integration tests.
 *
 *   s3cli -c CONF [-o section.key=value]... [-r ATTEMPTS] COMMAND ARGS
 *     put KEY FILE [--meta name=value]... [--type CT] [--resume STATE]
 *         [--threshold BYTES] [--part-size BYTES] [--die-after-parts N]
 *         [--save-every-part-max N]
 *     get KEY OUT          head KEY          list [PREFIX]
 *     abort KEY UPLOAD_ID
 *
 * Prints "parts N" after a put (parts this run sent), "size N" after a head,
 * "KEY SIZE" lines for a list. Exit: 0 ok, 2 usage, 3 not found, 4 refused
 * (403), 5 retryable, 1 anything else; the result goes to stderr.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_config.h"
#include "tg_error.h"
#include "tg_s3.h"

struct progress {
	unsigned parts;
	unsigned die_after;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;

	p->parts++;
	if (p->die_after > 0 && p->parts >= p->die_after && done < total) {
		printf("parts %u\n", p->parts);
		fflush(stdout);
		raise(SIGKILL); /* a crash at the worst moment: mid-upload */
	}
}

static int write_sink(void *ctx, const void *p, size_t len)
{
	return fwrite(p, 1, len, ctx) == len ? 0 : -1;
}

static int print_key(void *ctx, const char *key, uint64_t size, const char *lm)
{
	(void)ctx;
	(void)lm;
	printf("%s %llu\n", key, (unsigned long long)size);
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
	        "usage: s3cli -c CONF [-o section.key=value]... put|get|head|list|abort ARGS\n");
	return 2;
}

static int exit_code(int r, const struct tg_s3_result *res)
{
	if (r == TG_OK)
		return 0;
	fprintf(stderr, "s3cli: %s: status=%ld code=%s retryable=%d message=%s\n", tg_strerror(r),
	        res->http_status, res->code, res->retryable, res->message);
	if (r == TG_ERR_NOT_FOUND)
		return 3;
	if (r == TG_ERR_AUTH)
		return 4;
	if (r == TG_ERR_RETRY)
		return 5;
	return 1;
}

static int set_override(struct tg_config *cfg, const char *arg, char *err, size_t errlen)
{
	char sec[64], key[64];
	const char *dot = strchr(arg, '.'), *eq = strchr(arg, '=');
	enum tg_conf_id id;

	if (dot == NULL || eq == NULL || dot > eq || (size_t)(dot - arg) >= sizeof sec ||
	    (size_t)(eq - dot - 1) >= sizeof key)
		return TG_ERR_INVALID;
	snprintf(sec, sizeof sec, "%.*s", (int)(dot - arg), arg);
	snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
	if (tg_config_lookup(sec, key, &id) != TG_OK)
		return TG_ERR_NOT_FOUND;
	return tg_config_set(cfg, id, eq + 1, err, errlen);
}

int main(int argc, char **argv)
{
	struct tg_config *cfg = NULL;
	struct tg_s3 *s3 = NULL;
	struct tg_s3_result res;
	struct tg_s3_meta meta[16];
	struct tg_s3_put_opts opts;
	struct progress prog = {0, 0};
	char err[512] = "";
	unsigned long long threshold = 0, part_size = 0;
	unsigned attempts = 3;
	const char *cmd;
	int i = 1, r, rc = 1;

	signal(SIGPIPE, SIG_IGN); /* as tg_s3.h asks */
	memset(&res, 0, sizeof res);
	memset(&opts, 0, sizeof opts);
	if (tg_config_new(&cfg) != TG_OK)
		return 1;
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "-c") == 0)
			r = tg_config_load(cfg, argv[i + 1], TG_CONFIG_NO_OWNER_CHECK, err,
			                   sizeof err);
		else if (strcmp(argv[i], "-o") == 0)
			r = set_override(cfg, argv[i + 1], err, sizeof err);
		else if (strcmp(argv[i], "-r") == 0)
			r = (attempts = (unsigned)strtoul(argv[i + 1], NULL, 10)) > 0
			        ? TG_OK
			        : TG_ERR_INVALID;
		else
			return usage();
		if (r != TG_OK) {
			fprintf(stderr, "s3cli: %s: %s\n", argv[i + 1],
			        err[0] ? err : tg_strerror(r));
			return 2;
		}
	}
	if (i >= argc)
		return usage();
	cmd = argv[i++];
	if ((r = tg_s3_new(&s3, cfg, err, sizeof err)) != TG_OK) {
		fprintf(stderr, "s3cli: %s\n", err[0] ? err : tg_strerror(r));
		tg_config_free(cfg);
		return 2;
	}
	tg_s3_set_retry(s3, attempts, 50, 500);
	if (strcmp(cmd, "put") == 0 && i + 2 <= argc) {
		const char *key = argv[i], *file = argv[i + 1];

		for (i += 2; i + 1 < argc; i += 2) {
			if (strcmp(argv[i], "--meta") == 0 && opts.nmeta < 16) {
				char *eq = strchr(argv[i + 1], '=');

				if (eq == NULL)
					return usage();
				*eq = '\0';
				meta[opts.nmeta].name = argv[i + 1];
				meta[opts.nmeta++].value = eq + 1;
			} else if (strcmp(argv[i], "--type") == 0) {
				opts.content_type = argv[i + 1];
			} else if (strcmp(argv[i], "--resume") == 0) {
				opts.resume_path = argv[i + 1];
			} else if (strcmp(argv[i], "--threshold") == 0) {
				threshold = strtoull(argv[i + 1], NULL, 10);
			} else if (strcmp(argv[i], "--part-size") == 0) {
				part_size = strtoull(argv[i + 1], NULL, 10);
			} else if (strcmp(argv[i], "--save-every-part-max") == 0) {
				/* and otherwise not again within a century (longer than any
				 * machine has been up): which parts a resume sends again shows
				 * when the state was written */
				tg_s3_set_resume_saves(s3, (unsigned)strtoul(argv[i + 1], NULL, 10),
				                       100ULL * 365 * 86400 * 1000000);
			} else if (strcmp(argv[i], "--die-after-parts") == 0) {
				prog.die_after = (unsigned)strtoul(argv[i + 1], NULL, 10);
			} else {
				return usage();
			}
		}
		if (threshold > 0 || part_size > 0)
			tg_s3_set_multipart(s3, threshold ? threshold : 8ULL << 20,
			                    part_size ? part_size : 8ULL << 20);
		opts.meta = meta;
		opts.progress = on_progress;
		opts.progress_ctx = &prog;
		r = tg_s3_put_file(s3, key, file, &opts, &res);
		if (r == TG_OK)
			printf("parts %u\netag %s\n", prog.parts, res.etag);
		rc = exit_code(r, &res);
	} else if (strcmp(cmd, "get") == 0 && i + 2 == argc) {
		FILE *f = fopen(argv[i + 1], "wb");

		if (f == NULL) {
			perror(argv[i + 1]);
		} else {
			r = tg_s3_get(s3, argv[i], write_sink, f, &res);
			if (fclose(f) != 0 && r == TG_OK)
				r = TG_ERR_IO;
			rc = exit_code(r, &res);
		}
	} else if (strcmp(cmd, "head") == 0 && i + 1 == argc) {
		uint64_t size = 0;

		r = tg_s3_head(s3, argv[i], &size, &res);
		if (r == TG_OK)
			printf("size %llu\n", (unsigned long long)size);
		rc = exit_code(r, &res);
	} else if (strcmp(cmd, "list") == 0 && i + 1 >= argc) {
		r = tg_s3_list(s3, i < argc ? argv[i] : "", print_key, NULL, &res);
		rc = exit_code(r, &res);
	} else if (strcmp(cmd, "abort") == 0 && i + 2 == argc) {
		r = tg_s3_abort_multipart(s3, argv[i], argv[i + 1], &res);
		rc = exit_code(r, &res);
	} else {
		rc = usage();
	}
	tg_s3_free(s3);
	tg_config_free(cfg);
	return rc;
}
