/*
 * The uploader's join records (state/sessions/<pam_session_id>.json, uploader/session_ship.c):
 * the file is included, so that join_add() (static) is driven without a spool around it. The
 * input: a join record as it may be found on disk (any bytes, up to the first NUL), then one
 * byte per step: a recording shipped (0 to 63; each has its own key, id and start time) or,
 * with the top bit set, a channel the recorder refused (its recording id).
 *
 * Invariants: whatever the file held, adding to it makes a format-2 record, and the readers
 * (up_join_lists_recording(), up_join_recordings(), up_join_refused_note() within its len)
 * take anything. From no record, through the file's JSON as the uploader writes it, each
 * step keeps what the format says: at most UP_JOIN_MAX listed, sorted by start time, each
 * once; "more" and "more_ids" count each recording past the list once, so that listed plus
 * more is the number of recordings shipped (a recording shipped again is not a new one);
 * "refused" once a channel was, its ids each once; a record lists a recording exactly when
 * one was shipped.
 */
#include "../../uploader/session_ship.c"
#include "fuzz.h"

#define RECORDINGS 64
#define MAX_STEPS 256 /* 64 recordings past a list of 32: room enough */

static json_t *index_of(unsigned r)
{
	char key[64], id[40];

	snprintf(key, sizeof(key), "sessions/rec-%02u.tgr", r);
	snprintf(id, sizeof(id), "%032u", r);
	/* ties in start time on purpose */
	return json_pack("{s:s, s:s, s:I}", "s3_key", key, "session_id", id, "start_us",
	                 (json_int_t)((r * 37u) % 50u));
}

static void check_readers(const json_t *rec)
{
	static const size_t lens[] = {1, 2, 9, 64, 512};
	char out[512 + 16];
	size_t i, k;
	json_t *list;

	(void)up_join_lists_recording(rec);
	json_decref(up_join_recordings(rec));
	list = up_join_recordings(rec);
	FUZZ_CHECK(list == NULL || json_is_array(list));
	json_decref(list);
	for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		memset(out, 0x5a, sizeof(out));
		up_join_refused_note(rec, out, lens[k]);
		FUZZ_CHECK(memchr(out, '\0', lens[k]) != NULL);
		for (i = lens[k]; i < sizeof(out); i++)
			FUZZ_CHECK(out[i] == 0x5a);
	}
}

/* As the uploader writes the record and reads it back. */
static json_t *round_trip(json_t *rec)
{
	char *text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	json_t *back;

	FUZZ_CHECK(text != NULL);
	back = json_loads(text, 0, NULL);
	FUZZ_CHECK(back != NULL);
	free(text);
	json_decref(rec);
	return back;
}

static void check_model(const json_t *rec, const unsigned char shipped[RECORDINGS],
                        unsigned nshipped, const unsigned char refused[RECORDINGS],
                        unsigned nrefused)
{
	const json_t *list = json_object_get(rec, "recordings"), *ids, *e;
	json_int_t more = json_integer_value(json_object_get(rec, "more")), last = -1;
	unsigned char seen[RECORDINGS];
	size_t i;
	unsigned r;

	FUZZ_CHECK(json_integer_value(json_object_get(rec, "v")) == 2);
	FUZZ_CHECK(json_is_array(list) && json_array_size(list) <= UP_JOIN_MAX);
	memset(seen, 0, sizeof(seen));
	json_array_foreach(list, i, e)
	{
		json_int_t start = json_integer_value(json_object_get(e, "start_us"));

		FUZZ_CHECK(start >= last);
		last = start;
		FUZZ_CHECK(sscanf(json_string_value(json_object_get(e, "s3_key")),
		                  "sessions/rec-%02u.tgr", &r) == 1 &&
		           r < RECORDINGS);
		FUZZ_CHECK(shipped[r] && !seen[r]); /* listed once, and only when shipped */
		seen[r] = 1;
	}
	ids = json_object_get(rec, "more_ids");
	FUZZ_CHECK(ids == NULL || (json_is_array(ids) && json_array_size(ids) <= UP_JOIN_MORE_IDS));
	json_array_foreach(ids, i, e)
	{
		FUZZ_CHECK(sscanf(json_string_value(e) ?: "", "%u", &r) == 1 && r < RECORDINGS);
		FUZZ_CHECK(shipped[r] &&
		           !seen[r]); /* counted once, never both listed and counted */
		seen[r] = 1;
	}
	FUZZ_CHECK(more == (json_int_t)json_array_size(ids));
	if (more != (json_int_t)(nshipped - json_array_size(list)))
		fprintf(stderr, "listed %zu, more %lld, shipped %u\n", json_array_size(list),
		        (long long)more, nshipped);
	FUZZ_CHECK(more == (json_int_t)(nshipped - json_array_size(list)));
	FUZZ_CHECK(up_join_lists_recording(rec) == (nshipped > 0));
	FUZZ_CHECK(json_is_true(json_object_get(rec, "refused")) == (nrefused > 0));
	ids = json_object_get(rec, "refused_ids");
	FUZZ_CHECK(json_array_size(ids) == (nrefused < UP_JOIN_MAX ? nrefused : UP_JOIN_MAX));
	memset(seen, 0, sizeof(seen));
	json_array_foreach(ids, i, e)
	{
		FUZZ_CHECK(sscanf(json_string_value(e) ?: "", "rid-%u", &r) == 1 && r < RECORDINGS);
		FUZZ_CHECK(refused[r] && !seen[r]);
		seen[r] = 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char shipped[RECORDINGS], refused[RECORDINGS];
	unsigned nshipped = 0, nrefused = 0;
	const uint8_t *nul = memchr(data, '\0', size);
	size_t flen = nul != NULL ? (size_t)(nul - data) : size, i;
	json_t *old, *rec, *idx, *refusal, *login, *owned;
	char others[512];

	if (size > 256 * 1024)
		return 0;
	/* what a file held: anything jansson reads */
	if ((old = json_loadb((const char *)data, flen, 0, NULL)) != NULL) {
		check_readers(old);
		idx = index_of(1);
		rec = join_add(old, idx, NULL);
		FUZZ_CHECK(rec != NULL && json_is_array(json_object_get(rec, "recordings")));
		FUZZ_CHECK(json_integer_value(json_object_get(rec, "v")) == 2);
		check_readers(rec);
		json_decref(rec);
		refusal =
		    json_pack("{s:s,s:s,s:s}", "recording_id", "rid-1", "user", "u", "host", "h");
		rec = join_add(old, NULL, refusal);
		json_decref(refusal);
		FUZZ_CHECK(rec != NULL && json_is_true(json_object_get(rec, "refused")));
		/* a login's view of it, whatever the file held: the same readers hold */
		login = json_pack("{s:s,s:s}", "user", "other", "host", "h");
		owned = up_join_owned(rec, login, others, sizeof(others));
		json_decref(login);
		FUZZ_CHECK(owned != NULL);
		check_readers(owned);
		json_decref(owned);
		check_readers(rec);
		json_decref(rec);
		json_decref(idx);
		json_decref(old);
	}
	if (nul == NULL)
		return 0;

	/* from no record, step by step */
	memset(shipped, 0, sizeof(shipped));
	memset(refused, 0, sizeof(refused));
	rec = NULL;
	for (i = flen + 1; i < size && i < flen + 1 + MAX_STEPS; i++) {
		unsigned r = data[i] & (RECORDINGS - 1);
		json_t *next;

		if (data[i] & 0x80) {
			char rid[16];
			json_t *ev;

			snprintf(rid, sizeof(rid), "rid-%u", r);
			ev = json_pack("{s:s,s:s,s:s}", "recording_id", rid, "user", "u", "host",
			               "h");
			next = join_add(rec, NULL, ev);
			json_decref(ev);
			if (!refused[r])
				nrefused++;
			refused[r] = 1;
		} else {
			idx = index_of(r);
			next = join_add(rec, idx, NULL);
			json_decref(idx);
			if (!shipped[r])
				nshipped++;
			shipped[r] = 1;
		}
		FUZZ_CHECK(next != NULL);
		json_decref(rec);
		rec = round_trip(next);
		check_model(rec, shipped, nshipped, refused, nrefused);
	}
	if (rec != NULL)
		check_readers(rec);
	json_decref(rec);
	return 0;
}
