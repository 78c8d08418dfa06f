/* cpu-weight.c — the CPU weight planner (see cpu-weight.h). */
#include "config.h"

#include "cpu-weight.h"

#include <math.h>

void
augur_cpu_weight_config_init (AugurCpuWeightConfig *c)
{
        c->burst_cores = 0.25;
        c->base_halflife_s = 3600;
        c->used_slack_cores = 0.25;
        augur_io_plan_config_init (&c->limit);
}

void
augur_cpu_weight_state_init (AugurCpuWeightState *s)
{
        augur_io_limit_state_init (&s->limit);
        s->base_cores = NAN;
        s->base_at_s = NAN;
}

/* The observed use, NAN when unknown or absurd (cpu-weight.h BAD INPUT). */
static double
sane_used (const AugurCpuWeightInput *in, const AugurCpuWeightConfig *c)
{
        double u = in->cores_used;

        if (!in->fresh || !isfinite (u) || u < 0)
                return NAN;
        if (in->vcpus_max > 0 && u > in->vcpus_max + c->used_slack_cores)
                return NAN;
        return u;
}

/* Is a forecast demand there absurd (cpu-weight.h BAD INPUT)?  None
 * (NAN) is not absurd. */
static gboolean
absurd_demand (const AugurCpuWeightInput *in)
{
        double d = in->demand_cores;

        if (isnan (d))
                return FALSE;
        return !isfinite (d) || d < 0 || (in->vcpus_max > 0 && d > 2.0 * in->vcpus_max);
}

void
augur_cpu_weight_plan (const AugurCpuWeightInput *in, const AugurCpuWeightConfig *c,
                       AugurCpuWeightState *st, double now_s, AugurIoPlan *ret)
{
        double used = sane_used (in, c);
        gboolean absurd = absurd_demand (in);
        double bar;
        double ceiling = isnan (in->ceiling) ? 0 : MIN (in->ceiling, AUGUR_CPU_SHARES_MAX);
        gboolean burst, quiet;

        /* The base: an exponential mean of the observed use. */
        if (!isnan (used)) {
                if (isnan (st->base_cores) || !(now_s > st->base_at_s)) {
                        if (isnan (st->base_cores))
                                st->base_cores = used;
                } else {
                        double keep = exp2 (-(now_s - st->base_at_s) / c->base_halflife_s);

                        st->base_cores = keep * st->base_cores + (1 - keep) * used;
                }
                st->base_at_s = now_s;
        }
        bar = isnan (st->base_cores) ? c->burst_cores : MAX (c->burst_cores, st->base_cores + c->burst_cores);
        if (isnan (in->shares)) {
                /* Unknown weight: nothing to judge against. */
                ret->state = st->limit;
                ret->target_bps = NAN;
                ret->want_raise_bps = st->limit.set_bps > 0 ? st->limit.set_bps - st->limit.floor_bps : 0;
                ret->reason = AUGUR_IO_REASON_NONE;
                ret->veto = AUGUR_IO_VETO_NOT_SUSTAINED;
                ret->yielded = FALSE;
                return;
        }
        if (augur_limit_plan_begin (in->shares, &st->limit, ret))
                return;
        /* No raise on stale or absurd data; no quiet either (a raise in
         * force is held). */
        burst = in->fresh && !absurd && !isnan (in->demand_cores) && in->demand_cores >= bar;
        quiet = !absurd && !isnan (used) && used < bar;
        augur_limit_plan_decide (burst, NAN, quiet, floor (ceiling), &c->limit, now_s, ret);
        ret->target_bps = floor (ret->target_bps);
        ret->want_raise_bps = MAX (ret->target_bps - ret->state.floor_bps, 0);
}
