/*
 * pam_bench: time one pam_authenticate of pam_tollgate.so and of
 * pam_google_authenticator.so, on the same secret, interleaved in one run.
 *   pam_bench N CONFDIR USER BASE32 TG_STATE_FILE GA_FILE GA_FILE_COPY
 * Service "tg" and "ga" in CONFDIR. Before each call (not timed) the replay
 * state of both is put back (tollgate's state file from TG_STATE_FILE.orig,
 * a returning user's, or emptied when there is none; the GA file restored
 * from its copy), so that every call starts from the same state and
 * a good code stays good. libpam's fail delay is replaced by a no-op
 * (PAM_FAIL_DELAY item) for both modules: it would otherwise sleep seconds.
 * The codes come from oathtool in a child process (untimed, once per time
 * step): linking liboath here would preload it and hide what loading it
 * costs pam_tollgate.so.
 * Two times per call: pam_authenticate alone (case "good", "bad"), and the
 * whole login from pam_start to pam_end ("good-login", "bad-login"). libpam
 * loads the module and its libraries in pam_start and unloads them in pam_end,
 * so only the second holds the loading; the first holds the page faults of
 * the freshly mapped libraries' first use.
 * Prints "module case microseconds" lines.
 */
#include <fcntl.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *answer;

static int conv(int num, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)num, sizeof(*r));
	int i;

	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < num; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			r[i].resp = strdup(answer);
	*resp = r;
	return PAM_SUCCESS;
}

static void no_delay(int retval, unsigned usec_delay, void *appdata)
{
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY), out;

	if (in < 0 || (out = open(to, O_WRONLY | O_TRUNC)) < 0) {
		perror("restore");
		exit(2);
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			exit(2);
	close(in);
	close(out);
}

/*
 * The current TOTP code for the base32 secret, from oathtool (an independent
 * implementation), run once per 30-second step: a fork before every timed
 * call would cool the caches for both modules.
 */
static void totp_now(const char *base32, char code[16])
{
	static char cached[16];
	static long cached_step = -1;
	long step = (long)(time(NULL) / 30);
	char now[32];
	int fd[2], status;
	ssize_t n;
	pid_t pid;

	if (step == cached_step) {
		memcpy(code, cached, sizeof(cached));
		return;
	}
	snprintf(now, sizeof(now), "--now=@%ld", step * 30);

	if (pipe(fd) != 0 || (pid = fork()) < 0) {
		perror("oathtool");
		exit(2);
	}
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execlp("oathtool", "oathtool", "--totp", "-b", now, base32, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	n = read(fd[0], code, 15);
	close(fd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    n != 7 || code[6] != '\n') {
		fprintf(stderr, "pam_bench: oathtool failed (apt-get install oathtool)\n");
		exit(2);
	}
	code[6] = '\0';
	memcpy(cached, code, sizeof(cached));
	cached_step = step;
}

static void reset(const char *tg_state, const char *ga, const char *ga_copy)
{
	char orig[4096];

	/* a copy of a returning user's state (tg_state.orig) when there is one: an empty file is
	 * a first login's, which also syncs the folder */
	snprintf(orig, sizeof(orig), "%s.orig", tg_state);
	if (access(orig, F_OK) == 0)
		copy_file(orig, tg_state);
	else if (truncate(tg_state, 0) != 0 && access(tg_state, F_OK) == 0) {
		perror("truncate");
		exit(2);
	}
	copy_file(ga_copy, ga);
}

/*
 * One login: pam_start (which loads the module and its libraries), pam_authenticate, pam_end
 * (which unloads them), as sshd does once per connection. *auth: the time of pam_authenticate
 * alone; returns the time of the whole.
 */
static double once(const char *confdir, const char *service, const char *user, const char *code,
                   int expect, double *auth)
{
	struct pam_conv pc = {conv, NULL};
	pam_handle_t *pamh = NULL;
	struct timespec s, a, b, e;
	int rc;

	answer = code;
	clock_gettime(CLOCK_MONOTONIC, &s);
	if (pam_start_confdir(service, user, &pc, confdir, &pamh) != PAM_SUCCESS)
		exit(2);
	pam_set_item(pamh, PAM_RHOST, "192.0.2.50");
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
	clock_gettime(CLOCK_MONOTONIC, &a);
	rc = pam_authenticate(pamh, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	pam_end(pamh, rc);
	clock_gettime(CLOCK_MONOTONIC, &e);
	if ((rc == PAM_SUCCESS) != expect) {
		fprintf(stderr, "%s: unexpected result %d for a %s code\n", service, rc,
		        expect ? "good" : "bad");
		exit(1);
	}
	*auth = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
	return (double)(e.tv_sec - s.tv_sec) * 1e6 + (double)(e.tv_nsec - s.tv_nsec) / 1e3;
}

int main(int argc, char **argv)
{
	char good[16], bad[16];
	int n, i, s;

	if (argc != 8)
		return 2;
	n = atoi(argv[1]);
	for (i = 0; i < n; i++) {
		static const char *svc[2] = {"tg", "ga"};

		totp_now(argv[4], good);
		snprintf(bad, sizeof(bad), "%06d", (atoi(good) + 1) % 1000000);
		for (s = 0; s < 2; s++) {
			/* PAM_BENCH_ONLY=tg or ga: one module alone; PAM_BENCH_GOOD_ONLY: good
			 * codes alone (both for profiling) */
			if (getenv("PAM_BENCH_ONLY") != NULL &&
			    strcmp(getenv("PAM_BENCH_ONLY"), svc[s]) != 0)
				continue;
			double auth, whole;

			reset(argv[5], argv[6], argv[7]);
			whole = once(argv[2], svc[s], argv[3], good, 1, &auth);
			printf("%s good %.1f\n%s good-login %.1f\n", svc[s], auth, svc[s], whole);
			if (getenv("PAM_BENCH_GOOD_ONLY") != NULL)
				continue;
			reset(argv[5], argv[6], argv[7]);
			whole = once(argv[2], svc[s], argv[3], bad, 0, &auth);
			printf("%s bad %.1f\n%s bad-login %.1f\n", svc[s], auth, svc[s], whole);
		}
	}
	return 0;
}
