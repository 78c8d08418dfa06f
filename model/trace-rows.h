/* trace-rows.h — reading a trace file as rows: the lines of a file (plain
 * or gzip, or a tar member in memory) under the LIMITS of trace.h, RFC 4180
 * records, and the one row loop every reader of trace.c runs.  Not an API:
 * for trace.c only.  Design: the top of trace-rows.c.
 *
 * A reader's shape:
 *     g_auto (AugurTraceRows) rr = { 0 };
 *     if (!augur_trace_rows_open (&rr, path, ',', MAX_FIELDS, st, error))
 *             return FALSE;
 *     if (!augur_trace_rows_header (&rr, &fields, &n))
 *             return augur_trace_rows_end (&rr, error);   (empty file)
 *     ... the header ...
 *     while (augur_trace_rows_next (&rr, &fields, &n, &bad))
 *             ... one row ...
 *     return augur_trace_rows_end (&rr, error);
 *
 * Errors are AUGUR_TRACE_ERROR (trace.h): _IO for open and read errors,
 * _TOO_LONG for a line, record or file over its limit, saying file:line.
 */
#pragma once

#include <glib.h>
#include <zlib.h>
#include "trace.h"

typedef struct {
        gzFile gz;                   /* the file, or NULL for a member in
                                      * memory                              */
        const char *mem;             /* memory: next unread byte ...        */
        const char *mem_end;         /* ... and the end (not owned)         */
        char *path;
        guint64 line_no;             /* lines read so far = the current
                                      * line's number                       */
        gsize max_bytes;             /* > 0: the lines (each + 1 for its end)
                                      * may not pass this many bytes        */
        const char *too_big_for;     /* what the file is, for that message  */
        gsize bytes;                 /* lines read so far, each + 1         */
} AugurTraceFile;

typedef struct {
        AugurTraceFile *f;           /* owned                               */
        char sep;                    /* ',' or ';': a line split on it, fields
                                      * trimmed of blanks; '\n': the line is
                                      * the one field; '\0': RFC 4180 records */
        guint max_fields;            /* fields kept of a split line, the rest
                                      * only counted; a reader may change it
                                      * after the header                    */
        AugurTraceStats *st;
        GString *line;
        GPtrArray *cells;            /* split line: pointers into line      */
        GPtrArray *record;           /* RFC 4180 record: owned fields       */
        GError *error;               /* what ended the rows, if not the end */
} AugurTraceRows;

/* Open path (gzip or plain).  Returns (transfer full) the file, or NULL
 * with AUGUR_TRACE_ERROR_IO. */
AugurTraceFile *augur_trace_file_open (const char *path, GError **error);

/* A member already in memory (a PlanetLab day file of a tar archive, read
 * whole by common/tar.c): data[0..len) is borrowed, name is for messages.
 * Its lines are the bytes up to each '\n', or to a NUL if one comes first. */
AugurTraceFile *augur_trace_file_new_memory (const char *name, const char *data, gsize len);

void augur_trace_file_close (AugurTraceFile *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurTraceFile, augur_trace_file_close)

/* Read one line (without the line end, "\r\n" or "\n") into line.
 * Returns FALSE at end of file; sets error on a read error, a line longer
 * than AUGUR_TRACE_MAX_LINE_BYTES, or lines past f->max_bytes
 * (AUGUR_TRACE_ERROR_TOO_LONG). */
gboolean augur_trace_file_read_line (AugurTraceFile *f, GString *line, GError **error);

/* Start reading rows of f (taken over), counted in st->files. */
void augur_trace_rows_init (AugurTraceRows *rr, AugurTraceFile *f, char sep, guint max_fields,
                            AugurTraceStats *st);

/* augur_trace_rows_init() on the file at path; FALSE with error (nothing
 * counted) when it cannot be opened. */
gboolean augur_trace_rows_open (AugurTraceRows *rr, const char *path, char sep, guint max_fields,
                                AugurTraceStats *st, GError **error);

/* The first row, blank or not.  FALSE when there is none: an empty file,
 * or a read error (augur_trace_rows_end() says which). */
gboolean augur_trace_rows_header (AugurTraceRows *rr, char ***ret_fields, guint *ret_n);

/* The next row that is not blank, counted in rows_read; *ret_bad (may be
 * NULL) says an RFC 4180 record is malformed.  FALSE after the last row. */
gboolean augur_trace_rows_next (AugurTraceRows *rr, char ***ret_fields, guint *ret_n,
                                gboolean *ret_bad);

/* How the rows ended: TRUE at the end of the file, FALSE with the read
 * error set. */
gboolean augur_trace_rows_end (AugurTraceRows *rr, GError **error);

void augur_trace_rows_clear (AugurTraceRows *rr);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AugurTraceRows, augur_trace_rows_clear)
