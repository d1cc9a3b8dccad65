/*
 * The outer terminal (the one sshd gave): raw while the relay runs, put back
 * as it was on every way out: normal return, exit(), and fatal signals.
 */
#ifndef TERM_RAW_H
#define TERM_RAW_H

#include <termios.h>

/* Save fd's settings into *saved and make it raw. */
int term_raw_enter(int fd, struct termios *saved);
/* Put the saved settings back (idempotent; async-signal-safe). */
void term_raw_restore(void);

#endif
