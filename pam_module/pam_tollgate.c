/*
 * pam_tollgate.so: TOTP second factor (auth) and login/logout events
 * (session). The entry points only hand over; see auth.c and session.c.
 * Only pam_sm_* leave this module (pam_module/local.am's export regex).
 */
#include <security/pam_modules.h>

#include "module.h"

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return tgp_authenticate(pamh, flags, argc, argv);
}

/* sshd runs auth in a child of its own, and setcred in the process that opens the session,
 * before the session stack: SSH_CONNECTION is kept there for the events. */
PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	tgp_connection_keep(pamh);
	return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return tgp_session_open(pamh, flags, argc, argv);
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return tgp_session_close(pamh, flags, argc, argv);
}
