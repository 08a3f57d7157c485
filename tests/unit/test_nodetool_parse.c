/* test_nodetool_parse: Check unit tests for the nodetool output parsers, on shared samples and inline outputs. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check_run.h"
#include "nodetool_parse.h"

/* An input buffer of exactly n bytes with no NUL terminator, so ASan flags any over-read. */
struct buf {
	char *p;
	size_t n;
};

/* How extract() finds the output inside a sample file. */
enum doc_kind { DOC_TXT, DOC_MD, DOC_ADOC };

/* Returns the folder of nodetool samples: $SHARED_DATA/cassandra/nodetool, else ../shared/data/cassandra/nodetool. */
static const char *nodetool_dir(void)
{
	static char dir[4096];
	const char *root = getenv("SHARED_DATA");

	snprintf(dir, sizeof(dir), "%s/cassandra/nodetool", root && *root ? root : "../shared/data");
	return dir;
}

/* True when the sample folder exists; data tests pass vacuously (with a SKIP line) only when it does not. */
static int have_data(void)
{
	struct stat sb;

	return stat(nodetool_dir(), &sb) == 0 && S_ISDIR(sb.st_mode);
}

#define REQUIRE_DATA()                                                                                                 \
	do {                                                                                                           \
		if (!have_data()) {                                                                                    \
			printf("SKIP: ../shared/data not found (looked in %s)\n", nodetool_dir());                     \
			fflush(stdout);                                                                                \
			return;                                                                                        \
		}                                                                                                      \
	} while (0)

/* Writes "a/b" into dst, failing the test if it does not fit. */
static void path_join(char *dst, size_t size, const char *a, const char *b)
{
	int n = snprintf(dst, size, "%s/%s", a, b);

	ck_assert_msg(n >= 0 && (size_t)n < size, "path too long: %s/%s", a, b);
}

/* Copies n bytes of s into a fresh exact-size buffer. */
static struct buf mkbuf(const char *s, size_t n)
{
	struct buf b = {malloc(n ? n : 1), n};

	ck_assert_ptr_nonnull(b.p);
	memcpy(b.p, s, n);
	return b;
}

/* Wraps an inline string (without its NUL) in an exact-size buffer. */
static struct buf str(const char *s)
{
	return mkbuf(s, strlen(s));
}

/* Reads the sample `rel` (relative to the nodetool folder) into an exact-size buffer. */
static struct buf load(const char *rel)
{
	char path[4200];
	struct buf b = {NULL, 0};
	FILE *f;
	long sz;

	path_join(path, sizeof(path), nodetool_dir(), rel);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	sz = ftell(f);
	ck_assert_int_ge(sz, 0);
	rewind(f);
	b.n = (size_t)sz;
	b.p = malloc(b.n ? b.n : 1);
	ck_assert_ptr_nonnull(b.p);
	ck_assert_uint_eq(fread(b.p, 1, b.n, f), b.n);
	fclose(f);
	return b;
}

static int starts_with(const char *p, size_t n, const char *lit)
{
	size_t k = strlen(lit);

	return n >= k && memcmp(p, lit, k) == 0;
}

/* True for a shell prompt line such as "# nodetool info" or "$ nodetool status". */
static int is_prompt(const char *p, size_t n)
{
	return starts_with(p, n, "$ ") || starts_with(p, n, "# ") || starts_with(p, n, "nodetool ");
}

/* True for the " nodetool rc=0" trailer some captures carry. */
static int is_noise(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	return starts_with(p, n, "nodetool rc=");
}

/*
 * Returns code block `index` (0-based) of a sample: the whole file for DOC_TXT, the
 * indented blocks of Markdown, or the "----" delimited blocks of AsciiDoc, with the
 * indentation, shell prompt lines and "nodetool rc=" trailers removed.
 */
static struct buf extract(struct buf doc, enum doc_kind kind, int index)
{
	char *out = malloc(doc.n + 1);
	size_t n_out = 0, off = 0;
	int block = kind == DOC_TXT ? 0 : -1, in = kind == DOC_TXT;
	struct buf b;

	ck_assert_ptr_nonnull(out);
	while (off < doc.n) {
		const char *p = doc.p + off, *nl = memchr(p, '\n', doc.n - off);
		size_t n = nl ? (size_t)(nl - p) : doc.n - off, k;
		int blank = 1;

		off += n + (nl != NULL);
		if (n && p[n - 1] == '\r')
			n--;
		for (k = 0; k < n; k++)
			blank &= p[k] == ' ' || p[k] == '\t';
		if (kind == DOC_ADOC) {
			if (n == 4 && memcmp(p, "----", 4) == 0) {
				in = !in;
				block += in;
				continue;
			}
		} else if (kind == DOC_MD) {
			int indented = starts_with(p, n, "    ") || starts_with(p, n, "\t");

			if (!in && indented && !blank) {
				in = 1;
				block++;
			} else if (in && !indented && !blank) {
				in = 0;
			}
			k = starts_with(p, n, "\t") ? 1 : n < 4 ? n : 4;
			p += k;
			n -= k;
		}
		if (!in || block != index || is_prompt(p, n) || is_noise(p, n))
			continue;
		memcpy(out + n_out, p, n);
		n_out += n;
		out[n_out++] = '\n';
	}
	ck_assert_msg(n_out > 0, "block %d not found", index);
	b = mkbuf(out, n_out);
	free(out);
	return b;
}

/* Loads sample `rel` and returns its block `index` (see extract()). */
static struct buf load_block(const char *rel, enum doc_kind kind, int index)
{
	struct buf doc = load(rel), b = extract(doc, kind, index);

	free(doc.p);
	return b;
}

static int all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			return 0;
	return 1;
}

/* Parses b as status output, failing the test with the parser's message on error; frees b. */
static void status_ok(struct buf b, struct nt_status *st)
{
	char err[256] = "";
	int rc = nt_parse_status(b.p, b.n, st, err, sizeof(err));

	free(b.p);
	ck_assert_msg(rc == 0, "nt_parse_status: %d %s", rc, err);
}

/* Parses b as status output, expecting -EINVAL with a "line N: " message; frees b. */
static void status_einval(struct buf b, const char *line_prefix)
{
	struct nt_status st;
	char err[256] = "";
	int rc = nt_parse_status(b.p, b.n, &st, err, sizeof(err));

	free(b.p);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(starts_with(err, strlen(err), line_prefix), "message \"%s\" does not start with \"%s\"", err,
		      line_prefix);
	ck_assert(all_zero(&st, sizeof(st)));
}

static void info_ok(struct buf b, struct nt_info *in)
{
	char err[256] = "";
	int rc = nt_parse_info(b.p, b.n, in, err, sizeof(err));

	free(b.p);
	ck_assert_msg(rc == 0, "nt_parse_info: %d %s", rc, err);
}

static void version_ok(struct buf b, struct nt_version *v)
{
	char err[256] = "";
	int rc = nt_parse_version(b.p, b.n, v, err, sizeof(err));

	free(b.p);
	ck_assert_msg(rc == 0, "nt_parse_version: %d %s", rc, err);
}

static bool running_ok(struct buf b)
{
	char err[256] = "";
	bool running = true;
	int rc = nt_parse_running(b.p, b.n, &running, err, sizeof(err));

	free(b.p);
	ck_assert_msg(rc == 0, "nt_parse_running: %d %s", rc, err);
	return running;
}

static void describecluster_ok(struct buf b, struct nt_describecluster *dc)
{
	char err[256] = "";
	int rc = nt_parse_describecluster(b.p, b.n, dc, err, sizeof(err));

	free(b.p);
	ck_assert_msg(rc == 0, "nt_parse_describecluster: %d %s", rc, err);
}

static void snapshots_ok(struct buf b, struct nt_snapshots *s)
{
	char err[256] = "";
	int rc = nt_parse_listsnapshots(b.p, b.n, s, err, sizeof(err));

	free(b.p);
	ck_assert_msg(rc == 0, "nt_parse_listsnapshots: %d %s", rc, err);
}

/* Returns the peer with `addr`, failing the test when there is none. */
static const struct nt_peer *peer(const struct nt_status *st, const char *addr)
{
	for (size_t i = 0; i < st->n_peers; i++)
		if (strcmp(st->peers[i].address, addr) == 0)
			return &st->peers[i];
	ck_abort_msg("no peer %s", addr);
	return NULL;
}

/* Checks every field of one peer; owns < 0 means "expect NAN". */
static void check_peer(const struct nt_status *st, const char *addr, const char *dc, const char *rack, char status,
		       char state, uint64_t load, double owns, const char *host_id, uint32_t tokens)
{
	const struct nt_peer *p = peer(st, addr);

	ck_assert_str_eq(p->datacenter, dc);
	ck_assert_str_eq(p->rack, rack);
	ck_assert_int_eq(p->status, status);
	ck_assert_int_eq(p->state, state);
	ck_assert(p->load_known);
	ck_assert_uint_eq(p->load_bytes, load);
	if (owns < 0)
		ck_assert_msg(isnan(p->owns_percent), "%s owns %f, expected NaN", addr, p->owns_percent);
	else
		ck_assert_double_eq_tol(p->owns_percent, owns, 1e-9);
	ck_assert_str_eq(p->host_id, host_id);
	ck_assert_uint_eq(p->tokens, tokens);
}

static const struct nt_keyspace *keyspace(const struct nt_describecluster *dc, const char *name)
{
	for (size_t i = 0; i < dc->n_keyspaces; i++)
		if (strcmp(dc->keyspaces[i].name, name) == 0)
			return &dc->keyspaces[i];
	ck_abort_msg("no keyspace %s", name);
	return NULL;
}

/* Checks a keyspace's class and its replication factors given as "dc1", 3, "dc2", 3, NULL. */
static void check_keyspace(const struct nt_describecluster *dc, const char *name, const char *cls, size_t n_factors,
			   const char *k1, uint32_t v1, const char *k2, uint32_t v2)
{
	const struct nt_keyspace *ks = keyspace(dc, name);

	ck_assert_str_eq(ks->replication_class, cls);
	ck_assert_uint_eq(ks->n_factors, n_factors);
	if (n_factors > 0) {
		ck_assert_str_eq(ks->factors[0].key, k1);
		ck_assert_uint_eq(ks->factors[0].value, v1);
	}
	if (n_factors > 1) {
		ck_assert_str_eq(ks->factors[1].key, k2);
		ck_assert_uint_eq(ks->factors[1].value, v2);
	}
}

static void check_snapshot(const struct nt_snapshot *r, const char *tag, const char *ks, const char *table,
			   uint64_t true_size, uint64_t on_disk, int64_t created, int64_t expires)
{
	ck_assert_str_eq(r->tag, tag);
	ck_assert_str_eq(r->keyspace, ks);
	ck_assert_str_eq(r->table, table);
	ck_assert_uint_eq(r->true_size_bytes, true_size);
	ck_assert_uint_eq(r->size_on_disk_bytes, on_disk);
	ck_assert_int_eq(r->created_unix_ms, created);
	ck_assert_int_eq(r->expires_unix_ms, expires);
}

/* Sizes of the synthetic samples, as bytes (binary multiples, rounded to nearest). */
#define GIB_1_52   1632087572ULL
#define GIB_1_48   1589137900ULL
#define GIB_1_5    1610612736ULL
#define GIB_1_46   1567663063ULL
#define MIB_987_33 1035290542ULL
#define GIB_1_51   1621350154ULL
#define KIB_105_73 108268ULL
#define MIB_812_44 851905085ULL
#define MIB_812_47 851936543ULL
#define MIB_96_2   100873011ULL
#define MIB_96_21  100883497ULL
#define KIB_5_62   5755ULL
#define KIB_5_67   5806ULL
#define MIB_908_65 952788582ULL

#define HID_11 "8d5ed9f4-0c2a-4b6e-9b1e-3f0a4c2d7e11"
#define HID_12 "0f3c6a77-5e21-4d08-a9c4-6b2e1d9f8a12"
#define HID_13 "c2a9e1b0-7d4f-4e3a-8f6b-91d0e5a4b313"
#define HID_21 "5b7f0e3c-2a91-4c6d-b8e0-4d1f7a2c9e21"
#define HID_22 "e4d2c1b0-9f8e-4a7d-86c5-3b2a1f0e9d22"
#define HID_23 "7a6b5c4d-3e2f-4109-8a7b-6c5d4e3f2a23"

/* 2024-10-10T08:15:30.118Z, 2024-10-11T08:08:32.905Z and 2024-10-18T08:08:32.905Z in unix ms. */
#define MS_2024_10_10 1728548130118LL
#define MS_2024_10_11 1728634112905LL
#define MS_2024_10_18 1729238912905LL

/* Checks the six nodes shared by the synthetic two-DC status samples. */
static void check_six_synthetic_peers(const struct nt_status *st, double owns, uint32_t tokens)
{
	check_peer(st, "10.0.1.11", "dc1", "rack1", 'U', 'N', GIB_1_52, owns, HID_11, tokens);
	check_peer(st, "10.0.1.13", "dc1", "rack3", 'U', 'N', GIB_1_5, owns, HID_13, tokens);
	check_peer(st, "10.0.2.21", "dc2", "rack1", 'U', 'N', GIB_1_46, owns, HID_21, tokens);
	check_peer(st, "10.0.2.22", "dc2", "rack2", 'U', 'N', MIB_987_33, owns, HID_22, tokens);
	check_peer(st, "10.0.2.23", "dc2", "rack3", 'U', 'N', GIB_1_51, owns, HID_23, tokens);
}

/* ---------- status, shared samples ---------- */

START_TEST(test_status_311_keyspace_has_six_peers_with_effective_owns)
{
	struct nt_status st;

	REQUIRE_DATA();
	status_ok(load("nodetool-status-3.11-keyspace.txt"), &st);
	ck_assert_uint_eq(st.n_peers, 6);
	check_six_synthetic_peers(&st, 100.0, 256);
	check_peer(&st, "10.0.1.12", "dc1", "rack2", 'U', 'N', GIB_1_48, 100.0, HID_12, 256);
	ck_assert(!st.ownership_meaningless);
	/* Rows keep the printed order: dc1 first, dc2 after, with no blank line between them in 3.11. */
	ck_assert_str_eq(st.peers[3].address, "10.0.2.21");
	nt_status_free(&st);
}
END_TEST

START_TEST(test_status_311_no_keyspace_owns_unknown_and_note)
{
	struct nt_status st;

	REQUIRE_DATA();
	status_ok(load("nodetool-status-3.11-no-keyspace.txt"), &st);
	ck_assert_uint_eq(st.n_peers, 6);
	check_six_synthetic_peers(&st, -1, 256);
	ck_assert(st.ownership_meaningless);
	nt_status_free(&st);
}
END_TEST

START_TEST(test_status_4x_down_joining_has_dn_and_uj)
{
	struct nt_status st;

	REQUIRE_DATA();
	status_ok(load("nodetool-status-4x-down-joining.txt"), &st);
	ck_assert_uint_eq(st.n_peers, 7);
	check_six_synthetic_peers(&st, 100.0, 16);
	check_peer(&st, "10.0.1.12", "dc1", "rack2", 'D', 'N', GIB_1_48, 100.0, HID_12, 16);
	check_peer(&st, "10.0.2.24", "dc2", "rack1", 'U', 'J', KIB_105_73, -1, "9c8b7a6d-5e4f-4321-9a8b-7c6d5e4f3a24",
		   16);
	ck_assert(!st.ownership_meaningless);
	nt_status_free(&st);
}
END_TEST

START_TEST(test_status_4x_keyspace_padded_columns_two_dcs)
{
	struct nt_status st;

	REQUIRE_DATA();
	status_ok(load("nodetool-status-4x-keyspace.txt"), &st);
	ck_assert_uint_eq(st.n_peers, 6);
	check_six_synthetic_peers(&st, 100.0, 16);
	check_peer(&st, "10.0.1.12", "dc1", "rack2", 'U', 'N', GIB_1_48, 100.0, HID_12, 16);
	ck_assert(!st.ownership_meaningless);
	nt_status_free(&st);
}
END_TEST

START_TEST(test_status_4x_no_keyspace_owns_nan_with_note)
{
	struct nt_status st;

	REQUIRE_DATA();
	status_ok(load("nodetool-status-4x-no-keyspace.txt"), &st);
	ck_assert_uint_eq(st.n_peers, 6);
	check_six_synthetic_peers(&st, -1, 16);
	ck_assert(st.ownership_meaningless);
	nt_status_free(&st);
}
END_TEST

START_TEST(test_status_captured_multi_dc_mixed_vnodes_legacy_gb)
{
	struct nt_status st;

	REQUIRE_DATA();
	/* Parsed raw: the trailing " nodetool rc=0" must neither break parsing nor add a peer. */
	status_ok(load("captured/status_multi_dc_mixed_vnodes_all_UN.txt"), &st);
	ck_assert_uint_eq(st.n_peers, 10);
	check_peer(&st, "10.0.0.1", "dcA", "9", 'U', 'N', 90967407329ULL, -1, "d9349432-1860-4dde-b7b5-7027badd2042",
		   1);
	check_peer(&st, "10.0.0.3", "dcA", "19", 'U', 'N', 114471615857ULL, -1, "2b8dec4e-3bd3-4f37-b598-32ff937563ee",
		   1);
	check_peer(&st, "10.1.0.5", "dcB", "6", 'U', 'N', 75473312809ULL, -1, "f6db6749-61dd-450d-8806-8aba74949a0e",
		   256);
	ck_assert(st.ownership_meaningless);
	nt_status_free(&st);
}
END_TEST

START_TEST(test_status_captured_nodetool_status_tb_mb_kb_pb_units)
{
	struct nt_status st;

	REQUIRE_DATA();
	status_ok(load_block("captured/status_nodetool_status.txt", DOC_TXT, 0), &st);
	ck_assert_uint_eq(st.n_peers, 5);
	check_peer(&st, "10.220.40.157", "DC1", "22", 'U', 'N', 8345293254820ULL, -1,
		   "71d763ea-f0e6-4ac4-b78c-ba70a41decb3", 256);
	check_peer(&st, "10.220.40.26", "DC1", "11", 'U', 'N', 9083855831ULL, -1,
		   "f8cfe2cd-e8b5-43d7-8b3b-36187a267ae3", 256);
	check_peer(&st, "10.220.40.135", "DC1", "21", 'U', 'N', 7423918ULL, -1, "06eda88f-274c-4c6b-9ef7-887727cf40a0",
		   256);
	check_peer(&st, "10.220.40.80", "DC1", "13", 'U', 'N', 7598ULL, -1, "534dbb94-c3ed-4781-ac4d-586e1c2e910e",
		   256);
	check_peer(&st, "10.220.40.210", "DC1", "23", 'U', 'N', 11821949021847552ULL, -1,
		   "689c1394-329a-4b54-85fb-2ee25117cd29", 256);
	ck_assert(st.ownership_meaningless);
	nt_status_free(&st);
}
END_TEST

START_TEST(test_status_captured_single_dc_16_vnodes)
{
	struct nt_status st;

	REQUIRE_DATA();
	status_ok(load_block("captured/status_single_dc_16_vnodes_all_UN.txt", DOC_TXT, 0), &st);
	ck_assert_uint_eq(st.n_peers, 5);
	for (size_t i = 0; i < st.n_peers; i++) {
		ck_assert_str_eq(st.peers[i].datacenter, "ld6");
		ck_assert_uint_eq(st.peers[i].tokens, 16);
		ck_assert(isnan(st.peers[i].owns_percent));
	}
	check_peer(&st, "10.220.40.157", "ld6", "22", 'U', 'N', 8345293254820ULL, -1,
		   "71d763ea-f0e6-4ac4-b78c-ba70a41decb3", 16);
	check_peer(&st, "10.220.40.210", "ld6", "23", 'U', 'N', 11544872091648ULL, -1,
		   "689c1394-329a-4b54-85fb-2ee25117cd29", 16);
	nt_status_free(&st);
}
END_TEST

START_TEST(test_status_captured_adoc_three_nodes_single_token)
{
	struct nt_status st;

	REQUIRE_DATA();
	status_ok(load_block("captured/doc-use_nodetool-status-5.0.adoc", DOC_ADOC, 0), &st);
	ck_assert_uint_eq(st.n_peers, 3);
	check_peer(&st, "127.0.1.1", "dc1", "r1", 'U', 'N', 5035849155ULL, 100.0,
		   "35ea8c9f-b7a2-40a7-b9c5-0ee8b91fdd0e", 1);
	check_peer(&st, "127.0.1.2", "dc1", "r2", 'U', 'N', 5057323991ULL, 100.0,
		   "752e278f-b7c5-4f58-974b-9328455af73f", 1);
	check_peer(&st, "127.0.1.3", "dc1", "r3", 'U', 'N', 5035849155ULL, 100.0,
		   "9dc1a293-2cc0-40fa-a6fd-9e6054da04a7", 1);
	nt_status_free(&st);
}
END_TEST

START_TEST(test_status_captured_adoc_grep_output_empty_dc_and_one_down)
{
	struct nt_status st;

	REQUIRE_DATA();
	status_ok(load_block("captured/doc-use_nodetool-status-5.0.adoc", DOC_ADOC, 1), &st);
	ck_assert_uint_eq(st.n_peers, 1);
	check_peer(&st, "127.0.0.5", "dc2", "r1", 'D', 'N', KIB_105_73, 33.3, "df303ac7-61de-46e9-ac79-6e630115fd75",
		   1);
	nt_status_free(&st);
}
END_TEST

START_TEST(test_status_captured_md_311_single_node)
{
	struct nt_status st;

	REQUIRE_DATA();
	status_ok(load_block("captured/real-ds201-exercise6-nodetool-3.11.md", DOC_MD, 0), &st);
	ck_assert_uint_eq(st.n_peers, 1);
	check_peer(&st, "172.17.0.2", "datacenter1", "rack1", 'U', 'N', 314132ULL, 100.0,
		   "ed19c671-f413-4108-b9f2-1bb62ce8975c", 256);
	nt_status_free(&st);
}
END_TEST

/* ---------- info, version, running, shared samples ---------- */

/* Checks the values shared by the synthetic info samples. */
static void check_synthetic_info(const struct nt_info *in)
{
	ck_assert_str_eq(in->host_id, HID_11);
	ck_assert(in->gossip_active);
	ck_assert(in->native_transport_active);
	ck_assert_uint_eq(in->load_bytes, GIB_1_52);
	ck_assert_int_eq(in->generation, 1728554400);
	ck_assert_int_eq(in->uptime_seconds, 354219);
	ck_assert_double_eq_tol(in->heap_used_mb, 2314.57, 1e-9);
	ck_assert_double_eq_tol(in->heap_max_mb, 8192.0, 1e-9);
	ck_assert_double_eq_tol(in->off_heap_mb, 41.88, 1e-9);
	ck_assert_str_eq(in->datacenter, "dc1");
	ck_assert_str_eq(in->rack, "rack1");
	ck_assert_uint_eq(in->exceptions, 0);
	ck_assert_double_eq_tol(in->percent_repaired, 100.0, 1e-9);
}

START_TEST(test_info_311_with_thrift_line)
{
	struct nt_info in;

	REQUIRE_DATA();
	info_ok(load("nodetool-info-3.11.txt"), &in);
	check_synthetic_info(&in);
	ck_assert_str_eq(in.bootstrap_state, "");
}
END_TEST

START_TEST(test_info_40_41_with_network_cache)
{
	struct nt_info in;

	REQUIRE_DATA();
	info_ok(load("nodetool-info-4.0-4.1.txt"), &in);
	check_synthetic_info(&in);
	ck_assert_str_eq(in.bootstrap_state, "");
}
END_TEST

START_TEST(test_info_50_bootstrap_state_completed)
{
	struct nt_info in;

	REQUIRE_DATA();
	info_ok(load("nodetool-info-5.0.txt"), &in);
	check_synthetic_info(&in);
	ck_assert_str_eq(in.bootstrap_state, "COMPLETED");
}
END_TEST

START_TEST(test_info_captured_complete_tb_load_with_trailer)
{
	struct nt_info in;

	REQUIRE_DATA();
	/* Parsed raw, " nodetool rc=0" trailer included. */
	info_ok(load("captured/info_nodetool_info_complete.txt"), &in);
	ck_assert_str_eq(in.host_id, "19427ed3-3637-46aa-a05c-e54f36bcdfdb");
	ck_assert(in.gossip_active);
	ck_assert(in.native_transport_active);
	ck_assert_uint_eq(in.load_bytes, 2440915813663ULL);
	ck_assert_int_eq(in.generation, 1619415338);
	ck_assert_int_eq(in.uptime_seconds, 3688807);
	ck_assert_double_eq_tol(in.heap_used_mb, 3889.52, 1e-9);
	ck_assert_double_eq_tol(in.heap_max_mb, 9940.0, 1e-9);
	ck_assert_double_eq_tol(in.off_heap_mb, 406.43, 1e-9);
	ck_assert_str_eq(in.datacenter, "datacenter1");
	ck_assert_str_eq(in.rack, "rack1");
	ck_assert_uint_eq(in.exceptions, 0);
	ck_assert(isnan(in.percent_repaired));
	ck_assert_str_eq(in.bootstrap_state, "");
}
END_TEST

START_TEST(test_info_captured_md_311)
{
	struct nt_info in;

	REQUIRE_DATA();
	info_ok(load_block("captured/real-ds201-exercise6-nodetool-3.11.md", DOC_MD, 1), &in);
	ck_assert_str_eq(in.host_id, "ed19c671-f413-4108-b9f2-1bb62ce8975c");
	ck_assert(in.gossip_active);
	ck_assert(in.native_transport_active);
	ck_assert_uint_eq(in.load_bytes, 314132ULL);
	ck_assert_int_eq(in.generation, 1558480238);
	ck_assert_int_eq(in.uptime_seconds, 44681);
	ck_assert_double_eq_tol(in.heap_used_mb, 121.30, 1e-9);
	ck_assert_double_eq_tol(in.heap_max_mb, 975.13, 1e-9);
	ck_assert_double_eq_tol(in.off_heap_mb, 0.0, 1e-9);
	ck_assert_str_eq(in.datacenter, "datacenter1");
	ck_assert_double_eq_tol(in.percent_repaired, 100.0, 1e-9);
}
END_TEST

START_TEST(test_version_41)
{
	struct nt_version v;

	REQUIRE_DATA();
	version_ok(load("nodetool-version.txt"), &v);
	ck_assert_str_eq(v.release_version, "4.1.8");
	ck_assert_int_eq(v.major, 4);
	ck_assert_int_eq(v.minor, 1);
	ck_assert_int_eq(v.patch, 8);
}
END_TEST

START_TEST(test_version_50_verbose_ignores_git_sha)
{
	struct nt_version v;

	REQUIRE_DATA();
	version_ok(load("nodetool-version-5.0-verbose.txt"), &v);
	ck_assert_str_eq(v.release_version, "5.0.2");
	ck_assert_int_eq(v.major, 5);
	ck_assert_int_eq(v.minor, 0);
	ck_assert_int_eq(v.patch, 2);
}
END_TEST

START_TEST(test_statusbinary_running)
{
	REQUIRE_DATA();
	ck_assert(running_ok(load("nodetool-statusbinary.txt")));
}
END_TEST

START_TEST(test_statusbinary_disabled_not_running)
{
	REQUIRE_DATA();
	ck_assert(!running_ok(load("nodetool-statusbinary-disabled.txt")));
}
END_TEST

START_TEST(test_statusgossip_running)
{
	REQUIRE_DATA();
	ck_assert(running_ok(load("nodetool-statusgossip.txt")));
}
END_TEST

START_TEST(test_statusgossip_disabled_not_running)
{
	REQUIRE_DATA();
	ck_assert(!running_ok(load("nodetool-statusgossip-disabled.txt")));
}
END_TEST

/* ---------- describecluster, shared samples ---------- */

START_TEST(test_describecluster_311_has_no_stats_or_keyspaces)
{
	struct nt_describecluster dc;

	REQUIRE_DATA();
	describecluster_ok(load("nodetool-describecluster-3.11.txt"), &dc);
	ck_assert_str_eq(dc.name, "prod-cluster");
	ck_assert_str_eq(dc.snitch, "org.apache.cassandra.locator.GossipingPropertyFileSnitch");
	ck_assert_str_eq(dc.partitioner, "org.apache.cassandra.dht.Murmur3Partitioner");
	ck_assert_uint_eq(dc.schema_versions, 1);
	ck_assert_uint_eq(dc.unreachable, 0);
	ck_assert(!dc.has_stats);
	ck_assert_uint_eq(dc.n_database_versions, 0);
	ck_assert_uint_eq(dc.n_keyspaces, 0);
	ck_assert_ptr_null(dc.keyspaces);
	nt_describecluster_free(&dc);
}
END_TEST

/* Checks the keyspaces of the synthetic 4.x describecluster samples. */
static void check_synthetic_keyspaces(const struct nt_describecluster *dc)
{
	ck_assert_uint_eq(dc->n_keyspaces, 6);
	ck_assert_str_eq(dc->keyspaces[0].name, "system_auth");
	check_keyspace(dc, "system_auth", "NetworkTopologyStrategy", 2, "dc1", 3, "dc2", 3);
	check_keyspace(dc, "system_distributed", "NetworkTopologyStrategy", 2, "dc1", 3, "dc2", 3);
	check_keyspace(dc, "app", "NetworkTopologyStrategy", 2, "dc1", 3, "dc2", 3);
	check_keyspace(dc, "system_traces", "NetworkTopologyStrategy", 2, "dc1", 2, "dc2", 2);
	check_keyspace(dc, "system", "LocalStrategy", 0, NULL, 0, NULL, 0);
	check_keyspace(dc, "system_schema", "LocalStrategy", 0, NULL, 0, NULL, 0);
}

START_TEST(test_describecluster_4x_all_up_stats_and_keyspaces)
{
	struct nt_describecluster dc;

	REQUIRE_DATA();
	describecluster_ok(load("nodetool-describecluster-4x.txt"), &dc);
	ck_assert_str_eq(dc.name, "prod-cluster");
	ck_assert_str_eq(dc.snitch, "org.apache.cassandra.locator.GossipingPropertyFileSnitch");
	ck_assert_uint_eq(dc.schema_versions, 1);
	ck_assert_uint_eq(dc.unreachable, 0);
	ck_assert(dc.has_stats);
	ck_assert_uint_eq(dc.live, 6);
	ck_assert_uint_eq(dc.joining, 0);
	ck_assert_uint_eq(dc.moving, 0);
	ck_assert_uint_eq(dc.leaving, 0);
	ck_assert_uint_eq(dc.unreachable_stat, 0);
	ck_assert_uint_eq(dc.n_database_versions, 1);
	check_synthetic_keyspaces(&dc);
	nt_describecluster_free(&dc);
}
END_TEST

START_TEST(test_describecluster_4x_one_down_counts_unreachable)
{
	struct nt_describecluster dc;

	REQUIRE_DATA();
	describecluster_ok(load("nodetool-describecluster-4x-one-down.txt"), &dc);
	ck_assert_uint_eq(dc.schema_versions, 1);
	ck_assert_uint_eq(dc.unreachable, 1);
	ck_assert(dc.has_stats);
	ck_assert_uint_eq(dc.live, 5);
	ck_assert_uint_eq(dc.unreachable_stat, 1);
	ck_assert_uint_eq(dc.n_database_versions, 1);
	check_synthetic_keyspaces(&dc);
	nt_describecluster_free(&dc);
}
END_TEST

START_TEST(test_describecluster_captured_18_nodes_one_schema)
{
	struct nt_describecluster dc;

	REQUIRE_DATA();
	describecluster_ok(load("captured/describeCluster.txt"), &dc);
	ck_assert_str_eq(dc.name, "TestClusterName");
	ck_assert_str_eq(dc.partitioner, "org.apache.cassandra.dht.Murmur3Partitioner");
	ck_assert_uint_eq(dc.schema_versions, 1);
	ck_assert_uint_eq(dc.unreachable, 0);
	ck_assert(!dc.has_stats);
	ck_assert_uint_eq(dc.n_keyspaces, 0);
	nt_describecluster_free(&dc);
}
END_TEST

START_TEST(test_describecluster_captured_md_name_with_space)
{
	struct nt_describecluster dc;

	REQUIRE_DATA();
	describecluster_ok(load_block("captured/real-ds201-exercise6-nodetool-3.11.md", DOC_MD, 2), &dc);
	ck_assert_str_eq(dc.name, "Test Cluster");
	ck_assert_str_eq(dc.snitch, "org.apache.cassandra.locator.SimpleSnitch");
	ck_assert_uint_eq(dc.schema_versions, 1);
	ck_assert_uint_eq(dc.unreachable, 0);
	ck_assert(!dc.has_stats);
	nt_describecluster_free(&dc);
}
END_TEST

/* ---------- listsnapshots, shared samples ---------- */

START_TEST(test_listsnapshots_311_40_no_time_columns)
{
	struct nt_snapshots s;

	REQUIRE_DATA();
	snapshots_ok(load("nodetool-listsnapshots-3.11-4.0.txt"), &s);
	ck_assert_uint_eq(s.n_rows, 4);
	check_snapshot(&s.rows[0], "pre-upgrade-20241010", "app", "orders", MIB_812_44, MIB_812_47, 0, 0);
	check_snapshot(&s.rows[1], "pre-upgrade-20241010", "app", "customers", MIB_96_2, MIB_96_21, 0, 0);
	check_snapshot(&s.rows[2], "1728634112905", "app", "orders", 0, MIB_812_47, 0, 0);
	check_snapshot(&s.rows[3], "pre-upgrade-20241010", "system_auth", "roles", KIB_5_62, KIB_5_67, 0, 0);
	ck_assert(!s.rows[0].ephemeral);
	ck_assert_uint_eq(s.total_true_bytes, MIB_908_65);
	nt_snapshots_free(&s);
}
END_TEST

START_TEST(test_listsnapshots_41_50_creation_and_expiration_times)
{
	struct nt_snapshots s;

	REQUIRE_DATA();
	snapshots_ok(load("nodetool-listsnapshots-4.1-5.0.txt"), &s);
	ck_assert_uint_eq(s.n_rows, 4);
	check_snapshot(&s.rows[0], "pre-upgrade-20241010", "app", "orders", MIB_812_44, MIB_812_47, MS_2024_10_10, 0);
	check_snapshot(&s.rows[1], "pre-upgrade-20241010", "app", "customers", MIB_96_2, MIB_96_21, MS_2024_10_10, 0);
	check_snapshot(&s.rows[2], "1728634112905", "app", "orders", 0, MIB_812_47, MS_2024_10_11, MS_2024_10_18);
	check_snapshot(&s.rows[3], "pre-upgrade-20241010", "system_auth", "roles", KIB_5_62, KIB_5_67, MS_2024_10_10,
		       0);
	ck_assert_uint_eq(s.total_true_bytes, MIB_908_65);
	nt_snapshots_free(&s);
}
END_TEST

START_TEST(test_listsnapshots_50_ephemeral_column_false)
{
	struct nt_snapshots s;

	REQUIRE_DATA();
	snapshots_ok(load("nodetool-listsnapshots-5.0-ephemeral-flag.txt"), &s);
	ck_assert_uint_eq(s.n_rows, 4);
	check_snapshot(&s.rows[0], "pre-upgrade-20241010", "app", "orders", MIB_812_44, MIB_812_47, MS_2024_10_10, 0);
	check_snapshot(&s.rows[2], "1728634112905", "app", "orders", 0, MIB_812_47, MS_2024_10_11, MS_2024_10_18);
	check_snapshot(&s.rows[3], "pre-upgrade-20241010", "system_auth", "roles", KIB_5_62, KIB_5_67, MS_2024_10_10,
		       0);
	for (size_t i = 0; i < s.n_rows; i++)
		ck_assert(!s.rows[i].ephemeral);
	ck_assert_uint_eq(s.total_true_bytes, MIB_908_65);
	nt_snapshots_free(&s);
}
END_TEST

START_TEST(test_listsnapshots_empty_has_zero_rows)
{
	struct nt_snapshots s;

	REQUIRE_DATA();
	snapshots_ok(load("nodetool-listsnapshots-empty.txt"), &s);
	ck_assert_uint_eq(s.n_rows, 0);
	ck_assert_ptr_null(s.rows);
	ck_assert_uint_eq(s.total_true_bytes, 0);
	nt_snapshots_free(&s);
}
END_TEST

START_TEST(test_listsnapshots_captured_doc_50_nine_rows)
{
	struct nt_snapshots s;

	REQUIRE_DATA();
	snapshots_ok(load("captured/doc-nodetool_list_snapshots-5.0.result"), &s);
	ck_assert_uint_eq(s.n_rows, 9);
	check_snapshot(&s.rows[0], "multi-table", "cqlkeyspace", "t2", 4977, 5806, 0, 0);
	check_snapshot(&s.rows[3], "multi-ks", "catalogkeyspace", "journal", 5018, 5868, 0, 0);
	check_snapshot(&s.rows[8], "catalog-ks", "catalogkeyspace", "magazine", 5018, 5868, 0, 0);
	ck_assert_uint_eq(s.total_true_bytes, 45076);
	nt_snapshots_free(&s);
}
END_TEST

/* Parses every block of one sample with the parser its name calls for; fails on error or when no parser fits. */
static void parse_sample(const char *rel, const char *name)
{
	static const char *const md_blocks[] = {"status", "info", "describecluster"};
	enum doc_kind kind = strstr(name, ".md") ? DOC_MD : strstr(name, ".adoc") ? DOC_ADOC : DOC_TXT;
	int blocks = kind == DOC_MD ? 3 : kind == DOC_ADOC ? 2 : 1;

	for (int i = 0; i < blocks; i++) {
		/* The Markdown capture holds status, info and describecluster, in that order. */
		const char *what = kind == DOC_MD ? md_blocks[i] : name;
		struct buf b = load_block(rel, kind, i);
		char err[256] = "";
		int rc;

		if (strcasestr(what, "describecluster")) {
			struct nt_describecluster d;

			rc = nt_parse_describecluster(b.p, b.n, &d, err, sizeof(err));
			nt_describecluster_free(&d);
		} else if (strcasestr(what, "statusbinary") || strcasestr(what, "statusgossip")) {
			bool running;

			rc = nt_parse_running(b.p, b.n, &running, err, sizeof(err));
		} else if (strcasestr(what, "snapshots")) {
			struct nt_snapshots s;

			rc = nt_parse_listsnapshots(b.p, b.n, &s, err, sizeof(err));
			nt_snapshots_free(&s);
		} else if (strcasestr(what, "status")) {
			struct nt_status st;

			rc = nt_parse_status(b.p, b.n, &st, err, sizeof(err));
			ck_assert_msg(rc || st.n_peers > 0, "%s block %d: no peers", rel, i);
			nt_status_free(&st);
		} else if (strcasestr(what, "info")) {
			struct nt_info in;

			rc = nt_parse_info(b.p, b.n, &in, err, sizeof(err));
		} else if (strcasestr(what, "version")) {
			struct nt_version v;

			rc = nt_parse_version(b.p, b.n, &v, err, sizeof(err));
		} else {
			free(b.p);
			ck_abort_msg("no parser for sample %s: add one to parse_sample()", rel);
			return;
		}
		free(b.p);
		ck_assert_msg(rc == 0, "%s block %d: rc %d: %s", rel, i, rc, err);
	}
}

START_TEST(test_every_sample_file_parses)
{
	static const char *const subdirs[] = {"", "captured/"};
	size_t count = 0;

	REQUIRE_DATA();
	for (size_t d = 0; d < sizeof(subdirs) / sizeof(subdirs[0]); d++) {
		char path[4200], rel[512];
		struct dirent *e;
		DIR *dir;

		path_join(path, sizeof(path), nodetool_dir(), subdirs[d]);
		dir = opendir(path);
		ck_assert_msg(dir != NULL, "cannot open %s", path);
		while ((e = readdir(dir)) != NULL) {
			struct stat sb;
			int k = snprintf(rel, sizeof(rel), "%s%s", subdirs[d], e->d_name);

			ck_assert(k >= 0 && (size_t)k < sizeof(rel));
			path_join(path, sizeof(path), nodetool_dir(), rel);
			if (e->d_name[0] == '.' || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
				continue;
			parse_sample(rel, e->d_name);
			count++;
		}
		closedir(dir);
	}
	ck_assert_uint_ge(count, 29);
}
END_TEST

/* ---------- inline outputs ---------- */

#define LEGEND "Status=Up/Down\n|/ State=Normal/Leaving/Joining/Moving\n"

START_TEST(test_status_ipv6_addresses)
{
	struct nt_status st;

	status_ok(str("Datacenter: us-east\n"
		      "===================\n" LEGEND "--  Address                    Load        Tokens  Owns "
		      "(effective)  Host ID                               Rack \n"
		      "UN  2001:db8:0:0:0:0:0:11      250.5 KiB   8       66.7%             "
		      "11111111-2222-4333-8444-555555555555  1a   \n"
		      "UN  fe80::1                    1 GiB       8       33.3%             "
		      "21111111-2222-4333-8444-555555555555  1b   \n"
		      "UN  0:0:0:0:0:0:0:1            0 bytes     8       0.0%              "
		      "31111111-2222-4333-8444-555555555555  1c   \n"
		      "\n"),
		  &st);
	ck_assert_uint_eq(st.n_peers, 3);
	check_peer(&st, "2001:db8:0:0:0:0:0:11", "us-east", "1a", 'U', 'N', 256512, 66.7,
		   "11111111-2222-4333-8444-555555555555", 8);
	check_peer(&st, "fe80::1", "us-east", "1b", 'U', 'N', 1073741824ULL, 33.3,
		   "21111111-2222-4333-8444-555555555555", 8);
	check_peer(&st, "0:0:0:0:0:0:0:1", "us-east", "1c", 'U', 'N', 0, 0.0, "31111111-2222-4333-8444-555555555555",
		   8);
	nt_status_free(&st);
}
END_TEST

#define HDR_4X "--  Address  Load  Tokens  Owns (effective)  Host ID  Rack \n"
#define UUID_A "aaaaaaaa-0000-4000-8000-00000000000a"
#define UUID_B "bbbbbbbb-0000-4000-8000-00000000000b"
#define UUID_C "cccccccc-0000-4000-8000-00000000000c"

START_TEST(test_status_pp_ip_port_addresses)
{
	struct nt_status st;

	status_ok(str("Datacenter: dc1\n===============\n" LEGEND HDR_4X
		      "UN  10.1.2.3:7000           1.5 MiB   16  50.0%  " UUID_A "  r1\n"
		      "UN  [2001:db8::7]:7000      2 MiB     16  50.0%  " UUID_B "  r2\n"
		      "UN  [::1]:7001              3 MiB     16  0.0%   " UUID_C "  r3\n"),
		  &st);
	ck_assert_uint_eq(st.n_peers, 3);
	check_peer(&st, "10.1.2.3:7000", "dc1", "r1", 'U', 'N', 1572864, 50.0, UUID_A, 16);
	check_peer(&st, "[2001:db8::7]:7000", "dc1", "r2", 'U', 'N', 2097152, 50.0, UUID_B, 16);
	check_peer(&st, "[::1]:7001", "dc1", "r3", 'U', 'N', 3145728, 0.0, UUID_C, 16);
	nt_status_free(&st);
}
END_TEST

START_TEST(test_status_crlf_line_endings)
{
	struct nt_status st;

	status_ok(
		str("Datacenter: dc1\r\n===============\r\nStatus=Up/Down\r\n|/ State=Normal/Leaving/Joining/Moving\r\n"
		    "--  Address  Load  Tokens  Owns  Host ID  Rack \r\n"
		    "UN  10.0.0.1  1 KiB  16  ?  " UUID_A "  rack1  \r\n"
		    "DN  10.0.0.2  2 KiB  16  ?  " UUID_B "  rack2\r\n"
		    "\r\n"
		    "Note: Non-system keyspaces don't have the same replication settings, effective ownership "
		    "information is meaningless\r\n"),
		&st);
	ck_assert_uint_eq(st.n_peers, 2);
	check_peer(&st, "10.0.0.1", "dc1", "rack1", 'U', 'N', 1024, -1, UUID_A, 16);
	check_peer(&st, "10.0.0.2", "dc1", "rack2", 'D', 'N', 2048, -1, UUID_B, 16);
	ck_assert(st.ownership_meaningless);
	nt_status_free(&st);
}
END_TEST

START_TEST(test_status_leaving_moving_unknown_status_and_comma_decimals)
{
	struct nt_status st;

	status_ok(str("Datacenter: dc1\n" LEGEND HDR_4X "UL  10.0.0.1  1,5 GiB  16  33,3%  " UUID_A "  r1\n"
		      "UM  10.0.0.2  1 GiB    16  33.3%  " UUID_B "  r1\n"
		      "?N  10.0.0.3  1 GiB    16  33.4%  " UUID_C "  r1\n"),
		  &st);
	ck_assert_uint_eq(st.n_peers, 3);
	check_peer(&st, "10.0.0.1", "dc1", "r1", 'U', 'L', GIB_1_5, 33.3, UUID_A, 16);
	check_peer(&st, "10.0.0.2", "dc1", "r1", 'U', 'M', 1073741824ULL, 33.3, UUID_B, 16);
	check_peer(&st, "10.0.0.3", "dc1", "r1", '?', 'N', 1073741824ULL, 33.4, UUID_C, 16);
	nt_status_free(&st);
}
END_TEST

START_TEST(test_status_unknown_load_and_null_host_id)
{
	struct nt_status st;
	const struct nt_peer *p;

	status_ok(str("Datacenter: dc1\n" LEGEND HDR_4X "DJ  10.0.0.9  ?  16  ?  null  rack1\n"), &st);
	ck_assert_uint_eq(st.n_peers, 1);
	p = peer(&st, "10.0.0.9");
	ck_assert_int_eq(p->status, 'D');
	ck_assert_int_eq(p->state, 'J');
	ck_assert(!p->load_known);
	ck_assert_uint_eq(p->load_bytes, 0);
	ck_assert(isnan(p->owns_percent));
	ck_assert_str_eq(p->host_id, "");
	ck_assert_uint_eq(p->tokens, 16);
	ck_assert_str_eq(p->rack, "rack1");
	nt_status_free(&st);
}
END_TEST

START_TEST(test_status_token_per_node_layout_has_token_column)
{
	struct nt_status st;

	/* With one token per node and as many DCs as tokens, Status.java prints Token instead of Tokens. */
	status_ok(str("Datacenter: datacenter1\n=======================\n" LEGEND
		      "--  Address    Load       Owns (effective)  Host ID                               Token         "
		      "                           Rack\n"
		      "UN  127.0.0.1  103.5 KiB  100.0%            " UUID_A
		      "  -9223372036854775808                     rack1\n"),
		  &st);
	ck_assert_uint_eq(st.n_peers, 1);
	check_peer(&st, "127.0.0.1", "datacenter1", "rack1", 'U', 'N', 105984, 100.0, UUID_A, 1);
	nt_status_free(&st);
}
END_TEST

START_TEST(test_status_empty_rack_is_empty_string)
{
	struct nt_status st;

	status_ok(str("Datacenter: dc1\n" LEGEND HDR_4X "UN  10.0.0.1  1 KiB  16  ?  " UUID_A "       \n"
		      "UN  10.0.0.2  1 KiB  16  ?  " UUID_B "  rack two\n"),
		  &st);
	ck_assert_uint_eq(st.n_peers, 2);
	ck_assert_str_eq(peer(&st, "10.0.0.1")->rack, "");
	ck_assert_str_eq(peer(&st, "10.0.0.1")->host_id, UUID_A);
	ck_assert_str_eq(peer(&st, "10.0.0.2")->rack, "rack two");
	nt_status_free(&st);
}
END_TEST

START_TEST(test_status_long_datacenter_name_is_truncated)
{
	struct nt_status st;
	char in[512];

	snprintf(in, sizeof(in), "Datacenter: %0100d\n" LEGEND HDR_4X "UN  10.0.0.1  1 KiB  16  ?  " UUID_A "  r1\n",
		 0);
	status_ok(str(in), &st);
	ck_assert_uint_eq(st.n_peers, 1);
	ck_assert_uint_eq(strlen(st.peers[0].datacenter), NT_NAME_MAX - 1);
	nt_status_free(&st);
}
END_TEST

START_TEST(test_status_1000_generated_rows)
{
	struct nt_status st;
	size_t cap = 1000 * 160 + 512, n = 0;
	char *in = malloc(cap);

	ck_assert_ptr_nonnull(in);
	n += (size_t)snprintf(in + n, cap - n, "Datacenter: big\n===============\n" LEGEND HDR_4X);
	for (int i = 0; i < 1000; i++)
		n += (size_t)snprintf(in + n, cap - n,
				      "%cN  10.%d.%d.%d  %d.%02d GiB  16  0.1%%  %08x-0000-4000-8000-%012x  rack%d\n",
				      i % 7 ? 'U' : 'D', i / 65536, (i / 256) % 256, i % 256, i % 900, i % 100,
				      (unsigned)i, (unsigned)i, i % 3);
	status_ok(mkbuf(in, n), &st);
	free(in);
	ck_assert_uint_eq(st.n_peers, 1000);
	ck_assert_str_eq(st.peers[999].address, "10.0.3.231");
	ck_assert_int_eq(st.peers[999].status, 'U');
	ck_assert_int_eq(st.peers[994].status, 'D');
	ck_assert_str_eq(st.peers[999].host_id, "000003e7-0000-4000-8000-0000000003e7");
	ck_assert_str_eq(st.peers[999].rack, "rack0");
	/* Row 999 has load "99.99 GiB". */
	ck_assert_uint_eq(st.peers[999].load_bytes, 107363444982ULL);
	nt_status_free(&st);
}
END_TEST

START_TEST(test_status_trailing_noise_adds_no_peer)
{
	struct nt_status st;

	status_ok(str("Datacenter: dc1\n" LEGEND HDR_4X "UN  10.0.0.1  1 KiB  16  ?  " UUID_A "  r1\n\n\n"
		      " nodetool rc=0\n\nUN but this is noise after the table\n\n"),
		  &st);
	ck_assert_uint_eq(st.n_peers, 1);
	nt_status_free(&st);
}
END_TEST

START_TEST(test_status_garbage_is_einval_with_line_message)
{
	status_einval(str("hello world\nthis is not nodetool\n"), "line 2: ");
}
END_TEST

START_TEST(test_status_random_bytes_is_einval)
{
	static const unsigned char junk[] = {0x00, 0xff, 0x13, 0x0a, 0x0a, 0xde, 0xad,
					     0xbe, 0xef, 0x0d, 0x55, 0x4e, 0x00};

	status_einval(mkbuf((const char *)junk, sizeof(junk)), "line ");
}
END_TEST

START_TEST(test_status_empty_input_is_einval)
{
	status_einval(str(""), "line 1: empty input");
	status_einval(str("\n\n  \r\n"), "line 3: ");
}
END_TEST

START_TEST(test_status_truncated_mid_row_is_einval)
{
	status_einval(
		str("Datacenter: dc1\n" LEGEND HDR_4X "UN  10.0.0.1  1 KiB  16  ?  " UUID_A "  r1\nUN  10.0.0.2  1.4"),
		"line 6: ");
}
END_TEST

START_TEST(test_status_truncated_mid_host_id_is_einval)
{
	status_einval(str("Datacenter: dc1\n" LEGEND HDR_4X "UN  10.0.0.2  1.48 GiB  16  ?  0f3c6a77-5e21"),
		      "line 5: ");
}
END_TEST

START_TEST(test_status_overlong_address_is_rejected)
{
	char in[512];

	snprintf(in, sizeof(in), "Datacenter: dc1\n" LEGEND HDR_4X "UN  %080d  1 KiB  16  ?  " UUID_A "  r1\n", 1);
	status_einval(str(in), "line 5: ");
}
END_TEST

START_TEST(test_status_load_overflow_is_rejected)
{
	status_einval(str("Datacenter: dc1\n" LEGEND HDR_4X "UN  10.0.0.1  99999999999999999999 GiB  16  ?  " UUID_A
			  "  r1\n"),
		      "line 5: ");
}
END_TEST

START_TEST(test_status_nul_byte_in_address_is_rejected)
{
	static const char in[] = "Datacenter: dc1\nUN  10.0\0.1  1 KiB  16  ?  " UUID_A "  r1\n";

	status_einval(mkbuf(in, sizeof(in) - 1), "line 2: ");
}
END_TEST

/* ---------- sizes ---------- */

START_TEST(test_size_binary_and_legacy_units)
{
	static const struct {
		const char *in;
		uint64_t bytes;
	} cases[] = {
		{"0 bytes", 0},
		{"512 bytes", 512},
		{"5.62 KiB", 5755},
		{"1023.27 KB", 1047828},
		{"987.33 MiB", MIB_987_33},
		{"1.52 GiB", GIB_1_52},
		{"84.72 GB", 90967407329ULL},
		{"2.22 TB", 2440915813663ULL},
		{"2 TiB", 2199023255552ULL},
		{"10.5 PB", 11821949021847552ULL},
		{" 1 EiB \r", 1152921504606846976ULL},
		{"1.5GiB", GIB_1_5},
		{"15.99 EiB", 18435214858663483136ULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = str(cases[i].in);
		uint64_t v = 1;
		int rc = nt_parse_size(b.p, b.n, &v);

		free(b.p);
		ck_assert_msg(rc == 0, "%s: rc %d", cases[i].in, rc);
		ck_assert_msg(v == cases[i].bytes, "%s: %llu != %llu", cases[i].in, (unsigned long long)v,
			      (unsigned long long)cases[i].bytes);
	}
}
END_TEST

START_TEST(test_size_overflow_is_rejected)
{
	static const char *const cases[] = {
		"99999999999999999999 GiB",      "18446744073709551616 bytes", "17179869184 GiB", "16 EiB", "16384 PiB",
		"15.99999999999999999999999 EiB"};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = str(cases[i]);
		uint64_t v = 7;
		int rc = nt_parse_size(b.p, b.n, &v);

		free(b.p);
		ck_assert_msg(rc == -EINVAL, "%s: rc %d", cases[i], rc);
		ck_assert_uint_eq(v, 7);
	}
}
END_TEST

START_TEST(test_size_garbage_is_rejected)
{
	static const char *const cases[] = {"",       "GiB",       "1.52",    "1.52 GiBs", "-1 KiB",    "1. KiB",
					    ".5 KiB", "1.5.2 KiB", "1 2 KiB", "?",         "NaN bytes", "1 Gi"};
	uint64_t v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = str(cases[i]);

		ck_assert_msg(nt_parse_size(b.p, b.n, &v) == -EINVAL, "\"%s\" accepted", cases[i]);
		free(b.p);
	}
	ck_assert_int_eq(nt_parse_size(NULL, 0, &v), -EINVAL);
}
END_TEST

/* ---------- statusbinary / statusgossip / statushandoff ---------- */

/* Runs nt_parse_running on an inline string, expecting -EINVAL with a message starting with line_prefix. */
static void running_einval(const char *in, const char *line_prefix)
{
	struct buf b = str(in);
	char err[128] = "";
	bool running = true;
	int rc = nt_parse_running(b.p, b.n, &running, err, sizeof(err));

	free(b.p);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert(!running);
	ck_assert_msg(starts_with(err, strlen(err), line_prefix), "message \"%s\"", err);
}

START_TEST(test_running_inline_running)
{
	ck_assert(running_ok(str("running\n")));
}
END_TEST

START_TEST(test_running_inline_not_running_crlf_no_final_newline)
{
	ck_assert(!running_ok(str("\r\nnot running\r\n")));
	ck_assert(!running_ok(str("not running")));
}
END_TEST

START_TEST(test_running_statushandoff_sentence)
{
	ck_assert(running_ok(str("Hinted handoff is running\nData center dc2 is disabled\n")));
	ck_assert(!running_ok(str("Hinted handoff is not running\n")));
}
END_TEST

START_TEST(test_running_garbage_is_einval)
{
	running_einval("runnin\n", "line 1: ");
	running_einval("\nRUNNING\n", "line 2: ");
	running_einval("not  running\n", "line 1: ");
	running_einval("error: Failed to connect to '127.0.0.1:7199'\n", "line 1: ");
}
END_TEST

START_TEST(test_running_empty_is_einval)
{
	running_einval("", "line 1: empty input");
	running_einval("\n \n", "line 2: empty input");
}
END_TEST

/* ---------- info inline ---------- */

/* Runs nt_parse_info on an inline string, expecting -EINVAL, a "line N:" message and a zeroed result. */
static void info_einval(const char *in, const char *line_prefix)
{
	struct buf b = str(in);
	struct nt_info info;
	char err[128] = "";
	int rc = nt_parse_info(b.p, b.n, &info, err, sizeof(err));

	free(b.p);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(starts_with(err, strlen(err), line_prefix), "message \"%s\"", err);
	ck_assert(all_zero(&info, sizeof(info)));
}

START_TEST(test_info_crlf_and_na_values)
{
	struct nt_info in;

	/* Info.java prints "N/A" for unreadable uptime and heap, the latter without a newline. */
	info_ok(str("ID                     : " UUID_A "\r\n"
		    "Gossip active          : false\r\n"
		    "Native Transport active: false\r\n"
		    "Load                   : 0 bytes\r\n"
		    "Generation No          : 0\r\n"
		    "Uptime (seconds)       : N/A\r\n"
		    "Heap Memory (MB)       : N/AOff Heap Memory (MB)   : 1.00\r\n"
		    "Data Center            : eu west\r\n"
		    "Rack                   : \r\n"
		    "Exceptions             : 18446744073709551615\r\n"
		    "Percent Repaired       : NaN%\r\n"
		    "Token                  : (node is not joined to the cluster)\r\n"),
		&in);
	ck_assert_str_eq(in.host_id, UUID_A);
	ck_assert(!in.gossip_active);
	ck_assert(!in.native_transport_active);
	ck_assert_uint_eq(in.load_bytes, 0);
	ck_assert_int_eq(in.uptime_seconds, 0);
	ck_assert_double_eq(in.heap_used_mb, 0);
	ck_assert_str_eq(in.datacenter, "eu west");
	ck_assert_str_eq(in.rack, "");
	ck_assert_uint_eq(in.exceptions, UINT64_MAX);
	ck_assert(isnan(in.percent_repaired));
}
END_TEST

START_TEST(test_info_garbage_is_einval)
{
	info_einval("lorem ipsum\ndolor: sit amet\n", "line 2: ");
}
END_TEST

START_TEST(test_info_empty_is_einval)
{
	info_einval("", "line 1: empty input");
}
END_TEST

START_TEST(test_info_missing_id_is_einval)
{
	info_einval("Gossip active          : true\nNative Transport active: true\n", "line 2: ");
}
END_TEST

START_TEST(test_info_bad_values_are_einval_at_their_line)
{
	info_einval("ID                     : " UUID_A "\nGossip active          : yes\n", "line 2: ");
	info_einval("ID                     : " UUID_A "\nGeneration No          : 99999999999999999999\n", "line 2: ");
	info_einval("ID                     : " UUID_A "\nLoad                   : 1 YiB\n", "line 2: ");
	info_einval("ID                     : not-a-uuid\n", "line 1: ");
}
END_TEST

/* ---------- version inline ---------- */

static void version_einval(const char *in, const char *line_prefix)
{
	struct buf b = str(in);
	struct nt_version v;
	char err[128] = "";
	int rc = nt_parse_version(b.p, b.n, &v, err, sizeof(err));

	free(b.p);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(starts_with(err, strlen(err), line_prefix), "message \"%s\"", err);
	ck_assert(all_zero(&v, sizeof(v)));
}

START_TEST(test_version_beta_has_no_patch)
{
	struct nt_version v;

	version_ok(str("ReleaseVersion: 4.0-beta4\n"), &v);
	ck_assert_str_eq(v.release_version, "4.0-beta4");
	ck_assert_int_eq(v.major, 4);
	ck_assert_int_eq(v.minor, 0);
	ck_assert_int_eq(v.patch, -1);
}
END_TEST

START_TEST(test_version_311_crlf_and_snapshot_suffix)
{
	struct nt_version v;

	version_ok(str("ReleaseVersion: 3.11.18\r\n"), &v);
	ck_assert_str_eq(v.release_version, "3.11.18");
	ck_assert_int_eq(v.major, 3);
	ck_assert_int_eq(v.minor, 11);
	ck_assert_int_eq(v.patch, 18);
	version_ok(str("ReleaseVersion: 5.0.3-SNAPSHOT"), &v);
	ck_assert_int_eq(v.patch, 3);
}
END_TEST

START_TEST(test_version_garbage_is_einval)
{
	version_einval("Version: 4.1.8\n", "line 1: ");
	version_einval("ReleaseVersion: four\n", "line 1: ");
	version_einval("ReleaseVersion: 4\n", "line 1: ");
	version_einval("ReleaseVersion: 99999999999.1.1\n", "line 1: ");
	version_einval("ReleaseVersion: 4.1.8-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", "line 1: ");
}
END_TEST

START_TEST(test_version_empty_is_einval)
{
	version_einval("", "line 1: empty input");
}
END_TEST

/* ---------- describecluster inline ---------- */

static void describecluster_einval(const char *in, const char *line_prefix)
{
	struct buf b = str(in);
	struct nt_describecluster dc;
	char err[128] = "";
	int rc = nt_parse_describecluster(b.p, b.n, &dc, err, sizeof(err));

	free(b.p);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(starts_with(err, strlen(err), line_prefix), "message \"%s\"", err);
	ck_assert(all_zero(&dc, sizeof(dc)));
}

START_TEST(test_describecluster_ipv6_pp_crlf_transient_and_simple_strategy)
{
	struct nt_describecluster dc;

	describecluster_ok(
		str("Cluster Information:\r\n"
		    "\tName: Lab Cluster\r\n"
		    "\tSnitch: org.apache.cassandra.locator.SimpleSnitch\r\n"
		    "\tDynamicEndPointSnitch: disabled\r\n"
		    "\tPartitioner: org.apache.cassandra.dht.Murmur3Partitioner\r\n"
		    "\tSchema versions:\r\n"
		    "\t\t11111111-1111-3111-8111-111111111111: [[2001:db8::1]:7000, [2001:db8::2]:7000]\r\n\r\n"
		    "\t\t22222222-2222-3222-8222-222222222222: [[2001:db8::3]:7000]\r\n\r\n"
		    "\t\tUNREACHABLE: [[2001:db8::4]:7000, [2001:db8::5]:7000]\r\n\r\n"
		    "Stats for all nodes:\r\n\tLive: 3\r\n\tJoining: 1\r\n\tMoving: 0\r\n\tLeaving: "
		    "0\r\n\tUnreachable: 2\r\n\r\n"
		    "Data Centers: \r\n\tdc1 #Nodes: 5 #Down: 2\r\n\r\n"
		    "Database versions:\r\n\t4.0.15: [[2001:db8::1]:7000]\r\n\r\n\t4.1.8: [[2001:db8::2]:7000]\r\n\r\n"
		    "Keyspaces:\r\n"
		    "\tks_transient -> Replication class: NetworkTopologyStrategy {dc1=3/1, dc2=5}\r\n"
		    "\tks_simple -> Replication class: SimpleStrategy {replication_factor=2}\r\n"
		    "something went wrong for keyspace: broken\r\n"
		    "\tsystem -> Replication class: LocalStrategy {}\r\n"
		    "\r\nNote: Non-system keyspaces don't have the same replication settings\r\n"),
		&dc);
	ck_assert_str_eq(dc.name, "Lab Cluster");
	ck_assert_uint_eq(dc.schema_versions, 2);
	ck_assert_uint_eq(dc.unreachable, 2);
	ck_assert(dc.has_stats);
	ck_assert_uint_eq(dc.live, 3);
	ck_assert_uint_eq(dc.joining, 1);
	ck_assert_uint_eq(dc.unreachable_stat, 2);
	ck_assert_uint_eq(dc.n_database_versions, 2);
	ck_assert_uint_eq(dc.n_keyspaces, 3);
	check_keyspace(&dc, "ks_transient", "NetworkTopologyStrategy", 2, "dc1", 3, "dc2", 5);
	check_keyspace(&dc, "ks_simple", "SimpleStrategy", 1, "replication_factor", 2, NULL, 0);
	check_keyspace(&dc, "system", "LocalStrategy", 0, NULL, 0, NULL, 0);
	nt_describecluster_free(&dc);
}
END_TEST

START_TEST(test_describecluster_more_than_16_dcs_keeps_first_16)
{
	struct nt_describecluster dc;
	char in[1024];
	size_t n = (size_t)snprintf(
		in, sizeof(in),
		"Cluster Information:\n\tName: c\nKeyspaces:\n\tks -> Replication class: NetworkTopologyStrategy {");

	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "%sdc%d=%d", i ? ", " : "", i, i + 1);
	snprintf(in + n, sizeof(in) - n, "}\n");
	describecluster_ok(str(in), &dc);
	ck_assert_uint_eq(dc.n_keyspaces, 1);
	ck_assert_uint_eq(dc.keyspaces[0].n_factors, 16);
	ck_assert_str_eq(dc.keyspaces[0].factors[15].key, "dc15");
	ck_assert_uint_eq(dc.keyspaces[0].factors[15].value, 16);
	nt_describecluster_free(&dc);
}
END_TEST

START_TEST(test_describecluster_garbage_is_einval)
{
	describecluster_einval("Name: x\nSchema versions:\n", "line 2: ");
	describecluster_einval("", "line 1: empty input");
}
END_TEST

START_TEST(test_describecluster_bad_stat_is_einval)
{
	describecluster_einval("Cluster Information:\n\tName: c\nStats for all nodes:\n\tLive: 4294967296\n",
			       "line 4: ");
}
END_TEST

/* ---------- listsnapshots inline ---------- */

static void snapshots_einval(const char *in, const char *line_prefix)
{
	struct buf b = str(in);
	struct nt_snapshots s;
	char err[128] = "";
	int rc = nt_parse_listsnapshots(b.p, b.n, &s, err, sizeof(err));

	free(b.p);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(starts_with(err, strlen(err), line_prefix), "message \"%s\"", err);
	ck_assert(all_zero(&s, sizeof(s)));
}

#define SNAP_HDR_50                                                                                                    \
	"Snapshot Details: \nSnapshot name Keyspace name Column family name True size Size on disk Creation time "     \
	"Expiration time Ephemeral\n"

START_TEST(test_listsnapshots_ephemeral_true_and_second_precision_instants)
{
	struct nt_snapshots s;

	snapshots_ok(str(SNAP_HDR_50 "eph  ks  t  1 KiB  2 KiB  2024-02-29T00:00:00Z  2024-03-01T00:00:00.5Z  true \r\n"
				     "old  ks  t  0 bytes  1 bytes  1970-01-01T00:00:00.000000001Z  false\r\n"
				     "\r\nTotal TrueDiskSpaceUsed: 1 KiB\r\n\r\n"),
		     &s);
	ck_assert_uint_eq(s.n_rows, 2);
	check_snapshot(&s.rows[0], "eph", "ks", "t", 1024, 2048, 1709164800000LL, 1709251200500LL);
	ck_assert(s.rows[0].ephemeral);
	check_snapshot(&s.rows[1], "old", "ks", "t", 0, 1, 0, 0);
	ck_assert(!s.rows[1].ephemeral);
	ck_assert_uint_eq(s.total_true_bytes, 1024);
	nt_snapshots_free(&s);
}
END_TEST

START_TEST(test_listsnapshots_311_without_final_newline_empty)
{
	struct nt_snapshots s;

	/* 3.11 printed "There are no snapshots" with printf and no newline. */
	snapshots_ok(str("Snapshot Details: \nThere are no snapshots"), &s);
	ck_assert_uint_eq(s.n_rows, 0);
}
END_TEST

START_TEST(test_listsnapshots_truncated_row_is_einval)
{
	snapshots_einval(SNAP_HDR_50 "a  ks  t  1 KiB  2 KiB  2024-02-29T00:00:00Z\nb  ks  t  1 Ki", "line 4: ");
	snapshots_einval(SNAP_HDR_50 "a  ks  t  1 KiB  2 KiB  2024-02-29T00:0", "line 3: ");
	snapshots_einval("Snapshot Details: \n", "line 1: ");
}
END_TEST

START_TEST(test_listsnapshots_invalid_instant_is_einval)
{
	snapshots_einval(SNAP_HDR_50 "a  ks  t  1 KiB  2 KiB  2023-02-29T00:00:00Z\n", "line 3: ");
	snapshots_einval(SNAP_HDR_50 "a  ks  t  1 KiB  2 KiB  2023-13-01T00:00:00Z\n", "line 3: ");
	snapshots_einval(SNAP_HDR_50 "a  ks  t  1 KiB  2 KiB  2023-01-01T24:00:00Z\n", "line 3: ");
	snapshots_einval(SNAP_HDR_50 "a  ks  t  1 KiB  2 KiB  2023-01-01T00:00:00.Z\n", "line 3: ");
	snapshots_einval(SNAP_HDR_50 "a  ks  t  1 KiB  2 KiB  2023-01-01T00:00:00.1234567890Z\n", "line 3: ");
	snapshots_einval(SNAP_HDR_50
			 "a  ks  t  1 KiB  2 KiB  2023-01-01T00:00:00Z 2023-01-01T00:00:00Z 2023-01-01T00:00:00Z\n",
			 "line 3: ");
}
END_TEST

START_TEST(test_listsnapshots_garbage_is_einval)
{
	snapshots_einval("no snapshots here\n", "line 1: ");
	snapshots_einval("Snapshot Details: \nsomething else\n", "line 2: ");
	snapshots_einval("", "line 1: empty input");
}
END_TEST

START_TEST(test_listsnapshots_size_overflow_is_einval)
{
	snapshots_einval(SNAP_HDR_50 "a  ks  t  99999999999999999999 GiB  2 KiB\n", "line 3: ");
	snapshots_einval(SNAP_HDR_50 "a  ks  t  1 KiB  2 KiB\n\nTotal TrueDiskSpaceUsed: 17179869184 GiB\n",
			 "line 5: ");
}
END_TEST

/* ---------- error reporting and robustness ---------- */

START_TEST(test_err_null_and_tiny_errlen_are_safe)
{
	struct buf b = str("garbage");
	struct nt_status st;
	char err[8];

	ck_assert_int_eq(nt_parse_status(b.p, b.n, &st, NULL, 0), -EINVAL);
	ck_assert_int_eq(nt_parse_status(b.p, b.n, &st, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "line 1:");
	ck_assert_int_eq(nt_parse_status(b.p, b.n, &st, err, 1), -EINVAL);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(nt_parse_status(NULL, 5, &st, NULL, 0), -EINVAL);
	ck_assert_int_eq(nt_parse_status(b.p, b.n, NULL, NULL, 0), -EINVAL);
	nt_status_free(NULL);
	nt_describecluster_free(NULL);
	nt_snapshots_free(NULL);
	free(b.p);
}
END_TEST

/* Runs every parser on b, checking each either succeeds or fails with -EINVAL and a zeroed result. */
static void run_all_parsers(struct buf b)
{
	struct nt_status st;
	struct nt_info in;
	struct nt_version v;
	struct nt_describecluster dc;
	struct nt_snapshots s;
	bool running;
	uint64_t bytes;
	char err[64];
	int rc;

	rc = nt_parse_status(b.p, b.n, &st, err, sizeof(err));
	ck_assert(rc == 0 || (rc == -EINVAL && all_zero(&st, sizeof(st))));
	nt_status_free(&st);
	rc = nt_parse_info(b.p, b.n, &in, err, sizeof(err));
	ck_assert(rc == 0 || (rc == -EINVAL && all_zero(&in, sizeof(in))));
	rc = nt_parse_version(b.p, b.n, &v, err, sizeof(err));
	ck_assert(rc == 0 || (rc == -EINVAL && all_zero(&v, sizeof(v))));
	rc = nt_parse_describecluster(b.p, b.n, &dc, err, sizeof(err));
	ck_assert(rc == 0 || (rc == -EINVAL && all_zero(&dc, sizeof(dc))));
	nt_describecluster_free(&dc);
	rc = nt_parse_listsnapshots(b.p, b.n, &s, err, sizeof(err));
	ck_assert(rc == 0 || (rc == -EINVAL && all_zero(&s, sizeof(s))));
	nt_snapshots_free(&s);
	rc = nt_parse_running(b.p, b.n, &running, err, sizeof(err));
	ck_assert(rc == 0 || rc == -EINVAL);
	rc = nt_parse_size(b.p, b.n, &bytes);
	ck_assert(rc == 0 || rc == -EINVAL);
}

START_TEST(test_mutated_inputs_never_crash)
{
	static const char *const seeds[] = {
		"Datacenter: dc1\n===============\n" LEGEND HDR_4X "UN  10.0.0.1  1.5 GiB  16  50.0%  " UUID_A "  r1\n"
		"DN  [::1]:7000  ?  16  ?  null  r2\n\nNote: ownership information is meaningless\n",
		"Datacenter: dc1\n" LEGEND "UN  127.0.0.1  103.5 KiB  100.0%  " UUID_A
		"  -9223372036854775808  rack1\n",
		"ID                     : " UUID_A "\nGossip active          : true\nLoad                   : 1 GiB\n"
		"Heap Memory (MB)       : 1.00 / 2.00\nPercent Repaired       : 100.0%\nBootstrap state        : "
		"COMPLETED\n",
		"ReleaseVersion: 4.1.8\nGitSHA: abc\n",
		"Cluster Information:\n\tName: c\n\tSchema versions:\n\t\tx: [a, b]\n\n\t\tUNREACHABLE: [c]\n\n"
		"Stats for all nodes:\n\tLive: 3\nDatabase versions:\n\t4.1.8: [a]\n\nKeyspaces:\n"
		"\tks -> Replication class: NetworkTopologyStrategy {dc1=3/1, dc2=2}\n",
		SNAP_HDR_50 "eph  ks  t  1 KiB  2 KiB  2024-02-29T00:00:00Z  2024-03-01T00:00:00.5Z  true\n\nTotal "
			    "TrueDiskSpaceUsed: 1 KiB\n",
		"not running\n",
		"1.52 GiB",
	};
	static const char alphabet[] = " \t\r\n:%?-.,[]{}=/0123456789UDNLJMZTKiGB\0\xff\x80";
	uint32_t rng = 2463534242u;

	for (int iter = 0; iter < 4000; iter++) {
		const char *seed = seeds[(size_t)iter % (sizeof(seeds) / sizeof(seeds[0]))];
		size_t n = strlen(seed);
		struct buf b = mkbuf(seed, n);
		int edits;

		rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
		edits = (int)(rng % 6);
		for (int e = 0; e < edits && b.n; e++) {
			rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
			b.p[rng % b.n] = alphabet[(rng >> 16) % (sizeof(alphabet) - 1)];
		}
		rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
		if (rng % 3 == 0)
			b.n = (rng >> 8) % (b.n + 1);
		run_all_parsers(b);
		free(b.p);
	}
	for (int iter = 0; iter < 500; iter++) {
		unsigned char raw[256];
		size_t n;

		rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
		n = rng % sizeof(raw);
		for (size_t i = 0; i < n; i++) {
			rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
			raw[i] = (unsigned char)rng;
		}
		{
			struct buf b = mkbuf((const char *)raw, n);

			run_all_parsers(b);
			free(b.p);
		}
	}
}
END_TEST

static Suite *nodetool_parse_suite(void)
{
	Suite *s = suite_create("nodetool_parse");
	TCase *data = tcase_create("shared_samples");
	TCase *tc = tcase_create("inline");

	tcase_add_test(data, test_status_311_keyspace_has_six_peers_with_effective_owns);
	tcase_add_test(data, test_status_311_no_keyspace_owns_unknown_and_note);
	tcase_add_test(data, test_status_4x_down_joining_has_dn_and_uj);
	tcase_add_test(data, test_status_4x_keyspace_padded_columns_two_dcs);
	tcase_add_test(data, test_status_4x_no_keyspace_owns_nan_with_note);
	tcase_add_test(data, test_status_captured_multi_dc_mixed_vnodes_legacy_gb);
	tcase_add_test(data, test_status_captured_nodetool_status_tb_mb_kb_pb_units);
	tcase_add_test(data, test_status_captured_single_dc_16_vnodes);
	tcase_add_test(data, test_status_captured_adoc_three_nodes_single_token);
	tcase_add_test(data, test_status_captured_adoc_grep_output_empty_dc_and_one_down);
	tcase_add_test(data, test_status_captured_md_311_single_node);
	tcase_add_test(data, test_info_311_with_thrift_line);
	tcase_add_test(data, test_info_40_41_with_network_cache);
	tcase_add_test(data, test_info_50_bootstrap_state_completed);
	tcase_add_test(data, test_info_captured_complete_tb_load_with_trailer);
	tcase_add_test(data, test_info_captured_md_311);
	tcase_add_test(data, test_version_41);
	tcase_add_test(data, test_version_50_verbose_ignores_git_sha);
	tcase_add_test(data, test_statusbinary_running);
	tcase_add_test(data, test_statusbinary_disabled_not_running);
	tcase_add_test(data, test_statusgossip_running);
	tcase_add_test(data, test_statusgossip_disabled_not_running);
	tcase_add_test(data, test_describecluster_311_has_no_stats_or_keyspaces);
	tcase_add_test(data, test_describecluster_4x_all_up_stats_and_keyspaces);
	tcase_add_test(data, test_describecluster_4x_one_down_counts_unreachable);
	tcase_add_test(data, test_describecluster_captured_18_nodes_one_schema);
	tcase_add_test(data, test_describecluster_captured_md_name_with_space);
	tcase_add_test(data, test_listsnapshots_311_40_no_time_columns);
	tcase_add_test(data, test_listsnapshots_41_50_creation_and_expiration_times);
	tcase_add_test(data, test_listsnapshots_50_ephemeral_column_false);
	tcase_add_test(data, test_listsnapshots_empty_has_zero_rows);
	tcase_add_test(data, test_listsnapshots_captured_doc_50_nine_rows);
	tcase_add_test(data, test_every_sample_file_parses);
	suite_add_tcase(s, data);

	tcase_add_test(tc, test_status_ipv6_addresses);
	tcase_add_test(tc, test_status_pp_ip_port_addresses);
	tcase_add_test(tc, test_status_crlf_line_endings);
	tcase_add_test(tc, test_status_leaving_moving_unknown_status_and_comma_decimals);
	tcase_add_test(tc, test_status_unknown_load_and_null_host_id);
	tcase_add_test(tc, test_status_token_per_node_layout_has_token_column);
	tcase_add_test(tc, test_status_empty_rack_is_empty_string);
	tcase_add_test(tc, test_status_long_datacenter_name_is_truncated);
	tcase_add_test(tc, test_status_1000_generated_rows);
	tcase_add_test(tc, test_status_trailing_noise_adds_no_peer);
	tcase_add_test(tc, test_status_garbage_is_einval_with_line_message);
	tcase_add_test(tc, test_status_random_bytes_is_einval);
	tcase_add_test(tc, test_status_empty_input_is_einval);
	tcase_add_test(tc, test_status_truncated_mid_row_is_einval);
	tcase_add_test(tc, test_status_truncated_mid_host_id_is_einval);
	tcase_add_test(tc, test_status_overlong_address_is_rejected);
	tcase_add_test(tc, test_status_load_overflow_is_rejected);
	tcase_add_test(tc, test_status_nul_byte_in_address_is_rejected);
	tcase_add_test(tc, test_size_binary_and_legacy_units);
	tcase_add_test(tc, test_size_overflow_is_rejected);
	tcase_add_test(tc, test_size_garbage_is_rejected);
	tcase_add_test(tc, test_running_inline_running);
	tcase_add_test(tc, test_running_inline_not_running_crlf_no_final_newline);
	tcase_add_test(tc, test_running_statushandoff_sentence);
	tcase_add_test(tc, test_running_garbage_is_einval);
	tcase_add_test(tc, test_running_empty_is_einval);
	tcase_add_test(tc, test_info_crlf_and_na_values);
	tcase_add_test(tc, test_info_garbage_is_einval);
	tcase_add_test(tc, test_info_empty_is_einval);
	tcase_add_test(tc, test_info_missing_id_is_einval);
	tcase_add_test(tc, test_info_bad_values_are_einval_at_their_line);
	tcase_add_test(tc, test_version_beta_has_no_patch);
	tcase_add_test(tc, test_version_311_crlf_and_snapshot_suffix);
	tcase_add_test(tc, test_version_garbage_is_einval);
	tcase_add_test(tc, test_version_empty_is_einval);
	tcase_add_test(tc, test_describecluster_ipv6_pp_crlf_transient_and_simple_strategy);
	tcase_add_test(tc, test_describecluster_more_than_16_dcs_keeps_first_16);
	tcase_add_test(tc, test_describecluster_garbage_is_einval);
	tcase_add_test(tc, test_describecluster_bad_stat_is_einval);
	tcase_add_test(tc, test_listsnapshots_ephemeral_true_and_second_precision_instants);
	tcase_add_test(tc, test_listsnapshots_311_without_final_newline_empty);
	tcase_add_test(tc, test_listsnapshots_truncated_row_is_einval);
	tcase_add_test(tc, test_listsnapshots_invalid_instant_is_einval);
	tcase_add_test(tc, test_listsnapshots_garbage_is_einval);
	tcase_add_test(tc, test_listsnapshots_size_overflow_is_einval);
	tcase_add_test(tc, test_err_null_and_tiny_errlen_are_safe);
	tcase_add_test(tc, test_mutated_inputs_never_crash);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_forked(nodetool_parse_suite(), CK_NORMAL);
}
