/* forecaster.h — stage "forecast" of the daemon's tick: model/predictor.h
 * behind the AugurForecastHooks the resize loop calls.
 *
 * It loads the model file (--model, else the packaged default model, else
 * none).  An unreadable, corrupt or mismatched model file is reported once
 * with the loader's message and augurd falls back to the baselines; it is
 * never fatal.  Each VM gets a predictor state keyed by UUID; the fast path
 * runs at the tick, the model at its own step (aggregating ticks).
 *
 * The auto-mode gate ("has the model beaten the baselines on this VM's own
 * history?") is the predictor's champion choice: the int model must be the
 * champion for memory on this VM's matured forecasts. */
#pragma once

#include "activity.h"

#include <glib.h>
#include "resize.h"
#include "forecast.h"
#include "predictor.h"

typedef struct AugurForecaster AugurForecaster;

/* model_path NULL = the default model if installed, else baselines only.
 * price_per_gib: the config's forecast.memory_price_per_gib (> 0: cost-aware
 * memory bounds and the cost champion, as `virt-augur replay --price`; 0:
 * coverage mode).  precursor_bound: forecast.precursor_bound
 * (model/precursor.c).  width_halflife_s: forecast.width_halflife (> 0:
 * conditional widths, model/predictor.c CONDITIONAL WIDTH; 0: off).  Never fails for a bad model file (falls back, with
 * a warning); fails only for an invalid predictor configuration. */
AugurForecaster *augur_forecaster_new (const char *model_path, double tick_s, double price_per_gib,
                                       gboolean precursor_bound, double width_halflife_s, GError **error);
void augur_forecaster_free (AugurForecaster *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurForecaster, augur_forecaster_free)

/* The hooks for augur_resize_new(); ctx is f (borrowed). */
void augur_forecaster_hooks (AugurForecaster *f, AugurForecastHooks *ret);
/* Did the newest forecast of uuid run the model's slow step (the NN window
 * at its step, staggered across VMs) rather than only the fast path?  For
 * scripts/bench-tick, which splits the forecast stage's cost by it. */
gboolean augur_forecaster_last_step_slow (const AugurForecaster *f, const char *uuid);

/* Export each VM's recent point-forecast error (memory and CPU, % of
 * capacity) of the model and of the best baseline to m (metrics.h): the
 * evidence behind the auto gate, for dashboards. */
typedef struct AugurMetrics AugurMetrics;
void augur_forecaster_export_errors (AugurForecaster *f, AugurMetrics *m);

/* Name of what serves when there is no model ("baselines") or the model's
 * architecture, for status output. */
const char *augur_forecaster_model_name (const AugurForecaster *f);
/* Read each VM's newest in-guest activity report (borrowed; NULL = none):
 * the model's activity inputs, NAN where a guest reports none. */
void augur_forecaster_set_activity (AugurForecaster *f, AugurActivity *act);

/* The live input row of one VM at ts (unix s): d's model row (units.h,
 * what the store writes as the history's trace columns), the activity
 * columns from a (NULL = none reported: NAN) and the host context.  The
 * one place the forecaster builds what the model sees; tests/test-model-row.c
 * checks it against the history the store writes. */
void augur_forecaster_input_row (const AugurDerived *d, const AugurActivityLatest *a,
                                 const AugurHostSample *host, gint64 ts, AugurFeatSample *ret);

/* ---- retraining (retrain.h): the serving model's identity, hot swap and
 * the per-VM gate from held-out evaluations ---- */

/* Path of the model file serving (NULL = baselines only) and its version
 * (retrain.h: 0 = the one augurd started with, N = promoted, -1 = none). */
const char *augur_forecaster_model_path (const AugurForecaster *f);
int augur_forecaster_model_version (const AugurForecaster *f);
void augur_forecaster_set_model_version (AugurForecaster *f, int version);

/* Serve m (transfer full) from now on.  A new predictor is built for it and
 * every VM's online state starts afresh (the calibration and accuracy of
 * the old model say nothing about the new one).  On failure (an invalid
 * predictor config) the serving model stays, m is freed and FALSE returned. */
gboolean augur_forecaster_swap_model (AugurForecaster *f, AugurModel *m, const char *path,
                                      int version, GError **error);

/* The auto gate from a retraining run: uuid -> GINT_TO_POINTER (model beat
 * the baselines on the VM's held-out history), transfer full, NULL = none.
 * Where a VM has an entry it decides the gate; elsewhere the online
 * champion does (forecaster.c fc_model_trusted). */
void augur_forecaster_set_gate (AugurForecaster *f, GHashTable *gate);
