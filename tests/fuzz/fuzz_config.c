/*
 * tollgate.conf parser: tg_config_parse() over arbitrary text. A file that
 * parses must leave every value within its key's type and bounds, and a file
 * that fails must leave the config unchanged (still the defaults here).
 */
#include <string.h>

#include "fuzz.h"
#include "fuzz_config_check.h"
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
		fuzz_check_config_value(cfg, (enum tg_conf_id)i);
		FUZZ_CHECK(r == TG_OK || !tg_config_is_set(cfg, (enum tg_conf_id)i));
	}
	tg_config_free(cfg);
	return 0;
}
