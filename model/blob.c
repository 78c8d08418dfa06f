/* blob.c — load and save the augur model file.
 *
 * What it is: the only code that turns an AugurNN / AugurNNQ into bytes and
 * back, plus the caller's opaque metadata sections.  What it is not: a
 * general container (sections are small and read whole), nor a checkpoint
 * for resuming training (the Adam moments are not stored).
 *
 * FILE FORMAT (version 1)
 * =======================
 * All integers little-endian; floats are IEEE-754 binary32 stored as their
 * bit pattern in a little-endian u32.  No padding anywhere.
 *
 *   offset  size     field
 *   0       8        magic: 89 41 55 47 4E 4E 0D 0A  ("\x89AUGNN\r\n"; the
 *                    high byte catches 7-bit channels, CR LF catches newline
 *                    conversion, as in PNG)
 *   8       4        format version, u32 = 1.  A reader refuses a larger one.
 *   12      4        arch, u32: 0 = LSTM, 1 = GRU, 2 = transformer (a
 *                    reader without it refuses the file: "unknown
 *                    architecture 2"; LSTM/GRU files are unchanged)
 *   16      4        n_in   (I), u32, 1..4096
 *   20      4        hidden (H), u32, 1..4096
 *   24      4        n_out  (O), u32, 1..4096
 *   28      4        n_sections, u32, 1..256
 *   32      8        file_size, u64: total bytes including the CRC
 *   40      16*n     section table, one entry per section:
 *                      +0  u32 id
 *                      +4  u32 flags (0; reserved)
 *                      +8  u64 length in bytes
 *   40+16n  ...      section payloads, back to back in table order
 *   size-4  4        CRC-32 (zlib polynomial) of bytes [0, size-4)
 *
 * Sections (ids < 0x100 belong to this file; unknown ones in that range are
 * skipped so a later version can add optional sections without a version
 * bump; ids >= 0x100 belong to the caller and are returned byte for byte):
 *
 *   1 CONFIG  (32 + 4*O bytes; transformer 44 + 4*O)
 *       f32 dropout, l1, l2, clip_norm, lr, beta1, beta2, eps
 *       f32 tau[O]
 *       transformer only: u32 layers, heads, max_len
 *   2 FLOAT   (4 * n_params bytes): f32 parameters in the pointer-table
 *       order of nn.h: wx (G*H, I), wh (G*H, H), b (G*H), bhn (H, GRU only),
 *       wy (O, H), by (O); transformer: the encoder body (nn-attn.h order)
 *       in place of wx, nothing for wh b bhn, then wy by
 *   3 QUANT   (16 + 2*n16 + 4*n32 + 4*nf bytes)
 *       u32 in_pad, hid_pad, gh_pad, out_pad  (must equal what the shapes give)
 *       i16 block (n16 values): wx_q, wh_q, wy_q, sig_q15, tanh_q15
 *       i32 block (n32 values): b_q12, bhn_q12, mx, mx_shift, mh, mh_shift
 *       f32 block (nf values):  sy, by
 *       with the layouts of nn-q.h (transformer: gh_pad = 0 and the blocks
 *       carved as augur_nnq_new_empty_cfg does, sizes from
 *       augur_nnq_block_sizes).  The int weights are stored, not
 *       re-derived, so the daemon runs exactly what was evaluated.
 *
 * LOADER ALGORITHM
 * ================
 * Checks run in this order, and each names the problem in the GError:
 *   1. length >= 8 and magic                    TRUNCATED / MAGIC
 *   2. length >= 44, version 1..1               TRUNCATED / VERSION
 *   3. file_size == length                      TRUNCATED (shorter) /
 *                                               CORRUPT (longer)
 *   4. CRC-32                                   CORRUPT
 *   5. shapes and n_sections within limits      SHAPE / CORRUPT
 *   6. the table fits, each section length <= the bytes left (checked
 *      before it is added, so no overflow), and the lengths add up exactly
 *      to the payload area                      CORRUPT
 *   7. each known section has exactly the length its shapes imply, before
 *      anything is allocated from it            CORRUPT
 *   8. values: config ranges, finite weights, requant shifts, the int32
 *      overflow bound on every quantised row    CORRUPT
 * Nothing is allocated before step 6, and every allocation afterwards is
 * bounded by a section length already checked against the file size
 * (the float model allocates 4 copies: weights, grads, Adam m and v).
 * Why check the CRC before the table: a corrupt file then fails with one
 * clear message instead of whatever the first garbled field trips.  The
 * CRC is not a defence against a malicious file; the bounds checks are,
 * and tests/fuzz-blob.c builds this file with
 * FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, which skips the CRC so the
 * fuzzer reaches them.
 *
 * Writing goes to a temporary file in the same directory, fsync, rename
 * (g_file_set_contents_full, CONSISTENT | DURABLE), so a reader sees the
 * old file or the new one, never half of one.
 */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "blob.h"
#include "nn-attn.h"
#include "regfile.h"

G_DEFINE_QUARK (augur-blob-error-quark, augur_blob_error)

static const guint8 blob_magic[8] = { 0x89, 'A', 'U', 'G', 'N', 'N', '\r', '\n' };

#define HEADER_SIZE   40u   /* bytes before the section table             */
#define ENTRY_SIZE    16u   /* bytes per section table entry              */
#define CRC_SIZE      4u
#define CONFIG_FIXED  32u   /* 8 f32 before tau                           */
#define CONFIG_ATTN   12u   /* transformer: u32 layers, heads, max_len     */
#define QUANT_FIXED   16u   /* 4 u32 pads before the blocks               */

/* ------------------------------------------------------------------------
 * Little-endian encoding
 * ------------------------------------------------------------------------ */

static void
put_u32 (GByteArray *ba, guint32 v)
{
        guint8 b[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff };

        g_byte_array_append (ba, b, 4);
}

static void
put_u64 (GByteArray *ba, guint64 v)
{
        put_u32 (ba, (guint32) v);
        put_u32 (ba, (guint32) (v >> 32));
}

static void
put_f32 (GByteArray *ba, float f)
{
        guint32 u;

        memcpy (&u, &f, 4);
        put_u32 (ba, u);
}

static void
put_u16 (GByteArray *ba, guint16 v)
{
        guint8 b[2] = { v & 0xff, (v >> 8) & 0xff };

        g_byte_array_append (ba, b, 2);
}

static guint32
get_u32 (const guint8 *p)
{
        return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) |
               ((guint32) p[3] << 24);
}

static guint64
get_u64 (const guint8 *p)
{
        return (guint64) get_u32 (p) | ((guint64) get_u32 (p + 4) << 32);
}

static float
get_f32 (const guint8 *p)
{
        guint32 u = get_u32 (p);
        float f;

        memcpy (&f, &u, 4);
        return f;
}

static gint16
get_i16 (const guint8 *p)
{
        return (gint16) (guint16) ((guint16) p[0] | ((guint16) p[1] << 8));
}

/* ------------------------------------------------------------------------
 * Sizes implied by the shapes
 * ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------
 * Save
 * ------------------------------------------------------------------------ */

static void
encode_config (GByteArray *ba, const AugurNN *nn)
{
        const AugurNNConfig *c = &nn->cfg;
        guint k;

        put_f32 (ba, c->dropout);
        put_f32 (ba, c->l1);
        put_f32 (ba, c->l2);
        put_f32 (ba, c->clip_norm);
        put_f32 (ba, c->lr);
        put_f32 (ba, c->beta1);
        put_f32 (ba, c->beta2);
        put_f32 (ba, c->eps);
        for (k = 0; k < c->n_out; k++)
                put_f32 (ba, nn->tau[k]);
        if (c->arch == AUGUR_ARCH_TRANSFORMER) {
                put_u32 (ba, c->layers);
                put_u32 (ba, c->heads);
                put_u32 (ba, c->max_len);
        }
}

static void
encode_float (GByteArray *ba, const AugurNN *nn)
{
        gsize i;

        for (i = 0; i < nn->n_params; i++)
                put_f32 (ba, nn->params_memory[i]);
}

static void
encode_quant (GByteArray *ba, const AugurNNQ *q)
{
        gsize i;

        put_u32 (ba, q->in_pad);
        put_u32 (ba, q->hid_pad);
        put_u32 (ba, q->gh_pad);
        put_u32 (ba, q->out_pad);
        for (i = 0; i < q->i16_len; i++)
                put_u16 (ba, (guint16) q->i16_memory[i]);
        for (i = 0; i < q->i32_len; i++)
                put_u32 (ba, (guint32) q->i32_memory[i]);
        for (i = 0; i < q->f32_len; i++)
                put_f32 (ba, q->f32_memory[i]);
}

GBytes *
augur_blob_save_to_bytes (const AugurNN *nn, const AugurNNQ *q,
                          const AugurBlobSection *extra, guint n_extra,
                          GError **error)
{
        g_autoptr (AugurNNQ) own_q = NULL;
        g_autoptr (GByteArray) ba = NULL;
        g_autoptr (GByteArray) cfg = NULL;
        g_autoptr (GByteArray) flt = NULL;
        g_autoptr (GByteArray) qnt = NULL;
        guint i, j, n;
        uLong crc;

        g_return_val_if_fail (nn != NULL, NULL);
        g_return_val_if_fail (n_extra == 0 || extra != NULL, NULL);
        g_return_val_if_fail (error == NULL || *error == NULL, NULL);

        if (!q)
                q = own_q = augur_nnq_from_float (nn);
        if (q->arch != nn->cfg.arch || q->n_in != nn->cfg.n_in ||
            q->hidden != nn->cfg.hidden || q->n_out != nn->cfg.n_out) {
                g_set_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_SHAPE,
                             "quantised model shapes do not match the float model");
                return NULL;
        }
        n = 3 + n_extra;
        if (n > AUGUR_BLOB_MAX_SECTIONS) {
                g_set_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_CORRUPT,
                             "%u extra sections, at most %u allowed", n_extra,
                             AUGUR_BLOB_MAX_SECTIONS - 3);
                return NULL;
        }
        for (i = 0; i < n_extra; i++) {
                if (extra[i].id < AUGUR_BLOB_SECTION_USER) {
                        g_set_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_CORRUPT,
                                     "extra section id 0x%x is reserved (must be >= 0x%x)",
                                     extra[i].id, AUGUR_BLOB_SECTION_USER);
                        return NULL;
                }
                if (extra[i].len > 0 && extra[i].data == NULL) {
                        g_set_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_CORRUPT,
                                     "extra section 0x%x has no data", extra[i].id);
                        return NULL;
                }
                for (j = 0; j < i; j++) {
                        if (extra[j].id == extra[i].id) {
                                g_set_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_CORRUPT,
                                             "extra section id 0x%x given twice", extra[i].id);
                                return NULL;
                        }
                }
        }

        cfg = g_byte_array_new ();
        flt = g_byte_array_new ();
        qnt = g_byte_array_new ();
        encode_config (cfg, nn);
        encode_float (flt, nn);
        encode_quant (qnt, q);

        {
                guint64 total = HEADER_SIZE + (guint64) ENTRY_SIZE * n + cfg->len +
                                flt->len + qnt->len + CRC_SIZE;

                for (i = 0; i < n_extra; i++)
                        total += extra[i].len;

                ba = g_byte_array_sized_new ((guint) MIN (total, (guint64) G_MAXUINT));
                g_byte_array_append (ba, blob_magic, sizeof blob_magic);
                put_u32 (ba, AUGUR_BLOB_VERSION);
                put_u32 (ba, (guint32) nn->cfg.arch);
                put_u32 (ba, nn->cfg.n_in);
                put_u32 (ba, nn->cfg.hidden);
                put_u32 (ba, nn->cfg.n_out);
                put_u32 (ba, n);
                put_u64 (ba, total);
        }
        put_u32 (ba, AUGUR_BLOB_SECTION_CONFIG);
        put_u32 (ba, 0);
        put_u64 (ba, cfg->len);
        put_u32 (ba, AUGUR_BLOB_SECTION_FLOAT);
        put_u32 (ba, 0);
        put_u64 (ba, flt->len);
        put_u32 (ba, AUGUR_BLOB_SECTION_QUANT);
        put_u32 (ba, 0);
        put_u64 (ba, qnt->len);
        for (i = 0; i < n_extra; i++) {
                put_u32 (ba, extra[i].id);
                put_u32 (ba, 0);
                put_u64 (ba, extra[i].len);
        }
        g_byte_array_append (ba, cfg->data, cfg->len);
        g_byte_array_append (ba, flt->data, flt->len);
        g_byte_array_append (ba, qnt->data, qnt->len);
        for (i = 0; i < n_extra; i++) {
                if (extra[i].len > 0)
                        g_byte_array_append (ba, extra[i].data, (guint) extra[i].len);
        }
        crc = crc32 (0L, Z_NULL, 0);
        crc = crc32 (crc, ba->data, ba->len);
        put_u32 (ba, (guint32) crc);
        return g_byte_array_free_to_bytes (g_steal_pointer (&ba));
}

gboolean
augur_blob_save (const char *path, const AugurNN *nn, const AugurNNQ *q,
                 const AugurBlobSection *extra, guint n_extra, GError **error)
{
        g_autoptr (GBytes) bytes = NULL;
        g_autoptr (GError) local = NULL;
        gsize len;
        const guint8 *data;

        g_return_val_if_fail (path != NULL, FALSE);
        g_return_val_if_fail (nn != NULL, FALSE);
        g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

        bytes = augur_blob_save_to_bytes (nn, q, extra, n_extra, error);
        if (!bytes)
                return FALSE;
        data = g_bytes_get_data (bytes, &len);
        if (!g_file_set_contents_full (path, (const char *) data, (gssize) len,
                                       G_FILE_SET_CONTENTS_CONSISTENT |
                                       G_FILE_SET_CONTENTS_DURABLE,
                                       0644, &local)) {
                g_set_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_IO,
                             "cannot write model file: %s", local->message);
                return FALSE;
        }
        return TRUE;
}

/* ------------------------------------------------------------------------
 * Load
 * ------------------------------------------------------------------------ */

typedef struct {
        guint32 id;
        const guint8 *data;
        gsize len;
} Section;

#define FAIL(code, ...) \
        do { \
                g_set_error (error, AUGUR_BLOB_ERROR, (code), __VA_ARGS__); \
                return FALSE; \
        } while (0)

static gboolean
decode_config (const Section *s, AugurArch arch, guint I, guint H, guint O,
               AugurNNConfig *cfg, float *tau, GError **error)
{
        const guint8 *p = s->data;
        const gsize extra = arch == AUGUR_ARCH_TRANSFORMER ? CONFIG_ATTN : 0;
        guint k;

        if (s->len != CONFIG_FIXED + 4 * (gsize) O + extra)
                FAIL (AUGUR_BLOB_ERROR_CORRUPT,
                      "config section is %" G_GSIZE_FORMAT " bytes, expected %" G_GSIZE_FORMAT
                      " for %u outputs", s->len, CONFIG_FIXED + 4 * (gsize) O + extra, O);
        augur_nn_config_init (cfg, I, H, O, arch);
        cfg->dropout = get_f32 (p + 0);
        cfg->l1 = get_f32 (p + 4);
        cfg->l2 = get_f32 (p + 8);
        cfg->clip_norm = get_f32 (p + 12);
        cfg->lr = get_f32 (p + 16);
        cfg->beta1 = get_f32 (p + 20);
        cfg->beta2 = get_f32 (p + 24);
        cfg->eps = get_f32 (p + 28);
        for (k = 0; k < O; k++)
                tau[k] = get_f32 (p + CONFIG_FIXED + 4 * (gsize) k);
        cfg->tau = tau;
        if (extra) {
                const guint8 *e = p + CONFIG_FIXED + 4 * (gsize) O;

                cfg->layers = get_u32 (e);
                cfg->heads = get_u32 (e + 4);
                cfg->max_len = get_u32 (e + 8);
                /* shapes first: the float and quantised lengths follow from them */
                if (augur_nn_count_params (cfg) == 0)
                        FAIL (AUGUR_BLOB_ERROR_SHAPE,
                              "transformer shapes out of range: %u layers, %u heads, %u positions, "
                              "width %u (layers 1..%u, heads dividing the width, positions 1..%u)",
                              cfg->layers, cfg->heads, cfg->max_len, H, AUGUR_ATTN_MAX_LAYERS,
                              AUGUR_ATTN_MAX_LEN);
        }
        return TRUE;
}

static AugurNNQ *
decode_quant (const Section *s, const AugurNNConfig *cfg, GError **error)
{
        g_autoptr (AugurNNQ) q = NULL;
        g_autoptr (GError) local = NULL;
        const guint8 *p;
        gsize expect, i;

        /* The pads follow from the shapes; compute the expected length
         * from an empty model's block sizes.  augur_nnq_new_empty
         * allocates exactly what the section must contain, so check the
         * length against the shapes *first* without allocating. */
        {
                const guint I = cfg->n_in, H = cfg->hidden, O = cfg->n_out;
                gsize GH = (gsize) augur_arch_gates (cfg->arch) * H;
                gsize in_pad = (I + 15) & ~(gsize) 15, hid_pad = (H + 15) & ~(gsize) 15;
                gsize gh_pad = (GH + 3) & ~(gsize) 3, out_pad = (O + 3) & ~(gsize) 3;
                gsize n16, n32, nf;

                if (!augur_nnq_block_sizes (cfg, &n16, &n32, &nf)) {
                        g_set_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_SHAPE,
                                     "quantised section: invalid shapes");
                        return NULL;
                }
                expect = QUANT_FIXED + 2 * n16 + 4 * n32 + 4 * nf;
                if (s->len != expect) {
                        g_set_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_CORRUPT,
                                     "quantised section is %" G_GSIZE_FORMAT " bytes, the shapes need %"
                                     G_GSIZE_FORMAT, s->len, expect);
                        return NULL;
                }
                if (get_u32 (s->data) != in_pad || get_u32 (s->data + 4) != hid_pad ||
                    get_u32 (s->data + 8) != gh_pad || get_u32 (s->data + 12) != out_pad) {
                        g_set_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_SHAPE,
                                     "quantised section padding does not match the shapes");
                        return NULL;
                }
        }

        q = augur_nnq_new_empty_cfg (cfg);
        g_assert (QUANT_FIXED + 2 * q->i16_len + 4 * q->i32_len + 4 * q->f32_len == expect);
        p = s->data + QUANT_FIXED;
        for (i = 0; i < q->i16_len; i++, p += 2)
                q->i16_memory[i] = get_i16 (p);
        for (i = 0; i < q->i32_len; i++, p += 4)
                q->i32_memory[i] = (gint32) get_u32 (p);
        for (i = 0; i < q->f32_len; i++, p += 4)
                q->f32_memory[i] = get_f32 (p);
        if (!augur_nnq_validate (q, &local)) {
                g_set_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_CORRUPT,
                             "quantised section: %s", local->message);
                return NULL;
        }
        return g_steal_pointer (&q);
}

gboolean
augur_blob_load_from_data (const guint8 *data, gsize len, AugurNN **ret_nn,
                           AugurNNQ **ret_q, GHashTable **ret_extra,
                           GError **error)
{
        g_autoptr (AugurNN) nn = NULL;
        g_autoptr (AugurNNQ) q = NULL;
        g_autoptr (GHashTable) extra = NULL;
        g_autoptr (GError) local = NULL;
        g_autofree Section *secs = NULL;
        g_autofree float *tau = NULL;
        g_autofree float *params = NULL;
        const Section *s_cfg = NULL, *s_flt = NULL, *s_qnt = NULL;
        guint32 version, arch, I, H, O, n;
        guint64 file_size, pos, left;
        AugurNNConfig cfg;
        guint32 crc_file;
        uLong crc;
        guint i, j;
        gsize nparams;

        g_return_val_if_fail (data != NULL || len == 0, FALSE);
        g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

        /* 1-3: magic, version, size */
        if (len < sizeof blob_magic)
                FAIL (AUGUR_BLOB_ERROR_TRUNCATED,
                      "truncated: %" G_GSIZE_FORMAT " bytes, shorter than the magic", len);
        if (memcmp (data, blob_magic, sizeof blob_magic) != 0)
                FAIL (AUGUR_BLOB_ERROR_MAGIC, "not an augur model file (bad magic)");
        if (len < HEADER_SIZE + CRC_SIZE)
                FAIL (AUGUR_BLOB_ERROR_TRUNCATED,
                      "truncated: %" G_GSIZE_FORMAT " bytes, shorter than the %u-byte header",
                      len, HEADER_SIZE + CRC_SIZE);
        version = get_u32 (data + 8);
        if (version > AUGUR_BLOB_VERSION)
                FAIL (AUGUR_BLOB_ERROR_VERSION,
                      "model file format version %u is newer than this augur supports (%u)",
                      version, AUGUR_BLOB_VERSION);
        if (version == 0)
                FAIL (AUGUR_BLOB_ERROR_CORRUPT, "model file format version 0 is invalid");
        file_size = get_u64 (data + 32);
        if (file_size > len)
                FAIL (AUGUR_BLOB_ERROR_TRUNCATED,
                      "truncated: %" G_GSIZE_FORMAT " bytes, the header says %" G_GUINT64_FORMAT,
                      len, file_size);
        if (file_size < len)
                FAIL (AUGUR_BLOB_ERROR_CORRUPT,
                      "%" G_GSIZE_FORMAT " bytes, the header says %" G_GUINT64_FORMAT
                      " (trailing garbage)", len, file_size);

        /* 4: CRC */
        crc = crc32 (0L, Z_NULL, 0);
        for (pos = 0; pos < len - CRC_SIZE;) {
                /* zlib's crc32 takes a uInt length; feed it in 1 GiB pieces */
                uInt chunk = (uInt) MIN ((guint64) 1 << 30, len - CRC_SIZE - pos);

                crc = crc32 (crc, data + pos, chunk);
                pos += chunk;
        }
        crc_file = get_u32 (data + len - CRC_SIZE);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
        /* A fuzzer cannot forge CRCs; let it reach the parser behind. */
        crc_file = (guint32) crc;
#endif
        if ((guint32) crc != crc_file)
                FAIL (AUGUR_BLOB_ERROR_CORRUPT,
                      "checksum mismatch (stored 0x%08x, computed 0x%08x): the file is corrupt",
                      crc_file, (guint32) crc);

        /* 5: shapes */
        arch = get_u32 (data + 12);
        I = get_u32 (data + 16);
        H = get_u32 (data + 20);
        O = get_u32 (data + 24);
        n = get_u32 (data + 28);
        if (arch >= AUGUR_ARCH_N)
                FAIL (AUGUR_BLOB_ERROR_SHAPE, "unknown architecture %u", arch);
        if (I < 1 || I > AUGUR_NN_MAX_IN || H < 1 || H > AUGUR_NN_MAX_HIDDEN ||
            O < 1 || O > AUGUR_NN_MAX_OUT)
                FAIL (AUGUR_BLOB_ERROR_SHAPE,
                      "shapes out of range: n_in %u, hidden %u, n_out %u (limits %u, %u, %u)",
                      I, H, O, AUGUR_NN_MAX_IN, AUGUR_NN_MAX_HIDDEN, AUGUR_NN_MAX_OUT);
        if (n < 1 || n > AUGUR_BLOB_MAX_SECTIONS)
                FAIL (AUGUR_BLOB_ERROR_CORRUPT, "%u sections, expected 1..%u", n,
                      AUGUR_BLOB_MAX_SECTIONS);

        /* 6: the table and the section lengths */
        if ((guint64) HEADER_SIZE + (guint64) ENTRY_SIZE * n + CRC_SIZE > len)
                FAIL (AUGUR_BLOB_ERROR_CORRUPT,
                      "section table of %u entries does not fit in %" G_GSIZE_FORMAT " bytes",
                      n, len);
        pos = HEADER_SIZE + (guint64) ENTRY_SIZE * n;
        left = len - CRC_SIZE - pos;
        secs = g_new0 (Section, n);
        for (i = 0; i < n; i++) {
                const guint8 *e = data + HEADER_SIZE + (gsize) ENTRY_SIZE * i;
                guint64 slen = get_u64 (e + 8);

                secs[i].id = get_u32 (e);
                if (get_u32 (e + 4) != 0)
                        FAIL (AUGUR_BLOB_ERROR_CORRUPT, "section %u (id 0x%x): unknown flags 0x%x",
                              i, secs[i].id, get_u32 (e + 4));
                if (slen > left)
                        FAIL (AUGUR_BLOB_ERROR_CORRUPT,
                              "section %u (id 0x%x): length %" G_GUINT64_FORMAT " exceeds the %"
                              G_GUINT64_FORMAT " bytes left", i, secs[i].id, slen, left);
                secs[i].data = data + pos;
                secs[i].len = (gsize) slen;
                pos += slen;
                left -= slen;
                for (j = 0; j < i; j++) {
                        if (secs[j].id == secs[i].id)
                                FAIL (AUGUR_BLOB_ERROR_CORRUPT, "section id 0x%x appears twice",
                                      secs[i].id);
                }
                switch (secs[i].id) {
                case AUGUR_BLOB_SECTION_CONFIG:
                        s_cfg = &secs[i];
                        break;
                case AUGUR_BLOB_SECTION_FLOAT:
                        s_flt = &secs[i];
                        break;
                case AUGUR_BLOB_SECTION_QUANT:
                        s_qnt = &secs[i];
                        break;
                default:
                        if (secs[i].id < AUGUR_BLOB_SECTION_USER)
                                g_debug ("model file: unknown section id 0x%x, ignoring", secs[i].id);
                        break;
                }
        }
        if (left != 0)
                FAIL (AUGUR_BLOB_ERROR_CORRUPT,
                      "%" G_GUINT64_FORMAT " bytes after the last section are not in the table", left);
        if (!s_cfg || !s_flt || !s_qnt)
                FAIL (AUGUR_BLOB_ERROR_CORRUPT, "missing the %s section",
                      !s_cfg ? "config" : (!s_flt ? "float weights" : "quantised weights"));

        /* 7-8: known sections */
        tau = g_new (float, O);
        if (!decode_config (s_cfg, (AugurArch) arch, I, H, O, &cfg, tau, error))
                return FALSE;
        nparams = augur_nn_count_params (&cfg);
        if (s_flt->len != 4 * nparams)
                FAIL (AUGUR_BLOB_ERROR_CORRUPT,
                      "float section is %" G_GSIZE_FORMAT " bytes, the shapes need %" G_GSIZE_FORMAT,
                      s_flt->len, 4 * nparams);
        params = g_new (float, nparams);
        for (i = 0; i < nparams; i++) {
                params[i] = get_f32 (s_flt->data + 4 * (gsize) i);
                if (!isfinite (params[i]))
                        FAIL (AUGUR_BLOB_ERROR_CORRUPT, "float weight %u is not finite", i);
        }
        nn = augur_nn_new_from_params (&cfg, params, nparams, &local);
        if (!nn)
                FAIL (AUGUR_BLOB_ERROR_CORRUPT, "config section: %s", local->message);
        q = decode_quant (s_qnt, &cfg, error);
        if (!q)
                return FALSE;

        if (ret_extra) {
                extra = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                               (GDestroyNotify) g_bytes_unref);
                for (i = 0; i < n; i++) {
                        if (secs[i].id >= AUGUR_BLOB_SECTION_USER)
                                g_hash_table_insert (extra, GUINT_TO_POINTER (secs[i].id),
                                                     g_bytes_new (secs[i].data, secs[i].len));
                }
        }

        if (ret_nn)
                *ret_nn = g_steal_pointer (&nn);
        if (ret_q)
                *ret_q = g_steal_pointer (&q);
        if (ret_extra)
                *ret_extra = g_steal_pointer (&extra);
        return TRUE;
}

#undef FAIL

gboolean
augur_blob_load (const char *path, AugurNN **ret_nn, AugurNNQ **ret_q,
                 GHashTable **ret_extra, GError **error)
{
        g_autoptr (GMappedFile) mf = NULL;
        g_autoptr (GError) local = NULL;
        int fd;

        g_return_val_if_fail (path != NULL, FALSE);
        g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

        /* A regular file only: g_mapped_file_new on a FIFO blocks in
         * open() until a writer comes (augurd --model and virt-augur eval
         * hung on one); a device maps to nonsense (regfile.h). */
        fd = augur_regfile_open (path, &local);
        if (fd < 0) {
                g_set_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_IO,
                             "cannot read model file: %s", local->message);
                return FALSE;
        }
        mf = g_mapped_file_new_from_fd (fd, FALSE, &local);
        close (fd);                   /* the mapping does not need it */
        if (!mf) {
                g_set_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_IO,
                             "cannot read model file: %s", local->message);
                return FALSE;
        }
        if (!augur_blob_load_from_data ((const guint8 *) g_mapped_file_get_contents (mf),
                                        g_mapped_file_get_length (mf),
                                        ret_nn, ret_q, ret_extra, error)) {
                g_prefix_error (error, "model file '%s': ", path);
                return FALSE;
        }
        return TRUE;
}
