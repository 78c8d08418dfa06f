/* tar.h — a minimal reader of ustar archives, plain or gzipped: one call
 * back per regular file in the archive, with its name and its bytes.
 *
 * What it is: as much of POSIX ustar and GNU tar as the archives of the
 * trace readers need (PlanetLab's day files, model/trace.c): 512-byte
 * headers, octal sizes, the ustar name prefix, GNU 'L' long names;
 * directories, links and pax headers are skipped.  The file goes through
 * zlib (gzopen/gzread), which reads a plain file as it is, so .tar and
 * .tar.gz take one path; no libarchive dependency for one format.
 * What it is not: a general archive library (no pax attributes, no sparse
 * files, no writing) or a parser of what the members hold.
 *
 * LIMITS: a header (of any type) announcing more than max_member_bytes
 * fails the walk before any of the member is read, so a hostile or damaged
 * header cannot make the reader allocate its size.  A member is read whole
 * into memory: at most max_member_bytes rounded up to 512, plus one.
 *
 * Errors (AUGUR_TAR_ERROR) say the path; the callback's own errors pass
 * through unchanged. */
#pragma once

#include <glib.h>

#define AUGUR_TAR_ERROR (augur_tar_error_quark ())
GQuark augur_tar_error_quark (void);

typedef enum {
        AUGUR_TAR_ERROR_IO,            /* cannot open; a truncated member   */
        AUGUR_TAR_ERROR_FORMAT,        /* a header that is not tar          */
        AUGUR_TAR_ERROR_TOO_BIG,       /* a header over max_member_bytes    */
} AugurTarError;

/* One regular file of the archive.  name: the GNU long name if one came
 * before, else "prefix/name" for a ustar header with a prefix, else the
 * header's name (at most 100 bytes).  data: its size bytes and a NUL; both
 * are the reader's and valid during the call only.  Return FALSE with
 * error set to stop the walk. */
typedef gboolean (*AugurTarMemberFunc) (const char *name, const char *data, gsize size,
                                        gpointer user_data, GError **error);

/* Walk the archive at path, calling func for each regular file in archive
 * order.  member_what says what a member ought to be, for the TOO_BIG
 * message ("tar member 'N' of S bytes is too big for <member_what>").
 * An archive that ends without its two zero blocks is accepted.
 * Returns TRUE at the end of the archive; FALSE with error set:
 *   AUGUR_TAR_ERROR_IO       path cannot be opened, or a member is cut short
 *   AUGUR_TAR_ERROR_FORMAT   a header is neither ustar nor a known type
 *   AUGUR_TAR_ERROR_TOO_BIG  a header announces more than max_member_bytes
 *   anything func set        func returned FALSE */
gboolean augur_tar_read (const char *path, gsize max_member_bytes, const char *member_what,
                         AugurTarMemberFunc func, gpointer user_data, GError **error);
