/* command_store: append-only journal of StoredCommand records with group commit (see command_store.h). */
#include "command_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utlist.h>
#include <uthash.h>

#include "log.h"

struct entry {
	UT_hash_handle hh;
	struct entry *prev, *next; /* the undelivered list, while final and not delivered */
	bool in_undelivered;
	char *id, *kind, *message;
	uint8_t *output;
	size_t output_len;
	int64_t at_unix_ms;
	CassandraAgent__V1__CommandStatus status;
	bool delivered;
	uint64_t seq; /* of the newest record written for it */
	struct stored_command view;
};

struct sync_waiter {
	command_store_synced_cb cb;
	void *data;
};

struct batch {
	uint8_t *buf;
	size_t len, cap;
	struct sync_waiter *waiters;
	size_t n_waiters, cap_waiters;
	uint64_t max_seq;
	int err;
};

struct command_store {
	uv_loop_t *loop;
	int fd;
	char *path;
	struct entry *by_id;       /* uthash head */
	struct entry *undelivered; /* utlist head, oldest first */
	uint64_t seq, synced_seq;
	struct batch pending, inflight;
	bool busy; /* a batch is being written */
	bool closing;
	bool in_callbacks; /* write_done_cb is calling back: do not free yet */
	uv_work_t work;
	/* After a failed write (disk full, I/O error): every entry newer than synced_seq is
	 * written again by the next batch, built from memory (bounded by the entries held). */
	bool resync;
	/* The journal's length after the last good batch; a failed batch is cut back to it so
	 * that no torn record sits before later ones. `torn`: that cut failed too, retried
	 * before the next write (worker thread only while busy). */
	off_t size;
	bool torn;
	int last_err; /* of the last batch: 0 or a negative errno */
	command_store_observer_cb observer;
	void *observer_data;
};

static bool status_is_final(CassandraAgent__V1__CommandStatus s)
{
	return s == CASSANDRA_AGENT__V1__COMMAND_STATUS__COMMAND_STATUS_SUCCEEDED ||
	       s == CASSANDRA_AGENT__V1__COMMAND_STATUS__COMMAND_STATUS_FAILED ||
	       s == CASSANDRA_AGENT__V1__COMMAND_STATUS__COMMAND_STATUS_REJECTED;
}

static void entry_free(struct entry *e)
{
	free(e->id);
	free(e->kind);
	free(e->message);
	free(e->output);
	free(e);
}

static void undelivered_update(struct command_store *s, struct entry *e)
{
	bool want = status_is_final(e->status) && !e->delivered;

	if (want && !e->in_undelivered) {
		DL_APPEND(s->undelivered, e);
		e->in_undelivered = true;
	} else if (!want && e->in_undelivered) {
		DL_DELETE(s->undelivered, e);
		e->in_undelivered = false;
	}
}

static void entry_remove(struct command_store *s, struct entry *e)
{
	if (e->in_undelivered)
		DL_DELETE(s->undelivered, e);
	// NOLINTNEXTLINE(clang-analyzer-unix.Malloc): uthash: the analyzer loses hh.next across HASH_ITER
	HASH_DEL(s->by_id, e);
	entry_free(e);
}

/* Sets an entry's values (copies); creates it when missing. An empty `kind` keeps the
 * entry's kind. Returns NULL on ENOMEM (the entry is then unchanged). */
static struct entry *entry_set(struct command_store *s, const char *id, const char *kind,
			       CassandraAgent__V1__CommandStatus status, const char *message, const uint8_t *output,
			       size_t output_len, int64_t at, bool delivered)
{
	struct entry *e = NULL;
	char *k = kind && kind[0] ? strdup(kind) : NULL, *m = strdup(message ? message : "");
	uint8_t *o = output_len ? malloc(output_len) : NULL;

	if ((kind && kind[0] && !k) || !m || (output_len && !o))
		goto fail;
	if (output_len)
		memcpy(o, output, output_len);
	HASH_FIND_STR(s->by_id, id, e);
	if (!e) {
		e = calloc(1, sizeof *e);
		if (!e || !(e->id = strdup(id)) || (!k && !(k = strdup("")))) {
			if (e)
				free(e->id);
			free(e);
			goto fail;
		}
		HASH_ADD_KEYPTR(hh, s->by_id, e->id, strlen(e->id), e);
	}
	if (k) {
		free(e->kind);
		e->kind = k;
	}
	free(e->message);
	e->message = m;
	free(e->output);
	e->output = o;
	e->output_len = output_len;
	e->status = status;
	e->at_unix_ms = at;
	e->delivered = delivered;
	undelivered_update(s, e);
	return e;
fail:
	free(k);
	free(m);
	free(o);
	return NULL;
}

/* Serialises one record of `e` behind its length; appended to `b`. */
static int batch_append(struct batch *b, const struct entry *e)
{
	CassandraAgent__V1__StoredCommand rec = CASSANDRA_AGENT__V1__STORED_COMMAND__INIT;
	CassandraAgent__V1__CommandUpdate up = CASSANDRA_AGENT__V1__COMMAND_UPDATE__INIT;
	size_t n;

	up.id = e->id;
	up.status = e->status;
	up.message = e->message;
	up.output.data = e->output;
	up.output.len = e->output_len;
	rec.id = e->id;
	rec.at_unix_ms = e->at_unix_ms;
	rec.update = &up;
	rec.delivered = e->delivered;
	rec.kind = e->kind;
	n = cassandra_agent__v1__stored_command__get_packed_size(&rec);
	if (n > COMMAND_STORE_RECORD_MAX)
		return -EMSGSIZE;
	if (b->cap - b->len < n + 4) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *p;

		while (cap - b->len < n + 4)
			cap *= 2;
		p = realloc(b->buf, cap);
		if (!p)
			return -ENOMEM;
		b->buf = p;
		b->cap = cap;
	}
	b->buf[b->len++] = (uint8_t)(n >> 24);
	b->buf[b->len++] = (uint8_t)(n >> 16);
	b->buf[b->len++] = (uint8_t)(n >> 8);
	b->buf[b->len++] = (uint8_t)n;
	cassandra_agent__v1__stored_command__pack(&rec, b->buf + b->len);
	b->len += n;
	return 0;
}

static int batch_add_waiter(struct batch *b, command_store_synced_cb cb, void *data)
{
	if (!cb)
		return 0;
	if (b->n_waiters == b->cap_waiters) {
		size_t cap = b->cap_waiters ? b->cap_waiters * 2 : 16;
		struct sync_waiter *p = realloc(b->waiters, cap * sizeof *p);

		if (!p)
			return -ENOMEM;
		b->waiters = p;
		b->cap_waiters = cap;
	}
	b->waiters[b->n_waiters++] = (struct sync_waiter){cb, data};
	return 0;
}

/* ---- the writer thread -------------------------------------------------------------- */

static void write_work_cb(uv_work_t *req)
{
	struct command_store *s = req->data;
	struct batch *b = &s->inflight;
	size_t off = 0;

	b->err = 0;
	if (s->torn) {
		if (ftruncate(s->fd, s->size) < 0) {
			b->err = -errno;
			return;
		}
		s->torn = false;
	}
	while (off < b->len) {
		ssize_t n = write(s->fd, b->buf + off, b->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			b->err = -errno;
			goto undo;
		}
		off += (size_t)n;
	}
	if (fdatasync(s->fd) < 0) {
		b->err = -errno;
		goto undo;
	}
	s->size += (off_t)b->len;
	return;
undo:
	/* Cut the journal back to its last whole record (O_APPEND: the next batch goes there). */
	if (off > 0)
		s->torn = ftruncate(s->fd, s->size) < 0;
}

static void store_free(struct command_store *s);
static void start_write(struct command_store *s);

static void write_done_cb(uv_work_t *req, int status)
{
	struct command_store *s = req->data;
	struct batch *b = &s->inflight;
	int err = status < 0 ? status : b->err;
	struct sync_waiter *waiters = b->waiters;
	size_t n_waiters = b->n_waiters;

	if (err) {
		if (!s->last_err)
			log_err("command_store",
				"cannot write %s: %s; the results since the last write stay in memory "
				"and are written again at the next attempt",
				s->path, strerror(-err));
		s->resync = true;
	} else {
		if (s->last_err)
			log_info("command_store", "%s is written again", s->path);
		s->synced_seq = b->max_seq;
	}
	s->last_err = err;
	/* Detach this batch's waiters, start the next batch, then call back: a callback may
	 * put new records (or close the store) without touching the batch being written.
	 * After a failure the next attempt waits for a record that has a waiter, or for
	 * command_store_retry(): no tight loop on a full disk. */
	b->waiters = NULL;
	b->n_waiters = b->cap_waiters = 0;
	b->len = 0;
	s->busy = false;
	if (!err || s->pending.n_waiters)
		start_write(s);
	s->in_callbacks = true;
	for (size_t i = 0; i < n_waiters; i++)
		waiters[i].cb(waiters[i].data, err);
	if (s->observer)
		s->observer(s->observer_data, err);
	s->in_callbacks = false;
	free(waiters);
	if (s->closing && !s->busy) {
		if (!err && (s->pending.len || s->resync))
			start_write(s);
		if (!s->busy) {
			if (s->resync)
				log_err("command_store", "%s: stopping with results not written (%s)", s->path,
					strerror(-s->last_err));
			store_free(s);
		}
	}
}

/* Replaces the pending bytes with a record of every entry newer than the last good write
 * (their newest state; the pending waiters stay). */
static int resync_batch(struct command_store *s)
{
	struct entry *e, *tmp;
	int rc;

	s->pending.len = 0;
	HASH_ITER(hh, s->by_id, e, tmp)
	{
		if (e->seq <= s->synced_seq)
			continue;
		rc = batch_append(&s->pending, e);
		if (rc < 0)
			return rc;
	}
	s->resync = false;
	return 0;
}

static void start_write(struct command_store *s)
{
	struct batch tmp;

	if (s->busy || (!s->pending.len && !s->resync))
		return;
	if (s->resync && resync_batch(s) < 0) { /* resync stays set: the next attempt rebuilds */
		log_err("command_store", "cannot rebuild the journal batch: out of memory");
		return;
	}
	if (!s->pending.len && !s->pending.n_waiters)
		return;
	/* Swap pending and in-flight so the next batch gathers while this one is written. */
	tmp = s->inflight;
	s->inflight = s->pending;
	s->pending = tmp;
	s->pending.len = 0;
	s->pending.n_waiters = 0;
	s->inflight.max_seq = s->seq;
	s->busy = true;
	s->work.data = s;
	if (uv_queue_work(s->loop, &s->work, write_work_cb, write_done_cb) < 0) {
		s->busy = false;
		log_err("command_store", "cannot queue the journal write");
	}
}

/* ---- public ------------------------------------------------------------------------- */

static const char *const interrupted_msg = "interrupted: the agent stopped while the command ran; it was not run again";

/* Reads the journal and applies every valid record; stops at a torn or corrupt tail. */
static int load_journal(struct command_store *s, int64_t now, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0, off = 0;
	int fd = open(s->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : (snprintf(err, errlen, "%s: %s", s->path, strerror(errno)), -errno);
	if (fstat(fd, &st) < 0 || !(buf = malloc((size_t)st.st_size + 1))) {
		int rc = -errno;

		snprintf(err, errlen, "%s: %s", s->path, strerror(-rc));
		close(fd);
		return rc;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	while (len - off >= 4) {
		uint32_t n = (uint32_t)buf[off] << 24 | (uint32_t)buf[off + 1] << 16 | (uint32_t)buf[off + 2] << 8 |
			     buf[off + 3];
		CassandraAgent__V1__StoredCommand *rec;

		if (n > COMMAND_STORE_RECORD_MAX || len - off - 4 < n)
			break;
		rec = cassandra_agent__v1__stored_command__unpack(NULL, n, buf + off + 4);
		if (!rec)
			break;
		if (rec->id && rec->id[0] && rec->update && now - rec->at_unix_ms < COMMAND_STORE_KEEP_MS)
			entry_set(s, rec->id, rec->kind, rec->update->status, rec->update->message,
				  rec->update->output.data, rec->update->output.len, rec->at_unix_ms, rec->delivered);
		cassandra_agent__v1__stored_command__free_unpacked(rec, NULL);
		off += 4 + n;
	}
	if (off != len)
		log_warnx("command_store", "%s: dropped %zu bytes of a torn or corrupt tail", s->path, len - off);
	free(buf);
	return 0;
}

/* Writes every live entry to a new file and renames it over the journal. */
static int compact(struct command_store *s, char *err, size_t errlen)
{
	struct batch b = {0};
	struct entry *e, *tmp;
	char tmp_path[4096];
	int fd = -1, rc = 0;
	char *slash;

	HASH_ITER(hh, s->by_id, e, tmp)
	{
		rc = batch_append(&b, e);
		if (rc < 0)
			goto out;
	}
	snprintf(tmp_path, sizeof tmp_path, "%s.tmp", s->path);
	fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	for (size_t off = 0; off < b.len;) {
		ssize_t n = write(fd, b.buf + off, b.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || rename(tmp_path, s->path) < 0) {
		rc = -errno;
		goto out;
	}
	slash = strrchr(tmp_path, '/');
	if (slash) {
		int dfd;

		*slash = '\0';
		dfd = open(tmp_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
out:
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot compact the journal: %s", s->path, strerror(-rc));
		if (fd >= 0)
			unlink(tmp_path);
	}
	if (fd >= 0)
		close(fd);
	free(b.buf);
	return rc;
}

int command_store_open(uv_loop_t *loop, const char *state_dir, int64_t now_unix_ms, struct command_store **out,
		       char *err, size_t errlen)
{
	struct command_store *s = calloc(1, sizeof *s);
	struct entry *e, *tmp;
	struct stat st;
	int rc;

	if (!s || asprintf(&s->path, "%s/%s", state_dir, COMMAND_STORE_FILE) < 0) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->loop = loop;
	s->fd = -1;
	rc = load_journal(s, now_unix_ms, err, errlen);
	if (rc < 0)
		goto fail;
	HASH_ITER(hh, s->by_id, e, tmp)
	{
		if (status_is_final(e->status))
			continue;
		log_warnx("command_store", "command %s (%s) was interrupted by a restart; reporting it FAILED", e->id,
			  e->kind);
		if (!entry_set(s, e->id, NULL, CASSANDRA_AGENT__V1__COMMAND_STATUS__COMMAND_STATUS_FAILED,
			       interrupted_msg, NULL, 0, now_unix_ms, false)) {
			rc = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	rc = compact(s, err, errlen);
	if (rc < 0)
		goto fail;
	s->fd = open(s->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (s->fd < 0 || fstat(s->fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		goto fail;
	}
	s->size = st.st_size;
	*out = s;
	return 0;
fail:
	store_free(s);
	return rc;
}

const struct stored_command *command_store_get(struct command_store *s, const char *id)
{
	struct entry *e = NULL;

	HASH_FIND_STR(s->by_id, id, e);
	if (!e)
		return NULL;
	e->view = (struct stored_command){
		.id = e->id,
		.kind = e->kind,
		.at_unix_ms = e->at_unix_ms,
		.status = e->status,
		.message = e->message,
		.output = e->output,
		.output_len = e->output_len,
		.delivered = e->delivered,
		.durable = e->seq <= s->synced_seq,
	};
	return &e->view;
}

int command_store_put(struct command_store *s, const char *id, const char *kind,
		      CassandraAgent__V1__CommandStatus status, const char *message, const uint8_t *output,
		      size_t output_len, int64_t now_unix_ms, command_store_synced_cb cb, void *data)
{
	struct entry *e;
	int rc;

	if (!id || !id[0])
		return -EINVAL;
	e = entry_set(s, id, kind, status, message, output, output_len, now_unix_ms, false);
	if (!e)
		return -ENOMEM;
	e->seq = ++s->seq;
	rc = batch_append(&s->pending, e);
	if (rc == 0)
		rc = batch_add_waiter(&s->pending, cb, data);
	if (rc < 0)
		return rc;
	start_write(s);
	return 0;
}

void command_store_mark_delivered(struct command_store *s, const char *id)
{
	struct entry *e = NULL;

	HASH_FIND_STR(s->by_id, id, e);
	if (!e || e->delivered || !status_is_final(e->status))
		return;
	e->delivered = true;
	undelivered_update(s, e);
	e->seq = ++s->seq;
	if (batch_append(&s->pending, e) == 0)
		start_write(s);
}

size_t command_store_undelivered(struct command_store *s, const char **ids, size_t max)
{
	size_t n = 0;
	struct entry *e;

	DL_FOREACH(s->undelivered, e)
	{
		if (n < max)
			ids[n] = e->id;
		n++;
	}
	return n;
}

size_t command_store_count(const struct command_store *s)
{
	return HASH_COUNT(s->by_id);
}

bool command_store_idle(const struct command_store *s)
{
	return !s->busy && s->pending.len == 0;
}

void command_store_observe(struct command_store *s, command_store_observer_cb cb, void *data)
{
	s->observer = cb;
	s->observer_data = data;
}

void command_store_retry(struct command_store *s)
{
	if (s && !s->closing)
		start_write(s);
}

int command_store_error(const struct command_store *s)
{
	return s->last_err;
}

void command_store_expire(struct command_store *s, int64_t now_unix_ms)
{
	struct entry *e, *tmp;

	HASH_ITER(hh, s->by_id, e, tmp)
	{
		if (now_unix_ms - e->at_unix_ms >= COMMAND_STORE_KEEP_MS && status_is_final(e->status))
			entry_remove(s, e);
	}
}

static void store_free(struct command_store *s)
{
	struct entry *e, *tmp;

	HASH_ITER(hh, s->by_id, e, tmp)
	{
		entry_remove(s, e);
	}
	if (s->fd >= 0)
		close(s->fd);
	free(s->pending.buf);
	free(s->pending.waiters);
	free(s->inflight.buf);
	free(s->inflight.waiters);
	free(s->path);
	free(s);
}

void command_store_close(struct command_store *s)
{
	if (!s)
		return;
	s->closing = true;
	if (s->busy || s->in_callbacks)
		return; /* write_done_cb writes what is pending, then frees */
	if (s->pending.len || s->resync) {
		start_write(s);
		if (s->busy)
			return;
	}
	store_free(s);
}
