/* probes: the health timers; unit state, CQL probe and host every probe_interval, nodetool every nodetool_interval. */
#ifndef CA_PROBES_H
#define CA_PROBES_H

#include <uv.h>

#include "config.h"
#include "health.h"
#include "nodetool.h"

struct probes;

/*
 * Starts both timers (first round at once). `cfg`, `h` and `runner` are borrowed and must
 * outlive the probes (a reloaded config is handed over with probes_apply_config()).
 * Returns 0 or -ENOMEM.
 */
int probes_start(uv_loop_t *loop, const struct agent_config *cfg, struct health *h, struct nodetool_runner *runner,
		 struct probes **out);

/* Switches to a reloaded config: new intervals, unit, address and directories. */
void probes_apply_config(struct probes *p, const struct agent_config *cfg);

/* Stops the timers and detaches from calls under way; memory is freed from the loop once
 * the last callback came back. */
void probes_stop(struct probes *p);

#endif
