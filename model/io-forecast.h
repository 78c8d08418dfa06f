/* io-forecast.h — the forecast of one device's rate (a disk's read or
 * write bytes/s or requests/s, an interface's rx or tx bytes/s), for the
 * I/O limits (policy/io-limit.h) and `virt-augur forecast`: when is the
 * next burst due, and how large.
 *
 * WHAT IT IS.  The online predictor's fast path (period.c) on one more
 * series: a ring of the disk's bytes/s per tick, the period detector
 * (period.h augur_period_detect) re-run every period_every ticks, the
 * period forecast of tick t + j (the max over a window of +-P/16 ticks
 * around the same phase in the last period_k periods, the mean of the
 * phase values as the p50), and an online quantile tracker per horizon
 * (period.h AugurQTrack) of y − that base: the calibrated upper bound.
 * A disk job that repeats (a nightly backup, a build every hour, the
 * integration test's read every minute) is seen a lead ahead; anything
 * else has no period and no forecast, so nothing is raised for it.
 *
 * CENSORING.  A capped disk reads at its cap: the history of a limited
 * disk shows the limit, not the demand.  Each sample carries whether it
 * sat at the limit in force (at_limit); a forecast built on such a sample
 * says so (censored), and the planner then asks for the ceiling rather
 * than the (capped) level seen.  Once a raise has let the burst through,
 * its samples are below the raised limit and the level is the demand.
 *
 * ABSURD INPUT.  Rates come from counters through augur_io_rate(): a
 * counter that went backwards (a reset: the guest restarted, the disk was
 * replaced), a gap, or a rate above max_bps (a guest reporting 10^18
 * bytes) is NAN, a missing tick, never a sample; and one outlier is not
 * a period.
 *
 * THE BASELINE AND THE CHAMPION (what `virt-augur forecast` shows).  Next
 * to the period forecast runs one baseline, RECENT MAX: the largest rate
 * of the last AUGUR_IO_RECENT_TICKS ticks for every horizon (the p50: the
 * newest rate), with its own quantile tracker per horizon, so a disk
 * without a period still has a calibrated upper bound.  Each source's
 * upper bound is scored when it matures by the pinball loss at coverage
 * (as model/champion.c scores memory's: q (y − u) above it, (1 − q) (u −
 * y) below), an exponentially weighted mean over horizons (half-life
 * AUGUR_IO_LOSS_HALFLIFE_TICKS); the champion is the period source while
 * it has a forecast and its loss is within AUGUR_IO_CHAMPION_HYSTERESIS of
 * the baseline's, else the baseline (augur_io_forecast_champion()).
 * THE PLANNER READS THE PERIOD SOURCE ONLY (augur_io_forecast_upper()): a
 * recent max says the present goes on, not that a burst is coming; a
 * raise on it would follow every load the cap was set to hold (and every
 * spike, for AUGUR_IO_RECENT_TICKS), which is the admin's limit doing its
 * job, not a forecast burst.
 *
 * What it is not: the slow path's model: a disk's rate is not a model
 * input yet.  Cost per tick O(period_k * P / 8 * H + H); the detector
 * O(ring_len * P_max) every period_every ticks.  Memory: ~23 KiB per
 * series (16 KiB of state, most of it the two sources' pending forecasts;
 * ring_len floats and bytes; the detector's 2 ring_len floats).
 */
#pragma once

#include <glib.h>

#include "period.h"

#define AUGUR_IO_FORECAST_MAX_H 32     /* horizons, ticks                    */

typedef struct {
        guint ring_len;          /* ticks kept                                */
        guint period_min;        /* shortest period tried, ticks              */
        guint period_every;      /* re-detect every N ticks                   */
        float period_min_acf;    /* autocorrelation needed to use a period    */
        guint period_k;          /* previous periods looked at                */
        float coverage;          /* of the upper bound                        */
        float detect_scale;      /* the detector's log scale, the series'
                                  * unit (io-forecast.c DETECT SCALE)         */
} AugurIoForecastConfig;

/* The detector's scale for a byte rate, bytes/s, and for a request rate,
 * IO/s: one 64 KiB request's worth of each (a 4 KiB-request disk doing 16
 * IO/s moves 64 KiB/s), so the two series of one job look alike. */
#define AUGUR_IO_DETECT_SCALE_BPS (64.0f * 1024)
#define AUGUR_IO_DETECT_SCALE_IOPS 16.0f

/* ring 512, periods 4..256 ticks re-detected every 8 ticks at ACF >= 0.5
 * over the last 3 periods, coverage 0.95, the byte-rate detect scale
 * (set AUGUR_IO_DETECT_SCALE_IOPS for a request rate). */
void augur_io_forecast_config_init (AugurIoForecastConfig *c);

typedef struct AugurIoForecast AugurIoForecast;

AugurIoForecast *augur_io_forecast_new (const AugurIoForecastConfig *c);
void augur_io_forecast_free (AugurIoForecast *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurIoForecast, augur_io_forecast_free)

/* A rate at or above this share of the limit in force sat at the limit:
 * the demand may have been higher (CENSORING above).  The daemon
 * (plugin/resize-io.c) and the replay (policy/replay-io.c) both judge a
 * sample's at_limit by it. */
#define AUGUR_IO_AT_LIMIT_FRAC 0.9

/* The largest rate a counter may show, bytes/s: 64 GiB/s, above any disk a
 * guest has; a faster delta is a counter glitch. */
#define AUGUR_IO_MAX_BPS (64.0 * 1024 * 1024 * 1024)
/* The largest request rate a counter may show, IO/s: 64 Mi requests/s,
 * ten times the fastest NVMe device; a faster delta is a counter glitch
 * (augur_io_rate's max_bps for a request counter). */
#define AUGUR_IO_MAX_IOPS (64.0 * 1024 * 1024)

/* bytes/s (or IO/s from request counters) from two counter readings dt_s
 * apart: NAN over a reset (cur < prev), a gap (dt_s <= 0 or beyond
 * AUGUR_MAX_RATE_GAP_S), a missing reading (< 0) or a rate above max_bps
 * (AUGUR_IO_MAX_BPS, or AUGUR_IO_MAX_IOPS for requests). */
double augur_io_rate (gint64 prev, gint64 cur, double dt_s, double max_bps);

/* One tick's rate (NAN = unknown); at_limit: it sat at the limit in force
 * (the demand may have been higher).  k >= 1 ticks since the last push
 * (the ticks between are missing). */
void augur_io_forecast_push (AugurIoForecast *f, double bps, gboolean at_limit, guint k);

/* The forecast over ticks 1..h ahead (h <= AUGUR_IO_FORECAST_MAX_H): the
 * largest p50 and upper bound, and whether any sample they rest on sat at
 * its limit.  FALSE (outs untouched) without a period or before the
 * tracker has scores. */
gboolean augur_io_forecast_upper (const AugurIoForecast *f, guint h, double *ret_p50, double *ret_upper,
                                  gboolean *ret_censored);

/* The period in force, ticks (0 = none). */
guint augur_io_forecast_period (const AugurIoForecast *f);

/* THE BASELINE AND THE CHAMPION (header comment). */
#define AUGUR_IO_RECENT_TICKS 4          /* recent max's window, ticks        */
#define AUGUR_IO_LOSS_HALFLIFE_TICKS 256 /* of the sources' pinball losses    */
#define AUGUR_IO_CHAMPION_HYSTERESIS 0.1 /* the period source serves unless
                                          * its loss is 10 % above the
                                          * baseline's                        */
/* Upper-bound scores a source needs before its loss is compared. */
#define AUGUR_IO_CHAMPION_WARM 16

typedef enum {
        AUGUR_IO_SOURCE_PERIOD = 0,
        AUGUR_IO_SOURCE_RECENT_MAX,
        AUGUR_IO_SOURCE_N,
} AugurIoSource;

/* "period", "recent-max". */
const char *augur_io_source_name (AugurIoSource s);

/* As augur_io_forecast_upper(), from the champion source (*ret_source):
 * the period's forecast where it serves, else the recent max's.  FALSE
 * (outs untouched) before either has a calibrated bound. */
gboolean augur_io_forecast_champion (const AugurIoForecast *f, guint h, double *ret_p50, double *ret_upper,
                                     gboolean *ret_censored, AugurIoSource *ret_source);

/* A source's EW mean pinball loss of its upper bound, in the series'
 * unit (NAN before it was scored). */
double augur_io_forecast_loss (const AugurIoForecast *f, AugurIoSource s);
