/* cmd-model.c — virt-augur train / eval: the forecaster's command group.
 *
 * What it is: option parsing, input loading (trace files through
 * model/trace.h, or augurd's history through sql/store.h), progress and
 * result printing.  What it is not: training or scoring logic, which lives
 * in model/train.c and model/eval.c so tests and the daemon share it.
 *
 *   virt-augur train (--traces PATH [--format F] [--start T] | --db DB)
 *                    --out MODEL [--arch lstm|gru] [--hidden N] [--horizon H]
 *                    [--window T] [--step SEC] [--epochs N] [--seed N]
 *                    [--split time|vm] [--no-activity] [--no-buckets] [--point-loss mse|mae]
 *                    [--quantile Q] [--lr LR] [--batch B]
 *                    [--windows-per-epoch N] [--time-budget SEC]
 *                    [--max-series N]
 *   virt-augur eval [--model MODEL] (--traces PATH [--format F] | --db DB)
 *                   [--json] [--horizons all|LIST] [--no-online-calib]
 *                   [--on test|val]
 *                   [--max-series N]
 * eval without --model scores the baselines only; --on val scores the
 * validation split instead of the test split (for tuning without looking
 * at the test split).  Exit codes: 0 ok,
 * 1 runtime error, 2 bad usage (virt-augur.h).
 */
#include "config.h"

#include "virt-augur.h"
#include "store.h"
#include "trace.h"
#include "forecast.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Inputs common to train and eval. */
typedef struct {
        const char *traces;        /* --traces PATH, or NULL = the store     */
        const char *format;        /* --format, default auto                 */
        const char *start;         /* --start (Azure, PlanetLab, Alibaba)    */
        guint max_series;          /* --max-series, 0 = all                  */
} InputOpts;

static gboolean
parse_uint (const char *opt, const char *text, guint64 lo, guint64 hi, guint64 *ret, int *ret_exit)
{
        guint64 v;

        if (!g_ascii_string_to_unsigned (text, 10, lo, hi, &v, NULL)) {
                *ret_exit = augur_cli_usage ("%s: expected an integer in [%" G_GUINT64_FORMAT
                                             ", %" G_GUINT64_FORMAT "], got '%s'", opt, lo, hi, text);
                return FALSE;
        }
        *ret = v;
        return TRUE;
}

static gboolean
parse_float (const char *opt, const char *text, double lo, double hi, double *ret, int *ret_exit)
{
        char *end = NULL;
        double v = g_ascii_strtod (text, &end);

        if (end == text || *end != '\0' || !(v >= lo && v <= hi)) {
                *ret_exit = augur_cli_usage ("%s: expected a number in [%g, %g], got '%s'", opt, lo, hi, text);
                return FALSE;
        }
        *ret = v;
        return TRUE;
}

/* Take an input option at argv[*i]; FALSE if argv[*i] is not one. */
static gboolean
take_input_opt (InputOpts *in, int argc, char **argv, int *i, int *ret_exit)
{
        const char *a = argv[*i];
        guint64 v;

        if (*i + 1 >= argc)
                return FALSE;
        if (strcmp (a, "--traces") == 0)
                in->traces = argv[++*i];
        else if (strcmp (a, "--format") == 0)
                in->format = argv[++*i];
        else if (strcmp (a, "--start") == 0)
                in->start = argv[++*i];
        else if (strcmp (a, "--max-series") == 0) {
                if (!parse_uint (a, argv[++*i], 0, G_MAXUINT, &v, ret_exit))
                        return TRUE;
                in->max_series = (guint) v;
        } else {
                return FALSE;
        }
        return TRUE;
}

/* Load every series from trace files or from the store (5-minute rollups
 * when the step is 300 s, else raw samples). */
static GPtrArray *
load_series (const AugurCliGlobal *g, const InputOpts *in, gint64 step_s, gboolean quiet, GError **error)
{
        g_autoptr (GPtrArray) out = NULL;

        if (in->traces) {
                AugurTraceFormat fmt;
                AugurTraceOpts opts = { 0 };
                AugurTraceStats stats = { 0 };
                g_autofree char *summary = NULL;

                if (!augur_trace_format_from_name (in->format, &fmt, error))
                        return NULL;
                if (in->start) {
                        if (!augur_parse_time_s (in->start, &opts.start_s, error))
                                return NULL;
                        opts.start_set = TRUE;
                }
                opts.max_series = in->max_series;
                out = augur_trace_read (in->traces, fmt, &opts, &stats, error);
                summary = augur_trace_stats_format (&stats);
                if (!quiet && summary && *summary)
                        g_printerr ("Read %s:\n%s", in->traces, summary);
                return g_steal_pointer (&out);
        } else {
                g_autoptr (AugurStore) st = NULL;
                g_auto (GStrv) names = NULL;
                AugurResolution res = step_s == 300 ? AUGUR_RES_5M : (step_s == 60 ? AUGUR_RES_1M : AUGUR_RES_RAW);

                st = augur_store_open (augur_cli_db_path (g), AUGUR_STORE_READ_ONLY, error);
                if (!st)
                        return NULL;
                names = augur_store_list_domain_names (st, error);
                if (!names)
                        return NULL;
                out = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);
                for (guint i = 0; names[i]; i++) {
                        AugurSeries *s;

                        if (in->max_series && out->len >= in->max_series)
                                break;
                        s = augur_store_load_series (st, names[i], G_MININT64, G_MAXINT64, res, error);
                        if (!s) {
                                g_prefix_error (error, "domain '%s': ", names[i]);
                                return NULL;
                        }
                        if (s->n > 0)
                                g_ptr_array_add (out, s);
                        else
                                augur_series_free (s);
                }
                if (out->len == 0) {
                        g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_NO_DATA,
                                     "%s: the history holds no samples", augur_cli_db_path (g));
                        return NULL;
                }
                if (!quiet)
                        g_printerr ("Loaded %u domains from %s\n", out->len, augur_cli_db_path (g));
                return g_steal_pointer (&out);
        }
}

/* ---------------------------------------------------------------- train */

static void
train_progress (const AugurTrainProgress *p, gpointer user_data)
{
        g_printerr ("epoch %2u/%u  train %.5f  val %.5f%s  elapsed %5.1f s  ETA %5.1f s\n",
                    p->epoch, p->epochs, p->train_loss, p->val_loss, p->improved ? " *" : "  ",
                    p->elapsed_s, p->eta_s);
}

static int
cmd_train (const AugurCliGlobal *g, int argc, char **argv)
{
        InputOpts in = { NULL, NULL, NULL, 0 };
        AugurTrainConfig cfg;
        AugurFeatConfig feat;
        const char *out_path = NULL;
        g_autoptr (GPtrArray) series = NULL;
        g_autoptr (AugurDataset) ds = NULL;
        g_autoptr (AugurModel) model = NULL;
        g_autoptr (GError) error = NULL;
        g_autoptr (GTimer) timer = g_timer_new ();
        int ex = -1;
        guint64 v;
        double d;

        augur_train_config_init (&cfg);
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                const char *val = i + 1 < argc ? argv[i + 1] : NULL;

                if (take_input_opt (&in, argc, argv, &i, &ex)) {
                        if (ex >= 0)
                                return ex;
                        continue;
                }
                if (strcmp (a, "--no-activity") == 0) {
                        cfg.no_activity = TRUE;
                        continue;
                }
                if (strcmp (a, "--no-buckets") == 0) {
                        cfg.no_buckets = TRUE;
                        continue;
                }
                if (!val)
                        return augur_cli_usage ("train: unknown option or missing value '%s'", a);
                i++;
                if (strcmp (a, "--out") == 0 || strcmp (a, "-o") == 0) {
                        out_path = val;
                } else if (strcmp (a, "--arch") == 0) {
                        int arch = augur_arch_from_name (val);

                        if (arch < 0)
                                return augur_cli_usage ("train: --arch must be lstm or gru");
                        cfg.arch = (AugurArch) arch;
                } else if (strcmp (a, "--hidden") == 0) {
                        if (!parse_uint (a, val, 1, 1024, &v, &ex))
                                return ex;
                        cfg.hidden = (guint) v;
                } else if (strcmp (a, "--horizon") == 0) {
                        if (!parse_uint (a, val, 1, AUGUR_FORECAST_MAX_H, &v, &ex))
                                return ex;
                        cfg.H = (guint) v;
                } else if (strcmp (a, "--window") == 0) {
                        if (!parse_uint (a, val, 1, 288, &v, &ex))
                                return ex;
                        cfg.T = (guint) v;
                } else if (strcmp (a, "--step") == 0) {
                        if (!parse_uint (a, val, 1, 86400, &v, &ex))
                                return ex;
                        cfg.step_s = (gint64) v;
                } else if (strcmp (a, "--epochs") == 0) {
                        if (!parse_uint (a, val, 1, 10000, &v, &ex))
                                return ex;
                        cfg.epochs = (guint) v;
                } else if (strcmp (a, "--patience") == 0) {
                        if (!parse_uint (a, val, 1, 10000, &v, &ex))
                                return ex;
                        cfg.patience = (guint) v;
                } else if (strcmp (a, "--seed") == 0) {
                        if (!parse_uint (a, val, 0, G_MAXUINT64, &v, &ex))
                                return ex;
                        cfg.seed = v;
                } else if (strcmp (a, "--batch") == 0) {
                        if (!parse_uint (a, val, 1, 65536, &v, &ex))
                                return ex;
                        cfg.batch = (guint) v;
                } else if (strcmp (a, "--windows-per-epoch") == 0) {
                        if (!parse_uint (a, val, 0, G_MAXUINT, &v, &ex))
                                return ex;
                        cfg.windows_per_epoch = (guint) v;
                } else if (strcmp (a, "--split") == 0) {
                        if (strcmp (val, "time") == 0)
                                cfg.split = AUGUR_SPLIT_BY_TIME;
                        else if (strcmp (val, "vm") == 0)
                                cfg.split = AUGUR_SPLIT_BY_VM;
                        else
                                return augur_cli_usage ("train: --split must be time or vm");
                } else if (strcmp (a, "--point-loss") == 0) {
                        if (strcmp (val, "mse") == 0)
                                cfg.point_loss = AUGUR_POINT_LOSS_MSE;
                        else if (strcmp (val, "mae") == 0)
                                cfg.point_loss = AUGUR_POINT_LOSS_MAE;
                        else
                                return augur_cli_usage ("train: --point-loss must be mse or mae");
                } else if (strcmp (a, "--quantile") == 0) {
                        if (!parse_float (a, val, 0.5, 0.999, &d, &ex))
                                return ex;
                        cfg.quantile = (float) d;
                        cfg.coverage = (float) d;
                } else if (strcmp (a, "--lr") == 0) {
                        if (!parse_float (a, val, 1e-6, 1.0, &d, &ex))
                                return ex;
                        cfg.lr = (float) d;
                } else if (strcmp (a, "--time-budget") == 0) {
                        if (!augur_parse_duration_s (val, &d, &error))
                                return augur_cli_usage ("train: --time-budget: %s", error->message);
                        cfg.time_budget_s = d;
                } else {
                        return augur_cli_usage ("train: unknown option '%s'", a);
                }
        }
        if (!out_path)
                return augur_cli_usage ("train: missing --out MODEL");

        series = load_series (g, &in, cfg.step_s, g->json, &error);
        if (!series)
                return augur_cli_error ("%s", error->message);
        augur_features_config_init (&feat);
        feat.step_s = cfg.step_s;
        if (cfg.no_activity)
                feat.groups &= ~(guint) (AUGUR_FEAT_GROUP_ACTIVITY | AUGUR_FEAT_GROUP_BUCKETS);
        if (cfg.no_buckets)
                feat.groups &= ~(guint) AUGUR_FEAT_GROUP_BUCKETS;
        ds = augur_dataset_prepare (series, &feat, cfg.split, TRUE);
        if (!g->json)
                g_printerr ("Dataset: %u series on a %" G_GINT64_FORMAT " s grid, %u features, "
                            "%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " steps empty; "
                            "%s %u x %u, window %u, horizons %u\n",
                            ds->vms->len, feat.step_s, augur_features_count (feat.groups),
                            ds->resample.steps_empty, ds->resample.steps_out,
                            augur_arch_name (cfg.arch), cfg.hidden, cfg.batch, cfg.T, cfg.H);
        model = augur_forecast_train (ds, &cfg, g->json ? NULL : train_progress, NULL, &error);
        if (!model)
                return augur_cli_error ("training: %s", error->message);
        if (!augur_model_save (model, out_path, &error))
                return augur_cli_error ("%s", error->message);
        if (g->json) {
                g_print ("{\"model\": \"%s\", \"epochs\": %u, \"best_epoch\": %u, "
                         "\"train_seconds\": %.2f, \"total_seconds\": %.2f, \"features\": %u}\n",
                         out_path, model->epochs_run, model->best_epoch, model->train_seconds,
                         g_timer_elapsed (timer, NULL), model->F);
        } else {
                g_print ("Wrote %s: %s, %u features, best epoch %u of %u, NN training %.1f s, total %.1f s\n",
                         out_path, augur_arch_name (model->nn->cfg.arch), model->F, model->best_epoch,
                         model->epochs_run, model->train_seconds, g_timer_elapsed (timer, NULL));
        }
        return 0;
}

/* ----------------------------------------------------------------- eval */

static gboolean
horizon_selected (guint h, guint H, const char *spec)
{
        g_auto (GStrv) parts = NULL;

        if (spec == NULL)
                return h == 1 || h == 3 || h == 6 || h == 12 || h == H;
        if (strcmp (spec, "all") == 0)
                return TRUE;
        parts = g_strsplit (spec, ",", -1);
        for (guint i = 0; parts[i]; i++)
                if ((guint) atoi (parts[i]) == h)
                        return TRUE;
        return FALSE;
}

static void
print_json_double (GString *s, double v)
{
        char buf[G_ASCII_DTOSTR_BUF_SIZE];

        if (!isfinite (v)) {
                g_string_append (s, "null");
                return;
        }
        g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.6g", v));
}

static int
cmd_eval (const AugurCliGlobal *g, int argc, char **argv)
{
        InputOpts in = { NULL, NULL, NULL, 0 };
        AugurEvalConfig ecfg;
        AugurFeatConfig feat;
        const char *model_path = NULL, *horizons = NULL;
        g_autoptr (AugurModel) model = NULL;
        g_autoptr (GPtrArray) series = NULL;
        g_autoptr (AugurDataset) ds = NULL;
        g_autoptr (GArray) rows = NULL;
        g_autoptr (GError) error = NULL;
        g_autoptr (GString) out = g_string_new (NULL);
        int ex = -1;
        int last_target = -1;
        guint last_h = 0;

        augur_eval_config_init (&ecfg);
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];

                if (take_input_opt (&in, argc, argv, &i, &ex)) {
                        if (ex >= 0)
                                return ex;
                        continue;
                }
                if (strcmp (a, "--no-online-calib") == 0)
                        ecfg.online_calib = FALSE;
                else if (strcmp (a, "--on") == 0 && i + 1 < argc) {
                        const char *sp = argv[++i];

                        if (strcmp (sp, "val") == 0 || strcmp (sp, "validation") == 0)
                                ecfg.on_validation = TRUE;
                        else if (strcmp (sp, "test") != 0)
                                return augur_cli_usage ("eval: --on must be test or val");
                }
                else if (strcmp (a, "--model") == 0 && i + 1 < argc)
                        model_path = argv[++i];
                else if (strcmp (a, "--horizons") == 0 && i + 1 < argc)
                        horizons = argv[++i];
                else
                        return augur_cli_usage ("eval: unknown option or missing value '%s'", a);
        }
        augur_features_config_init (&feat);
        if (model_path) {
                model = augur_model_load (model_path, &error);
                if (!model)
                        return augur_cli_error ("%s", error->message);
                feat = model->feat;
                ecfg.coverage = model->coverage;
        }
        series = load_series (g, &in, feat.step_s, g->json, &error);
        if (!series)
                return augur_cli_error ("%s", error->message);
        ds = augur_dataset_prepare (series, &feat, model ? model->split : AUGUR_SPLIT_BY_TIME, model == NULL);
        rows = augur_forecast_eval (model, ds, &ecfg, &error);
        if (!rows)
                return augur_cli_error ("%s", error->message);

        if (g->json) {
                gboolean first = TRUE;

                g_string_append (out, "{\"results\":[");
                for (guint i = 0; i < rows->len; i++) {
                        const AugurEvalRow *r = &g_array_index (rows, AugurEvalRow, i);

                        if (horizons && !horizon_selected (r->h, model ? model->H : ecfg.H, horizons))
                                continue;
                        g_string_append_printf (out, "%s\n{\"target\":\"%s\",\"horizon\":%u,\"model\":\"%s\",\"n\":%"
                                                G_GUINT64_FORMAT ",\"mae\":", first ? "" : ",",
                                                augur_target_name (r->target), r->h, r->model, r->n);
                        print_json_double (out, r->mae);
                        g_string_append (out, ",\"rmse\":");
                        print_json_double (out, r->rmse);
                        g_string_append (out, ",\"r2\":");
                        print_json_double (out, r->r2);
                        g_string_append (out, ",\"coverage\":");
                        print_json_double (out, r->coverage);
                        g_string_append (out, "}");
                        first = FALSE;
                }
                g_string_append (out, "\n]}\n");
                fputs (out->str, stdout);
                return 0;
        }

        g_print ("%s split: %s %d %% of each VM's time%s; upper bound coverage target %.0f %%%s.\n",
                 ecfg.on_validation ? "Validation" : "Test",
                 ecfg.on_validation ? "the" : "last",
                 (int) (AUGUR_SPLIT_TEST_FRAC * 100),
                 model && model->split == AUGUR_SPLIT_BY_VM ? " (held-out VMs)" : "",
                 ecfg.coverage * 100, ecfg.online_calib ? ", conformal margins updated online" : "");
        for (guint i = 0; i < rows->len; i++) {
                const AugurEvalRow *r = &g_array_index (rows, AugurEvalRow, i);

                if (!horizon_selected (r->h, model ? model->H : ecfg.H, horizons))
                        continue;
                if ((int) r->target != last_target) {
                        g_print ("\n%s\n%-4s %-16s %9s %10s %10s %8s %8s\n", augur_target_name (r->target),
                                 "h", "model", "n", "MAE", "RMSE", "R2", "cover");
                        last_target = (int) r->target;
                        last_h = 0;
                } else if (r->h != last_h) {
                        g_print ("\n");
                }
                last_h = r->h;
                g_print ("%-4u %-16s %9" G_GUINT64_FORMAT " %10.4f %10.4f %8.4f %7.2f%%\n",
                         r->h, r->model, r->n, r->mae, r->rmse, r->r2, r->coverage * 100);
        }
        return 0;
}

const AugurCmdInfo augur_cmds_model[] = {
        { "train", cmd_train,
          "(--traces PATH [--format F] | --db DB) --out MODEL [--arch lstm|gru] [--hidden N] "
          "[--horizon H] [--step SEC] [--epochs N] [--seed N] [--split time|vm] [--no-activity] [--no-buckets]" },
        { "eval", cmd_eval,
          "--model MODEL (--traces PATH [--format F] | --db DB) [--json] [--horizons all|1,3,12]" },
        { NULL },
};
