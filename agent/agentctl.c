/* agentctl: cassandra-agentctl, the on-call engineer's client of the status socket. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "certs_cmd.h"
#include "config_cmd.h"

#define DEFAULT_SOCKET   "/run/cassandra-agent/agent.sock"
#define REPLY_MAX        (64 * 1024 * 1024)
#define SOCKET_TIMEOUT_S 30

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static void usage(FILE *f)
{
	fprintf(f, "usage: cassandra-agentctl [--socket PATH] [--json] COMMAND\n"
		   "daemon commands: status ring lease snapshots certs config events version\n"
		   "                 snapshot take [--tag T] | maintenance pause|resume | lease release --force\n"
		   "offline commands: config show|set|unset|diff ..., truststore build|show ..., keystore build ...\n");
}

/* Sends `line` and reads one reply line. Returns a malloc'd NUL-terminated reply or NULL
 * with a message on stderr. */
static char *socket_request(const char *path, const char *line)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = SOCKET_TIMEOUT_S};
	size_t len = 0, cap = 65536;
	char *buf = NULL;
	int fd;

	if (strlen(path) >= sizeof sa.sun_path) {
		fprintf(stderr, "cassandra-agentctl: socket path too long: %s\n", path);
		return NULL;
	}
	strcpy(sa.sun_path, path); // NOLINT(clang-analyzer-security.insecureAPI.strcpy): strlen(path) checked above
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		fprintf(stderr, "cassandra-agentctl: cannot connect to %s: %s (is cassandra-agent running?)\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) || write(fd, "\n", 1) != 1) {
		fprintf(stderr, "cassandra-agentctl: write to %s: %s\n", path, strerror(errno));
		goto fail;
	}
	buf = malloc(cap);
	if (!buf)
		goto fail;
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *p;

			if (cap >= REPLY_MAX) {
				fprintf(stderr, "cassandra-agentctl: reply larger than %d bytes\n", REPLY_MAX);
				goto fail;
			}
			p = realloc(buf, cap * 2);
			if (!p)
				goto fail;
			buf = p;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "cassandra-agentctl: read from %s: %s\n", path,
				errno == EAGAIN ? "timed out" : strerror(errno));
			goto fail;
		}
		if (n == 0) {
			fprintf(stderr, "cassandra-agentctl: the agent closed the connection without a reply\n");
			goto fail;
		}
		len += (size_t)n;
		buf[len] = '\0';
		char *nl = memchr(buf, '\n', len);

		if (nl) {
			*nl = '\0';
			break;
		}
	}
	close(fd);
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static double jnum(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static void human_bytes(double b, char *out, size_t n)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	int u = 0;

	while (b >= 1024 && u < 5) {
		b /= 1024;
		u++;
	}
	snprintf(out, n, u ? "%.2f %s" : "%.0f %s", b, units[u]);
}

static char letter(const char *enum_name, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(enum_name, prefix, n) == 0 && enum_name[n]) {
		// NOLINTNEXTLINE(bugprone-narrowing-conversions): a char either way, '?' is an int in C
		return enum_name[n] == 'U' && strcmp(enum_name + n, "UNKNOWN") == 0 ? '?' : enum_name[n];
	}
	return '?';
}

/* The condition codes raised about `subject`, comma separated. */
static void conditions_for(json_t *conds, const char *subject, char *out, size_t n)
{
	size_t i, o = 0;
	json_t *c;

	out[0] = '\0';
	json_array_foreach(conds, i, c)
	{
		if (strcmp(jstr(c, "subject"), subject) == 0 && o < n)
			o += (size_t)snprintf(out + o, n - o, "%s%s", o ? "," : "", jstr(c, "code"));
	}
}

static int cmp_peer(const void *a, const void *b)
{
	json_t *pa = *(json_t *const *)a, *pb = *(json_t *const *)b;
	int r = strcmp(jstr(pa, "datacenter"), jstr(pb, "datacenter"));

	if (!r)
		r = strcmp(jstr(pa, "rack"), jstr(pb, "rack"));
	if (!r)
		r = strcmp(jstr(pa, "address"), jstr(pb, "address"));
	return r;
}

/* Prints the ring grouped by datacenter and rack, like nodetool status plus conditions. */
static void print_ring(json_t *ring, json_t *conds)
{
	size_t n = json_array_size(ring), i, w_addr = 7;
	json_t **peers = calloc(n ? n : 1, sizeof *peers);
	const char *dc = NULL, *rack = NULL;

	if (!peers)
		return;
	for (i = 0; i < n; i++) {
		peers[i] = json_array_get(ring, i);
		if (strlen(jstr(peers[i], "address")) > w_addr)
			w_addr = strlen(jstr(peers[i], "address"));
	}
	qsort(peers, n, sizeof *peers, cmp_peer);
	for (i = 0; i < n; i++) {
		json_t *p = peers[i];
		char load[32], owns[16], cond[256];
		double o = jnum(p, "owns_percent");

		if (!dc || strcmp(dc, jstr(p, "datacenter")) != 0) {
			dc = jstr(p, "datacenter");
			rack = NULL;
			printf("%sDatacenter: %s\n", i ? "\n" : "", dc);
		}
		if (!rack || strcmp(rack, jstr(p, "rack")) != 0) {
			rack = jstr(p, "rack");
			printf("  Rack: %s\n", rack);
			printf("    %-2s  %-*s  %-10s  %-6s  %-7s  %-36s  %s\n", "--", (int)w_addr, "Address", "Load",
			       "Tokens", "Owns", "Host ID", "Conditions");
		}
		human_bytes(jnum(p, "load_bytes"), load, sizeof load);
		if (isnan(o) || !json_is_number(json_object_get(p, "owns_percent")))
			snprintf(owns, sizeof owns, "?");
		else
			snprintf(owns, sizeof owns, "%.1f%%", o);
		conditions_for(conds, jstr(p, "address"), cond, sizeof cond);
		printf("    %c%c  %-*s  %-10s  %-6.0f  %-7s  %-36s  %s\n", letter(jstr(p, "status"), "PEER_STATUS_"),
		       letter(jstr(p, "state"), "PEER_STATE_"), (int)w_addr, jstr(p, "address"), load,
		       jnum(p, "tokens"), owns, jstr(p, "host_id")[0] ? jstr(p, "host_id") : "?", cond);
	}
	free(peers);
}

static const char *severity_short(const char *s)
{
	return strcmp(s, "SEVERITY_CRITICAL") == 0  ? "CRITICAL"
	       : strcmp(s, "SEVERITY_WARNING") == 0 ? "WARNING"
						    : "INFO";
}

static void print_time(int64_t ms, char *out, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0) {
		snprintf(out, n, "-");
		return;
	}
	gmtime_r(&t, &tm);
	// NOLINTNEXTLINE(cert-err33-c): callers pass 32 bytes, any date fits
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_status(json_t *r)
{
	json_t *node = json_object_get(r, "node"), *cs = json_object_get(r, "cassandra");
	json_t *host = json_object_get(r, "host"), *conds = json_object_get(r, "conditions"), *d, *c;
	char t[32], a[32], b[32];
	size_t i;

	printf("Node\n");
	printf("  %-18s %s\n", "Address", jstr(node, "address"));
	printf("  %-18s %s\n", "Host ID", jstr(node, "host_id"));
	printf("  %-18s %s / %s\n", "Datacenter/Rack", jstr(node, "datacenter"), jstr(node, "rack"));
	printf("  %-18s %s\n", "Cluster", jstr(node, "cluster_name"));
	printf("  %-18s %s\n", "Hostname", jstr(node, "hostname"));
	printf("  %-18s %s\n", "Agent version", jstr(r, "agent_version"));
	printf("Cassandra\n");
	printf("  %-18s %s\n", "Version", jstr(cs, "version"));
	printf("  %-18s %s\n", "Unit", jstr(cs, "unit_active_state"));
	printf("  %-18s %s\n", "Gossip",
	       json_is_true(json_object_get(cs, "gossip_running")) ? "running" : "not running");
	printf("  %-18s %s\n", "Native transport",
	       json_is_true(json_object_get(cs, "native_transport_running")) ? "running" : "not running");
	if (json_is_true(json_object_get(cs, "cql_probe_ok")))
		printf("  %-18s ok (%.2f ms)\n", "CQL probe", jnum(cs, "cql_probe_latency_ms"));
	else
		printf("  %-18s failing\n", "CQL probe");
	printf("  %-18s %.0f\n", "Schema versions", jnum(cs, "schema_versions"));
	printf("Host\n");
	human_bytes(jnum(host, "memory_available_bytes"), a, sizeof a);
	human_bytes(jnum(host, "memory_total_bytes"), b, sizeof b);
	printf("  %-18s %.1f%%   load %.2f   memory %s available of %s\n", "CPU", jnum(host, "cpu_percent"),
	       jnum(host, "load1"), a, b);
	json_array_foreach(json_object_get(host, "disks"), i, d)
	{
		double total = jnum(d, "total_bytes"), free_b = jnum(d, "free_bytes");

		human_bytes(free_b, a, sizeof a);
		human_bytes(total, b, sizeof b);
		printf("  %-18s %s free of %s (%.1f%%)\n", jstr(d, "path"), a, b, total > 0 ? free_b * 100 / total : 0);
	}
	json_t *ctl = json_object_get(r, "controller");

	if (json_is_object(ctl) && jstr(ctl, "address")[0]) {
		print_time((int64_t)jnum(ctl, "connected_since_unix_ms"), a, sizeof a);
		print_time((int64_t)jnum(ctl, "last_report_unix_ms"), b, sizeof b);
		printf("Controller\n");
		printf("  %-18s %s\n", "Address", jstr(ctl, "address"));
		if (json_is_true(json_object_get(ctl, "connected")))
			printf("  %-18s connected since %s, last report %s\n", "Session", a, b);
		else
			printf("  %-18s disconnected\n", "Session");
		printf("  %-18s %.0f\n", "Reconnects", jnum(ctl, "reconnects"));
		printf("  %-18s %s\n", "Last error", jstr(ctl, "last_error")[0] ? jstr(ctl, "last_error") : "-");
	}
	printf("Conditions (%zu)\n", json_array_size(conds));
	json_array_foreach(conds, i, c)
	{
		print_time((int64_t)jnum(c, "since_unix_ms"), t, sizeof t);
		printf("  %-8s  %-20s  %-24s  %s  since %s\n", severity_short(jstr(c, "severity")), jstr(c, "code"),
		       jstr(c, "subject"), jstr(c, "message"), t);
	}
	printf("Ring (%zu nodes)\n", json_array_size(json_object_get(r, "ring")));
	print_ring(json_object_get(r, "ring"), conds);
}

static void print_events(json_t *r)
{
	size_t i;
	json_t *e;
	char t[32];

	json_array_foreach(json_object_get(r, "events"), i, e)
	{
		print_time((int64_t)jnum(e, "at_unix_ms"), t, sizeof t);
		printf("%s  %-20s  %-24s  %s\n", t, jstr(e, "kind"), jstr(e, "subject"), jstr(e, "message"));
	}
}

static void print_snapshots(json_t *r)
{
	size_t i;
	json_t *t;
	char when[32], size[32];

	printf("%-40s  %-20s  %-12s  %-6s  %s\n", "Tag", "Created", "True size", "Tables", "Owner");
	json_array_foreach(json_object_get(r, "snapshots"), i, t)
	{
		print_time((int64_t)jnum(t, "created_unix_ms"), when, sizeof when);
		human_bytes(jnum(t, "true_size_bytes"), size, sizeof size);
		printf("%-40s  %-20s  %-12s  %-6.0f  %s%s\n", jstr(t, "tag"), when, size, jnum(t, "tables"),
		       jstr(t, "owner"),
		       json_is_true(json_object_get(t, "kept_as_newest")) ? " (newest good, kept)" : "");
	}
}

static int daemon_command(const char *socket_path, bool json_out, int argc, char **argv)
{
	char line[4096];
	size_t o = 0;
	char *reply;
	json_t *doc;
	json_error_t jerr;
	int rc = EXIT_OK;

	for (int i = 0; i < argc; i++) {
		int n = snprintf(line + o, sizeof line - o, "%s%s", i ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= sizeof line - o || strpbrk(argv[i], "\n\r")) {
			fprintf(stderr, "cassandra-agentctl: command too long or malformed\n");
			return EXIT_USAGE;
		}
		o += (size_t)n;
	}
	/* The human ring table shows conditions too: they come with the status document. */
	if (!json_out && strcmp(line, "ring") == 0)
		snprintf(line, sizeof line, "status");
	reply = socket_request(socket_path, line);
	if (!reply)
		return EXIT_FAILED;
	doc = json_loads(reply, 0, &jerr);
	if (!doc) {
		fprintf(stderr, "cassandra-agentctl: the agent sent invalid JSON: %s\n", jerr.text);
		free(reply);
		return EXIT_FAILED;
	}
	if (json_object_get(doc, "error")) {
		if (json_out)
			printf("%s\n", reply);
		fprintf(stderr, "cassandra-agentctl: %s\n", jstr(doc, "error"));
		rc = EXIT_FAILED;
	} else if (json_out) {
		printf("%s\n", reply);
	} else if (strcmp(argv[0], "status") == 0) {
		print_status(doc);
	} else if (strcmp(argv[0], "ring") == 0) {
		print_ring(json_object_get(doc, "ring"), json_object_get(doc, "conditions"));
	} else if (strcmp(argv[0], "events") == 0) {
		print_events(doc);
	} else if (strcmp(argv[0], "snapshots") == 0) {
		print_snapshots(doc);
	} else if (strcmp(argv[0], "snapshot") == 0) {
		printf("%s\n", jstr(doc, "message"));
	} else if (strcmp(argv[0], "version") == 0) {
		printf("agent     %s\ncassandra %s\n", jstr(doc, "agent_version"), jstr(doc, "cassandra_version"));
	} else {
		char *pretty = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);

		printf("%s\n", pretty ? pretty : reply);
		free(pretty);
	}
	json_decref(doc);
	free(reply);
	return rc;
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const char *const daemon_cmds[] = {"status", "ring",    "lease",    "snapshots",   "certs",
						  "events", "version", "snapshot", "maintenance", NULL};
	const char *socket_path = getenv("CASSANDRA_AGENT_SOCKET");
	bool json_out = false;
	int c;

	signal(SIGPIPE, SIG_IGN); // NOLINT(cert-err33-c): cannot fail for a valid signal
	if (!socket_path)
		socket_path = DEFAULT_SOCKET;
	/* '+': stop at the first command word so its own options stay with it. */
	while ((c = getopt_long(argc, argv, "+s:jh", opts, NULL)) != -1) {
		switch (c) {
		case 's': socket_path = optarg; break;
		case 'j': json_out = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "config") == 0 && argc == 1)
		return daemon_command(socket_path, json_out, argc, argv);
	for (int i = 0; daemon_cmds[i]; i++)
		if (strcmp(argv[0], daemon_cmds[i]) == 0)
			return daemon_command(socket_path, json_out, argc, argv);
	if (strcmp(argv[0], "truststore") == 0 || strcmp(argv[0], "keystore") == 0)
		return certs_cmd_run(argc, argv, json_out);
	if (strcmp(argv[0], "config") == 0) {
		/* Offline: the file editor (`--json` passed on). */
		char **v = calloc((size_t)argc + 2, sizeof *v);
		int rc;

		if (!v)
			return EXIT_FAILED;
		for (int i = 0; i < argc; i++)
			v[i] = argv[i];
		if (json_out)
			v[argc++] = (char *)"--json";
		rc = config_cmd_main(argc, v);
		free(v);
		return rc;
	}
	fprintf(stderr, "cassandra-agentctl: unknown command \"%s\"\n", argv[0]);
	usage(stderr);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	int rc = run(argc, argv);

	/* Output cut short (a full disk, a closed pipe: SIGPIPE is ignored) is a failure. */
	if ((fflush(stdout) != 0 || ferror(stdout)) && rc == EXIT_OK) {
		fputs("cassandra-agentctl: cannot write to standard output\n", stderr);
		rc = EXIT_FAILED;
	}
	return rc;
}
