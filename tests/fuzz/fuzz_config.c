/*
 * tollgate.conf parser: tg_config_parse() over arbitrary text. A file that
 * parses must leave every value within its key's type and bounds, and a file
 * that fails must leave the config unchanged (still the defaults here).
 */
#include <string.h>

#include "fuzz.h"
#include "tg_config.h"
#include "tg_error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_config *cfg = NULL;
	char err[512];
	int i, r;

	if (tg_config_new(&cfg) != TG_OK)
		abort();
	err[0] = '\0';
	r = tg_config_parse(cfg, "fuzz.conf", (const char *)data, size, err, sizeof(err));
	FUZZ_CHECK(r == TG_OK || err[0] != '\0'); /* every failure names its cause */
	for (i = 0; i < TG_CONF_COUNT; i++) {
		const struct tg_conf_key *k = &tg_conf_keys[i];
		const char *v = tg_config_str(cfg, (enum tg_conf_id)i);
		unsigned long long n = tg_config_uint(cfg, (enum tg_conf_id)i);

		FUZZ_CHECK(v != NULL && strlen(v) <= TG_CONFIG_MAX_VALUE);
		FUZZ_CHECK(r == TG_OK || !tg_config_is_set(cfg, (enum tg_conf_id)i));
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
	tg_config_free(cfg);
	return 0;
}
