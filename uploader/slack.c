/*
 * Slack incoming-webhook client and the messages it sends.
 *
 * Slack's rules (api.slack.com/messaging/webhooks, /reference/block-kit):
 * a JSON body with `text` and/or `blocks`, at most 50 blocks, a header's
 * plain_text at most 150 characters, a section's text at most 3000 and each
 * of its (at most 10) fields at most 2000; one message a second per webhook;
 * 429 with Retry-After when over it; the answer to a good post is 200 "ok".
 * Every value goes through jansson (JSON escaping). Slack parses mrkdwn: &, <, > make links and
 * mentions ("<!channel>" in a user name would ping), *, _, ~ and ` format, and nothing escapes
 * the latter. So a value is shown in a plain_text field, which Slack does not parse (with emoji
 * codes off, and not entity-escaped: "&amp;" would show as such), next to its label in mrkdwn;
 * only the fallback `text`, mrkdwn, holds values, with &, <, > escaped (slack_escape()).
 * The webhook URL is a secret: it is never logged, not even by libcurl.
 */
#include "uploader.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "tg_buf.h"
#include "tg_error.h"
#include "tg_event.h"
#include "tg_log.h"
#include "tg_spool.h"
#include "tg_utf8.h"

#define SLACK_HEADER_MAX 150
#define SLACK_FIELDS_MAX 10 /* fields in a section */
#define SLACK_VALUE_MAX 600 /* our own cap per value: a message stays readable */
#define SLACK_TEXT_MAX 3000
#define SLACK_STATE_FILE "slack-not-before"
#define SLACK_STATE_MAX 32 /* 20 digits and a newline, with room */

struct slack {
	CURL *curl;
	CURLM *multi; /* a post runs in it while the daemon's loop goes on */
	char *url;
	char *ca_file;
	unsigned min_interval_ms;
	uint64_t last_post_us;
	uint64_t not_before_us; /* Retry-After */
	char *state_dir;        /* where Retry-After is kept across restarts; NULL: nowhere */
	/* the post under way (slack_post_start() .. slack_post_poll()) */
	int busy;
	struct curl_slist *hdrs;
	struct tg_buf body;
	char errbuf[CURL_ERROR_SIZE];
	unsigned retry_after;
};

/* A plain http:// URL whose host is this machine: 127.0.0.1, localhost or [::1], with no user
 * part ("http://127.0.0.1@host/" goes to host) and at most a port after it. */
static int http_to_loopback(const char *url)
{
	static const char *const hosts[] = {"127.0.0.1", "localhost", "[::1]"};
	const char *h = url + 7;
	size_t i, n;

	if (strncasecmp(url, "http://", 7) != 0)
		return 0;
	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		n = strlen(hosts[i]);
		if (strncasecmp(h, hosts[i], n) != 0)
			continue;
		if (h[n] == ':')
			n += 1 + strspn(h + n + 1, "0123456789");
		return h[n] == '\0' || h[n] == '/' || h[n] == '?' || h[n] == '#';
	}
	return 0;
}

int slack_new(struct slack **out, const char *url, const char *ca_file, unsigned min_interval_ms)
{
	struct slack *s;

	*out = NULL;
	if (url == NULL || *url == '\0')
		return TG_ERR_INVALID;
	/* TLS always, except to this machine (tests, a local relay) */
	if (strncasecmp(url, "https://", 8) != 0 && !http_to_loopback(url))
		return TG_ERR_CONFIG;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return TG_ERR_NOMEM;
	s->min_interval_ms = min_interval_ms;
	if ((s->url = strdup(url)) == NULL ||
	    (ca_file != NULL && *ca_file != '\0' && (s->ca_file = strdup(ca_file)) == NULL) ||
	    (s->curl = curl_easy_init()) == NULL || (s->multi = curl_multi_init()) == NULL) {
		slack_free(s);
		return TG_ERR_NOMEM;
	}
	*out = s; /* transferred */
	return TG_OK;
}

int slack_check(const char *url, const char *ca_file, char *err, size_t errlen)
{
	struct slack *probe = NULL;
	int r;

	if ((r = slack_new(&probe, url, NULL, 0)) != TG_OK) {
		/* the URL is a secret: what is wrong, without it */
		snprintf(err, errlen, "[slack] webhook_url: %s",
		         r == TG_ERR_CONFIG ? SLACK_URL_RULE : tg_strerror(r));
		return r;
	}
	slack_free(probe);
	/* every post would fail setting up TLS, and wait: said before any is tried */
	if (strncasecmp(url, "https://", 8) == 0 && ca_file != NULL && *ca_file != '\0' &&
	    access(ca_file, R_OK) != 0) {
		snprintf(err, errlen, "[slack] ca_file %.200s: %s", ca_file, strerror(errno));
		return TG_ERR_CONFIG;
	}
	return TG_OK;
}

void slack_free(struct slack *s)
{
	if (s == NULL)
		return;
	slack_post_cancel(s);
	if (s->multi != NULL)
		curl_multi_cleanup(s->multi);
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	if (s->url != NULL) {
		memset(s->url, 0, strlen(s->url));
		free(s->url);
	}
	free(s->ca_file);
	free(s->state_dir);
	free(s);
}

/* A saved not-before time: decimal digits, one optional newline; 0 when it is not that. */
static uint64_t saved_time_parse(const struct tg_buf *b)
{
	size_t n = b->len, i;
	uint64_t v = 0;

	if (n > 0 && b->data[n - 1] == '\n')
		n--;
	if (n == 0 || n > 19) /* 19 digits always fit in 64 bits */
		return 0;
	for (i = 0; i < n; i++) {
		if (b->data[i] < '0' || b->data[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(b->data[i] - '0');
	}
	return v;
}

void slack_keep_state(struct slack *s, const char *dir)
{
	struct tg_buf text = TG_BUF_VOID;
	char path[PATH_MAX];
	uint64_t at, wall = tg_now_us(), wait;
	int r;

	free(s->state_dir);
	if ((s->state_dir = strdup(dir)) == NULL) {
		tg_warn("Slack's Retry-After is not kept across restarts: out of memory");
		return;
	}
	if (snprintf(path, sizeof(path), "%s/%s", dir, SLACK_STATE_FILE) >= (int)sizeof(path))
		return;
	tg_buf_init(&text, SLACK_STATE_MAX);
	if ((r = tg_read_file(path, SLACK_STATE_MAX, &text)) != TG_OK) {
		if (r != TG_ERR_NOT_FOUND)
			tg_warn("%s cannot be read (%s): no saved Retry-After", path,
			        tg_strerror(r));
		goto out;
	}
	if ((at = saved_time_parse(&text)) == 0) {
		tg_warn("%s does not hold a time: ignored", path);
		goto out;
	}
	if (at <= wall)
		goto out;
	wait = at - wall;
	if (wait > (uint64_t)SLACK_RETRY_AFTER_MAX_S * 1000000u)
		wait = (uint64_t)SLACK_RETRY_AFTER_MAX_S * 1000000u;
	s->not_before_us = up_now_us() + wait;
	tg_info("Slack asked to wait before a restart: posting again in %llu s",
	        (unsigned long long)(wait + 999999u) / 1000000u);
out:
	tg_buf_free(&text);
}

/* Save the not-before time of a 429 (s->not_before_us) as wall time, durably: a restart
 * must not post before it. A failure costs only that, so it is logged and passed over. */
static void save_not_before(const struct slack *s)
{
	uint64_t now = up_now_us(), wall = tg_now_us();
	char text[SLACK_STATE_MAX];
	int n, r;

	if (s->state_dir == NULL || s->not_before_us <= now)
		return;
	n = snprintf(text, sizeof(text), "%llu\n",
	             (unsigned long long)(wall + (s->not_before_us - now)));
	if (n < 0 || (size_t)n >= sizeof(text))
		return;
	if ((r = tg_spool_write(s->state_dir, SLACK_STATE_FILE, text, (size_t)n, 0640)) != TG_OK)
		tg_warn("cannot save Slack's Retry-After in %s/%s (%s): a restart may post "
		        "before it",
		        s->state_dir, SLACK_STATE_FILE, tg_strerror(r));
}

uint64_t slack_next_allowed_us(const struct slack *s)
{
	uint64_t t = s->last_post_us + (uint64_t)s->min_interval_ms * 1000u;

	return t > s->not_before_us ? t : s->not_before_us;
}

static size_t body_cb(char *p, size_t size, size_t n, void *ctx)
{
	struct tg_buf *b = ctx;
	size_t len = size * n, room = b->max - b->len;

	/* keep the start of the answer, swallow the rest */
	(void)tg_buf_append(b, p, len < room ? len : room);
	return len;
}

/* Retry-After's delay in seconds: delay-seconds or an HTTP-date (RFC 9110, 10.2.3), huge values
 * saturated (the caller caps them); 0 when it is neither. */
static unsigned retry_after_parse(const char *v)
{
	unsigned long long n;
	time_t when, now;
	char *end;

	v += strspn(v, " \t");
	if (*v >= '0' && *v <= '9') {
		errno = 0;
		n = strtoull(v, &end, 10);
		if (end[strspn(end, " \t")] != '\0')
			return 0;
		return errno == ERANGE || n > UINT_MAX ? UINT_MAX : (unsigned)n;
	}
	if ((when = curl_getdate(v, NULL)) == (time_t)-1 || when <= (now = time(NULL)))
		return 0;
	return (unsigned long long)(when - now) > UINT_MAX ? UINT_MAX : (unsigned)(when - now);
}

static size_t header_cb(char *p, size_t size, size_t n, void *ctx)
{
	unsigned *retry_after = ctx;
	size_t len = size * n;

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		char tmp[64];
		size_t k = len - 12 < sizeof(tmp) - 1 ? len - 12 : sizeof(tmp) - 1;

		memcpy(tmp, p + 12, k);
		tmp[k] = '\0';
		tmp[strcspn(tmp, "\r\n")] = '\0';
		*retry_after = retry_after_parse(tmp);
	}
	return len;
}

int slack_post_start(struct slack *s, const char *payload)
{
	struct curl_slist *h;
	int running;

	if (s->busy)
		return TG_ERR_INVALID;
	curl_easy_reset(s->curl);
	tg_buf_init(&s->body, sizeof(((struct slack_result *)NULL)->body) - 1);
	s->errbuf[0] = '\0';
	s->retry_after = 0;
	s->hdrs = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
	if (s->hdrs == NULL)
		return TG_ERR_NOMEM;
	if ((h = curl_slist_append(s->hdrs, "Expect:")) == NULL) {
		curl_slist_free_all(s->hdrs);
		s->hdrs = NULL;
		return TG_ERR_NOMEM;
	}
	s->hdrs = h;
	curl_easy_setopt(s->curl, CURLOPT_URL, s->url);
	curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	/* http:// only to this machine (slack_new), so that the webhook's secret URL and the
	 * messages never leave it in clear text: never through $http_proxy or $ALL_PROXY. https
	 * keeps the proxy: CONNECT keeps TLS from end to end */
	if (strncasecmp(s->url, "http://", 7) == 0) /* as slack_new compares it: HTTP:// too */
		curl_easy_setopt(s->curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(s->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->ca_file != NULL)
		curl_easy_setopt(s->curl, CURLOPT_CAINFO, s->ca_file);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, s->hdrs);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
	curl_easy_setopt(s->curl, CURLOPT_COPYPOSTFIELDS, payload);
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &s->body);
	curl_easy_setopt(s->curl, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(s->curl, CURLOPT_HEADERDATA, &s->retry_after);
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, s->errbuf);
	if (curl_multi_add_handle(s->multi, s->curl) != CURLM_OK) {
		curl_slist_free_all(s->hdrs);
		s->hdrs = NULL;
		tg_buf_free(&s->body);
		return TG_ERR_NOMEM;
	}
	s->busy = 1;
	curl_multi_perform(s->multi, &running); /* the request goes out now */
	return TG_OK;
}

int slack_post_busy(const struct slack *s)
{
	return s->busy;
}

void slack_post_wait(struct slack *s, int ms)
{
	if (s->busy)
		curl_multi_poll(s->multi, NULL, 0, ms, NULL);
}

void slack_post_cancel(struct slack *s)
{
	if (!s->busy)
		return;
	curl_multi_remove_handle(s->multi, s->curl);
	curl_slist_free_all(s->hdrs);
	s->hdrs = NULL;
	tg_buf_free(&s->body);
	s->busy = 0;
}

int slack_post_poll(struct slack *s, struct slack_result *res, int *done)
{
	CURLcode cc = CURLE_OK;
	CURLMsg *m;
	int running = 0, left, r;
	long status = 0;

	memset(res, 0, sizeof(*res));
	*done = 0;
	if (!s->busy)
		return TG_ERR_INVALID;
	curl_multi_perform(s->multi, &running);
	while ((m = curl_multi_info_read(s->multi, &left)) != NULL)
		if (m->msg == CURLMSG_DONE && m->easy_handle == s->curl) {
			cc = m->data.result;
			*done = 1;
		}
	if (!*done)
		return TG_OK; /* still under way */
	s->last_post_us = up_now_us();
	if (cc != CURLE_OK) {
		/* errbuf names at most the host, never the URL's secret path */
		snprintf(res->message, sizeof(res->message), "webhook: %s",
		         s->errbuf[0] != '\0' ? s->errbuf : curl_easy_strerror(cc));
		res->retryable = 1;
		r = TG_ERR_NET;
		goto out;
	}
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	res->http_status = status;
	snprintf(res->body, sizeof(res->body), "%s", tg_buf_str(&s->body));
	if (status == 200 && strcmp(res->body, "ok") == 0) {
		r = TG_OK;
		goto out;
	}
	if (status == 429) {
		res->retry_after_s = s->retry_after > 0 ? s->retry_after : 1;
		if (res->retry_after_s > SLACK_RETRY_AFTER_MAX_S)
			res->retry_after_s = SLACK_RETRY_AFTER_MAX_S;
		s->not_before_us = s->last_post_us + (uint64_t)res->retry_after_s * 1000000u;
		save_not_before(s);
	}
	/* 400 (bad payload), 403 (revoked), 404 (no such hook), 410 (channel archived), or a 2xx
	 * that is not Slack's "ok" (the URL of Slack's Web API, whose 200 says {"ok":false}; a
	 * proxy's page): a person must act, and trying again at once will not change it */
	res->retryable = !(status == 400 || status == 403 || status == 404 || status == 410 ||
	                   (status >= 200 && status < 300));
	snprintf(res->message, sizeof(res->message), "webhook answered %ld %s", status, res->body);
	r = res->retryable ? TG_ERR_RETRY : TG_ERR_HTTP;
out:
	slack_post_cancel(s);
	return r;
}

int slack_post(struct slack *s, const char *payload, uint64_t max_us, struct slack_result *res)
{
	uint64_t end = up_now_us() + max_us, now;
	int r, done = 0;

	memset(res, 0, sizeof(*res));
	if ((r = slack_post_start(s, payload)) != TG_OK) {
		snprintf(res->message, sizeof(res->message), "webhook: %s", tg_strerror(r));
		return r;
	}
	for (;;) {
		r = slack_post_poll(s, res, &done);
		if (done || r != TG_OK)
			return r;
		if ((now = up_now_us()) >= end)
			break;
		slack_post_wait(s, end - now < 1000000u ? (int)((end - now + 999u) / 1000u) : 1000);
	}
	slack_post_cancel(s);
	s->last_post_us = up_now_us();
	snprintf(res->message, sizeof(res->message), "webhook: no answer in %llu s",
	         (unsigned long long)(max_us / 1000000u));
	res->retryable = 1;
	return TG_ERR_INTERRUPTED;
}

/*
 * The length of the character at p (valid UTF-8) when it must not reach Slack as it is: a
 * C0 or C1 control (U+0085 is a line break), the line and paragraph separators U+2028 and
 * U+2029, and the bidirectional controls (U+061C, U+200E, U+200F, U+202A..U+202E,
 * U+2066..U+2069), which make a value read in another order than it is; 0 otherwise.
 */
static size_t slack_unsafe_len(const unsigned char *p)
{
	int n;

	if (p[0] < 0x20 || p[0] == 0x7f)
		return 1;
	if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
		return 2;
	n = tg_utf8_seq(p, strnlen((const char *)p, 4));
	if (n > 1 && tg_utf8_reorders(tg_utf8_code(p, (size_t)n)))
		return (size_t)n;
	return 0;
}

/* s as valid UTF-8 with control, line-breaking and bidirectional characters as spaces (a line
 * break in a user name would forge a line of the message, a right-to-left override would show
 * it reversed) and, when entities, &, <, > as Slack's entities (mrkdwn); NULL without
 * memory. */
static char *slack_clean(const char *s, int entities)
{
	struct tg_buf b = TG_BUF_VOID;
	struct tg_buf clean = TG_BUF_VOID;
	const char *p;
	char *out;

	tg_buf_init(&clean, 64 * 1024);
	tg_buf_init(&b, 6 * 64 * 1024 + 1);
	if (s == NULL)
		s = "";
	if (tg_utf8_sanitize(&clean, s, strlen(s), NULL) != TG_OK)
		goto fail;
	for (p = tg_buf_str(&clean); *p != '\0'; p++) {
		size_t unsafe = slack_unsafe_len((const unsigned char *)p);
		int r;

		if (unsafe > 0) {
			r = tg_buf_puts(&b, " ");
			p += unsafe - 1;
		} else if (entities && *p == '&')
			r = tg_buf_puts(&b, "&amp;");
		else if (entities && *p == '<')
			r = tg_buf_puts(&b, "&lt;");
		else if (entities && *p == '>')
			r = tg_buf_puts(&b, "&gt;");
		else
			r = tg_buf_append(&b, p, 1);
		if (r != TG_OK)
			goto fail;
	}
	tg_buf_free(&clean);
	if ((out = strdup(tg_buf_str(&b))) == NULL)
		goto fail;
	tg_buf_free(&b);
	return out;
fail:
	tg_buf_free(&clean);
	tg_buf_free(&b);
	return NULL;
}

char *slack_escape(const char *s)
{
	return slack_clean(s, 1);
}

/* Cut s to at most max bytes on a character boundary, marking the cut; when entities (mrkdwn),
 * not inside an entity. */
static void cut_utf8(char *s, size_t max, int entities)
{
	size_t n = strlen(s);

	if (n <= max)
		return;
	n = max - 3;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	/* do not leave half an &amp; behind */
	for (size_t k = n; entities && k > 0 && k + 6 > n; k--)
		if (s[k - 1] == '&') {
			n = k - 1;
			break;
		}
	memcpy(s + n, "...", 4);
}

static const char *str_of(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? v : "";
}

static json_int_t int_of(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* A message under construction: the fallback text and the blocks. */
struct msg {
	json_t *blocks;
	json_t *fields;
	struct tg_buf text;
};

static int msg_header(struct msg *m, const char *title)
{
	char *t = slack_clean(title, 0);
	json_t *blk;

	if (t == NULL)
		return TG_ERR_NOMEM;
	/* plain_text needs no escaping; count bytes, a safe bound for characters; the title holds
	 * a user name: ":skull:" in it stays text */
	cut_utf8(t, SLACK_HEADER_MAX, 0);
	blk = json_pack("{s:s, s:{s:s, s:o, s:b}}", "type", "header", "text", "type", "plain_text",
	                "text", up_json_string(t), "emoji", 0);
	free(t);
	if (blk == NULL || json_array_append_new(m->blocks, blk) != 0)
		return TG_ERR_NOMEM;
	return TG_OK;
}

/* One labelled value: two fields, the label (mrkdwn, bold) and the value (plain_text: Slack
 * parses nothing in it), and a part of the fallback text (mrkdwn, escaped). */
static int msg_field(struct msg *m, const char *label, const char *value)
{
	char *esc, *plain;
	char lab[64];
	json_t *f, *v;

	if (value == NULL || *value == '\0')
		return TG_OK;
	esc = slack_escape(value);
	plain = slack_clean(value, 0);
	if (esc == NULL || plain == NULL) {
		free(esc);
		free(plain);
		return TG_ERR_NOMEM;
	}
	cut_utf8(esc, SLACK_VALUE_MAX, 1);
	cut_utf8(plain, SLACK_VALUE_MAX, 0);
	tg_buf_printf(&m->text, "\n%s: %s", label, esc);
	free(esc);
	snprintf(lab, sizeof(lab), "*%s*", label);
	f = json_pack("{s:s, s:s}", "type", "mrkdwn", "text", lab);
	v = json_pack("{s:s, s:o, s:b}", "type", "plain_text", "text", up_json_string(plain),
	              "emoji", 0);
	free(plain);
	if (f == NULL || v == NULL || json_array_append_new(m->fields, f) != 0) {
		json_decref(v);
		return TG_ERR_NOMEM;
	}
	if (json_array_append_new(m->fields, v) != 0)
		return TG_ERR_NOMEM;
	return TG_OK;
}

static void human_duration(json_int_t us, char *buf, size_t len)
{
	long long s = us / 1000000;

	if (s >= 3600)
		snprintf(buf, len, "%lldh %02lldm %02llds", s / 3600, s / 60 % 60, s % 60);
	else if (s >= 60)
		snprintf(buf, len, "%lldm %02llds", s / 60, s % 60);
	else
		snprintf(buf, len, "%lld.%01llds", s, (long long)(us / 100000 % 10));
}

static json_t *msg_finish(struct msg *m, const char *title)
{
	json_t *payload = NULL, *sec;
	char *text_title = slack_escape(title);
	struct tg_buf full = TG_BUF_VOID;

	tg_buf_init(&full, 64 * 1024);
	if (text_title == NULL)
		goto out;
	/* label and value side by side, at most 10 fields (5 values) a section */
	for (size_t i = 0, nf = json_array_size(m->fields); i < nf; i += SLACK_FIELDS_MAX) {
		json_t *part = json_array();

		for (size_t k = i; part != NULL && k < nf && k < i + SLACK_FIELDS_MAX; k++)
			if (json_array_append(part, json_array_get(m->fields, k)) != 0) {
				json_decref(part);
				part = NULL;
			}
		sec = part != NULL ? json_pack("{s:s, s:o}", "type", "section", "fields", part)
		                   : NULL;
		if (sec == NULL || json_array_append_new(m->blocks, sec) != 0)
			goto out;
	}
	tg_buf_printf(&full, "%s%s", text_title, tg_buf_str(&m->text));
	{
		char *t = strdup(tg_buf_str(&full));

		if (t == NULL)
			goto out;
		cut_utf8(t, SLACK_TEXT_MAX, 1);
		payload = json_pack("{s:o, s:O}", "text", up_json_string(t), "blocks", m->blocks);
		free(t);
	}
out:
	free(text_title);
	tg_buf_free(&full);
	return payload;
}

/* The message's title for an event, or 0 when its type is not announced. */
static int title_for(const json_t *ev, char *title, size_t n)
{
	const char *type = str_of(ev, "type"), *user = str_of(ev, "user"),
	           *host = str_of(ev, "host");

	if (strcmp(type, "login") == 0)
		snprintf(title, n, "SSH login: %s@%s", user, host);
	else if (strcmp(type, "logout") == 0)
		snprintf(title, n, "SSH logout: %s@%s", user, host);
	else if (strcmp(type, "mfa_failure") == 0)
		snprintf(title, n, "MFA failure: %s@%s", user, host);
	else if (strcmp(type, "mfa_replay") == 0)
		snprintf(title, n, "Replayed MFA code: %s@%s (possible man in the middle)", user,
		         host);
	else if (strcmp(type, "mfa_skipped") == 0)
		snprintf(title, n, "MFA skipped: %s@%s", user, host);
	else if (strcmp(type, "recording_failure") == 0)
		snprintf(title, n, "Recording failure: %s@%s", user, host);
	else if (strcmp(type, "recording_escape") == 0)
		snprintf(title, n, "Recording escape attempt: %s@%s", user, host);
	else if (strcmp(type, "alert") == 0)
		snprintf(title, n, "Tollgate alert on %s: %s", host, str_of(ev, "alert"));
	else
		return 0; /* not announced */
	return 1;
}

/* What a logout says of a recording's final chain hash: the hash, or why there is none. A
 * recording that does not verify (changed on the host) is not passed off as one a crash left
 * unsealed (the index line's status says which). */
static const char *final_hash_text(const json_t *r, char *buf, size_t len)
{
	const char *status = str_of(r, "status");

	if (*str_of(r, "final_hash") != '\0')
		return str_of(r, "final_hash");
	if (*status == '\0' || strcmp(status, tg_strerror(TG_ERR_UNSEALED)) == 0)
		return "none: the recording is not sealed";
	snprintf(buf, len, "none: the recording DOES NOT VERIFY (%.100s)", status);
	return buf;
}

/* How many recordings of one session a logout message names; the rest are counted. */
#define SLACK_RECORDINGS_SHOWN 5

/* A logout's recordings (recs, from its join record rec, one or more): for each of the first
 * SLACK_RECORDINGS_SHOWN its S3 location and final chain hash, the bytes of all of them. */
static void logout_recordings(struct msg *m, const json_t *rec, const json_t *recs)
{
	long long recorded = 0, file = 0, more = (long long)int_of(rec, "more");
	size_t i, n = json_array_size(recs);
	/* more were read than the record could count without counting one twice */
	const char *least = json_is_true(json_object_get(rec, "more_uncounted")) ? "at least " : "";
	const json_t *r;
	char tmp[128];

	json_array_foreach(recs, i, r)
	{
		recorded += (long long)(int_of(r, "bytes_out") + int_of(r, "bytes_err") +
		                        int_of(r, "bytes_in"));
		file += (long long)int_of(r, "file_bytes");
	}
	if (n + (size_t)more == 1)
		snprintf(tmp, sizeof(tmp), "%lld recorded (%lld in the file)", recorded, file);
	else
		snprintf(tmp, sizeof(tmp), "%lld recorded (%lld in the files)%s", recorded, file,
		         more > 0 || *least ? ", in those listed" : "");
	msg_field(m, "Bytes", tmp);
	if (n + (size_t)more > 1) {
		/* channels of one multiplexed connection (ControlMaster) share its PAM session */
		snprintf(tmp, sizeof(tmp), "%s%lld, one per channel of the connection", least,
		         (long long)n + more);
		msg_field(m, "Recordings", tmp);
	}
	json_array_foreach(recs, i, r)
	{
		char loc[1400], lab_rec[32], lab_hash[48], hash[160];

		if (i == SLACK_RECORDINGS_SHOWN)
			break;
		if (n + (size_t)more == 1) {
			snprintf(lab_rec, sizeof(lab_rec), "Recording");
			snprintf(lab_hash, sizeof(lab_hash), "Final chain hash");
		} else {
			snprintf(lab_rec, sizeof(lab_rec), "Recording %zu", i + 1);
			snprintf(lab_hash, sizeof(lab_hash), "Final chain hash %zu", i + 1);
		}
		snprintf(loc, sizeof(loc), "s3://%s/%s", str_of(r, "bucket"), str_of(r, "s3_key"));
		msg_field(m, lab_rec, loc);
		msg_field(m, lab_hash, final_hash_text(r, hash, sizeof(hash)));
	}
	if (n > SLACK_RECORDINGS_SHOWN || more > 0) {
		snprintf(tmp, sizeof(tmp), "and %s%lld more, in S3 with the same pam-session-id",
		         least,
		         (long long)(n > SLACK_RECORDINGS_SHOWN ? n - SLACK_RECORDINGS_SHOWN : 0) +
		             more);
		msg_field(m, "More recordings", tmp);
	}
}

int slack_announces(const json_t *ev)
{
	char title[512];

	return title_for(ev, title, sizeof(title));
}

json_t *slack_message_for_event(const json_t *ev, const json_t *rec)
{
	const char *type = str_of(ev, "type"), *user = str_of(ev, "user"),
	           *host = str_of(ev, "host");
	struct msg m = {NULL, NULL, TG_BUF_VOID};
	char title[512], tmp[128];
	json_t *payload = NULL, *recs = up_join_recordings(rec);

	tg_buf_init(&m.text, 64 * 1024);
	m.blocks = json_array();
	m.fields = json_array();
	if (m.blocks == NULL || m.fields == NULL)
		goto out;
	if (!title_for(ev, title, sizeof(title)))
		goto out; /* not announced */
	if (msg_header(&m, title) != TG_OK)
		goto out;
	if (strcmp(type, "alert") == 0) {
		msg_field(&m, "What", str_of(ev, "message"));
		msg_field(&m, "Item", str_of(ev, "item"));
	}
	msg_field(&m, "User", user);
	msg_field(&m, "Host", host);
	if (*str_of(ev, "client_addr") != '\0') {
		/* a host name (253 characters) whole: longer than a value may be, so that
		 * msg_field() marks a cut */
		char from[SLACK_VALUE_MAX + 64];

		if (int_of(ev, "client_port") > 0)
			snprintf(from, sizeof(from), "%s port %lld", str_of(ev, "client_addr"),
			         (long long)int_of(ev, "client_port"));
		else
			snprintf(from, sizeof(from), "%s", str_of(ev, "client_addr"));
		msg_field(&m, "From", from);
	}
	msg_field(&m, "MFA", str_of(ev, "mfa_method"));
	msg_field(&m, "Reason", str_of(ev, "reason"));
	/* the reason says what broke, not whether the session went on without a recording */
	if (strcmp(type, "recording_failure") == 0 && *str_of(ev, "on_failure") != '\0')
		msg_field(
		    &m, "Outcome",
		    strcmp(str_of(ev, "on_failure"), "allow") == 0
		        ? "the session ran on UNRECORDED (on_failure = allow)"
		        : "the session was refused, or ended at the failure (on_failure = deny)");
	if (strcmp(type, "logout") == 0) {
		human_duration(int_of(ev, "duration_us"), tmp, sizeof(tmp));
		msg_field(&m, "Duration", tmp);
		if (recs != NULL && json_array_size(recs) > 0) {
			logout_recordings(&m, rec, recs);
			if (json_is_true(json_object_get(rec, "being_written")))
				msg_field(&m, "Still recording",
				          "another recording of the session is still being "
				          "written: a command of the session outlived its "
				          "connection");
		} else if (rec != NULL && json_is_true(json_object_get(rec, "being_written"))) {
			msg_field(&m, "Recording",
			          "still being written: a command of the session outlived its "
			          "connection");
		} else if (rec != NULL && json_is_true(json_object_get(rec, "in_spool"))) {
			msg_field(
			    &m, "Recording",
			    "in the spool, not uploaded yet (S3 slow or down): its S3 location "
			    "and final chain hash are in its index line once it is");
		} else {
			msg_field(&m, "Recording", "NONE FOUND: login with no recording");
		}
		/* a refused channel accounts for itself only, not for the connection's others */
		{
			char ids[512], refused[sizeof(ids) + 128];

			up_join_refused_note(rec, ids, sizeof(ids));
			if (*ids != '\0') {
				snprintf(
				    refused, sizeof(refused),
				    "%s (on_failure = deny; see its recording_failure event, in S3 "
				    "by its recording id)",
				    ids);
				msg_field(&m, "Refused by the recorder", refused);
			}
		}
	}
	msg_field(&m, "Session", str_of(ev, "session_id"));
	/* the recorder's events: which recording, of the several a multiplexed connection's
	 * channels make under one session id (its name in the spool, its S3 key) */
	msg_field(&m, "Recording id", str_of(ev, "recording_id"));
	msg_field(&m, "Service", str_of(ev, "service"));
	msg_field(&m, "Time", str_of(ev, "time"));
	payload = msg_finish(&m, title);
out:
	json_decref(recs);
	json_decref(m.blocks);
	json_decref(m.fields);
	tg_buf_free(&m.text);
	return payload;
}

json_t *slack_text_only(const json_t *payload)
{
	return json_pack("{s:O}", "text", json_object_get(payload, "text"));
}
