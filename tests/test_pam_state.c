/* pam_module/state.c: the state file, the rate limiter and the used scratch codes. */
#include "tg_test.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "state.h"
#include "tg_error.h"

static char *dir;
static const struct tgp_limits lim = {3, 5, 300};

static void setup(void)
{
	dir = tg_test_tmpdir();
}

static void teardown(void)
{
	tg_test_rmtree(dir);
	free(dir);
}

START_TEST(round_trip)
{
	struct tgp_state st, back;
	unsigned char h[TGP_SCRATCH_HASH];
	char text[TGP_STATE_MAX];
	size_t len;

	memset(&st, 0, sizeof(st));
	memset(h, 7, sizeof(h));
	st.last_step = 59863858;
	st.step_size = 30;
	tgp_state_scratch_use(&st, h);
	tgp_limit_fail(&st, "192.0.2.1", 1000, &lim);
	tgp_limit_fail(&st, "2001:db8::1", 1001, &lim);
	tgp_limit_fail(&st, "2001:db8:1:2::/64", 1002, &lim);
	ck_assert_int_eq(tgp_state_format(&st, text, sizeof(text), &len), TG_OK);
	ck_assert_int_eq(tgp_state_parse(text, len, &back), TG_OK);
	ck_assert(memcmp(&st, &back, sizeof(st)) == 0);
	ck_assert(tgp_state_scratch_used(&back, h));
	h[0] = 8;
	ck_assert(!tgp_state_scratch_used(&back, h));
	/* cut, unknown, or NUL-bearing text is corrupt */
	ck_assert_int_eq(tgp_state_parse(text, len - 1, &back), TG_ERR_FORMAT);
	ck_assert_int_eq(tgp_state_parse("tollgate-state 1\nbogus 1\n", 25, &back), TG_ERR_FORMAT);
	ck_assert_int_eq(tgp_state_parse("tollgate-state 1\nlast_step x\n", 29, &back),
	                 TG_ERR_FORMAT);
	ck_assert_int_eq(tgp_state_parse("tollgate-state 1\nstep_size 0\n", 29, &back),
	                 TG_ERR_FORMAT);
	ck_assert_int_eq(tgp_state_parse("tollgate-state 1\nstep_size 301\n", 31, &back),
	                 TG_ERR_FORMAT);
	ck_assert_int_eq(tgp_state_parse("tollgate-state 1\nstep_size 3x\n", 30, &back),
	                 TG_ERR_FORMAT);
	ck_assert_int_eq(tgp_state_parse("tollgate-state 1\nsuccess 5 sms\n", 31, &back),
	                 TG_ERR_FORMAT);
	ck_assert_int_eq(tgp_state_parse("tollgate-state 1\nsuccess 0 totp\n", 32, &back),
	                 TG_ERR_FORMAT);
	/* a file written before the step size was kept: its size is not known */
	ck_assert_int_eq(tgp_state_parse("tollgate-state 1\nlast_step 7\n", 29, &back), TG_OK);
	ck_assert_int_eq(back.last_step, 7);
	ck_assert_uint_eq(back.step_size, 0);
	ck_assert_int_eq(tgp_state_parse("tollgate-state 2\n", 17, &back), TG_ERR_FORMAT);
	{
		/* what a later version marks safe to lose ("opt ") is skipped, not corrupt: a
		 * downgrade keeps its users; anything else it adds still fails closed */
		static const char later[] = "tollgate-state 1\nlast_step 9\nopt hint 1 x\n"
		                            "opt token abcd 5 push\nused "
		                            "07070707070707070707070707070707\n";
		const char *bad[] = {"tollgate-state 1\nopt\n", "tollgate-state 1\nopt \n",
		                     "tollgate-state 1\nopt  x\n", "tollgate-state 1\noptx 1\n",
		                     "tollgate-state 1\nlast_step 9 opt\n"};
		unsigned i;

		ck_assert_int_eq(tgp_state_parse(later, strlen(later), &back), TG_OK);
		ck_assert_int_eq(back.last_step, 9);
		ck_assert_uint_eq(back.nused, 1);
		ck_assert_uint_eq(back.ntokens, 0);
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			ck_assert_msg(tgp_state_parse(bad[i], strlen(bad[i]), &back) ==
			                  TG_ERR_FORMAT,
			              "%s", bad[i]);
	}
	ck_assert_int_eq(tgp_state_parse("tollgate-state 1\n\0", 18, &back), TG_ERR_FORMAT);
	ck_assert_int_eq(tgp_state_parse("", 0, &back), TG_ERR_FORMAT);
}
END_TEST

START_TEST(limit_per_address_and_user)
{
	struct tgp_state st;

	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(tgp_limit_check(&st, "a", 1000), TG_OK);
	tgp_limit_fail(&st, "a", 1000, &lim);
	tgp_limit_fail(&st, "a", 1001, &lim);
	ck_assert_int_eq(tgp_limit_check(&st, "a", 1002), TG_OK);
	tgp_limit_fail(&st, "a", 1002, &lim); /* third: address a locked until 1302 */
	ck_assert_int_eq(tgp_limit_check(&st, "a", 1003), TG_ERR_RATE_LIMITED);
	ck_assert_int_eq(tgp_limit_check(&st, "b", 1003), TG_OK);
	ck_assert_int_eq(tgp_limit_check(&st, "a", 1301), TG_ERR_RATE_LIMITED);
	ck_assert_int_eq(tgp_limit_check(&st, "a", 1302), TG_OK);
	/* the ceiling across addresses: 5 failures from anywhere lock the user */
	tgp_limit_fail(&st, "b", 1010, &lim);
	tgp_limit_fail(&st, "c", 1011, &lim);
	ck_assert_int_eq(tgp_limit_check(&st, "d", 1012), TG_ERR_RATE_LIMITED);
	ck_assert_int_eq(st.user.locked_until, 1011 + 300);
}
END_TEST

/* The auth flow never counts an attempt the limiter refused; checking changes nothing. */
START_TEST(refused_attempts_do_not_extend)
{
	struct tgp_state st, before;
	int i;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < 3; i++)
		tgp_limit_fail(&st, "a", 1000, &lim);
	before = st;
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(tgp_limit_check(&st, "a", 1100 + i), TG_ERR_RATE_LIMITED);
	ck_assert(memcmp(&st, &before, sizeof(st)) == 0);
	ck_assert_int_eq(tgp_limit_check(&st, "a", 1300), TG_OK);
}
END_TEST

START_TEST(old_failures_forgotten_and_success_clears)
{
	struct tgp_state st;

	memset(&st, 0, sizeof(st));
	tgp_limit_fail(&st, "a", 1000, &lim);
	tgp_limit_fail(&st, "a", 1001, &lim);
	tgp_limit_fail(&st, "a", 2000, &lim); /* the first two are older than a lockout period */
	ck_assert_int_eq(tgp_limit_check(&st, "a", 2001), TG_OK);
	tgp_limit_success(&st, "a");
	ck_assert_uint_eq(st.naddrs, 0);
	/* the count across addresses stays: it ages out */
	ck_assert_uint_eq(st.user.failures, 1);
}
END_TEST

/*
 * The owner's logins do not reset the ceiling across addresses: a guesser on other addresses
 * gets max_failures_user failures per lockout period, however often the owner logs in.
 */
START_TEST(success_keeps_the_user_ceiling)
{
	const struct tgp_limits l = {5, 20, 300};
	struct tgp_state st;
	char addr[32];
	int i, tried = 0;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < 60; i++) {
		snprintf(addr, sizeof(addr), "198.51.100.%d", i / 4);
		if (tgp_limit_check(&st, addr, 1000 + i) == TG_OK) {
			tgp_limit_fail(&st, addr, 1000 + i, &l);
			tried++;
		}
		if (i % 10 == 9)
			tgp_limit_success(&st, "203.0.113.50"); /* the owner, from home */
	}
	ck_assert_int_eq(tried, 20);
}
END_TEST

/* The count a login takes back (try_first_pass's password digits, then the right code) leaves
 * the user's earlier failures to age out from their own time: a login every few minutes must
 * not keep them alive forever. Another login's failure since keeps its time. */
START_TEST(taken_back_failure_leaves_the_aging)
{
	const struct tgp_limits l = {5, 20, 300};
	struct tgp_state st;
	struct tgp_counter after;
	int64_t before;

	memset(&st, 0, sizeof(st));
	tgp_limit_fail(&st, "198.51.100.1", 1000, &l); /* a typo */
	before = st.user.last;
	tgp_limit_fail(&st, "198.51.100.1", 1200, &l); /* the password's digits */
	after = st.user;
	ck_assert_uint_eq(st.user.failures, 2);
	tgp_limit_unfail_user(&st, &after, before); /* then the right code */
	ck_assert_uint_eq(st.user.failures, 1);
	ck_assert_int_eq(st.user.last, 1000);
	/* 1350 is more than a lockout after the typo: it is forgotten, this one counts alone */
	tgp_limit_fail(&st, "198.51.100.1", 1350, &l);
	ck_assert_uint_eq(st.user.failures, 1);
	/* a failure of another login in between keeps its time */
	before = st.user.last;
	tgp_limit_fail(&st, "198.51.100.1", 1400, &l);
	after = st.user;
	tgp_limit_fail(&st, "198.51.100.2", 1401, &l);
	tgp_limit_unfail_user(&st, &after, before);
	ck_assert_uint_eq(st.user.failures, 2);
	ck_assert_int_eq(st.user.last, 1401);
	/* and within the same second (2000, the count aged out since 1401): the guesser's
	 * failure at 2000 keeps its time, so it is not forgotten at the next one */
	before = st.user.last;
	tgp_limit_fail(&st, "198.51.100.1", 2000, &l);
	after = st.user;
	tgp_limit_fail(&st, "198.51.100.2", 2000, &l);
	tgp_limit_unfail_user(&st, &after, before);
	ck_assert_uint_eq(st.user.failures, 1);
	ck_assert_int_eq(st.user.last, 2000);
	tgp_limit_fail(&st, "198.51.100.2", 2100, &l);
	ck_assert_uint_eq(st.user.failures, 2);
	/* taken back with nothing in between: the time goes back */
	before = st.user.last;
	tgp_limit_fail(&st, "198.51.100.1", 2200, &l);
	after = st.user;
	tgp_limit_unfail_user(&st, &after, before);
	ck_assert_uint_eq(st.user.failures, 2);
	ck_assert_int_eq(st.user.last, 2100);
	/* the owner at the prompt past a lockout period, a guesser's failure meanwhile starting
	 * the count afresh: that failure is not the owner's to take back */
	before = st.user.last;
	tgp_limit_fail(&st, "198.51.100.1", 2150, &l);
	after = st.user;
	tgp_limit_fail(&st, "198.51.100.2", 2500, &l);
	ck_assert_uint_eq(st.user.failures, 1);
	tgp_limit_unfail_user(&st, &after, before);
	ck_assert_uint_eq(st.user.failures, 1);
	ck_assert_int_eq(st.user.last, 2500);
}
END_TEST

/*
 * A limit holds over any lockout period, not over windows from a first failure: failures just
 * before such a window's end and just after it are never more than the limit together.
 */
START_TEST(no_window_edge_doubles_the_limit)
{
	const struct tgp_limits user_only = {100, 5, 300};
	struct tgp_state st;
	char addr[32];
	int i;

	memset(&st, 0, sizeof(st));
	tgp_limit_fail(&st, "a", 1000, &lim);
	tgp_limit_fail(&st, "a", 1299, &lim);
	tgp_limit_fail(&st, "a", 1301, &lim); /* the third within 300 s */
	ck_assert_int_eq(tgp_limit_check(&st, "a", 1302), TG_ERR_RATE_LIMITED);

	memset(&st, 0, sizeof(st));
	tgp_limit_fail(&st, "10.0.0.1", 1000, &user_only);
	for (i = 2; i <= 4; i++) {
		snprintf(addr, sizeof(addr), "10.0.0.%d", i);
		tgp_limit_fail(&st, addr, 1299, &user_only);
	}
	tgp_limit_fail(&st, "10.0.0.5", 1301, &user_only); /* the fifth within 300 s */
	ck_assert_int_eq(tgp_limit_check(&st, "10.0.0.6", 1302), TG_ERR_RATE_LIMITED);
	/* forgotten after a lockout period without a failure */
	memset(&st, 0, sizeof(st));
	tgp_limit_fail(&st, "a", 1000, &lim);
	tgp_limit_fail(&st, "a", 1299, &lim);
	tgp_limit_fail(&st, "a", 1600, &lim);
	ck_assert_int_eq(tgp_limit_check(&st, "a", 1601), TG_OK);
}
END_TEST

START_TEST(address_table_is_bounded)
{
	struct tgp_state st;
	char addr[32];
	int i;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < 3 * TGP_STATE_ADDRS; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256, i % 256);
		tgp_limit_fail(&st, addr, 1000 + i, &(struct tgp_limits){3, 100000, 300});
	}
	ck_assert_uint_eq(st.naddrs, TGP_STATE_ADDRS);
}
END_TEST

/* An attacker rotating addresses cannot push a locked-out client out of the full table. */
START_TEST(eviction_keeps_locked_entries)
{
	const struct tgp_limits many = {3, 100000, 300};
	struct tgp_state st;
	char addr[32];
	int i;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < 3; i++)
		tgp_limit_fail(&st, "locked", 1000 + i,
		               &many); /* the oldest entry, locked to 1302 */
	for (i = 0; i < 3 * TGP_STATE_ADDRS; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256, i % 256);
		tgp_limit_fail(&st, addr, 1010 + i / 10, &many);
		ck_assert_int_eq(tgp_limit_check(&st, "locked", 1010 + i / 10),
		                 TG_ERR_RATE_LIMITED);
	}
	ck_assert_uint_eq(st.naddrs, TGP_STATE_ADDRS);
	ck_assert_int_eq(tgp_limit_check(&st, "locked", 1301), TG_ERR_RATE_LIMITED);
}
END_TEST

/* Every entry locked out: the lockout that ends first goes, not the oldest first failure. */
START_TEST(eviction_all_locked_drops_the_one_ending_first)
{
	const struct tgp_limits many = {3, 100000, 300};
	struct tgp_state st;
	char addr[32];
	int i;

	memset(&st, 0, sizeof(st));
	/* "long": first failure at 1000, locked at 1290 until 1590 */
	tgp_limit_fail(&st, "long", 1000, &many);
	tgp_limit_fail(&st, "long", 1100, &many);
	tgp_limit_fail(&st, "long", 1290, &many);
	/* the others fail later and are locked until 1303 .. 1365 */
	for (i = 1; i < TGP_STATE_ADDRS; i++) {
		snprintf(addr, sizeof(addr), "192.0.2.%d", i);
		tgp_limit_fail(&st, addr, 1001 + i, &many);
		tgp_limit_fail(&st, addr, 1001 + i, &many);
		tgp_limit_fail(&st, addr, 1001 + i, &many);
	}
	ck_assert_uint_eq(st.naddrs, TGP_STATE_ADDRS);
	tgp_limit_fail(&st, "new", 1300, &many); /* all locked: 192.0.2.1 (to 1302) goes */
	ck_assert_int_eq(tgp_limit_check(&st, "long", 1300), TG_ERR_RATE_LIMITED);
	ck_assert_int_eq(tgp_limit_check(&st, "192.0.2.1", 1300), TG_OK);
	ck_assert_int_eq(tgp_limit_check(&st, "192.0.2.2", 1300), TG_ERR_RATE_LIMITED);
}
END_TEST

/* One holder gets a whole IPv6 network: the limiter counts it as one client. */
START_TEST(ipv6_limit_key_is_the_network)
{
	char out[TGP_ADDR_MAX];

	tgp_addr_limit_key("2001:db8:1:2:3:4:5:6", 64, out);
	ck_assert_str_eq(out, "2001:db8:1:2::/64");
	tgp_addr_limit_key("2001:db8:1:2::", 64, out);
	ck_assert_str_eq(out, "2001:db8:1:2::/64");
	tgp_addr_limit_key("2001:db8:abcd:12ff::1", 56, out);
	ck_assert_str_eq(out, "2001:db8:abcd:1200::/56");
	tgp_addr_limit_key("2001:db8:ffff::1", 33, out);
	ck_assert_str_eq(out, "2001:db8:8000::/33");
	tgp_addr_limit_key("fe80::1", 64, out);
	ck_assert_str_eq(out, "fe80::/64");
	/* a link-local address with its zone: the network on that link, another link apart */
	tgp_addr_limit_key("fe80::1:2:3:4%eth0", 64, out);
	ck_assert_str_eq(out, "fe80::/64%eth0");
	tgp_addr_limit_key("fe80::1:2:3:4%eth0", 128, out);
	ck_assert_str_eq(out, "fe80::1:2:3:4%eth0");
	tgp_addr_limit_key("fe80::1:2:3:4%3", 64, out);
	ck_assert_str_eq(out, "fe80::/64%3");
	tgp_addr_limit_key("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff%eth0", 128, out);
	ck_assert_str_eq(out, "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff%eth0");
	tgp_addr_limit_key("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 127, out);
	ck_assert_str_eq(out, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127");
	/* 128: per address, as the address alone */
	tgp_addr_limit_key("2001:db8::1", 128, out);
	ck_assert_str_eq(out, "2001:db8::1");
	/* NAT64's well-known prefix: the IPv4 client it stands for, whatever the prefix */
	tgp_addr_limit_key("64:ff9b::c000:207", 64, out);
	ck_assert_str_eq(out, "192.0.2.7");
	tgp_addr_limit_key("64:ff9b::c000:208", 48, out);
	ck_assert_str_eq(out, "192.0.2.8");
	tgp_addr_limit_key("64:ff9b::c000:207", 128, out);
	ck_assert_str_eq(out, "192.0.2.7");
	tgp_addr_limit_key("64:ff9b::1:c000:207", 64, out); /* not in the /96 */
	ck_assert_str_eq(out, "64:ff9b::/64");
	/* and its local-use prefix 64:ff9b:1::/48 (RFC 8215), a /96 of the operator's in it */
	tgp_addr_limit_key("64:ff9b:1::c000:207", 64, out);
	ck_assert_str_eq(out, "192.0.2.7");
	tgp_addr_limit_key("64:ff9b:1:abcd:1::c000:208", 56, out);
	ck_assert_str_eq(out, "192.0.2.8");
	tgp_addr_limit_key("64:ff9b:2::c000:207", 64, out); /* not in the /48 */
	ck_assert_str_eq(out, "64:ff9b:2::/64");
	/* SIIT's IPv4-translated addresses (::ffff:0:0:0/96, RFC 7915): the IPv4 client too */
	tgp_addr_limit_key("::ffff:0:192.0.2.7", 64, out);
	ck_assert_str_eq(out, "192.0.2.7");
	tgp_addr_limit_key("::ffff:0:192.0.2.9", 128, out);
	ck_assert_str_eq(out, "192.0.2.9");
	tgp_addr_limit_key("::ffff:1:c000:207", 64, out); /* not in the /96 */
	ck_assert_str_eq(out, "::/64");
	/* 6to4: the holder of an IPv4 address holds the /48 after 2002: (65536 /64s) */
	tgp_addr_limit_key("2002:c000:207:1::1", 64, out);
	ck_assert_str_eq(out, "192.0.2.7");
	tgp_addr_limit_key("2002:c000:207:ffff:1:2:3:4", 128, out);
	ck_assert_str_eq(out, "192.0.2.7");
	tgp_addr_limit_key("2002:c000:208::1", 48, out);
	ck_assert_str_eq(out, "192.0.2.8");
	/* Teredo (RFC 4380): the /64 is the Teredo server's, shared by all its clients; each is
	 * its own public IPv4 address, the last 32 bits inverted */
	tgp_addr_limit_key("2001:0:4136:e378:8000:63bf:3fff:fdf8", 64, out);
	ck_assert_str_eq(out, "192.0.2.7");
	tgp_addr_limit_key("2001:0:4136:e378:8000:63bf:3fff:fdf7", 64, out);
	ck_assert_str_eq(out, "192.0.2.8");
	tgp_addr_limit_key("2001:1::1", 64, out); /* not Teredo: 2001:0::/32 only */
	ck_assert_str_eq(out, "2001:1::/64");
	/* IPv4 (IPv4-mapped is cleaned to it), names and the rest: as they are */
	tgp_addr_limit_key("192.0.2.7", 64, out);
	ck_assert_str_eq(out, "192.0.2.7");
	tgp_addr_limit_key("client.example.org", 64, out);
	ck_assert_str_eq(out, "client.example.org");
	tgp_addr_limit_key("2001:db8::zz", 64, out);
	ck_assert_str_eq(out, "2001:db8::zz");
	tgp_addr_limit_key("-", 64, out);
	ck_assert_str_eq(out, "-");
}
END_TEST

START_TEST(addresses_cleaned)
{
	char out[TGP_ADDR_MAX];

	tgp_addr_clean(NULL, out);
	ck_assert_str_eq(out, "-");
	/* one address, one key: the spellings of an address are not addresses of their own */
	tgp_addr_clean("2001:db8::1%eth0", out);
	ck_assert_str_eq(out, "2001:db8::1");
	/* a link-local address keeps its zone: fe80::/64 is on every link, one link's is its own */
	tgp_addr_clean("FE80:0::1%eth0", out);
	ck_assert_str_eq(out, "fe80::1%eth0");
	tgp_addr_clean("[fe80::1%eth0]", out);
	ck_assert_str_eq(out, "fe80::1%eth0");
	tgp_addr_clean("fe80::1%", out);
	ck_assert_str_eq(out, "fe80::1");
	tgp_addr_clean("2001:DB8:0:0:0:0:0:1", out);
	ck_assert_str_eq(out, "2001:db8::1");
	tgp_addr_clean("[2001:0db8::0001]", out);
	ck_assert_str_eq(out, "2001:db8::1");
	tgp_addr_clean("::ffff:192.0.2.7", out);
	ck_assert_str_eq(out, "192.0.2.7");
	tgp_addr_clean("::FFFF:C000:0207", out);
	ck_assert_str_eq(out, "192.0.2.7");
	tgp_addr_clean("192.0.2.7", out);
	ck_assert_str_eq(out, "192.0.2.7");
	tgp_addr_clean("Client.EXAMPLE.org.", out);
	ck_assert_str_eq(out, "client.example.org");
	tgp_addr_clean("2001:db8::zz", out); /* not an address: a name, cleaned */
	ck_assert_str_eq(out, "2001:db8::zz");
	tgp_addr_clean("evil host\nx", out);
	ck_assert_str_eq(out, "evil_host_x");
}
END_TEST

/*
 * A name is one spelling however it ends: cleaning the clean key again changes nothing (what
 * the state holds is read back as the same client). Found by tests/fuzz/fuzz_addr.c.
 */
START_TEST(names_cleaned_once)
{
	char out[TGP_ADDR_MAX], again[TGP_ADDR_MAX], name[400];

	tgp_addr_clean("host.example..", out);
	ck_assert_str_eq(out, "host.example");
	tgp_addr_clean("..", out);
	ck_assert_str_eq(out, ".");
	/* cut at the cap just after a dot */
	memset(name, 'a', sizeof(name));
	name[TGP_ADDR_MAX - 2] = '.';
	name[TGP_ADDR_MAX + 4] = '\0';
	tgp_addr_clean(name, out);
	tgp_addr_clean(out, again);
	ck_assert_str_eq(again, out);
	ck_assert_uint_eq(strlen(out), TGP_ADDR_MAX - 2);
	/* longer than any name: still lower case */
	memset(name, 'A', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	tgp_addr_clean(name, out);
	tgp_addr_clean(out, again);
	ck_assert_str_eq(again, out);
	ck_assert_int_eq(out[0], 'a');
	/* what holds a ':' but is no address is a name too: lower case, and one key once cut
	 * before its ':' */
	tgp_addr_clean("2001:DB8::ZZ", out);
	ck_assert_str_eq(out, "2001:db8::zz");
	memset(name, 'M', sizeof(name));
	name[TGP_ADDR_MAX + 2] = ':';
	name[TGP_ADDR_MAX + 4] = '\0';
	tgp_addr_clean(name, out);
	tgp_addr_clean(out, again);
	ck_assert_str_eq(again, out);
	ck_assert_int_eq(out[0], 'm');
	/* an address with a final dot is that address, not a name that cleans to it later */
	tgp_addr_clean("00::1.", out);
	ck_assert_str_eq(out, "::1");
	tgp_addr_clean("192.0.2.7..", out);
	ck_assert_str_eq(out, "192.0.2.7");
	tgp_addr_clean("[::FFFF:192.0.2.7].", out);
	ck_assert_str_eq(out, "192.0.2.7");
}
END_TEST

START_TEST(files_and_lock)
{
	struct tgp_state st, back;
	struct tgp_lock l = TGP_LOCK_VOID;
	char p[4096], q[4096];

	ck_assert_int_eq(tgp_state_lock(dir, "alice", &l), TG_OK);
	ck_assert_int_eq(tgp_state_read(&l, &st), TG_OK); /* a new, empty file: an empty state */
	ck_assert_uint_eq(st.last_step, 0);
	st.last_step = 42;
	ck_assert_int_eq(tgp_state_write(&l, &st, 1), TG_OK);
	st.last_step = 43;
	ck_assert_int_eq(tgp_state_write(&l, &st, 1), TG_OK);
	tgp_state_unlock(&l);
	tgp_state_unlock(&l);
	ck_assert_int_eq(tgp_state_lock(dir, "alice", &l), TG_OK);
	ck_assert_int_eq(tgp_state_read(&l, &back), TG_OK);
	ck_assert_uint_eq(back.last_step, 43);
	tgp_state_unlock(&l);
	snprintf(p, sizeof(p), "%s/state/alice", dir);
	ck_assert_int_eq(chmod(p, 0644), 0);
	ck_assert_int_eq(tgp_state_lock(dir, "alice", &l), TG_ERR_PERM);
	ck_assert_int_eq(chmod(p, 0600), 0);
	/* a symlink or a second hard link in place of the file */
	snprintf(q, sizeof(q), "%s/state/bob", dir);
	ck_assert_int_eq(symlink(p, q), 0);
	ck_assert_int_eq(tgp_state_lock(dir, "bob", &l), TG_ERR_PERM);
	ck_assert_int_eq(unlink(q), 0);
	ck_assert_int_eq(link(p, q), 0);
	ck_assert_int_eq(tgp_state_lock(dir, "bob", &l), TG_ERR_PERM);
	ck_assert_int_eq(unlink(q), 0);
	ck_assert_int_eq(tgp_state_lock(dir, "../x", &l), TG_ERR_INVALID);
}
END_TEST

/*
 * Until process pid has alice's state file open on a descriptor other than skip (1), or has
 * ended (0, reaped into *status).
 */
static int wait_until_open(pid_t pid, int skip, int *status)
{
	char fds[64], link[PATH_MAX + 64], target[PATH_MAX], want[PATH_MAX];
	struct timespec pause = {0, 1000 * 1000};
	int fd;

	snprintf(want, sizeof(want), "%s/state/alice", dir);
	snprintf(fds, sizeof(fds), "/proc/%d/fd", (int)pid);
	for (;;) {
		for (fd = 0; fd < 64; fd++) {
			ssize_t n;

			if (fd == skip)
				continue;
			snprintf(link, sizeof(link), "%s/%d", fds, fd);
			if ((n = readlink(link, target, sizeof(target) - 1)) <= 0)
				continue;
			target[n] = '\0';
			if (strcmp(target, want) == 0)
				return 1;
		}
		if (waitpid(pid, status, WNOHANG) == pid)
			return 0;
		nanosleep(&pause, NULL);
	}
}

/* In a forked child: the lock's descriptor (and so the lock) is the parent's alone, and its
 * number stays taken, so that the child's own opening of the file is told from it. */
static void lose_inherited_lock(int fd)
{
	int null = open("/dev/null", O_RDONLY);

	if (null < 0 || dup2(null, fd) < 0)
		_exit(2);
	close(null);
}

/*
 * A state file removed by hand (rm, as an admin may) while a login holds its lock, and
 * another login waits for it: the waiting login does not go on with the removed file (it
 * would hold a lock no new login sees, and two logins could take one code), but locks the
 * file now under the name.
 */
START_TEST(removal_keeps_one_lock)
{
	struct tgp_lock l = TGP_LOCK_VOID;
	char p[4096];
	int status = 0, fds[2];
	pid_t pid;

	snprintf(p, sizeof(p), "%s/state/alice", dir);
	/* a login waiting on the file when it is removed under the lock */
	ck_assert_int_eq(tgp_state_lock(dir, "alice", &l), TG_OK);
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		struct tgp_lock m = TGP_LOCK_VOID;
		struct stat held, named;
		char ok = 'n';

		close(fds[0]);
		lose_inherited_lock(l.fd);
		if (tgp_state_lock(dir, "alice", &m) == TG_OK && fstat(m.fd, &held) == 0 &&
		    lstat(p, &named) == 0 && held.st_ino == named.st_ino && held.st_nlink == 1)
			ok = 'y';
		ck_assert_int_eq(write(fds[1], &ok, 1), 1);
		_exit(0);
	}
	close(fds[1]);
	ck_assert_int_eq(wait_until_open(pid, l.fd, &status), 1);
	ck_assert_int_eq(unlink(p), 0); /* removed while the lock is held */
	tgp_state_unlock(&l);
	{
		char ok = 0;

		ck_assert_int_eq(read(fds[0], &ok, 1), 1);
		ck_assert_int_eq(ok, 'y');
	}
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}
END_TEST

/* Read user's state afresh (lock, read, unlock): the read's result, the state in *back. */
static int reread(const char *user, struct tgp_state *back)
{
	struct tgp_lock l = TGP_LOCK_VOID;
	int r;

	ck_assert_int_eq(tgp_state_lock(dir, user, &l), TG_OK);
	r = tgp_state_read(&l, back);
	tgp_state_unlock(&l);
	return r;
}

/* Overwrite n bytes of user's state file at off, as a crash or a disk might. */
static void damage(const char *user, off_t off, const char *bytes, size_t n)
{
	char p[4096];
	int fd;

	snprintf(p, sizeof(p), "%s/state/%s", dir, user);
	ck_assert_int_ge(fd = open(p, O_WRONLY), 0);
	ck_assert_int_eq(pwrite(fd, bytes, n, off), (ssize_t)n);
	close(fd);
}

/* alice's state written twice: last_step 100 in slot 0, 101 in slot 1 */
static void two_slots(void)
{
	struct tgp_state st, back;
	struct tgp_lock l = TGP_LOCK_VOID;

	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(tgp_state_lock(dir, "alice", &l), TG_OK);
	ck_assert_int_eq(tgp_state_read(&l, &back), TG_OK);
	st.last_step = 100;
	ck_assert_int_eq(tgp_state_write(&l, &st, 1), TG_OK); /* slot 0 */
	st.last_step = 101;
	ck_assert_int_eq(tgp_state_write(&l, &st, 1), TG_OK); /* slot 1 */
	tgp_state_unlock(&l);
}

/* A write torn by a crash leaves the other slot: one login older, never a locked-out user. */
START_TEST(torn_write_falls_back)
{
	struct tgp_state st, back;
	struct tgp_lock l = TGP_LOCK_VOID;

	memset(&st, 0, sizeof(st));
	two_slots();
	damage("alice", TGP_STATE_SLOT + TGP_STATE_HEAD + 3, "XX", 2);
	ck_assert_int_eq(tgp_state_lock(dir, "alice", &l), TG_OK);
	ck_assert_int_eq(tgp_state_read(&l, &back), TG_OK);
	ck_assert_uint_eq(back.last_step, 100);
	/* the next write replaces the broken slot, and wins */
	st.last_step = 102;
	ck_assert_int_eq(tgp_state_write(&l, &st, 1), TG_OK);
	tgp_state_unlock(&l);
	ck_assert_int_eq(reread("alice", &back), TG_OK);
	ck_assert_uint_eq(back.last_step, 102);
	/* both slots broken: corrupt, fail closed */
	damage("alice", 0, "XXXX", 4);
	damage("alice", TGP_STATE_SLOT, "XXXX", 4);
	ck_assert_int_eq(reread("alice", &back), TG_ERR_FORMAT);
}
END_TEST

/* A corrupt state cleared (tollgate-enroll over it): empty, then written afresh; neither slot
 * of before comes back. */
START_TEST(clear_starts_afresh)
{
	struct tgp_state st, back;
	struct tgp_lock l = TGP_LOCK_VOID;

	memset(&st, 0, sizeof(st));
	two_slots();
	damage("alice", TGP_STATE_SLOT + TGP_STATE_HEAD + 3, "XX", 2);
	damage("alice", TGP_STATE_HEAD + 3, "XX", 2);
	ck_assert_int_eq(tgp_state_lock(dir, "alice", &l), TG_OK);
	ck_assert_int_eq(tgp_state_read(&l, &back), TG_ERR_FORMAT);
	ck_assert_int_eq(tgp_state_clear(&l), TG_OK);
	ck_assert_int_eq(tgp_state_read(&l, &back), TG_OK);
	ck_assert_uint_eq(back.last_step, 0);
	st.last_step = 7;
	ck_assert_int_eq(tgp_state_write(&l, &st, 1), TG_OK);
	tgp_state_unlock(&l);
	ck_assert_int_eq(reread("alice", &back), TG_OK);
	ck_assert_uint_eq(back.last_step, 7);
	st.last_step = 8;
	ck_assert_int_eq(tgp_state_lock(dir, "alice", &l), TG_OK);
	ck_assert_int_eq(tgp_state_read(&l, &back), TG_OK);
	ck_assert_int_eq(tgp_state_write(&l, &st, 1), TG_OK);
	tgp_state_unlock(&l);
	ck_assert_int_eq(reread("alice", &back), TG_OK);
	ck_assert_uint_eq(back.last_step, 8);
}
END_TEST

/* The very first write cut by a crash: slot 1 never written, slot 0 broken. Nothing was
 * ever durable there, so it reads as a new state, not as a corrupt one (no lockout). */
START_TEST(torn_first_write_is_a_new_state)
{
	struct tgp_state st, back;
	struct tgp_lock l = TGP_LOCK_VOID;
	char p[4096];
	int fd;

	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(tgp_state_lock(dir, "bob", &l), TG_OK);
	ck_assert_int_eq(tgp_state_read(&l, &back), TG_OK);
	st.last_step = 100;
	ck_assert_int_eq(tgp_state_write(&l, &st, 0), TG_OK); /* slot 0 only */
	tgp_state_unlock(&l);
	damage("bob", TGP_STATE_HEAD + 3, "XX", 2);
	ck_assert_int_eq(tgp_state_lock(dir, "bob", &l), TG_OK);
	ck_assert_int_eq(tgp_state_read(&l, &back), TG_OK);
	ck_assert_uint_eq(back.last_step, 0);
	st.last_step = 101;
	ck_assert_int_eq(tgp_state_write(&l, &st, 1), TG_OK);
	tgp_state_unlock(&l);
	ck_assert_int_eq(reread("bob", &back), TG_OK);
	ck_assert_uint_eq(back.last_step, 101);
	/* zeros where the first write should be (written, never flushed): the same */
	snprintf(p, sizeof(p), "%s/state/bob", dir);
	ck_assert_int_ge(fd = open(p, O_WRONLY | O_TRUNC), 0);
	ck_assert_int_eq(ftruncate(fd, 300), 0);
	close(fd);
	ck_assert_int_eq(reread("bob", &back), TG_OK);
	ck_assert_uint_eq(back.last_step, 0);
	/* but other bytes there are not what a cut write leaves: corrupt, fail closed */
	ck_assert_int_ge(fd = open(p, O_WRONLY | O_TRUNC), 0);
	ck_assert_int_eq(write(fd, "junk\n", 5), 5);
	close(fd);
	ck_assert_int_eq(reread("bob", &back), TG_ERR_FORMAT);
}
END_TEST

/* The bytes of slot 0 of user's state file. */
static void slot0(const char *user, unsigned char out[TGP_STATE_SLOT])
{
	char p[4096];
	int fd;

	snprintf(p, sizeof(p), "%s/state/%s", dir, user);
	memset(out, 0, TGP_STATE_SLOT);
	ck_assert_int_ge(fd = open(p, O_RDONLY), 0);
	ck_assert_int_ge(pread(fd, out, TGP_STATE_SLOT, 0), TGP_STATE_HEAD);
	close(fd);
}

/* user's state: locked, read, written (durable or not) with last_step and user failures. */
static void write_once(const char *user, uint64_t step, uint32_t failures, int durable)
{
	struct tgp_state st;
	struct tgp_lock l = TGP_LOCK_VOID;

	ck_assert_int_eq(tgp_state_lock(dir, user, &l), TG_OK);
	ck_assert_int_eq(tgp_state_read(&l, &st), TG_OK);
	st.last_step = step;
	st.user.failures = failures;
	ck_assert_int_eq(tgp_state_write(&l, &st, durable), TG_OK);
	tgp_state_unlock(&l);
}

/* A failure count is written without a sync; the slot of the last synced state (a success's
 * replay guard) is never written over by such a write, which a crash may tear while the newer
 * slot is not on the disk yet: the failures after a success go over one another in the other
 * slot, the success's slot stays as it was until the next synced write goes elsewhere. */
START_TEST(unsynced_writes_keep_the_synced_slot)
{
	static unsigned char synced[TGP_STATE_SLOT], now[TGP_STATE_SLOT];
	struct tgp_state back;
	int i;

	write_once("carol", 100, 0, 1); /* a success: slot 0, synced */
	slot0("carol", synced);
	for (i = 1; i <= 3; i++) {
		write_once("carol", 100, (uint32_t)i, 0); /* bad codes, each a login of its own */
		slot0("carol", now);
		ck_assert_msg(memcmp(synced, now, TGP_STATE_SLOT) == 0,
		              "failure %d wrote over the synced slot", i);
		ck_assert_int_eq(reread("carol", &back), TG_OK);
		ck_assert_uint_eq(back.user.failures, (uint32_t)i);
	}
	/* the crash: the last failure's slot torn; the success is still there */
	damage("carol", TGP_STATE_SLOT + TGP_STATE_HEAD + 3, "XX", 2);
	ck_assert_int_eq(reread("carol", &back), TG_OK);
	ck_assert_uint_eq(back.last_step, 100);
	ck_assert_uint_eq(back.user.failures, 0);
	/* the next success goes over the torn slot, then the one after it over slot 0 */
	write_once("carol", 101, 0, 1);
	slot0("carol", now);
	ck_assert(memcmp(synced, now, TGP_STATE_SLOT) == 0);
	write_once("carol", 102, 0, 1);
	slot0("carol", now);
	ck_assert(memcmp(synced, now, TGP_STATE_SLOT) != 0);
	ck_assert_int_eq(reread("carol", &back), TG_OK);
	ck_assert_uint_eq(back.last_step, 102);
}
END_TEST

/* The bytes of slot n of user's state file. */
static void slot_n(const char *user, int n, unsigned char out[TGP_STATE_SLOT])
{
	char p[4096];
	int fd;

	snprintf(p, sizeof(p), "%s/state/%s", dir, user);
	memset(out, 0, TGP_STATE_SLOT);
	ck_assert_int_ge(fd = open(p, O_RDONLY), 0);
	ck_assert_int_ge(pread(fd, out, TGP_STATE_SLOT, (off_t)n * TGP_STATE_SLOT), TGP_STATE_HEAD);
	close(fd);
}

/* The mark is not synced, so it may lag behind the slots (a crash took the last one), and a
 * success whose login died before its sync is not marked either: a newest slot that does not
 * say it is unsynced is never written over in place, whatever the mark says; it is synced
 * first (test_pam_state_sync.sh counts that) and the older slot takes the write, after which
 * failure counts go over one another there. A file with no mark at all (an earlier version's)
 * is treated the same. */
START_TEST(unmarked_success_is_not_taken_for_synced)
{
	static unsigned char s0[TGP_STATE_SLOT], s1[TGP_STATE_SLOT], now[TGP_STATE_SLOT];
	unsigned char mark[24];
	struct tgp_state back;
	char p[4096];
	int fd;

	write_once("dave", 100, 0, 1); /* slot 0, marked */
	snprintf(p, sizeof(p), "%s/state/dave", dir);
	ck_assert_int_ge(fd = open(p, O_RDWR), 0);
	ck_assert_int_eq(pread(fd, mark, sizeof(mark), 2 * TGP_STATE_SLOT), (ssize_t)sizeof(mark));
	close(fd);
	write_once("dave", 101, 0, 1); /* slot 1; then its mark lost, the one before back */
	ck_assert_int_ge(fd = open(p, O_RDWR), 0);
	ck_assert_int_eq(pwrite(fd, mark, sizeof(mark), 2 * TGP_STATE_SLOT), (ssize_t)sizeof(mark));
	close(fd);
	slot_n("dave", 1, s1);
	write_once("dave", 101, 1, 0); /* a bad code: not over slot 1 */
	slot_n("dave", 1, now);
	ck_assert_msg(memcmp(s1, now, TGP_STATE_SLOT) == 0,
	              "a failure wrote over a success not known to be unsynced");
	ck_assert_int_eq(reread("dave", &back), TG_OK);
	ck_assert_uint_eq(back.last_step, 101);
	ck_assert_uint_eq(back.user.failures, 1);
	/* the next one goes over that failure in slot 0, not over the success */
	slot_n("dave", 0, s0);
	write_once("dave", 101, 2, 0);
	slot_n("dave", 1, now);
	ck_assert(memcmp(s1, now, TGP_STATE_SLOT) == 0);
	slot_n("dave", 0, now);
	ck_assert(memcmp(s0, now, TGP_STATE_SLOT) != 0);
	ck_assert_int_eq(reread("dave", &back), TG_OK);
	ck_assert_uint_eq(back.user.failures, 2);
	/* no mark at all: the newest (a failure in slot 0) is synced first, then slot 1 taken */
	ck_assert_int_ge(fd = open(p, O_RDWR), 0);
	ck_assert_int_eq(ftruncate(fd, 2 * TGP_STATE_SLOT), 0);
	close(fd);
	write_once("dave", 101, 3, 0);
	slot_n("dave", 1, now);
	ck_assert(memcmp(s1, now, TGP_STATE_SLOT) != 0);
	ck_assert_int_eq(reread("dave", &back), TG_OK);
	ck_assert_uint_eq(back.user.failures, 3);
}
END_TEST

/* The auth steps' tokens: found by hash within TGP_TOKEN_TTL only, the oldest dropped when
 * full, bound to the service, kept through the text form. */
START_TEST(tokens_bounded_and_expire)
{
	struct tgp_state st, back;
	unsigned char tok[TGP_TOKEN_BYTES], h[16], first[16], other[16];
	char text[TGP_STATE_MAX];
	size_t len;
	unsigned i;

	memset(&st, 0, sizeof(st));
	memset(tok, 1, sizeof(tok));
	tgp_token_hash(tok, "sshd", first);
	tgp_token_hash(tok, "sudo", other);
	ck_assert(memcmp(first, other, 16) != 0);
	tgp_state_token_add(&st, first, 1000, "scratch");
	ck_assert_str_eq(tgp_state_token_find(&st, first, 1000 + TGP_TOKEN_TTL), "scratch");
	ck_assert_ptr_null(tgp_state_token_find(&st, first, 1000 + TGP_TOKEN_TTL + 1));
	ck_assert_ptr_null(tgp_state_token_find(&st, first, 999)); /* not yet issued */
	ck_assert_ptr_null(tgp_state_token_find(&st, other, 1000));
	for (i = 0; i < TGP_STATE_TOKENS; i++) {
		tok[0] = (unsigned char)(2 + i);
		tgp_token_hash(tok, "sshd", h);
		tgp_state_token_add(&st, h, 1001 + i, "totp");
	}
	ck_assert_uint_eq(st.ntokens, TGP_STATE_TOKENS);
	ck_assert_ptr_null(tgp_state_token_find(&st, first, 1010)); /* the oldest went */
	ck_assert_str_eq(tgp_state_token_find(&st, h, 1010), "totp");
	ck_assert_int_eq(tgp_state_format(&st, text, sizeof(text), &len), TG_OK);
	ck_assert_int_eq(tgp_state_parse(text, len, &back), TG_OK);
	ck_assert(memcmp(&st, &back, sizeof(st)) == 0);
	/* expired ones go before any live one */
	tok[0] = 99;
	tgp_token_hash(tok, "sshd", first);
	tgp_state_token_add(&st, first, 1004 + TGP_TOKEN_TTL + 1, "totp");
	ck_assert_uint_eq(st.ntokens, TGP_STATE_TOKENS - 4 + 1);
	ck_assert_str_eq(tgp_state_token_find(&st, first, 1004 + TGP_TOKEN_TTL + 1), "totp");
	ck_assert_int_eq(tgp_state_parse("tollgate-state 1\ntoken 00 5 totp\n", 33, &back),
	                 TG_ERR_FORMAT);
}
END_TEST

/* The "success" line of older files (when a code was last accepted, and with what: read by
 * the session line before the tokens) still parses, and is not written back. */
START_TEST(success_line_read_not_written)
{
	static const char old[] = "tollgate-state 1\nlast_step 7\nstep_size 30\n"
	                          "success 1796000000 totp\nuser 0 0 0\n";
	struct tgp_state st, back;
	char text[TGP_STATE_MAX];
	size_t len;

	ck_assert_int_eq(tgp_state_parse(old, sizeof(old) - 1, &st), TG_OK);
	ck_assert_int_eq(st.last_step, 7);
	ck_assert_uint_eq(st.step_size, 30);
	ck_assert_int_eq(tgp_state_format(&st, text, sizeof(text), &len), TG_OK);
	text[len] = '\0';
	ck_assert_ptr_null(strstr(text, "success"));
	ck_assert_int_eq(tgp_state_parse(text, len, &back), TG_OK);
	ck_assert(memcmp(&st, &back, sizeof(st)) == 0);
}
END_TEST

/* A token is taken once: found and gone, the others kept; one not kept takes nothing. */
START_TEST(token_taken_once)
{
	struct tgp_state st;
	unsigned char tok[TGP_TOKEN_BYTES], a[16], b[16];

	memset(&st, 0, sizeof(st));
	memset(tok, 3, sizeof(tok));
	tgp_token_hash(tok, "sshd", a);
	tok[0] = 4;
	tgp_token_hash(tok, "sshd", b);
	tgp_state_token_add(&st, a, 1000, "totp");
	tgp_state_token_add(&st, b, 1001, "scratch");
	ck_assert_str_eq(tgp_state_token_take(&st, a, 1002), "totp");
	ck_assert_uint_eq(st.ntokens, 1);
	ck_assert_ptr_null(tgp_state_token_take(&st, a, 1002));
	ck_assert_ptr_null(tgp_state_token_find(&st, a, 1002));
	ck_assert_str_eq(tgp_state_token_find(&st, b, 1002), "scratch");
	/* expired: not believed, and gone */
	ck_assert_ptr_null(tgp_state_token_take(&st, b, 1001 + TGP_TOKEN_TTL + 1));
	ck_assert_uint_eq(st.ntokens, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pam state");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, torn_first_write_is_a_new_state);
	tcase_add_test(tc, limit_per_address_and_user);
	tcase_add_test(tc, refused_attempts_do_not_extend);
	tcase_add_test(tc, old_failures_forgotten_and_success_clears);
	tcase_add_test(tc, success_keeps_the_user_ceiling);
	tcase_add_test(tc, taken_back_failure_leaves_the_aging);
	tcase_add_test(tc, no_window_edge_doubles_the_limit);
	tcase_add_test(tc, address_table_is_bounded);
	tcase_add_test(tc, eviction_keeps_locked_entries);
	tcase_add_test(tc, eviction_all_locked_drops_the_one_ending_first);
	tcase_add_test(tc, ipv6_limit_key_is_the_network);
	tcase_add_test(tc, addresses_cleaned);
	tcase_add_test(tc, names_cleaned_once);
	tcase_add_test(tc, files_and_lock);
	tcase_add_test(tc, removal_keeps_one_lock);
	tcase_add_test(tc, torn_write_falls_back);
	tcase_add_test(tc, unsynced_writes_keep_the_synced_slot);
	tcase_add_test(tc, unmarked_success_is_not_taken_for_synced);
	tcase_add_test(tc, clear_starts_afresh);
	tcase_add_test(tc, tokens_bounded_and_expire);
	tcase_add_test(tc, token_taken_once);
	tcase_add_test(tc, success_line_read_not_written);
	suite_add_tcase(s, tc);
	return tg_test_run(s);
}
