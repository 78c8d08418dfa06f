/* calib.c — split-conformal upper bounds with online updates.
 *
 * ALGORITHM
 * =========
 * For a target coverage 1 - a (default 0.95) and n exchangeable scores
 * s_1..s_n = y - base from a calibration set, the margin
 *     q = s_(ceil((n + 1)(1 - a)))      (k-th smallest; the max if k > n)
 * gives P(y_new <= base_new + q) >= 1 - a for a new exchangeable point
 * (split conformal; for the NN's quantile head this is CQR, Romano et al.
 * 2019, with the one-sided score).  Scores are kept
 *   per VM and horizon  in a ring of the newest ring_len scores (default
 *                       576 = 2 days at 5 min), so the bound follows a VM
 *                       whose behaviour changes (a ring, not all history:
 *                       exchangeability only holds locally);
 *   globally, per h     in a reservoir sample of 8192 scores (Vitter's
 *                       algorithm R, own xorshift, deterministic), the
 *                       fallback for VMs with fewer than min_n scores
 *                       (default 96 = 8 h) and what the model file keeps.
 * Online use: add each score when its target becomes known (t + h), so the
 * margin used at time t only sees targets <= t.  Memory per VM:
 * H * ring_len floats (12 * 576 * 4 = 27 KiB).
 * Cost: each per-VM ring keeps a sorted copy next to it, so add() is a
 * binary search plus a memmove of at most ring_len floats (2.3 KiB) to drop
 * the oldest score and insert the new one, and margin() is one array read.
 * (Quickselect per query was the first version: eval asks for a margin
 * after every online add, and that cost 100 s on Bitbrains.)  The global
 * reservoir is queried rarely (fallback only), so it stays unsorted and is
 * quickselected lazily when it changed.
 */
#include "calib.h"
#include "util.h"

#include <math.h>
#include <string.h>

typedef struct {
        float *ring;          /* (H, ring_len) scores in arrival order       */
        float *sorted;        /* (H, ring_len) the same scores, ascending    */
        guint *count;         /* (H) scores held (<= ring_len)              */
        guint *pos;           /* (H) next write slot                         */
} VmCal;

struct AugurCalib {
        guint H;
        float coverage;
        guint ring_len;
        guint min_n;
        GHashTable *vms;          /* vm name -> VmCal*                        */
        float *res;               /* (H, RESERVOIR) global reservoir          */
        guint64 *seen;            /* (H) scores offered to the reservoir      */
        float *gcache;            /* (H) cached global margin                 */
        guint8 *gdirty;           /* (H)                                      */
        gboolean fixed;           /* global margins fixed (loaded)            */
        guint64 rng;              /* xorshift64 state                         */
        float *scratch;           /* (max(ring_len, RESERVOIR)) quickselect   */
};

static void
vm_cal_free (VmCal *v)
{
        g_free (v->ring);
        g_free (v->sorted);
        g_free (v->count);
        g_free (v->pos);
        g_free (v);
}

AugurCalib *
augur_calib_new (guint H, float coverage, guint ring_len, guint min_n)
{
        AugurCalib *c;

        g_return_val_if_fail (H > 0, NULL);
        g_return_val_if_fail (coverage > 0.0f && coverage < 1.0f, NULL);
        c = g_new0 (AugurCalib, 1);
        c->H = H;
        c->coverage = coverage;
        c->ring_len = ring_len ? ring_len : AUGUR_CALIB_DEFAULT_RING;
        c->min_n = min_n ? min_n : AUGUR_CALIB_DEFAULT_MIN_N;
        c->vms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) vm_cal_free);
        c->res = g_new0 (float, (gsize) H * AUGUR_CALIB_GLOBAL_RESERVOIR);
        c->seen = g_new0 (guint64, H);
        c->gcache = g_new0 (float, H);
        c->gdirty = g_new0 (guint8, H);
        c->rng = G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);
        c->scratch = g_new (float, MAX (c->ring_len, AUGUR_CALIB_GLOBAL_RESERVOIR));
        return c;
}

void
augur_calib_free (AugurCalib *c)
{
        if (!c)
                return;
        g_hash_table_unref (c->vms);
        g_free (c->res);
        g_free (c->seen);
        g_free (c->gcache);
        g_free (c->gdirty);
        g_free (c->scratch);
        g_free (c);
}

guint
augur_calib_horizons (const AugurCalib *c)
{
        return c->H;
}

float
augur_calib_coverage (const AugurCalib *c)
{
        return c->coverage;
}

static guint64
xorshift (guint64 *s)
{
        guint64 x = *s;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *s = x;
        return x;
}

static void
sorted_remove (float *a, guint n, float x)
{
        guint i = augur_lower_bound_f (a, n, x);

        g_assert (i < n && a[i] == x);
        memmove (a + i, a + i + 1, (n - i - 1) * sizeof *a);
}

static void
sorted_insert (float *a, guint n, float x)
{
        guint i = augur_lower_bound_f (a, n, x);

        memmove (a + i + 1, a + i, (n - i) * sizeof *a);
        a[i] = x;
}

void
augur_calib_add (AugurCalib *c, const char *vm, guint h, float score, gboolean vm_only)
{
        VmCal *v;
        guint i = h - 1;

        g_return_if_fail (h >= 1 && h <= c->H);
        if (!isfinite (score))
                return;
        if (!vm)
                goto global;
        v = g_hash_table_lookup (c->vms, vm);
        if (!v) {
                v = g_new0 (VmCal, 1);
                v->ring = g_new (float, (gsize) c->H * c->ring_len);
                v->sorted = g_new (float, (gsize) c->H * c->ring_len);
                v->count = g_new0 (guint, c->H);
                v->pos = g_new0 (guint, c->H);
                g_hash_table_insert (c->vms, g_strdup (vm), v);
        }
        {
                float *ring = v->ring + (gsize) i * c->ring_len;
                float *sorted = v->sorted + (gsize) i * c->ring_len;

                if (v->count[i] == c->ring_len)
                        sorted_remove (sorted, v->count[i]--, ring[v->pos[i]]);
                sorted_insert (sorted, v->count[i]++, score);
                ring[v->pos[i]] = score;
                v->pos[i] = (v->pos[i] + 1) % c->ring_len;
        }

global:
        if (vm_only || c->fixed)
                return;
        /* Algorithm R. */
        if (c->seen[i] < AUGUR_CALIB_GLOBAL_RESERVOIR) {
                c->res[(gsize) i * AUGUR_CALIB_GLOBAL_RESERVOIR + c->seen[i]] = score;
        } else {
                guint64 j = xorshift (&c->rng) % (c->seen[i] + 1);

                if (j < AUGUR_CALIB_GLOBAL_RESERVOIR)
                        c->res[(gsize) i * AUGUR_CALIB_GLOBAL_RESERVOIR + j] = score;
        }
        c->seen[i]++;
        c->gdirty[i] = 1;
}

/* k-th smallest (0-based) of a[0..n-1]; reorders a.  Hoare partition
 * quickselect, expected O(n). */
static float
select_kth (float *a, guint n, guint k)
{
        gint64 lo = 0, hi = (gint64) n - 1;

        while (lo < hi) {
                float pivot = a[lo + (hi - lo) / 2];
                gint64 i = lo, j = hi;

                while (i <= j) {
                        while (a[i] < pivot)
                                i++;
                        while (a[j] > pivot)
                                j--;
                        if (i <= j) {
                                float t = a[i];

                                a[i] = a[j];
                                a[j] = t;
                                i++;
                                j--;
                        }
                }
                if ((gint64) k <= j)
                        hi = j;
                else if ((gint64) k >= i)
                        lo = i;
                else
                        break;
        }
        return a[k];
}

/* 1-based rank of the conformal quantile among n scores (n >= 1). */
static guint
rank_at (float coverage, guint n)
{
        double kk = ceil ((double) (n + 1) * coverage);

        return (guint) MAX (1.0, MIN (kk, (double) n));
}

static guint
conformal_rank (const AugurCalib *c, guint n)
{
        return rank_at (c->coverage, n);
}

float
augur_conformal_quantile (const float *scores, guint n, float coverage, float *scratch)
{
        if (n == 0)
                return 0.0f;
        memcpy (scratch, scores, n * sizeof *scores);
        return select_kth (scratch, n, rank_at (coverage, n) - 1);
}

static float
conformal_quantile (AugurCalib *c, const float *scores, guint n)
{
        return augur_conformal_quantile (scores, n, c->coverage, c->scratch);
}

static float
global_margin (AugurCalib *c, guint i)
{
        if (c->fixed || !c->gdirty[i])
                return c->gcache[i];
        c->gcache[i] = conformal_quantile (c, c->res + (gsize) i * AUGUR_CALIB_GLOBAL_RESERVOIR,
                                           (guint) MIN (c->seen[i], AUGUR_CALIB_GLOBAL_RESERVOIR));
        c->gdirty[i] = 0;
        return c->gcache[i];
}

gboolean
augur_calib_vm_margin (AugurCalib *c, const char *vm, guint h, float *ret_margin)
{
        VmCal *v;
        guint i = h - 1;

        g_return_val_if_fail (h >= 1 && h <= c->H, FALSE);
        v = vm ? g_hash_table_lookup (c->vms, vm) : NULL;
        if (!v || v->count[i] < c->min_n)
                return FALSE;
        *ret_margin = v->sorted[(gsize) i * c->ring_len + conformal_rank (c, v->count[i]) - 1];
        return TRUE;
}

float
augur_calib_margin (AugurCalib *c, const char *vm, guint h)
{
        float m;

        g_return_val_if_fail (h >= 1 && h <= c->H, 0.0f);
        if (augur_calib_vm_margin (c, vm, h, &m))
                return m;
        return global_margin (c, h - 1);
}

void
augur_calib_global_margins (AugurCalib *c, float *ret)
{
        for (guint i = 0; i < c->H; i++)
                ret[i] = global_margin (c, i);
}

void
augur_calib_set_global_margins (AugurCalib *c, const float *margins)
{
        for (guint i = 0; i < c->H; i++) {
                c->gcache[i] = margins[i];
                c->gdirty[i] = 0;
        }
        c->fixed = TRUE;
}
