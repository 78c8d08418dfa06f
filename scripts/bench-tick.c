/* bench-tick.c — the daemon's per-tick cost for N VMs: augurd's own resize
 * loop (plugin/resize.c: per VM prepare — with the forecaster's predictor
 * step: features, int NN window, baselines, calibration, fast path — plan,
 * the memory guard, host arbitration, the audit row, apply) called as
 * daemon.c calls it, through the fake hypervisor (tests/fake-hv.h) instead
 * of libvirt.  No copy of the loop: what augurd runs is what is timed.
 *
 * Usage: bench-tick [--vms 1000] [--tick 5] [--hours 1] [--warm-hours 2]
 *                   [--model MODEL] [--db PATH] [--price P] [--width-halflife S]
 * The forecast stage is augurd's (plugin/forecaster.c, its predictor
 * configuration, slow steps staggered across VMs) at augurd's default
 * [forecast] memory_price_per_gib, or at --price P (0 = coverage mode).
 * Without --model a model with the production shapes (LSTM, 32 hidden,
 * every feature group, T 24, H 12) and random weights serves: the cost
 * does not depend on the weights.
 *
 * The guests are the fake's modelled guests (3.8 GiB <memory>, 2 of 4
 * vCPUs, the guest agent present, a per-VM memory minimum of 244 MiB in
 * their metadata), their used memory and CPU synthetic random walks, with
 * no in-guest activity reports.  augurd's default config in act mode: what
 * the loop sets lands in the fake before the next tick.  Not timed, as in
 * augurd they are not the resize loop: making the tick's samples (the
 * fake's stats call) and the balloon events between ticks (each
 * actuation's latency, written in its own transaction with --db).  Timed
 * but nearly free here: the loop's calls on the hypervisor (lookups, vCPU
 * probes, sets), which the fake answers from memory and libvirt by RPC,
 * and its action log lines (formatted, then dropped: augurd sends them to
 * the journal).
 *
 * With --db the tick is written to a new SQLite store at PATH as augurd
 * writes it (plugin/daemon.c): one transaction per tick, opened by
 * augur_store_tick_begin() (here without samples: scripts/bench-store
 * measures those; at each new minute it moves the decisions into
 * decisions_main), the loop's own writes (each VM's newest forecast once a
 * minute, the actuations, the audit rows), then augur_store_tick_commit().
 * Without --db the loop runs with no store: the rows are filled, not
 * stored.
 *
 * Prints µs per VM per tick: the mean over all ticks (what a 1000-VM host
 * pays on average), the worst tick, and the forecast stage's time per
 * VM-tick split by whether it ran the model's slow step (the rest of the
 * loop runs for all VMs at once and is in the mean only).  Not a test: it
 * always exits 0 unless an argument is wrong.  Run on an idle machine.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "augur-config.h"
#include "fake-hv.h"
#include "forecaster.h"
#include "predictor.h"
#include "resize.h"
#include "store.h"
#include "vm.h"

/* The synthetic guests, KiB: <memory> (and the balloon at start), the
 * kernel's reservation out of the balloon (balloon − MemTotal), the walk's
 * bounds of used memory; the per-VM minimum, MiB. */
#define GUEST_MAX_KIB 4e6
#define GUEST_RESERVED_KIB 1e5
#define USED_MIN_KIB 1e5
#define USED_MAX_KIB 3.9e6
#define GUEST_MIN_MIB 244
/* The fake's clock at the first tick, unix ms. */
#define T0_MS G_GINT64_CONSTANT (1700000000000)

static guint opt_vms = 1000, opt_hours = 1, opt_warm_hours = 2;
static double opt_tick = 5;
static const char *opt_model, *opt_db;
static double opt_price = NAN;          /* NAN: augurd's default */
static double opt_width = NAN;          /* --width-halflife, s; NAN: augurd's */

static guint64 rng = 88172645463325252ull;

static double
urand (void)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return (double) (rng >> 11) / 9007199254740992.0;
}

static AugurModel *
random_model (void)
{
        g_autoptr (GError) error = NULL;
        AugurModel *m = g_new0 (AugurModel, 1);
        AugurNNConfig nc;

        augur_features_config_init (&m->feat);
        m->F = augur_features_count (m->feat.groups);
        m->H = 12;
        m->T = 24;
        m->quantile = m->coverage = 0.95f;
        augur_nn_config_init (&nc, m->F, 32, AUGUR_TARGET_N * AUGUR_FORECAST_HEADS * m->H, AUGUR_ARCH_LSTM);
        m->nn = augur_nn_new (&nc, 1, &error);
        if (!m->nn)
                g_error ("%s", error->message);
        m->nnq = augur_nnq_from_float (m->nn);
        for (int t = 0; t < AUGUR_TARGET_N; t++)
                augur_baseline_params_init (&m->bl[t], m->H, m->feat.step_s);
        return m;
}

/* The forecast stage as augurd's hooks, timed per VM. */
typedef struct {
        AugurForecaster *fc;
        AugurForecastHooks inner;
        gboolean measure;
        double slow_us, fast_us;
        guint64 n_slow, n_fast;
} Stage;

static gboolean
timed_forecast (gpointer ctx, const char *uuid, const char *name, const AugurDerived *d,
                const AugurHostSample *host, double now_s, AugurForecast *ret)
{
        Stage *st = ctx;
        gint64 t0 = g_get_monotonic_time ();
        gboolean ok = st->inner.forecast (st->inner.ctx, uuid, name, d, host, now_s, ret);
        double us = (double) (g_get_monotonic_time () - t0);

        if (!st->measure)
                return ok;
        if (augur_forecaster_last_step_slow (st->fc, uuid)) {
                st->slow_us += us;
                st->n_slow++;
        } else {
                st->fast_us += us;
                st->n_fast++;
        }
        return ok;
}

typedef struct {
        AugurResize *r;
        AugurStore *store;
        AugurFake *fake;
} Events;

/* daemon.c's part of each event that the resize loop needs. */
static void
on_event (AugurHv *hv, AugurHvGuest *g, const AugurHvEvent *e, gpointer data)
{
        Events *ev = data;

        augur_resize_event (ev->r, ev->store, augur_hv_guest_get_uuid (g), e, augur_fake_now_ms (ev->fake));
}

typedef struct {
        AugurFakeGuest *g;
        double used, cpu;
} Vm;

/* The loop's action lines are formatted as in augurd (which hands them to
 * the journal) but not written: a terminal would time its own scrolling.
 * Warnings still show. */
static GLogWriterOutput
quiet_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
        if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
                return g_log_writer_default (level, fields, n_fields, user_data);
        return G_LOG_WRITER_HANDLED;
}

int
main (int argc, char **argv)
{
        g_autoptr (GError) error = NULL;
        g_autoptr (AugurModel) owned = NULL;
        g_autoptr (AugurForecaster) fc = NULL;
        g_autoptr (AugurResize) r = NULL;
        g_autoptr (AugurFake) fake = NULL;
        g_autoptr (AugurConfig) config = augur_config_new_default ();
        g_autoptr (AugurStore) store = NULL;
        AugurHv *hv;
        AugurForecastHooks hooks = { 0 };
        AugurHostSample host = { 0 };
        Stage stage = { 0 };
        Events ev = { 0 };
        const AugurHvCallbacks cb = { .event = on_event };
        g_autofree char *meta = g_strdup_printf ("<policy xmlns=\"%s\"><mem_min_mib>%d</mem_min_mib></policy>",
                                                 AUGUR_POLICY_NS_URI, GUEST_MIN_MIB);
        guint F, T, H, warm_ticks, ticks;
        Vm *vms;
        double sum_us = 0, worst_us = 0, begin_us = 0, commit_us = 0;
        guint64 n_balloon = 0, n_vcpus = 0;

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

                if (!v) {
                        fprintf (stderr, "error: bench-tick: unknown option or missing value '%s'\n", a);
                        return 2;
                }
                i++;
                if (strcmp (a, "--vms") == 0)
                        opt_vms = (guint) atoi (v);
                else if (strcmp (a, "--tick") == 0)
                        opt_tick = g_ascii_strtod (v, NULL);
                else if (strcmp (a, "--hours") == 0)
                        opt_hours = (guint) atoi (v);
                else if (strcmp (a, "--warm-hours") == 0)
                        opt_warm_hours = (guint) atoi (v);
                else if (strcmp (a, "--model") == 0)
                        opt_model = v;
                else if (strcmp (a, "--db") == 0)
                        opt_db = v;
                else if (strcmp (a, "--price") == 0)
                        opt_price = g_ascii_strtod (v, NULL);
                else if (strcmp (a, "--width-halflife") == 0)
                        opt_width = g_ascii_strtod (v, NULL);
                else {
                        fprintf (stderr, "error: bench-tick: unknown option '%s'\n", a);
                        return 2;
                }
        }
        if (opt_vms == 0 || !(opt_tick >= 0.5) || opt_hours == 0) {
                fprintf (stderr, "error: bench-tick: --vms, --hours > 0 and --tick >= 0.5 please\n");
                return 2;
        }
        g_log_set_writer_func (quiet_writer, NULL, NULL);
        if (opt_model) {
                owned = augur_model_load (opt_model, &error);
                if (!owned) {
                        fprintf (stderr, "error: %s\n", error->message);
                        return 1;
                }
        } else {
                owned = random_model ();
        }
        F = owned->F;
        T = owned->T;
        H = owned->H;
        config->mode = AUGUR_MODE_ACT;
        config->tick_s = opt_tick;
        if (!isnan (opt_price))
                config->price_per_gib = opt_price;
        if (!isnan (opt_width))
                config->width_halflife_s = opt_width;
        /* augurd's forecaster, then the model to measure in it (a hot
         * swap, as after a retraining: retrain.h). */
        fc = augur_forecaster_new (NULL, config->tick_s, config->price_per_gib, config->precursor_bound,
                                   config->width_halflife_s, &error);
        if (!fc || !augur_forecaster_swap_model (fc, g_steal_pointer (&owned), opt_model, 0, &error)) {
                fprintf (stderr, "error: %s\n", error->message);
                return 1;
        }
        augur_forecaster_hooks (fc, &stage.inner);
        stage.fc = fc;
        /* act mode: the auto gate is never asked; no guest stops */
        hooks.forecast = timed_forecast;
        hooks.ctx = &stage;
        r = augur_resize_new (&hooks);
        if (opt_db) {
                if (g_file_test (opt_db, G_FILE_TEST_EXISTS)) {
                        fprintf (stderr, "error: bench-tick: %s exists; give a new file\n", opt_db);
                        return 2;
                }
                store = augur_store_open (opt_db, AUGUR_STORE_READ_WRITE, &error);
                if (!store) {
                        fprintf (stderr, "error: %s\n", error->message);
                        return 1;
                }
        }

        fake = augur_fake_new (T0_MS - (gint64) llround (opt_tick * 1000));
        ev = (Events) { r, store, fake };
        hv = augur_fake_open (fake, &cb, &ev);
        vms = g_new0 (Vm, opt_vms);
        for (guint i = 0; i < opt_vms; i++) {
                g_autofree char *name = g_strdup_printf ("vm-%04u", i);
                AugurDomainSample rec = { 0 };

                augur_sample_set (&rec, AUGUR_STAT_STATE, AUGUR_GUEST_STATE_RUNNING);
                augur_sample_set (&rec, AUGUR_STAT_BALLOON_CURRENT_KIB, (gint64) GUEST_MAX_KIB);
                augur_sample_set (&rec, AUGUR_STAT_BALLOON_MAXIMUM_KIB, (gint64) GUEST_MAX_KIB);
                augur_sample_set (&rec, AUGUR_STAT_BALLOON_AVAILABLE_KIB, (gint64) (GUEST_MAX_KIB - GUEST_RESERVED_KIB));
                augur_sample_set (&rec, AUGUR_STAT_BALLOON_USABLE_KIB, (gint64) (GUEST_MAX_KIB - GUEST_RESERVED_KIB));
                augur_sample_set (&rec, AUGUR_STAT_BALLOON_SWAP_IN_KIB, 0);
                augur_sample_set (&rec, AUGUR_STAT_BALLOON_MAJOR_FAULT, 0);
                augur_sample_set (&rec, AUGUR_STAT_BALLOON_LAST_UPDATE_S, 0);
                augur_sample_set (&rec, AUGUR_STAT_CPU_TIME_NS, 0);
                augur_sample_set (&rec, AUGUR_STAT_VCPU_CURRENT, 2);
                augur_sample_set (&rec, AUGUR_STAT_VCPU_MAXIMUM, 4);
                vms[i].g = augur_fake_add_guest (fake, name, &rec);
                augur_fake_guest_set_metadata (fake, vms[i].g, AUGUR_POLICY_NS_URI, meta);
                vms[i].used = 2e6 * (0.2 + 0.5 * urand ());
                vms[i].cpu = 0.5;
        }
        warm_ticks = (guint) (opt_warm_hours * 3600 / opt_tick);
        ticks = (guint) (opt_hours * 3600 / opt_tick);
        printf ("bench-tick: %u VMs, tick %g s, model %s (F %u, T %u, H %u), price %g, width half-life %g s, "
                "staggered slow steps, "
                "warm %u ticks, measured %u ticks, audit rows %s; augurd's resize loop through the fake hypervisor\n",
                opt_vms, opt_tick, opt_model ? opt_model : "random LSTM 32", F, T, H, config->price_per_gib,
                config->width_halflife_s,
                warm_ticks, ticks, store ? "written to SQLite" : "filled, not stored");

        for (guint t = 0; t < warm_ticks + ticks; t++) {
                gint64 ts_ms = T0_MS + (gint64) llround (t * opt_tick * 1000);
                g_autoptr (GArray) samples = NULL;
                gint64 t0, t1, t2;
                double tick_us;

                /* The guests' demand moves; what was set lands; the tick's
                 * samples (collect: not part of this). */
                for (guint i = 0; i < opt_vms; i++) {
                        Vm *v = &vms[i];

                        v->used = CLAMP (v->used * (1 + 0.01 * (urand () - 0.5)), USED_MIN_KIB, USED_MAX_KIB);
                        v->cpu = CLAMP (v->cpu + 0.05 * (urand () - 0.5), 0.01, 2);
                        augur_fake_guest_set_used (v->g, v->used);
                        augur_fake_guest_set_cpu (v->g, v->cpu);
                }
                augur_fake_advance_to (fake, ts_ms);
                if (!augur_hv_guests_with_stats (hv, NULL, NULL, &samples, &error)) {
                        fprintf (stderr, "error: %s\n", error->message);
                        return 1;
                }
                stage.measure = t >= warm_ticks;

                t0 = g_get_monotonic_time ();
                /* The daemon's tick transaction comes first (here without
                 * samples); at each new minute it moves decisions_recent
                 * into decisions_main (004-samples-recent.sql). */
                if (store && !augur_store_tick_begin (store, ts_ms, NULL, 0, NULL, 0, NULL, &error)) {
                        fprintf (stderr, "error: %s\n", error->message);
                        return 1;
                }
                t1 = g_get_monotonic_time ();
                augur_resize_tick (r, hv, store, config, (AugurDomainSample *) samples->data, samples->len,
                                   &host, ts_ms);
                t2 = g_get_monotonic_time ();
                if (store && !augur_store_tick_commit (store, &error)) {
                        fprintf (stderr, "error: %s\n", error->message);
                        return 1;
                }
                tick_us = (double) (g_get_monotonic_time () - t0) / opt_vms;
                if (t >= warm_ticks) {
                        sum_us += tick_us;
                        worst_us = MAX (worst_us, tick_us);
                        begin_us += (double) (t1 - t0) / opt_vms;
                        commit_us += (double) (g_get_monotonic_time () - t2) / opt_vms;
                        n_balloon += augur_fake_count (fake, AUGUR_FAKE_CALL_SET_BALLOON, NULL);
                        n_vcpus += augur_fake_count (fake, AUGUR_FAKE_CALL_SET_VCPUS, NULL);
                }
                augur_fake_clear_calls (fake);  /* the record would grow by 1000s per tick */
        }
        printf ("mean  %.2f us per VM per tick (total %.2f ms per tick)\n", sum_us / ticks,
                sum_us / ticks * opt_vms / 1000);
        printf ("worst tick %.2f us per VM\n", worst_us);
        printf ("forecast stage, VM-ticks with a slow step: %.2f us each (%" G_GUINT64_FORMAT "); without: %.2f us "
                "each (%" G_GUINT64_FORMAT ")\n", stage.n_slow ? stage.slow_us / stage.n_slow : 0, stage.n_slow,
                stage.n_fast ? stage.fast_us / stage.n_fast : 0, stage.n_fast);
        printf ("actuations: %.3f balloon and %.3f vCPU changes per VM per tick\n",
                (double) n_balloon / ticks / opt_vms, (double) n_vcpus / ticks / opt_vms);
        if (store)
                printf ("of which the tick's transaction outside the loop: %.2f us per VM per tick (tick begin with "
                        "the minute's move %.2f, commit %.2f); the loop's own writes (forecasts, actuations, audit "
                        "rows) are in the loop\n", (begin_us + commit_us) / ticks, begin_us / ticks, commit_us / ticks);
        augur_hv_close (hv);
        g_free (vms);
        return 0;
}
