/* augur-config.h — augurd's configuration: compiled-in defaults, the GKeyFile
 * (/etc/augur/augur.conf, one section per module), then command-line
 * options, in that order of precedence (last wins).
 *
 * A config is parsed into a new struct, validated as a whole, and only then
 * swapped in; a bad file (at start or on SIGHUP) never leaves a half-applied
 * config behind.  Errors name the file, the key and the allowed range. */
#pragma once

#include <glib.h>

#define AUGUR_CONFIG_ERROR (augur_config_error_quark ())
GQuark augur_config_error_quark (void);

typedef enum {
        AUGUR_CONFIG_ERROR_PARSE,
        AUGUR_CONFIG_ERROR_RANGE,
} AugurConfigError;

typedef enum {
        AUGUR_MODE_AUTO = 0,
        AUGUR_MODE_OBSERVE,
        AUGUR_MODE_RECOMMEND,
        AUGUR_MODE_ACT,
} AugurMode;

typedef enum {
        AUGUR_POLICY_AUGUR = 0,
        AUGUR_POLICY_REACTIVE,
} AugurPolicyKind;

typedef struct {
        char *uri;                    /* libvirt URI                          */
        char *db_path;                /* SQLite history                       */
        char *socket_path;            /* local API socket                     */
        char *model_path;             /* model file, NULL = built-in default  */
        char *proc_root;              /* /proc, injectable for tests          */
        double tick_s;                /* tick period, s (>= 0.5)              */
        int balloon_period_s;         /* guest balloon stats period, s        */
        int keepalive_interval_s;     /* libvirt keepalive, s                 */
        int keepalive_count;          /* missed keepalives before drop        */
        gint64 raw_keep_s;            /* raw samples retention, s             */
        gint64 rollup_keep_s;         /* rollups retention, s                 */
        AugurMode mode;
        AugurPolicyKind policy;
        /* [policy]: defaults of the resize policy (per-VM metadata overrides
         * bounds, target utilisation and quantile) */
        double headroom_kib;          /* added to the upper forecast          */
        double reserve_kib;           /* floor above observed used memory     */
        double shrink_step_kib;       /* largest shrink per decision          */
        double shrink_sustain_s;      /* shrink evidence must hold this long  */
        double shrink_cooldown_s;     /* no shrink this soon after a change   */
        double lead_margin_s;         /* added to the measured latency        */
        double target_util;           /* vCPU target utilisation (0, 1]       */
        /* [forecast] */
        double price_per_gib;         /* memory_price_per_gib: > 0 = cost-aware
                                       * memory bounds (model/predictor.h), one
                                       * GiB-step of buffer worth this many
                                       * shortfall steps; 0 = coverage mode   */
        gboolean precursor_bound;     /* precursor_bound: the memory bound
                                       * after typing, logins, staging and
                                       * schedules (model/precursor.c)      */
        double width_halflife_s;      /* width_halflife: > 0 = conditional
                                       * bound widths (model/predictor.c
                                       * CONDITIONAL WIDTH); 0 = off        */
        /* [host] */
        double host_budget_kib;       /* sum of memory targets; 0 = MemTotal − reserve */
        double host_reserve_kib;      /* kept for the host when budget is 0   */
        double io_budget_mib_s;       /* io_budget_mib_s: the sum of every disk
                                       * limit's raise above its admin value,
                                       * MiB/s; 0 = no host bound (each guest's
                                       * io_max_mib_s still bounds it)        */
        double cpu_weight_budget;     /* [host] cpu_weight_budget: the sum of
                                       * every guest's CPU weight raise above
                                       * its admin's cpu_shares; 0 = no host
                                       * bound (policy/cpu-weight.h THE HOST) */
        double cushion_free_low;      /* [host] cushion_free_{low,high}_pct: the
                                       * forecast free fraction of host memory
                                       * (or budget) at which the guard's
                                       * cushion is tightest / most generous
                                       * (policy/mem-guard.h rule 3)         */
        double cushion_free_high;
        double host_plan_interval_s;  /* [host] plan_interval: the 4-hour host
                                       * view's refresh (plugin/host-plan.h),
                                       * s; 0 = off: the cushion reads the
                                       * tick's lead window only            */
        double host_plan_history_s;   /* [host] plan_history: history it
                                       * replays, s                          */
        /* [api] */
        char *api_group;              /* [api] group; NULL = "libvirt" if it
                                       * exists, "" = root only              */
        int api_mode;                 /* [api] mode of the socket file, 0 =
                                       * 0660 with a group, 0600 without     */
        /* [metrics] */
        int metrics_port;             /* Prometheus on bind:port, 0 = off      */
        char *metrics_bind;           /* addresses, comma-separated; NULL =
                                       * 127.0.0.1 (metrics.h THE SERVER)    */
        gboolean metrics_names;       /* guest names in the domain label;
                                       * FALSE: UUIDs (metrics.h, WHO SEES WHAT) */
        /* [retrain]: periodic retraining off the main loop (retrain.h) */
        double retrain_interval_s;    /* between runs, s; 0 = off             */
        double retrain_min_history_s; /* a VM needs this much history, s      */
        double retrain_budget_s;      /* training time budget per run, s      */
        double retrain_min_gain;      /* relative MAE gain to promote [0, 0.5] */
        /* [guests]: which guests augurd watches (guests.h) */
        char *guests_include;         /* patterns; NULL or "" = every guest   */
        char *guests_exclude;         /* patterns; NULL or "" = none; wins    */
} AugurConfig;

#define AUGUR_DEFAULT_URI "qemu:///system"
#define AUGUR_DEFAULT_DB LOCALSTATEDIR "/lib/augur/augur.db"
#define AUGUR_DEFAULT_SOCKET RUNSTATEDIR "/augur/augurd.sock"
#define AUGUR_DEFAULT_CONFIG SYSCONFDIR "/augur/augur.conf"

AugurConfig *augur_config_new_default (void);
void augur_config_free (AugurConfig *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurConfig, augur_config_free)
AugurConfig *augur_config_copy (const AugurConfig *c);

/* Load path over a copy of base.  A missing file is not an error when
 * missing_ok (the packaged default path); any other problem is, including
 * a path that is not a regular file (a FIFO would block the read) and a
 * file over 1 MiB.  A key augurd does not know (a typo, a key of another
 * version) is not an error: it is logged as a warning naming the file and
 * the line, the section and the key, and the known key or section nearest
 * to it (at most 2 edits) or the section the key belongs to, and ignored. */
AugurConfig *augur_config_load (const AugurConfig *base, const char *path,
                                gboolean missing_ok, GError **error);
/* The same, returning the warnings instead of logging them: on success
 * *ret_warnings (transfer full, NULL-terminated, maybe empty) when
 * ret_warnings is not NULL. */
AugurConfig *augur_config_load_full (const AugurConfig *base, const char *path,
                                     gboolean missing_ok, GStrv *ret_warnings,
                                     GError **error);
/* Check ranges of a complete config (also after command-line overrides). */
gboolean augur_config_validate (const AugurConfig *c, const char *origin, GError **error);

/* The keys augur_config_load() reads, in the order of the shipped file:
 * row i (0 <= i < augur_config_n_keys ()) is [group] key, with a line of
 * help (its unit and meaning).  For tests and documentation. */
gsize augur_config_n_keys (void);
void augur_config_key_at (gsize i, const char **ret_group, const char **ret_key,
                          const char **ret_help);

gboolean augur_mode_from_string (const char *s, AugurMode *ret);
const char *augur_mode_to_string (AugurMode m);
gboolean augur_policy_from_string (const char *s, AugurPolicyKind *ret);
const char *augur_policy_to_string (AugurPolicyKind p);
