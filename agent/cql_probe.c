/* cql_probe: one-shot CQL OPTIONS probe over libuv TCP (see cql_probe.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cql_probe.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define CQL_VERSION_V4       0x04
#define CQL_RESPONSE_BIT     0x80
#define CQL_OPCODE_ERROR     0x00
#define CQL_OPCODE_OPTIONS   0x05
#define CQL_OPCODE_SUPPORTED 0x06
#define CQL_ERRMSG_MAX       256
#define CQL_SERVER_MSG_MAX   200 /* bytes of a server ERROR message kept in errmsg */

struct cql_probe {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t connect_req;
	uv_write_t write_req;
	cql_probe_cb cb;
	void *data;
	uint64_t start_ns;
	uint64_t timeout_ms;
	double latency_ms;
	int err;
	int handles;   /* initialised handles not yet closed; the op is freed at 0 */
	bool closing;  /* finish started: every callback returns at once */
	bool notify;   /* fire cb from the last close callback */
	char peer[64]; /* "address:port" for log lines */
	char errmsg[CQL_ERRMSG_MAX];
	uint8_t req[CQL_FRAME_HEADER_LEN];
	size_t len;
	uint8_t buf[CQL_FRAME_HEADER_LEN + CQL_FRAME_MAX_BODY];
};

__attribute__((format(printf, 3, 4))) static void cql_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static uint16_t cql_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t cql_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Skips a [string] (u16 length + bytes) at *off within [0, end). Returns false if truncated. */
static bool cql_skip_string(const uint8_t *body, size_t end, size_t *off, const uint8_t **s, size_t *slen)
{
	size_t n;

	if (end - *off < 2)
		return false;
	n = cql_be16(body + *off);
	*off += 2;
	if (end - *off < n)
		return false;
	if (s)
		*s = body + *off;
	if (slen)
		*slen = n;
	*off += n;
	return true;
}

/* [string multimap]: u16 n, n x ([string] key, [string list] = u16 m, m x [string]). */
static bool cql_check_string_multimap(const uint8_t *body, size_t blen)
{
	size_t off = 0;
	unsigned n;

	if (blen < 2)
		return false;
	n = cql_be16(body);
	off = 2;
	for (unsigned i = 0; i < n; i++) {
		unsigned m;

		if (!cql_skip_string(body, blen, &off, NULL, NULL))
			return false;
		if (blen - off < 2)
			return false;
		m = cql_be16(body + off);
		off += 2;
		for (unsigned j = 0; j < m; j++)
			if (!cql_skip_string(body, blen, &off, NULL, NULL))
				return false;
	}
	return off == blen;
}

/* ERROR body: [int code][string message]. Always returns -EPROTO with a reason. */
static int cql_error_frame(const uint8_t *body, size_t blen, char *err, size_t errlen)
{
	char msg[CQL_SERVER_MSG_MAX + 1];
	const uint8_t *s;
	size_t off = 4, slen, n;
	uint32_t code;

	if (blen < 4 || !cql_skip_string(body, blen, &off, &s, &slen) || off != blen) {
		cql_seterr(err, errlen, "malformed ERROR frame");
		return -EPROTO;
	}
	code = cql_be32(body);
	n = slen < CQL_SERVER_MSG_MAX ? slen : CQL_SERVER_MSG_MAX;
	for (size_t i = 0; i < n; i++) {
		// NOLINTNEXTLINE(bugprone-narrowing-conversions): a char either way, '?' is an int in C
		msg[i] = (s[i] < 0x20 || s[i] == 0x7f) ? '?' : (char)s[i];
	}
	msg[n] = '\0';
	cql_seterr(err, errlen, "server error 0x%04" PRIx32 ": %s%s", code, msg, slen > n ? "..." : "");
	return -EPROTO;
}

int cql_frame_parse_supported(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	unsigned version, opcode;
	uint32_t blen;

	if (!buf && len > 0) {
		cql_seterr(err, errlen, "no buffer");
		return -EPROTO;
	}
	/* validate each header byte as soon as it is present, so garbage fails early */
	if (len < 1)
		return -EAGAIN;
	if (!(buf[0] & CQL_RESPONSE_BIT)) {
		cql_seterr(err, errlen, "not a CQL response frame (first byte 0x%02x)", buf[0]);
		return -EPROTO;
	}
	version = buf[0] & 0x7f;
	if (version < 3 || version > 5) {
		cql_seterr(err, errlen, "unsupported CQL protocol version %u", version);
		return -EPROTO;
	}
	if (len < 2)
		return -EAGAIN;
	if (buf[1] != 0) {
		cql_seterr(err, errlen, "unexpected frame flags 0x%02x", buf[1]);
		return -EPROTO;
	}
	if (len < 4)
		return -EAGAIN;
	if (cql_be16(buf + 2) != 0) {
		cql_seterr(err, errlen, "unexpected stream id %d", (int16_t)cql_be16(buf + 2));
		return -EPROTO;
	}
	if (len < 5)
		return -EAGAIN;
	opcode = buf[4];
	if (opcode != CQL_OPCODE_SUPPORTED && opcode != CQL_OPCODE_ERROR) {
		cql_seterr(err, errlen, "unexpected opcode 0x%02x", opcode);
		return -EPROTO;
	}
	if (opcode == CQL_OPCODE_SUPPORTED && version != CQL_VERSION_V4) {
		cql_seterr(err, errlen, "SUPPORTED with protocol version %u, expected 4", version);
		return -EPROTO;
	}
	if (len < CQL_FRAME_HEADER_LEN)
		return -EAGAIN;
	blen = cql_be32(buf + 5);
	if (blen > CQL_FRAME_MAX_BODY) {
		cql_seterr(err, errlen, "frame body of %" PRIu32 " bytes exceeds %d", blen, CQL_FRAME_MAX_BODY);
		return -EPROTO;
	}
	if (len - CQL_FRAME_HEADER_LEN < blen)
		return -EAGAIN;
	if (opcode == CQL_OPCODE_ERROR)
		return cql_error_frame(buf + CQL_FRAME_HEADER_LEN, blen, err, errlen);
	if (!cql_check_string_multimap(buf + CQL_FRAME_HEADER_LEN, blen)) {
		cql_seterr(err, errlen, "malformed SUPPORTED body");
		return -EPROTO;
	}
	return 0;
}

static void cql_probe_close_cb(uv_handle_t *handle)
{
	struct cql_probe *op = handle->data;

	if (--op->handles > 0)
		return;
	if (op->notify)
		op->cb(op->data, op->err, op->err ? op->errmsg : NULL, op->latency_ms);
	free(op);
}

/* Closes the op's handles; the user callback fires (when notify) and the op is freed from
 * the last close callback. Pending connect/write requests complete with UV_ECANCELED first. */
static void cql_probe_close(struct cql_probe *op, bool notify)
{
	op->closing = true;
	op->notify = notify;
	if (!uv_is_closing((uv_handle_t *)&op->timer))
		uv_close((uv_handle_t *)&op->timer, cql_probe_close_cb);
	if (!uv_is_closing((uv_handle_t *)&op->tcp))
		uv_close((uv_handle_t *)&op->tcp, cql_probe_close_cb);
}

__attribute__((format(printf, 3, 4))) static void cql_probe_finish(struct cql_probe *op, int err, const char *fmt, ...)
{
	va_list ap;

	if (op->closing)
		return;
	op->err = err;
	op->latency_ms = (double)(uv_hrtime() - op->start_ns) / 1e6;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(op->errmsg, sizeof op->errmsg, fmt, ap);
		va_end(ap);
	}
	if (err)
		log_debug("cql_probe", "%s: probe failed after %.3f ms: %s", op->peer, op->latency_ms, op->errmsg);
	else
		log_debug("cql_probe", "%s: SUPPORTED in %.3f ms", op->peer, op->latency_ms);
	cql_probe_close(op, true);
}

static void cql_probe_timeout_cb(uv_timer_t *timer)
{
	struct cql_probe *op = timer->data;

	if (op->closing)
		return;
	cql_probe_finish(op, -ETIMEDOUT, "no complete response within %" PRIu64 " ms", op->timeout_ms);
}

static void cql_probe_alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	struct cql_probe *op = handle->data;

	(void)suggested;
	buf->base = (char *)op->buf + op->len;
	buf->len = sizeof op->buf - op->len;
}

static void cql_probe_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct cql_probe *op = stream->data;
	char why[CQL_ERRMSG_MAX];
	int r;

	(void)buf;
	if (op->closing)
		return;
	if (nread == 0)
		return;
	if (nread == UV_EOF) {
		cql_probe_finish(op, -ECONNRESET, "connection closed by server after %zu bytes", op->len);
		return;
	}
	if (nread == UV_ENOBUFS) {
		cql_probe_finish(op, -EPROTO, "response larger than %zu bytes", sizeof op->buf);
		return;
	}
	if (nread < 0) {
		cql_probe_finish(op, (int)nread, "read: %s", uv_strerror((int)nread));
		return;
	}
	op->len += (size_t)nread;
	why[0] = '\0';
	r = cql_frame_parse_supported(op->buf, op->len, why, sizeof why);
	if (r == -EAGAIN)
		return;
	if (r < 0) {
		cql_probe_finish(op, -EPROTO, "%s", why);
		return;
	}
	cql_probe_finish(op, 0, NULL);
}

static void cql_probe_write_cb(uv_write_t *req, int status)
{
	struct cql_probe *op = req->data;

	if (op->closing)
		return;
	if (status < 0)
		cql_probe_finish(op, status, "write: %s", uv_strerror(status));
}

static void cql_probe_connect_cb(uv_connect_t *req, int status)
{
	struct cql_probe *op = req->data;
	uv_buf_t b;
	int r;

	if (op->closing)
		return;
	if (status < 0) {
		cql_probe_finish(op, status, "connect: %s", uv_strerror(status));
		return;
	}
	r = uv_read_start((uv_stream_t *)&op->tcp, cql_probe_alloc_cb, cql_probe_read_cb);
	if (r < 0) {
		cql_probe_finish(op, r, "read start: %s", uv_strerror(r));
		return;
	}
	/* OPTIONS, protocol v4: version, flags, stream id (int16), opcode, body length (int32) */
	memset(op->req, 0, sizeof op->req);
	op->req[0] = CQL_VERSION_V4;
	op->req[4] = CQL_OPCODE_OPTIONS;
	b = uv_buf_init((char *)op->req, sizeof op->req);
	op->write_req.data = op;
	r = uv_write(&op->write_req, (uv_stream_t *)&op->tcp, &b, 1, cql_probe_write_cb);
	if (r < 0)
		cql_probe_finish(op, r, "write: %s", uv_strerror(r));
}

int cql_probe_start(uv_loop_t *loop, const char *address, uint16_t port, uint64_t timeout_ms, cql_probe_cb cb,
		    void *data)
{
	struct sockaddr_storage ss;
	struct cql_probe *op;
	int r;

	if (!loop || !address || !cb || port == 0 || timeout_ms == 0)
		return -EINVAL;
	memset(&ss, 0, sizeof ss);
	if (uv_ip4_addr(address, port, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(address, port, (struct sockaddr_in6 *)&ss) != 0)
		return -EINVAL;

	op = calloc(1, sizeof *op);
	if (!op)
		return -ENOMEM;
	op->cb = cb;
	op->data = data;
	op->timeout_ms = timeout_ms;
	snprintf(op->peer, sizeof op->peer, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", address, port);

	r = uv_tcp_init(loop, &op->tcp);
	if (r < 0)
		goto fail_free;
	op->tcp.data = op;
	op->handles++;
	r = uv_timer_init(loop, &op->timer);
	if (r < 0)
		goto fail_close;
	op->timer.data = op;
	op->handles++;

	r = uv_timer_start(&op->timer, cql_probe_timeout_cb, timeout_ms, 0);
	if (r < 0)
		goto fail_close;
	op->start_ns = uv_hrtime();
	op->connect_req.data = op;
	r = uv_tcp_connect(&op->connect_req, &op->tcp, (const struct sockaddr *)&ss, cql_probe_connect_cb);
	if (r < 0)
		goto fail_close;
	return 0;

fail_close:
	log_debug("cql_probe", "%s: cannot start probe: %s", op->peer, uv_strerror(r));
	/* the timer may not be initialised: mark it closed so only the tcp close counts */
	if (op->handles == 1) {
		op->closing = true;
		uv_close((uv_handle_t *)&op->tcp, cql_probe_close_cb);
	} else {
		cql_probe_close(op, false);
	}
	return r;
fail_free:
	free(op);
	return r;
}
