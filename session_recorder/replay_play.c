/*
 * tollgate-replay play: the output with its original timing, in the
 * terminal. Seeking backwards is exact: the terminal is reset and the
 * recording rendered again from its start up to the target, without delays.
 * The terminal is restored on every way out (end, q, errors, signals).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "replay.h"
#include "tg_error.h"
#include "tg_event.h"
#include "tg_log.h"
#include "tg_utf8.h"

#define SEEK_SMALL_US 5000000ULL
#define SEEK_BIG_US 60000000ULL
/* At most this much session time a wait overran by is taken off the next (a stall, such as
 * a suspended laptop, must not make play rush through what follows) */
#define LATE_MAX_US 250000ULL

static struct termios saved_tio;
static int tio_fd = -1; /* the terminal we changed, -1 when none */
static int out_is_tty;
/* the terminal shown on (stdin's, else stdout's), whose pending input is discarded at the
 * end; -1 when none */
static int shown_fd = -1;
static volatile sig_atomic_t got_signal;

static void term_raw(void)
{
	struct termios t;

	if (tio_fd < 0)
		return;
	t = saved_tio;
	/* keys one at a time, no echo; ^C and ^Z still signal */
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	tcsetattr(tio_fd, TCSAFLUSH, &t);
}

/* Before the recording is shown (again, after ^Z): what term_restore takes back. */
static void term_start(void)
{
	if (out_is_tty) {
		ssize_t k = write(STDOUT_FILENO, REPLAY_TERM_START, sizeof(REPLAY_TERM_START) - 1);

		(void)k;
	}
}

static void term_restore(void)
{
	if (tio_fd >= 0)
		tcsetattr(tio_fd, TCSAFLUSH, &saved_tio);
	if (out_is_tty) {
		ssize_t k = write(STDOUT_FILENO, REPLAY_TERM_RESTORE "\r\n",
		                  sizeof(REPLAY_TERM_RESTORE "\r\n") - 1);

		(void)k;
	}
	/* the shell (or ^Z's) reads what is typed next: not an answer to the recording */
	if (shown_fd >= 0)
		replay_discard_input(shown_fd, 0);
}

static void on_signal(int sig)
{
	got_signal = sig;
}

static volatile sig_atomic_t got_cont;

/* ^Z: give the shell its terminal back and stop; on fg take it again (all async-signal-safe). */
static void on_tstp(int sig)
{
	int saved = errno;
	struct sigaction sa;
	sigset_t set;

	term_restore();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTSTP, &sa, NULL);
	/* the handler runs with SIGTSTP blocked: unblock it, or raise() only queues it */
	sigemptyset(&set);
	sigaddset(&set, SIGTSTP);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGTSTP);
	/* continued */
	sa.sa_handler = on_tstp;
	sigaction(SIGTSTP, &sa, NULL);
	term_raw();
	term_start();
	got_cont = 1;
	(void)sig;
	errno = saved;
}

struct play {
	const struct replay_opts *o;
	const char *name;
	uint64_t limit;
	struct replay_src src;
	int src_open;
	struct tg_rec_reader *r;
	struct tg_rec_record next;
	int have_next;
	int status;      /* the gate's verdict: not TG_OK with --force, under a banner */
	int ended;       /* the reader reached the end, or the gate's limit */
	uint64_t cur_us; /* the session time shown so far */
	uint64_t late_us; /* how much the last wait overran its delay: poll() sleeps whole ms */
	double speed;
	int paused;
	int keys_fd;
	unsigned char kbuf[32]; /* keys read but not handled yet */
	size_t klen, kpos;
	int quit;
	int werr;
	struct replay_guard guard; /* what of the recording reaches the terminal (not --raw) */
	uint64_t dropped;          /* output bytes a cap kept out (DROPPED records read) */
	int transfer;              /* ... or transfer_content = metadata */
};

/* The next OUT/ERR record that may be shown; have_next = 0 at the end. */
static int advance(struct play *p)
{
	int e;

	for (;;) {
		e = tg_rec_reader_next(p->r, &p->next);
		if (e <= 0 || p->next.offset >= p->limit) {
			p->have_next = 0;
			p->ended = 1;
			return e < 0 && e != TG_ERR_FORMAT ? e : TG_OK;
		}
		if (p->next.type == TG_REC_OUT || p->next.type == TG_REC_ERR)
			break;
		if (p->next.type == TG_REC_DROPPED && p->next.stream != TG_REC_IN) {
			p->dropped += p->next.dropped;
			p->transfer = strcmp(tg_rec_reader_header(p->r)->mode, "transfer") == 0;
		}
	}
	if (p->o->has_to && p->next.time_us > p->o->to_us) {
		p->have_next = 0;
		return TG_OK;
	}
	p->have_next = 1;
	return TG_OK;
}

static void put(struct play *p, const void *d, size_t n)
{
	if (n > 0 && fwrite(d, 1, n, stdout) != n)
		p->werr = 1;
}

/* Show recorded output: through the guard, unless --raw. */
static void show(struct play *p, const void *d, size_t n)
{
	if (p->o->raw)
		put(p, d, n);
	else if (replay_guard_write(&p->guard, stdout, d, n) != 0)
		p->werr = 1;
}

/* Show what was put: output that cannot be written (a full disk, a reader gone: SIGPIPE is
 * ignored) ends play, which must not go on for the session's length into nothing. */
static void flush(struct play *p)
{
	if (fflush(stdout) != 0)
		p->werr = 1;
}

/* (Re)open the recording at its start. */
static int reopen(struct play *p)
{
	int e;

	tg_rec_reader_free(p->r);
	p->r = NULL;
	if (p->src_open)
		replay_src_close(&p->src);
	p->src_open = 0;
	if (replay_src_open(&p->src, p->o, p->name) != TG_OK)
		return TG_ERR_IO;
	p->src_open = 1;
	if ((e = tg_rec_reader_open(&p->r, &p->src.src, p->o->have_pk ? p->o->host_pk : NULL)) !=
	    TG_OK)
		return e;
	p->cur_us = 0;
	p->ended = 0;
	p->dropped = 0; /* read again from the start (a seek back): counted again */
	return advance(p);
}

/* Read on, showing nothing, to where the gate's limit or the input ends: q, --to and a
 * backward seek's new pass stop short of it, and the verdict must cover all of it. */
static int read_rest(struct play *p)
{
	int e = TG_OK;

	while (!p->ended && (e = advance(p)) == TG_OK)
		;
	return e;
}

/* Show everything before target at once, then stand at target. */
static int fast_forward(struct play *p, uint64_t target)
{
	int e;

	while (p->have_next && p->next.time_us < target) {
		if (got_signal)
			return TG_ERR_INTERRUPTED; /* a long render must not hold up ^C */
		show(p, p->next.data, p->next.len);
		p->cur_us = p->next.time_us;
		if ((e = advance(p)) != TG_OK)
			return e;
	}
	if (target > p->cur_us)
		p->cur_us = target;
	flush(p);
	return TG_OK;
}

static void banner(const char *name_in, int status)
{
	char *safe = replay_text_safe(stdout, name_in);
	const char *name = safe != NULL ? safe : "?";

	fprintf(stdout,
	        "\033[0m\033[7m *** tollgate-replay: %s is %s: NOT VERIFIED, shown because of "
	        "--force *** \033[0m\r\n",
	        name,
	        status == TG_ERR_UNSEALED ? "not sealed" : "TAMPERED or signed by another key");
	fflush(stdout);
	free(safe);
}

/* Seek to target: forwards by rendering on, backwards by resetting and rendering from the start. */
/* Reset the terminal and render from the start up to target. */
static int redraw(struct play *p, uint64_t target)
{
	int e;

	put(p, "\033c", 2);
	/* the reset took the banner away: what is drawn again is no more verified than before */
	if (p->status != TG_OK && p->o->force) {
		flush(p);
		banner(p->name, p->status);
	}
	replay_guard_restart(&p->guard); /* the stream starts again */
	if ((e = reopen(p)) != TG_OK)
		return e;
	return fast_forward(p, target);
}

static int seek(struct play *p, uint64_t target)
{
	/* backwards: a full reset, and the screen is rebuilt exactly from the start */
	if (target < p->cur_us)
		return redraw(p, target);
	return fast_forward(p, target);
}

enum key {
	K_NONE,
	K_EOF,
	K_PAUSE,
	K_STEP,
	K_FASTER,
	K_SLOWER,
	K_FWD,
	K_BACK,
	K_FWD_BIG,
	K_BACK_BIG,
	K_QUIT
};

/* The next key typed: reads when nothing is pending; several keys may come in one read. */
static enum key read_key(struct play *p)
{
	unsigned char c;
	ssize_t n;

	if (p->klen == 0) {
		n = read(p->keys_fd, p->kbuf, sizeof(p->kbuf));
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return K_EOF;
		if (n < 0)
			return K_NONE;
		p->klen = (size_t)n;
		p->kpos = 0;
	}
	c = p->kbuf[p->kpos];
	if (c == 0x1b) {
		/* ESC [ X or ESC O X: arrows; anything else with ESC is dropped */
		if (p->klen - p->kpos >= 3 &&
		    (p->kbuf[p->kpos + 1] == '[' || p->kbuf[p->kpos + 1] == 'O')) {
			c = p->kbuf[p->kpos + 2];
			p->kpos += 3;
			if (p->kpos == p->klen)
				p->klen = 0;
			switch (c) {
			case 'C':
				return K_FWD;
			case 'D':
				return K_BACK;
			case 'A':
				return K_FWD_BIG;
			case 'B':
				return K_BACK_BIG;
			default:
				return K_NONE;
			}
		}
		p->klen = 0;
		return K_NONE;
	}
	if (++p->kpos == p->klen)
		p->klen = 0;
	switch (c) {
	case ' ':
		return K_PAUSE;
	case '.':
		return K_STEP;
	case '+':
	case '=':
		return K_FASTER;
	case '-':
	case '_':
		return K_SLOWER;
	case 'q':
	case 'Q':
		return K_QUIT;
	default:
		return K_NONE;
	}
}

/*
 * Wait delay_us of session time (at the current speed), handling keys.
 * Returns 1 to show the next record now, 0 when the position changed
 * (seek) or q was pressed and the caller must look again, <0 on error.
 */
static int wait_for_next(struct play *p, uint64_t delay_us)
{
	/* session time gone by while waiting: the last wait's overrun is gone by already, else
	 * records closer together than a millisecond would each take one */
	uint64_t start = tg_mono_us(), waited = p->late_us;
	struct pollfd pfd = {p->keys_fd, POLLIN, 0};
	uint64_t pos, step;
	enum key k;
	int timeout, n, e;

	p->late_us = 0;
	for (;;) {
		uint64_t t = tg_mono_us();

		if (got_signal)
			return TG_ERR_INTERRUPTED;
		if (got_cont) {
			/* back from ^Z: the screen may hold anything; draw it again as it was */
			got_cont = 0;
			pos = p->cur_us + (waited < delay_us ? waited : delay_us);
			if ((e = redraw(p, pos)) != TG_OK)
				return e;
			flush(p);
			return 0;
		}
		if (!p->paused) {
			waited += (uint64_t)((double)(t - start) * p->speed);
			if (waited >= delay_us) {
				p->late_us = waited - delay_us < LATE_MAX_US ? waited - delay_us
				                                             : LATE_MAX_US;
				return 1;
			}
			double ms = (double)(delay_us - waited) / p->speed / 1000.0;

			/* a crafted pause of weeks must not overflow an int (and spin): wake each
			 * second at most, and count again */
			timeout = ms >= 1000.0 ? 1000 : (int)ms + 1;
		} else {
			timeout = -1;
		}
		start = t;
		if (p->keys_fd < 0) {
			n = poll(NULL, 0, timeout < 0 ? 1000 : timeout);
			if (n < 0 && errno != EINTR)
				return TG_ERR_SYSTEM;
			continue;
		}
		if (p->klen == 0) {
			n = poll(&pfd, 1, timeout);
			if (n < 0 && errno != EINTR)
				return TG_ERR_SYSTEM;
			if (n <= 0)
				continue;
		}
		k = read_key(p);
		if (k == K_EOF) {
			/* the keyboard went away: nobody is left to unpause, so play on without it */
			if (p->paused) /* paused until now: that time is not waited */
				start = tg_mono_us();
			p->keys_fd = -1;
			p->paused = 0;
			continue;
		}
		t = tg_mono_us();
		if (!p->paused)
			waited += (uint64_t)((double)(t - start) * p->speed);
		start = t; /* paused until now: that time is not waited */
		pos = p->cur_us + (waited < delay_us ? waited : delay_us);
		switch (k) {
		case K_PAUSE:
			p->paused = !p->paused;
			break;
		case K_STEP:
			if (p->paused)
				return 1;
			break;
		case K_FASTER:
			p->speed = p->speed * 2 > 64 ? 64 : p->speed * 2;
			break;
		case K_SLOWER:
			p->speed = p->speed / 2 < 1.0 / 64 ? 1.0 / 64 : p->speed / 2;
			break;
		case K_FWD:
		case K_FWD_BIG:
			step = k == K_FWD ? SEEK_SMALL_US : SEEK_BIG_US;
			if ((e = seek(p, pos + step)) != TG_OK)
				return e;
			flush(p);
			return 0;
		case K_BACK:
		case K_BACK_BIG:
			step = k == K_BACK ? SEEK_SMALL_US : SEEK_BIG_US;
			if ((e = seek(p, pos > step ? pos - step : 0)) != TG_OK)
				return e;
			flush(p);
			return 0;
		case K_QUIT:
			p->quit = 1;
			return 0;
		case K_NONE:
		case K_EOF:
			break;
		}
	}
}

static int play_loop(struct play *p)
{
	uint64_t delay;
	int e;

	if (p->o->has_from && (e = fast_forward(p, p->o->from_us)) != TG_OK)
		return e;
	while (p->have_next && !p->quit && !p->werr) {
		delay = p->next.time_us > p->cur_us ? p->next.time_us - p->cur_us : 0;
		if (p->o->idle_limit_us > 0 && delay > p->o->idle_limit_us)
			delay = p->o->idle_limit_us;
		e = wait_for_next(p, delay);
		if (e < 0)
			return e;
		if (e == 0)
			continue;
		show(p, p->next.data, p->next.len);
		flush(p);
		p->cur_us = p->next.time_us;
		if ((e = advance(p)) != TG_OK)
			return e;
	}
	return p->werr ? TG_ERR_IO : TG_OK;
}

int replay_cmd_play(const struct replay_opts *o, int argc, char **argv)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	struct sigaction sa, old[4], old_tstp;
	struct tg_rec_verdict v;
	struct play p;
	uint64_t limit = 0;
	int status = TG_OK, code, e, had_tty = 0;
	size_t i;

	if (argc != 1) {
		tg_error("play: one FILE");
		return REPLAY_EXIT_USAGE;
	}
	if ((code = replay_gate(o, argv[0], &limit, &status)) != REPLAY_EXIT_OK)
		return code;
	memset(&p, 0, sizeof(p));
	p.o = o;
	p.name = argv[0];
	p.limit = limit;
	p.status = status;
	p.speed = o->speed;
	p.keys_fd = -1;
	out_is_tty = isatty(STDOUT_FILENO);
	/* the locale's charset is a terminal's; a file or a pipe gets the recorded text as it was
	 * (the same bytes as cat's, withheld sequences apart) */
	replay_guard_init_term(&p.guard, replay_8bit_tty(STDOUT_FILENO));
	if (isatty(STDIN_FILENO) && strcmp(argv[0], "-") != 0 &&
	    tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
		tio_fd = STDIN_FILENO;
		had_tty = 1;
		p.keys_fd = STDIN_FILENO;
	}
	shown_fd = tio_fd >= 0 ? tio_fd : out_is_tty ? STDOUT_FILENO : -1;
	/* a signal only sets a flag: the loop ends, restores the terminal, then dies of it */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, &old[i]);
	signal(SIGPIPE, SIG_IGN);
	atexit(term_restore);
	if (tio_fd >= 0) {
		sa.sa_handler = on_tstp;
		sigaction(SIGTSTP, &sa, &old_tstp);
	}
	term_raw();
	term_start();

	if (status != TG_OK && o->force)
		banner(argv[0], status);
	code = REPLAY_EXIT_USAGE;
	if ((e = reopen(&p)) != TG_OK) {
		tg_error("%s: %s", argv[0], tg_strerror(e));
		goto out;
	}
	e = play_loop(&p);
	if (e == TG_OK && !p.quit)
		replay_guard_end(&p.guard);
	if (e == TG_ERR_INTERRUPTED)
		goto out;
	if (e != TG_OK) {
		term_restore();
		tio_fd = -1;
		out_is_tty = 0;
		if (p.werr)
			tg_error("stdout: write failed");
		else
			tg_error("%s: %s", argv[0], tg_strerror(e));
		goto out;
	}
	if (status != TG_OK && o->force)
		banner(argv[0], status);
	code = replay_exit_for(status);
	/* what was shown must be what the gate verified (the file may have been rewritten in
	 * place meanwhile): a sealed one must end in the same seal */
	if (!o->force && code != REPLAY_EXIT_TAMPERED) {
		fflush(stdout);
		term_restore();
		tio_fd = -1;
		out_is_tty = 0;
		if ((e = read_rest(&p)) != TG_OK) {
			tg_error("%s: %s", argv[0], tg_strerror(e));
			code = REPLAY_EXIT_USAGE;
			goto out;
		}
		tg_rec_reader_verdict(p.r, &v);
		if (replay_recheck(o, argv[0], status, &v) != REPLAY_EXIT_OK)
			code = REPLAY_EXIT_TAMPERED;
	}
out:
	tg_rec_reader_free(p.r);
	if (p.src_open)
		replay_src_close(&p.src);
	fflush(stdout);
	term_restore();
	tio_fd = -1;
	out_is_tty = 0;
	/* again, as late as can be: the recheck may have taken a while, and with --raw the
	 * terminal may still be answering */
	if (shown_fd >= 0)
		replay_discard_input(shown_fd, o->raw);
	shown_fd = -1;
	if (!o->raw) /* after the screen is back: to be read */
		replay_guard_report(&p.guard, argv[0], 0);
	/* what was not shown because it was never stored, as cat says it */
	replay_warn_dropped(argv[0], p.dropped, 0, p.transfer);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &old[i], NULL);
	if (had_tty)
		sigaction(SIGTSTP, &old_tstp, NULL);
	if (got_signal) {
		signal(got_signal, SIG_DFL);
		raise(got_signal);
	}
	return code;
}
