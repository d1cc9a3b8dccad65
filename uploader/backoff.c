/* Retry timing shared by the S3 jobs and the Slack queue. */
#include "uploader.h"

#include <sodium.h>

#include "tg_event.h"

uint64_t up_now_us(void)
{
	return tg_mono_us();
}

uint64_t up_retry_later(const struct up_ctx *c, struct up_item *it, uint64_t now)
{
	it->attempts++;
	it->next_try_us =
	    now + up_backoff_us(it->attempts,
	                        (unsigned)tg_config_uint(c->cfg, TG_CONF_UPLOADER_BACKOFF_MAX));
	return it->next_try_us;
}

uint64_t up_backoff_us(unsigned attempts, unsigned cap_s)
{
	uint64_t cap = (uint64_t)cap_s * 1000000u, ceiling = 1000000u;

	/* full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
	 * a uniform wait in (0, min(cap, 1 s * 2^(attempts-1))], so that many
	 * hosts coming back after an outage do not retry in step */
	while (attempts-- > 1 && ceiling < cap)
		ceiling *= 2;
	if (ceiling > cap)
		ceiling = cap;
	return ((uint64_t)randombytes_random() << 32 | randombytes_random()) % ceiling + 1;
}
