/* plot.h — the drawing behind `virt-augur plot`: one guest's history, the
 * forecast band, the allocation and the action markers, on a cairo surface.
 *
 * What it is: a pure function from an AugurPlotData (plain arrays, filled
 * by cmd-plot.c from the store) to drawing on a cairo_t, and a helper that
 * picks an SVG or PNG surface by the file name.  It opens no database and
 * no libvirt connection, so the tests draw on a recording surface.
 *
 * THE PICTURE (two panels sharing the time axis, dated in UTC, and a
 * third under them when the window has any disk or network I/O)
 *   memory, MiB:  used (blue line; in balloon terms, virt-augur.h),
 *                 allocation = balloon (black step line),
 *                 forecast band p50..upper over the lead window (orange
 *                 fill, p50 dashed), balloon actions (green ▲ grow, red ▼
 *                 shrink, grey ◆ failed or recommended) on the allocation.
 *   CPU, cores:   cores used (blue), vCPUs online in the guest (black
 *                 step), forecast band (orange), vCPU actions (markers as
 *                 above).
 *   I/O, MiB/s:   the guest's disk read and write and network rx and tx,
 *                 summed over its disks and interfaces (the store keeps
 *                 them summed: no per-device line and no IOPS, which the
 *                 store does not keep; `virt-augur forecast` shows both
 *                 live).  No forecast band (the I/O forecasts are not
 *                 stored) and no limit markers (a limit is per device and
 *                 kind: `virt-augur actions` lists them).
 * Each layer has its own colour, and the colours are the contract the
 * tests check in the SVG (AUGUR_PLOT_RGB_*): cairo's SVG surface writes no
 * ids, so a layer is recognised by its colour.
 *
 * The band is drawn where each forecast was made: at each decision's time
 * (decisions table), the forecast that decision planned with, as the max
 * of its p50 and of its upper bound over the lead window (horizon_s, the
 * measured actuation latency plus a margin).  So the band at t is what
 * augur expected for [t, t + lead] when it decided at t, and the used line
 * a lead later shows whether that held.  The forecasts table's row (the
 * newest full forecast, stored once a minute, every horizon) is not
 * drawn: it is up to a minute old, so its first horizons fall over the
 * past, and its last ones reach an hour ahead with upper bounds that
 * widen with the horizon.
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
#define AUGUR_PLOT_RGB_DISK_RD  0x1f, 0x77, 0xb4   /* as used: the demand     */
#define AUGUR_PLOT_RGB_DISK_WR  0x94, 0x67, 0xbd
#define AUGUR_PLOT_RGB_NET_RX   0x17, 0xbe, 0xcf
#define AUGUR_PLOT_RGB_NET_TX   0x8c, 0x56, 0x4b

typedef struct {
        double t_s;                     /* unix s                             */
        double mem_used_mib;            /* NAN = unknown (a gap)              */
        double mem_alloc_mib;           /* balloon size                       */
        double cpu_cores;               /* cores used                         */
        double vcpus;                   /* vCPUs online                       */
        double disk_rd_mib_s;           /* all disks, NAN = unknown           */
        double disk_wr_mib_s;
        double net_rx_mib_s;            /* all interfaces                     */
        double net_tx_mib_s;
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

/* The time axis: from the first to the last time of a point, band entry
 * or marker, unix s.  FALSE (nothing set) when d has none. */
gboolean augur_plot_data_time_range (const AugurPlotData *d, double *ret_t0, double *ret_t1);
/* TRUE when nothing of d would draw a line or a band: no point with a
 * memory or CPU value and no band value (markers alone are not a plot). */
gboolean augur_plot_data_empty (const AugurPlotData *d);

/* Draw d into the rectangle (0, 0, width, height) of cr, in user units.
 * Empty arrays draw empty axes (the caller refuses empty data: cmd-plot.c).
 * Never fails. */
void augur_plot_draw (cairo_t *cr, const AugurPlotData *d, double width, double height);

/* (transfer full) the label under the time axis at t_s (unix s, UTC):
 * prev_t_s is the label before it (NAN for the first), span_s the axis'
 * span.  The first label and every label on another day than the one
 * before carry the date ("2023-11-14 22:13:20"), the others the time
 * ("22:15:20"); seconds up to a day's span, minutes beyond. */
char *augur_plot_time_label (double t_s, double prev_t_s, double span_s);

/* Render d to path: SVG when it ends in ".svg", PNG when ".png" (case
 * insensitive), width × height points (pixels for PNG).  FALSE with a
 * G_IO_ERROR on an unknown extension or when the file cannot be written. */
gboolean augur_plot_write (const AugurPlotData *d, const char *path, int width, int height,
                           GError **error);
