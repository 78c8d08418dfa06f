/* plot.c — draws one guest's history, forecast band, allocation and
 * actions with cairo (see plot.h for the picture and the colour contract).
 *
 * Scales are linear: time from the first to the last point, band entry or
 * marker, inset by a marker's size at both ends so a marker at either end
 * is drawn whole inside the panel; values from 0 to 1.1 × the largest
 * value drawn in the panel (markers included), so the allocation, the
 * upper bound and every marker fit.  A NAN breaks a line (a gap in the
 * history is shown as a gap, not interpolated).  Tick labels: 5 "nice"
 * value steps (1, 2, 5 × 10^k) and 6 time labels in UTC, the first and
 * every one on a new day with its date.
 */
#include "config.h"

#include "plot.h"

#include <cairo-svg.h>
#include <gio/gio.h>
#include <math.h>
#include <string.h>

#define MARGIN_LEFT 64.0        /* room for value labels, user units          */
#define MARGIN_RIGHT 16.0
#define MARGIN_TOP 36.0         /* title                                      */
#define MARGIN_BOTTOM 28.0      /* time labels                                */
#define PANEL_GAP 34.0          /* between two panels (legend line)           */
#define MARKER_SIZE 5.0         /* half a marker's width; the time axis is
                                 * inset by it at both ends             */
#define LABEL_SECONDS_SPAN_S 86400.0    /* up to this span, labels show seconds */

AugurPlotData *
augur_plot_data_new (const char *title)
{
        AugurPlotData *d = g_new0 (AugurPlotData, 1);

        d->title = g_strdup (title);
        d->points = g_array_new (FALSE, TRUE, sizeof (AugurPlotPoint));
        d->band = g_array_new (FALSE, TRUE, sizeof (AugurPlotBand));
        d->markers = g_array_new (FALSE, TRUE, sizeof (AugurPlotMarker));
        return d;
}

void
augur_plot_data_free (AugurPlotData *d)
{
        if (!d)
                return;
        g_free (d->title);
        g_array_unref (d->points);
        g_array_unref (d->band);
        g_array_unref (d->markers);
        g_free (d);
}

typedef struct {
        double x0, y0, w, h;            /* panel rectangle, user units        */
        double t0, t1;                  /* time range, unix s                 */
        double vmax;                    /* value at the top                   */
} Panel;

static void
rgb (cairo_t *cr, int r, int g, int b, double alpha)
{
        cairo_set_source_rgba (cr, r / 255.0, g / 255.0, b / 255.0, alpha);
}

static double
px (const Panel *p, double t)
{
        return p->x0 + MARKER_SIZE + (p->t1 > p->t0 ? (t - p->t0) / (p->t1 - p->t0) : 0.5) * (p->w - 2 * MARKER_SIZE);
}

static double
py (const Panel *p, double v)
{
        return p->y0 + p->h - (p->vmax > 0 ? v / p->vmax : 0) * p->h;
}

/* 1, 2 or 5 × 10^k, at least raw. */
static double
nice_step (double raw)
{
        double e = pow (10, floor (log10 (raw)));

        if (raw <= e)
                return e;
        if (raw <= 2 * e)
                return 2 * e;
        if (raw <= 5 * e)
                return 5 * e;
        return 10 * e;
}

char *
augur_plot_time_label (double t_s, double prev_t_s, double span_s)
{
        g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc ((gint64) t_s);
        g_autoptr(GDateTime) prev = isnan (prev_t_s) ? NULL : g_date_time_new_from_unix_utc ((gint64) prev_t_s);
        gboolean seconds = span_s <= LABEL_SECONDS_SPAN_S;
        gboolean new_day;

        if (!dt)
                return g_strdup ("?");
        new_day = !prev || g_date_time_get_year (prev) != g_date_time_get_year (dt) ||
                  g_date_time_get_day_of_year (prev) != g_date_time_get_day_of_year (dt);
        if (new_day)
                return g_date_time_format (dt, seconds ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M");
        return g_date_time_format (dt, seconds ? "%H:%M:%S" : "%H:%M");
}

static void
draw_axes (cairo_t *cr, const Panel *p, const char *unit, gboolean time_labels)
{
        double step = nice_step (MAX (p->vmax, 1e-6) / 5);
        cairo_text_extents_t ext;
        char buf[64];

        cairo_set_line_width (cr, 1);
        cairo_set_source_rgb (cr, 0.85, 0.85, 0.85);
        for (double v = step; v < p->vmax; v += step) {
                cairo_move_to (cr, p->x0, py (p, v));
                cairo_line_to (cr, p->x0 + p->w, py (p, v));
        }
        cairo_stroke (cr);
        cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
        cairo_rectangle (cr, p->x0, p->y0, p->w, p->h);
        cairo_stroke (cr);
        cairo_set_font_size (cr, 10);
        for (double v = 0; v <= p->vmax; v += step) {
                g_snprintf (buf, sizeof buf, step >= 1 ? "%.0f" : "%.1f", v);
                cairo_text_extents (cr, buf, &ext);
                cairo_move_to (cr, p->x0 - ext.x_advance - 4, py (p, v) + 3);
                cairo_show_text (cr, buf);
        }
        cairo_save (cr);
        cairo_move_to (cr, 12, p->y0 + p->h / 2);
        cairo_rotate (cr, -G_PI / 2);
        cairo_text_extents (cr, unit, &ext);
        cairo_rel_move_to (cr, -ext.width / 2, 0);
        cairo_show_text (cr, unit);
        cairo_restore (cr);
        if (!time_labels || p->t1 <= p->t0)
                return;
        for (int i = 0; i <= 5; i++) {
                double t = p->t0 + (p->t1 - p->t0) * i / 5;
                g_autofree char *label = augur_plot_time_label (t, i > 0 ? p->t0 + (p->t1 - p->t0) * (i - 1) / 5 : NAN,
                                                                p->t1 - p->t0);

                cairo_text_extents (cr, label, &ext);
                /* centred under its tick, but inside the panel's width */
                cairo_move_to (cr, CLAMP (px (p, t) - ext.width / 2, p->x0 - 8, p->x0 + p->w - ext.width),
                               p->y0 + p->h + 14);
                cairo_show_text (cr, label);
        }
}

/* A line through the values at offset `field` of each element; NAN breaks it. */
static void
draw_series (cairo_t *cr, const Panel *p, const GArray *a, gsize field, gboolean step)
{
        gboolean pen_down = FALSE;
        double last_y = 0;

        for (guint i = 0; i < a->len; i++) {
                const char *e = a->data + (gsize) i * g_array_get_element_size ((GArray *) a);
                double t = *(const double *) e;           /* t_s is the first field */
                double v = *(const double *) (e + field);

                if (isnan (v)) {
                        pen_down = FALSE;
                        continue;
                }
                if (!pen_down)
                        cairo_move_to (cr, px (p, t), py (p, v));
                else if (step) {
                        cairo_line_to (cr, px (p, t), last_y);
                        cairo_line_to (cr, px (p, t), py (p, v));
                } else
                        cairo_line_to (cr, px (p, t), py (p, v));
                pen_down = TRUE;
                last_y = py (p, v);
        }
        cairo_stroke (cr);
}

/* Fill between lo and hi over runs where both are known. */
static void
draw_band (cairo_t *cr, const Panel *p, const GArray *band, gsize lo, gsize hi)
{
        const AugurPlotBand *b = (const AugurPlotBand *) band->data;
        guint i = 0;

        while (i < band->len) {
                guint j;

#define V(k, f) (*(const double *) ((const char *) &b[k] + (f)))
                if (isnan (V (i, lo)) || isnan (V (i, hi))) {
                        i++;
                        continue;
                }
                for (j = i; j < band->len && !isnan (V (j, lo)) && !isnan (V (j, hi)); j++)
                        ;
                /* run i .. j-1: up along hi, back along lo */
                cairo_move_to (cr, px (p, b[i].t_s), py (p, V (i, hi)));
                for (guint k = i + 1; k < j; k++)
                        cairo_line_to (cr, px (p, b[k].t_s), py (p, V (k, hi)));
                for (guint k = j; k-- > i;)
                        cairo_line_to (cr, px (p, b[k].t_s), py (p, V (k, lo)));
                cairo_close_path (cr);
                if (j == i + 1) {         /* a single forecast: a short bar */
                        cairo_new_path (cr);
                        cairo_rectangle (cr, px (p, b[i].t_s) - 1, py (p, V (i, hi)), 2,
                                         py (p, V (i, lo)) - py (p, V (i, hi)));
                }
                cairo_fill (cr);
                i = j;
#undef V
        }
}

static void
draw_markers (cairo_t *cr, const Panel *p, const GArray *markers, gboolean cpu)
{
        for (guint i = 0; i < markers->len; i++) {
                const AugurPlotMarker *m = &g_array_index (markers, AugurPlotMarker, i);
                double x, y, s = MARKER_SIZE;

                if (m->cpu != cpu || isnan (m->value))
                        continue;
                x = px (p, m->t_s);
                y = py (p, m->value);
                if (m->kind == AUGUR_PLOT_MARK_GROW) {
                        rgb (cr, AUGUR_PLOT_RGB_GROW, 1);
                        cairo_move_to (cr, x, y - s);
                        cairo_line_to (cr, x + s, y + s);
                        cairo_line_to (cr, x - s, y + s);
                } else if (m->kind == AUGUR_PLOT_MARK_SHRINK) {
                        rgb (cr, AUGUR_PLOT_RGB_SHRINK, 1);
                        cairo_move_to (cr, x, y + s);
                        cairo_line_to (cr, x + s, y - s);
                        cairo_line_to (cr, x - s, y - s);
                } else {
                        rgb (cr, AUGUR_PLOT_RGB_OTHER, 1);
                        cairo_move_to (cr, x, y - s);
                        cairo_line_to (cr, x + s, y);
                        cairo_line_to (cr, x, y + s);
                        cairo_line_to (cr, x - s, y);
                }
                cairo_close_path (cr);
                cairo_fill (cr);
        }
}

static void
legend_item (cairo_t *cr, double *x, double y, int r, int g, int b, double alpha, const char *label)
{
        cairo_text_extents_t ext;

        rgb (cr, r, g, b, alpha);
        cairo_rectangle (cr, *x, y - 8, 14, 8);
        cairo_fill (cr);
        cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
        cairo_move_to (cr, *x + 18, y);
        cairo_show_text (cr, label);
        cairo_text_extents (cr, label, &ext);
        *x += 18 + ext.x_advance + 14;
}

/* Largest finite value at offset field over an array, or 0. */
static double
array_max (const GArray *a, gsize field, double m)
{
        gsize es = g_array_get_element_size ((GArray *) a);

        for (guint i = 0; i < a->len; i++) {
                double v = *(const double *) (a->data + i * es + field);

                if (isfinite (v) && v > m)
                        m = v;
        }
        return m;
}

gboolean
augur_plot_data_time_range (const AugurPlotData *d, double *ret_t0, double *ret_t1)
{
        double t0 = G_MAXDOUBLE, t1 = -G_MAXDOUBLE;

        for (guint i = 0; i < d->points->len; i++) {
                double t = g_array_index (d->points, AugurPlotPoint, i).t_s;

                t0 = MIN (t0, t);
                t1 = MAX (t1, t);
        }
        for (guint i = 0; i < d->band->len; i++) {
                double t = g_array_index (d->band, AugurPlotBand, i).t_s;

                t0 = MIN (t0, t);
                t1 = MAX (t1, t);
        }
        for (guint i = 0; i < d->markers->len; i++) {
                double t = g_array_index (d->markers, AugurPlotMarker, i).t_s;

                t0 = MIN (t0, t);
                t1 = MAX (t1, t);
        }
        if (t0 > t1)
                return FALSE;
        *ret_t0 = t0;
        *ret_t1 = t1;
        return TRUE;
}

gboolean
augur_plot_data_empty (const AugurPlotData *d)
{
        static const gsize point_fields[] = {
                G_STRUCT_OFFSET (AugurPlotPoint, mem_used_mib), G_STRUCT_OFFSET (AugurPlotPoint, mem_alloc_mib),
                G_STRUCT_OFFSET (AugurPlotPoint, cpu_cores), G_STRUCT_OFFSET (AugurPlotPoint, vcpus),
        };
        static const gsize band_fields[] = {
                G_STRUCT_OFFSET (AugurPlotBand, mem_p50_mib), G_STRUCT_OFFSET (AugurPlotBand, mem_upper_mib),
                G_STRUCT_OFFSET (AugurPlotBand, cpu_p50_cores), G_STRUCT_OFFSET (AugurPlotBand, cpu_upper_cores),
        };

        for (gsize f = 0; f < G_N_ELEMENTS (point_fields); f++)
                if (array_max (d->points, point_fields[f], -G_MAXDOUBLE) > -G_MAXDOUBLE)
                        return FALSE;
        for (gsize f = 0; f < G_N_ELEMENTS (band_fields); f++)
                if (array_max (d->band, band_fields[f], -G_MAXDOUBLE) > -G_MAXDOUBLE)
                        return FALSE;
        return TRUE;
}

/* Largest value of the markers of one panel, or m. */
static double
markers_max (const GArray *markers, gboolean cpu, double m)
{
        for (guint i = 0; i < markers->len; i++) {
                const AugurPlotMarker *k = &g_array_index (markers, AugurPlotMarker, i);

                if (k->cpu == cpu && isfinite (k->value) && k->value > m)
                        m = k->value;
        }
        return m;
}

/* The I/O panel's lines (plot.h THE PICTURE): field, colour, legend. */
static const struct {
        gsize field;
        guint8 rgb[3];
        const char *label;
} io_lines[] = {
        { G_STRUCT_OFFSET (AugurPlotPoint, disk_rd_mib_s), { AUGUR_PLOT_RGB_DISK_RD }, "disk read" },
        { G_STRUCT_OFFSET (AugurPlotPoint, disk_wr_mib_s), { AUGUR_PLOT_RGB_DISK_WR }, "disk write" },
        { G_STRUCT_OFFSET (AugurPlotPoint, net_rx_mib_s), { AUGUR_PLOT_RGB_NET_RX }, "net rx" },
        { G_STRUCT_OFFSET (AugurPlotPoint, net_tx_mib_s), { AUGUR_PLOT_RGB_NET_TX }, "net tx" },
};

/* The largest I/O rate of d's points, MiB/s (0: no I/O panel). */
static double
io_max (const AugurPlotData *d)
{
        double m = 0;

        for (gsize i = 0; i < G_N_ELEMENTS (io_lines); i++)
                m = array_max (d->points, io_lines[i].field, m);
        return m;
}

void
augur_plot_draw (cairo_t *cr, const AugurPlotData *d, double width, double height)
{
        double io_vmax = io_max (d);
        int n_panels = io_vmax > 0 ? 3 : 2;
        double ph = MAX ((height - MARGIN_TOP - MARGIN_BOTTOM - (n_panels - 1) * PANEL_GAP) / n_panels, 10);
        Panel mem = { MARGIN_LEFT, MARGIN_TOP, MAX (width - MARGIN_LEFT - MARGIN_RIGHT, 10), ph };
        Panel cpu = mem, io;
        double lx = MARGIN_LEFT, vmax;

        if (!augur_plot_data_time_range (d, &mem.t0, &mem.t1))
                mem.t0 = mem.t1 = 0;
        cpu.t0 = mem.t0;
        cpu.t1 = mem.t1;
        cpu.y0 = MARGIN_TOP + ph + PANEL_GAP;
        io = cpu;
        io.y0 = cpu.y0 + ph + PANEL_GAP;
        io.vmax = io_vmax * 1.1;

        vmax = array_max (d->points, G_STRUCT_OFFSET (AugurPlotPoint, mem_used_mib), 0);
        vmax = array_max (d->points, G_STRUCT_OFFSET (AugurPlotPoint, mem_alloc_mib), vmax);
        vmax = array_max (d->band, G_STRUCT_OFFSET (AugurPlotBand, mem_upper_mib), vmax);
        vmax = markers_max (d->markers, FALSE, vmax);
        mem.vmax = vmax > 0 ? vmax * 1.1 : 1;
        vmax = array_max (d->points, G_STRUCT_OFFSET (AugurPlotPoint, cpu_cores), 0);
        vmax = array_max (d->points, G_STRUCT_OFFSET (AugurPlotPoint, vcpus), vmax);
        vmax = array_max (d->band, G_STRUCT_OFFSET (AugurPlotBand, cpu_upper_cores), vmax);
        vmax = markers_max (d->markers, TRUE, vmax);
        cpu.vmax = vmax > 0 ? vmax * 1.1 : 1;

        cairo_save (cr);
        cairo_set_source_rgb (cr, 1, 1, 1);
        cairo_rectangle (cr, 0, 0, width, height);
        cairo_fill (cr);
        cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
        cairo_set_source_rgb (cr, 0, 0, 0);
        cairo_set_font_size (cr, 14);
        cairo_move_to (cr, MARGIN_LEFT, 20);
        cairo_show_text (cr, d->title ? d->title : "");

        draw_axes (cr, &mem, "memory, MiB", FALSE);
        draw_axes (cr, &cpu, "CPU, cores", n_panels == 2);
        if (n_panels == 3) {
                draw_axes (cr, &io, "I/O, MiB/s", TRUE);
                cairo_save (cr);
                cairo_rectangle (cr, io.x0, io.y0, io.w, io.h);
                cairo_clip (cr);
                cairo_set_line_width (cr, 1.5);
                for (gsize i = 0; i < G_N_ELEMENTS (io_lines); i++) {
                        rgb (cr, io_lines[i].rgb[0], io_lines[i].rgb[1], io_lines[i].rgb[2], 1);
                        draw_series (cr, &io, d->points, io_lines[i].field, FALSE);
                }
                cairo_restore (cr);
        }

        /* Everything inside a panel is clipped to it. */
        for (int k = 0; k < 2; k++) {
                const Panel *p = k == 0 ? &mem : &cpu;
                gsize lo = k == 0 ? G_STRUCT_OFFSET (AugurPlotBand, mem_p50_mib) : G_STRUCT_OFFSET (AugurPlotBand, cpu_p50_cores);
                gsize hi = k == 0 ? G_STRUCT_OFFSET (AugurPlotBand, mem_upper_mib) : G_STRUCT_OFFSET (AugurPlotBand, cpu_upper_cores);
                gsize used = k == 0 ? G_STRUCT_OFFSET (AugurPlotPoint, mem_used_mib) : G_STRUCT_OFFSET (AugurPlotPoint, cpu_cores);
                gsize alloc = k == 0 ? G_STRUCT_OFFSET (AugurPlotPoint, mem_alloc_mib) : G_STRUCT_OFFSET (AugurPlotPoint, vcpus);
                static const double dash[] = { 4, 3 };

                cairo_save (cr);
                cairo_rectangle (cr, p->x0, p->y0, p->w, p->h);
                cairo_clip (cr);
                rgb (cr, AUGUR_PLOT_RGB_BAND, 0.35);
                draw_band (cr, p, d->band, lo, hi);
                rgb (cr, AUGUR_PLOT_RGB_BAND, 1);
                cairo_set_line_width (cr, 1);
                cairo_set_dash (cr, dash, G_N_ELEMENTS (dash), 0);
                draw_series (cr, p, d->band, lo, FALSE);
                cairo_set_dash (cr, NULL, 0, 0);
                cairo_set_line_width (cr, 1.5);
                rgb (cr, AUGUR_PLOT_RGB_ALLOC, 1);
                draw_series (cr, p, d->points, alloc, TRUE);
                rgb (cr, AUGUR_PLOT_RGB_USED, 1);
                draw_series (cr, p, d->points, used, FALSE);
                draw_markers (cr, p, d->markers, k == 1);
                cairo_restore (cr);
        }

        cairo_set_font_size (cr, 10);
        legend_item (cr, &lx, mem.y0 + mem.h + 22, AUGUR_PLOT_RGB_USED, 1, "used (balloon terms)");
        legend_item (cr, &lx, mem.y0 + mem.h + 22, AUGUR_PLOT_RGB_ALLOC, 1, "allocation");
        legend_item (cr, &lx, mem.y0 + mem.h + 22, AUGUR_PLOT_RGB_BAND, 0.35, "forecast p50..upper");
        legend_item (cr, &lx, mem.y0 + mem.h + 22, AUGUR_PLOT_RGB_GROW, 1, "grow");
        legend_item (cr, &lx, mem.y0 + mem.h + 22, AUGUR_PLOT_RGB_SHRINK, 1, "shrink");
        legend_item (cr, &lx, mem.y0 + mem.h + 22, AUGUR_PLOT_RGB_OTHER, 1, "recommended/failed");
        lx = MARGIN_LEFT;
        for (gsize i = 0; n_panels == 3 && i < G_N_ELEMENTS (io_lines); i++)
                legend_item (cr, &lx, cpu.y0 + cpu.h + 22, io_lines[i].rgb[0], io_lines[i].rgb[1],
                             io_lines[i].rgb[2], 1, io_lines[i].label);
        cairo_restore (cr);
}

gboolean
augur_plot_write (const AugurPlotData *d, const char *path, int width, int height, GError **error)
{
        g_autofree char *lower = g_ascii_strdown (path, -1);
        gboolean svg = g_str_has_suffix (lower, ".svg");
        cairo_surface_t *surface;
        cairo_status_t status;
        cairo_t *cr;

        if (!svg && !g_str_has_suffix (lower, ".png")) {
                g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                             "%s: the file name must end in .svg or .png", path);
                return FALSE;
        }
        if (svg)
                surface = cairo_svg_surface_create (path, width, height);
        else
                surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
        cr = cairo_create (surface);
        augur_plot_draw (cr, d, width, height);
        status = cairo_status (cr);
        cairo_destroy (cr);
        if (status == CAIRO_STATUS_SUCCESS && !svg)
                status = cairo_surface_write_to_png (surface, path);
        cairo_surface_finish (surface);
        if (status == CAIRO_STATUS_SUCCESS)
                status = cairo_surface_status (surface);
        cairo_surface_destroy (surface);
        if (status != CAIRO_STATUS_SUCCESS) {
                g_set_error (error, G_IO_ERROR,
                             status == CAIRO_STATUS_WRITE_ERROR ? G_IO_ERROR_FAILED : G_IO_ERROR_INVALID_DATA,
                             "%s: %s", path, cairo_status_to_string (status));
                return FALSE;
        }
        return TRUE;
}
