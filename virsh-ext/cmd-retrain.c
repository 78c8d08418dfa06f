/* cmd-retrain.c — virt-augur model status: what augurd's periodic
 * retraining (plugin/retrain.h) did, read from the history store
 * (read-only, beside a running augurd).
 *
 *   virt-augur model status [--runs N] [--json]
 *
 * Shows the model serving (version, file, architecture, as augurd last
 * recorded it), whether a run is in progress, the newest N runs (default
 * 5: time, outcome, reason, scores, and the sentence saying why), and the
 * per-VM held-out scores of the newest run with the `auto` gate verdict.
 * Exit codes: 0 ok, 1 runtime error, 2 bad usage. */
#include "config.h"

#include "virt-augur.h"
#include "cli-json.h"
#include "store.h"
#include "store-retrain.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *
fmt_mae (double v)
{
        return isnan (v) ? g_strdup ("-") : g_strdup_printf ("%.4f", v);
}

static char *
fmt_version (int v)
{
        return v < 0 ? g_strdup ("none") : g_strdup_printf ("%d", v);
}

static void
json_str (JsonBuilder *b, const char *key, const char *v)
{
        json_builder_set_member_name (b, key);
        if (v && *v)
                json_builder_add_string_value (b, v);
        else
                json_builder_add_null_value (b);
}

static void
print_json (AugurStore *st, const GArray *runs, const GArray *vms)
{
        g_autoptr(JsonBuilder) b = json_builder_new ();
        g_autofree char *version = augur_store_get_meta (st, "model.serving_version");
        g_autofree char *path = augur_store_get_meta (st, "model.serving_path");
        g_autofree char *name = augur_store_get_meta (st, "model.serving_name");
        g_autofree char *running = augur_store_get_meta (st, "retrain.running");

        json_builder_begin_object (b);
        json_builder_set_member_name (b, "serving");
        json_builder_begin_object (b);
        augur_cli_json_count (b, "version", version ? atoi (version) : -1);
        json_str (b, "path", path);
        json_str (b, "model", name);
        json_builder_end_object (b);
        json_builder_set_member_name (b, "running_since");
        if (running)
                json_builder_add_int_value (b, g_ascii_strtoll (running, NULL, 10) / 1000);
        else
                json_builder_add_null_value (b);
        json_builder_set_member_name (b, "runs");
        json_builder_begin_array (b);
        for (guint i = 0; i < runs->len; i++) {
                const AugurRetrainRunRow *r = &g_array_index (runs, AugurRetrainRunRow, i);

                json_builder_begin_object (b);
                json_builder_set_member_name (b, "started");
                json_builder_add_int_value (b, r->started_ms / 1000);
                json_builder_set_member_name (b, "finished");
                json_builder_add_int_value (b, r->finished_ms / 1000);
                json_str (b, "outcome", r->outcome);
                json_str (b, "reason", r->reason);
                json_str (b, "detail", r->detail);
                augur_cli_json_count (b, "serving_version", r->serving_version);
                augur_cli_json_count (b, "candidate_version", r->candidate_version);
                augur_cli_json_count (b, "gate_version", r->gate_version);
                json_str (b, "model_path", r->model_path);
                json_builder_set_member_name (b, "vms");
                json_builder_add_int_value (b, r->n_vms);
                json_builder_set_member_name (b, "points");
                json_builder_add_int_value (b, r->n_points);
                augur_cli_json_num (b, "train_seconds", r->train_seconds);
                json_builder_set_member_name (b, "epochs");
                json_builder_add_int_value (b, r->epochs);
                augur_cli_json_num (b, "candidate_mae", r->candidate_mae);
                augur_cli_json_num (b, "serving_mae", r->serving_mae);
                augur_cli_json_num (b, "baseline_mae", r->baseline_mae);
                json_str (b, "baseline", r->baseline);
                if (i == 0 && vms) {
                        json_builder_set_member_name (b, "per_vm");
                        json_builder_begin_array (b);
                        for (guint k = 0; k < vms->len; k++) {
                                const AugurRetrainVmRow *v = &g_array_index (vms, AugurRetrainVmRow, k);

                                json_builder_begin_object (b);
                                augur_cli_json_domain (b, v->name, v->uuid);
                                json_builder_set_member_name (b, "points");
                                json_builder_add_int_value (b, v->n_points);
                                augur_cli_json_num (b, "candidate_mae", v->candidate_mae);
                                augur_cli_json_num (b, "serving_mae", v->serving_mae);
                                augur_cli_json_num (b, "baseline_mae", v->baseline_mae);
                                json_str (b, "baseline", v->baseline);
                                json_builder_set_member_name (b, "model_beats_baselines");
                                json_builder_add_boolean_value (b, v->model_beats_baselines);
                                json_builder_end_object (b);
                        }
                        json_builder_end_array (b);
                }
                json_builder_end_object (b);
        }
        json_builder_end_array (b);
        json_builder_end_object (b);
        augur_cli_json_print (b, TRUE);
}

static void
print_text (AugurStore *st, const GArray *runs, const GArray *vms)
{
        g_autofree char *version = augur_store_get_meta (st, "model.serving_version");
        g_autofree char *path = augur_store_get_meta (st, "model.serving_path");
        g_autofree char *name = augur_store_get_meta (st, "model.serving_name");
        g_autofree char *running = augur_store_get_meta (st, "retrain.running");

        if (version && atoi (version) >= 0)
                g_print ("Serving:        %s, version %s%s (%s)\n", name ? name : "?", version,
                         atoi (version) == 0 ? " (the model augurd started with)" : "",
                         path ? path : "?");
        else if (version)
                g_print ("Serving:        baselines only (no model)\n");
        else
                g_print ("Serving:        unknown (augurd has not recorded it; retraining off or never started)\n");
        if (running) {
                g_autofree char *t = augur_cli_format_ms (g_ascii_strtoll (running, NULL, 10));

                g_print ("Retraining:     running since %s UTC\n", t);
        }
        if (runs->len == 0) {
                g_print ("Last retrain:   never\n");
                return;
        }
        {
                const AugurRetrainRunRow *r = &g_array_index (runs, AugurRetrainRunRow, 0);
                g_autofree char *t = augur_cli_format_ms (r->finished_ms);

                g_print ("Last retrain:   %s UTC, %s (%s)\n", t, r->outcome, r->reason);
                g_print ("  why:          %s\n", r->detail);
        }
        g_print ("\n%-19s %-9s %-17s %7s %7s %7s %9s %9s %9s %s\n", "finished (UTC)", "outcome", "reason",
                 "serving", "cand", "VMs", "cand MAE", "serv MAE", "base MAE", "baseline");
        for (guint i = 0; i < runs->len; i++) {
                const AugurRetrainRunRow *r = &g_array_index (runs, AugurRetrainRunRow, i);
                g_autofree char *t = augur_cli_format_ms (r->finished_ms);
                g_autofree char *sv = fmt_version (r->serving_version);
                g_autofree char *cv = fmt_version (r->candidate_version);
                g_autofree char *cm = fmt_mae (r->candidate_mae);
                g_autofree char *sm = fmt_mae (r->serving_mae);
                g_autofree char *bm = fmt_mae (r->baseline_mae);

                g_print ("%-19s %-9s %-17s %7s %7s %7d %9s %9s %9s %s\n", t, r->outcome, r->reason, sv, cv,
                         r->n_vms, cm, sm, bm, r->baseline[0] ? r->baseline : "-");
        }
        if (vms && vms->len) {
                g_print ("\nHeld-out scores of the last run (MAE, percentage points; auto acts where the "
                         "model beats the baselines):\n");
                g_print ("%-24s %9s %9s %9s %9s %-15s %s\n", "domain", "points", "cand", "serving", "baseline",
                         "best baseline", "model beats baselines");
                for (guint k = 0; k < vms->len; k++) {
                        const AugurRetrainVmRow *v = &g_array_index (vms, AugurRetrainVmRow, k);
                        g_autofree char *cm = fmt_mae (v->candidate_mae);
                        g_autofree char *sm = fmt_mae (v->serving_mae);
                        g_autofree char *bm = fmt_mae (v->baseline_mae);

                        g_print ("%-24s %9" G_GINT64_FORMAT " %9s %9s %9s %-15s %s\n", v->name, v->n_points,
                                 cm, sm, bm, v->baseline[0] ? v->baseline : "-",
                                 v->model_beats_baselines ? "yes" : "no");
                }
        }
}

/* "model" is a group of subcommands, taken as its first positional
 * argument (virsh has no subcommands): status (this file) and show FILE
 * (cmd-model.c). */
static const AugurOptDef opts_model[] = {
        { .name = "subcommand", .type = AUGUR_OPT_DATA, .flags = AUGUR_OPT_REQUIRED, .metavar = "status|show",
          .help = "status: the retraining status; show FILE: what a model file serves" },
        { .name = "file", .type = AUGUR_OPT_DATA, .metavar = "FILE",
          .help = "with show: the model file" },
        { .name = "runs", .type = AUGUR_OPT_INT, .metavar = "N", .imin = 1, .imax = 1000,
          .help = "with status: show the newest N runs (default 5)" },
        { NULL },
};

static const AugurCmdInfo info_model = {
        .help = "status: serving model, retraining runs, scores; show FILE: its gate",
        .desc = "model status: what augurd's periodic retraining did (augur.conf [retrain]): the "
                "model serving (version, file, architecture; version 0 is the one augurd started "
                "with), whether a run is in progress, the newest N runs with their outcome "
                "(promoted, rejected, skipped, failed), reason and held-out scores, and one "
                "sentence saying why; then the per-domain held-out scores of the newest run and "
                "whether the model beats the baselines there (what the auto mode acts on).  Read "
                "from the database; augurd need not run.  model show FILE: a model file's network, "
                "window and horizons, and what it serves at each target, regime and horizon (the "
                "network, a baseline, or a mix of the two, chosen on validation when it was trained).",
};

static int
model_status (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(GArray) runs = NULL;
        g_autoptr(GArray) vms = NULL;
        g_autoptr(GError) error = NULL;
        guint64 limit = 5;

        if (augur_cmd_opts_string (opts, "file"))
                return augur_cli_usage ("model status takes no file (model show FILE does)");
        augur_cmd_opts_int (opts, "runs", &limit);
        st = augur_store_open (augur_cli_db_path (g), AUGUR_STORE_READ_ONLY, &error);
        if (!st)
                return augur_cli_error ("%s", error->message);
        runs = augur_store_retrain_runs (st, (guint) limit, &error);
        if (!runs)
                return augur_cli_error ("%s", error->message);
        if (runs->len) {
                vms = augur_store_retrain_vms (st, g_array_index (runs, AugurRetrainRunRow, 0).id, &error);
                if (!vms)
                        return augur_cli_error ("%s", error->message);
        }
        if (g->json)
                print_json (st, runs, vms);
        else
                print_text (st, runs, vms);
        return 0;
}

static int
model_show (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        const char *path = augur_cmd_opts_string (opts, "file");

        if (!path)
                return augur_cli_usage ("model show: expected 'model show FILE'");
        return augur_cli_model_show (g, path);
}

static const struct {
        const char *name;
        int (*run) (const AugurCliGlobal *g, const AugurCmdOpts *opts);
} model_subcommands[] = {
        { "status", model_status },
        { "show", model_show },
};

static int
cmd_model (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        const char *sub = augur_cmd_opts_string (opts, "subcommand");

        for (gsize i = 0; i < G_N_ELEMENTS (model_subcommands); i++)
                if (g_strcmp0 (sub, model_subcommands[i].name) == 0)
                        return model_subcommands[i].run (g, opts);
        return augur_cli_usage ("model: expected 'model status [--runs N]' or 'model show FILE'");
}

const AugurCmdDef augur_cmds_retrain[] = {
        { "model", cmd_model, opts_model, &info_model },
        { NULL },
};
