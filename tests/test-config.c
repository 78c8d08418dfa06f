/* test-config.c — config parsing and validation (plugin/augur-config.c):
 * defaults, every key, and errors that name the file, key and range. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "augur-config.h"
#include "util.h"

static char *
write_conf (const char *text)
{
        g_autoptr(GError) error = NULL;
        char *path = NULL;
        int fd = g_file_open_tmp ("augur-conf-XXXXXX.conf", &path, &error);

        g_assert_no_error (error);
        close (fd);
        g_assert_true (g_file_set_contents (path, text, -1, NULL));
        return path;
}

/* Row i of a table test: text must load over base without an error. */
static AugurConfig *
load_ok (AugurConfig *base, const char *text, gsize i)
{
        g_autofree char *path = write_conf (text);
        g_autoptr(GError) error = NULL;
        AugurConfig *c = augur_config_load (base, path, FALSE, &error);

        g_test_message ("row %zu", i);
        g_assert_no_error (error);
        g_unlink (path);
        return c;
}

static void
test_defaults (void)
{
        g_autoptr(AugurConfig) c = augur_config_new_default ();

        g_assert_cmpstr (c->uri, ==, "qemu:///system");
        g_assert_cmpfloat (c->tick_s, ==, 5.0);
        g_assert_cmpint (c->mode, ==, AUGUR_MODE_AUTO);
        g_assert_cmpint (c->raw_keep_s, ==, 48 * 3600);
        g_assert_cmpint (c->rollup_keep_s, ==, 90 * 86400);
        g_assert_cmpfloat (c->price_per_gib, ==, 2.0);   /* replay's default */
        g_assert_true (c->precursor_bound);
        g_assert_true (augur_config_validate (c, "defaults", NULL));
}

static void
test_full_file (void)
{
        g_autoptr(AugurConfig) base = augur_config_new_default ();
        g_autofree char *path = write_conf (
                "[daemon]\nuri = qemu:///session\ntick_seconds = 0.5\nmode = observe\n"
                "policy = reactive\nballoon_period_seconds = 2\n"
                "[store]\ndb = /tmp/x.db\nraw_retention = 1d\nrollup_retention = 30d\n"
                "[policy]\nheadroom_mib = 48\nshrink_sustain = 2m\ntarget_util_pct = 80\n"
                "[host]\nmem_budget_mib = 1536\n");
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurConfig) c = augur_config_load (base, path, FALSE, &error);

        g_assert_no_error (error);
        g_assert_cmpstr (c->uri, ==, "qemu:///session");
        g_assert_cmpfloat (c->tick_s, ==, 0.5);
        g_assert_cmpint (c->mode, ==, AUGUR_MODE_OBSERVE);
        g_assert_cmpint (c->policy, ==, AUGUR_POLICY_REACTIVE);
        g_assert_cmpint (c->balloon_period_s, ==, 2);
        g_assert_cmpstr (c->db_path, ==, "/tmp/x.db");
        g_assert_cmpint (c->raw_keep_s, ==, 86400);
        g_assert_cmpint (c->rollup_keep_s, ==, 30 * 86400);
        g_assert_cmpfloat (c->headroom_kib, ==, 48 * 1024);
        g_assert_cmpfloat (c->shrink_sustain_s, ==, 120);
        g_assert_cmpfloat_with_epsilon (c->target_util, 0.8, 1e-9);
        g_assert_cmpfloat (c->host_budget_kib, ==, 1536 * 1024);
        g_unlink (path);
}

static void
test_bad_values (void)
{
        static const struct {
                const char *text;
                const char *key;      /* must appear in the message */
        } rows[] = {
                { "[daemon]\ntick_seconds = 0.4\n", "daemon.tick_seconds" },   /* N-1 */
                { "[daemon]\ntick_seconds = soon\n", "daemon.tick_seconds" },
                { "[daemon]\nmode = yolo\n", "daemon.mode" },
                { "[daemon]\npolicy = magic\n", "daemon.policy" },
                { "[daemon]\nkeepalive_count = 0\n", "daemon.keepalive_count" },
                { "[daemon]\nkeepalive_count = 3x\n", "daemon.keepalive_count" },
                { "[store]\nraw_retention = 1m\n", "store.raw_retention" },
                { "[store]\nraw_retention = 3d\nrollup_retention = 2d\n", "store.rollup_retention" },
                { "[policy]\nheadroom_mib = -1\n", "policy.headroom_mib" },
                { "[policy]\ntarget_util_pct = 5\n", "policy.target_util_pct" },
                { "[policy]\nshrink_sustain = forever\n", "policy.shrink_sustain" },
                { "[host]\nmem_budget_mib = many\n", "host.mem_budget_mib" },
                { "[metrics]\nport = -1\n", "metrics.port" },                 /* N-1 */
                { "[metrics]\nport = 65536\n", "metrics.port" },              /* N+1 */
                { "[metrics]\nport = http\n", "metrics.port" },
                { "[metrics]\nnames = maybe\n", "metrics.names" },
                { "[retrain]\ninterval = 0.5s\n", "retrain.interval" },        /* below 1s, not 0 */
                { "[retrain]\ninterval = 367d\n", "retrain.interval" },
                { "[retrain]\ninterval = daily\n", "retrain.interval" },
                { "[retrain]\nmin_history = 59m\n", "retrain.min_history" },   /* N-1 */
                { "[retrain]\ntime_budget = 0\n", "retrain.time_budget" },
                { "[retrain]\ntime_budget = 1d1s\n", "retrain.time_budget" },
                { "[retrain]\nmin_gain_pct = 50.1\n", "retrain.min_gain_pct" }, /* N+1 */
                { "[retrain]\nmin_gain_pct = -1\n", "retrain.min_gain_pct" },
                { "[forecast]\nmemory_price_per_gib = -1\n", "forecast.memory_price_per_gib" },
                { "[forecast]\nmemory_price_per_gib = 0.00009\n", "forecast.memory_price_per_gib" }, /* N-1 */
                { "[forecast]\nmemory_price_per_gib = 10000.01\n", "forecast.memory_price_per_gib" }, /* N+1 */
                { "[forecast]\nmemory_price_per_gib = cheap\n", "forecast.memory_price_per_gib" },
                { "[forecast]\nprecursor_bound = maybe\n", "forecast.precursor_bound" },
                { "[forecast]\nprecursor_bound = 2\n", "forecast.precursor_bound" },
                { "[forecast]\nwidth_halflife = 59\n", "forecast.width_halflife" },   /* N-1 */
                { "[forecast]\nwidth_halflife = 86401\n", "forecast.width_halflife" }, /* N+1 */
                { "this is not an ini file\n", "" },
                /* Range-checked before the cast to int (issue 16): 36500d
                 * was reported as -2147483648. */
                { "[daemon]\nballoon_period_seconds = 36500d\n", "1 to 3600 seconds" },
                { "[daemon]\nballoon_period_seconds = 3601\n", "daemon.balloon_period_seconds" }, /* N+1 */
                { "[daemon]\nballoon_period_seconds = 0.5\n", "daemon.balloon_period_seconds" },
                /* Decimal only: hexadecimal, inf and nan are not numbers here. */
                { "[daemon]\ntick_seconds = 0x10\n", "daemon.tick_seconds" },
                { "[daemon]\ntick_seconds = 0x10s\n", "daemon.tick_seconds" },
                { "[policy]\nheadroom_mib = 0x10\n", "policy.headroom_mib" },
                { "[policy]\nheadroom_mib = inf\n", "policy.headroom_mib" },
                { "[policy]\nheadroom_mib = nan\n", "policy.headroom_mib" },
                { "[metrics]\nport = 0x50\n", "metrics.port" },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autoptr(AugurConfig) base = augur_config_new_default ();
                g_autofree char *path = write_conf (rows[i].text);
                g_autoptr(GError) error = NULL;
                g_autoptr(AugurConfig) c = augur_config_load (base, path, FALSE, &error);

                g_test_message ("row %zu: %s", i, error ? error->message : "(no error)");
                g_assert_null (c);
                g_assert_nonnull (error);
                g_assert_nonnull (strstr (error->message, path));
                g_assert_nonnull (strstr (error->message, rows[i].key));
                g_assert_null (strstr (error->message, "-2147483648"));
                g_unlink (path);
        }
}

/* balloon_period_seconds at the edges of its range (N), and durations. */
static void
test_balloon_period (void)
{
        g_autoptr(AugurConfig) base = augur_config_new_default ();
        static const struct {
                const char *text;
                int period_s;
        } rows[] = {
                { "[daemon]\nballoon_period_seconds = 1\n", 1 },
                { "[daemon]\nballoon_period_seconds = 3600\n", 3600 },
                { "[daemon]\nballoon_period_seconds = 1h\n", 3600 },
                { "[daemon]\nballoon_period_seconds = 2m\n", 120 },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autoptr(AugurConfig) c = load_ok (base, rows[i].text, i);

                g_assert_cmpint (c->balloon_period_s, ==, rows[i].period_s);
        }
}

/* augur_parse_decimal and augur_parse_duration_s: what is a number. */
static void
test_decimal_only (void)
{
        static const struct {
                const char *text;
                gboolean ok;
                double value;
        } numbers[] = {
                { "5", TRUE, 5 }, { "0.5", TRUE, 0.5 }, { ".5", TRUE, 0.5 }, { "5.", TRUE, 5 },
                { "-1.5", TRUE, -1.5 }, { "+2", TRUE, 2 }, { "1e3", TRUE, 1000 }, { "1E-1", TRUE, 0.1 },
                { "0x10", FALSE, 0 }, { "0X1p4", FALSE, 0 }, { "inf", FALSE, 0 }, { "nan", FALSE, 0 },
                { "infinity", FALSE, 0 }, { " 5", FALSE, 0 }, { "5 ", FALSE, 0 }, { "", FALSE, 0 },
                { ".", FALSE, 0 }, { "-", FALSE, 0 }, { "1e", FALSE, 0 }, { "1e+", FALSE, 0 },
                { "1e999", FALSE, 0 }, { "5s", FALSE, 0 },
        };
        static const struct {
                const char *text;
                gboolean ok;
                double seconds;
        } durations[] = {
                { "90s", TRUE, 90 }, { "1.5h", TRUE, 5400 }, { "2d", TRUE, 172800 }, { "7", TRUE, 7 },
                { "0x10", FALSE, 0 }, { "0x10s", FALSE, 0 }, { "infs", FALSE, 0 }, { "-1s", FALSE, 0 },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (numbers); i++) {
                double v = -42;
                gboolean ok = augur_parse_decimal (numbers[i].text, &v, NULL);

                g_test_message ("number '%s': %s %g", numbers[i].text, ok ? "ok" : "refused", v);
                g_assert_cmpint (ok, ==, numbers[i].ok);
                if (ok)
                        g_assert_cmpfloat_with_epsilon (v, numbers[i].value, 1e-12);
                else
                        g_assert_cmpfloat (v, ==, -42);
        }
        for (gsize i = 0; i < G_N_ELEMENTS (durations); i++) {
                g_autoptr(GError) error = NULL;
                double v = -42;
                gboolean ok = augur_parse_duration_s (durations[i].text, &v, &error);

                g_test_message ("duration '%s': %s %g", durations[i].text, ok ? "ok" : "refused", v);
                g_assert_cmpint (ok, ==, durations[i].ok);
                if (ok)
                        g_assert_cmpfloat_with_epsilon (v, durations[i].seconds, 1e-9);
        }
}

/* Issue 16: unknown keys were silently ignored.  They are warnings naming
 * the file and its line, the section and the key, with the nearest known
 * name (at most 2 edits away) or the section that has the key; the config
 * still loads. */
static void
test_unknown_keys (void)
{
        g_autoptr(AugurConfig) base = augur_config_new_default ();
        g_autofree char *path = write_conf (
                "[daemon]\nuri = test:///default\ntick = 1\n"
                "[policy]\nheadroom_mib = 48\n"
                "# a comment\n\n"
                "[polcy]\nreserve_mib = 10\n"
                "[metrics]\nprot = 9100\n"
                "[daemon]\nreserve_mib = 10\nmdoe=act\n"
                "[store]\nretention = 1d\n");
        g_autofree char *want = NULL;
        g_auto(GStrv) warnings = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurConfig) c = augur_config_load_full (base, path, FALSE, &warnings, &error);
        static const struct {
                int line;
                const char *text;
        } rows[] = {
                { 3, "[daemon] tick: unknown key, ignoring (the section has: uri, tick_seconds" },
                { 13, "[daemon] reserve_mib: unknown key, ignoring (it is a key of [policy]; the section has: " },
                { 14, "[daemon] mdoe: unknown key, ignoring (did you mean mode? the section has: " },
                { 9, "[polcy] reserve_mib: unknown section, ignoring (did you mean [policy]?)" },
                { 11, "[metrics] prot: unknown key, ignoring (did you mean port? the section has: port, bind, names)" },
                { 16, "[store] retention: unknown key, ignoring (the section has: db, raw_retention, rollup_retention)" },
        };

        g_assert_no_error (error);
        g_assert_nonnull (c);
        g_assert_cmpstr (c->uri, ==, "test:///default");
        g_assert_cmpfloat (c->tick_s, ==, 5);                 /* "tick" is not tick_seconds */
        for (guint i = 0; warnings[i]; i++)
                g_test_message ("warning: %s", warnings[i]);
        g_assert_cmpuint (g_strv_length (warnings), ==, G_N_ELEMENTS (rows));
        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                want = (g_free (want), g_strdup_printf ("%s:%d: %s", path, rows[i].line, rows[i].text));
                g_test_message ("want %s", want);
                g_assert_true (g_str_has_prefix (warnings[i], want));
        }
        g_unlink (path);

        /* A bad value in a known key is still an error, unknown keys or not. */
        path = (g_free (path), write_conf ("[daemon]\ntick_seconds = 0\nbogus = 1\n"));
        g_clear_pointer (&warnings, g_strfreev);
        g_assert_null (augur_config_load_full (base, path, FALSE, &warnings, &error));
        g_assert_nonnull (strstr (error->message, "daemon.tick_seconds"));
        g_clear_error (&error);
        g_unlink (path);
}

/* The config file this build installs has no key augurd does not know. */
static void
test_shipped_file_known (void)
{
        g_autofree char *path = g_build_filename (g_getenv ("AUGUR_TOP_BUILDDIR") ? g_getenv ("AUGUR_TOP_BUILDDIR") : "..",
                                                  "data", "augur.conf", NULL);
        g_autoptr(AugurConfig) base = augur_config_new_default ();
        g_auto(GStrv) warnings = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurConfig) c = NULL;

        if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
                g_test_skip ("data/augur.conf is not built");
                return;
        }
        c = augur_config_load_full (base, path, FALSE, &warnings, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (g_strv_length (warnings), ==, 0);
}

/* Issue 16: a FIFO as the config file blocked augurd in open() for good.
 * Anything but a regular file is refused, at once, naming the path. */
static void
test_not_regular (void)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("augur-conf-XXXXXX", &error);
        g_autofree char *fifo = g_build_filename (dir, "augur.conf", NULL);
        g_autoptr(AugurConfig) base = augur_config_new_default ();
        const char *paths[] = { fifo, dir, "/dev/null" };

        g_assert_no_error (error);
        g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
        alarm (10);                           /* the bug was a hang: fail, don't hang */
        for (gsize i = 0; i < G_N_ELEMENTS (paths); i++) {
                g_autoptr(AugurConfig) c = augur_config_load (base, paths[i], TRUE, &error);

                g_test_message ("%s: %s", paths[i], error ? error->message : "loaded");
                g_assert_null (c);
                g_assert_error (error, AUGUR_CONFIG_ERROR, AUGUR_CONFIG_ERROR_PARSE);
                g_assert_nonnull (strstr (error->message, paths[i]));
                g_assert_nonnull (strstr (error->message, "not a regular file"));
                g_clear_error (&error);
        }
        alarm (0);
        g_unlink (fifo);
        g_rmdir (dir);
}

static void
test_boundaries (void)
{
        g_autoptr(AugurConfig) base = augur_config_new_default ();
        g_autofree char *path = write_conf ("[daemon]\ntick_seconds = 0.5\n");
        g_autoptr(AugurConfig) c = augur_config_load (base, path, FALSE, NULL);

        g_assert_nonnull (c);                       /* N: the minimum is allowed */
        g_unlink (path);
        for (int port = 0; port <= 65535; port += 65535) {
                g_autofree char *text = g_strdup_printf ("[metrics]\nport = %d\n", port);
                g_autofree char *p = write_conf (text);
                g_autoptr(AugurConfig) m = augur_config_load (base, p, FALSE, NULL);

                g_assert_nonnull (m);               /* 0 = off and 65535 are allowed */
                g_assert_cmpint (m->metrics_port, ==, port);
                g_unlink (p);
        }
}

/* [retrain]: defaults, every key, and the edges of each range (N). */
static void
test_retrain_keys (void)
{
        g_autoptr(AugurConfig) base = augur_config_new_default ();
        static const struct {
                const char *text;
                double interval_s, min_history_s, budget_s, min_gain;
        } rows[] = {
                { "", 86400, 2 * 86400, 600, 0.01 },
                { "[retrain]\ninterval = 0\n", 0, 2 * 86400, 600, 0.01 },      /* off */
                { "[retrain]\ninterval = 1s\nmin_history = 1h\ntime_budget = 1s\nmin_gain_pct = 0\n",
                  1, 3600, 1, 0 },
                { "[retrain]\ninterval = 366d\nmin_history = 366d\ntime_budget = 1d\nmin_gain_pct = 50\n",
                  366 * 86400.0, 366 * 86400.0, 86400, 0.5 },
                { "[retrain]\ninterval = 6h\nmin_history = 3d\ntime_budget = 2m\nmin_gain_pct = 2.5\n",
                  6 * 3600, 3 * 86400, 120, 0.025 },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autoptr(AugurConfig) c = load_ok (base, rows[i].text, i);

                g_assert_cmpfloat_with_epsilon (c->retrain_interval_s, rows[i].interval_s, 1e-9);
                g_assert_cmpfloat_with_epsilon (c->retrain_min_history_s, rows[i].min_history_s, 1e-9);
                g_assert_cmpfloat_with_epsilon (c->retrain_budget_s, rows[i].budget_s, 1e-9);
                g_assert_cmpfloat_with_epsilon (c->retrain_min_gain, rows[i].min_gain, 1e-9);
        }
}

/* [forecast] memory_price_per_gib: the default, 0 (coverage mode) and the
 * edges of the range (N); the out-of-range rows are in test_bad_values. */
static void
test_forecast_price (void)
{
        g_autoptr(AugurConfig) base = augur_config_new_default ();
        static const struct {
                const char *text;
                double price;
        } rows[] = {
                { "", 2 },
                { "[forecast]\nmemory_price_per_gib = 0\n", 0 },
                { "[forecast]\nmemory_price_per_gib = 0.0001\n", 0.0001 },
                { "[forecast]\nmemory_price_per_gib = 10000\n", 10000 },
                { "[forecast]\nmemory_price_per_gib = 0.5\n", 0.5 },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autoptr(AugurConfig) c = load_ok (base, rows[i].text, i);

                g_assert_cmpfloat_with_epsilon (c->price_per_gib, rows[i].price, 1e-12);
        }
}

/* [forecast] precursor_bound: the default, and the spellings of off and on. */
static void
test_forecast_precursor (void)
{
        g_autoptr(AugurConfig) base = augur_config_new_default ();
        static const struct {
                const char *text;
                gboolean on;
        } rows[] = {
                { "", TRUE },
                { "[forecast]\nprecursor_bound = false\n", FALSE },
                { "[forecast]\nprecursor_bound = No\n", FALSE },
                { "[forecast]\nprecursor_bound = 0\n", FALSE },
                { "[forecast]\nprecursor_bound = off\n", FALSE },
                { "[forecast]\nprecursor_bound = true\n", TRUE },
                { "[forecast]\nprecursor_bound = yes\n", TRUE },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autoptr(AugurConfig) c = load_ok (base, rows[i].text, i);

                g_assert_cmpint (c->precursor_bound, ==, rows[i].on);
        }
}

/* [metrics] names: off unless asked for (metrics.h, WHO SEES WHAT). */
static void
test_metrics_names (void)
{
        g_autoptr(AugurConfig) base = augur_config_new_default ();
        static const struct {
                const char *text;
                gboolean on;
        } rows[] = {
                { "", FALSE },
                { "[metrics]\nport = 9848\n", FALSE },
                { "[metrics]\nnames = false\n", FALSE },
                { "[metrics]\nnames = true\n", TRUE },
                { "[metrics]\nnames = yes\n", TRUE },
        };

        g_assert_false (base->metrics_names);
        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autoptr(AugurConfig) c = load_ok (base, rows[i].text, i);

                g_assert_cmpint (c->metrics_names, ==, rows[i].on);
        }
}

/* Every row of the key table (augur-config.c THE KEY TABLE) has a case
 * here: a value in the file's unit lands in its field in the field's unit.
 * The rows are checked against the table itself, so a key added without a
 * case fails this test. */
static void
test_every_key (void)
{
        typedef enum { STR, DBL, INT, I64, BOOL } Kind;
        static const struct {
                const char *group, *key, *value;
                Kind kind;
                gsize offset;
                double want;              /* DBL, INT, I64, BOOL */
                const char *want_str;     /* STR */
        } rows[] = {
#define O(f) G_STRUCT_OFFSET (AugurConfig, f)
                { "daemon", "uri", "test:///default", STR, O (uri), 0, "test:///default" },
                { "daemon", "tick_seconds", "2.5", DBL, O (tick_s), 2.5 },
                { "daemon", "mode", "recommend", INT, O (mode), AUGUR_MODE_RECOMMEND },
                { "daemon", "policy", "reactive", INT, O (policy), AUGUR_POLICY_REACTIVE },
                { "daemon", "socket", "/tmp/a.sock", STR, O (socket_path), 0, "/tmp/a.sock" },
                { "daemon", "model", "/tmp/m.augur", STR, O (model_path), 0, "/tmp/m.augur" },
                { "daemon", "balloon_period_seconds", "1m", INT, O (balloon_period_s), 60 },
                { "daemon", "keepalive_interval_seconds", "600", INT, O (keepalive_interval_s), 600 },
                { "daemon", "keepalive_count", "1", INT, O (keepalive_count), 1 },
                { "store", "db", "/tmp/h.db", STR, O (db_path), 0, "/tmp/h.db" },
                { "store", "raw_retention", "10m", I64, O (raw_keep_s), 600 },
                { "store", "rollup_retention", "3660d", I64, O (rollup_keep_s), 3660 * 86400.0 },
                { "policy", "headroom_mib", "1048576", DBL, O (headroom_kib), 1048576 * 1024.0 },
                { "policy", "reserve_mib", "0.5", DBL, O (reserve_kib), 512 },
                { "policy", "shrink_step_mib", "1", DBL, O (shrink_step_kib), 1024 },
                { "policy", "shrink_sustain", "1d", DBL, O (shrink_sustain_s), 86400 },
                { "policy", "shrink_cooldown", "0", DBL, O (shrink_cooldown_s), 0 },
                { "policy", "lead_margin", "1h", DBL, O (lead_margin_s), 3600 },
                { "policy", "target_util_pct", "10", DBL, O (target_util), 0.1 },
                { "forecast", "memory_price_per_gib", "0", DBL, O (price_per_gib), 0 },
                { "forecast", "precursor_bound", "off", BOOL, O (precursor_bound), FALSE },
                { "forecast", "width_halflife", "3h", DBL, O (width_halflife_s), 3 * 3600 },
                { "host", "mem_budget_mib", "1536", DBL, O (host_budget_kib), 1536 * 1024.0 },
                { "host", "io_budget_mib_s", "120", DBL, O (io_budget_mib_s), 120 },
                { "host", "cpu_weight_budget", "8192", DBL, O (cpu_weight_budget), 8192 },
                { "host", "reserve_mib", "0", DBL, O (host_reserve_kib), 0 },
                { "host", "cushion_free_low_pct", "0", DBL, O (cushion_free_low), 0 },
                { "host", "cushion_free_high_pct", "100", DBL, O (cushion_free_high), 1 },
                { "host", "plan_interval", "0", DBL, O (host_plan_interval_s), 0 },
                { "host", "plan_history", "2w", DBL, O (host_plan_history_s), 14 * 86400 },
                { "api", "group", "adm", STR, O (api_group), 0, "adm" },
                { "api", "mode", "0600", INT, O (api_mode), 0600 },
                { "metrics", "port", "9848", INT, O (metrics_port), 9848 },
                { "metrics", "bind", "127.0.0.1, ::1", STR, O (metrics_bind), 0, "127.0.0.1, ::1" },
                { "metrics", "names", "yes", BOOL, O (metrics_names), TRUE },
                { "retrain", "interval", "1w", DBL, O (retrain_interval_s), 7 * 86400 },
                { "retrain", "min_history", "1h", DBL, O (retrain_min_history_s), 3600 },
                { "retrain", "time_budget", "1d", DBL, O (retrain_budget_s), 86400 },
                { "retrain", "min_gain_pct", "50", DBL, O (retrain_min_gain), 0.5 },
                { "guests", "include", "db-* tag:prod", STR, O (guests_include), 0, "db-* tag:prod" },
                { "guests", "exclude", "test-*, uuid:0123*", STR, O (guests_exclude), 0, "test-*, uuid:0123*" },
#undef O
        };
        g_autoptr(AugurConfig) base = augur_config_new_default ();

        for (gsize k = 0; k < augur_config_n_keys (); k++) {
                const char *group, *key, *help;
                gboolean found = FALSE;

                augur_config_key_at (k, &group, &key, &help);
                g_test_message ("table row %zu: [%s] %s (%s)", k, group, key, help);
                g_assert_nonnull (help);
                for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
                        found |= strcmp (rows[i].group, group) == 0 && strcmp (rows[i].key, key) == 0;
                g_assert_true (found);
        }
        g_assert_cmpuint (G_N_ELEMENTS (rows), ==, augur_config_n_keys ());
        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autofree char *text = g_strdup_printf ("[%s]\n%s = %s\n", rows[i].group, rows[i].key, rows[i].value);
                g_autoptr(AugurConfig) c = load_ok (base, text, i);
                gconstpointer f = G_STRUCT_MEMBER_P (c, rows[i].offset);

                g_test_message ("[%s] %s = %s", rows[i].group, rows[i].key, rows[i].value);
                switch (rows[i].kind) {
                case STR:
                        g_assert_cmpstr (*(char *const *) f, ==, rows[i].want_str);
                        break;
                case DBL:
                        g_assert_cmpfloat_with_epsilon (*(const double *) f, rows[i].want, 1e-12);
                        break;
                case INT:
                        g_assert_cmpint (*(const int *) f, ==, (int) rows[i].want);
                        break;
                case I64:
                        g_assert_cmpint (*(const gint64 *) f, ==, (gint64) rows[i].want);
                        break;
                case BOOL:
                        g_assert_cmpint (*(const gboolean *) f, ==, (gboolean) rows[i].want);
                        break;
                }
        }
}

/* The limits of the keys test_bad_values has no row for, at N+1 or N-1
 * (N itself loads in test_every_key), and the rules across keys. */
static void
test_more_bad_values (void)
{
        static const struct {
                const char *text;
                const char *message;      /* all of it, after "PATH: " */
        } rows[] = {
                { "[daemon]\nkeepalive_interval_seconds = 0\n",
                  "daemon.keepalive_interval_seconds = 0 is out of range (allowed: 1 to 600 seconds)" },
                { "[daemon]\nkeepalive_interval_seconds = 601\n",
                  "daemon.keepalive_interval_seconds = 601 is out of range (allowed: 1 to 600 seconds)" },
                { "[daemon]\nkeepalive_interval_seconds = 5s\n",
                  "daemon.keepalive_interval_seconds = 5s is not an integer" },
                { "[daemon]\nkeepalive_count = 101\n",
                  "daemon.keepalive_count = 101 is out of range (allowed: 1 to 100)" },
                { "[daemon]\nuri =\n", "daemon.uri = \"\" is out of range (allowed: a libvirt URI)" },
                { "[store]\ndb =\n", "store.db = \"\" is out of range (allowed: a file path)" },
                { "[store]\nraw_retention = 367d\n",
                  "store.raw_retention = 31708800s is out of range (allowed: 10m to 366d)" },
                { "[store]\nrollup_retention = 3661d\n",
                  "store.rollup_retention = 316310400s is out of range (allowed: at least "
                  "store.raw_retention, at most 10 years)" },
                { "[policy]\nreserve_mib = 1048577\n",
                  "policy.reserve_mib = 1048577 is out of range (allowed: 0 to 1048576 MiB)" },
                { "[policy]\nshrink_step_mib = 0.99\n",
                  "policy.shrink_step_mib = 1 is out of range (allowed: 1 to 1048576 MiB)" },
                { "[policy]\nshrink_cooldown = 86401\n",
                  "policy.shrink_cooldown = 86401s is out of range (allowed: 0 to 1d)" },
                { "[policy]\nlead_margin = 3601\n",
                  "policy.lead_margin = 3601s is out of range (allowed: 0 to 1h)" },
                { "[policy]\ntarget_util_pct = 100.5\n",
                  "policy.target_util_pct = 100 is out of range (allowed: 10 to 100)" },
                { "[host]\nreserve_mib = -1\n",
                  "host.mem_budget_mib = negative is out of range (allowed: 0 (auto) or more)" },
                { "[host]\ncushion_free_low_pct = 30\n",
                  "host.cushion_free_low_pct = 30 and 30 is out of range (allowed: 0 <= low < high <= 100)" },
                { "[host]\ncushion_free_high_pct = 101\n",
                  "host.cushion_free_low_pct = 10 and 101 is out of range (allowed: 0 <= low < high <= 100)" },
                { "[host]\ncushion_free_high_pct = high\n",
                  "host.cushion_free_high_pct = high is not a decimal number" },
                { "[api]\nmode = 0700\n",
                  "api.mode = 0700 is out of range (allowed: 0600 to 0666 (octal), with owner read-write)" },
                { "[daemon]\nmode = ACT\n",
                  "daemon.mode = ACT is out of range (allowed: auto, observe, recommend, act)" },
                { "[daemon]\npolicy = magic\n",
                  "daemon.policy = magic is out of range (allowed: augur, reactive)" },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autoptr(AugurConfig) base = augur_config_new_default ();
                g_autofree char *path = write_conf (rows[i].text);
                g_autofree char *want = g_strdup_printf ("%s: %s", path, rows[i].message);
                g_autoptr(GError) error = NULL;
                g_autoptr(AugurConfig) c = augur_config_load (base, path, FALSE, &error);

                g_test_message ("row %zu: %s", i, error ? error->message : "(no error)");
                g_assert_null (c);
                g_assert_nonnull (error);
                g_assert_cmpstr (error->message, ==, want);
                g_unlink (path);
        }
}

/* The unknown-key warning lists the section's keys from the key table, in
 * its order, for every section. */
static void
test_unknown_key_lists (void)
{
        g_autoptr(AugurConfig) base = augur_config_new_default ();
        g_autoptr(GHashTable) lists = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                             (GDestroyNotify) g_ptr_array_unref);
        GHashTableIter it;
        gpointer group, list;

        for (gsize k = 0; k < augur_config_n_keys (); k++) {
                const char *g, *key, *help;
                GPtrArray *a;

                augur_config_key_at (k, &g, &key, &help);
                if (!(a = g_hash_table_lookup (lists, g)))
                        g_hash_table_insert (lists, (gpointer) g, (a = g_ptr_array_new ()));
                g_ptr_array_add (a, (gpointer) key);
        }
        g_assert_cmpuint (g_hash_table_size (lists), ==, 9);
        g_hash_table_iter_init (&it, lists);
        while (g_hash_table_iter_next (&it, &group, &list)) {
                GPtrArray *a = list;
                g_autofree char *text = g_strdup_printf ("[%s]\nno_such_key = 1\n", (char *) group);
                g_autofree char *path = write_conf (text);
                g_autofree char *joined = NULL, *want = NULL;
                g_auto(GStrv) warnings = NULL;
                g_autoptr(GError) error = NULL;
                g_autoptr(AugurConfig) c = augur_config_load_full (base, path, FALSE, &warnings, &error);

                g_ptr_array_add (a, NULL);
                joined = g_strjoinv (", ", (char **) a->pdata);
                want = g_strdup_printf ("%s:2: [%s] no_such_key: unknown key, ignoring (the section has: %s)",
                                        path, (char *) group, joined);
                g_assert_no_error (error);
                g_assert_nonnull (c);
                g_assert_cmpuint (g_strv_length (warnings), ==, 1);
                g_assert_cmpstr (warnings[0], ==, want);
                g_unlink (path);
        }
}

/* The shipped config names every key, commented out, in its section
 * (STYLE: every key at its compiled-in default, with its unit and reason). */
static void
test_shipped_file_complete (void)
{
        g_autofree char *path = g_build_filename (g_getenv ("AUGUR_TOP_BUILDDIR") ? g_getenv ("AUGUR_TOP_BUILDDIR") : "..",
                                                  "data", "augur.conf", NULL);
        g_autofree char *text = NULL;
        g_auto(GStrv) lines = NULL;

        if (!g_file_get_contents (path, &text, NULL, NULL)) {
                g_test_skip ("data/augur.conf is not built");
                return;
        }
        lines = g_strsplit (text, "\n", -1);
        for (gsize k = 0; k < augur_config_n_keys (); k++) {
                const char *group, *key, *help;
                g_autofree char *section = NULL, *line = NULL;
                const char *current = NULL;
                gboolean found = FALSE;

                augur_config_key_at (k, &group, &key, &help);
                section = g_strdup_printf ("[%s]", group);
                line = g_strdup_printf ("#%s=", key);
                for (guint l = 0; lines[l]; l++) {
                        if (lines[l][0] == '[')
                                current = lines[l];
                        if (current && strcmp (current, section) == 0 && g_str_has_prefix (lines[l], line))
                                found = TRUE;
                }
                g_test_message ("%s %s: %s", section, key, found ? "shipped" : "missing");
                g_assert_true (found);
        }
}

static void
test_missing_file (void)
{
        g_autoptr(AugurConfig) base = augur_config_new_default ();
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurConfig) ok = augur_config_load (base, "/nonexistent/augur.conf", TRUE, &error);
        g_autoptr(AugurConfig) bad = NULL;

        g_assert_no_error (error);
        g_assert_nonnull (ok);
        bad = augur_config_load (base, "/nonexistent/augur.conf", FALSE, &error);
        g_assert_null (bad);
        g_assert_nonnull (strstr (error->message, "/nonexistent/augur.conf"));
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/config/defaults", test_defaults);
        g_test_add_func ("/config/full-file", test_full_file);
        g_test_add_func ("/config/bad-values", test_bad_values);
        g_test_add_func ("/config/boundaries", test_boundaries);
        g_test_add_func ("/config/missing-file", test_missing_file);
        g_test_add_func ("/config/retrain-keys", test_retrain_keys);
        g_test_add_func ("/config/forecast-price", test_forecast_price);
        g_test_add_func ("/config/forecast-precursor", test_forecast_precursor);
        g_test_add_func ("/config/balloon-period", test_balloon_period);
        g_test_add_func ("/config/decimal-only", test_decimal_only);
        g_test_add_func ("/config/unknown-keys", test_unknown_keys);
        g_test_add_func ("/config/shipped-file-known", test_shipped_file_known);
        g_test_add_func ("/config/not-regular", test_not_regular);
        g_test_add_func ("/config/metrics-names", test_metrics_names);
        g_test_add_func ("/config/every-key", test_every_key);
        g_test_add_func ("/config/more-bad-values", test_more_bad_values);
        g_test_add_func ("/config/unknown-key-lists", test_unknown_key_lists);
        g_test_add_func ("/config/shipped-file-complete", test_shipped_file_complete);
        return g_test_run ();
}
