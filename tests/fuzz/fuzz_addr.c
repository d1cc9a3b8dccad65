/*
 * Client addresses: tgp_addr_clean() and tgp_addr_limit_key() (pam_module/state.c) and
 * tg_zone_ok() (common/tg_addr.c) over arbitrary PAM_RHOST text. The input: a byte for the
 * IPv6 prefix (32 to 128, ipv6_prefix's bounds), then the address.
 *
 * Invariants: the clean key is 1 to TGP_ADDR_MAX - 1 bytes of [A-Za-z0-9.:_%-] and cleaning it
 * again changes nothing (it is the client's one spelling: what is stored is read back as the
 * same client); an address cleans the same however it is spelt (IPv4 as IPv4-mapped IPv6, an
 * IPv6 one uncompressed, in upper case, in brackets); the limiter's key fits, is the clean key
 * itself for an IPv4 address, a name or prefix 128, and is the same for every address of one
 * IPv6 network. tg_zone_ok() takes exactly 1 to IF_NAMESIZE - 1 of [A-Za-z0-9._-].
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <string.h>

#include "fuzz.h"
#include "state.h"
#include "tg_addr.h"

static int key_char(char c, int slash)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == ':' || c == '_' || c == '%' || c == '-' || (slash && c == '/');
}

static void check_key(const char *k, int slash)
{
	size_t n = strnlen(k, TGP_ADDR_MAX), i;

	FUZZ_CHECK(n > 0 && n < TGP_ADDR_MAX);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(key_char(k[i], slash));
}

static int zone_ok_ref(const char *z)
{
	size_t n = strlen(z), i;

	for (i = 0; i < n; i++)
		if (!key_char(z[i], 0) || z[i] == ':' || z[i] == '%')
			return 0;
	return n > 0 && n < IF_NAMESIZE;
}

/* out: malloc'd at exactly TGP_ADDR_MAX, so that ASan sees a write past it */
static char *clean(const char *addr)
{
	char *out = malloc(TGP_ADDR_MAX);

	FUZZ_CHECK(out != NULL);
	tgp_addr_clean(addr, out);
	check_key(out, 0);
	return out;
}

static char *limit_key(const char *c, unsigned prefix)
{
	char *out = malloc(TGP_ADDR_MAX);

	FUZZ_CHECK(out != NULL);
	tgp_addr_limit_key(c, prefix, out);
	check_key(out, 1);
	return out;
}

/* The same address spelt otherwise cleans the same. */
static void check_spellings(const char *c)
{
	unsigned char bin[16];
	char alt[128], *again;
	int i;

	if (inet_pton(AF_INET, c, bin) == 1) {
		snprintf(alt, sizeof(alt), "::ffff:%s", c);
		again = clean(alt);
		FUZZ_CHECK(strcmp(again, c) == 0);
		free(again);
		snprintf(alt, sizeof(alt), "[::FFFF:%s]", c);
		again = clean(alt);
		FUZZ_CHECK(strcmp(again, c) == 0);
		free(again);
	} else if (strchr(c, '%') == NULL && inet_pton(AF_INET6, c, bin) == 1) {
		char *p = alt;

		*p++ = '[';
		for (i = 0; i < 16; i += 2)
			p += sprintf(p, "%s%02X%02X", i ? ":" : "", bin[i], bin[i + 1]);
		*p++ = ']';
		*p = '\0';
		again = clean(alt);
		FUZZ_CHECK(strcmp(again, c) == 0);
		free(again);
	}
}

/* Every address of c's network has c's key (c an IPv6 address keyed as a network). */
static void check_network(const char *c, const char *key, unsigned prefix, const uint8_t *noise,
                          size_t nn)
{
	unsigned char bin[16];
	char txt[INET6_ADDRSTRLEN], *c2, *k2;
	unsigned i;

	if (strchr(key, '/') == NULL || strchr(c, '%') != NULL || inet_pton(AF_INET6, c, bin) != 1)
		return;
	for (i = prefix; i < 128; i++)
		if (noise[(i / 8) % nn] & (1u << (i % 8)))
			bin[i / 8] ^= (unsigned char)(0x80u >> (i % 8));
	if (inet_ntop(AF_INET6, bin, txt, sizeof(txt)) == NULL)
		abort();
	c2 = clean(txt);
	k2 = limit_key(c2, prefix);
	/* unless the other address is one that carries an IPv4 address (keyed as that) */
	if (strchr(k2, '/') != NULL)
		FUZZ_CHECK(strcmp(k2, key) == 0);
	free(c2);
	free(k2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *addr, *c, *again, *key;
	unsigned prefix;

	if (size < 1 || size > 4096)
		return 0;
	prefix = 32 + data[0] % 97;
	if ((addr = malloc(size)) == NULL)
		abort();
	memcpy(addr, data + 1, size - 1);
	addr[size - 1] = '\0';

	FUZZ_CHECK(tg_zone_ok(addr) == zone_ok_ref(addr));
	c = clean(addr);
	again = clean(c);
	if (strcmp(again, c) != 0)
		fprintf(stderr, "clean \"%s\" -> \"%s\" -> \"%s\"\n", addr, c, again);
	FUZZ_CHECK(strcmp(again, c) == 0);
	check_spellings(c);
	key = limit_key(c, prefix);
	if (strchr(c, ':') == NULL && strchr(c, '%') == NULL)
		FUZZ_CHECK(strcmp(key, c) == 0); /* IPv4, a name: as it is */
	if (prefix == 128 && strchr(key, '/') != NULL)
		FUZZ_CHECK(0); /* per address: never a network */
	check_network(c, key, prefix, data, size);
	if (tg_zone_ok(addr) == 0)
		FUZZ_CHECK(tg_zone_ok(addr) == zone_ok_ref(addr));
	free(key);
	free(again);
	free(c);
	free(addr);
	{
		/* NULL: no PAM_RHOST */
		char *none = clean(NULL);

		FUZZ_CHECK(strcmp(none, "-") == 0);
		free(none);
	}
	return 0;
}
