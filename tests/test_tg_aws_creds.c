/*
 * tg_aws_creds: the environment, shared credentials files (hostile ones
 * included), the lookup order, and IMDSv2 against a local receiver that
 * enforces the token rules (tests/servers/imds_server.py).
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "tg_aws_creds.h"
#include "tg_config.h"
#include "tg_error.h"
#include "tg_test.h"

static void clear_env(void)
{
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
}

static void write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	chmod(path, mode);
}

static int parse(const char *text, const char *profile, struct tg_aws_creds *c)
{
	char err[256];

	return tg_aws_creds_parse_file(text, strlen(text), profile, c, err, sizeof err);
}

START_TEST(test_env)
{
	struct tg_aws_creds c;
	char err[256];

	clear_env();
	ck_assert_int_eq(tg_aws_creds_from_env(&c, err, sizeof err), TG_ERR_NOT_FOUND);
	setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
	ck_assert_int_eq(tg_aws_creds_from_env(&c, err, sizeof err), TG_ERR_CONFIG);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	ck_assert_int_eq(tg_aws_creds_from_env(&c, err, sizeof err), TG_OK);
	ck_assert_str_eq(c.access_key_id, "AKIAENV");
	ck_assert_str_eq(c.secret_access_key, "envsecret");
	ck_assert_str_eq(c.session_token, "");
	ck_assert_str_eq(c.source, "env");
	setenv("AWS_SESSION_TOKEN", "tok", 1);
	ck_assert_int_eq(tg_aws_creds_from_env(&c, err, sizeof err), TG_OK);
	ck_assert_str_eq(c.session_token, "tok");
	setenv("AWS_SECRET_ACCESS_KEY", "with\nnewline", 1);
	ck_assert_int_eq(tg_aws_creds_from_env(&c, err, sizeof err), TG_ERR_PARSE);
	ck_assert_str_eq(c.access_key_id, ""); /* nothing half-filled is left */
}
END_TEST

START_TEST(test_file_profiles)
{
	const char *text = "# a comment\n"
	                   "; another\n"
	                   "[default]\n"
	                   "aws_access_key_id = AKIADEFAULT\n"
	                   "aws_secret_access_key=defaultsecret\n"
	                   "\n"
	                   "[  audit  ]\r\n"
	                   "AWS_ACCESS_KEY_ID   =   AKIAAUDIT   \r\n"
	                   "aws_secret_access_key = audit/secret+key\r\n"
	                   "aws_security_token = oldtoken\r\n"
	                   "s3 =\n"
	                   "    max_concurrent_requests = 20\n"
	                   "region = eu-west-1\n"
	                   "[other]\n"
	                   "aws_access_key_id = AKIAOTHER\n";
	struct tg_aws_creds c;

	ck_assert_int_eq(parse(text, "default", &c), TG_OK);
	ck_assert_str_eq(c.access_key_id, "AKIADEFAULT");
	ck_assert_str_eq(c.secret_access_key, "defaultsecret");
	ck_assert_str_eq(c.source, "file");
	ck_assert_int_eq(parse(text, "audit", &c), TG_OK);
	ck_assert_str_eq(c.access_key_id, "AKIAAUDIT");
	ck_assert_str_eq(c.secret_access_key, "audit/secret+key");
	ck_assert_str_eq(c.session_token, "oldtoken");
	ck_assert_int_eq(parse(text, "missing", &c), TG_ERR_NOT_FOUND);
	ck_assert_int_eq(parse(text, "other", &c), TG_ERR_PARSE); /* a key without its secret */
	ck_assert_int_eq(parse("", "default", &c), TG_ERR_NOT_FOUND);
	ck_assert_int_eq(parse("[default]\n", "default", &c), TG_ERR_NOT_FOUND);
	/* a key given twice, or the profile twice, is refused, as the AWS CLI refuses the file
	 * (configparser's DuplicateOptionError, DuplicateSectionError): the last value won, and
	 * paired one section's key with the other's secret */
	ck_assert_int_eq(
	    parse("[p]\naws_access_key_id=A1\naws_secret_access_key=s\naws_access_key_id=A2", "p",
	          &c),
	    TG_ERR_PARSE);
	ck_assert_int_eq(parse("[p]\naws_access_key_id=A1\naws_secret_access_key=s\n"
	                       "AWS_ACCESS_KEY_ID=A2",
	                       "p", &c),
	                 TG_ERR_PARSE);
	ck_assert_int_eq(parse("[p]\naws_access_key_id=OLD\naws_secret_access_key=oldsecret\n[q]\n"
	                       "x=1\n[p]\naws_access_key_id=NEW\n",
	                       "p", &c),
	                 TG_ERR_PARSE);
	/* another profile's keys are not read */
	ck_assert_int_eq(
	    parse("[q]\nx=1\nx=2\n[p]\naws_access_key_id=A\naws_secret_access_key=s\n", "p", &c),
	    TG_OK);
	/* the session token under its old name and its new one: the old one, in either order,
	 * as botocore reads them (aws_security_token first) */
	ck_assert_int_eq(parse("[p]\naws_access_key_id=A\naws_secret_access_key=s\n"
	                       "aws_security_token=old\naws_session_token=new\n",
	                       "p", &c),
	                 TG_OK);
	ck_assert_str_eq(c.session_token, "old");
	ck_assert_int_eq(parse("[p]\naws_access_key_id=A\naws_secret_access_key=s\n"
	                       "aws_session_token=new\naws_security_token=old\n",
	                       "p", &c),
	                 TG_OK);
	ck_assert_str_eq(c.session_token, "old");
	/* a comment after a section header, as botocore reads it; other text is an error */
	ck_assert_int_eq(parse("[p] # ours\naws_access_key_id=A\naws_secret_access_key=s\n"
	                       "[q];x\naws_access_key_id=B\naws_secret_access_key=t\n",
	                       "q", &c),
	                 TG_OK);
	ck_assert_str_eq(c.access_key_id, "B");
	ck_assert_int_eq(
	    parse("[p] words\naws_access_key_id=A\naws_secret_access_key=s\n", "p", &c),
	    TG_ERR_PARSE);
	/* keys indented under their section header are keys, as botocore (configparser) reads
	 * them: only a line indented deeper than the key before it continues that key */
	ck_assert_int_eq(parse("[p]\n  aws_access_key_id = AKIAINDENT\n"
	                       "  s3 =\n      max_concurrent_requests = 20\n"
	                       "\taws_secret_access_key = indented/secret\n"
	                       "[q]\n    aws_access_key_id = AKIAQ\n",
	                       "p", &c),
	                 TG_OK);
	ck_assert_str_eq(c.access_key_id, "AKIAINDENT");
	ck_assert_str_eq(c.secret_access_key, "indented/secret");
	/* ':' separates a key from its value as '=' does (configparser: the first of the two
	 * on the line), so the AWS CLI reads this file */
	ck_assert_int_eq(parse("[p]\naws_access_key_id: AKIACOLON\n"
	                       "aws_secret_access_key :colon/secret=\n"
	                       "aws_session_token=tok:en==\n",
	                       "p", &c),
	                 TG_OK);
	ck_assert_str_eq(c.access_key_id, "AKIACOLON");
	ck_assert_str_eq(c.secret_access_key, "colon/secret=");
	ck_assert_str_eq(c.session_token, "tok:en==");
}
END_TEST

START_TEST(test_file_hostile)
{
	struct tg_aws_creds c;
	char *big;
	size_t i;

	/* NUL bytes, a section without ']', a line that is not key = value */
	ck_assert_int_eq(tg_aws_creds_parse_file("[default]\naws_access_key_id=A\0B\n", 31,
	                                         "default", &c, NULL, 0),
	                 TG_ERR_PARSE);
	ck_assert_int_eq(
	    parse("[default\naws_access_key_id=A\naws_secret_access_key=S\n", "default", &c),
	    TG_ERR_PARSE);
	ck_assert_int_eq(parse("[default]\njust words\n", "default", &c), TG_ERR_PARSE);
	ck_assert_int_eq(
	    parse("[default]\naws_access_key_id=\naws_secret_access_key=S\n", "default", &c),
	    TG_ERR_PARSE);
	/* control characters and spaces inside a value */
	ck_assert_int_eq(
	    parse("[default]\naws_access_key_id=A\x01\naws_secret_access_key=S\n", "default", &c),
	    TG_ERR_PARSE);
	ck_assert_int_eq(
	    parse("[default]\naws_access_key_id=A B\naws_secret_access_key=S\n", "default", &c),
	    TG_ERR_PARSE);
	/* a value longer than any real key, and a line longer than the line cap */
	big = malloc(20000);
	ck_assert_ptr_nonnull(big);
	i = (size_t)sprintf(big, "[default]\naws_secret_access_key=S\naws_access_key_id=");
	memset(big + i, 'A', 5000);
	big[i + 5000] = '\0';
	ck_assert_int_eq(parse(big, "default", &c), TG_ERR_PARSE);
	memset(big + i, 'A', 9000);
	big[i + 9000] = '\0';
	ck_assert_int_eq(parse(big, "default", &c), TG_ERR_PARSE);
	free(big);
	/* a profile name that is a prefix of another is not that one */
	ck_assert_int_eq(
	    parse("[defaults]\naws_access_key_id=A\naws_secret_access_key=S\n", "default", &c),
	    TG_ERR_NOT_FOUND);
	ck_assert_str_eq(c.access_key_id, "");
}
END_TEST

START_TEST(test_file_checks)
{
	char *dir = tg_test_tmpdir(), path[4096], link[4096], err[256];
	const char *ok =
	    "[default]\naws_access_key_id=AKIAFILE\naws_secret_access_key=filesecret\n";
	struct tg_aws_creds c;
	char *big;

	snprintf(path, sizeof path, "%s/credentials", dir);
	ck_assert_int_eq(tg_aws_creds_from_file(path, "default", &c, err, sizeof err),
	                 TG_ERR_NOT_FOUND);
	write_file(path, ok, strlen(ok), 0600);
	ck_assert_int_eq(tg_aws_creds_from_file(path, "default", &c, err, sizeof err), TG_OK);
	ck_assert_str_eq(c.access_key_id, "AKIAFILE");
	/* writable by others: someone could swap in their own keys */
	chmod(path, 0622);
	ck_assert_int_eq(tg_aws_creds_from_file(path, "default", &c, err, sizeof err), TG_ERR_PERM);
	chmod(path, 0600);
	snprintf(link, sizeof link, "%s/link", dir);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(tg_aws_creds_from_file(link, "default", &c, err, sizeof err), TG_ERR_PERM);
	ck_assert_int_eq(tg_aws_creds_from_file(dir, "default", &c, err, sizeof err), TG_ERR_PERM);
	big = calloc(1, TG_AWS_CREDS_MAX_FILE + 10);
	ck_assert_ptr_nonnull(big);
	memset(big, '#', TG_AWS_CREDS_MAX_FILE + 9);
	write_file(path, big, TG_AWS_CREDS_MAX_FILE + 9, 0600);
	ck_assert_int_eq(tg_aws_creds_from_file(path, "default", &c, err, sizeof err),
	                 TG_ERR_LIMIT);
	free(big);
	tg_test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_iso8601)
{
	time_t t;

	ck_assert_int_eq(tg_aws_parse_iso8601("2013-05-24T00:00:00Z", &t), TG_OK);
	ck_assert_int_eq(t, 1369353600);
	ck_assert_int_eq(tg_aws_parse_iso8601("2013-05-24T00:00:00.123Z", &t), TG_OK);
	ck_assert_int_eq(t, 1369353600);
	ck_assert_int_eq(tg_aws_parse_iso8601("2013-05-24 00:00:00", &t), TG_ERR_PARSE);
	ck_assert_int_eq(tg_aws_parse_iso8601("2013-13-24T00:00:00Z", &t), TG_ERR_PARSE);
	ck_assert_int_eq(tg_aws_parse_iso8601("2013-05-24T00:00:00Zjunk", &t), TG_ERR_PARSE);
	ck_assert_int_eq(tg_aws_parse_iso8601("", &t), TG_ERR_PARSE);
	/* digits only, and a day the month has: sscanf and timegm made these other times */
	ck_assert_int_eq(tg_aws_parse_iso8601("2026-01-01T-1:00:00Z", &t), TG_ERR_PARSE);
	ck_assert_int_eq(tg_aws_parse_iso8601("2026- 1-01T00:00:00Z", &t), TG_ERR_PARSE);
	ck_assert_int_eq(tg_aws_parse_iso8601("2026-+1-01T00:00:00Z", &t), TG_ERR_PARSE);
	ck_assert_int_eq(tg_aws_parse_iso8601("2026-02-31T00:00:00Z", &t), TG_ERR_PARSE);
	ck_assert_int_eq(tg_aws_parse_iso8601("2026-04-31T00:00:00Z", &t), TG_ERR_PARSE);
	ck_assert_int_eq(tg_aws_parse_iso8601("2026-02-29T00:00:00Z", &t), TG_ERR_PARSE);
	ck_assert_int_eq(tg_aws_parse_iso8601("2028-02-29T00:00:00Z", &t), TG_OK);
	ck_assert_int_eq(tg_aws_parse_iso8601("2100-02-29T00:00:00Z", &t), TG_ERR_PARSE);
	ck_assert_int_eq(tg_aws_parse_iso8601("2000-02-29T00:00:00Z", &t), TG_OK);
	ck_assert_int_eq(tg_aws_parse_iso8601("2026-12-31T23:59:59Z", &t), TG_OK);
	ck_assert_int_eq(tg_aws_parse_iso8601("2026-12-31T23:59", &t), TG_ERR_PARSE);
}
END_TEST

static struct tg_config *config(const char *const *kv)
{
	struct tg_config *cfg;
	char err[256];

	ck_assert_int_eq(tg_config_new(&cfg), TG_OK);
	for (; kv != NULL && kv[0] != NULL; kv += 3) {
		enum tg_conf_id id;

		ck_assert_int_eq(tg_config_lookup(kv[0], kv[1], &id), TG_OK);
		ck_assert_msg(tg_config_set(cfg, id, kv[2], err, sizeof err) == TG_OK, "%s", err);
	}
	return cfg;
}

static const char *get_key(struct tg_aws_creds_provider *p, int force, int *rc)
{
	static struct tg_aws_creds c;
	char err[512] = "";

	*rc = tg_aws_creds_get(p, force, &c, err, sizeof err);
	return *rc == TG_OK ? c.access_key_id : err;
}

/* The file the uploader checks for its mode is the one tg_aws_creds_get() reads: none when
 * the [s3] keys or the environment come first (either key of a pair: that source's error). */
START_TEST(test_file_in_use)
{
	const char *kv_file[] = {"s3", "credentials_file", "/etc/tollgate/aws", NULL};
	const char *kv_home[] = {"s3", "credentials_file", "~/creds", NULL};
	const char *kv_id[] = {"s3", "access_key_id", "AKIACONFIG", NULL};
	const char *kv_secret[] = {"s3", "secret_access_key", "cs", NULL};
	struct tg_config *cfg;
	char path[4096];

	clear_env();
	cfg = config(kv_file);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/env/credentials", 1);
	ck_assert_int_eq(tg_aws_creds_file_in_use(cfg, path, sizeof path), TG_OK);
	ck_assert_str_eq(path, "/etc/tollgate/aws");
	setenv("AWS_SECRET_ACCESS_KEY", "es", 1);
	ck_assert_int_eq(tg_aws_creds_file_in_use(cfg, path, sizeof path), TG_ERR_NOT_FOUND);
	unsetenv("AWS_SECRET_ACCESS_KEY");
	setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
	ck_assert_int_eq(tg_aws_creds_file_in_use(cfg, path, sizeof path), TG_ERR_NOT_FOUND);
	unsetenv("AWS_ACCESS_KEY_ID");
	ck_assert_int_eq(tg_aws_creds_file_in_use(cfg, path, 8), TG_ERR_LIMIT);
	tg_config_free(cfg);

	cfg = config(NULL);
	ck_assert_int_eq(tg_aws_creds_file_in_use(cfg, path, sizeof path), TG_OK);
	ck_assert_str_eq(path, "/env/credentials");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	ck_assert_int_eq(tg_aws_creds_file_in_use(cfg, path, sizeof path), TG_OK);
	ck_assert_ptr_nonnull(strstr(path, "/.aws/credentials"));
	tg_config_free(cfg);

	cfg = config(kv_home);
	ck_assert_int_eq(tg_aws_creds_file_in_use(cfg, path, sizeof path), TG_OK);
	ck_assert_msg(path[0] == '/' && strstr(path, "/creds") != NULL && strchr(path, '~') == NULL,
	              "%s", path);
	tg_config_free(cfg);

	cfg = config(kv_id);
	ck_assert_int_eq(tg_aws_creds_file_in_use(cfg, path, sizeof path), TG_ERR_NOT_FOUND);
	tg_config_free(cfg);
	cfg = config(kv_secret);
	ck_assert_int_eq(tg_aws_creds_file_in_use(cfg, path, sizeof path), TG_ERR_NOT_FOUND);
	tg_config_free(cfg);
	clear_env();
}
END_TEST

/* config keys, then the environment, then the file, then (here, off) instance metadata */
START_TEST(test_order)
{
	char *dir = tg_test_tmpdir(), path[4096], err[256];
	const char *file = "[default]\naws_access_key_id=AKIAFILEDEF\naws_secret_access_key=s1\n"
	                   "[ops]\naws_access_key_id=AKIAFILEOPS\naws_secret_access_key=s2\n";
	const char *kv_cfg[] = {
	    "s3", "access_key_id", "AKIACONFIG", "s3", "secret_access_key", "cs",
	    "s3", "use_imds",      "no",         NULL};
	const char *kv_noimds[] = {"s3", "use_imds", "no", NULL};
	struct tg_aws_creds_provider *p;
	struct tg_config *cfg;
	int rc;

	clear_env();
	snprintf(path, sizeof path, "%s/credentials", dir);
	write_file(path, file, strlen(file), 0600);
	setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "es", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);

	cfg = config(kv_cfg);
	ck_assert_int_eq(tg_aws_creds_provider_new(&p, cfg, err, sizeof err), TG_OK);
	ck_assert_str_eq(get_key(p, 0, &rc), "AKIACONFIG");
	tg_aws_creds_provider_free(p);
	tg_config_free(cfg);

	cfg = config(kv_noimds);
	ck_assert_int_eq(tg_aws_creds_provider_new(&p, cfg, err, sizeof err), TG_OK);
	ck_assert_str_eq(get_key(p, 0, &rc), "AKIAENV");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	ck_assert_str_eq(get_key(p, 1, &rc), "AKIAFILEDEF");
	setenv("AWS_PROFILE", "ops", 1);
	ck_assert_str_eq(get_key(p, 1, &rc), "AKIAFILEOPS");
	/* a profile named in $AWS_PROFILE that the file lacks is a config error, as the AWS
	 * CLI's "could not be found" */
	setenv("AWS_PROFILE", "nosuch", 1);
	ck_assert_int_eq(tg_aws_creds_get(p, 1, &(struct tg_aws_creds){0}, err, sizeof err),
	                 TG_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "profile [nosuch]"));
	ck_assert_ptr_nonnull(strstr(err, path));
	/* no file at all: the message names the file as missing */
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	ck_assert_int_eq(tg_aws_creds_get(p, 1, &(struct tg_aws_creds){0}, err, sizeof err),
	                 TG_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "profile [nosuch]"));
	ck_assert_ptr_nonnull(strstr(err, "no file /nonexistent/credentials"));
	/* the implicit default missing: the next source (here none) */
	unsetenv("AWS_PROFILE");
	ck_assert_int_eq(tg_aws_creds_get(p, 1, &(struct tg_aws_creds){0}, err, sizeof err),
	                 TG_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err, "no file /nonexistent/credentials"));
	ck_assert_ptr_null(strstr(err, "no profile"));
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	tg_aws_creds_provider_free(p);
	tg_config_free(cfg);

	/* [s3] profile and credentials_file win over AWS_PROFILE and AWS_SHARED_CREDENTIALS_FILE */
	{
		const char *kv[] = {"s3", "use_imds",         "no", "s3", "profile", "default",
		                    "s3", "credentials_file", path, NULL};

		setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
		cfg = config(kv);
		ck_assert_int_eq(tg_aws_creds_provider_new(&p, cfg, err, sizeof err), TG_OK);
		ck_assert_str_eq(get_key(p, 0, &rc), "AKIAFILEDEF");
		tg_aws_creds_provider_free(p);
		tg_config_free(cfg);
	}
	/* an empty [s3] profile is no profile: $AWS_PROFILE, else default, as if unset */
	{
		const char *kv[] = {"s3", "use_imds",         "no", "s3", "profile", "",
		                    "s3", "credentials_file", path, NULL};

		cfg = config(kv);
		ck_assert_int_eq(tg_aws_creds_provider_new(&p, cfg, err, sizeof err), TG_OK);
		setenv("AWS_PROFILE", "ops", 1);
		ck_assert_str_eq(get_key(p, 0, &rc), "AKIAFILEOPS");
		unsetenv("AWS_PROFILE");
		ck_assert_str_eq(get_key(p, 1, &rc), "AKIAFILEDEF");
		tg_aws_creds_provider_free(p);
		tg_config_free(cfg);
	}
	/* "~/" in credentials_file is the running user's home (from passwd, not $HOME) */
	{
		const char *kv[] = {"s3", "use_imds",         "no",
		                    "s3", "credentials_file", "~/.nonexistent-tg/credentials",
		                    NULL};

		cfg = config(kv);
		ck_assert_int_eq(tg_aws_creds_provider_new(&p, cfg, err, sizeof err), TG_OK);
		ck_assert_int_eq(tg_aws_creds_get(p, 0, &(struct tg_aws_creds){0}, err, sizeof err),
		                 TG_ERR_NOT_FOUND);
		ck_assert_ptr_nonnull(strstr(err, "/.nonexistent-tg/credentials"));
		ck_assert_ptr_null(strstr(err, "~"));
		tg_aws_creds_provider_free(p);
		tg_config_free(cfg);
	}
	/* only half of a static key pair in the config is an error, not a silent fallback */
	{
		const char *kv[] = {"s3", "access_key_id", "AKIAHALF", NULL};

		cfg = config(kv);
		ck_assert_int_eq(tg_aws_creds_provider_new(&p, cfg, err, sizeof err),
		                 TG_ERR_CONFIG);
		ck_assert_ptr_null(p);
		tg_config_free(cfg);
	}
	/* instance metadata that cannot be reached may come back: TG_ERR_NET, not "none" */
	{
		const char *kv[] = {"s3", "imds_endpoint", "http://127.0.0.1:9", NULL};

		unsetenv("AWS_PROFILE");
		setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
		cfg = config(kv);
		ck_assert_int_eq(tg_aws_creds_provider_new(&p, cfg, err, sizeof err), TG_OK);
		ck_assert_int_eq(tg_aws_creds_get(p, 0, &(struct tg_aws_creds){0}, err, sizeof err),
		                 TG_ERR_NET);
		tg_aws_creds_provider_free(p);
		tg_config_free(cfg);
	}
	/* imds_endpoint may only be link-local or loopback */
	{
		const char *kv[] = {"s3", "imds_endpoint", "http://10.1.2.3", NULL};

		cfg = config(kv);
		ck_assert_int_eq(tg_aws_creds_provider_new(&p, cfg, err, sizeof err),
		                 TG_ERR_CONFIG);
		tg_config_free(cfg);
	}
	tg_test_rmtree(dir);
	free(dir);
}
END_TEST

/* ---- IMDSv2 against tests/servers/imds_server.py ---- */

struct imds {
	pid_t pid;
	char *dir;
	char endpoint[64];
};

static int imds_start(struct imds *m, const char *extra1, const char *extra2)
{
	char portfile[4200];
	int port;

	m->dir = tg_test_tmpdir();
	snprintf(portfile, sizeof portfile, "%s/port", m->dir);
	if ((port = tg_test_pyserver_start("imds_server.py", portfile, &m->pid, extra1, extra2, NULL)) < 0)
		return -1;
	snprintf(m->endpoint, sizeof m->endpoint, "http://127.0.0.1:%d", port);
	return 0;
}

static void imds_stop(struct imds *m)
{
	tg_test_pyserver_stop(&m->pid);
	tg_test_rmtree(m->dir);
	free(m->dir);
}

START_TEST(test_imds)
{
	struct imds m = {0, NULL, ""};
	struct tg_aws_creds c;
	char err[512] = "";

	ck_assert_msg(imds_start(&m, NULL, NULL) == 0,
	              "could not start tests/servers/imds_server.py");
	ck_assert_msg(tg_aws_creds_from_imds(m.endpoint, &c, err, sizeof err) == TG_OK, "%s", err);
	ck_assert_str_eq(c.access_key_id, "ASIATEST000001");
	ck_assert_int_eq(strlen(c.secret_access_key), 40);
	ck_assert_int_gt(strlen(c.session_token), 100);
	ck_assert_str_eq(c.source, "imds");
	ck_assert_int_gt(c.expiration, time(NULL) + 3000);
	ck_assert_int_le(c.expiration, time(NULL) + 3700);

	/* the receiver really enforces the session token: a GET without one is refused */
	{
		CURL *h = curl_easy_init();
		char url[256];
		long status = 0;
		FILE *devnull = fopen("/dev/null", "w");

		snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/",
		         m.endpoint);
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, devnull);
		curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
		ck_assert_int_eq(curl_easy_perform(h), CURLE_OK);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		ck_assert_int_eq(status, 401);
		curl_easy_cleanup(h);
		fclose(devnull);
	}
	/* never a non-local endpoint */
	ck_assert_int_eq(tg_aws_creds_from_imds("http://192.0.2.1", &c, err, sizeof err),
	                 TG_ERR_CONFIG);
	ck_assert_int_eq(
	    tg_aws_creds_from_imds("https://169.254.169.254.example.com", &c, err, sizeof err),
	    TG_ERR_CONFIG);
	/* what looks like a loopback host and port is a user and password: curl goes to the
	 * host after the '@' */
	ck_assert_int_eq(
	    tg_aws_creds_from_imds("http://127.0.0.1:80@192.0.2.1", &c, err, sizeof err),
	    TG_ERR_CONFIG);
	ck_assert_int_eq(
	    tg_aws_creds_from_imds("http://localhost:x@192.0.2.1", &c, err, sizeof err),
	    TG_ERR_CONFIG);
	ck_assert_int_eq(
	    tg_aws_creds_from_imds("http://169.254.169.254:@192.0.2.1/", &c, err, sizeof err),
	    TG_ERR_CONFIG);
	imds_stop(&m);
}
END_TEST

START_TEST(test_imds_no_role_and_bad_json)
{
	struct imds m = {0, NULL, ""};
	struct tg_aws_creds c;
	char err[512] = "";

	ck_assert_int_eq(imds_start(&m, "--no-role", NULL), 0);
	ck_assert_int_eq(tg_aws_creds_from_imds(m.endpoint, &c, err, sizeof err), TG_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err, "no IAM role"));
	imds_stop(&m);
	ck_assert_int_eq(imds_start(&m, "--bad-json", NULL), 0);
	ck_assert_int_eq(tg_aws_creds_from_imds(m.endpoint, &c, err, sizeof err), TG_ERR_PARSE);
	ck_assert_str_eq(c.access_key_id, "");
	imds_stop(&m);
}
END_TEST

/* Temporary credentials are cached while fresh and renewed before they expire. */
START_TEST(test_imds_refresh)
{
	struct imds m = {0, NULL, ""};
	struct tg_aws_creds_provider *p;
	struct tg_config *cfg;
	char err[256];
	int rc;

	clear_env();
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	ck_assert_int_eq(imds_start(&m, NULL, NULL), 0);
	{
		const char *kv[] = {"s3", "imds_endpoint", m.endpoint, NULL};

		cfg = config(kv);
	}
	ck_assert_int_eq(tg_aws_creds_provider_new(&p, cfg, err, sizeof err), TG_OK);
	ck_assert_str_eq(get_key(p, 0, &rc), "ASIATEST000001");
	ck_assert_str_eq(get_key(p, 0, &rc), "ASIATEST000001"); /* an hour left: cached */
	ck_assert_str_eq(get_key(p, 1, &rc), "ASIATEST000002"); /* forced, as after ExpiredToken */
	tg_aws_creds_provider_free(p);
	tg_config_free(cfg);
	imds_stop(&m);

	/* credentials that expire inside the refresh margin are renewed at each use */
	ck_assert_int_eq(imds_start(&m, "--expire-in", "120"), 0);
	{
		const char *kv[] = {"s3", "imds_endpoint", m.endpoint, NULL};

		cfg = config(kv);
	}
	ck_assert_int_eq(tg_aws_creds_provider_new(&p, cfg, err, sizeof err), TG_OK);
	ck_assert_str_eq(get_key(p, 0, &rc), "ASIATEST000001");
	ck_assert_str_eq(get_key(p, 0, &rc), "ASIATEST000002");
	/* instance metadata out of reach during that early renewal: the credentials, which
	 * have not expired yet, are used meanwhile; after ExpiredToken (forced) they are not */
	tg_test_pyserver_stop(&m.pid);
	ck_assert_str_eq(get_key(p, 0, &rc), "ASIATEST000002");
	ck_assert_int_eq(rc, TG_OK);
	ck_assert_str_eq(get_key(p, 0, &rc), "ASIATEST000002");
	get_key(p, 1, &rc);
	ck_assert_int_eq(rc, TG_ERR_NET);
	get_key(p, 0, &rc);
	ck_assert_int_eq(rc, TG_ERR_NET);
	tg_aws_creds_provider_free(p);
	tg_config_free(cfg);
	imds_stop(&m);
}
END_TEST

/* A profile named explicitly ([s3] profile or $AWS_PROFILE) that the credentials file lacks
 * is an error, never a silent switch to the instance role; the implicit default missing
 * goes on to instance metadata, as the AWS order says. */
START_TEST(test_named_profile_missing)
{
	struct imds m = {0, NULL, ""};
	struct tg_aws_creds_provider *p;
	struct tg_aws_creds c;
	struct tg_config *cfg;
	char *dir = tg_test_tmpdir(), path[4096], err[512];
	const char *file = "[default]\naws_access_key_id=AKIAFILEDEF\naws_secret_access_key=s1\n"
	                   "[ops]\nregion = eu-west-1\n";
	int rc;

	clear_env();
	snprintf(path, sizeof path, "%s/credentials", dir);
	write_file(path, file, strlen(file), 0600);
	ck_assert_int_eq(imds_start(&m, NULL, NULL), 0);
	{
		const char *kv[] = {"s3", "imds_endpoint",    m.endpoint, "s3", "profile", "opz",
		                    "s3", "credentials_file", path,       NULL};

		cfg = config(kv);
	}
	ck_assert_int_eq(tg_aws_creds_provider_new(&p, cfg, err, sizeof err), TG_OK);
	rc = tg_aws_creds_get(p, 0, &c, err, sizeof err);
	ck_assert_str_ne(c.access_key_id, "ASIATEST000001"); /* not the instance role */
	ck_assert_int_eq(rc, TG_ERR_CONFIG);
	ck_assert_int_eq(tg_aws_creds_get(p, 1, &(struct tg_aws_creds){0}, err, sizeof err),
	                 TG_ERR_CONFIG);
	ck_assert_msg(strstr(err, "profile [opz]") != NULL && strstr(err, path) != NULL, "%s", err);
	tg_aws_creds_provider_free(p);
	tg_config_free(cfg);
	/* a named profile without keys is no source either */
	{
		const char *kv[] = {"s3", "imds_endpoint",    m.endpoint, "s3", "profile", "ops",
		                    "s3", "credentials_file", path,       NULL};

		cfg = config(kv);
	}
	ck_assert_int_eq(tg_aws_creds_provider_new(&p, cfg, err, sizeof err), TG_OK);
	ck_assert_int_eq(tg_aws_creds_get(p, 0, &(struct tg_aws_creds){0}, err, sizeof err),
	                 TG_ERR_CONFIG);
	ck_assert_msg(strstr(err, "profile [ops]") != NULL, "%s", err);
	tg_aws_creds_provider_free(p);
	tg_config_free(cfg);
	/* $AWS_PROFILE, with the file missing */
	{
		const char *kv[] = {"s3", "imds_endpoint", m.endpoint, NULL};

		cfg = config(kv);
	}
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	setenv("AWS_PROFILE", "audit", 1);
	ck_assert_int_eq(tg_aws_creds_provider_new(&p, cfg, err, sizeof err), TG_OK);
	ck_assert_int_eq(tg_aws_creds_get(p, 0, &(struct tg_aws_creds){0}, err, sizeof err),
	                 TG_ERR_CONFIG);
	ck_assert_msg(strstr(err, "profile [audit]") != NULL &&
	                  strstr(err, "/nonexistent/credentials") != NULL,
	              "%s", err);
	/* the implicit default, missing with the file: instance metadata */
	unsetenv("AWS_PROFILE");
	ck_assert_str_eq(get_key(p, 1, &rc), "ASIATEST000001");
	tg_aws_creds_provider_free(p);
	tg_config_free(cfg);
	clear_env();
	imds_stop(&m);
	tg_test_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tg_aws_creds");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_env);
	tcase_add_test(tc, test_file_profiles);
	tcase_add_test(tc, test_file_hostile);
	tcase_add_test(tc, test_file_checks);
	tcase_add_test(tc, test_iso8601);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_file_in_use);
	tcase_add_test(tc, test_imds);
	tcase_add_test(tc, test_imds_no_role_and_bad_json);
	tcase_add_test(tc, test_imds_refresh);
	tcase_add_test(tc, test_named_profile_missing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (sodium_init() < 0)
		return 99;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return tg_test_run(suite());
}
