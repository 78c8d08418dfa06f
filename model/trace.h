/* trace.h — readers that turn public VM traces and augur's own trace CSV
 * into AugurSeries (common/series.h), plus the augur trace CSV writer.
 *
 * What it is: one reader per format behind a single entry point,
 * augur_trace_read(), gzip-transparent (zlib), taking a file or a
 * directory.  Every reader applies the same cleaning rules (below) and
 * counts each rule in AugurTraceStats so the CLI can print what was
 * dropped.  What it is not: a resampler (model/dataset.h puts series on a
 * fixed step) or a store writer (`virt-augur import` owns that).
 *
 * CLEANING RULES (applied in this order, each counted in AugurTraceStats)
 *   R1 rows_garbage      a row with the wrong number of fields, or whose
 *                        VM name / timestamp does not parse, or whose
 *                        timestamp is outside [0, 2^32) s: the row is dropped.
 *   R2 values_nan        a numeric cell that does not parse, or parses to
 *                        NaN / ±Inf: that value becomes missing (NAN).
 *                        Empty cells are "missing" and are not counted.
 *   R3 values_negative   a negative value: missing.
 *   R4 values_absurd     a value above its column's physical bound
 *                        (AUGUR_TRACE_MAX_* below): missing.
 *   R5 mem_capacity_zero mem_prov_kib == 0: both memory values missing.
 *   R6 mem_over_capacity mem_used_kib > mem_prov_kib: mem_used missing
 *                        (Bitbrains has 18 such rows, up to 9,900 %).
 *   R7 rows_duplicate_ts a row whose (vm, ts) was already seen: the later
 *                        row wins value by value (a missing cell in the
 *                        later row keeps the earlier value).
 *   R8 rows_unordered    a row older than the previous row of the same VM:
 *                        kept, the series is sorted.
 *   R9 series_too_short  a series with fewer than opts->min_rows rows that
 *                        carry cpu_pct or mem_used_kib: dropped.  When no
 *                        series is left the read fails with
 *                        AUGUR_TRACE_ERROR_EMPTY / _TOO_SHORT.
 *
 * LIMITS (a trace file is input from anywhere; a hostile or damaged one
 * must not take the memory of the host it is imported on)
 *   A line (after gzip decompression) longer than AUGUR_TRACE_MAX_LINE_BYTES,
 *   an augur CSV record (quoted line breaks included, so any field) longer
 *   than AUGUR_TRACE_MAX_RECORD_BYTES or with more than
 *   AUGUR_TRACE_MAX_FIELDS fields, and a PlanetLab day file (or tar member)
 *   longer than AUGUR_TRACE_MAX_DAY_BYTES fail the read with
 *   AUGUR_TRACE_ERROR_TOO_LONG, naming the file and line.  Reading stops at
 *   the limit: a 1 GiB line costs ~1 MiB, not 1 GiB.  What is not bounded
 *   is the number of valid rows: a big trace (or a gzip of many valid rows)
 *   takes memory in proportion to its rows, by design.
 *
 * Ownership: augur_trace_read() returns a GPtrArray of AugurSeries* that
 * owns its elements (free func augur_series_free); series are sorted by VM
 * name, timestamps strictly increasing.
 */
#pragma once

#include <glib.h>
#include "series.h"

#define AUGUR_TRACE_ERROR (augur_trace_error_quark ())
GQuark augur_trace_error_quark (void);

typedef enum {
        AUGUR_TRACE_ERROR_IO,          /* cannot open / read a file or dir   */
        AUGUR_TRACE_ERROR_FORMAT,      /* header or layout not recognised    */
        AUGUR_TRACE_ERROR_EMPTY,       /* no data rows at all                */
        AUGUR_TRACE_ERROR_TOO_SHORT,   /* every series shorter than min_rows */
        AUGUR_TRACE_ERROR_INVAL,       /* bad option (unknown format name)   */
        AUGUR_TRACE_ERROR_TOO_LONG,    /* a line, record or file over LIMITS */
} AugurTraceError;

typedef enum {
        AUGUR_TRACE_FORMAT_AUTO = 0,   /* guess from path and first line     */
        AUGUR_TRACE_FORMAT_AUGUR,      /* augur trace CSV (RFC 4180)         */
        AUGUR_TRACE_FORMAT_BITBRAINS,  /* GWA-T-12 per-VM ";\t" files        */
        AUGUR_TRACE_FORMAT_AZURE,      /* step × VM matrix CSV, cpu % only   */
        AUGUR_TRACE_FORMAT_PLANETLAB,  /* CoMon day files of 288 ints (tar)  */
        AUGUR_TRACE_FORMAT_ALIBABA,    /* v2018 machine_usage.csv            */
} AugurTraceFormat;

/* Physical bounds of rule R4 (a value above is a monitoring artifact). */
#define AUGUR_TRACE_MAX_CPU_PCT      400.0   /* %: Bitbrains max 126.8; >4x cap is junk     */
#define AUGUR_TRACE_MAX_CPU_CORES    4096.0  /* count                                        */
#define AUGUR_TRACE_MAX_MEM_KIB      4.0e12  /* KiB = 4 PiB, beyond any single VM           */
#define AUGUR_TRACE_MAX_IO_KIBPS     1.0e9   /* KiB/s = ~1 TB/s, beyond any virtual NIC/disk */
#define AUGUR_TRACE_MAX_PER_MIN      1.0e7   /* events/min, sessions, process starts        */

typedef struct {
        gint64 start_s;          /* Azure: ts of step 1; PlanetLab: ts of the
                                  * first sample of the earliest day; Alibaba:
                                  * ts of trace time 0.  Unix seconds.      */
        gboolean start_set;      /* start_s given (PlanetLab: else the day
                                  * comes from a YYYYMMDD in the file name) */
        gsize min_rows;          /* R9 threshold; 0 = default (12 rows)      */
        guint max_series;        /* stop after this many series; 0 = all     */
} AugurTraceOpts;

#define AUGUR_TRACE_DEFAULT_MIN_ROWS 12

/* LIMITS (see above), bytes without the line end.  The longest line of
 * the traces we know is an Azure matrix header: 947 bytes for 100 VMs, so
 * 1 MiB holds a matrix of ~100 000 VMs; a Bitbrains or augur row is under
 * 200 bytes. */
#define AUGUR_TRACE_MAX_LINE_BYTES   (1024 * 1024)
#define AUGUR_TRACE_MAX_RECORD_BYTES (1024 * 1024)
/* Fields of one augur CSV record: vm, ts and the ~30 known columns, with
 * room for unknown ones.  Each field is one allocation, so this bounds a
 * record of commas (1 MiB of them would be 1 M allocations). */
#define AUGUR_TRACE_MAX_FIELDS       4096
/* A PlanetLab day file is 288 integers, ~1 KiB. */
#define AUGUR_TRACE_MAX_DAY_BYTES    (1024 * 1024)

typedef struct {
        guint64 files;               /* files (or tar members) read          */
        guint64 rows_read;           /* data rows seen (header excluded)     */
        guint64 rows_kept;           /* rows that reached a series           */
        guint64 rows_garbage;        /* R1 */
        guint64 values_nan;          /* R2 */
        guint64 values_negative;     /* R3 */
        guint64 values_absurd;       /* R4 */
        guint64 mem_capacity_zero;   /* R5 */
        guint64 mem_over_capacity;   /* R6 */
        guint64 rows_duplicate_ts;   /* R7 */
        guint64 rows_unordered;      /* R8 */
        guint64 series_too_short;    /* R9 */
        guint64 series;              /* series returned                      */
} AugurTraceStats;

/* Field table for printing AugurTraceStats (NULL-terminated). */
typedef struct {
        const char *name;            /* JSON key, e.g. "rows_garbage"        */
        const char *rule;            /* one-line rule text for humans        */
        gsize offset;                /* offsetof (AugurTraceStats, field)    */
} AugurTraceStatInfo;
extern const AugurTraceStatInfo augur_trace_stat_info[];

static inline guint64
augur_trace_stats_get (const AugurTraceStats *st, const AugurTraceStatInfo *info)
{
        return *(const guint64 *) ((const char *) st + info->offset);
}

/* "bitbrains" etc. → format; FALSE + AUGUR_TRACE_ERROR_INVAL if unknown.
 * "auto" and NULL map to AUGUR_TRACE_FORMAT_AUTO. */
gboolean augur_trace_format_from_name (const char *name,
                                       AugurTraceFormat *ret_fmt,
                                       GError **error);
const char *augur_trace_format_name (AugurTraceFormat fmt);

/* Read every series under path (a file, a .gz file, a .tar(.gz) for
 * PlanetLab, or a directory whose regular files are read in name order).
 *
 * opts may be NULL (defaults); ret_stats may be NULL.  ret_stats is written
 * on success AND on failure (so the CLI can show what was dropped).
 *
 * Returns (transfer full) a GPtrArray of AugurSeries*, sorted by VM name,
 * or NULL with error set:
 *   AUGUR_TRACE_ERROR_IO         the path cannot be opened or read
 *   AUGUR_TRACE_ERROR_FORMAT     AUTO could not guess / header is wrong
 *   AUGUR_TRACE_ERROR_TOO_LONG   a line, record or day file over LIMITS
 *                                (the message names the file and line)
 *   AUGUR_TRACE_ERROR_EMPTY      no data rows
 *   AUGUR_TRACE_ERROR_TOO_SHORT  every series fell under rule R9 */
GPtrArray *augur_trace_read (const char *path,
                             AugurTraceFormat fmt,
                             const AugurTraceOpts *opts,
                             AugurTraceStats *ret_stats,
                             GError **error);

/* The per-format readers behind augur_trace_read() (same contract; they
 * do not apply R9 or sort the array — augur_trace_read() does). */
GPtrArray *augur_trace_read_augur (const char *path, const AugurTraceOpts *opts,
                                   AugurTraceStats *stats, GError **error);
GPtrArray *augur_trace_read_bitbrains (const char *path, const AugurTraceOpts *opts,
                                       AugurTraceStats *stats, GError **error);
GPtrArray *augur_trace_read_azure (const char *path, const AugurTraceOpts *opts,
                                   AugurTraceStats *stats, GError **error);
GPtrArray *augur_trace_read_planetlab (const char *path, const AugurTraceOpts *opts,
                                       AugurTraceStats *stats, GError **error);
GPtrArray *augur_trace_read_alibaba (const char *path, const AugurTraceOpts *opts,
                                     AugurTraceStats *stats, GError **error);

/* Write series (AugurSeries*) as augur trace CSV: header
 * "vm,ts,<every trace column present in at least one series>", rows by VM
 * then ts, missing = empty cell, VM names quoted when needed (RFC 4180).
 * path "-" writes to stdout; a path ending in ".gz" is gzipped.
 * Returns FALSE with AUGUR_TRACE_ERROR_IO on a write error. */
gboolean augur_trace_write_augur_csv (const GPtrArray *series,
                                      const char *path,
                                      GError **error);

/* Human summary of the cleaning counters, one "  name: N  (rule)" line per
 * non-zero counter (transfer full). */
char *augur_trace_stats_format (const AugurTraceStats *st);
