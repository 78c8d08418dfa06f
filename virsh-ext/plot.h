/* plot.h — the drawing behind `virt-augur plot`: one guest's history, the
 * forecast band, the allocation and the action markers, on a cairo surface.
 *
 * What it is: a pure function from an AugurPlotData (plain arrays, filled
 * by cmd-plot.c from the store) to drawing on a cairo_t, and a helper that
 * picks an SVG or PNG surface by the file name.  It opens no database and
 * no libvirt connection, so the tests draw on a recording surface.
 *
 * THE PICTURE (two panels sharing the time axis)
 *   memory, MiB:  used (blue line; in balloon terms, virt-augur.h),
 *                 allocation = balloon (black step line),
 *                 forecast band p50..upper over the lead window (orange
 *                 fill, p50 dashed), balloon actions (green ▲ grow, red ▼
 *                 shrink, grey ◆ failed or recommended) on the allocation.
 *   CPU, cores:   cores used (blue), vCPUs online (black step), forecast
 *                 band (orange), vCPU actions (markers as above).
 * Each layer has its own colour, and the colours are the contract the
 * tests check in the SVG (AUGUR_PLOT_RGB_*): cairo's SVG surface writes no
 * ids, so a layer is recognised by its colour.
 *
 * The past band is the forecast each decision used (decisions table: the
 * max of p50 and upper over the lead window, drawn at decision time); the
 * newest full forecast (forecasts table) extends it into the future.
 */
#pragma once

#include <cairo.h>
#include <glib.h>

/* Layer colours, 0..255 (see the header comment). */
#define AUGUR_PLOT_RGB_USED     0x1f, 0x77, 0xb4
#define AUGUR_PLOT_RGB_ALLOC    0x00, 0x00, 0x00
#define AUGUR_PLOT_RGB_BAND     0xff, 0x8c, 0x00
#define AUGUR_PLOT_RGB_GROW     0x2c, 0xa0, 0x2c
#define AUGUR_PLOT_RGB_SHRINK   0xd6, 0x27, 0x28
#define AUGUR_PLOT_RGB_OTHER    0x7f, 0x7f, 0x7f

typedef struct {
        double t_s;                     /* unix s                             */
        double mem_used_mib;            /* NAN = unknown (a gap)              */
        double mem_alloc_mib;           /* balloon size                       */
        double cpu_cores;               /* cores used                         */
        double vcpus;                   /* vCPUs online                       */
} AugurPlotPoint;

typedef struct {
        double t_s;
        double mem_p50_mib, mem_upper_mib;      /* NAN = none                 */
        double cpu_p50_cores, cpu_upper_cores;
} AugurPlotBand;

typedef enum {
        AUGUR_PLOT_MARK_GROW = 0,
        AUGUR_PLOT_MARK_SHRINK,
        AUGUR_PLOT_MARK_OTHER,          /* recommended, or failed             */
} AugurPlotMarkKind;

typedef struct {
        double t_s;
        gboolean cpu;                   /* vCPU action (else balloon)         */
        AugurPlotMarkKind kind;
        double value;                   /* where to draw: the target, MiB or vCPUs */
} AugurPlotMarker;

typedef struct {
        char *title;                    /* owned                              */
        GArray *points;                 /* AugurPlotPoint, oldest first       */
        GArray *band;                   /* AugurPlotBand, oldest first        */
        GArray *markers;                /* AugurPlotMarker                    */
} AugurPlotData;

AugurPlotData *augur_plot_data_new (const char *title);
void augur_plot_data_free (AugurPlotData *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurPlotData, augur_plot_data_free)

/* Draw d into the rectangle (0, 0, width, height) of cr, in user units.
 * Empty arrays draw empty axes.  Never fails. */
void augur_plot_draw (cairo_t *cr, const AugurPlotData *d, double width, double height);

/* Render d to path: SVG when it ends in ".svg", PNG when ".png" (case
 * insensitive), width × height points (pixels for PNG).  FALSE with a
 * G_IO_ERROR on an unknown extension or when the file cannot be written. */
gboolean augur_plot_write (const AugurPlotData *d, const char *path, int width, int height,
                           GError **error);
