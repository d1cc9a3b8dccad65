/*
 * pam_driver: drive pam_tollgate.so through the real libpam with a private
 * service folder (pam_start_confdir), for the integration scripts.
 *   pam_driver [-s] [-n N] [-r RHOST] CONFDIR SERVICE USER [ANSWER...]
 * Each echo-off prompt is answered with the next ANSWER; with none left the
 * conversation fails. -s also opens and closes a session and prints
 * TOLLGATE_SESSION_ID. -n N forks N processes that all authenticate at the
 * same instant (released together through a pipe) and prints how many
 * succeeded. Exit 0 when (every) authentication succeeded, 1 otherwise.
 */
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct answers {
	char **v;
	int n, next;
};

static int conv(int num, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct answers *a = data;
	struct pam_response *r = calloc((size_t)num, sizeof(*r));
	int i;

	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < num; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
			if (a->next >= a->n) {
				free(r);
				return PAM_CONV_ERR;
			}
			r[i].resp = strdup(a->v[a->next++]);
		} else if (msg[i]->msg != NULL) {
			fprintf(stderr, "pam says: %s\n", msg[i]->msg);
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static void no_delay(int retval, unsigned usec_delay, void *appdata)
{
}

static int one(const char *confdir, const char *service, const char *user, const char *rhost,
               struct answers *a, int session)
{
	struct pam_conv pc = {conv, a};
	pam_handle_t *pamh = NULL;
	int rc;

	if ((rc = pam_start_confdir(service, user, &pc, confdir, &pamh)) != PAM_SUCCESS) {
		fprintf(stderr, "pam_start_confdir: %d\n", rc);
		return 2;
	}
	pam_set_item(pamh, PAM_RHOST, rhost);
	pam_set_item(pamh, PAM_TTY, "ssh");
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
	rc = pam_authenticate(pamh, 0);
	printf("auth=%s\n", pam_strerror(pamh, rc));
	if (rc == PAM_SUCCESS && session) {
		int s = pam_open_session(pamh, 0);
		const char *id = pam_getenv(pamh, "TOLLGATE_SESSION_ID");

		printf("open_session=%s\nTOLLGATE_SESSION_ID=%s\n", pam_strerror(pamh, s),
		       id ? id : "");
		s = pam_close_session(pamh, 0);
		printf("close_session=%s\n", pam_strerror(pamh, s));
	}
	fflush(stdout);
	pam_end(pamh, rc);
	return rc == PAM_SUCCESS ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct answers a = {NULL, 0, 0};
	const char *rhost = "192.0.2.10";
	int c, n = 0, session = 0, i, ok = 0, gate[2];

	while ((c = getopt(argc, argv, "sn:r:")) != -1) {
		if (c == 's')
			session = 1;
		else if (c == 'n')
			n = atoi(optarg);
		else if (c == 'r')
			rhost = optarg;
		else
			return 2;
	}
	if (argc - optind < 3)
		return 2;
	a.v = argv + optind + 3;
	a.n = argc - optind - 3;
	if (n <= 0)
		return one(argv[optind], argv[optind + 1], argv[optind + 2], rhost, &a, session);
	if (pipe(gate) != 0)
		return 2;
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return 2;
		if (pid == 0) {
			char b;

			close(gate[1]);
			if (read(gate[0], &b, 1) <
			    0) /* returns 0 when the parent lets go of the write end */
				_exit(2);
			_exit(one(argv[optind], argv[optind + 1], argv[optind + 2], rhost, &a, 0));
		}
	}
	close(gate[0]);
	close(gate[1]); /* release every child at once */
	for (i = 0; i < n; i++) {
		int st;

		if (wait(&st) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
	}
	printf("succeeded=%d of %d\n", ok, n);
	return ok == n ? 0 : 1;
}
