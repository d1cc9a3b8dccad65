/*
 * Options of pam_tollgate.so and tollgate-enroll, parsed into one struct:
 * the defaults, then the [pam] (and [general]) keys of tollgate.conf, then
 * the module arguments or the tool's flags, in that order. Any error (a bad
 * file, an unknown argument, a value out of range) is reported, never
 * ignored: the caller fails closed.
 */
#ifndef TGP_OPTIONS_H
#define TGP_OPTIONS_H

#include <stddef.h>

#include "tg_config.h"

struct tgp_opts {
	struct tg_config *cfg; /* every tollgate.conf key, file and arguments applied */
	int debug;             /* log each step (never a code or a secret) */
	int try_first_pass;    /* take the code from PAM_AUTHTOK when one is set */
	int forward_pass;      /* ask for password and code in one prompt, pass the password on */
};
#define TGP_OPTS_VOID {NULL, 0, 0, 0}

/*
 * Parse argv: "config=FILE" (read first, wherever it is in argv; the default
 * file may be missing, a named one may not), "debug", "try_first_pass",
 * "forward_pass", and every [pam] or [general] key as "key=value" (a yes/no
 * key alone means yes: "nullok"). On error err says why.
 */
int tgp_opts_load(struct tgp_opts *o, int argc, const char **argv, char *err, size_t errlen);
/* Release; safe on TGP_OPTS_VOID and twice. */
void tgp_opts_free(struct tgp_opts *o);

#endif
