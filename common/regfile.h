/* regfile.h — open and read files that must be regular files.
 *
 * What it is: the one place where augur opens a file an operator named
 * (the config file, a model file, the hook's config) and where it checks
 * a path it is about to create files next to (the database).  A FIFO
 * there blocks open() or read() forever (augurd, `virt-augur eval`, and
 * the hook until its alarm all hung on one); a device or a directory is a
 * mistake worth saying so.  So: stat first, and never open anything that
 * is not a regular file; open with O_NONBLOCK | O_NOCTTY in case the path
 * changed in between, and check the open fd again with fstat.
 *
 * What it is not: a defence against an attacker who controls the
 * directory (nothing here is atomic against renames).  Symlinks are
 * followed: a link to a regular file is a regular file.
 *
 * Errors are G_FILE_ERROR: the errno's code for open/stat failures (so
 * G_FILE_ERROR_NOENT stays recognisable), G_FILE_ERROR_INVAL for "not a
 * regular file" and G_FILE_ERROR_FAILED for a file over the size limit.
 * Messages name the path. */
#pragma once

#include <glib.h>

/* Open path read-only if it is a regular file.  Returns the fd (blocking,
 * close-on-exec; the caller closes it) or -1 with error set. */
int augur_regfile_open (const char *path, GError **error);

/* Read all of regular file path, at most max_bytes.  On success
 * *ret_contents (transfer full, NUL-terminated) and *ret_len are set. */
gboolean augur_regfile_read (const char *path, gsize max_bytes, char **ret_contents,
                             gsize *ret_len, GError **error);

/* Is path a regular file or absent (a file we may create)?  TRUE for
 * either; FALSE with G_FILE_ERROR_INVAL when something else is there (a
 * device, a FIFO, a directory, a socket), or with the errno's code when
 * stat fails for another reason than ENOENT. */
gboolean augur_regfile_check_or_absent (const char *path, GError **error);

/* "a FIFO", "a character device", ... for messages: what st_mode is. */
const char *augur_regfile_kind (unsigned int st_mode);
