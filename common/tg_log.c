#include "tg_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tg_utf8.h"

static const char *log_ident = "tollgate";
static int log_targets = TG_LOG_STDERR;
static int log_level = LOG_INFO;
static int log_ascii; /* stderr is taken to be an 8-bit terminal: tg_text_safe_mode() */

void tg_log_init(const char *ident, int targets, int facility)
{
	log_ident = ident;
	log_targets = targets;
	if (targets & TG_LOG_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

void tg_log_set_level(int priority)
{
	log_level = priority;
}

void tg_log_set_ascii(int ascii)
{
	log_ascii = ascii;
}

void tg_log(int priority, const char *fmt, ...)
{
	/* messages carry file names, object keys, servers' words and, in the recorder, what the
	 * recorded user chose (its parent's process name): nothing in them may reach a terminal
	 * as a control sequence, or syslog as a line break that forges a line of its own */
	char msg[4096], safe[4 * sizeof(msg)];
	va_list ap;
	int saved = errno;

	if (priority > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_targets & TG_LOG_SYSLOG) {
		tg_text_safe_to(safe, msg);
		syslog(priority, "%s", safe);
	}
	if (log_targets & TG_LOG_STDERR) {
		tg_text_safe_to_mode(safe, msg, log_ascii);
		fprintf(stderr, "%s: %s\n", log_ident, safe);
	}
	errno = saved;
}
