/*
 * Shared by the harnesses that feed records straight to a replay command (fuzz_export.c,
 * fuzz_search.c): how their input spells a record. A head byte, whose low kind_bits pick the
 * record's type in types and whose other bits are the step of time since the record before
 * (in microseconds), then a length byte, then that many bytes (fewer at the end of the input).
 */
#ifndef TG_FUZZ_RECORDS_H
#define TG_FUZZ_RECORDS_H

#include <string.h>

#include "tg_rec.h"

/* The record at data[*pos] into rec (its data inside data, not consumed: *pos is left at it,
 * for the caller to step over what the record used), numbered index, its time added to *t.
 * 0 when fewer than a head and a length byte are left. */
static int fuzz_next_record(const uint8_t *data, size_t size, size_t *pos, uint64_t *t,
                            const enum tg_rec_type *types, unsigned kind_bits, size_t index,
                            struct tg_rec_record *rec)
{
	unsigned len;

	if (*pos + 2 > size)
		return 0;
	len = data[*pos + 1];
	*t += data[*pos] >> kind_bits;
	memset(rec, 0, sizeof(*rec));
	rec->type = types[data[*pos] & ((1u << kind_bits) - 1)];
	rec->offset = *pos;
	rec->index = index;
	rec->time_us = *t;
	*pos += 2;
	if (len > size - *pos)
		len = (unsigned)(size - *pos);
	rec->data = data + *pos;
	rec->len = len;
	return 1;
}

#endif
