/* test-cpu-weight.c — the CPU weight planner (policy/cpu-weight.h): a
 * test per rule: never above the ceiling, never below the admin's value,
 * yield to a hand change, restore in steps after sustained quiet, no
 * raise on stale or absurd data, and the host budget. */
#include "config.h"

#include "cpu-weight.h"

#include <math.h>

#define FLOOR 1024.0
#define CEILING 8192.0
#define TICK_S 2.0

typedef struct {
        AugurCpuWeightConfig c;
        AugurCpuWeightState st;
        double shares;            /* in force, as the host would read it */
        double now_s;
} Fix;

static void
fix_init (Fix *f)
{
        augur_cpu_weight_config_init (&f->c);
        augur_cpu_weight_state_init (&f->st);
        f->shares = FLOOR;
        f->now_s = 1000;
}

/* One tick: plan with (used, demand), apply the target as augurd does. */
static AugurIoPlan
tick_full (Fix *f, double used, double demand, gboolean fresh, double ceiling)
{
        AugurCpuWeightInput in = { .shares = f->shares, .cores_used = used, .demand_cores = demand,
                                   .vcpus_max = 4, .fresh = fresh, .ceiling = ceiling };
        AugurIoPlan p;

        augur_cpu_weight_plan (&in, &f->c, &f->st, f->now_s, &p);
        f->st.limit = p.state;
        if (p.reason == AUGUR_IO_REASON_FORECAST_BURST || p.reason == AUGUR_IO_REASON_RESTORE) {
                augur_io_limit_applied (&f->st.limit, p.target_bps, f->now_s);
                f->shares = p.target_bps;
        }
        g_assert_cmpfloat (f->shares, >=, f->st.limit.floor_bps);
        if (!isnan (ceiling) && ceiling > f->st.limit.floor_bps)
                g_assert_cmpfloat (f->shares, <=, MIN (ceiling, AUGUR_CPU_SHARES_MAX));
        f->now_s += TICK_S;
        return p;
}

static AugurIoPlan
tick (Fix *f, double used, double demand)
{
        return tick_full (f, used, demand, TRUE, CEILING);
}

static void
test_raise_to_ceiling (void)
{
        Fix f;
        AugurIoPlan p;

        fix_init (&f);
        p = tick (&f, 0.05, 0.1);
        g_assert_cmpint (p.reason, ==, AUGUR_IO_REASON_NONE);
        g_assert_cmpfloat (f.st.limit.floor_bps, ==, FLOOR);
        /* Below / above the bar: burst_cores over the base (0.05). */
        p = tick (&f, 0.05, 0.29);
        g_assert_cmpint (p.reason, ==, AUGUR_IO_REASON_NONE);
        g_assert_cmpfloat (f.shares, ==, FLOOR);
        p = tick (&f, 0.05, 0.31);
        g_assert_cmpint (p.reason, ==, AUGUR_IO_REASON_FORECAST_BURST);
        g_assert_cmpfloat (p.target_bps, ==, CEILING);
        p = tick (&f, 1.0, 3.9);
        g_assert_cmpint (p.reason, ==, AUGUR_IO_REASON_NONE);   /* held, not raised again */
        g_assert_cmpfloat (f.shares, ==, CEILING);
}

static void
test_never_above_ceiling (void)
{
        Fix f;
        AugurIoPlan p;

        /* A ceiling above libvirt's range is libvirt's maximum. */
        fix_init (&f);
        p = tick_full (&f, 0.1, 2, TRUE, 1e9);
        g_assert_cmpfloat (p.target_bps, ==, AUGUR_CPU_SHARES_MAX);
        /* The ceiling lowered while a raise is held: down to it at once. */
        p = tick_full (&f, 2, 2, TRUE, 4096.5);
        g_assert_cmpfloat (p.target_bps, ==, 4096);
        /* The ceiling removed: the raise goes back to the floor at once. */
        p = tick_full (&f, 2, 2, TRUE, NAN);
        g_assert_cmpint (p.reason, ==, AUGUR_IO_REASON_RESTORE);
        g_assert_cmpfloat (p.target_bps, ==, FLOOR);
        /* No ceiling, or one at the floor: never raised. */
        for (int i = 0; i < 5; i++) {
                p = tick_full (&f, 2, 3, TRUE, i % 2 ? NAN : FLOOR);
                g_assert_cmpint (p.veto, ==, AUGUR_IO_VETO_NO_CEILING);
                g_assert_cmpfloat (f.shares, ==, FLOOR);
        }
}

static void
test_restore_in_steps (void)
{
        Fix f;
        AugurIoPlan p;
        const double steps[] = { 4608, 2816, FLOOR };
        guint k = 0;
        double quiet_from;

        fix_init (&f);
        tick (&f, 0.1, 1.5);
        g_assert_cmpfloat (f.shares, ==, CEILING);
        /* Busy observed use with a quiet forecast is not quiet. */
        for (int i = 0; i < 10; i++) {
                p = tick (&f, 1.2, 0.1);
                g_assert_cmpint (p.veto, ==, AUGUR_IO_VETO_NOT_SUSTAINED);
                g_assert_cmpfloat (f.shares, ==, CEILING);
        }
        /* Quiet: nothing before quiet_sustain_s, then halving steps
         * restore_step_s apart, ending at the admin's value. */
        quiet_from = f.now_s;
        while (f.now_s < quiet_from + 60) {
                double before = f.shares;

                p = tick (&f, 0.05, 0.1);
                if (p.reason != AUGUR_IO_REASON_RESTORE) {
                        g_assert_cmpfloat (f.shares, ==, before);
                        continue;
                }
                g_assert_cmpfloat (f.now_s - TICK_S - quiet_from, >=, f.c.limit.quiet_sustain_s);
                g_assert_cmpuint (k, <, G_N_ELEMENTS (steps));
                g_assert_cmpfloat (p.target_bps, ==, steps[k]);
                k++;
        }
        g_assert_cmpuint (k, ==, G_N_ELEMENTS (steps));
        g_assert_cmpfloat (f.shares, ==, FLOOR);
        g_assert_cmpfloat (f.st.limit.set_bps, ==, 0);
        /* A burst mid-restore raises it again. */
        fix_init (&f);
        tick (&f, 0.1, 1.5);
        for (int i = 0; i < 8; i++)
                tick (&f, 0.05, 0.1);
        g_assert_cmpfloat (f.shares, <, CEILING);
        p = tick (&f, 0.05, 1.0);
        g_assert_cmpint (p.reason, ==, AUGUR_IO_REASON_FORECAST_BURST);
        g_assert_cmpfloat (f.shares, ==, CEILING);
}

static void
test_yield (void)
{
        Fix f;
        AugurIoPlan p;

        fix_init (&f);
        tick (&f, 0.1, 1.5);
        g_assert_cmpfloat (f.shares, ==, CEILING);
        /* The admin sets 2048 by hand while augur holds the raise. */
        f.shares = 2048;
        p = tick (&f, 1.0, 1.5);
        g_assert_true (p.yielded);
        g_assert_cmpint (p.reason, ==, AUGUR_IO_REASON_YIELD);
        g_assert_cmpfloat (p.target_bps, ==, 2048);
        g_assert_cmpfloat (f.st.limit.floor_bps, ==, 2048);
        /* Said once; the new value is the floor from now on. */
        p = tick (&f, 1.0, 1.5);
        g_assert_false (p.yielded);
        g_assert_cmpfloat (f.shares, ==, CEILING);
        for (int i = 0; i < 40; i++) {
                p = tick (&f, 0.05, 0.1);
                g_assert_false (p.yielded);
        }
        g_assert_cmpfloat (f.shares, ==, 2048);
        /* A hand change while nothing is held is the new floor too. */
        f.shares = 512;
        p = tick (&f, 0.05, 0.1);
        g_assert_true (p.yielded);
        g_assert_cmpfloat (f.st.limit.floor_bps, ==, 512);
        for (int i = 0; i < 20; i++)
                tick (&f, 0.05, 0.1);
        g_assert_cmpfloat (f.shares, ==, 512);
}

/* No raise on stale or absurd data; and such data is no quiet either. */
static void
test_bad_input (void)
{
        static const struct {
                const char *what;
                double used, demand;
                gboolean fresh;
        } rows[] = {
                { "stale", 0.1, 3, FALSE },
                { "demand inf", 0.1, INFINITY, TRUE },
                { "demand negative", 0.1, -2, TRUE },
                { "demand above 2x vcpus_max", 0.1, 8.01, TRUE },
        };
        Fix f;
        AugurIoPlan p;

        for (guint i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_test_message ("row %s", rows[i].what);
                fix_init (&f);
                for (int t = 0; t < 10; t++) {
                        p = tick_full (&f, rows[i].used, rows[i].demand, rows[i].fresh, CEILING);
                        g_assert_cmpint (p.reason, ==, AUGUR_IO_REASON_NONE);
                        g_assert_cmpfloat (f.shares, ==, FLOOR);
                }
                /* Held, not restored, while the data stays bad. */
                tick (&f, 0.1, 2);
                g_assert_cmpfloat (f.shares, ==, CEILING);
                for (int t = 0; t < 30; t++)
                        tick_full (&f, 0.05, rows[i].demand, rows[i].fresh, CEILING);
                g_assert_cmpfloat (f.shares, ==, CEILING);
        }
        /* An absurd observed use (above the vCPU maximum) is not quiet. */
        fix_init (&f);
        tick (&f, 0.1, 2);
        for (int t = 0; t < 30; t++)
                tick (&f, 40, 0.1);
        g_assert_cmpfloat (f.shares, ==, CEILING);
        /* An unknown weight plans nothing and keeps the state. */
        {
                AugurCpuWeightInput in = { .shares = NAN, .cores_used = 1, .demand_cores = 3, .vcpus_max = 4,
                                           .fresh = TRUE, .ceiling = CEILING };
                AugurCpuWeightState st = f.st;

                augur_cpu_weight_plan (&in, &f.c, &st, f.now_s, &p);
                g_assert_cmpint (p.reason, ==, AUGUR_IO_REASON_NONE);
                g_assert_false (p.yielded);
                g_assert_cmpfloat (p.state.floor_bps, ==, FLOOR);
                g_assert_cmpfloat (p.state.set_bps, ==, CEILING);
        }
}

/* A guest busy all the time is never raised for it: a burst is a rise
 * above its usual use.  The same guest is raised for a rise above it. */
static void
test_steady (void)
{
        Fix f;
        AugurIoPlan p;

        fix_init (&f);
        for (int i = 0; i < 200; i++) {
                p = tick (&f, 1.6, 1.7);
                g_assert_cmpint (p.reason, ==, AUGUR_IO_REASON_NONE);
                g_assert_cmpfloat (f.shares, ==, FLOOR);
        }
        p = tick (&f, 1.6, 3.0);
        g_assert_cmpint (p.reason, ==, AUGUR_IO_REASON_FORECAST_BURST);
        g_assert_cmpfloat (f.shares, ==, CEILING);
        /* Back at its usual use: quiet, restored. */
        for (int i = 0; i < 30; i++)
                tick (&f, 1.6, 1.7);
        g_assert_cmpfloat (f.shares, ==, FLOOR);
}

/* [host] cpu_weight_budget: raises shared by priority, never below a
 * guest's floor. */
static void
test_budget (void)
{
        Fix a, b;
        AugurIoPlan plans[2];
        const int prio[2] = { 3000, 1000 };

        fix_init (&a);
        fix_init (&b);
        b.shares = 512;
        tick (&b, 0.1, 0.1);            /* b's floor: 512 */
        {
                AugurCpuWeightInput ia = { .shares = a.shares, .cores_used = 0.1, .demand_cores = 2,
                                           .vcpus_max = 4, .fresh = TRUE, .ceiling = CEILING };
                AugurCpuWeightInput ib = ia;

                ib.shares = b.shares;
                augur_cpu_weight_plan (&ia, &a.c, &a.st, a.now_s, &plans[0]);
                augur_cpu_weight_plan (&ib, &b.c, &b.st, b.now_s, &plans[1]);
        }
        g_assert_false (augur_io_arbitrate (plans, prio, 2, 4000));
        g_assert_cmpfloat (plans[0].target_bps, ==, FLOOR + 3000);
        g_assert_cmpfloat (plans[1].target_bps, ==, 512 + 1000);
        g_assert_cmpint (plans[1].veto, ==, AUGUR_IO_VETO_BUDGET);
        /* A budget of 0 is no bound. */
        plans[0].target_bps = CEILING;
        plans[0].want_raise_bps = CEILING - FLOOR;
        g_assert_true (augur_io_arbitrate (plans, prio, 1, 0));
        g_assert_cmpfloat (plans[0].target_bps, ==, CEILING);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/cpu-weight/raise-to-ceiling", test_raise_to_ceiling);
        g_test_add_func ("/cpu-weight/never-above-ceiling", test_never_above_ceiling);
        g_test_add_func ("/cpu-weight/restore-in-steps", test_restore_in_steps);
        g_test_add_func ("/cpu-weight/yield", test_yield);
        g_test_add_func ("/cpu-weight/bad-input", test_bad_input);
        g_test_add_func ("/cpu-weight/steady", test_steady);
        g_test_add_func ("/cpu-weight/budget", test_budget);
        return g_test_run ();
}
