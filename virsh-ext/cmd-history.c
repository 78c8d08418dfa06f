/* cmd-history.c — virt-augur list / status / history: offline views of the
 * history store, opened read-only (WAL lets them run beside augurd).
 * Live questions go to augurd's socket once the local API exists. */
#include "config.h"

#include "virt-augur.h"
#include "store.h"
#include "util.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static AugurStore *
open_ro (const AugurCliGlobal *g, int *ret_exit)
{
        g_autoptr(GError) error = NULL;
        AugurStore *st = augur_store_open (augur_cli_db_path (g), AUGUR_STORE_READ_ONLY, &error);

        if (!st)
                *ret_exit = augur_cli_error ("%s", error->message);
        return st;
}

static void
print_json (JsonBuilder *b)
{
        g_autoptr(JsonGenerator) gen = json_generator_new ();
        g_autoptr(JsonNode) root = json_builder_get_root (b);
        g_autofree char *text = NULL;

        json_generator_set_root (gen, root);
        json_generator_set_pretty (gen, TRUE);
        text = json_generator_to_data (gen, NULL);
        g_print ("%s\n", text);
}

static char *
format_ts_ms (gint64 ms)
{
        g_autoptr(GDateTime) dt = NULL;

        if (ms < 0)
                return g_strdup ("-");
        dt = g_date_time_new_from_unix_utc (ms / 1000);
        return dt ? g_date_time_format (dt, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
}

/* An aligned table: collect rows of strings, then print with widths. */
typedef struct {
        GPtrArray *rows;     /* of GStrv */
        guint ncols;
} Table;

static void
table_add (Table *t, char **cells)
{
        g_ptr_array_add (t->rows, cells);
}

static void
table_print (Table *t)
{
        g_autofree int *w = g_new0 (int, t->ncols);

        for (guint r = 0; r < t->rows->len; r++) {
                char **cells = t->rows->pdata[r];

                for (guint c = 0; c < t->ncols && cells[c]; c++)
                        w[c] = MAX (w[c], (int) g_utf8_strlen (cells[c], -1));
        }
        for (guint r = 0; r < t->rows->len; r++) {
                char **cells = t->rows->pdata[r];
                g_autoptr(GString) line = g_string_new (NULL);

                for (guint c = 0; c < t->ncols && cells[c]; c++)
                        g_string_append_printf (line, c ? "   %-*s" : " %-*s", w[c], cells[c]);
                while (line->len && line->str[line->len - 1] == ' ')
                        g_string_truncate (line, line->len - 1);
                g_print ("%s\n", line->str);
                if (r == 0) {
                        g_autoptr(GString) sep = g_string_new (NULL);
                        gsize len = line->len + 1;

                        for (gsize k = 0; k < len; k++)
                                g_string_append_c (sep, '-');
                        g_print ("%s\n", sep->str);
                }
        }
        g_ptr_array_unref (t->rows);
}

static int
cmd_list (const AugurCliGlobal *g, int argc, char **argv)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(GPtrArray) doms = NULL;
        g_autoptr(GError) error = NULL;
        int rc = 0;

        if (argc > 1)
                return augur_cli_usage ("list takes no arguments");
        if (!(st = open_ro (g, &rc)))
                return rc;
        if (!(doms = augur_store_list_domains (st, &error)))
                return augur_cli_error ("%s", error->message);
        if (g->json) {
                g_autoptr(JsonBuilder) b = json_builder_new ();

                json_builder_begin_array (b);
                for (guint i = 0; i < doms->len; i++) {
                        AugurDomainInfo *d = doms->pdata[i];

                        json_builder_begin_object (b);
                        json_builder_set_member_name (b, "name");
                        json_builder_add_string_value (b, d->name);
                        json_builder_set_member_name (b, "uuid");
                        json_builder_add_string_value (b, d->uuid);
                        json_builder_set_member_name (b, "id");
                        if (d->libvirt_id >= 0)
                                json_builder_add_int_value (b, d->libvirt_id);
                        else
                                json_builder_add_null_value (b);
                        json_builder_set_member_name (b, "source");
                        json_builder_add_string_value (b, d->source);
                        json_builder_set_member_name (b, "samples");
                        json_builder_add_int_value (b, d->n_samples);
                        json_builder_set_member_name (b, "first_ts");
                        json_builder_add_int_value (b, d->first_ms / 1000);
                        json_builder_set_member_name (b, "last_ts");
                        json_builder_add_int_value (b, d->last_ms / 1000);
                        json_builder_end_object (b);
                }
                json_builder_end_array (b);
                print_json (b);
                return 0;
        }
        Table t = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev), 6 };
        char *hdr[] = { "Id", "Name", "UUID", "Source", "Samples", "Newest (UTC)", NULL };

        table_add (&t, g_strdupv (hdr));
        for (guint i = 0; i < doms->len; i++) {
                AugurDomainInfo *d = doms->pdata[i];
                char **row = g_new0 (char *, 7);

                row[0] = d->libvirt_id >= 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, d->libvirt_id) : g_strdup ("-");
                row[1] = g_strdup (d->name);
                row[2] = g_strdup (d->uuid);
                row[3] = g_strdup (d->source);
                row[4] = g_strdup_printf ("%" G_GINT64_FORMAT, d->n_samples);
                row[5] = format_ts_ms (d->last_ms);
                table_add (&t, row);
        }
        table_print (&t);
        return 0;
}

static int
cmd_status (const AugurCliGlobal *g, int argc, char **argv)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(GError) error = NULL;
        AugurStoreStatus s;
        g_autofree char *last = NULL;
        gboolean connected;
        gint64 age_s;
        int rc = 0;

        if (argc > 1)
                return augur_cli_usage ("status takes no arguments");
        if (!(st = open_ro (g, &rc)))
                return rc;
        augur_store_status (st, &s, &error);
        connected = g_strcmp0 (s.connected, "1") == 0;
        age_s = s.last_tick_ms >= 0 ? (augur_now_ms () - s.last_tick_ms) / 1000 : -1;
        last = format_ts_ms (s.last_tick_ms);
        if (g->json) {
                g_autoptr(JsonBuilder) b = json_builder_new ();

                json_builder_begin_object (b);
                json_builder_set_member_name (b, "db");
                json_builder_add_string_value (b, augur_cli_db_path (g));
                json_builder_set_member_name (b, "connected");
                json_builder_add_boolean_value (b, connected);
                json_builder_set_member_name (b, "uri");
                json_builder_add_string_value (b, s.uri ? s.uri : "");
                json_builder_set_member_name (b, "daemon_pid");
                if (s.pid)
                        json_builder_add_int_value (b, g_ascii_strtoll (s.pid, NULL, 10));
                else
                        json_builder_add_null_value (b);
                json_builder_set_member_name (b, "last_tick_ts");
                if (s.last_tick_ms >= 0)
                        json_builder_add_int_value (b, s.last_tick_ms / 1000);
                else
                        json_builder_add_null_value (b);
                json_builder_set_member_name (b, "last_tick_age_s");
                json_builder_add_int_value (b, age_s);
                json_builder_set_member_name (b, "domains_watched");
                json_builder_add_int_value (b, s.last_tick_domains);
                json_builder_set_member_name (b, "domains_known");
                json_builder_add_int_value (b, s.n_domains);
                json_builder_set_member_name (b, "ticks");
                json_builder_add_int_value (b, s.n_ticks);
                json_builder_set_member_name (b, "db_bytes");
                json_builder_add_int_value (b, s.db_bytes);
                json_builder_end_object (b);
                print_json (b);
        } else {
                g_print ("%-18s %s\n", "Database:", augur_cli_db_path (g));
                g_print ("%-18s %s\n", "Daemon:", s.pid ? s.pid : "not running");
                g_print ("%-18s %s%s%s\n", "libvirt:", connected ? "connected" : "not connected",
                         s.uri ? " to " : "", s.uri ? s.uri : "");
                g_print ("%-18s %s UTC (%" G_GINT64_FORMAT " s ago)\n", "Last tick:", last, age_s);
                g_print ("%-18s %" G_GINT64_FORMAT "\n", "Domains watched:", s.last_tick_domains);
                g_print ("%-18s %" G_GINT64_FORMAT "\n", "Domains known:", s.n_domains);
                g_print ("%-18s %" G_GINT64_FORMAT "\n", "Ticks stored:", s.n_ticks);
                g_print ("%-18s %.1f MiB\n", "DB size:", s.db_bytes / 1048576.0);
        }
        augur_store_status_clear (&s);
        return 0;
}

static void
add_value (JsonBuilder *b, double v, gboolean integer)
{
        if (isnan (v))
                json_builder_add_null_value (b);
        else if (integer)
                json_builder_add_int_value (b, (gint64) llround (v));
        else
                json_builder_add_double_value (b, v);
}

static char *
format_value (double v, gboolean integer)
{
        if (isnan (v))
                return g_strdup ("-");
        if (integer)
                return g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) llround (v));
        return g_strdup_printf ("%.3f", v);
}

static int
cmd_history (const AugurCliGlobal *g, int argc, char **argv)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(AugurDomainInfo) d = NULL;
        g_autoptr(GArray) rows = NULL;
        g_autoptr(GError) error = NULL;
        const char *domain = NULL, *since = NULL, *from = NULL, *to = NULL, *resname = "raw";
        AugurResolution res;
        gint64 from_ms = G_MININT64, to_ms = G_MAXINT64;
        int rc = 0;

        for (int i = 1; i < argc; i++) {
                const char **slot = NULL;

                if (strcmp (argv[i], "--since") == 0)
                        slot = &since;
                else if (strcmp (argv[i], "--from") == 0)
                        slot = &from;
                else if (strcmp (argv[i], "--to") == 0)
                        slot = &to;
                else if (strcmp (argv[i], "--resolution") == 0)
                        slot = &resname;
                else if (argv[i][0] == '-')
                        return augur_cli_usage ("history: unknown option '%s'", argv[i]);
                else if (!domain) {
                        domain = argv[i];
                        continue;
                } else
                        return augur_cli_usage ("history: unexpected argument '%s'", argv[i]);
                if (i + 1 >= argc)
                        return augur_cli_usage ("history: %s needs a value", argv[i]);
                *slot = argv[++i];
        }
        if (!domain)
                return augur_cli_usage ("history: missing DOMAIN");
        if (strcmp (resname, "raw") == 0)
                res = AUGUR_RES_RAW;
        else if (strcmp (resname, "1m") == 0)
                res = AUGUR_RES_1M;
        else if (strcmp (resname, "5m") == 0)
                res = AUGUR_RES_5M;
        else
                return augur_cli_usage ("history: --resolution must be raw, 1m or 5m, not '%s'", resname);
        if (since && from)
                return augur_cli_usage ("history: --since and --from are exclusive");

        if (!(st = open_ro (g, &rc)))
                return rc;
        if (!(d = augur_store_find_domain (st, domain, &error)))
                return augur_cli_error ("%s", error->message);
        if (since) {
                double s;

                if (!augur_parse_duration_s (since, &s, &error))
                        return augur_cli_usage ("history: --since: %s", error->message);
                /* Counts back from this domain's newest sample, not from now:
                 * imported history is as easy to read as live history. */
                from_ms = d->last_ms >= 0 ? d->last_ms - (gint64) (s * 1000) : G_MININT64;
        }
        if (from) {
                gint64 t;

                if (!augur_parse_time_s (from, &t, &error))
                        return augur_cli_usage ("history: --from: %s", error->message);
                from_ms = t * 1000;
        }
        if (to) {
                gint64 t;

                if (!augur_parse_time_s (to, &t, &error))
                        return augur_cli_usage ("history: --to: %s", error->message);
                to_ms = t * 1000 + 999;
        }
        if (!(rows = augur_store_history (st, d->id, from_ms, to_ms, res, &error)))
                return augur_cli_error ("%s", error->message);

        if (g->json) {
                g_autoptr(JsonBuilder) b = json_builder_new ();

                json_builder_begin_array (b);
                for (guint r = 0; r < rows->len; r++) {
                        const AugurHistRow *row = &g_array_index (rows, AugurHistRow, r);

                        json_builder_begin_object (b);
                        json_builder_set_member_name (b, "ts");
                        json_builder_add_int_value (b, row->ts_s);
                        for (int c = 0; c < AUGUR_HIST_N; c++) {
                                json_builder_set_member_name (b, augur_hist_col_info[c].name);
                                add_value (b, row->v[c], augur_hist_col_info[c].integer);
                        }
                        json_builder_end_object (b);
                }
                json_builder_end_array (b);
                print_json (b);
                return 0;
        }
        {
                static const AugurHistCol shown[] = {
                        AUGUR_HIST_MEM_ACTUAL_KIB, AUGUR_HIST_MEM_USED_KIB, AUGUR_HIST_MEM_UNUSED_KIB,
                        AUGUR_HIST_MEM_USABLE_KIB, AUGUR_HIST_CPU_CORES_USED, AUGUR_HIST_CPU_PCT,
                        AUGUR_HIST_VCPUS_CURRENT,
                };
                Table t = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev),
                            G_N_ELEMENTS (shown) + 1 };
                char **hdr = g_new0 (char *, t.ncols + 1);

                hdr[0] = g_strdup ("Time (UTC)");
                for (gsize c = 0; c < G_N_ELEMENTS (shown); c++)
                        hdr[c + 1] = g_strdup (augur_hist_col_info[shown[c]].name);
                table_add (&t, hdr);
                for (guint r = 0; r < rows->len; r++) {
                        const AugurHistRow *row = &g_array_index (rows, AugurHistRow, r);
                        char **cells = g_new0 (char *, t.ncols + 1);

                        cells[0] = format_ts_ms (row->ts_s * 1000);
                        for (gsize c = 0; c < G_N_ELEMENTS (shown); c++)
                                cells[c + 1] = format_value (row->v[shown[c]], augur_hist_col_info[shown[c]].integer);
                        table_add (&t, cells);
                }
                table_print (&t);
        }
        return 0;
}

const AugurCmdInfo augur_cmds_history[] = {
        { "list", cmd_list, "list the domains in the history store" },
        { "status", cmd_status, "daemon status: connection, last tick, domains, DB size" },
        { "history", cmd_history, "DOMAIN [--since 1h] [--from T] [--to T] [--resolution raw|1m|5m] [--json]" },
        { NULL },
};
