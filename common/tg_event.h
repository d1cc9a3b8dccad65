/*
 * Events: small JSON files in <spool>/events/, one per event, written
 * atomically. Written by the PAM module (login, logout, mfa_failure, ...) and
 * the recorder (recording problems); read and sent by the uploader.
 * The schema is doc/events.md.
 */
#ifndef TG_EVENT_H
#define TG_EVENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tg_rec.h" /* TG_BOOT_ID_LEN */

#define TG_EVENT_SUBDIR "events"
#define TG_EVENT_MAX_BYTES (64 * 1024)
#define TG_EVENT_NAME_MAX 64
#define TG_EVENT_VERSION 1

/*
 * Add "v", "type", "time" (RFC 3339, UTC, microseconds) and "time_us" to ev
 * and write it to <spool_dir>/events/<time_us, 20 digits>-<16 hex>.json with
 * mode 0640, so that name order is time order. ev is borrowed. name (may be
 * NULL) receives the file name. A symlink at spool_dir or at events/ is
 * refused (TG_ERR_PERM, errno ELOOP): root writes here, the audit user owns it.
 */
int tg_event_write(const char *spool_dir, const char *type, json_t *ev, char *name, size_t namelen);
/* Read and parse one event file (size-capped, must be a JSON object with a string "type"). */
int tg_event_read(const char *path, json_t **out);
/* The same checks over text already read (len bytes, need not be NUL-terminated). */
int tg_event_parse(const char *text, size_t len, json_t **out);
/*
 * The kernel's audit session id of this process (/proc/self/sessionid), or of process pid
 * (tg_audit_session_of): pam_loginuid makes a new one for each login in the process PAM runs
 * in (sshd's [priv] one), every process of the login inherits it, and the user cannot change
 * it (the counter starts again at each boot). 0 when there is none (a kernel without audit, or
 * unset: 4294967295) or it cannot be read.
 */
uint32_t tg_audit_session(void);
uint32_t tg_audit_session_of(pid_t pid);
/*
 * The kernel's id of this boot (/proc/sys/kernel/random/boot_id), which names an audit
 * session's boot: the audit counter starts again at each boot, so two logins of two boots can
 * have one audit session id. Writes it, NUL-terminated, to out; "" (and returns -1) when it
 * cannot be read or is not a UUID.
 */
int tg_boot_id(char out[TG_BOOT_ID_LEN + 1]);
/* Whether s is a boot id as tg_boot_id writes it (what the recording header's reader
 * accepts). */
int tg_boot_id_ok(const char *s);
/* Wall clock in Unix microseconds. */
uint64_t tg_now_us(void);
/*
 * A monotonic clock in microseconds, for intervals: CLOCK_BOOTTIME, which an NTP step does not
 * move and which, unlike CLOCK_MONOTONIC, goes on while the host is suspended (a session's
 * duration, a backoff, the gaps of a recording hold that time too).
 */
uint64_t tg_mono_us(void);
/* Format Unix microseconds as 2026-11-29T01:09:21.123456Z into buf (>= 32 bytes). */
void tg_time_format(uint64_t us, char *buf, size_t len);
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void tg_hex(const unsigned char *p, size_t n, char *out);

#endif
