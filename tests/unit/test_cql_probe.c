/* test_cql_probe: CQL OPTIONS probe against an in-test libuv TCP server; frame parser edge cases. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "check_run.h"
#include "cql_probe.h"

#define GUARD_MS 5000

enum srv_mode {
	SRV_SUPPORTED, /* one write with a valid SUPPORTED frame */
	SRV_SPLIT,     /* SUPPORTED in two writes 30 ms apart */
	SRV_SILENT,    /* accepts, reads, never answers */
	SRV_ERROR,     /* ERROR frame (protocol error) */
	SRV_GARBAGE,   /* an HTTP response */
	SRV_OVERSIZED, /* header announcing a body > 64 KiB */
	SRV_HANGUP,    /* closes the connection after reading the request */
};

struct srv {
	uv_loop_t *loop;
	enum srv_mode mode;
	uv_tcp_t listener;
	uv_tcp_t client;
	uv_timer_t split_timer;
	uv_write_t wr[2];
	bool has_client, has_timer, closed;
	int open_handles;
	int port;
	bool got_options;
	uint8_t req[64];
	size_t reqlen;
	uint8_t resp[512];
	size_t resplen;
};

static uv_loop_t loop;
static bool guard_fired;

static struct {
	int calls;
	int err;
	char msg[512];
	double latency_ms;
	uint64_t done_ns;
} res;

/* ---- frame builders ---- */

static size_t put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

static size_t put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return 4;
}

static size_t putstr(uint8_t *p, const char *s)
{
	size_t n = strlen(s);

	put16(p, (unsigned)n);
	memcpy(p + 2, s, n);
	return n + 2;
}

static size_t put_header(uint8_t *p, uint8_t version, uint8_t opcode, uint32_t blen)
{
	p[0] = version;
	p[1] = 0;
	put16(p + 2, 0);
	p[4] = opcode;
	put32(p + 5, blen);
	return 9;
}

/* A realistic SUPPORTED frame; returns its length. */
static size_t build_supported(uint8_t *out)
{
	uint8_t *b = out + 9;
	size_t n = 0;

	n += put16(b + n, 3);
	n += putstr(b + n, "CQL_VERSION");
	n += put16(b + n, 1);
	n += putstr(b + n, "3.4.5");
	n += putstr(b + n, "COMPRESSION");
	n += put16(b + n, 2);
	n += putstr(b + n, "snappy");
	n += putstr(b + n, "lz4");
	n += putstr(b + n, "PROTOCOL_VERSIONS");
	n += put16(b + n, 3);
	n += putstr(b + n, "3/v3");
	n += putstr(b + n, "4/v4");
	n += putstr(b + n, "5/v5-beta");
	put_header(out, 0x84, 0x06, (uint32_t)n);
	return n + 9;
}

static size_t build_error(uint8_t *out, const char *msg)
{
	size_t n = 0;

	n += put32(out + 9, 0x000A);
	n += putstr(out + 9 + n, msg);
	put_header(out, 0x84, 0x00, (uint32_t)n);
	return n + 9;
}

/* ---- in-test server ---- */

static void srv_close_cb(uv_handle_t *h)
{
	struct srv *s = h->data;

	s->open_handles--;
}

static void srv_close(struct srv *s)
{
	if (s->closed)
		return;
	s->closed = true;
	uv_close((uv_handle_t *)&s->listener, srv_close_cb);
	if (s->has_client)
		uv_close((uv_handle_t *)&s->client, srv_close_cb);
	if (s->has_timer)
		uv_close((uv_handle_t *)&s->split_timer, srv_close_cb);
}

static void srv_write_cb(uv_write_t *req, int status)
{
	(void)req;
	(void)status;
}

static void srv_write(struct srv *s, int idx, const uint8_t *p, size_t n)
{
	uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);

	ck_assert_int_eq(uv_write(&s->wr[idx], (uv_stream_t *)&s->client, &b, 1, srv_write_cb), 0);
}

static void srv_split_cb(uv_timer_t *t)
{
	struct srv *s = t->data;

	if (s->closed)
		return;
	srv_write(s, 1, s->resp + 5, s->resplen - 5);
}

static void srv_respond(struct srv *s)
{
	static const char http[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";

	switch (s->mode) {
	case SRV_SUPPORTED:
		s->resplen = build_supported(s->resp);
		srv_write(s, 0, s->resp, s->resplen);
		break;
	case SRV_SPLIT:
		s->resplen = build_supported(s->resp);
		srv_write(s, 0, s->resp, 5);
		ck_assert_int_eq(uv_timer_init(s->loop, &s->split_timer), 0);
		s->split_timer.data = s;
		s->has_timer = true;
		s->open_handles++;
		ck_assert_int_eq(uv_timer_start(&s->split_timer, srv_split_cb, 30, 0), 0);
		break;
	case SRV_SILENT: break;
	case SRV_ERROR:
		s->resplen = build_error(s->resp,
					 "Invalid or unsupported protocol version (4); supported versions are (3/v3)");
		srv_write(s, 0, s->resp, s->resplen);
		break;
	case SRV_GARBAGE:
		memcpy(s->resp, http, sizeof http - 1);
		s->resplen = sizeof http - 1;
		srv_write(s, 0, s->resp, s->resplen);
		break;
	case SRV_OVERSIZED:
		s->resplen = put_header(s->resp, 0x84, 0x06, 10u * 1024 * 1024);
		srv_write(s, 0, s->resp, s->resplen);
		break;
	case SRV_HANGUP:
		s->has_client = false;
		uv_close((uv_handle_t *)&s->client, srv_close_cb);
		break;
	}
}

static void srv_alloc_cb(uv_handle_t *h, size_t sugg, uv_buf_t *buf)
{
	struct srv *s = h->data;

	(void)sugg;
	buf->base = (char *)s->req + s->reqlen;
	buf->len = sizeof s->req - s->reqlen;
}

static void srv_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	static const uint8_t options[9] = {0x04, 0, 0, 0, 0x05, 0, 0, 0, 0};
	struct srv *s = st->data;
	bool had_request = s->reqlen >= 9;

	(void)buf;
	if (s->closed || nread <= 0) {
		if (nread < 0 && !s->closed)
			uv_read_stop(st);
		return;
	}
	s->reqlen += (size_t)nread;
	if (!had_request && s->reqlen >= 9) {
		s->got_options = memcmp(s->req, options, 9) == 0;
		srv_respond(s);
	}
}

static void srv_connection_cb(uv_stream_t *listener, int status)
{
	struct srv *s = listener->data;

	ck_assert_int_eq(status, 0);
	ck_assert(!s->has_client);
	ck_assert_int_eq(uv_tcp_init(s->loop, &s->client), 0);
	s->client.data = s;
	s->has_client = true;
	s->open_handles++;
	ck_assert_int_eq(uv_accept(listener, (uv_stream_t *)&s->client), 0);
	ck_assert_int_eq(uv_read_start((uv_stream_t *)&s->client, srv_alloc_cb, srv_read_cb), 0);
}

/* Listens on ip:0; returns false when the address family is unavailable. */
static bool srv_start(struct srv *s, enum srv_mode mode, const char *ip)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;

	memset(s, 0, sizeof *s);
	s->loop = &loop;
	s->mode = mode;
	if (strchr(ip, ':'))
		ck_assert_int_eq(uv_ip6_addr(ip, 0, (struct sockaddr_in6 *)&ss), 0);
	else
		ck_assert_int_eq(uv_ip4_addr(ip, 0, (struct sockaddr_in *)&ss), 0);
	ck_assert_int_eq(uv_tcp_init(&loop, &s->listener), 0);
	s->listener.data = s;
	s->open_handles = 1;
	if (uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0) != 0 ||
	    uv_listen((uv_stream_t *)&s->listener, 8, srv_connection_cb) != 0) {
		srv_close(s);
		return false;
	}
	ck_assert_int_eq(uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len), 0);
	s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);
	return true;
}

/* ---- loop fixture ---- */

static void setup(void)
{
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	memset(&res, 0, sizeof res);
	res.err = 1;
	guard_fired = false;
}

static void teardown(void)
{
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}

static void guard_cb(uv_timer_t *t)
{
	guard_fired = true;
	uv_stop(t->loop);
}

static void guard_close_cb(uv_handle_t *h)
{
	(void)h;
}

/* Runs the loop until nothing is left, bounded by an unreferenced guard timer. */
static void run_bounded(void)
{
	uv_timer_t guard;

	ck_assert_int_eq(uv_timer_init(&loop, &guard), 0);
	ck_assert_int_eq(uv_timer_start(&guard, guard_cb, GUARD_MS, 0), 0);
	uv_unref((uv_handle_t *)&guard);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_msg(!guard_fired, "loop still busy after %d ms", GUARD_MS);
	uv_close((uv_handle_t *)&guard, guard_close_cb);
	uv_run(&loop, UV_RUN_DEFAULT);
}

static void probe_cb(void *data, int err, const char *errmsg, double latency_ms)
{
	struct srv *s = data;

	res.calls++;
	res.err = err;
	res.latency_ms = latency_ms;
	res.done_ns = uv_hrtime();
	snprintf(res.msg, sizeof res.msg, "%s", errmsg ? errmsg : "");
	if (s)
		srv_close(s);
}

static void probe_against(struct srv *s, enum srv_mode mode, uint64_t timeout_ms)
{
	ck_assert(srv_start(s, mode, "127.0.0.1"));
	ck_assert_int_eq(cql_probe_start(&loop, "127.0.0.1", (uint16_t)s->port, timeout_ms, probe_cb, s), 0);
	ck_assert_int_eq(res.calls, 0); /* never synchronous */
	run_bounded();
	ck_assert_int_eq(res.calls, 1);
	ck_assert_int_eq(s->open_handles, 0);
}

/* ---- probe scenarios ---- */

START_TEST(test_supported_answer_succeeds_with_latency)
{
	struct srv s;

	probe_against(&s, SRV_SUPPORTED, 2000);
	ck_assert_msg(res.err == 0, "err %d: %s", res.err, res.msg);
	ck_assert(s.got_options);
	ck_assert_uint_eq(s.reqlen, 9);
	ck_assert(res.latency_ms > 0.0);
	ck_assert(res.latency_ms < 2000.0);
}
END_TEST

START_TEST(test_supported_in_two_segments_succeeds)
{
	struct srv s;

	probe_against(&s, SRV_SPLIT, 2000);
	ck_assert_msg(res.err == 0, "err %d: %s", res.err, res.msg);
	ck_assert(res.latency_ms >= 25.0);
}
END_TEST

START_TEST(test_ipv6_loopback_succeeds)
{
	struct srv s;

	if (!srv_start(&s, SRV_SUPPORTED, "::1")) {
		printf("SKIP: no IPv6 loopback\n");
		run_bounded();
		return;
	}
	ck_assert_int_eq(cql_probe_start(&loop, "::1", (uint16_t)s.port, 2000, probe_cb, &s), 0);
	run_bounded();
	ck_assert_int_eq(res.calls, 1);
	ck_assert_msg(res.err == 0, "err %d: %s", res.err, res.msg);
}
END_TEST

START_TEST(test_silent_server_times_out)
{
	struct srv s;
	uint64_t t0 = uv_hrtime();

	probe_against(&s, SRV_SILENT, 200);
	ck_assert_int_eq(res.err, -ETIMEDOUT);
	double elapsed = (double)(res.done_ns - t0) / 1e6;
	ck_assert_msg(elapsed >= 195.0 && elapsed < 1500.0, "elapsed %.1f ms", elapsed);
	ck_assert(s.got_options);
}
END_TEST

START_TEST(test_closed_port_is_refused)
{
	struct sockaddr_in sin;
	struct sockaddr_storage ss;
	int len = sizeof ss;
	uv_tcp_t tmp;
	uint16_t port;

	ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &sin), 0);
	ck_assert_int_eq(uv_tcp_init(&loop, &tmp), 0);
	ck_assert_int_eq(uv_tcp_bind(&tmp, (struct sockaddr *)&sin, 0), 0);
	ck_assert_int_eq(uv_tcp_getsockname(&tmp, (struct sockaddr *)&ss, &len), 0);
	port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	uv_close((uv_handle_t *)&tmp, NULL);
	run_bounded();

	ck_assert_int_eq(cql_probe_start(&loop, "127.0.0.1", port, 2000, probe_cb, NULL), 0);
	run_bounded();
	ck_assert_int_eq(res.calls, 1);
	ck_assert_int_eq(res.err, -ECONNREFUSED);
	ck_assert(res.msg[0] != '\0');
}
END_TEST

START_TEST(test_error_frame_is_eproto_with_server_message)
{
	struct srv s;

	probe_against(&s, SRV_ERROR, 2000);
	ck_assert_int_eq(res.err, -EPROTO);
	ck_assert_msg(strstr(res.msg, "unsupported protocol version") != NULL, "msg: %s", res.msg);
	ck_assert_msg(strstr(res.msg, "0x000a") != NULL, "msg: %s", res.msg);
}
END_TEST

START_TEST(test_garbage_answer_is_eproto)
{
	struct srv s;

	probe_against(&s, SRV_GARBAGE, 2000);
	ck_assert_int_eq(res.err, -EPROTO);
}
END_TEST

START_TEST(test_oversized_body_is_eproto)
{
	struct srv s;

	probe_against(&s, SRV_OVERSIZED, 2000);
	ck_assert_int_eq(res.err, -EPROTO);
	ck_assert_msg(strstr(res.msg, "exceeds") != NULL, "msg: %s", res.msg);
}
END_TEST

START_TEST(test_server_hangup_is_econnreset)
{
	struct srv s;

	probe_against(&s, SRV_HANGUP, 2000);
	ck_assert_int_eq(res.err, -ECONNRESET);
}
END_TEST

START_TEST(test_invalid_arguments_fail_synchronously)
{
	ck_assert_int_eq(cql_probe_start(&loop, "localhost", 9042, 1000, probe_cb, NULL), -EINVAL);
	ck_assert_int_eq(cql_probe_start(&loop, "300.1.1.1", 9042, 1000, probe_cb, NULL), -EINVAL);
	ck_assert_int_eq(cql_probe_start(&loop, "127.0.0.1", 0, 1000, probe_cb, NULL), -EINVAL);
	ck_assert_int_eq(cql_probe_start(&loop, "127.0.0.1", 9042, 0, probe_cb, NULL), -EINVAL);
	ck_assert_int_eq(cql_probe_start(&loop, "127.0.0.1", 9042, 1000, NULL, NULL), -EINVAL);
	run_bounded();
	ck_assert_int_eq(res.calls, 0);
}
END_TEST

/* ---- frame parser ---- */

static uint8_t fbuf[9 + CQL_FRAME_MAX_BODY + 64];

START_TEST(test_parse_complete_supported)
{
	char err[128] = "";
	size_t n = build_supported(fbuf);

	ck_assert_int_eq(cql_frame_parse_supported(fbuf, n, err, sizeof err), 0);
	/* bytes after the frame belong to a later frame and are ignored */
	ck_assert_int_eq(cql_frame_parse_supported(fbuf, n + 3, err, sizeof err), 0);
	ck_assert_int_eq(cql_frame_parse_supported(fbuf, n, NULL, 0), 0);
}
END_TEST

START_TEST(test_parse_every_truncation_needs_more)
{
	char err[128];
	size_t n = build_supported(fbuf);

	for (size_t i = 0; i < n; i++)
		ck_assert_msg(cql_frame_parse_supported(fbuf, i, err, sizeof err) == -EAGAIN, "prefix %zu", i);
	ck_assert_int_eq(cql_frame_parse_supported(NULL, 0, err, sizeof err), -EAGAIN);
}
END_TEST

START_TEST(test_parse_oversized_length_rejected_from_header)
{
	char err[128] = "";

	put_header(fbuf, 0x84, 0x06, CQL_FRAME_MAX_BODY + 1);
	ck_assert_int_eq(cql_frame_parse_supported(fbuf, 9, err, sizeof err), -EPROTO);
	ck_assert(strstr(err, "exceeds") != NULL);
	put_header(fbuf, 0x84, 0x06, 0xffffffffu);
	ck_assert_int_eq(cql_frame_parse_supported(fbuf, 9, err, sizeof err), -EPROTO);
}
END_TEST

START_TEST(test_parse_max_size_body_accepted)
{
	char err[128] = "";
	uint8_t *b = fbuf + 9;
	size_t n = 0, l2 = CQL_FRAME_MAX_BODY - 2 - (2 + 100) - 2 - 2;

	n += put16(b + n, 1);
	n += put16(b + n, 100);
	memset(b + n, 'k', 100);
	n += 100;
	n += put16(b + n, 1);
	n += put16(b + n, (unsigned)l2);
	memset(b + n, 'v', l2);
	n += l2;
	ck_assert_uint_eq(n, CQL_FRAME_MAX_BODY);
	put_header(fbuf, 0x84, 0x06, (uint32_t)n);
	ck_assert_int_eq(cql_frame_parse_supported(fbuf, 9 + n, err, sizeof err), 0);
	ck_assert_int_eq(cql_frame_parse_supported(fbuf, 9 + n - 1, err, sizeof err), -EAGAIN);
}
END_TEST

START_TEST(test_parse_malformed_bodies_rejected)
{
	char err[128];
	uint8_t *b = fbuf + 9;

	/* multimap claims 5 entries but the body ends */
	put16(b, 5);
	put_header(fbuf, 0x84, 0x06, 2);
	ck_assert_int_eq(cql_frame_parse_supported(fbuf, 11, err, sizeof err), -EPROTO);
	/* string length runs past the body */
	put16(b, 1);
	put16(b + 2, 200);
	put_header(fbuf, 0x84, 0x06, 6);
	ck_assert_int_eq(cql_frame_parse_supported(fbuf, 15, err, sizeof err), -EPROTO);
	/* trailing junk inside the declared body */
	put16(b, 0);
	b[2] = 'x';
	put_header(fbuf, 0x84, 0x06, 3);
	ck_assert_int_eq(cql_frame_parse_supported(fbuf, 12, err, sizeof err), -EPROTO);
	/* empty body */
	put_header(fbuf, 0x84, 0x06, 0);
	ck_assert_int_eq(cql_frame_parse_supported(fbuf, 9, err, sizeof err), -EPROTO);
	ck_assert(strstr(err, "malformed") != NULL);
}
END_TEST

START_TEST(test_parse_bad_headers_rejected_early)
{
	char err[128];
	uint8_t h[9];

	put_header(h, 0x04, 0x06, 0); /* request direction */
	ck_assert_int_eq(cql_frame_parse_supported(h, 1, err, sizeof err), -EPROTO);
	put_header(h, 0x82, 0x06, 0); /* v2 */
	ck_assert_int_eq(cql_frame_parse_supported(h, 1, err, sizeof err), -EPROTO);
	put_header(h, 0x84, 0x06, 0);
	h[1] = 0x01; /* compressed */
	ck_assert_int_eq(cql_frame_parse_supported(h, 2, err, sizeof err), -EPROTO);
	put_header(h, 0x84, 0x06, 0);
	put16(h + 2, 1); /* wrong stream */
	ck_assert_int_eq(cql_frame_parse_supported(h, 4, err, sizeof err), -EPROTO);
	put_header(h, 0x84, 0x02, 0); /* READY */
	ck_assert_int_eq(cql_frame_parse_supported(h, 5, err, sizeof err), -EPROTO);
	put_header(h, 0x83, 0x06, 0); /* SUPPORTED must be v4 */
	ck_assert_int_eq(cql_frame_parse_supported(h, 5, err, sizeof err), -EPROTO);
	ck_assert_int_eq(cql_frame_parse_supported((const uint8_t *)"HTTP/1.1", 8, err, sizeof err), -EPROTO);
}
END_TEST

START_TEST(test_parse_error_frame_reports_server_message)
{
	char err[128] = "";
	char small[16];
	size_t n = build_error(fbuf, "Bad\nthing");

	ck_assert_int_eq(cql_frame_parse_supported(fbuf, n, err, sizeof err), -EPROTO);
	ck_assert_str_eq(err, "server error 0x000a: Bad?thing");
	ck_assert_int_eq(cql_frame_parse_supported(fbuf, n - 1, err, sizeof err), -EAGAIN);
	/* truncated into a tiny error buffer: still NUL-terminated */
	ck_assert_int_eq(cql_frame_parse_supported(fbuf, n, small, sizeof small), -EPROTO);
	ck_assert_uint_eq(strlen(small), sizeof small - 1);
	/* ERROR from another protocol version (server refusing v4) is decoded too */
	fbuf[0] = 0x83;
	ck_assert_int_eq(cql_frame_parse_supported(fbuf, n, err, sizeof err), -EPROTO);
	ck_assert(strstr(err, "server error") != NULL);
	/* ERROR whose message length overruns its body */
	put_header(fbuf, 0x84, 0x00, 6);
	put32(fbuf + 9, 0);
	put16(fbuf + 13, 50);
	ck_assert_int_eq(cql_frame_parse_supported(fbuf, 15, err, sizeof err), -EPROTO);
	ck_assert(strstr(err, "malformed ERROR") != NULL);
}
END_TEST

START_TEST(test_parse_random_bytes_never_crash)
{
	uint32_t x = 12345;
	uint8_t b[96];
	char err[64];

	for (int it = 0; it < 200000; it++) {
		size_t n = 0;

		x = x * 1664525u + 1013904223u;
		n = (x >> 8) % sizeof b;
		for (size_t i = 0; i < n; i++) {
			x = x * 1664525u + 1013904223u;
			b[i] = (uint8_t)(x >> 24);
		}
		/* bias towards plausible headers so the body parsers are reached */
		if (n > 9 && (it & 1)) {
			b[0] = 0x84;
			b[1] = 0;
			b[2] = b[3] = 0;
			b[4] = (it & 2) ? 0x06 : 0x00;
			put32(b + 5, (uint32_t)(n - 9 - (size_t)(it % 3)));
		}
		err[0] = '\0';
		int r = cql_frame_parse_supported(b, n, err, sizeof err);
		ck_assert(r == 0 || r == -EAGAIN || r == -EPROTO);
		ck_assert(memchr(err, '\0', sizeof err) != NULL);
	}
}
END_TEST

static Suite *cql_probe_suite(void)
{
	Suite *s = suite_create("cql_probe");
	TCase *tc = tcase_create("probe");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, test_supported_answer_succeeds_with_latency);
	tcase_add_test(tc, test_supported_in_two_segments_succeeds);
	tcase_add_test(tc, test_ipv6_loopback_succeeds);
	tcase_add_test(tc, test_silent_server_times_out);
	tcase_add_test(tc, test_closed_port_is_refused);
	tcase_add_test(tc, test_error_frame_is_eproto_with_server_message);
	tcase_add_test(tc, test_garbage_answer_is_eproto);
	tcase_add_test(tc, test_oversized_body_is_eproto);
	tcase_add_test(tc, test_server_hangup_is_econnreset);
	tcase_add_test(tc, test_invalid_arguments_fail_synchronously);
	suite_add_tcase(s, tc);

	tc = tcase_create("parser");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_parse_complete_supported);
	tcase_add_test(tc, test_parse_every_truncation_needs_more);
	tcase_add_test(tc, test_parse_oversized_length_rejected_from_header);
	tcase_add_test(tc, test_parse_max_size_body_accepted);
	tcase_add_test(tc, test_parse_malformed_bodies_rejected);
	tcase_add_test(tc, test_parse_bad_headers_rejected_early);
	tcase_add_test(tc, test_parse_error_frame_reports_server_message);
	tcase_add_test(tc, test_parse_random_bytes_never_crash);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	return check_run_forked(cql_probe_suite(), CK_ENV);
}
