/* cmd-model.c — virt-augur train / eval: the forecaster's command group.
 *
 * What it is: the option tables (opts_train, opts_eval: every option, its
 * range and its default; `virt-augur help train` prints them), input
 * loading (trace files through model/trace.h, or augurd's history through
 * sql/store.h), progress and result printing.  What it is not: training or
 * scoring logic, which lives in model/train.c and model/eval.c so tests
 * and the daemon share it.
 *
 *   virt-augur train (--traces PATH [--format F] [--start T] | --db DB)
 *                    --out MODEL [OPTIONS]
 *   virt-augur eval [--model MODEL] (--traces PATH [--format F] | --db DB)
 *                   [--horizons all|LIST] [--on test|val] [OPTIONS]
 * eval without --model scores the baselines only; --on val scores the
 * validation split instead of the test split (for tuning without looking
 * at the test split).  Exit codes: 0 ok,
 * 1 runtime error, 2 bad usage (virt-augur.h).
 */
#include "config.h"

#include "virt-augur.h"
#include "cli-json.h"
#include "model-file.h"
#include "store.h"
#include "trace.h"
#include "forecast.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
augur_cli_input_get (AugurCliInput *in, const AugurCmdOpts *opts)
{
        guint64 v;

        in->traces = augur_cmd_opts_string (opts, "traces");
        in->format = augur_cmd_opts_string (opts, "format");
        in->start = augur_cmd_opts_string (opts, "start");
        if (augur_cmd_opts_int (opts, "max-series", &v))
                in->max_series = (guint) v;
}

GPtrArray *
augur_cli_load_series (const AugurCliGlobal *g, const AugurCliInput *in, gint64 step_s, gboolean quiet, GError **error)
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
                AugurResolution res = step_s == 300 ? AUGUR_RES_5M : (step_s == 60 ? AUGUR_RES_1M : AUGUR_RES_RAW);

                st = augur_store_open (augur_cli_db_path (g), AUGUR_STORE_READ_ONLY, error);
                if (!st || !(out = augur_store_load_all_series (st, G_MININT64, G_MAXINT64, res, in->max_series, error)))
                        return NULL;
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

/* The data's bounds on the window and the horizon (dataset.h), and a note
 * on standard error for VMs with less history than the window. */
static gboolean
check_shape (const AugurCliGlobal *g, const AugurDataset *ds, guint T, guint H, AugurSplit sp, GError **error)
{
        guint n_short = 0;

        if (!augur_dataset_check_shape (ds, T, H, sp, &n_short, error))
                return FALSE;
        if (n_short > 0 && !g->json)
                g_printerr ("Note: %u of %u VMs have less history than the %u-step window: the model "
                            "skips them, the baselines forecast them\n", n_short, ds->vms->len, T);
        return TRUE;
}

/* ---------------------------------------------------------------- train */

static void
train_progress (const AugurTrainProgress *p, gpointer user_data)
{
        g_autofree char *net = p->nets > 1 ? g_strdup_printf ("net %u/%u  ", p->net, p->nets) : g_strdup ("");

        g_printerr ("%sepoch %2u/%u  train %.5f  val %.5f%s  elapsed %5.1f s  ETA %5.1f s\n",
                    net, p->epoch, p->epochs, p->train_loss, p->val_loss, p->improved ? " *" : "  ",
                    p->elapsed_s, p->eta_s);
}

/* "best epoch 62 of 70", or per network "3 networks, best epochs 62, 82,
 * 61 of 70, 90, 69" (forecast.h ENSEMBLE). */
static char *
epochs_text (const AugurModel *m)
{
        guint n = augur_model_n_nets (m);
        g_autoptr (GString) best = g_string_new (NULL);
        g_autoptr (GString) run = g_string_new (NULL);

        for (guint i = 0; i < n; i++) {
                g_string_append_printf (best, "%s%u", i ? ", " : "", i ? m->more_best[i - 1] : m->best_epoch);
                g_string_append_printf (run, "%s%u", i ? ", " : "", i ? m->more_epochs[i - 1] : m->epochs_run);
        }
        if (n == 1)
                return g_strdup_printf ("best epoch %s of %s", best->str, run->str);
        return g_strdup_printf ("%u networks, best epochs %s of %s", n, best->str, run->str);
}

/* What the model serves (forecast.h VALIDATION GATE), one line per target
 * with data and regime, runs of horizons with the same source merged:
 * "  cpu_pct moving: nn h1-3, last_value h4-12". */
static void
print_gate (const AugurModel *m)
{
        g_print ("Serves (chosen on validation):\n");
        for (int t = 0; t < AUGUR_TARGET_N; t++)
                for (int g = 0; g < AUGUR_REGIME_N; g++) {
                        g_autoptr (GString) line = g_string_new (NULL);
                        guint h0 = 1;

                        for (guint h = 1; h <= m->H; h++) {
                                guint8 sv = m->serve[t][g][h - 1];
                                char name[AUGUR_SERVE_NAME_MAX];

                                if (h < m->H && m->serve[t][g][h] == sv)
                                        continue;
                                g_string_append_printf (line, "%s%s h%u", line->len ? ", " : "",
                                                        augur_serve_name (sv, name, sizeof name), h0);
                                if (h > h0)
                                        g_string_append_printf (line, "-%u", h);
                                h0 = h + 1;
                        }
                        g_print ("  %s %s: %s\n", augur_target_name ((AugurTarget) t),
                                 augur_regime_name ((AugurRegime) g), line->str);
                }
}

/* virt-augur model show FILE: what a model file is and what it serves at
 * each target, regime and horizon (the VALIDATION GATE, forecast.h), as
 * train printed it when it wrote the file.  0, or 1 when the file cannot be
 * loaded (the loader's message names why). */
int
augur_cli_model_show (const AugurCliGlobal *g, const char *path)
{
        g_autoptr (AugurModel) m = NULL;
        g_autoptr (GError) error = NULL;

        m = augur_model_load (path, &error);
        if (!m)
                return augur_cli_error ("%s", error->message);
        if (g->json) {
                g_autoptr (JsonBuilder) b = json_builder_new ();

                json_builder_begin_object (b);
                json_builder_set_member_name (b, "model");
                json_builder_add_string_value (b, path);
                json_builder_set_member_name (b, "arch");
                json_builder_add_string_value (b, augur_arch_name (m->nn->cfg.arch));
                augur_cli_json_count (b, "hidden", m->nn->cfg.hidden);
                augur_cli_json_count (b, "window", m->T);
                augur_cli_json_count (b, "horizons", m->H);
                augur_cli_json_count (b, "step_s", m->feat.step_s);
                augur_cli_json_count (b, "features", m->F);
                augur_cli_json_count (b, "nets", augur_model_n_nets (m));
                augur_cli_json_count (b, "epochs", m->epochs_run);
                augur_cli_json_count (b, "best_epoch", m->best_epoch);
                json_builder_set_member_name (b, "serve");
                augur_model_serve_to_json (m, b);
                json_builder_end_object (b);
                augur_cli_json_print (b, TRUE);
                return 0;
        }
        g_autofree char *ep = epochs_text (m);

        g_print ("%s: %s, width %u, %u features, window %u steps of %" G_GINT64_FORMAT " s, horizons 1..%u; "
                 "%s\n", path, augur_arch_name (m->nn->cfg.arch), m->nn->cfg.hidden, m->F,
                 m->T, m->feat.step_s, m->H, ep);
        print_gate (m);
        return 0;
}

/* The words of --split and --point-loss, in their enums' order. */
static const char *const split_words[] = { "time", "vm", NULL };
static const char *const point_loss_words[] = { "mse", "mae", NULL };
G_STATIC_ASSERT (AUGUR_SPLIT_BY_TIME == 0 && AUGUR_SPLIT_BY_VM == 1);
G_STATIC_ASSERT (AUGUR_POINT_LOSS_MSE == 0 && AUGUR_POINT_LOSS_MAE == 1);

static const AugurOptDef opts_train[] = {
        AUGUR_CLI_INPUT_OPT_ROWS,
        { .name = "out", .type = AUGUR_OPT_STRING, .flags = AUGUR_OPT_REQUIRED, .alias = 'o', .metavar = "MODEL",
          .help = "write the model there" },
        { .name = "arch", .type = AUGUR_OPT_STRING, .metavar = "lstm|gru|transformer",
          .help = "the network: a recurrent cell or a small causal attention encoder (default transformer)" },
        { .name = "layers", .type = AUGUR_OPT_INT, .metavar = "N", .imin = 1, .imax = 8,
          .help = "transformer: attention blocks (default 1)" },
        { .name = "heads", .type = AUGUR_OPT_INT, .metavar = "N", .imin = 1, .imax = 64,
          .help = "transformer: attention heads, must divide --hidden (default 2)" },
        { .name = "hidden", .type = AUGUR_OPT_INT, .metavar = "N", .imin = 1, .imax = 1024,
          .help = "hidden units (default 48)" },
        { .name = "horizon", .type = AUGUR_OPT_INT, .metavar = "H", .imin = 1, .imax = AUGUR_FORECAST_MAX_H,
          .help = "steps forecast ahead, at most 48 (default 12; 48 steps of 5 min = 4 h)" },
        { .name = "window", .type = AUGUR_OPT_INT, .metavar = "T", .imin = 1, .imax = 288,
          .help = "input window, steps (default 12)" },
        { .name = "step", .type = AUGUR_OPT_INT, .metavar = "SEC", .imin = 1, .imax = 86400,
          .help = "the grid the series are resampled to, seconds (default 300)" },
        { .name = "epochs", .type = AUGUR_OPT_INT, .metavar = "N", .imin = 1, .imax = 10000,
          .help = "at most N epochs (default 200)" },
        { .name = "patience", .type = AUGUR_OPT_INT, .metavar = "N", .imin = 1, .imax = 10000,
          .help = "stop after N epochs without a better validation loss (default 8)" },
        { .name = "seed", .type = AUGUR_OPT_INT, .metavar = "N", .imin = 0, .imax = G_MAXUINT64,
          .help = "random seed (default 1); network i of --nets uses seed + i - 1" },
        { .name = "nets", .type = AUGUR_OPT_INT, .metavar = "N", .imin = 1, .imax = AUGUR_MODEL_MAX_NETS,
          .help = "networks trained and averaged (default 3; they share --time-budget)" },
        { .name = "batch", .type = AUGUR_OPT_INT, .metavar = "B", .imin = 1, .imax = 65536,
          .help = "minibatch size (default 128)" },
        { .name = "windows-per-epoch", .type = AUGUR_OPT_INT, .metavar = "N", .imin = 0, .imax = G_MAXUINT,
          .help = "training windows sampled per epoch (default 32768; 0 = all)" },
        { .name = "split", .type = AUGUR_OPT_CHOICE, .metavar = "time|vm", .choices = split_words,
          .help = "hold out the end of every VM's time (default) or whole VMs" },
        { .name = "point-loss", .type = AUGUR_OPT_CHOICE, .metavar = "mse|mae", .choices = point_loss_words,
          .help = "the median head's loss (default mae)" },
        { .name = "quantile", .type = AUGUR_OPT_DOUBLE, .metavar = "Q", .min = 0.5, .max = 0.999,
          .help = "the upper head's quantile, also the coverage target (default 0.95)" },
        { .name = "lr", .type = AUGUR_OPT_DOUBLE, .metavar = "LR", .min = 1e-6, .max = 1.0,
          .help = "learning rate (default 0.003)" },
        { .name = "time-budget", .type = AUGUR_OPT_DURATION, .metavar = "DURATION",
          .help = "stop training after this long (default 4m; 0 = no limit)" },
        { .name = "no-activity", .type = AUGUR_OPT_BOOL,
          .help = "leave out the in-guest activity features (and the buckets)" },
        { .name = "no-buckets", .type = AUGUR_OPT_BOOL,
          .help = "leave out the per-program and per-user bucket features" },
        { .name = "recency", .type = AUGUR_OPT_BOOL,
          .help = "add the recency features (steps since each activity and disk burst, over 3 h)" },
        { .name = "day", .type = AUGUR_OPT_BOOL,
          .help = "add a day of context: the hourly means of CPU and memory over the last 24 h" },
        { .name = "onset-weight", .type = AUGUR_OPT_INT, .metavar = "K", .imin = 1, .imax = 100,
          .help = "sample the training windows that have a memory rise of 5 points or more "
                  "within 3 steps K times as often (default 1)" },
        { NULL },
};

static const AugurCmdInfo info_train = {
        .help = "train a forecasting model (LSTM, GRU or transformer)",
        .desc = "Train a forecasting model (LSTM, GRU or a small transformer) on imported traces (--traces) or on "
                "augurd's history (--db), and write it to --out.  Progress goes to standard "
                "error, one line per epoch; --json prints one result object instead.",
};

static int
cmd_train (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        AugurCliInput in = { NULL, NULL, NULL, 0 };
        AugurTrainConfig cfg;
        AugurFeatConfig feat;
        const char *out_path = augur_cmd_opts_string (opts, "out");
        const char *val;
        g_autoptr (GPtrArray) series = NULL;
        g_autoptr (AugurDataset) ds = NULL;
        g_autoptr (AugurModel) model = NULL;
        g_autoptr (GError) error = NULL;
        g_autoptr (GTimer) timer = g_timer_new ();
        guint64 v;
        guint w;
        double d;

        augur_train_config_init (&cfg);
        augur_cli_input_get (&in, opts);
        if (augur_cmd_opts_bool (opts, "no-activity"))
                cfg.no_activity = TRUE;
        if (augur_cmd_opts_bool (opts, "no-buckets"))
                cfg.no_buckets = TRUE;
        if ((val = augur_cmd_opts_string (opts, "arch"))) {
                int arch = augur_arch_from_name (val);

                if (arch < 0)
                        return augur_cli_usage ("train: --arch must be lstm, gru or transformer");
                cfg.arch = (AugurArch) arch;
        }
        if (augur_cmd_opts_int (opts, "layers", &v))
                cfg.layers = (guint) v;
        if (augur_cmd_opts_int (opts, "heads", &v))
                cfg.heads = (guint) v;
        if (augur_cmd_opts_int (opts, "hidden", &v))
                cfg.hidden = (guint) v;
        if (augur_cmd_opts_int (opts, "horizon", &v))
                cfg.H = (guint) v;
        if (augur_cmd_opts_int (opts, "window", &v))
                cfg.T = (guint) v;
        if (augur_cmd_opts_int (opts, "step", &v))
                cfg.step_s = (gint64) v;
        if (augur_cmd_opts_int (opts, "epochs", &v))
                cfg.epochs = (guint) v;
        if (augur_cmd_opts_int (opts, "patience", &v))
                cfg.patience = (guint) v;
        if (augur_cmd_opts_int (opts, "seed", &v))
                cfg.seed = v;
        if (augur_cmd_opts_int (opts, "nets", &v))
                cfg.nets = (guint) v;
        if (augur_cmd_opts_int (opts, "batch", &v))
                cfg.batch = (guint) v;
        if (augur_cmd_opts_int (opts, "windows-per-epoch", &v))
                cfg.windows_per_epoch = (guint) v;
        if (augur_cmd_opts_int (opts, "onset-weight", &v))
                cfg.onset_weight = (guint) v;
        if (augur_cmd_opts_choice (opts, "split", &w))
                cfg.split = (AugurSplitMode) w;
        if (augur_cmd_opts_choice (opts, "point-loss", &w))
                cfg.point_loss = (AugurPointLoss) w;
        if (augur_cmd_opts_double (opts, "quantile", &d)) {
                cfg.quantile = (float) d;
                cfg.coverage = (float) d;
        }
        if (augur_cmd_opts_double (opts, "lr", &d))
                cfg.lr = (float) d;
        if (augur_cmd_opts_duration (opts, "time-budget", &d))
                cfg.time_budget_s = d;

        series = augur_cli_load_series (g, &in, cfg.step_s, g->json, &error);
        if (!series)
                return augur_cli_error ("%s", error->message);
        augur_features_config_init (&feat);
        feat.step_s = cfg.step_s;
        if (augur_cmd_opts_bool (opts, "recency"))
                feat.groups |= AUGUR_FEAT_GROUP_RECENCY;
        if (augur_cmd_opts_bool (opts, "day"))
                feat.groups |= AUGUR_FEAT_GROUP_DAY;
        if (cfg.no_activity)
                feat.groups &= ~(guint) (AUGUR_FEAT_GROUP_ACTIVITY | AUGUR_FEAT_GROUP_BUCKETS
                                         | AUGUR_FEAT_GROUP_RECENCY);
        if (cfg.no_buckets)
                feat.groups &= ~(guint) AUGUR_FEAT_GROUP_BUCKETS;
        ds = augur_dataset_prepare (series, &feat, cfg.split, TRUE);
        if (!check_shape (g, ds, cfg.T, cfg.H, AUGUR_SPLIT_VAL, &error))
                return augur_cli_error ("train: %s", error->message);
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
                g_autofree char *ep = epochs_text (model);

                g_print ("Wrote %s: %s, %u features, %s, NN training %.1f s, total %.1f s\n",
                         out_path, augur_arch_name (model->nn->cfg.arch), model->F, ep,
                         model->train_seconds, g_timer_elapsed (timer, NULL));
                print_gate (model);
        }
        return 0;
}

/* ----------------------------------------------------------------- eval */

/* The horizons eval shows: spec NULL = 1, 3, 6, 12 and H; "all"; or a
 * comma list of integers 1..AUGUR_FORECAST_MAX_H.  ret_show[h] is set for
 * each shown h (ret_show has AUGUR_FORECAST_MAX_H + 1 entries) and
 * ret_max to the largest listed.  FALSE with a message for anything else. */
static gboolean
parse_horizons (const char *spec, guint H, gboolean *ret_show, guint *ret_max, GError **error)
{
        g_auto (GStrv) parts = NULL;

        memset (ret_show, 0, (AUGUR_FORECAST_MAX_H + 1) * sizeof *ret_show);
        *ret_max = H;
        if (spec == NULL || strcmp (spec, "all") == 0) {
                for (guint h = 1; h <= H; h++)
                        ret_show[h] = spec != NULL || h == 1 || h == 3 || h == 6 || h == 12 || h == H;
                return TRUE;
        }
        *ret_max = 0;
        parts = g_strsplit (spec, ",", -1);
        for (guint i = 0; parts[i]; i++) {
                guint64 h;

                if (!g_ascii_string_to_unsigned (g_strstrip (parts[i]), 10, 1, AUGUR_FORECAST_MAX_H, &h, NULL)) {
                        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                                     "--horizons: '%s' is not a horizon 1..%u", parts[i], AUGUR_FORECAST_MAX_H);
                        return FALSE;
                }
                ret_show[h] = TRUE;
                *ret_max = MAX (*ret_max, (guint) h);
        }
        return TRUE;
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

/* The summary rows of target t (eval.h SUMMARY ROW): one line per model. */
static void
print_summary (const GArray *sums, AugurTarget t)
{
        gboolean first = TRUE;

        for (guint i = 0; i < sums->len; i++) {
                const AugurEvalSummary *m = &g_array_index (sums, AugurEvalSummary, i);
                g_autofree char *hs = NULL;

                if (m->target != t)
                        continue;
                hs = g_strdup_printf ("1-%u", m->H);
                if (first)
                        g_print ("\n%-4s %-16s %9s %10s %10s   (mean MAE over h = 1..%u)\n",
                                 "h", "model", "", "MAE", "/ last", m->H);
                g_print ("%-4s %-16s %9s %10.4f %10.4f\n", hs, m->model, "", m->mae_mean, m->rel_last_value);
                first = FALSE;
        }
}

static const AugurOptDef opts_eval[] = {
        { .name = "model", .type = AUGUR_OPT_STRING, .metavar = "MODEL",
          .help = "the model to score; without it, the baselines only" },
        AUGUR_CLI_INPUT_OPT_ROWS,
        { .name = "horizons", .type = AUGUR_OPT_STRING, .metavar = "all|LIST",
          .help = "the horizons shown: all, or a comma list such as 1,3,12,48 (default: 1, 3, 6, "
                  "12 and the last; with --json all); without --model the baselines forecast up to "
                  "the largest listed.  The summary rows average every h of the model, 1..H" },
        { .name = "on", .type = AUGUR_OPT_STRING, .metavar = "test|val",
          .help = "score the test split (default) or the validation split (for tuning)" },
        { .name = "no-online-calib", .type = AUGUR_OPT_BOOL,
          .help = "keep the conformal margins fixed instead of updating them online" },
        { NULL },
};

static const AugurCmdInfo info_eval = {
        .help = "score a model against the baseline predictors",
        .desc = "Score a model (or, without --model, the baselines alone) on traces or on the "
                "history: MAE, RMSE, R2 and the upper bound's coverage per target, horizon and "
                "predictor, then per target one summary row per predictor: its MAE averaged over "
                "the horizons 1..H and that mean divided by last value's.  --on val scores the "
                "validation split instead of the test split, for tuning without looking at the "
                "test split.",
};

static int
cmd_eval (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        AugurCliInput in = { NULL, NULL, NULL, 0 };
        AugurEvalConfig ecfg;
        AugurFeatConfig feat;
        const char *model_path = augur_cmd_opts_string (opts, "model");
        const char *horizons = augur_cmd_opts_string (opts, "horizons");
        const char *sp = augur_cmd_opts_string (opts, "on");
        g_autoptr (AugurModel) model = NULL;
        g_autoptr (GPtrArray) series = NULL;
        g_autoptr (AugurDataset) ds = NULL;
        g_autoptr (GArray) rows = NULL;
        g_autoptr (GError) error = NULL;
        g_autoptr (GArray) sums = NULL;
        g_autoptr (GString) out = g_string_new (NULL);
        gboolean show[AUGUR_FORECAST_MAX_H + 1];
        guint max_h, H;
        int last_target = -1;
        guint last_h = 0;

        augur_eval_config_init (&ecfg);
        augur_cli_input_get (&in, opts);
        if (augur_cmd_opts_bool (opts, "no-online-calib"))
                ecfg.online_calib = FALSE;
        if (sp) {
                if (strcmp (sp, "val") == 0 || strcmp (sp, "validation") == 0)
                        ecfg.on_validation = TRUE;
                else if (strcmp (sp, "test") != 0)
                        return augur_cli_usage ("eval: --on must be test or val");
        }
        augur_features_config_init (&feat);
        if (model_path) {
                model = augur_model_load (model_path, &error);
                if (!model)
                        return augur_cli_error ("%s", error->message);
                feat = model->feat;
                ecfg.coverage = model->coverage;
        }
        /* Without a model the baselines forecast as far as the list asks. */
        if (!parse_horizons (horizons, model ? model->H : ecfg.H, show, &max_h, &error))
                return augur_cli_usage ("eval: %s", error->message);
        if (model && max_h > model->H)
                return augur_cli_usage ("eval: --horizons %s: the model forecasts %u steps ahead at most "
                                        "(trained with --horizon %u)", horizons, model->H, model->H);
        if (!model)
                ecfg.H = max_h;
        H = model ? model->H : ecfg.H;
        series = augur_cli_load_series (g, &in, feat.step_s, g->json, &error);
        if (!series)
                return augur_cli_error ("%s", error->message);
        ds = augur_dataset_prepare (series, &feat, model ? model->split : AUGUR_SPLIT_BY_TIME, model == NULL);
        if (!check_shape (g, ds, model ? model->T : ecfg.T, H,
                          ecfg.on_validation ? AUGUR_SPLIT_VAL : AUGUR_SPLIT_TEST, &error))
                return augur_cli_error ("eval: %s", error->message);
        rows = augur_forecast_eval (model, ds, &ecfg, &error);
        if (!rows)
                return augur_cli_error ("%s", error->message);
        sums = augur_eval_summarize (rows, H);

        if (g->json) {
                gboolean first = TRUE;

                g_string_append (out, "{\"results\":[");
                for (guint i = 0; i < rows->len; i++) {
                        const AugurEvalRow *r = &g_array_index (rows, AugurEvalRow, i);

                        if (horizons && !show[r->h])
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
                g_string_append (out, "\n],\"summary\":[");
                for (guint i = 0; i < sums->len; i++) {
                        const AugurEvalSummary *m = &g_array_index (sums, AugurEvalSummary, i);

                        g_string_append_printf (out, "%s\n{\"target\":\"%s\",\"model\":\"%s\",\"horizons\":%u,"
                                                "\"mae_mean\":", i ? "," : "", augur_target_name (m->target),
                                                m->model, m->H);
                        print_json_double (out, m->mae_mean);
                        g_string_append (out, ",\"rel_last_value\":");
                        print_json_double (out, m->rel_last_value);
                        g_string_append (out, "}");
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

                if (!show[r->h])
                        continue;
                if ((int) r->target != last_target) {
                        if (last_target >= 0)
                                print_summary (sums, (AugurTarget) last_target);
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
        if (last_target >= 0)
                print_summary (sums, (AugurTarget) last_target);
        return 0;
}

const AugurCmdDef augur_cmds_model[] = {
        { "train", cmd_train, opts_train, &info_train },
        { "eval", cmd_eval, opts_eval, &info_eval },
        { NULL },
};
