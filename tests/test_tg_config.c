#include "tg_test.h"

#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tg_config.h"
#include "tg_error.h"
#include "tg_spool.h"

static struct tg_config *cfg;
static char err[512];

static void setup(void)
{
	ck_assert_int_eq(tg_config_new(&cfg), TG_OK);
	err[0] = '\0';
}

static void teardown(void)
{
	tg_config_free(cfg);
}

static int parse(const char *text)
{
	return tg_config_parse(cfg, "t.conf", text, strlen(text), err, sizeof(err));
}

START_TEST(defaults_are_valid)
{
	int i;

	for (i = 0; i < TG_CONF_COUNT; i++) {
		ck_assert_msg(tg_config_set(cfg, (enum tg_conf_id)i, tg_conf_keys[i].def, err, sizeof(err)) == TG_OK,
			      "default of %s.%s: %s", tg_conf_keys[i].section, tg_conf_keys[i].key, err);
		ck_assert_ptr_nonnull(tg_conf_keys[i].help);
		ck_assert_ptr_nonnull(tg_conf_keys[i].readers);
	}
	ck_assert_str_eq(tg_config_str(cfg, TG_CONF_RECORDER_SHELL), "/bin/bash");
	ck_assert_uint_eq(tg_config_uint(cfg, TG_CONF_PAM_DIGITS), 6);
	ck_assert_uint_eq(tg_config_uint(cfg, TG_CONF_UPLOADER_PART_SIZE), 8 * 1024 * 1024);
	ck_assert_int_eq(tg_config_bool(cfg, TG_CONF_PAM_NULLOK), 0);
}
END_TEST

START_TEST(parses_sections_comments_and_types)
{
	ck_assert_int_eq(parse("# comment\n\n[pam]\ndigits = 8   # trailing\nnullok=yes\n"
			       "[s3]\r\nbucket = audit-logs\r\nendpoint = http://127.0.0.1:9000\n"
			       "[slack]\nwebhook_url = https://hooks.example/T#frag\n"
			       "[uploader]\npart_size = 16M\n"),
			 TG_OK);
	ck_assert_uint_eq(tg_config_uint(cfg, TG_CONF_PAM_DIGITS), 8);
	ck_assert_int_eq(tg_config_bool(cfg, TG_CONF_PAM_NULLOK), 1);
	ck_assert_str_eq(tg_config_str(cfg, TG_CONF_S3_BUCKET), "audit-logs");
	ck_assert_str_eq(tg_config_str(cfg, TG_CONF_S3_ENDPOINT), "http://127.0.0.1:9000");
	ck_assert_str_eq(tg_config_str(cfg, TG_CONF_SLACK_WEBHOOK_URL), "https://hooks.example/T#frag");
	ck_assert_uint_eq(tg_config_uint(cfg, TG_CONF_UPLOADER_PART_SIZE), 16 * 1024 * 1024);
	ck_assert(tg_config_is_set(cfg, TG_CONF_S3_BUCKET));
	ck_assert(!tg_config_is_set(cfg, TG_CONF_S3_REGION));
}
END_TEST

/* Blanks around a value are dropped; a value in double quotes keeps them (prompt = "Code: "). */
START_TEST(quoted_values_keep_their_blanks)
{
	ck_assert_int_eq(parse("[pam]\nprompt = \"Code: \"\n"), TG_OK);
	ck_assert_str_eq(tg_config_str(cfg, TG_CONF_PAM_PROMPT), "Code: ");
	/* a '#' inside the quotes is the value's; a comment may follow them */
	ck_assert_int_eq(parse("[pam]\nprompt = \" Code # 1: \"  # the prompt\n"), TG_OK);
	ck_assert_str_eq(tg_config_str(cfg, TG_CONF_PAM_PROMPT), " Code # 1: ");
	ck_assert_int_eq(parse("[general]\nhostname = \"\"\n"), TG_OK);
	ck_assert_str_eq(tg_config_str(cfg, TG_CONF_GENERAL_HOSTNAME), "");
	/* unquoted, as before: blanks dropped, quotes inside kept */
	ck_assert_int_eq(parse("[pam]\nprompt = Code:  \n"), TG_OK);
	ck_assert_str_eq(tg_config_str(cfg, TG_CONF_PAM_PROMPT), "Code:");
	ck_assert_int_eq(parse("[pam]\nprompt = say \"hi\"\n"), TG_OK);
	ck_assert_str_eq(tg_config_str(cfg, TG_CONF_PAM_PROMPT), "say \"hi\"");
	/* a quote left open, or text after the closing one, is a mistake to hear of */
	ck_assert_int_eq(parse("[pam]\nprompt = \"Code: \n"), TG_ERR_PARSE);
	ck_assert_str_eq(err, "t.conf:2: the value of \"prompt\" has no closing quote");
	ck_assert_int_eq(parse("[pam]\nprompt = \"Code\": x\n"), TG_ERR_PARSE);
	ck_assert_str_eq(err, "t.conf:2: text after the closing quote of \"prompt\"");
}
END_TEST

/* a comment after a header is one, as after a value: "[pam]  # MFA" */
START_TEST(comment_after_header)
{
	ck_assert_int_eq(parse("[pam] # MFA\ndigits = 8\n[uploader]\t; S3\n"), TG_OK);
	ck_assert_uint_eq(tg_config_uint(cfg, TG_CONF_PAM_DIGITS), 8);
}
END_TEST

START_TEST(errors_name_file_and_line)
{
	ck_assert_int_eq(parse("[pam]\ndigits = 6\nbogus = 1\n"), TG_ERR_PARSE);
	ck_assert_str_eq(err, "t.conf:3: unknown key \"bogus\" in [pam]");
	ck_assert_int_eq(parse("[pam]\ndigits = 6\n\ndigits = 8\n"), TG_ERR_PARSE);
	ck_assert_str_eq(err, "t.conf:4: duplicate key \"digits\" in [pam]");
	ck_assert_int_eq(parse("[pam]\njust words\n"), TG_ERR_PARSE);
	ck_assert_str_eq(err, "t.conf:2: expected \"key = value\"");
	ck_assert_int_eq(parse("[pam\n"), TG_ERR_PARSE);
	ck_assert_str_eq(err, "t.conf:1: malformed section header");
	ck_assert_int_eq(parse("[pam] digits = 6\n"), TG_ERR_PARSE);
	ck_assert_str_eq(err, "t.conf:1: malformed section header");
	ck_assert_int_eq(parse("digits = 6\n"), TG_ERR_PARSE);
	ck_assert_str_eq(err, "t.conf:1: key \"digits\" outside any [section]");
	ck_assert_int_eq(parse("[nosuch]\nx = 1\n"), TG_ERR_PARSE);
	ck_assert_str_eq(err, "t.conf:1: unknown section [nosuch]");
	/* refused with no keys under it too: a misspelt [uploder] would otherwise pass */
	ck_assert_int_eq(parse("[pam]\ndigits = 6\n[uploder]\n"), TG_ERR_PARSE);
	ck_assert_str_eq(err, "t.conf:3: unknown section [uploder]");
	ck_assert_int_eq(parse("[pam]\ndigits = 9\n"), TG_ERR_PARSE);
	ck_assert_str_eq(err, "t.conf:2: pam.digits must be between 6 and 8, not 9");
	ck_assert_int_eq(parse("[pam]\nnullok = maybe\n"), TG_ERR_PARSE);
	ck_assert_int_eq(parse("[s3]\nsse = rot13\n"), TG_ERR_PARSE);
	ck_assert_int_eq(parse("[pam]\ndigits = 99999999999999999999999\n"), TG_ERR_PARSE);
	ck_assert_int_eq(parse("[pam]\ndigits = -6\n"), TG_ERR_PARSE);
	/* a rate cap the cap's arithmetic (rate times microseconds) would overflow on */
	ck_assert_int_eq(parse("[recorder]\nmax_rate = 1025G\n"), TG_ERR_PARSE);
	ck_assert_int_eq(parse("[recorder]\nmax_rate = 1024G\n"), TG_OK);
	ck_assert_uint_eq(tg_config_uint(cfg, TG_CONF_RECORDER_MAX_RATE), 1024ULL << 30);
	/* nothing of a bad file is applied */
	ck_assert_int_eq(parse("[pam]\ndigits = 8\nbogus = 1\n"), TG_ERR_PARSE);
	ck_assert_uint_eq(tg_config_uint(cfg, TG_CONF_PAM_DIGITS), 6);
}
END_TEST

/* The host name goes into every recording's header, which a reader takes up to 255 bytes of
 * text: a longer one, bytes that are not UTF-8, or a control character are refused here. */
START_TEST(hostname_checked)
{
	char conf[1024], name[300];

	ck_assert_int_eq(parse("[general]\nhostname = web-1.example.com\n"), TG_OK);
	ck_assert_int_eq(parse("[general]\nhostname = h\xc3\xb4te-1\n"), TG_OK);
	memset(name, 'a', 255);
	name[255] = '\0';
	snprintf(conf, sizeof(conf), "[general]\nhostname = %s\n", name);
	ck_assert_int_eq(parse(conf), TG_OK);
	/* 253 bytes and a 3-byte character: 256 */
	memcpy(name + 253, "\xe2\x82\xac", 4);
	snprintf(conf, sizeof(conf), "[general]\nhostname = %s\n", name);
	ck_assert_int_eq(parse(conf), TG_ERR_PARSE);
	ck_assert_str_eq(err, "t.conf:2: general.hostname must be at most 255 bytes of UTF-8 text "
	                      "without control characters");
	ck_assert_int_eq(parse("[general]\nhostname = caf\xe9\n"), TG_ERR_PARSE); /* Latin-1 */
	ck_assert_int_eq(parse("[general]\nhostname = a\x1b[2Jb\n"), TG_ERR_PARSE);
	ck_assert_int_eq(parse("[general]\nhostname = a\xc2\x9b"
	                       "2Jb\n"),
	                 TG_ERR_PARSE); /* C1 CSI */
	ck_assert_uint_eq(strlen(tg_config_str(cfg, TG_CONF_GENERAL_HOSTNAME)), 255); /* kept */
}
END_TEST

/* The kernel's name, used when hostname is empty, is root's to set, but to any bytes: one that
 * the configured name's check would refuse is not used (the caller falls back). Set in a UTS
 * namespace of the test's own, so the machine's name is untouched. */
START_TEST(hostname_from_kernel_checked)
{
	static const char *const bad[] = {"a\x01"
	                                  "b",
	                                  "caf\xe9",
	                                  "a\xc2\x9b"
	                                  "b",
	                                  "a\x7f", ""};
	char buf[TG_CONFIG_HOSTNAME_MAX + 1], small[4];
	size_t i;

	ck_assert_int_eq(tg_config_hostname("web-1", buf, sizeof(buf)), TG_OK);
	ck_assert_str_eq(buf, "web-1");
	ck_assert_int_eq(tg_config_hostname("web-1", small, sizeof(small)), TG_ERR_LIMIT);
	ck_assert_str_eq(small, "");
	if (geteuid() != 0 || unshare(CLONE_NEWUTS) != 0) {
		fprintf(stderr,
		        "SKIP hostname_from_kernel_checked: needs root, for a UTS namespace of "
		        "its own\n");
		return;
	}
	ck_assert_int_eq(sethostname("h\xc3\xb4te-1", 7), 0);
	ck_assert_int_eq(tg_config_hostname("", buf, sizeof(buf)), TG_OK);
	ck_assert_str_eq(buf, "h\xc3\xb4te-1");
	ck_assert_int_eq(tg_config_hostname(NULL, buf, sizeof(buf)), TG_OK);
	ck_assert_str_eq(buf, "h\xc3\xb4te-1");
	ck_assert_int_eq(tg_config_hostname(NULL, small, sizeof(small)), TG_ERR_LIMIT);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(sethostname(bad[i], strlen(bad[i])), 0);
		memset(buf, 'x', sizeof(buf));
		ck_assert_int_eq(tg_config_hostname("", buf, sizeof(buf)), TG_ERR_INVALID);
		ck_assert_str_eq(buf, "");
		/* a configured name does not ask the kernel */
		ck_assert_int_eq(tg_config_hostname("web-1", buf, sizeof(buf)), TG_OK);
		ck_assert_str_eq(buf, "web-1");
	}
}
END_TEST

START_TEST(values_and_lines_are_capped)
{
	size_t n = TG_CONFIG_MAX_VALUE + 20;
	char *text = malloc(n + 64);

	strcpy(text, "[s3]\nbucket = ");
	memset(text + strlen(text), 'a', TG_CONFIG_MAX_VALUE + 1);
	text[14 + TG_CONFIG_MAX_VALUE + 1] = '\0';
	ck_assert_int_eq(parse(text), TG_ERR_LIMIT);
	ck_assert_ptr_nonnull(strstr(err, "t.conf:2:"));
	ck_assert_ptr_nonnull(strstr(err, "longer than"));
	free(text);
	ck_assert_int_eq(tg_config_parse(cfg, "t.conf", "[s3]\0x", 6, err, sizeof(err)), TG_ERR_PARSE);
}
END_TEST

START_TEST(load_checks_owner_and_mode)
{
	char *dir = tg_test_tmpdir(), path[4096];
	const char *text = "[s3]\nbucket = b\n";

	snprintf(path, sizeof(path), "%s/tollgate.conf", dir);
	ck_assert_int_eq(tg_spool_write(dir, "tollgate.conf", text, strlen(text), 0644), TG_OK);
	if (getuid() == 0) {
		ck_assert_int_eq(tg_config_load(cfg, path, 0, err, sizeof(err)), TG_OK);
		ck_assert_str_eq(tg_config_str(cfg, TG_CONF_S3_BUCKET), "b");
		ck_assert_int_eq(chown(path, 65534, 65534), 0);
		ck_assert_int_eq(tg_config_load(cfg, path, 0, err, sizeof(err)), TG_ERR_PERM);
		ck_assert_ptr_nonnull(strstr(err, "not by root"));
		ck_assert_int_eq(chown(path, 0, 0), 0);
	} else {
		ck_assert_int_eq(tg_config_load(cfg, path, 0, err, sizeof(err)), TG_ERR_PERM);
		ck_assert_int_eq(tg_config_load(cfg, path, TG_CONFIG_OWNER_SELF, err, sizeof(err)), TG_OK);
	}
	ck_assert_int_eq(chmod(path, 0664), 0);
	ck_assert_int_eq(tg_config_load(cfg, path, TG_CONFIG_OWNER_SELF, err, sizeof(err)), TG_ERR_PERM);
	ck_assert_ptr_nonnull(strstr(err, "writable by group"));
	ck_assert_int_eq(chmod(path, 0646), 0);
	ck_assert_int_eq(tg_config_load(cfg, path, TG_CONFIG_OWNER_SELF, err, sizeof(err)), TG_ERR_PERM);
	ck_assert_ptr_nonnull(strstr(err, "writable by others"));
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(tg_config_load(cfg, path, 0, err, sizeof(err)), TG_ERR_NOT_FOUND);
	ck_assert_int_eq(tg_config_load(cfg, path, TG_CONFIG_MISSING_OK, err, sizeof(err)), TG_OK);
	/* a symlink is refused: the config path is trusted, its target may not be */
	ck_assert_int_eq(symlink("/etc/hostname", path), 0);
	ck_assert_int_ne(tg_config_load(cfg, path, TG_CONFIG_NO_OWNER_CHECK, err, sizeof(err)), TG_OK);
	tg_test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(choices_match_whole_words)
{
	ck_assert(tg_config_choice_ok("deny|allow", "deny"));
	ck_assert(tg_config_choice_ok("deny|allow", "allow"));
	ck_assert(tg_config_choice_ok("x", "x"));
	ck_assert(!tg_config_choice_ok("deny|allow", "den"));
	ck_assert(!tg_config_choice_ok("deny|allow", "allowx"));
	ck_assert(!tg_config_choice_ok("deny|allow", "deny|allow"));
	ck_assert(!tg_config_choice_ok("deny|allow", ""));
	ck_assert(tg_config_choice_ok("a||b", "")); /* an empty choice is a choice */
}
END_TEST

START_TEST(set_overrides_and_lookup)
{
	enum tg_conf_id id;

	ck_assert_int_eq(tg_config_lookup("pam", "window", &id), TG_OK);
	ck_assert_int_eq(id, TG_CONF_PAM_WINDOW);
	ck_assert_int_eq(tg_config_lookup("pam", "nope", &id), TG_ERR_NOT_FOUND);
	ck_assert_int_eq(tg_config_set(cfg, TG_CONF_PAM_WINDOW, "3", err, sizeof(err)), TG_OK);
	ck_assert_uint_eq(tg_config_uint(cfg, TG_CONF_PAM_WINDOW), 3);
	ck_assert_int_eq(tg_config_set(cfg, TG_CONF_PAM_WINDOW, "11", err, sizeof(err)), TG_ERR_PARSE);
	ck_assert_uint_eq(tg_config_uint(cfg, TG_CONF_PAM_WINDOW), 3);
}
END_TEST

/* A forked child about to become another user wipes the values in place: none is left to read. */
START_TEST(wipe_leaves_no_value)
{
	const char *v;

	ck_assert_int_eq(tg_config_set(cfg, TG_CONF_SLACK_WEBHOOK_URL,
	                               "https://hooks.slack.com/services/T/B/secret", err,
	                               sizeof(err)),
	                 TG_OK);
	v = tg_config_str(cfg, TG_CONF_SLACK_WEBHOOK_URL);
	tg_config_wipe(cfg);
	ck_assert_ptr_eq(tg_config_str(cfg, TG_CONF_SLACK_WEBHOOK_URL),
	                 v); /* in place, not freed */
	ck_assert_str_eq(v, "");
	tg_config_wipe(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tg_config");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults_are_valid);
	tcase_add_test(tc, parses_sections_comments_and_types);
	tcase_add_test(tc, quoted_values_keep_their_blanks);
	tcase_add_test(tc, errors_name_file_and_line);
	tcase_add_test(tc, hostname_checked);
	tcase_add_test(tc, comment_after_header);
	tcase_add_test(tc, hostname_from_kernel_checked);
	tcase_add_test(tc, values_and_lines_are_capped);
	tcase_add_test(tc, load_checks_owner_and_mode);
	tcase_add_test(tc, set_overrides_and_lookup);
	tcase_add_test(tc, choices_match_whole_words);
	tcase_add_test(tc, wipe_leaves_no_value);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
