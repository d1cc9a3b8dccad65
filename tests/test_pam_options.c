/* pam_module/options.c: defaults, then the file, then the arguments; every error reported. */
#include "tg_test.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "options.h"
#include "tg_error.h"

static char *dir;

static void setup(void)
{
	dir = tg_test_tmpdir();
}

static void teardown(void)
{
	tg_test_rmtree(dir);
	free(dir);
}

static void conf(const char *text, char *arg, size_t n)
{
	char p[4096];
	int fd;

	snprintf(p, sizeof(p), "%s/tollgate.conf", dir);
	ck_assert_int_ge(fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	snprintf(arg, n, "config=%s", p);
}

START_TEST(file_then_arguments)
{
	struct tgp_opts o = TGP_OPTS_VOID;
	char cfg[4200], err[256];
	const char *argv[] = {"digits=8",
	                      cfg,
	                      "nullok",
	                      "debug",
	                      "try_first_pass",
	                      "forward_pass",
	                      "spool_dir=/tmp/spool",
	                      "prompt=Code please: "};

	conf("[pam]\ndigits = 7\nwindow = 3\nexempt_group = ops\n", cfg, sizeof(cfg));
	ck_assert_int_eq(tgp_opts_load(&o, 8, argv, err, sizeof(err)), TG_OK);
	ck_assert_uint_eq(tg_config_uint(o.cfg, TG_CONF_PAM_DIGITS), 8);
	ck_assert_uint_eq(tg_config_uint(o.cfg, TG_CONF_PAM_WINDOW), 3);
	ck_assert_str_eq(tg_config_str(o.cfg, TG_CONF_PAM_EXEMPT_GROUP), "ops");
	ck_assert(tg_config_bool(o.cfg, TG_CONF_PAM_NULLOK));
	ck_assert(o.debug && o.try_first_pass && o.forward_pass);
	ck_assert_str_eq(tg_config_str(o.cfg, TG_CONF_GENERAL_SPOOL_DIR), "/tmp/spool");
	ck_assert_str_eq(tg_config_str(o.cfg, TG_CONF_PAM_PROMPT), "Code please: ");
	tgp_opts_free(&o);
	tgp_opts_free(&o);
}
END_TEST

START_TEST(errors_fail)
{
	struct tgp_opts o = TGP_OPTS_VOID;
	char cfg[4200], err[256];
	const char *unknown[] = {"no_such_option"};
	const char *range[] = {"digits=9"};
	const char *noval[] = {"window"};
	const char *missing[] = {"config=/nonexistent/tollgate.conf"};
	const char *bad[] = {cfg};

	ck_assert_int_ne(tgp_opts_load(&o, 1, unknown, err, sizeof(err)), TG_OK);
	ck_assert_ptr_nonnull(strstr(err, "no_such_option"));
	ck_assert_ptr_null(o.cfg);
	/* a flag given a value is not an "unknown argument": the admin's debug=yes is known */
	{
		const char *flags[] = {"debug=yes", "try_first_pass=1", "forward_pass="};
		char want[128];
		int i;

		for (i = 0; i < 3; i++) {
			ck_assert_int_ne(tgp_opts_load(&o, 1, &flags[i], err, sizeof(err)), TG_OK);
			snprintf(want, sizeof(want), "argument \"%.*s\" takes no value",
			         (int)strcspn(flags[i], "="), flags[i]);
			ck_assert_msg(strstr(err, want) != NULL, "%s: %s", flags[i], err);
			ck_assert_ptr_null(o.cfg);
		}
	}
	ck_assert_int_ne(tgp_opts_load(&o, 1, range, err, sizeof(err)), TG_OK);
	ck_assert_int_ne(tgp_opts_load(&o, 1, noval, err, sizeof(err)), TG_OK);
	ck_assert_int_ne(tgp_opts_load(&o, 1, missing, err, sizeof(err)), TG_OK);
	conf("[pam]\nnullok = perhaps\n", cfg, sizeof(cfg));
	ck_assert_int_ne(tgp_opts_load(&o, 1, bad, err, sizeof(err)), TG_OK);
	ck_assert_ptr_nonnull(strstr(err, "tollgate.conf"));
	conf("[pam]\nmystery = 1\n", cfg, sizeof(cfg));
	ck_assert_int_ne(tgp_opts_load(&o, 1, bad, err, sizeof(err)), TG_OK);
}
END_TEST

START_TEST(defaults)
{
	struct tgp_opts o = TGP_OPTS_VOID;
	char cfg[4200], err[256];
	const char *argv[] = {cfg};

	conf("", cfg, sizeof(cfg));
	ck_assert_int_eq(tgp_opts_load(&o, 1, argv, err, sizeof(err)), TG_OK);
	ck_assert_uint_eq(tg_config_uint(o.cfg, TG_CONF_PAM_DIGITS), 6);
	ck_assert_uint_eq(tg_config_uint(o.cfg, TG_CONF_PAM_WINDOW), 1);
	ck_assert(!tg_config_bool(o.cfg, TG_CONF_PAM_NULLOK));
	ck_assert_str_eq(tg_config_str(o.cfg, TG_CONF_PAM_PROMPT), "Verification code: ");
	ck_assert_str_eq(tg_config_str(o.cfg, TG_CONF_PAM_SECRET), "");
	ck_assert(!o.debug && !o.try_first_pass && !o.forward_pass);
	tgp_opts_free(&o);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pam options");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, file_then_arguments);
	tcase_add_test(tc, errors_fail);
	tcase_add_test(tc, defaults);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
