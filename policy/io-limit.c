/* io-limit.c — the I/O limit planner (see io-limit.h). */
#include "config.h"

#include "io-limit.h"
#include "io-forecast.h"

#include <math.h>
#include <string.h>

/* Two limits closer than this are the same, bytes/s: libvirt keeps them
 * as integers and QEMU rounds nothing, so a difference is someone's. */
#define SAME_BPS 1.0

static const char *const reason_names[AUGUR_IO_REASON_N] = {
        "none", "forecast-burst", "restore", "yield", "at-limit",
};
static const char *const veto_names[AUGUR_IO_VETO_N] = {
        "none", "no-limit", "no-ceiling", "not-sustained", "cooldown", "budget",
};

#define MIB 1048576.0
const AugurIoKindInfo augur_io_kind_info[AUGUR_IO_KIND_N] = {
        [AUGUR_IO_KIND_TOTAL] = { "io-total", "limit", FALSE, "B/s", "MiB/s", MIB, "total" },
        [AUGUR_IO_KIND_READ] = { "io-read", "read limit", FALSE, "B/s", "MiB/s", MIB, "read" },
        [AUGUR_IO_KIND_WRITE] = { "io-write", "write limit", FALSE, "B/s", "MiB/s", MIB, "write" },
        [AUGUR_IO_KIND_NET_IN] = { "net-in", "inbound limit", TRUE, "B/s", "MiB/s", MIB, "rx" },
        [AUGUR_IO_KIND_NET_OUT] = { "net-out", "outbound limit", TRUE, "B/s", "MiB/s", MIB, "tx" },
        [AUGUR_IO_KIND_TOTAL_IOPS] = { "io-total-iops", "IOPS limit", FALSE, "IO/s", "IO/s", 1, "total IOPS" },
        [AUGUR_IO_KIND_READ_IOPS] = { "io-read-iops", "read IOPS limit", FALSE, "IO/s", "IO/s", 1, "read IOPS" },
        [AUGUR_IO_KIND_WRITE_IOPS] = { "io-write-iops", "write IOPS limit", FALSE, "IO/s", "IO/s", 1, "write IOPS" },
};

AugurIoKind
augur_io_kind_from_name (const char *name)
{
        for (int k = 0; k < AUGUR_IO_KIND_N; k++)
                if (g_strcmp0 (name, augur_io_kind_info[k].name) == 0)
                        return k;
        return AUGUR_IO_KIND_N;
}

gboolean
augur_io_kind_is_iops (AugurIoKind k)
{
        g_return_val_if_fail (k < AUGUR_IO_KIND_N, FALSE);
        return strcmp (augur_io_kind_info[k].unit, "IO/s") == 0;
}

char *
augur_io_kind_format (AugurIoKind k, double v, gboolean with_unit)
{
        const AugurIoKindInfo *ki;
        double x;

        g_return_val_if_fail (k < AUGUR_IO_KIND_N, NULL);
        ki = &augur_io_kind_info[k];
        if (isnan (v))
                return g_strdup ("?");
        x = v / ki->shown_per_unit;
        /* IO/s are whole requests; MiB/s to three digits (0.5, 22.5, 40),
         * and under a KiB/s as 0 (no 2.86e-11 MiB/s in a table). */
        if (fabs (x) < 1.0 / 1024)
                x = 0;
        if (ki->shown_per_unit == 1)
                return g_strdup_printf ("%.0f%s%s", x, with_unit ? " " : "", with_unit ? ki->shown_unit : "");
        return g_strdup_printf ("%.3g%s%s", x, with_unit ? " " : "", with_unit ? ki->shown_unit : "");
}

const char *
augur_io_reason_name (AugurIoReason r)
{
        return r < AUGUR_IO_REASON_N ? reason_names[r] : "?";
}

const char *
augur_io_veto_name (AugurIoVeto v)
{
        return v < AUGUR_IO_VETO_N ? veto_names[v] : "?";
}

void
augur_io_plan_config_init (AugurIoPlanConfig *c)
{
        c->raise_frac = 0.8;
        c->headroom = 1.5;
        c->quiet_sustain_s = 10;
        c->restore_step_s = 5;
}

void
augur_io_limit_state_init (AugurIoLimitState *s)
{
        s->seen = FALSE;
        s->floor_bps = 0;
        s->set_bps = 0;
        s->quiet_since_s = NAN;
        s->last_change_s = -INFINITY;
}

/* Rule 4's next step down from set toward floor. */
static double
restore_step (double set, double floor)
{
        double next = floor + (set - floor) / 2;

        return next - floor <= floor ? floor : next;
}

gboolean
augur_limit_plan_begin (double limit, const AugurIoLimitState *st, AugurIoPlan *ret)
{
        AugurIoLimitState *s = &ret->state;

        if (isnan (limit) || limit < 0)
                limit = 0;
        *s = *st;
        ret->reason = AUGUR_IO_REASON_NONE;
        ret->veto = AUGUR_IO_VETO_NONE;
        ret->yielded = FALSE;
        ret->target_bps = limit;
        ret->want_raise_bps = 0;

        /* Rule 1: first sight, or someone else's change. */
        if (!s->seen) {
                s->seen = TRUE;
                s->floor_bps = limit;
                s->set_bps = 0;
        } else if (fabs (limit - (s->set_bps > 0 ? s->set_bps : s->floor_bps)) > SAME_BPS) {
                s->floor_bps = limit;
                s->set_bps = 0;
                s->quiet_since_s = NAN;
                ret->yielded = TRUE;
                ret->reason = AUGUR_IO_REASON_YIELD;
        }
        if (s->floor_bps <= 0) {
                ret->veto = AUGUR_IO_VETO_NO_LIMIT;
                return TRUE;
        }
        return ret->yielded;    /* the admin's value stands this tick */
}

void
augur_limit_plan_decide (gboolean burst, double want, gboolean quiet, double ceiling, const AugurIoPlanConfig *c,
                         double now_s, AugurIoPlan *ret)
{
        AugurIoLimitState *s = &ret->state;
        double limit = ret->target_bps;
        gboolean holding = s->set_bps > 0;

        if (isnan (ceiling))
                ceiling = 0;
        if (ceiling > s->floor_bps && burst) {
                /* Rule 3. */
                s->quiet_since_s = NAN;
                want = isnan (want) ? ceiling : CLAMP (want, s->floor_bps, ceiling);
                if (holding)
                        want = MAX (want, MIN (s->set_bps, ceiling));
                ret->target_bps = want;
                ret->want_raise_bps = want - s->floor_bps;
                if (fabs (want - limit) > SAME_BPS)
                        ret->reason = AUGUR_IO_REASON_FORECAST_BURST;
                return;
        }
        if (!holding) {
                if (ceiling <= s->floor_bps)
                        ret->veto = AUGUR_IO_VETO_NO_CEILING;
                return;
        }
        if (ceiling <= s->floor_bps) {
                /* Rule 2: the ceiling went (or fell to the floor): augur
                 * may no longer hold any raise. */
                ret->target_bps = s->floor_bps;
                ret->reason = AUGUR_IO_REASON_RESTORE;
                return;
        }
        /* Rule 4. */
        ret->want_raise_bps = s->set_bps - s->floor_bps;
        if (burst || !quiet) {
                s->quiet_since_s = NAN;
                ret->veto = AUGUR_IO_VETO_NOT_SUSTAINED;
                return;
        }
        if (isnan (s->quiet_since_s))
                s->quiet_since_s = now_s;
        if (now_s - s->quiet_since_s < c->quiet_sustain_s) {
                ret->veto = AUGUR_IO_VETO_NOT_SUSTAINED;
                return;
        }
        if (now_s - s->last_change_s < c->restore_step_s) {
                ret->veto = AUGUR_IO_VETO_COOLDOWN;
                return;
        }
        want = MIN (restore_step (s->set_bps, s->floor_bps), ceiling);
        ret->target_bps = want;
        ret->want_raise_bps = want - s->floor_bps;
        ret->reason = AUGUR_IO_REASON_RESTORE;
}

void
augur_io_plan (const AugurIoLimitInput *in, const AugurIoPlanConfig *c, const AugurIoLimitState *st,
               double now_s, AugurIoPlan *ret)
{
        double ceiling = isnan (in->ceiling_bps) ? 0 : in->ceiling_bps;
        double bar, want;
        gboolean burst, quiet, at_limit;

        if (augur_limit_plan_begin (in->limit_bps, st, ret))
                return;
        bar = c->raise_frac * ret->state.floor_bps;
        burst = !isnan (in->upper_bps) && in->upper_bps >= bar;
        want = in->censored ? ceiling : in->upper_bps * c->headroom;
        /* Rule 3b: at the limit in force now. */
        at_limit = !isnan (in->rate_bps) && ret->target_bps > 0 &&
                   in->rate_bps >= AUGUR_IO_AT_LIMIT_FRAC * ret->target_bps;
        if (at_limit)
                want = ceiling;
        quiet = !isnan (in->rate_bps) && in->rate_bps < bar;
        augur_limit_plan_decide (burst || at_limit, want, quiet, ceiling, c, now_s, ret);
        if (at_limit && ret->reason == AUGUR_IO_REASON_FORECAST_BURST)
                ret->reason = AUGUR_IO_REASON_AT_LIMIT;
}

gboolean
augur_io_arbitrate (AugurIoPlan *plans, const int *priority, gsize n, double budget_bps)
{
        g_autofree AugurArbItem *items = NULL;
        gboolean fits = TRUE;

        if (!(budget_bps > 0))
                return TRUE;
        items = g_new0 (AugurArbItem, MAX (n, 1));
        for (gsize i = 0; i < n; i++) {
                items[i].want_kib = MAX (plans[i].want_raise_bps, 0);
                items[i].alloc_kib = NAN;
                items[i].priority = priority ? priority[i] : 1000;
        }
        augur_policy_arbitrate (items, n, budget_bps);
        for (gsize i = 0; i < n; i++) {
                AugurIoPlan *p = &plans[i];
                double floor = plans[i].state.floor_bps, cut;

                if (!(items[i].granted_kib < items[i].want_kib - SAME_BPS))
                        continue;
                fits = FALSE;
                cut = floor + MAX (items[i].granted_kib, 0);
                if (cut >= p->target_bps)
                        continue;
                p->target_bps = MAX (cut, floor);
                p->want_raise_bps = p->target_bps - floor;
                p->veto = AUGUR_IO_VETO_BUDGET;
                if (p->reason == AUGUR_IO_REASON_NONE)
                        p->reason = AUGUR_IO_REASON_RESTORE;
        }
        return fits;
}

void
augur_io_limit_applied (AugurIoLimitState *s, double target_bps, double now_s)
{
        s->set_bps = target_bps > s->floor_bps + SAME_BPS ? target_bps : 0;
        s->last_change_s = now_s;
        if (s->set_bps == 0)
                s->quiet_since_s = NAN;
}
