/* augur-config.c — see augur-config.h. */
#include "config.h"

#include "augur-config.h"
#include "regfile.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK (augur-config-error-quark, augur_config_error)

/* Largest config file read, bytes.  The shipped one, every key commented
 * with its reason, is 8 KiB. */
#define MAX_CONFIG_BYTES (1024 * 1024)

/* Every key augur_config_load() reads, by section: anything else in the
 * file is a typo or a key of another version, and is warned about (a
 * silently ignored "tick=1" is a setting the operator believes in). */
static const struct {
        const char *group;
        const char *const keys[12];
} known_keys[] = {
        { "daemon", { "uri", "tick_seconds", "mode", "policy", "socket", "model",
                      "balloon_period_seconds", "keepalive_interval_seconds", "keepalive_count" } },
        { "store", { "db", "raw_retention", "rollup_retention" } },
        { "policy", { "headroom_mib", "reserve_mib", "shrink_step_mib", "shrink_sustain",
                      "shrink_cooldown", "lead_margin", "target_util_pct" } },
        { "forecast", { "memory_price_per_gib", "precursor_bound" } },
        { "host", { "mem_budget_mib", "reserve_mib", "cushion_free_low_pct", "cushion_free_high_pct" } },
        { "api", { "group", "mode" } },
        { "metrics", { "port", "names" } },
        { "retrain", { "interval", "min_history", "time_budget", "min_gain_pct" } },
};

/* One warning per key of kf that augurd does not read, naming the file,
 * the section and the key (and the keys the section has, for a typo). */
static void
check_known_keys (GKeyFile *kf, const char *path, GPtrArray *warnings)
{
        g_auto(GStrv) groups = g_key_file_get_groups (kf, NULL);

        for (gsize g = 0; groups[g]; g++) {
                g_auto(GStrv) keys = g_key_file_get_keys (kf, groups[g], NULL, NULL);
                gssize known = -1;

                for (gsize k = 0; k < G_N_ELEMENTS (known_keys); k++)
                        if (strcmp (known_keys[k].group, groups[g]) == 0)
                                known = (gssize) k;
                for (gsize i = 0; keys && keys[i]; i++) {
                        g_autofree char *list = NULL;
                        gboolean found = FALSE;

                        if (known < 0) {
                                g_ptr_array_add (warnings, g_strdup_printf (
                                        "%s: [%s] %s: unknown section, ignoring", path, groups[g], keys[i]));
                                continue;
                        }
                        for (gsize j = 0; known_keys[known].keys[j]; j++)
                                if (strcmp (known_keys[known].keys[j], keys[i]) == 0)
                                        found = TRUE;
                        if (found)
                                continue;
                        list = g_strjoinv (", ", (char **) known_keys[known].keys);
                        g_ptr_array_add (warnings, g_strdup_printf (
                                "%s: [%s] %s: unknown key, ignoring (the section has: %s)",
                                path, groups[g], keys[i], list));
                }
        }
}

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
        c->host_budget_kib = 0;
        c->host_reserve_kib = 1024 * 1024;
        /* Proxmox balloons only past 80 % host RAM used, MoM's default
         * pressure threshold is 20 % free: a guest keeps its generous
         * cushion while 30 % of the host is forecast free, and is
         * squeezed to its burst envelope as that falls to 10 %. */
        c->cushion_free_low = 0.10;
        c->cushion_free_high = 0.30;
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

gboolean
augur_config_validate (const AugurConfig *c, const char *origin, GError **error)
{
        g_autofree char *v = NULL;

        if (!(c->tick_s >= 0.5 && c->tick_s <= 3600))
                return range_error (error, origin, "daemon.tick_seconds",
                                    (v = g_strdup_printf ("%g", c->tick_s)), "0.5 to 3600 seconds");
        if (c->balloon_period_s < 1 || c->balloon_period_s > 3600)
                return range_error (error, origin, "daemon.balloon_period_seconds",
                                    (v = g_strdup_printf ("%d", c->balloon_period_s)), "1 to 3600 seconds");
        if (c->keepalive_interval_s < 1 || c->keepalive_interval_s > 600)
                return range_error (error, origin, "daemon.keepalive_interval_seconds",
                                    (v = g_strdup_printf ("%d", c->keepalive_interval_s)), "1 to 600 seconds");
        if (c->keepalive_count < 1 || c->keepalive_count > 100)
                return range_error (error, origin, "daemon.keepalive_count",
                                    (v = g_strdup_printf ("%d", c->keepalive_count)), "1 to 100");
        if (c->raw_keep_s < 600 || c->raw_keep_s > 366 * 86400)
                return range_error (error, origin, "store.raw_retention",
                                    (v = g_strdup_printf ("%" G_GINT64_FORMAT "s", c->raw_keep_s)), "10m to 366d");
        if (c->rollup_keep_s < c->raw_keep_s || c->rollup_keep_s > 10 * 366 * 86400LL)
                return range_error (error, origin, "store.rollup_retention",
                                    (v = g_strdup_printf ("%" G_GINT64_FORMAT "s", c->rollup_keep_s)),
                                    "at least store.raw_retention, at most 10 years");
        if (!(c->headroom_kib >= 0 && c->headroom_kib <= 1024.0 * 1024 * 1024))
                return range_error (error, origin, "policy.headroom_mib",
                                    (v = g_strdup_printf ("%.0f", c->headroom_kib / 1024)), "0 to 1048576 MiB");
        if (!(c->reserve_kib >= 0 && c->reserve_kib <= 1024.0 * 1024 * 1024))
                return range_error (error, origin, "policy.reserve_mib",
                                    (v = g_strdup_printf ("%.0f", c->reserve_kib / 1024)), "0 to 1048576 MiB");
        if (!(c->shrink_step_kib >= 1024 && c->shrink_step_kib <= 1024.0 * 1024 * 1024))
                return range_error (error, origin, "policy.shrink_step_mib",
                                    (v = g_strdup_printf ("%.0f", c->shrink_step_kib / 1024)), "1 to 1048576 MiB");
        if (!(c->shrink_sustain_s >= 0 && c->shrink_sustain_s <= 86400))
                return range_error (error, origin, "policy.shrink_sustain",
                                    (v = g_strdup_printf ("%gs", c->shrink_sustain_s)), "0 to 1d");
        if (!(c->shrink_cooldown_s >= 0 && c->shrink_cooldown_s <= 86400))
                return range_error (error, origin, "policy.shrink_cooldown",
                                    (v = g_strdup_printf ("%gs", c->shrink_cooldown_s)), "0 to 1d");
        if (!(c->lead_margin_s >= 0 && c->lead_margin_s <= 3600))
                return range_error (error, origin, "policy.lead_margin",
                                    (v = g_strdup_printf ("%gs", c->lead_margin_s)), "0 to 1h");
        if (!(c->target_util >= 0.1 && c->target_util <= 1))
                return range_error (error, origin, "policy.target_util_pct",
                                    (v = g_strdup_printf ("%.0f", c->target_util * 100)), "10 to 100");
        if (!(c->price_per_gib == 0 || (c->price_per_gib >= 1e-4 && c->price_per_gib <= 1e4)))
                return range_error (error, origin, "forecast.memory_price_per_gib",
                                    (v = g_strdup_printf ("%g", c->price_per_gib)),
                                    "0 (coverage mode) or 0.0001 to 10000 shortfall steps per GiB-step");
        if (!(c->host_budget_kib >= 0 && c->host_reserve_kib >= 0))
                return range_error (error, origin, "host.mem_budget_mib", "negative", "0 (auto) or more");
        if (!(c->cushion_free_low >= 0 && c->cushion_free_low < c->cushion_free_high &&
              c->cushion_free_high <= 1))
                return range_error (error, origin, "host.cushion_free_low_pct",
                                    (v = g_strdup_printf ("%.0f and %.0f", c->cushion_free_low * 100,
                                                          c->cushion_free_high * 100)),
                                    "0 <= low < high <= 100");
        if (!c->uri || !*c->uri)
                return range_error (error, origin, "daemon.uri", "\"\"", "a libvirt URI");
        if (!c->db_path || !*c->db_path)
                return range_error (error, origin, "store.db", "\"\"", "a file path");
        /* The socket needs owner read-write (augurd), execute bits mean
         * nothing on a socket, and wider than 0666 is a typo. */
        if (c->metrics_port < 0 || c->metrics_port > 65535)
                return range_error (error, origin, "metrics.port",
                                    (v = g_strdup_printf ("%d", c->metrics_port)), "0 (off) or 1 to 65535");
        if (!(c->retrain_interval_s == 0 || (c->retrain_interval_s >= 1 && c->retrain_interval_s <= 366 * 86400.0)))
                return range_error (error, origin, "retrain.interval",
                                    (v = g_strdup_printf ("%gs", c->retrain_interval_s)), "0 (off) or 1s to 366d");
        if (!(c->retrain_min_history_s >= 3600 && c->retrain_min_history_s <= 366 * 86400.0))
                return range_error (error, origin, "retrain.min_history",
                                    (v = g_strdup_printf ("%gs", c->retrain_min_history_s)), "1h to 366d");
        if (!(c->retrain_budget_s >= 1 && c->retrain_budget_s <= 86400))
                return range_error (error, origin, "retrain.time_budget",
                                    (v = g_strdup_printf ("%gs", c->retrain_budget_s)), "1s to 1d");
        if (!(c->retrain_min_gain >= 0 && c->retrain_min_gain <= 0.5))
                return range_error (error, origin, "retrain.min_gain_pct",
                                    (v = g_strdup_printf ("%g", c->retrain_min_gain * 100)), "0 to 50");
        if (c->api_mode != 0 && ((c->api_mode & ~0666) || (c->api_mode & 0600) != 0600))
                return range_error (error, origin, "api.mode",
                                    (v = g_strdup_printf ("%04o", (unsigned) c->api_mode)),
                                    "0600 to 0666 (octal), with owner read-write");
        return TRUE;
}

/* Read key as a string if present; FALSE only on a real parse error. */
static gboolean
get_string (GKeyFile *kf, const char *group, const char *key, char **inout,
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
        g_free (*inout);
        *inout = g_steal_pointer (&v);
        return TRUE;
}

static gboolean
get_duration (GKeyFile *kf, const char *group, const char *key, double *inout,
              const char *path, GError **error)
{
        g_autofree char *v = NULL;
        g_autoptr(GError) local = NULL;

        if (!get_string (kf, group, key, &v, path, error))
                return FALSE;
        if (!v)
                return TRUE;
        if (!augur_parse_duration_s (v, inout, &local)) {
                g_set_error (error, AUGUR_CONFIG_ERROR, AUGUR_CONFIG_ERROR_PARSE,
                             "%s: %s.%s: %s", path, group, key, local->message);
                return FALSE;
        }
        return TRUE;
}

static gboolean
get_int (GKeyFile *kf, const char *group, const char *key, int *inout,
         const char *path, GError **error)
{
        g_autofree char *v = NULL;
        char *end = NULL;
        gint64 x;

        if (!get_string (kf, group, key, &v, path, error))
                return FALSE;
        if (!v)
                return TRUE;
        errno = 0;
        x = g_ascii_strtoll (v, &end, 10);
        if (errno || end == v || *end || x < G_MININT || x > G_MAXINT) {
                g_set_error (error, AUGUR_CONFIG_ERROR, AUGUR_CONFIG_ERROR_PARSE,
                             "%s: %s.%s = %s is not an integer", path, group, key, v);
                return FALSE;
        }
        *inout = (int) x;
        return TRUE;
}

/* true/false (also yes/no, on/off, 1/0), as systemd unit files take them */
static gboolean
get_bool (GKeyFile *kf, const char *group, const char *key, gboolean *inout,
          const char *path, GError **error)
{
        static const char *const yes[] = { "true", "yes", "on", "1" }, *const no[] = { "false", "no", "off", "0" };
        g_autofree char *v = NULL;

        if (!get_string (kf, group, key, &v, path, error))
                return FALSE;
        if (!v)
                return TRUE;
        for (gsize i = 0; i < G_N_ELEMENTS (yes); i++) {
                if (g_ascii_strcasecmp (v, yes[i]) == 0 || g_ascii_strcasecmp (v, no[i]) == 0) {
                        *inout = g_ascii_strcasecmp (v, yes[i]) == 0;
                        return TRUE;
                }
        }
        g_set_error (error, AUGUR_CONFIG_ERROR, AUGUR_CONFIG_ERROR_PARSE,
                     "%s: %s.%s = %s is not true or false", path, group, key, v);
        return FALSE;
}

/* A decimal number (augur_parse_decimal: no hexadecimal, inf or nan). */
static gboolean
get_number (GKeyFile *kf, const char *group, const char *key, double *inout,
            const char *path, GError **error)
{
        g_autofree char *v = NULL;
        double x;

        if (!get_string (kf, group, key, &v, path, error))
                return FALSE;
        if (!v)
                return TRUE;
        if (!augur_parse_decimal (v, &x, NULL)) {
                g_set_error (error, AUGUR_CONFIG_ERROR, AUGUR_CONFIG_ERROR_PARSE,
                             "%s: %s.%s = %s is not a decimal number", path, group, key, v);
                return FALSE;
        }
        *inout = x;
        return TRUE;
}

/* An octal file mode such as 0660. */
static gboolean
get_mode (GKeyFile *kf, const char *group, const char *key, int *inout,
          const char *path, GError **error)
{
        g_autofree char *v = NULL;
        char *end = NULL;
        gint64 x;

        if (!get_string (kf, group, key, &v, path, error))
                return FALSE;
        if (!v)
                return TRUE;
        errno = 0;
        x = g_ascii_strtoll (v, &end, 8);
        if (errno || end == v || *end || x < 0 || x > 07777) {
                g_set_error (error, AUGUR_CONFIG_ERROR, AUGUR_CONFIG_ERROR_PARSE,
                             "%s: %s.%s = %s is not an octal file mode", path, group, key, v);
                return FALSE;
        }
        *inout = (int) x;
        return TRUE;
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
        g_autofree char *mode = NULL, *policy = NULL;
        double tick = c->tick_s, raw = c->raw_keep_s, roll = c->rollup_keep_s;
        double bperiod = c->balloon_period_s;
        double headroom = c->headroom_kib / 1024, reserve = c->reserve_kib / 1024;
        double step = c->shrink_step_kib / 1024, util = c->target_util * 100;
        double budget = c->host_budget_kib / 1024, hreserve = c->host_reserve_kib / 1024;
        double gain = c->retrain_min_gain * 100;
        double free_low = c->cushion_free_low * 100, free_high = c->cushion_free_high * 100;

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
        check_known_keys (kf, path, warnings);
        if (!get_string (kf, "daemon", "uri", &c->uri, path, error) ||
            !get_duration (kf, "daemon", "tick_seconds", &tick, path, error) ||
            !get_string (kf, "daemon", "mode", &mode, path, error) ||
            !get_string (kf, "daemon", "policy", &policy, path, error) ||
            !get_string (kf, "daemon", "socket", &c->socket_path, path, error) ||
            !get_string (kf, "daemon", "model", &c->model_path, path, error) ||
            !get_duration (kf, "daemon", "balloon_period_seconds", &bperiod, path, error) ||
            !get_int (kf, "daemon", "keepalive_interval_seconds", &c->keepalive_interval_s, path, error) ||
            !get_int (kf, "daemon", "keepalive_count", &c->keepalive_count, path, error) ||
            !get_string (kf, "store", "db", &c->db_path, path, error) ||
            !get_duration (kf, "store", "raw_retention", &raw, path, error) ||
            !get_duration (kf, "store", "rollup_retention", &roll, path, error) ||
            !get_number (kf, "policy", "headroom_mib", &headroom, path, error) ||
            !get_number (kf, "policy", "reserve_mib", &reserve, path, error) ||
            !get_number (kf, "policy", "shrink_step_mib", &step, path, error) ||
            !get_duration (kf, "policy", "shrink_sustain", &c->shrink_sustain_s, path, error) ||
            !get_duration (kf, "policy", "shrink_cooldown", &c->shrink_cooldown_s, path, error) ||
            !get_duration (kf, "policy", "lead_margin", &c->lead_margin_s, path, error) ||
            !get_number (kf, "policy", "target_util_pct", &util, path, error) ||
            !get_number (kf, "forecast", "memory_price_per_gib", &c->price_per_gib, path, error) ||
            !get_bool (kf, "forecast", "precursor_bound", &c->precursor_bound, path, error) ||
            !get_number (kf, "host", "mem_budget_mib", &budget, path, error) ||
            !get_number (kf, "host", "reserve_mib", &hreserve, path, error) ||
            !get_number (kf, "host", "cushion_free_low_pct", &free_low, path, error) ||
            !get_number (kf, "host", "cushion_free_high_pct", &free_high, path, error) ||
            !get_string (kf, "api", "group", &c->api_group, path, error) ||
            !get_mode (kf, "api", "mode", &c->api_mode, path, error) ||
            !get_int (kf, "metrics", "port", &c->metrics_port, path, error) ||
            !get_bool (kf, "metrics", "names", &c->metrics_names, path, error) ||
            !get_duration (kf, "retrain", "interval", &c->retrain_interval_s, path, error) ||
            !get_duration (kf, "retrain", "min_history", &c->retrain_min_history_s, path, error) ||
            !get_duration (kf, "retrain", "time_budget", &c->retrain_budget_s, path, error) ||
            !get_number (kf, "retrain", "min_gain_pct", &gain, path, error))
                return NULL;
        c->retrain_min_gain = gain / 100;
        c->headroom_kib = headroom * 1024;
        c->reserve_kib = reserve * 1024;
        c->shrink_step_kib = step * 1024;
        c->target_util = util / 100;
        c->host_budget_kib = budget * 1024;
        c->host_reserve_kib = hreserve * 1024;
        c->cushion_free_low = free_low / 100;
        c->cushion_free_high = free_high / 100;
        if (mode && !augur_mode_from_string (mode, &c->mode))
                return range_error (error, path, "daemon.mode", mode, "auto, observe, recommend, act"), NULL;
        if (policy && !augur_policy_from_string (policy, &c->policy))
                return range_error (error, path, "daemon.policy", policy, "augur, reactive"), NULL;
        c->tick_s = tick;
        /* Range-check before the cast: 36500d does not fit an int, and
         * (int) of it is undefined (it came out as -2147483648). */
        if (!(bperiod >= 1 && bperiod <= 3600)) {
                g_autofree char *v = g_strdup_printf ("%gs", bperiod);

                return range_error (error, path, "daemon.balloon_period_seconds", v, "1 to 3600 seconds"), NULL;
        }
        c->balloon_period_s = (int) bperiod;
        c->raw_keep_s = (gint64) raw;
        c->rollup_keep_s = (gint64) roll;
        if (!augur_config_validate (c, path, error))
                return NULL;
        if (ret_warnings) {
                g_ptr_array_add (warnings, NULL);
                *ret_warnings = (GStrv) g_ptr_array_free (g_steal_pointer (&warnings), FALSE);
        }
        return g_steal_pointer (&c);
}
