#include "term_raw.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tg_error.h"

static struct termios saved_tio, raw_tio;
static volatile sig_atomic_t saved_fd = -1;

void term_raw_restore(void)
{
	int fd = saved_fd;

	if (fd >= 0) {
		ioctl(fd, TIOCNXCL);
		/* from the background too (the parent that ran this in the foreground is gone):
		 * SIGTTOU would stop this process there, or, in an orphaned group, the kernel
		 * refuse the change */
		signal(SIGTTOU, SIG_IGN);
		tcsetattr(fd, TCSADRAIN, &saved_tio);
		saved_fd = -1;
	}
}

void term_raw_restore_left(void)
{
	struct termios now;
	int fd = saved_fd;

	if (fd < 0)
		return;
	if (tcgetattr(fd, &now) != 0 || now.c_iflag != raw_tio.c_iflag ||
	    now.c_oflag != raw_tio.c_oflag || now.c_cflag != raw_tio.c_cflag ||
	    now.c_lflag != raw_tio.c_lflag ||
	    memcmp(now.c_cc, raw_tio.c_cc, sizeof(now.c_cc)) != 0) {
		ioctl(fd, TIOCNXCL);
		saved_fd = -1;
		return;
	}
	term_raw_restore();
}

/* A crash must not leave the user's terminal raw: restore, then die as we would have. */
static void on_fatal(int sig)
{
	term_raw_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

int term_raw_enter(int fd, struct termios *saved)
{
	static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
	struct termios raw;
	struct sigaction sa;
	size_t i;

	if (tcgetattr(fd, saved) != 0)
		return TG_ERR_SYSTEM;
	saved_tio = *saved;
	raw = *saved;
	cfmakeraw(&raw);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	raw_tio = raw;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND;
	for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
	saved_fd = fd;
	atexit(term_raw_restore);
	if (tcsetattr(fd, TCSADRAIN, &raw) != 0) {
		saved_fd = -1;
		return TG_ERR_SYSTEM;
	}
	/* sshd gave the user this terminal's slave (owner, mode 0620): without this, any of the
	 * user's processes could open it and write to the client, or read keystrokes, past the
	 * recorder. Now only a process with CAP_SYS_ADMIN can open it again. */
	ioctl(fd, TIOCEXCL);
	return TG_OK;
}
