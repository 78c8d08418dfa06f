/* policy.c — the resize policy.  Design: policy.h. */
#include "config.h"

#include "policy.h"

#include <math.h>

static const char *const reason_names[AUGUR_REASON_N] = {
        [AUGUR_REASON_NONE] = "none",
        [AUGUR_REASON_FORECAST_GROW] = "forecast-grow",
        [AUGUR_REASON_FORECAST_SHRINK] = "forecast-shrink",
        [AUGUR_REASON_CENSORED] = "censored",
        [AUGUR_REASON_PRESSURE] = "pressure",
        [AUGUR_REASON_FLOOR] = "floor",
        [AUGUR_REASON_CEILING] = "ceiling",
        [AUGUR_REASON_REACTIVE] = "reactive",
        [AUGUR_REASON_CUSHION] = "cushion",
        [AUGUR_REASON_OUT_OF_MEMORY] = "out-of-memory",
};
static const char *const veto_names[AUGUR_VETO_N] = {
        [AUGUR_VETO_NONE] = "none",
        [AUGUR_VETO_STALE] = "stale-stats",
        [AUGUR_VETO_PRESSURE] = "pressure",
        [AUGUR_VETO_COOLDOWN] = "cooldown",
        [AUGUR_VETO_SUSTAIN] = "not-sustained",
        [AUGUR_VETO_DEADBAND] = "deadband",
        [AUGUR_VETO_NO_AGENT] = "no-agent",
        [AUGUR_VETO_NO_FORECAST] = "no-forecast",
        [AUGUR_VETO_BUSY] = "observed-busy",
        [AUGUR_VETO_REGROW] = "regrow-soon",
        [AUGUR_VETO_OTHER_CONTROLLER] = "other-controller",
        [AUGUR_VETO_BALLOON_OWNED] = "balloon-owned",
};

const char *
augur_reason_name (AugurReason r)
{
        return r < AUGUR_REASON_N ? reason_names[r] : "?";
}

const char *
augur_veto_name (AugurVeto v)
{
        return v < AUGUR_VETO_N ? veto_names[v] : "?";
}

void
augur_policy_config_init (AugurPolicyConfig *c)
{
        c->headroom_kib = 32 * 1024;        /* page cache a guest needs to run well */
        c->reserve_kib = 64 * 1024;         /* never leave a guest less than this free */
        c->buffer = 1.0;
        c->lead_s = 10;                     /* replaced by the measured latency */
        c->deadband_frac = 0.05;            /* mom's balloon.rules ignore < 5 % too */
        c->shrink_step_kib = 64 * 1024;
        c->shrink_sustain_s = 60;
        c->shrink_cooldown_s = 30;
        c->pin_frac = 0.03;
        c->censored_grow_frac = 0.25;
        c->target_util = 0.7;
        c->saturated_util = 0.95;
}

void
augur_policy_state_init (AugurPolicyState *s)
{
        s->last_mem_change_s = -1e18;
        s->mem_shrink_since_s = -1;
        s->last_cpu_change_s = -1e18;
        s->cpu_shrink_since_s = -1;
}

/* Horizons that fall inside the lead window: at least one step. */
static guint
lead_steps (const AugurForecast *f, const AugurPolicyConfig *cfg)
{
        guint n = f->step_s > 0 ? (guint) ceil (cfg->lead_s / f->step_s) : 1;

        return CLAMP (n, 1, f->H);
}

/* Horizons within the lead time plus the shrink cooldown: the window a
 * vCPU give-back must hold for (policy.h "not gone if it comes back"). */
static guint
giveback_steps (const AugurForecast *f, const AugurPolicyConfig *cfg)
{
        guint n = f->step_s > 0 ? (guint) ceil ((cfg->lead_s + cfg->shrink_cooldown_s) / f->step_s) : 1;

        return CLAMP (n, 1, f->H);
}

/* Max over the lead window of p50 + buffer × (upper − p50); NAN if none. */
static double
window_upper (const float *p50, const float *upper, guint n, double buffer)
{
        double best = NAN;

        for (guint h = 0; h < n; h++) {
                double v;

                if (isnan (upper[h]))
                        continue;
                v = isnan (p50[h]) ? upper[h] : p50[h] + buffer * (upper[h] - p50[h]);
                if (isnan (best) || v > best)
                        best = v;
        }
        return best;
}

double
augur_policy_mem_forecast_want (const AugurForecast *f, const AugurPolicyConfig *cfg)
{
        double want;

        if (!f || f->H == 0)
                return NAN;
        want = window_upper (f->mem_p50_kib, f->mem_upper_kib, lead_steps (f, cfg), cfg->buffer);
        return isnan (want) ? NAN : want + cfg->headroom_kib;
}

static void
plan_memory (const AugurPolicyInput *in, const AugurForecast *f,
             const AugurPolicyConfig *cfg, double now, AugurPlan *p)
{
        double alloc = in->mem_alloc_kib, want = NAN, lo, hi, base, need;
        AugurReason reason = AUGUR_REASON_NONE;
        gboolean have_forecast, held = in->mem_hold_kib > 0;   /* NAN, 0: none */

        p->mem_target_kib = alloc;
        hi = isnan (in->mem_max_kib) ? alloc : in->mem_max_kib;
        lo = isnan (in->mem_min_kib) ? 0 : in->mem_min_kib;
        if (!isnan (in->mem_used_kib))
                lo = MAX (lo, in->mem_used_kib + cfg->reserve_kib);
        lo = MIN (lo, hi);

        want = augur_policy_mem_forecast_want (f, cfg);
        if (!isnan (want))
                reason = want > alloc ? AUGUR_REASON_FORECAST_GROW : AUGUR_REASON_FORECAST_SHRINK;
        have_forecast = !isnan (want);
        /* Censored demand: pinned at the allocation means "more than shown". */
        if (!isnan (in->mem_used_kib) && !isnan (alloc) &&
            in->mem_used_kib >= (1 - cfg->pin_frac) * alloc) {
                double c = alloc * (1 + cfg->censored_grow_frac);

                if (isnan (want) || c > want) {
                        want = c;
                        reason = AUGUR_REASON_CENSORED;
                }
        }
        if (in->mem_pressure) {
                double c = alloc * (1 + cfg->censored_grow_frac);

                if (isnan (want) || c > want)
                        want = c;
                reason = AUGUR_REASON_PRESSURE;
        }
        /* What the forecast and the evidence ask for, before the cushion:
         * host arbitration serves this first (policy.h). */
        need = isnan (want) ? lo : MAX (lo, MIN (want, hi));
        /* The guard's cushion: never squeezed below used + cushion. */
        if (!isnan (in->mem_used_kib) && in->mem_cushion_kib > 0) {
                double c = MIN (in->mem_used_kib + in->mem_cushion_kib, hi);

                if (isnan (want) || c > want) {
                        want = c;
                        if (isnan (alloc) || c > alloc)
                                reason = AUGUR_REASON_CUSHION;
                }
        }
        if (isnan (want) && held)
                want = alloc;
        if (isnan (want) || (!have_forecast && !(want > alloc) && !(alloc < lo) &&
                             !(held && in->mem_hold_kib > alloc))) {
                /* No forecast: hold, unless below the floor. */
                if (!isnan (alloc) && alloc < lo) {
                        want = lo;
                        reason = AUGUR_REASON_FLOOR;
                } else {
                        p->mem_veto = AUGUR_VETO_NO_FORECAST;
                        p->mem_wanted_kib = alloc;
                        p->mem_need_kib = MIN (need, alloc);
                        return;
                }
        }
        if (want < lo) {
                want = lo;
                if (lo > alloc)
                        reason = AUGUR_REASON_FLOOR;
        }
        if (want > hi) {
                want = hi;
                if (reason == AUGUR_REASON_FORECAST_GROW && hi <= alloc)
                        reason = AUGUR_REASON_CEILING;
        }
        /* The hold after the guest ran out of memory (mem-guard.h): an
         * emergency grow, never delayed; arbitration sees it apart. */
        base = want;
        if (held && MIN (in->mem_hold_kib, hi) >= want) {
                want = MIN (in->mem_hold_kib, hi);
                if (isnan (alloc) || want > alloc)
                        reason = AUGUR_REASON_OUT_OF_MEMORY;
        }
        p->mem_wanted_kib = want;

        if (isnan (alloc) || want > alloc) {
                /* Grow fast: straight to the target, never rate-limited.
                 * A grow past a hold the guest is below is the emergency
                 * grow, whichever bound is the larger. */
                if (held && !isnan (alloc) && in->mem_hold_kib > alloc)
                        reason = AUGUR_REASON_OUT_OF_MEMORY;
                p->mem_target_kib = want;
                p->mem_extra_kib = MAX (0, want - base);
                p->mem_need_kib = MIN (need, want - p->mem_extra_kib);
                p->mem_reason = reason;
                p->state.mem_shrink_since_s = -1;
                p->state.last_mem_change_s = now;
                return;
        }
        /* Shrink slowly. */
        if (alloc - want <= cfg->deadband_frac * alloc) {
                p->mem_veto = AUGUR_VETO_DEADBAND;
                p->state.mem_shrink_since_s = -1;
                goto out;
        }
        if (in->mem_pressure) {
                p->mem_veto = AUGUR_VETO_PRESSURE;
                p->state.mem_shrink_since_s = -1;
                goto out;
        }
        if (!in->mem_stats_fresh || isnan (in->mem_used_kib)) {
                p->mem_veto = AUGUR_VETO_STALE;
                p->state.mem_shrink_since_s = -1;
                goto out;
        }
        if (p->state.mem_shrink_since_s < 0)
                p->state.mem_shrink_since_s = now;
        if (now - p->state.mem_shrink_since_s < cfg->shrink_sustain_s) {
                p->mem_veto = AUGUR_VETO_SUSTAIN;
                goto out;
        }
        if (now - p->state.last_mem_change_s < cfg->shrink_cooldown_s) {
                p->mem_veto = AUGUR_VETO_COOLDOWN;
                goto out;
        }
        p->mem_target_kib = MAX (want, alloc - cfg->shrink_step_kib);
        p->mem_reason = reason == AUGUR_REASON_FLOOR ? AUGUR_REASON_FORECAST_SHRINK : reason;
        p->state.last_mem_change_s = now;
out:
        /* What only the hold keeps (policy.h HOST ARBITRATION). */
        if (held)
                p->mem_extra_kib = MAX (0, p->mem_target_kib - base);
        p->mem_need_kib = MIN (need, p->mem_target_kib - p->mem_extra_kib);
}

double
augur_policy_cpu_demand (const AugurForecast *f, const AugurPolicyConfig *cfg)
{
        if (!f || f->H == 0)
                return NAN;
        return window_upper (f->cpu_p50_cores, f->cpu_upper_cores, lead_steps (f, cfg), cfg->buffer);
}

static void
plan_vcpus (const AugurPolicyInput *in, const AugurForecast *f,
            const AugurPolicyConfig *cfg, double now, AugurPlan *p)
{
        int cur = in->vcpus_online, lo = MAX (1, in->vcpus_min), hi = in->vcpus_max;
        double demand = NAN;
        int want;
        AugurReason reason = AUGUR_REASON_NONE;

        p->vcpus_target = cur;
        p->vcpus_wanted = cur;
        if (cur <= 0 || hi <= 0)
                return;
        hi = MAX (hi, lo);
        demand = augur_policy_cpu_demand (f, cfg);
        if (isnan (demand)) {
                p->cpu_veto = AUGUR_VETO_NO_FORECAST;
                want = cur;
        } else {
                want = (int) ceil (demand / cfg->target_util - 1e-9);
                reason = want > cur ? AUGUR_REASON_FORECAST_GROW : AUGUR_REASON_FORECAST_SHRINK;
        }
        if (!isnan (in->cpu_cores_used) && in->cpu_cores_used >= cfg->saturated_util * cur &&
            want <= cur) {
                want = cur + 1;
                reason = AUGUR_REASON_CENSORED;
        }
        want = CLAMP (want, lo, hi);
        p->vcpus_wanted = want;
        if (want > cur) {
                if (!in->can_add_vcpus)
                        return;
                p->vcpus_target = want;
                p->cpu_reason = reason;
                p->state.last_cpu_change_s = now;
                p->state.cpu_shrink_since_s = -1;
                return;
        }
        if (want == cur) {
                p->state.cpu_shrink_since_s = -1;
                return;
        }
        /* Not gone if the forecast wants it back within the cooldown. */
        if (f && f->H > 0) {
                double later = window_upper (f->cpu_p50_cores, f->cpu_upper_cores,
                                             giveback_steps (f, cfg), cfg->buffer);

                if (!isnan (later) && (int) ceil (later / cfg->target_util - 1e-9) >= cur) {
                        p->cpu_veto = AUGUR_VETO_REGROW;
                        p->state.cpu_shrink_since_s = -1;
                        return;
                }
        }
        /* Give back only when the demand is seen gone too (policy.h). */
        if (!isnan (in->cpu_cores_used) && in->cpu_cores_used > (cur - 1) * cfg->target_util) {
                p->cpu_veto = AUGUR_VETO_BUSY;
                p->state.cpu_shrink_since_s = -1;
                return;
        }
        if (!in->can_offline_vcpus) {
                p->cpu_veto = AUGUR_VETO_NO_AGENT;
                return;
        }
        if (p->state.cpu_shrink_since_s < 0)
                p->state.cpu_shrink_since_s = now;
        if (now - p->state.cpu_shrink_since_s < cfg->shrink_sustain_s) {
                p->cpu_veto = AUGUR_VETO_SUSTAIN;
                return;
        }
        if (now - p->state.last_cpu_change_s < cfg->shrink_cooldown_s) {
                p->cpu_veto = AUGUR_VETO_COOLDOWN;
                return;
        }
        p->vcpus_target = cur - 1;        /* one vCPU per decision */
        p->cpu_reason = AUGUR_REASON_FORECAST_SHRINK;
        p->state.last_cpu_change_s = now;
}

void
augur_policy_plan (const AugurPolicyInput *in, const AugurForecast *forecast,
                   const AugurPolicyConfig *cfg, const AugurPolicyState *state,
                   double now_s, AugurPlan *ret)
{
        *ret = (AugurPlan) { 0 };
        ret->state = *state;
        plan_memory (in, forecast, cfg, now_s, ret);
        plan_vcpus (in, forecast, cfg, now_s, ret);
}

void
augur_policy_plan_reactive (const AugurPolicyInput *in, const AugurPolicyConfig *cfg,
                            double now_s, AugurPlan *ret)
{
        double hi = isnan (in->mem_max_kib) ? in->mem_alloc_kib : in->mem_max_kib;
        double lo = isnan (in->mem_min_kib) ? 0 : in->mem_min_kib;

        *ret = (AugurPlan) { 0 };
        ret->mem_target_kib = in->mem_alloc_kib;
        ret->vcpus_target = in->vcpus_online;
        ret->vcpus_wanted = in->vcpus_online;
        if (isnan (in->mem_used_kib)) {
                ret->mem_veto = AUGUR_VETO_STALE;
                return;
        }
        ret->mem_wanted_kib = CLAMP (in->mem_used_kib * (1 + cfg->buffer), MIN (lo, hi), hi);
        ret->mem_target_kib = ret->mem_wanted_kib;
        ret->mem_reason = AUGUR_REASON_REACTIVE;
        ret->state.last_mem_change_s = now_s;
}

/* Water-filling by shares: repeat while budget is left and some item is
 * below its cap; each round hands out the remainder in proportion to
 * priority × (weight[i], or 1 when weight is NULL), capped.  At most n
 * rounds.  Returns what is left. */
static double
water_fill (AugurArbItem *items, const double *cap, const double *weight, gsize n, double left)
{
        gboolean active = TRUE;

        for (gsize round = 0; round < n && left > 1e-6 && active; round++) {
                double shares = 0, given = 0;

                for (gsize i = 0; i < n; i++)
                        if (items[i].granted_kib < cap[i])
                                shares += MAX (items[i].priority, 1) * (weight ? weight[i] : 1);
                active = shares > 0;
                for (gsize i = 0; i < n && active; i++) {
                        AugurArbItem *it = &items[i];
                        double give;

                        if (it->granted_kib >= cap[i])
                                continue;
                        give = MIN (left * MAX (it->priority, 1) * (weight ? weight[i] : 1) / shares,
                                    cap[i] - it->granted_kib);
                        it->granted_kib += give;
                        given += give;
                }
                left -= given;
        }
        return left;
}

gboolean
augur_policy_arbitrate (AugurArbItem *items, gsize n, double budget_kib)
{
        g_autofree double *cap = g_new (double, MAX (n, 1));
        g_autofree double *weight = g_new (double, MAX (n, 1));
        double left = budget_kib;
        gboolean fits;

        for (gsize i = 0; i < n; i++) {
                AugurArbItem *it = &items[i];

                it->extra_kib = isnan (it->extra_kib) ? 0 : MAX (it->extra_kib, 0);
                it->cushion_kib = isnan (it->cushion_kib) ? 0 : MAX (it->cushion_kib, 0);
                it->floor_kib = MIN (it->floor_kib, it->want_kib);
                it->granted_kib = it->floor_kib;
                it->lost = FALSE;
                left -= it->floor_kib;
                cap[i] = it->want_kib;
        }
        fits = left >= 0;
        if (!fits) {
                left = budget_kib;
                for (gsize i = 0; i < n; i++) {
                        AugurArbItem *it = &items[i];

                        if (!isnan (it->alloc_kib) && it->alloc_kib < it->granted_kib)
                                it->granted_kib = it->alloc_kib;
                        left -= it->granted_kib;
                        cap[i] = it->floor_kib;
                }
                if (left > 0)
                        water_fill (items, cap, NULL, n, left);
        }
        /* The wants first, then the cushions, then the extras, each from
         * what is left. */
        if (fits)
                left = water_fill (items, cap, NULL, n, left);
        /* Cushions by shares weighted by their size: every guest keeps the
         * same fraction of the protection it asks for (a new guest's, or
         * one that bursts big, is not cut to a small one's). */
        for (gsize i = 0; i < n; i++) {
                cap[i] = items[i].want_kib + items[i].cushion_kib;
                weight[i] = MAX (items[i].cushion_kib, 1);
        }
        if (fits)
                left = water_fill (items, cap, weight, n, left);
        for (gsize i = 0; i < n; i++)
                cap[i] = items[i].want_kib + items[i].cushion_kib + items[i].extra_kib;
        if (fits)
                water_fill (items, cap, NULL, n, left);
        for (gsize i = 0; i < n; i++)
                items[i].lost = items[i].granted_kib < cap[i] - 1;
        return fits;
}
