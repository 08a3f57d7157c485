/* nodetool_parse: pure parsers for nodetool output (bytes in, values out; no loop, no I/O). */
#ifndef CA_NODETOOL_PARSE_H
#define CA_NODETOOL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Every parser takes the raw stdout of one nodetool call (`buf`, `len` bytes, not
 * necessarily NUL-terminated, may contain CRLF, trailing spaces, a leading
 * "nodetool rc=0" style noise line is NOT expected: callers pass clean output) and
 * fills a caller-owned result. On error it returns a negative errno (-EINVAL for a
 * format it does not recognise, -ENOMEM) and, when `err` is not NULL, writes a
 * one-line message of at most `errlen` bytes saying where ("line 7: ...") and why.
 * On error the result is left zeroed (nothing to free).
 *
 * Formats follow src/java/org/apache/cassandra/tools/nodetool/<Command>.java of Cassandra
 * 3.11, 4.0, 4.1 and 5.0 (Status, Info, Version, DescribeCluster, StatusBinary,
 * StatusGossip, ListSnapshots) and formatter/TableBuilder.java.
 */

#define NT_ADDR_MAX    72 /* IPv6 with [brackets] and :port fits */
#define NT_NAME_MAX    64 /* datacenter, rack, keyspace, table names */
#define NT_HOST_ID_MAX 40
#define NT_TAG_MAX     256

/* Sizes as printed by nodetool ("1.52 GiB", "987.33 MiB", "5.62 KiB", "0 bytes",
 * older "84.72 GB", "1023.27 KB", "2.22 TB") converted to bytes (binary multiples:
 * Cassandra's FileUtils.stringifyFileSize uses 1024 for both spellings), rounded to the
 * nearest byte. A unit is required (bytes/B, K, M, G, T, P, E with or without "i",
 * any case); space around and between number and unit is allowed, and so is a ','
 * decimal separator. Returns 0 and sets *bytes, or -EINVAL (also when the value does
 * not fit in 64 bits; *bytes is then unchanged). */
int nt_parse_size(const char *s, size_t len, uint64_t *bytes);

/* One row of `nodetool status` (Cassandra Status.java). */
struct nt_peer {
	char address[NT_ADDR_MAX];    /* as printed: "10.0.1.11", "::1", "10.0.1.11:7000" with -pp;
				       * a longer address makes the parse fail */
	char datacenter[NT_NAME_MAX]; /* from the "Datacenter: X" header above the row (truncated) */
	char rack[NT_NAME_MAX];       /* rest of the row, trimmed (truncated); "" when empty */
	char status;                  /* 'U' or 'D' (or '?' if nodetool printed '?') */
	char state;                   /* 'N', 'L', 'J' or 'M' */
	uint64_t load_bytes;          /* 0 when load is "?" */
	bool load_known;
	double owns_percent;          /* effective or raw ownership; NAN when printed "?" */
	char host_id[NT_HOST_ID_MAX]; /* a full UUID, or "" when printed "?" or "null" */
	uint32_t tokens;              /* 1 in the single-token layout (Token column instead of Tokens) */
};

struct nt_status {
	struct nt_peer *peers; /* malloc'd array, owned by the struct; free with nt_status_free() */
	size_t n_peers;
	bool ownership_meaningless; /* a "Note: Non-system keyspaces don't have..." line was present */
};

/* `nodetool status [keyspace]`, with or without -r/-pp, 3.11 fixed widths (a long load
 * overflows its column: rows are split on whitespace, never by position) and 4.x
 * padded columns. Rows are the lines starting with a status/state pair ("UN", "DJ",
 * "?N"...) below a "Datacenter:" header; any other line ends that data center's table,
 * so trailing notes and noise are ignored. A malformed or truncated row is an error
 * (-EINVAL), and so are zero data centers. */
int nt_parse_status(const char *buf, size_t len, struct nt_status *out, char *err, size_t errlen);
void nt_status_free(struct nt_status *st);

/* `nodetool info` (Info.java). Keys missing in older versions, and values printed
 * "N/A", stay zero/false/""; names longer than their arrays are truncated. */
struct nt_info {
	char host_id[NT_HOST_ID_MAX];
	bool gossip_active;
	bool native_transport_active;
	uint64_t load_bytes;
	int64_t generation;
	int64_t uptime_seconds;
	double heap_used_mb;
	double heap_max_mb;
	double off_heap_mb;
	char datacenter[NT_NAME_MAX];
	char rack[NT_NAME_MAX];
	uint64_t exceptions;
	double percent_repaired;  /* NAN when absent or printed "NaN%" */
	char bootstrap_state[32]; /* 5.0: "COMPLETED", ...; "" before */
};
/* Requires at least the "ID" line and either "Gossip active" or "Native Transport active";
 * a known key with a malformed value is an error (-EINVAL). */
int nt_parse_info(const char *buf, size_t len, struct nt_info *out, char *err, size_t errlen);

/* `nodetool version` ("ReleaseVersion: 4.1.8", 5.0 -v adds "GitSHA: ..."). */
struct nt_version {
	char release_version[32]; /* "4.1.8", "5.0.2", "4.0-beta4" as printed (longer: -EINVAL) */
	int major, minor, patch;  /* patch -1 when absent */
};
int nt_parse_version(const char *buf, size_t len, struct nt_version *out, char *err, size_t errlen);

/* `nodetool statusbinary` / `statusgossip` / `statushandoff`: "running" or "not running"
 * (statushandoff: "Hinted handoff is running"). The first non-blank line decides; later
 * lines (statushandoff's disabled data centers) are ignored. */
int nt_parse_running(const char *buf, size_t len, bool *running, char *err, size_t errlen);

struct nt_keyspace {
	char name[NT_NAME_MAX];
	char replication_class[NT_NAME_MAX]; /* "NetworkTopologyStrategy", "SimpleStrategy", "LocalStrategy", ... */
	size_t n_factors;
	/* dc1=3 or replication_factor=3; "3/1" (transient replicas) gives 3. Options whose value
	 * is not a count are skipped, and only the first 16 are kept. */
	struct {
		char key[NT_NAME_MAX];
		uint32_t value;
	} factors[16];
};

/* `nodetool describecluster` (DescribeCluster.java). 4.0+ adds stats, data centers,
 * database versions and keyspaces; on 3.11 those stay empty. */
struct nt_describecluster {
	char name[128];
	char snitch[128];
	char partitioner[128];
	uint32_t schema_versions; /* distinct schema version UUIDs, UNREACHABLE not counted */
	uint32_t unreachable;     /* addresses listed under UNREACHABLE */
	bool has_stats;           /* 4.0+ "Stats for all nodes" block present */
	uint32_t live, joining, moving, leaving, unreachable_stat;
	size_t n_database_versions;    /* distinct entries under "Database versions:" */
	struct nt_keyspace *keyspaces; /* malloc'd, owned; free with nt_describecluster_free() */
	size_t n_keyspaces;
};
int nt_parse_describecluster(const char *buf, size_t len, struct nt_describecluster *out, char *err, size_t errlen);
void nt_describecluster_free(struct nt_describecluster *dc);

/* One row of `nodetool listsnapshots` (ListSnapshots.java): one per tag x table. */
struct nt_snapshot {
	char tag[NT_TAG_MAX];       /* a longer tag makes the parse fail */
	char keyspace[NT_NAME_MAX]; /* truncated */
	char table[NT_NAME_MAX];    /* truncated */
	uint64_t true_size_bytes;
	uint64_t size_on_disk_bytes;
	int64_t created_unix_ms; /* 4.1+ "Creation time" column; 0 when absent */
	int64_t expires_unix_ms; /* 0 when absent or empty. Empty time cells leave no
				  * token, so a row's first instant is taken as the
				  * creation time and a second one as the expiration. */
	bool ephemeral;          /* 5.0 column; false when absent */
};
struct nt_snapshots {
	struct nt_snapshot *rows; /* malloc'd, owned; free with nt_snapshots_free() */
	size_t n_rows;
	uint64_t total_true_bytes; /* "Total TrueDiskSpaceUsed" */
};
/* "There are no snapshots" yields n_rows == 0 and returns 0. */
int nt_parse_listsnapshots(const char *buf, size_t len, struct nt_snapshots *out, char *err, size_t errlen);
void nt_snapshots_free(struct nt_snapshots *s);

#endif
