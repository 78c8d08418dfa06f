/* bench-tick.c — the daemon's per-tick cost for N VMs, without libvirt:
 * predictor step (features, int NN window, baselines, calibration, fast
 * path) + AugurForecast + augur_policy_plan() + one audit row
 * (AugurDecisionRow filled as plugin/resize.c fills it), per VM and tick.
 *
 * Usage: bench-tick [--vms 1000] [--tick 5] [--hours 1] [--warm-hours 2]
 *                   [--model MODEL] [--no-stagger] [--db PATH] [--price P]
 * The predictor runs with augurd's configuration (plugin/forecaster.c) at
 * augurd's default [forecast] memory_price_per_gib, or at --price P (0 =
 * coverage mode).
 * Without --model a model with the production shapes (LSTM, 32 hidden,
 * every feature group, T 24, H 12) and random weights is built: the cost
 * does not depend on the weights.  Samples are synthetic random walks.
 *
 * With --db the tick is also written to a new SQLite store at PATH as
 * augurd writes it (plugin/daemon.c, plugin/resize.c): one transaction per
 * tick, opened by augur_store_tick_begin() (here without samples:
 * scripts/bench-store measures those; at each new minute it moves the
 * decisions into decisions_main), each VM's newest forecast
 * (augur_store_write_forecast(), as resize.c writes it every tick at a 5 s
 * tick), the audit rows (augur_store_write_decisions()), then
 * augur_store_tick_commit().  Without --db the row is only filled.
 * The note of a row is empty, as in augurd unless arbitration cut the VM
 * or an actuation failed.
 *
 * Prints µs per VM per tick: the mean over all ticks (what a 1000-VM host
 * pays on average), the worst tick, and the mean over VM-ticks that ran a
 * slow (model) step vs those that did not.  Not a test: it always exits 0
 * unless an argument is wrong.  Run on an idle machine.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "predictor.h"
#include "policy.h"
#include "resize.h"
#include "augur-config.h"
#include "forecaster.h"
#include "store-decisions.h"

static guint opt_vms = 1000, opt_hours = 1, opt_warm_hours = 2;
static double opt_tick = 5;
static const char *opt_model, *opt_db;
static double opt_price = NAN;          /* NAN: augurd's default */
static gboolean opt_no_stagger;

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

typedef struct {
        AugurPredictorVm *pv;
        AugurPolicyState st;
        char name[32];
        char uuid[AUGUR_UUID_STRLEN];
        double used, cpu, alloc;
        int vcpus;
        gint64 forecast_written_ms;
} Vm;

int
main (int argc, char **argv)
{
        g_autoptr (GError) error = NULL;
        g_autoptr (AugurModel) owned = NULL;
        g_autoptr (AugurPredictor) p = NULL;
        const AugurModel *m;
        AugurPredictorConfig pcfg;
        AugurPolicyConfig cfg;
        Vm *vms;
        guint warm_ticks, ticks;
        double sum_us = 0, worst_us = 0, slow_us = 0, fast_us = 0;
        guint64 n_slow = 0, n_fast = 0;
        AugurDecisionRow *rows;
        g_autoptr (AugurStore) store = NULL;
        double begin_us = 0, forecast_us = 0, rows_us = 0, commit_us = 0;

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

                if (strcmp (a, "--no-stagger") == 0) {
                        opt_no_stagger = TRUE;
                        continue;
                }
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
                else {
                        fprintf (stderr, "error: bench-tick: unknown option '%s'\n", a);
                        return 2;
                }
        }
        if (opt_vms == 0 || !(opt_tick >= 0.5) || opt_hours == 0) {
                fprintf (stderr, "error: bench-tick: --vms, --hours > 0 and --tick >= 0.5 please\n");
                return 2;
        }
        if (opt_model) {
                owned = augur_model_load (opt_model, &error);
                if (!owned) {
                        fprintf (stderr, "error: %s\n", error->message);
                        return 1;
                }
        } else {
                owned = random_model ();
        }
        m = owned;
        /* augurd's predictor: its default config file's price */
        {
                g_autoptr(AugurConfig) dflt = augur_config_new_default ();

                augur_forecaster_predictor_config (opt_tick, isnan (opt_price) ? dflt->price_per_gib : opt_price,
                                                   dflt->precursor_bound, &pcfg);
        }
        pcfg.stagger = !opt_no_stagger;
        p = augur_predictor_new (m, &pcfg, &error);
        if (!p) {
                fprintf (stderr, "error: %s\n", error->message);
                return 1;
        }
        augur_policy_config_init (&cfg);
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
        rows = g_new0 (AugurDecisionRow, opt_vms);
        vms = g_new0 (Vm, opt_vms);
        for (guint i = 0; i < opt_vms; i++) {
                g_snprintf (vms[i].name, sizeof vms[i].name, "vm-%04u", i);
                g_snprintf (vms[i].uuid, sizeof vms[i].uuid, "00000000-0000-5000-8000-%012u", i);
                vms[i].pv = augur_predictor_vm_new (p, vms[i].name);
                augur_policy_state_init (&vms[i].st);
                vms[i].used = 2e6 * (0.2 + 0.5 * urand ());
                vms[i].cpu = 0.5;
                vms[i].alloc = 4e6;
                vms[i].vcpus = 2;
        }
        warm_ticks = (guint) (opt_warm_hours * 3600 / opt_tick);
        ticks = (guint) (opt_hours * 3600 / opt_tick);
        printf ("bench-tick: %u VMs, tick %g s, model %s (F %u, T %u, H %u), price %g, %s, warm %u ticks, "
                "measured %u ticks, audit rows %s\n",
                opt_vms, opt_tick, opt_model ? opt_model : "random LSTM 32", m->F, m->T, m->H, pcfg.price_per_gib,
                pcfg.stagger ? "staggered slow steps" : "aligned slow steps", warm_ticks, ticks,
                store ? "written to SQLite" : "filled, not stored");

        for (guint t = 0; t < warm_ticks + ticks; t++) {
                gint64 ts = 1700000000 + (gint64) llround (t * opt_tick);
                gint64 t0 = g_get_monotonic_time ();
                double tick_us;

                /* The daemon's tick transaction comes first (here without
                 * samples); at each new minute it moves decisions_recent
                 * into decisions_main (004-samples-recent.sql). */
                if (store && !augur_store_tick_begin (store, ts * 1000, NULL, 0, NULL, 0, NULL, &error)) {
                        fprintf (stderr, "error: %s\n", error->message);
                        return 1;
                }
                if (store && t >= warm_ticks)
                        begin_us += (double) (g_get_monotonic_time () - t0) / opt_vms;

                for (guint i = 0; i < opt_vms; i++) {
                        Vm *v = &vms[i];
                        AugurFeatSample x;
                        AugurPredictorOut out;
                        AugurForecast f;
                        AugurPolicyInput in = { 0 };
                        AugurPlan plan;
                        AugurDecisionRow *row = &rows[i];
                        gint64 v0 = 0;

                        /* the tick's sample (made before the clock in a real
                         * tick: collect and store are not part of this) */
                        v->used = CLAMP (v->used * (1 + 0.01 * (urand () - 0.5)), 1e5, 3.9e6);
                        v->cpu = CLAMP (v->cpu + 0.05 * (urand () - 0.5), 0.01, 2);
                        for (int c = 0; c < AUGUR_COL_N; c++)
                                x.v[c] = NAN;
                        x.ts = ts;
                        x.v[AUGUR_COL_MEM_USED_KIB] = (float) v->used;
                        x.v[AUGUR_COL_MEM_PROV_KIB] = 4e6f;
                        x.v[AUGUR_COL_CPU_CORES] = 4;
                        x.v[AUGUR_COL_CPU_PCT] = (float) (100 * v->cpu / 4);
                        x.v[AUGUR_COL_DISK_RD_KIBPS] = (float) (100 * urand ());
                        x.v[AUGUR_COL_DISK_WR_KIBPS] = (float) (100 * urand ());
                        x.v[AUGUR_COL_NET_RX_KIBPS] = (float) (50 * urand ());
                        x.v[AUGUR_COL_NET_TX_KIBPS] = (float) (50 * urand ());
                        x.v[AUGUR_COL_INPUT_EVENTS_PER_MIN] = (float) (10 * urand ());
                        x.v[AUGUR_COL_SESSIONS] = 1;
                        x.v[AUGUR_COL_PROC_STARTS_PER_MIN] = (float) (2 * urand ());
                        if (t >= warm_ticks)
                                v0 = g_get_monotonic_time ();

                        augur_predictor_step (p, v->pv, &x, &out);
                        f.H = MIN (out.H, AUGUR_POLICY_MAX_H);
                        f.step_s = out.step_s;
                        f.model = out.model[AUGUR_PRED_MEM];
                        memcpy (f.mem_p50_kib, out.mem_p50_kib, sizeof f.mem_p50_kib);
                        memcpy (f.mem_upper_kib, out.mem_upper_kib, sizeof f.mem_upper_kib);
                        memcpy (f.cpu_p50_cores, out.cpu_p50_cores, sizeof f.cpu_p50_cores);
                        memcpy (f.cpu_upper_cores, out.cpu_upper_cores, sizeof f.cpu_upper_cores);
                        in.mem_used_kib = v->used;
                        in.mem_alloc_kib = v->alloc;
                        in.mem_max_kib = 4e6;
                        in.mem_min_kib = 2.5e5;
                        in.mem_stats_fresh = TRUE;
                        in.cpu_cores_used = v->cpu;
                        in.vcpus_online = v->vcpus;
                        in.vcpus_min = 1;
                        in.vcpus_max = 4;
                        in.can_add_vcpus = in.can_offline_vcpus = TRUE;
                        augur_policy_plan (&in, out.H ? &f : NULL, &cfg, &v->st, (double) ts, &plan);
                        v->st = plan.state;
                        v->alloc = plan.mem_target_kib;
                        v->vcpus = plan.vcpus_target;

                        /* the audit row (store-decisions.h), formatted */
                        memset (row, 0, sizeof *row);
                        row->ts_ms = ts * 1000;
                        memcpy (row->uuid, v->uuid, sizeof row->uuid);
                        g_strlcpy (row->name, v->name, sizeof row->name);
                        row->mode = "act";
                        row->policy = "augur";
                        row->model = f.model;
                        row->mem_used_kib = in.mem_used_kib;
                        row->mem_alloc_kib = in.mem_alloc_kib;
                        row->cpu_cores_used = in.cpu_cores_used;
                        row->vcpus_online = in.vcpus_online;
                        row->horizon_s = cfg.lead_s;
                        row->mem_p50_kib = out.H ? out.mem_p50_kib[0] : NAN;
                        row->mem_upper_kib = out.H ? out.mem_upper_kib[0] : NAN;
                        row->cpu_p50_cores = out.H ? out.cpu_p50_cores[0] : NAN;
                        row->cpu_upper_cores = out.H ? out.cpu_upper_cores[0] : NAN;
                        row->mem_target_kib = plan.mem_target_kib;
                        row->vcpus_target = plan.vcpus_target;
                        row->mem_action = plan.mem_target_kib != in.mem_alloc_kib ? "grow" : "none";
                        row->cpu_action = plan.vcpus_target != in.vcpus_online ? "grow" : "none";
                        row->mem_reason = augur_reason_name (plan.mem_reason);
                        row->cpu_reason = augur_reason_name (plan.cpu_reason);
                        row->mem_veto = augur_veto_name (plan.mem_veto);
                        row->cpu_veto = augur_veto_name (plan.cpu_veto);

                        /* the newest forecast, as resize.c stores it */
                        if (store && out.H && augur_resize_forecast_due (&v->forecast_written_ms, v->uuid, ts * 1000)) {
                                gint64 f0 = g_get_monotonic_time ();

                                if (!augur_store_write_forecast (store, ts * 1000, v->uuid, v->name, f.model,
                                                                 f.step_s, f.H, f.mem_p50_kib, f.mem_upper_kib,
                                                                 f.cpu_p50_cores, f.cpu_upper_cores, &error)) {
                                        fprintf (stderr, "error: %s\n", error->message);
                                        return 1;
                                }
                                if (t >= warm_ticks)
                                        forecast_us += (double) (g_get_monotonic_time () - f0) / opt_vms;
                        }

                        if (t >= warm_ticks) {
                                double us = (double) (g_get_monotonic_time () - v0);

                                if (out.slow_updated) {
                                        slow_us += us;
                                        n_slow++;
                                } else {
                                        fast_us += us;
                                        n_fast++;
                                }
                        }
                }
                if (store) {
                        gint64 s0 = g_get_monotonic_time (), s1;

                        if (!augur_store_write_decisions (store, rows, opt_vms, &error)) {
                                fprintf (stderr, "error: %s\n", error->message);
                                return 1;
                        }
                        s1 = g_get_monotonic_time ();
                        if (!augur_store_tick_commit (store, &error)) {
                                fprintf (stderr, "error: %s\n", error->message);
                                return 1;
                        }
                        if (t >= warm_ticks) {
                                rows_us += (double) (s1 - s0) / opt_vms;
                                commit_us += (double) (g_get_monotonic_time () - s1) / opt_vms;
                        }
                }
                if (t < warm_ticks)
                        continue;
                tick_us = (double) (g_get_monotonic_time () - t0) / opt_vms;
                sum_us += tick_us;
                worst_us = MAX (worst_us, tick_us);
        }
        printf ("mean  %.2f us per VM per tick (total %.2f ms per tick)\n", sum_us / ticks,
                sum_us / ticks * opt_vms / 1000);
        printf ("worst tick %.2f us per VM\n", worst_us);
        printf ("VM-ticks with a slow step: %.2f us each (%" G_GUINT64_FORMAT "); without: %.2f us each (%"
                G_GUINT64_FORMAT ")\n", n_slow ? slow_us / n_slow : 0, n_slow, n_fast ? fast_us / n_fast : 0, n_fast);
        if (store)
                printf ("of which the SQLite writes: %.2f us per VM per tick (tick begin with the minute's move %.2f, "
                        "forecasts %.2f, audit rows %.2f, commit %.2f)\n",
                        (begin_us + forecast_us + rows_us + commit_us) / ticks, begin_us / ticks,
                        forecast_us / ticks, rows_us / ticks, commit_us / ticks);
        for (guint i = 0; i < opt_vms; i++)
                augur_predictor_vm_free (vms[i].pv);
        g_free (rows);
        g_free (vms);
        return 0;
}
