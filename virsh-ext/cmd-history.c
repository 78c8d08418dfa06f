/* cmd-history.c — virt-augur list / status / history: views of the history
 * store, opened read-only (WAL lets them run beside augurd).  `status`
 * asks augurd's socket first (live state) and falls back to the store. */
#include "config.h"

#include "virt-augur.h"
#include "cli-json.h"
#include "guests.h"
#include "client.h"
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


char *
augur_cli_format_ms (gint64 ms)
{
        g_autoptr(GDateTime) dt = NULL;

        if (ms < 0)
                return g_strdup ("-");
        dt = g_date_time_new_from_unix_utc (ms / 1000);
        return dt ? g_date_time_format (dt, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
}

void
augur_cli_table_init (AugurCliTable *t, guint ncols)
{
        t->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
        t->ncols = ncols;
}

void
augur_cli_table_add (AugurCliTable *t, char **cells)
{
        g_ptr_array_add (t->rows, cells);
}

void
augur_cli_table_print (AugurCliTable *t, const AugurCliGlobal *g)
{
        g_autofree int *w = g_new0 (int, t->ncols);
        guint first = g->quiet ? 1 : 0;

        for (guint r = first; r < t->rows->len; r++) {
                char **cells = t->rows->pdata[r];

                for (guint c = 0; c < t->ncols && cells[c]; c++)
                        w[c] = MAX (w[c], (int) g_utf8_strlen (cells[c], -1));
        }
        for (guint r = first; r < t->rows->len; r++) {
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

static const AugurOptDef opts_list[] = {
        { .name = "all", .type = AUGUR_OPT_BOOL,
          .help = "every domain in the store: also those augurd no longer samples and "
                  "imported traces" },
        { .name = "name", .type = AUGUR_OPT_BOOL,
          .help = "only the names, one per line" },
        { .name = "uuid", .type = AUGUR_OPT_BOOL,
          .help = "only the UUIDs, one per line" },
        { NULL },
};

static const AugurCmdInfo info_list = {
        .help = "the domains augurd samples (--all: every domain in the store)",
        .desc = "Domains in the history: id, name, UUID, source, number of samples, newest sample.  "
                "As virsh list shows the running domains unless --all: without --all only the "
                "domains augurd sampled in the last 10 minutes, with --all every domain in the "
                "store, also stopped ones and imported traces.  Running guests augur.conf's [guests] "
                "include/exclude keeps out follow with the source \"excluded\" and the rule "
                "(--json: \"excluded\": the rule); augurd does not sample them.  --name and --uuid "
                "print one name or UUID per line of the domains augurd samples, and nothing else (both: the UUID, then the name).",
};

/* Live, as `list` without --all and `top` without augurd count it: a
 * libvirt domain sampled within AUGUR_CLI_LIVE_MS of now. */
static gboolean
is_live (const AugurDomainInfo *d, gint64 now_ms)
{
        return g_strcmp0 (d->source, "libvirt") == 0 && d->last_ms >= now_ms - AUGUR_CLI_LIVE_MS;
}

static int
cmd_list (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(GPtrArray) all = NULL;
        g_autoptr(GPtrArray) doms = g_ptr_array_new ();
        g_autoptr(GError) error = NULL;
        gboolean names = augur_cmd_opts_bool (opts, "name");
        gboolean uuids = augur_cmd_opts_bool (opts, "uuid");
        gint64 now_ms = augur_now_ms ();
        g_autofree char *json_ex = NULL;
        g_autoptr(GPtrArray) excluded = NULL;
        int rc = 0;

        if (!(st = open_ro (g, &rc)))
                return rc;
        if (!(all = augur_store_list_domains (st, &error)))
                return augur_cli_error ("%s", error->message);
        json_ex = augur_store_get_meta (st, AUGUR_GUESTS_META_EXCLUDED);
        excluded = augur_guests_excluded_parse (json_ex);
        for (guint i = 0; i < all->len; i++) {
                const AugurDomainInfo *d = all->pdata[i];

                /* Excluded now: shown once, below, as such. */
                if (augur_guests_excluded_lookup (json_ex, d->uuid, NULL, NULL, NULL))
                        continue;
                if (augur_cmd_opts_bool (opts, "all") || is_live (d, now_ms))
                        g_ptr_array_add (doms, all->pdata[i]);
        }
        if (names || uuids) {
                /* virsh list --name / --uuid: for scripts and completion. */
                for (guint i = 0; i < doms->len; i++) {
                        const AugurDomainInfo *d = doms->pdata[i];

                        if (names && uuids)
                                g_print ("%s %s\n", d->uuid, d->name);
                        else
                                g_print ("%s\n", names ? d->name : d->uuid);
                }
                return 0;
        }
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
                        json_builder_set_member_name (b, "excluded");
                        json_builder_add_null_value (b);
                        json_builder_end_object (b);
                }
                for (guint i = 0; i < excluded->len; i++) {
                        char **e = excluded->pdata[i];

                        json_builder_begin_object (b);
                        json_builder_set_member_name (b, "name");
                        json_builder_add_string_value (b, e[1]);
                        json_builder_set_member_name (b, "uuid");
                        json_builder_add_string_value (b, e[0]);
                        json_builder_set_member_name (b, "id");
                        json_builder_add_null_value (b);
                        json_builder_set_member_name (b, "source");
                        json_builder_add_string_value (b, "excluded");
                        json_builder_set_member_name (b, "samples");
                        json_builder_add_int_value (b, 0);
                        json_builder_set_member_name (b, "first_ts");
                        json_builder_add_null_value (b);
                        json_builder_set_member_name (b, "last_ts");
                        json_builder_add_null_value (b);
                        json_builder_set_member_name (b, "excluded");
                        json_builder_add_string_value (b, e[2]);
                        json_builder_end_object (b);
                }
                json_builder_end_array (b);
                augur_cli_json_print (b, TRUE);
                return 0;
        }
        AugurCliTable t;
        char *hdr[] = { "Id", "Name", "UUID", "Source", "Samples", "Newest (UTC)", NULL };

        augur_cli_table_init (&t, 6);
        augur_cli_table_add (&t, g_strdupv (hdr));
        for (guint i = 0; i < doms->len; i++) {
                AugurDomainInfo *d = doms->pdata[i];
                char **row = g_new0 (char *, 7);

                row[0] = d->libvirt_id >= 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, d->libvirt_id) : g_strdup ("-");
                row[1] = g_strdup (d->name);
                row[2] = g_strdup (d->uuid);
                row[3] = g_strdup (d->source);
                row[4] = g_strdup_printf ("%" G_GINT64_FORMAT, d->n_samples);
                row[5] = augur_cli_format_ms (d->last_ms);
                augur_cli_table_add (&t, row);
        }
        for (guint i = 0; i < excluded->len; i++) {
                char **e = excluded->pdata[i];
                char **row = g_new0 (char *, 7);

                row[0] = g_strdup ("-");
                row[1] = g_strdup (e[1]);
                row[2] = g_strdup (e[0]);
                row[3] = g_strdup_printf ("excluded ([guests] %s)", e[2]);
                row[4] = g_strdup ("-");
                row[5] = g_strdup ("-");
                augur_cli_table_add (&t, row);
        }
        augur_cli_table_print (&t, g);
        return 0;
}


/* augurd's live status from its socket: (transfer full) the result object,
 * or NULL with *ret_why saying why the database is used instead. */
static JsonNode *
status_from_socket (const AugurCliGlobal *g, char **ret_path, char **ret_why)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonNode) res = NULL;
        const char *daemon_db;

        *ret_path = augur_client_socket_path (g->socket_path);
        res = augur_client_call_result (*ret_path, "{\"call\":\"status\"}",
                                        AUGUR_CLIENT_TIMEOUT_MS, &error);
        if (!res) {
                *ret_why = g_strdup (error->message);
                return NULL;
        }
        /* An explicit --db or $AUGUR_DB names a database.  When the augurd
         * on the socket writes another one, it speaks for someone else. */
        daemon_db = json_object_get_string_member_with_default (json_node_get_object (res), "db", NULL);
        if ((g->db_path || (g_getenv ("AUGUR_DB") && *g_getenv ("AUGUR_DB"))) &&
            !augur_client_same_file (daemon_db, augur_cli_db_path (g))) {
                *ret_why = g_strdup_printf ("the augurd on %s writes %s, not %s", *ret_path,
                                            daemon_db ? daemon_db : "?", augur_cli_db_path (g));
                return NULL;
        }
        return g_steal_pointer (&res);
}

static char *
format_age (gint64 s)
{
        if (s < 0)
                return g_strdup ("-");
        if (s < 120)
                return g_strdup_printf ("%" G_GINT64_FORMAT " s", s);
        if (s < 7200)
                return g_strdup_printf ("%" G_GINT64_FORMAT " min", s / 60);
        if (s < 172800)
                return g_strdup_printf ("%" G_GINT64_FORMAT " h %" G_GINT64_FORMAT " min", s / 3600, s / 60 % 60);
        return g_strdup_printf ("%" G_GINT64_FORMAT " d %" G_GINT64_FORMAT " h", s / 86400, s / 3600 % 24);
}

static gint64
int_member (JsonObject *o, const char *name)
{
        JsonNode *n = o ? json_object_get_member (o, name) : NULL;

        if (!n || !JSON_NODE_HOLDS_VALUE (n))
                return -1;
        return json_node_get_int (n);
}

static void
add_int_or_null (JsonBuilder *b, const char *member, gint64 v)
{
        json_builder_set_member_name (b, member);
        if (v >= 0)
                json_builder_add_int_value (b, v);
        else
                json_builder_add_null_value (b);
}

static const AugurOptDef opts_status[] = {
        { NULL },
};

static const AugurCmdInfo info_status = {
        .help = "daemon status: connection, last tick, domains, DB size",
        .desc = "Asks augurd through its socket first: pid, version, uptime, libvirt connection, "
                "mode, policy, the metrics endpoint, last tick, domains watched (and, with "
                "augur.conf's [guests] include/exclude, how many running ones it excludes) and the hook "
                "notifications it received; then adds what the database knows (domains known, "
                "ticks stored, size).  When augurd does not answer, or when --db/$AUGUR_DB names "
                "a database that the augurd on the socket does not write, it falls back to the "
                "database and says why on the \"Source:\" line.",
};

static int
cmd_status (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonNode) live = NULL;
        g_autofree char *sock = NULL, *why = NULL, *last = NULL, *db_error = NULL;
        AugurStoreStatus s = { .last_tick_ms = -1 };
        JsonObject *o = NULL, *notes = NULL, *lastn = NULL;
        const char *db, *uri;
        gboolean connected, have_db = FALSE;
        gint64 pid, last_tick_ms, age_s, watched;
        int rc = 0;

        live = status_from_socket (g, &sock, &why);
        if (live) {
                o = json_node_get_object (live);
                db = json_object_get_string_member_with_default (o, "db", augur_cli_db_path (g));
        } else {
                db = augur_cli_db_path (g);
        }
        st = augur_store_open (db, AUGUR_STORE_READ_ONLY, &error);
        if (st) {
                have_db = augur_store_status (st, &s, &error);
                if (!have_db)
                        db_error = g_strdup (error->message);
        } else {
                db_error = g_strdup (error->message);
        }
        if (!live && !have_db) {
                augur_store_status_clear (&s);
                return augur_cli_error ("augurd does not answer (%s) and %s", why, db_error);
        }

        if (live) {
                JsonNode *n = json_object_get_member (o, "notifications");

                if (n && JSON_NODE_HOLDS_OBJECT (n)) {
                        notes = json_node_get_object (n);
                        n = json_object_get_member (notes, "last");
                        if (n && JSON_NODE_HOLDS_OBJECT (n))
                                lastn = json_node_get_object (n);
                }
                connected = json_object_get_boolean_member_with_default (o, "connected", FALSE);
                uri = json_object_get_string_member_with_default (o, "uri", "");
                pid = int_member (o, "pid");
                last_tick_ms = int_member (o, "last_tick_ts");
                if (last_tick_ms >= 0)
                        last_tick_ms *= 1000;
                watched = int_member (o, "domains_watched");
        } else {
                connected = g_strcmp0 (s.connected, "1") == 0;
                uri = s.uri ? s.uri : "";
                pid = s.pid ? g_ascii_strtoll (s.pid, NULL, 10) : -1;
                last_tick_ms = s.last_tick_ms;
                watched = s.last_tick_domains;
        }
        age_s = last_tick_ms >= 0 ? (augur_now_ms () - last_tick_ms) / 1000 : -1;
        last = augur_cli_format_ms (last_tick_ms);

        if (g->json) {
                g_autoptr(JsonBuilder) b = json_builder_new ();

                json_builder_begin_object (b);
                json_builder_set_member_name (b, "source");
                json_builder_add_string_value (b, live ? "socket" : "database");
                json_builder_set_member_name (b, "socket");
                json_builder_add_string_value (b, sock);
                if (!live) {
                        json_builder_set_member_name (b, "socket_error");
                        json_builder_add_string_value (b, why);
                }
                json_builder_set_member_name (b, "db");
                json_builder_add_string_value (b, db);
                json_builder_set_member_name (b, "connected");
                json_builder_add_boolean_value (b, connected);
                json_builder_set_member_name (b, "uri");
                json_builder_add_string_value (b, uri);
                add_int_or_null (b, "daemon_pid", pid);
                add_int_or_null (b, "last_tick_ts", last_tick_ms >= 0 ? last_tick_ms / 1000 : -1);
                json_builder_set_member_name (b, "last_tick_age_s");
                json_builder_add_int_value (b, age_s);
                json_builder_set_member_name (b, "domains_watched");
                json_builder_add_int_value (b, MAX (watched, 0));
                /* From the database (null when it cannot be read). */
                add_int_or_null (b, "domains_known", have_db ? s.n_domains : -1);
                add_int_or_null (b, "ticks", have_db ? s.n_ticks : -1);
                add_int_or_null (b, "db_bytes", have_db ? s.db_bytes : -1);
                if (live) {
                        json_builder_set_member_name (b, "daemon");
                        json_builder_add_value (b, json_node_copy (live));
                }
                json_builder_end_object (b);
                augur_cli_json_print (b, TRUE);
        } else {
                g_autofree char *age = format_age (age_s);

                if (live)
                        g_print ("%-18s augurd socket %s\n", "Source:", sock);
                else
                        g_print ("%-18s database (augurd socket: %s)\n", "Source:", why);
                g_print ("%-18s %s\n", "Database:", db);
                if (live) {
                        g_autofree char *up = format_age (int_member (o, "uptime_s"));

                        g_print ("%-18s pid %" G_GINT64_FORMAT ", augurd %s, up %s\n", "Daemon:", pid,
                                 json_object_get_string_member_with_default (o, "version", "?"), up);
                        g_print ("%-18s %s (policy %s), tick %g s\n", "Mode:",
                                 json_object_get_string_member_with_default (o, "mode", "?"),
                                 json_object_get_string_member_with_default (o, "policy", "?"),
                                 json_object_get_double_member_with_default (o, "tick_seconds", 0));
                        if (int_member (o, "metrics_port") > 0)
                                g_print ("%-18s http://127.0.0.1:%" G_GINT64_FORMAT "/metrics\n", "Metrics:",
                                         int_member (o, "metrics_port"));
                        else
                                g_print ("%-18s %s\n", "Metrics:", "off ([metrics] port)");
                } else if (pid >= 0) {
                        g_print ("%-18s pid %" G_GINT64_FORMAT " according to the database\n", "Daemon:", pid);
                } else {
                        g_print ("%-18s %s\n", "Daemon:", "not running");
                }
                g_print ("%-18s %s%s%s\n", "libvirt:", connected ? "connected" : "not connected",
                         *uri ? " to " : "", uri);
                if (last_tick_ms >= 0)
                        g_print ("%-18s %s UTC (%s ago)\n", "Last tick:", last, age);
                else
                        g_print ("%-18s %s\n", "Last tick:", "none yet");
                g_print ("%-18s %" G_GINT64_FORMAT "\n", "Domains watched:", MAX (watched, 0));
                if (live && json_object_has_member (o, "guests_filter") &&
                    !g_str_equal (json_object_get_string_member_with_default (o, "guests_filter", ""),
                                  "include = all, exclude = none"))
                        g_print ("%-18s %" G_GINT64_FORMAT " ([guests] %s)\n", "Domains excluded:",
                                 MAX (int_member (o, "domains_excluded"), 0),
                                 json_object_get_string_member_with_default (o, "guests_filter", ""));
                if (live && notes) {
                        if (lastn) {
                                g_autofree char *name = g_strescape (
                                        json_object_get_string_member_with_default (lastn, "domain", ""), NULL);
                                g_autofree char *ago = format_age (augur_now_ms () / 1000 - int_member (lastn, "ts"));

                                g_print ("%-18s %" G_GINT64_FORMAT ", last: \"%s\" %s %s (%s ago)\n",
                                         "Hook events:", int_member (notes, "count"), name,
                                         json_object_get_string_member_with_default (lastn, "op", "?"),
                                         json_object_get_string_member_with_default (lastn, "sub", "?"), ago);
                        } else {
                                g_print ("%-18s %s\n", "Hook events:", "none received");
                        }
                }
                if (have_db) {
                        g_print ("%-18s %" G_GINT64_FORMAT "\n", "Domains known:", s.n_domains);
                        g_print ("%-18s %" G_GINT64_FORMAT "\n", "Ticks stored:", s.n_ticks);
                        g_print ("%-18s %.1f MiB\n", "DB size:", s.db_bytes / 1048576.0);
                } else {
                        g_print ("%-18s %s\n", "DB:", db_error);
                }
        }
        augur_store_status_clear (&s);
        return rc;
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

static const AugurOptDef opts_history[] = {
        { .name = "domain", .type = AUGUR_OPT_DATA, .flags = AUGUR_OPT_REQUIRED, .metavar = "DOMAIN",
          .help = "the domain: name, UUID or numeric id" },
        { .name = "since", .type = AUGUR_OPT_DURATION, .metavar = "DURATION",
          .help = "count back this long (90s, 15m, 1h, 2d) from the domain's newest sample" },
        { .name = "from", .type = AUGUR_OPT_STRING, .metavar = "T",
          .help = "from this time: unix seconds or ISO 8601 (not with --since)" },
        { .name = "to", .type = AUGUR_OPT_STRING, .metavar = "T",
          .help = "up to this time: unix seconds or ISO 8601" },
        { .name = "resolution", .type = AUGUR_OPT_STRING, .metavar = "raw|1m|5m",
          .help = "raw samples (default) or the 1-minute or 5-minute rollups" },
        { NULL },
};

static const AugurCmdInfo info_history = {
        .help = "the domain's samples from the history store",
        .desc = "The domain's samples.  --since counts back from that domain's newest sample; "
                "--from/--to take unix seconds or ISO 8601.  Counters are raw at raw resolution "
                "and per-interval deltas in rollups; gauges are bucket means in rollups.  "
                "vcpus_online counts the vCPUs online in the guest (the guest agent's count, "
                "as augurd's decision of that tick recorded it); vcpus_current (JSON) counts "
                "those plugged, which include any the agent took offline.",
};

static int
cmd_history (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(AugurDomainInfo) d = NULL;
        g_autoptr(GArray) rows = NULL;
        g_autoptr(GError) error = NULL;
        const char *domain = augur_cmd_opts_string (opts, "domain");
        const char *from = augur_cmd_opts_string (opts, "from");
        const char *to = augur_cmd_opts_string (opts, "to");
        const char *resname = augur_cmd_opts_string (opts, "resolution");
        AugurResolution res;
        gint64 from_ms = G_MININT64, to_ms = G_MAXINT64;
        double since_s;
        gboolean since = augur_cmd_opts_duration (opts, "since", &since_s);
        int rc = 0;

        if (!resname)
                resname = "raw";
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
                /* Counts back from this domain's newest sample, not from now:
                 * imported history is as easy to read as live history. */
                from_ms = d->last_ms >= 0 ? d->last_ms - (gint64) (since_s * 1000) : G_MININT64;
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
                augur_cli_json_print (b, TRUE);
                return 0;
        }
        {
                static const AugurHistCol shown[] = {
                        AUGUR_HIST_MEM_ACTUAL_KIB, AUGUR_HIST_MEM_USED_KIB, AUGUR_HIST_MEM_UNUSED_KIB,
                        AUGUR_HIST_MEM_USABLE_KIB, AUGUR_HIST_CPU_CORES_USED, AUGUR_HIST_CPU_PCT,
                        AUGUR_HIST_VCPUS_ONLINE, AUGUR_HIST_INPUT_EVENTS_PER_MIN,
                        AUGUR_HIST_SESSIONS, AUGUR_HIST_PROC_STARTS_PER_MIN,
                };
                AugurCliTable t;
                char **hdr;

                augur_cli_table_init (&t, G_N_ELEMENTS (shown) + 1);
                hdr = g_new0 (char *, t.ncols + 1);
                hdr[0] = g_strdup ("Time (UTC)");
                for (gsize c = 0; c < G_N_ELEMENTS (shown); c++)
                        hdr[c + 1] = g_strdup (augur_hist_col_info[shown[c]].name);
                augur_cli_table_add (&t, hdr);
                for (guint r = 0; r < rows->len; r++) {
                        const AugurHistRow *row = &g_array_index (rows, AugurHistRow, r);
                        char **cells = g_new0 (char *, t.ncols + 1);

                        cells[0] = augur_cli_format_ms (row->ts_s * 1000);
                        for (gsize c = 0; c < G_N_ELEMENTS (shown); c++)
                                cells[c + 1] = format_value (row->v[shown[c]], augur_hist_col_info[shown[c]].integer);
                        augur_cli_table_add (&t, cells);
                }
                augur_cli_table_print (&t, g);
        }
        return 0;
}

const AugurCmdDef augur_cmds_history[] = {
        { "list", cmd_list, opts_list, &info_list },
        { "status", cmd_status, opts_status, &info_status },
        { "history", cmd_history, opts_history, &info_history },
        { NULL },
};
