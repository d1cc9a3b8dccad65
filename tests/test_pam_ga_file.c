/* pam_module/ga_file.c: the google-authenticator format and every check on the file. */
#include "tg_test.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sodium.h>
#include <sys/fsuid.h>
#include <sys/stat.h>

#include "ga_file.h"
#include "tg_error.h"

/* "12345678901234567890" in base32 */
#define B32 "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
#define GOOD                                                                                       \
	B32 "\n\" RATE_LIMIT 3 30 1700000000\n\" WINDOW_SIZE 17\n\" DISALLOW_REUSE 56666666\n\" "  \
	    "TOTP_AUTH\n"                                                                          \
	    "\" STEP_SIZE 30\n11111111\n22222222\n"

static char *dir;
static struct passwd me;

static void setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	dir = tg_test_tmpdir();
	me = *getpwuid(geteuid());
}

static void teardown(void)
{
	tg_test_rmtree(dir);
	free(dir);
}

static int parse(const char *text, struct tgp_secret *s, struct tgp_ga *ga)
{
	return tgp_ga_parse(text, strlen(text), s, ga);
}

static void put(const char *name, const char *text, mode_t mode, char *p, size_t n)
{
	int fd;

	snprintf(p, n, "%s/%s", dir, name);
	ck_assert_int_ge(fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode), 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

START_TEST(parse_good_file)
{
	struct tgp_secret *s = tgp_secret_new();
	struct tgp_ga ga;

	ck_assert_int_eq(parse(GOOD, s, &ga), TG_OK);
	ck_assert_uint_eq(s->totp.keylen, 20);
	ck_assert(memcmp(s->totp.key, "12345678901234567890", 20) == 0);
	ck_assert_uint_eq(s->totp.digits, 6);
	ck_assert_uint_eq(s->totp.step, 30);
	ck_assert(ga.has_window);
	ck_assert_uint_eq(ga.window, 8);
	ck_assert(ga.disallow_reuse);
	ck_assert_uint_eq(s->scratch.n, 2);
	ck_assert_int_eq(ga.scratch_line[0], 6);
	ck_assert_int_eq(tgp_scratch_match(&s->scratch, "22222222", 8), 1);
	ck_assert_int_eq(ga.skew, 0);
	/* the clock correction google-authenticator's module learnt for the user's device: not
	 * applied, but known, so that an import can say why that device's codes will fail */
	ck_assert_int_eq(parse(B32 "\n\" RESETTING_TIME_SKEW 1700000000+5\n\" TIME_SKEW -4\n"
	                           "\" TOTP_AUTH\n",
	                       s, &ga),
	                 TG_OK);
	ck_assert_int_eq(ga.skew, -4);
	ck_assert_int_eq(parse(B32 "\n\" TIME_SKEW\t3 \n", s, &ga), TG_OK);
	ck_assert_int_eq(ga.skew, 3);
	/* lower case, no final newline, CRLF */
	ck_assert_int_eq(parse("gezdgnbvgy3tqojqgezdgnbvgy3tqojq", s, &ga), TG_OK);
	ck_assert_int_eq(parse(B32 "\r\n\" TOTP_AUTH\r\n", s, &ga), TG_OK);
	/* the secret in groups, with a trailing blank: google-authenticator's module skips
	 * spaces, tabs and dashes, and so do we; the key is the same */
	ck_assert_int_eq(parse("GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ \n", s, &ga), TG_OK);
	ck_assert_uint_eq(s->totp.keylen, 20);
	ck_assert(memcmp(s->totp.key, "12345678901234567890", 20) == 0);
	ck_assert_int_eq(parse("gezd-gnbv-gy3t-qojq\tgezd-gnbv-gy3t-qojq\n", s, &ga), TG_OK);
	ck_assert(memcmp(s->totp.key, "12345678901234567890", 20) == 0);
	/* typed in by hand: 0, 1 and 8 for the letters O, L and B, which google-authenticator's
	 * module reads as those letters; the key is the same */
	ck_assert_int_eq(parse("GEZDGN8VGY3TQ0JQGEZDGNBVGY3TQOJQ\n", s, &ga), TG_OK);
	ck_assert_uint_eq(s->totp.keylen, 20);
	ck_assert(memcmp(s->totp.key, "12345678901234567890", 20) == 0);
	ck_assert_int_eq(parse("mfrggzdfmztwq21knnwg23tp\n", s, &ga), TG_OK);
	ck_assert_uint_eq(s->totp.keylen, 15);
	ck_assert(memcmp(s->totp.key, "abcdefghijklmno", 15) == 0);
	/* what an edit leaves and google-authenticator's module takes: blank lines, lines ending
	 * in blanks (the scratch code's line number is still its own, for the write-back) */
	ck_assert_int_eq(parse(B32 "\n\n\" TOTP_AUTH \n\t\n11111111 \r\n22222222\t\n\n\n", s, &ga),
	                 TG_OK);
	ck_assert_uint_eq(s->scratch.n, 2);
	ck_assert_int_eq(ga.scratch_line[0], 4);
	ck_assert_int_eq(tgp_scratch_match(&s->scratch, "11111111", 8), 0);
	ck_assert_int_eq(tgp_scratch_match(&s->scratch, "22222222", 8), 1);
	/* RATE_LIMIT and DISALLOW_REUSE lines as long as google-authenticator's module writes them
	 * (RATE_LIMIT 100 30 holds up to 100 timestamps) */
	{
		char text[4096];
		size_t n = (size_t)snprintf(text, sizeof(text), "%s\n\" RATE_LIMIT 100 30", B32);
		int i;

		for (i = 0; i < 100; i++)
			n += (size_t)snprintf(text + n, sizeof(text) - n, " %d", 1700000000 + i);
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		                      "\n\" WINDOW_SIZE 17\n\" DISALLOW_REUSE");
		for (i = 0; i < 17; i++)
			n += (size_t)snprintf(text + n, sizeof(text) - n, " %d", 56666666 + i);
		snprintf(text + n, sizeof(text) - n, "\n\" TOTP_AUTH\n11111111\n");
		ck_assert_int_eq(parse(text, s, &ga), TG_OK);
		ck_assert(ga.disallow_reuse);
		ck_assert_uint_eq(s->scratch.n, 1);
	}
	/* a 64-byte secret in groups of four (128 characters); 65 bytes are too many */
	ck_assert_int_eq(
	    parse("GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ GEZD GNBV "
	          "GY3T QOJQ GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ GEZD GNA\n",
	          s, &ga),
	    TG_OK);
	ck_assert_uint_eq(s->totp.keylen, 64);
	ck_assert_int_eq(
	    parse("GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ GEZD GNBV "
	          "GY3T QOJQ GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ GEZD GNBV\n",
	          s, &ga),
	    TG_ERR_FORMAT);
	tgp_secret_free(s);
}
END_TEST

START_TEST(bad_files_refused)
{
	struct tgp_secret *s = tgp_secret_new();
	struct tgp_ga ga;

	/* 16 base32 chars = 10 bytes: the least accepted; 15 and a cut string are refused */
	ck_assert_int_eq(parse("GEZDGNBVGY3TQOJQ\n", s, &ga), TG_OK);
	ck_assert_int_eq(parse("GEZDGNBVGY3TQOJ\n", s, &ga), TG_ERR_FORMAT);
	ck_assert_int_eq(parse("GEZDGNBV\n", s, &ga), TG_ERR_FORMAT);
	ck_assert_int_eq(parse("", s, &ga), TG_ERR_FORMAT);
	ck_assert_int_eq(parse("   \n", s, &ga), TG_ERR_FORMAT);
	/* 9 is neither base32 nor a letter mistyped (0, 1, 8 are: parse_good_file) */
	ck_assert_int_eq(parse("GEZDGNBVGY3TQOJ9GEZDGNBVGY3TQOJQ\n", s, &ga), TG_ERR_FORMAT);
	ck_assert_int_eq(parse("GEZDGNBVGY3TQOJ!GEZDGNBVGY3TQOJQ\n", s, &ga), TG_ERR_FORMAT);
	ck_assert_int_eq(parse(B32 "\n\" HOTP_COUNTER 1\n", s, &ga), TG_ERR_FORMAT);
	ck_assert_int_eq(ga.hotp, 1); /* said so, not "corrupt" */
	ck_assert_int_eq(parse(B32 "\n\" TOTP_AUTH\n", s, &ga), TG_OK);
	ck_assert_int_eq(ga.hotp, 0);
	ck_assert_int_eq(parse(B32 "\n\" WINDOW_SIZE 0\n", s, &ga), TG_ERR_FORMAT);
	ck_assert_int_eq(parse(B32 "\n\" WINDOW_SIZE 101\n", s, &ga), TG_ERR_FORMAT);
	/* google-authenticator's module takes 1..100: such a file must not lock its user out
	 * (the window it asks for is wider than the admin's, so the admin's holds) */
	ck_assert_int_eq(parse(B32 "\n\" WINDOW_SIZE 30\n", s, &ga), TG_OK);
	ck_assert_int_eq(ga.window, 14);
	ck_assert_int_eq(parse(B32 "\n\" STEP_SIZE 900\n", s, &ga), TG_ERR_FORMAT);
	ck_assert_int_eq(parse(B32 "\n\" RATE_LIMIT x\n", s, &ga), TG_ERR_FORMAT);
	/* RATE_LIMIT as google-authenticator's module takes it: 1..100 attempts in 1..3600 s */
	ck_assert_int_eq(parse(B32 "\n\" RATE_LIMIT 3 3600 1700000000\n", s, &ga), TG_OK);
	ck_assert_int_eq(parse(B32 "\n\" RATE_LIMIT 100 1\n", s, &ga), TG_OK);
	ck_assert_int_eq(parse(B32 "\n\" RATE_LIMIT 3 3601\n", s, &ga), TG_ERR_FORMAT);
	ck_assert_int_eq(parse(B32 "\n\" RATE_LIMIT 3 0\n", s, &ga), TG_ERR_FORMAT);
	ck_assert_int_eq(parse(B32 "\n\" RATE_LIMIT 101 30\n", s, &ga), TG_ERR_FORMAT);
	/* a number with anything but blanks after it is malformed, as in google-authenticator's
	 * module: not read as its leading digits ("STEP_SIZE 3O", a letter O, is not a 3 s step) */
	ck_assert_int_eq(parse(B32 "\n\" STEP_SIZE 30s\n", s, &ga), TG_ERR_FORMAT);
	ck_assert_int_eq(parse(B32 "\n\" STEP_SIZE 3O\n", s, &ga), TG_ERR_FORMAT);
	ck_assert_int_eq(parse(B32 "\n\" WINDOW_SIZE 3x\n", s, &ga), TG_ERR_FORMAT);
	ck_assert_int_eq(parse(B32 "\n\" WINDOW_SIZE 3 5\n", s, &ga), TG_ERR_FORMAT);
	ck_assert_int_eq(parse(B32 "\n\" RATE_LIMIT 3x 30\n", s, &ga), TG_ERR_FORMAT);
	ck_assert_int_eq(parse(B32 "\n\" RATE_LIMIT 3 30s\n", s, &ga), TG_ERR_FORMAT);
	ck_assert_int_eq(parse(B32 "\n\" RATE_LIMIT 3 30 1700000000x\n", s, &ga), TG_ERR_FORMAT);
	/* 2^32 + 3 attempts: not cut down to 3 */
	ck_assert_int_eq(parse(B32 "\n\" RATE_LIMIT 4294967299 30\n", s, &ga), TG_ERR_FORMAT);
	/* blanks or a CR after the number are fine */
	ck_assert_int_eq(
	    parse(B32 "\n\" STEP_SIZE 30 \r\n\" RATE_LIMIT 3 30 1700000000 \n", s, &ga), TG_OK);
	ck_assert_uint_eq(s->totp.step, 30);
	/* a tab where a blank may be, as that module takes it */
	ck_assert_int_eq(
	    parse(B32 "\n\" STEP_SIZE\t60\n\" WINDOW_SIZE\t3\n\" RATE_LIMIT\t3\t30\n", s, &ga),
	    TG_OK);
	ck_assert_uint_eq(s->totp.step, 60);
	ck_assert(ga.has_window);
	ck_assert_uint_eq(ga.window, 1);
	/* DISALLOW_REUSE's list, as google-authenticator's module reads it (a malformed one fails
	 * closed there too) */
	ck_assert_int_eq(parse(B32 "\n\" DISALLOW_REUSE 56666666 56666667\t56666668 \n", s, &ga),
	                 TG_OK);
	ck_assert(ga.disallow_reuse);
	ck_assert_uint_eq(ga.nused, 3);
	ck_assert(tgp_ga_step_used(&ga, 56666667) && tgp_ga_step_used(&ga, 56666668));
	ck_assert(!tgp_ga_step_used(&ga, 56666669) && !tgp_ga_step_used(&ga, 0));
	ck_assert_int_eq(parse(B32 "\n\" DISALLOW_REUSE\n", s, &ga), TG_OK);
	ck_assert(ga.disallow_reuse && ga.nused == 0);
	ck_assert_int_eq(parse(B32 "\n\" DISALLOW_REUSE 12x\n", s, &ga), TG_ERR_FORMAT);
	ck_assert_int_eq(parse(B32 "\n\" DISALLOW_REUSE 99999999999999999999999\n", s, &ga),
	                 TG_ERR_FORMAT);
	{
		char many[TGP_GA_USED_MAX * 10 + 64];
		size_t n = (size_t)snprintf(many, sizeof(many), "%s\n\" DISALLOW_REUSE", B32);
		unsigned i;

		for (i = 0; i <= TGP_GA_USED_MAX; i++)
			n += (size_t)snprintf(many + n, sizeof(many) - n, " %u", 1000 + i);
		snprintf(many + n, sizeof(many) - n, "\n");
		ck_assert_int_eq(parse(many, s, &ga), TG_ERR_FORMAT); /* one past the cap */
	}
	ck_assert_int_eq(parse(B32 "\n1234567\n", s, &ga), TG_ERR_FORMAT);
	ck_assert_int_eq(parse(B32 "\nhello\n", s, &ga), TG_ERR_FORMAT);
	ck_assert_int_eq(tgp_ga_parse(B32 "\n\0\n", 34, s, &ga), TG_ERR_FORMAT);
	tgp_secret_free(s);
}
END_TEST

START_TEST(path_expansion)
{
	struct passwd pw = me;
	char out[4096];

	pw.pw_name = "alice";
	pw.pw_dir = "/home/alice";
	ck_assert_int_eq(tgp_ga_path("~/.google_authenticator", &pw, out, sizeof(out)), TG_OK);
	ck_assert_str_eq(out, "/home/alice/.google_authenticator");
	ck_assert_int_eq(tgp_ga_path("/var/ga/${USER}", &pw, out, sizeof(out)), TG_OK);
	ck_assert_str_eq(out, "/var/ga/alice");
	ck_assert_int_eq(tgp_ga_path("${HOME}/.ga", &pw, out, sizeof(out)), TG_OK);
	ck_assert_str_eq(out, "/home/alice/.ga");
	ck_assert_int_eq(tgp_ga_path("relative", &pw, out, sizeof(out)), TG_ERR_INVALID);
	ck_assert_int_ne(tgp_ga_path("/x/${USER}", &pw, out, 8), TG_OK);
}
END_TEST

START_TEST(rewrite)
{
	struct tg_buf out = TG_BUF_VOID;

	tg_buf_init(&out, 1 << 16);
	ck_assert_int_eq(tgp_ga_rewrite(GOOD, strlen(GOOD), 6, 57000000, &out), TG_OK);
	ck_assert_str_eq(tg_buf_str(&out), B32
	                 "\n\" RATE_LIMIT 3 30 1700000000\n\" WINDOW_SIZE 17\n"
	                 "\" DISALLOW_REUSE 57000000\n\" TOTP_AUTH\n\" STEP_SIZE 30\n22222222\n");
	/* a later step the list held stays in it (a code taken ahead of the clock) */
	tg_buf_reset(&out);
	ck_assert_int_eq(
	    tgp_ga_rewrite(B32 "\n\" DISALLOW_REUSE 56999999\t57000001 \n", 69, -1, 57000000, &out),
	    TG_OK);
	ck_assert_str_eq(tg_buf_str(&out), B32 "\n\" DISALLOW_REUSE 57000000 57000001\n");
	/* a full list of later steps, and a second DISALLOW_REUSE line: what is written parses */
	{
		struct tgp_secret *s = tgp_secret_new();
		struct tgp_ga ga;
		char text[4096];
		size_t n = (size_t)snprintf(text, sizeof(text), "%s\n\" DISALLOW_REUSE", B32);
		int i;

		ck_assert_ptr_nonnull(s);
		for (i = 0; i < TGP_GA_USED_MAX; i++)
			n += (size_t)snprintf(text + n, sizeof(text) - n, " %d", 57000001 + i);
		snprintf(text + n, sizeof(text) - n, "\n\" DISALLOW_REUSE\n");
		ck_assert_int_eq(parse(text, s, &ga), TG_OK);
		tg_buf_reset(&out);
		ck_assert_int_eq(tgp_ga_rewrite(text, strlen(text), -1, 57000000, &out), TG_OK);
		ck_assert_int_eq(parse(tg_buf_str(&out), s, &ga), TG_OK);
		ck_assert_uint_eq(ga.nused, TGP_GA_USED_MAX);
		ck_assert(tgp_ga_step_used(&ga, 57000000) && tgp_ga_step_used(&ga, 57000001));
		tgp_secret_free(s);
	}
	tg_buf_free(&out);
}
END_TEST

START_TEST(file_checks)
{
	struct tg_buf text = TG_BUF_VOID;
	char p[4096], q[4096], *big;

	tg_buf_init(&text, TGP_GA_MAX);
	put("good", GOOD, 0600, p, sizeof(p));
	ck_assert_int_eq(tgp_ga_read(p, &me, &text), TG_OK);
	ck_assert_str_eq(tg_buf_str(&text), GOOD);
	tg_buf_reset(&text);
	put("ro", GOOD, 0400, p, sizeof(p));
	ck_assert_int_eq(tgp_ga_read(p, &me, &text), TG_OK);
	tg_buf_reset(&text);
	put("groupread", GOOD, 0640, p, sizeof(p));
	ck_assert_int_eq(tgp_ga_read(p, &me, &text), TG_ERR_PERM);
	put("worldread", GOOD, 0604, p, sizeof(p));
	ck_assert_int_eq(tgp_ga_read(p, &me, &text), TG_ERR_PERM);
	/* a symlink to a good file */
	snprintf(q, sizeof(q), "%s/good", dir);
	snprintf(p, sizeof(p), "%s/link", dir);
	ck_assert_int_eq(symlink(q, p), 0);
	ck_assert_int_eq(tgp_ga_read(p, &me, &text), TG_ERR_PERM);
	/* a fifo (opened non-blocking: no hang) and a folder */
	snprintf(p, sizeof(p), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(p, 0600), 0);
	ck_assert_int_eq(tgp_ga_read(p, &me, &text), TG_ERR_PERM);
	ck_assert_int_eq(tgp_ga_read(dir, &me, &text), TG_ERR_PERM);
	/* over 64 KiB */
	ck_assert_ptr_nonnull(big = malloc(TGP_GA_MAX + 2));
	memset(big, '1', TGP_GA_MAX + 1);
	big[TGP_GA_MAX + 1] = '\0';
	put("big", big, 0600, p, sizeof(p));
	free(big);
	ck_assert_int_eq(tgp_ga_read(p, &me, &text), TG_ERR_LIMIT);
	snprintf(p, sizeof(p), "%s/missing", dir);
	ck_assert_int_eq(tgp_ga_read(p, &me, &text), TG_ERR_NOT_FOUND);
	/* no folder either (a home not mounted): not "not enrolled", which nullok would let in */
	snprintf(p, sizeof(p), "%s/no-such-home/.google_authenticator", dir);
	ck_assert_int_eq(tgp_ga_read(p, &me, &text), TG_ERR_CONFIG);
	tg_buf_free(&text);
}
END_TEST

/* Owned by someone else, and read with the user's (not root's) rights: needs root to set up. */
START_TEST(owner_checked_as_the_user)
{
	struct tg_buf text = TG_BUF_VOID;
	struct passwd *nobody = getpwnam("nobody");
	char p[4096];

	if (geteuid() != 0 || nobody == NULL) {
		fprintf(stderr, "SKIP owner_checked_as_the_user: needs root and user nobody\n");
		return;
	}
	tg_buf_init(&text, TGP_GA_MAX);
	ck_assert_int_eq(chmod(dir, 0755), 0);
	/* root's file named as nobody's: refused (and nobody could not read it anyway) */
	put("roots", GOOD, 0600, p, sizeof(p));
	ck_assert_int_eq(tgp_ga_read(p, nobody, &text), TG_ERR_SYSTEM);
	/* nobody's file is read as nobody */
	ck_assert_int_eq(chown(p, nobody->pw_uid, nobody->pw_gid), 0);
	ck_assert_int_eq(tgp_ga_read(p, nobody, &text), TG_OK);
	tg_buf_reset(&text);
	/* ... and is not root's */
	ck_assert_int_eq(tgp_ga_read(p, &me, &text), TG_ERR_PERM);
	/* a folder nobody cannot enter: the read fails as it would for nobody */
	ck_assert_int_eq(chmod(dir, 0700), 0);
	ck_assert_int_eq(tgp_ga_read(p, nobody, &text), TG_ERR_SYSTEM);
	ck_assert_uint_eq(setfsuid(-1), 0); /* privileges are back */
	tg_buf_free(&text);
}
END_TEST

/*
 * Read with the user's groups, not sshd's: a file of the user's in a folder that only a
 * supplementary group of root's may enter is out of the user's reach, so it is refused.
 */
START_TEST(roots_groups_do_not_reach)
{
	struct tg_buf text = TG_BUF_VOID;
	struct passwd *nobody = getpwnam("nobody");
	char sub[4096], p[4200];
	gid_t g = 54321, after[8];
	int fd;

	if (geteuid() != 0 || nobody == NULL) {
		fprintf(stderr, "SKIP roots_groups_do_not_reach: needs root and user nobody\n");
		return;
	}
	ck_assert_uint_ne(nobody->pw_gid, g);
	ck_assert_int_eq(setgroups(1, &g), 0);
	tg_buf_init(&text, TGP_GA_MAX);
	ck_assert_int_eq(chmod(dir, 0711), 0);
	snprintf(sub, sizeof(sub), "%s/g", dir);
	ck_assert_int_eq(mkdir(sub, 0710), 0);
	ck_assert_int_eq(chown(sub, 0, g), 0);
	snprintf(p, sizeof(p), "%s/.google_authenticator", sub);
	ck_assert_int_ge(fd = open(p, O_WRONLY | O_CREAT, 0600), 0);
	ck_assert_int_eq(write(fd, GOOD, strlen(GOOD)), (ssize_t)strlen(GOOD));
	close(fd);
	ck_assert_int_eq(chown(p, nobody->pw_uid, nobody->pw_gid), 0);
	ck_assert_int_eq(tgp_ga_read(p, nobody, &text), TG_ERR_SYSTEM);
	ck_assert_uint_eq(text.len, 0);
	/* the write-back is done as the user too */
	ck_assert_int_eq(tg_buf_puts(&text, B32 "\n"), TG_OK);
	ck_assert_int_ne(tgp_ga_write(p, nobody, &text), TG_OK);
	/* root's ids and groups are back */
	ck_assert_uint_eq(setfsuid(-1), 0);
	ck_assert_int_eq(getgroups(8, after), 1);
	ck_assert_uint_eq(after[0], g);
	tg_buf_free(&text);
}
END_TEST

START_TEST(write_back_keeps_owner_and_mode)
{
	struct tg_buf text = TG_BUF_VOID;
	struct stat st;
	char p[4096];

	tg_buf_init(&text, TGP_GA_MAX);
	put("wb", GOOD, 0400, p, sizeof(p));
	ck_assert_int_eq(tg_buf_puts(&text, B32 "\n"), TG_OK);
	ck_assert_int_eq(tgp_ga_write(p, &me, &text), TG_OK);
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0400);
	ck_assert_uint_eq(st.st_uid, me.pw_uid);
	ck_assert_int_eq(st.st_size, 33);
	tg_buf_free(&text);
}
END_TEST

/* A write-back that would pass the 64 KiB a file may have (a file just under it, padded with
 * option lines, and DISALLOW_REUSE adding a step) is not made: every later read would refuse
 * the file, and the login fail closed until someone fixed it by hand. */
START_TEST(write_back_over_the_limit_not_made)
{
	struct tg_buf text = TG_BUF_VOID;
	struct stat st;
	char p[4096];

	tg_buf_init(&text, TGP_GA_MAX + 64);
	put("big", GOOD, 0600, p, sizeof(p));
	ck_assert_int_eq(tg_buf_puts(&text, B32 "\n"), TG_OK);
	while (text.len <= TGP_GA_MAX)
		ck_assert_int_eq(tg_buf_puts(&text, "\" X\n"), TG_OK);
	ck_assert_int_eq(tgp_ga_write(p, &me, &text), TG_ERR_LIMIT);
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)strlen(GOOD));
	/* at the limit exactly, it is */
	text.len = TGP_GA_MAX;
	ck_assert_int_eq(tgp_ga_write(p, &me, &text), TG_OK);
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert_int_eq(st.st_size, TGP_GA_MAX);
	tg_buf_free(&text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pam ga file");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, parse_good_file);
	tcase_add_test(tc, bad_files_refused);
	tcase_add_test(tc, path_expansion);
	tcase_add_test(tc, write_back_over_the_limit_not_made);
	tcase_add_test(tc, rewrite);
	tcase_add_test(tc, file_checks);
	tcase_add_test(tc, owner_checked_as_the_user);
	tcase_add_test(tc, roots_groups_do_not_reach);
	tcase_add_test(tc, write_back_keeps_owner_and_mode);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
