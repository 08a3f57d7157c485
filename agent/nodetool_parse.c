/* nodetool_parse: pure parsers for the stdout of nodetool status, info, version, describecluster, statusbinary and
 * listsnapshots. */
#include "nodetool_parse.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define NT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define NT_PRINTF(a, b)
#endif

/* Most whitespace-separated fields any supported row has (a 5.0 listsnapshots row has 10). */
#define NT_MAX_TOKS 16

/* A slice of the input; never NUL-terminated. */
struct nt_str {
	const char *p;
	size_t n;
};

/* Line cursor over the input; `no` is the 1-based number of the line last returned. */
struct nt_lines {
	const char *p;
	size_t left;
	size_t no;
};

/* Writes "line N: <message>" into err (when given) and returns rc. */
static int NT_PRINTF(5, 6) nt_fail(int rc, char *err, size_t errlen, size_t line, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (!err || !errlen)
		return rc;
	k = snprintf(err, errlen, "line %zu: ", line ? line : 1);
	if (k >= 0 && (size_t)k < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static bool nt_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool nt_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

static bool nt_ishex(char c)
{
	return nt_isdigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char nt_lower(char c)
{
	// NOLINTNEXTLINE(bugprone-narrowing-conversions): a char either way (the ?: is an int in C)
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Returns the next line without its "\n" or "\r\n"; false at the end of the input. */
static bool nt_next_line(struct nt_lines *it, struct nt_str *line)
{
	const char *nl;
	size_t n;

	if (!it->left)
		return false;
	nl = memchr(it->p, '\n', it->left);
	n = nl ? (size_t)(nl - it->p) : it->left;
	line->p = it->p;
	line->n = n && it->p[n - 1] == '\r' ? n - 1 : n;
	it->p += n + (nl != NULL);
	it->left -= n + (nl != NULL);
	it->no++;
	return true;
}

static struct nt_str nt_trim(struct nt_str s)
{
	while (s.n && nt_isspace(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n && nt_isspace(s.p[s.n - 1]))
		s.n--;
	return s;
}

/* Returns the bytes of s from offset `from` on (empty when from is past the end). */
static struct nt_str nt_tail(struct nt_str s, size_t from)
{
	return from < s.n ? (struct nt_str){s.p + from, s.n - from} : (struct nt_str){s.p, 0};
}

/* Returns the rest of `line` starting at token `t` (which must point into line). */
static struct nt_str nt_rest(struct nt_str line, struct nt_str t)
{
	return nt_tail(line, (size_t)(t.p - line.p));
}

static bool nt_eq(struct nt_str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool nt_prefix(struct nt_str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n >= n && memcmp(s.p, lit, n) == 0;
}

/* Returns the offset of the first occurrence of lit in s, or SIZE_MAX. */
static size_t nt_find(struct nt_str s, const char *lit)
{
	size_t n = strlen(lit);

	for (size_t i = 0; n && i + n <= s.n; i++)
		if (s.p[i] == lit[0] && memcmp(s.p + i, lit, n) == 0)
			return i;
	return SIZE_MAX;
}

/*
 * Splits s on runs of whitespace into at most max tokens and returns how many tokens
 * there are in total (which may exceed max; only the first max are stored). This is the
 * one tokenizer every row parser uses: nodetool columns are never split by position.
 */
static size_t nt_split(struct nt_str s, struct nt_str *tok, size_t max)
{
	size_t n = 0, i = 0, b;

	for (;;) {
		while (i < s.n && nt_isspace(s.p[i]))
			i++;
		if (i == s.n)
			return n;
		b = i;
		while (i < s.n && !nt_isspace(s.p[i]))
			i++;
		if (n < max)
			tok[n] = (struct nt_str){s.p + b, i - b};
		n++;
	}
}

/* Splits "key : value" at the first ':' into trimmed halves; false without a ':'. */
static bool nt_kv(struct nt_str line, struct nt_str *key, struct nt_str *val)
{
	const char *c = line.n ? memchr(line.p, ':', line.n) : NULL;

	if (!c)
		return false;
	*key = nt_trim((struct nt_str){line.p, (size_t)(c - line.p)});
	*val = nt_trim(nt_tail(line, (size_t)(c - line.p) + 1));
	return true;
}

/*
 * Copies s into dst (dstsize bytes) as a C string. Control bytes (including NUL) are
 * rejected. A value that does not fit is rejected, or with `truncate` cut at a UTF-8
 * character boundary.
 */
static int nt_copy(char *dst, size_t dstsize, struct nt_str s, bool truncate)
{
	size_t n = s.n;

	for (size_t i = 0; i < s.n; i++)
		if ((unsigned char)s.p[i] < 0x20 || s.p[i] == 0x7f)
			return -EINVAL;
	if (n >= dstsize) {
		if (!truncate)
			return -EINVAL;
		n = dstsize - 1;
		while (n > 0 && ((unsigned char)s.p[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, s.p, n);
	dst[n] = '\0';
	return 0;
}

/* Parses an unsigned decimal with no sign, rejecting overflow. */
static int nt_u64(struct nt_str s, uint64_t *v)
{
	uint64_t x = 0;

	if (!s.n)
		return -EINVAL;
	for (size_t i = 0; i < s.n; i++) {
		unsigned d = (unsigned)(s.p[i] - '0');

		if (!nt_isdigit(s.p[i]) || x > (UINT64_MAX - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

static int nt_u32(struct nt_str s, uint32_t *v)
{
	uint64_t x;

	if (nt_u64(s, &x) || x > UINT32_MAX)
		return -EINVAL;
	*v = (uint32_t)x;
	return 0;
}

/* Parses an optionally negative decimal into an int64_t, rejecting overflow. */
static int nt_i64(struct nt_str s, int64_t *v)
{
	bool neg = s.n && s.p[0] == '-';
	uint64_t x;

	if (nt_u64(nt_tail(s, neg), &x) || x > (uint64_t)INT64_MAX + neg)
		return -EINVAL;
	if (neg)
		*v = x == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)x;
	else
		*v = (int64_t)x;
	return 0;
}

/*
 * Parses a decimal as Java prints a double with %.2f or %s: "[-]digits[.digits]", "NaN"
 * or "[-]Infinity". A ',' decimal separator (non-English JVM locale) is accepted too.
 */
static int nt_double(struct nt_str s, double *v)
{
	double x = 0, scale = 1;
	size_t i = 0, digits = 0;
	bool neg = false;

	if (nt_eq(s, "NaN")) {
		*v = NAN;
		return 0;
	}
	if (s.n && (s.p[0] == '-' || s.p[0] == '+')) {
		neg = s.p[0] == '-';
		i++;
	}
	if (nt_eq(nt_tail(s, i), "Infinity")) {
		*v = neg ? -INFINITY : INFINITY;
		return 0;
	}
	for (; i < s.n && nt_isdigit(s.p[i]); i++, digits++)
		x = x * 10 + (s.p[i] - '0');
	if (i < s.n && (s.p[i] == '.' || s.p[i] == ',')) {
		for (i++; i < s.n && nt_isdigit(s.p[i]); i++, digits++) {
			scale /= 10;
			x += (s.p[i] - '0') * scale;
		}
	}
	if (!digits || i != s.n)
		return -EINVAL;
	*v = neg ? -x : x;
	return 0;
}

/* Parses a percentage as printed by nodetool ("100.0%", "33,3%", "NaN%"); "?" gives NAN. */
static int nt_percent(struct nt_str s, double *v)
{
	if (nt_eq(s, "?")) {
		*v = NAN;
		return 0;
	}
	if (s.n < 2 || s.p[s.n - 1] != '%')
		return -EINVAL;
	s.n--;
	return nt_double(s, v);
}

static int nt_bool(struct nt_str s, bool *v)
{
	if (nt_eq(s, "true") || nt_eq(s, "false")) {
		*v = s.p[0] == 't';
		return 0;
	}
	return -EINVAL;
}

/*
 * Copies a host id, which must be a whole 8-4-4-4-12 UUID so that a row cut short is not
 * taken for a valid one; "?" and "null" give "".
 */
static int nt_host_id(char *dst, struct nt_str s)
{
	if (nt_eq(s, "?") || nt_eq(s, "null")) {
		dst[0] = '\0';
		return 0;
	}
	if (s.n != 36)
		return -EINVAL;
	for (size_t i = 0; i < s.n; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? s.p[i] != '-' : !nt_ishex(s.p[i]))
			return -EINVAL;
	return nt_copy(dst, NT_HOST_ID_MAX, s, false);
}

int nt_parse_size(const char *s, size_t len, uint64_t *bytes)
{
	static const struct {
		const char *unit;
		unsigned shift;
	} units[] = {
		{"bytes", 0}, {"byte", 0}, {"B", 0},   {"KiB", 10}, {"KB", 10}, {"MiB", 20}, {"MB", 20}, {"GiB", 30},
		{"GB", 30},   {"TiB", 40}, {"TB", 40}, {"PiB", 50}, {"PB", 50}, {"EiB", 60}, {"EB", 60},
	};
	struct nt_str v, unit;
	uint64_t whole = 0, frac = 0, fscale = 1, mult, part;
	size_t i = 0, digits = 0, u;

	if (!bytes || (!s && len))
		return -EINVAL;
	v = nt_trim((struct nt_str){s, len});
	for (; i < v.n && nt_isdigit(v.p[i]); i++, digits++) {
		unsigned d = (unsigned)(v.p[i] - '0');

		if (whole > (UINT64_MAX - d) / 10)
			return -EINVAL;
		whole = whole * 10 + d;
	}
	if (!digits)
		return -EINVAL;
	if (i < v.n && (v.p[i] == '.' || v.p[i] == ',')) {
		/* Digits past the 18th cannot matter for a size; they are checked, not used. */
		for (digits = 0, i++; i < v.n && nt_isdigit(v.p[i]); i++, digits++) {
			if (fscale < 1000000000000000000ULL) {
				frac = frac * 10 + (uint64_t)(v.p[i] - '0');
				fscale *= 10;
			}
		}
		if (!digits)
			return -EINVAL;
	}
	unit = nt_trim(nt_tail(v, i));
	for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		size_t k = 0, n = strlen(units[u].unit);

		while (k < n && k < unit.n && nt_lower(unit.p[k]) == nt_lower(units[u].unit[k]))
			k++;
		if (k == n && unit.n == n)
			break;
	}
	if (u == sizeof(units) / sizeof(units[0]))
		return -EINVAL;
	mult = (uint64_t)1 << units[u].shift;
	if (whole > UINT64_MAX >> units[u].shift)
		return -EINVAL;
	/* The fraction is below one unit, so this product fits and the cast is defined. */
	part = (uint64_t)((double)frac / (double)fscale * (double)mult + 0.5);
	whole <<= units[u].shift;
	if (whole > UINT64_MAX - part)
		return -EINVAL;
	*bytes = whole + part;
	return 0;
}

/* Parses a size given as one token ("1.52GiB") or two ("1.52" "GiB") at tok[*i], advancing *i. */
static int nt_size_toks(const struct nt_str *tok, size_t n, size_t *i, uint64_t *bytes)
{
	if (*i < n && nt_parse_size(tok[*i].p, tok[*i].n, bytes) == 0) {
		*i += 1;
		return 0;
	}
	if (*i + 1 < n && nt_parse_size(tok[*i].p, (size_t)(tok[*i + 1].p + tok[*i + 1].n - tok[*i].p), bytes) == 0) {
		*i += 2;
		return 0;
	}
	return -EINVAL;
}

/*
 * Returns a larger copy of arr when n elements fill its capacity *cap (doubling it), arr
 * itself when there is room, or NULL on allocation failure (arr is then still valid).
 */
static void *nt_grow(void *arr, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap < *cap || ncap > SIZE_MAX / elem)
		return NULL;
	p = realloc(arr, ncap * elem);
	if (p)
		*cap = ncap;
	return p;
}

/* --- status --- */

/* True for the "UN", "DJ", "?N"... field that starts every status row. */
static bool nt_is_state_code(struct nt_str t)
{
	// NOLINTNEXTLINE(bugprone-not-null-terminated-result): the NUL must not match
	return t.n == 2 && memchr("UD?", t.p[0], 3) && memchr("NLJM", t.p[1], 4);
}

/*
 * Parses one status row. Layouts (Status.java): "SS address load tokens owns hostid rack"
 * with vnodes, or "SS address load owns hostid token rack" when every data center has a
 * single token node. The load is "?" or a value and unit; the rack is the rest of the line
 * and may be empty.
 */
static int nt_parse_peer(struct nt_str line, const char *dc, struct nt_peer *p)
{
	struct nt_str tok[NT_MAX_TOKS], rack = {line.p, 0};
	size_t n = nt_split(line, tok, NT_MAX_TOKS), i = 2;
	bool token_column = false;

	memset(p, 0, sizeof(*p));
	if (n > NT_MAX_TOKS)
		n = NT_MAX_TOKS;
	if (n < 5 || !nt_is_state_code(tok[0]))
		return -EINVAL;
	p->status = tok[0].p[0];
	p->state = tok[0].p[1];
	if (nt_copy(p->address, sizeof(p->address), tok[1], false))
		return -EINVAL;
	memcpy(p->datacenter, dc, sizeof(p->datacenter));
	if (nt_eq(tok[2], "?"))
		i = 3;
	else if (nt_size_toks(tok, n, &i, &p->load_bytes))
		return -EINVAL;
	else
		p->load_known = true;
	if (i < n && nt_u32(tok[i], &p->tokens) == 0) {
		i++;
	} else {
		token_column = true;
		p->tokens = 1;
	}
	if (i + 1 >= n || nt_percent(tok[i], &p->owns_percent) || nt_host_id(p->host_id, tok[i + 1]))
		return -EINVAL;
	i += 2;
	if (token_column && i++ >= n)
		return -EINVAL;
	if (i < n)
		rack = nt_trim(nt_rest(line, tok[i]));
	return nt_copy(p->rack, sizeof(p->rack), rack, true);
}

int nt_parse_status(const char *buf, size_t len, struct nt_status *out, char *err, size_t errlen)
{
	struct nt_lines it = {buf, len, 0};
	struct nt_str line, first;
	char dc[NT_NAME_MAX] = "";
	size_t cap = 0, n_dcs = 0;
	bool in_dc = false;
	int rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!buf && len)
		return nt_fail(-EINVAL, err, errlen, 1, "no input buffer");
	while (nt_next_line(&it, &line)) {
		struct nt_str s = nt_trim(line);

		if (!s.n)
			continue;
		if (in_dc && nt_split(s, &first, 1) && nt_is_state_code(first)) {
			struct nt_peer *peers = nt_grow(out->peers, &cap, out->n_peers, sizeof(*peers));

			if (!peers) {
				rc = nt_fail(-ENOMEM, err, errlen, it.no, "out of memory");
				goto fail;
			}
			out->peers = peers;
			if (nt_parse_peer(s, dc, &peers[out->n_peers])) {
				rc = nt_fail(-EINVAL, err, errlen, it.no, "malformed or truncated status row");
				goto fail;
			}
			out->n_peers++;
			continue;
		}
		/* The "====" underline, the legend and the column header stay inside the section. */
		if (in_dc && (s.p[0] == '=' || nt_prefix(s, "Status=") || nt_prefix(s, "|/") || nt_prefix(s, "--")))
			continue;
		/* Anything else ends the data center's table: a note, a new header, or noise. */
		in_dc = false;
		if (nt_prefix(s, "Datacenter:")) {
			if (nt_copy(dc, sizeof(dc), nt_trim(nt_tail(s, strlen("Datacenter:"))), true)) {
				rc = nt_fail(-EINVAL, err, errlen, it.no, "control character in data center name");
				goto fail;
			}
			in_dc = true;
			n_dcs++;
		} else if (nt_prefix(s, "Note:") && nt_find(s, "meaningless") != SIZE_MAX) {
			out->ownership_meaningless = true;
		}
	}
	if (!n_dcs) {
		rc = nt_fail(-EINVAL, err, errlen, it.no,
			     it.no ? "no \"Datacenter:\" header: not nodetool status output" : "empty input");
		goto fail;
	}
	return 0;
fail:
	nt_status_free(out);
	return rc;
}

void nt_status_free(struct nt_status *st)
{
	if (!st)
		return;
	free(st->peers);
	memset(st, 0, sizeof(*st));
}

/* --- info --- */

/* How the value of a known `nodetool info` key is parsed. */
enum nt_kind {
	NT_K_HOST_ID,
	NT_K_BOOL,
	NT_K_SIZE,
	NT_K_I64,
	NT_K_U64,
	NT_K_DOUBLE,
	NT_K_PERCENT,
	NT_K_NAME,
	NT_K_HEAP
};

#define NT_INFO_FIELD(m) offsetof(struct nt_info, m), sizeof(((struct nt_info *)0)->m)

/*
 * The info keys this parser keeps, with the field (offset and size) each value goes to.
 * nt_parse_info relies on the order of the first three: "ID" is required, and so is one
 * of the two "active" lines.
 */
static const struct {
	const char *key;
	enum nt_kind kind;
	size_t off, size;
} nt_info_keys[] = {
	{"ID", NT_K_HOST_ID, NT_INFO_FIELD(host_id)},
	{"Gossip active", NT_K_BOOL, NT_INFO_FIELD(gossip_active)},
	{"Native Transport active", NT_K_BOOL, NT_INFO_FIELD(native_transport_active)},
	{"Load", NT_K_SIZE, NT_INFO_FIELD(load_bytes)},
	{"Generation No", NT_K_I64, NT_INFO_FIELD(generation)},
	{"Uptime (seconds)", NT_K_I64, NT_INFO_FIELD(uptime_seconds)},
	{"Heap Memory (MB)", NT_K_HEAP, NT_INFO_FIELD(heap_used_mb)},
	{"Off Heap Memory (MB)", NT_K_DOUBLE, NT_INFO_FIELD(off_heap_mb)},
	{"Data Center", NT_K_NAME, NT_INFO_FIELD(datacenter)},
	{"Rack", NT_K_NAME, NT_INFO_FIELD(rack)},
	{"Exceptions", NT_K_U64, NT_INFO_FIELD(exceptions)},
	{"Percent Repaired", NT_K_PERCENT, NT_INFO_FIELD(percent_repaired)},
	{"Bootstrap state", NT_K_NAME, NT_INFO_FIELD(bootstrap_state)},
};

/* Stores one "key : value" of nodetool info into the field described by nt_info_keys[k]. */
static int nt_info_value(struct nt_info *out, size_t k, struct nt_str v)
{
	char *f = (char *)out + nt_info_keys[k].off;
	size_t slash;
	double d;

	/* Info.java prints "N/A" when uptime or heap usage cannot be read (and then omits the newline). */
	if (nt_prefix(v, "N/A"))
		return 0;
	switch (nt_info_keys[k].kind) {
	case NT_K_HOST_ID: return nt_host_id(f, v);
	case NT_K_BOOL: return nt_bool(v, (bool *)(void *)f);
	case NT_K_SIZE: return nt_parse_size(v.p, v.n, (uint64_t *)(void *)f);
	case NT_K_I64: return nt_i64(v, (int64_t *)(void *)f);
	case NT_K_U64: return nt_u64(v, (uint64_t *)(void *)f);
	case NT_K_DOUBLE: return nt_double(v, (double *)(void *)f);
	case NT_K_PERCENT:
		if (nt_percent(v, &d))
			return -EINVAL;
		*(double *)(void *)f = d;
		return 0;
	case NT_K_NAME: return nt_copy(f, nt_info_keys[k].size, v, true);
	case NT_K_HEAP:
		slash = nt_find(v, "/");
		if (slash == SIZE_MAX || nt_double(nt_trim((struct nt_str){v.p, slash}), &out->heap_used_mb) ||
		    nt_double(nt_trim(nt_tail(v, slash + 1)), &out->heap_max_mb))
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

int nt_parse_info(const char *buf, size_t len, struct nt_info *out, char *err, size_t errlen)
{
	struct nt_lines it = {buf, len, 0};
	struct nt_str line, key, val;
	bool have_id = false, have_active = false;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!buf && len)
		return nt_fail(-EINVAL, err, errlen, 1, "no input buffer");
	out->percent_repaired = NAN;
	while (nt_next_line(&it, &line)) {
		if (!nt_kv(line, &key, &val))
			continue;
		for (size_t k = 0; k < sizeof(nt_info_keys) / sizeof(nt_info_keys[0]); k++) {
			if (!nt_eq(key, nt_info_keys[k].key))
				continue;
			if (nt_info_value(out, k, val)) {
				memset(out, 0, sizeof(*out));
				return nt_fail(-EINVAL, err, errlen, it.no, "bad value for \"%s\"",
					       nt_info_keys[k].key);
			}
			have_id |= k == 0;
			have_active |= k == 1 || k == 2;
			break;
		}
	}
	if (!have_id || !have_active) {
		memset(out, 0, sizeof(*out));
		return nt_fail(-EINVAL, err, errlen, it.no,
			       it.no ? "no \"ID\" and \"Gossip active\" lines: not nodetool info output"
				     : "empty input");
	}
	return 0;
}

/* --- version --- */

/* Parses the decimal at s[*i] into an int, advancing *i; at least one digit is required. */
static int nt_int_at(struct nt_str s, size_t *i, int *v)
{
	size_t b = *i;
	uint32_t x;

	while (*i < s.n && nt_isdigit(s.p[*i]))
		(*i)++;
	if (nt_u32((struct nt_str){s.p + b, *i - b}, &x) || x > INT_MAX)
		return -EINVAL;
	*v = (int)x;
	return 0;
}

/* Parses "major.minor[.patch][suffix]" ("4.1.8", "4.0-beta4", "5.0.3-SNAPSHOT"). */
static int nt_parse_release(struct nt_str v, struct nt_version *out)
{
	size_t i = 0;

	out->patch = -1;
	if (nt_copy(out->release_version, sizeof(out->release_version), v, false) || nt_int_at(v, &i, &out->major) ||
	    i >= v.n || v.p[i++] != '.' || nt_int_at(v, &i, &out->minor))
		return -EINVAL;
	if (i + 1 < v.n && v.p[i] == '.' && nt_isdigit(v.p[i + 1])) {
		i++;
		return nt_int_at(v, &i, &out->patch);
	}
	return 0;
}

int nt_parse_version(const char *buf, size_t len, struct nt_version *out, char *err, size_t errlen)
{
	struct nt_lines it = {buf, len, 0};
	struct nt_str line, key, val;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!buf && len)
		return nt_fail(-EINVAL, err, errlen, 1, "no input buffer");
	while (nt_next_line(&it, &line)) {
		if (!nt_kv(line, &key, &val) || !nt_eq(key, "ReleaseVersion"))
			continue;
		if (nt_parse_release(val, out)) {
			memset(out, 0, sizeof(*out));
			return nt_fail(-EINVAL, err, errlen, it.no, "malformed ReleaseVersion");
		}
		return 0;
	}
	return nt_fail(-EINVAL, err, errlen, it.no, it.no ? "no \"ReleaseVersion:\" line" : "empty input");
}

/* --- statusbinary, statusgossip, statushandoff --- */

int nt_parse_running(const char *buf, size_t len, bool *running, char *err, size_t errlen)
{
	struct nt_lines it = {buf, len, 0};
	struct nt_str line;

	if (!running)
		return -EINVAL;
	*running = false;
	if (!buf && len)
		return nt_fail(-EINVAL, err, errlen, 1, "no input buffer");
	while (nt_next_line(&it, &line)) {
		struct nt_str s = nt_trim(line);

		if (!s.n)
			continue;
		/* StatusHandoff.java prints "Hinted handoff is running" and then disabled DCs. */
		if (nt_prefix(s, "Hinted handoff is "))
			s = nt_tail(s, strlen("Hinted handoff is "));
		if (nt_eq(s, "running") || nt_eq(s, "not running")) {
			*running = s.p[0] == 'r';
			return 0;
		}
		return nt_fail(-EINVAL, err, errlen, it.no, "expected \"running\" or \"not running\"");
	}
	return nt_fail(-EINVAL, err, errlen, it.no, "empty input");
}

/* --- describecluster --- */

enum nt_section { NT_SEC_NONE, NT_SEC_INFO, NT_SEC_SCHEMA, NT_SEC_STATS, NT_SEC_DCS, NT_SEC_DBVER, NT_SEC_KEYSPACES };

/*
 * Counts the comma-separated items of the "[a, b, c]" list in s, which runs from the first
 * '[' to the last ']' or the end of s (items may be bracketed IPv6 addresses with ports:
 * "[[::1]:7000, [::2]:7000]").
 */
static uint32_t nt_count_list(struct nt_str s)
{
	size_t open = nt_find(s, "["), end = s.n;
	uint32_t n = 0;
	bool item = false;

	while (end > 0 && s.p[end - 1] != ']')
		end--;
	end = end ? end - 1 : s.n;
	for (size_t i = open == SIZE_MAX ? s.n : open + 1; i < end; i++) {
		if (s.p[i] == ',') {
			n += item;
			item = false;
		} else if (!nt_isspace(s.p[i])) {
			item = true;
		}
	}
	return n + item;
}

/* Parses "name -> Replication class: Class {dc1=3, dc2=3}" (the RF of "3/1" transient replication is 3). */
static int nt_parse_keyspace(struct nt_str s, size_t marker, struct nt_keyspace *ks)
{
	struct nt_str rest = nt_trim(nt_tail(s, marker + strlen(" -> Replication class: "))), cls, opts;
	size_t brace = nt_find(rest, "{"), end;

	memset(ks, 0, sizeof(*ks));
	cls = nt_trim((struct nt_str){rest.p, brace == SIZE_MAX ? rest.n : brace});
	if (nt_copy(ks->name, sizeof(ks->name), nt_trim((struct nt_str){s.p, marker}), true) ||
	    nt_copy(ks->replication_class, sizeof(ks->replication_class), cls, true))
		return -EINVAL;
	if (brace == SIZE_MAX)
		return 0;
	opts = nt_tail(rest, brace + 1);
	end = nt_find(opts, "}");
	if (end != SIZE_MAX)
		opts.n = end;
	while (opts.n) {
		size_t comma = nt_find(opts, ","), eq, slash;
		struct nt_str item = nt_trim((struct nt_str){opts.p, comma == SIZE_MAX ? opts.n : comma}), val;

		opts = comma == SIZE_MAX ? nt_tail(opts, opts.n) : nt_tail(opts, comma + 1);
		eq = nt_find(item, "=");
		if (eq == SIZE_MAX || ks->n_factors == sizeof(ks->factors) / sizeof(ks->factors[0]))
			continue;
		val = nt_trim(nt_tail(item, eq + 1));
		slash = nt_find(val, "/");
		if (slash != SIZE_MAX)
			val.n = slash;
		/* Options that are not replica counts are skipped. */
		if (nt_u32(val, &ks->factors[ks->n_factors].value) ||
		    nt_copy(ks->factors[ks->n_factors].key, NT_NAME_MAX, nt_trim((struct nt_str){item.p, eq}), true))
			continue;
		ks->n_factors++;
	}
	return 0;
}

int nt_parse_describecluster(const char *buf, size_t len, struct nt_describecluster *out, char *err, size_t errlen)
{
	static const struct {
		const char *title;
		enum nt_section sec;
	} titles[] = {
		{"Cluster Information:", NT_SEC_INFO},  {"Schema versions:", NT_SEC_SCHEMA},
		{"Stats for all nodes:", NT_SEC_STATS}, {"Data Centers:", NT_SEC_DCS},
		{"Database versions:", NT_SEC_DBVER},   {"Keyspaces:", NT_SEC_KEYSPACES},
	};
	static const char *const stats[] = {"Live", "Joining", "Moving", "Leaving", "Unreachable"};
	uint32_t *const stat_fields[] = {&out->live, &out->joining, &out->moving, &out->leaving,
					 &out->unreachable_stat};
	struct nt_lines it = {buf, len, 0};
	struct nt_str line, key, val;
	enum nt_section sec = NT_SEC_NONE;
	bool seen = false;
	size_t cap = 0, t, pos;
	int rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!buf && len)
		return nt_fail(-EINVAL, err, errlen, 1, "no input buffer");
	while (nt_next_line(&it, &line)) {
		struct nt_str s = nt_trim(line);

		if (!s.n)
			continue;
		for (t = 0; t < sizeof(titles) / sizeof(titles[0]) && !nt_eq(s, titles[t].title); t++)
			;
		if (t < sizeof(titles) / sizeof(titles[0])) {
			sec = titles[t].sec;
			seen |= sec == NT_SEC_INFO;
			out->has_stats |= sec == NT_SEC_STATS;
			continue;
		}
		if (!seen)
			continue;
		switch (sec) {
		case NT_SEC_INFO:
			if (!nt_kv(s, &key, &val))
				break;
			if ((nt_eq(key, "Name") && nt_copy(out->name, sizeof(out->name), val, true)) ||
			    (nt_eq(key, "Snitch") && nt_copy(out->snitch, sizeof(out->snitch), val, true)) ||
			    (nt_eq(key, "Partitioner") &&
			     nt_copy(out->partitioner, sizeof(out->partitioner), val, true))) {
				rc = nt_fail(-EINVAL, err, errlen, it.no, "control character in value");
				goto fail;
			}
			break;
		case NT_SEC_SCHEMA:
			pos = nt_find(s, ": [");
			if (pos == SIZE_MAX)
				break;
			if (nt_eq(nt_trim((struct nt_str){s.p, pos}), "UNREACHABLE")) {
				uint32_t n = nt_count_list(nt_tail(s, pos));

				out->unreachable =
					n > UINT32_MAX - out->unreachable ? UINT32_MAX : out->unreachable + n;
			} else if (out->schema_versions < UINT32_MAX) {
				out->schema_versions++;
			}
			break;
		case NT_SEC_STATS:
			if (!nt_kv(s, &key, &val))
				break;
			for (t = 0; t < sizeof(stats) / sizeof(stats[0]); t++) {
				if (nt_eq(key, stats[t]) && nt_u32(val, stat_fields[t])) {
					rc = nt_fail(-EINVAL, err, errlen, it.no, "bad value for \"%s\"", stats[t]);
					goto fail;
				}
			}
			break;
		case NT_SEC_DBVER:
			if (nt_find(s, ": [") != SIZE_MAX)
				out->n_database_versions++;
			break;
		case NT_SEC_KEYSPACES:
			pos = nt_find(s, " -> Replication class: ");
			if (pos == SIZE_MAX)
				break;
			{
				struct nt_keyspace *ks = nt_grow(out->keyspaces, &cap, out->n_keyspaces, sizeof(*ks));

				if (!ks) {
					rc = nt_fail(-ENOMEM, err, errlen, it.no, "out of memory");
					goto fail;
				}
				out->keyspaces = ks;
				if (nt_parse_keyspace(s, pos, &ks[out->n_keyspaces])) {
					rc = nt_fail(-EINVAL, err, errlen, it.no, "malformed keyspace line");
					goto fail;
				}
				out->n_keyspaces++;
			}
			break;
		case NT_SEC_NONE:
		case NT_SEC_DCS: break;
		}
	}
	if (!seen) {
		rc = nt_fail(-EINVAL, err, errlen, it.no, it.no ? "no \"Cluster Information:\" line" : "empty input");
		goto fail;
	}
	return 0;
fail:
	nt_describecluster_free(out);
	return rc;
}

void nt_describecluster_free(struct nt_describecluster *dc)
{
	if (!dc)
		return;
	free(dc->keyspaces);
	memset(dc, 0, sizeof(*dc));
}

/* --- listsnapshots --- */

/* Parses `n` decimal digits at p (the caller checked n bytes are there). */
static int nt_digits(const char *p, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (!nt_isdigit(p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t nt_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Parses a java.time.Instant as printed ("2024-10-10T08:15:30.118Z", 0 to 9 fraction digits) into unix ms. */
static int nt_instant(struct nt_str s, int64_t *ms)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, frac = 0;
	size_t i = 19;

	if (s.n < 20 || s.p[4] != '-' || s.p[7] != '-' || s.p[10] != 'T' || s.p[13] != ':' || s.p[16] != ':' ||
	    s.p[s.n - 1] != 'Z')
		return -EINVAL;
	y = nt_digits(s.p, 4);
	mo = nt_digits(s.p + 5, 2);
	d = nt_digits(s.p + 8, 2);
	h = nt_digits(s.p + 11, 2);
	mi = nt_digits(s.p + 14, 2);
	sec = nt_digits(s.p + 17, 2);
	if (s.p[i] == '.') {
		for (i++; i < s.n - 1 && i < 29 && nt_isdigit(s.p[i]); i++)
			if (i < 23)
				frac = frac * 10 + (s.p[i] - '0');
		if (i == 20)
			return -EINVAL;
		for (size_t k = i; k < 23; k++)
			frac *= 10;
	}
	if (i != s.n - 1 || y < 0 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 60 || (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400))))
		return -EINVAL;
	*ms = ((nt_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 * 1000 + (int64_t)sec * 1000 + frac;
	return 0;
}

/*
 * Parses "tag keyspace table true_size size_on_disk [created] [expires] [ephemeral]".
 * Empty time columns leave nothing between the spaces, so the optional fields are told
 * apart by their content: instants fill created and then expires; true/false is ephemeral.
 */
static int nt_parse_snapshot(struct nt_str line, struct nt_snapshot *r)
{
	struct nt_str tok[NT_MAX_TOKS];
	size_t n = nt_split(line, tok, NT_MAX_TOKS), i = 3, instants = 0;

	memset(r, 0, sizeof(*r));
	if (n < 5 || n > NT_MAX_TOKS || nt_copy(r->tag, sizeof(r->tag), tok[0], false) ||
	    nt_copy(r->keyspace, sizeof(r->keyspace), tok[1], true) ||
	    nt_copy(r->table, sizeof(r->table), tok[2], true) || nt_size_toks(tok, n, &i, &r->true_size_bytes) ||
	    nt_size_toks(tok, n, &i, &r->size_on_disk_bytes))
		return -EINVAL;
	for (; i < n; i++) {
		int64_t ms;

		if (nt_bool(tok[i], &r->ephemeral) == 0)
			continue;
		if (instants == 2 || nt_instant(tok[i], &ms))
			return -EINVAL;
		*(instants++ ? &r->expires_unix_ms : &r->created_unix_ms) = ms;
	}
	return 0;
}

int nt_parse_listsnapshots(const char *buf, size_t len, struct nt_snapshots *out, char *err, size_t errlen)
{
	enum { WANT_TITLE, WANT_HEADER, ROWS, AFTER } st = WANT_TITLE;
	struct nt_lines it = {buf, len, 0};
	struct nt_str line;
	size_t cap = 0;
	int rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!buf && len)
		return nt_fail(-EINVAL, err, errlen, 1, "no input buffer");
	while (nt_next_line(&it, &line)) {
		struct nt_str s = nt_trim(line);
		struct nt_snapshot *rows;

		if (!s.n) {
			st = st == ROWS ? AFTER : st;
			continue;
		}
		if (st == WANT_TITLE) {
			st = nt_eq(s, "Snapshot Details:") ? WANT_HEADER : st;
		} else if (st == WANT_HEADER) {
			if (nt_eq(s, "There are no snapshots"))
				return 0;
			if (!nt_prefix(s, "Snapshot name")) {
				rc = nt_fail(-EINVAL, err, errlen, it.no, "expected the snapshot table header");
				goto fail;
			}
			st = ROWS;
		} else if (nt_prefix(s, "Total TrueDiskSpaceUsed:")) {
			s = nt_tail(s, strlen("Total TrueDiskSpaceUsed:"));
			if (nt_parse_size(s.p, s.n, &out->total_true_bytes)) {
				rc = nt_fail(-EINVAL, err, errlen, it.no, "bad Total TrueDiskSpaceUsed size");
				goto fail;
			}
			st = AFTER;
		} else if (st == ROWS) {
			rows = nt_grow(out->rows, &cap, out->n_rows, sizeof(*rows));
			if (!rows) {
				rc = nt_fail(-ENOMEM, err, errlen, it.no, "out of memory");
				goto fail;
			}
			out->rows = rows;
			if (nt_parse_snapshot(s, &rows[out->n_rows])) {
				rc = nt_fail(-EINVAL, err, errlen, it.no, "malformed or truncated snapshot row");
				goto fail;
			}
			out->n_rows++;
		}
	}
	if (st == WANT_TITLE || st == WANT_HEADER) {
		rc = nt_fail(-EINVAL, err, errlen, it.no,
			     !it.no             ? "empty input"
			     : st == WANT_TITLE ? "no \"Snapshot Details:\" line"
						: "output ends before the table header");
		goto fail;
	}
	return 0;
fail:
	nt_snapshots_free(out);
	return rc;
}

void nt_snapshots_free(struct nt_snapshots *s)
{
	if (!s)
		return;
	free(s->rows);
	memset(s, 0, sizeof(*s));
}
