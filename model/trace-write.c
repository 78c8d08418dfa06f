/* trace-write.c — the augur trace CSV writer.  API: trace.h
 * (augur_trace_write_augur_csv); the format it writes is the one
 * read_augur_file() in trace.c reads.
 *
 * What it is not: a reader, or a store export (`virt-augur export` calls
 * this with series from the history store).
 */
#include "trace.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* Shortest decimal that reads back as the same float. */
static void
append_float (GString *out, float v)
{
        char buf[G_ASCII_DTOSTR_BUF_SIZE];

        for (int prec = 6; prec <= 9; prec++) {
                char fmt[8];

                g_snprintf (fmt, sizeof fmt, "%%.%dg", prec);
                g_ascii_formatd (buf, sizeof buf, fmt, v);
                if ((float) g_ascii_strtod (buf, NULL) == v)
                        break;
        }
        g_string_append (out, buf);
}

static void
append_csv_field (GString *out, const char *s)
{
        if (!strpbrk (s, ",\"\r\n") && !(s[0] == ' ' || (s[0] && s[strlen (s) - 1] == ' '))) {
                g_string_append (out, s);
                return;
        }
        g_string_append_c (out, '"');
        for (; *s; s++) {
                if (*s == '"')
                        g_string_append_c (out, '"');
                g_string_append_c (out, *s);
        }
        g_string_append_c (out, '"');
}

gboolean
augur_trace_write_augur_csv (const GPtrArray *series, const char *path, GError **error)
{
        gboolean present[AUGUR_COL_N_TRACE] = { FALSE };
        g_autoptr (GString) buf = g_string_new (NULL);
        g_autoptr (GPtrArray) sorted = NULL;
        gzFile gz;
        gboolean ok = TRUE;

        g_return_val_if_fail (series != NULL && path != NULL, FALSE);
        if (g_strcmp0 (path, "-") == 0)
                gz = gzdopen (dup (fileno (stdout)), "wT");
        else if (g_str_has_suffix (path, ".gz"))
                gz = gzopen (path, "wb6");
        else
                gz = gzopen (path, "wT");
        if (!gz) {
                g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_IO,
                             "cannot create '%s': %s", path, g_strerror (errno ? errno : ENOMEM));
                return FALSE;
        }
        sorted = g_ptr_array_new ();
        for (guint i = 0; i < series->len; i++) {
                const AugurSeries *s = g_ptr_array_index (series, i);

                g_ptr_array_add (sorted, (gpointer) s);
                for (int c = 0; c < AUGUR_COL_N_TRACE; c++)
                        if (s->col[c])
                                present[c] = TRUE;
        }
        g_ptr_array_sort (sorted, augur_series_cmp_vm);

        g_string_append (buf, "vm,ts");
        for (int c = 0; c < AUGUR_COL_N_TRACE; c++)
                if (present[c])
                        g_string_append_printf (buf, ",%s", augur_col_name ((AugurCol) c));
        g_string_append_c (buf, '\n');

        for (guint i = 0; i < sorted->len && ok; i++) {
                const AugurSeries *s = g_ptr_array_index (sorted, i);

                for (gsize r = 0; r < s->n; r++) {
                        append_csv_field (buf, s->vm);
                        g_string_append_printf (buf, ",%" G_GINT64_FORMAT, s->ts[r]);
                        for (int c = 0; c < AUGUR_COL_N_TRACE; c++) {
                                if (!present[c])
                                        continue;
                                g_string_append_c (buf, ',');
                                if (s->col[c] && !isnan (s->col[c][r]))
                                        append_float (buf, s->col[c][r]);
                        }
                        g_string_append_c (buf, '\n');
                        if (buf->len > 1 << 20) {
                                if (gzwrite (gz, buf->str, (unsigned) buf->len) != (int) buf->len)
                                        ok = FALSE;
                                g_string_truncate (buf, 0);
                                if (!ok)
                                        break;
                        }
                }
        }
        if (ok && buf->len > 0 && gzwrite (gz, buf->str, (unsigned) buf->len) != (int) buf->len)
                ok = FALSE;
        if (gzclose (gz) != Z_OK)
                ok = FALSE;
        if (!ok) {
                g_set_error (error, AUGUR_TRACE_ERROR, AUGUR_TRACE_ERROR_IO,
                             "cannot write '%s'", path);
                return FALSE;
        }
        return TRUE;
}
