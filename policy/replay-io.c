/* replay-io.c — trace replay of the I/O limits.  API: replay-io.h.
 *
 * What it is: the evaluation harness for augurd's I/O limit loop
 * (plugin/resize-io.c): the same forecaster (model/io-forecast.c), the
 * same planner and host budget (policy/io-limit.c), simulated actuation,
 * a simulated guest that is capped by the limit, and the metrics.  What it
 * is not: a second copy of the planner (the reactive reference below is
 * the planner fed differently) or a model of a disk (no latency, no IOPS).
 *
 * THE CAPS.  A trace records rates, not limits, so the admin's limits are
 * made up from the trace, per VM and kind, on the training part (the steps
 * before score_from of the VM's span, which are never scored):
 *   floor    the cap in force: floor_mult (1.5) x the floor_q quantile
 *            (0.9) of the training rates, at least min_floor_bps (1 MiB/s),
 *            in whole bytes/s: a limit an admin sized with headroom over
 *            the VM's usual load.  Without the headroom a tenth of the
 *            training steps would sit above the cap and a fifth at 90 % of
 *            it (at_limit, below), most of them noise, not bursts.  The
 *            least: no admin caps a disk or a NIC below 1 MiB/s (libvirt's
 *            own examples are tens of MB/s), and a cap at the noise level
 *            of an idle disk (25 KiB/s in the scenario traces) hides every
 *            burst under a capped history that looks like the noise: on
 *            validation seed 202 at 64 KiB/s no period was ever found.
 *   ceiling  the <metadata> ceiling (io_max_mib_s / net_max_mib_s): the
 *            largest training rate (the biggest job the admin has seen),
 *            at least ceiling_mult (2) x the floor, whole bytes/s.
 *   budget   the host's io_budget_mib_s: budget_bps when given, else
 *            budget_frac (0.25) of the sum over every limit of (ceiling -
 *            floor); 0 = no host bound.  One budget for every kind, as in
 *            augurd.
 * Kinds and their trace columns (KiB/s x 1024 = bytes/s): read =
 * disk_rd_kibps, write = disk_wr_kibps, total = both, net-in =
 * net_rx_kibps, net-out = net_tx_kibps.  The default replays read, write,
 * net-in and net-out (total would count the disk twice).
 *
 * THE SIMULATED GUEST.  demand[t] is the trace's rate at step t (bytes/s;
 * a missing value, a negative one or one above AUGUR_IO_MAX_BPS is
 * missing: demand 0 for the guest, an unknown rate for the forecaster, as
 * augur_io_rate() makes it on a host).  With backlog (the default) what a
 * capped step could not move waits for the next steps, as a backup or a
 * build under a cap takes longer rather than doing less:
 *     want[t]   = demand[t] + B[t-1] / step
 *     served[t] = min(want[t], limit[t])
 *     B[t]      = (want[t] - served[t]) x step          (bytes)
 * Without it (cfg->backlog FALSE: a stream that drops what it cannot
 * send) B stays 0.  served[t] is what the host sees: the forecaster gets
 * it with at_limit = served >= AUGUR_IO_AT_LIMIT_FRAC x limit[t], exactly
 * as augurd pushes a capped disk (io-forecast.h CENSORING): the capped
 * history is all it ever sees of a burst the cap held.
 *
 * THE t -> t+1 RULE (as replay.c).  During step t the limit decided at
 * t-1 is in force; the policy sees served[t] and decides limit[t+1].  The
 * first step runs at the floor.  All limits of all VMs step together on
 * one grid (a VM's grid index plus its offset from the earliest VM, in
 * steps), and each step's plans share the host budget in
 * augur_io_arbitrate() before they are applied, as one augurd tick.
 *
 * POLICIES
 *   static    the floor, always.
 *   reactive  augur_io_plan() with no forecast: after a step that sat at
 *             its limit it is given upper = that rate, censored (so the
 *             target is the ceiling, io-limit.h rule 3); otherwise no
 *             upper, so rule 4 restores it after the same quiet evidence
 *             augur waits for.  The budget cuts it as it cuts augur.
 *   augur     augurd's loop: the forecaster pushed served[t] and at_limit
 *             every step, its upper bound over lead_steps (1: the decision
 *             at t is in force during t+1) into augur_io_plan().
 *   The planner's times are in seconds (quiet 10 s, restore steps 5 s
 *   apart): at a 300 s step the second quiet step in a row restores and
 *   each quiet step after it halves the raise again, the daemon's rule at
 *   the trace's pace.
 *   The forecaster counts ticks: here a tick is the replay step, so its
 *   ring of 512 ticks (the daemon's) spans 42.7 h at 300 s and periods up
 *   to 256 steps (21.3 h) are seen; a daily job (288 steps) needs
 *   ring_len >= 576 (cfg->ring_len, `--io-ring`).  A target is applied in
 *   whole bytes/s (augurd rounds a disk's the same way; an interface's it
 *   rounds to KiB/s, which the replay does not model).
 *
 * METRICS (scored limit-steps: the VM's steps in [from, to) of its span,
 * pooled over limits, and per kind and per family label)
 *   burst step      demand > floor (a step the static cap would clip)
 *   served          a burst step whose limit in force >= its demand
 *   burst           a run of consecutive burst steps
 *   burst bytes     the share of the burst steps' demand within their
 *                   limit, sum min(demand, limit) / sum demand: a limit
 *                   raised to 40 of a 45 MiB/s step serves 89 % of it,
 *                   where `served` counts the step as not served
 *   capped          a step that wanted more than its limit (want > limit
 *                   + 1 B/s): the burst's own steps and its backlog's
 *   raise           sum (limit - floor) x step, MiB: the raise granted,
 *                   against budget x scored time (budget_mib)
 *   backlog         sum B x step, MiB x s; divided by the scored demand
 *                   it is the mean delay of a byte, s
 *   forecast steps  augur: scored steps after which the forecaster had a
 *                   forecast (it found a period): where it can raise ahead
 *   peak raise      the largest sum of raises in force at one step, which
 *                   the budget bounds (over_budget_steps counts the steps
 *                   above it; floor_breaches the limit-steps outside
 *                   [floor, ceiling]: both 0 unless the planner is wrong)
 *
 * COST: one pass per policy, O(steps x limits) plus augur's forecaster
 * (io-forecast.h: its detector O(ring_len^2 / 2) every 8 steps per limit,
 * the bulk of a run): Bitbrains' 200 limits x 8640 steps take about 8 s
 * for the three policies with the 512 ring on a shared core.  Memory: 4 B
 * per limit-step of demand, and a forecaster per limit during augur's run.
 */
#include "config.h"

#include "replay-io.h"
#include "replay.h"
#include "dataset.h"
#include "io-forecast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIB 1048576.0
#define BYTES_PER_KIB 1024.0
/* The planner's tolerance, bytes/s (io-limit.c SAME_BPS): a want within
 * it of its grant fitted, so the budget may be passed by it per limit. */
#define PLAN_SAME_BPS 1.0

/* The trace columns (common/series.h AugurCol bits) whose sum a kind
 * limits; 0 = none (a kind the trace has no column for). */
static const guint32 kind_cols[AUGUR_IO_KIND_N] = {
        [AUGUR_IO_KIND_TOTAL] = 1u << AUGUR_COL_DISK_RD_KIBPS | 1u << AUGUR_COL_DISK_WR_KIBPS,
        [AUGUR_IO_KIND_READ] = 1u << AUGUR_COL_DISK_RD_KIBPS,
        [AUGUR_IO_KIND_WRITE] = 1u << AUGUR_COL_DISK_WR_KIBPS,
        [AUGUR_IO_KIND_NET_IN] = 1u << AUGUR_COL_NET_RX_KIBPS,
        [AUGUR_IO_KIND_NET_OUT] = 1u << AUGUR_COL_NET_TX_KIBPS,
};

static const char *const policy_names[AUGUR_IO_REPLAY_N] = {
        "static", "reactive", "augur",
};

const char *
augur_io_replay_policy_name (AugurIoReplayPolicy p)
{
        return p < AUGUR_IO_REPLAY_N ? policy_names[p] : "?";
}

gboolean
augur_io_replay_kind_has_column (AugurIoKind k)
{
        return k < AUGUR_IO_KIND_N && kind_cols[k] != 0;
}

void
augur_io_replay_config_init (AugurIoReplayConfig *cfg)
{
        AugurIoForecastConfig fcc;

        memset (cfg, 0, sizeof *cfg);
        cfg->score_from = 0.8;
        cfg->score_to = 1.0;
        cfg->floor_q = 0.9;
        cfg->floor_mult = 1.5;
        cfg->min_floor_bps = MIB;
        cfg->ceiling_mult = 2.0;
        cfg->budget_frac = 0.25;
        cfg->budget_bps = 0;
        cfg->lead_steps = 1;
        augur_io_forecast_config_init (&fcc);
        cfg->ring_len = fcc.ring_len;
        cfg->backlog = TRUE;
        cfg->kinds = 1u << AUGUR_IO_KIND_READ | 1u << AUGUR_IO_KIND_WRITE | 1u << AUGUR_IO_KIND_NET_IN
                     | 1u << AUGUR_IO_KIND_NET_OUT;
}

/* ------------------------------------------------------------ data */

typedef struct {
        char *vm;
        AugurIoKind kind;
        gsize off;                      /* global step of its first step     */
        gsize n;
        float *demand;                  /* (n) bytes/s, NAN = missing        */
        gsize score_lo, score_hi;       /* scored steps [lo, hi)             */
        double floor_bps, ceiling_bps;  /* THE CAPS                          */
        int family;                     /* index into families, -1 = none    */
} IoLimit;

struct AugurIoReplay {
        gint64 step_s;
        gint64 ts0;                     /* time of global step 0             */
        gsize n_steps;                  /* global steps                      */
        AugurIoReplayConfig cfg;
        GPtrArray *limits;              /* IoLimit*                          */
        double budget_bps;
        guint n_families;
        const char *families[AUGUR_IO_REPLAY_MAX_FAMILIES]; /* interned     */
};

static void
io_limit_free (IoLimit *l)
{
        g_free (l->vm);
        g_free (l->demand);
        g_free (l);
}

void
augur_io_replay_free (AugurIoReplay *r)
{
        if (!r)
                return;
        g_clear_pointer (&r->limits, g_ptr_array_unref);
        g_free (r);
}

guint
augur_io_replay_n_limits (const AugurIoReplay *r)
{
        return r->limits->len;
}

static int
cmp_float (const void *a, const void *b)
{
        float x = *(const float *) a, y = *(const float *) b;

        return (x > y) - (x < y);
}

/* The caps of l from its training steps [0, score_lo) (THE CAPS). */
static void
set_caps (IoLimit *l, const AugurIoReplayConfig *cfg)
{
        g_autofree float *v = g_new (float, MAX (l->score_lo, 1));
        gsize m = 0;
        double q = 0, peak = 0;

        for (gsize i = 0; i < l->score_lo; i++)
                if (!isnan (l->demand[i]))
                        v[m++] = l->demand[i];
        if (m > 0) {
                gsize k = (gsize) ceil (cfg->floor_q * (double) m);

                qsort (v, m, sizeof *v, cmp_float);
                q = v[CLAMP (k, 1, m) - 1];
                peak = v[m - 1];
        }
        l->floor_bps = ceil (MAX (cfg->floor_mult * q, cfg->min_floor_bps));
        l->ceiling_bps = ceil (MAX (peak, cfg->ceiling_mult * l->floor_bps));
}

/* A limit of kind k over grid g, or NULL when g lacks one of its columns. */
static IoLimit *
limit_from_grid (const AugurSeries *g, AugurIoKind k, const AugurIoReplayConfig *cfg)
{
        IoLimit *l;
        double span;

        for (int c = 0; c < AUGUR_COL_N_TRACE; c++)
                if ((kind_cols[k] >> c & 1) && !g->col[c])
                        return NULL;
        l = g_new0 (IoLimit, 1);
        l->vm = g_strdup (g->vm);
        l->kind = k;
        l->n = g->n;
        l->family = -1;
        l->demand = g_new (float, MAX (g->n, 1));
        for (gsize i = 0; i < g->n; i++) {
                double sum = 0;

                for (int c = 0; c < AUGUR_COL_N_TRACE; c++)
                        if (kind_cols[k] >> c & 1)
                                sum += g->col[c][i] * BYTES_PER_KIB;
                /* Defensive: the trace readers drop these (trace.h R2-R4);
                 * a series built another way may still hold them. */
                l->demand[i] = isnan (sum) || sum < 0 || sum > AUGUR_IO_MAX_BPS ? NAN : (float) sum;
        }
        span = (double) (g->ts[g->n - 1] - g->ts[0]);
        l->score_lo = l->score_hi = g->n;
        for (gsize i = g->n; i-- > 0;) {
                double at = (double) (g->ts[i] - g->ts[0]);

                if (at < cfg->score_from * span)
                        break;
                if (cfg->score_to >= 1.0 || at < cfg->score_to * span)
                        l->score_lo = i;
                else
                        l->score_hi = i;
        }
        set_caps (l, cfg);
        return l;
}

AugurIoReplay *
augur_io_replay_new (const GPtrArray *series, gint64 step_s, const AugurIoReplayConfig *cfg, GError **error)
{
        g_autoptr (AugurIoReplay) r = g_new0 (AugurIoReplay, 1);
        g_autoptr (GPtrArray) grids = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);
        double room = 0;

        g_return_val_if_fail (series != NULL && step_s > 0 && cfg != NULL, NULL);
        r->step_s = step_s;
        r->cfg = *cfg;
        r->limits = g_ptr_array_new_with_free_func ((GDestroyNotify) io_limit_free);
        r->ts0 = G_MAXINT64;
        for (guint i = 0; i < series->len; i++) {
                const AugurSeries *s = g_ptr_array_index (series, i);

                if (s->n == 0)
                        continue;
                g_ptr_array_add (grids, augur_dataset_resample (s, step_s, NULL));
                r->ts0 = MIN (r->ts0, s->ts[0]);
        }
        for (guint i = 0; i < grids->len; i++) {
                const AugurSeries *g = g_ptr_array_index (grids, i);
                gsize off = (gsize) llround ((double) (g->ts[0] - r->ts0) / (double) step_s);

                for (int k = 0; k < AUGUR_IO_KIND_N; k++) {
                        IoLimit *l;

                        if (!(cfg->kinds >> k & 1) || !kind_cols[k] || !(l = limit_from_grid (g, k, cfg)))
                                continue;
                        l->off = off;
                        r->n_steps = MAX (r->n_steps, off + l->n);
                        room += l->ceiling_bps - l->floor_bps;
                        g_ptr_array_add (r->limits, l);
                }
        }
        if (r->limits->len == 0) {
                g_set_error (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_NO_DATA,
                             "no series has the I/O columns of the kinds asked for: nothing to replay");
                return NULL;
        }
        r->budget_bps = cfg->budget_bps > 0 ? cfg->budget_bps : cfg->budget_frac * room;
        return g_steal_pointer (&r);
}

gboolean
augur_io_replay_load_families (AugurIoReplay *r, const char *path, GError **error)
{
        g_autofree char *text = NULL;
        g_auto (GStrv) lines = NULL;
        g_autoptr (GHashTable) fam = g_hash_table_new (g_str_hash, g_str_equal);
        g_autoptr (GError) read_error = NULL;
        int col_vm = -1, col_fam = -1, ncol = 0;

        if (!g_file_get_contents (path, &text, NULL, &read_error)) {
                g_set_error (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_IO, "%s", read_error->message);
                return FALSE;
        }
        lines = g_strsplit (text, "\n", -1);
        for (guint ln = 0; lines[ln]; ln++) {
                g_auto (GStrv) f = g_strsplit (g_strstrip (lines[ln]), ",", -1);
                const char *name;
                guint idx;

                if (!*lines[ln])
                        continue;
                if (col_vm < 0) {       /* the first line that is not empty */
                        for (ncol = 0; f[ncol]; ncol++) {
                                if (strcmp (g_strstrip (f[ncol]), "vm") == 0)
                                        col_vm = ncol;
                                else if (strcmp (f[ncol], "family") == 0)
                                        col_fam = ncol;
                        }
                        if (col_vm < 0 || col_fam < 0) {
                                g_set_error (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_IO,
                                             "%s: the header names no vm or no family column", path);
                                return FALSE;
                        }
                        continue;
                }
                if ((int) g_strv_length (f) != ncol || !*g_strstrip (f[col_fam])) {
                        g_set_error (error, AUGUR_REPLAY_ERROR, AUGUR_REPLAY_ERROR_IO,
                                     "%s:%u: expected %d fields with a family", path, ln + 1, ncol);
                        return FALSE;
                }
                name = g_intern_string (f[col_fam]);
                for (idx = 0; idx < r->n_families && r->families[idx] != name; idx++)
                        ;
                if (idx == r->n_families) {
                        if (r->n_families == AUGUR_IO_REPLAY_MAX_FAMILIES - 1) {
                                idx = AUGUR_IO_REPLAY_MAX_FAMILIES - 1;
                                r->families[idx] = g_intern_static_string ("other");
                        } else {
                                r->families[r->n_families++] = name;
                        }
                }
                g_hash_table_insert (fam, (gpointer) g_intern_string (g_strstrip (f[col_vm])),
                                     GUINT_TO_POINTER (idx + 1));
        }
        for (guint i = 0; i < r->limits->len; i++) {
                IoLimit *l = g_ptr_array_index (r->limits, i);
                guint idx = GPOINTER_TO_UINT (g_hash_table_lookup (fam, g_intern_string (l->vm)));

                l->family = (int) idx - 1;
        }
        if (r->families[AUGUR_IO_REPLAY_MAX_FAMILIES - 1])
                r->n_families = AUGUR_IO_REPLAY_MAX_FAMILIES;
        return TRUE;
}

/* ------------------------------------------------------------- run */

/* What one limit carries from step to step during a run. */
typedef struct {
        double limit_bps;               /* in force during the coming step   */
        double prev_limit_bps;          /* in force during the last step     */
        double backlog_b;               /* B, bytes                          */
        gboolean in_burst;              /* the last scored step was a burst  */
        AugurIoLimitState st;
        AugurIoForecast *fc;            /* augur only                        */
} LimitRun;

static void
score_add (AugurIoReplayScore *s, const AugurIoReplayScore *d)
{
        s->limits += d->limits;
        s->steps += d->steps;
        s->burst_steps += d->burst_steps;
        s->burst_served += d->burst_served;
        s->bursts += d->bursts;
        s->burst_mib += d->burst_mib;
        s->burst_served_mib += d->burst_served_mib;
        s->capped_steps += d->capped_steps;
        s->raise_mib += d->raise_mib;
        s->demand_mib += d->demand_mib;
        s->backlog_mib_s += d->backlog_mib_s;
        s->raises += d->raises;
        s->forecast_steps += d->forecast_steps;
}

/* Step i of limit l under the limit in force: the guest's I/O, the scores
 * of a scored step into *sc, and the planner's input for the next limit. */
static void
guest_step (const AugurIoReplay *r, const IoLimit *l, LimitRun *lr, gsize i, AugurIoReplayScore *sc,
            AugurIoLimitInput *ret_in, double *ret_served, gboolean *ret_at_limit)
{
        double step = (double) r->step_s, lim = lr->limit_bps, d = l->demand[i];
        double want = (isnan (d) ? 0 : d) + lr->backlog_b / step;
        double served = MIN (want, lim);
        gboolean burst = !isnan (d) && d > l->floor_bps;

        lr->backlog_b = r->cfg.backlog ? (want - served) * step : 0;
        *ret_served = served;
        *ret_at_limit = served >= AUGUR_IO_AT_LIMIT_FRAC * lim;
        *ret_in = (AugurIoLimitInput) { .limit_bps = lim, .rate_bps = isnan (d) ? NAN : served,
                                        .upper_bps = NAN, .ceiling_bps = l->ceiling_bps };
        if (i < l->score_lo || i >= l->score_hi)
                return;
        if (!isnan (d)) {
                sc->steps++;
                sc->demand_mib += d * step / MIB;
        }
        if (burst) {
                sc->burst_steps++;
                sc->burst_served += lim >= d;
                sc->bursts += !lr->in_burst;
                sc->burst_mib += d * step / MIB;
                sc->burst_served_mib += MIN (d, lim) * step / MIB;
        }
        lr->in_burst = burst;
        sc->capped_steps += want > lim + PLAN_SAME_BPS;
        sc->raise_mib += (lim - l->floor_bps) * step / MIB;
        sc->backlog_mib_s += lr->backlog_b * step / MIB;
        sc->raises += i > 0 && lim > lr->prev_limit_bps + PLAN_SAME_BPS;
}

void
augur_io_replay_run (AugurIoReplay *r, AugurIoReplayPolicy p, AugurIoReplayResult *ret,
                     AugurIoReplayRowFunc row_func, gpointer user_data)
{
        guint nl = r->limits->len;
        g_autofree LimitRun *run = g_new0 (LimitRun, nl);
        g_autofree AugurIoReplayScore *sc = g_new0 (AugurIoReplayScore, nl);
        g_autofree AugurIoPlan *plans = g_new (AugurIoPlan, nl);
        g_autofree guint *act = g_new (guint, nl);
        AugurIoPlanConfig pc;
        AugurIoForecastConfig fcc;

        memset (ret, 0, sizeof *ret);
        ret->policy = p;
        ret->step_s = r->step_s;
        ret->budget_bps = r->budget_bps;
        ret->n_families = r->n_families;
        for (guint f = 0; f < r->n_families; f++)
                ret->family[f].name = r->families[f];
        augur_io_plan_config_init (&pc);
        augur_io_forecast_config_init (&fcc);
        fcc.ring_len = r->cfg.ring_len;
        for (guint j = 0; j < nl; j++) {
                const IoLimit *l = g_ptr_array_index (r->limits, j);

                run[j].limit_bps = run[j].prev_limit_bps = l->floor_bps;
                augur_io_limit_state_init (&run[j].st);
                if (p == AUGUR_IO_REPLAY_AUGUR)
                        run[j].fc = augur_io_forecast_new (&fcc);
        }
        for (gsize t = 0; t < r->n_steps; t++) {
                double now_s = (double) (r->ts0 + (gint64) t * r->step_s), host_raise = 0;
                guint na = 0;
                gboolean any_scored = FALSE;

                for (guint j = 0; j < nl; j++) {
                        const IoLimit *l = g_ptr_array_index (r->limits, j);
                        LimitRun *lr = &run[j];
                        AugurIoLimitInput in;
                        double served, p50, up;
                        gboolean at_limit, cens = FALSE;
                        gsize i;

                        if (t < l->off || t >= l->off + l->n)
                                continue;
                        i = t - l->off;
                        any_scored |= i >= l->score_lo && i < l->score_hi;
                        host_raise += lr->limit_bps - l->floor_bps;
                        if (lr->limit_bps < l->floor_bps || lr->limit_bps > l->ceiling_bps)
                                ret->floor_breaches++;
                        guest_step (r, l, lr, i, &sc[j], &in, &served, &at_limit);
                        if (row_func)
                                row_func (l->vm, l->kind, r->ts0 + (gint64) t * r->step_s, l->demand[i], served,
                                          lr->limit_bps, l->floor_bps, l->ceiling_bps, user_data);
                        lr->prev_limit_bps = lr->limit_bps;
                        if (p == AUGUR_IO_REPLAY_STATIC)
                                continue;
                        if (p == AUGUR_IO_REPLAY_AUGUR) {
                                augur_io_forecast_push (lr->fc, in.rate_bps, at_limit, 1);
                                if (augur_io_forecast_upper (lr->fc, r->cfg.lead_steps, &p50, &up, &cens)) {
                                        in.upper_bps = up;
                                        in.censored = cens;
                                        sc[j].forecast_steps += i >= l->score_lo && i < l->score_hi;
                                }
                        } else if (!isnan (in.rate_bps) && at_limit) {
                                in.upper_bps = in.rate_bps;
                                in.censored = TRUE;
                        }
                        augur_io_plan (&in, &pc, &lr->st, now_s, &plans[na]);
                        lr->st = plans[na].state;
                        act[na++] = j;
                }
                ret->peak_raise_bps = MAX (ret->peak_raise_bps, host_raise);
                if (r->budget_bps > 0 && host_raise > r->budget_bps + PLAN_SAME_BPS * na)
                        ret->over_budget_steps++;
                if (any_scored)
                        ret->budget_mib += r->budget_bps * (double) r->step_s / MIB;
                if (na == 0)
                        continue;
                /* One augurd tick: the host budget over every plan, then
                 * the apply (plugin/resize-io.c apply()). */
                augur_io_arbitrate (plans, NULL, na, r->budget_bps);
                for (guint a = 0; a < na; a++) {
                        LimitRun *lr = &run[act[a]];
                        const AugurIoPlan *pl = &plans[a];
                        double to = floor (pl->target_bps);

                        if (!augur_io_plan_moves (pl))
                                continue;
                        if (fabs (to - lr->limit_bps) < PLAN_SAME_BPS)
                                continue;
                        lr->limit_bps = to;
                        augur_io_limit_applied (&lr->st, to, now_s);
                }
        }
        for (guint j = 0; j < nl; j++) {
                const IoLimit *l = g_ptr_array_index (r->limits, j);

                augur_io_forecast_free (run[j].fc);
                if (l->score_hi <= l->score_lo)
                        continue;
                sc[j].limits = 1;
                score_add (&ret->all, &sc[j]);
                score_add (&ret->kind[l->kind], &sc[j]);
                if (l->family >= 0)
                        score_add (&ret->family[l->family].s, &sc[j]);
        }
}
