/*
 * Logging for Tollgate's programs: stderr for tools, syslog for daemons.
 * Not for the PAM module, which logs through pam_syslog(); code in common/
 * never logs, it returns a TG_ERR_* code (and, where useful, a message).
 */
#ifndef TG_LOG_H
#define TG_LOG_H

#include <syslog.h>

enum tg_log_target {
	TG_LOG_STDERR = 1,
	TG_LOG_SYSLOG = 2,
};

/* Choose where messages go; ident is the program name; facility for syslog. */
void tg_log_init(const char *ident, int targets, int facility);
/* Messages below this syslog priority are dropped (default LOG_INFO). */
void tg_log_set_level(int priority);
/* Whether stderr is an 8-bit terminal (a locale that is not UTF-8): what a message quotes is
 * then written in ASCII, a character that is not as an escape (tg_text_safe_mode()). */
void tg_log_set_ascii(int ascii);
void tg_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define tg_error(...) tg_log(LOG_ERR, __VA_ARGS__)
#define tg_warn(...) tg_log(LOG_WARNING, __VA_ARGS__)
#define tg_notice(...) tg_log(LOG_NOTICE, __VA_ARGS__)
#define tg_info(...) tg_log(LOG_INFO, __VA_ARGS__)
#define tg_debug(...) tg_log(LOG_DEBUG, __VA_ARGS__)
/* Log with a TG_ERR_* code and what was being done: tg_error_r(r, "load %s", path). */
#define tg_error_r(r, fmt, ...) tg_log(LOG_ERR, fmt ": %s", ##__VA_ARGS__, tg_strerror(r))

#endif
