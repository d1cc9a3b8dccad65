/* Unit tests for tollgate-uploader's key layout, Slack messages and backoff. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tg_error.h"
#include "tg_event.h"
#include "tg_s3.h"
#include "tg_spool.h"
#include "tg_test.h"
#include "uploader.h"

/* 2026-11-29T01:09:21Z */
#define T_US 1795914561000000ULL

START_TEST(key_default_layout)
{
	struct tg_config *cfg;
	struct up_key_vars v = {0};
	char key[1100];

	ck_assert_int_eq(tg_config_new(&cfg), TG_OK);
	v.host = "web-1";
	v.user = "alice";
	v.session_id = "0123abcd";
	v.ext = ".tgr";
	v.time_us = T_US;
	ck_assert_int_eq(up_key_session(cfg, &v, key, sizeof(key)), TG_OK);
	ck_assert_str_eq(key, "tollgate/dt=2026-11-29/host=web-1/alice/0123abcd.tgr");
	ck_assert_int_eq(up_key_index(cfg, &v, key, sizeof(key)), TG_OK);
	ck_assert_str_eq(key, "tollgate/index/dt=2026-11-29/host=web-1/0123abcd.json");
	/* another extension, or none: the whole name, apart from the recorder's names */
	v.ext = ".old";
	ck_assert_int_eq(up_key_index(cfg, &v, key, sizeof(key)), TG_OK);
	ck_assert_str_eq(key, "tollgate/index/dt=2026-11-29/host=web-1/0123abcd.old_.json");
	v.ext = "";
	ck_assert_int_eq(up_key_index(cfg, &v, key, sizeof(key)), TG_OK);
	ck_assert_str_eq(key, "tollgate/index/dt=2026-11-29/host=web-1/0123abcd_.json");
	v.session_id = "0123abcd_";
	v.ext = ".tgr";
	ck_assert_int_eq(up_key_index(cfg, &v, key, sizeof(key)), TG_OK);
	ck_assert_str_eq(key, "tollgate/index/dt=2026-11-29/host=web-1/0123abcd_5f.json");
	v.session_id = "0123abcd";
	ck_assert_int_eq(up_key_event(cfg, "web-1", T_US, "000123-ab.json", key, sizeof(key)),
	                 TG_OK);
	ck_assert_str_eq(key, "tollgate/events/dt=2026-11-29/host=web-1/000123-ab.json");
	/* an empty index_prefix: no index object */
	ck_assert_int_eq(tg_config_set(cfg, TG_CONF_S3_INDEX_PREFIX, "", NULL, 0), TG_OK);
	ck_assert_int_eq(up_key_index(cfg, &v, key, sizeof(key)), TG_OK);
	ck_assert_str_eq(key, "");
	tg_config_free(cfg);
}
END_TEST

START_TEST(key_values_cannot_escape_their_folder)
{
	struct up_key_vars v = {0};
	char key[1100];

	v.prefix = "p";
	v.host = "..";
	v.user = "../../etc/x y";
	v.session_id = "";
	v.time_us = T_US;
	ck_assert_int_eq(
	    up_key_expand("{prefix}/{host}/{user}/{session_id}{ext}", &v, key, sizeof(key)), TG_OK);
	ck_assert_str_eq(key, "p/_/.._.._etc_x_y/_");
	/* an empty prefix leaves no empty folder */
	v.prefix = "";
	v.host = "h";
	ck_assert_int_eq(up_key_expand("{prefix}/{host}", &v, key, sizeof(key)), TG_OK);
	ck_assert_str_eq(key, "h");
	ck_assert_int_eq(up_key_expand("{nope}", &v, key, sizeof(key)), TG_ERR_INVALID);
	ck_assert_int_eq(up_key_expand("{prefix", &v, key, sizeof(key)), TG_ERR_INVALID);
	v.host = "hh";
	ck_assert_int_eq(up_key_expand("{host}", &v, key, 2), TG_ERR_LIMIT);
}
END_TEST

START_TEST(json_string_keeps_valid_utf8_beside_broken)
{
	/* "caf\u00e9 d\u00e9j\u00e0" cut inside its last character */
	json_t *j = up_json_string("caf\xc3\xa9 d\xc3\xa9j\xc3");

	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(j), "caf\xc3\xa9 d\xc3\xa9j\xef\xbf\xbd");
	json_decref(j);
	j = up_json_string("a\xff\xfe b");
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(j), "a\xef\xbf\xbd\xef\xbf\xbd b");
	json_decref(j);
}
END_TEST

START_TEST(key_distinct_names_get_distinct_keys)
{
	static const char *const names[] = {"a b", "a_b", "a\tb", "a_20b", "a_5fb",
	                                    "",    "_",   ".",    "..",    "_2e"};
	struct up_key_vars v = {0};
	char keys[sizeof(names) / sizeof(names[0])][64];
	size_t i, k;

	v.host = "h";
	v.user = "u";
	v.ext = ".tgr";
	v.time_us = T_US;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		v.session_id = names[i];
		ck_assert_int_eq(
		    up_key_expand("{user}/{session_id}{ext}", &v, keys[i], sizeof(keys[i])), TG_OK);
		ck_assert_ptr_null(strstr(keys[i], "/../"));
		for (k = 0; k < i; k++)
			ck_assert_str_ne(keys[i], keys[k]);
	}
	/* a recording as the recorder names it keeps its key */
	v.session_id = "0123456789abcdef0123456789abcdef";
	ck_assert_int_eq(up_key_expand("{user}/{session_id}{ext}", &v, keys[0], sizeof(keys[0])),
	                 TG_OK);
	ck_assert_str_eq(keys[0], "u/0123456789abcdef0123456789abcdef.tgr");
	/* nor can the extension make two names one */
	v.session_id = "a";
	v.ext = ".t r";
	ck_assert_int_eq(up_key_expand("{session_id}{ext}", &v, keys[0], sizeof(keys[0])), TG_OK);
	v.ext = ".t_r";
	ck_assert_int_eq(up_key_expand("{session_id}{ext}", &v, keys[1], sizeof(keys[1])), TG_OK);
	ck_assert_str_ne(keys[0], keys[1]);
}
END_TEST

START_TEST(escape_slack_text)
{
	char *e = slack_escape("a <!channel> & b > c\x01");

	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e, "a &lt;!channel&gt; &amp; b &gt; c ");
	free(e);
	/* a line break would forge a line of the message */
	e = slack_escape("eve\nFrom: x\r\t\x7f");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e, "eve From: x   ");
	free(e);
	e = slack_escape("bad \xff utf8");
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_null(strchr(e, '\xff'));
	free(e);
}
END_TEST

static json_t *event(const char *type, const char *user)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:I}", "type", type, "user", user, "host",
	                 "web-1", "client_addr", "192.0.2.1", "client_port", 5000, "session_id",
	                 "abcd", "duration_us", (json_int_t)3725000000LL);
}

/* Slack's documented limits, as tests/servers/slack_receiver.py checks them. */
static void assert_slack_limits(const json_t *p)
{
	const json_t *blocks = json_object_get(p, "blocks"), *b;
	size_t i, k;

	ck_assert(json_is_string(json_object_get(p, "text")));
	ck_assert(json_string_length(json_object_get(p, "text")) <= 3000);
	ck_assert(json_is_array(blocks));
	ck_assert_uint_le(json_array_size(blocks), 50);
	json_array_foreach(blocks, i, b)
	{
		const char *type = json_string_value(json_object_get(b, "type"));

		if (strcmp(type, "header") == 0) {
			ck_assert_str_eq(
			    json_string_value(json_object_get(json_object_get(b, "text"), "type")),
			    "plain_text");
			ck_assert_uint_le(
			    json_string_length(json_object_get(json_object_get(b, "text"), "text")),
			    150);
		} else {
			const json_t *fields = json_object_get(b, "fields"), *f;

			ck_assert_str_eq(type, "section");
			ck_assert_uint_le(json_array_size(fields), 10);
			json_array_foreach(fields, k, f)
			    ck_assert_uint_le(json_string_length(json_object_get(f, "text")), 2000);
		}
	}
}

START_TEST(message_logout_names_location_and_hash)
{
	json_t *ev = event("logout", "alice");
	json_t *rec =
	    json_pack("{s:s, s:s, s:s, s:i, s:i}", "bucket", "audit", "s3_key", "tollgate/x/a.tgr",
	              "final_hash", "00ff", "bytes_out", 10, "file_bytes", 99);
	json_t *p = slack_message_for_event(ev, rec);
	const char *text;

	ck_assert_ptr_nonnull(p);
	assert_slack_limits(p);
	text = json_string_value(json_object_get(p, "text"));
	ck_assert_ptr_nonnull(strstr(text, "s3://audit/tollgate/x/a.tgr"));
	ck_assert_ptr_nonnull(strstr(text, "00ff"));
	ck_assert_ptr_nonnull(strstr(text, "1h 02m 05s"));
	json_decref(p);
	p = slack_message_for_event(ev, NULL);
	ck_assert_ptr_nonnull(
	    strstr(json_string_value(json_object_get(p, "text")), "no recording"));
	json_decref(p);
	json_decref(rec);
	json_decref(ev);
}
END_TEST

/* The plain_text value shown after the label field named label, or NULL. */
static const char *field_value(const json_t *p, const char *label)
{
	const json_t *blocks = json_object_get(p, "blocks"), *b;
	char want[64];
	size_t i, k;

	snprintf(want, sizeof(want), "*%s*", label);
	json_array_foreach(blocks, i, b)
	{
		const json_t *fields = json_object_get(b, "fields");

		for (k = 0; k + 1 < json_array_size(fields); k++)
			if (strcmp(json_string_value(
			               json_object_get(json_array_get(fields, k), "text")),
			           want) == 0)
				return json_string_value(
				    json_object_get(json_array_get(fields, k + 1), "text"));
	}
	return NULL;
}

/* The channels of a multiplexed connection share one PAM session: the logout names each of
 * their recordings (the first 5, then how many more), within Slack's limits however many and
 * however long their keys. */
START_TEST(message_logout_names_every_recording)
{
	json_t *ev = event("logout", "alice"), *list = json_array(), *rec, *p;
	char key[1000], hash[16];
	const char *text;
	int i;

	for (i = 0; i < 32; i++) {
		memset(key, 'k', sizeof(key) - 1);
		key[sizeof(key) - 1] = '\0';
		snprintf(key, 16, "ch%02d/", i);
		key[5] = 'k';
		snprintf(hash, sizeof(hash), "hash%02d", i);
		ck_assert_int_eq(
		    json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:i}", "bucket", "audit",
		                                          "s3_key", key, "final_hash", hash,
		                                          "bytes_out", 1)),
		    0);
	}
	rec = json_pack("{s:i, s:o, s:i}", "v", 2, "recordings", list, "more", 3);
	p = slack_message_for_event(ev, rec);
	ck_assert_ptr_nonnull(p);
	assert_slack_limits(p);
	text = json_string_value(json_object_get(p, "text"));
	ck_assert_ptr_nonnull(strstr(text, "hash00"));
	ck_assert_ptr_null(strstr(text, "hash05"));
	ck_assert_str_eq(field_value(p, "Recordings"), "35, one per channel of the connection");
	ck_assert_str_eq(field_value(p, "Final chain hash 5"), "hash04");
	ck_assert_ptr_nonnull(strstr(field_value(p, "More recordings"), "and 30 more"));
	json_decref(p);
	/* more were read than the join record could count: its count is a lower bound */
	ck_assert_int_eq(json_object_set_new(rec, "more_uncounted", json_true()), 0);
	ck_assert_ptr_nonnull(p = slack_message_for_event(ev, rec));
	ck_assert_str_eq(field_value(p, "Recordings"),
	                 "at least 35, one per channel of the connection");
	ck_assert_ptr_nonnull(strstr(field_value(p, "More recordings"), "and at least 30 more"));
	json_decref(p);
	json_decref(rec);
	json_decref(ev);
}
END_TEST

/* A recording that does not verify (changed on the host) has no final hash either, but it is
 * not one a crash left unsealed: the logout must not pass it off as that. */
START_TEST(message_logout_says_a_recording_does_not_verify)
{
	json_t *ev = event("logout", "alice"), *rec, *p;

	rec = json_pack("{s:s, s:s, s:s, s:b, s:s}", "bucket", "audit", "s3_key", "x/a.tgr",
	                "final_hash", "", "sealed", 0, "status", "bad signature");
	p = slack_message_for_event(ev, rec);
	ck_assert_str_eq(field_value(p, "Final chain hash"),
	                 "none: the recording DOES NOT VERIFY (bad signature)");
	json_decref(p);
	json_decref(rec);
	rec = json_pack("{s:s, s:s, s:s, s:b, s:s}", "bucket", "audit", "s3_key", "x/a.tgr",
	                "final_hash", "", "sealed", 0, "status", "not sealed");
	p = slack_message_for_event(ev, rec);
	ck_assert_str_eq(field_value(p, "Final chain hash"), "none: the recording is not sealed");
	json_decref(p);
	json_decref(rec);
	json_decref(ev);
}
END_TEST

/* A recording failure says what became of the session: with on_failure = allow it ran (or
 * went on) unrecorded, with deny it was refused (or ended); the reason alone does not tell. */
START_TEST(message_recording_failure_says_what_became_of_the_session)
{
	json_t *ev = event("recording_failure", "alice"), *p;
	const char *v;

	json_object_set_new(ev, "reason", json_string("the spool /var/spool/tollgate is full"));
	json_object_set_new(ev, "on_failure", json_string("allow"));
	p = slack_message_for_event(ev, NULL);
	ck_assert_ptr_nonnull(p);
	assert_slack_limits(p);
	v = field_value(p, "Outcome");
	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_nonnull(strstr(v, "UNRECORDED"));
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(p, "text")), "UNRECORDED"));
	json_decref(p);
	json_object_set_new(ev, "on_failure", json_string("deny"));
	p = slack_message_for_event(ev, NULL);
	v = field_value(p, "Outcome");
	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_null(strstr(v, "UNRECORDED"));
	ck_assert_ptr_nonnull(strstr(v, "refused"));
	json_decref(p);
	json_decref(ev);
}
END_TEST

/* The channels of a multiplexed connection share one session id, each with its own recording:
 * the recorder's events name theirs (recording_id), and so must their messages, or an escape
 * attempt cannot be told from the other channels' recordings. */
START_TEST(message_recorder_events_name_their_recording)
{
	static const char *const types[] = {"recording_escape", "recording_failure"};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		json_t *ev = event(types[i], "alice"), *p;
		const char *v;

		json_object_set_new(ev, "recording_id",
		                    json_string("00112233445566778899aabbccddeeff"));
		json_object_set_new(ev, "reason", json_string("bashrc"));
		p = slack_message_for_event(ev, NULL);
		ck_assert_ptr_nonnull(p);
		assert_slack_limits(p);
		v = field_value(p, "Recording id");
		ck_assert_ptr_nonnull(v);
		ck_assert_str_eq(v, "00112233445566778899aabbccddeeff");
		json_decref(p);
		json_decref(ev);
	}
}
END_TEST

/* A client's host name (reverse-resolved) may be 253 characters: it is shown whole, not cut
 * without a mark where it may still look like a trusted name. */
START_TEST(message_shows_a_long_client_host_whole)
{
	char host[254];
	json_t *ev = event("login", "alice"), *p;
	const char *from;

	memset(host, 'a', sizeof(host) - 1);
	memcpy(host, "bastion.example.com.", 20);
	memcpy(host + sizeof(host) - 10, ".evil.net", 10);
	json_object_set_new(ev, "client_addr", json_string(host));
	p = slack_message_for_event(ev, NULL);
	ck_assert_ptr_nonnull(p);
	assert_slack_limits(p);
	from = field_value(p, "From");
	ck_assert_ptr_nonnull(from);
	ck_assert_ptr_nonnull(strstr(from, ".evil.net port 5000"));
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(p, "text")), ".evil.net"));
	json_decref(p);
	json_decref(ev);
}
END_TEST

START_TEST(message_limits_hold_for_huge_values)
{
	char *big = malloc(100000);
	json_t *ev, *p, *t;

	memset(big, '<', 99999);
	big[99999] = '\0';
	ev = event("login", big);
	json_object_set_new(ev, "reason", json_string(big));
	p = slack_message_for_event(ev, NULL);
	ck_assert_ptr_nonnull(p);
	assert_slack_limits(p);
	ck_assert_ptr_null(strchr(json_string_value(json_object_get(p, "text")), '<'));
	t = slack_text_only(p);
	ck_assert_ptr_null(json_object_get(t, "blocks"));
	ck_assert(json_is_string(json_object_get(t, "text")));
	json_decref(t);
	json_decref(p);
	json_decref(ev);
	free(big);
}
END_TEST

START_TEST(message_types)
{
	static const char *announced[] = {
	    "login", "logout", "mfa_failure", "mfa_replay", "recording_failure", "recording_escape",
	    "alert"};
	size_t i;
	json_t *ev, *p;

	for (i = 0; i < sizeof(announced) / sizeof(announced[0]); i++) {
		ev = event(announced[i], "bob");
		p = slack_message_for_event(ev, NULL);
		ck_assert_msg(p != NULL, "%s is not announced", announced[i]);
		ck_assert(slack_announces(ev));
		assert_slack_limits(p);
		json_decref(p);
		json_decref(ev);
	}
	ev = event("something_new", "bob");
	ck_assert_ptr_null(slack_message_for_event(ev, NULL));
	ck_assert(!slack_announces(ev));
	json_decref(ev);
}
END_TEST

/* An event file's time from its name, as tg_event_write makes it; 0 for other names. */
START_TEST(event_name_time)
{
	ck_assert_uint_eq(up_event_name_us("00000001764000000123456-000000000000002a.json"),
	                  1764000000123456ULL);
	ck_assert_uint_eq(up_event_name_us("notes.json"), 0);
	ck_assert_uint_eq(up_event_name_us("1764000000123456.json"), 0);
	ck_assert_uint_eq(up_event_name_us(""), 0);
}
END_TEST

START_TEST(backoff_full_jitter_within_bounds)
{
	unsigned a;
	int i;

	for (a = 1; a < 40; a++) {
		for (i = 0; i < 50; i++) {
			uint64_t d = up_backoff_us(a, 300);
			uint64_t ceiling = a >= 10 ? 300000000u : (1000000ULL << (a - 1));

			if (ceiling > 300000000u)
				ceiling = 300000000u;
			ck_assert_uint_ge(d, 1);
			ck_assert_uint_le(d, ceiling);
		}
	}
}
END_TEST

START_TEST(slack_url_must_be_tls_or_loopback)
{
	struct slack *s = NULL;

	ck_assert_int_eq(slack_new(&s, "http://hooks.slack.com/services/x", NULL, 1000),
	                 TG_ERR_CONFIG);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(slack_new(&s, "https://hooks.slack.com/services/x", NULL, 1000), TG_OK);
	ck_assert_uint_ge(slack_next_allowed_us(s), 0);
	slack_free(s);
	ck_assert_int_eq(slack_new(&s, "http://127.0.0.1:9/x", NULL, 1000), TG_OK);
	slack_free(s);
	ck_assert_int_eq(slack_new(&s, "http://localhost/x", NULL, 1000), TG_OK);
	slack_free(s);
	ck_assert_int_eq(slack_new(&s, "http://[::1]:8080/x", NULL, 1000), TG_OK);
	slack_free(s);
	/* names that merely start like loopback, or loopback as a user name, are elsewhere */
	ck_assert_int_eq(slack_new(&s, "http://127.0.0.1.example.com/x", NULL, 1000),
	                 TG_ERR_CONFIG);
	ck_assert_int_eq(slack_new(&s, "http://localhost.example.com/x", NULL, 1000),
	                 TG_ERR_CONFIG);
	ck_assert_int_eq(slack_new(&s, "http://127.0.0.1@hooks.example.com/x", NULL, 1000),
	                 TG_ERR_CONFIG);
	ck_assert_int_eq(slack_new(&s, "http://localhost:80@hooks.example.com/x", NULL, 1000),
	                 TG_ERR_CONFIG);
	ck_assert_int_eq(slack_new(&s, "http://[::1]x.example.com/x", NULL, 1000), TG_ERR_CONFIG);
	ck_assert_ptr_null(s);
}
END_TEST

/* Slack's Retry-After kept in state/slack-not-before: honoured after a restart, bounded to the
 * hour a live one is capped to, and garbage ignored. */
static uint64_t wait_after_saved(const char *dir, const char *text)
{
	char path[4200];
	struct slack *s = NULL;
	uint64_t next, now;
	FILE *f;

	snprintf(path, sizeof(path), "%s/slack-not-before", dir);
	unlink(path);
	if (text != NULL) {
		ck_assert_ptr_nonnull(f = fopen(path, "w"));
		fputs(text, f);
		fclose(f);
	}
	ck_assert_int_eq(slack_new(&s, "http://127.0.0.1:9/x", NULL, 0), TG_OK);
	slack_keep_state(s, dir);
	next = slack_next_allowed_us(s);
	now = up_now_us();
	slack_free(s);
	return next > now ? next - now : 0;
}

START_TEST(slack_retry_after_survives_a_restart)
{
	char *dir = tg_test_tmpdir(), text[64];
	uint64_t w;

	ck_assert_uint_eq(wait_after_saved(dir, NULL), 0);
	snprintf(text, sizeof(text), "%llu\n", (unsigned long long)(tg_now_us() + 30000000u));
	w = wait_after_saved(dir, text);
	ck_assert_uint_gt(w, 25000000u);
	ck_assert_uint_le(w, 30000000u);
	/* ten days ahead (a wall clock set back since, or a forged file): the hour cap */
	snprintf(text, sizeof(text), "%llu", (unsigned long long)(tg_now_us() + 864000000000ull));
	w = wait_after_saved(dir, text);
	ck_assert_uint_gt(w, 3590000000ull);
	ck_assert_uint_le(w, 3600000000ull);
	/* passed, or not a time */
	snprintf(text, sizeof(text), "%llu\n", (unsigned long long)(tg_now_us() - 1000000u));
	ck_assert_uint_eq(wait_after_saved(dir, text), 0);
	ck_assert_uint_eq(wait_after_saved(dir, ""), 0);
	ck_assert_uint_eq(wait_after_saved(dir, "-5\n"), 0);
	ck_assert_uint_eq(wait_after_saved(dir, "99999999999999999999999999999999\n"), 0);
	snprintf(text, sizeof(text), "%llux\n", (unsigned long long)(tg_now_us() + 30000000u));
	ck_assert_uint_eq(wait_after_saved(dir, text), 0);
	snprintf(text, sizeof(text), "%llu\n\n", (unsigned long long)(tg_now_us() + 30000000u));
	ck_assert_uint_eq(wait_after_saved(dir, text), 0);
	tg_test_rmtree(dir);
	free(dir);
}
END_TEST

/* The end of a test over a spool of its own: c's queues and config, and the folder. */
static void spool_ctx_free(struct up_ctx *c, char *dir)
{
	up_queues_free(c);
	tg_config_free(c->cfg);
	tg_test_rmtree(dir);
	free(dir);
}

/* A worker death's count (crash_count.c): kept across calls as a restart reads it, and one that
 * holds no count, whatever is there, reads as 0 and is written over, never trusted or blocked
 * on. */
static void crashes_put(const char *dir, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/state/" UP_CRASHES_SESSIONS "/r.tgr", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(crash_count_is_kept_and_garbage_reads_as_0)
{
	static const char *const garbage[] = {"",
	                                      "\n",
	                                      "x\n",
	                                      "-1\n",
	                                      "12x\n",
	                                      "1\n\n",
	                                      " 1\n",
	                                      "1000001\n",
	                                      "99999999\n",
	                                      "4294967297\n",
	                                      "11111111111111111111111111111111111111111\n"};
	char *dir = tg_test_tmpdir(), path[PATH_MAX], text[16] = "";
	struct up_ctx c;
	size_t i;
	FILE *f;

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tg_config_new(&c.cfg), TG_OK);
	snprintf(c.spool, sizeof(c.spool), "%s", dir);
	snprintf(c.state_dir, sizeof(c.state_dir), "%s/state", dir);
	snprintf(c.q[UP_Q_SESSIONS].dir, sizeof(c.q[UP_Q_SESSIONS].dir), "%s/sessions", dir);
	snprintf(path, sizeof(path), "%s/state/" UP_CRASHES_SESSIONS, dir);
	ck_assert_int_eq(tg_mkdir_p(path, 0750), TG_OK);
	ck_assert_int_eq(tg_mkdir_p(c.q[UP_Q_SESSIONS].dir, 0750), TG_OK);
	snprintf(path, sizeof(path), "%s/state/" UP_CRASHES_SESSIONS "/r.tgr", dir);

	ck_assert_uint_eq(up_crashes_load(&c, UP_Q_SESSIONS, "r.tgr"), 0);
	ck_assert_uint_eq(up_crashes_count(&c, UP_Q_SESSIONS, "r.tgr", 0), 1);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(text, sizeof(text), f));
	fclose(f);
	ck_assert_str_eq(text, "1\n");
	/* a restart: nothing in memory, the saved count goes on */
	ck_assert_uint_eq(up_crashes_count(&c, UP_Q_SESSIONS, "r.tgr", 0), 2);
	ck_assert_uint_eq(up_crashes_load(&c, UP_Q_SESSIONS, "r.tgr"), 2);
	/* a count in memory that a failed write kept from the file: the larger goes on */
	ck_assert_uint_eq(up_crashes_count(&c, UP_Q_SESSIONS, "r.tgr", 5), 6);
	crashes_put(dir, "7");
	ck_assert_uint_eq(up_crashes_load(&c, UP_Q_SESSIONS, "r.tgr"), 7);
	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		crashes_put(dir, garbage[i]);
		ck_assert_msg(up_crashes_load(&c, UP_Q_SESSIONS, "r.tgr") == 0, "\"%s\"",
		              garbage[i]);
		ck_assert_uint_eq(up_crashes_count(&c, UP_Q_SESSIONS, "r.tgr", 0), 1);
	}
	/* a FIFO (opening it must not wait for a writer) and a folder: none, and not kept */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_uint_eq(up_crashes_load(&c, UP_Q_SESSIONS, "r.tgr"), 0);
	up_crashes_clear(&c, UP_Q_SESSIONS, "r.tgr");
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_uint_eq(up_crashes_count(&c, UP_Q_SESSIONS, "r.tgr", 0), 1);
	ck_assert_int_eq(rmdir(path), 0);
	/* cleared: gone, and clearing none is no error */
	ck_assert_uint_eq(up_crashes_count(&c, UP_Q_SESSIONS, "r.tgr", 0), 1);
	up_crashes_clear(&c, UP_Q_SESSIONS, "r.tgr");
	ck_assert_int_ne(access(path, F_OK), 0);
	up_crashes_clear(&c, UP_Q_SESSIONS, "r.tgr");
	/* a queue no worker takes keeps none */
	ck_assert_uint_eq(up_crashes_count(&c, UP_Q_NOTIFY, "r.tgr", 0), 1);
	/* pruned when its file has left the spool, kept while it is there */
	ck_assert_uint_eq(up_crashes_count(&c, UP_Q_SESSIONS, "r.tgr", 0), 1);
	ck_assert_uint_eq(up_crashes_count(&c, UP_Q_SESSIONS, "kept.tgr", 0), 1);
	snprintf(text, sizeof(text), "x");
	ck_assert_int_eq(tg_spool_write(c.q[UP_Q_SESSIONS].dir, "kept.tgr", text, 1, 0640), TG_OK);
	up_crashes_prune(&c);
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_uint_eq(up_crashes_load(&c, UP_Q_SESSIONS, "kept.tgr"), 1);
	spool_ctx_free(&c, dir);
}
END_TEST

/*
 * A Slack message whose post failed many times (Slack down for a while) and whose file then
 * cannot be read for a moment (EMFILE, EIO; here a symlink, which the spool refuses) is tried
 * again, not dropped at once: failed posts are not failed reads.
 */
START_TEST(notify_read_failure_after_failed_posts_is_retried)
{
	static const char name[] = "00000001764000000000001-0000000000000001.json";
	char *dir = tg_test_tmpdir(), path[PATH_MAX];
	struct up_ctx c;
	struct up_queue_state *qs = &c.q[UP_Q_NOTIFY];
	uint64_t wake = UINT64_MAX;
	struct stat st;
	int i;

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tg_config_new(&c.cfg), TG_OK);
	snprintf(c.spool, sizeof(c.spool), "%s", dir);
	snprintf(c.state_dir, sizeof(c.state_dir), "%s/state", dir);
	snprintf(qs->dir, sizeof(qs->dir), "%s", dir);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_int_eq(symlink("/dev/null", path), 0);
	qs->items = calloc(1, sizeof(*qs->items));
	ck_assert_ptr_nonnull(qs->items);
	qs->n = qs->alloc = 1;
	snprintf(qs->items[0].name, sizeof(qs->items[0].name), "%s", name);
	qs->items[0].attempts = 12; /* twelve failed posts */
	ck_assert_int_eq(up_notify_step(&c, &wake), 0);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_uint_eq(qs->n, 1);
	ck_assert_uint_ne(wake, UINT64_MAX);
	/* a file that stays unreadable is given up after a bounded number of reads */
	for (i = 0; i < 100 && qs->n > 0; i++) {
		qs->items[0].next_try_us = 0;
		up_notify_step(&c, &wake);
	}
	ck_assert_uint_eq(qs->n, 0);
	ck_assert_int_ne(lstat(path, &st), 0);
	spool_ctx_free(&c, dir);
}
END_TEST

/* A spool for up_open_logins_check(): its folders, and c set up over them. */
static char *open_login_spool(struct up_ctx *c)
{
	static const char *const sub[] = {"state/open", "state/sessions", "active", "sessions",
	                                  "events"};
	char *dir = tg_test_tmpdir(), path[PATH_MAX];
	size_t i;

	memset(c, 0, sizeof(*c));
	c->inotify_fd = -1;
	ck_assert_int_eq(tg_config_new(&c->cfg), TG_OK);
	snprintf(c->spool, sizeof(c->spool), "%s", dir);
	snprintf(c->state_dir, sizeof(c->state_dir), "%s/state", dir);
	snprintf(c->q[UP_Q_SESSIONS].dir, sizeof(c->q[UP_Q_SESSIONS].dir), "%s/sessions", dir);
	c->q[UP_Q_SESSIONS].wd = -1;
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, sub[i]);
		ck_assert_int_eq(tg_mkdir_p(path, 0750), TG_OK);
	}
	return dir;
}

/* A login marker for session sid, its login age_s seconds ago. */
static void open_login_marker(const struct up_ctx *c, const char *sid, uint64_t age_s)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/open/%s.json", c->state_dir, sid);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f,
	        "{\"v\":1,\"type\":\"login\",\"time_us\":%llu,\"user\":\"alice\","
	        "\"client_addr\":\"192.0.2.7\",\"session_id\":\"%s\"}",
	        (unsigned long long)(tg_now_us() - age_s * 1000000u), sid);
	ck_assert_int_eq(fclose(f), 0);
}

/* Files in dir/sub whose name does not start with '.'. */
static int open_login_files(const char *dir, const char *sub)
{
	char path[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	ck_assert_ptr_nonnull(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * A session that ended a moment before its login's check: its recording left active/ for
 * sessions/ after the daemon last listed that folder (inotify reports it only at the next
 * wait, and without inotify the next rescan may be a minute away). It is not read yet, so
 * the check waits for it; no no_recording alert.
 */
START_TEST(open_login_sees_a_recording_handed_over_since_the_last_listing)
{
	static const char sid[] = "0123456789abcdef0123456789abcdef";
	uint64_t wake = UINT64_MAX;
	struct up_ctx c;
	char *dir = open_login_spool(&c), path[PATH_MAX];
	FILE *f;

	open_login_marker(&c, sid, 3600);
	snprintf(path, sizeof(path), "%s/sessions/ended.tgr", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_eq(fclose(f), 0);
	up_open_logins_check(&c, &wake);
	ck_assert_int_eq(open_login_files(dir, "events"), 0);
	ck_assert_int_eq(open_login_files(dir, "state/open"), 1);
	ck_assert_uint_le(c.open_check_us, up_now_us() + 1000000u);
	spool_ctx_free(&c, dir);
}
END_TEST

/* A marker the daemon cannot read for now (no file descriptor left) is the only trace of its
 * login: it stays, for a look a few seconds later, instead of being taken for garbage. */
START_TEST(open_login_marker_kept_when_it_cannot_be_read_now)
{
	static const char sid[] = "fedcba9876543210fedcba9876543210";
	uint64_t wake = UINT64_MAX;
	struct rlimit old;
	struct up_ctx c;
	char *dir = open_login_spool(&c);

	open_login_marker(&c, sid, 3600);
	/* one descriptor left: opendir of state/open/ takes it, the marker's open gets EMFILE */
	tg_test_fds_left(1, &old);
	up_open_logins_check(&c, &wake);
	tg_test_fds_restore(&old);
	ck_assert_int_eq(open_login_files(dir, "state/open"), 1);
	ck_assert_uint_le(c.open_check_us, up_now_us() + 5000000u);
	spool_ctx_free(&c, dir);
}
END_TEST

/* The count in an alert kind's window file (state/alerts/KIND.json), -1 when none is there. */
static json_int_t window_count(const char *dir, const char *kind)
{
	char path[PATH_MAX];
	json_t *st;
	json_int_t n;

	snprintf(path, sizeof(path), "%s/state/" UP_ALERTS_DIR "/%s.json", dir, kind);
	if ((st = json_load_file(path, 0, NULL)) == NULL)
		return -1;
	n = json_integer_value(json_object_get(st, "count"));
	json_decref(st);
	return n;
}

/*
 * An alert counted into a burst's window whose file cannot be read for a moment (EMFILE, EIO)
 * is tried again later (an error), not taken for the first of its kind: that wrote a fresh
 * window over the file, and the alerts counted in it never reached Slack, not even as the
 * summary.
 */
START_TEST(alert_window_kept_when_it_cannot_be_read_now)
{
	char *dir = tg_test_tmpdir(), path[PATH_MAX];
	struct rlimit old;
	struct up_ctx c;
	json_t *ev;
	int r;

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(tg_config_new(&c.cfg), TG_OK);
	snprintf(c.spool, sizeof(c.spool), "%s", dir);
	snprintf(c.state_dir, sizeof(c.state_dir), "%s/state", dir);
	snprintf(c.host, sizeof(c.host), "testhost");
	snprintf(c.q[UP_Q_EVENTS].dir, sizeof(c.q[UP_Q_EVENTS].dir), "%s/events", dir);
	snprintf(path, sizeof(path), "%s/state/" UP_ALERTS_DIR, dir);
	ck_assert_int_eq(tg_mkdir_p(path, 0750), TG_OK);
	ck_assert_int_eq(tg_mkdir_p(c.q[UP_Q_EVENTS].dir, 0750), TG_OK);
	ev = json_pack("{s:s, s:s, s:s, s:I}", "type", "alert", "alert", "recording_removed",
	               "message", "gone", "time_us", (json_int_t)up_now_us());
	ck_assert_ptr_nonnull(ev);
	/* the first of its kind goes to Slack and opens the window; the next ones are counted */
	ck_assert_int_eq(up_alert_burst_take(&c, ev, "00000001764000000000001-1.json"), 0);
	ck_assert_int_eq(up_alert_burst_take(&c, ev, "00000001764000000000002-2.json"), 1);
	ck_assert_int_eq(up_alert_burst_take(&c, ev, "00000001764000000000003-3.json"), 1);
	ck_assert_int_eq(window_count(dir, "recording_removed"), 2);
	/* no descriptor left: the window file's open gets EMFILE */
	tg_test_fds_left(0, &old);
	r = up_alert_burst_take(&c, ev, "00000001764000000000004-4.json");
	tg_test_fds_restore(&old);
	ck_assert_int_lt(r, 0);
	ck_assert_int_eq(window_count(dir, "recording_removed"), 2);
	/* tried again once it can be read: counted with the others */
	ck_assert_int_eq(up_alert_burst_take(&c, ev, "00000001764000000000004-4.json"), 1);
	ck_assert_int_eq(window_count(dir, "recording_removed"), 3);
	json_decref(ev);
	spool_ctx_free(&c, dir);
}
END_TEST

/* An index line as a recording of session sid starting at start_us makes it. */
static json_t *join_index(const char *sid, int k)
{
	char key[64], rec_id[33];

	snprintf(key, sizeof(key), "tollgate/alice/%032d.tgr", k);
	snprintf(rec_id, sizeof(rec_id), "%032d", k);
	return json_pack("{s:s, s:s, s:s, s:I, s:s}", "pam_session_id", sid, "session_id", rec_id,
	                 "s3_key", key, "start_us", (json_int_t)(1000000 + k), "final_hash", "ab");
}

/*
 * A session with more recordings than a join record lists (an ssh ControlMaster connection
 * running hundreds of commands) counts those past the list in "more". A recording shipped
 * again (its upload failed after its join entry was written, and was retried) is counted once,
 * whether it is listed or counted: the logout must not claim recordings that do not exist.
 */
START_TEST(join_record_counts_a_recording_shipped_again_once)
{
	static const char sid[] = "0123456789abcdef0123456789abcdef";
	struct up_ctx c;
	char *dir = open_login_spool(&c), path[PATH_MAX];
	json_t *rec, *index;
	int k;

	for (k = 1; k <= 34; k++) {
		ck_assert_ptr_nonnull(index = join_index(sid, k));
		ck_assert_int_eq(up_join_record_add(&c, sid, index, NULL), TG_OK);
		json_decref(index);
	}
	/* the last two are past the list; each is shipped again, and one listed too */
	for (k = 34; k >= 32; k--) {
		ck_assert_ptr_nonnull(index = join_index(sid, k));
		ck_assert_int_eq(up_join_record_add(&c, sid, index, NULL), TG_OK);
		json_decref(index);
	}
	ck_assert_int_eq(up_session_state_path(&c, sid, path, sizeof(path)), TG_OK);
	ck_assert_ptr_nonnull(rec = json_load_file(path, 0, NULL));
	ck_assert_uint_eq(json_array_size(json_object_get(rec, "recordings")), 32);
	ck_assert_int_eq(json_integer_value(json_object_get(rec, "more")), 2);
	json_decref(rec);
	spool_ctx_free(&c, dir);
}
END_TEST

/*
 * Past the recordings "more_ids" names (1,024), one more was counted without its id, so that
 * shipped again (its upload retried) it was counted again, at each retry: an S3 outage during
 * a ControlMaster connection of thousands of channels made the logout claim recordings that do
 * not exist. The count never takes in a recording it cannot name; the record says there are
 * more than it counts.
 */
START_TEST(join_record_counts_no_recording_twice_past_the_named_ones)
{
	static const char sid[] = "0123456789abcdef0123456789abcdef";
	const int total = 32 + 1024 + 2;
	struct up_ctx c;
	char *dir = open_login_spool(&c), path[PATH_MAX];
	json_t *rec, *index;
	json_int_t more;
	int k;

	for (k = 1; k <= total; k++) {
		ck_assert_ptr_nonnull(index = join_index(sid, k));
		ck_assert_int_eq(up_join_record_add(&c, sid, index, NULL), TG_OK);
		json_decref(index);
	}
	ck_assert_int_eq(up_session_state_path(&c, sid, path, sizeof(path)), TG_OK);
	ck_assert_ptr_nonnull(rec = json_load_file(path, 0, NULL));
	more = json_integer_value(json_object_get(rec, "more"));
	ck_assert_int_le(32 + more, total);
	ck_assert_uint_eq(json_array_size(json_object_get(rec, "more_ids")), 1024);
	json_decref(rec);
	/* the last two, past the named ones, shipped again, twice each */
	for (k = 0; k < 4; k++) {
		ck_assert_ptr_nonnull(index = join_index(sid, total - k % 2));
		ck_assert_int_eq(up_join_record_add(&c, sid, index, NULL), TG_OK);
		json_decref(index);
	}
	ck_assert_ptr_nonnull(rec = json_load_file(path, 0, NULL));
	ck_assert_uint_eq(json_array_size(json_object_get(rec, "recordings")), 32);
	ck_assert_int_eq(json_integer_value(json_object_get(rec, "more")), more);
	ck_assert(json_is_true(json_object_get(rec, "more_uncounted")));
	json_decref(rec);
	spool_ctx_free(&c, dir);
}
END_TEST

/*
 * A channel the recorder refused is noted by its recording id, once, and is no recording of
 * the session: only a recording of another channel makes the record list one.
 */
START_TEST(join_record_refused_channel_accounts_for_itself_only)
{
	static const char sid[] = "0123456789abcdef0123456789abcdef";
	static const char rid[] = "fedcba9876543210fedcba9876543210";
	struct up_ctx c;
	char *dir = open_login_spool(&c), path[PATH_MAX], note[512];
	json_t *rec, *index, *ev = json_pack("{s:s}", "recording_id", rid);

	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(up_join_record_add(&c, sid, NULL, ev), TG_OK);
	ck_assert_int_eq(up_join_record_add(&c, sid, NULL, ev), TG_OK);
	json_decref(ev);
	ck_assert_int_eq(up_session_state_path(&c, sid, path, sizeof(path)), TG_OK);
	ck_assert_ptr_nonnull(rec = json_load_file(path, 0, NULL));
	ck_assert(json_is_true(json_object_get(rec, "refused")));
	ck_assert_int_eq(up_join_lists_recording(rec), 0);
	up_join_refused_note(rec, note, sizeof(note));
	ck_assert_str_eq(note, rid);
	json_decref(rec);
	ck_assert_ptr_nonnull(index = join_index(sid, 1));
	ck_assert_int_eq(up_join_record_add(&c, sid, index, NULL), TG_OK);
	json_decref(index);
	ck_assert_ptr_nonnull(rec = json_load_file(path, 0, NULL));
	ck_assert_int_eq(up_join_lists_recording(rec), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(rec, "refused_ids")), 1);
	up_join_refused_note(rec, note, sizeof(note));
	ck_assert_str_eq(note, rid);
	json_decref(rec);
	spool_ctx_free(&c, dir);
}
END_TEST

/*
 * A refused channel counts for a login's wording only when its recording_failure event named
 * the login's user and host (the recorder takes both from its uid and the host, not from the
 * environment its session id came from): one of another user's recorder, given the session's
 * id, is left out, and a record with only such ones says none of the login's was refused. One
 * noted by an earlier version (no owner) still counts.
 */
START_TEST(join_record_refused_channel_of_another_user_is_left_out)
{
	static const char sid[] = "0123456789abcdef0123456789abcdef";
	static const char mine[] = "11111111111111111111111111111111";
	static const char theirs[] = "22222222222222222222222222222222";
	struct up_ctx c;
	char *dir = open_login_spool(&c), path[PATH_MAX], note[512], others[256];
	json_t *login = json_pack("{s:s,s:s}", "user", "bob", "host", "web-1");
	json_t *ev_bob =
	    json_pack("{s:s,s:s,s:s}", "recording_id", mine, "user", "bob", "host", "web-1");
	json_t *ev_eve =
	    json_pack("{s:s,s:s,s:s}", "recording_id", theirs, "user", "eve", "host", "web-1");
	json_t *rec, *owned;

	ck_assert_ptr_nonnull(login);
	ck_assert_ptr_nonnull(ev_bob);
	ck_assert_ptr_nonnull(ev_eve);
	ck_assert_int_eq(up_session_state_path(&c, sid, path, sizeof(path)), TG_OK);
	/* only eve's: none of bob's channels was refused */
	ck_assert_int_eq(up_join_record_add(&c, sid, NULL, ev_eve), TG_OK);
	ck_assert_ptr_nonnull(rec = json_load_file(path, 0, NULL));
	ck_assert_ptr_nonnull(owned = up_join_owned(rec, login, others, sizeof(others)));
	up_join_refused_note(owned, note, sizeof(note));
	ck_assert_str_eq(note, "");
	ck_assert(!json_is_true(json_object_get(owned, "refused")));
	ck_assert_str_eq(others, "");
	json_decref(owned);
	/* eve's own login is told of hers */
	json_object_set_new(login, "user", json_string("eve"));
	ck_assert_ptr_nonnull(owned = up_join_owned(rec, login, others, sizeof(others)));
	up_join_refused_note(owned, note, sizeof(note));
	ck_assert_str_eq(note, theirs);
	json_decref(owned);
	json_decref(rec);
	/* bob's beside it: his alone is named to him */
	json_object_set_new(login, "user", json_string("bob"));
	ck_assert_int_eq(up_join_record_add(&c, sid, NULL, ev_bob), TG_OK);
	ck_assert_ptr_nonnull(rec = json_load_file(path, 0, NULL));
	ck_assert_ptr_nonnull(owned = up_join_owned(rec, login, others, sizeof(others)));
	up_join_refused_note(owned, note, sizeof(note));
	ck_assert_str_eq(note, mine);
	ck_assert(json_is_true(json_object_get(owned, "refused")));
	json_decref(owned);
	/* one written by an earlier version names no owner: it counts as before */
	json_object_del(rec, "refused_owners");
	ck_assert_ptr_nonnull(owned = up_join_owned(rec, login, others, sizeof(others)));
	up_join_refused_note(owned, note, sizeof(note));
	ck_assert_ptr_nonnull(strstr(note, theirs));
	json_decref(owned);
	json_decref(rec);
	json_decref(login);
	json_decref(ev_bob);
	json_decref(ev_eve);
	spool_ctx_free(&c, dir);
}
END_TEST

/*
 * A logout names the recordings its join record lists and waits for those of its session not
 * read yet (a channel that ended with the connection). One counted in the record's "more"
 * (past the 32 listed) is read already too, though still going up (a large one): the logout
 * does not wait for it, and holds no Slack message behind it.
 */
START_TEST(logout_does_not_wait_for_a_recording_counted_in_more)
{
	static const char sid[] = "0123456789abcdef0123456789abcdef";
	static const char name[] = "00000001764000000000002-0000000000000002.json";
	struct up_ctx c;
	char *dir = open_login_spool(&c), path[PATH_MAX];
	struct up_queue_state *ss = &c.q[UP_Q_SESSIONS], *qn = &c.q[UP_Q_NOTIFY];
	uint64_t wake = UINT64_MAX;
	json_t *index;
	FILE *f;
	int k;

	for (k = 1; k <= 33; k++) {
		ck_assert_ptr_nonnull(index = join_index(sid, k));
		ck_assert_int_eq(up_join_record_add(&c, sid, index, NULL), TG_OK);
		json_decref(index);
	}
	/* the 33rd, counted in "more", is still on its first reading */
	ss->items = calloc(1, sizeof(*ss->items));
	ck_assert_ptr_nonnull(ss->items);
	ss->n = ss->alloc = 1;
	snprintf(ss->items[0].name, sizeof(ss->items[0].name), "big.tgr");
	ss->items[0].busy = 1;
	ss->items[0].attempts = 1;
	ss->items[0].header_read = 1;
	snprintf(ss->items[0].header_pam_sid, sizeof(ss->items[0].header_pam_sid), "%s", sid);
	snprintf(ss->items[0].header_rec_id, sizeof(ss->items[0].header_rec_id), "%032d", 33);
	snprintf(qn->dir, sizeof(qn->dir), "%s/events", dir);
	snprintf(path, sizeof(path), "%s/%s", qn->dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f,
	        "{\"v\":1,\"type\":\"logout\",\"time_us\":1764000000000002,\"user\":\"alice\","
	        "\"session_id\":\"%s\"}",
	        sid);
	ck_assert_int_eq(fclose(f), 0);
	qn->items = calloc(1, sizeof(*qn->items));
	ck_assert_ptr_nonnull(qn->items);
	qn->n = qn->alloc = 1;
	snprintf(qn->items[0].name, sizeof(qn->items[0].name), "%s", name);
	/* no webhook: the logout is done once nothing holds it */
	ck_assert_int_eq(up_notify_step(&c, &wake), 1);
	ck_assert_uint_eq(qn->n, 0);
	spool_ctx_free(&c, dir);
}
END_TEST

/* The rule the uploader counts a recording for a login by: the header's user, host, audit
 * session and boot must be the login event's, each compared when the login names it; a login's
 * audit session or boot is not matched by a header without one. */
START_TEST(recording_owner_needs_the_login_audit_session_and_boot)
{
	static const char b1[] = "0f6e2f4c-9d1a-4b7e-8c3d-2a5b6c7d8e9f";
	static const char b2[] = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d";
	json_t *plain = json_pack("{s:s,s:s}", "user", "bob", "host", "web-1");
	json_t *audit =
	    json_pack("{s:s,s:s,s:i}", "user", "bob", "host", "web-1", "audit_session", 44);
	json_t *both = json_pack("{s:s,s:s,s:i,s:s}", "user", "bob", "host", "web-1",
	                         "audit_session", 44, "boot_id", b1);

	ck_assert_ptr_nonnull(plain);
	ck_assert_ptr_nonnull(audit);
	ck_assert_ptr_nonnull(both);
	/* user and host */
	ck_assert_int_eq(up_rec_owner_is(plain, "bob", "web-1", 0, ""), 1);
	ck_assert_int_eq(up_rec_owner_is(plain, "alice", "web-1", 0, ""), 0);
	ck_assert_int_eq(up_rec_owner_is(plain, "bob", "web-2", 0, ""), 0);
	/* a login without an audit session (no pam_loginuid) compares neither */
	ck_assert_int_eq(up_rec_owner_is(plain, "bob", "web-1", 77, b2), 1);
	/* a login with one, from a module before boot ids: the audit session alone */
	ck_assert_int_eq(up_rec_owner_is(audit, "bob", "web-1", 44, b2), 1);
	ck_assert_int_eq(up_rec_owner_is(audit, "bob", "web-1", 44, ""), 1);
	ck_assert_int_eq(up_rec_owner_is(audit, "bob", "web-1", 45, b1), 0);
	ck_assert_int_eq(up_rec_owner_is(audit, "bob", "web-1", 0, ""), 0);
	/* a login with both: the same number of another boot is another login */
	ck_assert_int_eq(up_rec_owner_is(both, "bob", "web-1", 44, b1), 1);
	ck_assert_int_eq(up_rec_owner_is(both, "bob", "web-1", 44, b2), 0);
	ck_assert_int_eq(up_rec_owner_is(both, "bob", "web-1", 44, ""), 0);
	ck_assert_int_eq(up_rec_owner_is(both, "bob", "web-1", 45, b1), 0);
	ck_assert_int_eq(up_rec_owner_is(both, "alice", "web-1", 44, b1), 0);
	/* an index line written before boot ids (NULL: not known) compares the audit session */
	ck_assert_int_eq(up_rec_owner_is(both, "bob", "web-1", 44, NULL), 1);
	ck_assert_int_eq(up_rec_owner_is(both, "bob", "web-1", 45, NULL), 0);
	json_decref(plain);
	json_decref(audit);
	json_decref(both);
}
END_TEST

/* A join record's index lines as they count for a login with an audit session and a boot: a
 * line without a boot_id key was written before boot ids (the audit session alone is compared);
 * null says the header named none, which does not match such a login; another boot does not. */
START_TEST(join_record_lines_count_by_audit_session_and_boot)
{
	static const char b1[] = "0f6e2f4c-9d1a-4b7e-8c3d-2a5b6c7d8e9f";
	static const char b2[] = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d";
	json_t *login = json_pack("{s:s,s:s,s:i,s:s}", "user", "bob", "host", "web-1",
	                          "audit_session", 44, "boot_id", b1);
	json_t *rec = json_pack(
	    "{s:[{s:s,s:s,s:s,s:s,s:i},{s:s,s:s,s:s,s:s,s:i,s:n},{s:s,s:s,s:s,s:s,s:i,s:s},"
	    "{s:s,s:s,s:s,s:s,s:i,s:s},{s:s,s:s,s:s,s:s,s:i}]}",
	    "recordings", "s3_key", "old.tgr", "bucket", "b", "user", "bob", "host", "web-1",
	    "audit_session", 44, "s3_key", "none.tgr", "bucket", "b", "user", "bob", "host",
	    "web-1", "audit_session", 44, "boot_id", "s3_key", "other.tgr", "bucket", "b", "user",
	    "bob", "host", "web-1", "audit_session", 44, "boot_id", b2, "s3_key", "same.tgr",
	    "bucket", "b", "user", "bob", "host", "web-1", "audit_session", 44, "boot_id", b1,
	    "s3_key", "oldother.tgr", "bucket", "b", "user", "bob", "host", "web-1",
	    "audit_session", 45);
	json_t *list = up_join_recordings(rec), *owned, *kept;
	char others[2048];
	size_t i;
	int seen_old = 0, seen_same = 0;

	ck_assert_ptr_nonnull(login);
	ck_assert_ptr_nonnull(rec);
	ck_assert_ptr_nonnull(list);
	ck_assert_uint_eq(json_array_size(list), 5);
	owned = up_join_owned(rec, login, others, sizeof(others));
	ck_assert_ptr_nonnull(owned);
	kept = up_join_recordings(owned);
	ck_assert_ptr_nonnull(kept);
	ck_assert_uint_eq(json_array_size(kept), 2);
	for (i = 0; i < json_array_size(kept); i++) {
		const char *k =
		    json_string_value(json_object_get(json_array_get(kept, i), "s3_key"));

		seen_old += strcmp(k, "old.tgr") == 0;
		seen_same += strcmp(k, "same.tgr") == 0;
	}
	ck_assert_int_eq(seen_old, 1);
	ck_assert_int_eq(seen_same, 1);
	ck_assert_ptr_nonnull(strstr(others, "none.tgr"));
	ck_assert_ptr_nonnull(
	    strstr(others, "other.tgr (user bob, host web-1, audit session 44, boot 5a4b"));
	ck_assert_ptr_nonnull(strstr(others, "oldother.tgr"));
	json_decref(kept);
	json_decref(owned);
	json_decref(list);
	json_decref(rec);
	json_decref(login);
}
END_TEST

/* A recording of another login is named once by its S3 location, however many checks (the
 * join record read before it joined, then again) come to it; a key that starts another's is
 * not taken for it; one that does not fit is not named, and the others stay whole. */
START_TEST(join_others_named_once_by_location)
{
	json_t *a =
	    json_pack("{s:s,s:s,s:s,s:s,s:i,s:s}", "bucket", "b", "s3_key", "x/k.tgr", "user",
	              "mallory", "host", "web-1", "audit_session", 7, "boot_id", "B");
	json_t *a2 = json_pack("{s:s,s:s,s:s,s:s}", "bucket", "b", "s3_key", "x/k.tgr2", "user",
	                       "eve", "host", "web-2");
	char others[512], small[40];

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(a2);
	others[0] = '\0';
	up_join_others_add(others, sizeof(others), a);
	ck_assert_str_eq(others,
	                 "s3://b/x/k.tgr (user mallory, host web-1, audit session 7, boot B)");
	up_join_others_add(others, sizeof(others), a);
	ck_assert_str_eq(others,
	                 "s3://b/x/k.tgr (user mallory, host web-1, audit session 7, boot B)");
	up_join_others_add(others, sizeof(others), a2);
	ck_assert_str_eq(others,
	                 "s3://b/x/k.tgr (user mallory, host web-1, audit session 7, boot B), "
	                 "s3://b/x/k.tgr2 (user eve, host web-2, audit session 0, boot none)");
	snprintf(small, sizeof(small), "first");
	up_join_others_add(small, sizeof(small), a);
	ck_assert_str_eq(small, "first");
	json_decref(a);
	json_decref(a2);
}
END_TEST

/* What an s3_error alert says of S3's answer: its status, and its code when it gave one; never an
 * empty "(HTTP )" (a 200 to CreateMultipartUpload, then a resume state that cannot be written);
 * and a file that could not be read is marked local, not S3's */
START_TEST(s3_result_message_names_status_and_code)
{
	struct tg_s3_result sr;
	struct up_result res;

	memset(&sr, 0, sizeof(sr));
	memset(&res, 0, sizeof(res));
	sr.http_status = 200;
	snprintf(sr.message, sizeof(sr.message), "writing the resume state: disk full");
	up_result_from_s3(&res, TG_ERR_SYSTEM, &sr, "k.tgr");
	ck_assert_msg(strstr(res.message, "(HTTP )") == NULL, "%s", res.message);
	ck_assert_msg(strstr(res.message, "(HTTP 200)") != NULL, "%s", res.message);
	ck_assert_msg(strstr(res.message, ": writing the resume state: disk full") != NULL, "%s",
	              res.message);
	sr.http_status = 403;
	snprintf(sr.code, sizeof(sr.code), "AccessDenied");
	up_result_from_s3(&res, TG_ERR_AUTH, &sr, "k.tgr");
	ck_assert_msg(strstr(res.message, "(HTTP 403 AccessDenied)") != NULL, "%s", res.message);
	ck_assert_int_eq(res.http_status, 403);
	ck_assert_str_eq(res.code, "AccessDenied");
	memset(&sr, 0, sizeof(sr));
	snprintf(sr.code, sizeof(sr.code), "Transport");
	up_result_from_s3(&res, TG_ERR_NET, &sr, "k.tgr");
	ck_assert_msg(strstr(res.message, "HTTP") == NULL, "%s", res.message);
	ck_assert_int_eq(res.local, 0);
	/* the file to send could not be read: its own message, and marked as no error of S3's
	 * (status shows it apart) */
	memset(&sr, 0, sizeof(sr));
	sr.local = 1;
	snprintf(sr.code, sizeof(sr.code), "LocalRead");
	snprintf(sr.message, sizeof(sr.message), "/s/sessions/k.tgr: cannot read it: EIO");
	up_result_from_s3(&res, TG_ERR_SYSTEM, &sr, "k.tgr");
	ck_assert_int_eq(res.local, 1);
	ck_assert_int_eq(res.retryable, 1);
	ck_assert_str_eq(res.message, "/s/sessions/k.tgr: cannot read it: EIO");
}
END_TEST

static volatile sig_atomic_t daemon_handler_ran;
static void daemon_handler(int sig)
{
	(void)sig;
	daemon_handler_ran = 1;
}

/* The daemon's handler for sig, as a worker inherits it from the fork. */
static void daemon_handler_on(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = daemon_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/* A stop's signal that reaches a worker as it starts, still under the daemon's mask and
 * handler, ends it once the worker sets its signals: the stop waits for the worker, and one
 * that took the signal in the daemon's handler went on and was waited for without end. */
START_TEST(worker_ends_of_a_stop_sent_as_it_starts)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigset_t block;
		pid_t pid;
		int status;

		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			daemon_handler_on(sigs[i]);
			sigemptyset(&block);
			sigaddset(&block, sigs[i]);
			sigprocmask(SIG_BLOCK, &block, NULL);
			raise(sigs[i]); /* pending, as one sent between the fork and the worker's
			                   start */
			up_jobs_child_signals();
			_exit(daemon_handler_ran ? 3 : 0);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == sigs[i],
		              "signal %d: the worker lived on (exit %d, %s)", sigs[i],
		              WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		              WIFEXITED(status) && WEXITSTATUS(status) == 3
		                  ? "taken by the daemon's handler"
		                  : "not taken");
	}
	/* nothing pending: SIGPIPE stays ignored as in the daemon, every other handler goes */
	{
		struct sigaction pipe_now, term_now;
		pid_t pid;
		int status;

		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			daemon_handler_on(SIGTERM);
			signal(SIGPIPE, SIG_IGN);
			up_jobs_child_signals();
			sigaction(SIGPIPE, NULL, &pipe_now);
			sigaction(SIGTERM, NULL, &term_now);
			_exit((pipe_now.sa_handler == SIG_IGN ? 0 : 1) |
			      (term_now.sa_handler == SIG_DFL ? 0 : 2));
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		              "the worker's dispositions: %d (1: SIGPIPE not ignored, 2: SIGTERM "
		              "not the default)",
		              WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("uploader");
	TCase *tc = tcase_create("core");

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	tcase_add_test(tc, key_default_layout);
	tcase_add_test(tc, key_values_cannot_escape_their_folder);
	tcase_add_test(tc, json_string_keeps_valid_utf8_beside_broken);
	tcase_add_test(tc, key_distinct_names_get_distinct_keys);
	tcase_add_test(tc, escape_slack_text);
	tcase_add_test(tc, message_logout_names_location_and_hash);
	tcase_add_test(tc, message_logout_names_every_recording);
	tcase_add_test(tc, message_logout_says_a_recording_does_not_verify);
	tcase_add_test(tc, message_shows_a_long_client_host_whole);
	tcase_add_test(tc, message_recording_failure_says_what_became_of_the_session);
	tcase_add_test(tc, message_recorder_events_name_their_recording);
	tcase_add_test(tc, message_limits_hold_for_huge_values);
	tcase_add_test(tc, message_types);
	tcase_add_test(tc, backoff_full_jitter_within_bounds);
	tcase_add_test(tc, event_name_time);
	tcase_add_test(tc, slack_url_must_be_tls_or_loopback);
	tcase_add_test(tc, slack_retry_after_survives_a_restart);
	tcase_add_test(tc, notify_read_failure_after_failed_posts_is_retried);
	tcase_add_test(tc, crash_count_is_kept_and_garbage_reads_as_0);
	tcase_add_test(tc, open_login_sees_a_recording_handed_over_since_the_last_listing);
	tcase_add_test(tc, open_login_marker_kept_when_it_cannot_be_read_now);
	tcase_add_test(tc, alert_window_kept_when_it_cannot_be_read_now);
	tcase_add_test(tc, join_record_counts_a_recording_shipped_again_once);
	tcase_add_test(tc, join_record_counts_no_recording_twice_past_the_named_ones);
	tcase_add_test(tc, join_record_refused_channel_accounts_for_itself_only);
	tcase_add_test(tc, join_record_refused_channel_of_another_user_is_left_out);
	tcase_add_test(tc, logout_does_not_wait_for_a_recording_counted_in_more);
	tcase_add_test(tc, recording_owner_needs_the_login_audit_session_and_boot);
	tcase_add_test(tc, join_record_lines_count_by_audit_session_and_boot);
	tcase_add_test(tc, join_others_named_once_by_location);
	tcase_add_test(tc, s3_result_message_names_status_and_code);
	tcase_add_test(tc, worker_ends_of_a_stop_sent_as_it_starts);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
