/* nodetool: child-process runner with a timeout that kills the process group (see nodetool.h). */
#include "nodetool.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* After the child exits, how long its pipes may stay open (a grandchild holding them). */
#define NODETOOL_DRAIN_MS 500

struct nodetool_runner {
	uv_loop_t *loop;
	char **prefix; /* NULL-terminated, owned */
	size_t n_prefix;
	struct nodetool_op *ops; /* calls under way, linked through op->next */
	size_t n_ops;
	bool closing; /* no new calls; freed once n_ops is 0 */
	uint64_t calls, failures, last_ms;
};

struct nodetool_op {
	struct nodetool_runner *runner;
	struct nodetool_op *next;
	uv_process_t proc;
	uv_pipe_t out_pipe, err_pipe;
	uv_timer_t timer;
	int handles_open;
	bool exited, out_eof, err_eof, timed_out, cancelled, spawned;
	int64_t exit_status;
	int term_signal;
	uint64_t started_ns;
	uint64_t duration_ms;
	char *out;
	size_t out_len, out_cap, out_max;
	bool out_truncated;
	char errbuf[NODETOOL_STDERR_MAX + 1];
	size_t err_len;
	int spawn_err;
	nodetool_cb cb;
	void *data;
	char *subcommand; /* for log lines */
};

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static char **copy_strv(const char *const *src, size_t *n_out)
{
	size_t n = 0;
	char **v;

	while (src && src[n])
		n++;
	v = calloc(n + 1, sizeof *v);
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		v[i] = strdup(src[i]);
		if (!v[i]) {
			free_strv(v);
			return NULL;
		}
	}
	*n_out = n;
	return v;
}

int nodetool_runner_new(uv_loop_t *loop, const char *const *argv_prefix, struct nodetool_runner **out)
{
	struct nodetool_runner *r = calloc(1, sizeof *r);

	if (!r)
		return -ENOMEM;
	r->loop = loop;
	if (nodetool_runner_set_prefix(r, argv_prefix) < 0) {
		free(r);
		return argv_prefix && argv_prefix[0] ? -ENOMEM : -EINVAL;
	}
	*out = r;
	return 0;
}

int nodetool_runner_set_prefix(struct nodetool_runner *r, const char *const *argv_prefix)
{
	size_t n = 0;
	char **v;

	if (!argv_prefix || !argv_prefix[0])
		return -EINVAL;
	v = copy_strv(argv_prefix, &n);
	if (!v)
		return -ENOMEM;
	free_strv(r->prefix);
	r->prefix = v;
	r->n_prefix = n;
	return 0;
}

void nodetool_runner_stats(const struct nodetool_runner *r, uint64_t *calls, uint64_t *failures, uint64_t *last_ms)
{
	*calls = r->calls;
	*failures = r->failures;
	*last_ms = r->last_ms;
}

size_t nodetool_runner_active(const struct nodetool_runner *r)
{
	return r->n_ops;
}

static void runner_maybe_free(struct nodetool_runner *r)
{
	if (r->closing && r->n_ops == 0) {
		free_strv(r->prefix);
		free(r);
	}
}

static void op_unlink(struct nodetool_op *op)
{
	struct nodetool_runner *r = op->runner;

	for (struct nodetool_op **p = &r->ops; *p; p = &(*p)->next) {
		if (*p == op) {
			*p = op->next;
			r->n_ops--;
			return;
		}
	}
}

/* Fires the user callback once, after every handle closed, and frees the op. */
static void op_finish(struct nodetool_op *op)
{
	struct nodetool_runner *r = op->runner;
	struct nodetool_result res = {0};
	char reason[256] = "";

	if (op->spawn_err) {
		res.err = op->spawn_err;
		snprintf(reason, sizeof reason, "cannot run %s: %s", r->prefix[0], uv_strerror(op->spawn_err));
	} else if (op->cancelled) {
		res.err = -ECANCELED;
		snprintf(reason, sizeof reason, "cancelled");
	} else if (op->timed_out) {
		res.err = -ETIMEDOUT;
		snprintf(reason, sizeof reason, "timed out after %llu ms, process group killed",
			 (unsigned long long)op->duration_ms);
	} else if (op->term_signal || op->exit_status != 0) {
		size_t n = strcspn(op->errbuf, "\n");

		res.err = -ECHILD;
		if (op->term_signal)
			snprintf(reason, sizeof reason, "killed by signal %d", op->term_signal);
		else
			snprintf(reason, sizeof reason, "exit status %lld%s%.*s", (long long)op->exit_status,
				 n ? ": " : "", (int)(n > 200 ? 200 : n), op->errbuf);
	}
	res.exit_status = (int)op->exit_status;
	res.term_signal = op->term_signal;
	res.out = op->out ? op->out : "";
	res.out_len = op->out_len;
	res.out_truncated = op->out_truncated;
	res.errtext = reason;
	res.duration_ms = op->duration_ms;
	if (res.err && res.err != -ECANCELED)
		log_debug("nodetool", "%s: %s", op->subcommand, reason);

	op_unlink(op);
	r->calls++;
	r->failures += res.err != 0 && res.err != -ECANCELED;
	r->last_ms = res.duration_ms;
	if (op->cb)
		op->cb(op->data, &res);
	free(op->out);
	free(op->subcommand);
	free(op);
	runner_maybe_free(r);
}

static void handle_close_cb(uv_handle_t *h)
{
	struct nodetool_op *op = h->data;

	if (--op->handles_open == 0)
		op_finish(op);
}

static void op_close_handle(struct nodetool_op *op, uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, handle_close_cb);
	(void)op;
}

/* Closes everything once the child exited and both pipes reached EOF (or gave up). */
static void op_maybe_close(struct nodetool_op *op, bool force)
{
	if (!op->exited)
		return;
	if (!force && !(op->out_eof && op->err_eof))
		return;
	op_close_handle(op, (uv_handle_t *)&op->out_pipe);
	op_close_handle(op, (uv_handle_t *)&op->err_pipe);
	op_close_handle(op, (uv_handle_t *)&op->timer);
	op_close_handle(op, (uv_handle_t *)&op->proc);
}

static void op_kill_group(struct nodetool_op *op)
{
	if (op->spawned && !op->exited && op->proc.pid > 0)
		kill(-op->proc.pid, SIGKILL);
}

static void drain_timer_cb(uv_timer_t *t);

static void exit_cb(uv_process_t *proc, int64_t exit_status, int term_signal)
{
	struct nodetool_op *op = proc->data;

	op->exited = true;
	op->exit_status = exit_status;
	op->term_signal = term_signal;
	op->duration_ms = (uv_hrtime() - op->started_ns) / 1000000;
	/* Kill what the child may have left in its group, then give the pipes a moment. */
	kill(-proc->pid, SIGKILL);
	if (op->out_eof && op->err_eof) {
		op_maybe_close(op, false);
		return;
	}
	uv_timer_stop(&op->timer);
	uv_timer_start(&op->timer, drain_timer_cb, NODETOOL_DRAIN_MS, 0);
}

static void drain_timer_cb(uv_timer_t *t)
{
	struct nodetool_op *op = t->data;

	if (op->exited) {
		op_maybe_close(op, true);
		return;
	}
	/* The deadline passed while the child still runs. */
	op->timed_out = true;
	op_kill_group(op);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct nodetool_op *op = h->data;
	static char discard[4096];

	(void)suggested;
	if ((uv_pipe_t *)h == &op->err_pipe) {
		if (op->err_len < NODETOOL_STDERR_MAX) {
			*buf = uv_buf_init(op->errbuf + op->err_len, (unsigned)(NODETOOL_STDERR_MAX - op->err_len));
			return;
		}
		*buf = uv_buf_init(discard, sizeof discard);
		return;
	}
	if (op->out_len >= op->out_max) {
		*buf = uv_buf_init(discard, sizeof discard);
		return;
	}
	if (op->out_cap - op->out_len < 16384 + 1) {
		size_t cap = op->out_cap ? op->out_cap * 2 : 65536;
		char *p;

		if (cap > op->out_max + 1)
			cap = op->out_max + 1;
		p = realloc(op->out, cap);
		if (!p) {
			*buf = uv_buf_init(NULL, 0); /* read_cb gets UV_ENOBUFS */
			return;
		}
		op->out = p;
		op->out_cap = cap;
	}
	size_t room = op->out_cap - op->out_len - 1;

	if (room > op->out_max - op->out_len)
		room = op->out_max - op->out_len;
	*buf = uv_buf_init(op->out + op->out_len, (unsigned)room);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct nodetool_op *op = s->data;
	bool is_err = (uv_pipe_t *)s == &op->err_pipe;

	if (nread > 0) {
		if (is_err) {
			if (buf->base == op->errbuf + op->err_len) {
				op->err_len += (size_t)nread;
				op->errbuf[op->err_len] = '\0';
			}
		} else if (op->out && buf->base == op->out + op->out_len) {
			op->out_len += (size_t)nread;
			op->out[op->out_len] = '\0';
		} else {
			op->out_truncated = true;
		}
		return;
	}
	if (nread == 0)
		return;
	/* EOF or error: this side is done. */
	uv_read_stop(s);
	if (is_err)
		op->err_eof = true;
	else
		op->out_eof = true;
	op_maybe_close(op, false);
}

int nodetool_run(struct nodetool_runner *r, const char *const *args, uint64_t timeout_ms, nodetool_cb cb, void *data,
		 struct nodetool_op **op_out)
{
	return nodetool_run_capped(r, args, timeout_ms, NODETOOL_OUTPUT_MAX, cb, data, op_out);
}

int nodetool_run_capped(struct nodetool_runner *r, const char *const *args, uint64_t timeout_ms, size_t out_max,
			nodetool_cb cb, void *data, struct nodetool_op **op_out)
{
	struct nodetool_op *op;
	uv_process_options_t opts = {0};
	uv_stdio_container_t stdio[3];
	size_t n_args = 0;
	char **argv = NULL;
	int rc;

	if (r->closing)
		return -ECANCELED;
	while (args && args[n_args])
		n_args++;
	op = calloc(1, sizeof *op);
	argv = calloc(r->n_prefix + n_args + 1, sizeof *argv);
	if (!op || !argv) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < r->n_prefix; i++)
		argv[i] = r->prefix[i];
	for (size_t i = 0; i < n_args; i++)
		argv[r->n_prefix + i] = (char *)args[i];
	op->subcommand = strdup(n_args ? args[0] : "");
	if (!op->subcommand) {
		rc = -ENOMEM;
		goto fail;
	}
	op->runner = r;
	op->out_max = out_max ? out_max : NODETOOL_OUTPUT_MAX;
	op->cb = cb;
	op->data = data;
	op->proc.data = op->out_pipe.data = op->err_pipe.data = op->timer.data = op;

	uv_pipe_init(r->loop, &op->out_pipe, 0);
	uv_pipe_init(r->loop, &op->err_pipe, 0);
	uv_timer_init(r->loop, &op->timer);
	op->handles_open = 3;

	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)&op->out_pipe;
	stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[2].data.stream = (uv_stream_t *)&op->err_pipe;
	opts.file = argv[0];
	opts.args = argv;
	opts.exit_cb = exit_cb;
	opts.flags = UV_PROCESS_DETACHED; /* setsid(): a process group of its own */
	opts.stdio = stdio;
	opts.stdio_count = 3;

	op->started_ns = uv_hrtime();
	op->next = r->ops;
	r->ops = op;
	r->n_ops++;
	if (op_out)
		*op_out = op;

	rc = uv_spawn(r->loop, &op->proc, &opts);
	free(argv);
	argv = NULL;
	if (rc < 0) {
		/* The process handle is initialised even on failure and must be closed. */
		op->spawn_err = rc;
		op->exited = op->out_eof = op->err_eof = true;
		op->handles_open = 4;
		op_maybe_close(op, true);
		return 0; /* the callback reports the spawn error from the loop */
	}
	op->spawned = true;
	op->handles_open = 4;
	uv_read_start((uv_stream_t *)&op->out_pipe, alloc_cb, read_cb);
	uv_read_start((uv_stream_t *)&op->err_pipe, alloc_cb, read_cb);
	uv_timer_start(&op->timer, drain_timer_cb, timeout_ms, 0);
	return 0;

fail:
	free(argv);
	if (op)
		free(op->subcommand);
	free(op);
	return rc;
}

void nodetool_runner_release(struct nodetool_runner *r)
{
	r->closing = true;
	runner_maybe_free(r);
}

void nodetool_runner_close(struct nodetool_runner *r)
{
	r->closing = true;
	for (struct nodetool_op *op = r->ops; op; op = op->next) {
		op->cancelled = true;
		op_kill_group(op);
	}
	runner_maybe_free(r);
}
