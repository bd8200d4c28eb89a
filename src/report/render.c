// SPDX-License-Identifier: GPL-2.0
/* A report as a terminal table, one JSON document (one line), or Markdown tables for a ticket. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "pwhy/format.h"
#include "pwhy/report.h"

const char *report_fmt_bytes(__u64 b, char *buf, size_t len)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = b;
	int u = -1;

	if (b < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)b);
		return buf;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}

static const char *iso_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static double share(__u64 part, __u64 whole)
{
	return whole ? 100.0 * part / whole : 0;
}

static const char *kind_name(const struct report *r)
{
	return r->meta.kind == REPORT_INTERVAL ? "interval" : "total";
}

static const char *netns_text(const struct report *r, char *buf, size_t len)
{
	if (r->meta.netns_filter)
		snprintf(buf, len, "netns %u", r->meta.netns_filter);
	else
		snprintf(buf, len, "all netns");
	return buf;
}

/* "NO_SOCKET 40, NOT_SPECIFIED 2, other 3" */
static const char *dev_reasons(const struct report_dev_out *d, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (int i = 0; i < d->nreasons && o < len; i++)
		o += snprintf(buf + o, len - o, "%s%s %llu", i ? ", " : "", d->reasons[i].name,
			      (unsigned long long)d->reasons[i].drops);
	if (d->other_reason_drops && o < len)
		snprintf(buf + o, len - o, ", other %llu", (unsigned long long)d->other_reason_drops);
	return buf;
}

/* ------------------------------------------------------------------------------- text */

static void text_facts(const struct finding *f, FILE *out)
{
	fprintf(out, "  facts:");
	for (int i = 0; i < f->nfacts; i++)
		fprintf(out, " %s=%s", f->facts[i].key, f->facts[i].val);
	fputc('\n', out);
}

static void render_text(const struct report *r, FILE *out)
{
	char t0[32], t1[32], ns[48], b[32], rs[256];

	fprintf(out, "pwhy drop report (%s) %s .. %s (%.1f s), %s, host %s, kernel %s\n",
		kind_name(r), iso_time(r->meta.start, t0, sizeof(t0)),
		iso_time(r->meta.end, t1, sizeof(t1)), r->meta.seconds,
		netns_text(r, ns, sizeof(ns)), r->meta.host, r->meta.kernel);
	fprintf(out, "drops: %llu (%s, %.1f/s)\n", (unsigned long long)r->drops,
		report_fmt_bytes(r->bytes, b, sizeof(b)),
		r->meta.seconds > 0 ? r->drops / r->meta.seconds : 0.0);
	if (!r->drops) {
		fputc('\n', out);
		return;
	}

	fprintf(out, "\n%-32s %10s %7s %11s\n", "REASON", "DROPS", "SHARE", "BYTES");
	for (size_t i = 0; i < r->nreasons; i++)
		fprintf(out, "%-32s %10llu %6.1f%% %11s\n", r->reasons[i].name,
			(unsigned long long)r->reasons[i].drops, share(r->reasons[i].drops, r->drops),
			report_fmt_bytes(r->reasons[i].bytes, b, sizeof(b)));

	fprintf(out, "\n%-44s %-28s %10s\n", "LOCATION", "REASON", "DROPS");
	for (size_t i = 0; i < r->nlocs; i++)
		fprintf(out, "%-44s %-28s %10llu\n", r->locs[i].location, r->locs[i].reason,
			(unsigned long long)r->locs[i].drops);
	if (r->locs_rest_rows)
		fprintf(out, "(%llu more locations: %llu drops)\n",
			(unsigned long long)r->locs_rest_rows, (unsigned long long)r->locs_rest);

	fprintf(out, "\n%-11s %-22s %10s  %s\n", "NETNS", "DEVICE", "DROPS", "REASONS");
	for (size_t i = 0; i < r->ndevs; i++)
		fprintf(out, "%-11u %-22s %10llu  %s\n", r->devs[i].netns, r->devs[i].device,
			(unsigned long long)r->devs[i].drops, dev_reasons(&r->devs[i], rs, sizeof(rs)));
	if (r->devs_rest_rows)
		fprintf(out, "(%llu more devices: %llu drops)\n",
			(unsigned long long)r->devs_rest_rows, (unsigned long long)r->devs_rest);

	fprintf(out, "\nTOP %d FLOWS\n%10s  %-22s %-11s %-16s %-46s %s\n", r->meta.top, "DROPS",
		"REASON", "NETNS", "DEVICE", "TUPLE", "LOCATION");
	for (size_t i = 0; i < r->nflows; i++) {
		const struct report_flow_out *f = &r->flows[i];

		fprintf(out, "%10llu  %-22s %-11u %-16s %-46s %s\n", (unsigned long long)f->drops,
			f->reason, f->key.netns, f->device, f->tuple, f->location);
	}
	if (r->flows_rest_rows)
		fprintf(out, "(%llu more flows: %llu drops)\n",
			(unsigned long long)r->flows_rest_rows, (unsigned long long)r->flows_rest);

	if (r->nfindings) {
		fprintf(out, "\nFINDINGS (for the NO_SOCKET flows above)\n");
		for (size_t i = 0; i < r->nfindings; i++) {
			const struct report_finding_out *f = &r->findings[i];

			fprintf(out, "FINDING %s (%llu drops, %d flow%s): %s\n",
				finding_kind_name(f->f->kind), (unsigned long long)f->drops, f->flows,
				f->flows == 1 ? "" : "s", f->f->summary);
			text_facts(f->f, out);
			fprintf(out, "  hint: %s\n", f->f->hint);
		}
	}
	fprintf(out, "\nlimits: %zu flows in the window, %llu flows evicted from the %d-entry flow table, %llu not inserted; drops not attributed (table full): %llu reason, %llu location, %llu device\n\n",
		r->flows_tracked, (unsigned long long)r->flows_evicted, r->meta.flow_table_size,
		(unsigned long long)r->flow_full, (unsigned long long)r->reason_full,
		(unsigned long long)r->location_full, (unsigned long long)r->device_full);
}

/* ------------------------------------------------------------------------------- JSON */

static const char *js(const char *s, char *buf, size_t len)
{
	return fmt_json_escape(s, buf, len);
}

static void json_finding(const struct finding *f, FILE *out)
{
	char esc[1024];

	fprintf(out, "{\"finding\":\"%s\"", finding_kind_name(f->kind));
	for (int i = 0; i < f->nfacts; i++) {
		if (f->facts[i].num)
			fprintf(out, ",\"%s\":%s", f->facts[i].key, f->facts[i].val);
		else
			fprintf(out, ",\"%s\":\"%s\"", f->facts[i].key,
				js(f->facts[i].val, esc, sizeof(esc)));
	}
	fprintf(out, ",\"summary\":\"%s\"", js(f->summary, esc, sizeof(esc)));
	fprintf(out, ",\"hint\":\"%s\"}", js(f->hint, esc, sizeof(esc)));
}

static void render_json(const struct report *r, FILE *out)
{
	char t0[32], t1[32], e1[256], e2[256];

	fprintf(out, "{\"report\":\"drops\",\"kind\":\"%s\",\"start\":\"%s\",\"end\":\"%s\","
		"\"seconds\":%.3f,\"host\":\"%s\",\"kernel\":\"%s\",\"netns_filter\":",
		kind_name(r), iso_time(r->meta.start, t0, sizeof(t0)),
		iso_time(r->meta.end, t1, sizeof(t1)), r->meta.seconds,
		js(r->meta.host, e1, sizeof(e1)), js(r->meta.kernel, e2, sizeof(e2)));
	if (r->meta.netns_filter)
		fprintf(out, "%u", r->meta.netns_filter);
	else
		fputs("null", out);
	fprintf(out, ",\"top\":%d,\"drops\":%llu,\"bytes\":%llu", r->meta.top,
		(unsigned long long)r->drops, (unsigned long long)r->bytes);

	fputs(",\"by_reason\":[", out);
	for (size_t i = 0; i < r->nreasons; i++)
		fprintf(out, "%s{\"reason\":\"%s\",\"value\":%u,\"drops\":%llu,\"bytes\":%llu}",
			i ? "," : "", js(r->reasons[i].name, e1, sizeof(e1)), r->reasons[i].value,
			(unsigned long long)r->reasons[i].drops, (unsigned long long)r->reasons[i].bytes);

	fputs("],\"by_location\":[", out);
	for (size_t i = 0; i < r->nlocs; i++)
		fprintf(out, "%s{\"location\":\"%s\",\"function\":\"%s\",\"reason\":\"%s\",\"drops\":%llu,\"bytes\":%llu}",
			i ? "," : "", js(r->locs[i].location, e1, sizeof(e1)),
			js(r->locs[i].function, e2, sizeof(e2)), r->locs[i].reason,
			(unsigned long long)r->locs[i].drops, (unsigned long long)r->locs[i].bytes);
	fprintf(out, "],\"by_location_rest\":{\"rows\":%llu,\"drops\":%llu}",
		(unsigned long long)r->locs_rest_rows, (unsigned long long)r->locs_rest);

	fputs(",\"by_device\":[", out);
	for (size_t i = 0; i < r->ndevs; i++) {
		const struct report_dev_out *d = &r->devs[i];

		fprintf(out, "%s{\"netns\":%u,\"ifindex\":%d,\"device\":\"%s\",\"drops\":%llu,\"bytes\":%llu,\"reasons\":{",
			i ? "," : "", d->netns, d->ifindex, js(d->device, e1, sizeof(e1)),
			(unsigned long long)d->drops, (unsigned long long)d->bytes);
		for (int k = 0; k < d->nreasons; k++)
			fprintf(out, "%s\"%s\":%llu", k ? "," : "", d->reasons[k].name,
				(unsigned long long)d->reasons[k].drops);
		if (d->other_reason_drops)
			fprintf(out, "%s\"other\":%llu", d->nreasons ? "," : "",
				(unsigned long long)d->other_reason_drops);
		fputs("}}", out);
	}
	fprintf(out, "],\"by_device_rest\":{\"rows\":%llu,\"drops\":%llu}",
		(unsigned long long)r->devs_rest_rows, (unsigned long long)r->devs_rest);

	fputs(",\"top_flows\":[", out);
	for (size_t i = 0; i < r->nflows; i++) {
		const struct report_flow_out *f = &r->flows[i];

		fprintf(out, "%s{\"tuple\":\"%s\",\"netns\":%u,\"device\":\"%s\",\"reason\":\"%s\",\"location\":\"%s\",\"drops\":%llu,\"bytes\":%llu",
			i ? "," : "", js(f->tuple, e1, sizeof(e1)), f->key.netns,
			js(f->device, e2, sizeof(e2)), f->reason, f->location,
			(unsigned long long)f->drops, (unsigned long long)f->bytes);
		if (f->finding) {
			fputs(",\"finding\":", out);
			json_finding(f->finding, out);
		}
		fputc('}', out);
	}
	fprintf(out, "],\"top_flows_rest\":{\"rows\":%llu,\"drops\":%llu}",
		(unsigned long long)r->flows_rest_rows, (unsigned long long)r->flows_rest);

	fputs(",\"findings\":[", out);
	for (size_t i = 0; i < r->nfindings; i++) {
		fprintf(out, "%s{\"drops\":%llu,\"flows\":%d,\"explanation\":", i ? "," : "",
			(unsigned long long)r->findings[i].drops, r->findings[i].flows);
		json_finding(r->findings[i].f, out);
		fputc('}', out);
	}
	fprintf(out, "],\"limits\":{\"flow_table_size\":%d,\"flows_in_window\":%zu,\"flows_evicted\":%llu,"
		"\"flows_not_inserted\":%llu,\"reason_table_full\":%llu,\"location_table_full\":%llu,"
		"\"device_table_full\":%llu}}\n",
		r->meta.flow_table_size, r->flows_tracked, (unsigned long long)r->flows_evicted,
		(unsigned long long)r->flow_full, (unsigned long long)r->reason_full,
		(unsigned long long)r->location_full, (unsigned long long)r->device_full);
}

/* --------------------------------------------------------------------------- Markdown */

/* A table cell: `|` would end the cell, a newline the row. */
static const char *md(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 3 < len; s++) {
		if (*s == '|')
			buf[o++] = '\\';
		buf[o++] = *s == '\n' ? ' ' : *s;
	}
	buf[o] = 0;
	return buf;
}

static void render_markdown(const struct report *r, FILE *out)
{
	char t0[32], t1[32], ns[48], b[32], c1[256], c2[256], rs[256];

	fprintf(out, "### pwhy drop report (%s): %llu drops\n\n", kind_name(r),
		(unsigned long long)r->drops);
	fprintf(out, "| window | seconds | scope | host | kernel | drops | bytes |\n"
		     "|---|---:|---|---|---|---:|---:|\n");
	fprintf(out, "| %s → %s | %.1f | %s | %s | %s | %llu | %s |\n\n",
		iso_time(r->meta.start, t0, sizeof(t0)), iso_time(r->meta.end, t1, sizeof(t1)),
		r->meta.seconds, netns_text(r, ns, sizeof(ns)), md(r->meta.host, c1, sizeof(c1)),
		md(r->meta.kernel, c2, sizeof(c2)), (unsigned long long)r->drops,
		report_fmt_bytes(r->bytes, b, sizeof(b)));
	if (!r->drops)
		return;

	fprintf(out, "#### By reason\n\n| reason | drops | share | bytes |\n|---|---:|---:|---:|\n");
	for (size_t i = 0; i < r->nreasons; i++)
		fprintf(out, "| %s | %llu | %.1f%% | %s |\n", md(r->reasons[i].name, c1, sizeof(c1)),
			(unsigned long long)r->reasons[i].drops, share(r->reasons[i].drops, r->drops),
			report_fmt_bytes(r->reasons[i].bytes, b, sizeof(b)));

	fprintf(out, "\n#### By location\n\n| location | reason | drops |\n|---|---|---:|\n");
	for (size_t i = 0; i < r->nlocs; i++)
		fprintf(out, "| `%s` | %s | %llu |\n", md(r->locs[i].location, c1, sizeof(c1)),
			md(r->locs[i].reason, c2, sizeof(c2)), (unsigned long long)r->locs[i].drops);
	if (r->locs_rest_rows)
		fprintf(out, "| *%llu more* | | %llu |\n", (unsigned long long)r->locs_rest_rows,
			(unsigned long long)r->locs_rest);

	fprintf(out, "\n#### By netns and device\n\n| netns | device | drops | reasons |\n|---:|---|---:|---|\n");
	for (size_t i = 0; i < r->ndevs; i++)
		fprintf(out, "| %u | %s | %llu | %s |\n", r->devs[i].netns,
			md(r->devs[i].device, c1, sizeof(c1)), (unsigned long long)r->devs[i].drops,
			md(dev_reasons(&r->devs[i], rs, sizeof(rs)), c2, sizeof(c2)));
	if (r->devs_rest_rows)
		fprintf(out, "| *%llu more* | | %llu | |\n", (unsigned long long)r->devs_rest_rows,
			(unsigned long long)r->devs_rest);

	fprintf(out, "\n#### Top %d flows\n\n| drops | reason | netns | device | tuple | location |\n|---:|---|---:|---|---|---|\n",
		r->meta.top);
	for (size_t i = 0; i < r->nflows; i++) {
		const struct report_flow_out *f = &r->flows[i];

		fprintf(out, "| %llu | %s | %u | %s | `%s` | `%s` |\n", (unsigned long long)f->drops,
			f->reason, f->key.netns, md(f->device, c1, sizeof(c1)),
			md(f->tuple, c2, sizeof(c2)), f->location);
	}
	if (r->flows_rest_rows)
		fprintf(out, "| %llu | *%llu more flows* | | | | |\n", (unsigned long long)r->flows_rest,
			(unsigned long long)r->flows_rest_rows);

	if (r->nfindings) {
		fprintf(out, "\n#### Findings\n\n");
		for (size_t i = 0; i < r->nfindings; i++) {
			const struct finding *f = r->findings[i].f;

			fprintf(out, "- **%s** (%llu drops, %d flow%s): %s\n", finding_kind_name(f->kind),
				(unsigned long long)r->findings[i].drops, r->findings[i].flows,
				r->findings[i].flows == 1 ? "" : "s", f->summary);
			fprintf(out, "  - hint: %s\n  - facts:", f->hint);
			for (int k = 0; k < f->nfacts; k++)
				fprintf(out, " `%s=%s`", f->facts[k].key, f->facts[k].val);
			fputc('\n', out);
		}
	}
	fprintf(out, "\n*Limits: %zu flows in this window; %llu evicted from the %d-entry flow table, %llu not inserted; drops not attributed because a table was full: %llu reason, %llu location, %llu device.*\n\n",
		r->flows_tracked, (unsigned long long)r->flows_evicted, r->meta.flow_table_size,
		(unsigned long long)r->flow_full, (unsigned long long)r->reason_full,
		(unsigned long long)r->location_full, (unsigned long long)r->device_full);
}

void report_render(const struct report *r, enum report_format fmt, FILE *out)
{
	switch (fmt) {
	case REPORT_JSON:
		render_json(r, out);
		break;
	case REPORT_MARKDOWN:
		render_markdown(r, out);
		break;
	default:
		render_text(r, out);
	}
	fflush(out);
}
