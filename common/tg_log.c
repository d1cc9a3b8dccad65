#include "tg_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *log_ident = "tollgate";
static int log_targets = TG_LOG_STDERR;
static int log_level = LOG_INFO;

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

void tg_log(int priority, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (priority > log_level)
		return;
	if (log_targets & TG_LOG_SYSLOG) {
		va_start(ap, fmt);
		vsyslog(priority, fmt, ap);
		va_end(ap);
	}
	if (log_targets & TG_LOG_STDERR) {
		fprintf(stderr, "%s: ", log_ident);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	errno = saved;
}
