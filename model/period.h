/* period.h — the fast path's two building blocks as plain functions on a
 * series, for any caller that keeps its own ring: the period detector
 * (autocorrelation) and the online quantile tracker that calibrates an
 * upper bound.  The online predictor (predictor.h, period.c) runs them on
 * cpu_pct and mem_pct; the disk I/O forecaster (io-forecast.h) on each
 * disk's bytes/s.  The algorithms are described at the top of period.c.
 *
 * What it is not: a forecaster.  No state here beyond AugurQTrack.
 */
#pragma once

#include <glib.h>

/* Online quantile tracker (period.c, "Calibration"). */
typedef struct {
        float q;                /* current quantile estimate              */
        float scale;            /* EW mean |s - q|                        */
        float second;           /* warm-up: second largest score          */
        guint32 n;              /* scores seen (saturates)                */
} AugurQTrack;

/* Feed one score s (actual − forecast base); the tracker follows the
 * coverage quantile of the scores. */
void augur_qtrack_update (AugurQTrack *t, float s, float coverage);

/* The period of the series x[0..n) (NAN = missing), in samples, or 0 when
 * none: the shortest local maximum of the autocorrelation in [lmin, lmax]
 * (lmax is cut to n / 2) within 90 % of the best, kept when that is at
 * least min_acf.  x is centred in place (missing -> 0); acf is scratch of
 * at least lmax + 2 floats.  Fewer than half the samples present, or a
 * flat series: 0.  *ret_acf (may be NULL) gets the autocorrelation of the
 * period found (0 when none).  Cost O(n (lmax − lmin)). */
guint augur_period_detect (float *x, guint n, guint lmin, guint lmax, float min_acf, float *acf,
                           float *ret_acf);
