/* test-config.c — config parsing and validation (plugin/augur-config.c):
 * defaults, every key, and errors that name the file, key and range. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "augur-config.h"

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
                g_unlink (path);
        }
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
        return g_test_run ();
}
