/*
 * tollgate.conf: one INI-style file shared by every program.
 *   [section]
 *   key = value      # comments start with '#'
 * Every key is declared once in tg_config_keys.c with its type, default and
 * bounds. Unknown keys, duplicates and malformed lines are errors naming
 * file:line. Options are applied in order: defaults, the file, then the
 * command line or PAM module arguments (tg_config_set()).
 */
#ifndef TG_CONFIG_H
#define TG_CONFIG_H

#include <stddef.h>

#include "tg_config_keys.h"

#define TG_CONFIG_DEFAULT_PATH TG_SYSCONFDIR "/tollgate/tollgate.conf"
#define TG_CONFIG_MAX_VALUE 4096  /* bytes in one value */
#define TG_CONFIG_HOSTNAME_MAX 255 /* [general] hostname: what a recording's header holds */
#define TG_CONFIG_MAX_LINE 8192   /* bytes in one line */
#define TG_CONFIG_MAX_FILE (1024 * 1024)

enum tg_conf_type {
	TG_CONF_STRING,
	TG_CONF_BOOL,  /* yes/no, true/false, on/off, 1/0 */
	TG_CONF_UINT,  /* decimal, within [min, max]; optional k/M/G suffix (×1024) */
	TG_CONF_ENUM,  /* one of the '|'-separated choices */
};

struct tg_conf_key {
	const char *section;
	const char *key;
	enum tg_conf_type type;
	const char *def;           /* default, as it would be written in the file */
	unsigned long long min, max; /* UINT bounds */
	const char *choices;       /* ENUM: "a|b|c" */
	const char *readers;       /* which programs read it (for the docs) */
	const char *help;          /* one line for doc/config.md */
};

/* The table, indexed by enum tg_conf_id. */
extern const struct tg_conf_key tg_conf_keys[TG_CONF_COUNT];

/* Flags for tg_config_load(). */
#define TG_CONFIG_MISSING_OK 0x1  /* a missing file leaves the defaults */
#define TG_CONFIG_OWNER_SELF 0x2  /* also accept a file owned by the real uid (unprivileged tools) */
#define TG_CONFIG_NO_OWNER_CHECK 0x4 /* unit tests only */

struct tg_config;

/* A new config holding the defaults; *out is NULL on error. */
int tg_config_new(struct tg_config **out);
/* Read path over cfg. On error, err holds "file:line: why" and cfg is unchanged. */
int tg_config_load(struct tg_config *cfg, const char *path, unsigned flags, char *err, size_t errlen);
/* Parse a whole file's text (already read) as if from name. */
int tg_config_parse(struct tg_config *cfg, const char *name, const char *text, size_t len, char *err,
		    size_t errlen);
/* Set one option from "section.key=value" style overrides (command line, PAM args). */
int tg_config_set(struct tg_config *cfg, enum tg_conf_id id, const char *value, char *err, size_t errlen);
/* Find a key id by section and name; TG_ERR_NOT_FOUND when unknown. */
int tg_config_lookup(const char *section, const char *key, enum tg_conf_id *id);
/* 1 when s is one of the '|'-separated choices of an ENUM key ("a|b|c"). */
int tg_config_choice_ok(const char *choices, const char *s);

const char *tg_config_str(const struct tg_config *cfg, enum tg_conf_id id);
int tg_config_bool(const struct tg_config *cfg, enum tg_conf_id id);
unsigned long long tg_config_uint(const struct tg_config *cfg, enum tg_conf_id id);
/* The value was set by the file or tg_config_set(), not left at its default. */
int tg_config_is_set(const struct tg_config *cfg, enum tg_conf_id id);

/* The host's name that events and recordings carry: configured ([general] hostname, already
 * checked at load) when it is not empty, else the kernel's (gethostname). The kernel's is
 * root's to set, but to any bytes, and it would reach a recording's header, events, Slack and
 * an investigator's terminal: it gets the configured name's check, and one over
 * TG_CONFIG_HOSTNAME_MAX bytes, not UTF-8, or with a control character is not used. TG_OK and buf
 * holds the name; else buf is empty and TG_ERR_INVALID (such a kernel name, or none), TG_ERR_SYSTEM
 * (gethostname failed) or TG_ERR_LIMIT (buf is too small): the caller's fallback. */
int tg_config_hostname(const char *configured, char *buf, size_t size);

/* Release; wipes values (a config may hold secrets). Safe on NULL. */
void tg_config_free(struct tg_config *cfg);
/* Wipe every value in place, nothing freed (for a forked child about to become another user:
 * the values read as empty strings afterwards). Safe on NULL. */
void tg_config_wipe(struct tg_config *cfg);

#endif
