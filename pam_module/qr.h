/* A QR code drawn on a terminal with Unicode half blocks (libqrencode). */
#ifndef TGP_QR_H
#define TGP_QR_H

#include <stdio.h>

/* Draw text as a QR code (error correction L, 8-bit mode) on out; TG_ERR_* on failure. */
int tgp_qr_print(FILE *out, const char *text);

#endif
