/* calib.h — conformal upper bounds: per VM, per horizon empirical quantiles
 * of residual scores in bounded rings, with a global fallback.  Algorithm
 * and guarantees: calib.c.
 *
 * A "score" is target - base, where base is what the bound is built on (a
 * point forecast for the baselines, the upper-quantile head for the NN).
 * The upper bound is base + augur_calib_margin().
 */
#pragma once

#include <glib.h>

#define AUGUR_CALIB_DEFAULT_COVERAGE  0.95f
#define AUGUR_CALIB_DEFAULT_RING      576   /* scores per VM and horizon: 2 days @ 5 min */
#define AUGUR_CALIB_DEFAULT_MIN_N     96    /* per-VM scores before the VM's own quantile is used */
#define AUGUR_CALIB_GLOBAL_RESERVOIR  8192  /* global scores per horizon (reservoir sample) */

typedef struct AugurCalib AugurCalib;

/* (transfer full) H horizons, target coverage in (0, 1), ring length and
 * per-VM minimum (0 = defaults). */
AugurCalib *augur_calib_new (guint H, float coverage, guint ring_len, guint min_n);
void augur_calib_free (AugurCalib *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurCalib, augur_calib_free)

/* Add one score (finite) for VM vm at horizon h (1..H); also feeds the
 * global reservoir unless vm_only.  vm NULL: global reservoir only. */
void augur_calib_add (AugurCalib *c, const char *vm, guint h, float score, gboolean vm_only);

/* Margin to add to the base at horizon h for vm: the VM's conformal
 * quantile when it has min_n scores, else the global one; 0 with no score
 * at all.  O(1) for a VM's own quantile (sorted ring); the global one is
 * recomputed lazily (O(reservoir)) after it changed. */
float augur_calib_margin (AugurCalib *c, const char *vm, guint h);
/* The VM's own conformal quantile at horizon h: TRUE and *ret_margin when
 * vm holds min_n scores there, FALSE (nothing written) otherwise.  For a
 * caller whose VM scores are in other units than the global ones
 * (predictor.c CONDITIONAL WIDTH). */
gboolean augur_calib_vm_margin (AugurCalib *c, const char *vm, guint h, float *ret_margin);

/* Global margin per horizon (for the model file): ret (H). */
void augur_calib_global_margins (AugurCalib *c, float *ret);
/* Replace the global reservoir by fixed margins (model loaded from file):
 * margins (H).  VMs still learn their own quantile online. */
void augur_calib_set_global_margins (AugurCalib *c, const float *margins);

/* The split-conformal quantile of scores[0..n) at coverage: the
 * ceil((n + 1) coverage)-th smallest (clamped to 1..n); 0 when n = 0.
 * scratch holds n floats; O(n) expected. */
float augur_conformal_quantile (const float *scores, guint n, float coverage, float *scratch);

guint augur_calib_horizons (const AugurCalib *c);
float augur_calib_coverage (const AugurCalib *c);
