/*
 * What the recorder learns about the session before it starts it: who, from
 * where, which command, which terminal. Everything that comes from the
 * environment is untrusted (the user may control it) and is validated here;
 * what fails validation is dropped, never passed on to the header.
 */
#ifndef SESSION_INFO_H
#define SESSION_INFO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tg_rec.h" /* TG_BOOT_ID_LEN */

#define SESSION_PAM_ID_LEN 32 /* hex chars of TOLLGATE_SESSION_ID */

struct session_info {
	char user[256];
	uid_t uid;
	gid_t gid;
	char home[1024];
	char shell[1024]; /* the account's shell (pw_shell); "" when too long */
	char host[256];
	char client_addr[64]; /* "" when unknown */
	unsigned client_port;
	char pam_session_id[SESSION_PAM_ID_LEN + 1]; /* "" when absent or invalid */
	char term[128];                              /* "" when no terminal */
	int tty;                                     /* stdin is a terminal */
	unsigned cols, rows;
	long sshd_pid;
	uint32_t audit_session; /* tg_audit_session(): the login's, which the uploader compares */
	char boot_id[TG_BOOT_ID_LEN +
	             1]; /* tg_boot_id(): the boot that audit session is of; "": none */
};

/* Fill si for the user with uid (from the password database, not $USER). */
int session_info_gather(struct session_info *si, uid_t uid, const char *hostname_cfg);

/* Parse "addr port ..." (SSH_CONNECTION or SSH_CLIENT): 1 when valid. An IPv6 link-local addr
 * keeps its zone ("fe80::1%eth0"). */
int session_parse_ssh_conn(const char *s, char *addr, size_t addrlen, unsigned *port);
/* Exactly 32 hex digits: 1, and the lower-case copy in out (33 bytes). */
int session_valid_pam_id(const char *s, char *out);
/* A TERM value worth keeping: 1..127 chars of [A-Za-z0-9._+-]. */
int session_valid_term(const char *s);

#endif
