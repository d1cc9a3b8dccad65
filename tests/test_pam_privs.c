/* pam_module/privs.c: file access as the user, and back. */
#include "tg_test.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
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
	ck_assert_int_eq(tgp_privs_drop(&p, nobody), TG_OK);
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

/* A gid that is none of nobody's groups. */
static gid_t foreign_gid(const struct passwd *pw)
{
	gid_t groups[256], g;
	int n = 256, i, mine;

	ck_assert_int_ge(getgrouplist(pw->pw_name, pw->pw_gid, groups, &n), 0);
	for (g = 54321;; g++) {
		for (mine = 0, i = 0; i < n; i++)
			mine |= groups[i] == g;
		if (!mine)
			return g;
	}
}

/*
 * sshd's supplementary groups (root's) must not go along: a folder that only one of them
 * may enter is out of the user's reach, and so out of the module's while it acts as the
 * user. Back to them afterwards.
 */
START_TEST(supplementary_groups_dropped_and_restored)
{
	struct passwd *nobody = getpwnam("nobody");
	struct tgp_privs p = TGP_PRIVS_VOID;
	char *dir = tg_test_tmpdir(), sub[4096], path[4200];
	gid_t g = foreign_gid(nobody), now[64];
	int fd, n, i;

	ck_assert_int_eq(setgroups(1, &g), 0);
	ck_assert_int_eq(chmod(dir, 0711), 0);
	snprintf(sub, sizeof(sub), "%s/groupdir", dir);
	ck_assert_int_eq(mkdir(sub, 0710), 0);
	ck_assert_int_eq(chown(sub, 0, g), 0);
	ck_assert_int_eq(chmod(sub, 0710), 0);
	snprintf(path, sizeof(path), "%s/secret", sub);
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT, 0600), 0);
	close(fd);
	ck_assert_int_eq(chown(path, nobody->pw_uid, nobody->pw_gid), 0);

	ck_assert_int_eq(tgp_privs_drop(&p, nobody), TG_OK);
	ck_assert_int_ge(n = getgroups(64, now), 0);
	for (i = 0; i < n; i++)
		ck_assert_uint_ne(now[i], g);
	/* nobody's own file, in a folder only root's group may enter: nobody cannot reach it */
	fd = open(path, O_RDONLY);
	if (fd >= 0)
		close(fd);
	ck_assert_int_lt(fd, 0);
	ck_assert_int_eq(errno, EACCES);
	ck_assert_int_eq(tgp_privs_restore(&p), TG_OK);
	ck_assert_int_eq(getgroups(64, now), 1);
	ck_assert_uint_eq(now[0], g);
	ck_assert_int_eq(setfsuid(-1), 0);
	tg_test_rmtree(dir);
	free(dir);
}
END_TEST

/* Another thread acting as the user, as in a threaded PAM application. */
struct other_thread {
	pthread_barrier_t switched, checked;
	int dropped, restored;
};

static void *act_as_nobody(void *arg)
{
	struct other_thread *t = arg;
	struct tgp_privs p = TGP_PRIVS_VOID;

	t->dropped = tgp_privs_drop(&p, getpwnam("nobody"));
	pthread_barrier_wait(&t->switched);
	pthread_barrier_wait(&t->checked);
	t->restored = tgp_privs_restore(&p);
	return NULL;
}

/* Only the calling thread changes: the others keep their groups and fs ids meanwhile. */
START_TEST(other_threads_keep_their_groups)
{
	struct passwd *nobody = getpwnam("nobody");
	struct other_thread t;
	gid_t g = foreign_gid(nobody), now[64];
	pthread_t th;

	ck_assert_int_eq(setgroups(1, &g), 0);
	pthread_barrier_init(&t.switched, NULL, 2);
	pthread_barrier_init(&t.checked, NULL, 2);
	ck_assert_int_eq(pthread_create(&th, NULL, act_as_nobody, &t), 0);
	pthread_barrier_wait(&t.switched);
	ck_assert_int_eq(t.dropped, TG_OK);
	ck_assert_int_eq(getgroups(64, now), 1);
	ck_assert_uint_eq(now[0], g);
	ck_assert_int_eq(setfsuid(-1), 0);
	pthread_barrier_wait(&t.checked);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(t.restored, TG_OK);
}
END_TEST

START_TEST(no_op_for_root_target)
{
	struct tgp_privs p = TGP_PRIVS_VOID;
	struct passwd *root = getpwuid(0);

	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(tgp_privs_drop(&p, root), TG_OK);
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
	tcase_add_test(tc, supplementary_groups_dropped_and_restored);
	tcase_add_test(tc, other_threads_keep_their_groups);
	tcase_add_test(tc, no_op_for_root_target);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
