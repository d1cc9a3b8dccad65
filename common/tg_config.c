#include "tg_config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tg_buf.h"
#include "tg_error.h"
#include "tg_spool.h"
#include "tg_utf8.h"

const struct tg_conf_key tg_conf_keys[TG_CONF_COUNT] = {
#define X(id, section, key, type, def, min, max, choices, readers, help) \
	[TG_CONF_##id] = {section, key, TG_CONF_##type, def, min, max, choices, readers, help},
#include "tg_config_keys.def"
#undef X
};

struct tg_config {
	char *value[TG_CONF_COUNT];      /* NULL: the default */
	unsigned long long num[TG_CONF_COUNT]; /* parsed BOOL/UINT */
};

static int parse_bool(const char *s, unsigned long long *out)
{
	static const char *yes[] = {"yes", "true", "on", "1"};
	static const char *no[] = {"no", "false", "off", "0"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return TG_OK;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return TG_OK;
		}
	}
	return TG_ERR_PARSE;
}

static int parse_uint(const char *s, unsigned long long *out)
{
	unsigned long long v, mul = 1;
	char *end;

	if (!isdigit((unsigned char)*s))
		return TG_ERR_PARSE;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return TG_ERR_PARSE;
	switch (*end) {
	case 'k': case 'K': mul = 1024ULL; end++; break;
	case 'm': case 'M': mul = 1024ULL * 1024; end++; break;
	case 'g': case 'G': mul = 1024ULL * 1024 * 1024; end++; break;
	default: break;
	}
	if (*end != '\0' || (v != 0 && mul > ~0ULL / v))
		return TG_ERR_PARSE;
	*out = v * mul;
	return TG_OK;
}

int tg_config_choice_ok(const char *choices, const char *s)
{
	size_t n = strlen(s);
	const char *p = choices, *bar;

	for (;;) {
		bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, s, n) == 0)
			return 1;
		if (bar == NULL)
			return 0;
		p = bar + 1;
	}
}

/* [general] hostname: at most TG_CONFIG_HOSTNAME_MAX bytes of UTF-8 text without control
 * characters. */
static int hostname_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n > TG_CONFIG_HOSTNAME_MAX || !tg_utf8_valid(s, n))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		/* C0, DEL, and C1 (U+0080-U+009F, 0xc2 0x80-0x9f in UTF-8) */
		if (c < 0x20 || c == 0x7f ||
		    (c == 0xc2 && (unsigned char)s[i + 1] >= 0x80 &&
		     (unsigned char)s[i + 1] <= 0x9f))
			return 0;
	}
	return 1;
}

int tg_config_hostname(const char *configured, char *buf, size_t size)
{
	char k[TG_CONFIG_HOSTNAME_MAX + 1]; /* Linux's are at most 64 bytes */
	const char *name = configured;
	size_t n;

	if (size == 0)
		return TG_ERR_LIMIT;
	buf[0] = '\0';
	if (name == NULL || *name == '\0') {
		if (gethostname(k, sizeof(k)) != 0)
			return TG_ERR_SYSTEM;
		k[sizeof(k) - 1] = '\0';
		if (k[0] == '\0' || !hostname_ok(k))
			return TG_ERR_INVALID;
		name = k;
	}
	if ((n = strlen(name)) >= size)
		return TG_ERR_LIMIT;
	memcpy(buf, name, n + 1);
	return TG_OK;
}

/* Check value against key id's type; the parsed number goes to *num. */
static int check_value(enum tg_conf_id id, const char *value, unsigned long long *num, char *err, size_t errlen)
{
	const struct tg_conf_key *k = &tg_conf_keys[id];

	*num = 0;
	if (strlen(value) > TG_CONFIG_MAX_VALUE) {
		tg_errf(err, errlen, "value of %s.%s is longer than %d bytes", k->section, k->key,
			TG_CONFIG_MAX_VALUE);
		return TG_ERR_LIMIT;
	}
	switch (k->type) {
	case TG_CONF_STRING:
		/* the host name goes into every recording's header, whose reader takes 255 bytes
		 * of text (a cut or non-UTF-8 name would make each recording unreadable), and into
		 * events, log lines and S3 keys */
		if (id == TG_CONF_GENERAL_HOSTNAME && !hostname_ok(value)) {
			tg_errf(err, errlen,
			        "%s.%s must be at most %d bytes of UTF-8 text without control "
			        "characters",
			        k->section, k->key, TG_CONFIG_HOSTNAME_MAX);
			return TG_ERR_PARSE;
		}
		return TG_OK;
	case TG_CONF_BOOL:
		if (parse_bool(value, num) != TG_OK) {
			tg_errf(err, errlen, "%s.%s must be yes or no, not \"%s\"", k->section, k->key, value);
			return TG_ERR_PARSE;
		}
		return TG_OK;
	case TG_CONF_UINT:
		if (parse_uint(value, num) != TG_OK) {
			tg_errf(err, errlen, "%s.%s must be a whole number, not \"%s\"", k->section, k->key, value);
			return TG_ERR_PARSE;
		}
		if (*num < k->min || *num > k->max) {
			tg_errf(err, errlen, "%s.%s must be between %llu and %llu, not %s", k->section, k->key,
				k->min, k->max, value);
			return TG_ERR_PARSE;
		}
		return TG_OK;
	case TG_CONF_ENUM:
		if (!tg_config_choice_ok(k->choices, value)) {
			tg_errf(err, errlen, "%s.%s must be one of %s, not \"%s\"", k->section, k->key, k->choices,
				value);
			return TG_ERR_PARSE;
		}
		return TG_OK;
	}
	return TG_ERR_INVALID;
}

int tg_config_lookup(const char *section, const char *key, enum tg_conf_id *id)
{
	int i;

	for (i = 0; i < TG_CONF_COUNT; i++) {
		if (strcmp(tg_conf_keys[i].section, section) == 0 && strcmp(tg_conf_keys[i].key, key) == 0) {
			*id = (enum tg_conf_id)i;
			return TG_OK;
		}
	}
	return TG_ERR_NOT_FOUND;
}

static int section_known(const char *section)
{
	int i;

	for (i = 0; i < TG_CONF_COUNT; i++)
		if (strcmp(tg_conf_keys[i].section, section) == 0)
			return 1;
	return 0;
}

int tg_config_new(struct tg_config **out)
{
	struct tg_config *cfg;
	int i;

	*out = NULL;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return TG_ERR_NOMEM;
	for (i = 0; i < TG_CONF_COUNT; i++) {
		/* the defaults are checked by the unit tests; never fail here */
		if (check_value((enum tg_conf_id)i, tg_conf_keys[i].def, &cfg->num[i], NULL, 0) != TG_OK) {
			free(cfg);
			return TG_ERR_CONFIG;
		}
	}
	*out = cfg; /* transferred */
	return TG_OK;
}

static void free_value(char **v)
{
	if (*v != NULL) {
		sodium_memzero(*v, strlen(*v));
		free(*v);
		*v = NULL;
	}
}

int tg_config_set(struct tg_config *cfg, enum tg_conf_id id, const char *value, char *err, size_t errlen)
{
	unsigned long long num;
	char *copy;
	int r;

	if ((unsigned)id >= TG_CONF_COUNT)
		return TG_ERR_INVALID;
	if ((r = check_value(id, value, &num, err, errlen)) != TG_OK)
		return r;
	if ((copy = strdup(value)) == NULL)
		return TG_ERR_NOMEM;
	free_value(&cfg->value[id]);
	cfg->value[id] = copy;
	cfg->num[id] = num;
	return TG_OK;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int valid_name(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
			return 0;
	return 1;
}

/* Parse into a scratch config so that a bad file leaves cfg untouched. */
int tg_config_parse(struct tg_config *cfg, const char *name, const char *text, size_t len, char *err,
		    size_t errlen)
{
	struct tg_config scratch;
	unsigned char seen[TG_CONF_COUNT];
	char line[TG_CONFIG_MAX_LINE + 2];
	char section[64] = "";
	const char *p = text, *end = text + len, *nl;
	size_t lineno = 0, n;
	enum tg_conf_id id;
	int r = TG_ERR_PARSE, i;

	memset(&scratch, 0, sizeof(scratch));
	memset(seen, 0, sizeof(seen));
	if (memchr(text, '\0', len) != NULL) {
		tg_errf(err, errlen, "%s: contains a NUL byte", name);
		goto out;
	}
	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > TG_CONFIG_MAX_LINE) {
			tg_errf(err, errlen, "%s:%zu: line longer than %d bytes", name, lineno, TG_CONFIG_MAX_LINE);
			r = TG_ERR_LIMIT;
			goto out;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (nl ? 1 : 0);

		char *s = trim(line), *eq, *key, *val, *hash;
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']'), *rest = close ? trim(close + 1) : NULL;

			/* a comment may follow, as it may follow a value: "[pam]  # MFA" */
			if (close == NULL || (*rest != '\0' && *rest != '#' && *rest != ';')) {
				tg_errf(err, errlen, "%s:%zu: malformed section header", name, lineno);
				goto out;
			}
			*close = '\0';
			s = trim(s + 1);
			if (!valid_name(s) || strlen(s) >= sizeof(section)) {
				tg_errf(err, errlen, "%s:%zu: bad section name \"%s\"", name, lineno, s);
				goto out;
			}
			/* even with no keys under it: [uploder] is a typo the admin must hear of */
			if (!section_known(s)) {
				tg_errf(err, errlen, "%s:%zu: unknown section [%s]", name, lineno,
				        s);
				goto out;
			}
			snprintf(section, sizeof(section), "%s", s);
			continue;
		}
		if ((eq = strchr(s, '=')) == NULL) {
			tg_errf(err, errlen, "%s:%zu: expected \"key = value\"", name, lineno);
			goto out;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if (*val == '"') {
			/* in double quotes: kept as it is, blanks and '#' too (prompt = "Code: ");
			 * no escapes, so such a value cannot hold '"' itself */
			char *close = strchr(val + 1, '"'), *rest;

			if (close == NULL) {
				tg_errf(err, errlen,
				        "%s:%zu: the value of \"%s\" has no closing quote", name,
				        lineno, key);
				goto out;
			}
			*close = '\0';
			rest = trim(close + 1);
			if (*rest != '\0' && *rest != '#') {
				tg_errf(err, errlen,
				        "%s:%zu: text after the closing quote of \"%s\"", name,
				        lineno, key);
				goto out;
			}
			val++;
		} else {
			/* a '#' after whitespace starts a comment; "#" inside a value (a URL
			 * fragment) stays */
			for (hash = val; (hash = strchr(hash, '#')) != NULL; hash++) {
				if (hash == val || hash[-1] == ' ' || hash[-1] == '\t') {
					*hash = '\0';
					break;
				}
			}
			val = trim(val);
		}
		if (section[0] == '\0') {
			tg_errf(err, errlen, "%s:%zu: key \"%s\" outside any [section]", name, lineno, key);
			goto out;
		}
		if (!valid_name(key) || tg_config_lookup(section, key, &id) != TG_OK) {
			tg_errf(err, errlen, "%s:%zu: unknown key \"%s\" in [%s]", name, lineno, key, section);
			goto out;
		}
		if (seen[id]) {
			tg_errf(err, errlen, "%s:%zu: duplicate key \"%s\" in [%s]", name, lineno, key, section);
			goto out;
		}
		seen[id] = 1;
		char why[256];
		if ((r = check_value(id, val, &scratch.num[id], why, sizeof(why))) != TG_OK) {
			tg_errf(err, errlen, "%s:%zu: %s", name, lineno, why);
			goto out;
		}
		r = TG_ERR_PARSE;
		if ((scratch.value[id] = strdup(val)) == NULL) {
			r = TG_ERR_NOMEM;
			goto out;
		}
	}
	for (i = 0; i < TG_CONF_COUNT; i++) {
		if (!seen[i])
			continue;
		free_value(&cfg->value[i]);
		cfg->value[i] = scratch.value[i];
		cfg->num[i] = scratch.num[i];
		scratch.value[i] = NULL; /* transferred */
	}
	r = TG_OK;
out:
	for (i = 0; i < TG_CONF_COUNT; i++)
		free_value(&scratch.value[i]);
	sodium_memzero(line, sizeof(line));
	return r;
}

int tg_config_load(struct tg_config *cfg, const char *path, unsigned flags, char *err, size_t errlen)
{
	struct tg_buf text = TG_BUF_VOID;
	struct stat st;
	int fd, r;

	tg_buf_init(&text, TG_CONFIG_MAX_FILE);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0) {
		if (errno == ENOENT && (flags & TG_CONFIG_MISSING_OK))
			return TG_OK;
		tg_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return errno == ENOENT ? TG_ERR_NOT_FOUND : TG_ERR_SYSTEM;
	}
	if (fstat(fd, &st) != 0) {
		tg_errf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		r = TG_ERR_SYSTEM;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		tg_errf(err, errlen, "%s: refused: not a regular file", path);
		r = TG_ERR_PERM;
		goto out;
	}
	if (!(flags & TG_CONFIG_NO_OWNER_CHECK)) {
		if (st.st_uid != 0 && !((flags & TG_CONFIG_OWNER_SELF) && st.st_uid == getuid())) {
			tg_errf(err, errlen, "%s: refused: owned by uid %lu, not by root", path,
				(unsigned long)st.st_uid);
			r = TG_ERR_PERM;
			goto out;
		}
		if (st.st_mode & (S_IWGRP | S_IWOTH)) {
			tg_errf(err, errlen, "%s: refused: writable by %s (chmod go-w)", path,
				(st.st_mode & S_IWOTH) ? "others" : "group");
			r = TG_ERR_PERM;
			goto out;
		}
	}
	if ((r = tg_read_fd(fd, TG_CONFIG_MAX_FILE, &text)) != TG_OK) {
		tg_errf(err, errlen, "%s: cannot read: %s", path,
			r == TG_ERR_SYSTEM ? strerror(errno) : tg_strerror(r));
		goto out;
	}
	r = tg_config_parse(cfg, path, tg_buf_str(&text), text.len, err, errlen);
out:
	close(fd);
	tg_buf_free_secret(&text);
	return r;
}

const char *tg_config_str(const struct tg_config *cfg, enum tg_conf_id id)
{
	return cfg->value[id] != NULL ? cfg->value[id] : tg_conf_keys[id].def;
}

int tg_config_bool(const struct tg_config *cfg, enum tg_conf_id id)
{
	return cfg->num[id] != 0;
}

unsigned long long tg_config_uint(const struct tg_config *cfg, enum tg_conf_id id)
{
	return cfg->num[id];
}

int tg_config_is_set(const struct tg_config *cfg, enum tg_conf_id id)
{
	return cfg->value[id] != NULL;
}

void tg_config_wipe(struct tg_config *cfg)
{
	int i;

	if (cfg == NULL)
		return;
	for (i = 0; i < TG_CONF_COUNT; i++)
		if (cfg->value[i] != NULL)
			sodium_memzero(cfg->value[i], strlen(cfg->value[i]));
}

void tg_config_free(struct tg_config *cfg)
{
	int i;

	if (cfg == NULL)
		return;
	for (i = 0; i < TG_CONF_COUNT; i++)
		free_value(&cfg->value[i]);
	free(cfg);
}
