/* champion.c — which slow-path source serves a VM, and with what bound:
 * the accuracy trackers fed by matured forecasts, the champion, the
 * cost-aware memory margin, and the model gate.  Part of the online
 * predictor (predictor.h); the two paths and how their outputs combine are
 * at the top of predictor.c, the state in predictor-private.h.
 *
 * What it is not: the forecasts themselves (predictor.c runs the model and
 * the baselines, period.c the fast path) or the policy, which only reads
 * the bound this file chooses.
 *
 * ACCURACY AND THE CHAMPION
 *   Per VM, source and resource: EW sums (half-life acc_halflife_s, decay
 *   applied every slow step) of the mean over matured horizons of
 *   |y - point| and of the pinball loss at q = coverage of the calibrated
 *   upper bound:  q (y - u) if y >= u, else (1 - q) (u - y).  The
 *   champion metric defaults to the pinball loss because the policy acts
 *   on the upper bound, not the point (a source with a good point and a
 *   badly calibrated band would otherwise win).  Rules:
 *     with a model: the model serves unless it is warm and its loss exceeds
 *       the best warm baseline's by more than the hysteresis; a demoted
 *       model serves again once its loss is at or below that baseline's.
 *     among baselines: change only when the best is better than the
 *       serving one by more than the hysteresis.
 *     cold (no warm tracker): the model if loaded, else cold_source.
 *     A champion without a forecast at this origin falls back to the next
 *     best source that has one.
 *
 * COST-AWARE MARGIN (cfg->price_per_gib > 0; `virt-augur replay`'s
 *   default, price 2, and augurd's: augur.conf [forecast]
 *   memory_price_per_gib)
 *   The conformal margin at a fixed coverage spends the same quantile on
 *   every VM, whatever a shortfall or a GiB of buffer costs there.  With a
 *   price, each VM's memory margin at horizon h is instead
 *       b* = argmin_b  P(score > b) + lam * b,   b in {0} U {scores > 0}
 *   over the newest calib_ring scores (y - base) of that VM, source and
 *   horizon, kept sorted (insert/delete by binary search + memmove, O(R)),
 *   where lam = price_per_gib * prov / 100 / GiB is the price of one
 *   percent point of this VM's capacity.  So one GiB held as buffer for
 *   one step costs as much as `price` shortfall steps: VMs whose scores
 *   have a long thin tail get no margin for it, VMs with a short tail get
 *   it covered.  Until a
 *   horizon holds calib_min_n scores the conformal bound serves.
 *   The matching champion metric (AUGUR_PRED_CHAMPION_COST) judges each
 *   source by the same cost at h = 1 of what the policy would allocate,
 *   p50 + champion_knob x (upper - p50).  The price is a second knob next
 *   to the policy's buffer: replay tunes it on the slack it produces (see
 *   virsh-ext/cmd-replay.c), never on the shortfall.
 *
 * MODEL GATE (cfg->model_gate, default on; `replay --no-model-gate`)
 *   What the model alone knows is when a rise may come: at a precursor
 *   its band reaches where the baselines' band calls a rare event.  The
 *   champion cannot keep that (spikes are a few steps a day: scenario
 *   traces, 6.7 % of spikes pre-provisioned with a baseline serving vs
 *   79.6 % with the model always serving), and the model floor
 *   (predictor.c) keeps it by widening the band on every calm step.  So a demoted model raises
 *   a baseline champion's bound at an alarm only, by a margin learned on
 *   past alarms, and only on a VM where that has paid off:
 *     alarm at slow horizon h   model upper[h] > champion's conformal upper[h]
 *     raised p50[h]    = max(champion p50[h], model p50[h])
 *     raised upper[h]  = max(champion upper[h], model p50[h] + b),
 *     b = max(champion upper[h] - champion p50[h],  c x (model upper[h] - model p50[h]))
 *   (champion upper = the bound served, cost-aware when priced.)  c is
 *   the coverage quantile of (y - model p50) / (model upper - model p50)
 *   over past alarms at h = 1, tracked online like the fast path's
 *   quantiles (QTrack): a normalised conformal margin for the alarm
 *   regime alone.  The model's upper head is wide at a precursor and
 *   narrow elsewhere, so the raise follows the model's own uncertainty;
 *   raising to that upper head as it is (up to 2x the capacity at a login
 *   precursor) never paid off, and the champion's band alone (b without
 *   the c term) caught fewer spikes.  The conformal upper, not the served
 *   one, is the reference because a priced (cost-aware) bound can sit on
 *   the point, and then nearly every step alarms; alarming on the model's
 *   p50 instead of its upper caught fewer spikes (BENCHMARKS-replay.md).
 *   Judge: at every slow step the served upper at h = 1 and the raised one
 *   are remembered, gate open or not; when y arrives both get the loss the
 *   champion uses (augur_pred_bound_loss(): the cost with a price, else
 *   the pinball loss), with bounds above the capacity judged at the
 *   capacity (the policy never allocates more).  Off an alarm the two are
 *   equal, so EW
 *   sums over the alarm steps alone (half-life acc_halflife_s) hold the
 *   whole difference: the raise is judged on the steps where it matters,
 *   not drowned in the average as the champion is.  With a price the
 *   difference is  lam x (raise) - (shortfalls it removed),  the trade
 *   the price sets; the pinball loss at the coverage would accept a raise
 *   that is right 5 % of the time, and on Bitbrains that opened the gate
 *   almost everywhere (slack 0.35-0.46 at buffer 0).  The gate opens once
 *   it has scored MG_WARM alarms and while the raised loss is below the
 *   champion's; it is closed before, so a model must show it is right
 *   before it raises anything.  h = 1 because the policy's lead window
 *   is at most one slow step (augurd's 10 s, the replay's step).
 *   The scoring is counterfactual and that is sound: the guest's usage
 *   does not depend on the bound served (a balloon too small to hold it
 *   is the one feedback, and a raise only makes it rarer).  Everything is
 *   causal: c and the sums only see matured steps.
 *   Cost: O(1) per slow step, two compares per output horizon.
 */
#include "predictor-private.h"
#include "util.h"

#include <string.h>

#define MG_CAP_PCT 100.0f    /* model gate: bounds are judged at most at the
                              * capacity; the policy never allocates more */
#define MG_WARM    4         /* model gate: alarm steps scored (ever) before
                              * it may open; a spike's precursor alarms for
                              * 1-3 steps, so about two announced spikes.
                              * Not an EW count: with alarms a few times a
                              * day, a 1-day half-life holds only ~3      */

static float
pinball (float q, float y, float u)
{
        return y >= u ? q * (y - u) : (1.0f - q) * (u - y);
}

/* Add a memory score of source s at horizon h to the cost rings. */
static void
cost_add (const AugurPredictor *p, AugurPredictorVm *v, int s, guint h, float score)
{
        const guint R = p->cfg.calib_ring;
        gsize k = (gsize) s * p->cfg.H + h - 1;
        float *ring = v->cost_ring + k * R, *sorted = v->cost_sorted + k * R;
        guint n = v->cost_n[k], i;

        if (n == R) {
                i = augur_lower_bound_f (sorted, n, ring[v->cost_pos[k]]);
                memmove (sorted + i, sorted + i + 1, (n - i - 1) * sizeof *sorted);
                n--;
        }
        i = augur_lower_bound_f (sorted, n, score);
        memmove (sorted + i + 1, sorted + i, (n - i) * sizeof *sorted);
        sorted[i] = score;
        v->cost_n[k] = n + 1;
        ring[v->cost_pos[k]] = score;
        v->cost_pos[k] = (v->cost_pos[k] + 1) % R;
}

/* The cost-aware margin over sorted scores a[0..n): argmin over b in
 * {0} U {a_j > 0} of  P(score > b) + lam * b  (lam per percent point). */
static float
cost_margin (const float *a, guint n, double lam)
{
        guint j = augur_lower_bound_f (a, n, 0.0f);
        double best;
        float b = 0;

        /* b = 0: every positive score is a shortfall */
        while (j < n && a[j] <= 0)
                j++;
        best = (double) (n - j) / n;
        for (; j < n; j++) {
                double c;

                if (j + 1 < n && a[j + 1] == a[j])
                        continue;   /* the last of equal scores counts them all */
                c = (double) (n - 1 - j) / n + lam * a[j];
                if (c < best) {
                        best = c;
                        b = a[j];
                }
        }
        return b;
}

/* The price per percent point of this VM's memory capacity. */
static double
cost_lambda (const AugurPredictor *p, const AugurPredictorVm *v)
{
        return p->cfg.price_per_gib * (v->prov_kib / 100.0) / (1024.0 * 1024.0);
}

/* The cost-aware margin (pct) from the k-th sorted ring at the price lam.
 * With CONDITIONAL WIDTH (predictor.c) the ring holds scores divided by
 * the local scale l at their origin, so a margin b of them costs lam l b
 * now and is l b points wide; NAN while the scale is unknown. */
static float
cost_margin_at (const AugurPredictor *p, const AugurPredictorVm *v, gsize k, double lam)
{
        const guint R = p->cfg.calib_ring;
        float l = v->ls_scale[AUGUR_PRED_MEM];

        if (!local_width (p))
                return cost_margin (v->cost_sorted + k * R, v->cost_n[k], lam);
        if (isnan (l))
                return NAN;
        return l * cost_margin (v->cost_sorted + k * R, v->cost_n[k], lam * l);
}

/* Cost-aware memory upper of the served source s (pct), from its rings;
 * FALSE while a horizon has fewer than calib_min_n scores. */
gboolean
augur_pred_cost_upper (const AugurPredictor *p, AugurPredictorVm *v, AugurPredSource s)
{
        const guint H = p->cfg.H;
        double lam;

        if (s == AUGUR_PRED_SRC_NONE || !v->cur_ok[s][AUGUR_PRED_MEM] || isnan (v->prov_kib))
                return FALSE;
        lam = cost_lambda (p, v);
        for (guint h = 1; h <= H; h++) {
                gsize k = (gsize) s * H + h - 1;
                float b;

                if (v->cost_n[k] < p->cfg.calib_min_n)
                        return FALSE;
                b = cost_margin_at (p, v, k, lam);
                if (isnan (b))
                        return FALSE;
                v->cost_up[h - 1] = cur_at (p, v, s, AUGUR_PRED_MEM, 2)[h - 1] + b;
        }
        return TRUE;
}

/* COST-AWARE MARGIN: remember in pending slot `slot` each source's
 * cost-aware memory upper at h = 1 (NAN while its horizon-1 ring holds
 * fewer than calib_min_n scores), for the cost tracker when the target
 * arrives (augur_pred_mature).  Only with a price (v->cost_ring). */
void
augur_pred_cost_remember (const AugurPredictor *p, AugurPredictorVm *v, guint slot)
{
        const guint H = p->cfg.H;
        double lam = cost_lambda (p, v);

        for (int s = 0; s < N_SRC; s++) {
                gsize k1 = (gsize) s * H;   /* horizon 1 */
                float cu = NAN;

                if (v->cur_ok[s][AUGUR_PRED_MEM] && v->cost_n[k1] >= p->cfg.calib_min_n && !isnan (lam))
                        cu = cur_at (p, v, s, AUGUR_PRED_MEM, 2)[0] + cost_margin_at (p, v, k1, lam);
                v->pend_cu[(gsize) slot * N_SRC + s] = cu;
        }
}

/* Step 1: forecasts made for step `step` meet their targets y. */
void
augur_pred_mature (AugurPredictor *p, AugurPredictorVm *v, guint64 step, const float *y)
{
        const guint H = p->cfg.H;
        const float q = p->cfg.coverage;
        double ae[N_SRC][N_RES] = { { 0 } }, pin[N_SRC][N_RES] = { { 0 } };
        guint cnt[N_SRC][N_RES] = { { 0 } };
        double cost_loss[N_SRC];

        for (int s = 0; s < N_SRC; s++)
                cost_loss[s] = NAN;

        for (guint h = 1; h <= H && h <= step; h++) {
                guint64 origin = step - h;
                guint slot = (guint) (origin % (H + 1));

                if (v->pend_origin[slot] != origin)
                        continue;
                for (int s = 0; s < N_SRC; s++) {
                        for (int r = 0; r < N_RES; r++) {
                                float pt, up, base, ls = NAN;

                                if (isnan (y[r]) || !v->pend_ok[((gsize) slot * N_SRC + s) * N_RES + r])
                                        continue;
                                pt = pend_at (p, v, slot, s, r, 0)[h - 1];
                                up = pend_at (p, v, slot, s, r, 1)[h - 1];
                                base = pend_at (p, v, slot, s, r, 2)[h - 1];
                                if (isnan (base) || isnan (pt))
                                        continue;
                                if (local_width (p)) {
                                        /* CONDITIONAL WIDTH (predictor.c): the
                                         * VM's scores in units of the local
                                         * scale at the origin, the global
                                         * ones raw (the model file's are) */
                                        ls = v->pend_ls[(gsize) slot * N_RES + r];
                                        if (!isnan (ls))
                                                augur_calib_add (p->calib[s][r], v->name, h, (y[r] - base) / ls, TRUE);
                                        augur_calib_add (p->calib[s][r], NULL, h, y[r] - base, FALSE);
                                } else {
                                        augur_calib_add (p->calib[s][r], v->name, h, y[r] - base, FALSE);
                                }
                                if (r == AUGUR_PRED_MEM && v->cost_ring) {
                                        float cu = v->pend_cu[(gsize) slot * N_SRC + s];

                                        if (!local_width (p))
                                                cost_add (p, v, s, h, y[r] - base);
                                        else if (!isnan (ls))
                                                cost_add (p, v, s, h, (y[r] - base) / ls);
                                        if (h == 1 && !isnan (cu) && !isnan (v->prov_kib)) {
                                                /* what the policy allocates from it */
                                                cu = pt + (float) p->cfg.champion_knob * (cu - pt);
                                                cost_loss[s] = (y[r] > cu ? 1.0 : 0.0)
                                                               + cost_lambda (p, v) * (cu - y[r]);
                                        }
                                }
                                ae[s][r] += fabsf (y[r] - pt);
                                pin[s][r] += pinball (q, y[r], up);
                                cnt[s][r]++;
                        }
                }
        }
        for (int s = 0; s < N_SRC; s++) {
                v->acc_cost_w[s] *= p->acc_decay;
                v->acc_cost[s] *= p->acc_decay;
                if (!isnan (cost_loss[s])) {
                        v->acc_cost_w[s] += 1.0;
                        v->acc_cost[s] += cost_loss[s];
                }
                for (int r = 0; r < N_RES; r++) {
                        v->acc_w[s][r] *= p->acc_decay;
                        v->acc_ae[s][r] *= p->acc_decay;
                        v->acc_pin[s][r] *= p->acc_decay;
                        if (cnt[s][r] == 0)
                                continue;
                        v->acc_w[s][r] += 1.0;
                        v->acc_ae[s][r] += ae[s][r] / cnt[s][r];
                        v->acc_pin[s][r] += pin[s][r] / cnt[s][r];
                }
        }
}

static double
acc_loss (const AugurPredictor *p, const AugurPredictorVm *v, int s, int r)
{
        if (p->cfg.champion_metric == AUGUR_PRED_CHAMPION_COST && r == AUGUR_PRED_MEM && v->cost_ring)
                return v->acc_cost_w[s] > 0 ? v->acc_cost[s] / v->acc_cost_w[s] : INFINITY;
        if (v->acc_w[s][r] <= 0)
                return INFINITY;
        if (p->cfg.champion_metric == AUGUR_PRED_CHAMPION_MAE)
                return v->acc_ae[s][r] / v->acc_w[s][r];
        return v->acc_pin[s][r] / v->acc_w[s][r];
}

static gboolean
warm (const AugurPredictor *p, const AugurPredictorVm *v, int s, int r)
{
        if (p->cfg.champion_metric == AUGUR_PRED_CHAMPION_COST && r == AUGUR_PRED_MEM && v->cost_ring)
                return src_on (p, (AugurPredSource) s) && v->acc_cost_w[s] >= p->cfg.champion_warm;
        return src_on (p, (AugurPredSource) s) && v->acc_w[s][r] >= p->cfg.champion_warm;
}

/* Best warm baseline with a forecast now, or NONE. */
static AugurPredSource
best_baseline (const AugurPredictor *p, const AugurPredictorVm *v, int r)
{
        AugurPredSource best = AUGUR_PRED_SRC_NONE;
        double bl = INFINITY;

        for (int s = AUGUR_PRED_SRC_LAST_VALUE; s < N_SRC; s++) {
                double l;

                if (!warm (p, v, s, r) || !v->cur_ok[s][r])
                        continue;
                l = acc_loss (p, v, s, r);
                if (l < bl) {
                        bl = l;
                        best = (AugurPredSource) s;
                }
        }
        return best;
}

/* Step 5: update the champion of resource r; returns the source serving
 * now (which has a forecast), or NONE. */
AugurPredSource
augur_pred_champion (AugurPredictor *p, AugurPredictorVm *v, int r)
{
        const double hy = p->cfg.champion_hysteresis;
        AugurPredSource cur = v->champion[r];
        AugurPredSource best = best_baseline (p, v, r);

        if (p->model && src_on (p, AUGUR_PRED_SRC_MODEL)) {
                if (!warm (p, v, AUGUR_PRED_SRC_MODEL, r) || best == AUGUR_PRED_SRC_NONE) {
                        cur = AUGUR_PRED_SRC_MODEL;
                } else if (cur == AUGUR_PRED_SRC_MODEL) {
                        if (acc_loss (p, v, AUGUR_PRED_SRC_MODEL, r) > (1 + hy) * acc_loss (p, v, best, r))
                                cur = best;
                } else if (acc_loss (p, v, AUGUR_PRED_SRC_MODEL, r) <= acc_loss (p, v, best, r)) {
                        cur = AUGUR_PRED_SRC_MODEL;
                } else if (cur != best && (!warm (p, v, cur, r) || !v->cur_ok[cur][r]
                                           || acc_loss (p, v, best, r) < (1 - hy) * acc_loss (p, v, cur, r))) {
                        cur = best;
                }
        } else if (best != AUGUR_PRED_SRC_NONE && cur != best) {
                if (!warm (p, v, cur, r) || !v->cur_ok[cur][r]
                    || acc_loss (p, v, best, r) < (1 - hy) * acc_loss (p, v, cur, r))
                        cur = best;
        }
        v->champion[r] = cur;

        /* Serve: the champion, else the best baseline, the cold source,
         * then anything with a forecast. */
        if (v->cur_ok[cur][r])
                return cur;
        if (best != AUGUR_PRED_SRC_NONE)
                return best;
        if (v->cur_ok[p->cfg.cold_source][r])
                return p->cfg.cold_source;
        for (int s = 0; s < N_SRC; s++)
                if (v->cur_ok[s][r])
                        return (AugurPredSource) s;
        return AUGUR_PRED_SRC_NONE;
}

/* Loss of an upper bound u for the outcome y, in the units the champion
 * uses: the cost (shortfall + price x slack) with a price, else the
 * pinball loss at the coverage. */
double
augur_pred_bound_loss (const AugurPredictor *p, const AugurPredictorVm *v, int r, float y, float u)
{
        if (p->cfg.price_per_gib > 0 && r == AUGUR_PRED_MEM && !isnan (v->prov_kib))
                return (y > u ? 1.0 : 0.0) + cost_lambda (p, v) * (u - y);
        return pinball (p->cfg.coverage, y, u);
}

/* MODEL GATE: does the model alarm at slow horizon hs (1-based) of
 * resource r: is its upper bound above champion s's conformal upper
 * bound?  Says nothing about whether the gate is open. */
gboolean
augur_pred_mg_alarm (const AugurPredictor *p, const AugurPredictorVm *v, int r, AugurPredSource s, guint hs)
{
        if (!p->cfg.model_gate || p->cfg.model_floor
            || s == AUGUR_PRED_SRC_MODEL || s == AUGUR_PRED_SRC_NONE
            || !v->cur_ok[AUGUR_PRED_SRC_MODEL][r] || !v->cur_ok[s][r])
                return FALSE;
        return cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 1)[hs - 1] > cur_at (p, v, s, r, 1)[hs - 1];
}

/* MODEL GATE: the raised upper at slow horizon hs of an alarm, over the
 * champion's p50 sp and upper su: the model's p50 plus the wider of the
 * champion's band and c x the model's band (c learned on past alarms). */
float
augur_pred_mg_raise (const AugurPredictor *p, const AugurPredictorVm *v, int r, guint hs, float sp, float su)
{
        float mp = cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 0)[hs - 1];
        float mu = cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 1)[hs - 1];
        float b = su - sp;

        if (v->mg_c[r].n > 0 && mu > mp)
                b = nanmax (b, v->mg_c[r].q * (mu - mp));
        return nanmax (su, mp + b);
}

/* MODEL GATE: has raising paid off on this VM's alarms? */
gboolean
augur_pred_mg_open (const AugurPredictorVm *v, int r)
{
        return v->mg_n[r] >= MG_WARM && v->mg_raised[r] < v->mg_alone[r];
}

/* MODEL GATE: the targets y (N_RES) of slow step `step` meet the h = 1
 * bounds remembered one step before; decays the sums every step. */
void
augur_pred_mg_score (const AugurPredictor *p, AugurPredictorVm *v, guint64 step, const float *y)
{
        gboolean next = v->mg_step != NONE_STEP && v->mg_step + 1 == step;

        for (int r = 0; r < N_RES; r++) {
                v->mg_w[r] *= p->acc_decay;
                v->mg_alone[r] *= p->acc_decay;
                v->mg_raised[r] *= p->acc_decay;
                if (!next || isnan (y[r]) || isnan (v->mg_su[r]) || isnan (v->mg_ru[r]))
                        continue;
                v->mg_n[r] += v->mg_n[r] < G_MAXUINT32;
                v->mg_w[r] += 1.0;
                v->mg_alone[r] += augur_pred_bound_loss (p, v, r, y[r], MIN (v->mg_su[r], MG_CAP_PCT));
                v->mg_raised[r] += augur_pred_bound_loss (p, v, r, y[r], MIN (v->mg_ru[r], MG_CAP_PCT));
                if (v->mg_mb[r] > 0)
                        augur_qtrack_update (&v->mg_c[r], (y[r] - v->mg_mp[r]) / v->mg_mb[r], p->cfg.coverage);
        }
}

/* MODEL GATE: remember the h = 1 bounds of this slow step, served by
 * served[] (N_RES), for augur_pred_mg_score() at the next. */
void
augur_pred_mg_remember (const AugurPredictor *p, AugurPredictorVm *v, guint64 step, const AugurPredSource *served)
{
        v->mg_step = step;
        for (int r = 0; r < N_RES; r++) {
                AugurPredSource s = served[r];
                float su = NAN, ru = NAN;

                if (s != AUGUR_PRED_SRC_NONE && v->cur_ok[s][r]) {
                        su = r == AUGUR_PRED_MEM && v->cost_ok ? v->cost_up[0] : cur_at (p, v, s, r, 1)[0];
                        if (augur_pred_mg_alarm (p, v, r, s, 1)) {
                                ru = augur_pred_mg_raise (p, v, r, 1, cur_at (p, v, s, r, 0)[0], su);
                                v->mg_mp[r] = cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 0)[0];
                                v->mg_mb[r] = cur_at (p, v, AUGUR_PRED_SRC_MODEL, r, 1)[0] - v->mg_mp[r];
                        }
                }
                v->mg_su[r] = su;
                v->mg_ru[r] = ru;
        }
}
