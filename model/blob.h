/* blob.h — the augur model file: float master weights, their fixed-point
 * copy, and opaque metadata sections owned by the caller.
 *
 * The byte layout is documented at the top of blob.c.  In short: a fixed
 * 40-byte header (magic, version, arch, shapes), a section table, the
 * section payloads, and a CRC32 over everything before it.  Every integer
 * is little-endian regardless of the host.
 *
 * Sections with ids below AUGUR_BLOB_SECTION_USER belong to this module
 * (config, float weights, quantised weights).  Ids at or above it are
 * stored and returned byte for byte: the feature owner keeps feature names,
 * normalisation mean/std, target spec, step seconds, horizons, quantile and
 * calibration there, in whatever encoding it documents.
 */
#pragma once

#include <glib.h>

#include "nn.h"
#include "nn-q.h"

G_BEGIN_DECLS

#define AUGUR_BLOB_VERSION        1u      /* format version written          */
#define AUGUR_BLOB_SECTION_USER   0x100u  /* first id free for callers       */
#define AUGUR_BLOB_MAX_SECTIONS   256u    /* sanity limit on the table       */

typedef enum {
        AUGUR_BLOB_SECTION_CONFIG = 1,    /* hyper-parameters and tau          */
        AUGUR_BLOB_SECTION_FLOAT  = 2,    /* float parameters, table order     */
        AUGUR_BLOB_SECTION_QUANT  = 3,    /* AugurNNQ blocks                   */
} AugurBlobSectionId;

typedef struct {
        guint32 id;              /* >= AUGUR_BLOB_SECTION_USER               */
        const void *data;        /* (len) bytes, copied into the file        */
        gsize len;
} AugurBlobSection;

#define AUGUR_BLOB_ERROR (augur_blob_error_quark ())
GQuark augur_blob_error_quark (void);

typedef enum {
        AUGUR_BLOB_ERROR_IO,          /* open/read/write/rename failed        */
        AUGUR_BLOB_ERROR_TRUNCATED,   /* shorter than a header/table/section  */
        AUGUR_BLOB_ERROR_MAGIC,       /* not an augur model file              */
        AUGUR_BLOB_ERROR_VERSION,     /* written by a newer augur             */
        AUGUR_BLOB_ERROR_CORRUPT,     /* CRC mismatch, bad length, bad value  */
        AUGUR_BLOB_ERROR_SHAPE,       /* shapes out of range or inconsistent  */
} AugurBlobError;

/* Write nn, its quantised copy (q, or derived from nn when NULL) and the
 * caller's extra sections to path, atomically (temp file in the same
 * directory, fsync, rename).  Extra ids must be >= AUGUR_BLOB_SECTION_USER
 * and distinct.  Returns FALSE and sets *error on failure; the old file at
 * path, if any, is then untouched. */
gboolean augur_blob_save (const char *path, const AugurNN *nn,
                          const AugurNNQ *q, const AugurBlobSection *extra,
                          guint n_extra, GError **error);

/* The same encoding into memory: (transfer full) GBytes. */
GBytes *augur_blob_save_to_bytes (const AugurNN *nn, const AugurNNQ *q,
                                  const AugurBlobSection *extra,
                                  guint n_extra, GError **error);

/* Load a model file.  Out-parameters are written only on success, and any
 * of them may be NULL when the caller does not want that part:
 *   ret_nn     (transfer full) float model, Adam state fresh
 *   ret_q      (transfer full) fixed-point model as stored in the file
 *   ret_extra  (transfer full) GHashTable: GUINT_TO_POINTER(id) -> GBytes*
 *              for every section id >= AUGUR_BLOB_SECTION_USER
 * Returns FALSE and sets *error (AUGUR_BLOB_ERROR, code above, message
 * naming the file and the problem) for a truncated, corrupt, wrong-magic,
 * newer-version or inconsistent file. */
gboolean augur_blob_load (const char *path, AugurNN **ret_nn, AugurNNQ **ret_q,
                          GHashTable **ret_extra, GError **error);

/* The same from a memory buffer (the fuzzer's entry point). */
gboolean augur_blob_load_from_data (const guint8 *data, gsize len,
                                    AugurNN **ret_nn, AugurNNQ **ret_q,
                                    GHashTable **ret_extra, GError **error);

G_END_DECLS
