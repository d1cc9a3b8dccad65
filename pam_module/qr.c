#include "qr.h"

#include <qrencode.h>

#include "tg_error.h"

#define QUIET 2 /* light modules around the code: scanners need the margin */

/* Module (x, y) is dark; outside the symbol is the light quiet zone. */
static int dark(const QRcode *q, int x, int y)
{
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return 0;
	return q->data[y * q->width + x] & 1;
}

int tgp_qr_print(FILE *out, const char *text)
{
	/* two module rows per text line; light on dark terminals is the common case,
	 * so dark modules are drawn as spaces and light ones as blocks */
	static const char *cell[4] = {"\xe2\x96\x88", "\xe2\x96\x80", "\xe2\x96\x84", " "};
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
	int x, y;

	if (q == NULL)
		return TG_ERR_INVALID;
	for (y = -QUIET; y < q->width + QUIET; y += 2) {
		for (x = -QUIET; x < q->width + QUIET; x++)
			fputs(cell[dark(q, x, y) * 2 + dark(q, x, y + 1)], out);
		fputc('\n', out);
	}
	QRcode_free(q);
	return TG_OK;
}
