/* cmd-trace.c — virt-augur import / export: real traces into the history
 * store and history out as augur trace CSV, so forecasting works the same
 * on recorded and imported history.  Parsing lives in model/trace.c and
 * all SQL in sql/store.c; this file only wires them. */
#include "config.h"

#include "virt-augur.h"
#include "store.h"
#include "trace.h"
#include "util.h"

#include <string.h>

static int
cmd_import (const AugurCliGlobal *g, int argc, char **argv)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(GPtrArray) series = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *summary = NULL;
        g_autofree char *source = NULL;
        const char *path = NULL, *fmtname = "auto", *start = NULL;
        AugurTraceFormat fmt;
        AugurTraceOpts opts = { 0 };
        AugurTraceStats stats = { 0 };
        gsize total = 0;

        for (int i = 1; i < argc; i++) {
                if ((strcmp (argv[i], "--format") == 0 || strcmp (argv[i], "--start") == 0) && i + 1 < argc) {
                        if (strcmp (argv[i], "--format") == 0)
                                fmtname = argv[++i];
                        else
                                start = argv[++i];
                } else if (argv[i][0] == '-' && argv[i][1]) {
                        return augur_cli_usage ("import: unknown option or missing value '%s'", argv[i]);
                } else if (!path) {
                        path = argv[i];
                } else {
                        return augur_cli_usage ("import: unexpected argument '%s'", argv[i]);
                }
        }
        if (!path)
                return augur_cli_usage ("import: missing PATH");
        if (!augur_trace_format_from_name (fmtname, &fmt, &error))
                return augur_cli_usage ("import: %s", error->message);
        if (start) {
                if (!augur_parse_time_s (start, &opts.start_s, &error))
                        return augur_cli_usage ("import: --start: %s", error->message);
                opts.start_set = TRUE;
        }
        series = augur_trace_read (path, fmt, &opts, &stats, &error);
        summary = augur_trace_stats_format (&stats);
        if (!series) {
                if (summary && *summary)
                        g_printerr ("%s", summary);
                return augur_cli_error ("%s", error->message);
        }
        st = augur_store_open (augur_cli_db_path (g), AUGUR_STORE_READ_WRITE, &error);
        if (!st)
                return augur_cli_error ("%s", error->message);
        source = g_strdup_printf ("import:%s", augur_trace_format_name (fmt));
        for (guint i = 0; i < series->len; i++) {
                const AugurSeries *s = series->pdata[i];
                gsize rows = 0;

                if (!augur_store_import_series (st, s, source, &rows, &error))
                        return augur_cli_error ("importing %s: %s (series before it were committed)",
                                                s->vm, error->message);
                total += rows;
        }
        if (g->json) {
                g_print ("{\"series\": %u, \"rows\": %" G_GSIZE_FORMAT ", \"rows_read\": %" G_GUINT64_FORMAT "}\n",
                         series->len, total, stats.rows_read);
        } else {
                g_print ("Imported %u series, %" G_GSIZE_FORMAT " rows into %s\n",
                         series->len, total, augur_cli_db_path (g));
                if (summary && *summary)
                        g_print ("Cleaning:\n%s", summary);
        }
        return 0;
}

static int
cmd_export (const AugurCliGlobal *g, int argc, char **argv)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);
        g_autoptr(GError) error = NULL;
        const char *domain = NULL, *fmtname = "augur", *file = "-", *resname = "raw";
        AugurResolution res = AUGUR_RES_RAW;
        AugurSeries *s;

        for (int i = 1; i < argc; i++) {
                if (strcmp (argv[i], "--format") == 0 && i + 1 < argc)
                        fmtname = argv[++i];
                else if ((strcmp (argv[i], "--out") == 0 || strcmp (argv[i], "-o") == 0) && i + 1 < argc)
                        file = argv[++i];
                else if (strcmp (argv[i], "--resolution") == 0 && i + 1 < argc)
                        resname = argv[++i];
                else if (argv[i][0] == '-')
                        return augur_cli_usage ("export: unknown option or missing value '%s'", argv[i]);
                else if (!domain)
                        domain = argv[i];
                else
                        return augur_cli_usage ("export: unexpected argument '%s'", argv[i]);
        }
        if (!domain)
                return augur_cli_usage ("export: missing DOMAIN");
        if (strcmp (fmtname, "augur") != 0)
                return augur_cli_usage ("export: only --format augur is supported");
        if (strcmp (resname, "1m") == 0)
                res = AUGUR_RES_1M;
        else if (strcmp (resname, "5m") == 0)
                res = AUGUR_RES_5M;
        else if (strcmp (resname, "raw") != 0)
                return augur_cli_usage ("export: --resolution must be raw, 1m or 5m");
        st = augur_store_open (augur_cli_db_path (g), AUGUR_STORE_READ_ONLY, &error);
        if (!st)
                return augur_cli_error ("%s", error->message);
        s = augur_store_load_series (st, domain, G_MININT64, G_MAXINT64, res, &error);
        if (!s)
                return augur_cli_error ("%s", error->message);
        /* Host context is not part of the trace format. */
        for (int c = AUGUR_COL_N_TRACE; c < AUGUR_COL_N; c++)
                g_clear_pointer (&s->col[c], g_free);
        g_ptr_array_add (out, s);
        if (!augur_trace_write_augur_csv (out, file, &error))
                return augur_cli_error ("%s", error->message);
        return 0;
}

const AugurCmdInfo augur_cmds_trace[] = {
        { "import", cmd_import, "PATH --format bitbrains|azure|augur|planetlab|alibaba [--start T]" },
        { "export", cmd_export, "DOMAIN [--format augur] [--resolution raw|1m|5m] [--out FILE]" },
        { NULL },
};
