/* pam_module/privs.c: file access as the user, and back. */
#include "tg_test.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <sys/stat.h>

#include "privs.h"
#include "tg_error.h"

START_TEST(drop_and_restore)
{
	struct passwd *nobody = getpwnam("nobody");
	struct tgp_privs p = TGP_PRIVS_VOID;
	char *dir = tg_test_tmpdir(), path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/secret", dir);
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT, 0600), 0);
	close(fd);
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(tgp_privs_drop(&p, nobody->pw_uid, nobody->pw_gid), TG_OK);
	ck_assert_int_eq(setfsuid(-1), (int)nobody->pw_uid);
	/* root's file is out of reach: the capability that bypasses the check is gone */
	ck_assert_int_lt(open(path, O_RDONLY), 0);
	ck_assert_int_eq(errno, EACCES);
	ck_assert_int_eq(tgp_privs_restore(&p), TG_OK);
	ck_assert_int_eq(setfsuid(-1), 0);
	ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
	close(fd);
	ck_assert_int_eq(tgp_privs_restore(&p), TG_OK); /* twice is harmless */
	tg_test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(no_op_for_root_target)
{
	struct tgp_privs p = TGP_PRIVS_VOID;

	ck_assert_int_eq(tgp_privs_drop(&p, 0, 0), TG_OK);
	ck_assert_int_eq(p.switched, 0);
	ck_assert_int_eq(tgp_privs_restore(&p), TG_OK);
}
END_TEST

int main(void)
{
	Suite *s;
	TCase *tc;

	if (geteuid() != 0 || getpwnam("nobody") == NULL) {
		printf("SKIP: needs root (and user nobody) to switch file-system ids\n");
		return 77;
	}
	s = suite_create("pam privs");
	tc = tcase_create("core");
	tcase_add_test(tc, drop_and_restore);
	tcase_add_test(tc, no_op_for_root_target);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
