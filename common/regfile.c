/* regfile.c — see regfile.h. */
#include "regfile.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

const char *
augur_regfile_kind (unsigned int st_mode)
{
        if (S_ISREG (st_mode))
                return "a regular file";
        if (S_ISDIR (st_mode))
                return "a directory";
        if (S_ISFIFO (st_mode))
                return "a FIFO";
        if (S_ISCHR (st_mode))
                return "a character device";
        if (S_ISBLK (st_mode))
                return "a block device";
        if (S_ISSOCK (st_mode))
                return "a socket";
        return "not a regular file";
}

static gboolean
errno_error (GError **error, const char *path, int err)
{
        g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (err), "%s: %s", path, g_strerror (err));
        return FALSE;
}

static gboolean
kind_error (GError **error, const char *path, unsigned int st_mode)
{
        g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                     "%s is %s, not a regular file; refusing it", path, augur_regfile_kind (st_mode));
        return FALSE;
}

gboolean
augur_regfile_check_or_absent (const char *path, GError **error)
{
        struct stat st;

        if (stat (path, &st) < 0)
                return errno == ENOENT ? TRUE : errno_error (error, path, errno);
        if (!S_ISREG (st.st_mode))
                return kind_error (error, path, st.st_mode);
        return TRUE;
}

int
augur_regfile_open (const char *path, GError **error)
{
        struct stat st;
        int fd, flags;

        /* Look before opening: opening some devices has effects of its own. */
        if (stat (path, &st) < 0)
                return errno_error (error, path, errno), -1;
        if (!S_ISREG (st.st_mode))
                return kind_error (error, path, st.st_mode), -1;
        /* O_NONBLOCK: if a FIFO took the file's place meanwhile, open must
         * not wait for a writer.  fstat says what was opened. */
        fd = open (path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return errno_error (error, path, errno), -1;
        if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode)) {
                int err = errno;

                if (S_ISREG (st.st_mode))
                        errno_error (error, path, err);
                else
                        kind_error (error, path, st.st_mode);
                close (fd);
                return -1;
        }
        flags = fcntl (fd, F_GETFL);
        if (flags >= 0)
                fcntl (fd, F_SETFL, flags & ~O_NONBLOCK);
        return fd;
}

gboolean
augur_regfile_read (const char *path, gsize max_bytes, char **ret_contents, gsize *ret_len,
                    GError **error)
{
        g_autoptr(GByteArray) buf = g_byte_array_new ();
        int fd = augur_regfile_open (path, error);

        if (fd < 0)
                return FALSE;
        for (;;) {
                guint8 chunk[8192];
                ssize_t n = read (fd, chunk, sizeof chunk);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int err = errno;

                        close (fd);
                        return errno_error (error, path, err);
                }
                if (n == 0)
                        break;
                if (buf->len + (gsize) n > max_bytes) {
                        close (fd);
                        g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                                     "%s is larger than %" G_GSIZE_FORMAT " bytes; refusing it", path, max_bytes);
                        return FALSE;
                }
                g_byte_array_append (buf, chunk, (guint) n);
        }
        close (fd);
        *ret_len = buf->len;
        g_byte_array_append (buf, (const guint8 *) "", 1);
        *ret_contents = (char *) g_byte_array_free (g_steal_pointer (&buf), FALSE);
        return TRUE;
}
