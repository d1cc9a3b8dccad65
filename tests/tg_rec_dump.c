/*
 * tg-rec-dump: a recording as JSON lines, for the recorder's tests.
 *   tg-rec-dump [--no-data] PUBKEY FILE
 * Line 1: {"header": <the HEADER's JSON>}; then one line per record
 * {"type", "time_us", "len", "hex" (data records), "cols", "rows", "hidden",
 *  "stream", "dropped", "json" (NOTE, END)}; last line {"verdict": {...}}.
 * Reads through the format library's reader (common/tg_rec_read.c).
 */
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg_error.h"
#include "tg_rec.h"

static void print(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	if (s != NULL)
		printf("%s\n", s);
	free(s);
	json_decref(o);
}

int main(int argc, char **argv)
{
	struct tg_rec_source src = {tg_rec_fd_read, NULL};
	struct tg_rec_reader *r = NULL;
	struct tg_rec_record rec;
	struct tg_rec_verdict v;
	unsigned char pk[32];
	int fd, n, data = 1, i = 1, e;
	json_t *o;
	char *hex;

	if (argc > 1 && strcmp(argv[1], "--no-data") == 0) {
		data = 0;
		i++;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: tg-rec-dump [--no-data] PUBKEY FILE\n");
		return 2;
	}
	if (sodium_init() < 0 || tg_key_load_public(argv[i], pk) != TG_OK) {
		fprintf(stderr, "tg-rec-dump: cannot load %s\n", argv[i]);
		return 2;
	}
	if ((fd = open(argv[i + 1], O_RDONLY)) < 0) {
		perror(argv[i + 1]);
		return 2;
	}
	src.ctx = &fd;
	if ((e = tg_rec_reader_open(&r, &src, pk)) != TG_OK) {
		print(json_pack("{s:{s:i,s:s}}", "verdict", "status", e, "status_str",
		                tg_strerror(e)));
		return 1;
	}
	print(json_pack("{s:o}", "header", json_loads(tg_rec_reader_header_json(r), 0, NULL)));
	while ((n = tg_rec_reader_next(r, &rec)) == 1) {
		o = json_pack("{s:s,s:I,s:I,s:I}", "type", tg_rec_type_name(rec.type), "index",
		              (json_int_t)rec.index, "time_us", (json_int_t)rec.time_us, "len",
		              (json_int_t)rec.len);
		switch (rec.type) {
		case TG_REC_OUT:
		case TG_REC_ERR:
		case TG_REC_IN:
			if (data && (hex = malloc(2 * rec.len + 1)) != NULL) {
				sodium_bin2hex(hex, 2 * rec.len + 1, rec.data, rec.len);
				json_object_set_new(o, "hex", json_string(hex));
				free(hex);
			}
			break;
		case TG_REC_RESIZE:
			json_object_set_new(o, "cols", json_integer(rec.cols));
			json_object_set_new(o, "rows", json_integer(rec.rows));
			break;
		case TG_REC_IN_HIDDEN:
			json_object_set_new(o, "hidden", json_integer(rec.hidden));
			break;
		case TG_REC_DROPPED:
			json_object_set_new(o, "stream", json_string(tg_rec_type_name(rec.stream)));
			json_object_set_new(o, "dropped", json_integer((json_int_t)rec.dropped));
			break;
		case TG_REC_NOTE:
		case TG_REC_END:
			json_object_set_new(o, "json",
			                    json_loadb((const char *)rec.data, rec.len, 0, NULL));
			break;
		case TG_REC_CHECKPOINT:
			json_object_set_new(o, "final", json_boolean(rec.final));
			break;
		default:
			break;
		}
		print(o);
	}
	tg_rec_reader_verdict(r, &v);
	print(json_pack("{s:{s:i,s:s,s:b,s:b,s:b,s:I,s:I,s:I,s:I,s:I,s:s,s:i}}", "verdict",
	                "status", v.status, "status_str", tg_strerror(v.status), "sealed", v.sealed,
	                "truncated", v.truncated, "key_checked", v.key_checked, "records",
	                (json_int_t)v.records, "bytes", (json_int_t)v.bytes, "verified_index",
	                (json_int_t)v.verified_index, "verified_bytes",
	                (json_int_t)v.verified_bytes, "verified_time_us",
	                (json_int_t)v.verified_time_us, "reason", v.reason, "next", n));
	tg_rec_reader_free(r);
	close(fd);
	return 0;
}
