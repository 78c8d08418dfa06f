/* trace-rows.c — reading a trace file as rows.  API (private to the trace
 * readers): trace-rows.h.
 *
 * INPUT LAYER
 *   Every file goes through zlib's gzopen()/gzgets(), which reads plain
 *   files transparently, so "x.csv" and "x.csv.gz" take the same path.
 *   Lines are assembled in a GString (gzgets() in 64 KiB pieces) up to
 *   AUGUR_TRACE_MAX_LINE_BYTES (trace.h, LIMITS): one piece past it and
 *   the read fails, so a line costs at most the limit plus a piece, however
 *   far the line (or a gzip bomb's one record) goes on.  The reader counts
 *   lines, so every limit error says file:line.  PlanetLab tarballs are
 *   walked by common/tar.c (also on zlib), and each member is read from
 *   memory as a file of its own (augur_trace_file_new_memory).
 *
 * ROW READER
 *   Every format reads a file the same way: count it, take the first row
 *   as the header (if the format has one; a blank first line is a header
 *   too), then every later row that is not blank, counted in rows_read and
 *   split into fields; at the end, a read error or a limit
 *   (augur_trace_file_read_line, read_csv_record) fails the file.
 *   AugurTraceRows is that loop, written once; each reader in trace.c only
 *   says what its header and rows mean.  Fields point into the
 *   AugurTraceRows' buffers and are valid until the next row.
 */
#include "trace-rows.h"

#include <errno.h>
#include <string.h>

void
augur_trace_file_close (AugurTraceFile *f)
{
        if (!f)
                return;
        if (f->gz)
                gzclose (f->gz);
        g_free (f->path);
        g_free (f);
}

AugurTraceFile *
augur_trace_file_open (const char *path, GError **error)
{
        g_autoptr (AugurTraceFile) f = g_new0 (AugurTraceFile, 1);

        f->path = g_strdup (path);
        f->gz = gzopen (path, "rb");
        if (!f->gz) {
                int errsv = errno;

                g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_IO,
                             "cannot open '%s': %s", path, g_strerror (errsv ? errsv : ENOMEM));
                return NULL;
        }
        gzbuffer (f->gz, 256 * 1024);
        return g_steal_pointer (&f);
}

/* A member already in memory (a PlanetLab day file of a tar archive, read
 * whole by common/tar.c): data[0..len) is borrowed, name is for messages. */
AugurTraceFile *
augur_trace_file_new_memory (const char *name, const char *data, gsize len)
{
        AugurTraceFile *f = g_new0 (AugurTraceFile, 1);

        f->path = g_strdup (name);
        f->mem = data;
        f->mem_end = data + len;
        return f;
}

static gboolean
line_too_long (const AugurTraceFile *f, GError **error)
{
        g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_TOO_LONG,
                     "%s:%" G_GUINT64_FORMAT ": line longer than %d bytes; not a trace file, "
                     "or a damaged one", f->path, f->line_no, AUGUR_TRACE_MAX_LINE_BYTES);
        return FALSE;
}

/* One line of a member in memory: the bytes up to the next '\n' (or the
 * end) as they are, up to a NUL byte if one comes first.  The member's
 * size is already bounded (AUGUR_TRACE_MAX_DAY_BYTES), so no limit here. */
static gboolean
memory_read_line (AugurTraceFile *f, GString *line)
{
        const char *nl, *nul;
        gsize len;

        g_string_truncate (line, 0);
        if (f->mem >= f->mem_end)
                return FALSE;
        f->line_no++;
        nl = memchr (f->mem, '\n', (gsize) (f->mem_end - f->mem));
        len = (gsize) ((nl ? nl : f->mem_end) - f->mem);
        nul = memchr (f->mem, '\0', len);
        g_string_append_len (line, f->mem, nul ? (gsize) (nul - f->mem) : len);
        f->mem = nl ? nl + 1 : f->mem_end;
        return TRUE;
}

/* Read one line (without the line end, "\r\n" or "\n") into line.
 * Returns FALSE at end of file; sets error on a read error, a line longer
 * than AUGUR_TRACE_MAX_LINE_BYTES, or lines past f->max_bytes
 * (AUGUR_TRACE_ERROR_TOO_LONG). */
gboolean
augur_trace_file_read_line (AugurTraceFile *f, GString *line, GError **error)
{
        char buf[65536];

        if (!f->gz)
                return memory_read_line (f, line);
        g_string_truncate (line, 0);
        f->line_no++;
        for (;;) {
                gsize len;

                if (!gzgets (f->gz, buf, sizeof buf)) {
                        int zerr = Z_OK;
                        const char *msg = gzerror (f->gz, &zerr);

                        if (zerr != Z_OK && zerr != Z_STREAM_END) {
                                g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_IO,
                                             "cannot read '%s': %s", f->path, msg);
                                return FALSE;
                        }
                        if (line->len == 0)
                                return FALSE;
                        break;
                }
                len = strlen (buf);
                g_string_append_len (line, buf, len);
                if (len > 0 && buf[len - 1] == '\n')
                        break;
                /* + 2: the "\r\n" that may still come is not content */
                if (line->len > AUGUR_TRACE_MAX_LINE_BYTES + 2)
                        return line_too_long (f, error);
        }
        if (line->len > 0 && line->str[line->len - 1] == '\n')
                g_string_truncate (line, line->len - 1);
        if (line->len > 0 && line->str[line->len - 1] == '\r')
                g_string_truncate (line, line->len - 1);
        if (line->len > AUGUR_TRACE_MAX_LINE_BYTES)
                return line_too_long (f, error);
        f->bytes += line->len + 1;
        if (f->max_bytes && f->bytes > f->max_bytes) {
                g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_TOO_LONG,
                             "%s:%" G_GUINT64_FORMAT ": more than %" G_GSIZE_FORMAT " bytes, too big for %s",
                             f->path, f->line_no, f->max_bytes, f->too_big_for);
                return FALSE;
        }
        return TRUE;
}

static gboolean
line_is_blank (const char *s)
{
        for (; *s; s++)
                if (!g_ascii_isspace (*s))
                        return FALSE;
        return TRUE;
}

/* Split s in place on sep; fields are trimmed of blanks.  The first max
 * fields are stored in fields (pointers into s); returns how many there
 * are in all. */
static guint
split_simple (char *s, char sep, GPtrArray *fields, guint max)
{
        guint n = 0;

        g_ptr_array_set_size (fields, 0);
        for (;;) {
                char *end = strchr (s, sep);

                if (end)
                        *end = '\0';
                if (n < max)
                        g_ptr_array_add (fields, g_strstrip (s));
                n++;
                if (!end)
                        break;
                s = end + 1;
        }
        return n;
}

static gboolean
record_too_big (const AugurTraceFile *f, guint64 first_line, const char *what, GError **error)
{
        if (first_line == f->line_no)
                g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_TOO_LONG,
                             "%s:%" G_GUINT64_FORMAT ": record %s; not a trace file, or a damaged one",
                             f->path, first_line, what);
        else
                g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_TOO_LONG,
                             "%s:%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT ": record %s (a quoted "
                             "field runs over several lines: an unclosed quote?)",
                             f->path, first_line, f->line_no, what);
        return FALSE;
}

/* Read one RFC 4180 record into fields (GPtrArray of owned char*).
 * Quoted fields may contain separators, doubled quotes and line breaks.
 * Returns FALSE at end of input (or on error, with error set: also
 * AUGUR_TRACE_ERROR_TOO_LONG for a record over AUGUR_TRACE_MAX_RECORD_BYTES
 * or AUGUR_TRACE_MAX_FIELDS). */
static gboolean
read_csv_record (AugurTraceFile *f, GString *line, GPtrArray *fields, gboolean *ret_bad, GError **error)
{
        g_autoptr (GString) cell = g_string_new (NULL);
        gboolean in_quotes = FALSE;
        gboolean was_quoted = FALSE;
        guint64 first_line;
        gsize record_bytes;
        const char *p;

        g_ptr_array_set_size (fields, 0);
        *ret_bad = FALSE;
        do {
                if (!augur_trace_file_read_line (f, line, error))
                        return FALSE;
        } while (!in_quotes && line_is_blank (line->str));
        first_line = f->line_no;
        record_bytes = line->len;

        p = line->str;
        for (;;) {
                char ch = *p;

                if (in_quotes) {
                        if (ch == '\0') {
                                /* The quoted field continues on the next line. */
                                g_string_append_c (cell, '\n');
                                if (!augur_trace_file_read_line (f, line, error)) {
                                        if (error && *error)
                                                return FALSE;
                                        *ret_bad = TRUE;   /* unterminated quote at EOF */
                                        break;
                                }
                                record_bytes += 1 + line->len;
                                if (record_bytes > AUGUR_TRACE_MAX_RECORD_BYTES) {
                                        g_autofree char *what = g_strdup_printf (
                                                "longer than %d bytes", AUGUR_TRACE_MAX_RECORD_BYTES);

                                        return record_too_big (f, first_line, what, error);
                                }
                                p = line->str;
                                continue;
                        }
                        if (ch == '"') {
                                if (p[1] == '"') {
                                        g_string_append_c (cell, '"');
                                        p += 2;
                                        continue;
                                }
                                in_quotes = FALSE;
                                p++;
                                continue;
                        }
                        g_string_append_c (cell, ch);
                        p++;
                        continue;
                }
                if (ch == '"') {
                        if (cell->len > 0 && !line_is_blank (cell->str))
                                *ret_bad = TRUE;   /* quote inside an unquoted field */
                        g_string_truncate (cell, 0);
                        in_quotes = TRUE;
                        was_quoted = TRUE;
                        p++;
                        continue;
                }
                if (ch == ',' || ch == '\0') {
                        char *v;

                        if (fields->len >= AUGUR_TRACE_MAX_FIELDS) {
                                g_autofree char *what = g_strdup_printf (
                                        "with more than %d fields", AUGUR_TRACE_MAX_FIELDS);

                                return record_too_big (f, first_line, what, error);
                        }
                        v = g_strdup (cell->str);
                        if (!was_quoted)
                                g_strstrip (v);
                        g_ptr_array_add (fields, v);
                        g_string_truncate (cell, 0);
                        was_quoted = FALSE;
                        if (ch == '\0')
                                break;
                        p++;
                        continue;
                }
                if (was_quoted && !g_ascii_isspace (ch))
                        *ret_bad = TRUE;           /* text after a closing quote */
                if (!was_quoted)
                        g_string_append_c (cell, ch);
                p++;
        }
        return TRUE;
}

/* ----------------------------------------------------------- row reader */

void
augur_trace_rows_clear (AugurTraceRows *rr)
{
        g_clear_pointer (&rr->f, augur_trace_file_close);
        if (rr->line)
                g_string_free (g_steal_pointer (&rr->line), TRUE);
        g_clear_pointer (&rr->cells, g_ptr_array_unref);
        g_clear_pointer (&rr->record, g_ptr_array_unref);
        g_clear_error (&rr->error);
}

/* Start on f (taken over) and count it in st->files. */
void
augur_trace_rows_init (AugurTraceRows *rr, AugurTraceFile *f, char sep, guint max_fields,
                       AugurTraceStats *st)
{
        rr->f = f;
        rr->sep = sep;
        rr->max_fields = max_fields;
        rr->st = st;
        rr->line = g_string_new (NULL);
        rr->cells = g_ptr_array_new ();
        rr->record = g_ptr_array_new_with_free_func (g_free);
        st->files++;
}

/* augur_trace_rows_init() on the file at path; FALSE with error (nothing
 * counted) when it cannot be opened. */
gboolean
augur_trace_rows_open (AugurTraceRows *rr, const char *path, char sep, guint max_fields,
                       AugurTraceStats *st, GError **error)
{
        AugurTraceFile *f = augur_trace_file_open (path, error);

        if (!f)
                return FALSE;
        augur_trace_rows_init (rr, f, sep, max_fields, st);
        return TRUE;
}

static gboolean
rows_read (AugurTraceRows *rr, gboolean header, char ***ret_fields, guint *ret_n, gboolean *ret_bad)
{
        gboolean bad = FALSE;

        if (rr->sep == '\0') {
                /* read_csv_record skips blank lines itself */
                if (!read_csv_record (rr->f, rr->line, rr->record, &bad, &rr->error))
                        return FALSE;
                *ret_fields = (char **) rr->record->pdata;
                *ret_n = rr->record->len;
        } else {
                do {
                        if (!augur_trace_file_read_line (rr->f, rr->line, &rr->error))
                                return FALSE;
                } while (!header && line_is_blank (rr->line->str));
                *ret_n = split_simple (rr->line->str, rr->sep, rr->cells, rr->max_fields);
                *ret_fields = (char **) rr->cells->pdata;
        }
        if (ret_bad)
                *ret_bad = bad;
        if (!header)
                rr->st->rows_read++;
        return TRUE;
}

/* The first row, blank or not.  FALSE when there is none: an empty file,
 * or a read error (augur_trace_rows_end() says which). */
gboolean
augur_trace_rows_header (AugurTraceRows *rr, char ***ret_fields, guint *ret_n)
{
        return rows_read (rr, TRUE, ret_fields, ret_n, NULL);
}

/* The next row that is not blank, counted in rows_read; *ret_bad (may be
 * NULL) says an RFC 4180 record is malformed.  FALSE after the last row. */
gboolean
augur_trace_rows_next (AugurTraceRows *rr, char ***ret_fields, guint *ret_n, gboolean *ret_bad)
{
        return rows_read (rr, FALSE, ret_fields, ret_n, ret_bad);
}

/* How the rows ended: TRUE at the end of the file, FALSE with the read
 * error set. */
gboolean
augur_trace_rows_end (AugurTraceRows *rr, GError **error)
{
        if (rr->error) {
                g_propagate_error (error, g_steal_pointer (&rr->error));
                return FALSE;
        }
        return TRUE;
}
