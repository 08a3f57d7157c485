/* log: journald or stderr sink (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-journal.h>

static bool log_journal;
static int log_min_prio = LOG_INFO;

void log_init(bool journal, int min_prio)
{
	log_journal = journal;
	log_min_prio = min_prio;
}

static const char *log_level_name(int prio)
{
	switch (prio) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT: return "CRIT";
	case LOG_ERR: return "ERROR";
	case LOG_WARNING: return "WARN";
	case LOG_NOTICE: return "NOTICE";
	case LOG_INFO: return "INFO";
	default: return "DEBUG";
	}
}

void log_fields(int prio, const char *module, const char *const *fields, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (prio > log_min_prio)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);

	if (log_journal) {
		struct iovec iov[16];
		char bufs[4][2200];
		size_t n = 0;

		snprintf(bufs[0], sizeof bufs[0], "MESSAGE=%s: %s", module, msg);
		snprintf(bufs[1], sizeof bufs[1], "PRIORITY=%d", prio);
		snprintf(bufs[2], sizeof bufs[2], "MODULE=%s", module);
		snprintf(bufs[3], sizeof bufs[3], "SYSLOG_IDENTIFIER=cassandra-agent");
		for (n = 0; n < 4; n++) {
			iov[n].iov_base = bufs[n];
			iov[n].iov_len = strlen(bufs[n]);
		}
		for (size_t i = 0; fields && fields[i] && n < 16; i++, n++) {
			iov[n].iov_base = (void *)fields[i];
			iov[n].iov_len = strlen(fields[i]);
		}
		if (sd_journal_sendv(iov, (int)n) == 0)
			return;
	}
	fprintf(stderr, "%s %s: %s", log_level_name(prio), module, msg);
	for (size_t i = 0; fields && fields[i]; i++)
		fprintf(stderr, " %s", fields[i]);
	fputc('\n', stderr);
}
