/* cmd-replay-io.h — `virt-augur replay --io` (cmd-replay-io.c). */
#pragma once

#include <glib.h>

#include "virt-augur.h"

/* Replay the I/O limits of series (AugurSeries*, borrowed) at step_s with
 * replay's --io options in opts; print the three policies' scores.
 * Returns the exit code. */
int augur_cmd_replay_io (const AugurCliGlobal *g, const AugurCmdOpts *opts, const GPtrArray *series,
                         gint64 step_s);
