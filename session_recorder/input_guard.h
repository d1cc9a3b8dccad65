/*
 * Which typed bytes may be stored (record_input = yes) and which are a secret
 * that only an IN_HIDDEN count stands for.
 *
 * Judged by the shell's terminal modes when the bytes arrive:
 * - ECHO on: stored; what is typed is on the screen anyway.
 * - ECHO off, ICANON on: hidden. This is how getpass() and readpassphrase()
 *   read (sudo, su, ssh, passwd, python's getpass, bash's read -s).
 * - ECHO off, ICANON off: line editors (readline, zle) and full-screen
 *   programs, which echo by themselves: stored, unless the last line of
 *   output looks like a secret prompt (input_guard_is_prompt), as a raw-mode
 *   prompt such as vim's :X or pinentry-curses is, or the last output ended
 *   a line that did, with nothing after it ("Enter your PIN:\n", then raw
 *   mode: whenever the recorder read it). Then the bytes are hidden up to and
 *   including the Enter (CR or LF) that answers it, and the rest of the same
 *   read too (typed before the program could draw again: a pasted key and its
 *   confirmation).
 * - modes unknown: hidden.
 *
 * The last line is the output since the last CR or LF, its last
 * INPUT_GUARD_TAIL bytes; it is kept on every output read (a copy of at most
 * that many bytes) and looked at, escape sequences skipped, only when input
 * arrives with ECHO and ICANON off. And before it goes: before output pushes
 * bytes out of it without a new line (a full-screen program drawing on: the
 * clock of tmux's status line, inside which sudo asks for a password), at most
 * once per half a window of such output, and when a line end ends it while
 * the terminal is in raw mode with echo off (another tmux pane's output); a
 * secret prompt so pushed out still hides what is typed in raw mode, up to the
 * Enter. Every line an output read ends is looked at, not only the last (tmux
 * draws a prompt and another pane's lines in one write), in windows of
 * INPUT_GUARD_TAIL bytes, each half new.
 */
#ifndef INPUT_GUARD_H
#define INPUT_GUARD_H

#include <stddef.h>
#include <termios.h>

#define INPUT_GUARD_TAIL 1024 /* pinentry-curses draws its prompt 300 bytes before the end */

struct input_guard {
	size_t len;       /* bytes in tail */
	size_t unscanned; /* bytes added to tail since it was last looked at for a prompt */
	int pending;      /* a secret prompt left the tail by overflow; no Enter answered it yet */
	int after_secret; /* the last output read ended a line that named a secret, and held nothing
	                   * after that line end: a program that prints its prompt and a newline,
	                   * then turns raw, may be reading the answer */
	unsigned char tail[INPUT_GUARD_TAIL];
};

/* An empty last line (an all-zero struct is one too). */
void input_guard_init(struct input_guard *g);
/* Note n bytes of the shell's output. Returns 1 when a line end in them ended a line that
 * named a secret (any of the lines they end): if the terminal is in raw mode with echo off, the prompt may still be waiting
 * (the line end was drawn elsewhere on the screen), and input_guard_hold() keeps it. */
int input_guard_output(struct input_guard *g, const unsigned char *p, size_t n);
/* Hide raw-mode input up to the next Enter, as at a secret prompt. */
void input_guard_hold(struct input_guard *g);
/* 1 when the last line of output, control sequences skipped, names a secret. */
int input_guard_is_prompt(const struct input_guard *g);
/* Of n bytes typed at p while the terminal's local modes were lflag (known 0: tcgetattr
 * failed), how many from the start must be hidden; the rest may be stored. */
size_t input_guard_hidden(struct input_guard *g, int known, tcflag_t lflag, const unsigned char *p,
                          size_t n);

#endif
