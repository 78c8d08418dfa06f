/* host-plan.h — the host's memory need over the next 4 hours, for the
 * memory guard's cushion (policy/mem-guard.h rule 3).
 *
 * WHAT IT IS.  `virt-augur forecast --host` (model/host-forecast.h) made a
 * part of augurd: every [host] plan_interval (default 1 h) a worker thread
 * replays the newest [host] plan_history (default 3 days) of every guest's
 * 5-minute rollups through the baselines at 48 horizons and keeps the
 * result.  The tick then asks one number of it:
 *     growth = max over the horizons still ahead of (host upper[h] − held)
 * how far the guests may grow together above where they stood, by the
 * host's own calibrated 95 % bound (its realised residuals, not the
 * guests' bounds summed).  resize.c takes off the host's forecast free
 * memory the larger of that and the tick's own lead-window growth: a
 * host that will be short within 4 h starts tightening its idle guests'
 * cushions now, while the memory can still be given back calmly, instead
 * of when the crunch is one actuation lead away.
 *
 * WHAT IT NEVER DOES.  It never widens a cushion (it can only add to the
 * growth the tick already counts), so a guest gets at least the cushion it
 * got without it; it never acts on an uncalibrated view: a horizon whose
 * bound is still the guests' uppers summed (fewer than AUGUR_HOST_FC_WARM
 * residuals scored) does not count, and with none calibrated, or a view
 * older than HOST_PLAN_MAX_AGE_S, growth is NAN and the tick is as
 * without a plan.  The view's guests are those with history in the store;
 * it is not a model of the host's own memory (MemAvailable is).
 *
 * THREADING.  As retrain.h: the tick only compares two numbers and spawns
 * the worker; the worker opens its own read-only store connection (WAL)
 * and hands the result back through an idle source on the main context;
 * augur_host_plan_free() cancels a running replay (checked every step)
 * and joins it.  A failed run (no history yet, a locked or corrupt store)
 * is logged at debug level and keeps the previous view until it ages out.
 *
 * COST: O(guests x history steps x 48) at nice 10, once per interval;
 * 50 guests x 3 days: BENCHMARKS-model.md "The host's 4-hour view in augurd".
 */
#pragma once

#include <glib.h>

#include "augur-config.h"
#include "host-forecast.h"

/* A view is used while its origin is at most this old (half its reach). */
#define AUGUR_HOST_PLAN_MAX_AGE_S (2 * 3600)

typedef struct AugurHostPlan AugurHostPlan;

AugurHostPlan *augur_host_plan_new (const char *db_path);
void augur_host_plan_free (AugurHostPlan *p);

/* In the daemon's tick: start a run when [host] plan_interval has passed
 * since the last start (the first tick starts one) and none is running. */
void augur_host_plan_tick (AugurHostPlan *p, const AugurConfig *config, gint64 now_ms);

/* The replay itself, synchronous (the worker's body; tests): every domain
 * of the store at db_path, its rollups from now_s − history_s on. */
gboolean augur_host_plan_run (const char *db_path, double history_s, gint64 now_s, const gint *cancel,
                              AugurHostForecast *ret, GError **error);

/* Serve f from now on (the worker's result; tests). */
void augur_host_plan_install (AugurHostPlan *p, const AugurHostForecast *f);

/* The guests' growth the tick may plan on at now_ms, KiB (header), or
 * NAN: no view, too old, or none of its horizons still ahead calibrated. */
double augur_host_plan_growth_kib (const AugurHostPlan *p, gint64 now_ms);

/* Export each new view (metrics.h augur_metrics_set_host_plan; borrowed,
 * NULL = none). */
typedef struct AugurMetrics AugurMetrics;
void augur_host_plan_set_metrics (AugurHostPlan *p, AugurMetrics *m);

/* Runs finished (tests). */
guint augur_host_plan_runs_done (const AugurHostPlan *p);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurHostPlan, augur_host_plan_free)
