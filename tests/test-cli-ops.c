/* test-cli-ops.c — the pure parts of virt-augur's operator commands:
 * policy key=value edits (virsh-ext/policy-edit.c, on vm.c's rules), the
 * plot drawing (virsh-ext/plot.c) on recording, SVG and PNG surfaces, the
 * top screen (virsh-ext/top-render.c), and the option-table parser and
 * its generated help (virsh-ext/cmd-opts.c), also through the built
 * virt-augur's own tables. */
#include "config.h"

#include <cairo.h>
#include <cairo-svg.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>

#include "cli-json.h"
#include "cmd-opts.h"
#include "plot.h"
#include "policy-edit.h"
#include "top-render.h"
#include "forecast.h"

#include <json-glib/json-glib.h>

/* ---- policy ---- */

static void
test_policy_apply (void)
{
        AugurVmPolicy p;
        g_autoptr(GError) error = NULL;
        char *set[] = { "mode=act", "mem_min_mib=256", "mem_max_mib = 1024", "vcpus_max=2",
                        "target_util_pct=60", "quantile=0.9", NULL };
        char *unset[] = { "mode=", "mem_min_mib=", NULL };
        g_autofree char *xml = NULL;
        AugurVmPolicy back;

        augur_vm_policy_init (&p);
        g_assert_true (augur_cli_policy_apply (&p, set, 2048 * 1024, 4, &error));
        g_assert_no_error (error);
        g_assert_true (p.mode_set);
        g_assert_cmpint (p.mode, ==, AUGUR_MODE_ACT);
        g_assert_cmpfloat (p.mem_min_kib, ==, 256 * 1024);
        g_assert_cmpfloat (p.mem_max_kib, ==, 1024 * 1024);
        g_assert_cmpint (p.vcpus_max, ==, 2);
        g_assert_cmpfloat_with_epsilon (p.target_util, 0.6, 1e-9);
        /* what is stored parses back to the same policy (augurd's reader) */
        xml = augur_vm_policy_to_xml (&p);
        g_assert_true (augur_vm_policy_parse (xml, &back, NULL));
        for (gsize i = 0; i < AUGUR_VM_KEY_N; i++) {
                g_autofree char *a = augur_vm_policy_value (&p, &augur_vm_keys[i]);
                g_autofree char *b = augur_vm_policy_value (&back, &augur_vm_keys[i]);

                g_assert_cmpstr (a, ==, b);
        }
        g_assert_true (augur_cli_policy_apply (&p, unset, 0, 0, &error));
        g_assert_false (p.mode_set);
        g_assert_true (isnan (p.mem_min_kib));
        g_assert_cmpfloat (p.mem_max_kib, ==, 1024 * 1024);
        {
                g_autofree char *v = augur_vm_policy_value (&p, augur_vm_key ("mode"));

                g_assert_null (v);
        }
}

static void
test_policy_refused (void)
{
        static const struct {
                const char *set[3];
                const char *message_part;
        } rows[] = {
                { { "mode=fast" }, "auto, observe, recommend, act" },
                { { "mem_min_mib=15" }, "16 to 16777216 MiB" },             /* N-1 */
                { { "vcpus_max=0" }, "an integer from 1 to 4096" },
                { { "vcpus_max=1.5" }, "an integer from 1 to 4096" },
                { { "quantile=1" }, "0.5 to 0.999" },
                { { "target_util_pct=9" }, "10 to 100" },
                { { "priority=-1" }, "an integer from 1 to 1000000" },
                { { "colour=blue" }, "unknown policy key 'colour'" },
                { { "colour=" }, "unknown policy key 'colour'" },
                { { "mode" }, "is not key=value" },
                { { "=act" }, "is not key=value" },
                { { "mem_min_mib=512", "mem_max_mib=256" }, "mem_min_mib (512) is above mem_max_mib (256)" },
                { { "vcpus_min=3", "vcpus_max=2" }, "vcpus_min (3) is above vcpus_max (2)" },
                { { "vcpus_min=5" }, "above the domain's <vcpu> (4)" },            /* N+1 */
                { { "mem_min_mib=2049" }, "above the domain's <memory> (2048 MiB)" },
                /* maxima above the domain's did nothing (augurd takes the
                 * smaller): refused, with both numbers */
                { { "mem_max_mib=2049" }, "mem_max_mib (2049) is above the domain's <memory> (2048 MiB)" },
                { { "vcpus_max=5" }, "vcpus_max (5) is above the domain's <vcpu> (4)" },
                { { "mode=act", "quantile=2" }, "0.5 to 0.999" },           /* all or nothing */
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                AugurVmPolicy p;
                g_autoptr(GError) error = NULL;

                g_test_message ("row %zu: %s %s", i, rows[i].set[0], rows[i].set[1] ? rows[i].set[1] : "");
                augur_vm_policy_init (&p);
                g_assert_false (augur_cli_policy_apply (&p, (char **) rows[i].set, 2048 * 1024, 4, &error));
                g_assert_nonnull (error);
                g_test_message ("  -> %s", error->message);
                g_assert_nonnull (strstr (error->message, rows[i].message_part));
                /* p is untouched on failure */
                g_assert_false (p.mode_set);
                g_assert_true (isnan (p.quantile));
        }
}

static void
test_policy_limits_edges (void)
{
        AugurVmPolicy p;
        g_autoptr(GError) error = NULL;
        char *at[] = { "vcpus_min=4", "mem_min_mib=2048", "vcpus_max=4", "mem_max_mib=2048", NULL };  /* N */
        char *max_above[] = { "vcpus_max=64", "mem_max_mib=65536", NULL };

        augur_vm_policy_init (&p);
        g_assert_true (augur_cli_policy_apply (&p, at, 2048 * 1024, 4, &error));
        g_assert_no_error (error);
        /* above the domain's maximum: refused (the set key names the way out) */
        g_assert_false (augur_cli_policy_apply (&p, max_above, 2048 * 1024, 4, &error));
        g_assert_nonnull (strstr (error->message, "mem_max_mib (65536) is above the domain's <memory> (2048 MiB)"));
        g_assert_nonnull (strstr (error->message, "set at most 2048, or remove the key with mem_max_mib="));
        g_clear_error (&error);
        /* unknown limits (<= 0) are not checked */
        g_assert_true (augur_cli_policy_apply (&p, max_above, 0, 0, &error));
        g_assert_no_error (error);
}

/* What `policy` shows for each key: set ones from the metadata, unset
 * ones with the value augurd uses and where it comes from (augur.conf,
 * augurd's default, the domain). */
static void
test_policy_in_effect (void)
{
        g_autoptr(AugurConfig) conf = augur_config_new_default ();
        const char *const conf_set[] = { "daemon.mode", "policy.target_util_pct", NULL };
        AugurPolicyDefaults def = { conf, conf_set, 2048 * 1024, 4 };
        static const struct {
                const char *key, *value, *from;
        } unset[] = {
                { "mode", "observe", "augur.conf [daemon] mode" },
                { "mem_min_mib", NULL, "no minimum: the floor is used memory + reserve_mib = 64 MiB, "
                                       "augurd's default ([policy] reserve_mib)" },
                { "mem_max_mib", "2048", "the domain's <memory>" },
                { "vcpus_min", "1", "augurd's default" },
                { "vcpus_max", "4", "the domain's <vcpu>" },
                { "priority", "1000", "augurd's default" },
                { "target_util_pct", "60", "augur.conf [policy] target_util_pct" },
                { "quantile", NULL, "not used by augurd: its memory bound follows memory_price_per_gib = 2, "
                                    "augurd's default ([forecast] memory_price_per_gib)" },
                { "tags", NULL, "no tags: [guests] include and exclude match it by name and UUID only" },
                { "io_max_mib_s", NULL, "unset: augurd never raises this guest's disk limits" },
                { "net_max_mib_s", NULL, "unset: augurd never raises this guest's network limits" },
                { "cpu_weight_max", NULL, "unset: augurd never raises this guest's CPU weight" },
                { "io_max_iops", NULL, "unset: augurd never raises this guest's disk IOPS limits" },
        };
        char *set[] = { "mode=act", "mem_max_mib=1024", "quantile=0.9", NULL };
        AugurVmPolicy p;

        conf->mode = AUGUR_MODE_OBSERVE;
        conf->target_util = 0.6;
        augur_vm_policy_init (&p);
        g_assert_cmpuint (G_N_ELEMENTS (unset), ==, AUGUR_VM_KEY_N);
        for (gsize i = 0; i < G_N_ELEMENTS (unset); i++) {
                g_autofree char *v = NULL, *from = NULL;

                augur_cli_policy_in_effect (&p, augur_vm_key (unset[i].key), &def, &v, &from);
                g_test_message ("%s %s %s", unset[i].key, v, from);
                g_assert_cmpstr (v, ==, unset[i].value);
                g_assert_cmpstr (from, ==, unset[i].from);
        }
        g_assert_true (augur_cli_policy_apply (&p, set, 2048 * 1024, 4, NULL));
        for (gsize i = 0; i < 3; i++) {
                static const char *const keys[] = { "mode", "mem_max_mib", "quantile" };
                static const char *const values[] = { "act", "1024", "0.900" };
                g_autofree char *v = NULL, *from = NULL;

                augur_cli_policy_in_effect (&p, augur_vm_key (keys[i]), &def, &v, &from);
                g_assert_cmpstr (v, ==, values[i]);
                g_assert_true (g_str_has_prefix (from, "metadata"));
        }
}

/* ---- plot ---- */

static AugurPlotData *
plot_data (void)
{
        AugurPlotData *d = augur_plot_data_new ("vm1 test");
        double t0 = 1700000000;

        for (int i = 0; i < 120; i++) {
                AugurPlotPoint p = { t0 + 5 * i, 200 + 100 * sin (i / 10.0), i < 60 ? 512 : 768,
                                     0.2 + 0.1 * (i % 7), i < 90 ? 1 : 2 };

                if (i == 30)
                        p.mem_used_mib = NAN;          /* a gap */
                g_array_append_val (d->points, p);
        }
        for (int i = 10; i < 120; i++) {
                AugurPlotBand b = { t0 + 5 * i, 250, 400, 0.4, 0.9 };

                g_array_append_val (d->band, b);
        }
        for (int h = 1; h <= 12; h++) {
                AugurPlotBand b = { t0 + 600 + 5 * h, 260, 420 + h, 0.5, 1.0 };

                g_array_append_val (d->band, b);
        }
        {
                AugurPlotMarker grow = { t0 + 300, FALSE, AUGUR_PLOT_MARK_GROW, 768 };
                AugurPlotMarker shrink = { t0 + 500, FALSE, AUGUR_PLOT_MARK_SHRINK, 640 };
                AugurPlotMarker up = { t0 + 450, TRUE, AUGUR_PLOT_MARK_GROW, 2 };
                AugurPlotMarker rec = { t0 + 200, FALSE, AUGUR_PLOT_MARK_OTHER, 700 };

                g_array_append_val (d->markers, grow);
                g_array_append_val (d->markers, shrink);
                g_array_append_val (d->markers, up);
                g_array_append_val (d->markers, rec);
        }
        return d;
}

static cairo_status_t
to_gstring (void *closure, const unsigned char *data, unsigned int length)
{
        g_string_append_len (closure, (const char *) data, length);
        return CAIRO_STATUS_SUCCESS;
}

/* cairo's SVG surface writes a solid colour as rgb(R%,G%,B%) with up to six
 * decimals, trailing zeros trimmed. */
static char *
svg_colour (int r, int g, int b)
{
        char parts[3][32];
        int v[3] = { r, g, b };

        for (int i = 0; i < 3; i++) {
                char *dot;

                g_snprintf (parts[i], sizeof parts[i], "%f", v[i] * 100.0 / 255.0);
                dot = strchr (parts[i], '.');
                if (dot) {
                        char *end = parts[i] + strlen (parts[i]) - 1;

                        while (end > dot && *end == '0')
                                *end-- = '\0';
                        if (end == dot)
                                *end = '\0';
                }
        }
        return g_strdup_printf ("rgb(%s%%,%s%%,%s%%)", parts[0], parts[1], parts[2]);
}

static void
test_plot_recording (void)
{
        g_autoptr(AugurPlotData) d = plot_data ();
        g_autoptr(AugurPlotData) empty = augur_plot_data_new (NULL);
        cairo_rectangle_t extents = { 0, 0, 800, 500 };
        cairo_surface_t *rec = cairo_recording_surface_create (CAIRO_CONTENT_COLOR_ALPHA, &extents);
        cairo_t *cr = cairo_create (rec);
        double x, y, w, h;

        augur_plot_draw (cr, d, 800, 500);
        g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
        cairo_destroy (cr);
        cairo_recording_surface_ink_extents (rec, &x, &y, &w, &h);
        g_assert_cmpfloat (w, >, 700);
        g_assert_cmpfloat (h, >, 400);
        cairo_surface_destroy (rec);

        /* empty data: empty axes, no error, no NaN geometry */
        rec = cairo_recording_surface_create (CAIRO_CONTENT_COLOR_ALPHA, &extents);
        cr = cairo_create (rec);
        augur_plot_draw (cr, empty, 800, 500);
        g_assert_cmpint (cairo_status (cr), ==, CAIRO_STATUS_SUCCESS);
        cairo_destroy (cr);
        cairo_surface_destroy (rec);
}

static void
test_plot_svg_layers (void)
{
        g_autoptr(AugurPlotData) d = plot_data ();
        g_autoptr(GString) svg = g_string_new (NULL);
        cairo_surface_t *s = cairo_svg_surface_create_for_stream (to_gstring, svg, 800, 500);
        cairo_t *cr = cairo_create (s);
        g_autofree char *used = svg_colour (AUGUR_PLOT_RGB_USED);
        g_autofree char *band = svg_colour (AUGUR_PLOT_RGB_BAND);
        g_autofree char *grow = svg_colour (AUGUR_PLOT_RGB_GROW);
        g_autofree char *shrink = svg_colour (AUGUR_PLOT_RGB_SHRINK);
        g_autofree char *other = svg_colour (AUGUR_PLOT_RGB_OTHER);
        g_autoptr(AugurPlotData) no_markers = plot_data ();
        g_autoptr(GString) svg2 = g_string_new (NULL);

        augur_plot_draw (cr, d, 800, 500);
        cairo_destroy (cr);
        cairo_surface_finish (s);
        g_assert_cmpint (cairo_surface_status (s), ==, CAIRO_STATUS_SUCCESS);
        cairo_surface_destroy (s);
        g_assert_true (g_str_has_prefix (svg->str, "<?xml"));
        g_assert_nonnull (strstr (svg->str, "<svg"));
        g_test_message ("looking for %s %s %s %s %s", used, band, grow, shrink, other);
        g_assert_nonnull (strstr (svg->str, used));
        g_assert_nonnull (strstr (svg->str, band));
        g_assert_nonnull (strstr (svg->str, grow));
        g_assert_nonnull (strstr (svg->str, shrink));
        g_assert_nonnull (strstr (svg->str, other));

        /* Without markers and band, only the legend shows their colours:
         * each appears exactly once (so the checks above saw the data). */
        g_array_set_size (no_markers->markers, 0);
        g_array_set_size (no_markers->band, 0);
        s = cairo_svg_surface_create_for_stream (to_gstring, svg2, 800, 500);
        cr = cairo_create (s);
        augur_plot_draw (cr, no_markers, 800, 500);
        cairo_destroy (cr);
        cairo_surface_destroy (s);
        {
                const char *first = strstr (svg2->str, grow);

                g_assert_nonnull (first);
                g_assert_null (strstr (first + 1, grow));
                first = strstr (svg->str, grow);
                g_assert_nonnull (strstr (first + 1, grow));
        }
}

static char *
plot_svg (const AugurPlotData *d)
{
        g_autoptr(GString) svg = g_string_new (NULL);
        cairo_surface_t *s = cairo_svg_surface_create_for_stream (to_gstring, svg, 800, 600);
        cairo_t *cr = cairo_create (s);

        augur_plot_draw (cr, d, 800, 600);
        cairo_destroy (cr);
        cairo_surface_finish (s);
        g_assert_cmpint (cairo_surface_status (s), ==, CAIRO_STATUS_SUCCESS);
        cairo_surface_destroy (s);
        return g_string_free (g_steal_pointer (&svg), FALSE);
}

/* The I/O panel: drawn (its four colours) when a point has a disk or
 * network rate, absent without one (the two-panel picture as before). */
static void
test_plot_io_panel (void)
{
        g_autoptr(AugurPlotData) d = plot_data ();
        g_autofree char *without = plot_svg (d);
        g_autofree char *with = NULL;
        g_autofree char *wr = svg_colour (AUGUR_PLOT_RGB_DISK_WR);
        g_autofree char *rx = svg_colour (AUGUR_PLOT_RGB_NET_RX);
        g_autofree char *tx = svg_colour (AUGUR_PLOT_RGB_NET_TX);

        g_assert_null (strstr (without, wr));
        g_assert_null (strstr (without, rx));
        g_assert_null (strstr (without, tx));
        for (guint i = 0; i < d->points->len; i++) {
                AugurPlotPoint *p = &g_array_index (d->points, AugurPlotPoint, i);

                p->disk_rd_mib_s = i % 30 < 5 ? 40 : 0.1;
                p->disk_wr_mib_s = 0.5;
                p->net_rx_mib_s = i == 50 ? NAN : 1;
                p->net_tx_mib_s = 2;
        }
        with = plot_svg (d);
        g_assert_nonnull (strstr (with, wr));
        g_assert_nonnull (strstr (with, rx));
        g_assert_nonnull (strstr (with, tx));
        g_assert_nonnull (strstr (without, "<svg"));
}

static void
test_plot_write (void)
{
        g_autoptr(AugurPlotData) d = plot_data ();
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("augur-plot-XXXXXX", NULL);
        g_autofree char *png = g_build_filename (dir, "vm1.PNG", NULL);
        g_autofree char *svg = g_build_filename (dir, "vm1.svg", NULL);
        g_autofree char *bad = g_build_filename (dir, "vm1.gif", NULL);
        g_autofree char *nodir = g_build_filename (dir, "missing", "vm1.png", NULL);
        g_autofree char *data = NULL;
        gsize len;

        g_assert_true (augur_plot_write (d, png, 640, 400, &error));
        g_assert_no_error (error);
        g_assert_true (g_file_get_contents (png, &data, &len, NULL));
        g_assert_cmpuint (len, >, 1000);
        g_assert_cmpmem (data, 8, "\x89PNG\r\n\x1a\n", 8);
        g_clear_pointer (&data, g_free);
        g_assert_true (augur_plot_write (d, svg, 640, 400, &error));
        g_assert_true (g_file_get_contents (svg, &data, &len, NULL));
        g_assert_nonnull (strstr (data, "<svg"));
        g_assert_false (augur_plot_write (d, bad, 640, 400, &error));
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
        g_clear_error (&error);
        g_assert_false (augur_plot_write (d, nodir, 640, 400, &error));
        g_assert_nonnull (error);
        g_clear_error (&error);
        g_unlink (png);
        g_unlink (svg);
        g_rmdir (dir);
}

/* The x axis says which day it is: the first label and every label on a
 * new day carry the date (they were times alone, "22:13:20"). */
static void
test_plot_time_labels (void)
{
        static const struct {
                double t, prev, span;
                const char *want;
        } rows[] = {
                { 1700000000, NAN, 600, "2023-11-14 22:13:20" },          /* the first */
                { 1700000120, 1700000000, 600, "22:15:20" },              /* same day */
                { 1700006400, 1700006280, 600, "2023-11-15 00:00:00" },   /* a new day */
                { 1700000000, NAN, 86400, "2023-11-14 22:13:20" },        /* a day: seconds */
                { 1700000720, 1700000000, 86400, "22:25:20" },
                { 1700000000, NAN, 2 * 86400, "2023-11-14 22:13" },       /* more: minutes */
                { 1700003600, 1700000000, 2 * 86400, "23:13" },
                { 1700034560, 1700000000, 2 * 86400, "2023-11-15 07:49" },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autofree char *label = augur_plot_time_label (rows[i].t, rows[i].prev, rows[i].span);

                g_test_message ("row %zu: %s", i, label);
                g_assert_cmpstr (label, ==, rows[i].want);
        }
}

/* Pixels of exactly colour r, g, b in an RGB24 image surface. */
static guint
count_colour (cairo_surface_t *img, int r, int g, int b)
{
        const guint32 want = (guint32) (r << 16 | g << 8 | b);
        const unsigned char *data;
        int stride, w, h;
        guint n = 0;

        cairo_surface_flush (img);
        data = cairo_image_surface_get_data (img);
        stride = cairo_image_surface_get_stride (img);
        w = cairo_image_surface_get_width (img);
        h = cairo_image_surface_get_height (img);
        for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                        n += (((const guint32 *) (data + y * stride))[x] & 0xffffff) == want;
        return n;
}

/* Grow-coloured pixels of a plot with 60 flat samples over 10 minutes and
 * one grow marker at t (none when t is NAN). */
static guint
grow_pixels (double t)
{
        g_autoptr(AugurPlotData) d = augur_plot_data_new ("markers");
        cairo_surface_t *img = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 800, 500);
        cairo_t *cr = cairo_create (img);
        guint n;

        for (int i = 0; i <= 60; i++) {
                AugurPlotPoint p = { 1700000000 + 10 * i, 200, 512, 0.5, 2 };

                g_array_append_val (d->points, p);
        }
        if (!isnan (t)) {
                AugurPlotMarker m = { t, FALSE, AUGUR_PLOT_MARK_GROW, 300 };

                g_array_append_val (d->markers, m);
        }
        augur_plot_draw (cr, d, 800, 500);
        cairo_destroy (cr);
        n = count_colour (img, AUGUR_PLOT_RGB_GROW);
        cairo_surface_destroy (img);
        return n;
}

/* A marker at either end of the time axis is drawn whole, inside the
 * plot area: the right-most one was cut in half by the panel's clip. */
static void
test_plot_markers_inside (void)
{
        guint legend = grow_pixels (NAN);
        guint mid = grow_pixels (1700000300) - legend;
        guint right = grow_pixels (1700000600) - legend;
        guint left = grow_pixels (1700000000) - legend;

        g_test_message ("grow pixels: legend %u, middle %u, left %u, right %u", legend, mid, left, right);
        g_assert_cmpuint (mid, >, 20);
        g_assert_cmpuint (right, >=, mid - mid / 10);
        g_assert_cmpuint (right, <=, mid + mid / 10);
        g_assert_cmpuint (left, >=, mid - mid / 10);
        g_assert_cmpuint (left, <=, mid + mid / 10);
}

/* ---- JSON (cli-json.c) ---- */

/* Short decimals (json-glib wrote 0.90000000000000002, 2.0 for a count
 * in a double, and "1e+21.0"), every digit of a large value, null for
 * what is not a number, members in the order added, json-glib's layout. */
static void
test_json_writer (void)
{
        static const struct {
                double v;
                const char *want;
        } numbers[] = {
                { 0.9, "0.9" }, { 0.1 + 0.2, "0.3" }, { 2.0, "2" }, { -0.25, "-0.25" },
                { 1.0 / 3, "0.333333" }, { 12345.678, "12345.7" }, { 123456.7, "123457" },
                { 1048576.4, "1048576" }, { 1796612483.0, "1796612483" }, { 1e21, "1e+21" },
                { 0.000123456789, "0.000123457" }, { 0, "0" }, { NAN, "null" }, { INFINITY, "null" },
        };
        g_autoptr(JsonBuilder) b = json_builder_new ();
        g_autoptr(JsonNode) root = NULL;
        g_autofree char *pretty = NULL, *compact = NULL;

        for (gsize i = 0; i < G_N_ELEMENTS (numbers); i++) {
                g_autoptr(JsonNode) n = json_node_init_double (json_node_alloc (), numbers[i].v);
                g_autofree char *text = augur_cli_json_text (n, FALSE);

                g_test_message ("%.17g -> %s", numbers[i].v, text);
                g_assert_cmpstr (text, ==, numbers[i].want);
        }
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "z");
        json_builder_add_int_value (b, G_GINT64_CONSTANT (9007199254740993));
        augur_cli_json_domain (b, "web \"1\"", "00000000-0000-4000-8000-000000000001");
        json_builder_set_member_name (b, "a");
        json_builder_begin_array (b);
        json_builder_add_double_value (b, 0.95);
        json_builder_add_null_value (b);
        json_builder_add_boolean_value (b, TRUE);
        json_builder_add_string_value (b, "tab\tnl\nq\"bs\\\x01é");
        json_builder_end_array (b);
        json_builder_set_member_name (b, "empty");
        json_builder_begin_array (b);
        json_builder_end_array (b);
        json_builder_set_member_name (b, "none");
        json_builder_begin_object (b);
        json_builder_end_object (b);
        json_builder_end_object (b);
        root = json_builder_get_root (b);
        compact = augur_cli_json_text (root, FALSE);
        g_assert_cmpstr (compact, ==, "{\"z\":9007199254740993,\"domain\":{\"name\":\"web \\\"1\\\"\","
                                      "\"uuid\":\"00000000-0000-4000-8000-000000000001\"},"
                                      "\"a\":[0.95,null,true,\"tab\\tnl\\nq\\\"bs\\\\\\u0001é\"],"
                                      "\"empty\":[],\"none\":{}}");
        pretty = augur_cli_json_text (root, TRUE);
        g_assert_cmpstr (pretty, ==, "{\n"
                                     "  \"z\" : 9007199254740993,\n"
                                     "  \"domain\" : {\n"
                                     "    \"name\" : \"web \\\"1\\\"\",\n"
                                     "    \"uuid\" : \"00000000-0000-4000-8000-000000000001\"\n"
                                     "  },\n"
                                     "  \"a\" : [\n"
                                     "    0.95,\n"
                                     "    null,\n"
                                     "    true,\n"
                                     "    \"tab\\tnl\\nq\\\"bs\\\\\\u0001é\"\n"
                                     "  ],\n"
                                     "  \"empty\" : [],\n"
                                     "  \"none\" : {}\n"
                                     "}");
        /* and it parses back to the same values */
        {
                g_autoptr(JsonParser) p = json_parser_new ();
                JsonObject *o;

                g_assert_true (json_parser_load_from_data (p, pretty, -1, NULL));
                o = json_node_get_object (json_parser_get_root (p));
                g_assert_cmpint (json_object_get_int_member (o, "z"), ==, G_GINT64_CONSTANT (9007199254740993));
                g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (o, "domain"), "name"),
                                 ==, "web \"1\"");
                g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (o, "a"), 3), ==,
                                 "tab\tnl\nq\"bs\\\x01é");
        }
}

/* ---- top ---- */

static void
test_top_render (void)
{
        g_autoptr(GString) out = g_string_new (NULL);
        gint64 now_ms = 1700000000000;
        AugurTopRow rows[3] = {
                { .name = g_strdup ("web1"), .state = g_strdup ("running"), .sample_ms = now_ms - 3000,
                  .mem_used_kib = 300 * 1024, .mem_alloc_kib = 512 * 1024, .mem_upper_kib = 420 * 1024,
                  .cpu_cores = 0.5, .cpu_upper_cores = 0.9, .vcpus = 2, .mode = g_strdup ("act"),
                  .last_action = g_strdup ("grow 384->512 MiB"), .last_action_ms = now_ms - 600000 },
                { .name = g_strdup ("a-very-long-guest-name-that-goes-on-and-on"), .sample_ms = -1,
                  .mem_used_kib = NAN, .mem_alloc_kib = NAN, .mem_upper_kib = NAN, .cpu_cores = NAN,
                  .cpu_upper_cores = NAN, .vcpus = -1, .last_action_ms = -1 },
                { .name = g_strdup ("db"), .state = g_strdup ("paused"), .sample_ms = now_ms - 7200 * 1000,
                  .mem_used_kib = 1024, .mem_alloc_kib = 2048, .mem_upper_kib = NAN, .cpu_cores = 0,
                  .cpu_upper_cores = NAN, .vcpus = 1, .last_action_ms = -1 },
        };
        g_auto(GStrv) lines = NULL;

        augur_top_render (out, rows, 3, now_ms, "augurd pid 42");
        g_test_message ("\n%s", out->str);
        lines = g_strsplit (out->str, "\n", -1);
        g_assert_cmpstr (lines[0], ==, "virt-augur top - 2023-11-14 22:13:20 UTC - 3 guests - augurd pid 42");
        g_assert_cmpstr (lines[1], ==, "");
        g_assert_true (g_str_has_prefix (lines[2], "NAME "));
        /* names are cut at 32 columns, so every column stays aligned */
        g_assert_cmpuint (strlen (lines[3]), >, 0);
        g_assert_cmpstr (lines[3], ==,
                         "web1                             running  act           300     512     420  0.50    2  0.90    3s  grow 384->512 MiB (10m ago)");
        g_assert_cmpstr (lines[4], ==,
                         "a-very-long-guest-name-that-goes -        -               -       -       -     -    -     -     -  -");
        g_assert_cmpstr (lines[5], ==,
                         "db                               paused   -               1       2       -  0.00    1     -    2h  -");
        g_assert_cmpstr (lines[6], ==, "");
        for (int i = 0; i < 3; i++)
                augur_top_row_clear (&rows[i]);
        g_assert_null (rows[0].name);
}

static void
test_top_empty (void)
{
        g_autoptr(GString) out = g_string_new (NULL);

        augur_top_render (out, NULL, 0, 0, "database only: augurd not running");
        g_assert_cmpstr (out->str, ==,
                         "virt-augur top - 1970-01-01 00:00:00 UTC - 0 guests - database only: augurd not running\n\n"
                         "NAME STATE    MODE         USED   ALLOC  FCAST^   CPU VCPU  CPU^   AGE  LAST ACTION\n");
}


/* ---- option tables (cmd-opts.c) ---- */

static const char *const mode_words[] = { "fast", "slow", NULL };

/* A table with one row of every type, as the commands use them. */
static const AugurOptDef test_opts[] = {
        { .name = "domain", .type = AUGUR_OPT_DATA, .flags = AUGUR_OPT_REQUIRED | AUGUR_OPT_DASH,
          .metavar = "DOMAIN", .help = "the domain" },
        { .name = "extra", .type = AUGUR_OPT_DATA, .metavar = "EXTRA", .help = "optional second argument" },
        { .name = "all", .type = AUGUR_OPT_BOOL, .help = "a flag" },
        { .name = "out", .type = AUGUR_OPT_STRING, .alias = 'o', .metavar = "FILE", .help = "a file" },
        { .name = "hidden", .type = AUGUR_OPT_INT, .metavar = "N", .imin = 1, .imax = 1024, .help = "an int" },
        { .name = "seed", .type = AUGUR_OPT_INT, .metavar = "N", .imin = 0, .imax = G_MAXUINT64, .help = "a seed" },
        { .name = "knob", .type = AUGUR_OPT_DOUBLE, .metavar = "K", .min = -0.99, .max = 1e6, .help = "a number" },
        { .name = "slack", .type = AUGUR_OPT_DOUBLE, .metavar = "G", .min = 0, .max = 1,
          .expect = "the slack in [0, 1]", .help = "a number with its own words" },
        { .name = "delay", .type = AUGUR_OPT_DURATION, .alias = 'd', .metavar = "DURATION", .min = 0.1,
          .help = "a duration" },
        { .name = "set", .type = AUGUR_OPT_STRV, .flags = AUGUR_OPT_PAIRS, .metavar = "KEY=VALUE",
          .help = "repeatable, and pairs" },
        { .name = "mode", .type = AUGUR_OPT_CHOICE, .metavar = "fast|slow", .choices = mode_words,
          .help = "one word of a list" },
        { NULL },
};

/* Parse a shell-quoted command line; the options borrow its argv, which
 * lives until the end of the test case. */
static AugurCmdOpts *
parse_line (const char *line, GError **error)
{
        char **argv = NULL;

        g_assert_true (g_shell_parse_argv (line, NULL, &argv, NULL));
        g_test_queue_destroy ((GDestroyNotify) g_strfreev, argv);
        return augur_cmd_opts_parse ("cmd", test_opts, (int) g_strv_length (argv), argv, error);
}

static void
test_opts_parse (void)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurCmdOpts) o = NULL;
        const char *const *sets;
        guint64 i = 42;
        double d = 42;

        /* Nothing but the required argument: every getter says "not given". */
        o = parse_line ("cmd web1", &error);
        g_assert_no_error (error);
        g_assert_false (augur_cmd_opts_help_wanted (o));
        g_assert_cmpstr (augur_cmd_opts_string (o, "domain"), ==, "web1");
        g_assert_null (augur_cmd_opts_string (o, "extra"));
        g_assert_null (augur_cmd_opts_string (o, "out"));
        g_assert_false (augur_cmd_opts_bool (o, "all"));
        g_assert_false (augur_cmd_opts_int (o, "hidden", &i));
        g_assert_cmpuint (i, ==, 42);                  /* untouched: the default stays */
        g_assert_false (augur_cmd_opts_double (o, "knob", &d));
        g_assert_false (augur_cmd_opts_duration (o, "delay", &d));
        g_assert_cmpfloat (d, ==, 42);
        g_assert_null (augur_cmd_opts_strv (o, "set")[0]);
        g_assert_false (augur_cmd_opts_has (o, "all"));
        g_assert_cmpint (augur_cmd_opts_index (o, "all"), ==, -1);
        {
                guint w = 7;

                g_assert_false (augur_cmd_opts_choice (o, "mode", &w));
                g_assert_cmpuint (w, ==, 7);
                g_clear_pointer (&o, augur_cmd_opts_free);
                o = parse_line ("cmd web1 --mode slow", &error);
                g_assert_no_error (error);
                g_assert_true (augur_cmd_opts_choice (o, "mode", &w));
                g_assert_cmpuint (w, ==, 1);
        }
        g_clear_pointer (&o, augur_cmd_opts_free);

        /* Options before, between and after the arguments; --x=v; aliases;
         * a value that starts with '-'; the last of a repeated option wins;
         * STRV keeps every value in order. */
        o = parse_line ("cmd --all web1 --knob -0.5 -o a.svg --out=b.svg second --hidden 8 --hidden=16 "
                        "--set a=1 --set=b= -d 90s --seed 18446744073709551615 --slack 1", &error);
        g_assert_no_error (error);
        g_assert_cmpstr (augur_cmd_opts_string (o, "domain"), ==, "web1");
        g_assert_cmpstr (augur_cmd_opts_string (o, "extra"), ==, "second");
        g_assert_true (augur_cmd_opts_bool (o, "all"));
        g_assert_cmpint (augur_cmd_opts_index (o, "all"), ==, 1);
        g_assert_true (augur_cmd_opts_double (o, "knob", &d));
        g_assert_cmpfloat (d, ==, -0.5);
        g_assert_cmpstr (augur_cmd_opts_string (o, "out"), ==, "b.svg");
        g_assert_true (augur_cmd_opts_int (o, "hidden", &i));
        g_assert_cmpuint (i, ==, 16);
        g_assert_true (augur_cmd_opts_int (o, "seed", &i));
        g_assert_cmpuint (i, ==, G_MAXUINT64);
        g_assert_true (augur_cmd_opts_duration (o, "delay", &d));
        g_assert_cmpfloat (d, ==, 90);
        g_assert_true (augur_cmd_opts_double (o, "slack", &d));
        g_assert_cmpfloat (d, ==, 1);
        sets = augur_cmd_opts_strv (o, "set");
        g_assert_cmpstr (sets[0], ==, "a=1");
        g_assert_cmpstr (sets[1], ==, "b=");
        g_assert_null (sets[2]);
        g_clear_pointer (&o, augur_cmd_opts_free);

        /* AUGUR_OPT_PAIRS: "--set a=1 b=2" is "--set a=1 --set b=2"; an
         * argument without '=' (or an option) ends the pairs. */
        o = parse_line ("cmd --set a=1 b=2 web1 --set c= d=x=y --all extra", &error);
        g_assert_no_error (error);
        sets = augur_cmd_opts_strv (o, "set");
        g_assert_cmpstr (sets[0], ==, "a=1");
        g_assert_cmpstr (sets[1], ==, "b=2");
        g_assert_cmpstr (sets[2], ==, "c=");
        g_assert_cmpstr (sets[3], ==, "d=x=y");
        g_assert_null (sets[4]);
        g_assert_cmpstr (augur_cmd_opts_string (o, "domain"), ==, "web1");
        g_assert_cmpstr (augur_cmd_opts_string (o, "extra"), ==, "extra");
        g_assert_true (augur_cmd_opts_bool (o, "all"));
        g_clear_pointer (&o, augur_cmd_opts_free);

        /* "-" alone is an argument where the row says so (stdin); a
         * signed integer is taken as top -n and plot --width always took
         * it (g_ascii_string_to_signed); a number is g_ascii_strtod's, as
         * replay and train took it. */
        o = parse_line ("cmd - --hidden +5 --knob 1e3 --delay 0.1", &error);
        g_assert_no_error (error);
        g_assert_cmpstr (augur_cmd_opts_string (o, "domain"), ==, "-");
        g_assert_true (augur_cmd_opts_int (o, "hidden", &i));
        g_assert_cmpuint (i, ==, 5);
        g_assert_true (augur_cmd_opts_double (o, "knob", &d));
        g_assert_cmpfloat (d, ==, 1000);
        g_clear_pointer (&o, augur_cmd_opts_free);

        /* --help and -h stop parsing, even before a required argument or
         * a bad option; as a value they are a value. */
        o = parse_line ("cmd --help --bogus", &error);
        g_assert_no_error (error);
        g_assert_true (augur_cmd_opts_help_wanted (o));
        g_clear_pointer (&o, augur_cmd_opts_free);
        o = parse_line ("cmd web1 -h", &error);
        g_assert_true (augur_cmd_opts_help_wanted (o));
        g_clear_pointer (&o, augur_cmd_opts_free);
        o = parse_line ("cmd web1 --out --help", &error);
        g_assert_no_error (error);
        g_assert_false (augur_cmd_opts_help_wanted (o));
        g_assert_cmpstr (augur_cmd_opts_string (o, "out"), ==, "--help");
}

/* Every usage error names the command and what was wrong with which
 * option; values are checked at their range's edges (N-1, N, N+1). */
static void
test_opts_errors (void)
{
        static const struct {
                const char *line;
                const char *message;     /* NULL: parses */
        } rows[] = {
                { "cmd", "cmd: missing DOMAIN" },
                { "cmd a b c", "cmd: unexpected argument 'c'" },
                { "cmd a --bogus", "cmd: unknown option '--bogus'" },
                { "cmd a --bogus=1", "cmd: unknown option '--bogus=1'" },
                { "cmd a -x", "cmd: unknown option '-x'" },
                { "cmd a -od", "cmd: unknown option '-od'" },          /* no bundling */
                { "cmd a --al", "cmd: unknown option '--al'" },        /* no abbreviations */
                { "cmd a -", "cmd: unknown option '-'" },              /* EXTRA takes no "-" */
                { "cmd a --out", "cmd: --out needs a value" },
                { "cmd a -o", "cmd: -o needs a value" },
                { "cmd a --all=yes", "cmd: --all takes no value" },
                { "cmd a --hidden 0", "cmd: --hidden: expected an integer in [1, 1024], got '0'" },
                { "cmd a --hidden 1", NULL },
                { "cmd a --hidden 1024", NULL },
                { "cmd a --hidden 1025", "cmd: --hidden: expected an integer in [1, 1024], got '1025'" },
                { "cmd a --hidden=x", "cmd: --hidden: expected an integer in [1, 1024], got 'x'" },
                { "cmd a --hidden 0x10", "cmd: --hidden: expected an integer" },
                { "cmd a --hidden ' 5'", "cmd: --hidden: expected an integer" },
                { "cmd a --hidden -5", "cmd: --hidden: expected an integer" },
                { "cmd a --seed -1", "cmd: --seed: expected an integer in [0, 18446744073709551615], got '-1'" },
                { "cmd a --seed 18446744073709551616", "cmd: --seed: expected an integer" },
                { "cmd a --knob -0.991", "cmd: --knob: expected a number in [-0.99, 1e+06], got '-0.991'" },
                { "cmd a --knob -0.99", NULL },
                { "cmd a --knob 1e6", NULL },
                { "cmd a --knob 1000001", "cmd: --knob: expected a number in [-0.99, 1e+06], got '1000001'" },
                { "cmd a --knob nan", "cmd: --knob: expected a number" },
                { "cmd a --knob 1x", "cmd: --knob: expected a number" },
                { "cmd a --knob ''", "cmd: --knob: expected a number" },
                { "cmd a --slack 1.5", "cmd: --slack: expected the slack in [0, 1], got '1.5'" },
                { "cmd a --delay 0.09", "cmd: --delay: at least 0.1 s" },
                { "cmd a -d 0.1", NULL },
                { "cmd a -d soon", "cmd: -d: invalid duration 'soon'" },
                { "cmd a --mode fast", NULL },
                { "cmd a --mode Fast", "cmd: --mode: expected fast|slow, got 'Fast'" },
                { "cmd a --mode ''", "cmd: --mode: expected fast|slow, got ''" },
                /* Only the last value of an option is checked: the one used. */
                { "cmd a --hidden x --hidden 8", NULL },
                { "cmd a --hidden 8 --hidden x", "cmd: --hidden: expected an integer in [1, 1024], got 'x'" },
        };

        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                g_autoptr(GError) error = NULL;
                g_autoptr(AugurCmdOpts) o = parse_line (rows[i].line, &error);

                g_test_message ("row %zu: %s -> %s", i, rows[i].line, error ? error->message : "ok");
                if (!rows[i].message) {
                        g_assert_no_error (error);
                        g_assert_nonnull (o);
                        continue;
                }
                g_assert_null (o);
                g_assert_error (error, AUGUR_CMD_OPTS_ERROR, AUGUR_CMD_OPTS_ERROR_USAGE);
                g_assert_true (g_str_has_prefix (error->message, rows[i].message));
        }
}

/* Every line of help text fits 80 columns. */
static void
assert_width (const char *text)
{
        g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

        for (guint i = 0; lines[i]; i++) {
                g_test_message ("%s", lines[i]);
                g_assert_cmpuint (g_utf8_strlen (lines[i], -1), <=, 80);
        }
}

static void
test_opts_help (void)
{
        static const AugurCmdInfo info = {
                .help = "a test command",
                .desc = "A description long enough to be wrapped at eighty columns, with a second "
                        "sentence after it.\n\nAnd a second paragraph.",
        };
        g_autoptr(GString) out = g_string_new (NULL);

        augur_cmd_help (out, "cmd", &info, test_opts);
        assert_width (out->str);
        g_assert_true (g_str_has_prefix (out->str, "Usage: virt-augur cmd DOMAIN [EXTRA] [--all] [--out FILE]"));
        g_assert_nonnull (strstr (out->str, "[--set KEY=VALUE]..."));
        g_assert_nonnull (strstr (out->str, "\n\n  And a second paragraph.\n"));
        g_assert_nonnull (strstr (out->str, "\nOptions:\n"));
        /* One line per row, in table order, with the alias. */
        for (gsize i = 0; test_opts[i].name; i++) {
                g_autofree char *head = NULL;

                if (test_opts[i].type == AUGUR_OPT_DATA)
                        head = g_strdup_printf ("\n  %s ", test_opts[i].metavar);
                else if (test_opts[i].alias)
                        head = g_strdup_printf ("\n  -%c, --%s", test_opts[i].alias, test_opts[i].name);
                else
                        head = g_strdup_printf ("\n  --%s", test_opts[i].name);
                g_test_message ("row %zu: %s", i, head + 1);
                g_assert_nonnull (strstr (out->str, head));
                g_assert_nonnull (strstr (out->str, test_opts[i].help));
        }
}

/* The built virt-augur: `help` lists every command, and each command's
 * table gives `help CMD` = `CMD --help` (exit 0, 80 columns, every option
 * of the synopsis described once), and an unknown option is a usage error
 * (exit 2) that names the command and the option. */
static void
test_opts_built_help (void)
{
        const char *top = g_getenv ("AUGUR_TOP_BUILDDIR");
        g_autofree char *va = g_build_filename (top ? top : "..", "virsh-ext", "virt-augur", NULL);
        g_autofree char *list = NULL, *err = NULL;
        g_auto(GStrv) lines = NULL;
        g_autoptr(GError) error = NULL;
        guint n_cmds = 0;
        int status;

        if (!g_file_test (va, G_FILE_TEST_IS_EXECUTABLE)) {
                g_test_skip ("virsh-ext/virt-augur is not built");
                return;
        }
        {
                const char *argv[] = { va, "help", NULL };

                g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                             &list, &err, &status, &error));
        }
        g_assert_no_error (error);
        g_assert_true (g_spawn_check_wait_status (status, NULL));
        assert_width (list);
        /* The bash completion reads the commands this way. */
        lines = g_strsplit (strstr (list, "\nCommands:\n") + strlen ("\nCommands:\n"), "\n", -1);
        for (guint l = 0; lines[l] && *lines[l]; l++) {
                g_auto(GStrv) words = g_strsplit_set (lines[l] + 2, " ", 2);
                const char *cmd = words[0];
                g_autofree char *help = NULL, *help2 = NULL, *out = NULL, *bad = NULL;
                g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
                g_auto(GStrv) hl = NULL;
                const char *argv1[] = { va, "help", cmd, NULL };
                const char *argv2[] = { va, cmd, "--help", NULL };
                const char *argv3[] = { va, cmd, "--no-such-option", NULL };
                g_autofree char *want = g_strdup_printf ("error: %s: unknown option '--no-such-option'\n"
                                                         "(see 'virt-augur help %s')\n", cmd, cmd);
                gboolean in_options = FALSE;

                g_assert_true (g_str_has_prefix (lines[l], "  "));
                g_assert_cmpuint (strlen (words[1]), >, 10);      /* a one-line description */
                n_cmds++;
                g_assert_true (g_spawn_sync (NULL, (char **) argv1, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                             &help, NULL, &status, &error));
                g_assert_true (g_spawn_check_wait_status (status, NULL));
                g_assert_true (g_spawn_sync (NULL, (char **) argv2, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                             &help2, NULL, &status, &error));
                g_assert_true (g_spawn_check_wait_status (status, NULL));
                g_assert_cmpstr (help, ==, help2);
                assert_width (help);
                g_assert_true (g_str_has_prefix (help, "Usage: virt-augur "));
                /* Each option line once: no name twice in a table. */
                hl = g_strsplit (help, "\n", -1);
                for (guint k = 0; hl[k]; k++) {
                        g_autofree char *name = NULL;

                        if (strcmp (hl[k], "Options:") == 0)
                                in_options = TRUE;
                        else if (in_options && !*hl[k])
                                in_options = FALSE;
                        if (!in_options || !g_str_has_prefix (hl[k], "  ") || hl[k][2] == ' ')
                                continue;
                        name = g_strndup (hl[k] + 2, strcspn (hl[k] + 2, " "));
                        g_test_message ("%s: %s", cmd, name);
                        g_assert_false (g_hash_table_contains (seen, name));
                        g_hash_table_add (seen, g_steal_pointer (&name));
                }
                g_assert_true (g_spawn_sync (NULL, (char **) argv3, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                             &out, &bad, &status, &error));
                g_assert_cmpint (WEXITSTATUS (status), ==, 2);
                g_assert_cmpstr (out, ==, "");
                g_assert_cmpstr (bad, ==, want);
        }
        g_assert_cmpuint (n_cmds, >=, 15);
}

/* The built virt-augur, or NULL (the test is then skipped). */
static char *
built_va (void)
{
        const char *top = g_getenv ("AUGUR_TOP_BUILDDIR");
        char *va = g_build_filename (top ? top : "..", "virsh-ext", "virt-augur", NULL);

        if (!g_file_test (va, G_FILE_TEST_IS_EXECUTABLE)) {
                g_test_skip ("virsh-ext/virt-augur is not built");
                g_free (va);
                return NULL;
        }
        return va;
}

/* Run va with the NULL-terminated words after it; its exit code. */
static int
run_va (const char *va, char **ret_out, char **ret_err, ...)
{
        g_autoptr(GPtrArray) argv = g_ptr_array_new ();
        g_autoptr(GError) error = NULL;
        const char *a;
        va_list ap;
        int status;

        g_ptr_array_add (argv, (gpointer) va);
        va_start (ap, ret_err);
        while ((a = va_arg (ap, const char *)))
                g_ptr_array_add (argv, (gpointer) a);
        va_end (ap);
        g_ptr_array_add (argv, NULL);
        g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                     ret_out, ret_err, &status, &error));
        g_assert_no_error (error);
        return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* virsh's global options: an option in the command's place is reported
 * as an unknown option (it was "unknown command: '--bogus'"); -v and
 * --version print the version, -V the long one; `help` names every
 * global option, --socket and -q included. */
static void
test_global_options (void)
{
        g_autofree char *va = built_va ();
        static const char *const bad[] = { "--bogus", "-x", "--jsn" };

        if (!va)
                return;
        for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
                g_autofree char *out = NULL, *err = NULL;
                g_autofree char *want = g_strdup_printf ("error: unknown option '%s'\n(see 'virt-augur help')\n", bad[i]);

                g_assert_cmpint (run_va (va, &out, &err, bad[i], "list", NULL), ==, 2);
                g_assert_cmpstr (err, ==, want);
                g_assert_cmpstr (out, ==, "");
        }
        for (int k = 0; k < 3; k++) {
                g_autofree char *out = NULL, *err = NULL;
                const char *opt = k == 0 ? "-v" : k == 1 ? "--version" : "--version=short";

                g_assert_cmpint (run_va (va, &out, &err, opt, NULL), ==, 0);
                g_assert_cmpstr (out, ==, PACKAGE_VERSION "\n");
        }
        for (int k = 0; k < 3; k++) {
                g_autofree char *out = NULL, *err = NULL;
                const char *opt = k == 0 ? "-V" : k == 1 ? "--version=long" : "version";

                g_assert_cmpint (run_va (va, &out, &err, opt, NULL), ==, 0);
                g_test_message ("%s:\n%s", opt, out);
                g_assert_true (g_str_has_prefix (out, "virt-augur " PACKAGE_VERSION ","));
                g_assert_nonnull (strstr (out, "\nBuilt with: libvirt "));
                g_assert_nonnull (strstr (out, "\nRunning with: libvirt "));
        }
        {
                g_autofree char *out = NULL, *err = NULL;

                g_assert_cmpint (run_va (va, &out, &err, "--version=huge", NULL), ==, 2);
                g_assert_nonnull (strstr (err, "--version takes short or long"));
                g_clear_pointer (&err, g_free);
                g_clear_pointer (&out, g_free);
                /* after the command, -v is the command's (unknown) option */
                g_assert_cmpint (run_va (va, &out, &err, "list", "-v", NULL), ==, 2);
                g_assert_true (g_str_has_prefix (err, "error: list: unknown option '-v'"));
                g_clear_pointer (&err, g_free);
                g_clear_pointer (&out, g_free);
                g_assert_cmpint (run_va (va, &out, &err, "help", NULL), ==, 0);
                g_test_message ("%s", out);
                g_assert_true (g_str_has_prefix (out, "Usage: virt-augur [-c URI] [--db PATH] [--socket PATH] "
                                                      "[--json] [-q]\n                  COMMAND [ARGS...]\n"));
                for (const char *const *w = (const char *const[]) { "\n  -c, --connect URI ", "\n  --db PATH ",
                                                                   "\n  --socket PATH ", "\n  --json ",
                                                                   "\n  -q, --quiet ", "\n  -v, --version",
                                                                   "\n  -V, --version=long ", NULL }; *w; w++)
                        g_assert_nonnull (strstr (out, *w));
        }
}

/* eval's --horizons beyond what the model forecasts, or not a horizon,
 * and train's --horizon beyond a model file's 48: usage errors (exit 2)
 * naming the numbers, before any trace is read. */
static void
test_eval_horizons (void)
{
        g_autofree char *va = built_va ();
        g_autofree char *model = g_test_build_filename (G_TEST_DIST, "..", "model", "default.augur", NULL);
        static const struct {
                const char *cmd, *opt, *value, *want;
        } cases[] = {
                { "eval", "--horizons", "1,3,12,48", "the model forecasts 12 steps ahead at most" },
                { "eval", "--horizons", "1,x", "'x' is not a horizon 1..48" },
                { "eval", "--horizons", "0", "'0' is not a horizon 1..48" },
                { "eval", "--horizons", "49", "'49' is not a horizon 1..48" },
                { "train", "--horizon", "49", "49" },
        };

        if (!va)
                return;
        for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
                g_autofree char *out = NULL, *err = NULL;
                int rc;

                if (strcmp (cases[i].cmd, "eval") == 0)
                        rc = run_va (va, &out, &err, "eval", "--model", model, "--traces", "/nonexistent",
                                     cases[i].opt, cases[i].value, NULL);
                else
                        rc = run_va (va, &out, &err, "train", "--out", "/nonexistent/m.augur", "--traces",
                                     "/nonexistent", cases[i].opt, cases[i].value, NULL);
                g_test_message ("%s %s %s: %s", cases[i].cmd, cases[i].opt, cases[i].value, err);
                g_assert_cmpint (rc, ==, 2);
                g_assert_nonnull (strstr (err, cases[i].want));
        }
}

/* model show FILE: the shipped model's network and its gate, in text and
 * JSON (every target and regime, one name per horizon, each one the loader
 * reads back); a file that is not a model is an error naming it (exit 1),
 * a missing FILE or an unknown subcommand a usage error (exit 2). */
static void
test_model_show (void)
{
        g_autofree char *va = built_va ();
        g_autofree char *model = g_test_build_filename (G_TEST_DIST, "..", "model", "default.augur", NULL);
        g_autofree char *out = NULL, *err = NULL;
        g_autoptr (JsonParser) parser = json_parser_new ();
        g_autoptr (GError) error = NULL;
        JsonObject *o, *serve;
        int rc;

        if (!va)
                return;
        rc = run_va (va, &out, &err, "model", "show", model, NULL);
        g_assert_cmpint (rc, ==, 0);
        g_assert_nonnull (strstr (out, "transformer, width 48"));
        g_assert_nonnull (strstr (out, "Serves (chosen on validation):\n  cpu_pct moving: "));
        g_clear_pointer (&out, g_free);
        g_clear_pointer (&err, g_free);
        rc = run_va (va, &out, &err, "--json", "model", "show", model, NULL);
        g_assert_cmpint (rc, ==, 0);
        g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
        g_assert_no_error (error);
        o = json_node_get_object (json_parser_get_root (parser));
        g_assert_cmpstr (json_object_get_string_member (o, "arch"), ==, "transformer");
        serve = json_object_get_object_member (o, "serve");
        for (int t = 0; t < AUGUR_TARGET_N; t++)
                for (int r = 0; r < AUGUR_REGIME_N; r++) {
                        JsonArray *a = json_object_get_array_member (
                                json_object_get_object_member (serve, augur_target_name ((AugurTarget) t)),
                                augur_regime_name ((AugurRegime) r));

                        g_assert_cmpuint (json_array_get_length (a), ==,
                                          json_object_get_int_member (o, "horizons"));
                        for (guint h = 0; h < json_array_get_length (a); h++)
                                g_assert_cmpint (augur_serve_parse (json_array_get_string_element (a, h)), >=, 0);
                }
        /* A path that is not ASCII is a JSON string, not C's octal escapes. */
        {
                g_autofree char *dir = g_dir_make_tmp ("augur-show-\xc3\xbc-XXXXXX", NULL);
                g_autofree char *copy = g_build_filename (dir, "m\xc3\xbc.augur", NULL);
                g_autofree char *bytes = NULL;
                g_autoptr (JsonParser) p2 = json_parser_new ();
                gsize len;

                g_assert_true (g_file_get_contents (model, &bytes, &len, NULL));
                g_assert_true (g_file_set_contents (copy, bytes, (gssize) len, NULL));
                g_clear_pointer (&out, g_free);
                g_clear_pointer (&err, g_free);
                rc = run_va (va, &out, &err, "--json", "model", "show", copy, NULL);
                g_assert_cmpint (rc, ==, 0);
                g_assert_true (json_parser_load_from_data (p2, out, -1, &error));
                g_assert_no_error (error);
                g_assert_cmpstr (json_object_get_string_member (json_node_get_object (json_parser_get_root (p2)),
                                                                "model"), ==, copy);
                g_unlink (copy);
                g_rmdir (dir);
        }
        g_clear_pointer (&out, g_free);
        g_clear_pointer (&err, g_free);
        rc = run_va (va, &out, &err, "model", "show", va, NULL);   /* a binary, not a model */
        g_test_message ("not a model: %s", err);
        g_assert_cmpint (rc, ==, 1);
        g_assert_nonnull (strstr (err, va));
        g_clear_pointer (&out, g_free);
        g_clear_pointer (&err, g_free);
        rc = run_va (va, &out, &err, "model", "show", NULL);
        g_assert_cmpint (rc, ==, 2);
        g_assert_nonnull (strstr (err, "model show FILE"));
        g_clear_pointer (&out, g_free);
        g_clear_pointer (&err, g_free);
        rc = run_va (va, &out, &err, "model", "status", model, NULL);
        g_assert_cmpint (rc, ==, 2);
        g_assert_nonnull (strstr (err, "takes no file"));
}

/* The option names of one `help CMD` text: every -x and --name of its
 * "Options:" section, as the completion must offer them. */
static GPtrArray *
help_options (const char *help)
{
        g_auto(GStrv) lines = g_strsplit (help, "\n", -1);
        GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
        gboolean on = FALSE;

        for (guint i = 0; lines[i]; i++) {
                g_autofree char *spec = NULL;
                g_auto(GStrv) words = NULL;

                if (strcmp (lines[i], "Options:") == 0) {
                        on = TRUE;
                        continue;
                }
                if (!on || !g_str_has_prefix (lines[i], "  -"))
                        continue;
                spec = g_strdup (lines[i] + 2);
                if (strstr (spec, "  "))
                        *strstr (spec, "  ") = '\0';
                words = g_strsplit (spec, " ", -1);
                for (guint w = 0; words[w]; w++) {
                        if (words[w][0] != '-')
                                continue;
                        if (g_str_has_suffix (words[w], ","))
                                words[w][strlen (words[w]) - 1] = '\0';
                        g_ptr_array_add (names, g_strdup (words[w]));
                }
        }
        return names;
}

/* The bash completion offers every option of every command's table (it
 * had its own lists, which lacked train's --window, --point-loss and
 * --lr and replay's --price), and the global options, -q and --socket
 * among them; option values with choices (raw|1m|5m) complete. */
static void
test_completion (void)
{
        const char *srcdir = g_getenv ("AUGUR_TOP_SRCDIR");
        g_autofree char *va = built_va ();
        g_autofree char *list = NULL, *err = NULL;
        g_autofree char *comp = g_build_filename (srcdir ? srcdir : "..", "data", "virt-augur.bash-completion", NULL);
        g_autofree char *bash = g_find_program_in_path ("bash");
        g_autoptr(GString) missing = g_string_new (NULL);
        g_auto(GStrv) cmds = NULL;
        guint n = 0;

        if (!va)
                return;
        if (!bash) {
                g_test_skip ("no bash");
                return;
        }
        g_assert_cmpint (run_va (va, &list, &err, "help", NULL), ==, 0);
        cmds = g_strsplit (strstr (list, "\nCommands:\n") + strlen ("\nCommands:\n"), "\n", -1);
        for (guint l = 0; cmds[l] && *cmds[l]; l++) {
                g_autofree char *cmd = g_strndup (cmds[l] + 2, strcspn (cmds[l] + 2, " "));
                g_autofree char *help = NULL, *herr = NULL, *out = NULL, *cerr = NULL;
                g_autoptr(GPtrArray) want = NULL;
                g_autofree char *line = NULL;
                g_auto(GStrv) offered = NULL;
                const char *argv[] = { "bash", "--norc", "--noprofile", "-c", NULL, NULL };
                int status;

                g_assert_cmpint (run_va (va, &help, &herr, "help", cmd, NULL), ==, 0);
                want = help_options (help);
                line = g_strdup_printf (". '%s' && COMP_WORDS=('%s' '%s' --) && COMP_CWORD=2 && "
                                        "_virt_augur && printf '%%s\\n' \"${COMPREPLY[@]}\"", comp, va, cmd);
                argv[4] = line;
                g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                             &out, &cerr, &status, NULL));
                g_assert_true (g_spawn_check_wait_status (status, NULL));
                offered = g_strsplit (out, "\n", -1);
                for (guint k = 0; k < want->len; k++) {
                        const char *o = want->pdata[k];

                        if (g_str_has_prefix (o, "--") && !g_strv_contains ((const char *const *) offered, o))
                                g_string_append_printf (missing, " %s %s", cmd, o);
                        n++;
                }
                /* the global options after the command too */
                for (const char *const *o = (const char *const[]) { "--socket", "--quiet", "--db", NULL }; *o; o++)
                        if (!g_strv_contains ((const char *const *) offered, *o))
                                g_string_append_printf (missing, " %s %s", cmd, *o);
        }
        /* All of them, so that the message lists every one missing. */
        g_assert_cmpstr (missing->str, ==, "");
        g_assert_cmpuint (n, >, 60);
        {
                const char *argv[] = { "bash", "--norc", "--noprofile", "-c", NULL, NULL };
                g_autofree char *line = g_strdup_printf (
                        ". '%1$s' && c() { COMP_WORDS=(\"$@\"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); "
                        "COMPREPLY=(); _virt_augur; echo \"${COMPREPLY[*]}\"; } && "
                        "c '%2$s' - && c '%2$s' history x --resolution '' && c '%2$s' train --arch g",
                        comp, va);
                g_autofree char *out = NULL;
                int status;

                argv[4] = line;
                g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                             &out, NULL, &status, NULL));
                g_test_message ("%s", out);
                g_assert_cmpstr (out, ==, "-c --connect --db --socket --json -q --quiet -v --version -V\n"
                                          "raw 1m 5m\n"
                                          "gru\n");
        }
}

int
main (int argc, char **argv)
{
        int rc;

        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/cli/policy/apply", test_policy_apply);
        g_test_add_func ("/cli/policy/refused", test_policy_refused);
        g_test_add_func ("/cli/policy/limit-edges", test_policy_limits_edges);
        g_test_add_func ("/cli/policy/in-effect", test_policy_in_effect);
        g_test_add_func ("/cli/plot/recording", test_plot_recording);
        g_test_add_func ("/cli/plot/svg-layers", test_plot_svg_layers);
        g_test_add_func ("/cli/plot/write", test_plot_write);
        g_test_add_func ("/cli/plot/io-panel", test_plot_io_panel);
        g_test_add_func ("/cli/plot/time-labels", test_plot_time_labels);
        g_test_add_func ("/cli/plot/markers-inside", test_plot_markers_inside);
        g_test_add_func ("/cli/json/writer", test_json_writer);
        g_test_add_func ("/cli/top/render", test_top_render);
        g_test_add_func ("/cli/top/empty", test_top_empty);
        g_test_add_func ("/cli/opts/parse", test_opts_parse);
        g_test_add_func ("/cli/opts/errors", test_opts_errors);
        g_test_add_func ("/cli/opts/help", test_opts_help);
        g_test_add_func ("/cli/opts/built-help", test_opts_built_help);
        g_test_add_func ("/cli/global/options", test_global_options);
        g_test_add_func ("/cli/eval/horizons", test_eval_horizons);
        g_test_add_func ("/cli/model/show", test_model_show);
        g_test_add_func ("/cli/completion", test_completion);
        rc = g_test_run ();
        /* cairo's font caches, so that LeakSanitizer (configure
         * --enable-sanitizers) sees only what was not given back */
        cairo_debug_reset_static_data ();
        return rc;
}
