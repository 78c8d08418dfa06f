/* resize.h — the daemon's resize loop after "store": for every running VM,
 * forecast → plan (policy.c) → host arbitration → actuate (actuate.c) →
 * one audit row (store-decisions.h).
 *
 * THE STEPS of augur_resize_tick(), each a function of resize.c:
 *   1. prepare, per VM: the sample derived, the guest refreshed through
 *      the hypervisor table when due (metadata, agent timeout, vCPU
 *      probe), the policy's input, the forecast, the memory guard;
 *   2. plan, per VM not in observe mode, and what it asks of the host;
 *   3. arbitrate over those VMs under the host budget;
 *   4. fill each one's audit row;
 *   5. apply: actuate in act mode, through the hypervisor table (hv.h);
 *      every row written in one call.
 * Every hypervisor call goes through hv.h, so the tests drive this loop
 * through the fake backend (tests/test-resize.c, tests/fake-hv.h), as
 * does scripts/bench-tick.
 *
 * Modes (per VM): observe = collect only (no plan, no row); recommend =
 * plan and audit, never actuate; act = actuate one bounded step; auto =
 * recommend until the forecaster says this VM's model has beaten the
 * baselines on its own history, then act.  Precedence: per-VM metadata,
 * then --mode / the config file, then the auto gate.
 *
 * Lead time: each actuation is timed until it is seen in effect (balloon:
 * the BALLOON_CHANGE event reports the target; vCPUs: the online count
 * reaches the target) and the per-VM EWMA of that latency, plus the
 * configured margin, is the policy's look-ahead.  Latencies are recorded
 * in the actuations table.
 *
 * Safety: a VM whose stats are stale (balloon.last-update not advancing,
 * fields missing) or that has no sample after a reconnect is never shrunk;
 * the policy's vetoes do that, and this file feeds them honestly.
 */
#pragma once

#include <glib.h>

#include "augur-config.h"
#include "hv.h"
#include "policy.h"
#include "store.h"
#include "units.h"

/* The forecaster as the resize loop sees it (model/predictor via the
 * daemon).  Every hook may be NULL. */
typedef struct {
        /* Feed this tick's observation and get the forecast; FALSE = none.
         * d holds the tick's derived values, the model's input row
         * (units.h: stable capacities, used as the guest counts it); the
         * forecast's memory comes back in the same terms and the loop puts
         * it in balloon terms. */
        gboolean (*forecast) (gpointer ctx, const char *uuid, const char *name,
                              const AugurDerived *d, const AugurHostSample *host,
                              double now_s, AugurForecast *ret);
        /* Auto gate: has the model beaten the baselines on this VM? */
        gboolean (*model_trusted) (gpointer ctx, const char *uuid);
        /* The VM is gone: drop its state. */
        void (*forget) (gpointer ctx, const char *uuid);
        gpointer ctx;
} AugurForecastHooks;

typedef struct AugurResize AugurResize;

/* What a guest says about itself (augur-guest, plugin/activity.h): its
 * oom_kill count and memory PSI (some avg10, %), each left NAN when
 * unknown.  Hostile input: the memory guard (policy/mem-guard.h) lets it
 * keep memory for that guest only. */
typedef void (*AugurGuestReportFunc) (gpointer ctx, const char *uuid, gint64 now_ms,
                                      double *ret_oom_kills, double *ret_psi_mem_pct);

AugurResize *augur_resize_new (const AugurForecastHooks *hooks);
void augur_resize_free (AugurResize *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurResize, augur_resize_free)

/* Export per-guest values, forecasts and action counts to metrics
 * (borrowed; it must outlive r, NULL = none). */
typedef struct AugurMetrics AugurMetrics;
void augur_resize_set_metrics (AugurResize *r, AugurMetrics *metrics);

void augur_resize_set_guest_report (AugurResize *r, AugurGuestReportFunc func, gpointer ctx);

/* The host's 4-hour memory view the cushion reads (host-plan.h; borrowed,
 * it must outlive r; NULL = none: the tick's lead window only). */
typedef struct AugurHostPlan AugurHostPlan;
void augur_resize_set_host_plan (AugurResize *r, const AugurHostPlan *plan);

/* The I/O loop (resize-io.h), for its forecasts (the API's io_forecast);
 * (transfer none), lives as long as r. */
typedef struct AugurResizeIo AugurResizeIo;
AugurResizeIo *augur_resize_get_io (AugurResize *r);

/* Judge whether something else moves a guest's balloon and yield it then
 * (TRUE, the default: resize-controller.c SECOND CONTROLLER), or never
 * (FALSE: an open-loop replay, whose balloons the captured run's
 * controller moves by construction). */
void augur_resize_set_yield (AugurResize *r, gboolean yield);

/* Run the loop for one tick's samples (written by augur_store_tick_begin():
 * its rows join the open tick, store.h); hv is the connection they came
 * from (borrowed).  store NULL: nothing is written, the loop runs all the
 * same (scripts/bench-tick's compute-only figure; augurd always has one). */
void augur_resize_tick (AugurResize *r, AugurHv *hv, AugurStore *store,
                        const AugurConfig *config, const AugurDomainSample *samples,
                        gsize n, const AugurHostSample *host, gint64 now_ms);

/* A hypervisor event about guest uuid, at now_ms (daemon.c passes each
 * one on): BALLOON times the pending balloon actuation when it reached its
 * target; AGENT makes the next tick probe the vCPUs again; METADATA makes
 * it read the per-VM policy again; a STOPPED guest is forgotten (its
 * forecaster and metrics state too). */
void augur_resize_event (AugurResize *r, AugurStore *store, const char *uuid, const AugurHvEvent *e,
                         gint64 now_ms);
/* Drop everything kept about uuid (its forecaster and metrics state too):
 * it stopped, or augurd no longer watches it ([guests] exclude). */
void augur_resize_forget (AugurResize *r, const char *uuid);

/* After a reconnect: every VM must show fresh samples before any action. */
void augur_resize_reconnected (AugurResize *r);
