/* tar.c — a minimal ustar reader on top of zlib.  API and limits: tar.h.
 *
 * FORMAT (what is read of each 512-byte header)
 *   0..99     name, NUL-padded (not terminated when 100 bytes long)
 *   124..135  size, octal digits, blanks ignored
 *   156       type: '0' or NUL regular file, '5' directory, 'L' GNU long
 *             name (the member's data is the next member's name), 'x'/'g'
 *             pax headers; anything else is skipped
 *   257..261  "ustar" magic (POSIX); a header without it must carry one of
 *             the types above, or the file is not tar
 *   345..499  prefix of the name (ustar only), joined with '/'
 * The data follows in 512-byte blocks; a block of zeros ends the archive.
 */
#include "tar.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

G_DEFINE_QUARK (augur-tar-error-quark, augur_tar_error)

static guint64
tar_octal (const char *p, gsize len)
{
        guint64 v = 0;

        for (gsize i = 0; i < len && p[i]; i++) {
                if (p[i] == ' ')
                        continue;
                if (p[i] < '0' || p[i] > '7')
                        break;
                v = v * 8 + (guint64) (p[i] - '0');
        }
        return v;
}

static gboolean
gz_read_exact (gzFile gz, void *buf, gsize len)
{
        return gzread (gz, buf, (unsigned) len) == (int) len;
}

static gboolean
tar_walk (gzFile gz, const char *path, gsize max_member_bytes, const char *member_what,
          AugurTarMemberFunc func, gpointer user_data, GError **error)
{
        g_autofree char *longname = NULL;
        unsigned char hdr[512];

        for (;;) {
                g_autofree char *data = NULL;
                g_autofree char *name = NULL;
                guint64 size, padded;
                char type;
                gboolean all_zero = TRUE;

                if (!gz_read_exact (gz, hdr, sizeof hdr))
                        break;   /* end of archive without trailer: accept */
                for (gsize i = 0; i < sizeof hdr; i++)
                        if (hdr[i]) {
                                all_zero = FALSE;
                                break;
                        }
                if (all_zero)
                        break;
                if (memcmp (hdr + 257, "ustar", 5) != 0 && hdr[156] != '0' && hdr[156] != '\0'
                    && hdr[156] != '5' && hdr[156] != 'L' && hdr[156] != 'x' && hdr[156] != 'g') {
                        g_set_error (error, AUGUR_TAR_ERROR, AUGUR_TAR_ERROR_FORMAT,
                                     "%s: not a tar archive", path);
                        return FALSE;
                }
                size = tar_octal ((const char *) hdr + 124, 12);
                type = (char) hdr[156];
                padded = (size + 511) / 512 * 512;
                if (size > max_member_bytes) {
                        g_autofree char *name100 = g_strndup ((const char *) hdr, 100);
                        g_autofree char *member = g_strescape (name100, NULL);

                        g_set_error (error, AUGUR_TAR_ERROR, AUGUR_TAR_ERROR_TOO_BIG,
                                     "%s: tar member '%s' of %" G_GUINT64_FORMAT " bytes is too big for %s",
                                     path, member, size, member_what);
                        return FALSE;
                }
                data = g_malloc (padded + 1);
                if (padded > 0 && !gz_read_exact (gz, data, padded)) {
                        g_set_error (error, AUGUR_TAR_ERROR, AUGUR_TAR_ERROR_IO,
                                     "%s: truncated tar archive", path);
                        return FALSE;
                }
                data[size] = '\0';
                if (type == 'L') {
                        g_free (longname);
                        longname = g_strndup (data, size);
                        continue;
                }
                if (type != '0' && type != '\0')
                        continue;   /* directories, pax headers, links */
                if (longname) {
                        name = g_steal_pointer (&longname);
                } else if (memcmp (hdr + 257, "ustar", 5) == 0 && hdr[345]) {
                        g_autofree char *prefix = g_strndup ((const char *) hdr + 345, 155);
                        g_autofree char *base = g_strndup ((const char *) hdr, 100);

                        name = g_strconcat (prefix, "/", base, NULL);
                } else {
                        name = g_strndup ((const char *) hdr, 100);
                }
                if (!func (name, data, size, user_data, error))
                        return FALSE;
        }
        return TRUE;
}

gboolean
augur_tar_read (const char *path, gsize max_member_bytes, const char *member_what,
                AugurTarMemberFunc func, gpointer user_data, GError **error)
{
        gzFile gz;
        gboolean ok;

        g_return_val_if_fail (path != NULL && func != NULL, FALSE);
        gz = gzopen (path, "rb");
        if (!gz) {
                int errsv = errno;

                g_set_error (error, AUGUR_TAR_ERROR, AUGUR_TAR_ERROR_IO,
                             "cannot open '%s': %s", path, g_strerror (errsv ? errsv : ENOMEM));
                return FALSE;
        }
        gzbuffer (gz, 256 * 1024);
        ok = tar_walk (gz, path, max_member_bytes, member_what, func, user_data, error);
        gzclose (gz);
        return ok;
}
