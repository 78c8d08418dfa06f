/* cmd-host-forecast.c — `virt-augur forecast --host`: the host's memory
 * need over the next 4 hours (model/host-forecast.h), from the history
 * store or from trace files (one trace set = one host).
 *
 * The guests' histories are read at 5-minute steps and forecast by the
 * predictor with 48 horizons (4 h): the baselines and champion, or a model
 * given with --model when it has that many horizons (a shorter model
 * caps the horizons, and the output says so).  The table shows, per
 * horizon, the summed median, the host's own upper bound, the bound if
 * every guest peaked at once, and how the host bound did over the history
 * (coverage seen online, the median's mean error against "used stays").
 */
#include "config.h"

#include "virt-augur.h"
#include "cli-json.h"
#include "host-forecast.h"
#include "model-file.h"

#include <json-glib/json-glib.h>
#include <math.h>

#define HOST_FC_HISTORY_DAYS 14     /* history replayed by default, days      */

/* The horizons a table shows (steps): 5 and 15 min, then every 30 min. */
static const guint host_fc_rows[] = { 1, 3, 6, 12, 18, 24, 30, 36, 42, 48 };

int
augur_cli_forecast_host (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        g_autoptr (GError) error = NULL;
        g_autoptr (GPtrArray) series = NULL;
        g_autoptr (AugurModel) model = NULL;
        g_autoptr (AugurPredictor) pred = NULL;
        AugurCliInput in = { 0 };
        AugurPredictorConfig pcfg;
        AugurHostForecast hf;
        const char *model_path = augur_cmd_opts_string (opts, "model");
        double coverage = 0.95;
        guint64 days = HOST_FC_HISTORY_DAYS;

        if (augur_cmd_opts_has (opts, "domain"))
                return augur_cli_usage ("forecast: --host forecasts every guest; give no DOMAIN");
        augur_cmd_opts_double (opts, "coverage", &coverage);
        augur_cmd_opts_int (opts, "history-days", &days);
        augur_cli_input_get (&in, opts);
        if (model_path && !(model = augur_model_load (model_path, &error)))
                return augur_cli_error ("%s", error->message);
        if (model && model->feat.step_s != AUGUR_HOST_FC_STEP_S)
                return augur_cli_error ("%s: a %" G_GINT64_FORMAT " s step; the host forecast runs at %d s",
                                        model_path, (gint64) model->feat.step_s, AUGUR_HOST_FC_STEP_S);
        augur_host_forecast_predictor_config (&pcfg, (float) coverage);
        if (!(pred = augur_predictor_new (model, &pcfg, &error)))
                return augur_cli_error ("%s", error->message);
        if (!(series = augur_cli_load_series (g, &in, AUGUR_HOST_FC_STEP_S, g->json, &error)))
                return augur_cli_error ("%s", error->message);
        if (!augur_host_forecast (series, pred, (float) coverage, (gint64) days * 86400, &hf, &error))
                return augur_cli_error ("%s", error->message);

        if (g->json) {
                g_autoptr (JsonBuilder) b = json_builder_new ();

                json_builder_begin_object (b);
                json_builder_set_member_name (b, "ts");
                json_builder_add_int_value (b, hf.origin_s);
                augur_cli_json_num (b, "step_s", hf.step_s);
                json_builder_set_member_name (b, "guests");
                json_builder_add_int_value (b, hf.guests);
                json_builder_set_member_name (b, "guests_seen");
                json_builder_add_int_value (b, hf.guests_seen);
                augur_cli_json_num (b, "held_kib", hf.held_kib);
                augur_cli_json_num (b, "coverage_target", coverage);
                json_builder_set_member_name (b, "horizons");
                json_builder_begin_array (b);
                for (guint h = 0; h < hf.H; h++) {
                        json_builder_begin_object (b);
                        augur_cli_json_num (b, "s", (h + 1) * hf.step_s);
                        augur_cli_json_num (b, "need_p50_kib", hf.p50_kib[h]);
                        augur_cli_json_num (b, "need_upper_kib", hf.upper_kib[h]);
                        augur_cli_json_num (b, "all_peak_kib", hf.sum_upper_kib[h]);
                        json_builder_set_member_name (b, "scored");
                        json_builder_add_int_value (b, hf.scored[h]);
                        augur_cli_json_num (b, "coverage_seen", hf.coverage_seen[h]);
                        augur_cli_json_num (b, "mae_kib", hf.mae_kib[h]);
                        json_builder_set_member_name (b, "median");
                        json_builder_add_string_value (b, hf.last_value[h] ? "last-value" : "sum");
                        augur_cli_json_num (b, "mae_sum_kib", hf.mae_sum_kib[h]);
                        augur_cli_json_num (b, "mae_last_value_kib", hf.mae_last_kib[h]);
                        json_builder_end_object (b);
                }
                json_builder_end_array (b);
                json_builder_end_object (b);
                augur_cli_json_print (b, TRUE);
                return 0;
        }
        {
                g_autofree char *t = augur_cli_format_ms (hf.origin_s * 1000);
                double mae = 0, mae_last = 0;
                guint n = 0;

                g_print ("Host memory need of the %u running guest%s (%u in the history) from %s UTC, "
                         "%.0f s steps, served by %s\n", hf.guests, hf.guests == 1 ? "" : "s", hf.guests_seen, t, hf.step_s,
                         model ? "the model and the baselines" : "the baselines");
                if (hf.H < AUGUR_HOST_FC_H)
                        g_print ("The model has %u horizons: the forecast ends at %.0f min, not 4 h.\n",
                                 hf.H, hf.H * hf.step_s / 60);
                g_print ("Upper: the host's own %.0f %% bound (its summed-median error over the history; "
                         "the guests' bounds summed until %d steps are scored); all-peak: every guest at its "
                         "own upper at once.\n\n", coverage * 100, AUGUR_HOST_FC_WARM);
                g_print (" %8s  %12s  %12s  %12s  %9s  %11s  %11s  %s\n", "Horizon", "Need p50", "Need upper",
                         "All-peak", "Coverage", "MAE p50", "MAE last", "Median");
                g_print ("--------------------------------------------------------------------------------------------\n");
                for (guint i = 0; i < G_N_ELEMENTS (host_fc_rows); i++) {
                        guint h = host_fc_rows[i] - 1;

                        if (h >= hf.H)
                                break;
                        g_autofree char *cov = isnan (hf.coverage_seen[h]) ? g_strdup ("-")
                                               : g_strdup_printf ("%.1f%%", hf.coverage_seen[h] * 100);
                        g_autofree char *mae_s = isnan (hf.mae_kib[h]) ? g_strdup ("-")
                                               : g_strdup_printf ("%.0f MiB", hf.mae_kib[h] / 1024);
                        g_autofree char *mae_last_s = isnan (hf.mae_last_kib[h]) ? g_strdup ("-")
                                                    : g_strdup_printf ("%.0f MiB", hf.mae_last_kib[h] / 1024);

                        g_print (" %6.0fmin  %8.0f MiB  %8.0f MiB  %8.0f MiB  %9s  %11s  %11s  %s\n",
                                 (h + 1) * hf.step_s / 60, hf.p50_kib[h] / 1024, hf.upper_kib[h] / 1024,
                                 hf.sum_upper_kib[h] / 1024, cov, mae_s, mae_last_s,
                                 hf.last_value[h] ? "last value" : "guests summed");
                }
                for (guint h = 0; h < hf.H; h++)
                        if (!isnan (hf.mae_kib[h]) && !isnan (hf.mae_last_kib[h])) {
                                mae += hf.mae_kib[h];
                                mae_last += hf.mae_last_kib[h];
                                n++;
                        }
                if (n && mae_last > 0)
                        g_print ("\nMean MAE over h = 1..%u relative to last value: %.3f\n", hf.H, mae / mae_last);
        }
        return 0;
}
