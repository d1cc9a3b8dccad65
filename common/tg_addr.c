#include "tg_addr.h"

#include <net/if.h>
#include <string.h>

int tg_zone_ok(const char *zone)
{
	size_t i;

	/* ASCII ranges, not isalnum(): the answer must not hang on the caller's locale */
	for (i = 0; zone[i] != '\0'; i++) {
		char c = zone[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return i > 0 && i < IF_NAMESIZE;
}
