// SPDX-License-Identifier: GPL-2.0
/* Snapshots hold what the maps counted since attach; a window is the difference of two. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "pwhy/report.h"

void report_snapshot_free(struct report_snapshot *s)
{
	free(s->reasons);
	free(s->locs);
	free(s->devs);
	free(s->flows);
	memset(s, 0, sizeof(*s));
}

static void *dup_rows(const void *rows, size_t n, size_t size, int *err)
{
	void *p;

	if (!n)
		return NULL;
	p = malloc(n * size);
	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	memcpy(p, rows, n * size);
	return p;
}

int report_snapshot_copy(struct report_snapshot *dst, const struct report_snapshot *src)
{
	int err = 0;

	*dst = *src;
	dst->reasons = dup_rows(src->reasons, src->nreasons, sizeof(*src->reasons), &err);
	dst->locs = dup_rows(src->locs, src->nlocs, sizeof(*src->locs), &err);
	dst->devs = dup_rows(src->devs, src->ndevs, sizeof(*src->devs), &err);
	dst->flows = dup_rows(src->flows, src->nflows, sizeof(*src->flows), &err);
	if (err)
		report_snapshot_free(dst);
	return err;
}

static __u64 sub(__u64 a, __u64 b)
{
	return a > b ? a - b : 0;
}

/* Rows are found in the previous snapshot by their key: sort a copy of its keys' row indexes
 * once, then binary-search. Every table has its key at the start of its row. */
struct index {
	const char *rows;
	size_t size, keysz;
	size_t *order;
	size_t n;
};

static const struct index *cmp_ix;

static int cmp_rows(const void *a, const void *b)
{
	const struct index *ix = cmp_ix;

	return memcmp(ix->rows + *(const size_t *)a * ix->size,
		      ix->rows + *(const size_t *)b * ix->size, ix->keysz);
}

static int index_build(struct index *ix, const void *rows, size_t n, size_t size, size_t keysz)
{
	ix->rows = rows;
	ix->n = n;
	ix->size = size;
	ix->keysz = keysz;
	ix->order = NULL;
	if (!n)
		return 0;
	ix->order = malloc(n * sizeof(*ix->order));
	if (!ix->order)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		ix->order[i] = i;
	cmp_ix = ix;
	qsort(ix->order, n, sizeof(*ix->order), cmp_rows);
	return 0;
}

static const void *index_find(const struct index *ix, const void *key)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *row = ix->rows + ix->order[mid] * ix->size;
		int c = memcmp(key, row, ix->keysz);

		if (!c)
			return row;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The new part of a counter row; a count that went down means the row was recreated. */
static bool count_delta(const struct report_count *cur, const struct report_count *prev,
			struct report_count *out)
{
	if (prev && cur->packets >= prev->packets) {
		out->packets = cur->packets - prev->packets;
		out->bytes = sub(cur->bytes, prev->bytes);
	} else {
		*out = *cur;
	}
	return out->packets != 0;
}

#define WINDOW_TABLE(field, nfield, type, keyfield, body)                                   \
	do {                                                                                \
		struct index ix;                                                            \
		if (index_build(&ix, prev->field, prev->nfield, sizeof(type),               \
				sizeof(((type *)0)->keyfield)))                             \
			goto nomem;                                                         \
		out->field = cur->nfield ? calloc(cur->nfield, sizeof(type)) : NULL;        \
		if (cur->nfield && !out->field) {                                           \
			free(ix.order);                                                     \
			goto nomem;                                                         \
		}                                                                           \
		for (size_t i = 0; i < cur->nfield; i++) {                                  \
			const type *c = &cur->field[i];                                     \
			const type *p = index_find(&ix, &c->keyfield);                      \
			type *o = &out->field[out->nfield];                                 \
			body                                                                \
		}                                                                           \
		free(ix.order);                                                             \
	} while (0)

int report_window(const struct report_snapshot *cur, const struct report_snapshot *prev,
		  struct report_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	if (!prev)
		return report_snapshot_copy(out, cur);
	out->mono_s = cur->mono_s;
	out->wall = cur->wall;
	out->totals.drops = sub(cur->totals.drops, prev->totals.drops);
	out->totals.bytes = sub(cur->totals.bytes, prev->totals.bytes);
	out->totals.reason_full = sub(cur->totals.reason_full, prev->totals.reason_full);
	out->totals.location_full = sub(cur->totals.location_full, prev->totals.location_full);
	out->totals.device_full = sub(cur->totals.device_full, prev->totals.device_full);
	out->totals.flow_full = sub(cur->totals.flow_full, prev->totals.flow_full);
	out->totals.flows_created = sub(cur->totals.flows_created, prev->totals.flows_created);
	out->flows_evicted = sub(cur->flows_evicted, prev->flows_evicted);

	WINDOW_TABLE(reasons, nreasons, struct report_reason_row, reason, {
		o->reason = c->reason;
		if (count_delta(&c->c, p ? &p->c : NULL, &o->c))
			out->nreasons++;
	});
	WINDOW_TABLE(locs, nlocs, struct report_loc_row, k, {
		o->k = c->k;
		if (count_delta(&c->c, p ? &p->c : NULL, &o->c))
			out->nlocs++;
	});
	WINDOW_TABLE(devs, ndevs, struct report_dev_row, k, {
		*o = *c;
		if (count_delta(&c->c, p ? &p->c : NULL, &o->c))
			out->ndevs++;
	});
	WINDOW_TABLE(flows, nflows, struct report_flow_row, k, {
		*o = *c;
		if (p && c->v.packets >= p->v.packets && c->v.first_ns == p->v.first_ns) {
			o->v.packets = c->v.packets - p->v.packets;
			o->v.bytes = sub(c->v.bytes, p->v.bytes);
		}
		if (o->v.packets)
			out->nflows++;
	});
	return 0;
nomem:
	report_snapshot_free(out);
	return -ENOMEM;
}
