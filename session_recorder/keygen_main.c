/*
 * tollgate-keygen: make the host's Ed25519 signing key pair ([recorder]
 * signing_key and public_key), the secret key readable by the audit user
 * only, and print the public key and its id for investigators.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tg_buf.h"
#include "tg_config.h"
#include "tg_error.h"
#include "tg_rec.h"
#include "tg_spool.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: tollgate-keygen [-c FILE] [--force] [--owner USER]\n"
	        "  -c, --config FILE  config file (default %s)\n"
	        "  -f, --force        replace an existing key pair\n"
	        "  -o, --owner USER   owner of the secret key when run as root (default %s)\n"
	        "  -h, --help         this text\n"
	        "  -V, --version      the version\n",
	        TG_CONFIG_DEFAULT_PATH, TG_AUDIT_USER);
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Make the folder that will hold path, if missing (0755: the public key is for everyone, and
 * the audit user must reach its secret key). */
static int make_parent(const char *path)
{
	char d[4096];
	mode_t old = umask(022); /* root's umask (077 on a hardened host) would make them 0700 */
	int r;

	snprintf(d, sizeof(d), "%s", path);
	r = tg_mkdir_p(dirname(d), 0755);
	umask(old);
	return r;
}

/* Hold an exclusive lock on the folder that holds path (made already): *fd, closed to let go. */
static int lock_folder(const char *path, int *fd)
{
	char d[4096];

	snprintf(d, sizeof(d), "%s", path);
	if ((*fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return TG_ERR_SYSTEM;
	if (flock(*fd, LOCK_EX) != 0) {
		close(*fd);
		*fd = -1;
		return TG_ERR_SYSTEM;
	}
	return TG_OK;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'}, {"force", no_argument, NULL, 'f'},
	    {"owner", required_argument, NULL, 'o'},  {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	const char *config = TG_CONFIG_DEFAULT_PATH, *owner = TG_AUDIT_USER, *sk_path, *pk_path;
	struct tg_config *cfg = NULL;
	struct tg_buf line = TG_BUF_VOID;
	unsigned char pk[32], *sk = NULL;
	char err[512], id[TG_REC_KEY_ID_LEN + 1];
	struct passwd *pw = NULL;
	int c, force = 0, status = 1, config_given = 0, r, lock = -1;

	while ((c = getopt_long(argc, argv, "c:fo:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			config_given = 1;
			break;
		case 'f':
			force = 1;
			break;
		case 'o':
			owner = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("tollgate-keygen " PACKAGE_VERSION "\n");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "tollgate-keygen: libsodium failed to start\n");
		return 1;
	}
	/* only the default file may be missing: a mistyped -c must not fall back to
	 * the default key paths and write the host's real key pair */
	if (tg_config_new(&cfg) != TG_OK ||
	    tg_config_load(cfg, config,
	                   (config_given ? 0 : TG_CONFIG_MISSING_OK) |
	                       (getuid() != 0 ? TG_CONFIG_OWNER_SELF : 0),
	                   err, sizeof(err)) != TG_OK) {
		fprintf(stderr, "tollgate-keygen: %s\n", err);
		goto out;
	}
	sk_path = tg_config_str(cfg, TG_CONF_RECORDER_SIGNING_KEY);
	pk_path = tg_config_str(cfg, TG_CONF_RECORDER_PUBLIC_KEY);
	/* the public key would take the secret key's place: no key to sign with, and every
	 * session refused */
	if (strcmp(sk_path, pk_path) == 0) {
		fprintf(stderr,
		        "tollgate-keygen: [recorder] signing_key and public_key name the same file "
		        "(%s)\n",
		        sk_path);
		goto out;
	}
	/* one run at a time, from the check to the last key written: two at once both found no
	 * key, and the last to write won, or left a secret key and a public key of two pairs */
	if ((r = make_parent(sk_path)) != TG_OK || (r = lock_folder(sk_path, &lock)) != TG_OK) {
		fprintf(stderr, "tollgate-keygen: the folder of %s: %s (%s)\n", sk_path,
		        tg_strerror(r), strerror(errno));
		goto out;
	}
	if (!force && (exists(sk_path) || exists(pk_path))) {
		fprintf(stderr,
		        "tollgate-keygen: %s or %s exists; refusing to replace it (--force "
		        "replaces it,\n"
		        "  and recordings signed with the old key then verify only against the old "
		        "public key)\n",
		        sk_path, pk_path);
		goto out;
	}
	if (geteuid() == 0) {
		/* check the owner before anything is written */
		errno = 0;
		if ((pw = getpwnam(owner)) == NULL) {
			fprintf(stderr,
			        "tollgate-keygen: the audit user '%s' does not exist; create it "
			        "first:\n"
			        "  useradd --system --user-group --home-dir /nonexistent "
			        "--no-create-home --shell /usr/sbin/nologin --comment \"Tollgate "
			        "audit\" %s\n",
			        owner, owner);
			goto out;
		}
	}
	if ((sk = sodium_malloc(64)) == NULL) {
		fprintf(stderr, "tollgate-keygen: out of memory\n");
		goto out;
	}
	if ((r = make_parent(pk_path)) != TG_OK || (r = tg_key_generate(pk, sk)) != TG_OK ||
	    /* owned by the audit user before it is in place: a crash, or a chown that fails,
	     * must not leave a key the recorder cannot read where the old one was */
	    (r = tg_key_save_secret_owned(sk_path, sk, pw != NULL ? pw->pw_uid : (uid_t)-1,
	                                  pw != NULL ? pw->pw_gid : (gid_t)-1)) != TG_OK) {
		fprintf(stderr, "tollgate-keygen: %s: %s (%s)\n", sk_path, tg_strerror(r),
		        strerror(errno));
		goto out;
	}
	if ((r = tg_key_save_public(pk_path, pk)) != TG_OK) {
		fprintf(stderr, "tollgate-keygen: %s: %s (%s)\n", pk_path, tg_strerror(r),
		        strerror(errno));
		goto out;
	}
	tg_key_id(pk, id);
	tg_buf_init(&line, 4096);
	if (tg_read_file(pk_path, 4096, &line) == TG_OK)
		printf("%s", tg_buf_str(&line));
	printf("key id: %s\nsecret key: %s (owner %s, mode 0400)\npublic key: %s\n", id, sk_path,
	       pw != NULL ? owner : "you", pk_path);
	status = 0;
out:
	if (lock >= 0)
		close(lock);
	if (sk != NULL)
		sodium_free(sk);
	tg_buf_free(&line);
	tg_config_free(cfg);
	return status;
}
