/* cmd-top.c — virt-augur top: a live, refreshing view of every guest, in
 * the spirit of virt-top.
 *
 *   virt-augur top [--once | -n N] [-d|--delay SECONDS] [--json]
 *
 * Each refresh asks augurd's socket which guests it watches now (status +
 * domains, answered from memory), and reads the numbers from the store
 * (read-only, WAL): the newest sample, the newest decision (mode, forecast
 * upper bounds) and the newest actuation.  When augurd does not answer, or
 * writes another database than the one asked for, the store alone lists
 * the libvirt guests it has seen, and the header says why (as `status`
 * does).  On a terminal each refresh clears the screen; otherwise (a pipe,
 * a test) refreshes follow one another.  q or Ctrl-C ends it: on a
 * terminal stdin the line discipline is switched to single keys (no echo)
 * for the run, and restored on the way out, also on SIGINT/SIGTERM.
 *
 * Running guests that augur.conf's [guests] exclude keeps out follow, with
 * the mode "excluded" and no numbers.
 *
 * What it is not: an interactive tool (no sorting keys, no curses) and not
 * a second collector: it never calls libvirt.
 */
#include "config.h"

#include "virt-augur.h"
#include "cli-json.h"
#include "client.h"
#include "guests.h"
#include "store.h"
#include "store-decisions.h"
#include "top-render.h"
#include "util.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <signal.h>
#include <sys/select.h>
#include <termios.h>
#include <string.h>
#include <unistd.h>

typedef struct {
        char *uuid, *name, *state;
        gboolean excluded;              /* by [guests]: no numbers, no mode  */
} TopDomain;

static void
top_domain_free (gpointer p)
{
        TopDomain *t = p;

        g_free (t->uuid);
        g_free (t->name);
        g_free (t->state);
        g_free (t);
}

/* The guests augurd watches, or NULL with *ret_why. */
static GPtrArray *
domains_from_socket (const AugurCliGlobal *g, char **ret_source, char **ret_why)
{
        g_autofree char *path = augur_client_socket_path (g->socket_path);
        g_autoptr(JsonNode) status = NULL, doms = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (top_domain_free);
        const char *daemon_db;
        JsonArray *arr;

        status = augur_client_call_result (path, "{\"call\":\"status\"}", AUGUR_CLIENT_TIMEOUT_MS, &error);
        if (!status) {
                *ret_why = g_strdup (error->message);
                return NULL;
        }
        daemon_db = json_object_get_string_member_with_default (json_node_get_object (status), "db", NULL);
        if ((g->db_path || (g_getenv ("AUGUR_DB") && *g_getenv ("AUGUR_DB"))) &&
            !augur_client_same_file (daemon_db, augur_cli_db_path (g))) {
                *ret_why = g_strdup_printf ("the augurd on %s writes %s, not %s", path,
                                            daemon_db ? daemon_db : "?", augur_cli_db_path (g));
                return NULL;
        }
        doms = augur_client_call_result (path, "{\"call\":\"domains\"}", AUGUR_CLIENT_TIMEOUT_MS, &error);
        if (!doms || !JSON_NODE_HOLDS_OBJECT (doms) ||
            !json_object_has_member (json_node_get_object (doms), "domains")) {
                *ret_why = g_strdup (error ? error->message : "augurd's domain list is not readable");
                return NULL;
        }
        arr = json_object_get_array_member (json_node_get_object (doms), "domains");
        for (guint i = 0; arr && i < json_array_get_length (arr); i++) {
                JsonObject *o = json_array_get_object_element (arr, i);
                TopDomain *t;

                if (!o)
                        continue;
                t = g_new0 (TopDomain, 1);
                t->uuid = g_strdup (json_object_get_string_member_with_default (o, "uuid", NULL));
                t->name = g_strdup (json_object_get_string_member_with_default (o, "name", "?"));
                t->state = g_strdup (json_object_get_string_member_with_default (o, "state", NULL));
                g_ptr_array_add (out, t);
        }
        *ret_source = g_strdup_printf ("augurd pid %" G_GINT64_FORMAT ", mode %s",
                                       json_object_get_int_member_with_default (json_node_get_object (status), "pid", -1),
                                       json_object_get_string_member_with_default (json_node_get_object (status), "mode", "?"));
        return g_steal_pointer (&out);
}

static GPtrArray *
domains_from_store (AugurStore *st, gint64 now_ms, GError **error)
{
        g_autoptr(GPtrArray) all = augur_store_list_domains (st, error);
        g_autoptr(GPtrArray) out = NULL;

        if (!all)
                return NULL;
        out = g_ptr_array_new_with_free_func (top_domain_free);
        for (guint i = 0; i < all->len; i++) {
                const AugurDomainInfo *d = all->pdata[i];
                TopDomain *t;

                /* Imported traces are history, not guests. */
                if (g_strcmp0 (d->source, "libvirt") != 0 || d->last_ms < now_ms - AUGUR_CLI_LIVE_MS)
                        continue;
                t = g_new0 (TopDomain, 1);
                t->uuid = g_strdup (d->uuid);
                t->name = g_strdup (d->name);
                g_ptr_array_add (out, t);
        }
        return g_steal_pointer (&out);
}

/* The running guests augurd's [guests] excludes (the store's meta, as
 * augurd wrote it at its last tick; guests.h), after the watched ones. */
static void
add_excluded (AugurStore *st, GPtrArray *doms)
{
        g_autofree char *json = augur_store_get_meta (st, AUGUR_GUESTS_META_EXCLUDED);
        g_autoptr(GPtrArray) ex = augur_guests_excluded_parse (json);

        for (guint i = 0; i < ex->len; i++) {
                char **e = ex->pdata[i];
                TopDomain *t;
                gboolean dup = FALSE;

                for (guint k = 0; k < doms->len && !dup; k++)
                        dup = g_strcmp0 (((TopDomain *) doms->pdata[k])->uuid, e[0]) == 0;
                if (dup)
                        continue;
                t = g_new0 (TopDomain, 1);
                t->uuid = g_strdup (e[0]);
                t->name = g_strdup (e[1]);
                t->state = g_strdup ("running");
                t->excluded = TRUE;
                g_ptr_array_add (doms, t);
        }
}

static void
fill_row (AugurStore *st, const TopDomain *t, AugurTopRow *r)
{
        g_autoptr(AugurDomainInfo) d = NULL;
        g_autoptr(GArray) hist = NULL, dec = NULL, act = NULL;

        r->name = g_strdup (t->name);
        r->uuid = g_strdup (t->uuid);
        r->state = g_strdup (t->state);
        r->sample_ms = r->last_action_ms = -1;
        r->mem_used_kib = r->mem_alloc_kib = r->mem_upper_kib = NAN;
        r->cpu_cores = r->cpu_upper_cores = NAN;
        r->vcpus = -1;
        if (t->excluded) {
                /* Not managed: none of its old numbers is its present. */
                r->mode = g_strdup ("excluded");
                return;
        }
        if (!t->uuid || !(d = augur_store_find_domain (st, t->uuid, NULL)))
                return;
        if (d->last_ms >= 0 && (hist = augur_store_history (st, d->id, d->last_ms, d->last_ms, AUGUR_RES_RAW, NULL)) &&
            hist->len > 0) {
                const AugurHistRow *h = &g_array_index (hist, AugurHistRow, hist->len - 1);

                r->sample_ms = h->ts_s * 1000;
                r->mem_used_kib = augur_cli_used_balloon_kib (h->v[AUGUR_HIST_MEM_USED_KIB],
                                                              h->v[AUGUR_HIST_MEM_ACTUAL_KIB],
                                                              h->v[AUGUR_HIST_MEM_AVAILABLE_KIB],
                                                              h->v[AUGUR_HIST_MEM_PROV_KIB]);
                r->mem_alloc_kib = h->v[AUGUR_HIST_MEM_ACTUAL_KIB];
                r->cpu_cores = h->v[AUGUR_HIST_CPU_CORES_USED];
                r->vcpus = isnan (h->v[AUGUR_HIST_VCPUS_ONLINE]) ? -1 : (int) lround (h->v[AUGUR_HIST_VCPUS_ONLINE]);
        }
        if ((dec = augur_store_decisions (st, d->id, G_MININT64, G_MAXINT64, 1, NULL)) && dec->len > 0) {
                const AugurDecisionRow *x = &g_array_index (dec, AugurDecisionRow, 0);

                /* augurd yields the guest to another controller (its rows'
                 * veto): say so where the mode is. */
                r->mode = g_strdup (strcmp (x->mem_veto, "other-controller") == 0 ? "yielded" : x->mode);
                r->mem_upper_kib = x->mem_upper_kib;
                r->cpu_upper_cores = x->cpu_upper_cores;
        }
        if ((act = augur_store_actuations (st, d->id, G_MININT64, G_MAXINT64, 1, NULL)) && act->len > 0) {
                const AugurActuationRow *a = &g_array_index (act, AugurActuationRow, 0);

                r->last_action_ms = a->ts_ms;
                if (g_strcmp0 (a->kind, "vcpus") == 0)
                        r->last_action = g_strdup_printf ("vcpus %.0f->%.0f", a->from_value, a->to_value);
                else if (a->device)
                        r->last_action = g_strdup_printf ("%s %s %.0f->%.0f MiB/s", a->device, a->kind,
                                                          a->from_value / 1048576, a->to_value / 1048576);
                else
                        r->last_action = g_strdup_printf ("%s %.0f->%.0f MiB",
                                                          a->to_value > a->from_value ? "grow" : "shrink",
                                                          a->from_value / 1024, a->to_value / 1024);
        }
}

static void
print_json (const AugurTopRow *rows, guint n, gint64 now_ms, const char *source)
{
        g_autoptr(JsonBuilder) b = json_builder_new ();

        json_builder_begin_object (b);
        json_builder_set_member_name (b, "ts");
        json_builder_add_int_value (b, now_ms / 1000);
        json_builder_set_member_name (b, "source");
        json_builder_add_string_value (b, source);
        json_builder_set_member_name (b, "guests");
        json_builder_begin_array (b);
        for (guint i = 0; i < n; i++) {
                const AugurTopRow *r = &rows[i];

                json_builder_begin_object (b);
                json_builder_set_member_name (b, "name");
                json_builder_add_string_value (b, r->name);
                json_builder_set_member_name (b, "uuid");
                json_builder_add_string_value (b, r->uuid);
                json_builder_set_member_name (b, "state");
                json_builder_add_string_value (b, r->state);
                json_builder_set_member_name (b, "mode");
                json_builder_add_string_value (b, r->mode);
                augur_cli_json_num (b, "mem_used_kib", r->mem_used_kib);
                augur_cli_json_num (b, "mem_alloc_kib", r->mem_alloc_kib);
                augur_cli_json_num (b, "mem_upper_kib", r->mem_upper_kib);
                augur_cli_json_num (b, "cpu_cores_used", r->cpu_cores);
                augur_cli_json_num (b, "cpu_upper_cores", r->cpu_upper_cores);
                augur_cli_json_count (b, "vcpus", r->vcpus);
                augur_cli_json_count (b, "sample_ts", r->sample_ms < 0 ? -1 : r->sample_ms / 1000);
                json_builder_set_member_name (b, "last_action");
                json_builder_add_string_value (b, r->last_action);
                augur_cli_json_count (b, "last_action_ts", r->last_action_ms < 0 ? -1 : r->last_action_ms / 1000);
                json_builder_end_object (b);
        }
        json_builder_end_array (b);
        json_builder_end_object (b);
        augur_cli_json_print (b, FALSE);
}

/* One refresh; FALSE with error when the store cannot be read at all. */
static gboolean
refresh (const AugurCliGlobal *g, AugurStore *st, gboolean clear, GError **error)
{
        g_autoptr(GPtrArray) doms = NULL;
        g_autoptr(GString) screen = g_string_new (NULL);
        g_autofree char *source = NULL, *why = NULL;
        g_autofree AugurTopRow *rows = NULL;
        gint64 now_ms = augur_now_ms ();

        doms = domains_from_socket (g, &source, &why);
        if (!doms) {
                if (!(doms = domains_from_store (st, now_ms, error)))
                        return FALSE;
                source = g_strdup_printf ("database only: %s", why);
        }
        add_excluded (st, doms);
        rows = g_new0 (AugurTopRow, MAX (doms->len, 1));
        for (guint i = 0; i < doms->len; i++)
                fill_row (st, doms->pdata[i], &rows[i]);
        if (g->json) {
                print_json (rows, doms->len, now_ms, source);
        } else {
                if (clear)
                        g_string_append (screen, "\033[H\033[2J");
                augur_top_render (screen, rows, doms->len, now_ms, source);
                fputs (screen->str, stdout);
                if (!clear)
                        fputc ('\n', stdout);
                fflush (stdout);
        }
        for (guint i = 0; i < doms->len; i++)
                augur_top_row_clear (&rows[i]);
        return TRUE;
}

/* The terminal's settings before top took single keys; restored at exit
 * and by the signal handler (tcsetattr is async-signal-safe). */
static struct termios saved_tty;
static volatile sig_atomic_t tty_raw;

static void
tty_restore (void)
{
        if (tty_raw) {
                tcsetattr (STDIN_FILENO, TCSANOW, &saved_tty);
                tty_raw = 0;
        }
}

static void
tty_restore_and_die (int sig)
{
        tty_restore ();
        signal (sig, SIG_DFL);
        raise (sig);
}

/* Single keys without echo on a terminal stdin, so 'q' needs no Enter. */
static void
tty_single_keys (void)
{
        struct termios t;

        if (!isatty (STDIN_FILENO) || tcgetattr (STDIN_FILENO, &saved_tty) != 0)
                return;
        t = saved_tty;
        t.c_lflag &= ~(tcflag_t) (ICANON | ECHO);
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        signal (SIGINT, tty_restore_and_die);
        signal (SIGTERM, tty_restore_and_die);
        signal (SIGHUP, tty_restore_and_die);
        if (tcsetattr (STDIN_FILENO, TCSANOW, &t) == 0)
                tty_raw = 1;
}

/* Sleep delay_s, or less when 'q' arrives on a terminal stdin. */
static gboolean
wait_or_quit (double delay_s)
{
        struct timeval tv = { (time_t) delay_s, (suseconds_t) ((delay_s - floor (delay_s)) * 1e6) };
        fd_set fds;
        char c;

        if (!isatty (STDIN_FILENO)) {
                g_usleep ((gulong) (delay_s * G_USEC_PER_SEC));
                return TRUE;
        }
        FD_ZERO (&fds);
        FD_SET (STDIN_FILENO, &fds);
        if (select (STDIN_FILENO + 1, &fds, NULL, NULL, &tv) > 0 && read (STDIN_FILENO, &c, 1) == 1 &&
            (c == 'q' || c == 'Q'))
                return FALSE;
        return TRUE;
}

static const AugurOptDef opts_top[] = {
        { .name = "once", .type = AUGUR_OPT_BOOL,
          .help = "one refresh, then exit (as -n 1)" },
        { .name = "iterations", .type = AUGUR_OPT_INT, .alias = 'n', .metavar = "N", .imin = 1, .imax = G_MAXINT,
          .help = "N refreshes, then exit (default: until q or Ctrl-C)" },
        { .name = "delay", .type = AUGUR_OPT_DURATION, .alias = 'd', .metavar = "DURATION", .min = 0.1,
          .help = "between refreshes (default 2s; at least 0.1 s)" },
        { NULL },
};

static const AugurCmdInfo info_top = {
        .help = "live view of every guest: use, forecast, allocation, last action",
        .desc = "A live view of every guest, refreshed every --delay until q or Ctrl-C, or for N "
                "refreshes: state, mode, used memory, allocation, forecast upper bound (MiB), CPU "
                "used, vCPUs, forecast CPU upper bound, age of the newest sample and the last "
                "action.  The guest list comes from augurd's socket, the numbers from the "
                "database; without augurd it lists the guests sampled in the last 10 minutes and "
                "the header says why.  --json prints one object per refresh.",
};

static int
cmd_top (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        g_autoptr(AugurStore) st = NULL;
        g_autoptr(GError) error = NULL;
        guint64 iterations = 0;       /* 0 = until q / Ctrl-C */
        double delay_s = 2.0;
        gboolean clear;

        /* --once and -n: the later one on the line wins. */
        augur_cmd_opts_int (opts, "iterations", &iterations);
        if (augur_cmd_opts_index (opts, "once") > augur_cmd_opts_index (opts, "iterations"))
                iterations = 1;
        augur_cmd_opts_duration (opts, "delay", &delay_s);
        st = augur_store_open (augur_cli_db_path (g), AUGUR_STORE_READ_ONLY, &error);
        if (!st)
                return augur_cli_error ("%s", error->message);
        clear = !g->json && isatty (STDOUT_FILENO);
        if (iterations != 1)
                tty_single_keys ();
        for (guint64 k = 0; iterations == 0 || k < iterations; k++) {
                if (k > 0 && !wait_or_quit (delay_s))
                        break;
                if (!refresh (g, st, clear, &error)) {
                        tty_restore ();
                        return augur_cli_error ("%s", error->message);
                }
        }
        tty_restore ();
        return 0;
}

const AugurCmdDef augur_cmds_top[] = {
        { "top", cmd_top, opts_top, &info_top },
        { NULL },
};
