/* test-policy.c — the resize policy (policy/policy.c): one case per rule of
 * the design in policy.h, each driven through augur_policy_plan(). */
#include "config.h"

#include <math.h>

#include "policy.h"

#define MIB 1024.0

static AugurPolicyInput
vm (double used_mib, double alloc_mib)
{
        AugurPolicyInput in = {
                .mem_used_kib = used_mib * MIB, .mem_alloc_kib = alloc_mib * MIB,
                .mem_max_kib = 2048 * MIB, .mem_min_kib = 128 * MIB,
                .mem_stats_fresh = TRUE, .mem_pressure = FALSE,
                .cpu_cores_used = 0.2, .vcpus_online = 2, .vcpus_min = 1, .vcpus_max = 4,
                .can_offline_vcpus = TRUE, .can_add_vcpus = TRUE,
        };
        return in;
}

/* A flat forecast: p50 and upper (MiB, cores) at every horizon. */
static AugurForecast
flat (double p50_mib, double upper_mib, double cpu_upper)
{
        AugurForecast f = { .H = 12, .step_s = 5, .model = "test" };

        for (guint h = 0; h < f.H; h++) {
                f.mem_p50_kib[h] = p50_mib * MIB;
                f.mem_upper_kib[h] = upper_mib * MIB;
                f.cpu_p50_cores[h] = cpu_upper / 2;
                f.cpu_upper_cores[h] = cpu_upper;
        }
        return f;
}

static void
test_grow_fast (void)
{
        AugurPolicyConfig c;
        AugurPolicyState s;
        AugurPolicyInput in = vm (300, 400);
        AugurForecast f = flat (350, 900, 1);
        AugurPlan p;

        augur_policy_config_init (&c);
        augur_policy_state_init (&s);
        augur_policy_plan (&in, &f, &c, &s, 1000, &p);
        /* Straight to upper + headroom in one step. */
        g_assert_cmpfloat_with_epsilon (p.mem_target_kib, 900 * MIB + c.headroom_kib, 1e-6);
        g_assert_cmpint (p.mem_reason, ==, AUGUR_REASON_FORECAST_GROW);
}

static void
test_lead_window (void)
{
        AugurPolicyConfig c;
        AugurPolicyState s;
        AugurPolicyInput in = vm (300, 600);
        AugurForecast f = flat (300, 400, 1);
        AugurPlan p;

        augur_policy_config_init (&c);
        augur_policy_state_init (&s);
        /* A spike at h = 3 (15 s): seen with a 15 s lead, not with 10 s. */
        f.mem_upper_kib[2] = 1000 * MIB;
        c.lead_s = 10;
        augur_policy_plan (&in, &f, &c, &s, 0, &p);
        g_assert_cmpfloat (p.mem_target_kib, <=, 600 * MIB);
        c.lead_s = 15;
        augur_policy_plan (&in, &f, &c, &s, 0, &p);
        g_assert_cmpfloat_with_epsilon (p.mem_target_kib, 1000 * MIB + c.headroom_kib, 1e-6);
}

static void
test_shrink_slow (void)
{
        AugurPolicyConfig c;
        AugurPolicyState s;
        AugurPolicyInput in = vm (200, 1000);
        AugurForecast f = flat (200, 300, 1);
        AugurPlan p;
        double t;

        augur_policy_config_init (&c);
        augur_policy_state_init (&s);
        /* Evidence must hold for shrink_sustain_s: nothing before. */
        for (t = 0; t < c.shrink_sustain_s; t += 5) {
                augur_policy_plan (&in, &f, &c, &s, t, &p);
                g_assert_cmpfloat (p.mem_target_kib, ==, in.mem_alloc_kib);
                g_assert_cmpint (p.mem_veto, ==, AUGUR_VETO_SUSTAIN);
                s = p.state;
        }
        augur_policy_plan (&in, &f, &c, &s, t, &p);
        /* Then one bounded step. */
        g_assert_cmpfloat_with_epsilon (p.mem_target_kib, in.mem_alloc_kib - c.shrink_step_kib, 1e-6);
        g_assert_cmpint (p.mem_reason, ==, AUGUR_REASON_FORECAST_SHRINK);
        s = p.state;
        in.mem_alloc_kib = p.mem_target_kib;
        /* Cooldown before the next step. */
        augur_policy_plan (&in, &f, &c, &s, t + 5, &p);
        g_assert_cmpint (p.mem_veto, ==, AUGUR_VETO_COOLDOWN);
        augur_policy_plan (&in, &f, &c, &s, t + c.shrink_cooldown_s, &p);
        g_assert_cmpfloat (p.mem_target_kib, <, in.mem_alloc_kib);
}

static void
test_sudden_drop_is_not_evidence (void)
{
        AugurPolicyConfig c;
        AugurPolicyState s;
        AugurPolicyInput in = vm (200, 1000);
        AugurForecast low = flat (200, 300, 1), high = flat (800, 950, 1);
        AugurPlan p;

        augur_policy_config_init (&c);
        augur_policy_state_init (&s);
        augur_policy_plan (&in, &low, &c, &s, 0, &p);
        s = p.state;
        /* The demand comes back before the evidence held: reset. */
        augur_policy_plan (&in, &high, &c, &s, 30, &p);
        s = p.state;
        g_assert_cmpfloat (s.mem_shrink_since_s, <, 0);
        augur_policy_plan (&in, &low, &c, &s, c.shrink_sustain_s + 1, &p);
        g_assert_cmpint (p.mem_veto, ==, AUGUR_VETO_SUSTAIN);
}

static void
test_vetoes (void)
{
        AugurPolicyConfig c;
        AugurPolicyState s;
        AugurForecast f = flat (200, 300, 1);
        AugurPolicyInput stale = vm (200, 1000), pressure = vm (200, 1000), tiny = vm (900, 1000);
        AugurPlan p;

        augur_policy_config_init (&c);
        augur_policy_state_init (&s);
        stale.mem_stats_fresh = FALSE;
        augur_policy_plan (&stale, &f, &c, &s, 1000, &p);
        g_assert_cmpint (p.mem_veto, ==, AUGUR_VETO_STALE);
        g_assert_cmpfloat (p.mem_target_kib, ==, stale.mem_alloc_kib);
        stale.mem_stats_fresh = TRUE;
        stale.mem_used_kib = NAN;                 /* missing field: stale too */
        augur_policy_plan (&stale, &f, &c, &s, 1000, &p);
        g_assert_cmpfloat (p.mem_target_kib, >=, stale.mem_alloc_kib);

        /* Pressure: grow at once whatever the forecast says. */
        pressure.mem_pressure = TRUE;
        augur_policy_plan (&pressure, &f, &c, &s, 1000, &p);
        g_assert_cmpfloat (p.mem_target_kib, >, pressure.mem_alloc_kib);
        g_assert_cmpint (p.mem_reason, ==, AUGUR_REASON_PRESSURE);

        /* Never below observed used + reserve, whatever the forecast. */
        tiny.mem_alloc_kib = 2000 * MIB;
        s.mem_shrink_since_s = 0;
        augur_policy_plan (&tiny, &f, &c, &s, 1000, &p);
        g_assert_cmpfloat (p.mem_wanted_kib, >=, tiny.mem_used_kib + c.reserve_kib);
        g_assert_cmpfloat (p.mem_target_kib, >=, tiny.mem_used_kib + c.reserve_kib);
}

static void
test_limits_and_censored (void)
{
        AugurPolicyConfig c;
        AugurPolicyState s;
        AugurPolicyInput in = vm (500, 510);
        AugurForecast f = flat (500, 505, 1);
        AugurPlan p;

        augur_policy_config_init (&c);
        augur_policy_state_init (&s);
        /* Pinned at the allocation: demand is censored, grow. */
        augur_policy_plan (&in, &f, &c, &s, 0, &p);
        g_assert_cmpint (p.mem_reason, ==, AUGUR_REASON_CENSORED);
        g_assert_cmpfloat_with_epsilon (p.mem_target_kib, 510 * MIB * (1 + c.censored_grow_frac), 1e-6);
        /* Never above <memory>. */
        f = flat (500, 5000, 1);
        augur_policy_plan (&in, &f, &c, &s, 0, &p);
        g_assert_cmpfloat (p.mem_target_kib, ==, in.mem_max_kib);
}

static void
test_vcpus (void)
{
        AugurPolicyConfig c;
        AugurPolicyState s;
        AugurPolicyInput in = vm (200, 1000);
        AugurForecast up = flat (200, 300, 2.0), down = flat (200, 300, 0.3);
        AugurPlan p;
        double t;

        augur_policy_config_init (&c);
        augur_policy_state_init (&s);
        /* 2.0 cores / 0.7 = 2.86 -> 3 vCPUs, at once. */
        augur_policy_plan (&in, &up, &c, &s, 0, &p);
        g_assert_cmpint (p.vcpus_target, ==, 3);
        /* Saturated online vCPUs are censored: one more. */
        in.cpu_cores_used = 1.98;
        augur_policy_plan (&in, &down, &c, &s, 0, &p);
        g_assert_cmpint (p.vcpus_target, ==, 3);
        g_assert_cmpint (p.cpu_reason, ==, AUGUR_REASON_CENSORED);
        /* Down: one at a time, after sustain, only with the agent. */
        in.cpu_cores_used = 0.1;
        in.vcpus_online = 4;
        in.can_offline_vcpus = FALSE;
        for (t = 0; t <= c.shrink_sustain_s + c.shrink_cooldown_s; t += 5) {
                augur_policy_plan (&in, &down, &c, &s, t, &p);
                g_assert_cmpint (p.vcpus_target, ==, 4);
                g_assert_cmpint (p.cpu_veto, ==, AUGUR_VETO_NO_AGENT);
        }
        in.can_offline_vcpus = TRUE;
        augur_policy_state_init (&s);
        for (t = 0; t < c.shrink_sustain_s; t += 5) {
                augur_policy_plan (&in, &down, &c, &s, t, &p);
                g_assert_cmpint (p.vcpus_target, ==, 4);
                s = p.state;
        }
        augur_policy_plan (&in, &down, &c, &s, t, &p);
        g_assert_cmpint (p.vcpus_target, ==, 3);
}

/* Give back only on evidence: the forecast wants fewer vCPUs AND the
 * observed cores fit in one vCPU less at the target utilisation
 * (policy.h).  Boundary in threes around (online - 1) x util. */
static void
test_vcpus_give_back_needs_observed (void)
{
        static const struct {
                double used;            /* observed cores, 2 online, util 0.7 */
                gboolean down;          /* one vCPU given back after sustain  */
        } rows[] = {
                { 0.69, TRUE }, { 0.70, TRUE }, { 0.71, FALSE }, { 0.05, TRUE }, { NAN, TRUE },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                AugurPolicyConfig c;
                AugurPolicyState s;
                AugurPolicyInput in = vm (200, 1000);
                AugurForecast low = flat (200, 300, 0.3);   /* wants 1 vCPU */
                AugurPlan p = { 0 };
                gboolean went_down = FALSE;

                g_test_message ("row %zu: observed %.2f cores", i, rows[i].used);
                augur_policy_config_init (&c);
                augur_policy_state_init (&s);
                in.vcpus_online = 2;
                in.cpu_cores_used = rows[i].used;
                for (double t = 0; t <= 2 * (c.shrink_sustain_s + c.shrink_cooldown_s); t += 1) {
                        augur_policy_plan (&in, &low, &c, &s, t, &p);
                        s = p.state;
                        g_assert_cmpint (p.vcpus_target, >=, 1);
                        if (p.vcpus_target < in.vcpus_online) {
                                went_down = TRUE;
                                g_assert_cmpint (p.cpu_reason, ==, AUGUR_REASON_FORECAST_SHRINK);
                                break;
                        }
                        if (!rows[i].down)
                                g_assert_cmpint (p.cpu_veto, ==, AUGUR_VETO_BUSY);
                }
                g_assert_cmpint (went_down, ==, rows[i].down);
        }
}

/* A busy tick inside the sustain window restarts the clock: the evidence
 * must hold for shrink_sustain_s without a break. */
static void
test_vcpus_busy_tick_restarts_sustain (void)
{
        AugurPolicyConfig c;
        AugurPolicyState s;
        AugurPolicyInput in = vm (200, 1000);
        AugurForecast low = flat (200, 300, 0.3);
        AugurPlan p;
        double t, busy_at;

        augur_policy_config_init (&c);
        augur_policy_state_init (&s);
        in.vcpus_online = 2;
        in.cpu_cores_used = 0.05;
        for (t = 0; t < c.shrink_sustain_s - 1; t += 1) {
                augur_policy_plan (&in, &low, &c, &s, t, &p);
                s = p.state;
        }
        busy_at = t;
        in.cpu_cores_used = 1.2;
        augur_policy_plan (&in, &low, &c, &s, t, &p);
        s = p.state;
        g_assert_cmpint (p.cpu_veto, ==, AUGUR_VETO_BUSY);
        in.cpu_cores_used = 0.05;
        for (t += 1; t < busy_at + 1 + c.shrink_sustain_s; t += 1) {
                augur_policy_plan (&in, &low, &c, &s, t, &p);
                s = p.state;
                g_assert_cmpint (p.vcpus_target, ==, 2);
        }
        augur_policy_plan (&in, &low, &c, &s, t, &p);
        g_assert_cmpint (p.vcpus_target, ==, 1);
        g_assert_cmpstr (augur_veto_name (AUGUR_VETO_BUSY), ==, "observed-busy");
}

/* A burst forecast beyond the lead window but within lead + cooldown: the
 * vCPU is not given back (it would be plugged back within the cooldown);
 * a burst beyond that window does not stop the give-back.  Boundary in
 * threes around the window's last step. */
static void
test_vcpus_regrow_soon (void)
{
        static const struct {
                guint burst_step;       /* first horizon (1-based) of the burst */
                gboolean down;
        } rows[] = {
                { 7, FALSE }, { 8, FALSE }, { 9, TRUE }, { 3, FALSE }, { 20, TRUE },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                AugurPolicyConfig c;
                AugurPolicyState s;
                AugurPolicyInput in = vm (200, 1000);
                AugurForecast f = flat (200, 300, 0.05);
                AugurPlan p = { 0 };
                gboolean went_down = FALSE;

                g_test_message ("row %zu: burst from horizon %u", i, rows[i].burst_step);
                augur_policy_config_init (&c);
                c.lead_s = 5;                   /* 5 steps of 1 s */
                c.shrink_sustain_s = 6;
                c.shrink_cooldown_s = 3;        /* give-back window: 8 steps */
                f.step_s = 1;
                f.H = 24;
                for (guint h = 0; h < f.H; h++) {
                        double cores = h + 1 >= rows[i].burst_step && h + 1 < rows[i].burst_step + 10 ? 1.9 : 0.05;

                        f.cpu_p50_cores[h] = cores;
                        f.cpu_upper_cores[h] = cores;
                }
                augur_policy_state_init (&s);
                in.vcpus_online = 2;
                in.cpu_cores_used = 0.02;
                for (double t = 0; t <= 3 * c.shrink_sustain_s; t += 1) {
                        augur_policy_plan (&in, &f, &c, &s, t, &p);
                        s = p.state;
                        if (p.vcpus_target < in.vcpus_online) {
                                went_down = TRUE;
                                break;
                        }
                        if (!rows[i].down && rows[i].burst_step > 5)
                                g_assert_cmpint (p.cpu_veto, ==, AUGUR_VETO_REGROW);
                }
                g_assert_cmpint (went_down, ==, rows[i].down);
        }
}

/* Agent absent, a periodic burst forecast: vCPUs still grow (hotplug) before
 * each burst, are never shrunk, and every tick that wanted fewer says why. */
static void
test_vcpus_no_agent_periodic (void)
{
        AugurPolicyConfig c;
        AugurPolicyState s;
        AugurPolicyInput in = vm (200, 1000);
        AugurForecast burst = flat (200, 300, 1.9), idle = flat (200, 300, 0.05);
        AugurPlan p;
        guint grows = 0, vetoed = 0;

        augur_policy_config_init (&c);
        augur_policy_state_init (&s);
        in.vcpus_online = 1;
        in.vcpus_max = 2;
        in.can_offline_vcpus = FALSE;
        for (int t = 0; t < 400; t++) {
                gboolean pre_burst = t % 40 >= 35 || t % 40 < 10;

                in.cpu_cores_used = t % 40 < 10 ? 1.9 : 0.02;
                in.can_add_vcpus = in.vcpus_online < in.vcpus_max;
                augur_policy_plan (&in, pre_burst ? &burst : &idle, &c, &s, t, &p);
                s = p.state;
                g_assert_cmpint (p.vcpus_target, >=, in.vcpus_online);
                if (p.vcpus_target > in.vcpus_online)
                        grows++;
                if (p.vcpus_wanted < in.vcpus_online) {
                        g_assert_cmpint (p.cpu_veto, ==, AUGUR_VETO_NO_AGENT);
                        vetoed++;
                }
                in.vcpus_online = p.vcpus_target;
        }
        g_assert_cmpuint (grows, ==, 1);        /* once up, it stays up */
        g_assert_cmpuint (vetoed, >, 0);
        g_assert_cmpint (in.vcpus_online, ==, 2);
}

/* With the agent, the same periodic forecast: up before each burst, back to
 * one vCPU in each gap after sustain + cooldown (test-scale constants). */
static void
test_vcpus_periodic_give_back (void)
{
        AugurPolicyConfig c;
        AugurPolicyState s;
        AugurPolicyInput in = vm (200, 1000);
        AugurForecast burst = flat (200, 300, 1.9), idle = flat (200, 300, 0.05);
        AugurPlan p;
        guint ready = 0, back = 0;

        augur_policy_config_init (&c);
        c.shrink_sustain_s = 6;
        c.shrink_cooldown_s = 3;
        augur_policy_state_init (&s);
        in.vcpus_online = 1;
        in.vcpus_max = 2;
        for (int t = 0; t < 400; t++) {
                int phase = t % 40;
                gboolean pre_burst = phase >= 35 || phase < 10;

                if (phase == 0 && in.vcpus_online == 2)
                        ready++;
                in.cpu_cores_used = phase < 10 ? MIN (1.9, in.vcpus_online) : 0.02;
                in.can_add_vcpus = in.vcpus_online < in.vcpus_max;
                augur_policy_plan (&in, pre_burst ? &burst : &idle, &c, &s, t, &p);
                s = p.state;
                in.vcpus_online = p.vcpus_target;
                if (phase == 30 && in.vcpus_online == 1)
                        back++;
        }
        g_assert_cmpuint (ready, >=, 9);        /* every burst but the first */
        g_assert_cmpuint (back, ==, 10);        /* every gap */
}

static void
test_no_forecast_holds (void)
{
        AugurPolicyConfig c;
        AugurPolicyState s;
        AugurPolicyInput in = vm (200, 1000);
        AugurPlan p;

        augur_policy_config_init (&c);
        augur_policy_state_init (&s);
        augur_policy_plan (&in, NULL, &c, &s, 0, &p);
        g_assert_cmpfloat (p.mem_target_kib, ==, in.mem_alloc_kib);
        g_assert_cmpint (p.mem_veto, ==, AUGUR_VETO_NO_FORECAST);
        g_assert_cmpint (p.vcpus_target, ==, in.vcpus_online);
}

static void
test_reactive (void)
{
        AugurPolicyConfig c;
        AugurPolicyInput in = vm (400, 1000);
        AugurPlan p;

        augur_policy_config_init (&c);
        c.buffer = 0.2;
        augur_policy_plan_reactive (&in, &c, 0, &p);
        g_assert_cmpfloat_with_epsilon (p.mem_target_kib, 480 * MIB, 1e-6);
}

static void
test_arbitrate (void)
{
        /* Budget 3000: A wants 2000 (floor 500, priority 3000), B wants 2000
         * (floor 500, priority 1000).  Floors take 1000; 2000 left split 3:1. */
        AugurArbItem it[2] = {
                { .want_kib = 2000, .floor_kib = 500, .priority = 3000 },
                { .want_kib = 2000, .floor_kib = 500, .priority = 1000 },
        };

        g_assert_true (augur_policy_arbitrate (it, 2, 3000));
        g_assert_cmpfloat_with_epsilon (it[0].granted_kib, 2000, 1e-6);   /* capped at want */
        g_assert_cmpfloat_with_epsilon (it[1].granted_kib, 1000, 1e-6);   /* the rest */
        g_assert_false (it[0].lost);
        g_assert_true (it[1].lost);
        g_assert_cmpfloat_with_epsilon (it[0].granted_kib + it[1].granted_kib, 3000, 1e-6);

        /* Everything fits: everyone gets the want. */
        it[0].want_kib = 1000;
        it[1].want_kib = 1000;
        g_assert_true (augur_policy_arbitrate (it, 2, 3000));
        g_assert_cmpfloat (it[1].granted_kib, ==, 1000);

        /* Floors alone exceed the budget: nobody below its floor that it
         * has, nobody grown past it; what is left of the budget tops up. */
        it[0].want_kib = it[1].want_kib = 2000;
        it[0].floor_kib = it[1].floor_kib = 1800;
        it[0].alloc_kib = it[1].alloc_kib = NAN;
        g_assert_false (augur_policy_arbitrate (it, 2, 3000));
        g_assert_cmpfloat (it[0].granted_kib, ==, 1800);
        g_assert_cmpfloat (it[1].granted_kib, ==, 1800);
        it[0].alloc_kib = 1900;
        it[1].alloc_kib = 1000;
        g_assert_false (augur_policy_arbitrate (it, 2, 3000));
        g_assert_cmpfloat (it[0].granted_kib, ==, 1800);
        g_assert_cmpfloat (it[1].granted_kib, ==, 1200);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/policy/memory/grow-fast", test_grow_fast);
        g_test_add_func ("/policy/memory/lead-window", test_lead_window);
        g_test_add_func ("/policy/memory/shrink-slow", test_shrink_slow);
        g_test_add_func ("/policy/memory/sudden-drop-is-not-evidence", test_sudden_drop_is_not_evidence);
        g_test_add_func ("/policy/memory/vetoes", test_vetoes);
        g_test_add_func ("/policy/memory/limits-and-censored", test_limits_and_censored);
        g_test_add_func ("/policy/vcpus", test_vcpus);
        g_test_add_func ("/policy/vcpus/give-back-needs-observed", test_vcpus_give_back_needs_observed);
        g_test_add_func ("/policy/vcpus/busy-tick-restarts-sustain", test_vcpus_busy_tick_restarts_sustain);
        g_test_add_func ("/policy/vcpus/regrow-soon", test_vcpus_regrow_soon);
        g_test_add_func ("/policy/vcpus/no-agent-periodic", test_vcpus_no_agent_periodic);
        g_test_add_func ("/policy/vcpus/periodic-give-back", test_vcpus_periodic_give_back);
        g_test_add_func ("/policy/no-forecast-holds", test_no_forecast_holds);
        g_test_add_func ("/policy/reactive", test_reactive);
        g_test_add_func ("/policy/arbitrate", test_arbitrate);
        return g_test_run ();
}
