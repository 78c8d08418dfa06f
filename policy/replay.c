/* replay.c — trace replay through the policy.  API: replay.h.
 *
 * What it is: the evaluation harness for the closed loop: forecasts from
 * the online predictor (exactly what augurd would compute, step by step),
 * the daemon's own augur_policy_plan(), simulated actuation, and the
 * metrics.  What it is not: a simulator of guests (the trace does not
 * react to the allocation) or a second copy of the policy.
 *
 * THE t -> t+1 RULE
 * =================
 *   step t:  the guest uses used[t] under the allocation alloc[t] that was
 *            decided at t-1 (scored here);
 *            the policy sees used[t], alloc[t], the forecast made from data
 *            up to t, and decides alloc[t+1].
 * The first step of a VM runs under its provisioned size (a VM boots at
 * full size).  Nothing reads a sample after t when deciding at t: the
 * forecasts come from augur_predictor_step() fed in time order, and the
 * reference policies keep their own state updated at t.
 *
 * SIMULATED GUEST SIGNALS
 *   mem_stats_fresh = used[t] present; mem_pressure = used[t] > alloc[t]
 *   (a real guest short of memory would swap: the daemon sees pressure;
 *   cfg->simulate_pressure); vCPUs can be added and offlined; the ceiling
 *   is the provisioned size, the floor 1 vCPU / 0 KiB.
 *
 * METRICS (scored steps: ts in [ts0 + from*span, ts0 + to*span) of each VM,
 * pooled over VMs, only where mem_used_kib is present)
 *   slack              sum(alloc - used) / sum used   (negative terms count)
 *   shortfall_frac     share of steps with used > alloc
 *   shortfall_volume   sum max(0, used - alloc) / sum used
 *   cpu_shortfall_frac share of steps (cores used present) with cores used
 *                      > vCPUs in force
 *   actions            memory and vCPU changes in force at a scored step
 *   spikes_ok          onsets (--spikes) whose allocation covers the usage
 *                      at the onset and the 2 steps after (a missing usage
 *                      at +1/+2 does not count against it); also per
 *                      precursor flag and per kind label
 *
 * REFERENCE POLICIES (one knob h each)
 *   reactive  augur_policy_plan_reactive(): alloc = used[t] x (1 + h)
 *             (Proxmox-like); vCPUs untouched (as the daemon's reactive).
 *   vpa       Kubernetes VPA's recommender, per VM: a decaying histogram
 *             (half-life 24 h, buckets growing 5 %, first 1 MiB / 0.01
 *             core; VPA's bucket scheme) of every usage sample; target =
 *             p90 (the end of the bucket reaching 90 % of the weight, as
 *             VPA's Percentile()) x (1 + h); vCPUs = ceil(p90 cores x
 *             (1 + h)).  OOM bump: on a shortfall step, a sample of
 *             max(1.2 used, used + 100 MiB) (VPA's oomBumpUpRatio and
 *             oomMinBumpUp) is added with weight total/8, i.e. enough to
 *             put p90 at least at the bump right away — VPA feeds OOMs as
 *             peaks of a per-day histogram, where one OOM dominates too.
 *             Applied in place every step (no eviction, no bounds).
 *             VPA's default h is 0.15 (safety margin).
 *   static    alloc = provisioned, vCPUs = provisioned; no knob.
 *
 * THE MEMORY GUARD (augur; cfg->guard, on by default as in augurd)
 *   Each VM keeps an AugurGuardState (policy/mem-guard.h), fed every step
 *   as plugin/resize.c observe_guard() feeds it every tick: tick = lead =
 *   the replay step (a decision is in force one step later, so the
 *   actuation latency is within the step), augur's own last target = the
 *   allocation in force, the forecast's want over the lead window, fresh
 *   = used[t] present, and no guest OOM count or PSI (a trace has none).
 *   Its cushion and hold go into the plan as in augurd.  A step whose
 *   usage exceeds the allocation and then falls back is what a guest
 *   killed at its limit looks like from the host; the guard's cut-off rule
 *   fires on it and holds, as it would in augurd (the trace itself goes on
 *   as recorded).  The host slack g of rule 3 is not forecast (a replay has
 *   no host): cfg->host_slack fixes it, 0 = a host under pressure (the
 *   cushion is the burst envelope alone), 1 = an idle host (a generous
 *   cushion, half the provisioned size at least).  The guard raises the
 *   slack a knob gives, so the tuning below finds the knob with it on.
 *
 * TUNING (--slack-target): slack grows with the knob (more buffer, more
 * allocation), so bisection on the knob finds the matching one; only the
 * policy re-runs (forecasts are stored per step), about 20 ms per run for
 * 50 VMs x 8640 steps.
 *
 * COST: forecasting once: one predictor step per VM and grid step; stored
 * forecasts take 16 B x horizons kept per step (<= 24).
 */
#include "replay.h"
#include "dataset.h"
#include "mem-guard.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

G_DEFINE_QUARK (augur-replay-error-quark, augur_replay_error)

#define MAX_STORED_H    24          /* horizons kept per step: lead windows
                                     * longer than 24 steps are cut here   */
#define KIB_PER_MIB     1024.0
#define DAEMON_TICK_S   5.0         /* augurd's default tick (README)      */

static const char *const policy_names[AUGUR_REPLAY_N] = {
        "augur", "reactive", "vpa", "static",
};

const char *
augur_replay_policy_name (AugurReplayPolicy p)
{
        return p < AUGUR_REPLAY_N ? policy_names[p] : "?";
}

gboolean
augur_replay_policy_from_name (const char *name, AugurReplayPolicy *ret, GError **error)
{
        for (int i = 0; i < AUGUR_REPLAY_N; i++)
                if (g_strcmp0 (name, policy_names[i]) == 0) {
                        *ret = (AugurReplayPolicy) i;
                        return TRUE;
                }
        g_set_error (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_INVAL,
                     "unknown policy '%s' (augur, reactive, vpa, static)", name ? name : "");
        return FALSE;
}

void
augur_replay_config_init (AugurReplayConfig *cfg, AugurReplayPolicy policy, gint64 step_s)
{
        memset (cfg, 0, sizeof *cfg);
        cfg->policy = policy;
        augur_policy_config_init (&cfg->pcfg);
        cfg->pcfg.headroom_kib = 0;
        cfg->pcfg.reserve_kib = 0;
        /* The daemon may shrink shrink_step_kib per 5 s tick: keep the rate. */
        cfg->pcfg.shrink_step_kib *= MAX (1.0, (double) step_s / DAEMON_TICK_S);
        /* One replay sample already spans step_s of evidence: the policy
         * counts sustain from the first decision that saw it, so what is
         * left to wait is sustain - step (0 at 5 min for the 60 s default). */
        cfg->pcfg.shrink_sustain_s = MAX (0.0, cfg->pcfg.shrink_sustain_s - (double) step_s);
        /* augurd's defaults: the guard on.  A replay has no host to
         * forecast the guard's host slack from: assume the host is under
         * pressure, where the cushion is the burst envelope alone (as
         * augurd does when it cannot tell, resize.c host_slack()). */
        cfg->guard = TRUE;
        cfg->host_slack = 0;
        switch (policy) {
        case AUGUR_REPLAY_AUGUR:
                cfg->knob = 1.0;
                break;
        case AUGUR_REPLAY_VPA:
                cfg->knob = 0.15;
                break;
        case AUGUR_REPLAY_REACTIVE:
                cfg->knob = 0.2;
                break;
        default:
                cfg->knob = 0;
                break;
        }
        cfg->score_from = 0.8;
        cfg->score_to = 1.0;
        cfg->simulate_pressure = TRUE;
        cfg->vpa_halflife_s = 86400;
        cfg->vpa_percentile = 0.9;
        cfg->vpa_oom_ratio = 1.2;
        cfg->vpa_oom_min_kib = 100 * KIB_PER_MIB;
}

/* ------------------------------------------------------------ data */

typedef struct {
        gsize idx;                      /* grid step of the onset            */
        gboolean precursor;
        const char *kind;               /* interned label, NULL = none       */
} Spike;

typedef struct {
        char *name;
        gsize n;
        gint64 *ts;                     /* (n) grid timestamps               */
        float *used;                    /* (n) mem_used_kib                  */
        float *prov;                    /* (n) provisioned KiB, held         */
        float *cu;                      /* (n) cores used                    */
        float *cores;                   /* (n) provisioned cores, held       */
        float *fc;                      /* (n, 4, L) mem p50, mem upper,
                                         * cpu p50, cpu upper                */
        guint8 *fc_h;                   /* (n) horizons stored, 0 = none     */
        guint8 *fc_src;                 /* (n) memory source serving         */
        guint8 *fc_fast;                /* (n) bit 0: the fast path raised the
                                         * memory upper; bit 1: the gated model
                                         * did (champion.c MODEL GATE); bits
                                         * 2-4: 1 + the precursor context that
                                         * did (precursor.c), 0 = none       */
        GArray *spikes;                 /* Spike                             */
} ReplayVm;

struct AugurReplay {
        gint64 step_s;
        GPtrArray *vms;                 /* ReplayVm*                         */
        guint L;                        /* stored horizons per step          */
        double fc_step_s;               /* step of the stored forecasts      */
        const char *fc_model;           /* a static model name for AugurForecast */
};

static void
replay_vm_free (ReplayVm *v)
{
        g_free (v->name);
        g_free (v->ts);
        g_free (v->used);
        g_free (v->prov);
        g_free (v->cu);
        g_free (v->cores);
        g_free (v->fc);
        g_free (v->fc_h);
        g_free (v->fc_src);
        g_free (v->fc_fast);
        if (v->spikes)
                g_array_unref (v->spikes);
        g_free (v);
}

void
augur_replay_free (AugurReplay *r)
{
        if (!r)
                return;
        g_clear_pointer (&r->vms, g_ptr_array_unref);
        g_free (r);
}

gint64
augur_replay_step_s (const AugurReplay *r)
{
        return r->step_s;
}

guint
augur_replay_n_vms (const AugurReplay *r)
{
        return r->vms->len;
}

/* Hold the last present value forward; steps before the first present one
 * take the first (the VM had that size from its start). */
static void
hold_fill (float *a, gsize n)
{
        float last = NAN;
        gsize first = n;

        for (gsize i = 0; i < n; i++) {
                if (!isnan (a[i]) && a[i] > 0) {
                        if (first == n)
                                first = i;
                        last = a[i];
                } else {
                        a[i] = last;
                }
        }
        for (gsize i = 0; i < first && first < n; i++)
                a[i] = a[first];
}

static ReplayVm *
vm_from_grid (const AugurSeries *g)
{
        ReplayVm *v = g_new0 (ReplayVm, 1);
        const float *pct = g->col[AUGUR_COL_CPU_PCT], *cores = g->col[AUGUR_COL_CPU_CORES];

        v->name = g_strdup (g->vm);
        v->n = g->n;
        v->ts = g_memdup2 (g->ts, g->n * sizeof *g->ts);
        v->used = g_new (float, MAX (g->n, 1));
        v->prov = g_new (float, MAX (g->n, 1));
        v->cu = g_new (float, MAX (g->n, 1));
        v->cores = g_new (float, MAX (g->n, 1));
        for (gsize i = 0; i < g->n; i++) {
                v->used[i] = g->col[AUGUR_COL_MEM_USED_KIB] ? g->col[AUGUR_COL_MEM_USED_KIB][i] : NAN;
                v->prov[i] = g->col[AUGUR_COL_MEM_PROV_KIB] ? g->col[AUGUR_COL_MEM_PROV_KIB][i] : NAN;
                v->cores[i] = cores ? cores[i] : NAN;
        }
        hold_fill (v->prov, g->n);
        hold_fill (v->cores, g->n);
        for (gsize i = 0; i < g->n; i++)
                v->cu[i] = pct && !isnan (pct[i]) ? pct[i] * v->cores[i] / 100.0f : NAN;
        return v;
}

/* Min-heap of (ts, vm index) for the time-ordered forecast pass. */
typedef struct {
        gint64 ts;
        guint vm;
} HeapItem;

static gboolean
heap_less (const HeapItem *a, const HeapItem *b)
{
        return a->ts < b->ts || (a->ts == b->ts && a->vm < b->vm);
}

static void
heap_push (HeapItem *h, guint *n, HeapItem it)
{
        guint i = (*n)++;

        h[i] = it;
        while (i > 0 && heap_less (&h[i], &h[(i - 1) / 2])) {
                HeapItem t = h[i];

                h[i] = h[(i - 1) / 2];
                h[(i - 1) / 2] = t;
                i = (i - 1) / 2;
        }
}

static HeapItem
heap_pop (HeapItem *h, guint *n)
{
        HeapItem top = h[0];
        guint i = 0;

        h[0] = h[--(*n)];
        for (;;) {
                guint l = 2 * i + 1, r = l + 1, m = i;

                if (l < *n && heap_less (&h[l], &h[m]))
                        m = l;
                if (r < *n && heap_less (&h[r], &h[m]))
                        m = r;
                if (m == i)
                        break;
                HeapItem t = h[i];

                h[i] = h[m];
                h[m] = t;
                i = m;
        }
        return top;
}

static void
forecast_all (AugurReplay *r, const GPtrArray *grids, AugurPredictor *pred)
{
        g_autofree HeapItem *heap = g_new (HeapItem, MAX (r->vms->len, 1));
        g_autofree gsize *cur = g_new0 (gsize, MAX (r->vms->len, 1));
        GPtrArray *states = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_predictor_vm_free);
        guint hn = 0;

        r->L = 0;
        for (guint i = 0; i < r->vms->len; i++) {
                ReplayVm *v = g_ptr_array_index (r->vms, i);

                g_ptr_array_add (states, augur_predictor_vm_new (pred, v->name));
                v->fc_h = g_new0 (guint8, MAX (v->n, 1));
                v->fc_src = g_new (guint8, MAX (v->n, 1));
                v->fc_fast = g_new0 (guint8, MAX (v->n, 1));
                memset (v->fc_src, AUGUR_PRED_SRC_NONE, MAX (v->n, 1));
                if (v->n > 0)
                        heap_push (heap, &hn, (HeapItem) { v->ts[0], i });
        }
        /* Horizons kept: the predictor's output length, at most MAX_STORED_H. */
        {
                const AugurPredictorConfig *pc = augur_predictor_config (pred);
                gboolean tick_mode = pc->tick_s < (double) pc->step_s;

                r->L = MIN (tick_mode ? pc->fast_H : pc->H, MAX_STORED_H);
                r->fc_step_s = tick_mode ? pc->tick_s : (double) pc->step_s;
        }
        for (guint i = 0; i < r->vms->len; i++) {
                ReplayVm *v = g_ptr_array_index (r->vms, i);

                v->fc = g_new (float, MAX (v->n, 1) * 4 * (gsize) r->L);
        }
        while (hn > 0) {
                HeapItem it = heap_pop (heap, &hn);
                ReplayVm *v = g_ptr_array_index (r->vms, it.vm);
                const AugurSeries *g = g_ptr_array_index (grids, it.vm);
                gsize i = cur[it.vm]++;
                AugurFeatSample x;
                AugurPredictorOut out;

                augur_features_sample_from_series (&x, g, i);
                if (augur_predictor_step (pred, g_ptr_array_index (states, it.vm), &x, &out)) {
                        float *f = v->fc + i * 4 * (gsize) r->L;
                        guint L = MIN (out.H, r->L);

                        for (guint h = 0; h < r->L; h++) {
                                f[0 * r->L + h] = h < L ? out.mem_p50_kib[h] : NAN;
                                f[1 * r->L + h] = h < L ? out.mem_upper_kib[h] : NAN;
                                f[2 * r->L + h] = h < L ? out.cpu_p50_cores[h] : NAN;
                                f[3 * r->L + h] = h < L ? out.cpu_upper_cores[h] : NAN;
                        }
                        v->fc_h[i] = (guint8) L;
                        v->fc_src[i] = (guint8) out.source[AUGUR_PRED_MEM];
                        v->fc_fast[i] = (strchr (out.model[AUGUR_PRED_MEM], '+') != NULL)
                                        | (out.model_raised[AUGUR_PRED_MEM] ? 2 : 0);
                        if (out.precursor >= 0)
                                v->fc_fast[i] |= (guint8) ((out.precursor + 1) << 2);
                        if (!r->fc_model)
                                r->fc_model = out.model[AUGUR_PRED_MEM];
                }
                if (cur[it.vm] < v->n)
                        heap_push (heap, &hn, (HeapItem) { v->ts[cur[it.vm]], it.vm });
        }
        g_ptr_array_unref (states);
}

AugurReplay *
augur_replay_new (const GPtrArray *series, gint64 step_s, AugurPredictor *pred, GError **error)
{
        g_autoptr (AugurReplay) r = g_new0 (AugurReplay, 1);
        g_autoptr (GPtrArray) grids = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);
        gboolean any_mem = FALSE;

        g_return_val_if_fail (series != NULL && step_s > 0, NULL);
        r->step_s = step_s;
        r->vms = g_ptr_array_new_with_free_func ((GDestroyNotify) replay_vm_free);
        for (guint i = 0; i < series->len; i++) {
                const AugurSeries *s = g_ptr_array_index (series, i);
                AugurSeries *g;

                if (s->n == 0)
                        continue;
                g = augur_dataset_resample (s, step_s, NULL);
                g_ptr_array_add (grids, g);
                g_ptr_array_add (r->vms, vm_from_grid (g));
                if (g->col[AUGUR_COL_MEM_USED_KIB] && g->col[AUGUR_COL_MEM_PROV_KIB])
                        any_mem = TRUE;
        }
        if (!any_mem) {
                g_set_error (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_NO_DATA,
                             "no series has both mem_used_kib and mem_prov_kib: nothing to replay");
                return NULL;
        }
        if (pred)
                forecast_all (r, grids, pred);
        return g_steal_pointer (&r);
}

/* ---------------------------------------------------------- spikes */

static gboolean
split_csv_line (const char *line, GPtrArray *ret)
{
        g_auto (GStrv) f = g_strsplit (line, ",", -1);

        g_ptr_array_set_size (ret, 0);
        for (guint i = 0; f[i]; i++)
                g_ptr_array_add (ret, g_strdup (g_strstrip (f[i])));
        return ret->len > 0;
}

gboolean
augur_replay_load_spikes (AugurReplay *r, const char *path, guint *ret_ignored, GError **error)
{
        g_autofree char *text = NULL;
        g_auto (GStrv) lines = NULL;
        g_autoptr (GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
        g_autoptr (GPtrArray) f = g_ptr_array_new_with_free_func (g_free);
        int c_vm = -1, c_ts = -1, c_pre = -1, c_kind = -1;
        guint ignored = 0;

        if (!g_file_get_contents (path, &text, NULL, error)) {
                g_prefix_error (error, "spikes: ");
                return FALSE;
        }
        lines = g_strsplit (text, "\n", -1);
        if (!lines[0] || !split_csv_line (lines[0], f)) {
                g_set_error (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_IO, "%s: empty spikes file", path);
                return FALSE;
        }
        for (guint i = 0; i < f->len; i++) {
                const char *h = g_ptr_array_index (f, i);

                if (strcmp (h, "vm") == 0)
                        c_vm = (int) i;
                else if (strcmp (h, "onset_ts") == 0)
                        c_ts = (int) i;
                else if (strcmp (h, "precursor") == 0)
                        c_pre = (int) i;
                else if (strcmp (h, "kind") == 0)
                        c_kind = (int) i;
        }
        if (c_vm < 0 || c_ts < 0) {
                g_set_error (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_IO,
                             "%s: header must name vm and onset_ts", path);
                return FALSE;
        }
        for (guint i = 0; i < r->vms->len; i++) {
                ReplayVm *v = g_ptr_array_index (r->vms, i);

                g_hash_table_insert (by_name, v->name, v);
                if (!v->spikes)
                        v->spikes = g_array_new (FALSE, FALSE, sizeof (Spike));
                g_array_set_size (v->spikes, 0);
        }
        for (guint l = 1; lines[l]; l++) {
                ReplayVm *v;
                gint64 ts;
                Spike sp = { 0 };
                gsize lo;

                if (!*g_strstrip (lines[l]))
                        continue;
                split_csv_line (lines[l], f);
                if ((int) f->len <= MAX (c_vm, c_ts)
                    || !*(const char *) g_ptr_array_index (f, c_vm)
                    || !g_ascii_string_to_signed (g_ptr_array_index (f, c_ts), 10, 0, G_MAXINT64, &ts, NULL)) {
                        g_set_error (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_IO,
                                     "%s:%u: expected a VM name and onset_ts in unix seconds", path, l + 1);
                        return FALSE;
                }
                if (c_pre >= 0) {
                        const char *pre = (int) f->len > c_pre ? g_ptr_array_index (f, c_pre) : "";

                        if (strcmp (pre, "0") != 0 && strcmp (pre, "1") != 0) {
                                g_set_error (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_IO,
                                             "%s:%u: precursor must be 0 or 1, got '%s'", path, l + 1, pre);
                                return FALSE;
                        }
                        sp.precursor = pre[0] == '1';
                }
                if (c_kind >= 0 && (int) f->len > c_kind && *(const char *) g_ptr_array_index (f, c_kind)) {
                        const char *kind = g_ptr_array_index (f, c_kind);

                        /* a label, printed as is in JSON and text */
                        if (strlen (kind) > 32 || kind[strspn (kind, "abcdefghijklmnopqrstuvwxyz"
                                                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")]) {
                                g_set_error (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_IO,
                                             "%s:%u: kind must be at most 32 letters, digits, '_' or '-'",
                                             path, l + 1);
                                return FALSE;
                        }
                        sp.kind = g_intern_string (kind);
                }
                v = g_hash_table_lookup (by_name, g_ptr_array_index (f, c_vm));
                if (!v || v->n == 0) {
                        ignored++;
                        continue;
                }
                /* First grid step at or after the onset (half a step of slack
                 * for grids that do not land on the onset exactly). */
                lo = augur_lower_bound_i64 (v->ts, v->n, ts - r->step_s / 2);
                if (lo >= v->n) {
                        ignored++;
                        continue;
                }
                sp.idx = lo;
                g_array_append_val (v->spikes, sp);
        }
        if (ret_ignored)
                *ret_ignored = ignored;
        return TRUE;
}

/* ------------------------------------------------------------- VPA */

typedef struct {
        double first;                   /* end of bucket 0                   */
        double log_ratio;               /* ln 1.05                           */
        guint n;                        /* buckets                           */
        double *w;                      /* (n) decayed weights               */
        double total;
        double ref_ts;                  /* weights are relative to 2^(ref/hl) */
        double halflife;
} Hist;

static void
hist_init (Hist *h, double first, guint n, double halflife)
{
        h->first = first;
        h->log_ratio = log (1.05);
        h->n = n;
        h->w = g_new0 (double, n);
        h->total = 0;
        h->ref_ts = NAN;
        h->halflife = halflife;
}

static void
hist_clear (Hist *h)
{
        g_free (h->w);
}

static guint
hist_bucket (const Hist *h, double v)
{
        double b;

        if (!(v >= h->first))
                return 0;
        b = 1 + floor (log (v / h->first) / h->log_ratio);
        return (guint) MIN (b, (double) (h->n - 1));
}

/* End of bucket b (VPA returns the end of the bucket, except the last). */
static double
hist_bucket_end (const Hist *h, guint b)
{
        if (b + 1 >= h->n)
                b = h->n - 2;
        return h->first * exp (h->log_ratio * b);
}

static void
hist_add (Hist *h, double v, double weight, double ts)
{
        double e;

        if (isnan (v))
                return;
        if (isnan (h->ref_ts))
                h->ref_ts = ts;
        e = (ts - h->ref_ts) / h->halflife;
        if (e > 64) {
                /* Renormalise: move the reference to ts. */
                double f = exp2 (-e);

                for (guint i = 0; i < h->n; i++)
                        h->w[i] *= f;
                h->total *= f;
                h->ref_ts = ts;
                e = 0;
        }
        weight *= exp2 (e);
        h->w[hist_bucket (h, v)] += weight;
        h->total += weight;
}

static double
hist_percentile (const Hist *h, double p)
{
        double sum = 0, th = p * h->total;
        guint b;

        if (h->total <= 0)
                return NAN;
        for (b = 0; b + 1 < h->n; b++) {
                sum += h->w[b];
                if (sum >= th)
                        break;
        }
        return hist_bucket_end (h, b);
}

/* --------------------------------------------------------------- run */

typedef struct {
        double sum_used, sum_slack, sum_short;
        guint64 steps, short_steps, cpu_steps, cpu_short;
        guint64 mem_actions, cpu_actions;
} Acc;

static gboolean
scored (const ReplayVm *v, const AugurReplayConfig *cfg, gsize i)
{
        double span = (double) (v->ts[v->n - 1] - v->ts[0]);
        double at = (double) (v->ts[i] - v->ts[0]);

        if (at < cfg->score_from * span)
                return FALSE;
        return cfg->score_to >= 1.0 || at < cfg->score_to * span;
}

/* Feed the memory guard one step as plugin/resize.c observe_guard() feeds
 * it one tick, and hand its cushion and hold to the plan (header: THE
 * MEMORY GUARD). */
static void
observe_guard (AugurGuardState *gs, AugurPolicyInput *in, const AugurForecast *f,
               const AugurPolicyConfig *pc, double host_slack, double now_s, double step_s,
               AugurGuardOut *ret)
{
        AugurGuardInput gi = {
                .now_s = now_s,
                /* the decision at t is in force at t + 1: latency within a step */
                .tick_s = step_s, .lead_s = step_s,
                .used_kib = in->mem_used_kib, .alloc_kib = in->mem_alloc_kib,
                .max_kib = in->mem_max_kib,
                /* the allocation in force is augur's last target: a
                 * replayed guest never deflates its balloon itself */
                .target_kib = in->mem_alloc_kib,
                .reserve_kib = pc->reserve_kib,
                .forecast_kib = augur_policy_mem_forecast_want (f, pc),
                .fresh = in->mem_stats_fresh,
                .oom_kills = NAN, .psi_mem_pct = NAN,   /* not in a trace */
        };

        augur_guard_observe (gs, &gi, ret);
        in->mem_cushion_kib = augur_guard_cushion (ret, in->mem_max_kib, pc->reserve_kib, host_slack);
        in->mem_hold_kib = ret->hold_kib;
}

static void
run_vm (const AugurReplay *r, const ReplayVm *v, const AugurReplayConfig *cfg, Acc *acc,
        AugurReplayResult *res, double *alloc_in_force, int *vcpus_in_force,
        AugurReplayRowFunc row_func, gpointer user_data)
{
        AugurPolicyConfig pc = cfg->pcfg;
        AugurPolicyState st;
        double alloc = v->prov[0];
        int vcpus = isnan (v->cores[0]) ? 0 : (int) lrint (v->cores[0]);
        Hist hm = { 0 }, hc = { 0 };
        AugurGuardState gs;
        gboolean any_scored = FALSE;

        pc.buffer = cfg->knob;
        augur_policy_state_init (&st);
        augur_guard_init (&gs);
        if (cfg->policy == AUGUR_REPLAY_VPA) {
                hist_init (&hm, 1024.0, 320, cfg->vpa_halflife_s);     /* 1 MiB .. ~4 TiB */
                hist_init (&hc, 0.01, 245, cfg->vpa_halflife_s);       /* 0.01 .. ~1000 cores */
        }
        for (gsize i = 0; i < v->n; i++) {
                double used = v->used[i], cu = v->cu[i], now = (double) v->ts[i];
                AugurPolicyInput in = { 0 };
                AugurPlan plan = { 0 };
                double next_alloc = alloc;
                int next_vcpus = vcpus;
                gboolean is_scored = scored (v, cfg, i);

                alloc_in_force[i] = alloc;
                vcpus_in_force[i] = vcpus;
                if (i > 0 && row_func)
                        row_func (v->name, v->ts[i], alloc, vcpus, user_data);
                if (is_scored) {
                        if (!isnan (used) && !isnan (alloc)) {
                                acc->sum_used += used;
                                acc->sum_slack += alloc - used;
                                acc->steps++;
                                any_scored = TRUE;
                                if (used > alloc) {
                                        acc->short_steps++;
                                        acc->sum_short += used - alloc;
                                }
                                if (cfg->policy == AUGUR_REPLAY_AUGUR) {
                                        res->served[MIN (v->fc_src ? v->fc_src[i] : AUGUR_PRED_SRC_NONE,
                                                         AUGUR_PRED_SRC_N)]++;
                                        if (v->fc_fast && (v->fc_fast[i] & 1))
                                                res->fast_raised++;
                                        if (v->fc_fast && (v->fc_fast[i] & 2))
                                                res->model_raised++;
                                        if (v->fc_fast && (v->fc_fast[i] >> 2))
                                                res->precursor_raised[(v->fc_fast[i] >> 2) - 1]++;
                                }
                        }
                        if (!isnan (cu) && vcpus > 0) {
                                acc->cpu_steps++;
                                if (cu > vcpus + 1e-6)
                                        acc->cpu_short++;
                        }
                        if (i > 0 && fabs (alloc - alloc_in_force[i - 1]) > 0.5)
                                acc->mem_actions++;
                        if (i > 0 && vcpus != vcpus_in_force[i - 1])
                                acc->cpu_actions++;
                }

                in.mem_used_kib = used;
                in.mem_alloc_kib = alloc;
                in.mem_max_kib = v->prov[i];
                in.mem_min_kib = NAN;
                in.mem_stats_fresh = !isnan (used);
                in.mem_pressure = cfg->simulate_pressure && !isnan (used) && !isnan (alloc) && used > alloc;
                in.mem_cushion_kib = NAN;
                in.mem_hold_kib = NAN;
                in.cpu_cores_used = cu;
                in.vcpus_online = vcpus;
                in.vcpus_min = 1;
                in.vcpus_max = isnan (v->cores[i]) ? 0 : (int) lrint (v->cores[i]);
                in.can_offline_vcpus = TRUE;
                in.can_add_vcpus = TRUE;

                switch (cfg->policy) {
                case AUGUR_REPLAY_AUGUR: {
                        AugurForecast f;
                        AugurGuardOut gout;
                        gboolean have = v->fc_h && v->fc_h[i] > 0;

                        if (have) {
                                const float *src = v->fc + i * 4 * (gsize) r->L;

                                f.H = v->fc_h[i];
                                f.step_s = r->fc_step_s;
                                f.model = r->fc_model;
                                memcpy (f.mem_p50_kib, src + 0 * r->L, f.H * sizeof (float));
                                memcpy (f.mem_upper_kib, src + 1 * r->L, f.H * sizeof (float));
                                memcpy (f.cpu_p50_cores, src + 2 * r->L, f.H * sizeof (float));
                                memcpy (f.cpu_upper_cores, src + 3 * r->L, f.H * sizeof (float));
                        }
                        if (cfg->guard)
                                observe_guard (&gs, &in, have ? &f : NULL, &pc, cfg->host_slack, now,
                                               (double) r->step_s, &gout);
                        augur_policy_plan (&in, have ? &f : NULL, &pc, &st, now, &plan);
                        st = plan.state;
                        if (cfg->guard && is_scored) {
                                res->guard_events += gout.event != AUGUR_GUARD_EVENT_NONE;
                                res->guard_held_steps += !isnan (gout.hold_kib);
                                res->guard_grows += plan.mem_target_kib > alloc &&
                                                    (plan.mem_reason == AUGUR_REASON_CUSHION ||
                                                     plan.mem_reason == AUGUR_REASON_OUT_OF_MEMORY);
                        }
                        next_alloc = plan.mem_target_kib;
                        next_vcpus = plan.vcpus_target;
                        break;
                }
                case AUGUR_REPLAY_REACTIVE:
                        augur_policy_plan_reactive (&in, &pc, now, &plan);
                        next_alloc = plan.mem_target_kib;
                        next_vcpus = plan.vcpus_target;
                        break;
                case AUGUR_REPLAY_VPA: {
                        double t;

                        hist_add (&hm, used, 1.0, now);
                        hist_add (&hc, cu, 1.0, now);
                        if (in.mem_pressure)
                                hist_add (&hm, MAX (used * cfg->vpa_oom_ratio, used + cfg->vpa_oom_min_kib),
                                          hm.total / 8.0 / exp2 ((now - hm.ref_ts) / hm.halflife), now);
                        t = hist_percentile (&hm, cfg->vpa_percentile);
                        if (!isnan (t)) {
                                next_alloc = MAX (t * (1 + cfg->knob), 0);
                                if (!isnan (v->prov[i]))
                                        next_alloc = MIN (next_alloc, v->prov[i]);
                        }
                        t = hist_percentile (&hc, cfg->vpa_percentile);
                        if (!isnan (t) && in.vcpus_max > 0)
                                next_vcpus = CLAMP ((int) ceil (t * (1 + cfg->knob) - 1e-9), 1, in.vcpus_max);
                        break;
                }
                case AUGUR_REPLAY_STATIC:
                default:
                        next_alloc = v->prov[i];
                        next_vcpus = in.vcpus_max;
                        break;
                }
                alloc = next_alloc;
                vcpus = next_vcpus;
        }
        if (any_scored)
                res->vms++;

        /* Spikes: the allocation in force at the onset and two steps after. */
        for (guint s = 0; v->spikes && s < v->spikes->len; s++) {
                const Spike *sp = &g_array_index (v->spikes, Spike, s);
                gboolean ok = TRUE, cpu_ok = TRUE;

                if (!scored (v, cfg, sp->idx) || isnan (v->used[sp->idx]))
                        continue;
                for (gsize i = sp->idx; i < v->n && i <= sp->idx + 2; i++) {
                        if (!isnan (v->used[i]) && !(alloc_in_force[i] >= v->used[i]))
                                ok = FALSE;
                        if (!isnan (v->cu[i]) && v->cu[i] > vcpus_in_force[i] + 1e-6)
                                cpu_ok = FALSE;
                }
                res->spikes++;
                res->spikes_ok += ok;
                res->spikes_cpu_ok += cpu_ok;
                if (sp->precursor) {
                        res->spikes_precursor++;
                        res->spikes_precursor_ok += ok;
                }
                if (sp->kind) {
                        const char *kind = sp->kind;
                        guint k;

                        for (k = 0; k < res->n_kinds && res->kinds[k].name != kind; k++)
                                ;
                        if (k == res->n_kinds) {
                                if (k == AUGUR_REPLAY_MAX_KINDS - 1) {
                                        /* the last slot collects the rest */
                                        kind = g_intern_static_string ("other");
                                        for (k = 0; k < res->n_kinds && res->kinds[k].name != kind; k++)
                                                ;
                                }
                                if (k == res->n_kinds) {
                                        res->kinds[k].name = kind;
                                        res->n_kinds++;
                                }
                        }
                        res->kinds[k].spikes++;
                        res->kinds[k].ok += ok;
                }
        }
        if (cfg->policy == AUGUR_REPLAY_VPA) {
                hist_clear (&hm);
                hist_clear (&hc);
        }
}

void
augur_replay_run (AugurReplay *r, const AugurReplayConfig *cfg, AugurReplayResult *ret,
                  AugurReplayRowFunc row_func, gpointer user_data)
{
        Acc acc = { 0 };
        gsize maxn = 1;

        g_return_if_fail (r != NULL && cfg != NULL && ret != NULL);

        memset (ret, 0, sizeof *ret);
        ret->policy = cfg->policy;
        ret->knob = cfg->policy == AUGUR_REPLAY_STATIC ? NAN : cfg->knob;
        ret->guard = cfg->policy == AUGUR_REPLAY_AUGUR && cfg->guard;
        ret->host_slack = ret->guard ? cfg->host_slack : NAN;
        for (guint i = 0; i < r->vms->len; i++)
                maxn = MAX (maxn, ((ReplayVm *) g_ptr_array_index (r->vms, i))->n);
        {
                g_autofree double *alloc = g_new (double, maxn);
                g_autofree int *vcpus = g_new (int, maxn);

                for (guint i = 0; i < r->vms->len; i++)
                        run_vm (r, g_ptr_array_index (r->vms, i), cfg, &acc, ret, alloc, vcpus,
                                row_func, user_data);
        }
        ret->steps = acc.steps;
        ret->slack = acc.sum_used > 0 ? acc.sum_slack / acc.sum_used : NAN;
        ret->shortfall_frac = acc.steps ? (double) acc.short_steps / acc.steps : NAN;
        ret->shortfall_volume = acc.sum_used > 0 ? acc.sum_short / acc.sum_used : NAN;
        ret->cpu_steps = acc.cpu_steps;
        ret->cpu_shortfall_frac = acc.cpu_steps ? (double) acc.cpu_short / acc.cpu_steps : NAN;
        ret->mem_actions = acc.mem_actions;
        ret->cpu_actions = acc.cpu_actions;
        ret->actions = acc.mem_actions + acc.cpu_actions;
}

gsize
augur_replay_vm_steps (const AugurReplay *r, guint vm, const char **ret_name, const gint64 **ret_ts,
                       const float **ret_cores_used, const float **ret_cores)
{
        const ReplayVm *v;

        g_return_val_if_fail (r != NULL && vm < r->vms->len, 0);
        v = g_ptr_array_index (r->vms, vm);
        *ret_name = v->name;
        *ret_ts = v->ts;
        *ret_cores_used = v->cu;
        *ret_cores = v->cores;
        return v->n;
}

double
augur_replay_cpu_demand (const AugurReplay *r, guint vm, gsize i, const AugurPolicyConfig *pc, double buffer)
{
        const ReplayVm *v;
        AugurPolicyConfig c = *pc;
        AugurForecast f;
        const float *src;

        g_return_val_if_fail (r != NULL && vm < r->vms->len, NAN);
        v = g_ptr_array_index (r->vms, vm);
        if (i >= v->n || !v->fc_h || v->fc_h[i] == 0)
                return NAN;
        src = v->fc + i * 4 * (gsize) r->L;
        f.H = v->fc_h[i];
        f.step_s = r->fc_step_s;
        f.model = r->fc_model;
        memcpy (f.cpu_p50_cores, src + 2 * r->L, f.H * sizeof (float));
        memcpy (f.cpu_upper_cores, src + 3 * r->L, f.H * sizeof (float));
        c.buffer = buffer;
        return augur_policy_cpu_demand (&f, &c);
}

gboolean
augur_replay_tune (AugurReplay *r, AugurReplayConfig *cfg, double target, double tol,
                   AugurReplayResult *ret, GError **error)
{
        double lo, hi, best_err = INFINITY, best_knob = cfg->knob;
        AugurReplayResult res, best = { 0 };

        if (cfg->policy == AUGUR_REPLAY_STATIC) {
                g_set_error (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_INVAL,
                             "the static policy has no knob to tune");
                return FALSE;
        }
        /* augur's buffer scales a calibrated gap: below 0 it undercuts the
         * point forecast, which is not a buffer.  h may go below 0 (VPA's
         * p90 alone can already be above the target slack). */
        lo = cfg->policy == AUGUR_REPLAY_AUGUR ? 0.0 : -0.9;
        hi = cfg->policy == AUGUR_REPLAY_AUGUR ? 1.0 : 0.25;

#define TRY(k) G_STMT_START { \
                cfg->knob = (k); \
                augur_replay_run (r, cfg, &res, NULL, NULL); \
                if (fabs (res.slack - target) < best_err) { \
                        best_err = fabs (res.slack - target); \
                        best_knob = cfg->knob; \
                        best = res; \
                } \
        } G_STMT_END

        TRY (lo);
        if (res.slack > target + tol) {
                cfg->knob = best_knob;
                *ret = best;
                g_set_error (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_TARGET,
                             "slack %.4f at the smallest knob %g is already above the target %.4f",
                             res.slack, lo, target);
                return FALSE;
        }
        for (int i = 0; i < 40; i++) {
                TRY (hi);
                if (res.slack >= target - tol)
                        break;
                lo = hi;
                hi = hi * 2 + 1;
        }
        if (res.slack < target - tol) {
                cfg->knob = best_knob;
                *ret = best;
                g_set_error (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_TARGET,
                             "slack %.4f at knob %g is still below the target %.4f", res.slack, hi, target);
                return FALSE;
        }
        for (int i = 0; i < 60 && best_err > tol; i++) {
                double mid = 0.5 * (lo + hi);

                TRY (mid);
                if (res.slack < target)
                        lo = mid;
                else
                        hi = mid;
                if (hi - lo < 1e-9)
                        break;
        }
#undef TRY
        cfg->knob = best_knob;
        *ret = best;
        if (best_err > tol) {
                g_set_error (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_TARGET,
                             "no knob gives slack within %.4f of %.4f (closest %.4f at %g): slack jumps there",
                             tol, target, best.slack, best_knob);
                return FALSE;
        }
        return TRUE;
}

/* ------------------------------------------------------- bound statistics */

/* BOUND STATISTICS (augur_replay_bound_stats)
 *   The bound is the memory upper at horizon 1 stored at step t - 1 (the
 *   forecast the policy read when it decided the allocation of step t)
 *   against used[t], at every scored t where both exist.  A VM's
 *   volatility is the mean |used[t] - used[t-1]| over its scored steps, in
 *   points of its provisioned size (measured on the scored part itself: a
 *   report, not an input); VMs are ranked by it and cut into ten groups
 *   of (almost) equal count.  A rise step is a scored t with used[t] -
 *   used[t-1] >= rise_pts points: the step the policy had to see coming
 *   one step ahead. */
typedef struct {
        double vol;
        guint vm;
} VolRank;

static int
vol_rank_cmp (gconstpointer a, gconstpointer b)
{
        const VolRank *x = a, *y = b;

        return x->vol < y->vol ? -1 : x->vol > y->vol;
}

static void
cover_add (AugurReplayCover *c, gboolean ok, double width)
{
        c->n++;
        c->covered += ok;
        c->width_pts += width;
}

void
augur_replay_bound_stats (const AugurReplay *r, const AugurReplayConfig *cfg, double rise_pts,
                          AugurReplayBoundStats *ret)
{
        g_autofree VolRank *rank = g_new0 (VolRank, MAX (r->vms->len, 1));
        g_autofree guint *group = g_new0 (guint, MAX (r->vms->len, 1));
        guint nv = 0;

        memset (ret, 0, sizeof *ret);
        ret->rise_pts = rise_pts;
        for (guint k = 0; k < r->vms->len; k++) {
                const ReplayVm *v = g_ptr_array_index (r->vms, k);
                double sum = 0;
                guint64 n = 0;

                for (gsize i = 1; i < v->n; i++) {
                        if (!scored (v, cfg, i) || isnan (v->used[i]) || isnan (v->used[i - 1]))
                                continue;
                        sum += 100.0 * fabs ((double) v->used[i] - v->used[i - 1]) / v->prov[i];
                        n++;
                }
                if (n == 0 || !v->fc)
                        continue;
                rank[nv++] = (VolRank) { sum / n, k };
        }
        qsort (rank, nv, sizeof *rank, vol_rank_cmp);
        for (guint j = 0; j < nv; j++) {
                guint d = (guint) ((guint64) j * AUGUR_REPLAY_DECILES / nv);

                group[rank[j].vm] = d + 1;
                ret->decile_vol_pts[d] += rank[j].vol;
        }
        for (guint k = 0; k < r->vms->len; k++) {
                const ReplayVm *v = g_ptr_array_index (r->vms, k);
                AugurReplayCover *dc;

                if (!group[k])
                        continue;
                dc = &ret->decile[group[k] - 1];
                for (gsize i = 1; i < v->n; i++) {
                        const float *f = v->fc + (i - 1) * 4 * (gsize) r->L;
                        float up = f[r->L], p50 = f[0];
                        double w;
                        gboolean ok;

                        if (!scored (v, cfg, i) || v->fc_h[i - 1] == 0 || isnan (v->used[i]) || isnan (up))
                                continue;
                        w = 100.0 * ((double) up - p50) / v->prov[i];
                        ok = v->used[i] <= up;
                        cover_add (&ret->all, ok, w);
                        cover_add (dc, ok, w);
                        if (!isnan (v->used[i - 1])
                            && 100.0 * ((double) v->used[i] - v->used[i - 1]) / v->prov[i] >= rise_pts)
                                cover_add (&ret->rise, ok, w);
                }
        }
        for (guint d = 0; d < AUGUR_REPLAY_DECILES; d++) {
                guint cnt = 0;

                for (guint j = 0; j < nv; j++)
                        cnt += group[rank[j].vm] == d + 1;
                if (cnt)
                        ret->decile_vol_pts[d] /= cnt;
                if (ret->decile[d].n)
                        ret->decile[d].width_pts /= ret->decile[d].n;
        }
        if (ret->all.n)
                ret->all.width_pts /= ret->all.n;
        if (ret->rise.n)
                ret->rise.width_pts /= ret->rise.n;
}
