/* pam_module/secret_store.c: sealed, bound to the user, owner-only, fail closed. */
#include "tg_test.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "secret_store.h"
#include "tg_error.h"

static char *dir;

static void setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	dir = tg_test_tmpdir();
}

static void teardown(void)
{
	tg_test_rmtree(dir);
	free(dir);
}

static struct tgp_secret *sample(void)
{
	struct tgp_secret *s = tgp_secret_new();
	char codes[TGP_SCRATCH_NEW][TGP_SCRATCH_DIGITS + 1];

	ck_assert_ptr_nonnull(s);
	s->totp.alg = TGP_ALG_SHA256;
	s->totp.digits = 8;
	s->totp.step = 30;
	s->totp.keylen = 32;
	randombytes_buf(s->totp.key, 32);
	ck_assert_int_eq(tgp_scratch_generate(&s->scratch, TGP_SCRATCH_NEW, codes), TG_OK);
	return s;
}

static void path(char *out, size_t n, const char *tail)
{
	snprintf(out, n, "%s/%s", dir, tail);
}

/* Locked kB of this process (VmLck in /proc/self/status). */
static long locked_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* A secret's pages are its own and locked while it lives: two secrets, freed one by one,
 * unlock one page each (freeing one must not unlock the other's). */
START_TEST(secrets_locked_apart)
{
	struct tgp_secret *a, *b;
	struct rlimit rl;
	long before, page_kb = sysconf(_SC_PAGESIZE) / 1024;

	before = locked_kb();
	ck_assert_ptr_nonnull(a = tgp_secret_new());
	ck_assert_ptr_nonnull(b = tgp_secret_new());
	ck_assert_uint_eq((uintptr_t)a % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
	ck_assert_uint_eq((uintptr_t)b % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
	ck_assert_int_eq(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
#ifdef __SANITIZE_ADDRESS__
	if (1) { /* AddressSanitizer turns mlock into a no-op */
#else
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 1024 * 1024 && geteuid() != 0) {
#endif
		fprintf(stderr,
		        "secrets_locked_apart: locking not checked (AddressSanitizer build, "
		        "or RLIMIT_MEMLOCK too small for a non-root user)\n");
		tgp_secret_free(a);
		tgp_secret_free(b);
		return;
	}
	ck_assert_int_ge(locked_kb(), before + 2 * page_kb);
	tgp_secret_free(a);
	ck_assert_int_ge(locked_kb(), before + page_kb);
	tgp_secret_free(b);
	ck_assert_int_eq(locked_kb(), before);
}
END_TEST

START_TEST(seal_open_round_trip)
{
	struct tgp_secret *s = sample(), *back = tgp_secret_new();
	unsigned char key[32], buf[TGP_STORE_MAX];
	size_t len;

	crypto_secretbox_keygen(key);
	ck_assert_int_eq(tgp_store_seal(key, "alice", s, buf, sizeof(buf), &len), TG_OK);
	ck_assert_int_eq(tgp_store_open(key, "alice", buf, len, back), TG_OK);
	ck_assert_int_eq(back->totp.alg, TGP_ALG_SHA256);
	ck_assert_uint_eq(back->totp.digits, 8);
	ck_assert_uint_eq(back->totp.keylen, 32);
	ck_assert(memcmp(back->totp.key, s->totp.key, 32) == 0);
	ck_assert_uint_eq(back->scratch.n, 10);
	ck_assert(memcmp(&back->scratch, &s->scratch, sizeof(s->scratch)) == 0);
	/* bound to the name it was sealed for */
	ck_assert_int_eq(tgp_store_open(key, "bob", buf, len, back), TG_ERR_FORMAT);
	/* any flipped bit is refused */
	buf[len - 1] ^= 1;
	ck_assert_int_eq(tgp_store_open(key, "alice", buf, len, back), TG_ERR_CRYPTO);
	buf[len - 1] ^= 1;
	key[0] ^= 1;
	ck_assert_int_eq(tgp_store_open(key, "alice", buf, len, back), TG_ERR_CRYPTO);
	ck_assert_int_eq(tgp_store_open(key, "alice", buf, 10, back), TG_ERR_FORMAT);
	tgp_secret_free(s);
	tgp_secret_free(back);
}
END_TEST

START_TEST(write_read_remove)
{
	struct tgp_secret *s = sample(), *back = tgp_secret_new();
	char p[4096], state[4096];
	struct stat st;

	path(state, sizeof(state), "lib");
	/* no store at all is a broken setup, not "nobody enrolled" */
	ck_assert_int_eq(tgp_store_read(state, "alice", back), TG_ERR_CONFIG);
	ck_assert_int_eq(mkdir(state, 0700), 0);
	ck_assert_int_eq(tgp_store_read(state, "alice", back), TG_ERR_CONFIG);
	ck_assert_int_eq(tgp_store_write(state, "alice", s), TG_OK);
	ck_assert(tgp_store_exists(state, "alice"));
	path(p, sizeof(p), "lib/store.key");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(st.st_size, 32);
	path(p, sizeof(p), "lib/totp/alice");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(tgp_store_read(state, "alice", back), TG_OK);
	ck_assert(memcmp(back->totp.key, s->totp.key, 32) == 0);
	ck_assert_int_eq(tgp_store_read(state, "bob", back), TG_ERR_NOT_FOUND);
	ck_assert_int_eq(tgp_store_read(state, "../alice", back), TG_ERR_INVALID);
	ck_assert_int_eq(tgp_store_remove(state, "alice"), TG_OK);
	ck_assert_int_eq(tgp_store_remove(state, "alice"), TG_ERR_NOT_FOUND);
	ck_assert_int_eq(tgp_store_read(state, "alice", back), TG_ERR_NOT_FOUND);
	tgp_secret_free(s);
	tgp_secret_free(back);
}
END_TEST

/*
 * First enrollments on a fresh host, in parallel (configuration management with forks): every
 * one succeeds and opens. The first one's key file exists, empty, between its open and its
 * write; the others must not read it as a corrupt key.
 */
START_TEST(parallel_first_enrollments)
{
	enum { N = 12 };
	char state[4096], name[32];
	int round, i;

	for (round = 0; round < 5; round++) {
		int failed = 0;

		snprintf(name, sizeof(name), "lib%d", round);
		path(state, sizeof(state), name);
		for (i = 0; i < N; i++) {
			pid_t pid = fork();

			ck_assert_int_ge(pid, 0);
			if (pid == 0) {
				struct tgp_secret *s = sample(), *back = tgp_secret_new();
				char user[32];

				int ok;

				snprintf(user, sizeof(user), "user%d", i);
				ok = tgp_store_write(state, user, s) == TG_OK &&
				     tgp_store_read(state, user, back) == TG_OK;
				/* freed before _exit: the valgrind run counts a child's leaks too
				 */
				tgp_secret_free(s);
				tgp_secret_free(back);
				_exit(ok ? 0 : 1);
			}
		}
		for (i = 0; i < N; i++) {
			int st;

			ck_assert_int_gt(wait(&st), 0);
			failed += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
		}
		ck_assert_int_eq(failed, 0);
	}
}
END_TEST

START_TEST(unsafe_files_refused)
{
	struct tgp_secret *s = sample(), *back = tgp_secret_new();
	char p[4096], q[4096], state[4096];
	int fd;

	path(state, sizeof(state), "lib");
	ck_assert_int_eq(tgp_store_write(state, "alice", s), TG_OK);
	path(p, sizeof(p), "lib/totp/alice");
	ck_assert_int_eq(chmod(p, 0640), 0);
	ck_assert_int_eq(tgp_store_read(state, "alice", back), TG_ERR_PERM);
	ck_assert_int_eq(chmod(p, 0600), 0);
	/* a symlink in place of the file */
	path(q, sizeof(q), "lib/totp/bob");
	ck_assert_int_eq(symlink(p, q), 0);
	ck_assert_int_eq(tgp_store_read(state, "bob", back), TG_ERR_PERM);
	/* a folder others may write to */
	path(q, sizeof(q), "lib/totp");
	ck_assert_int_eq(chmod(q, 0777), 0);
	ck_assert_int_eq(tgp_store_read(state, "alice", back), TG_ERR_PERM);
	ck_assert_int_eq(chmod(q, 0700), 0);
	/* a key of the wrong size */
	path(q, sizeof(q), "lib/store.key");
	ck_assert_int_ge(fd = open(q, O_WRONLY | O_APPEND), 0);
	ck_assert_int_eq(write(fd, "x", 1), 1);
	close(fd);
	ck_assert_int_eq(tgp_store_read(state, "alice", back), TG_ERR_FORMAT);
	/* no key at all */
	ck_assert_int_eq(unlink(q), 0);
	ck_assert_int_eq(tgp_store_read(state, "alice", back), TG_ERR_CONFIG);
	/* garbage in the file */
	ck_assert_int_eq(tgp_store_write(state, "alice", s), TG_OK); /* a new key */
	ck_assert_int_ge(fd = open(p, O_WRONLY | O_TRUNC), 0);
	ck_assert_int_eq(write(fd, "TGTOTP01garbage", 15), 15);
	close(fd);
	ck_assert_int_eq(tgp_store_read(state, "alice", back), TG_ERR_FORMAT);
	tgp_secret_free(s);
	tgp_secret_free(back);
}
END_TEST

START_TEST(user_names)
{
	ck_assert(tgp_user_name_ok("alice"));
	ck_assert(tgp_user_name_ok("a.b-c_d@corp"));
	ck_assert(!tgp_user_name_ok(""));
	ck_assert(!tgp_user_name_ok(NULL));
	ck_assert(!tgp_user_name_ok(".hidden"));
	ck_assert(!tgp_user_name_ok("-rf"));
	ck_assert(!tgp_user_name_ok("a/b"));
	ck_assert(!tgp_user_name_ok("a b"));
	ck_assert(
	    !tgp_user_name_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pam secret store");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, secrets_locked_apart);
	tcase_add_test(tc, seal_open_round_trip);
	tcase_add_test(tc, write_read_remove);
	tcase_add_test(tc, unsafe_files_refused);
	tcase_add_test(tc, parallel_first_enrollments);
	tcase_add_test(tc, user_names);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
