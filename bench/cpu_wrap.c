/*
 * bench-cpu-wrap: run a command and write the CPU time it and its children
 * used (and its own) to a file, so that bench/recorder can subtract the
 * workload from a recorder's process tree and keep the recorder's own cost.
 *   bench-cpu-wrap OUTFILE COMMAND [ARG...]     OUTFILE: "<microseconds>\n"
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static long long us(const struct rusage *r)
{
	return (long long)(r->ru_utime.tv_sec + r->ru_stime.tv_sec) * 1000000LL +
	       r->ru_utime.tv_usec + r->ru_stime.tv_usec;
}

int main(int argc, char **argv)
{
	struct rusage self, kids;
	int status = 0;
	pid_t pid;
	FILE *f;

	if (argc < 3)
		return 2;
	pid = fork();
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	getrusage(RUSAGE_CHILDREN, &kids);
	getrusage(RUSAGE_SELF, &self);
	if ((f = fopen(argv[1], "w")) != NULL) {
		fprintf(f, "%lld\n", us(&kids) + us(&self));
		fclose(f);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
