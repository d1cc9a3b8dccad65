#include "tg_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tg_buf.h"
#include "tg_error.h"
#include "tg_spool.h"

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

static int count_entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(dp);
	while ((e = readdir(dp)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

START_TEST(write_then_read)
{
	struct tg_buf b = TG_BUF_VOID;
	char path[4096];
	struct stat st;

	ck_assert_int_eq(tg_spool_write(dir, "a.json", "{\"x\":1}", 7, 0640), TG_OK);
	snprintf(path, sizeof(path), "%s/a.json", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0640);
	tg_buf_init(&b, 100);
	ck_assert_int_eq(tg_read_file(path, 100, &b), TG_OK);
	ck_assert_str_eq(tg_buf_str(&b), "{\"x\":1}");
	tg_buf_free(&b);
	/* replacing keeps exactly one file, with the new content */
	ck_assert_int_eq(tg_spool_write(dir, "a.json", "new", 3, 0600), TG_OK);
	tg_buf_init(&b, 100);
	ck_assert_int_eq(tg_read_file(path, 100, &b), TG_OK);
	ck_assert_str_eq(tg_buf_str(&b), "new");
	ck_assert_int_eq(count_entries(dir), 1);
	tg_buf_free(&b);
}
END_TEST

START_TEST(bad_names_refused)
{
	ck_assert_int_eq(tg_spool_write(dir, "../x", "a", 1, 0600), TG_ERR_INVALID);
	ck_assert_int_eq(tg_spool_write(dir, "", "a", 1, 0600), TG_ERR_INVALID);
	ck_assert_int_eq(tg_spool_write(dir, "..", "a", 1, 0600), TG_ERR_INVALID);
	ck_assert_int_eq(count_entries(dir), 0);
}
END_TEST

START_TEST(abort_leaves_nothing)
{
	struct tg_atomic a = TG_ATOMIC_VOID;

	ck_assert_int_eq(tg_atomic_open(&a, dir, "b", 0600), TG_OK);
	ck_assert_int_eq(tg_atomic_write(&a, "partial", 7), TG_OK);
	ck_assert_int_eq(count_entries(dir), 1);
	tg_atomic_abort(&a);
	tg_atomic_abort(&a);
	ck_assert_int_eq(count_entries(dir), 0);
}
END_TEST

/* A writer killed at any instant leaves the old content or the new, never a mix. */
START_TEST(kill_during_replace_keeps_old_or_new)
{
	char path[4096];
	static char big[256 * 1024];
	int round;

	snprintf(path, sizeof(path), "%s/state", dir);
	memset(big, 'N', sizeof(big));
	ck_assert_int_eq(tg_spool_write(dir, "state", "OLD", 3, 0600), TG_OK);
	for (round = 0; round < 20; round++) {
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			for (;;)
				tg_spool_write(dir, "state", big, sizeof(big), 0600);
		}
		usleep(1000 + (useconds_t)(round * 700));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);

		struct tg_buf b = TG_BUF_VOID;
		tg_buf_init(&b, sizeof(big));
		ck_assert_int_eq(tg_read_file(path, sizeof(big), &b), TG_OK);
		ck_assert(b.len == 3 || b.len == sizeof(big));
		if (b.len == sizeof(big))
			ck_assert(memcmp(b.data, big, sizeof(big)) == 0);
		else
			ck_assert(memcmp(b.data, "OLD", 3) == 0);
		tg_buf_free(&b);
	}
}
END_TEST

START_TEST(read_refuses_symlink_and_oversize)
{
	struct tg_buf b = TG_BUF_VOID;
	char path[4096], link[4096];

	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(link, sizeof(link), "%s/l", dir);
	ck_assert_int_eq(tg_spool_write(dir, "f", "0123456789", 10, 0600), TG_OK);
	ck_assert_int_eq(symlink(path, link), 0);
	tg_buf_init(&b, 100);
	ck_assert_int_eq(tg_read_file(link, 100, &b), TG_ERR_SYSTEM);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_int_eq(tg_read_file(path, 9, &b), TG_ERR_LIMIT);
	ck_assert_int_eq(tg_read_file(dir, 100, &b), TG_ERR_PERM); /* not a regular file */
	tg_buf_free(&b);
}
END_TEST

START_TEST(move_and_remove)
{
	char sub[4096], path[4096];
	struct stat st;

	snprintf(sub, sizeof(sub), "%s/x/y", dir);
	ck_assert_int_eq(tg_mkdir_p(sub, 0700), TG_OK);
	ck_assert_int_eq(tg_mkdir_p(sub, 0700), TG_OK);
	ck_assert_int_eq(tg_spool_write(dir, "m", "m", 1, 0600), TG_OK);
	ck_assert_int_eq(tg_spool_move(dir, "m", sub, "n"), TG_OK);
	snprintf(path, sizeof(path), "%s/n", sub);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(tg_spool_remove(sub, "n"), TG_OK);
	ck_assert_int_ne(stat(path, &st), 0);
	ck_assert_int_eq(tg_spool_remove(sub, "n"), TG_OK); /* already gone is fine */
	ck_assert(tg_spool_is_hidden(".tmp.123"));
	ck_assert(!tg_spool_is_hidden("abc.tgr"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tg_spool");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, write_then_read);
	tcase_add_test(tc, bad_names_refused);
	tcase_add_test(tc, abort_leaves_nothing);
	tcase_add_test(tc, kill_during_replace_keeps_old_or_new);
	tcase_add_test(tc, read_refuses_symlink_and_oversize);
	tcase_add_test(tc, move_and_remove);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
