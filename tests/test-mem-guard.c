/* test-mem-guard.c — the memory guard (policy/mem-guard.c) driven with
 * the policy (policy/policy.c) tick by tick, as plugin/resize.c drives
 * them.  One case per rule of mem-guard.h; each fails when its rule is
 * taken out (the comment of each case says how). */
#include "config.h"

#include <math.h>

#include "mem-guard.h"
#include "policy.h"

#define MIB 1024.0
#define TICK_S 1.0
#define LEAD_S 3.0              /* latency + a tick, as resize.c passes it */

/* One VM under the guard and the policy. */
typedef struct {
        AugurGuardState g;
        AugurPolicyState ps;
        AugurPolicyConfig pc;
        AugurGuardOut out;
        AugurPlan plan;
        double alloc_mib, max_mib, target_mib;
        double oom_kills, psi;
        double slack;           /* host slack g */
        double t;
} Sim;

static void
sim_init (Sim *s, double alloc_mib, double max_mib)
{
        *s = (Sim) { .alloc_mib = alloc_mib, .max_mib = max_mib, .target_mib = NAN,
                     .oom_kills = NAN, .psi = NAN, .slack = 0, .t = 1e6 };
        augur_guard_init (&s->g);
        augur_policy_state_init (&s->ps);
        augur_policy_config_init (&s->pc);
        s->pc.lead_s = LEAD_S + 5;
}

static AugurForecast
flat (double mib)
{
        AugurForecast f = { .H = 12, .step_s = TICK_S, .model = "test" };

        for (guint h = 0; h < f.H; h++) {
                f.mem_p50_kib[h] = f.mem_upper_kib[h] = mib * MIB;
                f.cpu_p50_cores[h] = f.cpu_upper_cores[h] = 0.1;
        }
        return f;
}

/* One tick: used now (MiB), a forecast upper (MiB, NAN = none); the plan
 * is applied at once (the balloon follows within the tick). */
static void
sim_tick (Sim *s, double used_mib, double forecast_mib)
{
        AugurForecast f = flat (forecast_mib);
        const AugurForecast *fp = isnan (forecast_mib) ? NULL : &f;
        AugurPolicyInput in = {
                .mem_used_kib = used_mib * MIB, .mem_alloc_kib = s->alloc_mib * MIB,
                .mem_max_kib = s->max_mib * MIB, .mem_min_kib = NAN,
                .mem_stats_fresh = TRUE, .cpu_cores_used = 0.1, .vcpus_online = 1,
                .vcpus_min = 1, .vcpus_max = 1,
        };
        AugurGuardInput gi = {
                .now_s = s->t, .tick_s = TICK_S, .lead_s = LEAD_S,
                .used_kib = used_mib * MIB, .alloc_kib = s->alloc_mib * MIB,
                .max_kib = s->max_mib * MIB, .target_kib = s->target_mib * MIB,
                .reserve_kib = s->pc.reserve_kib,
                .forecast_kib = augur_policy_mem_forecast_want (fp, &s->pc),
                .fresh = TRUE, .oom_kills = s->oom_kills, .psi_mem_pct = s->psi,
        };

        augur_guard_observe (&s->g, &gi, &s->out);
        in.mem_cushion_kib = augur_guard_cushion (&s->out, in.mem_max_kib, s->pc.reserve_kib, s->slack);
        in.mem_hold_kib = s->out.hold_kib;
        augur_policy_plan (&in, fp, &s->pc, &s->ps, s->t, &s->plan);
        s->ps = s->plan.state;
        if (fabs (s->plan.mem_target_kib / MIB - s->alloc_mib) >= 1) {
                s->alloc_mib = s->plan.mem_target_kib / MIB;
                s->target_mib = s->alloc_mib;
        }
        s->t += TICK_S;
}

/* Idle at used_mib with a flat forecast for n ticks. */
static void
sim_idle (Sim *s, double used_mib, double forecast_mib, guint n)
{
        for (guint i = 0; i < n; i++)
                sim_tick (s, used_mib, forecast_mib);
}

/* A burst: used jumps from idle to idle + size in one tick, held 5 ticks. */
static void
sim_burst (Sim *s, double idle_mib, double size_mib, double forecast_mib)
{
        for (guint i = 0; i < 5; i++)
                sim_tick (s, idle_mib + size_mib, forecast_mib);
}

/* Rule 1: the guest's oom_kill count rises; augur grows at once to the
 * hold level, inside the cooldown of a shrink it just made.  Fails when
 * the event or the hold is not fed to the plan. */
static void
test_emergency_grow (void)
{
        Sim s;

        sim_init (&s, 400, 1024);
        s.oom_kills = 0;
        sim_idle (&s, 150, 150, 7200);          /* old enough, shrunk down */
        g_assert_cmpfloat (s.alloc_mib, <, 400);
        s.ps.last_mem_change_s = s.t - 1;       /* a shrink a second ago */
        {
                double before = s.alloc_mib;

                s.oom_kills = 1;
                sim_tick (&s, 150, 150);
                g_assert_cmpint (s.out.event, ==, AUGUR_GUARD_EVENT_OOM_KILL);
                g_assert_cmpint (s.plan.mem_reason, ==, AUGUR_REASON_OUT_OF_MEMORY);
                /* the failed level plus at least a quarter of it */
                g_assert_cmpfloat (s.alloc_mib, >=, 1.25 * before - 1);
                g_assert_cmpfloat (s.plan.mem_extra_kib, >, 0);
        }
        /* A count that falls (a reboot) is no event. */
        s.oom_kills = 0;
        sim_tick (&s, 150, 150);
        g_assert_cmpint (s.out.event, ==, AUGUR_GUARD_EVENT_NONE);
}

/* Rule 1: the hold — for its period no shrink goes below the level that
 * failed plus the rise cut off, however calm the history; after it,
 * shrinks resume.  Fails without the hold in the plan. */
static void
test_hold_after_oom (void)
{
        Sim s;
        double hold, failed;

        sim_init (&s, 300, 2048);
        s.oom_kills = 5;
        sim_idle (&s, 150, 150, 3700);
        failed = s.alloc_mib;
        s.oom_kills = 6;
        sim_tick (&s, 150, 150);
        hold = s.out.hold_kib / MIB;
        g_assert_cmpfloat (hold, >=, 1.25 * failed - 1);
        /* 23 h of calm: still at the hold level. */
        for (guint i = 0; i < 23 * 60; i++) {
                s.t += 59;
                sim_tick (&s, 150, 150);
                g_assert_cmpfloat (s.alloc_mib, >=, hold - 1);
        }
        /* After the hold expires the guest is given back memory. */
        for (guint i = 0; i < 120; i++) {
                s.t += 59;
                sim_tick (&s, 150, 150);
        }
        g_assert_cmpfloat (s.alloc_mib, <, hold - 1);
        /* A second event within a new hold doubles its period. */
        s.oom_kills = 7;
        sim_tick (&s, 150, 150);
        s.t += 3600;
        s.oom_kills = 8;
        sim_tick (&s, 150, 150);
        g_assert_cmpfloat (s.out.hold_until_s - s.t, >, 1.9 * AUGUR_GUARD_HOLD_S - 10);
}

/* Rule 1: censored demand — used climbs to the balloon and falls back
 * abruptly (a process killed at the limit, no count reported). */
static void
test_cut_off (void)
{
        Sim s;

        sim_init (&s, 300, 1024);
        sim_idle (&s, 150, 150, 4000);
        s.alloc_mib = 262;
        s.target_mib = 262;
        sim_tick (&s, 150, 150);
        sim_tick (&s, 255, 150);                /* at the balloon ... */
        sim_tick (&s, 150, 150);                /* ... and gone */
        g_assert_cmpint (s.out.event, ==, AUGUR_GUARD_EVENT_CUT_OFF);
        g_assert_cmpfloat (s.alloc_mib, >, 262 + 100);
        /* A job that rises and ends well below the balloon is no event. */
        sim_init (&s, 600, 1024);
        sim_idle (&s, 150, 150, 10);
        sim_tick (&s, 350, 150);
        sim_tick (&s, 150, 150);
        g_assert_cmpint (s.out.event, ==, AUGUR_GUARD_EVENT_NONE);
}

/* Rule 1 / 5: autodeflate — the balloon rises while augur's target is
 * below it: the guest deflated, which is an out-of-memory event. */
static void
test_deflated (void)
{
        Sim s;
        double a;

        sim_init (&s, 400, 1024);
        sim_idle (&s, 150, 150, 3700);          /* shrunk by augur */
        a = s.alloc_mib;
        g_assert_cmpfloat (s.target_mib, ==, a);
        s.alloc_mib = a + 40;                   /* the guest took 40 MiB back */
        sim_tick (&s, 190, 150);
        g_assert_cmpint (s.out.event, ==, AUGUR_GUARD_EVENT_DEFLATED);
        g_assert_cmpint (s.plan.mem_reason, ==, AUGUR_REASON_OUT_OF_MEMORY);
        g_assert_cmpfloat (s.alloc_mib, >, a + 40);
        /* augur's own grow is no deflation. */
        sim_init (&s, 400, 1024);
        sim_idle (&s, 150, 150, 3700);
        a = s.alloc_mib;
        s.target_mib = s.alloc_mib = a + 100;
        sim_tick (&s, 150, 150);
        g_assert_cmpint (s.out.event, ==, AUGUR_GUARD_EVENT_NONE);
}

/* Rule 2: the burst envelope — a guest that once jumped by 200 MiB
 * within a lead is never squeezed below used + 200 MiB, even with a
 * tight host and a forecast that says idle.  Fails when the cushion
 * ignores the envelope (it then shrinks to used + the reserve). */
static void
test_burst_envelope (void)
{
        Sim s;

        sim_init (&s, 700, 768);
        sim_idle (&s, 150, 150, 3700);          /* past the new-guest hour */
        sim_burst (&s, 150, 200, 150);          /* unforeseen */
        sim_idle (&s, 150, 150, 3600);
        /* an hour of decay at a 3-day half-life: 1 % */
        g_assert_cmpfloat (s.out.envelope_kib / MIB, >=, 197);
        g_assert_cmpfloat (s.alloc_mib, >=, 150 + 197);
        g_assert_cmpfloat (s.alloc_mib, <, 700);  /* but it did shrink */
        /* It decays: a month later it has faded. */
        s.t += 30 * 86400;
        sim_idle (&s, 150, 150, 1);
        g_assert_cmpfloat (s.out.envelope_kib / MIB, <, 5);
}

/* Rule 2: a new guest with no history gets 25 % of its maximum (at least
 * 256 MiB) under it, fading over its first hour. */
static void
test_new_guest (void)
{
        Sim s;

        sim_init (&s, 256, 768);
        sim_tick (&s, 150, 150);
        /* grown to used + 256 MiB at once, before any burst was seen */
        g_assert_cmpfloat (s.alloc_mib, >=, 150 + 255);
        g_assert_cmpint (s.plan.mem_reason, ==, AUGUR_REASON_CUSHION);
        sim_idle (&s, 150, 150, 1800);
        g_assert_cmpfloat (s.out.envelope_kib / MIB, >, 100);
        sim_idle (&s, 150, 150, 1900);
        g_assert_cmpfloat (s.out.envelope_kib / MIB, <, 1);
}

/* Rule 3: the host cushion — with plenty of free host memory the guest
 * keeps a generous cushion; under forecast pressure it tightens to the
 * envelope.  Fails when the slack is ignored. */
static void
test_host_cushion (void)
{
        Sim s;

        g_assert_cmpfloat (augur_guard_host_slack (0.50, 0.10, 0.30), ==, 1);
        g_assert_cmpfloat (augur_guard_host_slack (0.05, 0.10, 0.30), ==, 0);
        g_assert_cmpfloat_with_epsilon (augur_guard_host_slack (0.20, 0.10, 0.30), 0.5, 1e-9);

        sim_init (&s, 2000, 2048);
        s.slack = 1;
        sim_idle (&s, 300, 300, 7200);
        /* generous: half the maximum */
        g_assert_cmpfloat (s.alloc_mib, >=, 300 + 1024 - 1);
        s.slack = 0;
        sim_idle (&s, 300, 300, 3600);
        /* tight: the reserve (no burst seen, past the new-guest hour) */
        g_assert_cmpfloat (s.alloc_mib, <, 300 + 200);
}

/* How the envelope and the forecast combine: after two bursts the
 * forecast foresaw, a tight host takes the envelope back between jobs;
 * one unforeseen burst and the envelope is under the guest again. */
static void
test_foreseen_bursts (void)
{
        Sim s;

        sim_init (&s, 700, 768);
        sim_idle (&s, 150, 150, 3700);
        sim_burst (&s, 150, 200, 150);          /* unforeseen: envelope 200 */
        for (guint k = 0; k < 2; k++) {
                sim_idle (&s, 150, 150, 60);
                sim_idle (&s, 150, 400, 10);    /* the forecast sees it coming */
                sim_burst (&s, 150, 200, 400);
        }
        g_assert_true (s.out.confident);
        sim_idle (&s, 150, 150, 900);
        g_assert_cmpfloat (s.alloc_mib, <, 150 + 150);  /* given back */
        sim_burst (&s, 150, 200, 150);          /* missed */
        g_assert_false (s.out.confident);
        sim_idle (&s, 150, 150, 900);
        g_assert_cmpfloat (s.alloc_mib, >=, 150 + 199);
}

/* What counts as foreseen: small wobbles that any forecast covers build
 * no confidence about the 200 MiB job the envelope guards against, and a
 * forecast that covers only half of a burst is a miss.  Fails when every
 * rise above the burst minimum is scored, or when a burst is scored before
 * its peak. */
static void
test_foreseen_means_the_whole_burst (void)
{
        Sim s;

        sim_init (&s, 700, 768);
        sim_idle (&s, 150, 150, 3700);
        sim_burst (&s, 150, 200, 150);          /* unforeseen: envelope 200 */
        for (guint k = 0; k < 4; k++) {         /* 70 MiB wobbles, covered */
                sim_idle (&s, 150, 240, 60);
                sim_burst (&s, 150, 70, 240);
        }
        g_assert_false (s.out.confident);
        for (guint k = 0; k < 3; k++) {         /* the forecast sees half */
                sim_idle (&s, 150, 150, 60);
                sim_idle (&s, 150, 260, 10);
                sim_tick (&s, 250, 260);        /* half, then the rest */
                sim_idle (&s, 350, 260, 3);
        }
        g_assert_false (s.out.confident);
        sim_idle (&s, 150, 150, 900);
        g_assert_cmpfloat (s.alloc_mib, >=, 150 + 199);
}

/* Bad input: a guest that lies (oom_kill jumping every tick, PSI at
 * 100 % forever) keeps memory for itself within its maximum, but never
 * takes memory from another guest or exceeds the budget. */
static void
test_lying_guest (void)
{
        Sim liar;
        AugurArbItem honest_alone[2], with_liar[2];
        double budget = 900 * MIB;

        sim_init (&liar, 300, 768);
        liar.oom_kills = 0;
        liar.psi = 100;
        for (guint i = 0; i < 600; i++) {
                liar.oom_kills += 1000;
                sim_tick (&liar, 150, 150);
                g_assert_cmpfloat (liar.alloc_mib, <=, 768);
        }
        g_assert_cmpfloat (liar.alloc_mib, ==, 768);
        g_assert_cmpfloat (liar.plan.mem_extra_kib, >, 0);

        /* Arbitration: the honest guest wants 500 MiB; the liar's
         * ordinary want is 300, its extra what the lie asks for. */
        honest_alone[0] = (AugurArbItem) { .want_kib = 500 * MIB, .floor_kib = 200 * MIB, .priority = 1000 };
        honest_alone[1] = (AugurArbItem) { .want_kib = 300 * MIB, .floor_kib = 214 * MIB, .priority = 1000 };
        with_liar[0] = honest_alone[0];
        with_liar[1] = honest_alone[1];
        with_liar[1].extra_kib = 468 * MIB;
        augur_policy_arbitrate (honest_alone, 2, budget);
        augur_policy_arbitrate (with_liar, 2, budget);
        g_assert_cmpfloat (with_liar[0].granted_kib, ==, honest_alone[0].granted_kib);
        g_assert_cmpfloat (with_liar[0].granted_kib + with_liar[1].granted_kib, <=, budget + 1);
        /* the liar gets only what is left: 900 − 500 − 300 = 100 MiB */
        g_assert_cmpfloat_with_epsilon (with_liar[1].granted_kib, 400 * MIB, 1);
}

/* Arbitration in tiers: a guest whose forecast says its job is due gets
 * that memory before an idle guest's cushion (its envelope against a burst
 * nobody foresaw).  Budget 750 MiB, two guests idling at 150 MiB.  Fails
 * when cushions compete with needs (everything split by shares). */
static void
test_need_before_cushion (void)
{
        AugurArbItem it[2] = {
                /* A: job forecast, needs 420 */
                { .want_kib = 420 * MIB, .cushion_kib = 0, .floor_kib = 214 * MIB,
                  .alloc_kib = 380 * MIB, .priority = 1000 },
                /* B: idle, needs 280, envelope asks 200 more */
                { .want_kib = 280 * MIB, .cushion_kib = 150 * MIB, .floor_kib = 214 * MIB,
                  .alloc_kib = 370 * MIB, .priority = 1000 },
        };

        g_assert_true (augur_policy_arbitrate (it, 2, 750 * MIB));
        g_assert_cmpfloat_with_epsilon (it[0].granted_kib, 420 * MIB, 1);
        g_assert_cmpfloat_with_epsilon (it[1].granted_kib, 330 * MIB, 1);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/mem-guard/emergency-grow", test_emergency_grow);
        g_test_add_func ("/mem-guard/hold-after-oom", test_hold_after_oom);
        g_test_add_func ("/mem-guard/cut-off", test_cut_off);
        g_test_add_func ("/mem-guard/deflated", test_deflated);
        g_test_add_func ("/mem-guard/burst-envelope", test_burst_envelope);
        g_test_add_func ("/mem-guard/new-guest", test_new_guest);
        g_test_add_func ("/mem-guard/host-cushion", test_host_cushion);
        g_test_add_func ("/mem-guard/foreseen-bursts", test_foreseen_bursts);
        g_test_add_func ("/mem-guard/foreseen-means-the-whole-burst", test_foreseen_means_the_whole_burst);
        g_test_add_func ("/mem-guard/lying-guest", test_lying_guest);
        g_test_add_func ("/mem-guard/need-before-cushion", test_need_before_cushion);
        return g_test_run ();
}
