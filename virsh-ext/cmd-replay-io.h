/* cmd-replay-io.h — `virt-augur replay --io` (cmd-replay-io.c). */
#pragma once

#include <glib.h>

#include "virt-augur.h"

/* Replay the I/O limits of series (AugurSeries*, borrowed) at step_s with
 * replay's --io options in opts (parsed against defs, replay's table: an
 * option of it that is not --io's is refused); print the three policies'
 * scores.  Returns the exit code. */
int augur_cmd_replay_io (const AugurCliGlobal *g, const AugurOptDef *defs, const AugurCmdOpts *opts,
                         const GPtrArray *series, gint64 step_s);
