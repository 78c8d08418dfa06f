/* augur-config.c — see augur-config.h. */
#include "config.h"

#include "augur-config.h"
#include "guests.h"
#include "metrics.h"
#include "regfile.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK (augur-config-error-quark, augur_config_error)

/* Largest config file read, bytes.  The shipped one, every key commented
 * with its reason, is 8 KiB. */
#define MAX_CONFIG_BYTES (1024 * 1024)

static const char *const mode_names[] = {
        [AUGUR_MODE_AUTO] = "auto",
        [AUGUR_MODE_OBSERVE] = "observe",
        [AUGUR_MODE_RECOMMEND] = "recommend",
        [AUGUR_MODE_ACT] = "act",
};
static const char *const policy_names[] = {
        [AUGUR_POLICY_AUGUR] = "augur",
        [AUGUR_POLICY_REACTIVE] = "reactive",
};

gboolean
augur_mode_from_string (const char *s, AugurMode *ret)
{
        for (gsize i = 0; i < G_N_ELEMENTS (mode_names); i++)
                if (g_strcmp0 (s, mode_names[i]) == 0) {
                        *ret = i;
                        return TRUE;
                }
        return FALSE;
}

const char *
augur_mode_to_string (AugurMode m)
{
        return m < G_N_ELEMENTS (mode_names) ? mode_names[m] : "?";
}

gboolean
augur_policy_from_string (const char *s, AugurPolicyKind *ret)
{
        for (gsize i = 0; i < G_N_ELEMENTS (policy_names); i++)
                if (g_strcmp0 (s, policy_names[i]) == 0) {
                        *ret = i;
                        return TRUE;
                }
        return FALSE;
}

const char *
augur_policy_to_string (AugurPolicyKind p)
{
        return p < G_N_ELEMENTS (policy_names) ? policy_names[p] : "?";
}

AugurConfig *
augur_config_new_default (void)
{
        AugurConfig *c = g_new0 (AugurConfig, 1);

        c->uri = g_strdup (AUGUR_DEFAULT_URI);
        c->db_path = g_strdup (AUGUR_DEFAULT_DB);
        c->socket_path = g_strdup (AUGUR_DEFAULT_SOCKET);
        c->proc_root = g_strdup ("/proc");
        c->tick_s = 5.0;
        c->balloon_period_s = 1;
        c->keepalive_interval_s = 5;
        c->keepalive_count = 3;
        c->raw_keep_s = 48 * 3600;
        c->rollup_keep_s = 90 * 86400;
        c->mode = AUGUR_MODE_AUTO;
        c->policy = AUGUR_POLICY_AUGUR;
        c->headroom_kib = 32 * 1024;
        c->reserve_kib = 64 * 1024;
        c->shrink_step_kib = 64 * 1024;
        c->shrink_sustain_s = 60;
        c->shrink_cooldown_s = 30;
        c->lead_margin_s = 5;
        c->target_util = 0.7;
        /* What `virt-augur replay` runs by default and what the Bitbrains
         * figure of BENCHMARKS-replay.md was measured with; coverage mode
         * (0) missed that goal there. */
        c->price_per_gib = 2.0;
        /* What the scenario results of BENCHMARKS-replay.md were measured
         * with (section 2, "Precursor bound" and "Schedule context"). */
        c->precursor_bound = TRUE;
        /* Off: on Bitbrains at matched slack it did not earn its place
         * (BENCHMARKS-replay.md, "Conditional width"). */
        c->width_halflife_s = 0;
        c->host_budget_kib = 0;
        c->io_budget_mib_s = 0;
        c->cpu_weight_budget = 0;
        c->host_reserve_kib = 1024 * 1024;
        /* Proxmox balloons only past 80 % host RAM used, MoM's default
         * pressure threshold is 20 % free: a guest keeps its generous
         * cushion while 30 % of the host is forecast free, and is
         * squeezed to its burst envelope as that falls to 10 %. */
        c->cushion_free_low = 0.10;
        c->cushion_free_high = 0.30;
        /* The host's 4-hour view (host-plan.h), hourly over the newest 3
         * days: 864 residuals per horizon calibrate a 95 % bound, and 50
         * guests replay in seconds at nice 10 (BENCHMARKS-model.md). */
        c->host_plan_interval_s = 3600;
        c->host_plan_history_s = 3 * 86400;
        /* Retrain once a day on at least two days of a VM's history (a
         * daily pattern seen twice), within ten minutes of training at
         * nice 10: the default config's full run takes ~1 min on 2 cores. */
        c->retrain_interval_s = 86400;
        c->retrain_min_history_s = 2 * 86400;
        c->retrain_budget_s = 600;
        c->retrain_min_gain = 0.01;
        return c;
}

void
augur_config_free (AugurConfig *c)
{
        if (!c)
                return;
        g_free (c->uri);
        g_free (c->db_path);
        g_free (c->socket_path);
        g_free (c->model_path);
        g_free (c->proc_root);
        g_free (c->api_group);
        g_free (c->metrics_bind);
        g_free (c->guests_include);
        g_free (c->guests_exclude);
        g_free (c);
}

AugurConfig *
augur_config_copy (const AugurConfig *c)
{
        AugurConfig *n = g_memdup2 (c, sizeof *c);

        n->uri = g_strdup (c->uri);
        n->db_path = g_strdup (c->db_path);
        n->socket_path = g_strdup (c->socket_path);
        n->model_path = g_strdup (c->model_path);
        n->proc_root = g_strdup (c->proc_root);
        n->api_group = g_strdup (c->api_group);
        n->metrics_bind = g_strdup (c->metrics_bind);
        n->guests_include = g_strdup (c->guests_include);
        n->guests_exclude = g_strdup (c->guests_exclude);
        return n;
}

static gboolean
range_error (GError **error, const char *origin, const char *key,
             const char *value, const char *allowed)
{
        g_set_error (error, AUGUR_CONFIG_ERROR, AUGUR_CONFIG_ERROR_RANGE,
                     "%s: %s = %s is out of range (allowed: %s)",
                     origin, key, value, allowed);
        return FALSE;
}

/* The rules across keys, run by augur_config_validate() at their key's
 * row.  Each keeps the message it had before the table. */
static gboolean
check_rollup (const AugurConfig *c, const char *origin, GError **error)
{
        g_autofree char *v = NULL;

        if (c->rollup_keep_s < c->raw_keep_s || c->rollup_keep_s > 10 * 366 * 86400LL)
                return range_error (error, origin, "store.rollup_retention",
                                    (v = g_strdup_printf ("%" G_GINT64_FORMAT "s", c->rollup_keep_s)),
                                    "at least store.raw_retention, at most 10 years");
        return TRUE;
}

/* One message for both keys, as it always was. */
static gboolean
check_host_memory (const AugurConfig *c, const char *origin, GError **error)
{
        if (!(c->host_budget_kib >= 0 && c->host_reserve_kib >= 0))
                return range_error (error, origin, "host.mem_budget_mib", "negative", "0 (auto) or more");
        return TRUE;
}

static gboolean
check_cushion (const AugurConfig *c, const char *origin, GError **error)
{
        g_autofree char *v = NULL;

        if (!(c->cushion_free_low >= 0 && c->cushion_free_low < c->cushion_free_high &&
              c->cushion_free_high <= 1))
                return range_error (error, origin, "host.cushion_free_low_pct",
                                    (v = g_strdup_printf ("%.0f and %.0f", c->cushion_free_low * 100,
                                                          c->cushion_free_high * 100)),
                                    "0 <= low < high <= 100");
        return TRUE;
}

/* The socket needs owner read-write (augurd), execute bits mean nothing on
 * a socket, and wider than 0666 is a typo. */
static gboolean
check_api_mode (const AugurConfig *c, const char *origin, GError **error)
{
        g_autofree char *v = NULL;

        if (c->api_mode != 0 && ((c->api_mode & ~0666) || (c->api_mode & 0600) != 0600))
                return range_error (error, origin, "api.mode",
                                    (v = g_strdup_printf ("%04o", (unsigned) c->api_mode)),
                                    "0600 to 0666 (octal), with owner read-write");
        return TRUE;
}

static gboolean
check_metrics_bind (const AugurConfig *c, const char *origin, GError **error)
{
        g_autoptr(GError) local = NULL;
        g_auto(GStrv) addrs = NULL;

        if (!c->metrics_bind)
                return TRUE;
        if (!augur_metrics_parse_bind (c->metrics_bind, &addrs, &local))
                return range_error (error, origin, "metrics.bind", c->metrics_bind, local->message);
        return TRUE;
}

/* THE KEY TABLE
 *
 * Every key of augur.conf is one row of conf_keys[]: its section and name,
 * how its text is parsed (ConfType, decimal only), the AugurConfig field
 * it lands in (by offset, converted from the file's unit to the field's),
 * its range, and what it means.  Everything that knows the keys reads
 * this table:
 *   - augur_config_load_full() reads the rows in order;
 *   - the unknown-key warning lists the rows of a section, in order, and
 *     names the row (or the section) nearest to a misspelt name;
 *   - augur_config_validate() checks each row's range, then its rule
 *     across keys (check), in table order;
 *   - tests/test-config.c walks the rows (augur_config_key_at): every key
 *     has a test and a commented line in data/augur.conf.in.
 * So a key is added by adding a row (and its line in augur.conf.in).
 *
 * Ranges are in the field's unit (KiB, a fraction, seconds) and compared
 * as they were before the table; an error shows the value in the file's
 * unit (MiB, percent) the way `show` says.  A row with no `allowed` has no
 * range of its own.  A CONF_STRING row with `allowed` must not be empty.
 * A CONF_DURATION_INT row is range-checked before the cast to int: 36500d
 * does not fit an int, and (int) of it is undefined (it came out as
 * -2147483648).  CONF_DURATION_I64 needs no such check: a
 * duration is at most 100 years (augur_parse_duration_s). */
typedef enum {
        CONF_STRING,          /* char *, replaced                               */
        CONF_DURATION,        /* double, s: 90s, 15m, 1h, 2d, 1w or bare seconds */
        CONF_DURATION_INT,    /* int, s: a duration, range-checked before the cast */
        CONF_DURATION_I64,    /* gint64, s: a duration                          */
        CONF_INT,             /* int: decimal                                   */
        CONF_NUMBER,          /* double: decimal (augur_parse_decimal)          */
        CONF_BOOL,            /* gboolean: true/false, yes/no, on/off, 1/0      */
        CONF_OCTAL,           /* int: a file mode such as 0660                  */
        CONF_ENUM,            /* an enum: the index of the value in names[]     */
} ConfType;

typedef enum {
        UNIT_SAME,            /* the file's unit is the field's                 */
        UNIT_MIB,             /* MiB in the file, KiB in the field (x 1024)     */
        UNIT_PCT,             /* percent in the file, a fraction (/ 100)        */
} ConfUnit;

typedef enum {
        SHOW_NONE,
        SHOW_G,               /* "%g" of the value in the file's unit           */
        SHOW_G_S,             /* "%gs"                                          */
        SHOW_ROUND,           /* "%.0f"                                         */
        SHOW_INT,             /* "%d" of an int field                           */
        SHOW_I64_S,           /* "%" G_GINT64_FORMAT "s" of a gint64 field      */
} ConfShow;

typedef struct {
        const char *group;
        const char *key;
        ConfType type;
        gsize offset;                     /* of the field in AugurConfig       */
        ConfUnit unit;
        const char *const *names;         /* CONF_ENUM: by enum value          */
        gsize n_names;
        double min, max;                  /* the field's range, its unit       */
        gboolean zero_ok;                 /* 0 (off) is allowed below min      */
        ConfShow show;                    /* how a bad value is shown          */
        const char *allowed;              /* the range in words; NULL = none   */
        gboolean (*check) (const AugurConfig *c, const char *origin, GError **error);
        /* CONF_STRING: the text's own syntax, checked as it is read, so
         * that the error names the file's line; NULL = none */
        gboolean (*check_text) (const char *text, GError **error);
        const char *help;                 /* the unit and the meaning          */
} ConfKey;

G_STATIC_ASSERT (sizeof (AugurMode) == sizeof (int) && sizeof (AugurPolicyKind) == sizeof (int));

#define FIELD(f) G_STRUCT_OFFSET (AugurConfig, f)
#define GIB_KIB (1024.0 * 1024 * 1024)    /* 1 TiB in KiB: the MiB keys' limit */
#define DAY_S 86400.0

static const ConfKey conf_keys[] = {
        { "daemon", "uri", CONF_STRING, FIELD (uri), .allowed = "a libvirt URI",
          .help = "the libvirt URI augurd watches" },
        { "daemon", "tick_seconds", CONF_DURATION, FIELD (tick_s), .min = 0.5, .max = 3600,
          .show = SHOW_G, .allowed = "0.5 to 3600 seconds",
          .help = "the tick period: one snapshot, forecast and decision per tick" },
        { "daemon", "mode", CONF_ENUM, FIELD (mode), .names = mode_names, .n_names = G_N_ELEMENTS (mode_names),
          .help = "what augurd does with a decision: auto, observe, recommend or act" },
        { "daemon", "policy", CONF_ENUM, FIELD (policy), .names = policy_names,
          .n_names = G_N_ELEMENTS (policy_names), .help = "the resize policy: augur or reactive" },
        { "daemon", "socket", CONF_STRING, FIELD (socket_path),
          .help = "the local API socket; empty: no API" },
        { "daemon", "model", CONF_STRING, FIELD (model_path),
          .help = "the model file; empty: the built-in default" },
        { "daemon", "balloon_period_seconds", CONF_DURATION_INT, FIELD (balloon_period_s), .min = 1,
          .max = 3600, .show = SHOW_INT, .allowed = "1 to 3600 seconds",
          .help = "the guest balloon driver's stats period set on every guest" },
        { "daemon", "keepalive_interval_seconds", CONF_INT, FIELD (keepalive_interval_s), .min = 1,
          .max = 600, .show = SHOW_INT, .allowed = "1 to 600 seconds",
          .help = "libvirt keepalive interval" },
        { "daemon", "keepalive_count", CONF_INT, FIELD (keepalive_count), .min = 1, .max = 100,
          .show = SHOW_INT, .allowed = "1 to 100",
          .help = "missed keepalives before the connection is dropped" },
        { "store", "db", CONF_STRING, FIELD (db_path), .allowed = "a file path",
          .help = "the SQLite history" },
        { "store", "raw_retention", CONF_DURATION_I64, FIELD (raw_keep_s), .min = 600, .max = 366 * DAY_S,
          .show = SHOW_I64_S, .allowed = "10m to 366d", .help = "how long raw samples are kept" },
        { "store", "rollup_retention", CONF_DURATION_I64, FIELD (rollup_keep_s), .check = check_rollup,
          .help = "how long the 1-minute and 5-minute rollups are kept (at least raw_retention)" },
        { "policy", "headroom_mib", CONF_NUMBER, FIELD (headroom_kib), UNIT_MIB, .min = 0, .max = GIB_KIB,
          .show = SHOW_ROUND, .allowed = "0 to 1048576 MiB",
          .help = "MiB added to the forecast's upper bound" },
        { "policy", "reserve_mib", CONF_NUMBER, FIELD (reserve_kib), UNIT_MIB, .min = 0, .max = GIB_KIB,
          .show = SHOW_ROUND, .allowed = "0 to 1048576 MiB",
          .help = "MiB the allocation keeps above the observed used memory" },
        { "policy", "shrink_step_mib", CONF_NUMBER, FIELD (shrink_step_kib), UNIT_MIB, .min = 1024,
          .max = GIB_KIB, .show = SHOW_ROUND, .allowed = "1 to 1048576 MiB",
          .help = "the largest shrink per decision, MiB" },
        { "policy", "shrink_sustain", CONF_DURATION, FIELD (shrink_sustain_s), .min = 0, .max = DAY_S,
          .show = SHOW_G_S, .allowed = "0 to 1d",
          .help = "how long the evidence for a shrink must hold" },
        { "policy", "shrink_cooldown", CONF_DURATION, FIELD (shrink_cooldown_s), .min = 0, .max = DAY_S,
          .show = SHOW_G_S, .allowed = "0 to 1d", .help = "no shrink this soon after a change" },
        { "policy", "lead_margin", CONF_DURATION, FIELD (lead_margin_s), .min = 0, .max = 3600,
          .show = SHOW_G_S, .allowed = "0 to 1h",
          .help = "added to the measured actuation latency to make the lead time" },
        { "policy", "target_util_pct", CONF_NUMBER, FIELD (target_util), UNIT_PCT, .min = 0.1, .max = 1,
          .show = SHOW_ROUND, .allowed = "10 to 100", .help = "vCPU target utilisation, percent" },
        { "forecast", "memory_price_per_gib", CONF_NUMBER, FIELD (price_per_gib), .min = 1e-4, .max = 1e4,
          .zero_ok = TRUE, .show = SHOW_G,
          .allowed = "0 (coverage mode) or 0.0001 to 10000 shortfall steps per GiB-step",
          .help = "shortfall steps one GiB-step of buffer is worth (cost-aware bounds); 0: coverage mode" },
        { "forecast", "precursor_bound", CONF_BOOL, FIELD (precursor_bound),
          .help = "the memory bound after typing, logins, staging and schedules" },
        { "forecast", "width_halflife", CONF_DURATION, FIELD (width_halflife_s), .min = 60, .max = DAY_S,
          .zero_ok = TRUE, .show = SHOW_G_S, .allowed = "0 (off) or 1m to 1d",
          .help = "half-life of the local scale the bounds' margins follow; 0: one margin per guest" },
        { "host", "mem_budget_mib", CONF_NUMBER, FIELD (host_budget_kib), UNIT_MIB, .check = check_host_memory,
          .help = "the sum of all guests' memory targets, MiB; 0: MemTotal minus reserve_mib" },
        { "host", "io_budget_mib_s", CONF_NUMBER, FIELD (io_budget_mib_s), .min = 0, .max = 1048576,
          .show = SHOW_G, .allowed = "0 (no host bound) to 1048576",
          .help = "the sum of all disk limits' raises above the admins' values, MiB/s; 0: no host bound" },
        { "host", "cpu_weight_budget", CONF_NUMBER, FIELD (cpu_weight_budget), .min = 0, .max = 262144 * 1024.0,
          .show = SHOW_G, .allowed = "0 (no host bound) to 268435456",
          .help = "the sum of all CPU weight raises above the admins' cpu_shares; 0: no host bound" },
        { "host", "reserve_mib", CONF_NUMBER, FIELD (host_reserve_kib), UNIT_MIB,
          .help = "MiB kept for the host when mem_budget_mib is 0" },
        { "host", "cushion_free_low_pct", CONF_NUMBER, FIELD (cushion_free_low), UNIT_PCT, .check = check_cushion,
          .help = "forecast free host memory, percent, at which the guard's cushion is tightest" },
        { "host", "cushion_free_high_pct", CONF_NUMBER, FIELD (cushion_free_high), UNIT_PCT,
          .help = "forecast free host memory, percent, at and above which the cushion is generous" },
        { "host", "plan_interval", CONF_DURATION, FIELD (host_plan_interval_s), .min = 300, .max = DAY_S,
          .zero_ok = TRUE, .show = SHOW_G_S, .allowed = "0 (off) or 5m to 1d",
          .help = "how often the host's 4-hour memory view is refreshed for the cushion; 0: off" },
        { "host", "plan_history", CONF_DURATION, FIELD (host_plan_history_s), .min = 3600, .max = 366 * DAY_S,
          .show = SHOW_G_S, .allowed = "1h to 366d", .help = "the history the host's 4-hour view replays" },
        { "api", "group", CONF_STRING, FIELD (api_group),
          .help = "the group that may use the socket; empty: root only" },
        { "api", "mode", CONF_OCTAL, FIELD (api_mode), .check = check_api_mode,
          .help = "the socket file's mode, octal" },
        { "metrics", "port", CONF_INT, FIELD (metrics_port), .min = 0, .max = 65535, .show = SHOW_INT,
          .allowed = "0 (off) or 1 to 65535", .help = "Prometheus endpoint's port; 0: off" },
        { "metrics", "bind", CONF_STRING, FIELD (metrics_bind), .check = check_metrics_bind,
          .help = "addresses the endpoint listens on, comma-separated (default 127.0.0.1)" },
        { "metrics", "names", CONF_BOOL, FIELD (metrics_names),
          .help = "guest names in the domain label instead of UUIDs" },
        { "retrain", "interval", CONF_DURATION, FIELD (retrain_interval_s), .min = 1, .max = 366 * DAY_S,
          .zero_ok = TRUE, .show = SHOW_G_S, .allowed = "0 (off) or 1s to 366d",
          .help = "time between retraining runs; 0: off" },
        { "retrain", "min_history", CONF_DURATION, FIELD (retrain_min_history_s), .min = 3600,
          .max = 366 * DAY_S, .show = SHOW_G_S, .allowed = "1h to 366d",
          .help = "the history a VM needs to take part" },
        { "retrain", "time_budget", CONF_DURATION, FIELD (retrain_budget_s), .min = 1, .max = DAY_S,
          .show = SHOW_G_S, .allowed = "1s to 1d", .help = "training time per run" },
        { "retrain", "min_gain_pct", CONF_NUMBER, FIELD (retrain_min_gain), UNIT_PCT, .min = 0, .max = 0.5,
          .show = SHOW_G, .allowed = "0 to 50",
          .help = "relative MAE gain, percent, a candidate needs to be promoted" },
        { "guests", "include", CONF_STRING, FIELD (guests_include), .check_text = augur_guest_patterns_check,
          .help = "guests watched: name globs, tag:NAME, uuid:UUID (space- or comma-separated); empty: all" },
        { "guests", "exclude", CONF_STRING, FIELD (guests_exclude), .check_text = augur_guest_patterns_check,
          .help = "guests never collected, decided or acted on, as include's patterns; exclude wins" },
};

gsize
augur_config_n_keys (void)
{
        return G_N_ELEMENTS (conf_keys);
}

void
augur_config_key_at (gsize i, const char **ret_group, const char **ret_key, const char **ret_help)
{
        g_return_if_fail (i < G_N_ELEMENTS (conf_keys));
        *ret_group = conf_keys[i].group;
        *ret_key = conf_keys[i].key;
        *ret_help = conf_keys[i].help;
}

/* The file's unit from the field's, and back (the arithmetic the loader
 * always did: MiB x 1024, percent / 100). */
static double
to_field (ConfUnit u, double v)
{
        return u == UNIT_MIB ? v * 1024 : u == UNIT_PCT ? v / 100 : v;
}

static double
from_field (ConfUnit u, double f)
{
        return u == UNIT_MIB ? f / 1024 : u == UNIT_PCT ? f * 100 : f;
}

/* A numeric field as a double, in the field's unit. */
static double
field_value (const AugurConfig *c, const ConfKey *k)
{
        gconstpointer p = G_STRUCT_MEMBER_P (c, k->offset);

        switch (k->type) {
        case CONF_DURATION:
        case CONF_NUMBER:
                return *(const double *) p;
        case CONF_DURATION_INT:
        case CONF_INT:
        case CONF_OCTAL:
                return *(const int *) p;
        case CONF_DURATION_I64:
                return (double) *(const gint64 *) p;
        case CONF_STRING:
        case CONF_BOOL:
        case CONF_ENUM:
                break;
        }
        g_assert_not_reached ();
}

/* (transfer full) a field's value as range errors show it. */
static char *
show_value (const AugurConfig *c, const ConfKey *k)
{
        gconstpointer p = G_STRUCT_MEMBER_P (c, k->offset);
        double v = from_field (k->unit, field_value (c, k));

        switch (k->show) {
        case SHOW_G:
                return g_strdup_printf ("%g", v);
        case SHOW_G_S:
                return g_strdup_printf ("%gs", v);
        case SHOW_ROUND:
                return g_strdup_printf ("%.0f", v);
        case SHOW_INT:
                return g_strdup_printf ("%d", *(const int *) p);
        case SHOW_I64_S:
                return g_strdup_printf ("%" G_GINT64_FORMAT "s", *(const gint64 *) p);
        case SHOW_NONE:
                break;
        }
        g_assert_not_reached ();
}

/* A name at most this many edits (Levenshtein: insert, delete, replace)
 * from a known one is named as what was meant: "prot" is 2 from "port"
 * (a swap), "polcy" 1 from "policy"; 3 would suggest "db" for "tick". */
#define NEAREST_MAX_EDITS 2

/* Levenshtein distance between a and b, two rows of the table: O(|a|·|b|)
 * on names of a few dozen characters. */
static gsize
edit_distance (const char *a, const char *b)
{
        gsize la = strlen (a), lb = strlen (b);
        g_autofree gsize *prev = g_new (gsize, lb + 1);
        g_autofree gsize *cur = g_new (gsize, lb + 1);

        for (gsize j = 0; j <= lb; j++)
                prev[j] = j;
        for (gsize i = 1; i <= la; i++) {
                cur[0] = i;
                for (gsize j = 1; j <= lb; j++) {
                        gsize sub = prev[j - 1] + (a[i - 1] != b[j - 1]);

                        cur[j] = MIN (sub, MIN (prev[j], cur[j - 1]) + 1);
                }
                memcpy (prev, cur, (lb + 1) * sizeof *prev);
        }
        return prev[lb];
}

/* The candidate (NULL-terminated) nearest to name within
 * NEAREST_MAX_EDITS, the first in table order on a tie, or NULL. */
static const char *
nearest (const char *name, const char *const *candidates)
{
        const char *best = NULL;
        gsize best_d = NEAREST_MAX_EDITS + 1;

        for (gsize i = 0; candidates[i]; i++) {
                gsize d = edit_distance (name, candidates[i]);

                if (d < best_d) {
                        best = candidates[i];
                        best_d = d;
                }
        }
        return best;
}

/* The 1-based line of "[group]" (key NULL) or of key's first line in a
 * [group] section of text, as GKeyFile reads it (a group may come back
 * later in the file); 0 when not found (defensive: GKeyFile found it). */
static guint
line_of (const char *text, gsize len, const char *group, const char *key)
{
        g_autofree char *copy = g_strndup (text, len);
        g_auto(GStrv) lines = g_strsplit (copy, "\n", -1);
        gboolean in_group = FALSE;

        for (guint i = 0; lines[i]; i++) {
                g_autofree char *l = g_strstrip (g_strdup (lines[i]));
                const char *eq;

                if (l[0] == '[') {
                        in_group = g_str_has_suffix (l, "]") && strlen (l) == strlen (group) + 2 &&
                                   strncmp (l + 1, group, strlen (group)) == 0;
                        if (in_group && !key)
                                return i + 1;
                        continue;
                }
                if (!in_group || !key || l[0] == '#' || !(eq = strchr (l, '=')))
                        continue;
                *(char *) eq = '\0';
                if (strcmp (g_strstrip (l), key) == 0)
                        return i + 1;
        }
        return 0;
}

/* One warning per key of kf that augurd does not read, naming the file
 * and the line, the section and the key, and what was meant: the known
 * name nearest to it (NEAREST_MAX_EDITS), or for a key of another section
 * that section, and the keys the section has.  Anything not in
 * conf_keys[] is a typo or a key of another version (a silently ignored
 * "tick=1" is a setting the operator believes in). */
static void
check_known_keys (GKeyFile *kf, const char *text, gsize len, const char *path, GPtrArray *warnings)
{
        g_auto(GStrv) groups = g_key_file_get_groups (kf, NULL);
        g_autoptr(GPtrArray) sections = g_ptr_array_new ();

        for (gsize k = 0; k < G_N_ELEMENTS (conf_keys); k++)
                if (k == 0 || strcmp (conf_keys[k].group, conf_keys[k - 1].group) != 0)
                        g_ptr_array_add (sections, (gpointer) conf_keys[k].group);
        g_ptr_array_add (sections, NULL);

        for (gsize g = 0; groups[g]; g++) {
                g_auto(GStrv) keys = g_key_file_get_keys (kf, groups[g], NULL, NULL);
                g_autoptr(GPtrArray) known = g_ptr_array_new ();
                const char *section = NULL;

                for (gsize k = 0; k < G_N_ELEMENTS (conf_keys); k++)
                        if (strcmp (conf_keys[k].group, groups[g]) == 0)
                                g_ptr_array_add (known, (gpointer) conf_keys[k].key);
                g_ptr_array_add (known, NULL);
                if (known->len == 1)
                        section = nearest (groups[g], (const char *const *) sections->pdata);
                for (gsize i = 0; keys && keys[i]; i++) {
                        guint line = line_of (text, len, groups[g], keys[i]);
                        g_autofree char *list = NULL, *hint = NULL;
                        const char *near, *other = NULL;

                        if (known->len == 1) {
                                hint = section ? g_strdup_printf (" (did you mean [%s]?)", section) : g_strdup ("");
                                g_ptr_array_add (warnings, g_strdup_printf (
                                        "%s:%u: [%s] %s: unknown section, ignoring%s",
                                        path, line, groups[g], keys[i], hint));
                                continue;
                        }
                        if (g_strv_contains ((const char *const *) known->pdata, keys[i]))
                                continue;
                        for (gsize k = 0; k < G_N_ELEMENTS (conf_keys) && !other; k++)
                                if (strcmp (conf_keys[k].key, keys[i]) == 0)
                                        other = conf_keys[k].group;
                        near = nearest (keys[i], (const char *const *) known->pdata);
                        if (other)
                                hint = g_strdup_printf ("it is a key of [%s]; ", other);
                        else if (near)
                                hint = g_strdup_printf ("did you mean %s? ", near);
                        list = g_strjoinv (", ", (char **) known->pdata);
                        g_ptr_array_add (warnings, g_strdup_printf (
                                "%s:%u: [%s] %s: unknown key, ignoring (%sthe section has: %s)",
                                path, line, groups[g], keys[i], hint ? hint : "", list));
                }
        }
}

gboolean
augur_config_validate (const AugurConfig *c, const char *origin, GError **error)
{
        for (gsize i = 0; i < G_N_ELEMENTS (conf_keys); i++) {
                const ConfKey *k = &conf_keys[i];
                g_autofree char *name = g_strdup_printf ("%s.%s", k->group, k->key);

                if (k->type == CONF_STRING && k->allowed) {
                        const char *v = G_STRUCT_MEMBER (const char *, c, k->offset);

                        if (!v || !*v)
                                return range_error (error, origin, name, "\"\"", k->allowed);
                } else if (k->allowed) {
                        double v = field_value (c, k);

                        if (!((v >= k->min && v <= k->max) || (k->zero_ok && v == 0))) {
                                g_autofree char *shown = show_value (c, k);

                                return range_error (error, origin, name, shown, k->allowed);
                        }
                }
                if (k->check && !k->check (c, origin, error))
                        return FALSE;
        }
        return TRUE;
}

/* The key's text, or NULL when the file does not set it; FALSE only on a
 * real parse error. */
static gboolean
get_string (GKeyFile *kf, const char *group, const char *key, char **ret,
            const char *path, GError **error)
{
        g_autoptr(GError) local = NULL;
        g_autofree char *v = g_key_file_get_string (kf, group, key, &local);

        if (!v) {
                if (g_error_matches (local, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND) ||
                    g_error_matches (local, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND))
                        return TRUE;
                g_set_error (error, AUGUR_CONFIG_ERROR, AUGUR_CONFIG_ERROR_PARSE,
                             "%s: %s.%s: %s", path, group, key, local->message);
                return FALSE;
        }
        *ret = g_steal_pointer (&v);
        return TRUE;
}

static gboolean
parse_error (GError **error, const char *path, const ConfKey *k, const char *v, const char *what)
{
        g_set_error (error, AUGUR_CONFIG_ERROR, AUGUR_CONFIG_ERROR_PARSE,
                     "%s: %s.%s = %s is not %s", path, k->group, k->key, v, what);
        return FALSE;
}

/* An integer in base (10, or 8 for a file mode), as an int. */
static gboolean
parse_int (const char *v, unsigned base, gint64 lo, gint64 hi, int *ret)
{
        char *end = NULL;
        gint64 x;

        errno = 0;
        x = g_ascii_strtoll (v, &end, base);
        if (errno || end == v || *end || x < lo || x > hi)
                return FALSE;
        *ret = (int) x;
        return TRUE;
}

/* true/false (also yes/no, on/off, 1/0), as systemd unit files take them */
static gboolean
parse_bool (const char *v, gboolean *ret)
{
        static const char *const yes[] = { "true", "yes", "on", "1" }, *const no[] = { "false", "no", "off", "0" };

        for (gsize i = 0; i < G_N_ELEMENTS (yes); i++) {
                if (g_ascii_strcasecmp (v, yes[i]) == 0 || g_ascii_strcasecmp (v, no[i]) == 0) {
                        *ret = g_ascii_strcasecmp (v, yes[i]) == 0;
                        return TRUE;
                }
        }
        return FALSE;
}

/* Read row k from kf (loaded from text[0..len)) into c, when the file
 * sets it. */
static gboolean
read_key (GKeyFile *kf, const char *text, gsize len, const ConfKey *k, AugurConfig *c, const char *path,
          GError **error)
{
        gpointer field = G_STRUCT_MEMBER_P (c, k->offset);
        g_autofree char *v = NULL;
        g_autoptr(GError) local = NULL;
        double d;

        if (!get_string (kf, k->group, k->key, &v, path, error))
                return FALSE;
        if (!v)
                return TRUE;
        switch (k->type) {
        case CONF_STRING:
                if (k->check_text && !k->check_text (v, &local)) {
                        g_set_error (error, AUGUR_CONFIG_ERROR, AUGUR_CONFIG_ERROR_PARSE, "%s:%u: %s.%s = %s: %s",
                                     path, line_of (text, len, k->group, k->key), k->group, k->key, v,
                                     local->message);
                        return FALSE;
                }
                g_free (*(char **) field);
                *(char **) field = g_steal_pointer (&v);
                return TRUE;
        case CONF_DURATION:
        case CONF_DURATION_INT:
        case CONF_DURATION_I64:
                if (!augur_parse_duration_s (v, &d, &local)) {
                        g_set_error (error, AUGUR_CONFIG_ERROR, AUGUR_CONFIG_ERROR_PARSE,
                                     "%s: %s.%s: %s", path, k->group, k->key, local->message);
                        return FALSE;
                }
                if (k->type == CONF_DURATION) {
                        *(double *) field = d;
                } else if (k->type == CONF_DURATION_I64) {
                        *(gint64 *) field = (gint64) d;
                } else if (!(d >= k->min && d <= k->max)) {
                        g_autofree char *shown = g_strdup_printf ("%gs", d);
                        g_autofree char *name = g_strdup_printf ("%s.%s", k->group, k->key);

                        return range_error (error, path, name, shown, k->allowed);
                } else {
                        *(int *) field = (int) d;
                }
                return TRUE;
        case CONF_INT:
                if (!parse_int (v, 10, G_MININT, G_MAXINT, (int *) field))
                        return parse_error (error, path, k, v, "an integer");
                return TRUE;
        case CONF_OCTAL:
                if (!parse_int (v, 8, 0, 07777, (int *) field))
                        return parse_error (error, path, k, v, "an octal file mode");
                return TRUE;
        case CONF_NUMBER:
                /* A decimal number (augur_parse_decimal: no hexadecimal, inf or nan). */
                if (!augur_parse_decimal (v, &d, NULL))
                        return parse_error (error, path, k, v, "a decimal number");
                *(double *) field = to_field (k->unit, d);
                return TRUE;
        case CONF_BOOL:
                if (!parse_bool (v, (gboolean *) field))
                        return parse_error (error, path, k, v, "true or false");
                return TRUE;
        case CONF_ENUM:
                for (gsize i = 0; i < k->n_names; i++) {
                        if (g_strcmp0 (v, k->names[i]) == 0) {
                                *(int *) field = (int) i;
                                return TRUE;
                        }
                }
                {
                        g_autoptr(GString) allowed = g_string_new (NULL);
                        g_autofree char *name = g_strdup_printf ("%s.%s", k->group, k->key);

                        for (gsize i = 0; i < k->n_names; i++)
                                g_string_append_printf (allowed, "%s%s", i ? ", " : "", k->names[i]);
                        return range_error (error, path, name, v, allowed->str);
                }
        }
        g_assert_not_reached ();
}

AugurConfig *
augur_config_load (const AugurConfig *base, const char *path,
                   gboolean missing_ok, GError **error)
{
        g_auto(GStrv) warnings = NULL;
        AugurConfig *c = augur_config_load_full (base, path, missing_ok, &warnings, error);

        for (gsize i = 0; warnings && warnings[i]; i++)
                g_warning ("%s", warnings[i]);
        return c;
}

AugurConfig *
augur_config_load_full (const AugurConfig *base, const char *path, gboolean missing_ok,
                        GStrv *ret_warnings, GError **error)
{
        g_autoptr(AugurConfig) c = augur_config_copy (base);
        g_autoptr(GKeyFile) kf = g_key_file_new ();
        g_autoptr(GError) local = NULL;
        g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
        g_autofree char *text = NULL;
        gsize text_len = 0;

        /* Read only a regular file: a FIFO here would block augurd for
         * good (regfile.h). */
        if (!augur_regfile_read (path, MAX_CONFIG_BYTES, &text, &text_len, &local)) {
                if (missing_ok && g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
                        g_debug ("config %s not found, using defaults", path);
                        if (ret_warnings)
                                *ret_warnings = g_new0 (char *, 1);
                        return g_steal_pointer (&c);
                }
                g_set_error (error, AUGUR_CONFIG_ERROR, AUGUR_CONFIG_ERROR_PARSE,
                             "config %s", local->message);
                return NULL;
        }
        if (!g_key_file_load_from_data (kf, text, text_len, G_KEY_FILE_NONE, &local)) {
                g_set_error (error, AUGUR_CONFIG_ERROR, AUGUR_CONFIG_ERROR_PARSE,
                             "%s: %s", path, local->message);
                return NULL;
        }
        check_known_keys (kf, text, text_len, path, warnings);
        for (gsize i = 0; i < G_N_ELEMENTS (conf_keys); i++)
                if (!read_key (kf, text, text_len, &conf_keys[i], c, path, error))
                        return NULL;
        if (!augur_config_validate (c, path, error))
                return NULL;
        if (ret_warnings) {
                g_ptr_array_add (warnings, NULL);
                *ret_warnings = (GStrv) g_ptr_array_free (g_steal_pointer (&warnings), FALSE);
        }
        return g_steal_pointer (&c);
}
