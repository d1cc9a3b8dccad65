/*
 * Internals of pam_tollgate.so shared by its entry points (pam_tollgate.c),
 * the auth flow (auth.c), the session events (session.c) and events.c.
 * Nothing here is exported from the module: only pam_sm_* are.
 */
#ifndef TGP_MODULE_H
#define TGP_MODULE_H

#include <jansson.h>
#include <pwd.h>
#include <security/pam_modules.h>

#include "options.h"

/* pam_set_data names and PAM environment variables. */
#define TGP_DATA_METHOD "tollgate_mfa_method"
#define TGP_DATA_START "tollgate_session_start_us"
#define TGP_DATA_SESSION_ID "tollgate_session_id"
#define TGP_DATA_CONNECTION "tollgate_ssh_connection"
#define TGP_ENV_SESSION_ID "TOLLGATE_SESSION_ID"
#define TGP_ENV_METHOD "TOLLGATE_MFA_METHOD"
#define TGP_ENV_TOKEN "TOLLGATE_MFA_TOKEN"

/* Room for one getpwnam_r answer. */
#define TGP_PWBUF 16384
/* The most room given to one getgrnam_r answer (a group lists its members). */
#define TGP_GRBUF_MAX (4 * 1024 * 1024)

/* Parse options; on error log why (LOG_ERR) and return non-zero. */
int tgp_module_opts(pam_handle_t *pamh, int argc, const char **argv, struct tgp_opts *o);

/* Copy s into out (size n) with anything but printable ASCII, and the blank, replaced by '?'
 * (a log line's fields are blank-separated); "(none)" for NULL. */
void tgp_log_safe(const char *s, char *out, size_t n);

/*
 * The account's own name (pw_name) for user as typed, copied into out (n
 * bytes), which is returned; user itself when there is no such account or its
 * name does not fit. A case-insensitive NSS (SSSD) finds alice for "ALICE":
 * everything kept or recorded about an account uses this name.
 */
const char *tgp_account_name(const char *user, char *out, size_t n);

/* PAM_RHOST, or "" */
const char *tgp_rhost(pam_handle_t *pamh);
/* PAM_SERVICE, or "" */
const char *tgp_service(pam_handle_t *pamh);

/*
 * sshd puts SSH_CONNECTION ("addr port laddr lport") into the PAM environment before any module
 * runs; modules of the session stack before ours (pam_env.so user_readenv=1 reads
 * ~/.pam_environment) may change it. tgp_connection_keep() keeps it as it is now, once per
 * handle (later calls change nothing): the auth step calls it first thing, and setcred, which
 * sshd runs in the process that opens the session, before the session stack.
 * tgp_connection() gives what was kept (NULL: nothing kept, or no SSH_CONNECTION then; su,
 * sudo: and never the process's environment, which the user who runs su sets).
 */
void tgp_connection_keep(pam_handle_t *pamh);
/* pam_set_data's cleanup for a malloc'd block. */
void tgp_free_data(pam_handle_t *pamh, void *data, int error_status);
const char *tgp_connection(pam_handle_t *pamh);

/* Room for a numeric address with a zone (INET6_ADDRSTRLEN + IF_NAMESIZE: "fe80::1%eth0"). */
#define TGP_NUMERIC_MAX (46 + 16)
/* sshd's numeric client address, copied into out: the first field of the kept SSH_CONNECTION
 * when it is an IP address, or an IPv6 address with a zone (getnameinfo gives a link-local
 * client as fe80::1%eth0); NULL otherwise. */
const char *tgp_ssh_addr(pam_handle_t *pamh, char out[TGP_NUMERIC_MAX]);

/* A JSON string of s (NULL: null) with invalid UTF-8 replaced by U+FFFD; NULL when out of
 * memory. For anything from outside: json_string() refuses such text, and the whole event
 * would be lost. */
json_t *tgp_json_text(const char *s);

/* The most bytes of a user name an event holds (Linux's LOGIN_NAME_MAX is 256). */
#define TGP_EVENT_USER_MAX 1024
/*
 * Write one event of type with host, user, client_addr and service set, plus
 * fields (borrowed, may be NULL). A user name longer than TGP_EVENT_USER_MAX is cut there,
 * with "user_truncated": true. Errors are logged and returned; they never
 * change the outcome of an authentication.
 */
int tgp_event(pam_handle_t *pamh, const struct tgp_opts *o, const char *type, const char *user,
              json_t *fields);

/* Is the user a member of group (primary or supplementary)? */
int tgp_in_group(const struct passwd *pw, const char *group);
int tgp_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv);
int tgp_session_open(pam_handle_t *pamh, int flags, int argc, const char **argv);
int tgp_session_close(pam_handle_t *pamh, int flags, int argc, const char **argv);

#endif
