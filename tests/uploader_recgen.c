/*
 * uploader-recgen: recordings for the uploader's tests and benchmark, made
 * through the writer API (the format lives only in common/tg_rec.c).
 *
 *   uploader-recgen keygen DIR          DIR/signing.key, DIR/signing.pub
 *   uploader-recgen rec SECKEY OUT [user=U] [host=H] [pam=SID] [audit=N] [boot=UUID]
 *                   [command=C] [bytes=N] [unsealed]
 *   (audit, boot: the header's audit_session and boot_id, none by default)
 *
 * rec writes N bytes of output (default 1000) in 4 KiB records, a
 * checkpoint every 256 records, and seals the recording unless "unsealed".
 */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg_error.h"
#include "tg_event.h"
#include "tg_rec.h"

static void die(const char *what, int r)
{
	fprintf(stderr, "uploader-recgen: %s: %s\n", what, tg_strerror(r));
	exit(1);
}

static int keygen(const char *dir)
{
	unsigned char pk[32], sk[64];
	char path[4096];
	int r;

	if ((r = tg_key_generate(pk, sk)) != TG_OK)
		die("keygen", r);
	snprintf(path, sizeof(path), "%s/signing.key", dir);
	if ((r = tg_key_save_secret(path, sk)) != TG_OK)
		die(path, r);
	snprintf(path, sizeof(path), "%s/signing.pub", dir);
	if ((r = tg_key_save_public(path, pk)) != TG_OK)
		die(path, r);
	sodium_memzero(sk, sizeof(sk));
	return 0;
}

static int rec(int argc, char **argv)
{
	struct tg_rec_meta m;
	struct tg_rec_writer *w = NULL;
	unsigned char sk[64];
	unsigned long long bytes = 1000, done = 0, n = 0;
	char chunk[4096];
	int fd, r, sealed = 1, i;
	uint64_t t = 0;

	memset(&m, 0, sizeof(m));
	randombytes_buf(m.session_id, sizeof(m.session_id));
	m.user = "alice";
	m.host = "testhost"; /* the events' host in tests/uploader_lib.sh: the recording counts for
	                        their logins */
	m.client_addr = "192.0.2.7";
	m.client_port = 50000;
	m.mode = "interactive";
	m.term = "xterm";
	m.cols = 80;
	m.rows = 24;
	m.pam_session_id = "";
	m.uid = 1000;
	m.sshd_pid = 4242;
	m.start_us = tg_now_us();
	for (i = 4; i < argc; i++) {
		if (strncmp(argv[i], "user=", 5) == 0)
			m.user = argv[i] + 5;
		else if (strncmp(argv[i], "host=", 5) == 0)
			m.host = argv[i] + 5;
		else if (strncmp(argv[i], "pam=", 4) == 0)
			m.pam_session_id = argv[i] + 4;
		else if (strncmp(argv[i], "audit=", 6) == 0)
			m.audit_session = (uint32_t)strtoul(argv[i] + 6, NULL, 10);
		else if (strncmp(argv[i], "boot=", 5) == 0)
			m.boot_id = argv[i] + 5;
		else if (strncmp(argv[i], "command=", 8) == 0)
			m.command = argv[i] + 8;
		else if (strncmp(argv[i], "bytes=", 6) == 0)
			bytes = strtoull(argv[i] + 6, NULL, 10);
		else if (strcmp(argv[i], "unsealed") == 0)
			sealed = 0;
		else
			die(argv[i], TG_ERR_INVALID);
	}
	if ((r = tg_key_load_secret(argv[2], sk)) != TG_OK)
		die(argv[2], r);
	if ((fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0)
		die(argv[3], TG_ERR_SYSTEM);
	if ((r = tg_rec_writer_open(&w, fd, &m, sk)) != TG_OK)
		die("open", r);
	for (i = 0; i < (int)sizeof(chunk); i++)
		chunk[i] = (char)(i % 64 == 63 ? '\n' : 'a' + i % 26);
	while (done < bytes) {
		size_t len = bytes - done < sizeof(chunk) ? (size_t)(bytes - done) : sizeof(chunk);

		t += 1000;
		if ((r = tg_rec_write_data(w, TG_REC_OUT, t, chunk, len)) != TG_OK)
			die("write", r);
		done += len;
		if (++n % 256 == 0 && (r = tg_rec_checkpoint(w, t)) != TG_OK)
			die("checkpoint", r);
	}
	if (sealed) {
		char end[256];

		snprintf(end, sizeof(end),
		         "{\"end_us\":%llu,\"duration_us\":%llu,\"exit_status\":0,\"signal\":null,"
		         "\"reason\":\"exit\","
		         "\"bytes\":{\"out\":%llu,\"err\":0,\"in\":0},\"stored\":{\"out\":%llu,"
		         "\"err\":0,\"in\":0},"
		         "\"transfer\":null}",
		         (unsigned long long)(m.start_us + t), (unsigned long long)t, bytes, bytes);
		if ((r = tg_rec_seal(w, t + 1, end)) != TG_OK)
			die("seal", r);
	} else if ((r = tg_rec_checkpoint(w, t)) != TG_OK) {
		die("checkpoint", r);
	}
	tg_rec_writer_free(w);
	sodium_memzero(sk, sizeof(sk));
	if (fsync(fd) != 0 || close(fd) != 0)
		die("close", TG_ERR_SYSTEM);
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc == 3 && strcmp(argv[1], "keygen") == 0)
		return keygen(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "rec") == 0)
		return rec(argc, argv);
	fprintf(stderr, "usage: uploader-recgen keygen DIR | rec SECKEY OUT [user=U] [host=H] "
	                "[pam=SID] [command=C] "
	                "[bytes=N] [unsealed]\n");
	return 2;
}
