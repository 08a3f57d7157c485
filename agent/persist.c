/* persist: asynchronous crash-safe writes (see persist.h). */
#include "persist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

struct persist_req {
	uv_work_t work;
	char *path;
	void *bytes;
	size_t len;
	mode_t mode;
	char *history_dir;
	unsigned keep;
	int err;
	char errmsg[256];
	persist_cb cb;
	void *data;
};

static persist_observer_cb observer;
static void *observer_data;

void persist_observe(persist_observer_cb cb, void *data)
{
	observer = cb;
	observer_data = data;
}

static void work_cb(uv_work_t *w)
{
	struct persist_req *r = w->data;

	r->err = fileio_replace(r->path, r->bytes, r->len, r->mode, r->history_dir, r->keep, r->errmsg,
				sizeof r->errmsg);
}

static void done_cb(uv_work_t *w, int status)
{
	struct persist_req *r = w->data;
	int err = status < 0 ? status : r->err;
	const char *msg = status < 0 ? "cancelled" : r->errmsg;

	if (observer)
		observer(observer_data, r->path, err, msg);
	if (r->cb)
		r->cb(r->data, err, msg);
	free(r->path);
	free(r->bytes);
	free(r->history_dir);
	free(r);
}

int persist_write(uv_loop_t *loop, const char *path, const void *bytes, size_t len, mode_t mode, persist_cb cb,
		  void *data)
{
	return persist_write_history(loop, path, bytes, len, mode, NULL, 0, cb, data);
}

int persist_write_history(uv_loop_t *loop, const char *path, const void *bytes, size_t len, mode_t mode,
			  const char *history_dir, unsigned keep, persist_cb cb, void *data)
{
	struct persist_req *r = calloc(1, sizeof *r);

	if (!r || !(r->path = strdup(path)) || !(r->bytes = malloc(len ? len : 1)) ||
	    (history_dir && !(r->history_dir = strdup(history_dir))))
		goto fail;
	r->keep = keep;
	memcpy(r->bytes, bytes, len);
	r->len = len;
	r->mode = mode;
	r->cb = cb;
	r->data = data;
	r->work.data = r;
	if (uv_queue_work(loop, &r->work, work_cb, done_cb) < 0)
		goto fail;
	return 0;
fail:
	if (r) {
		free(r->path);
		free(r->bytes);
		free(r->history_dir);
	}
	free(r);
	return -ENOMEM;
}
