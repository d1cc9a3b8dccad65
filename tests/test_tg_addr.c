#include "tg_test.h"

#include <net/if.h>

#include "tg_addr.h"

START_TEST(zone_names_and_indexes)
{
	char z[IF_NAMESIZE + 1];

	ck_assert(tg_zone_ok("eth0"));
	ck_assert(tg_zone_ok("2"));
	ck_assert(tg_zone_ok("br-lan.10_x"));
	ck_assert(!tg_zone_ok(""));
	ck_assert(!tg_zone_ok("eth0%1"));
	ck_assert(!tg_zone_ok("e\x1b[2J"));
	ck_assert(!tg_zone_ok("eth 0"));
	ck_assert(!tg_zone_ok("eth0/"));
	ck_assert(!tg_zone_ok("\xc3\xa9th0")); /* letters are ASCII letters, in any locale */
	/* IF_NAMESIZE counts the NUL */
	memset(z, 'a', sizeof(z));
	z[IF_NAMESIZE - 1] = '\0';
	ck_assert(tg_zone_ok(z));
	z[IF_NAMESIZE - 1] = 'a';
	z[IF_NAMESIZE] = '\0';
	ck_assert(!tg_zone_ok(z));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tg_addr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, zone_names_and_indexes);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
