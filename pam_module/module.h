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
#define TGP_ENV_SESSION_ID "TOLLGATE_SESSION_ID"
#define TGP_ENV_METHOD "TOLLGATE_MFA_METHOD"
#define TGP_ENV_TOKEN "TOLLGATE_MFA_TOKEN"

/* Room for one getpwnam_r answer. */
#define TGP_PWBUF 16384
/* The most room given to one getgrnam_r answer (a group lists its members). */
#define TGP_GRBUF_MAX (4 * 1024 * 1024)

/* Parse options; on error log why (LOG_ERR) and return non-zero. */
int tgp_module_opts(pam_handle_t *pamh, int argc, const char **argv, struct tgp_opts *o);

/* Copy s into out (size n) with anything but printable ASCII replaced by '?'; "(none)" for NULL. */
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

/* Room for a numeric address (INET6_ADDRSTRLEN). */
#define TGP_NUMERIC_MAX 46
/*
 * sshd's numeric client address, copied into out: the first field of the SSH_CONNECTION that
 * sshd puts in the PAM environment ("addr port laddr lport") before any module runs, when it
 * is an IP address; NULL otherwise (su, sudo: and only the PAM environment is read, never the
 * process's, which the user who runs su sets).
 */
const char *tgp_ssh_addr(pam_handle_t *pamh, char out[TGP_NUMERIC_MAX]);

/* A JSON string of s (NULL: null) with invalid UTF-8 replaced by U+FFFD; NULL when out of
 * memory. For anything from outside: json_string() refuses such text, and the whole event
 * would be lost. */
json_t *tgp_json_text(const char *s);

/*
 * Write one event of type with host, user, client_addr and service set, plus
 * fields (borrowed, may be NULL). Errors are logged and returned; they never
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
