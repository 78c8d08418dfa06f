/* cmd-plot.c — virt-augur plot: one guest's picture from the store.
 *
 *   virt-augur plot DOMAIN [--since 1h] [--from T] [--to T] --out FILE.svg|.png
 *                   [--width 1000] [--height 600]
 *
 * Reads (read-only, beside augurd) the history (with the disk and
 * network rates of the I/O panel, from its summed counters), the decisions (the
 * forecast band, each forecast where it was made, and the
 * recommendations) and the actuations (what was done), turns them into an
 * AugurPlotData and hands it to plot.c (plot.h says why the forecasts
 * table's row is not drawn).  --since counts back from the domain's
 * newest sample, as `history` does.  Windows longer than RAW_SPAN_MAX_S
 * are read from the 1-minute rollups.  A window with nothing to draw is
 * an error (exit 1), not an empty picture.
 */
#include "config.h"

#include "virt-augur.h"
#include "cli-json.h"
#include "plot.h"
#include "store.h"
#include "store-decisions.h"
#include "util.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

/* Above six hours of raw samples (4320 at a 5 s tick) a line is denser
 * than the pixels; the 1-minute rollups draw the same picture. */
#define RAW_SPAN_MAX_S (6 * 3600)

/* A counter column's rate at row i, MiB/s: from raw rows the delta to
 * the row before over their time apart (NAN over a reset or a gap, as
 * units.h's rates); from rollup rows (res the bucket, s) the bucket's
 * delta over the bucket. */
static double
counter_mib_s (const GArray *rows, guint i, AugurHistCol c, AugurResolution res)
{
        const AugurHistRow *r = &g_array_index (rows, AugurHistRow, i), *q;
        double dt, dv;

        if (res != AUGUR_RES_RAW)
                return r->v[c] >= 0 ? r->v[c] / res / 1048576 : NAN;
        if (i == 0)
                return NAN;
        q = &g_array_index (rows, AugurHistRow, i - 1);
        dt = (double) (r->ts_s - q->ts_s);
        dv = r->v[c] - q->v[c];
        if (!(dt > 0) || dt > AUGUR_MAX_RATE_GAP_S || !(dv >= 0))
                return NAN;
        return dv / dt / 1048576;
}

static void
add_history (AugurPlotData *pd, const GArray *rows, AugurResolution res)
{
        for (guint i = 0; i < rows->len; i++) {
                const AugurHistRow *r = &g_array_index (rows, AugurHistRow, i);
                AugurPlotPoint p = {
                        .t_s = r->ts_s,
                        .mem_used_mib = augur_cli_used_balloon_kib (r->v[AUGUR_HIST_MEM_USED_KIB],
                                                                    r->v[AUGUR_HIST_MEM_ACTUAL_KIB],
                                                                    r->v[AUGUR_HIST_MEM_AVAILABLE_KIB],
                                                                    r->v[AUGUR_HIST_MEM_PROV_KIB]) / 1024,
                        .mem_alloc_mib = r->v[AUGUR_HIST_MEM_ACTUAL_KIB] / 1024,
                        .cpu_cores = r->v[AUGUR_HIST_CPU_CORES_USED],
                        .vcpus = r->v[AUGUR_HIST_VCPUS_ONLINE],
                        .disk_rd_mib_s = counter_mib_s (rows, i, AUGUR_HIST_BLOCK_RD_BYTES, res),
                        .disk_wr_mib_s = counter_mib_s (rows, i, AUGUR_HIST_BLOCK_WR_BYTES, res),
                        .net_rx_mib_s = counter_mib_s (rows, i, AUGUR_HIST_NET_RX_BYTES, res),
                        .net_tx_mib_s = counter_mib_s (rows, i, AUGUR_HIST_NET_TX_BYTES, res),
                };

                g_array_append_val (pd->points, p);
        }
}

static void
add_decisions (AugurPlotData *pd, const GArray *rows)
{
        for (guint i = 0; i < rows->len; i++) {
                const AugurDecisionRow *r = &g_array_index (rows, AugurDecisionRow, i);
                AugurPlotBand b = {
                        .t_s = r->ts_ms / 1000.0,
                        .mem_p50_mib = r->mem_p50_kib / 1024,
                        .mem_upper_mib = r->mem_upper_kib / 1024,
                        .cpu_p50_cores = r->cpu_p50_cores,
                        .cpu_upper_cores = r->cpu_upper_cores,
                };

                g_array_append_val (pd->band, b);
                /* What was done is drawn from the actuations; here only
                 * what was recommended or failed. */
                if (r->mem_action && (g_str_has_prefix (r->mem_action, "recommend") ||
                                      strcmp (r->mem_action, "failed") == 0)) {
                        AugurPlotMarker m = { b.t_s, FALSE, AUGUR_PLOT_MARK_OTHER, r->mem_target_kib / 1024 };

                        g_array_append_val (pd->markers, m);
                }
                if (r->cpu_action && (g_str_has_prefix (r->cpu_action, "recommend") ||
                                      strcmp (r->cpu_action, "failed") == 0)) {
                        AugurPlotMarker m = { b.t_s, TRUE, AUGUR_PLOT_MARK_OTHER,
                                              r->vcpus_target < 0 ? NAN : r->vcpus_target };

                        g_array_append_val (pd->markers, m);
                }
        }
}

static void
add_actuations (AugurPlotData *pd, const GArray *rows)
{
        for (guint i = 0; i < rows->len; i++) {
                const AugurActuationRow *r = &g_array_index (rows, AugurActuationRow, i);
                gboolean cpu = g_strcmp0 (r->kind, "vcpus") == 0;
                AugurPlotMarker m;

                if (r->device)
                        continue;       /* I/O limits: per device and kind, not on this plot (plot.h) */
                m = (AugurPlotMarker) {
                        .t_s = r->ts_ms / 1000.0,
                        .cpu = cpu,
                        .kind = r->to_value > r->from_value ? AUGUR_PLOT_MARK_GROW : AUGUR_PLOT_MARK_SHRINK,
                        .value = cpu ? r->to_value : r->to_value / 1024,
                };

                g_array_append_val (pd->markers, m);
        }
}

/* --since is a string, not AUGUR_OPT_DURATION: it is read only without
 * --from (which it would contradict), as it always was. */
static const AugurOptDef opts_plot[] = {
        { .name = "domain", .type = AUGUR_OPT_DATA, .flags = AUGUR_OPT_REQUIRED, .metavar = "DOMAIN",
          .help = "the domain: name, UUID or numeric id" },
        { .name = "since", .type = AUGUR_OPT_STRING, .metavar = "DURATION",
          .help = "count back this long (90s, 15m, 1h, 2d) from the domain's newest sample "
                  "(default 1h; ignored with --from)" },
        { .name = "from", .type = AUGUR_OPT_STRING, .metavar = "T",
          .help = "from this time: unix seconds or ISO 8601" },
        { .name = "to", .type = AUGUR_OPT_STRING, .metavar = "T",
          .help = "up to this time: unix seconds or ISO 8601" },
        { .name = "out", .type = AUGUR_OPT_STRING, .flags = AUGUR_OPT_REQUIRED, .alias = 'o',
          .metavar = "FILE", .help = "FILE.svg or FILE.png: the format is the file name's" },
        { .name = "width", .type = AUGUR_OPT_INT, .metavar = "PX", .imin = 200, .imax = 10000,
          .help = "the picture's width (default 1000)" },
        { .name = "height", .type = AUGUR_OPT_INT, .metavar = "PX", .imin = 200, .imax = 10000,
          .help = "the picture's height (default 600)" },
        { NULL },
};

static const AugurCmdInfo info_plot = {
        .help = "one domain's history, forecast band and actions as SVG or PNG",
        .desc = "Draw the domain's used memory and balloon allocation, CPU used and vCPUs online, "
                "its disk read and write and network rx and tx (summed over its devices; a third panel, "
                "when the window has any), "
                "the forecast band and the action markers (green grow, red shrink, grey "
                "recommended or failed) with cairo, as SVG or PNG by the file name, on a dated "
                "UTC time axis.  The band is drawn where each forecast was made: at each "
                "decision's time, the median and upper bound it planned with over the lead "
                "window.  Windows longer than 6 h use the 1-minute rollups.  Used memory is drawn "
                "in balloon terms, as augurd compares it with the allocation.  A window with no "
                "memory or CPU figures is an error (exit 1), not an empty picture.",
};

static int
cmd_plot (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(AugurDomainInfo) d = NULL;
        g_autoptr(AugurPlotData) pd = NULL;
        g_autoptr(GArray) hist = NULL, decisions = NULL, actuations = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *title = NULL;
        const char *domain = augur_cmd_opts_string (opts, "domain");
        const char *since = augur_cmd_opts_string (opts, "since");
        const char *from = augur_cmd_opts_string (opts, "from");
        const char *to = augur_cmd_opts_string (opts, "to");
        const char *out = augur_cmd_opts_string (opts, "out");
        gint64 from_ms = G_MININT64, to_ms = G_MAXINT64;
        guint64 width = 1000, height = 600;
        AugurResolution res = AUGUR_RES_RAW;
        double t0 = 0, t1 = 0;

        if (!since)
                since = "1h";
        augur_cmd_opts_int (opts, "width", &width);
        augur_cmd_opts_int (opts, "height", &height);

        st = augur_store_open (augur_cli_db_path (g), AUGUR_STORE_READ_ONLY, &error);
        if (!st)
                return augur_cli_error ("%s", error->message);
        if (!(d = augur_store_find_domain (st, domain, &error)))
                return augur_cli_error ("%s", error->message);
        if (from) {
                gint64 t;

                if (!augur_parse_time_s (from, &t, &error))
                        return augur_cli_usage ("plot: --from: %s", error->message);
                from_ms = t * 1000;
        } else {
                double s;

                if (!augur_parse_duration_s (since, &s, &error))
                        return augur_cli_usage ("plot: --since: %s", error->message);
                from_ms = d->last_ms >= 0 ? d->last_ms - (gint64) (s * 1000) : G_MININT64;
        }
        if (to) {
                gint64 t;

                if (!augur_parse_time_s (to, &t, &error))
                        return augur_cli_usage ("plot: --to: %s", error->message);
                to_ms = t * 1000 + 999;
        }

        hist = augur_store_history (st, d->id, from_ms, to_ms, res, &error);
        if (hist && hist->len > 1 &&
            g_array_index (hist, AugurHistRow, hist->len - 1).ts_s - g_array_index (hist, AugurHistRow, 0).ts_s > RAW_SPAN_MAX_S) {
                g_clear_pointer (&hist, g_array_unref);
                res = AUGUR_RES_1M;
                hist = augur_store_history (st, d->id, from_ms, to_ms, res, &error);
        }
        if (!hist ||
            !(decisions = augur_store_decisions (st, d->id, from_ms, to_ms, 0, &error)) ||
            !(actuations = augur_store_actuations (st, d->id, from_ms, to_ms, 0, &error)))
                return augur_cli_error ("%s", error->message);
        if (hist->len == 0 && decisions->len == 0)
                return augur_cli_error ("%s: no history in that window", d->name);

        title = g_strdup_printf ("%s — memory, CPU and I/O, forecast band and actions (augur)", d->name);
        pd = augur_plot_data_new (title);
        add_history (pd, hist, res);
        add_decisions (pd, decisions);
        add_actuations (pd, actuations);
        if (augur_plot_data_empty (pd))
                return augur_cli_error ("%s: nothing to plot: its %u samples in that window have no memory or "
                                        "CPU figures (see `virt-augur history %s` and `virt-augur explain %s`)",
                                        d->name, hist->len, d->name, d->name);
        augur_plot_data_time_range (pd, &t0, &t1);
        if (!augur_plot_write (pd, out, (int) width, (int) height, &error))
                return augur_cli_error ("%s", error->message);
        if (g->json) {
                g_autoptr(JsonBuilder) b = json_builder_new ();

                json_builder_begin_object (b);
                augur_cli_json_domain (b, d->name, d->uuid);
                json_builder_set_member_name (b, "out");
                json_builder_add_string_value (b, out);
                json_builder_set_member_name (b, "points");
                json_builder_add_int_value (b, pd->points->len);
                json_builder_set_member_name (b, "forecasts");
                json_builder_add_int_value (b, pd->band->len);
                json_builder_set_member_name (b, "markers");
                json_builder_add_int_value (b, pd->markers->len);
                json_builder_set_member_name (b, "from_ts");
                json_builder_add_int_value (b, (gint64) floor (t0));
                json_builder_set_member_name (b, "to_ts");
                json_builder_add_int_value (b, (gint64) ceil (t1));
                json_builder_end_object (b);
                augur_cli_json_print (b, FALSE);
        }
        return 0;
}

const AugurCmdDef augur_cmds_plot[] = {
        { "plot", cmd_plot, opts_plot, &info_plot },
        { NULL },
};
