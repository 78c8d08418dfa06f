/* dataset.c — resampling, targets, splits and the window rule.
 * See dataset.h for the API.
 *
 * RESAMPLING
 * ==========
 * Sources come at about the step (Bitbrains 300 s +- a few s, Azure and
 * PlanetLab exactly 300 s, augurd's 5-min rollups) or faster and irregular
 * (Alibaba ~100 s, raw augurd samples).  Two rules, picked per series from
 * the median spacing of its rows:
 *   median >= 0.8 step  STEP COUNTING: sample i goes to grid step
 *                       k_i = k_{i-1} + max(1, round(dt_i / step)).
 *                       Bitbrains timestamps drift (+1 s on ~3 % of
 *                       intervals, ~+230 s over a month), so a fixed grid
 *                       anchored at the first sample would make two samples
 *                       collide in one bin and leave the next empty; step
 *                       counting keeps every sample and every real gap.
 *   median <  0.8 step  BIN MEANS: step k = floor((ts - ts0) / step), each
 *                       column the mean of its non-missing samples in the
 *                       bin (the store's rollups do the same).
 * Grid timestamps are ts0 + k * step.  Empty steps are all-NAN rows.
 *
 * TARGETS: cpu_pct, mem_pct (100 * used / prov), disk_kibps (rd + wr),
 * net_kibps (rx + tx), the same derivation as the features (features.c).
 *
 * SPLITS (time, per VM): of a VM's n grid steps the last round(0.2 n) are
 * test, the round(0.2 n) before them validation, the rest training.  A
 * forecast point (origin k, horizon h) belongs to the split of its *target*
 * step k + h, and training / validation use only points whose origin and
 * target are both in their split, so no target leaks across a boundary.
 * Evaluation scores test targets; its look-back windows may reach into the
 * steps before the test split (allowed by the issue).
 *
 * WINDOW RULE: see augur_vm_data_window_ok() in dataset.h.  Segments come
 * from the feature state (features.c GAP RULE), so a window never spans a
 * gap and the daemon sees exactly the segmentation training saw.
 */
#include "dataset.h"
#include "forecast.h"
#include "util.h"

#include <math.h>
#include <string.h>

static const char *const target_names[AUGUR_TARGET_N] = {
        "cpu_pct", "mem_pct", "disk_kibps", "net_kibps",
};

const char *
augur_target_name (AugurTarget t)
{
        g_return_val_if_fail (t < AUGUR_TARGET_N, NULL);
        return target_names[t];
}

AugurSig
augur_target_sig (AugurTarget t)
{
        static const AugurSig map[AUGUR_TARGET_N] = {
                AUGUR_SIG_CPU, AUGUR_SIG_MEM, AUGUR_SIG_DISK, AUGUR_SIG_NET,
        };

        g_return_val_if_fail (t < AUGUR_TARGET_N, AUGUR_SIG_CPU);
        return map[t];
}

static int
cmp_i64 (gconstpointer a, gconstpointer b)
{
        gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

        return (x > y) - (x < y);
}

AugurSeries *
augur_dataset_resample (const AugurSeries *s, gint64 step_s, AugurResampleStats *stats)
{
        g_autoptr (AugurSeries) out = augur_series_new (s->vm);
        g_autofree gint64 *k_of = NULL;
        g_autofree guint32 *cnt = NULL;
        gboolean binned;
        gint64 nk;
        guint64 nonempty = 0;

        g_return_val_if_fail (step_s > 0, NULL);
        out->uuid = g_strdup (s->uuid);
        for (int c = 0; c < AUGUR_COL_N; c++)
                if (s->col[c])
                        augur_series_ensure_col (out, (AugurCol) c);
        if (stats) {
                stats->series++;
                stats->samples_in += s->n;
        }
        if (s->n == 0)
                return g_steal_pointer (&out);

        /* Median spacing decides the rule. */
        binned = FALSE;
        if (s->n >= 2) {
                g_autofree gint64 *dt = g_new (gint64, s->n - 1);

                for (gsize i = 1; i < s->n; i++)
                        dt[i - 1] = s->ts[i] - s->ts[i - 1];
                qsort (dt, s->n - 1, sizeof *dt, cmp_i64);
                binned = (double) dt[(s->n - 1) / 2] < 0.8 * (double) step_s;
        }
        k_of = g_new (gint64, s->n);
        k_of[0] = 0;
        for (gsize i = 1; i < s->n; i++) {
                if (binned) {
                        k_of[i] = (s->ts[i] - s->ts[0]) / step_s;
                } else {
                        gint64 dt = s->ts[i] - s->ts[i - 1];
                        gint64 k = (dt + step_s / 2) / step_s;

                        k_of[i] = k_of[i - 1] + MAX (k, 1);
                }
        }
        nk = k_of[s->n - 1] + 1;
        for (gint64 k = 0; k < nk; k++)
                augur_series_append (out, s->ts[0] + k * step_s);
        cnt = g_new0 (guint32, (gsize) nk * AUGUR_COL_N);
        for (gsize i = 0; i < s->n; i++) {
                gint64 k = k_of[i];

                for (int c = 0; c < AUGUR_COL_N; c++) {
                        float v;

                        if (!s->col[c])
                                continue;
                        v = s->col[c][i];
                        if (isnan (v))
                                continue;
                        if (cnt[k * AUGUR_COL_N + c]++ == 0)
                                out->col[c][k] = v;
                        else
                                out->col[c][k] += v;
                }
        }
        for (gint64 k = 0; k < nk; k++) {
                gboolean any = FALSE;

                for (int c = 0; c < AUGUR_COL_N; c++) {
                        guint32 m = cnt[k * AUGUR_COL_N + c];

                        if (m > 1)
                                out->col[c][k] /= (float) m;
                        if (m > 0)
                                any = TRUE;
                }
                if (!any && stats)
                        stats->steps_empty++;
                if (any)
                        nonempty++;
        }
        if (stats) {
                stats->steps_out += (guint64) nk;
                if (binned) {
                        stats->series_binned++;
                        stats->samples_merged += s->n - nonempty;
                }
        }
        return g_steal_pointer (&out);
}

void
augur_dataset_time_split (gsize n, gsize *ret_val_start, gsize *ret_test_start)
{
        gsize n_test = (gsize) llround (AUGUR_SPLIT_TEST_FRAC * (double) n);
        gsize n_val = (gsize) llround (AUGUR_SPLIT_VAL_FRAC * (double) n);
        gsize b = n - MIN (n_test, n);
        gsize a = b - MIN (n_val, b);

        *ret_val_start = a;
        *ret_test_start = b;
}

AugurSplit
augur_dataset_vm_split (const char *vm)
{
        switch (augur_fnv1a32 (vm, strlen (vm)) % 10) {
        case 0:
        case 1:
                return AUGUR_SPLIT_TEST;
        case 2:
        case 3:
                return AUGUR_SPLIT_VAL;
        default:
                return AUGUR_SPLIT_TRAIN;
        }
}

void
augur_vm_data_free (AugurVmData *d)
{
        if (!d)
                return;
        augur_series_free (d->grid);
        g_free (d->feat);
        g_free (d->valid);
        g_free (d->observed);
        g_free (d->seg);
        g_free (d->held);
        g_free (d->y);
        g_free (d->split);
        g_free (d);
}

AugurVmData *
augur_vm_data_build (AugurSeries *grid, const AugurFeatConfig *cfg, AugurSplitMode mode)
{
        g_autoptr (AugurVmData) d = g_new0 (AugurVmData, 1);
        gsize n = grid->n;
        gsize a, b;

        d->grid = grid;
        d->n = n;
        d->F = augur_features_count (cfg->groups);
        d->feat = g_new (float, MAX (n, 1) * d->F);
        d->valid = g_new (guint8, MAX (n, 1));
        d->observed = g_new (guint8, MAX (n, 1));
        d->seg = g_new (guint32, MAX (n, 1));
        d->held = g_new (float, MAX (n, 1) * AUGUR_SIG_N);
        d->y = g_new (float, MAX (n, 1) * AUGUR_TARGET_N);
        d->split = g_new (guint8, MAX (n, 1));
        augur_features_batch (cfg, grid, d->feat, d->valid, d->seg, d->held);
        for (gsize k = 0; k < n; k++) {
                AugurFeatSample x;

                augur_features_sample_from_series (&x, grid, k);
                for (int t = 0; t < AUGUR_TARGET_N; t++)
                        d->y[t * n + k] = augur_features_signal (&x, augur_target_sig ((AugurTarget) t));
                d->observed[k] = !isnan (d->y[AUGUR_TARGET_CPU_PCT * n + k])
                                 || !isnan (d->y[AUGUR_TARGET_MEM_PCT * n + k]);
        }
        if (mode == AUGUR_SPLIT_BY_VM) {
                AugurSplit sp = augur_dataset_vm_split (grid->vm);

                memset (d->split, sp, n);
                for (int s = 0; s < AUGUR_SPLIT_N; s++) {
                        d->split_start[s] = (s == (int) sp) ? 0 : n;
                        d->split_end[s] = n;
                }
        } else {
                augur_dataset_time_split (n, &a, &b);
                for (gsize k = 0; k < n; k++)
                        d->split[k] = k < a ? AUGUR_SPLIT_TRAIN : (k < b ? AUGUR_SPLIT_VAL : AUGUR_SPLIT_TEST);
                d->split_start[AUGUR_SPLIT_TRAIN] = 0;
                d->split_start[AUGUR_SPLIT_VAL] = a;
                d->split_start[AUGUR_SPLIT_TEST] = b;
                d->split_end[AUGUR_SPLIT_TRAIN] = a;
                d->split_end[AUGUR_SPLIT_VAL] = b;
                d->split_end[AUGUR_SPLIT_TEST] = n;
        }
        return g_steal_pointer (&d);
}

gboolean
augur_vm_data_window_ok (const AugurVmData *d, gsize k, guint T, guint h)
{
        gsize first;

        if (k >= d->n || k + h >= d->n || k + 1 < T)
                return FALSE;
        first = k + 1 - T;
        if (!d->observed[k] || !d->valid[k] || !d->valid[first] || d->seg[first] != d->seg[k])
                return FALSE;
        if (!d->valid[k + h] || d->seg[k + h] != d->seg[k])
                return FALSE;
        return TRUE;
}

const char *
augur_split_name (AugurSplit sp)
{
        static const char *const names[AUGUR_SPLIT_N] = { "training", "validation", "test" };

        g_return_val_if_fail (sp < AUGUR_SPLIT_N, NULL);
        return names[sp];
}

/* ------------------------------------------------------------- dataset */

gsize
augur_dataset_longest_split (const AugurDataset *ds, AugurSplit sp, const char **ret_vm)
{
        gsize best = 0;

        g_return_val_if_fail (ds != NULL && sp < AUGUR_SPLIT_N, 0);
        if (ret_vm)
                *ret_vm = "";
        for (guint v = 0; v < ds->vms->len; v++) {
                const AugurVmData *d = g_ptr_array_index (ds->vms, v);
                gsize len = d->split_end[sp] - d->split_start[sp];

                if (len > best) {
                        best = len;
                        if (ret_vm)
                                *ret_vm = d->grid->vm;
                }
        }
        return best;
}

gboolean
augur_dataset_check_shape (const AugurDataset *ds, guint T, guint H, AugurSplit sp,
                           guint *ret_short, GError **error)
{
        const AugurVmData *longest = NULL;
        const char *widest = NULL;
        guint n_short = 0;
        gsize len;

        g_return_val_if_fail (ds != NULL && sp < AUGUR_SPLIT_N, FALSE);
        for (guint v = 0; v < ds->vms->len; v++) {
                const AugurVmData *d = g_ptr_array_index (ds->vms, v);

                if (d->n < T)
                        n_short++;
                if (!longest || d->n > longest->n)
                        longest = d;
        }
        if (ret_short)
                *ret_short = n_short;
        if (!longest) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_NO_DATA, "no series to score");
                return FALSE;
        }
        if (longest->n < T) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_INVAL,
                             "window of %u steps is longer than every VM's history: the longest, '%s', "
                             "has %" G_GSIZE_FORMAT " steps", T, longest->grid->vm, longest->n);
                return FALSE;
        }
        len = augur_dataset_longest_split (ds, sp, &widest);
        if (len <= H) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_INVAL,
                             "horizon %u is more than the data can score: the longest %s split, '%s', "
                             "has %" G_GSIZE_FORMAT " steps, so at most %" G_GSIZE_FORMAT " steps ahead",
                             H, augur_split_name (sp), widest, len, len > 0 ? len - 1 : 0);
                return FALSE;
        }
        return TRUE;
}

void
augur_dataset_free (AugurDataset *ds)
{
        if (!ds)
                return;
        g_clear_pointer (&ds->vms, g_ptr_array_unref);
        g_free (ds);
}

static gboolean
any_col (const GPtrArray *series, const AugurCol *cols, guint n)
{
        for (guint i = 0; i < series->len; i++) {
                const AugurSeries *s = g_ptr_array_index (series, i);

                for (guint c = 0; c < n; c++)
                        if (s->col[cols[c]])
                                return TRUE;
        }
        return FALSE;
}

AugurDataset *
augur_dataset_prepare (const GPtrArray *series, AugurFeatConfig *feat,
                       AugurSplitMode split, gboolean fit_norm)
{
        static const AugurCol io_cols[] = {
                AUGUR_COL_DISK_RD_KIBPS, AUGUR_COL_DISK_WR_KIBPS,
                AUGUR_COL_NET_RX_KIBPS, AUGUR_COL_NET_TX_KIBPS,
        };
        static const AugurCol host_cols[] = {
                AUGUR_COL_HOST_LOAD1, AUGUR_COL_HOST_PSI_CPU,
                AUGUR_COL_HOST_PSI_MEM, AUGUR_COL_HOST_PSI_IO,
        };
        static const AugurCol act_cols[] = {
                AUGUR_COL_INPUT_EVENTS_PER_MIN, AUGUR_COL_SESSIONS,
                AUGUR_COL_PROC_STARTS_PER_MIN,
        };
        static const AugurCol bkt_cols[] = {
                AUGUR_COL_PROG_B0, AUGUR_COL_PROG_B0 + 1, AUGUR_COL_PROG_B0 + 2,
                AUGUR_COL_PROG_B0 + 3, AUGUR_COL_PROG_B0 + 4, AUGUR_COL_PROG_B0 + 5,
                AUGUR_COL_PROG_B0 + 6, AUGUR_COL_PROG_B7,
                AUGUR_COL_USER_B0, AUGUR_COL_USER_B0 + 1, AUGUR_COL_USER_B0 + 2,
                AUGUR_COL_USER_B3,
        };
        g_autoptr (AugurDataset) ds = g_new0 (AugurDataset, 1);
        g_autoptr (GPtrArray) grids = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);

        for (guint i = 0; i < series->len; i++)
                g_ptr_array_add (grids, augur_dataset_resample (g_ptr_array_index (series, i),
                                                                feat->step_s, &ds->resample));
        if (fit_norm) {
                g_autofree gsize *from = g_new0 (gsize, grids->len);
                g_autofree gsize *to = g_new0 (gsize, grids->len);

                if (!any_col (series, io_cols, G_N_ELEMENTS (io_cols)))
                        feat->groups &= ~(guint) AUGUR_FEAT_GROUP_IO;
                if (!any_col (series, host_cols, G_N_ELEMENTS (host_cols)))
                        feat->groups &= ~(guint) AUGUR_FEAT_GROUP_HOST;
                if (!any_col (series, act_cols, G_N_ELEMENTS (act_cols)))
                        feat->groups &= ~(guint) (AUGUR_FEAT_GROUP_ACTIVITY | AUGUR_FEAT_GROUP_RECENCY);
                if (!any_col (series, bkt_cols, G_N_ELEMENTS (bkt_cols)))
                        feat->groups &= ~(guint) AUGUR_FEAT_GROUP_BUCKETS;
                for (guint i = 0; i < grids->len; i++) {
                        const AugurSeries *g = g_ptr_array_index (grids, i);
                        gsize a, b;

                        if (split == AUGUR_SPLIT_BY_VM) {
                                to[i] = augur_dataset_vm_split (g->vm) == AUGUR_SPLIT_TRAIN ? g->n : 0;
                        } else {
                                augur_dataset_time_split (g->n, &a, &b);
                                to[i] = a;
                        }
                }
                augur_features_norm_fit (&feat->norm, grids, from, to);
        }
        feat->groups |= AUGUR_FEAT_GROUP_CORE;
        ds->feat = *feat;
        ds->vms = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_vm_data_free);
        while (grids->len > 0) {
                AugurSeries *g = g_ptr_array_steal_index (grids, 0);

                g_ptr_array_add (ds->vms, augur_vm_data_build (g, feat, split));
        }
        return g_steal_pointer (&ds);
}
