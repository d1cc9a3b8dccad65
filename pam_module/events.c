#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <security/pam_ext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "module.h"
#include "tg_addr.h"
#include "tg_error.h"
#include "tg_event.h"
#include "tg_spool.h"
#include "tg_utf8.h"

int tgp_module_opts(pam_handle_t *pamh, int argc, const char **argv, struct tgp_opts *o)
{
	char err[512];
	int r;

	if ((r = tgp_opts_load(o, argc, argv, err, sizeof(err))) != TG_OK) {
		pam_syslog(pamh, LOG_ERR, "configuration refused, failing closed: %s", err);
		return r;
	}
	return TG_OK;
}

void tgp_log_safe(const char *s, char *out, size_t n)
{
	size_t i;

	if (s == NULL) {
		snprintf(out, n, "(none)");
		return;
	}
	/* the blank too: log lines are "key=value" fields apart, and a name with blanks in it
	 * (the client's to choose) would add fields of its own, a forged rhost= or result= */
	for (i = 0; s[i] != '\0' && i + 1 < n; i++)
		out[i] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
}

const char *tgp_account_name(const char *user, char *out, size_t n)
{
	struct passwd pw, *pwp = NULL;
	char *buf = malloc(TGP_PWBUF);
	const char *name = user;

	if (buf != NULL && getpwnam_r(user, &pw, buf, TGP_PWBUF, &pwp) == 0 && pwp != NULL &&
	    strlen(pw.pw_name) < n) {
		memcpy(out, pw.pw_name, strlen(pw.pw_name) + 1);
		name = out;
	}
	free(buf);
	return name;
}

static const char *item_str(pam_handle_t *pamh, int item)
{
	const void *v = NULL;

	if (pam_get_item(pamh, item, &v) != PAM_SUCCESS || v == NULL)
		return "";
	return v;
}

const char *tgp_rhost(pam_handle_t *pamh)
{
	return item_str(pamh, PAM_RHOST);
}

const char *tgp_service(pam_handle_t *pamh)
{
	return item_str(pamh, PAM_SERVICE);
}

void tgp_free_data(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	free(data);
}

void tgp_connection_keep(pam_handle_t *pamh)
{
	const void *kept = NULL;
	const char *c;
	char *copy;

	if (pam_get_data(pamh, TGP_DATA_CONNECTION, &kept) == PAM_SUCCESS && kept != NULL)
		return;
	c = pam_getenv(pamh, "SSH_CONNECTION");
	/* "" for none: a value set later is not sshd's either */
	if ((copy = strdup(c != NULL ? c : "")) != NULL &&
	    pam_set_data(pamh, TGP_DATA_CONNECTION, copy, tgp_free_data) != PAM_SUCCESS)
		free(copy);
}

const char *tgp_connection(pam_handle_t *pamh)
{
	const void *kept = NULL;

	if (pam_get_data(pamh, TGP_DATA_CONNECTION, &kept) != PAM_SUCCESS || kept == NULL ||
	    *(const char *)kept == '\0')
		return NULL;
	return kept;
}

const char *tgp_ssh_addr(pam_handle_t *pamh, char out[TGP_NUMERIC_MAX])
{
	const char *c = tgp_connection(pamh);
	unsigned char bin[16];
	char *pct;
	size_t n;
	int ok;

	if (c == NULL || (n = strcspn(c, " ")) == 0 || n >= TGP_NUMERIC_MAX)
		return NULL;
	memcpy(out, c, n);
	out[n] = '\0';
	/* a link-local client comes with its zone (getnameinfo's fe80::1%eth0): still sshd's
	 * numeric address, and the zone says which link */
	if ((pct = strchr(out, '%')) != NULL) {
		*pct = '\0';
		ok = inet_pton(AF_INET6, out, bin) == 1 && tg_zone_ok(pct + 1);
		*pct = '%';
	} else {
		ok = inet_pton(AF_INET, out, bin) == 1 || inet_pton(AF_INET6, out, bin) == 1;
	}
	return ok ? out : NULL;
}

json_t *tgp_json_text(const char *s)
{
	return s == NULL ? json_null() : tg_utf8_json(s, NULL);
}

int tgp_event(pam_handle_t *pamh, const struct tgp_opts *o, const char *type, const char *user,
              json_t *fields)
{
	const char *spool = tg_config_str(o->cfg, TG_CONF_GENERAL_SPOOL_DIR);
	const char *host = tg_config_str(o->cfg, TG_CONF_GENERAL_HOSTNAME);
	const char *rhost = tgp_rhost(pamh), *addr, *name = NULL;
	char hostbuf[256], addrbuf[TGP_NUMERIC_MAX], *cut = NULL;
	json_t *ev = json_object();
	int r = TG_ERR_NOMEM, err = 0;

	if (ev == NULL)
		goto out;
	if (*host == '\0') {
		if (tg_config_hostname(NULL, hostbuf, sizeof(hostbuf)) != TG_OK)
			snprintf(hostbuf, sizeof(hostbuf), "unknown"); /* as recordings say */
		host = hostbuf;
	}
	/* the client is sshd's numeric address: with UseDNS yes PAM_RHOST is a name from the
	 * client's own reverse DNS, which it chooses; that name goes beside it */
	if ((addr = tgp_ssh_addr(pamh, addrbuf)) == NULL)
		addr = rhost;
	else if (*rhost != '\0' && strcmp(rhost, addr) != 0)
		name = rhost;
	/* the client's user name is as long as it likes (sshd takes 256 KiB packets): past the
	 * event's size cap the whole event would be lost, a failure unreported. Cut, and said */
	if (user != NULL && strnlen(user, TGP_EVENT_USER_MAX + 1) > TGP_EVENT_USER_MAX) {
		if ((cut = strndup(user, TGP_EVENT_USER_MAX)) == NULL ||
		    json_object_set_new(ev, "user_truncated", json_true()) != 0)
			goto out;
		user = cut;
	}
	/* any of these may come from outside (the user name from the client) */
	if (json_object_set_new(ev, "host", tgp_json_text(host)) != 0 ||
	    json_object_set_new(ev, "user", tgp_json_text(user)) != 0 ||
	    json_object_set_new(ev, "client_addr", tgp_json_text(addr)) != 0 ||
	    json_object_set_new(ev, "client_name", tgp_json_text(name)) != 0 ||
	    json_object_set_new(ev, "service", tgp_json_text(tgp_service(pamh))) != 0)
		goto out;
	if (fields != NULL && json_object_update(ev, fields) != 0)
		goto out;
	/* the spool is made by the package, owned by the audit user: never made here
	 * (root-owned folders would keep the uploader from removing what it sent) */
	r = tg_event_write(spool, type, ev, NULL, 0);
	err = errno;
out:
	errno = err;
	if (r == TG_ERR_SYSTEM || r == TG_ERR_PERM) /* ELOOP: a symlink where a folder should be */
		pam_syslog(pamh, LOG_ERR, "cannot write a %s event to %s/events: %s: %m", type,
		           spool, tg_strerror(r));
	else if (r != TG_OK)
		pam_syslog(pamh, LOG_ERR, "cannot write a %s event to %s/events: %s", type, spool,
		           tg_strerror(r));
	json_decref(ev);
	free(cut);
	return r;
}
