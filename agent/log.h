/* log: one logging API; journald with structured fields under systemd, else stderr "LEVEL module: message". */
#ifndef CA_LOG_H
#define CA_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* Chooses the sink: the journal when `journal` is true (JOURNAL_STREAM set by systemd),
 * else stderr. `min_prio` (LOG_DEBUG..LOG_ERR) filters messages. */
void log_init(bool journal, int min_prio);

/* Logs one message. `module` is a short module name ("nodetool", "status"); it becomes
 * the MODULE= journal field. Extra structured fields may be given as "KEY=value" strings
 * in a NULL-terminated `fields` array (may be NULL). */
void log_fields(int prio, const char *module, const char *const *fields, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_err(mod, ...)    log_fields(LOG_ERR, (mod), NULL, __VA_ARGS__)
#define log_warnx(mod, ...)  log_fields(LOG_WARNING, (mod), NULL, __VA_ARGS__)
#define log_notice(mod, ...) log_fields(LOG_NOTICE, (mod), NULL, __VA_ARGS__)
#define log_info(mod, ...)   log_fields(LOG_INFO, (mod), NULL, __VA_ARGS__)
#define log_debug(mod, ...)  log_fields(LOG_DEBUG, (mod), NULL, __VA_ARGS__)

#endif
