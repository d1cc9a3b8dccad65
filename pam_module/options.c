#include "options.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tg_error.h"

/* The arguments that are flags: no tollgate.conf key, no value. */
static const char *const flag_args[] = {"debug", "try_first_pass", "forward_pass"};

static int flag(struct tgp_opts *o, const char *arg)
{
	if (strcmp(arg, "debug") == 0)
		o->debug = 1;
	else if (strcmp(arg, "try_first_pass") == 0)
		o->try_first_pass = 1;
	else if (strcmp(arg, "forward_pass") == 0)
		o->forward_pass = 1;
	else
		return 0;
	return 1;
}

static int set_arg(struct tgp_opts *o, const char *arg, char *err, size_t errlen)
{
	char name[64];
	const char *eq = strchr(arg, '='), *value;
	size_t n = eq != NULL ? (size_t)(eq - arg) : strlen(arg), i;
	enum tg_conf_id id;

	if (n == 0 || n >= sizeof(name)) {
		snprintf(err, errlen, "unknown argument");
		return TG_ERR_CONFIG;
	}
	memcpy(name, arg, n);
	name[n] = '\0';
	for (i = 0; i < sizeof(flag_args) / sizeof(flag_args[0]); i++)
		if (strcmp(name, flag_args[i]) == 0) {
			/* debug=yes: "unknown argument" would send the admin looking for a typo */
			snprintf(err, errlen, "argument \"%s\" takes no value (write %s alone)",
			         name, name);
			return TG_ERR_CONFIG;
		}
	if (tg_config_lookup("pam", name, &id) != TG_OK &&
	    tg_config_lookup("general", name, &id) != TG_OK) {
		snprintf(err, errlen, "unknown argument \"%s\"", name);
		return TG_ERR_CONFIG;
	}
	if (eq != NULL)
		value = eq + 1;
	else if (tg_conf_keys[id].type == TG_CONF_BOOL)
		value = "yes";
	else {
		snprintf(err, errlen, "argument \"%s\" needs a value (%s=...)", name, name);
		return TG_ERR_CONFIG;
	}
	return tg_config_set(o->cfg, id, value, err, errlen);
}

/*
 * tollgate.conf holds the uploader's secrets too (the S3 secret key, the Slack webhook URL). The
 * module and tollgate-enroll check the whole file (a malformed one fails closed), but read only
 * [pam] and [general]: the rest is set back to its defaults, the values wiped, so that sshd does
 * not hold those secrets in its memory through a login (a conversation lasts as long as the user
 * takes to type).
 */
static void forget_other_sections(struct tgp_opts *o)
{
	int i;

	for (i = 0; i < TG_CONF_COUNT; i++)
		if (strcmp(tg_conf_keys[i].section, "pam") != 0 &&
		    strcmp(tg_conf_keys[i].section, "general") != 0 &&
		    tg_config_is_set(o->cfg, (enum tg_conf_id)i))
			(void)tg_config_set(o->cfg, (enum tg_conf_id)i, tg_conf_keys[i].def, NULL,
			                    0);
}

int tgp_opts_load(struct tgp_opts *o, int argc, const char **argv, char *err, size_t errlen)
{
	const char *config = NULL;
	unsigned flags = 0;
	int i, r;

	o->cfg = NULL;
	o->debug = o->try_first_pass = o->forward_pass = 0;
	if (errlen > 0)
		err[0] = '\0';
	if ((r = tg_config_new(&o->cfg)) != TG_OK) {
		snprintf(err, errlen, "cannot make the configuration: %s", tg_strerror(r));
		return r;
	}
	for (i = 0; i < argc; i++)
		if (argv[i] != NULL && strncmp(argv[i], "config=", 7) == 0)
			config = argv[i] + 7;
	if (config == NULL) {
		config = TG_CONFIG_DEFAULT_PATH;
		flags |= TG_CONFIG_MISSING_OK;
	}
	/* an unprivileged caller may use a file it owns; root only root's */
	if (geteuid() != 0)
		flags |= TG_CONFIG_OWNER_SELF;
	if ((r = tg_config_load(o->cfg, config, flags, err, errlen)) != TG_OK)
		goto out;
	forget_other_sections(o);
	for (i = 0; i < argc; i++) {
		if (argv[i] == NULL || strncmp(argv[i], "config=", 7) == 0 || flag(o, argv[i]))
			continue;
		if ((r = set_arg(o, argv[i], err, errlen)) != TG_OK)
			goto out;
	}
	r = TG_OK;
out:
	if (r != TG_OK)
		tgp_opts_free(o);
	return r;
}

void tgp_opts_free(struct tgp_opts *o)
{
	tg_config_free(o->cfg);
	o->cfg = NULL;
}
