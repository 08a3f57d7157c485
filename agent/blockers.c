/* blockers: maintenance blockers and the version policy, pure (see blockers.h). */
#include "blockers.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void add(struct blockers *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct blockers *b, const char *fmt, ...)
{
	va_list ap;

	if (b->n == BLOCKERS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(b->text[b->n], BLOCKER_TEXT_MAX, fmt, ap);
	va_end(ap);
	b->n++;
}

bool blockers_window_open(const char *window, int64_t now_unix_ms)
{
	struct config_window w;
	const char *why = NULL;
	time_t t = (time_t)(now_unix_ms / 1000);
	struct tm tm;
	int minute, wday;

	if (!window || !window[0])
		return true;
	if (config_parse_window(window, &w, &why) < 0)
		return false;
	if (w.always)
		return true;
	gmtime_r(&t, &tm);
	minute = tm.tm_hour * 60 + tm.tm_min;
	wday = tm.tm_wday;
	if (w.start_min < w.end_min)
		return (w.days & (1u << wday)) && minute >= w.start_min && minute < w.end_min;
	/* Crosses midnight: the part after midnight belongs to the day the window started. */
	if ((w.days & (1u << wday)) && minute >= w.start_min)
		return true;
	return (w.days & (1u << ((wday + 6) % 7))) && minute < w.end_min;
}

static size_t count_racks(const struct nt_status *ring)
{
	size_t n = 0;

	for (size_t i = 0; i < ring->n_peers; i++) {
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(ring->peers[i].datacenter, ring->peers[j].datacenter) == 0 &&
			       strcmp(ring->peers[i].rack, ring->peers[j].rack) == 0;
		n += !seen;
	}
	return n;
}

static void check_keyspaces(const struct blockers_input *in, struct blockers *b)
{
	bool multi_rack = in->ring && count_racks(in->ring) > 1;

	for (size_t i = 0; i < in->cluster->n_keyspaces; i++) {
		const struct nt_keyspace *k = &in->cluster->keyspaces[i];
		uint32_t rf = 0;
		bool dc_listed = false;

		if (strcmp(k->name, "system_traces") == 0)
			continue;
		if (strstr(k->replication_class, "NetworkTopologyStrategy")) {
			for (size_t f = 0; f < k->n_factors; f++) {
				if (strcmp(k->factors[f].key, in->datacenter) == 0) {
					rf = k->factors[f].value;
					dc_listed = true;
				}
			}
			if (dc_listed && rf < 3)
				add(b, "keyspace %s has RF %u in %s (needs 3)", k->name, rf, in->datacenter);
		} else if (strstr(k->replication_class, "SimpleStrategy")) {
			for (size_t f = 0; f < k->n_factors; f++)
				if (strcmp(k->factors[f].key, "replication_factor") == 0)
					rf = k->factors[f].value;
			if (multi_rack)
				add(b, "keyspace %s uses SimpleStrategy in a multi-rack cluster", k->name);
			else if (rf < 3)
				add(b, "keyspace %s has RF %u (needs 3)", k->name, rf);
		}
	}
}

size_t blockers_evaluate(const struct blockers_input *in, struct blockers *b)
{
	memset(b, 0, sizeof *b);
	if (in->check_window && !blockers_window_open(in->window, in->now_unix_ms))
		add(b, "outside the maintenance window \"%s\"", in->window);
	if (in->paused)
		add(b, "maintenance is paused");
	if (!in->ring || in->ring->n_peers == 0) {
		add(b, "no ring view (nodetool status)");
	} else {
		for (size_t i = 0; i < in->ring->n_peers; i++) {
			const struct nt_peer *p = &in->ring->peers[i];
			bool own_rack = strcmp(p->datacenter, in->datacenter) == 0 && strcmp(p->rack, in->rack) == 0;

			if (p->state != 'N' || (!own_rack && p->status != 'U'))
				add(b, "peer %s (%s/%s) is %c%c", p->address, p->datacenter, p->rack, p->status,
				    p->state);
		}
	}
	if (!in->cluster) {
		add(b, "no cluster view (nodetool describecluster)");
	} else {
		if (in->cluster->schema_versions > 1)
			add(b, "%u schema versions in the cluster", in->cluster->schema_versions);
		check_keyspaces(in, b);
	}
	if (!in->netstats) {
		add(b, "no streaming view (nodetool netstats)");
	} else {
		const char *mode = strstr(in->netstats, "Mode: ");

		if (mode && strncmp(mode + 6, "NORMAL", 6) != 0) {
			int n = (int)strcspn(mode + 6, "\r\n");

			add(b, "netstats mode is %.*s", n > 32 ? 32 : n, mode + 6);
		}
		if (!strstr(in->netstats, "Not sending any streams"))
			add(b, "streaming in progress (netstats)");
	}
	return b->n;
}

static int parse_version(const char *s, int v[3])
{
	int n = 0;

	v[0] = v[1] = v[2] = -1;
	/* At most 9 digits a component: a longer one cannot overflow the int (undefined; glibc read
	 * "4.4294967297.0" as 4.1.0), it stops the match and the version is refused. */
	// NOLINTNEXTLINE(cert-err34-c): the widths keep every component in range of an int
	if (!s || sscanf(s, "%9d.%9d.%9d%n", &v[0], &v[1], &v[2], &n) != 3 || v[0] < 0 || v[1] < 0 || v[2] < 0)
		return -EINVAL;
	return s[n] == '\0' || s[n] == '-' ? 0 : -EINVAL; /* "4.1.8" or "4.1.8-SNAPSHOT" */
}

int blockers_version_policy(const char *current, const char *target, bool allow_minor, bool allow_major, char *err,
			    size_t errlen)
{
	int c[3], t[3];

	if (parse_version(target, t) < 0) {
		snprintf(err, errlen, "target version \"%s\" is not X.Y.Z", target ? target : "");
		return -EINVAL;
	}
	if (parse_version(current, c) < 0) {
		snprintf(err, errlen, "current version \"%s\" is unknown; cannot check the upgrade",
			 current ? current : "");
		return -EINVAL;
	}
	if (t[0] < c[0] || (t[0] == c[0] && t[1] < c[1]) || (t[0] == c[0] && t[1] == c[1] && t[2] < c[2])) {
		snprintf(err, errlen, "%s -> %s is a downgrade", current, target);
		return -EPERM;
	}
	if (t[0] != c[0] && !allow_major) {
		snprintf(err, errlen, "%s -> %s changes the major version: needs allow_major_upgrade", current, target);
		return -EPERM;
	}
	if (t[0] == c[0] && t[1] != c[1] && !allow_minor) {
		snprintf(err, errlen, "%s -> %s changes the minor version: needs allow_minor_upgrade", current, target);
		return -EPERM;
	}
	return 0;
}
