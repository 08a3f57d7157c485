/* bench_report: time to build, encode and frame a HealthReport with a 1000-node ring.
 * Prints microseconds per report and the frame size. Usage: bench_report [NODES] [ROUNDS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "frame.h"
#include "health.h"
#include "log.h"

static size_t total_bytes;

static void encode_fn(void *data, const CassandraAgent__V1__HealthReport *r)
{
	CassandraAgent__V1__Envelope env = CASSANDRA_AGENT__V1__ENVELOPE__INIT;
	uint8_t *buf;
	size_t len;

	(void)data;
	env.seq = 1;
	env.body_case = CASSANDRA_AGENT__V1__ENVELOPE__BODY_HEALTH;
	env.health = (CassandraAgent__V1__HealthReport *)r;
	if (frame_encode(&env, &buf, &len) == 0) {
		total_bytes = len;
		free(buf);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int nodes = argc > 1 ? atoi(argv[1]) : 1000, rounds = argc > 2 ? atoi(argv[2]) : 2000;
	struct agent_config cfg;
	struct health *h;
	struct nt_status st = {0};
	double t0, t1;

	log_init(false, LOG_ERR);
	if (config_defaults(&cfg) < 0 || health_new(&cfg, &h) < 0)
		return 1;
	st.n_peers = (size_t)nodes;
	st.peers = calloc(st.n_peers, sizeof *st.peers);
	for (int i = 0; i < nodes; i++) {
		struct nt_peer *p = &st.peers[i];

		snprintf(p->address, sizeof p->address, "10.%d.%d.%d", i % 2 + 1, i / 250, i % 250 + 1);
		snprintf(p->datacenter, sizeof p->datacenter, "dc%d", i % 2 + 1);
		snprintf(p->rack, sizeof p->rack, "rack%d", i % 3 + 1);
		snprintf(p->host_id, sizeof p->host_id, "%08x-0000-4000-8000-%012x", i, i);
		p->status = 'U';
		p->state = 'N';
		p->load_bytes = 1500000000ull + (uint64_t)i;
		p->owns_percent = 0.3;
		p->tokens = 16;
	}
	health_update_status(h, &st);
	health_with_report(h, encode_fn, NULL); /* warm-up */
	t0 = now_s();
	for (int i = 0; i < rounds; i++)
		health_with_report(h, encode_fn, NULL);
	t1 = now_s();
	printf("HealthReport with a %d-node ring: %.1f us per report (build + encode + frame), %zu bytes per frame\n",
	       nodes, (t1 - t0) * 1e6 / rounds, total_bytes);
	health_free(h);
	config_free(&cfg);
	return 0;
}
