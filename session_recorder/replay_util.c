/* tollgate-replay: times, verdict wording, and the verify-before-show gate. */
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "replay.h"
#include "tg_error.h"
#include "tg_log.h"
#include "tg_utf8.h"

void replay_warn_dropped(const char *name, uint64_t n, int input, int transfer)
{
	if (n > 0)
		tg_warn("%s: %" PRIu64 " bytes of %s were passed on but not stored (%s)", name, n,
		        input ? "input" : "output",
		        transfer
		            ? "a file transfer, recorded as metadata: transfer_content = metadata"
		            : "size or rate cap");
}

int replay_exit_for(int status)
{
	if (status == TG_OK)
		return REPLAY_EXIT_OK;
	if (status == TG_ERR_UNSEALED)
		return REPLAY_EXIT_UNSEALED;
	if (status == TG_ERR_VERSION) /* not known to be tampered: not read at all */
		return REPLAY_EXIT_USAGE;
	return REPLAY_EXIT_TAMPERED;
}

void replay_fmt_time(char *out, size_t n, uint64_t us)
{
	uint64_t s = us / 1000000;

	snprintf(out, n, "%" PRIu64 ":%02u:%02u.%03u", s / 3600, (unsigned)(s / 60 % 60),
	         (unsigned)(s % 60), (unsigned)(us % 1000000 / 1000));
}

int replay_parse_time(const char *s, uint64_t *us)
{
	unsigned long long part[3] = {0, 0, 0}, frac = 0, scale = 1000000;
	int n = 0, digits;
	const char *p = s;
	char *end;

	for (;;) {
		if (*p < '0' || *p > '9' || n == 3)
			return -1;
		part[n++] = strtoull(p, &end, 10);
		p = end;
		if (*p != ':')
			break;
		p++;
	}
	if (*p == '.') {
		p++;
		for (digits = 0; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 6) {
				scale /= 10;
				frac += (unsigned long long)(*p - '0') * scale;
			}
		if (digits == 0)
			return -1;
	}
	if (*p != '\0')
		return -1;
	/* the last part is seconds, the one before minutes, then hours */
	{
		unsigned long long h = 0, m = 0, sec = part[n - 1];

		if (n >= 2) {
			m = part[n - 2];
			if (sec >= 60)
				return -1;
		}
		if (n == 3) {
			h = part[0];
			if (m >= 60)
				return -1;
		}
		if (h > 1000000 || m > 60000000 || sec > 3600000000ULL)
			return -1;
		*us = ((h * 3600 + m * 60 + sec) * 1000000) + frac;
	}
	return 0;
}

/* the locale's charset is not UTF-8: what goes to a terminal is taken to go to an 8-bit one */
static int term_8bit;

void replay_set_term_8bit(int eight_bit)
{
	term_8bit = eight_bit;
	tg_log_set_ascii(replay_8bit_tty(STDERR_FILENO));
}

int replay_8bit_tty(int fd)
{
	return term_8bit && isatty(fd);
}

char *replay_text_safe(FILE *f, const char *s)
{
	return tg_text_safe_mode(s, replay_8bit_tty(fileno(f)));
}

char *replay_json_dumps(const json_t *j, size_t flags)
{
	char *d, *out;
	size_t i, o = 0, n;

	/* (all JSON goes to stdout) an 8-bit terminal would take a character's UTF-8 bytes for
	 * Latin-1 text and C1 controls: each is written as its \u escape instead */
	if (replay_8bit_tty(STDOUT_FILENO))
		flags |= JSON_ENSURE_ASCII;
	if ((d = json_dumps(j, flags)) == NULL)
		return NULL;
	n = strlen(d);
	/* the dump is valid UTF-8 whose structure is printable ASCII: a DEL, a C1 character or
	 * one that reorders the line (tg_utf8_reorders) can only be inside a string, where its
	 * escape means the same */
	if ((out = malloc(6 * n + 1)) != NULL) {
		for (i = 0; i < n; i++) {
			const unsigned char *p = (const unsigned char *)d + i;
			int len = p[0] >= 0xc0 ? tg_utf8_seq(p, n - i) : 1;

			if (p[0] == 0x7f) {
				o += (size_t)sprintf(out + o, "\\u007f");
			} else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
				o += (size_t)sprintf(out + o, "\\u%04x", p[1]);
				i++;
			} else if (len > 1 && tg_utf8_reorders(tg_utf8_code(p, (size_t)len))) {
				o += (size_t)sprintf(out + o, "\\u%04lx",
				                     tg_utf8_code(p, (size_t)len));
				i += (size_t)len - 1;
			} else {
				out[o++] = (char)p[0];
			}
		}
		out[o] = '\0';
	}
	free(d);
	return out;
}

int replay_json_print(FILE *f, const json_t *j, size_t flags)
{
	char *d = replay_json_dumps(j, flags);
	int r = d != NULL && fputs(d, f) >= 0 && putc('\n', f) != EOF ? 0 : -1;

	free(d);
	return r;
}

const char *replay_status_word(int status)
{
	switch (status) {
	case TG_OK:
		return "sealed";
	case TG_ERR_UNSEALED:
		return "UNSEALED";
	case TG_ERR_WRONG_KEY:
		return "WRONG-KEY";
	default:
		return "TAMPERED";
	}
}

int replay_stdout_ok(int werr)
{
	if (fflush(stdout) == 0 && !ferror(stdout) && !werr)
		return 1;
	tg_error("stdout: write failed");
	return 0;
}

void replay_discard_input(int fd, int settle)
{
	if (settle) {
		tcdrain(fd);
		poll(NULL, 0, 100);
	}
	tcflush(fd, TCIFLUSH);
}

const char *replay_version_str(unsigned version)
{
	static char s[160];

	snprintf(s, sizeof(s),
	         "unsupported format version %u (this tollgate-replay reads up to %d): not "
	         "verified",
	         version, TG_REC_VERSION);
	return s;
}

void replay_describe(FILE *f, const char *name_in, const struct tg_rec_verdict *v)
{
	char t[32], ft[32], at[48] = "", *safe = replay_text_safe(f, name_in);
	const char *name = safe != NULL ? safe : "?";

	replay_fmt_time(t, sizeof(t), v->verified_time_us);
	if (v->status == TG_OK) {
		fprintf(f,
		        "%s: sealed and intact: %" PRIu64 " records, %" PRIu64
		        " bytes, session time %s%s\n",
		        name, v->records, v->bytes, t,
		        v->key_checked ? "" : " (host key NOT checked: --no-key)");
		free(safe);
		return;
	}
	if (v->status == TG_ERR_UNSEALED) {
		fprintf(f,
		        "%s: UNSEALED: intact up to session time %s, byte %" PRIu64 "; %" PRIu64
		        " bytes after that cannot be verified (%s)%s\n",
		        name, t, v->verified_bytes, v->bytes - v->verified_bytes, v->reason,
		        v->key_checked ? "" : " (host key NOT checked: --no-key)");
		free(safe);
		return;
	}
	if (v->status == TG_ERR_VERSION) {
		fprintf(f, "%s: error: %s\n", name, replay_version_str(v->version));
		free(safe);
		return;
	}
	replay_fmt_time(ft, sizeof(ft), v->fail_time_us);
	/* records count from 1: index 0 is before the first (a file without the magic) */
	if (v->fail_index > 0)
		snprintf(at, sizeof(at), "record %" PRIu64 ", ", v->fail_index);
	fprintf(f,
	        "%s: %s: at %sbyte %" PRIu64 ", session time %s: %s; intact up to byte %" PRIu64
	        " (session time %s)%s\n",
	        name, v->status == TG_ERR_WRONG_KEY ? "SIGNED BY ANOTHER KEY" : "TAMPERED", at,
	        v->fail_offset, ft, v->reason, v->verified_bytes, t,
	        v->key_checked ? "" : " (host key NOT checked: --no-key)");
	free(safe);
}

/* What replay_gate() found, for replay_recheck() (one recording is shown per run). */
static struct tg_rec_verdict gate_verdict;

int replay_gate(const struct replay_opts *o, const char *name, uint64_t *limit, int *status)
{
	struct tg_rec_verdict v;
	int r;

	if (strcmp(name, "-") == 0) {
		tg_error("standard input cannot be verified first and then shown: give a file");
		return REPLAY_EXIT_USAGE;
	}
	/* the showing reads must get the bytes this one verifies */
	if (replay_pin(o, name) != TG_OK)
		return REPLAY_EXIT_USAGE;
	if ((r = replay_verify_name(o, name, &v)) != TG_OK) {
		tg_error("%s: %s", name, tg_strerror(r));
		return REPLAY_EXIT_USAGE;
	}
	gate_verdict = v;
	*status = v.status;
	if (v.status == TG_OK) {
		*limit = UINT64_MAX;
		if (!v.key_checked)
			tg_warn("%s: host key not checked (--no-key): intact, but not known to be "
			        "genuine",
			        name);
		return REPLAY_EXIT_OK;
	}
	replay_describe(stderr, name, &v);
	if (v.status == TG_ERR_VERSION)
		return REPLAY_EXIT_USAGE;
	if (v.records == 0) {
		/* its header is cut short or malformed: nothing can be shown, not even with
		 * --force; the exit status is the verdict's, as verify's */
		tg_warn("%s: nothing to show: its header could not be read", name);
		return replay_exit_for(v.status);
	}
	if (o->force) {
		tg_warn("%s: --force: showing content that is NOT verified", name);
		*limit = UINT64_MAX;
		return REPLAY_EXIT_OK;
	}
	if (v.status == TG_ERR_UNSEALED) {
		tg_warn("%s: showing the verified part only (up to byte %" PRIu64
		        "); --force shows the rest",
		        name, v.verified_bytes);
		*limit = v.verified_bytes;
		return REPLAY_EXIT_OK;
	}
	tg_error("%s: refused: it failed verification (--force to look at it anyway)", name);
	return replay_exit_for(v.status);
}

const struct tg_rec_verdict *replay_gate_verdict(void)
{
	return &gate_verdict;
}

int replay_recheck(const struct replay_opts *o, const char *name, int gate_status, const struct tg_rec_verdict *v)
{
	if (o->force || replay_exit_for(gate_status) == REPLAY_EXIT_TAMPERED)
		return REPLAY_EXIT_OK;
	/* A sealed recording is shown whole: the showing pass must end in the very seal the gate
	 * verified (a file rewritten in between could add a forged tail). An unsealed one is
	 * shown up to its last verified checkpoint: the showing pass must verify at least that
	 * far (it may have grown, or been sealed, meanwhile). */
	if (gate_verdict.status == TG_OK) {
		if (v->status == TG_OK &&
		    memcmp(v->final_hash, gate_verdict.final_hash, sizeof(v->final_hash)) == 0)
			return REPLAY_EXIT_OK;
	} else if ((v->status == TG_OK || v->status == TG_ERR_UNSEALED) &&
	           v->verified_bytes >= gate_verdict.verified_bytes) {
		return REPLAY_EXIT_OK;
	}
	tg_error("%s: the recording changed while it was being shown: what was shown is not verified", name);
	replay_describe(stderr, name, v);
	return REPLAY_EXIT_TAMPERED;
}
