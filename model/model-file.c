/* model-file.c — the model file: save and load an AugurModel.  API:
 * model-file.h.  Also the model's destructor and the forecaster's error
 * quark (forecast.h).
 *
 * What it is: the metadata section, in JSON, next to the blob's weights.
 * What it is not: the blob container (blob.c), which stores the section
 * byte for byte.
 *
 * MODEL FILE METADATA (blob user section 0x100, "augur-meta")
 *   UTF-8 JSON, one object, version 3:
 *   { "version":3, "input_row":2, "features":[names...], "groups":mask, "step_s":300,
 *     "max_fill_steps":2, "norm":{"mean":[11], "sd":[11]} (AugurSig order),
 *     "targets":["cpu_pct","mem_pct","disk_kibps","net_kibps"],
 *     "horizons":H, "window":T, "quantile":q, "coverage":c,
 *     "point_loss":"mse"|"mae", "split":"time"|"vm", "target_scale":[4],
 *     "calib":{"<model>":{"<target>":[H margins]}},
 *     "baselines":{"<target>":{"ewma_alpha":a,"ridge_lambda":l,
 *                  "ridge_ok":b,"ridge_w":[[P]...H]}},
 *     "train":{"seconds":s,"epochs":e,"best_epoch":b} }
 *   JSON because it is small (a few KiB), self-describing, and readable
 *   with `strings`; floats are written with 17 digits and read back
 *   exactly.  The loader checks the feature names against this build's
 *   table and refuses a model whose features it does not compute.
 *   Version 2 added the BUCKETS feature group (bit 0x20, features appended
 *   after the activity ones), nothing else: a version-1 file (mask <= 0x1f)
 *   loads unchanged, and a version-1 file claiming bit 0x20 is refused.  The
 *   bump makes an older augur refuse a version-2 file by its version, with
 *   a message that says so, instead of by its mask.
 *   Version 3 adds "input_row": the version of the model's input row it
 *   was trained on (common/units.h AUGUR_MODEL_ROW_VERSION).  Files
 *   before it carry row 1 (capacities = the balloon and online vCPUs when
 *   trained from augurd's history) and are refused with a message that
 *   says to retrain: a model must be served the signal it learnt.
 *   Version 4 added the RECENCY feature group (bit 0x40, features appended
 *   after the buckets; opt-in, `train --recency`): files of versions 1-3
 *   load unchanged, one of them claiming bit 0x40 is refused, and an older
 *   augur refuses a version-4 file by its version.
 *   Version 5 adds "serve":{"<target>":{"moving":[H names],"flat":[H
 *   names],"calm":[H names],"quiet":[H names]}}, the VALIDATION GATE (forecast.h): per target, regime and
 *   horizon "nn" or the baseline the model serves there.  Required from version 5 on; files of versions 1-4 serve
 *   the NN everywhere, as they always did.  An augur before version 5
 *   refuses a version-5 file by its version ("version" = 5 out of range
 *   [1, 4]) rather than serve the raw NN where the file says a baseline
 *   did better, and augurd then forecasts with the baselines alone.  A
 *   file newer than this reader is refused with a message naming both
 *   versions.
 *   Version 6 adds the DAY feature group (bit 0x80, the hourly means of a
 *   day, appended after RECENCY; opt-in, `train --day`): files of versions
 *   1-5 load unchanged, one of them claiming bit 0x80 is refused, and an
 *   augur before it refuses a version-6 file by its version.
 *   Version 7 adds MIX cells to "serve" (forecast.h VALIDATION GATE):
 *   "mix:<baseline>:<the NN's weight>", e.g. "mix:ridge_ar:0.50".  Files of
 *   versions 5-6 load unchanged; an augur before it refuses a version-7
 *   file by its version rather than by a name it does not know.
 *   Version 8 adds "nets": n, the networks averaged (forecast.h ENSEMBLE;
 *   absent = 1), and "train":{..., "more":[{"epochs":e,"best_epoch":b},
 *   ...]} for networks 2..n.  Network 1 is the blob's own; network i >= 2
 *   is blob user section 0x100 + i - 1 (MORE_NET_SECTION), a whole model
 *   file of blob.c's format holding that network alone, read with the
 *   same checks as the outer one.  A file whose section is missing, or
 *   whose network differs from the first in architecture, shapes or
 *   attention configuration, is refused.  Files of versions 1-7 load as
 *   one network; an augur before version 8 refuses a version-8 file by its
 *   version rather than serve one network with the margins and gate of
 *   the mean.
 */
#include "model-file.h"
#include "blob.h"
#include "units.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK (augur-forecast-error-quark, augur_forecast_error)

#define META_SECTION_ID   (AUGUR_BLOB_SECTION_USER + 0)
#define META_VERSION      8
#define MORE_NET_SECTION(i) (AUGUR_BLOB_SECTION_USER + (i))   /* net i + 1, i >= 1 */
#define META_VERSION_MIN  1   /* read, and refused by input_row below */

void
augur_model_free (AugurModel *m)
{
        if (!m)
                return;
        augur_nn_free (m->nn);
        augur_nnq_free (m->nnq);
        for (guint i = 0; i < AUGUR_MODEL_MAX_NETS - 1; i++) {
                augur_nn_free (m->more_nn[i]);
                augur_nnq_free (m->more_nnq[i]);
        }
        g_free (m);
}

static void
json_add_floats (JsonBuilder *b, const float *v, guint n)
{
        json_builder_begin_array (b);
        for (guint i = 0; i < n; i++)
                json_builder_add_double_value (b, isfinite (v[i]) ? v[i] : 0.0);
        json_builder_end_array (b);
}

const char *
augur_serve_name (guint8 sv, char *buf, gsize len)
{
        float w;
        int b = augur_serve_decode (sv, &w);

        if (b < 0)
                g_strlcpy (buf, "nn", len);
        else if (w == 0.0f)
                g_strlcpy (buf, augur_baseline_name ((AugurBaselineKind) b), len);
        else {
                char wtxt[G_ASCII_DTOSTR_BUF_SIZE];   /* not the locale's comma */

                g_snprintf (buf, len, "mix:%s:%s", augur_baseline_name ((AugurBaselineKind) b),
                            g_ascii_formatd (wtxt, sizeof wtxt, "%.2f", w));
        }
        return buf;
}

/* The VALIDATION GATE as the JSON object "serve" holds it (top of this
 * file): {"<target>": {"<regime>": [H names], ...}, ...}, added to b. */
void
augur_model_serve_to_json (const AugurModel *m, JsonBuilder *b)
{
        json_builder_begin_object (b);
        for (int t = 0; t < AUGUR_TARGET_N; t++) {
                json_builder_set_member_name (b, augur_target_name ((AugurTarget) t));
                json_builder_begin_object (b);
                for (int g = 0; g < AUGUR_REGIME_N; g++) {
                        json_builder_set_member_name (b, augur_regime_name ((AugurRegime) g));
                        json_builder_begin_array (b);
                        for (guint h = 1; h <= m->H; h++) {
                                char name[AUGUR_SERVE_NAME_MAX];

                                json_builder_add_string_value (b, augur_serve_name (m->serve[t][g][h - 1],
                                                                                    name, sizeof name));
                        }
                        json_builder_end_array (b);
                }
                json_builder_end_object (b);
        }
        json_builder_end_object (b);
}

int
augur_serve_parse (const char *name)
{
        for (int sv = 0; sv < AUGUR_SERVE_N; sv++) {
                char known[AUGUR_SERVE_NAME_MAX];

                if (g_strcmp0 (name, augur_serve_name ((guint8) sv, known, sizeof known)) == 0)
                        return sv;
        }
        return -1;
}

const char *
augur_regime_name (AugurRegime r)
{
        static const char *const names[AUGUR_REGIME_N] = {
                [AUGUR_REGIME_MOVING] = "moving",
                [AUGUR_REGIME_FLAT] = "flat",
                [AUGUR_REGIME_CALM] = "calm",
                [AUGUR_REGIME_QUIET] = "quiet",
        };

        return r < AUGUR_REGIME_N ? names[r] : "moving";
}

/* serve[] of one target and regime from the JSON array of H names in
 * "serve"; FALSE with error for a missing array, a wrong length or an
 * unknown name. */
static gboolean
read_serve (JsonObject *serve, AugurTarget t, AugurRegime g, guint H, guint8 *ret, GError **error)
{
        const char *tn = augur_target_name (t), *gn = augur_regime_name (g);
        JsonObject *o = NULL;
        JsonArray *a;

        if (serve && json_object_has_member (serve, tn)
            && JSON_NODE_HOLDS_OBJECT (json_object_get_member (serve, tn)))
                o = json_object_get_object_member (serve, tn);
        if (!o || !json_object_has_member (o, gn)
            || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, gn))
            || json_array_get_length ((a = json_object_get_array_member (o, gn))) != H) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL,
                             "metadata: \"serve\" must name what is served at each of the %u horizons "
                             "of %s, %s", H, tn, gn);
                return FALSE;
        }
        for (guint h = 1; h <= H; h++) {
                const char *name = json_array_get_string_element (a, h - 1);
                int found = augur_serve_parse (name);

                if (found < 0) {
                        g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL,
                                     "metadata: \"serve\" of %s, %s at h=%u is \"%s\", neither \"nn\" nor "
                                     "a baseline or mix this build knows", tn, gn, h,
                                     name ? name : "(not a string)");
                        return FALSE;
                }
                ret[h - 1] = (guint8) found;
        }
        return TRUE;
}

static char *
meta_to_json (const AugurModel *m)
{
        g_autoptr (JsonBuilder) b = json_builder_new ();
        g_autoptr (JsonGenerator) gen = json_generator_new ();
        g_autoptr (JsonNode) root = NULL;

        json_builder_begin_object (b);
        json_builder_set_member_name (b, "version");
        json_builder_add_int_value (b, META_VERSION);
        json_builder_set_member_name (b, "input_row");
        json_builder_add_int_value (b, AUGUR_MODEL_ROW_VERSION);
        json_builder_set_member_name (b, "nets");
        json_builder_add_int_value (b, augur_model_n_nets (m));
        json_builder_set_member_name (b, "features");
        json_builder_begin_array (b);
        for (guint k = 0; k < m->F; k++)
                json_builder_add_string_value (b, augur_features_name (m->feat.groups, k));
        json_builder_end_array (b);
        json_builder_set_member_name (b, "groups");
        json_builder_add_int_value (b, m->feat.groups);
        json_builder_set_member_name (b, "step_s");
        json_builder_add_int_value (b, m->feat.step_s);
        json_builder_set_member_name (b, "max_fill_steps");
        json_builder_add_int_value (b, m->feat.max_fill_steps);
        json_builder_set_member_name (b, "norm");
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "mean");
        json_add_floats (b, m->feat.norm.mean, AUGUR_SIG_N);
        json_builder_set_member_name (b, "sd");
        json_add_floats (b, m->feat.norm.sd, AUGUR_SIG_N);
        json_builder_end_object (b);
        json_builder_set_member_name (b, "targets");
        json_builder_begin_array (b);
        for (int t = 0; t < AUGUR_TARGET_N; t++)
                json_builder_add_string_value (b, augur_target_name ((AugurTarget) t));
        json_builder_end_array (b);
        json_builder_set_member_name (b, "horizons");
        json_builder_add_int_value (b, m->H);
        json_builder_set_member_name (b, "window");
        json_builder_add_int_value (b, m->T);
        json_builder_set_member_name (b, "quantile");
        json_builder_add_double_value (b, m->quantile);
        json_builder_set_member_name (b, "coverage");
        json_builder_add_double_value (b, m->coverage);
        json_builder_set_member_name (b, "point_loss");
        json_builder_add_string_value (b, m->point_loss == AUGUR_POINT_LOSS_MAE ? "mae" : "mse");
        json_builder_set_member_name (b, "split");
        json_builder_add_string_value (b, m->split == AUGUR_SPLIT_BY_VM ? "vm" : "time");
        json_builder_set_member_name (b, "target_scale");
        json_add_floats (b, m->target_scale, AUGUR_TARGET_N);

        json_builder_set_member_name (b, "calib");
        json_builder_begin_object (b);
        for (guint mi = 0; mi < 2 + AUGUR_BL_N; mi++) {
                char name[32];

                if (mi < 2)
                        g_snprintf (name, sizeof name, "nn_%s", mi == 0 ? "float" : "int");
                else
                        g_strlcpy (name, augur_baseline_name ((AugurBaselineKind) (mi - 2)), sizeof name);
                json_builder_set_member_name (b, name);
                json_builder_begin_object (b);
                for (int t = 0; t < AUGUR_TARGET_N; t++) {
                        json_builder_set_member_name (b, augur_target_name ((AugurTarget) t));
                        json_add_floats (b, mi < 2 ? m->nn_margin[mi][t] : m->bl_margin[t][mi - 2], m->H);
                }
                json_builder_end_object (b);
        }
        json_builder_end_object (b);

        json_builder_set_member_name (b, "baselines");
        json_builder_begin_object (b);
        for (int t = 0; t < AUGUR_TARGET_N; t++) {
                const AugurBaselineParams *p = &m->bl[t];

                json_builder_set_member_name (b, augur_target_name ((AugurTarget) t));
                json_builder_begin_object (b);
                json_builder_set_member_name (b, "ewma_alpha");
                json_builder_add_double_value (b, p->ewma_alpha);
                json_builder_set_member_name (b, "ridge_lambda");
                json_builder_add_double_value (b, p->ridge_lambda);
                json_builder_set_member_name (b, "ridge_ok");
                json_builder_add_boolean_value (b, p->ridge_ok);
                json_builder_set_member_name (b, "ridge_w");
                json_builder_begin_array (b);
                for (guint h = 0; h < m->H; h++)
                        json_add_floats (b, p->ridge_w[h], AUGUR_RIDGE_P);
                json_builder_end_array (b);
                json_builder_end_object (b);
        }
        json_builder_end_object (b);

        json_builder_set_member_name (b, "serve");
        augur_model_serve_to_json (m, b);

        json_builder_set_member_name (b, "train");
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "seconds");
        json_builder_add_double_value (b, m->train_seconds);
        json_builder_set_member_name (b, "epochs");
        json_builder_add_int_value (b, m->epochs_run);
        json_builder_set_member_name (b, "best_epoch");
        json_builder_add_int_value (b, m->best_epoch);
        json_builder_set_member_name (b, "more");
        json_builder_begin_array (b);
        for (guint i = 1; i < augur_model_n_nets (m); i++) {
                json_builder_begin_object (b);
                json_builder_set_member_name (b, "epochs");
                json_builder_add_int_value (b, m->more_epochs[i - 1]);
                json_builder_set_member_name (b, "best_epoch");
                json_builder_add_int_value (b, m->more_best[i - 1]);
                json_builder_end_object (b);
        }
        json_builder_end_array (b);
        json_builder_end_object (b);
        json_builder_end_object (b);

        root = json_builder_get_root (b);
        json_generator_set_root (gen, root);
        return json_generator_to_data (gen, NULL);
}

gboolean
augur_model_save (const AugurModel *m, const char *path, GError **error)
{
        g_autofree char *json = meta_to_json (m);
        AugurBlobSection sec[AUGUR_MODEL_MAX_NETS] = { { META_SECTION_ID, json, strlen (json) } };
        GBytes *more[AUGUR_MODEL_MAX_NETS] = { NULL };
        guint n = augur_model_n_nets (m);
        gboolean ok = TRUE;

        for (guint i = 1; ok && i < n; i++) {
                more[i] = augur_blob_save_to_bytes (augur_model_net (m, i), augur_model_netq (m, i), NULL, 0, error);
                ok = more[i] != NULL;
                if (ok) {
                        sec[i].id = MORE_NET_SECTION (i);
                        sec[i].data = g_bytes_get_data (more[i], &sec[i].len);
                }
        }
        ok = ok && augur_blob_save (path, m->nn, m->nnq, sec, n, error);
        for (guint i = 1; i < n; i++)
                g_clear_pointer (&more[i], g_bytes_unref);
        return ok;
}

static gboolean
read_floats (JsonObject *o, const char *member, float *ret, guint n, GError **error)
{
        JsonArray *a;

        if (!json_object_has_member (o, member)
            || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, member))
            || json_array_get_length ((a = json_object_get_array_member (o, member))) != n) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL,
                             "metadata: \"%s\" must be an array of %u numbers", member, n);
                return FALSE;
        }
        for (guint i = 0; i < n; i++)
                ret[i] = (float) json_array_get_double_element (a, i);
        return TRUE;
}

static gint64
read_int (JsonObject *o, const char *member, gint64 lo, gint64 hi, gboolean *ok, GError **error)
{
        gint64 v;

        if (!*ok)
                return 0;
        if (!json_object_has_member (o, member)) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL,
                             "metadata: \"%s\" missing", member);
                *ok = FALSE;
                return 0;
        }
        v = json_object_get_int_member (o, member);
        if (v < lo || v > hi) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL,
                             "metadata: \"%s\" = %" G_GINT64_FORMAT " out of range [%" G_GINT64_FORMAT
                             ", %" G_GINT64_FORMAT "]", member, v, lo, hi);
                *ok = FALSE;
        }
        return v;
}

static gboolean
meta_from_json (AugurModel *m, const char *json, gsize len, GError **error)
{
        g_autoptr (JsonParser) parser = json_parser_new ();
        JsonObject *o, *norm, *calib, *bls, *serve;
        JsonArray *names;
        gboolean ok = TRUE;
        gint64 version, input_row;

        if (!json_parser_load_from_data (parser, json, (gssize) len, error)) {
                g_prefix_error (error, "metadata: ");
                return FALSE;
        }
        if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL,
                             "metadata: not a JSON object");
                return FALSE;
        }
        o = json_node_get_object (json_parser_get_root (parser));
        version = json_object_has_member (o, "version") ? json_object_get_int_member (o, "version") : 0;
        if (version > META_VERSION) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL,
                             "metadata version %" G_GINT64_FORMAT " is newer than this augur reads "
                             "(%d): upgrade augur, or retrain the model with this one's `virt-augur train`",
                             version, META_VERSION);
                return FALSE;
        }
        version = read_int (o, "version", META_VERSION_MIN, META_VERSION, &ok, error);
        if (!ok)
                return FALSE;
        augur_features_config_init (&m->feat);
        m->feat.groups = (guint) read_int (o, "groups", 1, AUGUR_FEAT_GROUPS_KNOWN, &ok, error);
        if (ok && version < 2 && (m->feat.groups & AUGUR_FEAT_GROUP_BUCKETS)) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL,
                             "metadata: version 1 cannot have the bucket feature group");
                return FALSE;
        }
        if (ok && version < 6 && (m->feat.groups & AUGUR_FEAT_GROUP_DAY)) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL,
                             "metadata: version %" G_GINT64_FORMAT " cannot have the day feature group",
                             version);
                return FALSE;
        }
        if (ok && version < 4 && (m->feat.groups & AUGUR_FEAT_GROUP_RECENCY)) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL,
                             "metadata: version %" G_GINT64_FORMAT " cannot have the recency feature group",
                             version);
                return FALSE;
        }
        input_row = version >= 3 ? read_int (o, "input_row", 1, 1000, &ok, error) : 1;
        m->n_nets = version >= 8 ? (guint) read_int (o, "nets", 1, AUGUR_MODEL_MAX_NETS, &ok, error) : 1;
        if (!ok)
                return FALSE;
        if (input_row != AUGUR_MODEL_ROW_VERSION) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MISMATCH,
                             "trained on model input row version %" G_GINT64_FORMAT ", this augur feeds "
                             "version %d (capacities are the <memory> and <vcpu> maxima, "
                             "common/units.h): retrain it with `virt-augur train`",
                             input_row, AUGUR_MODEL_ROW_VERSION);
                return FALSE;
        }
        m->feat.step_s = read_int (o, "step_s", 1, 86400, &ok, error);
        m->feat.max_fill_steps = (guint) read_int (o, "max_fill_steps", 0, 1000, &ok, error);
        m->H = (guint) read_int (o, "horizons", 1, AUGUR_FORECAST_MAX_H, &ok, error);
        m->T = (guint) read_int (o, "window", 1, 100000, &ok, error);
        if (!ok)
                return FALSE;
        m->F = augur_features_count (m->feat.groups);
        names = json_object_has_member (o, "features") ? json_object_get_array_member (o, "features") : NULL;
        if (!names || json_array_get_length (names) != m->F) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MISMATCH,
                             "model features do not match this build (%u expected)", m->F);
                return FALSE;
        }
        for (guint k = 0; k < m->F; k++)
                if (g_strcmp0 (json_array_get_string_element (names, k),
                               augur_features_name (m->feat.groups, k)) != 0) {
                        g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MISMATCH,
                                     "model feature %u is \"%s\", this build computes \"%s\"", k,
                                     json_array_get_string_element (names, k),
                                     augur_features_name (m->feat.groups, k));
                        return FALSE;
                }
        norm = json_object_has_member (o, "norm") ? json_object_get_object_member (o, "norm") : NULL;
        if (!norm || !read_floats (norm, "mean", m->feat.norm.mean, AUGUR_SIG_N, error)
            || !read_floats (norm, "sd", m->feat.norm.sd, AUGUR_SIG_N, error)) {
                if (error && !*error)
                        g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL, "metadata: no norm");
                return FALSE;
        }
        if (!read_floats (o, "target_scale", m->target_scale, AUGUR_TARGET_N, error))
                return FALSE;
        m->quantile = (float) json_object_get_double_member_with_default (o, "quantile", 0.95);
        m->coverage = (float) json_object_get_double_member_with_default (o, "coverage", 0.95);
        m->point_loss = g_strcmp0 (json_object_get_string_member_with_default (o, "point_loss", "mse"), "mae") == 0
                        ? AUGUR_POINT_LOSS_MAE : AUGUR_POINT_LOSS_MSE;
        m->split = g_strcmp0 (json_object_get_string_member_with_default (o, "split", "time"), "vm") == 0
                   ? AUGUR_SPLIT_BY_VM : AUGUR_SPLIT_BY_TIME;

        calib = json_object_has_member (o, "calib") ? json_object_get_object_member (o, "calib") : NULL;
        for (guint mi = 0; calib && mi < 2 + AUGUR_BL_N; mi++) {
                char name[32];
                JsonObject *co;

                if (mi < 2)
                        g_snprintf (name, sizeof name, "nn_%s", mi == 0 ? "float" : "int");
                else
                        g_strlcpy (name, augur_baseline_name ((AugurBaselineKind) (mi - 2)), sizeof name);
                if (!json_object_has_member (calib, name))
                        continue;
                co = json_object_get_object_member (calib, name);
                for (int t = 0; t < AUGUR_TARGET_N; t++)
                        if (!read_floats (co, augur_target_name ((AugurTarget) t),
                                          mi < 2 ? m->nn_margin[mi][t] : m->bl_margin[t][mi - 2], m->H, error))
                                return FALSE;
        }
        bls = json_object_has_member (o, "baselines") ? json_object_get_object_member (o, "baselines") : NULL;
        for (int t = 0; t < AUGUR_TARGET_N; t++) {
                AugurBaselineParams *p = &m->bl[t];
                JsonObject *bo;
                JsonArray *w;

                augur_baseline_params_init (p, m->H, m->feat.step_s);
                if (!bls || !json_object_has_member (bls, augur_target_name ((AugurTarget) t)))
                        continue;
                bo = json_object_get_object_member (bls, augur_target_name ((AugurTarget) t));
                p->ewma_alpha = (float) json_object_get_double_member_with_default (bo, "ewma_alpha", 0.5);
                p->ridge_lambda = (float) json_object_get_double_member_with_default (bo, "ridge_lambda", 1.0);
                p->ridge_ok = json_object_get_boolean_member_with_default (bo, "ridge_ok", FALSE);
                w = json_object_has_member (bo, "ridge_w") ? json_object_get_array_member (bo, "ridge_w") : NULL;
                if (!w || json_array_get_length (w) != m->H) {
                        p->ridge_ok = FALSE;
                        continue;
                }
                for (guint h = 0; h < m->H; h++) {
                        JsonArray *row = json_array_get_array_element (w, h);

                        if (!row || json_array_get_length (row) != AUGUR_RIDGE_P) {
                                p->ridge_ok = FALSE;
                                break;
                        }
                        for (guint j = 0; j < AUGUR_RIDGE_P; j++)
                                p->ridge_w[h][j] = (float) json_array_get_double_element (row, j);
                }
        }
        memset (m->serve, AUGUR_SERVE_NN, sizeof m->serve);
        serve = version >= 5 && json_object_has_member (o, "serve")
                && JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "serve"))
                ? json_object_get_object_member (o, "serve") : NULL;
        for (int t = 0; version >= 5 && t < AUGUR_TARGET_N; t++)
                for (int g = 0; g < AUGUR_REGIME_N; g++)
                        if (!read_serve (serve, (AugurTarget) t, (AugurRegime) g, m->H, m->serve[t][g], error))
                                return FALSE;
        if (json_object_has_member (o, "train")) {
                JsonObject *tr = json_object_get_object_member (o, "train");

                m->train_seconds = json_object_get_double_member_with_default (tr, "seconds", 0);
                m->epochs_run = (guint) json_object_get_int_member_with_default (tr, "epochs", 0);
                m->best_epoch = (guint) json_object_get_int_member_with_default (tr, "best_epoch", 0);
                if (json_object_has_member (tr, "more")
                    && JSON_NODE_HOLDS_ARRAY (json_object_get_member (tr, "more"))) {
                        JsonArray *a = json_object_get_array_member (tr, "more");

                        for (guint i = 0; i + 1 < m->n_nets && i < json_array_get_length (a); i++) {
                                JsonNode *e = json_array_get_element (a, i);

                                if (!JSON_NODE_HOLDS_OBJECT (e))
                                        continue;
                                m->more_epochs[i] = (guint) json_object_get_int_member_with_default (
                                        json_node_get_object (e), "epochs", 0);
                                m->more_best[i] = (guint) json_object_get_int_member_with_default (
                                        json_node_get_object (e), "best_epoch", 0);
                        }
                }
        }
        return TRUE;
}

/* Network i + 1 (i >= 1) from its section (version 8 above): present, a
 * valid model file of its own, and the first network's twin in shape. */
static gboolean
load_more_net (AugurModel *m, GHashTable *extra, guint i, GError **error)
{
        GBytes *b = g_hash_table_lookup (extra, GUINT_TO_POINTER (MORE_NET_SECTION (i)));
        const AugurNNConfig *a = &m->nn->cfg, *c;
        g_autoptr (AugurNN) nn = NULL;
        g_autoptr (AugurNNQ) q = NULL;
        gsize len = 0;
        const guint8 *data;

        if (!b) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL,
                             "network %u of %u is missing (section 0x%x)", i + 1, m->n_nets,
                             MORE_NET_SECTION (i));
                return FALSE;
        }
        data = g_bytes_get_data (b, &len);
        if (!augur_blob_load_from_data (data, len, &nn, &q, NULL, error)) {
                g_prefix_error (error, "network %u of %u: ", i + 1, m->n_nets);
                return FALSE;
        }
        c = &nn->cfg;
        if (c->arch != a->arch || c->n_in != a->n_in || c->hidden != a->hidden || c->n_out != a->n_out
            || (a->arch == AUGUR_ARCH_TRANSFORMER
                && (c->layers != a->layers || c->heads != a->heads || c->max_len != a->max_len))) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MISMATCH,
                             "network %u of %u (%s, %u in, %u hidden, %u out) differs from the first "
                             "(%s, %u in, %u hidden, %u out)", i + 1, m->n_nets, augur_arch_name (c->arch),
                             c->n_in, c->hidden, c->n_out, augur_arch_name (a->arch), a->n_in, a->hidden,
                             a->n_out);
                return FALSE;
        }
        m->more_nn[i - 1] = g_steal_pointer (&nn);
        m->more_nnq[i - 1] = g_steal_pointer (&q);
        return TRUE;
}

AugurModel *
augur_model_load (const char *path, GError **error)
{
        g_autoptr (AugurModel) m = g_new0 (AugurModel, 1);
        g_autoptr (GHashTable) extra = NULL;
        GBytes *meta;
        gsize len = 0;
        const char *data;

        if (!augur_blob_load (path, &m->nn, &m->nnq, &extra, error))
                return NULL;
        meta = extra ? g_hash_table_lookup (extra, GUINT_TO_POINTER (META_SECTION_ID)) : NULL;
        if (!meta) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MODEL,
                             "%s: model file has no forecaster metadata section", path);
                return NULL;
        }
        data = g_bytes_get_data (meta, &len);
        if (!meta_from_json (m, data, len, error)) {
                g_prefix_error (error, "%s: ", path);
                return NULL;
        }
        if (m->nn->cfg.n_in != m->F
            || m->nn->cfg.n_out != AUGUR_TARGET_N * AUGUR_FORECAST_HEADS * m->H) {
                g_set_error (error, AUGUR_FORECAST_ERROR, AUGUR_FORECAST_ERROR_MISMATCH,
                             "%s: network shapes (%u in, %u out) do not match the metadata (%u in, %u out)",
                             path, m->nn->cfg.n_in, m->nn->cfg.n_out, m->F,
                             AUGUR_TARGET_N * AUGUR_FORECAST_HEADS * m->H);
                return NULL;
        }
        for (guint i = 1; i < m->n_nets; i++)
                if (!load_more_net (m, extra, i, error)) {
                        g_prefix_error (error, "%s: ", path);
                        return NULL;
                }
        return g_steal_pointer (&m);
}
