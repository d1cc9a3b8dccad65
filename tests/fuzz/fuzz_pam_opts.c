/*
 * pam_tollgate.so's arguments (pam_module/options.c): tgp_opts_load() over a tollgate.conf
 * and an argv, both from the input: the file's text, then the arguments, NUL-separated (an
 * argument "config=..." of the input is dropped: the file is the one written here).
 *
 * Invariants: a failure says why in err, within errlen (the bytes past it untouched), and
 * leaves no config; a success leaves every value within its key's type and bounds, the flags
 * set exactly when given, and each key given as an argument at the value of its last one
 * ("key" alone: "yes"), the arguments overriding the file.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "fuzz_config_check.h"
#include "options.h"
#include "tg_config.h"
#include "tg_error.h"

#define MAX_ARGS 16

static char conf_dir[40], conf_path[64];

/* the folder and the file are the harness's: gone when the process ends */
static void remove_conf(void)
{
	unlink(conf_path);
	rmdir(conf_dir);
}

static void write_conf(const uint8_t *p, size_t n)
{
	int fd = open(conf_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || (n > 0 && write(fd, p, n) != (ssize_t)n) || close(fd) != 0)
		abort();
}

/* The value the last argument naming id gave it, or NULL when none did. */
static const char *arg_value(int argc, const char **argv, enum tg_conf_id id)
{
	const char *v = NULL;
	size_t n = strlen(tg_conf_keys[id].key);
	int i;

	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], tg_conf_keys[id].key, n) != 0)
			continue;
		if (argv[i][n] == '=')
			v = argv[i] + n + 1;
		else if (argv[i][n] == '\0')
			v = "yes";
	}
	return v;
}

static int has_arg(int argc, const char **argv, const char *s)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], s) == 0)
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tgp_opts o = TGP_OPTS_VOID;
	const char *argv[MAX_ARGS + 1];
	char arg_config[80], err[300], *copy;
	const uint8_t *nul;
	size_t conf_len, errlen, i;
	int argc = 0, r;

	if (size < 1 || size > 64 * 1024)
		return 0;
	if (conf_path[0] == '\0') {
		char tmpl[] = "/tmp/fuzz-pam-opts-XXXXXX";

		if (mkdtemp(tmpl) == NULL)
			abort();
		snprintf(conf_dir, sizeof(conf_dir), "%s", tmpl);
		snprintf(conf_path, sizeof(conf_path), "%s/tollgate.conf", tmpl);
		atexit(remove_conf);
	}
	errlen = 1 + data[0] % 256;
	data++;
	size--;
	nul = memchr(data, '\0', size);
	conf_len = nul != NULL ? (size_t)(nul - data) : size;
	write_conf(data, conf_len);
	if ((copy = malloc(size + 1)) == NULL)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	snprintf(arg_config, sizeof(arg_config), "config=%s", conf_path);
	argv[argc++] = arg_config;
	for (i = conf_len + 1; i < size && argc < MAX_ARGS;) {
		const char *a = copy + i;

		if (strncmp(a, "config=", 7) != 0)
			argv[argc++] = a;
		i += strlen(a) + 1;
	}
	argv[argc] = NULL;

	memset(err, 0x5a, sizeof(err));
	r = tgp_opts_load(&o, argc, argv, err, errlen);
	for (i = errlen; i < sizeof(err); i++)
		FUZZ_CHECK(err[i] == 0x5a); /* nothing written past errlen */
	FUZZ_CHECK(memchr(err, '\0', errlen) != NULL);
	if (r != TG_OK) {
		FUZZ_CHECK(o.cfg == NULL);
		FUZZ_CHECK(errlen == 1 || err[0] != '\0'); /* every failure names its cause */
	} else {
		FUZZ_CHECK(o.cfg != NULL);
		FUZZ_CHECK(o.debug == has_arg(argc, argv, "debug"));
		FUZZ_CHECK(o.try_first_pass == has_arg(argc, argv, "try_first_pass"));
		FUZZ_CHECK(o.forward_pass == has_arg(argc, argv, "forward_pass"));
		for (i = 0; i < TG_CONF_COUNT; i++) {
			const struct tg_conf_key *k = &tg_conf_keys[i];
			const char *v = tg_config_str(o.cfg, (enum tg_conf_id)i), *want;

			fuzz_check_config_value(o.cfg, (enum tg_conf_id)i);
			if ((strcmp(k->section, "pam") == 0 ||
			     strcmp(k->section, "general") == 0) &&
			    (want = arg_value(argc, argv, (enum tg_conf_id)i)) != NULL)
				FUZZ_CHECK(strcmp(v, want) == 0);
		}
	}
	tgp_opts_free(&o);
	FUZZ_CHECK(o.cfg == NULL);
	tgp_opts_free(&o); /* twice: safe */
	free(copy);
	return 0;
}
