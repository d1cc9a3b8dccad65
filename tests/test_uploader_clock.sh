#!/bin/sh
# The daemon's waits are durations, not dates: after the wall clock is set
# back (an NTP step, a host whose clock ran ahead), Slack's rate limit, the
# retry backoff and the periodic rescan do not wait for the clock to catch up.
# The clock is moved with a small LD_PRELOAD shim that shifts CLOCK_REALTIME
# by the seconds in a file; 10 minutes back, less than S3's allowed skew.
set -u
. "$TG_TOP_SRCDIR/tests/lib.sh"
. "$TG_TOP_SRCDIR/tests/uploader_lib.sh"

CC=${CC:-cc}
tg_need_cmd "$CC"
up_setup
cat >"$T/shift.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long long shift(void)
{
	const char *p = getenv("TG_CLOCK_SHIFT_FILE");
	long long s = 0;
	FILE *f;

	if (p != NULL && (f = fopen(p, "re")) != NULL) {
		if (fscanf(f, "%lld", &s) != 1)
			s = 0;
		fclose(f);
	}
	return s;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);
	int r;

	if (real == NULL)
		real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	if ((r = real(id, ts)) == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		ts->tv_sec += shift();
	return r;
}

time_t time(time_t *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (t != NULL)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

int gettimeofday(struct timeval *tv, void *tz)
{
	struct timespec ts;

	(void)tz;
	clock_gettime(CLOCK_REALTIME, &ts);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}
C
"$CC" -shared -fPIC -o "$T/shift.so" "$T/shift.c" -ldl || tg_skip "cannot build the clock shim"
echo 0 >"$T/shift"
TG_CLOCK_SHIFT_FILE=$T/shift LD_PRELOAD=$T/shift.so up_start
tg_wait_file "$T/spool/state/status.json" "the daemon did not start"
up_mfa_failures a 1 1
up_wait_messages 1 60 || tg_fail "the first Slack message did not arrive"
up_wait_empty 60 || tg_fail "the first event did not leave"
# the clock goes 10 minutes back
echo -600 >"$T/shift"
sleep 1
up_mfa_failures b 2 2
up_rec after.tgr user=alice bytes=500
up_wait_messages 2 60 || tg_fail "after the clock was set back, Slack waited for it to catch up"
up_wait_empty 60 || tg_fail "after the clock was set back, the spool waited for it to catch up"
up_check_s3
tg_stop_pid "$UP_PID"
UP_PID=
echo PASS
