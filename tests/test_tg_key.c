#include "tg_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>

#include "tg_error.h"
#include "tg_rec.h"

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

static void put_bytes(const char *path, const char *p, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static void put(const char *path, const char *text, mode_t mode)
{
	put_bytes(path, text, strlen(text), mode);
}

/* The file at path (a key file as saved), then a NUL and more: a key no more. */
static void nul_appended(const char *path, mode_t mode)
{
	char text[2048];
	size_t n;
	FILE *f = fopen(path, "r");

	ck_assert_ptr_nonnull(f);
	n = fread(text, 1, sizeof(text) - 16, f);
	fclose(f);
	ck_assert_uint_gt(n, 0);
	memcpy(text + n, "\0anything", 9);
	put_bytes(path, text, n + 9, mode);
}

START_TEST(save_and_load)
{
	unsigned char pk[32], sk[64], pk2[32], sk2[64];
	char sec[4096], pub[4096], id[TG_REC_KEY_ID_LEN + 1];
	struct stat st;
	size_t i;

	snprintf(sec, sizeof(sec), "%s/signing.key", dir);
	snprintf(pub, sizeof(pub), "%s/signing.pub", dir);
	ck_assert_int_eq(tg_key_generate(pk, sk), TG_OK);
	ck_assert_int_eq(tg_key_save_secret(sec, sk), TG_OK);
	ck_assert_int_eq(tg_key_save_public(pub, pk), TG_OK);
	ck_assert_int_eq(stat(sec, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0400);
	ck_assert_int_eq(stat(pub, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0444);
	ck_assert_int_eq(tg_key_load_secret(sec, sk2), TG_OK);
	ck_assert_mem_eq(sk, sk2, 64);
	ck_assert_int_eq(tg_key_load_public(pub, pk2), TG_OK);
	ck_assert_mem_eq(pk, pk2, 32);
	tg_key_id(pk, id);
	ck_assert_uint_eq(strlen(id), TG_REC_KEY_ID_LEN);
	for (i = 0; i < strlen(id); i++)
		ck_assert(strchr("0123456789abcdef", id[i]) != NULL);
	/* the id is BLAKE2b-256(pk)'s first 8 bytes */
	{
		unsigned char h[32];
		char hex[17];

		crypto_generichash(h, 32, pk, 32, NULL, 0);
		sodium_bin2hex(hex, sizeof(hex), h, 8);
		ck_assert_str_eq(hex, id);
	}
	/* replacing an existing (read-only) key file works: it is a rename */
	ck_assert_int_eq(tg_key_save_public(pub, pk), TG_OK);
	ck_assert_int_eq(tg_key_load_public("/nonexistent/x.pub", pk2), TG_ERR_NOT_FOUND);
	ck_assert_int_eq(tg_key_load_secret("/nonexistent/x.key", sk2), TG_ERR_NOT_FOUND);
}
END_TEST

START_TEST(secret_file_checks)
{
	unsigned char pk[32], sk[64], sk2[64];
	char sec[4096], lnk[4096], text[256];
	FILE *f;

	snprintf(sec, sizeof(sec), "%s/signing.key", dir);
	snprintf(lnk, sizeof(lnk), "%s/link.key", dir);
	ck_assert_int_eq(tg_key_generate(pk, sk), TG_OK);
	ck_assert_int_eq(tg_key_save_secret(sec, sk), TG_OK);
	f = fopen(sec, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(text, sizeof(text), f));
	fclose(f);
	ck_assert_int_eq(strncmp(text, "tollgate-ed25519-secret ", 24), 0);
	/* readable by group or others: refused */
	ck_assert_int_eq(chmod(sec, 0440), 0);
	ck_assert_int_eq(tg_key_load_secret(sec, sk2), TG_ERR_PERM);
	ck_assert_int_eq(chmod(sec, 0600), 0);
	ck_assert_int_eq(tg_key_load_secret(sec, sk2), TG_OK);
	/* a symlink: refused */
	ck_assert_int_eq(symlink(sec, lnk), 0);
	ck_assert_int_eq(tg_key_load_secret(lnk, sk2), TG_ERR_PERM);
	/* a folder: refused */
	ck_assert_int_ne(tg_key_load_secret(dir, sk2), TG_OK);
	/* damaged: wrong prefix, short key, trailing junk, a public half that is not the seed's */
	put(sec, "tollgate-ed25519 AAAA\n", 0600);
	ck_assert_int_eq(tg_key_load_secret(sec, sk2), TG_ERR_FORMAT);
	put(sec, "tollgate-ed25519-secret AAAA\n", 0600);
	ck_assert_int_eq(tg_key_load_secret(sec, sk2), TG_ERR_FORMAT);
	text[strlen(text) - 1] = '\0';
	strcat(text, " x\n");
	put(sec, text, 0600);
	ck_assert_int_eq(tg_key_load_secret(sec, sk2), TG_ERR_FORMAT);
	/* a NUL, then anything: the checks of the file's end read up to the NUL alone */
	unlink(sec);
	ck_assert_int_eq(tg_key_save_secret(sec, sk), TG_OK);
	ck_assert_int_eq(tg_key_load_secret(sec, sk2), TG_OK);
	nul_appended(sec, 0600);
	ck_assert_int_eq(tg_key_load_secret(sec, sk2), TG_ERR_FORMAT);
	unlink(sec);
	sk[63] ^= 1;
	ck_assert_int_eq(tg_key_save_secret(sec, sk), TG_OK);
	ck_assert_int_eq(tg_key_load_secret(sec, sk2), TG_ERR_FORMAT);
	/* too big */
	{
		char big[2000];

		memset(big, 'A', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		put(sec, big, 0600);
		ck_assert_int_eq(tg_key_load_secret(sec, sk2), TG_ERR_FORMAT);
	}
}
END_TEST

/* The secret key file has its owner before it is in place; when it cannot be given, nothing is
 * replaced (tollgate-keygen --force used to replace the key, then delete it). */
START_TEST(secret_owned_from_the_start)
{
	unsigned char pk[32], sk[64], old[64], sk2[64];
	char sec[4096];
	struct stat st;
	struct dirent *e;
	DIR *d;

	snprintf(sec, sizeof(sec), "%s/signing.key", dir);
	ck_assert_int_eq(tg_key_generate(pk, old), TG_OK);
	ck_assert_int_eq(tg_key_save_secret(sec, old), TG_OK);
	ck_assert_int_eq(tg_key_generate(pk, sk), TG_OK);
	if (geteuid() == 0) {
		ck_assert_int_eq(tg_key_save_secret_owned(sec, sk, 65534, 65534), TG_OK);
		ck_assert_int_eq(stat(sec, &st), 0);
		ck_assert_uint_eq(st.st_uid, 65534);
		ck_assert_uint_eq(st.st_gid, 65534);
		ck_assert_uint_eq(st.st_mode & 0777, 0400);
		ck_assert_int_eq(tg_key_load_secret(sec, sk2), TG_OK);
		ck_assert_mem_eq(sk, sk2, 64);
	} else {
		/* a user cannot give a file away: refused, the old key kept */
		ck_assert_int_eq(tg_key_save_secret_owned(sec, sk, 0, 0), TG_ERR_PERM);
		ck_assert_int_eq(tg_key_load_secret(sec, sk2), TG_OK);
		ck_assert_mem_eq(old, sk2, 64);
	}
	/* no temp file left either way */
	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((e = readdir(d)) != NULL)
		ck_assert(e->d_name[0] != '.' || strcmp(e->d_name, ".") == 0 ||
		          strcmp(e->d_name, "..") == 0);
	closedir(d);
}
END_TEST

START_TEST(public_file_checks)
{
	unsigned char pk[32], sk[64], pk2[32];
	char pub[4096], text[256], *sp;
	FILE *f;

	snprintf(pub, sizeof(pub), "%s/signing.pub", dir);
	ck_assert_int_eq(tg_key_generate(pk, sk), TG_OK);
	ck_assert_int_eq(tg_key_save_public(pub, pk), TG_OK);
	f = fopen(pub, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(text, sizeof(text), f));
	fclose(f);
	/* without the key id: fine */
	sp = strrchr(text, ' ');
	ck_assert_ptr_nonnull(sp);
	*sp = '\0';
	put(pub, text, 0644);
	ck_assert_int_eq(tg_key_load_public(pub, pk2), TG_OK);
	ck_assert_mem_eq(pk, pk2, 32);
	/* with a key id that is not this key's: damaged */
	strcat(text, " 0000000000000000\n");
	put(pub, text, 0644);
	ck_assert_int_eq(tg_key_load_public(pub, pk2), TG_ERR_FORMAT);
	put(pub, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG\n", 0644);
	ck_assert_int_eq(tg_key_load_public(pub, pk2), TG_ERR_FORMAT);
	put(pub, "", 0644);
	ck_assert_int_eq(tg_key_load_public(pub, pk2), TG_ERR_FORMAT);
	ck_assert_int_eq(tg_key_save_public(pub, pk), TG_OK);
	ck_assert_int_eq(tg_key_load_public(pub, pk2), TG_OK);
	nul_appended(pub, 0644);
	ck_assert_int_eq(tg_key_load_public(pub, pk2), TG_ERR_FORMAT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tg_key");
	TCase *tc = tcase_create("key");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, save_and_load);
	tcase_add_test(tc, secret_file_checks);
	tcase_add_test(tc, public_file_checks);
	tcase_add_test(tc, secret_owned_from_the_start);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
