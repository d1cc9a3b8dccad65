/* tollgate-replay: verify, inspect, play, search and export session recordings. */
#include <getopt.h>
#include <locale.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "tg_error.h"
#include "tg_log.h"

/* --help is usage_head, a line for each of commands[] (see usage()), then usage_tail */
static const char usage_head[] =
    "Usage: tollgate-replay [OPTIONS] COMMAND [ARGS]\n"
    "Verify, inspect, replay, search and export Tollgate session recordings.\n"
    "A FILE is a path or s3://bucket/key (read with the [s3] settings of the config);\n"
    "for verify and search, a folder or an s3://bucket/prefix/ ending in / stands for\n"
    "every recording in it.\n"
    "\n"
    "Commands:\n";

static const char usage_tail[] =
    "\n"
    "Options (-c, -k, --no-key go with any command; the others with those named):\n"
    "  -c, --config FILE         tollgate.conf (default " TG_CONFIG_DEFAULT_PATH ");\n"
    "                            may be owned by you\n"
    "  -k, --key PUBFILE         host public key (default: [recorder] public_key)\n"
    "      --no-key              do not check the session key against a host key\n"
    "  -f, --force               play, cat, search, export: show a recording that\n"
    "                            failed verification (under a warning), or the\n"
    "                            unverified tail of an unsealed one\n"
    "      --json                info: JSON output\n"
    "      --input               cat, search: the typed input instead of the output\n"
    "                            (search: keys' escapes removed, Backspace and ^U applied)\n"
    "      --format FORMAT       export (required): the format, one of " REPLAY_EXPORT_FORMATS "\n"
    "      --raw                 play, cat: pass every escape sequence of the recording\n"
    "                            to the terminal (see below); export: keep them all in\n"
    "                            the \"o\" events, UNSAFE to play, and the exact bytes\n"
    "                            where UTF-8 was invalid\n"
    "  -s, --speed X             play: speed factor (default 1)\n"
    "  -i, --idle-limit SECONDS  play: longest pause\n"
    "      --from TIME           play: start at TIME ([[H:]M:]S[.fff], session time)\n"
    "      --to TIME             play: stop at TIME\n"
    "  -h, --help                this text\n"
    "  -V, --version             the version\n"
    "\n"
    "Keys while playing: space pause/resume, . one step (paused), + / - speed,\n"
    "right/left arrows seek 5 s forward/back, up/down 60 s, q quit.\n"
    "\n"
    "The recorded user chose what the recording holds: play, and cat to a terminal,\n"
    "withhold the escape sequences that act on your terminal beyond drawing (queries\n"
    "whose answers would be typed as your input, the clipboard, window, font,\n"
    "notifications, mouse reporting, DCS/APC/PM/SOS strings, 8-bit C1 controls),\n"
    "and say on stderr how many; --raw passes them. export withholds them from its\n"
    "\"o\" events too, which a player sends to your terminal (--raw keeps them). At\n"
    "the end, play and cat discard the input pending on the terminal (an answer to\n"
    "a query is not typed into your shell). In a locale that is not UTF-8 (LANG=C\n"
    "too) the terminal is taken to be 8-bit: no byte 0x80..0x9f reaches it,\n"
    "characters are written in the locale's charset or as '?' (search's matches\n"
    "too; LANG=C.UTF-8 shows them), and info, list, verify and warnings quote a\n"
    "recording's names as \\u00db.\n"
    "cat to a file or a pipe writes the recorded bytes as they were.\n"
    "\n"
    "Exit status: 0 sealed and intact; 1 tampered, reordered, spliced or signed by\n"
    "another key; 2 intact but not sealed; 3 usage or I/O error, or a format\n"
    "version this tollgate-replay does not read (not verified, not known to be\n"
    "tampered). With several files, the worst: 3, then 1, then 2.\n";

enum { OPT_NO_KEY = 256, OPT_JSON, OPT_INPUT, OPT_FORMAT, OPT_RAW, OPT_FROM, OPT_TO };

static const struct option longopts[] = {
    {"config", required_argument, NULL, 'c'},
    {"key", required_argument, NULL, 'k'},
    {"no-key", no_argument, NULL, OPT_NO_KEY},
    {"force", no_argument, NULL, 'f'},
    {"json", no_argument, NULL, OPT_JSON},
    {"input", no_argument, NULL, OPT_INPUT},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"raw", no_argument, NULL, OPT_RAW},
    {"speed", required_argument, NULL, 's'},
    {"idle-limit", required_argument, NULL, 'i'},
    {"from", required_argument, NULL, OPT_FROM},
    {"to", required_argument, NULL, OPT_TO},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/*
 * The options that mean something to some commands only, as the commands' code reads
 * struct replay_opts; -c, -h and -V are every command's. Another command refuses them.
 */
enum {
	TAKES_KEY = 1 << 0,    /* -k, --no-key: have_pk (all read a recording) */
	TAKES_FORCE = 1 << 1,  /* -f: replay_gate(), replay_recheck() */
	TAKES_JSON = 1 << 2,   /* info */
	TAKES_INPUT = 1 << 3,  /* cat, search */
	TAKES_FORMAT = 1 << 4, /* export */
	TAKES_RAW = 1 << 5,    /* play, cat (no guard), export */
	TAKES_PLAY = 1 << 6,   /* -s, -i, --from, --to */
};

static const struct {
	const char *name;
	int (*fn)(const struct replay_opts *, int, char **);
	int min_args;
	unsigned takes;       /* TAKES_*; with TAKES_KEY, a host key is read before fn */
	const char *args;     /* the min_args required arguments, one word each */
	const char *synopsis; /* in --help, and said of a missing argument; as in the man page */
	const char *summary;  /* in --help after the synopsis; '\n' between its lines */
} commands[] = {
    {"verify", replay_cmd_verify, 1, TAKES_KEY, "FILE...", "verify FILE...",
     "check signatures, chain and seal"},
    {"info", replay_cmd_info, 1, TAKES_KEY | TAKES_JSON, "FILE", "info [--json] FILE",
     "header, end record, notes, transfers, verification"},
    {"play", replay_cmd_play, 1, TAKES_KEY | TAKES_FORCE | TAKES_RAW | TAKES_PLAY, "FILE",
     "play [--force] [--raw] [--speed X] [--idle-limit SEC] [--from TIME] [--to TIME] FILE",
     "replay in the terminal with the original timing"},
    {"cat", replay_cmd_cat, 1, TAKES_KEY | TAKES_FORCE | TAKES_INPUT | TAKES_RAW, "FILE",
     "cat [--force] [--input] [--raw] FILE", "the output (or typed input) without timing"},
    {"search", replay_cmd_search, 2, TAKES_KEY | TAKES_FORCE | TAKES_INPUT, "REGEX FILE...",
     "search [--force] [--input] REGEX FILE...",
     "matches in the text with escape sequences removed\n"
     "(what was erased or written over too), with\n"
     "session id and a time for play --from"},
    {"export", replay_cmd_export, 1, TAKES_KEY | TAKES_FORCE | TAKES_FORMAT | TAKES_RAW, "FILE",
     "export [--force] --format asciicast [--raw] FILE", "asciicast v2 on stdout"},
    {"list", replay_cmd_list, 1, TAKES_KEY, "SPOOLDIR|s3://bucket/prefix",
     "list SPOOLDIR|s3://bucket/prefix", "one line a session"},
};

/* The column of --help where a command's summary starts (on the next line after a long
 * synopsis), and the options' descriptions. */
#define USAGE_COLUMN 28

/* --help, made from commands[] so that its synopses are the ones a missing argument says. */
static int usage(FILE *f, int code)
{
	const char *s, *nl;
	size_t i;
	int w;

	fputs(usage_head, f);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		w = fprintf(f, "  %s", commands[i].synopsis);
		if (w > USAGE_COLUMN - 2) {
			fputc('\n', f);
			w = 0;
		}
		for (s = commands[i].summary;; s = nl + 1, w = 0) {
			nl = strchrnul(s, '\n');
			fprintf(f, "%*s%.*s\n", USAGE_COLUMN - w, "", (int)(nl - s), s);
			if (*nl == '\0')
				break;
		}
	}
	fputs(usage_tail, f);
	return code;
}

/*
 * A command given fewer than its required arguments (argc of them): one line naming those
 * missing, not the whole usage, which would bury it. Returns the usage exit code.
 */
static int missing_args(size_t i, int argc)
{
	const char *missing = commands[i].args;
	int n;

	for (n = 0; n < argc && strchr(missing, ' ') != NULL; n++)
		missing = strchr(missing, ' ') + 1;
	tg_error("%s: missing %s (usage: %s; see tollgate-replay --help)", commands[i].name,
	         missing, commands[i].synopsis);
	return REPLAY_EXIT_USAGE;
}

/*
 * What getopt_long() (quiet: opterr 0, ':' first in the short options) returned c, '?' or
 * ':', for: one line that names the option as written and points at --help; the whole usage
 * after it would bury it. argv is the vector it scanned. Returns the usage exit code.
 */
static int bad_option(int c, char **argv)
{
	const char *arg = argv[optind - 1], *eq;
	char names[128] = "";
	size_t len, i, n = 0;
	int known = 0;

	/* a letter: ':' when its value is missing, '?' when unknown */
	if (c == ':' && strncmp(arg, "--", 2) != 0) {
		tg_error("option '-%c' needs a value (see tollgate-replay --help)", optopt);
		return REPLAY_EXIT_USAGE;
	}
	for (i = 0; longopts[i].name != NULL; i++)
		known |= longopts[i].val == optopt;
	if (c == '?' && optopt > 0 && optopt < 256 && !known) { /* every letter has a long name */
		tg_error("unknown option '-%c' (see tollgate-replay --help)", optopt);
		return REPLAY_EXIT_USAGE;
	}
	/* a long option, --name[=value]: the scan has stepped past it */
	eq = strchr(arg, '=');
	len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	if (c == ':') {
		tg_error("option '%.*s' needs a value (see tollgate-replay --help)", (int)len, arg);
		return REPLAY_EXIT_USAGE;
	}
	if (optopt != 0) { /* one it knows, given a value: --name=value */
		tg_error("option '%.*s' takes no value (see tollgate-replay --help)", (int)len,
		         arg);
		return REPLAY_EXIT_USAGE;
	}
	for (i = 0; longopts[i].name != NULL; i++)
		if (len > 2 && strncmp(longopts[i].name, arg + 2, len - 2) == 0) {
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s--%s",
			         n++ > 0 ? ", " : "", longopts[i].name);
		}
	if (n > 1)
		tg_error("option '%.*s' is ambiguous (%s; see tollgate-replay --help)", (int)len,
		         arg, names);
	else
		tg_error("unknown option '%.*s' (see tollgate-replay --help)", (int)len, arg);
	return REPLAY_EXIT_USAGE;
}

/* The TAKES_* bit of option c (a getopt_long() value); 0 for those every command takes. */
static unsigned takes_bit(int c)
{
	switch (c) {
	case 'k':
	case OPT_NO_KEY:
		return TAKES_KEY;
	case 'f':
		return TAKES_FORCE;
	case OPT_JSON:
		return TAKES_JSON;
	case OPT_INPUT:
		return TAKES_INPUT;
	case OPT_FORMAT:
		return TAKES_FORMAT;
	case OPT_RAW:
		return TAKES_RAW;
	case 's':
	case 'i':
	case OPT_FROM:
	case OPT_TO:
		return TAKES_PLAY;
	default:
		return 0;
	}
}

/*
 * Option c, written as longopts[li] (li -1: its letter), given to command cmd: -1 when cmd
 * takes it, else the usage exit code after one line that names the commands that do. One
 * that would have no effect is refused, not ignored: an investigator who typed it expects one.
 */
static int refuse_opt(int c, int li, size_t cmd)
{
	unsigned bit = takes_bit(c);
	char users[128] = "";
	size_t i, n = 0, last = 0;

	if (bit == 0 || (commands[cmd].takes & bit) != 0)
		return -1;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].takes & bit)
			last = i;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const char *sep = n == 0 ? "" : i == last ? " and " : ", ";

		if ((commands[i].takes & bit) == 0)
			continue;
		snprintf(users + strlen(users), sizeof(users) - strlen(users), "%s%s", sep,
		         commands[i].name);
		n++;
	}
	if (li >= 0)
		tg_error("%s: --%s applies to %s only (see tollgate-replay --help)",
		         commands[cmd].name, longopts[li].name, users);
	else
		tg_error("%s: -%c applies to %s only (see tollgate-replay --help)",
		         commands[cmd].name, c, users);
	return REPLAY_EXIT_USAGE;
}

static int parse_double(const char *s, double min, double max, double *v)
{
	char *end;
	double d = strtod(s, &end);

	if (end == s || *end != '\0' || !(d >= min && d <= max))
		return -1;
	*v = d;
	return 0;
}

/* Apply one parsed option; returns -1 to go on, or an exit code. */
static int apply_opt(int c, struct replay_opts *o, const char **config_path)
{
	double d;

	switch (c) {
	case 'c':
		*config_path = optarg;
		break;
	case 'k':
		o->key_path = optarg;
		break;
	case OPT_NO_KEY:
		o->no_key = 1;
		break;
	case 'f':
		o->force = 1;
		break;
	case OPT_JSON:
		o->json = 1;
		break;
	case OPT_INPUT:
		o->input = 1;
		break;
	case OPT_FORMAT:
		o->format = optarg;
		break;
	case OPT_RAW:
		o->raw = 1;
		break;
	case 's':
		if (parse_double(optarg, 1.0 / 64, 64, &o->speed) != 0) {
			tg_error("--speed: a number from 1/64 to 64");
			return REPLAY_EXIT_USAGE;
		}
		break;
	case 'i':
		if (parse_double(optarg, 0.001, 86400.0 * 365, &d) != 0) {
			tg_error("--idle-limit: seconds, from 0.001 to 31536000 (a year)");
			return REPLAY_EXIT_USAGE;
		}
		o->idle_limit_us = (uint64_t)(d * 1e6);
		break;
	case OPT_FROM:
	case OPT_TO:
		if (replay_parse_time(optarg, c == OPT_FROM ? &o->from_us : &o->to_us) != 0) {
			tg_error("%s: a time like 83.5, 1:23.5 or 0:01:23.5",
			         c == OPT_FROM ? "--from" : "--to");
			return REPLAY_EXIT_USAGE;
		}
		if (c == OPT_FROM)
			o->has_from = 1;
		else
			o->has_to = 1;
		break;
	case 'h':
		return usage(stdout, 0);
	case 'V':
		puts("tollgate-replay " PACKAGE_VERSION);
		return 0;
	default:
		return REPLAY_EXIT_USAGE; /* said by bad_option() */
	}
	return -1;
}

#define NO_COMMAND ((size_t)-1)

/*
 * Scan argv's options afresh (getopt_long() from optind 0): with before set, those up to the
 * first argument that is not an option (the command); else all, among its arguments. With cmd
 * NO_COMMAND, before it is known, only a bad option, --help and --version act; else each is
 * checked against cmd (refuse_opt()) before its value is read, and applied. Returns -1 to go
 * on (optind: after the options), or an exit code.
 */
static int scan_opts(int argc, char **argv, int before, size_t cmd, struct replay_opts *o,
                     const char **config_path)
{
	int c, r, li;

	optind = 0; /* glibc: start afresh, whatever the last scan left */
	for (;;) {
		li = -1;
		c = getopt_long(argc, argv, before ? "+:c:k:fs:i:hV" : ":c:k:fs:i:hV", longopts,
		                &li);
		if (c == -1)
			return -1;
		if (c == '?' || c == ':')
			return bad_option(c, argv);
		if (cmd == NO_COMMAND && c != 'h' && c != 'V')
			continue;
		if (cmd != NO_COMMAND && (r = refuse_opt(c, li, cmd)) >= 0)
			return r;
		if ((r = apply_opt(c, o, config_path)) >= 0)
			return r;
	}
}

int main(int argc, char **argv)
{
	struct replay_opts o;
	const char *config_path = NULL, *cmd;
	char err[512], **sub_argv;
	size_t i;
	int r, code = REPLAY_EXIT_USAGE, sub_argc, cmd_at;

	setlocale(LC_CTYPE, "");
	tg_log_init("tollgate-replay", TG_LOG_STDERR, 0);
	memset(&o, 0, sizeof(o));
	o.speed = 1.0;
	/* the terminal's charset is the locale's: what the guard writes to it must be read so */
	replay_set_term_8bit(replay_term_8bit());
	opterr = 0; /* bad_option() says it, on one line (':' first: a missing value apart) */
	/* options before the command: where it is (each is checked once it is known) ... */
	if ((r = scan_opts(argc, argv, 1, NO_COMMAND, &o, &config_path)) >= 0)
		return r;
	if (optind >= argc) {
		tg_error("missing COMMAND (see tollgate-replay --help)");
		return REPLAY_EXIT_USAGE;
	}
	cmd_at = optind;
	cmd = argv[cmd_at];
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		char names[128] = "";

		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			         i > 0 ? ", " : "", commands[i].name);
		tg_error("unknown command '%s' (commands: %s; see tollgate-replay --help)", cmd,
		         names);
		return REPLAY_EXIT_USAGE;
	}
	/* ... those again, for this command, and those after it, anywhere among its arguments
	 * ("--" ends them) */
	if ((r = scan_opts(cmd_at, argv, 1, i, &o, &config_path)) >= 0)
		return r;
	sub_argc = argc - cmd_at;
	sub_argv = argv + cmd_at;
	if ((r = scan_opts(sub_argc, sub_argv, 0, i, &o, &config_path)) >= 0)
		return r;
	sub_argc -= optind;
	sub_argv += optind;
	if (sub_argc < commands[i].min_args)
		return missing_args(i, sub_argc);
	if (o.has_from && o.has_to && o.to_us <= o.from_us) {
		tg_error("--to must be after --from");
		return REPLAY_EXIT_USAGE;
	}
	/* a usage error, said before a config or key is read that might fail first */
	if ((r = replay_check_format(o.format, commands[i].fn == replay_cmd_export)) !=
	    REPLAY_EXIT_OK)
		return r;
	if (sodium_init() < 0) {
		tg_error("libsodium failed to start");
		return REPLAY_EXIT_USAGE;
	}
	if ((r = tg_config_new(&o.cfg)) != TG_OK) {
		tg_error_r(r, "config");
		return REPLAY_EXIT_USAGE;
	}
	/* investigators run this with their own config: it may be theirs */
	r = tg_config_load(o.cfg, config_path ? config_path : TG_CONFIG_DEFAULT_PATH,
	                   TG_CONFIG_OWNER_SELF | (config_path ? 0 : TG_CONFIG_MISSING_OK), err,
	                   sizeof(err));
	if (r != TG_OK && config_path == NULL && (r == TG_ERR_SYSTEM || r == TG_ERR_PERM)) {
		/* the host's config is often the audit group's only: investigators pass --key (and -c) */
		tg_warn("%s (ignored: using defaults; -c FILE to name a config)", err);
	} else if (r != TG_OK) {
		tg_error("%s", err);
		goto out;
	}
	if ((commands[i].takes & TAKES_KEY) && !o.no_key) {
		const char *kp =
		    o.key_path ? o.key_path : tg_config_str(o.cfg, TG_CONF_RECORDER_PUBLIC_KEY);

		if ((r = tg_key_load_public(kp, o.host_pk)) != TG_OK) {
			tg_error("host public key %s: %s (use --key PUBFILE, or --no-key to check "
			         "integrity "
			         "without authenticity)",
			         kp, tg_strerror(r));
			goto out;
		}
		o.have_pk = 1;
	}
	code = commands[i].fn(&o, sub_argc, sub_argv);
out:
	tg_config_free(o.cfg);
	return code;
}
