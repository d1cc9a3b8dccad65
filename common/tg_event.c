#include "tg_event.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tg_buf.h"
#include "tg_error.h"
#include "tg_spool.h"

uint32_t tg_audit_session(void)
{
	return tg_audit_session_of(0);
}

uint32_t tg_audit_session_of(pid_t pid)
{
	char buf[16], path[64];
	ssize_t n;
	unsigned long v;
	char *end;
	int fd;

	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%ld/sessionid", (long)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/sessionid");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return 0;
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (errno != 0 || (*end != '\0' && *end != '\n') || v == 0 || v >= 4294967295UL)
		return 0;
	return (uint32_t)v;
}

int tg_boot_id_ok(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != TG_BOOT_ID_LEN)
		return 0;
	for (i = 0; i < TG_BOOT_ID_LEN; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-'
		         : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return 1;
}

int tg_boot_id(char out[TG_BOOT_ID_LEN + 1])
{
	char buf[TG_BOOT_ID_LEN + 2];
	ssize_t n;
	int fd;

	out[0] = '\0';
	if ((fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < TG_BOOT_ID_LEN)
		return -1;
	buf[TG_BOOT_ID_LEN] = '\0'; /* the newline after it */
	if (!tg_boot_id_ok(buf))
		return -1;
	memcpy(out, buf, TG_BOOT_ID_LEN + 1);
	return 0;
}

uint64_t tg_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t tg_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void tg_time_format(uint64_t us, char *buf, size_t len)
{
	time_t secs = (time_t)(us / 1000000u);
	struct tm tm;
	char base[32];

	if (gmtime_r(&secs, &tm) == NULL || strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, len, "invalid");
		return;
	}
	snprintf(buf, len, "%s.%06uZ", base, (unsigned)(us % 1000000u));
}

void tg_hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * The writer is often root (the PAM module) and the reader the audit user:
 * give the file the events folder's group, so a folder owned by the audit
 * group works whether or not it is set-group-id.
 */
static int write_event_file(const char *spool_dir, const char *fname, const char *text)
{
	struct tg_atomic a = TG_ATOMIC_VOID;
	struct stat st;
	int dirfd, r;

	/* events/ is the audit user's: a symlink put there would send root's file anywhere */
	if ((r = tg_open_subdir_nofollow(spool_dir, TG_EVENT_SUBDIR, &dirfd)) != TG_OK)
		return r;
	if ((r = tg_atomic_openat(&a, dirfd, fname, 0640)) != TG_OK)
		return r;
	if (fstat(a.dirfd, &st) == 0 && st.st_gid != getegid() && fchown(a.fd, (uid_t)-1, st.st_gid) != 0 &&
	    errno != EPERM) {
		tg_atomic_abort(&a);
		return TG_ERR_SYSTEM;
	}
	if ((r = tg_atomic_write(&a, text, strlen(text))) != TG_OK) {
		tg_atomic_abort(&a);
		return r;
	}
	return tg_atomic_commit(&a);
}

int tg_event_write(const char *spool_dir, const char *type, json_t *ev, char *name, size_t namelen)
{
	char fname[TG_EVENT_NAME_MAX], when[40], rnd_hex[17];
	unsigned char rnd[8];
	uint64_t now = tg_now_us();
	char *text = NULL;
	int r;

	if (type == NULL || ev == NULL || !json_is_object(ev))
		return TG_ERR_INVALID;
	tg_time_format(now, when, sizeof(when));
	if (json_object_set_new(ev, "v", json_integer(TG_EVENT_VERSION)) != 0 ||
	    json_object_set_new(ev, "type", json_string(type)) != 0 ||
	    json_object_set_new(ev, "time", json_string(when)) != 0 ||
	    json_object_set_new(ev, "time_us", json_integer((json_int_t)now)) != 0)
		return TG_ERR_NOMEM;
	randombytes_buf(rnd, sizeof(rnd));
	tg_hex(rnd, sizeof(rnd), rnd_hex);
	snprintf(fname, sizeof(fname), "%020llu-%s.json", (unsigned long long)now, rnd_hex);
	if ((text = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return TG_ERR_NOMEM;
	if (strlen(text) > TG_EVENT_MAX_BYTES) {
		r = TG_ERR_LIMIT;
		goto out;
	}
	if ((r = write_event_file(spool_dir, fname, text)) != TG_OK)
		goto out;
	if (name != NULL)
		snprintf(name, namelen, "%s", fname);
out:
	free(text);
	return r;
}

int tg_event_read(const char *path, json_t **out)
{
	struct tg_buf text = TG_BUF_VOID;
	int r;

	*out = NULL;
	tg_buf_init(&text, TG_EVENT_MAX_BYTES);
	if ((r = tg_read_file(path, TG_EVENT_MAX_BYTES, &text)) != TG_OK)
		goto out;
	r = tg_event_parse((const char *)text.data, text.len, out);
out:
	tg_buf_free(&text);
	return r;
}

int tg_event_parse(const char *text, size_t len, json_t **out)
{
	json_error_t jerr;
	json_t *ev;

	*out = NULL;
	if (len > TG_EVENT_MAX_BYTES)
		return TG_ERR_LIMIT;
	ev = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (ev == NULL || !json_is_object(ev) || !json_is_string(json_object_get(ev, "type"))) {
		json_decref(ev);
		return TG_ERR_PARSE;
	}
	*out = ev; /* transferred */
	return TG_OK;
}
