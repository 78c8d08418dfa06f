/* replay-cpu.c — the contended host in replay (see replay-cpu.h).
 *
 * COST: one augur_replay_run() for the vCPUs, then per grid timestamp one
 * water-filling per arm, O(k^2) for k VMs at that timestamp (k = 50 for
 * Bitbrains Rnd: negligible beside the forecasts).
 */
#include "config.h"

#include "replay-cpu.h"
#include "cpu-weight.h"

#include <math.h>
#include <string.h>

/* A VM served less than its demand by more than this has a short step,
 * cores. */
#define SHORT_CORES 0.01

static const char *const arm_names[AUGUR_REPLAY_CPU_N] = {
        "static vCPUs, equal weights", "static vCPUs + weight",
        "hotplug alone", "hotplug + weight",
};

const char *
augur_replay_cpu_arm_name (AugurReplayCpuArm a)
{
        return a < AUGUR_REPLAY_CPU_N ? arm_names[a] : "?";
}

void
augur_replay_cpu_config_init (AugurReplayCpuConfig *c)
{
        c->host_quantile = 0.5;
        c->weight_floor = 1024;
        c->weight_ceiling = 8192;
        c->budget = 0;
}

typedef struct {
        const char *name;
        gsize n;
        const gint64 *ts;
        const float *cu, *cores;
        int *vcpus;                     /* (n) augur's vCPUs in force          */
        gsize next_row;                 /* rows recorded so far                */
        gsize burst_until;              /* in a burst window through this step */
        double unserved[AUGUR_REPLAY_CPU_N], demand;  /* scored, this VM       */
        double weight;                  /* in force now                        */
        AugurCpuWeightState st;
} CpuVm;

typedef struct {
        gint64 ts;
        guint vm;
        gsize i;
} Event;

static gint
event_cmp (gconstpointer a, gconstpointer b)
{
        const Event *x = a, *y = b;

        if (x->ts != y->ts)
                return x->ts < y->ts ? -1 : 1;
        return x->vm < y->vm ? -1 : (x->vm > y->vm);
}

/* augur_replay_run()'s rows: VM by VM, step 1 on, in order. */
static void
record_vcpus (const char *vm, gint64 ts, double mem_alloc_kib, int vcpus, gpointer user_data)
{
        GHashTable *by_name = user_data;
        CpuVm *v = g_hash_table_lookup (by_name, vm);

        (void) ts;
        (void) mem_alloc_kib;
        if (v && v->next_row + 1 < v->n)
                v->vcpus[++v->next_row] = vcpus;
}

/* Weighted max-min fair shares of cap cores among k asks (water-filling):
 * served[j] = min(ask[j], its part of what is left). */
static void
water_fill (const double *ask, const double *weight, guint k, double cap, double *served)
{
        g_autofree gboolean *done = g_new0 (gboolean, MAX (k, 1));
        double left = cap;
        gboolean moved = TRUE;

        for (guint j = 0; j < k; j++)
                served[j] = 0;
        while (moved && left > 1e-12) {
                double wsum = 0;

                moved = FALSE;
                for (guint j = 0; j < k; j++)
                        if (!done[j])
                                wsum += weight[j];
                if (wsum <= 0)
                        break;
                /* Those asking no more than their part get their ask. */
                for (guint j = 0; j < k; j++) {
                        if (done[j] || ask[j] > left * weight[j] / wsum)
                                continue;
                        served[j] = ask[j];
                        done[j] = TRUE;
                        moved = TRUE;
                }
                if (moved) {
                        left = cap;
                        for (guint j = 0; j < k; j++)
                                if (done[j])
                                        left -= served[j];
                        continue;
                }
                for (guint j = 0; j < k; j++)
                        if (!done[j])
                                served[j] = left * weight[j] / wsum;
        }
}

static gboolean
scored (const CpuVm *v, const AugurReplayConfig *cfg, gsize i)
{
        double span = (double) (v->ts[v->n - 1] - v->ts[0]);
        double at = (double) (v->ts[i] - v->ts[0]);

        return at >= cfg->score_from * span && (cfg->score_to >= 1.0 || at < cfg->score_to * span);
}

static int
cmp_double (gconstpointer a, gconstpointer b)
{
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

gboolean
augur_replay_cpu_contended (AugurReplay *r, const AugurReplayConfig *cfg, const AugurReplayCpuConfig *cc,
                            AugurReplayCpuResult *ret, GError **error)
{
        guint nvm = augur_replay_n_vms (r);
        g_autofree CpuVm *vms = g_new0 (CpuVm, MAX (nvm, 1));
        g_autoptr(GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
        g_autoptr(GArray) events = g_array_new (FALSE, FALSE, sizeof (Event));
        g_autoptr(GArray) totals = g_array_new (FALSE, FALSE, sizeof (double));
        AugurCpuWeightConfig wc;
        AugurReplayResult res;
        double cap;

        g_return_val_if_fail (r != NULL && cfg != NULL && cc != NULL && ret != NULL, FALSE);
        if (cfg->policy != AUGUR_REPLAY_AUGUR) {
                g_set_error (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_INVAL,
                             "the contended host replays the augur policy only");
                return FALSE;
        }
        memset (ret, 0, sizeof *ret);
        augur_cpu_weight_config_init (&wc);
        for (guint m = 0; m < nvm; m++) {
                CpuVm *v = &vms[m];

                v->n = augur_replay_vm_steps (r, m, &v->name, &v->ts, &v->cu, &v->cores);
                v->vcpus = g_new (int, MAX (v->n, 1));
                for (gsize i = 0; i < v->n; i++)
                        v->vcpus[i] = isnan (v->cores[i]) ? 0 : (int) lrint (v->cores[i]);
                v->weight = cc->weight_floor;
                augur_cpu_weight_state_init (&v->st);
                g_hash_table_insert (by_name, (gpointer) v->name, v);
                for (gsize i = 0; i < v->n; i++)
                        g_array_append_val (events, ((Event) { v->ts[i], m, i }));
        }
        /* The vCPUs augur decides (hotplug alone), step by step. */
        augur_replay_run (r, cfg, &res, record_vcpus, by_name);
        g_array_sort (events, event_cmp);

        /* The host size: the quantile of the total scored demand. */
        for (guint e = 0; e < events->len;) {
                gint64 ts = g_array_index (events, Event, e).ts;
                double total = 0;
                gboolean any = FALSE;

                for (; e < events->len && g_array_index (events, Event, e).ts == ts; e++) {
                        const Event *ev = &g_array_index (events, Event, e);
                        const CpuVm *v = &vms[ev->vm];

                        if (!isnan (v->cu[ev->i]) && scored (v, cfg, ev->i)) {
                                total += v->cu[ev->i];
                                any = TRUE;
                        }
                }
                if (any)
                        g_array_append_val (totals, total);
        }
        if (totals->len == 0) {
                g_set_error (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_NO_DATA, "no scored step has a CPU demand");
                for (guint m = 0; m < nvm; m++)
                        g_free (vms[m].vcpus);
                return FALSE;
        }
        g_array_sort (totals, cmp_double);
        cap = g_array_index (totals, double, MIN ((guint) (cc->host_quantile * totals->len), totals->len - 1));
        ret->host_cores = cap;

        for (guint e = 0; e < events->len;) {
                gint64 ts = g_array_index (events, Event, e).ts;
                guint first = e, k;
                g_autofree double *ask = NULL, *w = NULL, *served = NULL, *equal = NULL, *d = NULL;
                g_autofree AugurIoPlan *plans = NULL;
                g_autofree gboolean *sc = NULL, *in_burst = NULL;
                double sum_ask = 0;

                while (e < events->len && g_array_index (events, Event, e).ts == ts)
                        e++;
                k = e - first;
                ask = g_new (double, k);
                w = g_new (double, k);
                served = g_new (double, k);
                equal = g_new (double, k);
                d = g_new (double, k);
                plans = g_new0 (AugurIoPlan, k);
                sc = g_new (gboolean, k);
                for (guint j = 0; j < k; j++) {
                        const Event *ev = &g_array_index (events, Event, first + j);
                        const CpuVm *v = &vms[ev->vm];

                        d[j] = isnan (v->cu[ev->i]) ? 0 : v->cu[ev->i];
                        equal[j] = cc->weight_floor;
                        sc[j] = !isnan (v->cu[ev->i]) && scored (v, cfg, ev->i);
                }
                /* Burst windows (header: WHAT A WEIGHT CAN GAIN). */
                in_burst = g_new0 (gboolean, k);
                for (guint j = 0; j < k; j++) {
                        const Event *ev = &g_array_index (events, Event, first + j);
                        CpuVm *v = &vms[ev->vm];
                        double prev = ev->i > 0 ? v->cu[ev->i - 1] : NAN;

                        if (!isnan (prev) && d[j] >= 2 * prev && d[j] >= prev + wc.burst_cores)
                                v->burst_until = ev->i + 2 + 1;         /* +1: 0 = none */
                        in_burst[j] = v->burst_until > ev->i;
                        if (sc[j] && in_burst[j]) {
                                ret->burst_steps++;
                                ret->burst_demand += d[j];
                        }
                        if (sc[j])
                                v->demand += d[j];
                }
                /* The four arms at this timestamp. */
                for (int a = 0; a < AUGUR_REPLAY_CPU_N; a++) {
                        gboolean hot = a == AUGUR_REPLAY_CPU_HOTPLUG_EQUAL || a == AUGUR_REPLAY_CPU_HOTPLUG_WEIGHT;
                        gboolean weighted = a == AUGUR_REPLAY_CPU_STATIC_WEIGHT ||
                                            a == AUGUR_REPLAY_CPU_HOTPLUG_WEIGHT;

                        sum_ask = 0;
                        for (guint j = 0; j < k; j++) {
                                const Event *ev = &g_array_index (events, Event, first + j);
                                const CpuVm *v = &vms[ev->vm];
                                double vc = hot ? v->vcpus[ev->i] : (isnan (v->cores[ev->i]) ? 0 : v->cores[ev->i]);

                                ask[j] = MIN (d[j], vc);
                                w[j] = weighted ? v->weight : equal[j];
                                sum_ask += ask[j];
                        }
                        water_fill (ask, w, k, cap, served);
                        for (guint j = 0; j < k; j++) {
                                if (!sc[j])
                                        continue;
                                ret->unserved[a] += d[j] - served[j];
                                ret->short_steps[a] += served[j] < d[j] - SHORT_CORES;
                                vms[g_array_index (events, Event, first + j).vm].unserved[a] += d[j] - served[j];
                                if (in_burst[j])
                                        ret->burst_unserved[a] += d[j] - served[j];
                        }
                        if (a == AUGUR_REPLAY_CPU_HOTPLUG_EQUAL)
                                for (guint j = 0; j < k; j++)
                                        if (sc[j]) {
                                                ret->contended_steps += sum_ask > cap + 1e-9;
                                                break;
                                        }
                }
                for (guint j = 0; j < k; j++)
                        if (sc[j]) {
                                ret->host_steps++;
                                break;
                        }
                /* The weights for the next step: plan, host budget, apply. */
                for (guint j = 0; j < k; j++) {
                        const Event *ev = &g_array_index (events, Event, first + j);
                        CpuVm *v = &vms[ev->vm];
                        double cu = v->cu[ev->i];
                        AugurCpuWeightInput in = {
                                .shares = v->weight, .cores_used = cu,
                                .demand_cores = augur_replay_cpu_demand (r, ev->vm, ev->i, &cfg->pcfg, cfg->knob),
                                .vcpus_max = isnan (v->cores[ev->i]) ? 0 : (int) lrint (v->cores[ev->i]),
                                .fresh = !isnan (cu), .ceiling = cc->weight_ceiling,
                        };

                        if (sc[j]) {
                                ret->vm_steps++;
                                ret->demand += d[j];
                                ret->raised_steps += v->weight > cc->weight_floor;
                        }
                        augur_cpu_weight_plan (&in, &wc, &v->st, (double) ts, &plans[j]);
                        v->st.limit = plans[j].state;
                }
                augur_io_arbitrate (plans, NULL, k, cc->budget);
                for (guint j = 0; j < k; j++) {
                        CpuVm *v = &vms[g_array_index (events, Event, first + j).vm];
                        AugurIoPlan *p = &plans[j];

                        if (!augur_io_plan_moves (p))
                                continue;
                        if (isnan (p->target_bps) || fabs (p->target_bps - v->weight) < 1)
                                continue;
                        ret->raises += sc[j] && p->target_bps > v->weight;
                        augur_io_limit_applied (&v->st.limit, floor (p->target_bps), (double) ts);
                        v->weight = floor (p->target_bps);
                }
        }
        for (int a = 0; a < AUGUR_REPLAY_CPU_N; a++) {
                guint counted = 0;

                for (guint m = 0; m < nvm; m++)
                        if (vms[m].demand > 0) {
                                ret->vm_short_mean[a] += vms[m].unserved[a] / vms[m].demand;
                                counted++;
                        }
                ret->vm_short_mean[a] = counted ? ret->vm_short_mean[a] / counted : NAN;
        }
        for (guint m = 0; m < nvm; m++)
                g_free (vms[m].vcpus);
        if (ret->vm_steps == 0) {
                g_set_error (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_NO_DATA, "no scored step has a CPU demand");
                return FALSE;
        }
        return TRUE;
}
