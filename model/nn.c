/* nn.c — float LSTM/GRU: training (forward, backward, Adam) and the
 * reference single-step forward.  The algorithm, the shape legend and the
 * conventions are documented in nn.h; this file adds the implementation
 * notes.
 *
 * IMPLEMENTATION NOTES
 * ====================
 * Layout.  Everything that depends on the window is batch-major with time
 * inside: row (b, t) of a (B, T, X) buffer is at ((b*T)+t)*X.  Then
 *   - the input projection for all steps is one sgemm over B*T rows,
 *   - the per-step sgemms read/write the B rows of step t with a leading
 *     dimension of T*X (BLAS strides make the gather free),
 *   - dWx = dA^T X and dWh = dA^T Hprev are one sgemm each over B*T rows,
 *     because Hprev (B, T, H) stores h_{t-1} at row (b, t).
 *
 * Activation cache (AugurNNActs), one block carved by a pointer table:
 *   x      (B, T, I)   copy of the input (needed by dWx)
 *   gates  (B, T, G*H) post-nonlinearity gates (LSTM: i f g o; GRU: r z n);
 *                      LSTM uses it first for the pre-activations
 *   hprev  (B, T, H)   h_{t-1} seen by step t (row t = 0 is zero)
 *   cprev  (B, T, H)   LSTM c_{t-1} seen by step t
 *   tc     (B, T, H)   LSTM tanh(c_t)
 *   hn     (B, T, H)   GRU Wh_n h_{t-1} + bhn
 *   ah     (B, G*H)    GRU per-step Wh h_{t-1} scratch
 *   hT     (B, H)      last hidden state
 *   hdrop  (B, H)      hT * dropout mask
 *   dmask  (B, H)      dropout mask: 0 or 1/(1-p)
 *   y      (B, O)      output
 *   tgt    (B, O)      targets of the last forward
 *   w      (B, O)      1 where the target counts, else 0
 *   dy     (B, O)      dLoss/dy
 *   dA     (B, T, G*H) dLoss/d(pre-activation), x side
 *   dAh    (B, T, G*H) GRU only: h side (n part is dA_n * r)
 *   dh     (B, H)      dLoss/dh_t flowing back
 *   dh2    (B, H)      the next dh being built
 *   dc     (B, H)      LSTM dLoss/dc_t flowing back
 * It grows when a forward sees a larger B*T or B, and is never shrunk.
 *
 * Data parallel training.  With cfg.threads = 2, augur_nn_train_batch()
 * splits the minibatch in two fixed halves; a second thread runs the
 * forward and backward of its half into its own cache and gradient block,
 * and the halves' gradients are added in a fixed order.  OpenBLAS is kept
 * single-threaded inside (augur_nn_blas_threads_init).  Why: on the 2-core
 * build machine the sgemm-only part of an epoch (I=30, H=32, T=24, B=256)
 * took 5.3-5.6 s with 1 OpenBLAS thread and 5.4-7.8 s with 2 (the per-step
 * matrices are 256x128x32, too small to split), while splitting the batch
 * over two of our own threads gave 1.5-1.7x on the whole step.  Both halves
 * are deterministic and are added in a fixed order, so the result depends
 * only on the seed, the batches and cfg.threads.
 *
 * Nonlinearities.  sigmoid and tanh use a Cephes-style expf (degree-5
 * polynomial after range reduction, ~1 ulp) written with GCC vector
 * extensions, 8 lanes, so the per-step loops are vectorised at -O2 without
 * -ffast-math; the hot loops are compiled twice (x86-64 baseline and
 * AVX2) and picked at load time by target_clones.
 */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "nn.h"
#include "nn-attn.h"
#include "util.h"

/* cblas.h pulls in <complex.h>, which defines I.  We never use it. */
#undef I

/* The 32-byte vector helpers below are static always_inline, so the ABI
 * note about passing them by value cannot apply. */
#pragma GCC diagnostic ignored "-Wpsabi"

G_DEFINE_QUARK (augur-nn-error-quark, augur_nn_error)

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
        !defined(AUGUR_NO_CLONES) && !defined(__SANITIZE_ADDRESS__)
#define AUGUR_CLONES __attribute__((target_clones ("avx2", "default")))
#else
#define AUGUR_CLONES
#endif

/* Windows per chunk in augur_nn_predict() / augur_nn_loss(), to bound the
 * cache at roughly CHUNK * T * (3G+5) * H floats. */
#define AUGUR_NN_CHUNK 1024u
/* Below this batch size the second training thread costs more than it
 * saves (thread start ~30 us vs ~1 us of work per window). */
#define AUGUR_NN_MIN_SPLIT 64u

/* ------------------------------------------------------------------------
 * Small things
 * ------------------------------------------------------------------------ */

static const char *const arch_names[AUGUR_ARCH_N] = {
        [AUGUR_ARCH_LSTM] = "lstm",
        [AUGUR_ARCH_GRU] = "gru",
        [AUGUR_ARCH_TRANSFORMER] = "transformer",
};

static const char *const tensor_names[AUGUR_NN_N_TENSORS] = {
        "wx", "wh", "b", "bhn", "wy", "by",
};

const char *
augur_arch_name (AugurArch arch)
{
        if ((guint) arch >= AUGUR_ARCH_N)
                return NULL;
        return arch_names[arch];
}

int
augur_arch_from_name (const char *name)
{
        guint k;

        g_return_val_if_fail (name != NULL, -1);
        for (k = 0; k < AUGUR_ARCH_N; k++) {
                if (g_ascii_strcasecmp (name, arch_names[k]) == 0)
                        return (int) k;
        }
        return -1;
}

guint
augur_arch_gates (AugurArch arch)
{
        static const guint gates[AUGUR_ARCH_N] = {
                [AUGUR_ARCH_LSTM] = 4,
                [AUGUR_ARCH_GRU] = 3,
                [AUGUR_ARCH_TRANSFORMER] = 0,
        };

        if ((guint) arch >= AUGUR_ARCH_N)
                return 0;
        return gates[arch];
}

const char *
augur_nn_tensor_name (guint k)
{
        g_return_val_if_fail (k < AUGUR_NN_N_TENSORS, NULL);
        return tensor_names[k];
}

/* xoshiro256** (Blackman & Vigna), seeded through splitmix64
 * (augur_splitmix64, common/util.h): small, fast, and the same stream on
 * every platform, unlike rand() or GRand across GLib versions. */
static inline guint64
rotl64 (guint64 x, int k)
{
        return (x << k) | (x >> (64 - k));
}

static guint64
rng_next (guint64 s[4])
{
        guint64 result = rotl64 (s[1] * 5, 7) * 9;
        guint64 t = s[1] << 17;

        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl64 (s[3], 45);
        return result;
}

/* Uniform in [0, 1) with 24 bits. */
static float
rng_uniform (guint64 s[4])
{
        return (float) (rng_next (s) >> 40) * (1.0f / 16777216.0f);
}

/* ------------------------------------------------------------------------
 * Vector math (8 lanes, GCC/Clang vector extensions)
 * ------------------------------------------------------------------------ */

/* Lanes per vector.  Clang refuses 32-byte vectors by value in functions
 * compiled without AVX (an ABI error, where GCC only warns), and it gets no
 * AVX2 clone below, so it uses 16-byte vectors.  The names keep the "8". */
#if defined(__clang__) && !defined(__AVX__)
#define VW 4
#else
#define VW 8
#endif
typedef float v8f __attribute__ ((vector_size (VW * 4)));
typedef gint32 v8i __attribute__ ((vector_size (VW * 4)));

#define AI static inline __attribute__ ((always_inline))

AI v8f
v8_load (const float *p)
{
        v8f v;

        memcpy (&v, p, sizeof v);
        return v;
}

AI void
v8_store (float *p, v8f v)
{
        memcpy (p, &v, sizeof v);
}

AI v8f
v8_set1 (float x)
{
        v8f v = { 0 };

        return v + x;
}

AI v8f
v8_select (v8i m, v8f a, v8f b)   /* m ? a : b, lane-wise */
{
        return (v8f) (((v8i) a & m) | ((v8i) b & ~m));
}

AI v8f
v8_exp (v8f x)
{
        const v8f lo = v8_set1 (-87.0f), hi = v8_set1 (88.0f);
        const v8f magic = v8_set1 (12582912.0f);   /* 1.5 * 2^23: round-to-nearest */
        v8f t, n, r, z, y;
        v8i e;

        x = v8_select (x < lo, lo, x);
        x = v8_select (x > hi, hi, x);
        t = x * v8_set1 (1.44269504088896341f);
        n = (t + magic) - magic;
        r = x - n * v8_set1 (0.693359375f) - n * v8_set1 (-2.12194440e-4f);
        z = r * r;
        y = v8_set1 (1.9875691500E-4f);
        y = y * r + v8_set1 (1.3981999507E-3f);
        y = y * r + v8_set1 (8.3334519073E-3f);
        y = y * r + v8_set1 (4.1665795894E-2f);
        y = y * r + v8_set1 (1.6666665459E-1f);
        y = y * r + v8_set1 (5.0000001201E-1f);
        y = y * z + r + v8_set1 (1.0f);
        e = (__builtin_convertvector (n, v8i) + 127) << 23;
        return y * (v8f) e;
}

AI v8f
v8_sigmoid (v8f x)
{
        return v8_set1 (1.0f) / (v8_set1 (1.0f) + v8_exp (-x));
}

/* tanh(x) = 1 - 2 / (exp(2x) + 1): absolute error ~1e-7 near 0, exact
 * saturation at +-1 for large |x|. */
AI v8f
v8_tanh (v8f x)
{
        return v8_set1 (1.0f) - v8_set1 (2.0f) / (v8_exp (x + x) + v8_set1 (1.0f));
}

/* Scalar versions built on the vector ones so both agree lane for lane. */
static float
nn_sigmoidf (float x)
{
        v8f v = v8_set1 (x);

        return v8_sigmoid (v)[0];
}

static float
nn_tanhf (float x)
{
        v8f v = v8_set1 (x);

        return v8_tanh (v)[0];
}

/* ------------------------------------------------------------------------
 * Element-wise step kernels.  Each processes one row (one window b, one
 * step t) of H units in blocks of VW; the tail goes through zero-padded
 * locals so there is a single code path.
 * ------------------------------------------------------------------------ */

/* Load up to 8 floats (n < 8 pads with zeros). */
AI v8f
v8_load_n (const float *p, guint n)
{
        float tmp[8] = { 0 };

        if (n >= VW)
                return v8_load (p);
        memcpy (tmp, p, n * sizeof (float));
        return v8_load (tmp);
}

AI void
v8_store_n (float *p, v8f v, guint n)
{
        float tmp[8];

        if (n >= VW) {
                v8_store (p, v);
                return;
        }
        v8_store (tmp, v);
        memcpy (p, tmp, n * sizeof (float));
}

/* LSTM forward, one row.  gate: (4H) pre-activations in, activations out.
 * cprev (H) in; c_out (H) = c_t; tc (H) = tanh(c_t); h (H) = h_t. */
AUGUR_CLONES static void
lstm_fwd_row (guint H, float *gate, const float *cprev, float *c_out,
              float *tc, float *h)
{
        guint j, n;

        for (j = 0; j < H; j += VW) {
                v8f gi, gf, gg, go, c, t;

                n = H - j;
                gi = v8_sigmoid (v8_load_n (gate + j, n));
                gf = v8_sigmoid (v8_load_n (gate + H + j, n));
                gg = v8_tanh (v8_load_n (gate + 2 * H + j, n));
                go = v8_sigmoid (v8_load_n (gate + 3 * H + j, n));
                c = gf * v8_load_n (cprev + j, n) + gi * gg;
                t = v8_tanh (c);
                v8_store_n (gate + j, gi, n);
                v8_store_n (gate + H + j, gf, n);
                v8_store_n (gate + 2 * H + j, gg, n);
                v8_store_n (gate + 3 * H + j, go, n);
                v8_store_n (c_out + j, c, n);
                if (tc)
                        v8_store_n (tc + j, t, n);
                v8_store_n (h + j, go * t, n);
        }
}

/* LSTM backward, one row.  dh (H) = dL/dh_t (in); dc (H) = dL/dc_t from
 * step t+1 (in) and dL/dc_{t-1} (out); gate (4H) activations; cprev, tc (H);
 * dA (4H) out = dL/d(pre-activation). */
AUGUR_CLONES static void
lstm_bwd_row (guint H, const float *dh, float *dc, const float *gate,
              const float *cprev, const float *tc, float *dA)
{
        guint j, n;
        const v8f one = v8_set1 (1.0f);

        for (j = 0; j < H; j += VW) {
                v8f gi, gf, gg, go, t, vdh, vdc, di, df, dg, dout;

                n = H - j;
                gi = v8_load_n (gate + j, n);
                gf = v8_load_n (gate + H + j, n);
                gg = v8_load_n (gate + 2 * H + j, n);
                go = v8_load_n (gate + 3 * H + j, n);
                t = v8_load_n (tc + j, n);
                vdh = v8_load_n (dh + j, n);
                vdc = v8_load_n (dc + j, n) + vdh * go * (one - t * t);
                dout = vdh * t;
                di = vdc * gg;
                dg = vdc * gi;
                df = vdc * v8_load_n (cprev + j, n);
                v8_store_n (dA + j, di * gi * (one - gi), n);
                v8_store_n (dA + H + j, df * gf * (one - gf), n);
                v8_store_n (dA + 2 * H + j, dg * (one - gg * gg), n);
                v8_store_n (dA + 3 * H + j, dout * go * (one - go), n);
                v8_store_n (dc + j, vdc * gf, n);
        }
}

/* GRU forward, one row.  gate (3H): x-side pre-activations (ax + b) in,
 * activations r z n out.  ah (3H) = Wh h_{t-1}; bhn (H); hprev (H);
 * hn (H) out = ah_n + bhn; h (H) out. */
AUGUR_CLONES static void
gru_fwd_row (guint H, float *gate, const float *ah, const float *bhn,
             const float *hprev, float *hn, float *h)
{
        guint j, n;
        const v8f one = v8_set1 (1.0f);

        for (j = 0; j < H; j += VW) {
                v8f r, z, vhn, nn_, hp;

                n = H - j;
                r = v8_sigmoid (v8_load_n (gate + j, n) + v8_load_n (ah + j, n));
                z = v8_sigmoid (v8_load_n (gate + H + j, n) + v8_load_n (ah + H + j, n));
                vhn = v8_load_n (ah + 2 * H + j, n) + v8_load_n (bhn + j, n);
                nn_ = v8_tanh (v8_load_n (gate + 2 * H + j, n) + r * vhn);
                hp = v8_load_n (hprev + j, n);
                v8_store_n (gate + j, r, n);
                v8_store_n (gate + H + j, z, n);
                v8_store_n (gate + 2 * H + j, nn_, n);
                if (hn)
                        v8_store_n (hn + j, vhn, n);
                v8_store_n (h + j, (one - z) * nn_ + z * hp, n);
        }
}

/* GRU backward, one row.  dh (H) in = dL/dh_t; dh_prev (H) out = the direct
 * part z*dh (the Wh part is added by sgemm); gate (3H) r z n; hprev, hn (H);
 * dA (3H) out = dL/d(x-side pre-activation); dAh (3H) out = dL/d(Wh h + bhn
 * part), whose n block is dA_n * r. */
AUGUR_CLONES static void
gru_bwd_row (guint H, const float *dh, float *dh_prev, const float *gate,
             const float *hprev, const float *hn, float *dA, float *dAh)
{
        guint j, n;
        const v8f one = v8_set1 (1.0f);

        for (j = 0; j < H; j += VW) {
                v8f r, z, nn_, hp, vdh, dn, dz, dan, dar, daz;

                n = H - j;
                r = v8_load_n (gate + j, n);
                z = v8_load_n (gate + H + j, n);
                nn_ = v8_load_n (gate + 2 * H + j, n);
                hp = v8_load_n (hprev + j, n);
                vdh = v8_load_n (dh + j, n);
                dn = vdh * (one - z);
                dz = vdh * (hp - nn_);
                dan = dn * (one - nn_ * nn_);
                dar = dan * v8_load_n (hn + j, n) * r * (one - r);
                daz = dz * z * (one - z);
                v8_store_n (dA + j, dar, n);
                v8_store_n (dA + H + j, daz, n);
                v8_store_n (dA + 2 * H + j, dan, n);
                v8_store_n (dAh + j, dar, n);
                v8_store_n (dAh + H + j, daz, n);
                v8_store_n (dAh + 2 * H + j, dan * r, n);
                v8_store_n (dh_prev + j, vdh * z, n);
        }
}

/* acc (n) += sum over r < rows of src[r*ld + 0..n) (column sums). */
AUGUR_CLONES static void
add_rows (float *acc, const float *src, gsize rows, gsize n, gsize ld)
{
        gsize r, j;

        for (j = 0; j < n; j += VW) {
                guint m = (guint) MIN ((gsize) VW, n - j);
                v8f s = v8_load_n (acc + j, m);

                for (r = 0; r < rows; r++)
                        s += v8_load_n (src + r * ld + j, m);
                v8_store_n (acc + j, s, m);
        }
}

/* ------------------------------------------------------------------------
 * Config and construction
 * ------------------------------------------------------------------------ */

void
augur_nn_config_init (AugurNNConfig *cfg, guint n_in, guint hidden,
                      guint n_out, AugurArch arch)
{
        g_return_if_fail (cfg != NULL);

        memset (cfg, 0, sizeof *cfg);
        cfg->n_in = n_in;
        cfg->hidden = hidden;
        cfg->n_out = n_out;
        cfg->arch = arch;
        cfg->tau = NULL;
        cfg->dropout = 0.0f;
        cfg->l1 = 0.0f;
        cfg->l2 = 1e-5f;
        cfg->clip_norm = 1.0f;
        cfg->lr = 1e-3f;
        cfg->beta1 = 0.9f;
        cfg->beta2 = 0.999f;
        cfg->eps = 1e-8f;
        cfg->threads = 0;
        cfg->layers = 2;
        cfg->heads = 2;
        cfg->max_len = 64;
}

static gboolean
config_check (const AugurNNConfig *cfg, GError **error)
{
        guint k;

#define BAD(...) \
        do { \
                g_set_error (error, AUGUR_NN_ERROR, AUGUR_NN_ERROR_INVALID, __VA_ARGS__); \
                return FALSE; \
        } while (0)

        if ((guint) cfg->arch >= AUGUR_ARCH_N)
                BAD ("unknown architecture %d", (int) cfg->arch);
        if (cfg->n_in < 1 || cfg->n_in > AUGUR_NN_MAX_IN)
                BAD ("n_in %u out of range 1..%u", cfg->n_in, AUGUR_NN_MAX_IN);
        if (cfg->hidden < 1 || cfg->hidden > AUGUR_NN_MAX_HIDDEN)
                BAD ("hidden %u out of range 1..%u", cfg->hidden, AUGUR_NN_MAX_HIDDEN);
        if (cfg->n_out < 1 || cfg->n_out > AUGUR_NN_MAX_OUT)
                BAD ("n_out %u out of range 1..%u", cfg->n_out, AUGUR_NN_MAX_OUT);
        if (!(cfg->dropout >= 0.0f && cfg->dropout < 1.0f))
                BAD ("dropout %g not in [0, 1)", cfg->dropout);
        if (!(cfg->l1 >= 0.0f) || !(cfg->l2 >= 0.0f))
                BAD ("negative or NaN penalty (l1 %g, l2 %g)", cfg->l1, cfg->l2);
        if (!(cfg->lr > 0.0f) || !isfinite (cfg->lr))
                BAD ("learning rate %g must be > 0", cfg->lr);
        if (!(cfg->beta1 >= 0.0f && cfg->beta1 < 1.0f) ||
            !(cfg->beta2 >= 0.0f && cfg->beta2 < 1.0f))
                BAD ("Adam betas %g, %g not in [0, 1)", cfg->beta1, cfg->beta2);
        if (!(cfg->eps > 0.0f))
                BAD ("Adam eps %g must be > 0", cfg->eps);
        if (isnan (cfg->clip_norm))
                BAD ("clip_norm is NaN");
        if (cfg->threads > 64)
                BAD ("threads %u out of range 0..64", cfg->threads);
        if (cfg->arch == AUGUR_ARCH_TRANSFORMER) {
                if (cfg->layers < 1 || cfg->layers > AUGUR_ATTN_MAX_LAYERS)
                        BAD ("layers %u out of range 1..%u", cfg->layers, AUGUR_ATTN_MAX_LAYERS);
                if (cfg->heads < 1 || cfg->heads > cfg->hidden || cfg->hidden % cfg->heads != 0)
                        BAD ("heads %u must divide hidden %u", cfg->heads, cfg->hidden);
                if (cfg->max_len < 1 || cfg->max_len > AUGUR_ATTN_MAX_LEN)
                        BAD ("max_len %u out of range 1..%u", cfg->max_len, AUGUR_ATTN_MAX_LEN);
        }
        if (cfg->tau) {
                for (k = 0; k < cfg->n_out; k++) {
                        float t = cfg->tau[k];

                        if (!(t < 0.0f) && !(t > 0.0f && t < 1.0f))
                                BAD ("tau[%u] = %g: must be < 0 (squared error) or in (0, 1)", k, t);
                }
        }
#undef BAD
        return TRUE;
}

/* The pointer table: tensor k of a block starts at the sum of the lengths
 * before it (train_gpt2.c's malloc_and_point_parameters). */
static void
point_tensors (const AugurNN *nn, float *memory, AugurNNParams *p)
{
        float **ptrs[AUGUR_NN_N_TENSORS] = {
                &p->wx, &p->wh, &p->b, &p->bhn, &p->wy, &p->by,
        };
        float *it = memory;
        guint k;

        for (k = 0; k < AUGUR_NN_N_TENSORS; k++) {
                *ptrs[k] = it;
                it += nn->tensor_len[k];
        }
}

/* Lengths of the pointer table's tensors (transformer: the body in wx). */
static void
tensor_lengths (const AugurNNConfig *cfg, gsize *len)
{
        const gsize H = cfg->hidden, GH = (gsize) augur_arch_gates (cfg->arch) * H;

        if (cfg->arch == AUGUR_ARCH_TRANSFORMER) {
                len[0] = augur_attn_n_params (cfg);
                len[1] = len[2] = len[3] = 0;
        } else {
                len[0] = GH * cfg->n_in;
                len[1] = GH * H;
                len[2] = GH;
                len[3] = cfg->arch == AUGUR_ARCH_GRU ? H : 0;
        }
        len[4] = (gsize) cfg->n_out * H;
        len[5] = cfg->n_out;
}

gsize
augur_nn_count_params (const AugurNNConfig *cfg)
{
        gsize len[AUGUR_NN_N_TENSORS], n = 0;
        AugurNNConfig shapes;
        guint k;

        g_return_val_if_fail (cfg != NULL, 0);
        /* shapes only: the training hyper-parameters do not size anything */
        shapes = *cfg;
        shapes.tau = NULL;
        shapes.dropout = shapes.l1 = shapes.l2 = 0.0f;
        shapes.clip_norm = shapes.lr = 1.0f;
        shapes.beta1 = shapes.beta2 = 0.5f;
        shapes.eps = 1e-8f;
        shapes.threads = 0;
        if (!config_check (&shapes, NULL))
                return 0;
        tensor_lengths (cfg, len);
        for (k = 0; k < AUGUR_NN_N_TENSORS; k++)
                n += len[k];
        return n;
}

guint
augur_nn_n_tensors (const AugurNN *nn)
{
        g_return_val_if_fail (nn != NULL, 0);
        if (nn->cfg.arch == AUGUR_ARCH_TRANSFORMER)
                return augur_attn_n_tensors (&nn->cfg) + 2;
        return AUGUR_NN_N_TENSORS;
}

const char *
augur_nn_tensor_info (const AugurNN *nn, guint k, char *buf, gsize buf_len,
                      gsize *ret_offset, gsize *ret_len)
{
        gsize off = 0, len = 0;
        guint j, nb;

        g_return_val_if_fail (nn != NULL && buf != NULL, NULL);
        g_return_val_if_fail (k < augur_nn_n_tensors (nn), NULL);
        if (nn->cfg.arch != AUGUR_ARCH_TRANSFORMER) {
                for (j = 0; j < k; j++)
                        off += nn->tensor_len[j];
                len = nn->tensor_len[k];
                g_strlcpy (buf, tensor_names[k], buf_len);
        } else if (k < (nb = augur_attn_n_tensors (&nn->cfg))) {
                int layer;
                const char *name = augur_attn_tensor (&nn->cfg, k, &layer, &off, &len);

                if (layer >= 0)
                        g_snprintf (buf, buf_len, "l%d.%s", layer, name);
                else
                        g_strlcpy (buf, name, buf_len);
        } else {
                off = nn->tensor_len[0] + (k == nb + 1 ? nn->tensor_len[4] : 0);
                len = nn->tensor_len[k == nb ? 4 : 5];
                g_strlcpy (buf, k == nb ? "wy" : "by", buf_len);
        }
        if (ret_offset)
                *ret_offset = off;
        if (ret_len)
                *ret_len = len;
        return buf;
}

static AugurNN *
nn_alloc (const AugurNNConfig *cfg)
{
        AugurNN *nn = g_new0 (AugurNN, 1);
        guint k;

        nn->cfg = *cfg;
        nn->gates = augur_arch_gates (cfg->arch);
        nn->tau = g_new (float, cfg->n_out);
        for (k = 0; k < cfg->n_out; k++)
                nn->tau[k] = cfg->tau ? cfg->tau[k] : -1.0f;
        nn->cfg.tau = nn->tau;
        nn->threads = cfg->threads;
        if (nn->threads == 0)
                nn->threads = MIN (2u, (guint) g_get_num_processors ());
        nn->cfg.threads = nn->threads;

        tensor_lengths (cfg, nn->tensor_len);
        nn->n_params = 0;
        for (k = 0; k < AUGUR_NN_N_TENSORS; k++)
                nn->n_params += nn->tensor_len[k];

        nn->params_memory = g_new0 (float, nn->n_params);
        nn->grads_memory = g_new0 (float, nn->n_params);
        nn->m_memory = g_new0 (float, nn->n_params);
        nn->v_memory = g_new0 (float, nn->n_params);
        point_tensors (nn, nn->params_memory, &nn->params);
        point_tensors (nn, nn->grads_memory, &nn->grads);
        return nn;
}

AugurNN *
augur_nn_new (const AugurNNConfig *cfg, guint64 seed, GError **error)
{
        g_autoptr (AugurNN) nn = NULL;
        guint64 sm = seed;
        float k;
        gsize i;
        guint j;

        g_return_val_if_fail (cfg != NULL, NULL);
        g_return_val_if_fail (error == NULL || *error == NULL, NULL);

        if (!config_check (cfg, error))
                return NULL;
        nn = nn_alloc (cfg);
        for (j = 0; j < 4; j++)
                nn->rng[j] = augur_splitmix64 (&sm);

        k = 1.0f / sqrtf ((float) cfg->hidden);
        for (i = 0; i < nn->n_params; i++)
                nn->params_memory[i] = (2.0f * rng_uniform (nn->rng) - 1.0f) * k;
        if (cfg->arch == AUGUR_ARCH_LSTM) {
                for (j = 0; j < cfg->hidden; j++)
                        nn->params.b[cfg->hidden + j] = 1.0f;
        }
        if (cfg->arch == AUGUR_ARCH_TRANSFORMER)
                augur_attn_init_fixup (&nn->cfg, nn->params.wx);
        return g_steal_pointer (&nn);
}

AugurNN *
augur_nn_new_from_params (const AugurNNConfig *cfg, const float *params,
                          gsize n_params, GError **error)
{
        g_autoptr (AugurNN) nn = NULL;
        guint64 sm = 0;
        guint j;

        g_return_val_if_fail (cfg != NULL, NULL);
        g_return_val_if_fail (params != NULL, NULL);

        if (!config_check (cfg, error))
                return NULL;
        nn = nn_alloc (cfg);
        if (n_params != nn->n_params) {
                g_set_error (error, AUGUR_NN_ERROR, AUGUR_NN_ERROR_INVALID,
                             "%" G_GSIZE_FORMAT " parameters given, the shapes need %" G_GSIZE_FORMAT,
                             n_params, nn->n_params);
                return NULL;
        }
        memcpy (nn->params_memory, params, n_params * sizeof (float));
        for (j = 0; j < 4; j++)
                nn->rng[j] = augur_splitmix64 (&sm);
        return g_steal_pointer (&nn);
}

static void acts_free (AugurNNActs *a);

void
augur_nn_free (AugurNN *nn)
{
        guint w;

        if (!nn)
                return;
        for (w = 0; w < G_N_ELEMENTS (nn->acts); w++)
                g_clear_pointer (&nn->acts[w], acts_free);
        g_free (nn->worker_grads);
        g_free (nn->params_memory);
        g_free (nn->grads_memory);
        g_free (nn->m_memory);
        g_free (nn->v_memory);
        g_free (nn->tau);
        g_free (nn);
}

AugurNN *
augur_nn_copy (const AugurNN *nn)
{
        AugurNN *cp;

        g_return_val_if_fail (nn != NULL, NULL);
        cp = nn_alloc (&nn->cfg);
        memcpy (cp->params_memory, nn->params_memory, nn->n_params * sizeof (float));
        memcpy (cp->rng, nn->rng, sizeof cp->rng);
        return cp;
}

/* ------------------------------------------------------------------------
 * Activation cache
 * ------------------------------------------------------------------------ */

#define N_ACTS 19

struct _AugurNNActs {
        gsize cap_rows;          /* B*T the block was sized for               */
        guint cap_b;             /* B the block was sized for                 */
        guint B, T;              /* shapes of the last forward                */
        gboolean has_targets;    /* last forward stored tgt / w / dy          */
        float *x;                /* (B, T, I)                                  */
        float *gates;            /* (B, T, G*H)                                */
        float *hprev;            /* (B, T, H)                                  */
        float *cprev;            /* (B, T, H) LSTM                             */
        float *tc;               /* (B, T, H) LSTM                             */
        float *hn;               /* (B, T, H) GRU                              */
        float *ah;               /* (B, G*H)  GRU                              */
        float *hT;               /* (B, H)                                     */
        float *hdrop;            /* (B, H)                                     */
        float *dmask;            /* (B, H)                                     */
        float *y;                /* (B, O)                                     */
        float *tgt;              /* (B, O)                                     */
        float *w;                /* (B, O)                                     */
        float *dy;               /* (B, O)                                     */
        float *dA;               /* (B, T, G*H)                                */
        float *dAh;              /* (B, T, G*H) GRU                            */
        float *dh;               /* (B, H)                                     */
        float *dh2;              /* (B, H)                                     */
        float *dc;               /* (B, H) LSTM                                */
        float *memory;
        AugurAttnActs *attn;     /* transformer: the encoder's cache          */
};

static void
acts_free (AugurNNActs *a)
{
        if (!a)
                return;
        augur_attn_acts_free (a->attn);
        g_free (a->memory);
        g_free (a);
}

/* Make sure *ap can hold (B, T); (re)allocates and re-carves when not. */
static AugurNNActs *
acts_ensure (const AugurNN *nn, AugurNNActs **ap, guint B, guint T)
{
        AugurNNActs *a = *ap;
        gsize rows = (gsize) B * T, I = nn->cfg.n_in, H = nn->cfg.hidden;
        gsize O = nn->cfg.n_out, GH = (gsize) nn->gates * H;
        gboolean lstm = nn->cfg.arch == AUGUR_ARCH_LSTM;
        gboolean attn = nn->cfg.arch == AUGUR_ARCH_TRANSFORMER;
        gsize sizes[N_ACTS];
        float **ptrs[N_ACTS];
        gsize total = 0, cap_rows;
        guint cap_b, k;
        float *it;

        if (!a)
                a = *ap = g_new0 (AugurNNActs, 1);
        if (attn)
                augur_attn_acts_ensure (&nn->cfg, &a->attn, B, T);
        if (a->memory && a->cap_rows >= rows && a->cap_b >= B)
                return a;
        cap_rows = MAX (rows, a->cap_rows);
        cap_b = MAX (B, a->cap_b);

        {
                float **p[N_ACTS] = {
                        &a->x, &a->gates, &a->hprev, &a->cprev, &a->tc, &a->hn,
                        &a->ah, &a->hT, &a->hdrop, &a->dmask, &a->y, &a->tgt,
                        &a->w, &a->dy, &a->dA, &a->dAh, &a->dh, &a->dh2, &a->dc,
                };
                gsize s[N_ACTS] = {
                        cap_rows * I, cap_rows * GH, cap_rows * H,
                        lstm ? cap_rows * H : 0, lstm ? cap_rows * H : 0,
                        lstm ? 0 : cap_rows * H, lstm ? 0 : cap_b * GH,
                        cap_b * H, cap_b * H, cap_b * H,
                        cap_b * O, cap_b * O, cap_b * O, cap_b * O,
                        cap_rows * GH, lstm ? 0 : cap_rows * GH,
                        cap_b * H, cap_b * H, lstm ? cap_b * H : 0,
                };
                memcpy (ptrs, p, sizeof ptrs);
                memcpy (sizes, s, sizeof sizes);
                if (attn) {
                        /* the encoder keeps its own x and activations */
                        sizes[0] = sizes[2] = sizes[5] = 0;
                }
        }
        for (k = 0; k < N_ACTS; k++)
                total += sizes[k];
        g_free (a->memory);
        a->memory = g_new0 (float, total);
        it = a->memory;
        for (k = 0; k < N_ACTS; k++) {
                *ptrs[k] = sizes[k] ? it : NULL;
                it += sizes[k];
        }
        a->cap_rows = cap_rows;
        a->cap_b = cap_b;
        return a;
}

/* ------------------------------------------------------------------------
 * Forward
 * ------------------------------------------------------------------------ */

/* Forward of B windows into cache a.  dmask (B, H) or NULL (no dropout). */
static void
acts_forward (const AugurNN *nn, AugurNNActs *a, const float *x, guint B,
              guint T, const float *dmask)
{
        const gsize I = nn->cfg.n_in, H = nn->cfg.hidden, O = nn->cfg.n_out;
        const gsize GH = (gsize) nn->gates * H;
        const gsize rows = (gsize) B * T;
        const AugurNNParams *p = &nn->params;
        const gboolean lstm = nn->cfg.arch == AUGUR_ARCH_LSTM;
        gsize b, r, i;
        guint t;

        a->B = B;
        a->T = T;
        a->has_targets = FALSE;
        if (nn->cfg.arch == AUGUR_ARCH_TRANSFORMER) {
                augur_attn_forward (&nn->cfg, p->wx, a->attn, x, B, T, a->hT);
                goto head;
        }
        memcpy (a->x, x, rows * I * sizeof (float));

        /* gates := X Wx^T + b, all steps at once. */
        for (r = 0; r < rows; r++)
                memcpy (a->gates + r * GH, p->b, GH * sizeof (float));
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) rows, (int) GH,
                     (int) I, 1.0f, a->x, (int) I, p->wx, (int) I, 1.0f,
                     a->gates, (int) GH);

        for (b = 0; b < B; b++) {
                memset (a->hprev + b * T * H, 0, H * sizeof (float));
                if (lstm)
                        memset (a->cprev + b * T * H, 0, H * sizeof (float));
        }

        for (t = 0; t < T; t++) {
                const gboolean last = t + 1 == T;

                if (lstm) {
                        /* gates_t += H_{t-1} Wh^T (skipped at t = 0: h0 = 0) */
                        if (t > 0) {
                                cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans,
                                             (int) B, (int) GH, (int) H, 1.0f,
                                             a->hprev + t * H, (int) (T * H), p->wh, (int) H,
                                             1.0f, a->gates + t * GH, (int) (T * GH));
                        }
                        for (b = 0; b < B; b++) {
                                gsize row = b * T + t;
                                float *c_out, *h_out;

                                c_out = last ? NULL : a->cprev + (row + 1) * H;
                                h_out = last ? a->hT + b * H : a->hprev + (row + 1) * H;
                                if (!c_out) {
                                        /* c_T is not needed after the step; use dc as scratch */
                                        c_out = a->dc + b * H;
                                }
                                lstm_fwd_row ((guint) H, a->gates + row * GH,
                                              a->cprev + row * H, c_out,
                                              a->tc + row * H, h_out);
                        }
                } else {
                        if (t > 0) {
                                cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans,
                                             (int) B, (int) GH, (int) H, 1.0f,
                                             a->hprev + t * H, (int) (T * H), p->wh, (int) H,
                                             0.0f, a->ah, (int) GH);
                        } else {
                                memset (a->ah, 0, (gsize) B * GH * sizeof (float));
                        }
                        for (b = 0; b < B; b++) {
                                gsize row = b * T + t;
                                float *h_out = last ? a->hT + b * H : a->hprev + (row + 1) * H;

                                gru_fwd_row ((guint) H, a->gates + row * GH, a->ah + b * GH,
                                             p->bhn, a->hprev + row * H, a->hn + row * H,
                                             h_out);
                        }
                }
        }

head:
        /* head: y = dropout(hT) Wy^T + by */
        if (dmask) {
                memcpy (a->dmask, dmask, (gsize) B * H * sizeof (float));
                for (i = 0; i < (gsize) B * H; i++)
                        a->hdrop[i] = a->hT[i] * dmask[i];
        } else {
                for (i = 0; i < (gsize) B * H; i++)
                        a->dmask[i] = 1.0f;
                memcpy (a->hdrop, a->hT, (gsize) B * H * sizeof (float));
        }
        for (b = 0; b < B; b++)
                memcpy (a->y + b * O, p->by, O * sizeof (float));
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) B, (int) O,
                     (int) H, 1.0f, a->hdrop, (int) H, p->wy, (int) H, 1.0f,
                     a->y, (int) O);
}

float
augur_nn_head_loss (float tau, float y, float target)
{
        float u = target - y;

        if (tau < 0.0f)
                return u * u;
        return u >= 0.0f ? tau * u : (tau - 1.0f) * u;
}

/* d(head loss)/dy */
static inline float
head_grad (float tau, float y, float target)
{
        float u = target - y;

        if (tau < 0.0f)
                return -2.0f * u;
        return u > 0.0f ? -tau : 1.0f - tau;
}

/* Count of (b, k) entries that count (mask non-zero, target finite). */
static gsize
count_valid (const float *y, const guint8 *mask, gsize n)
{
        gsize i, c = 0;

        for (i = 0; i < n; i++) {
                if ((mask == NULL || mask[i]) && isfinite (y[i]))
                        c++;
        }
        return c;
}

/* Store targets, compute the loss sum (double) and dy = dloss/dy * inv_n. */
static double
acts_loss (const AugurNN *nn, AugurNNActs *a, const float *y,
           const guint8 *mask, double inv_n)
{
        const gsize O = nn->cfg.n_out, n = (gsize) a->B * O;
        double sum = 0.0;
        gsize i;

        for (i = 0; i < n; i++) {
                gboolean ok = (mask == NULL || mask[i]) && isfinite (y[i]);
                float tau = nn->tau[i % O];

                a->w[i] = ok ? 1.0f : 0.0f;
                a->tgt[i] = ok ? y[i] : 0.0f;
                if (ok) {
                        sum += augur_nn_head_loss (tau, a->y[i], y[i]);
                        a->dy[i] = (float) (head_grad (tau, a->y[i], y[i]) * inv_n);
                } else {
                        a->dy[i] = 0.0f;
                }
        }
        a->has_targets = TRUE;
        return sum;
}

/* ------------------------------------------------------------------------
 * Backward
 * ------------------------------------------------------------------------ */

/* Gradients of the data loss for cache a into g (overwritten). */
static void
acts_backward (const AugurNN *nn, AugurNNActs *a, float *g_memory)
{
        const gsize I = nn->cfg.n_in, H = nn->cfg.hidden, O = nn->cfg.n_out;
        const gsize GH = (gsize) nn->gates * H;
        const guint B = a->B, T = a->T;
        const gsize rows = (gsize) B * T;
        const gboolean lstm = nn->cfg.arch == AUGUR_ARCH_LSTM;
        const AugurNNParams *p = &nn->params;
        AugurNNParams g;
        float *dAh = lstm ? a->dA : a->dAh;
        gsize b, j;
        guint t;

        g_assert (a->has_targets);
        point_tensors (nn, g_memory, &g);
        memset (g_memory, 0, nn->n_params * sizeof (float));

        /* head: dWy = dy^T hdrop, dby = colsum dy, dhT = (dy Wy) * dmask */
        cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) O, (int) H,
                     (int) B, 1.0f, a->dy, (int) O, a->hdrop, (int) H, 0.0f,
                     g.wy, (int) H);
        for (b = 0; b < B; b++) {
                for (j = 0; j < O; j++)
                        g.by[j] += a->dy[b * O + j];
        }
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) B, (int) H,
                     (int) O, 1.0f, a->dy, (int) O, p->wy, (int) H, 0.0f,
                     a->dh, (int) H);
        for (j = 0; j < (gsize) B * H; j++)
                a->dh[j] *= a->dmask[j];
        if (nn->cfg.arch == AUGUR_ARCH_TRANSFORMER) {
                augur_attn_backward (&nn->cfg, p->wx, a->attn, a->dh, g.wx);
                return;
        }
        if (lstm)
                memset (a->dc, 0, (gsize) B * H * sizeof (float));

        for (t = T; t-- > 0;) {
                if (lstm) {
                        for (b = 0; b < B; b++) {
                                gsize row = b * T + t;

                                lstm_bwd_row ((guint) H, a->dh + b * H, a->dc + b * H,
                                              a->gates + row * GH, a->cprev + row * H,
                                              a->tc + row * H, a->dA + row * GH);
                        }
                        if (t > 0) {
                                cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans,
                                             (int) B, (int) H, (int) GH, 1.0f,
                                             a->dA + t * GH, (int) (T * GH), p->wh, (int) H,
                                             0.0f, a->dh, (int) H);
                        }
                } else {
                        for (b = 0; b < B; b++) {
                                gsize row = b * T + t;

                                gru_bwd_row ((guint) H, a->dh + b * H, a->dh2 + b * H,
                                             a->gates + row * GH, a->hprev + row * H,
                                             a->hn + row * H, a->dA + row * GH,
                                             a->dAh + row * GH);
                        }
                        if (t > 0) {
                                cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans,
                                             (int) B, (int) H, (int) GH, 1.0f,
                                             a->dAh + t * GH, (int) (T * GH), p->wh, (int) H,
                                             1.0f, a->dh2, (int) H);
                                {
                                        float *tmp = a->dh;

                                        a->dh = a->dh2;
                                        a->dh2 = tmp;
                                }
                        }
                }
        }

        /* dWx = dA^T X, dWh = dAh^T Hprev, db = colsum dA, dbhn = colsum dAh_n */
        cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) GH, (int) I,
                     (int) rows, 1.0f, a->dA, (int) GH, a->x, (int) I, 0.0f,
                     g.wx, (int) I);
        cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) GH, (int) H,
                     (int) rows, 1.0f, dAh, (int) GH, a->hprev, (int) H, 0.0f,
                     g.wh, (int) H);
        add_rows (g.b, a->dA, rows, GH, GH);
        if (!lstm)
                add_rows (g.bhn, a->dAh + 2 * H, rows, H, GH);
}

/* Add the penalty gradient l1*sign(W) + l2*W on Wx, Wh, Wy. */
static void
add_reg_grads (AugurNN *nn)
{
        const float l1 = nn->cfg.l1, l2 = nn->cfg.l2;
        const guint mats[3] = { 0, 1, 4 };
        float *pm[AUGUR_NN_N_TENSORS] = {
                nn->params.wx, nn->params.wh, nn->params.b,
                nn->params.bhn, nn->params.wy, nn->params.by,
        };
        float *gm[AUGUR_NN_N_TENSORS] = {
                nn->grads.wx, nn->grads.wh, nn->grads.b,
                nn->grads.bhn, nn->grads.wy, nn->grads.by,
        };
        guint m;
        gsize i;

        if (l1 == 0.0f && l2 == 0.0f)
                return;
        for (m = 0; m < G_N_ELEMENTS (mats); m++) {
                const float *w = pm[mats[m]];
                float *g = gm[mats[m]];

                for (i = 0; i < nn->tensor_len[mats[m]]; i++) {
                        float s = w[i] > 0.0f ? 1.0f : (w[i] < 0.0f ? -1.0f : 0.0f);

                        g[i] += l1 * s + l2 * w[i];
                }
        }
}

double
augur_nn_reg_loss (const AugurNN *nn)
{
        const guint mats[3] = { 0, 1, 4 };
        const float *pm[AUGUR_NN_N_TENSORS] = {
                nn->params.wx, nn->params.wh, nn->params.b,
                nn->params.bhn, nn->params.wy, nn->params.by,
        };
        double s1 = 0.0, s2 = 0.0;
        guint m;
        gsize i;

        g_return_val_if_fail (nn != NULL, 0.0);
        for (m = 0; m < G_N_ELEMENTS (mats); m++) {
                const float *w = pm[mats[m]];

                for (i = 0; i < nn->tensor_len[mats[m]]; i++) {
                        s1 += fabs ((double) w[i]);
                        s2 += (double) w[i] * w[i];
                }
        }
        return nn->cfg.l1 * s1 + 0.5 * nn->cfg.l2 * s2;
}

/* ------------------------------------------------------------------------
 * Public forward / backward / update
 * ------------------------------------------------------------------------ */

static void
make_dropout_mask (AugurNN *nn, float *dmask, gsize n)
{
        const float p = nn->cfg.dropout, keep = 1.0f / (1.0f - p);
        gsize i;

        for (i = 0; i < n; i++)
                dmask[i] = rng_uniform (nn->rng) < p ? 0.0f : keep;
}

float
augur_nn_forward (AugurNN *nn, const float *x, const float *y,
                  const guint8 *mask, guint B, guint T, gboolean train)
{
        AugurNNActs *a;
        gsize nvalid;
        double sum;

        g_return_val_if_fail (nn != NULL, NAN);
        g_return_val_if_fail (x != NULL, NAN);
        g_return_val_if_fail (B > 0 && T > 0, NAN);

        a = acts_ensure (nn, &nn->acts[0], B, T);
        if (train && nn->cfg.dropout > 0.0f) {
                g_autofree float *dmask = g_new (float, (gsize) B * nn->cfg.hidden);

                make_dropout_mask (nn, dmask, (gsize) B * nn->cfg.hidden);
                acts_forward (nn, a, x, B, T, dmask);
        } else {
                acts_forward (nn, a, x, B, T, NULL);
        }
        if (!y)
                return NAN;
        nvalid = count_valid (y, mask, (gsize) B * nn->cfg.n_out);
        sum = acts_loss (nn, a, y, mask, nvalid ? 1.0 / (double) nvalid : 0.0);
        return nvalid ? (float) (sum / (double) nvalid) : 0.0f;
}

void
augur_nn_backward (AugurNN *nn)
{
        g_return_if_fail (nn != NULL);
        g_return_if_fail (nn->acts[0] != NULL && nn->acts[0]->has_targets);

        acts_backward (nn, nn->acts[0], nn->grads_memory);
        add_reg_grads (nn);
}

const float *
augur_nn_output (const AugurNN *nn)
{
        g_return_val_if_fail (nn != NULL && nn->acts[0] != NULL, NULL);
        return nn->acts[0]->y;
}

float
augur_nn_update (AugurNN *nn)
{
        const AugurNNConfig *c = &nn->cfg;
        double norm2 = 0.0;
        float norm, scale = 1.0f, bc1, bc2;
        gsize i;

        g_return_val_if_fail (nn != NULL, NAN);

        for (i = 0; i < nn->n_params; i++)
                norm2 += (double) nn->grads_memory[i] * nn->grads_memory[i];
        norm = (float) sqrt (norm2);
        if (c->clip_norm > 0.0f && norm > c->clip_norm)
                scale = c->clip_norm / norm;
        if (!isfinite (norm)) {
                /* Defensive: a NaN/inf gradient would poison the moments for
                 * good; skip the step instead. */
                g_debug ("non-finite gradient norm, skipping update");
                return norm;
        }

        nn->step++;
        bc1 = 1.0f - powf (c->beta1, (float) nn->step);
        bc2 = 1.0f - powf (c->beta2, (float) nn->step);
        for (i = 0; i < nn->n_params; i++) {
                float g = nn->grads_memory[i] * scale;
                float m = c->beta1 * nn->m_memory[i] + (1.0f - c->beta1) * g;
                float v = c->beta2 * nn->v_memory[i] + (1.0f - c->beta2) * g * g;
                float mh = m / bc1, vh = v / bc2;

                nn->m_memory[i] = m;
                nn->v_memory[i] = v;
                nn->params_memory[i] -= c->lr * mh / (sqrtf (vh) + c->eps);
        }
        return norm;
}

/* The second training thread: forward + loss + backward of rows [b0, b0+B). */
typedef struct {
        const AugurNN *nn;
        AugurNNActs *acts;
        float *grads;
        const float *x, *y, *dmask;
        const guint8 *mask;
        guint B, T;
        double inv_n;
        double loss_sum;
} TrainPart;

static void
train_part_run (TrainPart *tp)
{
        acts_forward (tp->nn, tp->acts, tp->x, tp->B, tp->T, tp->dmask);
        tp->loss_sum = acts_loss (tp->nn, tp->acts, tp->y, tp->mask, tp->inv_n);
        acts_backward (tp->nn, tp->acts, tp->grads);
}

static gpointer
train_part_thread (gpointer data)
{
        train_part_run (data);
        return NULL;
}

float
augur_nn_train_batch (AugurNN *nn, const float *x, const float *y,
                      const guint8 *mask, guint B, guint T)
{
        const gsize I = nn->cfg.n_in, H = nn->cfg.hidden, O = nn->cfg.n_out;
        g_autofree float *dmask = NULL;
        TrainPart parts[2];
        guint nparts, k;
        gsize nvalid, i;
        double sum = 0.0;

        g_return_val_if_fail (nn != NULL, NAN);
        g_return_val_if_fail (x != NULL && y != NULL, NAN);
        g_return_val_if_fail (B > 0 && T > 0, NAN);

        nvalid = count_valid (y, mask, (gsize) B * O);
        if (nvalid == 0)
                return 0.0f;
        if (nn->cfg.dropout > 0.0f) {
                dmask = g_new (float, (gsize) B * H);
                make_dropout_mask (nn, dmask, (gsize) B * H);
        }

        nparts = (nn->threads >= 2 && B >= AUGUR_NN_MIN_SPLIT) ? 2 : 1;
        for (k = 0; k < nparts; k++) {
                guint b0 = (B * k) / nparts, b1 = (B * (k + 1)) / nparts;

                parts[k].nn = nn;
                parts[k].acts = acts_ensure (nn, &nn->acts[k], b1 - b0, T);
                parts[k].x = x + (gsize) b0 * T * I;
                parts[k].y = y + (gsize) b0 * O;
                parts[k].mask = mask ? mask + (gsize) b0 * O : NULL;
                parts[k].dmask = dmask ? dmask + (gsize) b0 * H : NULL;
                parts[k].B = b1 - b0;
                parts[k].T = T;
                parts[k].inv_n = 1.0 / (double) nvalid;
                parts[k].loss_sum = 0.0;
        }
        parts[0].grads = nn->grads_memory;
        if (nparts == 2) {
                GThread *th;

                if (!nn->worker_grads)
                        nn->worker_grads = g_new0 (float, nn->n_params);
                parts[1].grads = nn->worker_grads;
                th = g_thread_new ("augur-nn-train", train_part_thread, &parts[1]);
                train_part_run (&parts[0]);
                g_thread_join (th);
                for (i = 0; i < nn->n_params; i++)
                        nn->grads_memory[i] += nn->worker_grads[i];
        } else {
                train_part_run (&parts[0]);
        }
        for (k = 0; k < nparts; k++)
                sum += parts[k].loss_sum;

        add_reg_grads (nn);
        augur_nn_update (nn);
        return (float) (sum / (double) nvalid);
}

float
augur_nn_loss (AugurNN *nn, const float *x, const float *y,
               const guint8 *mask, guint B, guint T, gsize *ret_n)
{
        const gsize I = nn->cfg.n_in, O = nn->cfg.n_out;
        double sum = 0.0;
        gsize nvalid, b0;

        g_return_val_if_fail (nn != NULL, NAN);
        g_return_val_if_fail (x != NULL && y != NULL, NAN);
        g_return_val_if_fail (T > 0, NAN);

        nvalid = count_valid (y, mask, (gsize) B * O);
        for (b0 = 0; b0 < B; b0 += AUGUR_NN_CHUNK) {
                guint nb = (guint) MIN ((gsize) AUGUR_NN_CHUNK, B - b0);
                AugurNNActs *a = acts_ensure (nn, &nn->acts[0], nb, T);

                acts_forward (nn, a, x + b0 * T * I, nb, T, NULL);
                sum += acts_loss (nn, a, y + b0 * O, mask ? mask + b0 * O : NULL, 0.0);
        }
        if (ret_n)
                *ret_n = nvalid;
        return nvalid ? (float) (sum / (double) nvalid) : 0.0f;
}

void
augur_nn_predict (AugurNN *nn, const float *x, guint B, guint T, float *out)
{
        const gsize I = nn->cfg.n_in, O = nn->cfg.n_out;
        gsize b0;

        g_return_if_fail (nn != NULL);
        g_return_if_fail (x != NULL && out != NULL);
        g_return_if_fail (T > 0);

        for (b0 = 0; b0 < B; b0 += AUGUR_NN_CHUNK) {
                guint nb = (guint) MIN ((gsize) AUGUR_NN_CHUNK, B - b0);
                AugurNNActs *a = acts_ensure (nn, &nn->acts[0], nb, T);

                acts_forward (nn, a, x + b0 * T * I, nb, T, NULL);
                memcpy (out + b0 * O, a->y, (gsize) nb * O * sizeof (float));
        }
}

/* ------------------------------------------------------------------------
 * Stateful single step (reference for the fixed-point kernel)
 * ------------------------------------------------------------------------ */

AugurNNState *
augur_nn_state_new (const AugurNN *nn)
{
        AugurNNState *st;
        gsize H;

        g_return_val_if_fail (nn != NULL, NULL);
        H = nn->cfg.hidden;
        st = g_new0 (AugurNNState, 1);
        st->hidden = (guint) H;
        st->h = g_new0 (float, H * 2 + (gsize) nn->gates * H * 2);
        st->c = st->h + H;
        st->scratch = st->c + H;
        if (nn->cfg.arch == AUGUR_ARCH_TRANSFORMER) {
                st->xwin = g_new0 (float, (gsize) nn->cfg.max_len * nn->cfg.n_in);
                augur_attn_acts_ensure (&nn->cfg, &st->attn, 1, nn->cfg.max_len);
        }
        return st;
}

void
augur_nn_state_free (AugurNNState *st)
{
        if (!st)
                return;
        augur_attn_acts_free (st->attn);
        g_free (st->xwin);
        g_free (st->h);
        g_free (st);
}

void
augur_nn_state_reset (AugurNNState *st)
{
        g_return_if_fail (st != NULL);
        memset (st->h, 0, st->hidden * sizeof (float));
        memset (st->c, 0, st->hidden * sizeof (float));
        st->n_x = 0;
}

void
augur_nn_step (const AugurNN *nn, AugurNNState *st, const float *x_t)
{
        const gsize I = nn->cfg.n_in, H = nn->cfg.hidden, GH = (gsize) nn->gates * H;
        const AugurNNParams *p = &nn->params;
        float *ax = st->scratch, *ah = st->scratch + GH;

        g_return_if_fail (st->hidden == H);

        if (nn->cfg.arch == AUGUR_ARCH_TRANSFORMER) {
                if (st->n_x == nn->cfg.max_len) {
                        memmove (st->xwin, st->xwin + I, (st->n_x - 1) * I * sizeof (float));
                        st->n_x--;
                }
                memcpy (st->xwin + st->n_x * I, x_t, I * sizeof (float));
                st->n_x++;
                return;
        }

        /* ax = Wx x + b ; ah = Wh h */
        memcpy (ax, p->b, GH * sizeof (float));
        cblas_sgemv (CblasRowMajor, CblasNoTrans, (int) GH, (int) I, 1.0f, p->wx,
                     (int) I, x_t, 1, 1.0f, ax, 1);
        cblas_sgemv (CblasRowMajor, CblasNoTrans, (int) GH, (int) H, 1.0f, p->wh,
                     (int) H, st->h, 1, 0.0f, ah, 1);
        if (nn->cfg.arch == AUGUR_ARCH_LSTM) {
                gsize j;

                for (j = 0; j < GH; j++)
                        ax[j] += ah[j];
                lstm_fwd_row ((guint) H, ax, st->c, st->c, NULL, st->h);
        } else {
                gru_fwd_row ((guint) H, ax, ah, p->bhn, st->h, NULL, st->h);
        }
}

void
augur_nn_state_output (const AugurNN *nn, const AugurNNState *st, float *out)
{
        const gsize H = nn->cfg.hidden, O = nn->cfg.n_out;
        gsize k, j;

        if (nn->cfg.arch == AUGUR_ARCH_TRANSFORMER) {
                if (st->n_x > 0)
                        augur_attn_forward (&nn->cfg, nn->params.wx, st->attn, st->xwin, 1,
                                            st->n_x, st->h);
                else
                        memset (st->h, 0, H * sizeof (float));
        }
        for (k = 0; k < O; k++) {
                const float *w = nn->params.wy + k * H;
                float acc = nn->params.by[k];

                for (j = 0; j < H; j++)
                        acc += w[j] * st->h[j];
                out[k] = acc;
        }
}

/* ------------------------------------------------------------------------
 * OpenBLAS threads
 * ------------------------------------------------------------------------ */

int
augur_nn_blas_threads_init (void)
{
        static gsize once = 0;
        static int n = 1;

        if (g_once_init_enter (&once)) {
                const char *env = g_getenv ("OPENBLAS_NUM_THREADS");

                /* OpenBLAS reads the variable itself at load; only when the
                 * caller did not set it do we choose: one thread, because
                 * training splits the batch over its own threads and the
                 * per-step matrices are too small for OpenBLAS to split. */
                if (env == NULL || *env == '\0')
                        openblas_set_num_threads (1);
                n = openblas_get_num_threads ();
                g_once_init_leave (&once, 1);
        }
        return n;
}

/* Exposed for the scalar kernels in nn-q.c's reference comparison and the
 * tests: the same sigmoid/tanh the float model uses. */
float
augur_nn_sigmoid (float x)
{
        return nn_sigmoidf (x);
}

float
augur_nn_tanh (float x)
{
        return nn_tanhf (x);
}
