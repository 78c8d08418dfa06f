/* test-predictor-cpu.c — the PERIOD-RESOLVED CPU rule of model/predictor.c
 * (design comment there): with a period shorter than a slow step, the cpu
 * upper bound between periodic bursts falls to the idle level, and rises
 * again before the next burst; without a period it does not fall.
 *
 * The signal is what augurd feeds at a 1 s tick for the vCPU lead test
 * (tests/integration/resize-vcpu.sh): 2 vCPUs maximum, a burst of ~1.9
 * cores for 10 ticks every 40, ~0.02 cores otherwise, flat memory. */
#include "config.h"

#include <math.h>

#include "predictor.h"
#include "testutil.h"

#define CORES     2.0
#define PERIOD    40
#define HOLD      10
#define LEAD      5             /* ticks the policy looks ahead (~4.7 s)   */
#define TS0       1700000000

typedef gboolean (*BusyFn) (guint t);

static gboolean
periodic_busy (guint t)
{
        return t % PERIOD < HOLD;
}

/* Bursts of the same length and duty cycle at irregular starts: gaps of
 * 20..60 ticks from testutil's LCG (no period to find). */
static gboolean
aperiodic_busy (guint t)
{
        static guint next_start = 30, end = 0;
        static guint64 lcg = 12345;

        if (t == 0) {
                next_start = 30;
                end = 0;
                lcg = 12345;
        }
        if (t == next_start) {
                end = t + HOLD;
                next_start = end + 20 + (guint) ((augur_test_lcg (&lcg) >> 33) % 41);
        }
        return t < end;
}

/* Max over horizons 1..LEAD of the cpu upper bound, cores. */
static double
lead_upper (const AugurPredictorOut *o)
{
        double m = NAN;

        for (guint h = 0; h < LEAD && h < o->H; h++)
                if (!isnan (o->cpu_upper_cores[h]) && (isnan (m) || o->cpu_upper_cores[h] > m))
                        m = o->cpu_upper_cores[h];
        return m;
}

/* Runs n ticks of busy(); writes the mean lead upper over the idle middle
 * of each late gap (ticks HOLD+4 .. PERIOD-LEAD-2 of the phase, where the
 * next burst is beyond the lead window) and the min lead upper just
 * before each late burst (phase PERIOD-3). */
static void
run (BusyFn busy, guint n, double *ret_gap_upper, double *ret_pre_upper, guint *ret_period)
{
        g_autoptr (GError) error = NULL;
        g_autoptr (AugurPredictor) p = NULL;
        g_autoptr (AugurPredictorVm) v = NULL;
        AugurPredictorConfig cfg;
        double gap_sum = 0, pre_min = INFINITY;
        guint gap_n = 0;

        augur_predictor_config_init (&cfg);
        cfg.tick_s = 1;
        p = augur_predictor_new (NULL, &cfg, &error);
        g_assert_no_error (error);
        v = augur_predictor_vm_new (p, "burst-guest");
        busy (0);
        for (guint t = 0; t < n; t++) {
                AugurFeatSample x;
                AugurPredictorOut o;
                guint phase = t % PERIOD;
                double used = busy (t) ? 1.9 : 0.02;

                for (int c = 0; c < AUGUR_COL_N; c++)
                        x.v[c] = NAN;
                x.ts = TS0 + t;
                x.v[AUGUR_COL_CPU_CORES] = CORES;
                x.v[AUGUR_COL_CPU_PCT] = 100.0 * used / CORES;
                x.v[AUGUR_COL_MEM_PROV_KIB] = 512 * 1024;
                x.v[AUGUR_COL_MEM_USED_KIB] = 100 * 1024;
                if (!augur_predictor_step (p, v, &x, &o) || t < n - 4 * PERIOD)
                        continue;
                *ret_period = o.period[AUGUR_PRED_CPU];
                if (phase >= HOLD + 4 && phase <= PERIOD - LEAD - 2 && !busy (t)) {
                        gap_sum += lead_upper (&o);
                        gap_n++;
                }
                if (phase == PERIOD - 3)
                        pre_min = MIN (pre_min, lead_upper (&o));
        }
        g_assert_cmpuint (gap_n, >, 0);
        *ret_gap_upper = gap_sum / gap_n;
        *ret_pre_upper = pre_min;
}

/* 900 ticks: three slow buckets close (step 300 s), so the slow bound is
 * present too and must not hold the upper up either. */
static void
test_periodic_gap_falls (void)
{
        double gap, pre;
        guint period = 0;

        run (periodic_busy, 900, &gap, &pre, &period);
        g_test_message ("period %u ticks; lead upper in the gaps %.3f cores, before the burst %.3f cores",
                        period, gap, pre);
        g_assert_cmpuint (period, ==, PERIOD);
        /* Fits one vCPU at the policy's 70 % target utilisation... */
        g_assert_cmpfloat (gap, <, 0.7);
        /* ...and the next burst is seen coming: 2 vCPUs at 70 %. */
        g_assert_cmpfloat (pre, >, 1.4);
}

/* Control: no period, no phase knowledge; the phase-blind bound stays and
 * says a burst may start any tick. */
static void
test_aperiodic_gap_stays (void)
{
        double gap, pre;
        guint period = 0;

        run (aperiodic_busy, 900, &gap, &pre, &period);
        g_test_message ("period %u ticks; lead upper in the gaps %.3f cores", period, gap);
        g_assert_cmpfloat (gap, >, 0.7);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/predictor/period-resolved-cpu/periodic-gap-falls", test_periodic_gap_falls);
        g_test_add_func ("/predictor/period-resolved-cpu/aperiodic-gap-stays", test_aperiodic_gap_stays);
        return g_test_run ();
}
