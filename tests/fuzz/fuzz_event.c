/*
 * Event reader: an event file's bytes through tg_event_parse() (what
 * tg_event_read() does after reading), then what the uploader makes of a
 * valid event: its S3 key (up_key_event() with the event's own host and
 * time_us, as up_event_ship() does) and its Slack message
 * (slack_message_for_event(), slack_text_only()), with and without a
 * recording joined to it. Invariants: the key stays in its folder (no
 * control bytes, nothing but key-safe characters after "events/"), and every
 * Slack payload serialises.
 */
#include <string.h>

#include "fuzz.h"
#include "tg_config.h"
#include "tg_error.h"
#include "tg_event.h"
#include "uploader.h"

#define NAME "00001764380000000000-0123456789abcdef.json"

static void check_key(const char *key)
{
	const char *p = strstr(key, "events/dt=");
	size_t i;

	FUZZ_CHECK(p != NULL && strlen(key) <= 1024);
	for (i = 0; key[i] != '\0'; i++)
		FUZZ_CHECK((unsigned char)key[i] >= 0x20 && key[i] != 0x7f);
	for (p += 7; *p != '\0'; p++)
		FUZZ_CHECK((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		           (*p >= '0' && *p <= '9') || strchr("-_.@+=/", *p) != NULL);
	FUZZ_CHECK(strstr(key, "/../") == NULL && strstr(key, "//") == NULL);
}

static void check_slack(const json_t *ev, const json_t *rec)
{
	json_t *msg = slack_message_for_event(ev, rec), *txt;
	char *s;

	if (msg == NULL)
		return;
	FUZZ_CHECK((s = json_dumps(msg, JSON_COMPACT)) != NULL);
	free(s);
	if ((txt = slack_text_only(msg)) != NULL) {
		FUZZ_CHECK((s = json_dumps(txt, JSON_COMPACT)) != NULL);
		free(s);
		json_decref(txt);
	}
	json_decref(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_config *cfg = NULL;
	json_t *ev = NULL, *rec = NULL, *h;
	const char *host = "web-1";
	char key[1100];
	uint64_t when;

	if (tg_event_parse((const char *)data, size, &ev) != TG_OK) {
		FUZZ_CHECK(ev == NULL);
		return 0;
	}
	FUZZ_CHECK(json_is_object(ev) && json_is_string(json_object_get(ev, "type")));
	if (tg_config_new(&cfg) != TG_OK)
		abort();
	h = json_object_get(ev, "host");
	if (json_is_string(h) && *json_string_value(h))
		host = json_string_value(h);
	when = (uint64_t)json_integer_value(json_object_get(ev, "time_us"));
	if (up_key_event(cfg, host, when ? when : 1764380000000000ULL, NAME, key, sizeof(key)) ==
	    TG_OK)
		check_key(key);

	check_slack(ev, NULL);
	rec = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s}", "session_id",
	                "0123456789abcdef0123456789abcdef", "s3_key", "sessions/x.tgr", "bytes",
	                (json_int_t)12345, "duration_us", (json_int_t)61000000, "status", "sealed",
	                "user", "alice");
	if (rec != NULL)
		check_slack(ev, rec);
	json_decref(rec);
	json_decref(ev);
	tg_config_free(cfg);
	return 0;
}
