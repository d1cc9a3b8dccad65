/*
 * The outer terminal (the one sshd gave): raw and exclusive (TIOCEXCL: no
 * new opens but by CAP_SYS_ADMIN, so the user's processes cannot write to the
 * client or read its keystrokes past the recorder) while the relay runs, put
 * back as it was on every way out: normal return, exit(), and fatal signals.
 */
#ifndef TERM_RAW_H
#define TERM_RAW_H

#include <termios.h>

/* Save fd's settings into *saved and make it raw and exclusive. */
int term_raw_enter(int fd, struct termios *saved);
/* Put the saved settings back (idempotent; async-signal-safe). */
void term_raw_restore(void);
/* The same for a process that did not set them (term_guard.h, after the recorder's death):
 * TIOCNXCL, and the saved modes only while the terminal still has the raw ones, not those the
 * caller's shell may have set since it got the terminal back. */
void term_raw_restore_left(void);

#endif
