/*
 * pty-relay-bare: the baseline of bench/recorder. A pseudo-terminal relay that
 * records nothing: the outer terminal raw, the command on a new pty, poll()
 * both ways with 64 KiB buffers, read-then-write at once (as tollgate-record
 * does), exit status passed on. What a recorder costs is measured against it.
 *   pty-relay-bare COMMAND [ARG...]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define BUF (64 * 1024)

static struct termios saved;
static int raw_set;
static volatile sig_atomic_t got_chld;

static void on_chld(int sig)
{
	(void)sig;
	got_chld = 1;
}

static void restore(void)
{
	if (raw_set)
		tcsetattr(0, TCSADRAIN, &saved);
}

/* Write all of p (blocking). 0 on success. */
static int put(int fd, const unsigned char *p, size_t n)
{
	ssize_t k;

	while (n > 0) {
		k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd w = {fd, POLLOUT, 0};

				poll(&w, 1, -1);
				continue;
			}
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static unsigned char buf[BUF];
	struct termios raw;
	struct winsize ws;
	struct pollfd pfd[2];
	struct timespec ts = {0, 100 * 1000 * 1000};
	sigset_t block, waitmask;
	int master, slave, status = 0, exited = 0, r;
	ssize_t n;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: pty-relay-bare COMMAND [ARG...]\n");
		return 2;
	}
	if (tcgetattr(0, &saved) != 0 || ioctl(0, TIOCGWINSZ, &ws) != 0) {
		perror("pty-relay-bare: stdin is not a terminal");
		return 1;
	}
	if (openpty(&master, &slave, NULL, &saved, &ws) != 0) {
		perror("openpty");
		return 1;
	}
	signal(SIGCHLD, on_chld);
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	pid = fork();
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &waitmask, NULL);
		close(master);
		setsid();
		ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		if (slave > 2)
			close(slave);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	raw = saved;
	cfmakeraw(&raw);
	tcsetattr(0, TCSADRAIN, &raw);
	raw_set = 1;
	atexit(restore);
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	close(slave);
	for (;;) {
		if (got_chld && !exited)
			exited = waitpid(pid, &status, WNOHANG) == pid;
		pfd[0].fd = exited ? -1 : 0;
		pfd[0].events = POLLIN;
		pfd[1].fd = master;
		pfd[1].events = POLLIN;
		r = ppoll(pfd, 2, exited ? &ts : NULL, &waitmask);
		if (r < 0 && errno != EINTR)
			break;
		if (r == 0 && exited)
			break;
		if (r <= 0)
			continue;
		if (pfd[1].revents) {
			n = read(master, buf, sizeof(buf));
			if (n > 0) {
				if (put(1, buf, (size_t)n) != 0)
					break;
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				break;
			}
		}
		if (pfd[0].revents) {
			n = read(0, buf, sizeof(buf));
			if (n <= 0)
				break;
			if (put(master, buf, (size_t)n) != 0)
				break;
		}
	}
	if (!exited)
		waitpid(pid, &status, 0);
	restore();
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
