/* systemd: async sd-bus client on the libuv loop for unit state/start/stop (systemd1) and reboot (login1). */
#ifndef CA_SYSTEMD_H
#define CA_SYSTEMD_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct sysd;

/*
 * Result callbacks; each fires exactly once per accepted call, always from the loop
 * (never from inside the function that queued the call).
 * err: 0, -ECANCELED when sysd_close() ran first, -ETIMEDOUT when the peer did not answer
 * within the method-call timeout, -ECONNRESET when the bus connection dropped, or the
 * negative errno sd-bus maps the D-Bus error name to (-EIO when it has none).
 * errmsg: NULL on success, else the D-Bus error message (or name); borrowed, valid only
 * during the callback. active_state: "active", "inactive", "failed", "activating", ... on
 * success, NULL on error; borrowed, valid only during the callback.
 */
typedef void (*sysd_state_cb)(void *data, int err, const char *errmsg, const char *active_state);
typedef void (*sysd_done_cb)(void *data, int err, const char *errmsg);

/*
 * Connects to the system bus (sd_bus_open_system(), so DBUS_SYSTEM_BUS_ADDRESS is honoured)
 * and attaches it to `loop` (a uv_poll_t on the bus fd and a uv_timer_t for sd-bus timeouts).
 * The connection is asynchronous: authentication and Hello complete on the loop, calls made
 * before that are queued. On success *out owns the handle; release it with sysd_close().
 * Returns 0, or -errno when the bus is unreachable (e.g. -ENOENT for a missing socket) or
 * on allocation/libuv failure; then *out is NULL and the caller retries later.
 */
int sysd_open(uv_loop_t *loop, struct sysd **out);

/* False once the bus connection dropped or failed to authenticate (the caller then closes
 * and reopens), and after sysd_close() started. True while connecting. */
bool sysd_is_connected(const struct sysd *s);

/*
 * Sets the per-call reply timeout (ms) for calls queued afterwards; 0 restores the sd-bus
 * default (25 s, or $SYSTEMD_BUS_TIMEOUT). Returns 0 or -EINVAL.
 */
int sysd_set_call_timeout(struct sysd *s, uint64_t timeout_ms);

/*
 * ActiveState of `unit` (e.g. "cassandra.service"): Manager.GetUnit(unit) then
 * Properties.Get("org.freedesktop.systemd1.Unit", "ActiveState") on the returned path.
 * A unit systemd has not loaded (org.freedesktop.systemd1.NoSuchUnit) reports err 0 and
 * state "inactive". `unit` is copied into the message before return.
 * Returns 0 (cb fires exactly once), or -EINVAL / -ECANCELED (closing) / -ENOTCONN
 * (connection gone) / -errno from sd-bus; then cb is never called.
 */
int sysd_get_active_state(struct sysd *s, const char *unit, sysd_state_cb cb, void *data);

/*
 * Manager.StartUnit(unit, "replace") / Manager.StopUnit(unit, "replace"). Success means
 * systemd accepted and enqueued the job (the reply carries the job path); it does not wait
 * for the job to finish: poll sysd_get_active_state() for the outcome.
 * Returns and callback semantics as sysd_get_active_state().
 */
int sysd_start_unit(struct sysd *s, const char *unit, sysd_done_cb cb, void *data);
int sysd_stop_unit(struct sysd *s, const char *unit, sysd_done_cb cb, void *data);

/*
 * org.freedesktop.login1.Manager.Reboot(false) on /org/freedesktop/login1 (non-interactive:
 * no polkit prompt). Returns and callback semantics as sysd_get_active_state().
 */
int sysd_reboot(struct sysd *s, sysd_done_cb cb, void *data);

/*
 * Starts closing `s` (NULL is ignored). Every pending call's callback fires once with
 * -ECANCELED before this returns; queued but unsent messages are dropped. The poll and
 * timer handles are closed; the bus connection and memory are released in their close
 * callbacks, so the loop must run afterwards (then uv_loop_close() succeeds).
 * Safe to call from inside a sysd callback; `s` must not be used after this call.
 */
void sysd_close(struct sysd *s);

#endif
