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

typedef struct AugurForecaster AugurForecaster;

/* model_path NULL = the default model if installed, else baselines only.
 * Never fails for a bad model file (falls back, with a warning); fails only
 * for an invalid predictor configuration. */
AugurForecaster *augur_forecaster_new (const char *model_path, double tick_s, GError **error);
void augur_forecaster_free (AugurForecaster *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurForecaster, augur_forecaster_free)

/* The hooks for augur_resize_new(); ctx is f (borrowed). */
void augur_forecaster_hooks (AugurForecaster *f, AugurForecastHooks *ret);

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
