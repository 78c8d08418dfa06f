/* test-report.c — the savings report (sql/store-report.c, `virt-augur
 * report`): a small history written through the store's own API (ticks,
 * decisions, activity) with known numbers, and every figure of the report
 * checked exactly, per guest and for the host; then a window that starts
 * mid-history (state carried into it), and the built virt-augur's text
 * and --json output of the same database.
 *
 * THE HISTORY.  20 ticks 10 s apart, except the last, 700 s after the one
 * before it (a gap: that step counts for AUGUR_MAX_RATE_GAP_S = 600 s).
 * Sizes in MiB.  Used memory is in balloon terms: balloon − MemAvailable
 * (MemTotal is the balloon − 50 MiB, the kernel's reservation).
 *
 *   a  act mode, <memory> 4096, balloon 4096 4096 3072 1024, 2048 ×9
 *      (k 4..12), 3072 ×7 (k 13..19): baseline = the maximum (augur's
 *      first action found it at 4096).  Used 500, except k3 1000
 *      (shortfall: ≥ 0.94 × 1024), k5 1925 (not: < 0.94 × 2048 = 1925.12),
 *      k6 1926 (shortfall), k8 2048 (shortfall, 0 free), k15 unknown.
 *      Guard notes: an event at 06:59 first mentioned before the window
 *      (not counted), demand-cut-off at k12, guest-memory-pressure at
 *      k16, a note cut off inside the name at k17 (out of memory) whose
 *      later rows carry the whole name (the same event).  Activity
 *      oom_kill 3 (before the window) 3 5 1 (reboot) 2, and 9 after the
 *      window: 3 kills.  Decisions: horizon 20 s (two ticks), upper 600,
 *      500 at k9 (used 500: at the bound counts as covered), none at k10.
 *   b  recommend mode for k 0..13, then act; <memory> 2048, balloon 1024
 *      throughout (an admin's: baseline INITIAL 1024).  recommend-shrink
 *      to 768 at k3 (in force k 4..8), recommend-grow to 1536 at k8 (in
 *      force k 9..14, until the act row at k14 takes effect).  Used 300,
 *      k6 800 (over the recommended 768: a would-be shortfall, −32 free).
 *   c  samples without a balloon: not live, not reported.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "store.h"
#include "store-activity.h"
#include "store-decisions.h"
#include "store-report.h"
#include "testutil.h"

#define MIB 1024.0
#define T0_MS G_GINT64_CONSTANT (1800000000000)  /* 2027-01-15 08:00:00 UTC */
#define N_TICKS 20
#define UUID_A "00000000-0000-4000-8000-00000000000a"
#define UUID_B "00000000-0000-4000-8000-00000000000b"
#define UUID_C "00000000-0000-4000-8000-00000000000c"
#define MARGIN 0.06

typedef struct {
        char *dir;
        char *path;
} Fixture;

static gint64
tick_ms (int k)
{
        /* The last tick comes 700 s after the one before it. */
        return k < N_TICKS - 1 ? T0_MS + k * 10000 : T0_MS + (N_TICKS - 2) * 10000 + 700000;
}

static const double balloon_a[N_TICKS] = {
        4096, 4096, 3072, 1024, 2048, 2048, 2048, 2048, 2048, 2048,
        2048, 2048, 2048, 3072, 3072, 3072, 3072, 3072, 3072, 3072,
};

static double
used_a (int k)
{
        switch (k) {
        case 3: return 1000;
        case 5: return 1925;
        case 6: return 1926;
        case 8: return 2048;
        case 15: return NAN;
        default: return 500;
        }
}

/* A live sample: balloon and maximum (balloon NAN = none), used memory
 * in balloon terms (NAN = no MemAvailable). */
static AugurDomainSample
sample (const char *uuid, const char *name, double balloon_mib, double max_mib, double used_mib)
{
        AugurDomainSample s = { 0 };

        g_strlcpy (s.uuid, uuid, sizeof s.uuid);
        s.name = g_strdup (name);
        s.id = 1;
        augur_sample_set (&s, AUGUR_STAT_STATE, 1);
        augur_sample_set (&s, AUGUR_STAT_BALLOON_MAXIMUM_KIB, (gint64) (max_mib * MIB));
        if (!isnan (balloon_mib)) {
                augur_sample_set (&s, AUGUR_STAT_BALLOON_CURRENT_KIB, (gint64) (balloon_mib * MIB));
                augur_sample_set (&s, AUGUR_STAT_BALLOON_AVAILABLE_KIB, (gint64) ((balloon_mib - 50) * MIB));
                if (!isnan (used_mib))
                        augur_sample_set (&s, AUGUR_STAT_BALLOON_USABLE_KIB,
                                          (gint64) ((balloon_mib - used_mib) * MIB));
        }
        return s;
}

static AugurDecisionRow
decision (const char *uuid, const char *name, gint64 ts_ms, const char *mode, double alloc_mib,
          double target_mib, const char *mem_action, const char *cpu_action, double horizon_s,
          double upper_mib, const char *note)
{
        AugurDecisionRow r = { 0 };

        r.ts_ms = ts_ms;
        g_strlcpy (r.uuid, uuid, sizeof r.uuid);
        g_strlcpy (r.name, name, sizeof r.name);
        r.mode = mode;
        r.policy = "augur";
        r.mem_used_kib = NAN;
        r.mem_alloc_kib = alloc_mib * MIB;
        r.cpu_cores_used = NAN;
        r.vcpus_online = 2;
        r.horizon_s = horizon_s;
        r.mem_p50_kib = NAN;
        r.mem_upper_kib = upper_mib * MIB;
        r.cpu_p50_cores = NAN;
        r.cpu_upper_cores = NAN;
        r.mem_target_kib = target_mib * MIB;
        r.vcpus_target = 2;
        r.mem_action = mem_action;
        r.cpu_action = cpu_action;
        if (note)
                g_strlcpy (r.note, note, sizeof r.note);
        return r;
}

#define HOLD_NOTE(at, ev) "the guest ran out of memory at " at " (" ev ") with a balloon of 2048 MiB; " \
                          "holding, and no shrink below 3072 MiB until 2027-01-16 08:02:00"

static const char *
note_a (int k)
{
        if (k == 0)
                return HOLD_NOTE ("2027-01-15 06:59:00", "guest-oom-kill");
        if (k == 12)
                return "arbitration: granted 3072 of 3072 MiB (priority 1000); the guest ran out of memory at "
                       "2027-01-15 08:02:00 (demand-cut-off) with a balloon of 2048 MiB; emergency grow";
        if (k >= 13 && k <= 15)
                return HOLD_NOTE ("2027-01-15 08:02:00", "demand-cut-off");
        if (k == 16)
                return HOLD_NOTE ("2027-01-15 08:02:40", "guest-memory-pressure");
        if (k == 17)    /* cut off at 255 bytes inside the event's name */
                return "arbitration: granted 3072 of 3072 MiB (priority 1000, host budget 6144 MiB); growing "
                       "to 3072 of 3072 MiB now: the rest waits for other guests' balloons to give it back; "
                       "the guest ran out of memory at 2027-01-15 08:02:50 (gue";
        if (k >= 18)
                return HOLD_NOTE ("2027-01-15 08:02:50", "guest-deflated: the guest deflated its balloon itself");
        return NULL;
}

static void
write_activity (AugurStore *st, gint64 ts_ms, double oom_kill)
{
        g_autoptr(GError) error = NULL;
        AugurActivityRow r;

        memset (&r, 0, sizeof r);
        g_strlcpy (r.uuid, UUID_A, sizeof r.uuid);
        r.name = "a";
        r.libvirt_id = 1;
        r.ts_ms = ts_ms;
        r.source = AUGUR_ACTIVITY_SOURCE_CHANNEL;
        r.present = 1u << AUGUR_ACTCOL_OOM_KILL;
        r.v[AUGUR_ACTCOL_OOM_KILL] = oom_kill;
        g_assert_true (augur_store_write_activity (st, &r, 1, NULL, 0, NULL, &error));
        g_assert_no_error (error);
}

/* THE HISTORY of the file's header. */
static void
write_history (const char *path)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurStore) st = augur_store_open (path, AUGUR_STORE_READ_WRITE, &error);
        AugurDecisionRow before;

        g_assert_no_error (error);
        /* Before the window: an event's first mention, a vCPU action. */
        before = decision (UUID_A, "a", T0_MS - 3600000, "act", 4096, 4096, "none", "vcpu-down", NAN, NAN,
                           HOLD_NOTE ("2027-01-15 06:59:00", "guest-oom-kill"));
        g_assert_true (augur_store_write_decisions (st, &before, 1, &error));
        write_activity (st, T0_MS - 5000, 3);
        /* before the window: not counted */
        g_assert_cmpint (augur_store_write_io_actuation (st, T0_MS - 1000, UUID_B, "b", "io-total", "vda", 5e6, 4e7,
                                                         "forecast-burst", &error), >, 0);

        for (int k = 0; k < N_TICKS; k++) {
                AugurDomainSample s[3];
                AugurDecisionRow r[2];
                const char *mem_a = "none", *cpu_a = "none", *mem_b = "none", *cpu_b = "none";
                double target_a = balloon_a[k], target_b = 1024;

                s[0] = sample (UUID_A, "a", balloon_a[k], 4096, used_a (k));
                s[1] = sample (UUID_B, "b", 1024, 2048, k == 6 ? 800 : k == 10 ? 1000 : 300);
                s[2] = sample (UUID_C, "c", NAN, 1024, NAN);
                augur_test_write_tick (st, tick_ms (k), s, 3);

                switch (k) {
                case 1: mem_a = "shrink"; target_a = 3072; break;
                case 2: mem_a = "shrink"; target_a = 1024; break;
                case 3: mem_a = "grow"; target_a = 2048; mem_b = "recommend-shrink"; target_b = 768; break;
                case 4: cpu_b = "recommend-up"; break;
                case 5: cpu_a = "vcpu-up"; break;
                case 8: mem_b = "recommend-grow"; target_b = 1536; break;
                case 9: cpu_a = "failed"; break;
                case 10: mem_a = "failed"; break;
                case 12: mem_a = "grow"; target_a = 3072; break;
                default: break;
                }
                r[0] = decision (UUID_A, "a", tick_ms (k), "act", balloon_a[k], target_a, mem_a, cpu_a, 20,
                                 k == 9 ? 500 : k == 10 ? NAN : 600, note_a (k));
                r[1] = decision (UUID_B, "b", tick_ms (k), k < 14 ? "recommend" : "act", 1024, target_b,
                                 mem_b, cpu_b, NAN, NAN, NULL);
                g_assert_true (augur_store_write_decisions (st, r, 2, &error));
                g_assert_no_error (error);

                if (k == 3 || k == 4 || k == 5 || k == 7) {
                        /* b's disk limit: raised, restored in two steps,
                         * then changed by hand */
                        const char *why = k == 3 ? "forecast-burst" : k == 7 ? "yield" : "restore";

                        g_assert_cmpint (augur_store_write_io_actuation (st, tick_ms (k) + 100, UUID_B, "b", "io-total",
                                                                         "vda", 5e6, 4e7, why, &error), >, 0);
                }
                if (k == 2)
                        write_activity (st, tick_ms (k) + 500, 3);
                if (k == 5)
                        write_activity (st, tick_ms (k) + 500, 5);
                if (k == 9)
                        write_activity (st, tick_ms (k) + 500, 1);     /* the guest rebooted */
                if (k == 11)
                        write_activity (st, tick_ms (k) + 500, 2);
        }
        write_activity (st, tick_ms (N_TICKS - 1) + 1000, 9);           /* after the window */
}

static void
setup (Fixture *f, gconstpointer data)
{
        f->dir = g_dir_make_tmp ("augur-report-XXXXXX", NULL);
        g_assert_nonnull (f->dir);
        f->path = g_build_filename (f->dir, "augur.db", NULL);
        write_history (f->path);
}

static void
teardown (Fixture *f, gconstpointer data)
{
        augur_test_rm_rf (f->dir);
        g_free (f->dir);
        g_free (f->path);
}

static AugurReport *
report (const Fixture *f, gint64 from_ms)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurStore) st = augur_store_open (f->path, AUGUR_STORE_READ_ONLY, &error);
        AugurReport *r;

        g_assert_no_error (error);
        r = augur_store_report (st, from_ms, tick_ms (N_TICKS - 1), MARGIN, &error);
        g_assert_no_error (error);
        g_assert_nonnull (r);
        return r;
}

static const AugurReportGuest *
guest (const AugurReport *r, guint i, const char *name)
{
        const AugurReportGuest *g;

        g_assert_cmpuint (i, <, r->guests->len);
        g = r->guests->pdata[i];
        g_assert_cmpstr (g->name, ==, name);
        return g;
}

/* MiB·s, as KiB·s. */
#define MIB_S(x) ((x) * MIB)

static void
test_figures (Fixture *f, gconstpointer data)
{
        g_autoptr(AugurReport) r = report (f, T0_MS);
        const AugurReportGuest *a, *b, *h = &r->host;

        g_assert_cmpint (r->from_ms, ==, T0_MS);
        g_assert_cmpint (r->to_ms, ==, tick_ms (N_TICKS - 1));
        g_assert_cmpfloat (r->margin_frac, ==, MARGIN);
        g_assert_cmpuint (r->guests->len, ==, 2);        /* c has no balloon */

        a = guest (r, 0, "a");
        g_assert_cmpstr (a->uuid, ==, UUID_A);
        g_assert_cmpuint (a->modes, ==, AUGUR_REPORT_MODE_ACT);
        g_assert_cmpint (a->baseline, ==, AUGUR_REPORT_BASELINE_MAX);
        g_assert_cmpfloat (a->baseline_kib, ==, 4096 * MIB);
        g_assert_cmpfloat (a->max_kib, ==, 4096 * MIB);
        g_assert_cmpfloat (a->initial_kib, ==, 4096 * MIB);
        g_assert_cmpint (a->first_ms, ==, T0_MS);
        g_assert_cmpint (a->last_ms, ==, tick_ms (N_TICKS - 1));
        g_assert_cmpint (a->steps, ==, 20);
        g_assert_cmpint (a->recommended_steps, ==, 0);
        g_assert_cmpfloat (a->span_s, ==, 18 * 10 + 600);
        /* 10 s × (0 + 0 + 1024 + 3072 + 9 × 2048 + 5 × 1024) + 600 s × 1024 */
        g_assert_cmpfloat (a->saved_kib_s, ==, MIB_S (890880));
        g_assert_cmpfloat (a->saved_vs_max_kib_s, ==, MIB_S (890880));
        g_assert_cmpfloat (a->reclaimed_peak_kib, ==, 3072 * MIB);
        g_assert_cmpfloat (a->reclaimed_p95_kib, ==, 2048 * MIB);     /* 19th of 20 */
        g_assert_cmpint (a->used_steps, ==, 19);
        /* k3, k6, k8 at the balloon (not k5: N-1 of the margin), k12, k16,
         * k17 the guard's events */
        g_assert_cmpint (a->shortfall_steps, ==, 6);
        g_assert_cmpfloat (a->worst_free_kib, ==, 0);
        g_assert_cmpint (a->worst_ms, ==, tick_ms (8));
        g_assert_cmpint (a->oom_events, ==, 2);
        g_assert_cmpint (a->pressure_events, ==, 1);
        g_assert_cmpint (a->guest_oom_kills, ==, 3);
        g_assert_cmpint (a->mem_taken, ==, 4);
        g_assert_cmpint (a->mem_recommended, ==, 0);
        g_assert_cmpint (a->mem_failed, ==, 1);
        g_assert_cmpint (a->cpu_taken, ==, 1);          /* not the one before the window */
        g_assert_cmpint (a->cpu_recommended, ==, 0);
        g_assert_cmpint (a->cpu_failed, ==, 1);
        g_assert_cmpint (a->coverage_rows, ==, 15);
        g_assert_cmpint (a->coverage_hits, ==, 11);

        b = guest (r, 1, "b");
        g_assert_cmpstr (b->uuid, ==, UUID_B);
        g_assert_cmpuint (b->modes, ==, AUGUR_REPORT_MODE_ACT | AUGUR_REPORT_MODE_RECOMMEND);
        g_assert_cmpint (b->baseline, ==, AUGUR_REPORT_BASELINE_INITIAL);
        g_assert_cmpfloat (b->baseline_kib, ==, 1024 * MIB);
        g_assert_cmpfloat (b->max_kib, ==, 2048 * MIB);
        g_assert_cmpfloat (b->initial_kib, ==, 1024 * MIB);
        g_assert_cmpint (b->steps, ==, 20);
        g_assert_cmpint (b->recommended_steps, ==, 11);
        /* (1024 − 768) × 50 s − (1536 − 1024) × 60 s */
        g_assert_cmpfloat (b->saved_kib_s, ==, MIB_S (-17920));
        /* 1024 × 40 + 1280 × 50 + 512 × 60 + 1024 × 30 + 1024 × 600 */
        g_assert_cmpfloat (b->saved_vs_max_kib_s, ==, MIB_S (780800));
        g_assert_cmpfloat (b->reclaimed_peak_kib, ==, 1280 * MIB);
        g_assert_cmpfloat (b->reclaimed_p95_kib, ==, 1280 * MIB);
        g_assert_cmpint (b->used_steps, ==, 20);
        g_assert_cmpint (b->shortfall_steps, ==, 1);
        g_assert_cmpfloat (b->worst_free_kib, ==, -32 * MIB);
        g_assert_cmpint (b->worst_ms, ==, tick_ms (6));
        g_assert_cmpint (b->oom_events, ==, 0);
        g_assert_cmpint (b->pressure_events, ==, 0);
        g_assert_cmpint (b->guest_oom_kills, ==, 0);
        g_assert_cmpint (b->mem_taken, ==, 0);
        g_assert_cmpint (b->mem_recommended, ==, 2);
        g_assert_cmpint (b->cpu_recommended, ==, 1);
        g_assert_cmpint (b->coverage_rows, ==, 0);

        g_assert_cmpstr (h->name, ==, "host");
        g_assert_null (h->uuid);
        g_assert_cmpuint (h->modes, ==, AUGUR_REPORT_MODE_ACT | AUGUR_REPORT_MODE_RECOMMEND);
        g_assert_cmpfloat (h->baseline_kib, ==, (4096 + 1024) * MIB);
        g_assert_cmpfloat (h->max_kib, ==, (4096 + 2048) * MIB);
        g_assert_cmpint (h->first_ms, ==, T0_MS);
        g_assert_cmpint (h->last_ms, ==, tick_ms (N_TICKS - 1));
        g_assert_cmpfloat (h->span_s, ==, 880);
        g_assert_cmpint (h->ticks, ==, 20);
        g_assert_cmpint (h->steps, ==, 40);
        g_assert_cmpint (h->recommended_steps, ==, 11);
        g_assert_cmpfloat (h->saved_kib_s, ==, MIB_S (890880 - 17920));
        g_assert_cmpfloat (h->saved_vs_max_kib_s, ==, MIB_S (890880 + 780800));
        /* Per tick: 1024 ×2, 1536 ×2, 2048 ×6, 2560 ×4, 3328 ×5, 4096 */
        g_assert_cmpfloat (h->reclaimed_peak_kib, ==, 4096 * MIB);
        g_assert_cmpfloat (h->reclaimed_p95_kib, ==, 3328 * MIB);
        g_assert_cmpint (h->used_steps, ==, 39);
        g_assert_cmpint (h->shortfall_steps, ==, 7);
        g_assert_cmpfloat (h->worst_free_kib, ==, -32 * MIB);
        g_assert_cmpint (h->worst_ms, ==, tick_ms (6));
        g_assert_cmpstr (h->worst_name, ==, "b");
        g_assert_cmpint (h->oom_events, ==, 2);
        g_assert_cmpint (h->pressure_events, ==, 1);
        g_assert_cmpint (h->guest_oom_kills, ==, 3);
        g_assert_cmpint (h->mem_taken, ==, 4);
        g_assert_cmpint (h->mem_recommended, ==, 2);
        g_assert_cmpint (h->mem_failed, ==, 1);
        g_assert_cmpint (h->cpu_taken, ==, 1);
        g_assert_cmpint (h->cpu_recommended, ==, 1);
        g_assert_cmpint (h->cpu_failed, ==, 1);
        g_assert_cmpint (a->io_raised + a->io_restored + a->io_yielded, ==, 0);
        g_assert_cmpint (h->io_raised, ==, 1);           /* b's, in the window */
        g_assert_cmpint (h->io_restored, ==, 2);
        g_assert_cmpint (h->io_yielded, ==, 1);
        g_assert_cmpint (h->coverage_rows, ==, 15);
        g_assert_cmpint (h->coverage_hits, ==, 11);
}

/* A window from k10: what happened before it is not counted, but the
 * state it left is (b's recommendation from k8, a's events' keys). */
static void
test_window (Fixture *f, gconstpointer data)
{
        g_autoptr(AugurReport) r = report (f, tick_ms (10));
        const AugurReportGuest *a, *b, *h = &r->host;

        g_assert_cmpuint (r->guests->len, ==, 2);
        a = guest (r, 0, "a");
        g_assert_cmpint (a->steps, ==, 10);
        g_assert_cmpfloat (a->span_s, ==, 8 * 10 + 600);
        /* 10 s × (3 × 2048 + 5 × 1024) + 600 s × 1024 */
        g_assert_cmpfloat (a->saved_kib_s, ==, MIB_S (727040));
        g_assert_cmpfloat (a->reclaimed_peak_kib, ==, 2048 * MIB);
        g_assert_cmpfloat (a->reclaimed_p95_kib, ==, 2048 * MIB);
        g_assert_cmpint (a->shortfall_steps, ==, 3);     /* the events' steps */
        g_assert_cmpfloat (a->worst_free_kib, ==, (2048 - 500) * MIB);
        g_assert_cmpint (a->worst_ms, ==, tick_ms (12));
        g_assert_cmpint (a->oom_events, ==, 2);
        g_assert_cmpint (a->pressure_events, ==, 1);
        g_assert_cmpint (a->guest_oom_kills, ==, 1);
        g_assert_cmpint (a->mem_taken, ==, 1);
        g_assert_cmpint (a->mem_failed, ==, 1);
        g_assert_cmpint (a->cpu_taken, ==, 0);
        g_assert_cmpint (a->cpu_failed, ==, 0);
        g_assert_cmpint (a->coverage_rows, ==, 5);
        g_assert_cmpint (a->coverage_hits, ==, 5);

        b = guest (r, 1, "b");
        g_assert_cmpint (b->baseline, ==, AUGUR_REPORT_BASELINE_INITIAL);   /* whole history */
        g_assert_cmpint (b->recommended_steps, ==, 5);
        g_assert_cmpfloat (b->saved_kib_s, ==, MIB_S (-25600));
        g_assert_cmpint (b->shortfall_steps, ==, 0);
        g_assert_true (isnan (b->worst_free_kib));
        g_assert_cmpint (b->worst_ms, ==, -1);
        g_assert_cmpint (b->mem_recommended, ==, 0);
        g_assert_cmpuint (b->modes, ==, AUGUR_REPORT_MODE_ACT | AUGUR_REPORT_MODE_RECOMMEND);

        g_assert_cmpint (h->ticks, ==, 10);
        g_assert_cmpint (h->shortfall_steps, ==, 3);
        g_assert_cmpstr (h->worst_name, ==, "a");
}

/* A window with nothing live in it. */
static void
test_empty (Fixture *f, gconstpointer data)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurStore) st = augur_store_open (f->path, AUGUR_STORE_READ_ONLY, &error);
        g_autoptr(AugurReport) r = augur_store_report (st, 0, 1000, MARGIN, &error);

        g_assert_no_error (error);
        g_assert_cmpuint (r->guests->len, ==, 0);
        g_assert_cmpint (r->host.ticks, ==, 0);
        g_assert_cmpint (r->host.steps, ==, 0);
        g_assert_true (isnan (r->host.reclaimed_peak_kib));
        g_assert_cmpint (r->host.worst_ms, ==, -1);
}

/* Run the built virt-augur; (transfer full) its standard output. */
static char *
run_cli (const char *const *args, int *ret_status)
{
        const char *top = g_getenv ("AUGUR_TOP_BUILDDIR");
        g_autofree char *bin = g_build_filename (top ? top : "..", "virsh-ext", "virt-augur", NULL);
        g_autoptr(GPtrArray) argv = g_ptr_array_new ();
        g_autoptr(GError) error = NULL;
        char *out = NULL;
        int status = -1;

        if (!g_file_test (bin, G_FILE_TEST_IS_EXECUTABLE))
                return NULL;
        g_ptr_array_add (argv, bin);
        for (; *args; args++)
                g_ptr_array_add (argv, (gpointer) *args);
        g_ptr_array_add (argv, NULL);
        g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                                     &out, NULL, &status, &error));
        g_assert_no_error (error);
        *ret_status = status;
        return out;
}

static void
test_cli (Fixture *f, gconstpointer data)
{
        const char *json_args[] = { "--db", f->path, "--json", "report", "--since", "1h", NULL };
        const char *text_args[] = { "report", "--db", f->path, NULL };
        g_autofree char *json = NULL, *text = NULL, *empty_db = NULL, *empty_out = NULL;
        g_autoptr(JsonParser) p = json_parser_new ();
        g_autoptr(GError) error = NULL;
        JsonObject *root, *a, *b, *host;
        int status;

        json = run_cli (json_args, &status);
        if (!json) {
                g_test_skip ("virt-augur is not built");
                return;
        }
        g_assert_cmpint (status, ==, 0);
        g_assert_true (json_parser_load_from_data (p, json, -1, &error));
        g_assert_no_error (error);
        root = json_node_get_object (json_parser_get_root (p));
        g_assert_cmpint (json_object_get_int_member (root, "to_ts"), ==, tick_ms (N_TICKS - 1) / 1000);
        g_assert_cmpint (json_object_get_int_member (root, "since_s"), ==, 3600);
        g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "guests")), ==, 2);
        a = json_array_get_object_element (json_object_get_array_member (root, "guests"), 0);
        b = json_array_get_object_element (json_object_get_array_member (root, "guests"), 1);
        host = json_object_get_object_member (root, "host");
        g_assert_cmpstr (json_object_get_string_member (a, "name"), ==, "a");
        g_assert_cmpstr (json_object_get_string_member (a, "uuid"), ==, UUID_A);
        g_assert_cmpstr (json_object_get_string_member (a, "mode"), ==, "act");
        g_assert_cmpstr (json_object_get_string_member (a, "baseline"), ==, "max");
        g_assert_cmpstr (json_object_get_string_member (b, "mode"), ==, "act+recommend");
        g_assert_cmpstr (json_object_get_string_member (b, "baseline"), ==, "initial");
        /* Short decimals: 890880 MiB·s = 0.2417 GiB-h; 11/15 = 0.7333. */
        g_assert_nonnull (strstr (json, "\"saved_gib_h\": 0.242,"));
        g_assert_nonnull (strstr (json, "\"saved_gib_h\": -0.005,"));
        g_assert_nonnull (strstr (json, "\"coverage\": 0.733,"));
        g_assert_nonnull (strstr (json, "\"worst_free_mib\": -32.0,"));
        g_assert_cmpfloat (json_object_get_double_member (b, "initial_mib"), ==, 1024.0);
        g_assert_true (json_node_is_null (json_object_get_member (b, "coverage")));
        /* Counts are integers. */
        g_assert_cmpint (json_node_get_value_type (json_object_get_member (host, "shortfall_steps")), ==, G_TYPE_INT64);
        g_assert_cmpint (json_object_get_int_member (host, "shortfall_steps"), ==, 7);
        g_assert_cmpint (json_object_get_int_member (host, "oom_events"), ==, 2);
        g_assert_cmpint (json_object_get_int_member (host, "guest_oom_kills"), ==, 3);
        g_assert_cmpint (json_object_get_int_member (host, "guests"), ==, 2);
        g_assert_cmpstr (json_object_get_string_member (host, "worst_guest"), ==, "b");
        g_assert_cmpint (json_object_get_int_member (b, "io_limits_raised"), ==, 2);   /* the last hour: both */
        g_assert_cmpint (json_object_get_int_member (host, "io_limit_restore_steps"), ==, 2);

        text = run_cli (text_args, &status);
        g_assert_cmpint (status, ==, 0);
        g_assert_nonnull (strstr (text, "4096 max"));
        g_assert_nonnull (strstr (text, "1024 initial"));
        g_assert_nonnull (strstr (text, "73.3 %"));
        g_assert_nonnull (strstr (text, "Baseline: what a guest would have held without augur"));
        g_assert_nonnull (strstr (text, "Recommend mode:"));
        g_assert_nonnull (strstr (text, "I/O limits      2 raised ahead of a burst, 2 restore steps, 1 changed by hand"));

        /* A store without a tick: an error, exit 1. */
        empty_db = g_build_filename (f->dir, "empty.db", NULL);
        {
                g_autoptr(AugurStore) st = augur_store_open (empty_db, AUGUR_STORE_READ_WRITE, &error);

                g_assert_no_error (error);
        }
        {
                const char *args[] = { "--db", empty_db, "report", NULL };

                empty_out = run_cli (args, &status);
                g_assert_true (WIFEXITED (status));
                g_assert_cmpint (WEXITSTATUS (status), ==, 1);
        }
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add ("/report/figures", Fixture, NULL, setup, test_figures, teardown);
        g_test_add ("/report/window", Fixture, NULL, setup, test_window, teardown);
        g_test_add ("/report/empty", Fixture, NULL, setup, test_empty, teardown);
        g_test_add ("/report/cli", Fixture, NULL, setup, test_cli, teardown);
        return g_test_run ();
}
