/* tollgate-replay: shared between its subcommands (replay_*.c). */
#ifndef TG_REPLAY_H
#define TG_REPLAY_H

#include <stdint.h>
#include <stdio.h>

#include "tg_config.h"
#include "tg_rec.h"

/* Exit codes (the same for every subcommand). */
#define REPLAY_EXIT_OK 0       /* sealed and intact (and the command did its job) */
#define REPLAY_EXIT_TAMPERED 1 /* tampered, reordered, spliced, signed by another key */
#define REPLAY_EXIT_UNSEALED 2 /* intact up to a checkpoint, no seal */
#define REPLAY_EXIT_USAGE 3    /* usage or I/O error */

struct replay_opts {
	struct tg_config *cfg;
	const char *key_path;
	int no_key;
	unsigned char host_pk[32];
	int have_pk;
	int force;
	int json;
	int input; /* cat/search: the typed input instead of the output */
	int raw;   /* play, cat: no guard; export: no guard, exact bytes beside replaced ones */
	const char *format;
	double speed;
	uint64_t idle_limit_us; /* 0: none */
	int has_from, has_to;
	uint64_t from_us, to_us;
};

/* An open recording: a local file or an S3 object stream. */
struct replay_src {
	struct tg_rec_source src;
	int fd;
	void *s3; /* S3 streaming state, NULL for files */
	const char *name;
};

/* Open name (a path or s3://bucket/key). Logs and returns a TG_ERR_* code on failure. */
int replay_src_open(struct replay_src *s, const struct replay_opts *o, const char *name);
/* Close; TG_OK (an S3 transfer's error reaches the reader instead: its read at the end of
 * the stream returns it, and one that stopped reading early has its verdict already). */
int replay_src_close(struct replay_src *s);
/* Open name, verify all of it into *v, close it; TG_OK or why it could not be read. */
int replay_verify_name(const struct replay_opts *o, const char *name, struct tg_rec_verdict *v);
/*
 * Hold name open (a local regular file), or copy the S3 object once into an
 * unlinked private file: later replay_src_open() calls of name read those
 * bytes. Logs and returns a TG_ERR_* code on failure (a FIFO or device: not
 * a regular file).
 */
int replay_pin(const struct replay_opts *o, const char *name);
/* True when name is an s3:// URL. */
int replay_is_s3(const char *name);
/* List s3://bucket/prefix: cb per key; returns TG_OK or an error (logged). */
int replay_s3_list(const struct replay_opts *o, const char *url,
                   int (*cb)(void *ctx, const char *name, uint64_t size), void *ctx);
/* Each recording (a name ending in TG_REC_EXT) in a folder (a spool root: its sessions/) or
 * under s3://bucket/prefix: cb per name, in listing order; TG_OK or an error (logged). A
 * nonzero cb stops it with TG_ERR_NOMEM. bad is NULL, or for an entry in a folder named so
 * that is not a regular file (a broken symbolic link, a FIFO, a folder), what it is: such an
 * entry is not opened (a FIFO would block), and cannot be read as a recording. */
int replay_list_where(const struct replay_opts *o, const char *where,
                      int (*cb)(void *ctx, const char *name, uint64_t size, const char *bad),
                      void *ctx);

/* Recording names, as FILE arguments expand to; bad: see replay_list_where() (NULL: none). */
struct replay_name {
	char *name;
	char *bad;
};
struct replay_names {
	struct replay_name *v;
	size_t n, cap;
};
#define REPLAY_NAMES_VOID                                                                          \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}
/* A folder, or an s3:// URL that ends in '/', stands for each recording in it (sorted by
 * name; none is an error; an entry that is not a regular file is kept with its bad, for the
 * caller to report as an error); any other FILE for itself. TG_OK, or an error (logged): out of
 * memory stops it; a folder that cannot be listed or holds none is left out, the others
 * are expanded, and the first such error returned. */
int replay_names_expand(const struct replay_opts *o, int argc, char **argv,
                        struct replay_names *out);
void replay_names_free(struct replay_names *n);

/* The formats export writes (--format, which export needs), for its errors and --help. */
#define REPLAY_EXPORT_FORMATS "asciicast"
/*
 * Check --format (NULL: not given) before anything is read: REPLAY_EXIT_OK, or
 * REPLAY_EXIT_USAGE after saying why and which formats there are.
 */
int replay_check_format(const char *format, int required);

/* Whether the terminal is an 8-bit one (replay_term_8bit()), said once by main: what
 * replay_text_safe() and the JSON dumps write to a terminal is then ASCII, and so are the
 * messages tg_log writes to stderr when it is a terminal. */
void replay_set_term_8bit(int eight_bit);
/* Whether fd is a terminal taken to be an 8-bit one: what the guards and replay_text_safe() ask. */
int replay_8bit_tty(int fd);
/* tg_text_safe() of s for stream f: a character not ASCII as an escape when f is a terminal
 * and it is an 8-bit one (malloc'd; NULL when out of memory). */
char *replay_text_safe(FILE *f, const char *s);

/*
 * json_dumps(j, flags) made safe for a terminal: JSON escapes the C0 controls itself, but
 * lets DEL and the C1 controls (U+0080..U+009F; U+009B is CSI to a UTF-8 xterm) through
 * raw; here they are \u00XX escapes too, which any JSON reader reads back the same. To an
 * 8-bit terminal (replay_set_term_8bit()) every character not ASCII is an escape.
 * malloc'd; NULL when j cannot be dumped or memory runs out.
 */
struct json_t;
char *replay_json_dumps(const struct json_t *j, size_t flags);
/* The same, written to f with a newline; 0, or -1 when it could not be made or written. */
int replay_json_print(FILE *f, const struct json_t *j, size_t flags);

/* Verdict to exit code. */
int replay_exit_for(int status);
/* On stderr, when n > 0: n bytes of output (input) of name were passed on but not stored, by a
 * cap or, for a transfer, by transfer_content = metadata. */
void replay_warn_dropped(const char *name, uint64_t n, int input, int transfer);
/* Whether all output reached stdout (flushed, the stream without error, and werr 0: no write the
 * caller saw fail); when not, says "stdout: write failed". A command's output is its result:
 * one that could not be written exits REPLAY_EXIT_USAGE. */
int replay_stdout_ok(int werr);
/*
 * After showing a recording on the terminal fd: discard the input pending there, so that an
 * answer the terminal sent to a query in it is not read by the shell as typed. settle: first
 * wait for the output to be sent, and 100 ms for answers on their way (--raw, which passes
 * queries). Async-signal-safe.
 */
void replay_discard_input(int fd, int settle);
/*
 * What play and cat send a terminal before the recording: the window's title (and icon name)
 * pushed on the terminal's title stack, for the recording may set its own (root@prod-db), which
 * REPLAY_TERM_RESTORE pops. Async-signal-safe to write.
 */
#define REPLAY_TERM_START "\033[22;0t"
/*
 * What play and cat send a terminal when they are done with it, whatever the recording left it
 * in: the main screen (not the alternate one), the whole screen as scroll region (the cursor
 * kept where it is), default colours and attributes, replace mode, no newline mode, normal
 * video, wrap at the margin, ASCII in G0 shifted in, the cursor shown, the default cursor
 * style, not blinking, jump scroll, a tab stop every 8 columns (DECST8C), the title
 * REPLAY_TERM_START pushed, cursor keys and keypad normal, no bracketed paste, no mouse
 * reports. Ends in the mouse's last one, which tests look for.
 */
#define REPLAY_TERM_RESTORE                                                                        \
	"\033[?2026l\033[?1049l\0337\033[r\0338\033[?6l\033[0m\033[4l\033[20l\033[?5l\033[?7h"     \
	"\033[?45l\033[?8h\033(B\017\033[?25h"                                                     \
	"\033[0 q\033[?12l\033[?4l\033[?5W\033[23;0t"                                              \
	"\033[?1l\033>\033[?2004l\033[?1000l\033[?1002l\033[?1003l\033[?1006l"
/* "1:02:03.456" for microseconds. */
void replay_fmt_time(char *out, size_t n, uint64_t us);
/* Parse "SS[.fff]", "M:SS[.fff]" or "H:MM:SS[.fff]" into microseconds; -1 when malformed. */
int replay_parse_time(const char *s, uint64_t *us);
/*
 * What a recording of another format version (TG_ERR_VERSION) is said to be: not
 * tampered, not read (a static buffer).
 */
const char *replay_version_str(unsigned version);
/* One line describing a verdict (for stderr and listings). */
const char *replay_status_word(int status);
void replay_describe(FILE *f, const char *name, const struct tg_rec_verdict *v);

/*
 * Verify name before showing it: returns REPLAY_EXIT_OK when its content
 * may be shown (*limit: bytes of the file that may be shown), or the exit
 * code to stop with. Unsealed: only the verified part unless --force;
 * tampered: refused unless --force (then everything, under a warning).
 * *status gets the verdict's status.
 */
int replay_gate(const struct replay_opts *o, const char *name, uint64_t *limit, int *status);
/* The verdict replay_gate() found (of the last recording it let through). */
const struct tg_rec_verdict *replay_gate_verdict(void);
/*
 * After showing what replay_gate() allowed: the showing pass verified again
 * as it read (it reads the bytes replay_gate() pinned, so this is a second
 * line of defence). REPLAY_EXIT_OK, or REPLAY_EXIT_TAMPERED (said on stderr)
 * when that pass found tampering the first did not, or a seal other than the
 * one verified first (never with --force).
 */
int replay_recheck(const struct replay_opts *o, const char *name, int gate_status, const struct tg_rec_verdict *v);

/*
 * Read name's records that start before limit, calling fn for each (fn < 0
 * stops); *v (may be NULL) gets the verdict. Logs and returns an error when
 * the source cannot be read or has no header; returns TG_ERR_IO without
 * logging when fn stopped it (fn's caller knows why: stdout, say).
 */
int replay_each_record(const struct replay_opts *o, const char *name, uint64_t limit,
                       int (*fn)(void *ctx, const struct tg_rec_header *h,
                                 const struct tg_rec_record *rec),
                       void *ctx, struct tg_rec_verdict *v);

/*
 * What a pass over a recording saw of the typed input, for cat --input and search --input:
 * with record_input = no (the default) the recorder only counts it, and an empty result
 * must not read as "nothing was typed".
 */
struct replay_input_seen {
	uint64_t records; /* IN, IN_HIDDEN and input DROPPED records */
	int have_end;     /* an END record was read */
	int have_count;   /* ... that counts the input (bytes.in) */
	uint64_t counted; /* its count */
};
void replay_input_see(struct replay_input_seen *s, const struct tg_rec_record *rec);
/* After the pass: when name held no typed input at all, say so (and the count) on stderr. */
void replay_input_absent(const char *name, const struct replay_input_seen *s);

int replay_cmd_verify(const struct replay_opts *o, int argc, char **argv);
int replay_cmd_info(const struct replay_opts *o, int argc, char **argv);
int replay_cmd_cat(const struct replay_opts *o, int argc, char **argv);
int replay_cmd_search(const struct replay_opts *o, int argc, char **argv);
int replay_cmd_export(const struct replay_opts *o, int argc, char **argv);
int replay_cmd_list(const struct replay_opts *o, int argc, char **argv);
int replay_cmd_play(const struct replay_opts *o, int argc, char **argv);

/*
 * Terminal escape sequences stripped from output, for search (replay_strip.c). With input
 * set, from typed input: SS2/SS3 (ESC N x, ESC O x, keys in application mode) take their
 * key byte with them, and DEL, ^H and ^U are kept for the caller to apply as erasures.
 */
struct replay_strip {
	int state;
	int input;
	/* a CSI's first parameter so far (input: the bracketed paste marks), at most
	 * REPLAY_STRIP_PARAM_MAX, REPLAY_STRIP_PARAM_OTHER when there is another or a private
	 * one: after REPLAY_STRIP_LEFT and the like, their count */
	unsigned param;
	/* output: the UTF-8 character begun in the text so far (chlen bytes of it, 0: none), in
	 * which a byte 0x80..0x9f is text; outside one it is an 8-bit C1 control */
	unsigned char ch[4];
	unsigned chlen;
	/* output, in an OSC begun by ESC ]: its length so far, and the continuation bytes the
	 * character in it still needs (a 0x9c outside one ends the OSC, as the guard may) */
	unsigned str_len;
	unsigned str_need;
};
/* a larger count is this one: no line is that long (a terminal stops the cursor at its
 * line's end, or start, whatever the count) */
#define REPLAY_STRIP_PARAM_MAX 99999u
#define REPLAY_STRIP_PARAM_OTHER (~0u)
#define REPLAY_STRIP_VOID                                                                          \
	{                                                                                          \
		0, 0, 0, {0, 0, 0, 0}, 0, 0, 0                                                     \
	}
/* input: the last byte of a sequence a key sent, which may have moved the cursor (not the
 * bracketed paste marks ESC [ 200 ~ and ESC [ 201 ~) */
#define REPLAY_STRIP_KEY (-2)
/* output: erase in line (CSI K, CSI 0 K; CSI 1 K; CSI 2 K), for the caller to apply: from the
 * cursor to the end of the line, from its start to the cursor (its cell too), all of it */
#define REPLAY_STRIP_ERASE_END (-3)
#define REPLAY_STRIP_ERASE_START (-4)
#define REPLAY_STRIP_ERASE_LINE (-5)
/* output: the cursor moved, for the caller to apply, by n in param (1 to
 * REPLAY_STRIP_PARAM_MAX; 1 when 0 or none): to column n (CSI n G, CSI n `), n columns
 * back (CSI n D), forward (CSI n C), n rows up (CSI n A), down (CSI n B) */
#define REPLAY_STRIP_COLUMN (-6)
#define REPLAY_STRIP_LEFT (-7)
#define REPLAY_STRIP_RIGHT (-8)
#define REPLAY_STRIP_UP (-9)
#define REPLAY_STRIP_DOWN (-10)
/* output: the cells of the cursor's row edited at the cursor, which stays, by n in param (as
 * for a move): n blank cells inserted, the rest of the row moving right and what passes its
 * last column lost (ICH, CSI n @); n cells deleted, the rest moving left and blanks entering at
 * the right (DCH, CSI n P); n cells erased (ECH, CSI n X) */
#define REPLAY_STRIP_INSERT (-11)
#define REPLAY_STRIP_DELETE (-12)
#define REPLAY_STRIP_ERASE_CHARS (-13)
/*
 * Feed one byte: out gets what is kept, in order: bytes to keep as text, (input only)
 * REPLAY_STRIP_KEY and (output only) the REPLAY_STRIP_ERASE_*, cursor moves and row edits; returns
 * how many, 0 when the byte is part of a control sequence. A 0xc2 is held until the byte after it
 * shows whether the two are a C1 control (U+009B is CSI to a UTF-8 terminal), so one byte may give
 * two.
 */
int replay_strip_byte(struct replay_strip *st, unsigned char c, int out[2]);
/* The end of the stream: the 0xc2 held, which no byte follows (text), or -1; starts afresh. */
int replay_strip_end(struct replay_strip *st);
/* Whether a 0xc2 is held: the last byte fed, it comes out with the byte after it. */
int replay_strip_holds(const struct replay_strip *st);

/*
 * The terminal guard (replay_guard.c): what play, and cat to a terminal, let through of a
 * recorded stream, whose bytes the recorded user chose. It passes what rendering needs
 * (text, display controls, cursor, erase, scroll region, colours, display modes, charsets,
 * titles and hyperlinks) and withholds what acts on the investigator's terminal beyond the
 * screen: queries (their answers arrive as typed input), the clipboard, window and font
 * changes, notifications, mouse and focus reporting, DCS/APC/PM/SOS strings (tmux
 * passthrough among them), 8-bit C1 controls. Sequences may span writes: a sequence is held
 * until its end shows what it is, at most REPLAY_GUARD_SEQ_MAX bytes of it; a longer one is
 * withheld whole. Text is read as UTF-8: no byte 0x80..0x9f reaches the terminal outside
 * a character (a character cut short becomes U+FFFD); other invalid bytes pass as they are.
 * To an 8-bit terminal (eight_bit: the locale's charset is not UTF-8) no byte 0x80..0x9f
 * reaches it at all: each is a C1 control there, wherever it is, inside a UTF-8 character
 * too (C3 9B, "\u00db", is CSI to a Latin-1 xterm). A character is written in the locale's
 * charset instead, or as '?' (counted) when the charset has no such character or its bytes
 * there hold one 0x80..0x9f; bytes that are no character are read as that terminal reads
 * them (0x80..0x9f C1 controls, the others as they are); titles and hyperlinks pass with
 * printable ASCII text only, and an 8-bit ST (0x9c) ends any OSC.
 */
enum replay_guard_kind {
	REPLAY_GUARD_QUERY,       /* DSR, DA, DECRQM, XTVERSION, reports, ENQ, colour queries */
	REPLAY_GUARD_CLIPBOARD,   /* OSC 52 */
	REPLAY_GUARD_WINDOW,      /* CSI 1..9 t and the like: iconify, move, resize */
	REPLAY_GUARD_REPORTING,   /* the mouse and focus reporting modes (DECSET 9, 1000..1016) */
	REPLAY_GUARD_FONT,        /* OSC 50 */
	REPLAY_GUARD_NOTIFY,      /* OSC 9, 99, 777: desktop notifications */
	REPLAY_GUARD_PASSTHROUGH, /* DCS tmux; ...: a sequence for the terminal outside tmux */
	REPLAY_GUARD_STRING,      /* any other DCS, APC, PM or SOS string */
	REPLAY_GUARD_C1,          /* 8-bit C1 controls (raw or as UTF-8), and their sequences */
	REPLAY_GUARD_LONG,        /* longer than REPLAY_GUARD_SEQ_MAX */
	REPLAY_GUARD_OTHER,       /* any other control not known to be display only */
	REPLAY_GUARD_KINDS
};
#define REPLAY_GUARD_SEQ_MAX 4096
/* What replay_guard_feed() may write for n bytes fed: a held sequence, then at most a
 * U+FFFD (3 bytes) a byte (eight_bit: a character of 2 to 4 bytes in at most 4). */
#define REPLAY_GUARD_OUT_SIZE(n) (3 * (n) + REPLAY_GUARD_SEQ_MAX)
struct replay_guard {
	int state;
	int drop; /* the sequence being read is withheld as this kind; -1: decided at its end */
	unsigned char seq[REPLAY_GUARD_SEQ_MAX]; /* the sequence (or character) held */
	size_t len;
	uint64_t count[REPLAY_GUARD_KINDS]; /* withheld in this pass */
	uint64_t most[REPLAY_GUARD_KINDS];  /* the most withheld by a pass before (a seek back) */
	int eight_bit;          /* the terminal is not UTF-8: its charset is the locale's */
	uint64_t unmapped;      /* characters written as '?' in this pass (eight_bit) */
	uint64_t unmapped_most; /* the most of a pass before */
};
/* A guard for a UTF-8 terminal. */
void replay_guard_init(struct replay_guard *g);
/* A guard for a terminal that is UTF-8 or not (eight_bit: see replay_term_8bit()). */
void replay_guard_init_term(struct replay_guard *g, int eight_bit);
/* Whether the terminal is taken to be 8-bit: the charset of the locale (LC_CTYPE, as set by
 * setlocale()) is not UTF-8. The C locale's ASCII counts: it usually means such a terminal. */
int replay_term_8bit(void);
/* Filter n bytes from in into out (REPLAY_GUARD_OUT_SIZE(n) bytes); returns how many. */
size_t replay_guard_feed(struct replay_guard *g, unsigned char *out, const void *in, size_t n);
/* Filter n bytes to f: 0, or -1 when a write failed. */
int replay_guard_write(struct replay_guard *g, FILE *f, const void *d, size_t n);
/* The end of the stream: a sequence left unfinished is withheld (counted), a character cut
 * short dropped. */
void replay_guard_end(struct replay_guard *g);
/* The stream starts again from its beginning (play's backward seek): what is held is dropped,
 * and the counts of the passes are not added up (the most of each kind is kept). */
void replay_guard_restart(struct replay_guard *g);
/* How many of kind were withheld (the most of any pass over the stream). */
uint64_t replay_guard_withheld(const struct replay_guard *g, enum replay_guard_kind kind);
/* How many characters were written as '?' (the most of any pass): not in the locale's charset. */
uint64_t replay_guard_unmapped(const struct replay_guard *g);
/* When anything was withheld: one line on stderr saying how many of each kind, and that
 * --raw passes them (exported: withheld from an export, which --raw keeps them in); when
 * characters were written as '?', a line saying how many, and that a UTF-8 locale shows them. */
void replay_guard_report(const struct replay_guard *g, const char *name, int exported);

#endif
