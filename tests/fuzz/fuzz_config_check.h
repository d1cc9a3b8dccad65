/*
 * Shared by the harnesses that load a tollgate.conf (fuzz_config.c, fuzz_pam_opts.c): every
 * value a parse leaves is within its key's type, bounds, choices and TG_CONFIG_MAX_VALUE.
 */
#ifndef TG_FUZZ_CONFIG_CHECK_H
#define TG_FUZZ_CONFIG_CHECK_H

#include <string.h>

#include "fuzz.h"
#include "tg_config.h"

static void fuzz_check_config_value(const struct tg_config *cfg, enum tg_conf_id i)
{
	const struct tg_conf_key *k = &tg_conf_keys[i];
	const char *v = tg_config_str(cfg, i);
	unsigned long long n = tg_config_uint(cfg, i);

	FUZZ_CHECK(v != NULL && strlen(v) <= TG_CONFIG_MAX_VALUE);
	switch (k->type) {
	case TG_CONF_UINT:
		FUZZ_CHECK(n >= k->min && n <= k->max);
		break;
	case TG_CONF_BOOL:
		FUZZ_CHECK(n <= 1);
		break;
	case TG_CONF_ENUM:
		FUZZ_CHECK(tg_config_choice_ok(k->choices, v));
		break;
	case TG_CONF_STRING:
		break;
	}
}

#endif
