/* cql_probe: one-shot async CQL liveness probe (TCP connect + OPTIONS -> SUPPORTED, protocol v4) on libuv. */
#ifndef CA_CQL_PROBE_H
#define CA_CQL_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define CQL_FRAME_HEADER_LEN 9
#define CQL_FRAME_MAX_BODY   (64 * 1024) /* bytes; a larger response body is a protocol error */

/*
 * Result of a probe, called exactly once from the loop (never from cql_probe_start).
 * err: 0 on a valid SUPPORTED response; -ETIMEDOUT when timeout_ms elapsed first;
 * -ECONNREFUSED, -ECONNRESET (closed before a full response), other -errno from the socket;
 * -EPROTO for a malformed or unexpected frame, including a server ERROR frame.
 * errmsg: NULL on success, else a human-readable reason (for ERROR frames it contains the
 * server's message); borrowed, valid only during the callback.
 * latency_ms: from the start of connect to the complete response (ms, uv_hrtime based);
 * meaningful only when err == 0, else the elapsed time until the failure.
 */
typedef void (*cql_probe_cb)(void *data, int err, const char *errmsg, double latency_ms);

/*
 * Starts one probe of the native transport at `address` (an IPv4 or IPv6 literal, no DNS)
 * and `port`. `timeout_ms` (> 0) bounds everything: connect, write and reading the response.
 * The probe owns its handles and frees itself after `cb` fired; the caller keeps nothing.
 * `data` is passed to cb untouched. Nothing is copied from the caller after return.
 * Returns 0 (cb will fire exactly once), or -EINVAL (bad address, port 0, timeout 0, NULL
 * loop/cb) / -errno from libuv when the probe could not start; then cb is never called.
 * The process should ignore SIGPIPE (libuv writes with write(2), not MSG_NOSIGNAL).
 */
int cql_probe_start(uv_loop_t *loop, const char *address, uint16_t port, uint64_t timeout_ms, cql_probe_cb cb,
		    void *data);

/*
 * Validates a CQL response to OPTIONS from raw bytes (pure, for fuzzing).
 * `buf` holds the first `len` bytes received (may contain bytes past the frame, ignored).
 * Returns 0 when buf starts with a complete, well-formed v4 SUPPORTED frame on stream 0
 * (body = [string multimap], at most CQL_FRAME_MAX_BODY bytes);
 * -EAGAIN when the bytes so far are a valid prefix and more are needed;
 * -EPROTO otherwise (bad version/flags/stream/opcode, oversized or malformed body, or an
 * ERROR frame). On -EPROTO a reason is written to `err` (NUL-terminated, truncated to
 * errlen; err may be NULL or errlen 0 to skip it).
 */
int cql_frame_parse_supported(const uint8_t *buf, size_t len, char *err, size_t errlen);

#endif
