/* model-file.h — the model file: an AugurModel (forecast.h) saved as the
 * NN owner's blob (blob.h: the float weights and their fixed-point copy)
 * plus one metadata section, and loaded back.  Format and versions: the
 * top of model-file.c.
 *
 * What it is not: the blob container (blob.c) or the NN.
 *
 * Ownership: augur_model_load() returns a new model (transfer full).
 */
#pragma once

#include <glib.h>
#include "forecast.h"

gboolean augur_model_save (const AugurModel *m, const char *path, GError **error);
AugurModel *augur_model_load (const char *path, GError **error);

/* The VALIDATION GATE (forecast.h) as the model file's "serve" object,
 * added where b is (also virt-augur model show).  b is a JsonBuilder,
 * named by its struct so that this header (included by forecast.h) does
 * not need json-glib's. */
struct _JsonBuilder;
void augur_model_serve_to_json (const AugurModel *m, struct _JsonBuilder *b);
