/*
 * tg-rec-gen: make recordings for tests and benchmarks through the writer API
 * (never a copy of the format code).
 *
 *   tg-rec-gen keygen DIR                      DIR/signing.key, DIR/signing.pub
 *   tg-rec-gen script SECKEY OUT [META...] < SCRIPT
 *   tg-rec-gen bulk SECKEY OUT BYTES [META...]
 *
 * META: user=, host=, addr=, port=, mode=, command=, term=, cols=, rows=,
 * start_us=, session=<32 hex>, pam=<PAM session id>, audit=<audit session>, boot=<boot id>.
 * SCRIPT lines (TIME in microseconds of session time; TEXT with C escapes
 * \n \r \t \e \\ \xHH):
 *   out TIME TEXT | err TIME TEXT | in TIME TEXT | hidden TIME N
 *   resize TIME COLS ROWS | dropped TIME out|err|in N | note TIME JSON
 *   checkpoint TIME | flush | seal TIME JSON | crash    (exit now, unsealed)
 * bulk: BYTES of terminal-like text output in 4 KiB records 1 ms apart, a
 * checkpoint every 5 s of session time, then the seal.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tg_error.h"
#include "tg_rec.h"

static void die(const char *what, int r)
{
	fprintf(stderr, "tg-rec-gen: %s: %s\n", what, tg_strerror(r));
	exit(1);
}

static size_t unescape(char *s)
{
	char *o = s, *i = s;

	while (*i != '\0') {
		if (*i != '\\' || i[1] == '\0') {
			*o++ = *i++;
			continue;
		}
		i++;
		switch (*i) {
		case 'n':
			*o++ = '\n';
			i++;
			break;
		case 'r':
			*o++ = '\r';
			i++;
			break;
		case 't':
			*o++ = '\t';
			i++;
			break;
		case 'e':
			*o++ = '\033';
			i++;
			break;
		case 'x': {
			char h[3] = {0};

			h[0] = i[1];
			h[1] = h[0] ? i[2] : 0;
			*o++ = (char)strtoul(h, NULL, 16);
			i += 1 + strlen(h);
			break;
		}
		default:
			*o++ = *i++;
			break;
		}
	}
	return (size_t)(o - s);
}

static void set_meta(struct tg_rec_meta *m, int argc, char **argv)
{
	int i;

	memset(m, 0, sizeof(*m));
	randombytes_buf(m->session_id, sizeof(m->session_id));
	m->user = "alice";
	m->uid = 1000;
	m->client_addr = "203.0.113.5";
	m->client_port = 51234;
	m->host = "web-1";
	m->sshd_pid = 4242;
	m->start_us = 1764380000000000ULL;
	m->mode = "interactive";
	m->term = "xterm-256color";
	m->cols = 80;
	m->rows = 24;
	m->pam_session_id = "";
	for (i = 0; i < argc; i++) {
		char *v = strchr(argv[i], '=');

		if (v == NULL)
			die(argv[i], TG_ERR_INVALID);
		*v++ = '\0';
		if (strcmp(argv[i], "user") == 0)
			m->user = v;
		else if (strcmp(argv[i], "host") == 0)
			m->host = v;
		else if (strcmp(argv[i], "addr") == 0)
			m->client_addr = v;
		else if (strcmp(argv[i], "port") == 0)
			m->client_port = (unsigned)atoi(v);
		else if (strcmp(argv[i], "mode") == 0)
			m->mode = v;
		else if (strcmp(argv[i], "command") == 0)
			m->command = v;
		else if (strcmp(argv[i], "term") == 0)
			m->term = v;
		else if (strcmp(argv[i], "cols") == 0)
			m->cols = (unsigned)atoi(v);
		else if (strcmp(argv[i], "rows") == 0)
			m->rows = (unsigned)atoi(v);
		else if (strcmp(argv[i], "start_us") == 0)
			m->start_us = strtoull(v, NULL, 10);
		else if (strcmp(argv[i], "pam") == 0)
			m->pam_session_id = v;
		else if (strcmp(argv[i], "audit") == 0)
			m->audit_session = (uint32_t)strtoul(v, NULL, 10);
		else if (strcmp(argv[i], "boot") == 0)
			m->boot_id = v;
		else if (strcmp(argv[i], "session") == 0) {
			if (sodium_hex2bin(m->session_id, sizeof(m->session_id), v, strlen(v), NULL,
			                   NULL, NULL) != 0)
				die("session", TG_ERR_INVALID);
		} else
			die(argv[i], TG_ERR_INVALID);
	}
}

static struct tg_rec_writer *start(const char *keyfile, const char *out, int argc, char **argv,
                                   int *fdp)
{
	unsigned char sk[64];
	struct tg_rec_meta m;
	struct tg_rec_writer *w = NULL;
	int fd, r;

	if ((r = tg_key_load_secret(keyfile, sk)) != TG_OK)
		die(keyfile, r);
	set_meta(&m, argc, argv);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die(out, TG_ERR_SYSTEM);
	if ((r = tg_rec_writer_open(&w, fd, &m, sk)) != TG_OK)
		die("open", r);
	sodium_memzero(sk, sizeof(sk));
	*fdp = fd;
	return w;
}

static int script(struct tg_rec_writer *w)
{
	char line[65536], word[32], *rest;
	unsigned long long t;
	int n, r = TG_OK;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		n = 0;
		if (strcmp(line, "crash") == 0)
			exit(0);
		if (strcmp(line, "flush") == 0) {
			r = tg_rec_flush(w);
		} else if (sscanf(line, "%31s %llu %n", word, &t, &n) >= 2 && n > 0) {
			rest = line + n;
			if (strcmp(word, "out") == 0 || strcmp(word, "err") == 0 ||
			    strcmp(word, "in") == 0) {
				size_t len = unescape(rest);

				r = tg_rec_write_data(w,
				                      word[0] == 'o'   ? TG_REC_OUT
				                      : word[0] == 'e' ? TG_REC_ERR
				                                       : TG_REC_IN,
				                      t, rest, len);
			} else if (strcmp(word, "hidden") == 0) {
				r = tg_rec_write_hidden(w, t, (uint32_t)strtoul(rest, NULL, 10));
			} else if (strcmp(word, "resize") == 0) {
				unsigned c = 0, ro = 0;

				if (sscanf(rest, "%u %u", &c, &ro) != 2)
					die(line, TG_ERR_PARSE);
				r = tg_rec_write_resize(w, t, c, ro);
			} else if (strcmp(word, "dropped") == 0) {
				char s[8];
				unsigned long long c = 0;

				if (sscanf(rest, "%7s %llu", s, &c) != 2)
					die(line, TG_ERR_PARSE);
				r = tg_rec_write_dropped(w, t,
				                         s[0] == 'o'   ? TG_REC_OUT
				                         : s[0] == 'e' ? TG_REC_ERR
				                                       : TG_REC_IN,
				                         c);
			} else if (strcmp(word, "note") == 0) {
				r = tg_rec_write_note(w, t, rest);
			} else if (strcmp(word, "checkpoint") == 0) {
				r = tg_rec_checkpoint(w, t);
			} else if (strcmp(word, "seal") == 0) {
				r = tg_rec_seal(w, t, *rest ? rest : "{}");
			} else {
				die(line, TG_ERR_PARSE);
			}
		} else {
			die(line, TG_ERR_PARSE);
		}
		if (r != TG_OK)
			die(line, r);
	}
	return tg_rec_flush(w);
}

static int bulk(struct tg_rec_writer *w, unsigned long long bytes)
{
	static const char words[] =
	    "drwxr-xr-x 2 alice alice 4096 Nov 29 01:09 \033[01;34mconfig\033[0m\r\n"
	    "-rw-r--r-- 1 alice alice  220 Nov 29 01:09 .bash_logout  error: none\r\n";
	char chunk[4096];
	unsigned long long done = 0, t = 0, next_cp = 5000000;
	size_t i, n;
	int r;

	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = words[i % (sizeof(words) - 1)];
	while (done < bytes) {
		n = bytes - done < sizeof(chunk) ? (size_t)(bytes - done) : sizeof(chunk);
		t += 1000;
		if ((r = tg_rec_write_data(w, TG_REC_OUT, t, chunk, n)) != TG_OK)
			return r;
		done += n;
		if (t >= next_cp) {
			if ((r = tg_rec_checkpoint(w, t)) != TG_OK)
				return r;
			next_cp += 5000000;
		}
	}
	return tg_rec_seal(w, t, "{\"exit_status\":0,\"reason\":\"exit\"}");
}

int main(int argc, char **argv)
{
	struct tg_rec_writer *w;
	int fd = -1, r;

	if (sodium_init() < 0)
		return 1;
	if (argc == 3 && strcmp(argv[1], "keygen") == 0) {
		unsigned char pk[32], sk[64];
		char p[4096];

		tg_key_generate(pk, sk);
		snprintf(p, sizeof(p), "%s/signing.key", argv[2]);
		if ((r = tg_key_save_secret(p, sk)) != TG_OK)
			die(p, r);
		snprintf(p, sizeof(p), "%s/signing.pub", argv[2]);
		if ((r = tg_key_save_public(p, pk)) != TG_OK)
			die(p, r);
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "script") == 0) {
		w = start(argv[2], argv[3], argc - 4, argv + 4, &fd);
		r = script(w);
	} else if (argc >= 5 && strcmp(argv[1], "bulk") == 0) {
		w = start(argv[2], argv[3], argc - 5, argv + 5, &fd);
		r = bulk(w, strtoull(argv[4], NULL, 10));
	} else {
		fprintf(stderr, "usage: tg-rec-gen keygen DIR | script SECKEY OUT [META...] | "
		                "bulk SECKEY OUT BYTES [META...]\n");
		return 3;
	}
	if (r != TG_OK)
		die("write", r);
	tg_rec_writer_free(w);
	if (close(fd) != 0)
		die("close", TG_ERR_SYSTEM);
	return 0;
}
