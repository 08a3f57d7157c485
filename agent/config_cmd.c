/* config_cmd: the offline `cassandra-agentctl config show|set|unset|diff|rollback` command on a cassandra.yaml. */
/* realpath and strndup are POSIX.1-2008, asprintf GNU; the build may already ask for them. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config_cmd.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cassandra_schema.h"
#include "fileio.h"
#include "yaml_edit.h"

#define CONFIG_CMD_ERR_MAX 1024

/* Lines of context around each change in a diff. */
#define DIFF_CONTEXT 3

/* Beyond this many differences the diff stops looking for the shortest script (it stays correct). */
#define DIFF_MAX_D 1000

/* Mode of a cassandra.yaml the command creates (rollback of a deleted file). */
#define CONFIG_CMD_NEW_MODE 0644

struct config_cmd_opts {
	const char *sub;
	const char *yaml;
	const char *version;
	const char *history;
	const char *seeds;
	const char *external;
	bool dry_run, force, json, no_validate;
	unsigned keep;
	const char **args;
	size_t n_args;
};

/* Unified diff. */

struct diff_line {
	const char *p;
	size_t len; /* with the line end */
	uint64_t hash;
};

enum diff_op_kind { DIFF_EQ, DIFF_DEL, DIFF_INS };

struct diff_op {
	enum diff_op_kind kind;
	size_t a, b; /* line indexes (a for EQ/DEL, b for EQ/INS) */
};

static int split_lines(const char *s, size_t n, struct diff_line **out, size_t *count)
{
	size_t cap = 64, k = 0, i = 0;
	struct diff_line *v = malloc(cap * sizeof(*v)), *p;

	if (!v)
		return -ENOMEM;
	while (i < n) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (s + i)) + 1 : n - i;
		uint64_t h = 1469598103934665603ULL;

		if (k == cap) {
			cap *= 2;
			p = realloc(v, cap * sizeof(*v));
			if (!p) {
				free(v);
				return -ENOMEM;
			}
			v = p;
		}
		for (size_t j = 0; j < len; j++)
			h = (h ^ (unsigned char)s[i + j]) * 1099511628211ULL;
		v[k++] = (struct diff_line){.p = s + i, .len = len, .hash = h};
		i += len;
	}
	*out = v;
	*count = k;
	return 0;
}

static bool line_eq(const struct diff_line *x, const struct diff_line *y)
{
	// NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): x, y index lines set by split_lines
	return x->hash == y->hash && x->len == y->len && memcmp(x->p, y->p, x->len) == 0;
}

/* Myers' O(ND) shortest edit script of a[0..n) -> b[0..m), appended to ops (reverse order). */
static int myers(const struct diff_line *a, size_t n, const struct diff_line *b, size_t m, size_t ao, size_t bo,
		 struct diff_op *ops, size_t *nops)
{
	long N = (long)n, M = (long)m, maxd = N + M < DIFF_MAX_D ? N + M : DIFF_MAX_D, d, k, D = -1;
	long *v, *trace;
	size_t off = (size_t)maxd + 1;

	v = calloc(2 * off + 1, sizeof(*v));
	trace = malloc((size_t)(maxd + 1) * (size_t)(maxd + 1) * sizeof(*trace));
	if (!v || !trace) {
		free(v);
		free(trace);
		return -ENOMEM;
	}
	for (d = 0; d <= maxd && D < 0; d++) {
		for (k = -d; k <= d; k += 2) {
			long x, y;

			if (k == -d || (k != d && v[off + k - 1] < v[off + k + 1]))
				x = v[off + k + 1];
			else
				x = v[off + k - 1] + 1;
			y = x - k;
			while (x < N && y < M && line_eq(&a[x], &b[y])) {
				x++;
				y++;
			}
			v[off + k] = x;
			if (x >= N && y >= M) {
				D = d;
				break;
			}
		}
		for (k = -d; k <= d; k++)
			trace[(size_t)(d * d) + (size_t)(k + d)] = v[off + k];
	}
	if (D < 0) {
		/* too different: replace it all (still a correct diff) */
		for (long i = M - 1; i >= 0; i--)
			ops[(*nops)++] = (struct diff_op){.kind = DIFF_INS, .b = bo + (size_t)i};
		for (long i = N - 1; i >= 0; i--)
			ops[(*nops)++] = (struct diff_op){.kind = DIFF_DEL, .a = ao + (size_t)i};
		free(v);
		free(trace);
		return 0;
	}
	long x = N, y = M;

	for (d = D; d > 0; d--) {
		const long *prev = &trace[(size_t)((d - 1) * (d - 1))];
		long pk, px, py;

		k = x - y;
		if (k == -d || (k != d && prev[k - 1 + (d - 1)] < prev[k + 1 + (d - 1)]))
			pk = k + 1;
		else
			pk = k - 1;
		px = prev[pk + (d - 1)];
		py = px - pk;
		while (x > px && y > py) {
			x--;
			y--;
			ops[(*nops)++] = (struct diff_op){.kind = DIFF_EQ, .a = ao + (size_t)x, .b = bo + (size_t)y};
		}
		if (pk == k + 1)
			ops[(*nops)++] = (struct diff_op){.kind = DIFF_INS, .b = bo + (size_t)py};
		else
			ops[(*nops)++] = (struct diff_op){.kind = DIFF_DEL, .a = ao + (size_t)px};
		x = px;
		y = py;
	}
	while (x > 0 && y > 0) {
		x--;
		y--;
		ops[(*nops)++] = (struct diff_op){.kind = DIFF_EQ, .a = ao + (size_t)x, .b = bo + (size_t)y};
	}
	free(v);
	free(trace);
	return 0;
}

static void put_range(FILE *f, size_t before, size_t count)
{
	if (count == 1)
		fprintf(f, "%zu", before + 1);
	else
		fprintf(f, "%zu,%zu", count ? before + 1 : before, count);
}

static void put_line(FILE *f, char mark, const struct diff_line *l)
{
	fputc(mark, f);
	// NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage): l is one of the lines set by split_lines
	fwrite(l->p, 1, l->len, f);
	if (l->len == 0 || l->p[l->len - 1] != '\n')
		fputs("\n\\ No newline at end of file\n", f);
}

int config_cmd_diff(const char *a, size_t alen, const char *b, size_t blen, const char *label_a, const char *label_b,
		    char **out, size_t *out_len)
{
	struct diff_line *la = NULL, *lb = NULL;
	struct diff_op *ops = NULL;
	size_t na = 0, nb = 0, nops = 0, pre = 0, suf = 0, i;
	char *text = NULL;
	size_t text_len = 0;
	FILE *f = NULL;
	int rc = -ENOMEM;

	*out = NULL;
	*out_len = 0;
	if (split_lines(a, alen, &la, &na) < 0 || split_lines(b, blen, &lb, &nb) < 0)
		goto done;
	while (pre < na && pre < nb && line_eq(&la[pre], &lb[pre]))
		pre++;
	while (suf < na - pre && suf < nb - pre && line_eq(&la[na - 1 - suf], &lb[nb - 1 - suf]))
		suf++;
	ops = malloc((na + nb + 1) * sizeof(*ops));
	if (!ops)
		goto done;
	/* built in reverse: suffix, middle, prefix */
	for (i = 0; i < suf; i++)
		ops[nops++] = (struct diff_op){.kind = DIFF_EQ, .a = na - 1 - i, .b = nb - 1 - i};
	if (myers(la + pre, na - pre - suf, lb + pre, nb - pre - suf, pre, pre, ops, &nops) < 0)
		goto done;
	for (i = pre; i > 0; i--)
		ops[nops++] = (struct diff_op){.kind = DIFF_EQ, .a = i - 1, .b = i - 1};
	for (i = 0; i < nops / 2; i++) {
		struct diff_op t = ops[i];

		ops[i] = ops[nops - 1 - i];
		ops[nops - 1 - i] = t;
	}
	f = open_memstream(&text, &text_len);
	if (!f)
		goto done;
	if (pre < na || pre < nb)
		fprintf(f, "--- %s\n+++ %s\n", label_a, label_b);
	/* hunks: changes closer than 2 * DIFF_CONTEXT equal lines share one */
	size_t ai = 0, bi = 0; /* lines of a and b before ops[i] */

	i = 0;
	while (i < nops) {
		size_t first, last, start, end, gap, a_before, b_before, a_count = 0, b_count = 0;

		if (ops[i].kind == DIFF_EQ) {
			ai++;
			bi++;
			i++;
			continue;
		}
		first = i;
		last = i;
		for (size_t j = i + 1; j < nops; j++) {
			if (ops[j].kind == DIFF_EQ)
				continue;
			gap = j - last - 1;
			if (gap > 2 * DIFF_CONTEXT)
				break;
			last = j;
		}
		start = first > DIFF_CONTEXT ? first - DIFF_CONTEXT : 0;
		/* ops before `first` are all EQ back to the previous hunk, so lines before start: */
		a_before = ai - (first - start);
		b_before = bi - (first - start);
		end = last + 1 + DIFF_CONTEXT < nops ? last + 1 + DIFF_CONTEXT : nops;
		for (size_t j = start; j < end; j++) {
			a_count += ops[j].kind != DIFF_INS;
			b_count += ops[j].kind != DIFF_DEL;
		}
		fputs("@@ -", f);
		put_range(f, a_before, a_count);
		fputs(" +", f);
		put_range(f, b_before, b_count);
		fputs(" @@\n", f);
		for (size_t j = start; j < end; j++) {
			if (ops[j].kind == DIFF_EQ)
				put_line(f, ' ', &la[ops[j].a]);
			else if (ops[j].kind == DIFF_DEL)
				put_line(f, '-', &la[ops[j].a]);
			else
				put_line(f, '+', &lb[ops[j].b]);
		}
		ai = a_before + a_count;
		bi = b_before + b_count;
		i = end;
	}
	if (fclose(f) != 0) {
		f = NULL;
		goto done;
	}
	f = NULL;
	*out = text;
	*out_len = text_len;
	text = NULL;
	rc = 0;
done:
	if (f)
		fclose(f); // NOLINT(cert-err33-c): error path, the partial diff is dropped
	free(text);
	free(ops);
	free(la);
	free(lb);
	return rc;
}

/* Output. */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cassandra-agentctl config show --yaml FILE [KEY ...] [--json]\n"
		"       cassandra-agentctl config set|diff --yaml FILE (--version X.Y | --no-validate) [KEY=VALUE "
		"...]\n"
		"                [--seeds a,b,c] [--external-seeds d,e] [--dry-run] [--force] [--history DIR]\n"
		"                [--keep N] [--json]\n"
		"       cassandra-agentctl config unset --yaml FILE (--version X.Y | --no-validate) KEY ... [options]\n"
		"       cassandra-agentctl config rollback --yaml FILE [--history DIR] [--dry-run] [--force] [--json]\n"
		"KEY is a dotted path (client_encryption_options.enabled, seed_provider[0].parameters[0].seeds);\n"
		"VALUE is YAML (true, 5000ms, 'a b', [a, b], {k: v}). Versions: 3.11, 4.0, 4.1, 5.0.\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("cassandra-agentctl config: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage(stderr);
	return 2;
}

static void json_print(json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s) {
		puts(s);
		free(s);
	}
	json_decref(o);
}

static int refuse(const struct config_cmd_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Exit 1: says why on stderr (and as a JSON result with --json). */
static int refuse(const struct config_cmd_opts *o, const char *fmt, ...)
{
	char msg[CONFIG_CMD_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "cassandra-agentctl config %s: %s\n", o->sub, msg);
	if (o->json)
		json_print(
			json_pack("{s:b, s:s, s:s?, s:s}", "ok", 0, "command", o->sub, "file", o->yaml, "error", msg));
	return 1;
}

static json_t *warnings_json(const struct cassandra_schema_warnings *w)
{
	json_t *a = json_array();
	const char *s = w->text;

	while (a && *s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);

		json_array_append_new(a, json_stringn(s, n));
		s += n + (nl != NULL);
	}
	return a;
}

static void print_warnings(const struct cassandra_schema_warnings *w)
{
	const char *s = w->text;

	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);

		fprintf(stderr, "warning: %.*s\n", (int)n, s);
		s += n + (nl != NULL);
	}
	if (w->count > 0 && w->len + 2 >= sizeof(w->text))
		fprintf(stderr, "warning: (more warnings left out)\n");
}

/* YAML to JSON for `show --json`: scalars by their YAML 1.1 type. */

static json_t *int_json(const char *s, size_t n)
{
	char buf[96];
	size_t k = 0;
	bool neg = false;
	const char *p = s, *end = s + n;
	long long v = 0;
	int base = 10;

	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	for (; p < end && k < sizeof(buf) - 1; p++)
		if (*p != '_')
			buf[k++] = *p;
	buf[k] = '\0';
	if (p < end)
		return NULL;
	if (strchr(buf, ':')) {
		/* sexagesimal 1:30 = 90 */
		char *q = buf;

		while (*q) {
			char *e;
			long part = strtol(q, &e, 10);

			if (e == q || v > LLONG_MAX / 60)
				return NULL;
			v = v * 60 + part;
			q = *e == ':' ? e + 1 : e;
			if (*e && *e != ':')
				return NULL;
		}
		return json_integer(neg ? -v : v);
	}
	const char *digits = buf;

	if (buf[0] == '0' && buf[1] == 'x') {
		base = 16;
		digits += 2;
	} else if (buf[0] == '0' && buf[1] == 'b') {
		base = 2;
		digits += 2;
	} else if (buf[0] == '0' && buf[1]) {
		base = 8;
		digits += 1;
	}
	char *e;

	errno = 0;
	v = strtoll(digits, &e, base);
	if (errno || *e || e == digits)
		return NULL;
	return json_integer(neg ? -v : v);
}

static json_t *node_json(const struct yaml_edit_doc *doc, const struct yaml_edit_node *n, unsigned depth)
{
	json_t *j = NULL;

	if (!n || depth > YAML_EDIT_MAX_DEPTH)
		return json_null();
	switch (n->kind) {
	case YAML_EDIT_MAPPING:
		j = json_object();
		for (const struct yaml_edit_node *k = yaml_edit_first(doc, n); j && k; k = yaml_edit_next(doc, k))
			if (k->kind == YAML_EDIT_SCALAR && strlen(k->value) == k->value_len)
				json_object_set_new(j, k->value, node_json(doc, yaml_edit_value(doc, k), depth + 1));
		return j;
	case YAML_EDIT_SEQUENCE:
		j = json_array();
		for (const struct yaml_edit_node *it = yaml_edit_first(doc, n); j && it; it = yaml_edit_next(doc, it))
			json_array_append_new(j, node_json(doc, it, depth + 1));
		return j;
	case YAML_EDIT_ALIAS: return json_stringn(n->value, n->value_len);
	case YAML_EDIT_SCALAR: break;
	}
	switch (n->type) {
	case YAML_EDIT_NULL: return json_null();
	case YAML_EDIT_BOOL:
		return json_boolean(strchr("yYtT", n->value[0]) || strcmp(n->value, "on") == 0 ||
				    strcmp(n->value, "On") == 0 || strcmp(n->value, "ON") == 0);
	case YAML_EDIT_INT: j = int_json(n->value, n->value_len); break;
	case YAML_EDIT_FLOAT:
		if (!strchr(n->value, ':') && !strchr(n->value, 'n') && !strchr(n->value, 'N') &&
		    !strchr(n->value, 'i') && !strchr(n->value, 'I')) {
			char buf[96], *e;
			size_t k = 0;

			for (size_t i = 0; i < n->value_len && k < sizeof(buf) - 1; i++)
				if (n->value[i] != '_')
					buf[k++] = n->value[i];
			buf[k] = '\0';
			double d = strtod(buf, &e);

			if (!*e)
				j = json_real(d);
		}
		break;
	case YAML_EDIT_STR:
	case YAML_EDIT_OTHER: break;
	}
	return j ? j : json_stringn(n->value, n->value_len);
}

/* Arguments. */

static int parse_args(int argc, char **argv, struct config_cmd_opts *o)
{
	static const char *const with_value[] = {"--yaml",           "--version", "--history", "--seeds",
						 "--external-seeds", "--keep",    NULL};

	memset(o, 0, sizeof(*o));
	o->keep = CONFIG_CMD_HISTORY_KEEP;
	if (argc < 2)
		return usage_error("missing subcommand");
	o->sub = argv[1];
	if (strcmp(o->sub, "-h") == 0 || strcmp(o->sub, "--help") == 0) {
		usage(stdout);
		return -1;
	}
	if (strcmp(o->sub, "show") && strcmp(o->sub, "set") && strcmp(o->sub, "unset") && strcmp(o->sub, "diff") &&
	    strcmp(o->sub, "rollback"))
		return usage_error("unknown subcommand '%s'", o->sub);
	o->args = calloc((size_t)argc, sizeof(*o->args));
	if (!o->args)
		return usage_error("out of memory");
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		char name[32];
		bool takes = false;

		if (strcmp(a, "--") == 0) {
			while (++i < argc)
				o->args[o->n_args++] = argv[i];
			break;
		}
		if (strcmp(a, "-h") == 0) {
			usage(stdout);
			return -1;
		}
		if (strncmp(a, "--", 2) != 0) {
			o->args[o->n_args++] = a;
			continue;
		}
		eq = strchr(a, '=');
		snprintf(name, sizeof(name), "%.*s", (int)(eq ? eq - a : (long)strlen(a)), a);
		for (const char *const *w = with_value; *w; w++)
			takes |= strcmp(*w, name) == 0;
		if (takes) {
			if (eq) {
				val = eq + 1;
			} else if (i + 1 < argc) {
				val = argv[++i];
			} else {
				return usage_error("%s needs a value", name);
			}
		} else if (eq) {
			return usage_error("%s takes no value", name);
		}
		if (strcmp(name, "--yaml") == 0) {
			o->yaml = val;
		} else if (strcmp(name, "--version") == 0) {
			o->version = val;
		} else if (strcmp(name, "--history") == 0) {
			o->history = val;
		} else if (strcmp(name, "--seeds") == 0) {
			o->seeds = val;
		} else if (strcmp(name, "--external-seeds") == 0) {
			o->external = val;
		} else if (strcmp(name, "--keep") == 0) {
			char *e;
			unsigned long k = strtoul(val, &e, 10);

			if (!*val || *e || k == 0 || k > 10000)
				return usage_error("--keep: expected a number of copies 1-10000, got '%s'", val);
			o->keep = (unsigned)k;
		} else if (strcmp(name, "--dry-run") == 0) {
			o->dry_run = true;
		} else if (strcmp(name, "--force") == 0) {
			o->force = true;
		} else if (strcmp(name, "--json") == 0) {
			o->json = true;
		} else if (strcmp(name, "--no-validate") == 0) {
			o->no_validate = true;
		} else if (strcmp(name, "--help") == 0) {
			usage(stdout);
			return -1;
		} else {
			return usage_error("unknown option %s", name);
		}
	}
	if (!o->yaml)
		return usage_error("%s: --yaml FILE is required", o->sub);
	if (!o->history)
		o->history = CONFIG_CMD_HISTORY_DIR;
	return 0;
}

/* The name history copies of `path` have: the base name of the file a symlink points to. */
static void history_name(const char *path, char *out, size_t outlen)
{
	char real[PATH_MAX];
	// NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): path is o->yaml, set when parse_args() is 0
	const char *p = realpath(path, real) ? real : path, *slash = strrchr(p, '/');

	snprintf(out, outlen, "%s", slash ? slash + 1 : p);
}

/* Splits "a,b,c" into a NULL-terminated array pointing into *storage (caller frees both). */
static int split_list(const char *list, char **storage, const char ***out, size_t *n)
{
	size_t count = 1, k = 0;
	char *s;

	*storage = strdup(list);
	if (!*storage)
		return -ENOMEM;
	for (const char *p = list; *p; p++)
		count += *p == ',';
	*out = calloc(count + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	s = *storage;
	if (*s) {
		for (;;) {
			char *comma = strchr(s, ',');

			if (comma)
				*comma = '\0';
			(*out)[k++] = s;
			if (!comma)
				break;
			s = comma + 1;
		}
	}
	*n = k;
	return 0;
}

/* Whether top-level `key` appears commented out (`# key:` or `#key:` at the start of a line). */
static bool commented_out(const char *text, const char *key)
{
	size_t n = strlen(key);

	if (strcspn(key, ".[") != n)
		return false;
	for (const char *p = text; p && *p;) {
		const char *k = p[1] == ' ' ? p + 2 : p + 1;

		if (p[0] == '#' && strncmp(k, key, n) == 0 && k[n] == ':')
			return true;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

/* Subcommands. */

static int cmd_show(struct config_cmd_opts *o)
{
	struct yaml_edit_doc *doc = NULL;
	char err[CONFIG_CMD_ERR_MAX], *buf = NULL;
	json_t *values = NULL;
	size_t len;
	int rc, code = 0;

	rc = fileio_read(o->yaml, YAML_EDIT_MAX_SIZE, &buf, &len, err, sizeof(err));
	if (rc < 0)
		return refuse(o, "%s", err);
	rc = yaml_edit_parse(buf, len, &doc, err, sizeof(err));
	if (rc < 0) {
		code = refuse(o, "%s: %s", o->yaml, err);
		goto done;
	}
	if (o->n_args == 0) {
		if (o->json)
			json_print(json_pack("{s:b, s:s, s:s, s:o}", "ok", 1, "command", "show", "file", o->yaml,
					     "config", node_json(doc, yaml_edit_root(doc), 0)));
		else
			fwrite(buf, 1, len, stdout);
		goto done;
	}
	values = json_object();
	for (size_t i = 0; i < o->n_args; i++) {
		const struct yaml_edit_node *n;
		char *text = NULL;

		rc = yaml_edit_lookup(doc, o->args[i], &n, err, sizeof(err));
		if (rc < 0) {
			code = refuse(o, "%s (in %s)%s", err, o->yaml,
				      rc == -ENOENT && commented_out(buf, o->args[i])
					      ? "; it is only commented out there"
					      : "");
			goto done;
		}
		if (o->json) {
			json_object_set_new(values, o->args[i], node_json(doc, n, 0));
			continue;
		}
		if (n->kind == YAML_EDIT_SCALAR && o->n_args == 1) {
			printf("%s\n", n->value);
			continue;
		}
		if (yaml_edit_render(doc, n, &text, NULL) < 0) {
			code = refuse(o, "out of memory");
			goto done;
		}
		if (o->n_args == 1)
			printf("%s\n", text);
		else if (n->kind == YAML_EDIT_SCALAR)
			printf("%s: %s\n", o->args[i], text);
		else
			printf("%s:\n%s\n", o->args[i], text);
		free(text);
	}
	if (o->json) {
		json_print(json_pack("{s:b, s:s, s:s, s:O}", "ok", 1, "command", "show", "file", o->yaml, "values",
				     values));
	}
done:
	json_decref(values);
	yaml_edit_free(doc);
	free(buf);
	return code;
}

static int cmd_edit(struct config_cmd_opts *o)
{
	bool diff_only = strcmp(o->sub, "diff") == 0, unset = strcmp(o->sub, "unset") == 0;
	struct cassandra_schema_result res = {0};
	struct cassandra_edit *edits = NULL;
	enum cassandra_version version = CASSANDRA_5_0;
	char err[CONFIG_CMD_ERR_MAX], name[PATH_MAX], saved[PATH_MAX + 64] = "";
	char *buf = NULL, *seed_storage = NULL, *ext_storage = NULL, *diff = NULL, **copies = NULL;
	const char **seeds = NULL, **external = NULL;
	size_t len, n_edits = 0, n_seeds = 0, n_external = 0, diff_len = 0;
	unsigned flags = 0;
	int rc, code = 0;

	if (!o->no_validate && !o->version)
		return usage_error(
			"%s: --version X.Y is required: the edit is validated against that Cassandra "
			"version's cassandra.yaml (3.11, 4.0, 4.1, 5.0); --no-validate skips the schema checks",
			o->sub);
	if (o->version && cassandra_version_parse(o->version, &version) < 0)
		return usage_error("--version '%s': supported versions are 3.11, 4.0, 4.1 and 5.0", o->version);
	if (unset && (o->seeds || o->external))
		return usage_error("unset: --seeds is for set and diff");
	if (o->external && !o->seeds)
		return usage_error("--external-seeds goes with --seeds");
	if (o->n_args == 0 && !o->seeds)
		return usage_error("%s: nothing to do (%s)", o->sub,
				   unset ? "give KEY ..." : "give KEY=VALUE ... or --seeds");
	edits = calloc(o->n_args + 1, sizeof(*edits));
	if (!edits)
		return refuse(o, "out of memory");
	for (size_t i = 0; i < o->n_args; i++) {
		const char *a = o->args[i], *eq = strchr(a, '=');

		if (unset) {
			if (eq) {
				code = usage_error("unset: '%s': give the KEY only", a);
				goto done;
			}
			edits[n_edits++] = (struct cassandra_edit){.op = CASSANDRA_EDIT_UNSET, .key = a};
			continue;
		}
		if (!eq || eq == a) {
			code = usage_error("%s: '%s': expected KEY=VALUE", o->sub, a);
			goto done;
		}
		char *key = strndup(a, (size_t)(eq - a));

		if (!key) {
			code = refuse(o, "out of memory");
			goto done;
		}
		edits[n_edits++] = (struct cassandra_edit){.op = CASSANDRA_EDIT_SET, .key = key, .value = eq + 1};
	}
	if (o->seeds) {
		if (split_list(o->seeds, &seed_storage, &seeds, &n_seeds) < 0 ||
		    (o->external && split_list(o->external, &ext_storage, &external, &n_external) < 0)) {
			code = refuse(o, "out of memory");
			goto done;
		}
		edits[n_edits++] = (struct cassandra_edit){.op = CASSANDRA_EDIT_SEEDS,
							   .seeds = seeds,
							   .n_seeds = n_seeds,
							   .external_seeds = external,
							   .n_external_seeds = n_external};
	}
	rc = fileio_read(o->yaml, YAML_EDIT_MAX_SIZE, &buf, &len, err, sizeof(err));
	if (rc == -EFBIG) {
		code = refuse(o, "%s: larger than %u MiB; refused", o->yaml, YAML_EDIT_MAX_SIZE >> 20);
		goto done;
	}
	if (rc < 0) {
		code = refuse(o, "%s", err);
		goto done;
	}
	if (o->force)
		flags |= CASSANDRA_SCHEMA_FORCE;
	if (o->no_validate)
		flags |= CASSANDRA_SCHEMA_NO_VALIDATE;
	rc = cassandra_schema_apply(version, flags, buf, len, edits, n_edits, &res, err, sizeof(err));
	print_warnings(&res.warn);
	if (rc < 0) {
		code = refuse(o, "%s: %s", o->yaml, err);
		goto done;
	}
	if (config_cmd_diff(buf, len, res.data, res.len, o->yaml, o->yaml, &diff, &diff_len) < 0) {
		code = refuse(o, "out of memory");
		goto done;
	}
	if (diff_only || o->dry_run) {
		if (!o->json)
			fwrite(diff, 1, diff_len, stdout);
	} else if (res.changed) {
		rc = fileio_replace(o->yaml, res.data, res.len, CONFIG_CMD_NEW_MODE, o->history, o->keep, err,
				    sizeof(err));
		if (rc < 0) {
			code = refuse(o, "%s: not written: %s", o->yaml, err);
			goto done;
		}
		history_name(o->yaml, name, sizeof(name));
		if (fileio_history(o->history, name, &copies) > 0)
			snprintf(saved, sizeof(saved), "%s", copies[0]);
		if (!o->json)
			printf("%s: updated; previous version saved as %s\n", o->yaml, saved[0] ? saved : "(none)");
	} else if (!o->json) {
		printf("%s: unchanged\n", o->yaml);
	}
	if (o->json)
		json_print(json_pack("{s:b, s:s, s:s, s:s?, s:b, s:b, s:b, s:s?, s:o, s:s}", "ok", 1, "command", o->sub,
				     "file", o->yaml, "version",
				     o->no_validate && !o->version ? NULL : cassandra_version_name(version), "dry_run",
				     diff_only || o->dry_run, "changed", res.changed, "written",
				     !(diff_only || o->dry_run) && res.changed, "history", saved[0] ? saved : NULL,
				     "warnings", warnings_json(&res.warn), "diff", diff ? diff : ""));
done:
	for (size_t i = 0; i < n_edits; i++)
		if (edits[i].op == CASSANDRA_EDIT_SET)
			free((char *)edits[i].key);
	free(edits);
	fileio_strv_free(copies);
	cassandra_schema_result_free(&res);
	free(diff);
	free(seeds);
	free(external);
	free(seed_storage);
	free(ext_storage);
	free(buf);
	return code;
}

static int cmd_rollback(struct config_cmd_opts *o)
{
	char err[CONFIG_CMD_ERR_MAX], name[PATH_MAX], saved[PATH_MAX + 64] = "", copy[PATH_MAX + 64];
	char *cur = NULL, *old = NULL, *diff = NULL, **copies = NULL, **after = NULL;
	struct yaml_edit_doc *doc = NULL;
	size_t cur_len = 0, old_len = 0, diff_len = 0;
	int n, rc, code = 0;

	if (o->n_args)
		return usage_error("rollback takes no KEY");
	history_name(o->yaml, name, sizeof(name));
	n = fileio_history(o->history, name, &copies);
	if (n < 0)
		return refuse(o, "%s: %s", o->history, strerror(-n));
	if (n == 0) {
		code = refuse(o, "no history copy of %s in %s", name, o->history);
		goto done;
	}
	snprintf(copy, sizeof(copy), "%s", copies[0]);
	rc = fileio_read(copy, YAML_EDIT_MAX_SIZE, &old, &old_len, err, sizeof(err));
	if (rc < 0) {
		code = refuse(o, "%s", err);
		goto done;
	}
	rc = yaml_edit_parse(old, old_len, &doc, err, sizeof(err));
	if (rc < 0 && !o->force) {
		code = refuse(o, "%s does not parse (%s); refused without --force", copy, err);
		goto done;
	}
	rc = fileio_read(o->yaml, YAML_EDIT_MAX_SIZE, &cur, &cur_len, err, sizeof(err));
	if (rc < 0 && rc != -ENOENT) {
		code = refuse(o, "%s", err);
		goto done;
	}
	if (config_cmd_diff(cur ? cur : "", cur_len, old, old_len, o->yaml, copy, &diff, &diff_len) < 0) {
		code = refuse(o, "out of memory");
		goto done;
	}
	bool same = cur && cur_len == old_len && memcmp(cur, old, old_len) == 0;

	if (o->dry_run) {
		if (!o->json)
			fwrite(diff, 1, diff_len, stdout);
	} else if (!same) {
		rc = fileio_replace(o->yaml, old, old_len, CONFIG_CMD_NEW_MODE, o->history, o->keep, err, sizeof(err));
		if (rc < 0) {
			code = refuse(o, "%s: not restored: %s", o->yaml, err);
			goto done;
		}
		if (cur && fileio_history(o->history, name, &after) > 0)
			snprintf(saved, sizeof(saved), "%s", after[0]);
		if (!o->json)
			printf("%s: restored from %s%s%s\n", o->yaml, copy,
			       saved[0] ? "; the replaced version saved as " : "", saved);
	} else if (!o->json) {
		printf("%s: already the same as %s\n", o->yaml, copy);
	}
	if (o->json)
		json_print(json_pack("{s:b, s:s, s:s, s:s, s:b, s:b, s:b, s:s?, s:s}", "ok", 1, "command", "rollback",
				     "file", o->yaml, "restored_from", copy, "dry_run", o->dry_run, "changed", !same,
				     "written", !o->dry_run && !same, "history", saved[0] ? saved : NULL, "diff",
				     diff ? diff : ""));
done:
	yaml_edit_free(doc);
	fileio_strv_free(copies);
	fileio_strv_free(after);
	free(diff);
	free(cur);
	free(old);
	return code;
}

int config_cmd_main(int argc, char **argv)
{
	struct config_cmd_opts o;
	int rc;

	rc = parse_args(argc, argv, &o);
	if (rc == 0) {
		// NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): o.sub is set when parse_args() returns 0
		if (strcmp(o.sub, "show") == 0)
			rc = cmd_show(&o);
		else if (strcmp(o.sub, "rollback") == 0)
			rc = cmd_rollback(&o);
		else
			rc = cmd_edit(&o);
	} else if (rc < 0) {
		rc = 0; /* --help */
	}
	free(o.args);
	/* Output cut short (a full disk, a closed pipe: SIGPIPE is ignored) is a failure, not a success. */
	if ((fflush(stdout) != 0 || ferror(stdout)) && rc == 0) {
		fputs("cassandra-agentctl config: cannot write to standard output\n", stderr);
		rc = 1;
	}
	return rc;
}
