/* test-blob.c — tests of the model file (model/blob.c).
 *
 *   /blob/roundtrip/{lstm,gru,transformer}   save + load: float and quantised weights,
 *                                config, tau and extra sections identical;
 *                                the loaded int model steps identically.
 *   /blob/truncated              every length 0..size-1 is refused.
 *   /blob/corrupt                single-byte corruption at every header and
 *                                table byte and a sample of payload bytes
 *                                is refused (CRC or an earlier check).
 *   /blob/crafted                hand-made headers with a valid CRC: wrong
 *                                magic, newer version, absurd lengths and
 *                                counts, bad shapes, missing/duplicate
 *                                sections, NaN weights, bad requant shifts;
 *                                each refused with the right error code.
 *   /blob/{truncated,corrupt}/transformer  the same for a transformer file.
 *   /blob/crafted/transformer/...  its shapes (layers, heads, positions),
 *                                requant shifts, overflow rows and the exp
 *                                table, each refused with the right code.
 *   /blob/io                     missing file, unwritable directory, bad
 *                                extra ids; overwrite is atomic.
 * Under valgrind (see the report) none of these reads out of bounds.
 */
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "blob.h"

#if !GLIB_CHECK_VERSION (2, 68, 0)
#define g_memdup2(p, n) g_memdup ((p), (guint) (n))
#endif

static AugurNN *
make_nn (AugurArch arch, guint I, guint H, guint O)
{
        const float tau[4] = { -1.0f, 0.95f, -1.0f, 0.5f };
        g_autoptr (GError) error = NULL;
        g_autofree float *x = g_new (float, 16 * 5 * I);
        g_autofree float *y = g_new (float, 16 * O);
        AugurNNConfig cfg;
        AugurNN *nn;
        guint i;

        g_assert_cmpuint (O, <=, 4);
        augur_nn_config_init (&cfg, I, H, O, arch);
        cfg.heads = 1;                       /* transformer: H may be prime */
        cfg.max_len = 8;                     /* transformer: > the window of 5 */
        cfg.tau = tau;
        cfg.dropout = 0.25f;
        cfg.l1 = 1e-4f;
        nn = augur_nn_new (&cfg, 9, &error);
        g_assert_no_error (error);
        for (i = 0; i < 16 * 5 * I; i++)
                x[i] = (float) ((i * 37) % 101) / 50.0f - 1.0f;
        for (i = 0; i < 16 * O; i++)
                y[i] = (float) ((i * 13) % 7) / 7.0f;
        for (i = 0; i < 5; i++)
                augur_nn_train_batch (nn, x, y, NULL, 16, 5);
        return nn;
}

static GBytes *
make_blob (AugurArch arch)
{
        g_autoptr (AugurNN) nn = make_nn (arch, 3, 5, 2);
        g_autoptr (GError) error = NULL;
        const char meta[] = "{\"features\":[\"cpu_pct\",\"mem_pct\",\"hour_sin\"]}";
        AugurBlobSection extra[2] = {
                { AUGUR_BLOB_SECTION_USER + 1, meta, sizeof meta },
                { AUGUR_BLOB_SECTION_USER + 7, NULL, 0 },
        };
        GBytes *b;

        b = augur_blob_save_to_bytes (nn, NULL, extra, 2, &error);
        g_assert_no_error (error);
        return b;
}

/* ------------------------------------------------------------------------ */

static void
test_roundtrip (gconstpointer data)
{
        AugurArch arch = GPOINTER_TO_INT (data);
        g_autoptr (AugurNN) nn = make_nn (arch, 7, 11, 3);
        g_autoptr (AugurNNQ) q = augur_nnq_from_float (nn);
        g_autoptr (AugurNN) nn2 = NULL;
        g_autoptr (AugurNNQ) q2 = NULL;
        g_autoptr (GHashTable) extra2 = NULL;
        g_autoptr (GError) error = NULL;
        g_autoptr (AugurNNQState) s1 = NULL;
        g_autoptr (AugurNNQState) s2 = NULL;
        g_autofree char *dir = NULL;
        g_autofree char *path = NULL;
        guint8 blob_bytes[300];
        const char names[] = "cpu_pct\0mem_pct\0";
        AugurBlobSection extra[3] = {
                { 0x100, names, sizeof names },
                { 0x2000, blob_bytes, sizeof blob_bytes },
                { 0xffffffffu, "", 0 },
        };
        float x[7], o1[3], o2[3];
        GBytes *b;
        guint i, t;

        for (i = 0; i < sizeof blob_bytes; i++)
                blob_bytes[i] = (guint8) (i * 7);
        dir = g_dir_make_tmp ("augur-blob-XXXXXX", &error);
        g_assert_no_error (error);
        path = g_build_filename (dir, "model.augur", NULL);

        g_assert_true (augur_blob_save (path, nn, q, extra, 3, &error));
        g_assert_no_error (error);
        g_assert_true (augur_blob_load (path, &nn2, &q2, &extra2, &error));
        g_assert_no_error (error);

        g_assert_cmpint (nn2->cfg.arch, ==, arch);
        g_assert_cmpuint (nn2->cfg.n_in, ==, 7);
        g_assert_cmpuint (nn2->cfg.hidden, ==, 11);
        g_assert_cmpuint (nn2->cfg.n_out, ==, 3);
        g_assert_cmpfloat (nn2->cfg.dropout, ==, nn->cfg.dropout);
        g_assert_cmpfloat (nn2->cfg.l1, ==, nn->cfg.l1);
        g_assert_cmpfloat (nn2->cfg.lr, ==, nn->cfg.lr);
        if (arch == AUGUR_ARCH_TRANSFORMER) {
                g_assert_cmpuint (nn2->cfg.layers, ==, nn->cfg.layers);
                g_assert_cmpuint (nn2->cfg.heads, ==, nn->cfg.heads);
                g_assert_cmpuint (nn2->cfg.max_len, ==, nn->cfg.max_len);
                g_assert_cmpuint (q2->layers, ==, nn->cfg.layers);
                g_assert_cmpuint (q2->max_len, ==, nn->cfg.max_len);
        }
        g_assert_cmpmem (nn2->tau, 3 * sizeof (float), nn->tau, 3 * sizeof (float));
        g_assert_cmpmem (nn2->params_memory, nn2->n_params * sizeof (float),
                         nn->params_memory, nn->n_params * sizeof (float));
        g_assert_cmpmem (q2->i16_memory, q2->i16_len * 2, q->i16_memory, q->i16_len * 2);
        g_assert_cmpmem (q2->i32_memory, q2->i32_len * 4, q->i32_memory, q->i32_len * 4);
        g_assert_cmpmem (q2->f32_memory, q2->f32_len * 4, q->f32_memory, q->f32_len * 4);

        g_assert_cmpuint (g_hash_table_size (extra2), ==, 3);
        for (i = 0; i < 3; i++) {
                GBytes *e = g_hash_table_lookup (extra2, GUINT_TO_POINTER (extra[i].id));
                gsize len;
                const void *d;

                g_assert_nonnull (e);
                d = g_bytes_get_data (e, &len);
                g_assert_cmpmem (d, len, extra[i].data, extra[i].len);
        }

        /* the loaded int model runs the same steps */
        s1 = augur_nnq_state_new (q);
        s2 = augur_nnq_state_new (q2);
        for (t = 0; t < 20; t++) {
                for (i = 0; i < 7; i++)
                        x[i] = (float) ((t * 7 + i) % 13) / 6.0f - 1.0f;
                augur_nnq_step (q, s1, x);
                augur_nnq_step (q2, s2, x);
        }
        augur_nnq_output (q, s1, o1);
        augur_nnq_output (q2, s2, o2);
        g_assert_cmpmem (o1, sizeof o1, o2, sizeof o2);

        /* save without q derives the same quantised copy */
        b = augur_blob_save_to_bytes (nn, NULL, NULL, 0, &error);
        g_assert_no_error (error);
        {
                g_autoptr (AugurNNQ) q3 = NULL;
                gsize len;
                const guint8 *d = g_bytes_get_data (b, &len);

                g_assert_true (augur_blob_load_from_data (d, len, NULL, &q3, NULL, &error));
                g_assert_no_error (error);
                g_assert_cmpmem (q3->i16_memory, q3->i16_len * 2, q->i16_memory, q->i16_len * 2);
        }
        g_bytes_unref (b);

        g_assert_cmpint (g_unlink (path), ==, 0);
        g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_truncated (gconstpointer data)
{
        g_autoptr (GBytes) b = make_blob (GPOINTER_TO_INT (data));
        gsize len, n;
        const guint8 *d = g_bytes_get_data (b, &len);

        g_test_message ("blob is %" G_GSIZE_FORMAT " bytes", len);
        for (n = 0; n < len; n++) {
                g_autoptr (GError) error = NULL;
                /* copy so valgrind/ASan see the exact end of the buffer */
                g_autofree guint8 *cp = g_memdup2 (d, n);
                AugurNN *nn = NULL;

                g_assert_false (augur_blob_load_from_data (cp, n, &nn, NULL, NULL, &error));
                g_assert_null (nn);
                g_assert_nonnull (error);
                if (n >= 8)
                        g_assert_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_TRUNCATED);
        }
        /* and the full length loads */
        {
                g_autoptr (GError) error = NULL;

                g_assert_true (augur_blob_load_from_data (d, len, NULL, NULL, NULL, &error));
                g_assert_no_error (error);
        }
}

static void
test_corrupt (gconstpointer data)
{
        g_autoptr (GBytes) b = make_blob (GPOINTER_TO_INT (data));
        gsize len, pos, tried = 0;
        const guint8 *d = g_bytes_get_data (b, &len);
        g_autofree guint8 *cp = g_memdup2 (d, len);

        for (pos = 0; pos < len; pos++) {
                g_autoptr (GError) error = NULL;
                static const guint8 flips[] = { 0x01, 0x80, 0xff };
                guint f;

                /* every byte of header and table, every 13th after */
                if (pos >= 40 + 16 * 5 && pos % 13 != 0 && pos != len - 1)
                        continue;
                for (f = 0; f < G_N_ELEMENTS (flips); f++) {
                        g_clear_error (&error);
                        cp[pos] ^= flips[f];
                        if (augur_blob_load_from_data (cp, len, NULL, NULL, NULL, &error)) {
                                g_test_message ("corruption at byte %" G_GSIZE_FORMAT
                                                " (xor 0x%02x) accepted", pos, flips[f]);
                                g_assert_not_reached ();
                        }
                        cp[pos] ^= flips[f];
                        tried++;
                        if (pos >= 8 && pos < 32)
                                continue;   /* version/shape bytes may say VERSION */
                        if (pos >= 32 && pos < 40)
                                continue;   /* file_size: TRUNCATED or CORRUPT */
                        if (pos >= 8)
                                g_assert_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_CORRUPT);
                        else
                                g_assert_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_MAGIC);
                }
        }
        g_test_message ("%" G_GSIZE_FORMAT " corruptions of a %" G_GSIZE_FORMAT "-byte file refused",
                        tried, len);
}

/* ------------------------------------------------------------------------
 * Hand-crafted files: patch a field, recompute the CRC, expect a code.
 * ------------------------------------------------------------------------ */

static void
le32 (guint8 *p, guint32 v)
{
        p[0] = v & 0xff;
        p[1] = (v >> 8) & 0xff;
        p[2] = (v >> 16) & 0xff;
        p[3] = (v >> 24) & 0xff;
}

static void
le64 (guint8 *p, guint64 v)
{
        le32 (p, (guint32) v);
        le32 (p + 4, (guint32) (v >> 32));
}

static guint32
rd32 (const guint8 *p)
{
        return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) |
               ((guint32) p[3] << 24);
}

static void
fix_crc (guint8 *d, gsize len)
{
        le32 (d + len - 4, (guint32) crc32 (crc32 (0, Z_NULL, 0), d, (uInt) (len - 4)));
}

typedef enum {
        P_MAGIC,
        P_VERSION_NEW,
        P_VERSION_0,
        P_ARCH,
        P_SHAPE_ZERO,
        P_SHAPE_HUGE,
        P_NSEC_ZERO,
        P_NSEC_HUGE,
        P_NSEC_TABLE_TOO_BIG,
        P_SECLEN_HUGE,
        P_SECLEN_SHORT,
        P_SECLEN_WRAP,
        P_FLAGS,
        P_DUP_ID,
        P_MISSING_FLOAT,
        P_NAN_WEIGHT,
        P_BAD_TAU,
        P_BAD_SHIFT,
        P_OVERFLOW_ROW,
        P_QUANT_PAD,
        P_FILE_SIZE_BIG,
} Patch;

typedef struct {
        const char *name;
        Patch patch;
        AugurBlobError code;
} CraftCase;

static const CraftCase craft_cases[] = {
        { "magic",            P_MAGIC,              AUGUR_BLOB_ERROR_MAGIC },
        { "version-newer",    P_VERSION_NEW,        AUGUR_BLOB_ERROR_VERSION },
        { "version-0",        P_VERSION_0,          AUGUR_BLOB_ERROR_CORRUPT },
        { "arch",             P_ARCH,               AUGUR_BLOB_ERROR_SHAPE },
        { "shape-zero",       P_SHAPE_ZERO,         AUGUR_BLOB_ERROR_SHAPE },
        { "shape-huge",       P_SHAPE_HUGE,         AUGUR_BLOB_ERROR_SHAPE },
        { "nsec-zero",        P_NSEC_ZERO,          AUGUR_BLOB_ERROR_CORRUPT },
        { "nsec-huge",        P_NSEC_HUGE,          AUGUR_BLOB_ERROR_CORRUPT },
        { "nsec-table",       P_NSEC_TABLE_TOO_BIG, AUGUR_BLOB_ERROR_CORRUPT },
        { "seclen-huge",      P_SECLEN_HUGE,        AUGUR_BLOB_ERROR_CORRUPT },
        { "seclen-short",     P_SECLEN_SHORT,       AUGUR_BLOB_ERROR_CORRUPT },
        { "seclen-wrap",      P_SECLEN_WRAP,        AUGUR_BLOB_ERROR_CORRUPT },
        { "flags",            P_FLAGS,              AUGUR_BLOB_ERROR_CORRUPT },
        { "dup-id",           P_DUP_ID,             AUGUR_BLOB_ERROR_CORRUPT },
        { "missing-float",    P_MISSING_FLOAT,      AUGUR_BLOB_ERROR_CORRUPT },
        { "nan-weight",       P_NAN_WEIGHT,         AUGUR_BLOB_ERROR_CORRUPT },
        { "bad-tau",          P_BAD_TAU,            AUGUR_BLOB_ERROR_CORRUPT },
        { "bad-shift",        P_BAD_SHIFT,          AUGUR_BLOB_ERROR_CORRUPT },
        { "overflow-row",     P_OVERFLOW_ROW,       AUGUR_BLOB_ERROR_CORRUPT },
        { "quant-pad",        P_QUANT_PAD,          AUGUR_BLOB_ERROR_SHAPE },
        { "file-size-big",    P_FILE_SIZE_BIG,      AUGUR_BLOB_ERROR_TRUNCATED },
};

/* Offset of section k's payload. */
static gsize
section_offset (const guint8 *d, guint k)
{
        guint32 n = rd32 (d + 28);
        gsize off = 40 + 16 * (gsize) n;
        guint i;

        for (i = 0; i < k; i++)
                off += rd32 (d + 40 + 16 * i + 8);
        return off;
}

static void
test_crafted (gconstpointer data)
{
        const CraftCase *cc = data;
        g_autoptr (GBytes) b = make_blob (AUGUR_ARCH_LSTM);
        g_autoptr (GError) error = NULL;
        gsize len;
        const guint8 *orig = g_bytes_get_data (b, &len);
        g_autofree guint8 *d = g_memdup2 (orig, len);
        gboolean ok;

        /* layout of make_blob: 5 sections, CONFIG FLOAT QUANT USER+1 USER+7 */
        g_assert_cmpuint (rd32 (d + 28), ==, 5);
        switch (cc->patch) {
        case P_MAGIC:
                d[1] = 'X';
                break;
        case P_VERSION_NEW:
                le32 (d + 8, AUGUR_BLOB_VERSION + 1);
                break;
        case P_VERSION_0:
                le32 (d + 8, 0);
                break;
        case P_ARCH:
                le32 (d + 12, 7);
                break;
        case P_SHAPE_ZERO:
                le32 (d + 20, 0);
                break;
        case P_SHAPE_HUGE:
                le32 (d + 16, 0x40000000u);
                break;
        case P_NSEC_ZERO:
                le32 (d + 28, 0);
                break;
        case P_NSEC_HUGE:
                le32 (d + 28, 0xffffffffu);
                break;
        case P_NSEC_TABLE_TOO_BIG:
                le32 (d + 28, 200);         /* within the limit, beyond the file */
                break;
        case P_SECLEN_HUGE:
                le64 (d + 40 + 16 * 1 + 8, G_GUINT64_CONSTANT (0x7fffffffffffffff));
                break;
        case P_SECLEN_SHORT:
                le64 (d + 40 + 16 * 4 + 8, 0);  /* last extra: sizes no longer add up */
                le64 (d + 40 + 16 * 3 + 8, rd32 (d + 40 + 16 * 3 + 8) - 1);
                break;
        case P_SECLEN_WRAP:
                /* two lengths whose sum wraps to the right total mod 2^64 */
                le64 (d + 40 + 16 * 3 + 8, G_GUINT64_CONSTANT (0xffffffffffffff00));
                le64 (d + 40 + 16 * 4 + 8, 0x100 + rd32 (d + 40 + 16 * 3 + 8));
                break;
        case P_FLAGS:
                le32 (d + 40 + 16 * 2 + 4, 1);
                break;
        case P_DUP_ID:
                le32 (d + 40 + 16 * 4, AUGUR_BLOB_SECTION_USER + 1);
                break;
        case P_MISSING_FLOAT:
                le32 (d + 40 + 16 * 1, 0x55);   /* unknown reserved id: skipped */
                break;
        case P_NAN_WEIGHT:
                le32 (d + section_offset (d, 1) + 4 * 3, 0x7fc00000u);
                break;
        case P_BAD_TAU:
                le32 (d + section_offset (d, 0) + 32, 0x3fc00000u);   /* 1.5 */
                break;
        case P_BAD_SHIFT: {
                /* first mx_shift: after pads, i16 block, b_q12 (G*H), mx (G*H) */
                gsize q = section_offset (d, 2);
                gsize GH = 4 * 5, in_pad = 16, hid_pad = 16, gh_pad = 20, out_pad = 4;
                gsize n16 = gh_pad * in_pad + gh_pad * hid_pad + out_pad * hid_pad + 2 * 513;

                le32 (d + q + 16 + 2 * n16 + 4 * (2 * GH), 63);
                break;
        }
        case P_OVERFLOW_ROW: {
                /* first wx_q row all -32768 */
                gsize q = section_offset (d, 2) + 16;
                guint k;

                for (k = 0; k < 16; k++) {
                        d[q + 2 * k] = 0x00;
                        d[q + 2 * k + 1] = 0x80;
                }
                break;
        }
        case P_QUANT_PAD:
                le32 (d + section_offset (d, 2), 32);
                break;
        case P_FILE_SIZE_BIG:
                le64 (d + 32, (guint64) len + 1);
                break;
        }
        if (cc->patch == P_SECLEN_HUGE || cc->patch == P_NSEC_TABLE_TOO_BIG ||
            cc->patch == P_SECLEN_SHORT || cc->patch == P_SECLEN_WRAP) {
                /* keep file_size consistent so the table check is what trips */
        }
        fix_crc (d, len);
        ok = augur_blob_load_from_data (d, len, NULL, NULL, NULL, &error);
        g_assert_false (ok);
        g_test_message ("%s: %s", cc->name, error->message);
        g_assert_error (error, AUGUR_BLOB_ERROR, (gint) cc->code);
}

static void
test_io (void)
{
        g_autoptr (AugurNN) nn = make_nn (AUGUR_ARCH_GRU, 2, 3, 1);
        g_autoptr (AugurNN) back = NULL;
        g_autoptr (GError) error = NULL;
        g_autofree char *dir = NULL;
        g_autofree char *path = NULL;
        g_autofree char *nodir = NULL;
        g_autofree char *junk = NULL;
        AugurBlobSection bad = { 5, "x", 1 };
        AugurBlobSection dup[2] = { { 0x100, "a", 1 }, { 0x100, "b", 1 } };
        GDir *dh;
        guint count = 0;

        dir = g_dir_make_tmp ("augur-blob-XXXXXX", &error);
        g_assert_no_error (error);
        path = g_build_filename (dir, "m.augur", NULL);
        nodir = g_build_filename (dir, "no", "such", "m.augur", NULL);

        g_assert_false (augur_blob_load (path, &back, NULL, NULL, &error));
        g_assert_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_IO);
        g_clear_error (&error);

        g_assert_false (augur_blob_save (nodir, nn, NULL, NULL, 0, &error));
        g_assert_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_IO);
        g_clear_error (&error);

        g_assert_false (augur_blob_save (path, nn, NULL, &bad, 1, &error));
        g_assert_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_CORRUPT);
        g_clear_error (&error);
        g_assert_false (augur_blob_save (path, nn, NULL, dup, 2, &error));
        g_assert_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_CORRUPT);
        g_clear_error (&error);

        /* overwrite an existing garbage file; no temp file is left behind */
        junk = g_strdup ("not a model");
        g_assert_true (g_file_set_contents (path, junk, -1, NULL));
        g_assert_false (augur_blob_load (path, &back, NULL, NULL, &error));
        g_assert_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_MAGIC);
        g_assert_nonnull (strstr (error->message, path));
        g_clear_error (&error);
        g_assert_true (augur_blob_save (path, nn, NULL, NULL, 0, &error));
        g_assert_no_error (error);
        g_assert_true (augur_blob_load (path, &back, NULL, NULL, &error));
        g_assert_no_error (error);
        g_assert_cmpmem (back->params_memory, back->n_params * 4, nn->params_memory, nn->n_params * 4);

        dh = g_dir_open (dir, 0, NULL);
        while (g_dir_read_name (dh))
                count++;
        g_dir_close (dh);
        g_assert_cmpuint (count, ==, 1);

        g_assert_cmpint (g_unlink (path), ==, 0);
        g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* A FIFO as the model file (augurd --model, virt-augur eval
 * --model) blocked in open() until a writer came.  Anything but a regular
 * file is refused at once, naming the path and what it is. */
static void
test_not_regular (void)
{
        g_autoptr (GError) error = NULL;
        g_autofree char *dir = g_dir_make_tmp ("augur-blob-XXXXXX", &error);
        g_autofree char *fifo = g_build_filename (dir, "m.augur", NULL);
        g_autoptr (AugurNN) back = NULL;
        static const struct {
                const char *path;     /* NULL: the FIFO */
                const char *what;
        } rows[] = {
                { NULL, "a FIFO" },
                { "/dev/zero", "a character device" },
                { "/", "a directory" },
        };

        g_assert_no_error (error);
        g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
        alarm (10);                   /* the bug was a hang: fail, don't hang */
        for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
                const char *path = rows[i].path ? rows[i].path : fifo;

                g_assert_false (augur_blob_load (path, &back, NULL, NULL, &error));
                g_test_message ("%s: %s", path, error->message);
                g_assert_error (error, AUGUR_BLOB_ERROR, AUGUR_BLOB_ERROR_IO);
                g_assert_nonnull (strstr (error->message, path));
                g_assert_nonnull (strstr (error->message, rows[i].what));
                g_clear_error (&error);
        }
        alarm (0);
        g_assert_cmpint (g_unlink (fifo), ==, 0);
        g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* Transformer files (make_blob: I 3, D 5, O 2, 2 layers, 1 head, 8
 * positions): shapes in the config section and the quantised blocks are
 * checked like the RNN's. */
typedef enum {
        A_LAYERS_ZERO,
        A_LAYERS_HUGE,
        A_HEADS,
        A_MAX_LEN_HUGE,
        A_BAD_SHIFT,
        A_OVERFLOW_ROW,
        A_EXP_TABLE,
        A_CONFIG_SHORT,
} AttnPatch;

typedef struct {
        const char *name;
        AttnPatch patch;
        AugurBlobError code;
} AttnCase;

static const AttnCase attn_cases[] = {
        { "layers-zero",  A_LAYERS_ZERO,  AUGUR_BLOB_ERROR_SHAPE },
        { "layers-huge",  A_LAYERS_HUGE,  AUGUR_BLOB_ERROR_SHAPE },
        { "heads",        A_HEADS,        AUGUR_BLOB_ERROR_SHAPE },
        { "max-len-huge", A_MAX_LEN_HUGE, AUGUR_BLOB_ERROR_SHAPE },
        { "bad-shift",    A_BAD_SHIFT,    AUGUR_BLOB_ERROR_CORRUPT },
        { "overflow-row", A_OVERFLOW_ROW, AUGUR_BLOB_ERROR_CORRUPT },
        { "exp-table",    A_EXP_TABLE,    AUGUR_BLOB_ERROR_CORRUPT },
        { "config-short", A_CONFIG_SHORT, AUGUR_BLOB_ERROR_CORRUPT },
};

static void
test_crafted_attn (gconstpointer data)
{
        const AttnCase *ac = data;
        g_autoptr (GBytes) b = make_blob (AUGUR_ARCH_TRANSFORMER);
        g_autoptr (GError) error = NULL;
        gsize len;
        const guint8 *src = g_bytes_get_data (b, &len);
        g_autofree guint8 *d = g_memdup2 (src, len);
        const gsize cfg_attn = section_offset (d, 0) + 32 + 4 * 2;   /* after tau[2] */
        const gsize q = section_offset (d, 2);
        /* int16 block: wi (16x16), 2 x (wqkv 48x16, wo, w1, w2 16x16), wy 4x16, exp */
        const gsize n16 = 256 + 2 * (768 + 256 + 256 + 256) + 64 + 513;
        AugurNN *nn = NULL;
        guint k;

        g_assert_cmpuint (rd32 (d + 12), ==, AUGUR_ARCH_TRANSFORMER);
        g_assert_cmpuint (rd32 (d + cfg_attn), ==, 2);          /* layers  */
        g_assert_cmpuint (rd32 (d + cfg_attn + 4), ==, 1);      /* heads   */
        g_assert_cmpuint (rd32 (d + cfg_attn + 8), ==, 8);      /* max_len */
        switch (ac->patch) {
        case A_LAYERS_ZERO:
                le32 (d + cfg_attn, 0);
                break;
        case A_LAYERS_HUGE:
                le32 (d + cfg_attn, 1000000);
                break;
        case A_HEADS:
                le32 (d + cfg_attn + 4, 2);                     /* 5 % 2 != 0 */
                break;
        case A_MAX_LEN_HUGE:
                le32 (d + cfg_attn + 8, 0xffffffffu);
                break;
        case A_BAD_SHIFT:
                /* first si: int32 block starts bi (5), mi (5), si */
                le32 (d + q + 16 + 2 * n16 + 4 * 10, 63);
                break;
        case A_OVERFLOW_ROW:
                for (k = 0; k < 16; k++) {
                        d[q + 16 + 2 * k] = 0x00;
                        d[q + 16 + 2 * k + 1] = 0x80;
                }
                break;
        case A_EXP_TABLE:
                /* exp(0), the table's last entry, zero: softmax would divide by 0 */
                d[q + 16 + 2 * (n16 - 1)] = 0;
                d[q + 16 + 2 * (n16 - 1) + 1] = 0;
                break;
        case A_CONFIG_SHORT:
                /* an RNN-sized config section: arch says transformer */
                le32 (d + 12, AUGUR_ARCH_GRU);
                break;
        }
        fix_crc (d, len);
        g_assert_false (augur_blob_load_from_data (d, len, &nn, NULL, NULL, &error));
        g_assert_null (nn);
        g_test_message ("%s: %s", ac->name, error->message);
        g_assert_error (error, AUGUR_BLOB_ERROR, (gint) ac->code);
}

int
main (int argc, char **argv)
{
        guint k;

        g_test_init (&argc, &argv, NULL);
        augur_nn_blas_threads_init ();

        g_test_add_data_func ("/blob/roundtrip/lstm", GINT_TO_POINTER (AUGUR_ARCH_LSTM), test_roundtrip);
        g_test_add_data_func ("/blob/roundtrip/gru", GINT_TO_POINTER (AUGUR_ARCH_GRU), test_roundtrip);
        g_test_add_data_func ("/blob/roundtrip/transformer", GINT_TO_POINTER (AUGUR_ARCH_TRANSFORMER),
                              test_roundtrip);
        g_test_add_data_func ("/blob/truncated", GINT_TO_POINTER (AUGUR_ARCH_LSTM), test_truncated);
        g_test_add_data_func ("/blob/truncated/transformer", GINT_TO_POINTER (AUGUR_ARCH_TRANSFORMER),
                              test_truncated);
        g_test_add_data_func ("/blob/corrupt", GINT_TO_POINTER (AUGUR_ARCH_GRU), test_corrupt);
        g_test_add_data_func ("/blob/corrupt/transformer", GINT_TO_POINTER (AUGUR_ARCH_TRANSFORMER),
                              test_corrupt);
        for (k = 0; k < G_N_ELEMENTS (attn_cases); k++) {
                g_autofree char *path = g_strdup_printf ("/blob/crafted/transformer/%s", attn_cases[k].name);

                g_test_add_data_func (path, &attn_cases[k], test_crafted_attn);
        }
        for (k = 0; k < G_N_ELEMENTS (craft_cases); k++) {
                g_autofree char *path = g_strdup_printf ("/blob/crafted/%s", craft_cases[k].name);

                g_test_add_data_func (path, &craft_cases[k], test_crafted);
        }
        g_test_add_func ("/blob/io", test_io);
        g_test_add_func ("/blob/not-regular", test_not_regular);
        return g_test_run ();
}
