/* cmd-trace.c — virt-augur import / export: real traces into the history
 * store and history out as augur trace CSV, so forecasting works the same
 * on recorded and imported history.  Parsing lives in model/trace.c and
 * all SQL in sql/; this file only wires them. */
#include "config.h"

#include "virt-augur.h"
#include "store.h"
#include "trace.h"
#include "util.h"

#include <string.h>

static const AugurOptDef opts_import[] = {
        { .name = "path", .type = AUGUR_OPT_DATA, .flags = AUGUR_OPT_REQUIRED | AUGUR_OPT_DASH, .metavar = "PATH",
          .help = "the trace file or directory (plain or gzipped); - reads standard input" },
        { .name = "format", .type = AUGUR_OPT_STRING, .metavar = "FORMAT",
          .help = "bitbrains, azure, augur, planetlab or alibaba (default: auto, told from the data)" },
        { .name = "start", .type = AUGUR_OPT_STRING, .metavar = "T",
          .help = "the time of the trace's first step, unix seconds or ISO 8601 (Azure, PlanetLab, "
                  "Alibaba: their timestamps are relative)" },
        { NULL },
};

static const AugurCmdInfo info_import = {
        .help = "load a real trace into the history store",
        .desc = "Load a real trace into the history, as import:FORMAT series.  Plain or gzipped; "
                "a line (after decompression) or a CSV record over 1 MiB, a record of more than "
                "4096 fields, or a PlanetLab day file over 1 MiB is refused with the file and "
                "line, before it costs more than about 1 MiB of memory.",
};

static int
cmd_import (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(GPtrArray) series = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *summary = NULL;
        g_autofree char *source = NULL;
        const char *path = augur_cmd_opts_string (opts, "path");
        const char *fmtname = augur_cmd_opts_string (opts, "format");
        const char *start = augur_cmd_opts_string (opts, "start");
        AugurTraceFormat fmt;
        AugurTraceOpts topts = { 0 };
        AugurTraceStats stats = { 0 };
        gsize total = 0;

        if (!augur_trace_format_from_name (fmtname ? fmtname : "auto", &fmt, &error))
                return augur_cli_usage ("import: %s", error->message);
        if (start) {
                if (!augur_parse_time_s (start, &topts.start_s, &error))
                        return augur_cli_usage ("import: --start: %s", error->message);
                topts.start_set = TRUE;
        }
        series = augur_trace_read (path, fmt, &topts, &stats, &error);
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

static const AugurOptDef opts_export[] = {
        { .name = "domain", .type = AUGUR_OPT_DATA, .flags = AUGUR_OPT_REQUIRED, .metavar = "DOMAIN",
          .help = "the domain: name, UUID or numeric id" },
        { .name = "format", .type = AUGUR_OPT_STRING, .metavar = "augur",
          .help = "the output format; augur trace CSV is the only one" },
        { .name = "resolution", .type = AUGUR_OPT_STRING, .metavar = "raw|1m|5m",
          .help = "raw samples (default) or the 1-minute or 5-minute rollups" },
        { .name = "out", .type = AUGUR_OPT_STRING, .alias = 'o', .metavar = "FILE",
          .help = "write there instead of to standard output (-)" },
        { NULL },
};

static const AugurCmdInfo info_export = {
        .help = "the domain's history as augur trace CSV",
        .desc = "The domain's history as augur trace CSV, which import, train, eval and replay "
                "read back.  Host context is not part of the trace format.",
};

static int
cmd_export (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) augur_series_free);
        g_autoptr(GError) error = NULL;
        const char *domain = augur_cmd_opts_string (opts, "domain");
        const char *fmtname = augur_cmd_opts_string (opts, "format");
        const char *file = augur_cmd_opts_string (opts, "out");
        const char *resname = augur_cmd_opts_string (opts, "resolution");
        AugurResolution res = AUGUR_RES_RAW;
        AugurSeries *s;

        if (!file)
                file = "-";
        if (!resname)
                resname = "raw";
        if (fmtname && strcmp (fmtname, "augur") != 0)
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

const AugurCmdDef augur_cmds_trace[] = {
        { "import", cmd_import, opts_import, &info_import },
        { "export", cmd_export, opts_export, &info_export },
        { NULL },
};
