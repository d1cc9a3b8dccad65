#include "session_info.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tg_addr.h"
#include "tg_config.h"
#include "tg_error.h"
#include "tg_event.h"
#include "tg_log.h"

/*
 * An IPv6 address with the zone sshd gives a link-local client ("fe80::1%eth0": getnameinfo
 * adds the interface, or its index): the address valid, the zone one tg_zone_ok takes (as the
 * PAM module does, so a login's client_addr is its recording's).
 */
static int valid_zoned_ipv6(char *a, unsigned char *sa)
{
	char *zone = strchr(a, '%');
	int ok;

	if (zone == NULL || !tg_zone_ok(zone + 1))
		return 0;
	*zone = '\0';
	ok = inet_pton(AF_INET6, a, sa) == 1;
	*zone = '%';
	return ok;
}

int session_parse_ssh_conn(const char *s, char *addr, size_t addrlen, unsigned *port)
{
	unsigned char sa[sizeof(struct in6_addr)];
	char a[64], p[8], *end;
	unsigned long v;

	if (s == NULL || sscanf(s, "%63s %7s", a, p) != 2)
		return 0;
	if (inet_pton(AF_INET, a, sa) != 1 && inet_pton(AF_INET6, a, sa) != 1 &&
	    !valid_zoned_ipv6(a, sa))
		return 0;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno != 0 || *end != '\0' || !isdigit((unsigned char)p[0]) || v == 0 || v > 65535)
		return 0;
	if (strlen(a) >= addrlen)
		return 0;
	snprintf(addr, addrlen, "%s", a);
	*port = (unsigned)v;
	return 1;
}

int session_valid_pam_id(const char *s, char *out)
{
	size_t i;

	if (s == NULL || strlen(s) != SESSION_PAM_ID_LEN)
		return 0;
	for (i = 0; i < SESSION_PAM_ID_LEN; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return 0;
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[i] = '\0';
	return 1;
}

int session_valid_term(const char *s)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > 127)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("._+-", s[i]) == NULL)
			return 0;
	return 1;
}

int session_info_gather(struct session_info *si, uid_t uid, const char *hostname_cfg)
{
	struct passwd *pw;
	struct winsize ws;
	const char *t;

	memset(si, 0, sizeof(*si));
	errno = 0;
	if ((pw = getpwuid(uid)) == NULL)
		return errno != 0 ? TG_ERR_SYSTEM : TG_ERR_NOT_FOUND;
	if (strlen(pw->pw_name) >= sizeof(si->user) || strlen(pw->pw_dir) >= sizeof(si->home))
		return TG_ERR_LIMIT;
	snprintf(si->user, sizeof(si->user), "%s", pw->pw_name);
	snprintf(si->home, sizeof(si->home), "%s", pw->pw_dir);
	if (pw->pw_shell != NULL && strlen(pw->pw_shell) < sizeof(si->shell))
		snprintf(si->shell, sizeof(si->shell), "%s", pw->pw_shell);
	si->uid = uid;
	si->gid = pw->pw_gid;
	/* not bytes that are no text, nor control characters, into the header */
	if (tg_config_hostname(hostname_cfg, si->host, sizeof(si->host)) != TG_OK) {
		tg_warn("the host's name (gethostname) is empty, unreadable, or not UTF-8 text "
		        "without control characters: the recording says \"unknown\"");
		snprintf(si->host, sizeof(si->host), "unknown");
	}
	if (!session_parse_ssh_conn(getenv("SSH_CONNECTION"), si->client_addr,
	                            sizeof(si->client_addr), &si->client_port) &&
	    !session_parse_ssh_conn(getenv("SSH_CLIENT"), si->client_addr, sizeof(si->client_addr),
	                            &si->client_port)) {
		si->client_addr[0] = '\0';
		si->client_port = 0;
	}
	if (!session_valid_pam_id(getenv("TOLLGATE_SESSION_ID"), si->pam_session_id))
		si->pam_session_id[0] = '\0';
	si->tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	if (si->tty) {
		t = getenv("TERM");
		snprintf(si->term, sizeof(si->term), "%s", session_valid_term(t) ? t : "dumb");
		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
			si->cols = ws.ws_col;
			si->rows = ws.ws_row;
		}
	}
	si->sshd_pid = (long)getppid();
	/* the session id above comes from the environment, which a user's ~/.bashrc can set to
	 * another of their logins'; this one comes from the kernel, inherited from the process
	 * PAM ran in, and the uploader counts a recording for a login only when the two agree */
	si->audit_session = tg_audit_session();
	/* audit session ids start again at each boot: with the boot, it names one login */
	(void)tg_boot_id(si->boot_id);
	return TG_OK;
}
