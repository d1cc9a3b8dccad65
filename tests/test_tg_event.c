#include "tg_test.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <time.h>

#include "tg_error.h"
#include "tg_event.h"
#include "tg_spool.h"

static char *dir;

static void setup(void)
{
	char ev[4096];

	dir = tg_test_tmpdir();
	snprintf(ev, sizeof(ev), "%s/events", dir);
	ck_assert_int_eq(tg_mkdir_p(ev, 0750), TG_OK);
}

static void teardown(void)
{
	tg_test_rmtree(dir);
	free(dir);
}

START_TEST(write_and_read_back)
{
	char name[TG_EVENT_NAME_MAX], path[4096];
	json_t *ev = json_pack("{s:s, s:s}", "user", "alice", "client_addr", "203.0.113.5"), *back = NULL;
	struct stat st;

	ck_assert_int_eq(tg_event_write(dir, "login", ev, name, sizeof(name)), TG_OK);
	ck_assert_uint_eq(strlen(name), 20 + 1 + 16 + 5);
	snprintf(path, sizeof(path), "%s/events/%s", dir, name);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0640);
	ck_assert_int_eq(tg_event_read(path, &back), TG_OK);
	ck_assert_str_eq(json_string_value(json_object_get(back, "type")), "login");
	ck_assert_str_eq(json_string_value(json_object_get(back, "user")), "alice");
	ck_assert_int_eq(json_integer_value(json_object_get(back, "v")), 1);
	ck_assert(json_integer_value(json_object_get(back, "time_us")) > 1700000000000000LL);
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(back, "time"))), 27);
	json_decref(ev);
	json_decref(back);
}
END_TEST

/* A root writer (the PAM module) leaves the file readable by the folder's group (the audit user). */
START_TEST(file_takes_the_folder_group)
{
	char name[TG_EVENT_NAME_MAX], path[4096], evdir[4096];
	json_t *ev = json_object();
	struct stat st;

	if (geteuid() != 0) {
		json_decref(ev);
		return; /* only root can hand a file to another group */
	}
	snprintf(evdir, sizeof(evdir), "%s/events", dir);
	ck_assert_int_eq(chown(evdir, 0, 65534), 0);
	ck_assert_int_eq(chmod(evdir, 0750), 0); /* not set-group-id */
	ck_assert_int_eq(tg_event_write(dir, "login", ev, name, sizeof(name)), TG_OK);
	snprintf(path, sizeof(path), "%s/%s", evdir, name);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_gid, 65534);
	ck_assert_uint_eq(st.st_mode & 0777, 0640);
	json_decref(ev);
}
END_TEST

START_TEST(names_sort_by_time)
{
	char a[TG_EVENT_NAME_MAX], b[TG_EVENT_NAME_MAX];
	json_t *ev = json_object();

	ck_assert_int_eq(tg_event_write(dir, "login", ev, a, sizeof(a)), TG_OK);
	usleep(2000);
	ck_assert_int_eq(tg_event_write(dir, "logout", ev, b, sizeof(b)), TG_OK);
	ck_assert_int_lt(strcmp(a, b), 0);
	json_decref(ev);
}
END_TEST

START_TEST(read_rejects_bad_files)
{
	char path[4096];
	json_t *out = (json_t *)1;
	static char big[TG_EVENT_MAX_BYTES + 10];

	snprintf(path, sizeof(path), "%s/events/x.json", dir);
	ck_assert_int_eq(tg_spool_write(dir, "x.json", "[1,2]", 5, 0600), TG_OK);
	snprintf(path, sizeof(path), "%s/x.json", dir);
	ck_assert_int_eq(tg_event_read(path, &out), TG_ERR_PARSE);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(tg_spool_write(dir, "x.json", "{\"type\":1}", 10, 0600), TG_OK);
	ck_assert_int_eq(tg_event_read(path, &out), TG_ERR_PARSE);
	ck_assert_int_eq(tg_spool_write(dir, "x.json", "{\"type\":\"a\",\"type\":\"b\"}", 23, 0600), TG_OK);
	ck_assert_int_eq(tg_event_read(path, &out), TG_ERR_PARSE);
	memset(big, ' ', sizeof(big));
	ck_assert_int_eq(tg_spool_write(dir, "x.json", big, sizeof(big), 0600), TG_OK);
	ck_assert_int_eq(tg_event_read(path, &out), TG_ERR_LIMIT);
	ck_assert_int_eq(tg_event_write(dir, NULL, NULL, NULL, 0), TG_ERR_INVALID);
}
END_TEST

/* Files in a folder, "." and ".." aside. */
static int files_in(const char *path)
{
	struct dirent *e;
	DIR *d;
	int n = 0;

	ck_assert_ptr_nonnull(d = opendir(path));
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/*
 * events/ belongs to the audit user, who could swap it for a symlink and have
 * root (the PAM module) write its files anywhere: a symlink is refused, at
 * events/ and at the spool folder itself, and nothing lands at its target.
 */
START_TEST(symlinked_folders_refused)
{
	char evdir[4096], target[4096], link[4096], withslash[4200];
	json_t *ev = json_object();

	snprintf(evdir, sizeof(evdir), "%s/events", dir);
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	ck_assert_int_eq(mkdir(target, 0750), 0);
	ck_assert_int_eq(rmdir(evdir), 0);
	ck_assert_int_eq(symlink(target, evdir), 0);
	errno = 0;
	ck_assert_int_eq(tg_event_write(dir, "login", ev, NULL, 0), TG_ERR_PERM);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_int_eq(files_in(target), 0);
	/* the spool folder a symlink (to a folder with a real events/ in it) */
	ck_assert_int_eq(unlink(evdir), 0);
	ck_assert_int_eq(rename(target, evdir), 0);
	snprintf(link, sizeof(link), "%s/spool-link", dir);
	ck_assert_int_eq(symlink(dir, link), 0);
	ck_assert_int_eq(tg_event_write(link, "login", ev, NULL, 0), TG_ERR_PERM);
	snprintf(withslash, sizeof(withslash), "%s/", link);
	ck_assert_int_eq(tg_event_write(withslash, "login", ev, NULL, 0), TG_ERR_PERM);
	ck_assert_int_eq(files_in(evdir), 0);
	/* the real folders still work, with or without a trailing slash */
	ck_assert_int_eq(tg_event_write(dir, "login", ev, NULL, 0), TG_OK);
	snprintf(withslash, sizeof(withslash), "%s/", dir);
	ck_assert_int_eq(tg_event_write(withslash, "login", ev, NULL, 0), TG_OK);
	ck_assert_int_eq(files_in(evdir), 2);
	json_decref(ev);
}
END_TEST

START_TEST(time_and_hex_format)
{
	char buf[40], hex[9];
	const unsigned char b[4] = {0x00, 0xff, 0x12, 0xab};

	tg_time_format(1764378561123456ULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2025-11-29T01:09:21.123456Z");
	tg_hex(b, 4, hex);
	ck_assert_str_eq(hex, "00ff12ab");
}
END_TEST

/* intervals are on the boot clock, which goes on while the host is suspended (where
 * CLOCK_MONOTONIC stops) and which an NTP step does not move */
START_TEST(intervals_on_the_boot_clock)
{
	struct timespec a, b;
	uint64_t t;

	ck_assert_int_eq(clock_gettime(CLOCK_BOOTTIME, &a), 0);
	t = tg_mono_us();
	ck_assert_int_eq(clock_gettime(CLOCK_BOOTTIME, &b), 0);
	ck_assert_uint_ge(t, (uint64_t)a.tv_sec * 1000000u + (uint64_t)a.tv_nsec / 1000u);
	ck_assert_uint_le(t, (uint64_t)b.tv_sec * 1000000u + (uint64_t)b.tv_nsec / 1000u);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tg_event");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, write_and_read_back);
	tcase_add_test(tc, names_sort_by_time);
	tcase_add_test(tc, file_takes_the_folder_group);
	tcase_add_test(tc, read_rejects_bad_files);
	tcase_add_test(tc, symlinked_folders_refused);
	tcase_add_test(tc, time_and_hex_format);
	tcase_add_test(tc, intervals_on_the_boot_clock);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
