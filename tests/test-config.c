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
 * the file, the section and the key; the config still loads. */
static void
test_unknown_keys (void)
{
        g_autoptr(AugurConfig) base = augur_config_new_default ();
        g_autofree char *path = write_conf (
                "[daemon]\nuri = test:///default\ntick = 1\n"
                "[policy]\nheadroom_mib = 48\n"
                "[polcy]\nreserve_mib = 10\n");
        g_auto(GStrv) warnings = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurConfig) c = augur_config_load_full (base, path, FALSE, &warnings, &error);

        g_assert_no_error (error);
        g_assert_nonnull (c);
        g_assert_cmpstr (c->uri, ==, "test:///default");
        g_assert_cmpfloat (c->tick_s, ==, 5);                 /* "tick" is not tick_seconds */
        g_assert_cmpuint (g_strv_length (warnings), ==, 2);
        for (guint i = 0; warnings[i]; i++)
                g_test_message ("warning: %s", warnings[i]);
        g_assert_true (g_str_has_prefix (warnings[0], path));
        g_assert_nonnull (strstr (warnings[0], "[daemon] tick: unknown key"));
        g_assert_nonnull (strstr (warnings[0], "tick_seconds"));          /* what it could have been */
        g_assert_true (g_str_has_prefix (warnings[1], path));
        g_assert_nonnull (strstr (warnings[1], "[polcy] reserve_mib: unknown section"));
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
        return g_test_run ();
}
