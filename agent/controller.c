/* controller: TLS 1.3 over memory BIOs on a libuv TCP stream, framing, session and reconnects.
 *
 * Happy path: RESOLVING -> CONNECTING -> HANDSHAKE (TLS, the controller verified against
 * controller.ca and the address) -> HELLO (Hello sent, waiting for Welcome) -> SESSION
 * (reports every report_interval and on change, Ping every 15 s, commands dispatched,
 * undelivered results resent in order).
 * Failure modes: DNS, connect, TLS or verification failure, a frame over 4 MiB or not an
 * Envelope, a Hello/Welcome out of order, 45 s of silence, or the handshake taking over 15 s:
 * the connection is closed, the error kept for `status`, and a new attempt made after a
 * backoff of 1 s to 60 s with full jitter. Nothing here blocks except reading the TLS files
 * (small local files) at each attempt.
 */
#include "controller.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "frame.h"
#include "log.h"

#define TLS_READ_CHUNK             65536
#define CONTROLLER_TLS_CHECK_TICKS 30 /* ticks of 1 s between checks of the TLS files */

enum conn_state { CONN_RESOLVING, CONN_CONNECTING, CONN_HANDSHAKE, CONN_HELLO, CONN_SESSION };
static const char *const conn_state_name[] = {"RESOLVING", "CONNECTING", "HANDSHAKE", "HELLO", "SESSION"};

struct conn {
	struct controller *ctl;
	enum conn_state state;
	bool closing;
	bool gai_pending, tcp_open;
	uv_getaddrinfo_t gai;
	uv_connect_t connect_req;
	uv_tcp_t tcp;
	SSL *ssl;
	BIO *rbio, *wbio;
	struct frame_decoder dec;
	uint64_t seq;
	uint64_t started_ms, last_rx_ms, last_ping_ms;
	char host[256];
};

struct wreq {
	uv_write_t req;
	struct controller *ctl;
	char *delivered_id; /* a final CommandUpdate in this write: mark it delivered */
	size_t len;
	char data[];
};

struct controller {
	uv_loop_t *loop;
	const struct agent_config *cfg;
	struct health *health;
	struct command_store *store;
	struct controller_hooks hooks;
	struct conn *conn;
	SSL_CTX *ssl_ctx;
	uv_timer_t backoff_timer, report_timer, tick_timer, soon_timer;
	int handles_open;
	int conns_open;
	bool stopping;
	unsigned attempt;
	uint64_t last_report_ms;
	char tls_stamp[512];     /* mtimes and sizes of the TLS files the current context was built from */
	char refused_stamp[512]; /* files seen and refused by the periodic check */
	unsigned ticks;
	struct health_controller state;
};

static uint64_t mono_ms(void)
{
	return uv_hrtime() / 1000000;
}

static int64_t now_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int controller_split_address(const char *address, char *host, size_t host_len, char *port, size_t port_len)
{
	const char *colon, *h = address;
	size_t hl;

	if (!address || !address[0])
		return -EINVAL;
	if (address[0] == '[') {
		const char *end = strchr(address, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		h = address + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(address, ':');
		if (!colon || strchr(address, ':') != colon)
			return -EINVAL;
		hl = (size_t)(colon - address);
	}
	if (hl == 0 || hl >= host_len || strlen(colon + 1) == 0 || strlen(colon + 1) >= port_len)
		return -EINVAL;
	for (const char *p = colon + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, port_len, "%s", colon + 1);
	return 0;
}

static void publish_state(struct controller *c)
{
	health_update_controller(c->health, &c->state);
}

/* ---- connection teardown and reconnects --------------------------------------------- */

static void controller_maybe_free(struct controller *c)
{
	if (c->stopping && c->handles_open == 0 && c->conns_open == 0) {
		if (c->ssl_ctx)
			SSL_CTX_free(c->ssl_ctx);
		free(c);
	}
}

static void conn_free(struct conn *k)
{
	struct controller *c = k->ctl;

	if (k->ssl)
		SSL_free(k->ssl); /* frees both BIOs */
	frame_decoder_free(&k->dec);
	free(k);
	c->conns_open--;
	controller_maybe_free(c);
}

static void tcp_close_cb(uv_handle_t *h)
{
	conn_free(h->data);
}

static void schedule_reconnect(struct controller *c);

/* Closes `k`; frees it once libuv gave back every handle and request. */
static void conn_close(struct conn *k)
{
	struct controller *c = k->ctl;
	bool was_session = k->state == CONN_SESSION;

	if (k->closing)
		return;
	k->closing = true;
	if (c->conn == k)
		c->conn = NULL;
	if (was_session) {
		c->state.connected = false;
		publish_state(c);
		if (c->hooks.session && !c->stopping)
			c->hooks.session(c->hooks.data, false);
	}
	if (k->tcp_open)
		uv_close((uv_handle_t *)&k->tcp, tcp_close_cb);
	else if (!k->gai_pending)
		conn_free(k);
	/* else: gai_cb frees it */
}

static void conn_fail(struct conn *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conn_fail(struct conn *k, const char *fmt, ...)
{
	struct controller *c = k->ctl;
	va_list ap;

	if (k->closing)
		return;
	va_start(ap, fmt);
	vsnprintf(c->state.last_error, sizeof c->state.last_error, fmt, ap);
	va_end(ap);
	log_warnx("controller", "%s (%s): %s", c->state.address, conn_state_name[k->state], c->state.last_error);
	publish_state(c);
	conn_close(k);
	/* conn_close(k) frees c only when stopping, and then every connection is already closing */
	// NOLINTNEXTLINE(clang-analyzer-unix.Malloc): k was not closing, so c is alive here
	schedule_reconnect(c);
}

/* ---- TLS plumbing -------------------------------------------------------------------- */

static void write_cb(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;

	if (status == 0 && w->delivered_id && !w->ctl->stopping && w->ctl->store)
		command_store_mark_delivered(w->ctl->store, w->delivered_id);
	free(w->delivered_id);
	free(w);
}

/* Sends whatever TLS produced. `delivered_id` (copied) is marked delivered once written. */
static int tls_flush(struct conn *k, const char *delivered_id)
{
	size_t pending = BIO_ctrl_pending(k->wbio);
	struct wreq *w;
	uv_buf_t buf;
	int n;

	if (pending == 0 || k->closing)
		return 0;
	w = malloc(sizeof *w + pending);
	if (!w)
		return -ENOMEM;
	n = BIO_read(k->wbio, w->data, (int)pending);
	if (n <= 0) {
		free(w);
		return 0;
	}
	w->ctl = k->ctl;
	w->len = (size_t)n;
	w->delivered_id = delivered_id ? strdup(delivered_id) : NULL;
	buf = uv_buf_init(w->data, (unsigned)n);
	if (uv_write(&w->req, (uv_stream_t *)&k->tcp, &buf, 1, write_cb) < 0) {
		free(w->delivered_id);
		free(w);
		return -EIO;
	}
	return 0;
}

/* Encrypts and sends one Envelope. */
static int conn_send(struct conn *k, CassandraAgent__V1__Envelope *env, const char *delivered_id)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (k->closing || k->state < CONN_HELLO)
		return -ENOTCONN;
	env->seq = ++k->seq;
	rc = frame_encode(env, &buf, &len);
	if (rc < 0)
		return rc;
	rc = SSL_write(k->ssl, buf, (int)len) == (int)len ? 0 : -EIO;
	free(buf);
	if (rc == 0)
		rc = tls_flush(k, delivered_id);
	return rc;
}

static const char *ssl_error_text(void)
{
	static char buf[256];
	unsigned long e = ERR_get_error();

	if (!e)
		return "connection closed during the TLS handshake";
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return buf;
}

/* ---- session ------------------------------------------------------------------------- */

static void send_report(struct controller *c);
static void tls_files_stamp(const struct agent_config *cfg, char *out, size_t len);

static void send_hello(struct conn *k)
{
	struct controller *c = k->ctl;
	CassandraAgent__V1__Envelope env = CASSANDRA_AGENT__V1__ENVELOPE__INIT;
	CassandraAgent__V1__Hello hello = CASSANDRA_AGENT__V1__HELLO__INIT;
	CassandraAgent__V1__NodeIdentity node = CASSANDRA_AGENT__V1__NODE_IDENTITY__INIT;
	CassandraAgent__V1__LeaseState lease = CASSANDRA_AGENT__V1__LEASE_STATE__INIT;
	const char *ids[1024];
	size_t n = c->store ? command_store_undelivered(c->store, ids, 1024) : 0;

	health_node_identity(c->health, &node);
	hello.agent_version = (char *)AGENT_VERSION;
	hello.node = &node;
	hello.n_resumable_command_ids = n > 1024 ? 1024 : n;
	hello.resumable_command_ids = (char **)ids;
	lease.phase = (char *)"IDLE";
	if (c->hooks.hello_lease)
		c->hooks.hello_lease(c->hooks.data, &lease);
	hello.lease = &lease;
	env.body_case = CASSANDRA_AGENT__V1__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	if (conn_send(k, &env, NULL) < 0)
		conn_fail(k, "cannot send Hello");
}

static void send_stored_update(struct controller *c, const char *id)
{
	const struct stored_command *sc = c->store ? command_store_get(c->store, id) : NULL;
	CassandraAgent__V1__CommandUpdate u = CASSANDRA_AGENT__V1__COMMAND_UPDATE__INIT;

	if (!sc)
		return;
	u.id = (char *)sc->id;
	u.status = sc->status;
	u.message = (char *)sc->message;
	u.output.data = (uint8_t *)sc->output;
	u.output.len = sc->output_len;
	controller_send_update(c, &u);
}

static void session_start(struct conn *k, const CassandraAgent__V1__Welcome *w)
{
	struct controller *c = k->ctl;
	const char *ids[4096];
	size_t n;
	char **copy;

	k->state = CONN_SESSION;
	c->attempt = 0;
	c->state.connected = true;
	c->state.connected_since_unix_ms = now_unix_ms();
	c->state.last_error[0] = '\0';
	publish_state(c);
	log_info("controller", "session with %s (%s) established", c->state.address,
		 w->controller_id ? w->controller_id : "");
	/* Results produced while disconnected, in order. Copy the ids: sending marks them. */
	n = c->store ? command_store_undelivered(c->store, ids, 4096) : 0;
	if (n > 4096)
		n = 4096;
	copy = calloc(n + 1, sizeof *copy);
	for (size_t i = 0; copy && i < n; i++)
		copy[i] = strdup(ids[i]);
	for (size_t i = 0; copy && i < n; i++)
		if (copy[i])
			send_stored_update(c, copy[i]);
	for (size_t i = 0; copy && i < n; i++)
		free(copy[i]);
	free(copy);
	send_report(c);
	if (c->hooks.session && !k->closing)
		c->hooks.session(c->hooks.data, true);
}

static void send_pong(struct conn *k, uint64_t nonce)
{
	CassandraAgent__V1__Envelope env = CASSANDRA_AGENT__V1__ENVELOPE__INIT;
	CassandraAgent__V1__Pong pong = CASSANDRA_AGENT__V1__PONG__INIT;

	pong.nonce = nonce;
	env.body_case = CASSANDRA_AGENT__V1__ENVELOPE__BODY_PONG;
	env.pong = &pong;
	conn_send(k, &env, NULL);
}

static void send_error(struct conn *k, const char *msg)
{
	CassandraAgent__V1__Envelope env = CASSANDRA_AGENT__V1__ENVELOPE__INIT;
	CassandraAgent__V1__Error e = CASSANDRA_AGENT__V1__ERROR__INIT;

	e.message = (char *)msg;
	env.body_case = CASSANDRA_AGENT__V1__ENVELOPE__BODY_ERROR;
	env.error = &e;
	conn_send(k, &env, NULL);
}

/* Handles one Envelope; returns false when the connection was closed. */
static bool handle_envelope(struct conn *k, const CassandraAgent__V1__Envelope *env)
{
	struct controller *c = k->ctl;

	if (k->state == CONN_HELLO) {
		if (env->body_case != CASSANDRA_AGENT__V1__ENVELOPE__BODY_WELCOME) {
			conn_fail(k, "protocol error: expected Welcome, got body %d", (int)env->body_case);
			return false;
		}
		session_start(k, env->welcome);
		return !k->closing;
	}
	switch (env->body_case) {
	case CASSANDRA_AGENT__V1__ENVELOPE__BODY_COMMAND:
		if (c->hooks.command)
			c->hooks.command(c->hooks.data, env->command);
		break;
	case CASSANDRA_AGENT__V1__ENVELOPE__BODY_PING: send_pong(k, env->ping->nonce); break;
	case CASSANDRA_AGENT__V1__ENVELOPE__BODY_PONG: break;
	case CASSANDRA_AGENT__V1__ENVELOPE__BODY_ERROR:
		log_warnx("controller", "controller reports an error: %s", env->error->message);
		break;
	case CASSANDRA_AGENT__V1__ENVELOPE__BODY_WELCOME:
	case CASSANDRA_AGENT__V1__ENVELOPE__BODY_HELLO:
		conn_fail(k, "protocol error: %s in an established session",
			  env->body_case == CASSANDRA_AGENT__V1__ENVELOPE__BODY_HELLO ? "Hello" : "Welcome");
		return false;
	case CASSANDRA_AGENT__V1__ENVELOPE__BODY_LEASE_GRANT:
		if (c->hooks.lease_grant)
			c->hooks.lease_grant(c->hooks.data, env->lease_grant);
		break;
	case CASSANDRA_AGENT__V1__ENVELOPE__BODY_LEASE_DENIED:
		if (c->hooks.lease_denied)
			c->hooks.lease_denied(c->hooks.data, env->lease_denied);
		break;
	default:
		/* An unknown oneof member (a newer controller) or a message not meant for agents. */
		log_warnx("controller", "ignoring an Envelope with unexpected body %d", (int)env->body_case);
		send_error(k, "unsupported message");
		break;
	}
	return !k->closing;
}

/* Decrypts what arrived and handles every complete frame. */
static void conn_pump(struct conn *k)
{
	uint8_t buf[TLS_READ_CHUNK];
	char err[160];

	if (k->state == CONN_HANDSHAKE) {
		int r = SSL_do_handshake(k->ssl);

		if (r != 1) {
			int e = SSL_get_error(k->ssl, r);

			tls_flush(k, NULL);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return;
			long v = SSL_get_verify_result(k->ssl);

			if (v != X509_V_OK)
				conn_fail(k, "TLS: controller certificate refused: %s",
					  X509_verify_cert_error_string(v));
			else
				conn_fail(k, "TLS handshake failed: %s", ssl_error_text());
			return;
		}
		log_info("controller", "TLS %s with %s", SSL_get_version(k->ssl), k->host);
		k->state = CONN_HELLO;
		send_hello(k);
		if (k->closing)
			return;
	}
	for (;;) {
		int n = SSL_read(k->ssl, buf, sizeof buf);

		if (n <= 0) {
			int e = SSL_get_error(k->ssl, n);

			tls_flush(k, NULL);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				break;
			if (e == SSL_ERROR_ZERO_RETURN)
				conn_fail(k, "the controller closed the TLS session");
			else
				conn_fail(k, "TLS read failed: %s", ssl_error_text());
			return;
		}
		if (frame_decoder_feed(&k->dec, buf, (size_t)n) < 0) {
			conn_fail(k, "out of memory");
			return;
		}
		for (;;) {
			CassandraAgent__V1__Envelope *env = NULL;
			int rc = frame_decoder_next(&k->dec, &env, err, sizeof err);
			bool open;

			if (rc == 0)
				break;
			if (rc < 0) {
				conn_fail(k, "protocol error: %s", err);
				return;
			}
			open = handle_envelope(k, env);
			cassandra_agent__v1__envelope__free_unpacked(env, NULL);
			if (!open)
				return;
		}
	}
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char slab[TLS_READ_CHUNK];

	(void)h;
	(void)suggested;
	*buf = uv_buf_init(slab, sizeof slab);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *k = s->data;

	if (k->closing)
		return;
	if (nread < 0) {
		conn_fail(k, nread == UV_EOF ? "the controller closed the connection" : "read: %s",
			  nread == UV_EOF ? "" : uv_strerror((int)nread));
		return;
	}
	if (nread == 0)
		return;
	k->last_rx_ms = mono_ms();
	if (BIO_write(k->rbio, buf->base, (int)nread) != (int)nread) {
		conn_fail(k, "out of memory");
		return;
	}
	conn_pump(k);
}

/* A fingerprint of the TLS files (path, mtime, size) to notice a replaced file on SIGHUP. */
static void tls_files_stamp(const struct agent_config *cfg, char *out, size_t len)
{
	const char *files[3] = {cfg->controller.ca, cfg->controller.cert, cfg->controller.key};
	size_t o = 0;

	out[0] = '\0';
	for (int i = 0; i < 3 && o < len; i++) {
		struct stat st = {0};

		stat(files[i], &st);
		o += (size_t)snprintf(out + o, len - o, "%s:%lld.%09ld:%lld;", files[i], (long long)st.st_mtim.tv_sec,
				      st.st_mtim.tv_nsec, (long long)st.st_size);
	}
}

/* Builds the SSL_CTX from the files named in the config (read at every attempt). */
static SSL_CTX *make_ssl_ctx(const struct agent_config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		snprintf(err, errlen, "TLS: %s", ssl_error_text());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, cfg->controller.ca, NULL) != 1) {
		snprintf(err, errlen, "TLS: cannot load controller CA %s: %s", cfg->controller.ca, ssl_error_text());
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->controller.cert) != 1) {
		snprintf(err, errlen, "TLS: cannot load agent certificate %s: %s", cfg->controller.cert,
			 ssl_error_text());
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->controller.key, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errlen, "TLS: cannot load agent key %s: %s", cfg->controller.key, ssl_error_text());
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "TLS: agent key %s does not match certificate %s", cfg->controller.key,
			 cfg->controller.cert);
		goto fail;
	}
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

static void connect_cb(uv_connect_t *req, int status)
{
	struct conn *k = req->data;
	struct controller *c = k->ctl;
	struct in6_addr a6;
	struct in_addr a4;

	if (k->closing)
		return;
	if (status < 0) {
		conn_fail(k, "connect: %s", uv_strerror(status));
		return;
	}
	k->ssl = SSL_new(c->ssl_ctx);
	k->rbio = BIO_new(BIO_s_mem());
	k->wbio = BIO_new(BIO_s_mem());
	if (!k->ssl || !k->rbio || !k->wbio) {
		BIO_free(k->rbio);
		BIO_free(k->wbio);
		k->rbio = k->wbio = NULL;
		conn_fail(k, "out of memory");
		return;
	}
	SSL_set_bio(k->ssl, k->rbio, k->wbio);
	SSL_set_connect_state(k->ssl);
	/* The controller must present a certificate for the address we dialled. */
	if (inet_pton(AF_INET, k->host, &a4) == 1 || inet_pton(AF_INET6, k->host, &a6) == 1) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(k->ssl), k->host);
	} else {
		SSL_set1_host(k->ssl, k->host);
		SSL_set_tlsext_host_name(k->ssl, k->host);
	}
	k->state = CONN_HANDSHAKE;
	uv_read_start((uv_stream_t *)&k->tcp, alloc_cb, read_cb);
	conn_pump(k);
}

static void gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct conn *k = req->data;
	int rc;

	k->gai_pending = false;
	if (k->closing) {
		uv_freeaddrinfo(res);
		conn_free(k);
		return;
	}
	if (status < 0 || !res) {
		uv_freeaddrinfo(res);
		conn_fail(k, "cannot resolve %s: %s", k->host, uv_strerror(status));
		return;
	}
	uv_tcp_init(k->ctl->loop, &k->tcp);
	k->tcp.data = k;
	k->tcp_open = true;
	uv_tcp_nodelay(&k->tcp, 1);
	k->state = CONN_CONNECTING;
	k->connect_req.data = k;
	rc = uv_tcp_connect(&k->connect_req, &k->tcp, res->ai_addr, connect_cb);
	uv_freeaddrinfo(res);
	if (rc < 0)
		conn_fail(k, "connect: %s", uv_strerror(rc));
}

static void connect_attempt(struct controller *c)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	char port[16];
	struct conn *k;
	SSL_CTX *ctx;
	int rc;

	if (c->stopping || c->conn)
		return;
	snprintf(c->state.address, sizeof c->state.address, "%s", c->cfg->controller.address);
	ctx = make_ssl_ctx(c->cfg, c->state.last_error, sizeof c->state.last_error);
	if (!ctx) {
		log_warnx("controller", "%s", c->state.last_error);
		publish_state(c);
		schedule_reconnect(c);
		return;
	}
	if (c->ssl_ctx)
		SSL_CTX_free(c->ssl_ctx);
	c->ssl_ctx = ctx;
	tls_files_stamp(c->cfg, c->tls_stamp, sizeof c->tls_stamp);
	k = calloc(1, sizeof *k);
	if (!k) {
		schedule_reconnect(c);
		return;
	}
	k->ctl = c;
	k->started_ms = k->last_rx_ms = k->last_ping_ms = mono_ms();
	if (controller_split_address(c->cfg->controller.address, k->host, sizeof k->host, port, sizeof port) < 0) {
		free(k);
		snprintf(c->state.last_error, sizeof c->state.last_error, "invalid controller.address \"%s\"",
			 c->cfg->controller.address);
		publish_state(c);
		schedule_reconnect(c);
		return;
	}
	c->conns_open++;
	c->conn = k;
	k->state = CONN_RESOLVING;
	k->gai.data = k;
	k->gai_pending = true;
	rc = uv_getaddrinfo(c->loop, &k->gai, gai_cb, k->host, port, &hints);
	if (rc < 0) {
		k->gai_pending = false;
		conn_fail(k, "cannot resolve %s: %s", k->host, uv_strerror(rc));
	}
}

static void backoff_cb(uv_timer_t *t)
{
	connect_attempt(t->data);
}

static void schedule_reconnect(struct controller *c)
{
	uint64_t cap = CONTROLLER_BACKOFF_MIN_MS, delay;

	if (c->stopping)
		return;
	for (unsigned i = 0; i < c->attempt && cap < CONTROLLER_BACKOFF_MAX_MS; i++)
		cap *= 2;
	if (cap > CONTROLLER_BACKOFF_MAX_MS)
		cap = CONTROLLER_BACKOFF_MAX_MS;
	/* Full jitter, never below the minimum so a dead controller is not hammered. */
	delay = CONTROLLER_BACKOFF_MIN_MS + (uint64_t)random() % (cap - CONTROLLER_BACKOFF_MIN_MS + 1);
	c->attempt++;
	c->state.reconnects++;
	uv_timer_start(&c->backoff_timer, backoff_cb, delay, 0);
}

/* ---- reports and timers -------------------------------------------------------------- */

static void report_fn(void *data, const CassandraAgent__V1__HealthReport *r)
{
	struct conn *k = data;
	CassandraAgent__V1__Envelope env = CASSANDRA_AGENT__V1__ENVELOPE__INIT;

	env.body_case = CASSANDRA_AGENT__V1__ENVELOPE__BODY_HEALTH;
	env.health = (CassandraAgent__V1__HealthReport *)r;
	if (conn_send(k, &env, NULL) < 0)
		log_warnx("controller", "cannot send the health report");
}

static void send_report(struct controller *c)
{
	struct conn *k = c->conn;

	if (!k || k->state != CONN_SESSION || k->closing)
		return;
	/* Not queued behind a slow controller: skip when unsent bytes pile up. */
	if (uv_stream_get_write_queue_size((uv_stream_t *)&k->tcp) > 8u * FRAME_MAX)
		return;
	c->last_report_ms = mono_ms();
	c->state.last_report_unix_ms = now_unix_ms();
	publish_state(c);
	health_with_report(c->health, report_fn, k);
}

static void report_timer_cb(uv_timer_t *t)
{
	send_report(t->data);
}

static void soon_cb(uv_timer_t *t)
{
	send_report(t->data);
}

void controller_report_soon(struct controller *c)
{
	uint64_t since, wait = 0;

	if (!c || c->stopping || !c->conn || c->conn->state != CONN_SESSION ||
	    uv_is_active((uv_handle_t *)&c->soon_timer))
		return;
	since = mono_ms() - c->last_report_ms;
	if (since < CONTROLLER_REPORT_MIN_GAP_MS)
		wait = CONTROLLER_REPORT_MIN_GAP_MS - since;
	uv_timer_start(&c->soon_timer, soon_cb, wait, 0);
}

static void tick_cb(uv_timer_t *t)
{
	struct controller *c = t->data;
	struct conn *k = c->conn;
	uint64_t now = mono_ms();

	/* A replaced CA, certificate or key file is taken without a SIGHUP (checked every 30 s;
	 * a broken one is refused and the session kept, as on SIGHUP). */
	if (++c->ticks % CONTROLLER_TLS_CHECK_TICKS == 0 && k && k->state == CONN_SESSION) {
		char stamp[sizeof c->tls_stamp];

		tls_files_stamp(c->cfg, stamp, sizeof stamp);
		if (strcmp(stamp, c->tls_stamp) != 0 && strcmp(stamp, c->refused_stamp) != 0) {
			controller_reload(c, c->cfg);
			if (c->conn == k && !k->closing)
				snprintf(c->refused_stamp, sizeof c->refused_stamp, "%s",
					 stamp); /* refused: not again */
			return;
		}
	}

	if (!k || k->closing)
		return;
	if (k->state != CONN_SESSION && now - k->started_ms > CONTROLLER_HANDSHAKE_MS) {
		conn_fail(k, "no session after %d s", CONTROLLER_HANDSHAKE_MS / 1000);
		return;
	}
	if (k->state == CONN_SESSION && now - k->last_rx_ms > CONTROLLER_SILENCE_MS) {
		conn_fail(k, "no data from the controller for %d s", CONTROLLER_SILENCE_MS / 1000);
		return;
	}
	if (k->state == CONN_SESSION && now - k->last_ping_ms >= CONTROLLER_PING_MS) {
		CassandraAgent__V1__Envelope env = CASSANDRA_AGENT__V1__ENVELOPE__INIT;
		CassandraAgent__V1__Ping ping = CASSANDRA_AGENT__V1__PING__INIT;

		k->last_ping_ms = now;
		ping.nonce = (uint64_t)random();
		env.body_case = CASSANDRA_AGENT__V1__ENVELOPE__BODY_PING;
		env.ping = &ping;
		conn_send(k, &env, NULL);
	}
}

/* ---- public -------------------------------------------------------------------------- */

void controller_set_store(struct controller *c, struct command_store *store)
{
	c->store = store;
}

int controller_send_update(struct controller *c, const CassandraAgent__V1__CommandUpdate *u)
{
	CassandraAgent__V1__Envelope env = CASSANDRA_AGENT__V1__ENVELOPE__INIT;
	bool final = u->status == CASSANDRA_AGENT__V1__COMMAND_STATUS__COMMAND_STATUS_SUCCEEDED ||
		     u->status == CASSANDRA_AGENT__V1__COMMAND_STATUS__COMMAND_STATUS_FAILED ||
		     u->status == CASSANDRA_AGENT__V1__COMMAND_STATUS__COMMAND_STATUS_REJECTED;

	if (!c->conn || c->conn->state != CONN_SESSION || c->conn->closing)
		return 0; /* a final status stays undelivered in the store and goes after Welcome */
	env.body_case = CASSANDRA_AGENT__V1__ENVELOPE__BODY_COMMAND_UPDATE;
	env.command_update = (CassandraAgent__V1__CommandUpdate *)u;
	if (conn_send(c->conn, &env, final && u->id && u->id[0] ? u->id : NULL) < 0)
		conn_fail(c->conn, "cannot send a CommandUpdate");
	return 0;
}

int controller_send(struct controller *c, CassandraAgent__V1__Envelope *env)
{
	int rc;

	if (!c || !c->conn || c->conn->state != CONN_SESSION || c->conn->closing)
		return -ENOTCONN;
	rc = conn_send(c->conn, env, NULL);
	if (rc < 0 && rc != -ENOMEM)
		conn_fail(c->conn, "cannot send a message");
	return rc;
}

int controller_start(uv_loop_t *loop, const struct agent_config *cfg, struct health *h, struct command_store *store,
		     const struct controller_hooks *hooks, struct controller **out)
{
	struct controller *c = calloc(1, sizeof *c);

	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->cfg = cfg;
	c->health = h;
	c->store = store;
	c->hooks = *hooks;
	c->state.enabled = true;
	snprintf(c->state.address, sizeof c->state.address, "%s", cfg->controller.address);
	srandom((unsigned)(uv_hrtime() ^ (uint64_t)getpid()));
	uv_timer_init(loop, &c->backoff_timer);
	uv_timer_init(loop, &c->report_timer);
	uv_timer_init(loop, &c->tick_timer);
	uv_timer_init(loop, &c->soon_timer);
	c->backoff_timer.data = c->report_timer.data = c->tick_timer.data = c->soon_timer.data = c;
	c->handles_open = 4;
	uv_timer_start(&c->tick_timer, tick_cb, 1000, 1000);
	uv_timer_start(&c->report_timer, report_timer_cb, cfg->controller.report_interval_ms,
		       cfg->controller.report_interval_ms);
	publish_state(c);
	connect_attempt(c);
	*out = c;
	return 0;
}

void controller_reload(struct controller *c, const struct agent_config *cfg)
{
	const struct agent_config *old = c->cfg;
	char stamp[sizeof c->tls_stamp];
	bool changed;

	/* A new address or a replaced CA, certificate or key file: reconnect with it. */
	tls_files_stamp(cfg, stamp, sizeof stamp);
	changed = strcmp(old->controller.address, cfg->controller.address) != 0 || strcmp(stamp, c->tls_stamp) != 0;

	c->cfg = cfg;
	uv_timer_start(&c->report_timer, report_timer_cb, cfg->controller.report_interval_ms,
		       cfg->controller.report_interval_ms);
	if (changed && c->conn && c->conn->state == CONN_SESSION) {
		char err[sizeof c->state.last_error];
		SSL_CTX *ctx = make_ssl_ctx(cfg, err, sizeof err);

		if (!ctx) {
			/* Keep the working session on the material it has; say why. */
			log_err("controller", "new TLS material refused, keeping the current session: %s", err);
			snprintf(c->state.last_error, sizeof c->state.last_error, "reload refused: %s", err);
			health_event(c->health, "controller_reload_refused", cfg->controller.address, "%s", err);
			publish_state(c);
			return;
		}
		SSL_CTX_free(ctx);
		c->attempt = 0;
		conn_fail(c->conn, "controller settings changed; reconnecting");
	} else if (changed && c->conn) {
		c->attempt = 0;
		conn_fail(c->conn, "controller settings changed; reconnecting");
	}
}

static void timer_close_cb(uv_handle_t *h)
{
	struct controller *c = h->data;

	c->handles_open--;
	controller_maybe_free(c);
}

void controller_stop(struct controller *c)
{
	if (!c || c->stopping)
		return;
	c->stopping = true;
	if (c->conn)
		conn_close(c->conn);
	uv_close((uv_handle_t *)&c->backoff_timer, timer_close_cb);
	uv_close((uv_handle_t *)&c->report_timer, timer_close_cb);
	uv_close((uv_handle_t *)&c->tick_timer, timer_close_cb);
	uv_close((uv_handle_t *)&c->soon_timer, timer_close_cb);
}
