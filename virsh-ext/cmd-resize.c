/* cmd-resize.c — virt-augur actions / explain: the audit trail of the
 * resize loop, read from the history store (read-only). */
#include "config.h"

#include "virt-augur.h"
#include "cli-json.h"
#include "client.h"
#include "guests.h"
#include "io-limit.h"
#include "cpu-weight-cli.h"
#include "store.h"
#include "store-decisions.h"
#include "util.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static char *
fmt_mib (double kib)
{
        return isnan (kib) ? g_strdup ("?") : g_strdup_printf ("%.0f MiB", kib / 1024);
}

static void
json_str (JsonBuilder *b, const char *key, const char *v)
{
        json_builder_set_member_name (b, key);
        if (v)
                json_builder_add_string_value (b, v);
        else
                json_builder_add_null_value (b);
}

static void
row_to_json (JsonBuilder *b, const AugurDecisionRow *r)
{
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "ts");
        json_builder_add_int_value (b, r->ts_ms / 1000);
        augur_cli_json_domain (b, r->name, r->uuid);
        json_str (b, "mode", r->mode);
        json_str (b, "policy", r->policy);
        json_str (b, "model", r->model);
        augur_cli_json_num (b, "mem_used_kib", r->mem_used_kib);
        augur_cli_json_num (b, "mem_alloc_kib", r->mem_alloc_kib);
        augur_cli_json_num (b, "mem_p50_kib", r->mem_p50_kib);
        augur_cli_json_num (b, "mem_upper_kib", r->mem_upper_kib);
        augur_cli_json_num (b, "mem_target_kib", r->mem_target_kib);
        augur_cli_json_num (b, "cpu_cores_used", r->cpu_cores_used);
        augur_cli_json_num (b, "cpu_p50_cores", r->cpu_p50_cores);
        augur_cli_json_num (b, "cpu_upper_cores", r->cpu_upper_cores);
        augur_cli_json_count (b, "vcpus_online", r->vcpus_online);
        augur_cli_json_count (b, "vcpus_target", r->vcpus_target);
        augur_cli_json_num (b, "horizon_s", r->horizon_s);
        json_str (b, "mem_action", r->mem_action);
        json_str (b, "mem_reason", r->mem_reason);
        json_str (b, "mem_veto", r->mem_veto);
        json_str (b, "cpu_action", r->cpu_action);
        json_str (b, "cpu_reason", r->cpu_reason);
        json_str (b, "cpu_veto", r->cpu_veto);
        json_str (b, "note", r->note[0] ? r->note : NULL);
        json_builder_end_object (b);
}

/* An I/O limit actuation as JSON (actions --json): kind io-total /
 * io-read / io-write / io-total-iops / io-read-iops / io-write-iops (the
 * device a disk) or net-in / net-out (an interface), the device, from
 * and to in the kind's unit ("unit": "B/s" as from_bytes_sec and
 * to_bytes_sec, "IO/s" as from_iops and to_iops), and the reason.  "disk"
 * names the device of either kind: the key predates interfaces. */
static void
io_row_to_json (JsonBuilder *b, const AugurActuationRow *a, const char *name, const char *uuid)
{
        AugurIoKind k = augur_io_kind_from_name (a->kind);
        gboolean iops = k < AUGUR_IO_KIND_N && augur_io_kind_is_iops (k);

        json_builder_begin_object (b);
        json_builder_set_member_name (b, "ts");
        json_builder_add_int_value (b, a->ts_ms / 1000);
        augur_cli_json_domain (b, name, uuid);
        json_str (b, "kind", a->kind);
        json_str (b, "disk", a->device);
        json_str (b, "device", a->device);
        json_str (b, "unit", iops ? "IO/s" : "B/s");
        augur_cli_json_num (b, iops ? "from_iops" : "from_bytes_sec", a->from_value);
        augur_cli_json_num (b, iops ? "to_iops" : "to_bytes_sec", a->to_value);
        json_str (b, "reason", a->reason);
        json_builder_end_object (b);
}

/* "read limit", "outbound limit" (io-limit.h AugurIoKindInfo). */
static const char *
io_limit_words (const char *kind)
{
        AugurIoKind k = augur_io_kind_from_name (kind);

        return k < AUGUR_IO_KIND_N ? augur_io_kind_info[k].words : "limit";
}

/* "Disk I/O" or "Network I/O": the paragraph a row belongs to. */
static const char *
io_heading (const char *kind)
{
        AugurIoKind k = augur_io_kind_from_name (kind);

        return k < AUGUR_IO_KIND_N && augur_io_kind_info[k].net ? "Network I/O" : "Disk I/O";
}

/* v of an actuation of kind as printed: "40 MiB/s", "800 IO/s"
 * (io-limit.h augur_io_kind_format; a kind this build does not know is
 * taken for bytes/s). */
static char *
fmt_io (const char *kind, double v, gboolean with_unit)
{
        AugurIoKind k = augur_io_kind_from_name (kind);

        return augur_io_kind_format (k < AUGUR_IO_KIND_N ? k : AUGUR_IO_KIND_TOTAL, v, with_unit);
}

/* The disk limit actuations among rows (every kind is in the table). */
static GArray *
io_rows (const GArray *all)
{
        GArray *out = g_array_new (FALSE, TRUE, sizeof (AugurActuationRow));

        for (guint i = 0; i < all->len; i++) {
                const AugurActuationRow *a = &g_array_index (all, AugurActuationRow, i);

                if (a->device)
                        g_array_append_val (out, *a);
        }
        return out;
}

/* The name and UUID of domain_id for the rows of actions without DOMAIN. */
static void
domain_names (AugurStore *st, gint64 domain_id, const char **ret_name, const char **ret_uuid,
              GPtrArray **cache)
{
        if (!*cache)
                *cache = augur_store_list_domains (st, NULL);
        *ret_name = "?";
        *ret_uuid = NULL;
        for (guint i = 0; *cache && i < (*cache)->len; i++) {
                const AugurDomainInfo *d = (*cache)->pdata[i];

                if (d->id == domain_id) {
                        *ret_name = d->name;
                        *ret_uuid = d->uuid;
                }
        }
}

static gboolean
is_change (const char *action)
{
        return action && strcmp (action, "none") != 0;
}

/* The newest sample of any domain, ms: -1 when there is none, G_MININT64
 * with error when the store cannot be read. */
static gint64
newest_sample_ms (AugurStore *st, GError **error)
{
        g_autoptr(GPtrArray) doms = augur_store_list_domains (st, error);
        gint64 newest = -1;

        if (!doms)
                return G_MININT64;
        for (guint i = 0; i < doms->len; i++)
                newest = MAX (newest, ((const AugurDomainInfo *) doms->pdata[i])->last_ms);
        return newest;
}

static const AugurOptDef opts_actions[] = {
        { .name = "domain", .type = AUGUR_OPT_DATA, .metavar = "DOMAIN",
          .help = "only this domain (name, UUID or numeric id); default: every domain" },
        { .name = "since", .type = AUGUR_OPT_DURATION, .metavar = "DURATION",
          .help = "only the last DURATION (90s, 15m, 1h, 2d), counted back from the newest sample "
                  "(the domain's; without DOMAIN the newest of any domain), as history and plot "
                  "count" },
        { .name = "all", .type = AUGUR_OPT_BOOL,
          .help = "every decision, also those that changed nothing" },
        { NULL },
};

static const AugurCmdInfo info_actions = {
        .help = "resize actions taken or recommended, from the audit trail",
        .desc = "Resize actions taken or recommended, from the audit trail (the decisions augurd "
                "recorded, read-only): time, domain, mode, the memory change and the vCPU change, "
                "each with its reason or the guard that vetoed it.  --since counts back from the "
                "newest sample, as history and plot do, not from now.",
};

static int
cmd_actions (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(AugurDomainInfo) d = NULL;
        g_autoptr(GArray) rows = NULL, acts = NULL, io = NULL, cpu_rows = NULL;
        g_autoptr(GPtrArray) doms = NULL;
        g_autoptr(GError) error = NULL;
        const char *domain = augur_cmd_opts_string (opts, "domain");
        gboolean all = augur_cmd_opts_bool (opts, "all");
        gint64 from_ms = G_MININT64;
        double since_s;

        st = augur_store_open (augur_cli_db_path (g), AUGUR_STORE_READ_ONLY, &error);
        if (!st)
                return augur_cli_error ("%s", error->message);
        if (domain && !(d = augur_store_find_domain (st, domain, &error)))
                return augur_cli_error ("%s", error->message);
        if (augur_cmd_opts_duration (opts, "since", &since_s)) {
                /* From the newest sample, not from now (as history and
                 * plot count): a history that ended an hour ago, or a
                 * copied database, reads the same. */
                gint64 newest_ms = d ? d->last_ms : newest_sample_ms (st, &error);

                if (newest_ms == G_MININT64)
                        return augur_cli_error ("%s", error->message);
                if (newest_ms >= 0)
                        from_ms = newest_ms - (gint64) (since_s * 1000);
        }
        rows = augur_store_decisions (st, d ? d->id : -1, from_ms, G_MAXINT64, 0, &error);
        if (!rows)
                return augur_cli_error ("%s", error->message);
        acts = augur_store_actuations (st, d ? d->id : -1, from_ms, G_MAXINT64, 0, &error);
        if (!acts)
                return augur_cli_error ("%s", error->message);
        io = io_rows (acts);
        cpu_rows = augur_cli_cpu_weight_rows (acts);
        if (g->json) {
                g_autoptr(JsonBuilder) b = json_builder_new ();

                json_builder_begin_array (b);
                for (guint i = 0; i < rows->len; i++) {
                        const AugurDecisionRow *r = &g_array_index (rows, AugurDecisionRow, i);

                        if (all || is_change (r->mem_action) || is_change (r->cpu_action))
                                row_to_json (b, r);
                }
                /* Disk limits after the decisions: objects with a "kind". */
                for (guint i = 0; i < io->len; i++) {
                        const AugurActuationRow *a = &g_array_index (io, AugurActuationRow, i);
                        const char *name, *uuid;

                        domain_names (st, a->domain_id, &name, &uuid, &doms);
                        io_row_to_json (b, a, name, uuid);
                }
                augur_cli_cpu_weight_json (b, st, cpu_rows);
                json_builder_end_array (b);
                augur_cli_json_print (b, TRUE);
                return 0;
        }
        AugurCliTable t;
        char *hdr[] = { "Time (UTC)", "Domain", "Mode", "Memory", "Action (reason)", "vCPUs", "Action (reason)", NULL };

        augur_cli_table_init (&t, 7);
        augur_cli_table_add (&t, g_strdupv (hdr));
        for (guint i = 0; i < rows->len; i++) {
                const AugurDecisionRow *r = &g_array_index (rows, AugurDecisionRow, i);
                g_autofree char *from = NULL, *to = NULL;
                char **cells;

                if (!all && !is_change (r->mem_action) && !is_change (r->cpu_action))
                        continue;
                from = fmt_mib (r->mem_alloc_kib);
                to = fmt_mib (r->mem_target_kib);
                cells = g_new0 (char *, 8);
                cells[0] = augur_cli_format_ms (r->ts_ms);
                cells[1] = g_strdup (r->name);
                cells[2] = g_strdup (r->mode);
                cells[3] = g_strdup_printf ("%s -> %s", from, to);
                cells[4] = g_strdup_printf ("%s (%s)", r->mem_action, strcmp (r->mem_veto, "none") ? r->mem_veto : r->mem_reason);
                cells[5] = r->vcpus_online > 0 ? g_strdup_printf ("%d -> %d", r->vcpus_online, r->vcpus_target)
                                               : g_strdup ("?");
                cells[6] = g_strdup_printf ("%s (%s)", r->cpu_action, strcmp (r->cpu_veto, "none") ? r->cpu_veto : r->cpu_reason);
                augur_cli_table_add (&t, cells);
        }
        augur_cli_table_print (&t, g);
        if (io->len > 0) {
                AugurCliTable ti;
                char *hdr_io[] = { "Time (UTC)", "Domain", "Device", "Limit", "Change", "Reason", NULL };

                if (!g->quiet)
                        g_print ("\nI/O limits (disks and interfaces):\n");
                augur_cli_table_init (&ti, 6);
                augur_cli_table_add (&ti, g_strdupv (hdr_io));
                for (guint i = 0; i < io->len; i++) {
                        const AugurActuationRow *a = &g_array_index (io, AugurActuationRow, i);
                        g_autofree char *from = fmt_io (a->kind, a->from_value, TRUE);
                        g_autofree char *to = fmt_io (a->kind, a->to_value, TRUE);
                        const char *name, *uuid;
                        char **cells = g_new0 (char *, 7);

                        domain_names (st, a->domain_id, &name, &uuid, &doms);
                        cells[0] = augur_cli_format_ms (a->ts_ms);
                        cells[1] = g_strdup (name);
                        cells[2] = g_strdup (a->device);
                        cells[3] = g_strdup (io_limit_words (a->kind));
                        cells[4] = g_strdup_printf ("%s -> %s", from, to);
                        cells[5] = g_strdup (a->reason ? a->reason : "?");
                        augur_cli_table_add (&ti, cells);
                }
                augur_cli_table_print (&ti, g);
        }
        augur_cli_cpu_weight_table (st, cpu_rows, g);
        return 0;
}

static const char *
veto_words (const char *veto)
{
        static const struct { const char *v, *w; } words[] = {
                { "stale-stats", "its memory stats are stale or incomplete, and augur never shrinks on stale data" },
                { "pressure", "the guest shows memory pressure" },
                { "cooldown", "it was resized too recently (cooldown)" },
                { "not-sustained", "the lower demand has not held long enough yet (a sudden drop is not evidence)" },
                { "deadband", "the change would be too small to be worth it" },
                { "no-agent", "scaling vCPUs down needs the guest agent, which is not connected" },
                { "no-forecast", "there is no forecast for it yet" },
                { "observed-busy", "the guest still uses more CPU than one vCPU less would carry at the target utilisation" },
                { "regrow-soon", "the forecast wants that vCPU back within the cooldown, so giving it back now would only churn" },
                { "other-controller", "something else (virsh setmem, MoM, pvestatd) moved its balloon, so augur "
                                      "yields and only observes it; `virt-augur policy DOMAIN --set mode=act` takes it back" },
                { "balloon-owned", "its balloon is another controller's by design, which augur leaves alone "
                                   "(the note says which, and how to hand it to augur)" },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (words); i++)
                if (g_strcmp0 (veto, words[i].v) == 0)
                        return words[i].w;
        return veto;
}

static const char *
reason_words (const char *reason)
{
        static const struct { const char *r, *w; } words[] = {
                { "forecast-grow", "the forecast's upper bound over the lead time is above the allocation" },
                { "forecast-shrink", "the forecast has stayed well below the allocation" },
                { "censored", "the guest is pinned at its limit, so it may need more than it shows" },
                { "pressure", "the guest is under memory pressure" },
                { "floor", "the allocation is below what the guest uses plus the reserve" },
                { "ceiling", "the forecast is above the configured maximum" },
                { "reactive", "the reference reactive policy follows the last used value" },
                { "cushion", "the guest keeps a cushion above what it uses: the largest burst it has shown "
                             "within augur's reaction time, more while the host has memory to spare" },
                { "out-of-memory", "the guest ran out of memory: augur grows it at once and holds it there "
                                   "(see the note)" },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (words); i++)
                if (g_strcmp0 (reason, words[i].r) == 0)
                        return words[i].w;
        return reason;
}

/* Does the guest report memory statistics at the decision's tick?  FALSE
 * when the sample of that tick has no used memory (no MemAvailable from
 * the guest's balloon driver), or when there is no sample and the
 * decision has no used memory either.  A decision's used memory is also
 * unknown while a balloon moves (resize.c: no still reading yet) although
 * the guest reports: the sample tells the two apart. */
static gboolean
guest_reports_memory (AugurStore *st, const AugurDecisionRow *r)
{
        g_autoptr(GArray) rows = augur_store_history (st, r->domain_id, r->ts_ms, r->ts_ms, AUGUR_RES_RAW, NULL);

        if (!rows || rows->len == 0)
                return !isnan (r->mem_used_kib);
        return !isnan (g_array_index (rows, AugurHistRow, rows->len - 1).v[AUGUR_HIST_MEM_USED_KIB]);
}

/* explain's memory paragraph for a guest without memory statistics: what
 * it means, why it happens and how to fix it. */
static void
print_no_memory_stats (const char *name, double alloc_kib)
{
        g_autofree char *alloc = fmt_mib (alloc_kib);

        g_print ("Memory: the guest reports no memory statistics, so augur cannot tell how much it uses "
                 "and never shrinks it (%s%s).\n", isnan (alloc_kib) ? "its allocation is unknown too" : "allocation: ",
                 isnan (alloc_kib) ? "" : alloc);
        g_print ("  This happens when the domain has no balloon device, when its balloon stats period "
                 "is off, or when the guest has no balloon driver loaded.\n");
        g_print ("  To fix it: give the domain a <memballoon model='virtio'/> device (virsh edit %s; "
                 "it takes effect at the next boot); load the virtio_balloon driver in the guest "
                 "(Linux; on Windows the virtio-win Balloon driver and its service); and keep a stats "
                 "period: augurd sets [daemon] balloon_period_seconds on every guest it sees, "
                 "`virsh dommemstat %s --period 1 --live` sets it by hand.  `virsh dommemstat %s` "
                 "then lists available, usable and last_update.\n", name, name, name);
}

/* One I/O limit change in words ("raised vda's limit from 5 to 40 MiB/s
 * for the forecast burst", "raised vda's read IOPS limit from 200 to 800
 * IO/s ...", "raised vnet0's outbound limit from 1 to 8 MiB/s ..."). */
static void
print_io_row (const AugurActuationRow *a)
{
        g_autofree char *t = augur_cli_format_ms (a->ts_ms);
        g_autofree char *from = fmt_io (a->kind, a->from_value, FALSE);
        g_autofree char *to = fmt_io (a->kind, a->to_value, TRUE);

        if (g_strcmp0 (a->reason, "forecast-burst") == 0)
                g_print ("%s: at %s UTC augur %s %s's %s from %s to %s for the forecast burst.\n", io_heading (a->kind),
                         t, a->to_value > a->from_value ? "raised" : "set", a->device, io_limit_words (a->kind),
                         from, to);
        else if (g_strcmp0 (a->reason, "at-limit") == 0)
                g_print ("%s: at %s UTC augur raised %s's %s from %s to %s: the guest sat at it, a burst "
                         "no forecast announced.\n", io_heading (a->kind), t, a->device, io_limit_words (a->kind),
                         from, to);
        else if (g_strcmp0 (a->reason, "restore") == 0)
                g_print ("%s: at %s UTC augur restored %s's %s from %s to %s after sustained quiet.\n",
                         io_heading (a->kind), t, a->device, io_limit_words (a->kind), from, to);
        else if (g_strcmp0 (a->reason, "yield") == 0)
                g_print ("%s: at %s UTC someone else set %s's %s to %s while augur held a raise; augur "
                         "keeps it as the floor and does not fight it.\n", io_heading (a->kind), t, a->device,
                         io_limit_words (a->kind), to);
        else
                g_print ("%s: at %s UTC %s's %s went from %s to %s (%s).\n", io_heading (a->kind), t, a->device,
                         io_limit_words (a->kind), from, to, a->reason ? a->reason : "?");
}

/* explain's I/O paragraph: per limit augur moved (a device and kind: a
 * disk's byte and IOPS limits are two), its newest change, oldest first. */
static void
print_io_explain (AugurStore *st, gint64 domain_id)
{
        g_autoptr(GArray) acts = augur_store_actuations (st, domain_id, G_MININT64, G_MAXINT64, 0, NULL);
        g_autoptr(GArray) io = acts ? io_rows (acts) : NULL;
        g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GPtrArray) newest = g_ptr_array_new ();

        for (guint i = io ? io->len : 0; i-- > 0;) {
                const AugurActuationRow *a = &g_array_index (io, AugurActuationRow, i);
                char *key = g_strdup_printf ("%s/%s", a->device, a->kind ? a->kind : "");

                if (!g_hash_table_add (seen, key))
                        continue;
                g_ptr_array_add (newest, (gpointer) a);
        }
        for (guint i = newest->len; i-- > 0;)
                print_io_row (newest->pdata[i]);
}

static const AugurOptDef opts_explain[] = {
        { .name = "domain", .type = AUGUR_OPT_DATA, .flags = AUGUR_OPT_REQUIRED, .metavar = "DOMAIN",
          .help = "the domain: name, UUID or numeric id" },
        { NULL },
};

static const AugurCmdInfo info_explain = {
        .help = "the latest decision in plain words",
        .desc = "The latest decision for the domain in plain words: inputs, forecast, the action "
                "or the guard that vetoed it, and the reason.  When a precursor (a burst of "
                "typing, a login, data staging, or a job due on a schedule augur found in the "
                "guest's memory history) raised the memory bound, the note names it.  A guest that "
                "reports no memory statistics is said to, with why and how to fix it.  A guest "
                "augur.conf's [guests] include/exclude keeps out is said to be excluded, and by "
                "which rule.",
};

/* A guest [guests] excludes (guests.h: the meta key augurd writes at the
 * tick that excludes it): said, and TRUE.  Its history from before, if
 * any, is not its present. */
static gboolean
explain_excluded (const AugurCliGlobal *g, AugurStore *st, const char *domain)
{
        g_autofree char *json = augur_store_get_meta (st, AUGUR_GUESTS_META_EXCLUDED);
        g_autofree char *name = NULL, *uuid = NULL, *rule = NULL;

        if (!augur_guests_excluded_lookup (json, domain, &name, &uuid, &rule))
                return FALSE;
        if (g->json) {
                g_autoptr(JsonBuilder) b = json_builder_new ();

                json_builder_begin_object (b);
                augur_cli_json_domain (b, name, uuid);
                json_builder_set_member_name (b, "excluded");
                json_builder_add_boolean_value (b, TRUE);
                json_builder_set_member_name (b, "rule");
                json_builder_add_string_value (b, rule);
                json_builder_end_object (b);
                augur_cli_json_print (b, TRUE);
                return TRUE;
        }
        g_print ("%s is excluded by augur.conf's [guests] %s: augurd does not collect its statistics, "
                 "decide or act on it.  Change [guests] include/exclude (or the guest's tags, "
                 "`virt-augur policy %s --set tags=...`) to bring it in.\n", name, rule, name);
        return TRUE;
}

static int
cmd_explain (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(AugurDomainInfo) d = NULL;
        g_autoptr(GArray) rows = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *t = NULL, *used = NULL, *alloc = NULL, *target = NULL, *p50 = NULL, *upper = NULL;
        const char *domain = augur_cmd_opts_string (opts, "domain");
        const AugurDecisionRow *r;
        gboolean reports;

        st = augur_store_open (augur_cli_db_path (g), AUGUR_STORE_READ_ONLY, &error);
        if (!st)
                return augur_cli_error ("%s", error->message);
        if (explain_excluded (g, st, domain))
                return 0;
        if (!(d = augur_store_find_domain (st, domain, &error)))
                return augur_cli_error ("%s", error->message);
        rows = augur_store_decisions (st, d->id, G_MININT64, G_MAXINT64, 1, &error);
        if (!rows)
                return augur_cli_error ("%s", error->message);
        if (rows->len == 0)
                return augur_cli_error ("no decision recorded for '%s' yet (is it in observe mode?)", d->name);
        r = &g_array_index (rows, AugurDecisionRow, 0);
        if (g->json) {
                g_autoptr(JsonBuilder) b = json_builder_new ();

                row_to_json (b, r);
                augur_cli_json_print (b, TRUE);
                return 0;
        }
        t = augur_cli_format_ms (r->ts_ms);
        used = fmt_mib (r->mem_used_kib);
        alloc = fmt_mib (r->mem_alloc_kib);
        target = fmt_mib (r->mem_target_kib);
        p50 = fmt_mib (r->mem_p50_kib);
        upper = fmt_mib (r->mem_upper_kib);
        reports = guest_reports_memory (st, r);
        g_print ("At %s UTC, %s was in %s mode under the %s policy%s%s%s.\n", t, r->name, r->mode, r->policy,
                 r->model ? ", forecast by " : "", r->model ? r->model : "", r->model ? "" : " with no forecast");
        if (!reports) {
                print_no_memory_stats (r->name, r->mem_alloc_kib);
        } else {
                if (isnan (r->mem_used_kib))
                        g_print ("Memory: its use was not known at that tick (the balloon was moving); "
                                 "the allocation was %s. ", alloc);
                else
                        g_print ("Memory: the guest used %s of %s. ", used, alloc);
                if (!isnan (r->mem_upper_kib))
                        g_print ("Over the next %.0f s (the measured actuation latency plus a margin) the "
                                 "forecast was %s, at most %s. ", r->horizon_s, p50, upper);
        }
        /* Without statistics, "kept" and "no change" are what the
         * paragraph above already says. */
        if (strcmp (r->mem_action, "none") == 0 && strcmp (r->mem_veto, "none") != 0) {
                if (reports)
                        g_print ("augur kept it at %s because %s.\n", alloc, veto_words (r->mem_veto));
        } else if (strcmp (r->mem_action, "none") == 0) {
                if (reports)
                        g_print ("No change was needed.\n");
        } else if (g_str_has_prefix (r->mem_action, "recommend")) {
                g_print ("augur recommends %s because %s (not applied: %s mode).\n", target,
                         reason_words (r->mem_reason), r->mode);
        } else if (strcmp (r->mem_action, "failed") == 0) {
                g_print ("augur tried to set %s but libvirt refused.\n", target);
        } else {
                g_print ("augur set the balloon to %s because %s.\n", target, reason_words (r->mem_reason));
        }
        if (r->vcpus_online > 0)
                g_print ("vCPUs: %d online", r->vcpus_online);
        else
                g_print ("vCPUs: unknown (libvirt reported no vCPU count)");
        if (!isnan (r->cpu_upper_cores))
                g_print (", forecast demand at most %.2f cores", r->cpu_upper_cores);
        if (strcmp (r->cpu_action, "none") == 0 && strcmp (r->cpu_veto, "none") != 0)
                g_print ("; kept because %s.\n", veto_words (r->cpu_veto));
        else if (strcmp (r->cpu_action, "none") == 0)
                g_print ("; no change needed.\n");
        else
                g_print ("; %s to %d because %s.\n", r->cpu_action, r->vcpus_target, reason_words (r->cpu_reason));
        if (r->note[0])
                g_print ("Note: %s\n", r->note);
        print_io_explain (st, d->id);
        augur_cli_cpu_weight_explain (st, d->id);
        return 0;
}

static const AugurOptDef opts_forecast[] = {
        { .name = "domain", .type = AUGUR_OPT_DATA, .metavar = "DOMAIN",
          .help = "the domain: name, UUID or numeric id (required without --host)" },
        { .name = "host", .type = AUGUR_OPT_BOOL,
          .help = "the host's memory need over the next 4 h: every guest's forecast summed, with "
                  "the host's own upper bound (from the history, or --traces as one host)" },
        AUGUR_CLI_INPUT_OPT_ROWS,
        { .name = "model", .type = AUGUR_OPT_STRING, .metavar = "MODEL",
          .help = "with --host: a model with 48 horizons to serve beside the baselines "
                  "(default: the baselines alone)" },
        { .name = "coverage", .type = AUGUR_OPT_DOUBLE, .metavar = "Q", .min = 0.5, .max = 0.999,
          .help = "with --host: the host bound's coverage (default 0.95)" },
        { .name = "history-days", .type = AUGUR_OPT_INT, .metavar = "DAYS", .imin = 0, .imax = 3660,
          .help = "with --host: replay the newest DAYS of history (default 14; 0 = all)" },
        { NULL },
};

static const AugurCmdInfo info_forecast = {
        .help = "the newest forecast (memory, CPU, per-device I/O) and its model",
        .desc = "The newest forecast the resize loop stored for the domain: median and upper "
                "bound per horizon, the model that served it and when it was made.  augurd "
                "stores a guest's forecast once a minute, so it may be up to a minute old; every "
                "decision row has the forecast of its own tick.  Then, asked of the running augurd "
                "(its API, io_forecast), the I/O forecast per disk (read and write, bytes/s and "
                "IOPS) and per interface (rx and tx bytes/s): the last tick's rate, the median and "
                "calibrated upper bound over the lead, the period detected (none: no forecast) "
                "and whether it rests on samples capped at their limit.  With --host: the host's "
                "memory need over the next 4 h, the guests' forecasts summed with the host's own "
                "upper bound and how that bound did over the history (model/host-forecast.h).",
};

/* The options that only --host reads. */
static const char *const host_only_opts[] = { "traces", "format", "start", "max-series", "model", "coverage",
                                              "history-days", NULL };

/* The running augurd's io_forecast result for uuid (transfer full), or
 * NULL with *ret_why. */
static JsonNode *
io_forecast_from_daemon (const AugurCliGlobal *g, const char *uuid, char **ret_why)
{
        g_autofree char *path = augur_client_socket_path (g->socket_path);
        g_autoptr(JsonBuilder) b = json_builder_new ();
        g_autoptr(JsonGenerator) gen = json_generator_new ();
        g_autoptr(JsonNode) req = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *line = NULL;
        JsonNode *res;

        json_builder_begin_object (b);
        json_builder_set_member_name (b, "call");
        json_builder_add_string_value (b, "io_forecast");
        json_builder_set_member_name (b, "args");
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "domain");
        json_builder_add_string_value (b, uuid);
        json_builder_end_object (b);
        json_builder_end_object (b);
        req = json_builder_get_root (b);
        json_generator_set_root (gen, req);
        line = json_generator_to_data (gen, NULL);
        res = augur_client_call_result (path, line, AUGUR_CLIENT_TIMEOUT_MS, &error);
        if (!res || !JSON_NODE_HOLDS_OBJECT (res)) {
                *ret_why = g_strdup (error ? error->message : "augurd's answer is not readable");
                g_clear_pointer (&res, json_node_unref);
        }
        return res;
}

static double
member_num (JsonObject *o, const char *key)
{
        JsonNode *n = json_object_get_member (o, key);

        return n && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_double (n) : NAN;
}

/* The I/O table of `forecast`: one line per device and series. */
static void
print_io_forecast (JsonNode *io, const char *why)
{
        JsonObject *o = io ? json_node_get_object (io) : NULL;
        JsonArray *a = o && json_object_has_member (o, "series") ? json_object_get_array_member (o, "series") : NULL;

        if (!a) {
                g_print ("\nI/O: no forecast (%s)\n", why ? why : "augurd sent none");
                return;
        }
        g_print ("\nI/O over the next %.0f s, live from augurd (by: the forecast that served, the period's or the "
                 "recent max's; limits are raised on the period's alone)\n\n", member_num (o, "lead_s"));
        g_print (" %-8s %-11s %13s %13s %13s %-10s %8s %12s\n", "Device", "Series", "Now", "p50", "Upper", "By",
                 "Period", "Limit");
        g_print ("--------------------------------------------------------------------------------------------------\n");
        for (guint i = 0; i < json_array_get_length (a); i++) {
                JsonObject *r = json_array_get_object_element (a, i);
                AugurIoKind k = r ? augur_io_kind_from_name (json_object_get_string_member_with_default (r, "kind", NULL))
                                  : AUGUR_IO_KIND_N;
                g_autofree char *now = NULL, *p50 = NULL, *up = NULL, *lim = NULL, *per = NULL;
                const char *by = r ? json_object_get_string_member_with_default (r, "source", NULL) : NULL;
                double limit, period;

                if (k == AUGUR_IO_KIND_N)
                        continue;       /* a kind this virt-augur does not know */
                now = augur_io_kind_format (k, member_num (r, "rate"), TRUE);
                p50 = augur_io_kind_format (k, member_num (r, "p50"), TRUE);
                up = augur_io_kind_format (k, member_num (r, "upper"), TRUE);
                limit = member_num (r, "limit");
                lim = isnan (limit) ? g_strdup ("-") : limit > 0 ? augur_io_kind_format (k, limit, TRUE) : g_strdup ("none");
                period = member_num (r, "period_s");
                per = period > 0 ? g_strdup_printf ("%.0f s", period) : g_strdup ("none");
                g_print (" %-8s %-11s %13s %13s %13s %-10s %8s %12s%s\n",
                         json_object_get_string_member_with_default (r, "device", "?"), augur_io_kind_info[k].series,
                         now, p50, up, by ? by : "-", per, lim,
                         json_object_get_boolean_member_with_default (r, "censored", FALSE) ? "  (censored)" : "");
        }
}

static int
cmd_forecast (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(AugurDomainInfo) d = NULL;
        g_autoptr(GError) error = NULL, stored_error = NULL;
        g_autoptr(JsonParser) parser = json_parser_new ();
        g_autoptr(JsonNode) io = NULL;
        g_autofree char *model = NULL, *horizons = NULL, *t = NULL, *io_why = NULL;
        double step_s = NAN;
        gint64 ts_ms = 0;
        const char *domain = augur_cmd_opts_string (opts, "domain");
        JsonArray *arr = NULL;

        if (augur_cmd_opts_bool (opts, "host"))
                return augur_cli_forecast_host (g, opts);
        if (!domain)
                return augur_cli_usage ("forecast: a DOMAIN, or --host");
        for (const char *const *o = host_only_opts; *o; o++)
                if (augur_cmd_opts_has (opts, *o))
                        return augur_cli_usage ("forecast: --%s goes with --host", *o);
        st = augur_store_open (augur_cli_db_path (g), AUGUR_STORE_READ_ONLY, &error);
        if (!st)
                return augur_cli_error ("%s", error->message);
        if (!(d = augur_store_find_domain (st, domain, &error)))
                return augur_cli_error ("%s", error->message);
        if (augur_store_read_forecast (st, d->id, &ts_ms, &model, &step_s, &horizons, &stored_error)) {
                if (!json_parser_load_from_data (parser, horizons, -1, &error) ||
                    !JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)))
                        return augur_cli_error ("%s: stored forecast is not readable", d->name);
                arr = json_node_get_array (json_parser_get_root (parser));
        }
        io = io_forecast_from_daemon (g, d->uuid, &io_why);
        if (!arr && !io)
                return augur_cli_error ("%s: %s", d->name, stored_error->message);
        if (g->json) {
                g_autoptr(JsonBuilder) b = json_builder_new ();

                json_builder_begin_object (b);
                augur_cli_json_domain (b, d->name, d->uuid);
                json_builder_set_member_name (b, "ts");
                if (arr)
                        json_builder_add_int_value (b, ts_ms / 1000);
                else
                        json_builder_add_null_value (b);
                json_str (b, "model", model);
                augur_cli_json_num (b, "step_s", step_s);
                json_builder_set_member_name (b, "horizons");
                if (arr)
                        json_builder_add_value (b, json_node_copy (json_parser_get_root (parser)));
                else
                        json_builder_add_null_value (b);
                /* augurd's io_forecast result (plugin/daemon.c), or null */
                json_builder_set_member_name (b, "io");
                if (io)
                        json_builder_add_value (b, json_node_copy (io));
                else
                        json_builder_add_null_value (b);
                json_builder_end_object (b);
                augur_cli_json_print (b, TRUE);
                return 0;
        }
        if (!arr) {
                g_print ("Forecast for %s: %s\n", d->name, stored_error->message);
                print_io_forecast (io, io_why);
                return 0;
        }
        t = augur_cli_format_ms (ts_ms);
        g_print ("Forecast for %s at %s UTC, served by %s, step %.0f s\n\n", d->name, t,
                 model ? model : "?", step_s);
        g_print (" %8s  %14s  %14s  %12s  %12s\n", "Horizon", "Mem p50", "Mem upper", "CPU p50", "CPU upper");
        g_print ("-----------------------------------------------------------------------\n");
        for (guint i = 0; i < json_array_get_length (arr); i++) {
                JsonObject *o = json_array_get_object_element (arr, i);
                const char *keys[] = { "mem_p50_kib", "mem_upper_kib", "cpu_p50_cores", "cpu_upper_cores" };
                double v[4];

                for (int k = 0; k < 4; k++) {
                        JsonNode *n = o ? json_object_get_member (o, keys[k]) : NULL;

                        v[k] = n && !JSON_NODE_HOLDS_NULL (n) ? json_node_get_double (n) : NAN;
                }
                g_print (" %7.0fs  %10.0f MiB  %10.0f MiB  %6.2f cores  %6.2f cores\n",
                         o ? json_object_get_double_member_with_default (o, "s", 0) : 0,
                         v[0] / 1024, v[1] / 1024, v[2], v[3]);
        }
        print_io_forecast (io, io_why);
        return 0;
}

const AugurCmdDef augur_cmds_resize[] = {
        { "forecast", cmd_forecast, opts_forecast, &info_forecast },
        { "actions", cmd_actions, opts_actions, &info_actions },
        { "explain", cmd_explain, opts_explain, &info_explain },
        { NULL },
};
