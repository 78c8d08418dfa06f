/* nn-q.c — fixed-point LSTM/GRU inference: quantisation of a float model,
 * the per-tick step kernel, and the float-vs-int comparison helper.
 *
 * The Q-formats, the overflow argument and the error budget are in nn-q.h.
 * This file is the kernel; nn.c's augur_nn_step() is its float reference
 * (same equations, same gate order).
 *
 * STEP, per tick, LSTM (GRU differs only in the gate combination):
 *   1. x_q10 = sat16(round(x * 2^10))                        I values
 *   2. acc_x = Wx_q x_q10, acc_h = Wh_q h_q14                int32, exact
 *   3. pre_q12[r] = rq(acc_x[r], mx, S) + rq(acc_h[r], mh, S') + b_q12[r]
 *        rq(a, M, S) = (a * M + 2^(S-1)) >> S   in int64 (round half up)
 *   4. i f o = SIG(pre), g = TANH(pre)                       Q15
 *   5. c_q11 = sat16((f*c + (i*g >> 4) + 2^14) >> 15)        Q26 -> Q11
 *      h_q14 = (o * TANH(c << 1) + 2^15) >> 16               Q30 -> Q14
 * GRU: r z = SIG(prex + preh), hn = rq(acc_h_n) + bhn,
 *      n = TANH(prex_n + (r*hn + 2^14) >> 15),
 *      h_q14 = ((2^15 - z)*n + z*(h << 1) + 2^15) >> 16.
 * The head is acc_y = Wy_q h_q14 and y = acc_y * sy + by in float.
 *
 * Why two accumulators and not one over [x | h]: x and h have different
 * Q-formats and ranges, so one scale per concatenated row would cost the
 * recurrent weights 4 bits; two int32 dot products cost the same
 * multiply-adds and only one more requantisation per row.
 *
 * Why interpolated tables and not a polynomial: 2 loads, a multiply and a
 * shift per activation, exact integer arithmetic (bit-identical on every
 * host), and the error (< 1 LSB of Q15 after rounding) is far below the
 * weight-rounding error.
 *
 * Arithmetic right shifts of negative values are implementation-defined in
 * C; GCC and Clang define them as arithmetic, which this file relies on.
 */
#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__SSE2__)
#include <immintrin.h>
#define AUGUR_NNQ_X86 1
#endif

#include "nn-q.h"
#include "nn-attn.h"

#define LUT_SIG_LO   (-8 * 4096)   /* Q12: sigmoid table covers [-8, 8)   */
#define LUT_SIG_SH   7             /* 2^7 Q12 units = 1/32 per interval   */
#define LUT_TANH_LO  (-4 * 4096)   /* Q12: tanh table covers [-4, 4)      */
#define LUT_TANH_SH  6             /* 1/64 per interval                   */

/* ------------------------------------------------------------------------
 * Matrix-vector kernels: acc[r] = W[r,:] . v, four rows per pass so every
 * load of v serves four rows and the horizontal sums are one transpose.
 * ------------------------------------------------------------------------ */

G_GNUC_UNUSED static void
matvec_scalar (const int16_t *w, guint rows, guint cols, const int16_t *v,
               int32_t *acc)
{
        guint r, k;

        for (r = 0; r < rows; r++) {
                int32_t s = 0;

                for (k = 0; k < cols; k++)
                        s += (int32_t) w[(gsize) r * cols + k] * v[k];
                acc[r] = s;
        }
}

#ifdef AUGUR_NNQ_X86
static inline __m128i
hsum4_epi32 (__m128i a0, __m128i a1, __m128i a2, __m128i a3)
{
        __m128i s01 = _mm_add_epi32 (_mm_unpacklo_epi32 (a0, a1), _mm_unpackhi_epi32 (a0, a1));
        __m128i s23 = _mm_add_epi32 (_mm_unpacklo_epi32 (a2, a3), _mm_unpackhi_epi32 (a2, a3));

        return _mm_add_epi32 (_mm_unpacklo_epi64 (s01, s23), _mm_unpackhi_epi64 (s01, s23));
}

static void
matvec_sse2 (const int16_t *w, guint rows, guint cols, const int16_t *v,
             int32_t *acc)
{
        guint r, k;

        for (r = 0; r < rows; r += 4) {
                const int16_t *w0 = w + (gsize) r * cols;
                const int16_t *w1 = w0 + cols, *w2 = w1 + cols, *w3 = w2 + cols;
                __m128i a0 = _mm_setzero_si128 (), a1 = a0, a2 = a0, a3 = a0;

                for (k = 0; k < cols; k += 8) {
                        __m128i vv = _mm_loadu_si128 ((const __m128i *) (v + k));

                        a0 = _mm_add_epi32 (a0, _mm_madd_epi16 (_mm_loadu_si128 ((const __m128i *) (w0 + k)), vv));
                        a1 = _mm_add_epi32 (a1, _mm_madd_epi16 (_mm_loadu_si128 ((const __m128i *) (w1 + k)), vv));
                        a2 = _mm_add_epi32 (a2, _mm_madd_epi16 (_mm_loadu_si128 ((const __m128i *) (w2 + k)), vv));
                        a3 = _mm_add_epi32 (a3, _mm_madd_epi16 (_mm_loadu_si128 ((const __m128i *) (w3 + k)), vv));
                }
                _mm_storeu_si128 ((__m128i *) (acc + r), hsum4_epi32 (a0, a1, a2, a3));
        }
}

__attribute__ ((target ("avx2"))) static void
matvec_avx2 (const int16_t *w, guint rows, guint cols, const int16_t *v,
             int32_t *acc)
{
        guint r, k;

        for (r = 0; r < rows; r += 4) {
                const int16_t *w0 = w + (gsize) r * cols;
                const int16_t *w1 = w0 + cols, *w2 = w1 + cols, *w3 = w2 + cols;
                __m256i a0 = _mm256_setzero_si256 (), a1 = a0, a2 = a0, a3 = a0;

                for (k = 0; k < cols; k += 16) {
                        __m256i vv = _mm256_loadu_si256 ((const __m256i *) (v + k));

                        a0 = _mm256_add_epi32 (a0, _mm256_madd_epi16 (_mm256_loadu_si256 ((const __m256i *) (w0 + k)), vv));
                        a1 = _mm256_add_epi32 (a1, _mm256_madd_epi16 (_mm256_loadu_si256 ((const __m256i *) (w1 + k)), vv));
                        a2 = _mm256_add_epi32 (a2, _mm256_madd_epi16 (_mm256_loadu_si256 ((const __m256i *) (w2 + k)), vv));
                        a3 = _mm256_add_epi32 (a3, _mm256_madd_epi16 (_mm256_loadu_si256 ((const __m256i *) (w3 + k)), vv));
                }
                _mm_storeu_si128 ((__m128i *) (acc + r),
                                  hsum4_epi32 (_mm_add_epi32 (_mm256_castsi256_si128 (a0), _mm256_extracti128_si256 (a0, 1)),
                                               _mm_add_epi32 (_mm256_castsi256_si128 (a1), _mm256_extracti128_si256 (a1, 1)),
                                               _mm_add_epi32 (_mm256_castsi256_si128 (a2), _mm256_extracti128_si256 (a2, 1)),
                                               _mm_add_epi32 (_mm256_castsi256_si128 (a3), _mm256_extracti128_si256 (a3, 1))));
        }
}
#endif

static AugurNNQMatvec
pick_matvec (void)
{
#ifdef AUGUR_NNQ_X86
        __builtin_cpu_init ();
        if (__builtin_cpu_supports ("avx2"))
                return matvec_avx2;
        return matvec_sse2;
#else
        return matvec_scalar;
#endif
}

/* ------------------------------------------------------------------------
 * Fixed-point helpers
 * ------------------------------------------------------------------------ */

static inline int16_t
sat16 (int64_t v)
{
        if (v > INT16_MAX)
                return INT16_MAX;
        if (v < INT16_MIN)
                return INT16_MIN;
        return (int16_t) v;
}

static inline int32_t
sat32 (int64_t v)
{
        if (v > INT32_MAX)
                return INT32_MAX;
        if (v < INT32_MIN)
                return INT32_MIN;
        return (int32_t) v;
}

/* (acc * M + 2^(S-1)) >> S with S in 1..62 (checked at build / load). */
static inline int64_t
requant (int32_t acc, int32_t m, int32_t s)
{
        return ((int64_t) acc * m + ((int64_t) 1 << (s - 1))) >> s;
}

/* Table lookup with linear interpolation.  p is Q12, lo the table start in
 * Q12, sh log2 of the interval width in Q12 units. */
static inline int32_t
lut (const int16_t *t, int32_t p, int32_t lo, int sh)
{
        int32_t span = (AUGUR_NNQ_LUT_N - 1) << sh;
        int32_t u, i, frac;

        /* Compare before subtracting: p may be anywhere in int32 (a
         * saturated pre-activation), p - lo may not be.  Found by the fuzzer. */
        if (p < lo)
                return t[0];
        if (p >= lo + span)
                return t[AUGUR_NNQ_LUT_N - 1];
        u = p - lo;
        i = u >> sh;
        frac = u & ((1 << sh) - 1);
        return t[i] + ((((int32_t) t[i + 1] - t[i]) * frac + (1 << (sh - 1))) >> sh);
}

static inline int32_t
q_sig (const AugurNNQ *q, int32_t p_q12)
{
        return lut (q->sig_q15, p_q12, LUT_SIG_LO, LUT_SIG_SH);
}

static inline int32_t
q_tanh (const AugurNNQ *q, int32_t p_q12)
{
        return lut (q->tanh_q15, p_q12, LUT_TANH_LO, LUT_TANH_SH);
}

/* f = M * 2^-S with M in [2^30, 2^31), S clamped to 1..62.  f = 0 gives
 * M = 0, S = 1. */
static void
make_multiplier (double f, int32_t *ret_m, int32_t *ret_s)
{
        int e;
        double m;
        gint64 mi;
        int s;

        if (!(f > 0.0)) {
                *ret_m = 0;
                *ret_s = 1;
                return;
        }
        m = frexp (f, &e);                  /* f = m * 2^e, m in [0.5, 1) */
        mi = (gint64) llround (m * 2147483648.0);
        if (mi >= G_GINT64_CONSTANT (2147483648)) {
                mi /= 2;
                e++;
        }
        s = 31 - e;
        if (s > 62) {
                /* Defensive: a factor below 2^-32 contributes nothing. */
                mi = 0;
                s = 62;
        } else if (s < 1) {
                /* Defensive: factor >= 2^30 means absurd weights; saturate. */
                mi = G_MAXINT32;
                s = 1;
        }
        *ret_m = (int32_t) mi;
        *ret_s = s;
}

/* Quantise one row of k floats into q (pad zeros written by the caller's
 * g_new0), with activations bounded by x_max.  Returns the scale s_r.  See
 * OVERFLOW in nn-q.h. */
static double
quantise_row (const float *w, guint k, double x_max, int16_t *q)
{
        double maxabs = 0.0, l1 = 0.0, s;
        guint j;

        for (j = 0; j < k; j++) {
                double a = fabs ((double) w[j]);

                maxabs = MAX (maxabs, a);
                l1 += a;
        }
        if (maxabs == 0.0 || !isfinite (l1)) {
                memset (q, 0, k * sizeof (int16_t));
                return 0.0;
        }
        /* Rounding can add k/2 to sum|q|; keep that much headroom. */
        s = MAX (maxabs / 32767.0, l1 * x_max / (2147483647.0 - x_max * k));
        for (;;) {
                double l1q = 0.0;

                for (j = 0; j < k; j++) {
                        double v = nearbyint ((double) w[j] / s);

                        v = CLAMP (v, -32767.0, 32767.0);
                        q[j] = (int16_t) v;
                        l1q += fabs (v);
                }
                if (l1q * x_max <= 2147483647.0)
                        return s;
                s *= 1.001;   /* defensive: not reached given the headroom */
        }
}

/* ------------------------------------------------------------------------
 * Construction
 * ------------------------------------------------------------------------ */

/* The transformer's quantisation and checks (below, with its kernel). */
static AugurNNQ *attnq_from_float (const AugurNN *nn);
static gboolean attnq_validate (const AugurNNQ *q, GError **error);

AugurNNQ *
augur_nnq_new_empty (AugurArch arch, guint n_in, guint hidden, guint n_out)
{
        AugurNNQ *q;
        gsize GH;
        int16_t *p16;
        int32_t *p32;

        g_return_val_if_fail ((guint) arch < AUGUR_ARCH_N, NULL);
        g_return_val_if_fail (arch != AUGUR_ARCH_TRANSFORMER, NULL);   /* _new_empty_cfg */
        g_return_val_if_fail (n_in >= 1 && n_in <= AUGUR_NN_MAX_IN, NULL);
        g_return_val_if_fail (hidden >= 1 && hidden <= AUGUR_NN_MAX_HIDDEN, NULL);
        g_return_val_if_fail (n_out >= 1 && n_out <= AUGUR_NN_MAX_OUT, NULL);

        q = g_new0 (AugurNNQ, 1);
        q->arch = arch;
        q->n_in = n_in;
        q->hidden = hidden;
        q->n_out = n_out;
        q->gates = augur_arch_gates (arch);
        GH = (gsize) q->gates * hidden;
        q->in_pad = (n_in + 15) & ~15u;
        q->hid_pad = (hidden + 15) & ~15u;
        q->gh_pad = (guint) ((GH + 3) & ~(gsize) 3);
        q->out_pad = (n_out + 3) & ~3u;

        q->i16_len = (gsize) q->gh_pad * q->in_pad + (gsize) q->gh_pad * q->hid_pad +
                     (gsize) q->out_pad * q->hid_pad + 2 * AUGUR_NNQ_LUT_N;
        q->i16_memory = g_new0 (int16_t, q->i16_len);
        p16 = q->i16_memory;
        q->wx_q = p16;
        p16 += (gsize) q->gh_pad * q->in_pad;
        q->wh_q = p16;
        p16 += (gsize) q->gh_pad * q->hid_pad;
        q->wy_q = p16;
        p16 += (gsize) q->out_pad * q->hid_pad;
        q->sig_q15 = p16;
        p16 += AUGUR_NNQ_LUT_N;
        q->tanh_q15 = p16;

        q->i32_len = 5 * GH + (arch == AUGUR_ARCH_GRU ? hidden : 0);
        q->i32_memory = g_new0 (int32_t, q->i32_len);
        p32 = q->i32_memory;
        q->b_q12 = p32;
        p32 += GH;
        q->bhn_q12 = p32;
        p32 += arch == AUGUR_ARCH_GRU ? hidden : 0;
        q->mx = p32;
        p32 += GH;
        q->mx_shift = p32;
        p32 += GH;
        q->mh = p32;
        p32 += GH;
        q->mh_shift = p32;

        q->f32_len = 2 * (gsize) n_out;
        q->f32_memory = g_new0 (float, q->f32_len);
        q->sy = q->f32_memory;
        q->by = q->f32_memory + n_out;

        q->matvec = pick_matvec ();
        return q;
}

void
augur_nnq_free (AugurNNQ *q)
{
        if (!q)
                return;
        g_free (q->i16_memory);
        g_free (q->i32_memory);
        g_free (q->f32_memory);
        g_free (q->attn);
        g_free (q);
}

static int16_t
q15_of (double v)
{
        return (int16_t) CLAMP (nearbyint (v * 32768.0), -32767.0, 32767.0);
}

static int32_t
q12_bias (float b)
{
        double v = nearbyint ((double) b * 4096.0);

        if (!isfinite (v))
                return 0;
        return (int32_t) CLAMP (v, -1073741824.0, 1073741824.0);
}

AugurNNQ *
augur_nnq_from_float (const AugurNN *nn)
{
        const AugurNNParams *p;
        AugurNNQ *q;
        gsize GH, r;
        guint H, I, k;

        g_return_val_if_fail (nn != NULL, NULL);

        if (nn->cfg.arch == AUGUR_ARCH_TRANSFORMER)
                return attnq_from_float (nn);
        H = nn->cfg.hidden;
        I = nn->cfg.n_in;
        p = &nn->params;
        q = augur_nnq_new_empty (nn->cfg.arch, I, H, nn->cfg.n_out);
        GH = (gsize) q->gates * H;

        for (r = 0; r < GH; r++) {
                double sx, sh;

                sx = quantise_row (p->wx + r * I, I, 32768.0, q->wx_q + r * q->in_pad);
                sh = quantise_row (p->wh + r * H, H, 16384.0, q->wh_q + r * q->hid_pad);
                /* x part: acc * sx * 2^-10 in Q12 = acc * sx * 4;
                 * h part: acc * sh * 2^-14 in Q12 = acc * sh / 4 */
                make_multiplier (sx * 4.0, &q->mx[r], &q->mx_shift[r]);
                make_multiplier (sh / 4.0, &q->mh[r], &q->mh_shift[r]);
                q->b_q12[r] = q12_bias (p->b[r]);
        }
        if (nn->cfg.arch == AUGUR_ARCH_GRU) {
                for (k = 0; k < H; k++)
                        q->bhn_q12[k] = q12_bias (p->bhn[k]);
        }
        for (k = 0; k < nn->cfg.n_out; k++) {
                double sy = quantise_row (p->wy + (gsize) k * H, H, 16384.0,
                                          q->wy_q + (gsize) k * q->hid_pad);

                q->sy[k] = (float) (sy / 16384.0);
                q->by[k] = p->by[k];
        }
        for (k = 0; k < AUGUR_NNQ_LUT_N; k++) {
                double xs = -8.0 + k / 32.0, xt = -4.0 + k / 64.0;

                q->sig_q15[k] = q15_of (1.0 / (1.0 + exp (-xs)));
                q->tanh_q15[k] = q15_of (tanh (xt));
        }
        return q;
}

static gboolean
row_bound_ok (const int16_t *q, guint k, double x_max)
{
        double l1 = 0.0;
        guint j;

        for (j = 0; j < k; j++)
                l1 += abs ((int) q[j]);
        return l1 * x_max <= 2147483647.0;
}

gboolean
augur_nnq_validate (const AugurNNQ *q, GError **error)
{
        gsize GH, r;

        g_return_val_if_fail (q != NULL, FALSE);

        if (q->arch == AUGUR_ARCH_TRANSFORMER)
                return attnq_validate (q, error);
        GH = (gsize) q->gates * q->hidden;
        for (r = 0; r < GH; r++) {
                if (q->mx_shift[r] < 1 || q->mx_shift[r] > 62 ||
                    q->mh_shift[r] < 1 || q->mh_shift[r] > 62 ||
                    q->mx[r] < 0 || q->mh[r] < 0) {
                        g_set_error (error, AUGUR_NN_ERROR, AUGUR_NN_ERROR_INVALID,
                                     "gate row %" G_GSIZE_FORMAT ": requantisation multiplier/shift out of range", r);
                        return FALSE;
                }
        }
        for (r = 0; r < q->gh_pad; r++) {
                if (!row_bound_ok (q->wx_q + r * q->in_pad, q->in_pad, 32768.0) ||
                    !row_bound_ok (q->wh_q + r * q->hid_pad, q->hid_pad, 16384.0)) {
                        g_set_error (error, AUGUR_NN_ERROR, AUGUR_NN_ERROR_INVALID,
                                     "gate row %" G_GSIZE_FORMAT ": weights could overflow the int32 accumulator", r);
                        return FALSE;
                }
        }
        for (r = 0; r < q->out_pad; r++) {
                if (!row_bound_ok (q->wy_q + r * q->hid_pad, q->hid_pad, 16384.0)) {
                        g_set_error (error, AUGUR_NN_ERROR, AUGUR_NN_ERROR_INVALID,
                                     "head row %" G_GSIZE_FORMAT ": weights could overflow the int32 accumulator", r);
                        return FALSE;
                }
        }
        for (r = 0; r < q->n_out; r++) {
                if (!isfinite (q->sy[r]) || !isfinite (q->by[r])) {
                        g_set_error (error, AUGUR_NN_ERROR, AUGUR_NN_ERROR_INVALID,
                                     "head row %" G_GSIZE_FORMAT ": non-finite scale or bias", r);
                        return FALSE;
                }
        }
        return TRUE;
}

/* ------------------------------------------------------------------------
 * Transformer window kernel (TRANSFORMER Q-FORMAT in nn-q.h)
 * ------------------------------------------------------------------------ */

#define LUT_EXP_LO   (-16 * 4096)  /* Q12: exp table covers [-16, 0)     */
#define LUT_EXP_SH   7             /* 1/32 per interval                   */
#define ATT_QKV_MAX  (1 << 20)     /* q, k, v clamp: +-256 in Q12         */
#define ATT_EPS_Q32  42950         /* the norm's 1e-5 in Q32 (h^2 of Q16) */

typedef struct {
        int16_t *wqkv;           /* (3*dp, dp) blocks q | k | v of dp rows    */
        int16_t *wo;             /* (dp, dp)                                  */
        int16_t *w1;             /* (fp, dp)                                  */
        int16_t *w2;             /* (dp, fp)                                  */
        int32_t *g1;             /* (D) Q12                                   */
        int32_t *bqkv, *mqkv, *sqkv;   /* (3D) Q12 bias, requant to Q12       */
        int32_t *bo, *mo, *so;   /* (D) Q16 bias, requant to Q16              */
        int32_t *g2;             /* (D) Q12                                   */
        int32_t *b1, *m1, *s1;   /* (F) Q10 bias, requant to Q10              */
        int32_t *b2, *m2, *s2;   /* (D) Q16 bias, requant to Q16              */
} AttnQLayer;

struct _AugurNNQAttn {
        guint D, dp, fp, dh;     /* width, width padded to 16, 2D padded, D/nh */
        int16_t *wi;             /* (dp, in_pad)                              */
        int16_t *exp_q15;        /* (LUT_N) exp(-16 + k/32)                   */
        int32_t *bi, *mi, *si;   /* (D) Q16 bias, requant to Q16              */
        int32_t *pos;            /* (Tm, D) Q16                               */
        int32_t *gf;             /* (D) Q12                                   */
        int32_t *att_ms;         /* (2) multiplier and shift of 1/sqrt(dh)    */
        AttnQLayer layer[AUGUR_ATTN_MAX_LAYERS];
};

static gboolean
attn_sizes (const AugurNNConfig *cfg, gsize *ret_n16, gsize *ret_n32, gsize *ret_nf)
{
        gsize I = cfg->n_in, D = cfg->hidden, O = cfg->n_out, L = cfg->layers, Tm = cfg->max_len;
        gsize in_pad = (I + 15) & ~(gsize) 15, dp = (D + 15) & ~(gsize) 15;
        gsize fp = (2 * D + 15) & ~(gsize) 15, out_pad = (O + 3) & ~(gsize) 3;

        *ret_n16 = dp * in_pad + L * (3 * dp * dp + dp * dp + fp * dp + dp * fp) +
                   out_pad * dp + AUGUR_NNQ_LUT_N;
        *ret_n32 = 3 * D + Tm * D + L * 23 * D + D + 2;
        *ret_nf = 2 * O;
        return TRUE;
}

gboolean
augur_nnq_block_sizes (const AugurNNConfig *cfg, gsize *ret_n16, gsize *ret_n32, gsize *ret_nf)
{
        gsize GH, in_pad, hid_pad, gh_pad, out_pad;

        g_return_val_if_fail (cfg != NULL, FALSE);
        if (augur_nn_count_params (cfg) == 0)
                return FALSE;
        if (cfg->arch == AUGUR_ARCH_TRANSFORMER)
                return attn_sizes (cfg, ret_n16, ret_n32, ret_nf);
        GH = (gsize) augur_arch_gates (cfg->arch) * cfg->hidden;
        in_pad = (cfg->n_in + 15) & ~(gsize) 15;
        hid_pad = (cfg->hidden + 15) & ~(gsize) 15;
        gh_pad = (GH + 3) & ~(gsize) 3;
        out_pad = (cfg->n_out + 3) & ~(gsize) 3;
        *ret_n16 = gh_pad * in_pad + gh_pad * hid_pad + out_pad * hid_pad + 2 * AUGUR_NNQ_LUT_N;
        *ret_n32 = 5 * GH + (cfg->arch == AUGUR_ARCH_GRU ? cfg->hidden : 0);
        *ret_nf = 2 * (gsize) cfg->n_out;
        return TRUE;
}

AugurNNQ *
augur_nnq_new_empty_cfg (const AugurNNConfig *cfg)
{
        AugurNNQ *q;
        AugurNNQAttn *a;
        gsize n16, n32, nf, D, dp, fp, in_pad, Tm;
        int16_t *p16;
        int32_t *p32;
        guint l;

        g_return_val_if_fail (cfg != NULL, NULL);
        if (cfg->arch != AUGUR_ARCH_TRANSFORMER)
                return augur_nnq_new_empty (cfg->arch, cfg->n_in, cfg->hidden, cfg->n_out);
        if (!augur_nnq_block_sizes (cfg, &n16, &n32, &nf))
                return NULL;

        q = g_new0 (AugurNNQ, 1);
        q->arch = cfg->arch;
        q->n_in = cfg->n_in;
        q->hidden = cfg->hidden;
        q->n_out = cfg->n_out;
        q->gates = 0;
        q->layers = cfg->layers;
        q->heads = cfg->heads;
        q->max_len = cfg->max_len;
        q->in_pad = (cfg->n_in + 15) & ~15u;
        q->hid_pad = (cfg->hidden + 15) & ~15u;
        q->gh_pad = 0;
        q->out_pad = (cfg->n_out + 3) & ~3u;
        q->attn = a = g_new0 (AugurNNQAttn, 1);
        D = a->D = cfg->hidden;
        dp = a->dp = q->hid_pad;
        fp = a->fp = (2 * cfg->hidden + 15) & ~15u;
        a->dh = cfg->hidden / cfg->heads;
        in_pad = q->in_pad;
        Tm = cfg->max_len;

        q->i16_len = n16;
        q->i16_memory = p16 = g_new0 (int16_t, n16);
        q->i32_len = n32;
        q->i32_memory = p32 = g_new0 (int32_t, n32);
        q->f32_len = nf;
        q->f32_memory = g_new0 (float, nf);
        q->sy = q->f32_memory;
        q->by = q->f32_memory + cfg->n_out;
#define TAKE16(ptr, n) do { (ptr) = p16; p16 += (n); } while (0)
#define TAKE32(ptr, n) do { (ptr) = p32; p32 += (n); } while (0)
        TAKE16 (a->wi, dp * in_pad);
        for (l = 0; l < cfg->layers; l++) {
                AttnQLayer *ql = &a->layer[l];

                TAKE16 (ql->wqkv, 3 * dp * dp);
                TAKE16 (ql->wo, dp * dp);
                TAKE16 (ql->w1, fp * dp);
                TAKE16 (ql->w2, dp * fp);
        }
        TAKE16 (q->wy_q, (gsize) q->out_pad * dp);
        TAKE16 (a->exp_q15, AUGUR_NNQ_LUT_N);
        TAKE32 (a->bi, D);
        TAKE32 (a->mi, D);
        TAKE32 (a->si, D);
        TAKE32 (a->pos, Tm * D);
        for (l = 0; l < cfg->layers; l++) {
                AttnQLayer *ql = &a->layer[l];

                TAKE32 (ql->g1, D);
                TAKE32 (ql->bqkv, 3 * D);
                TAKE32 (ql->mqkv, 3 * D);
                TAKE32 (ql->sqkv, 3 * D);
                TAKE32 (ql->bo, D);
                TAKE32 (ql->mo, D);
                TAKE32 (ql->so, D);
                TAKE32 (ql->g2, D);
                TAKE32 (ql->b1, 2 * D);
                TAKE32 (ql->m1, 2 * D);
                TAKE32 (ql->s1, 2 * D);
                TAKE32 (ql->b2, D);
                TAKE32 (ql->m2, D);
                TAKE32 (ql->s2, D);
        }
        TAKE32 (a->gf, D);
        TAKE32 (a->att_ms, 2);
#undef TAKE16
#undef TAKE32
        g_assert ((gsize) (p16 - q->i16_memory) == n16);
        g_assert ((gsize) (p32 - q->i32_memory) == n32);
        q->matvec = pick_matvec ();
        return q;
}

static int32_t
q_fixed (float v, int frac)
{
        double x = nearbyint ((double) v * (double) (1 << frac));

        if (!isfinite (x))
                return 0;
        return (int32_t) CLAMP (x, -1073741824.0, 1073741824.0);
}

/* Quantise `rows` rows of a (rows, cols) float matrix into a (., ld) int16
 * block, with requant multipliers for factor s_r * f (NULL m: none). */
static void
attn_quantise_matrix (const float *w, guint rows, guint cols, int16_t *wq, guint ld,
                      double f, int32_t *m, int32_t *s, double *ret_scales)
{
        guint r;

        for (r = 0; r < rows; r++) {
                double sc = quantise_row (w + (gsize) r * cols, cols, 32768.0, wq + (gsize) r * ld);

                if (m)
                        make_multiplier (sc * f, &m[r], &s[r]);
                if (ret_scales)
                        ret_scales[r] = sc;
        }
}

static AugurNNQ *
attnq_from_float (const AugurNN *nn)
{
        const AugurNNConfig *cfg = &nn->cfg;
        const guint I = cfg->n_in, D = cfg->hidden, F = 2 * D, O = cfg->n_out;
        const float *body = nn->params.wx;
        AugurNNQ *q = augur_nnq_new_empty_cfg (cfg);
        AugurNNQAttn *a = q->attn;
        const float *t[4 + AUGUR_ATTN_LAYER_TENSORS * AUGUR_ATTN_MAX_LAYERS];
        guint k, l, c, nt = augur_attn_n_tensors (cfg);
        gsize i, off;

        for (k = 0; k < nt; k++) {
                augur_attn_tensor (cfg, k, NULL, &off, NULL);
                t[k] = body + off;
        }
        /* wi bi pos */
        attn_quantise_matrix (t[0], D, I, a->wi, q->in_pad, 64.0, a->mi, a->si, NULL);
        for (k = 0; k < D; k++)
                a->bi[k] = q_fixed (t[1][k], 16);
        for (i = 0; i < (gsize) cfg->max_len * D; i++)
                a->pos[i] = q_fixed (t[2][i], 16);
        for (l = 0; l < cfg->layers; l++) {
                const float *const *lt = t + 3 + l * AUGUR_ATTN_LAYER_TENSORS;
                AttnQLayer *ql = &a->layer[l];

                /* g1 wqkv bqkv wo bo g2 w1 b1 w2 b2 */
                for (k = 0; k < D; k++) {
                        ql->g1[k] = q_fixed (lt[0][k], 12);
                        ql->g2[k] = q_fixed (lt[5][k], 12);
                        ql->bo[k] = q_fixed (lt[4][k], 16);
                        ql->b2[k] = q_fixed (lt[9][k], 16);
                }
                for (c = 0; c < 3; c++)
                        attn_quantise_matrix (lt[1] + (gsize) c * D * D, D, D,
                                              ql->wqkv + (gsize) c * a->dp * a->dp, a->dp, 4.0,
                                              ql->mqkv + c * D, ql->sqkv + c * D, NULL);
                for (k = 0; k < 3 * D; k++)
                        ql->bqkv[k] = q_fixed (lt[2][k], 12);
                attn_quantise_matrix (lt[3], D, D, ql->wo, a->dp, 64.0, ql->mo, ql->so, NULL);
                attn_quantise_matrix (lt[6], F, D, ql->w1, a->dp, 1.0, ql->m1, ql->s1, NULL);
                for (k = 0; k < F; k++)
                        ql->b1[k] = q_fixed (lt[7][k], 10);
                attn_quantise_matrix (lt[8], D, F, ql->w2, a->fp, 64.0, ql->m2, ql->s2, NULL);
        }
        for (k = 0; k < D; k++)
                a->gf[k] = q_fixed (t[nt - 1][k], 12);
        make_multiplier (1.0 / sqrt ((double) a->dh), &a->att_ms[0], &a->att_ms[1]);
        for (k = 0; k < O; k++) {
                double sc = quantise_row (nn->params.wy + (gsize) k * D, D, 32768.0,
                                          q->wy_q + (gsize) k * a->dp);

                q->sy[k] = (float) (sc / 1024.0);
                q->by[k] = nn->params.by[k];
        }
        for (k = 0; k < AUGUR_NNQ_LUT_N; k++)
                a->exp_q15[k] = q15_of (exp (-16.0 + k / 32.0));
        return q;
}

static gboolean
shifts_ok (const int32_t *m, const int32_t *s, gsize n)
{
        gsize r;

        for (r = 0; r < n; r++) {
                if (m[r] < 0 || s[r] < 1 || s[r] > 62)
                        return FALSE;
        }
        return TRUE;
}

static gboolean
rows_ok (const int16_t *w, gsize rows, guint ld)
{
        gsize r;

        for (r = 0; r < rows; r++) {
                if (!row_bound_ok (w + r * ld, ld, 32768.0))
                        return FALSE;
        }
        return TRUE;
}

static gboolean
attnq_validate (const AugurNNQ *q, GError **error)
{
        const AugurNNQAttn *a = q->attn;
        const gsize D = a->D;
        guint l, k;

#define BAD(...) \
        do { \
                g_set_error (error, AUGUR_NN_ERROR, AUGUR_NN_ERROR_INVALID, __VA_ARGS__); \
                return FALSE; \
        } while (0)
        if (!shifts_ok (a->mi, a->si, D) || !shifts_ok (a->att_ms, a->att_ms + 1, 1))
                BAD ("input or attention requantisation multiplier/shift out of range");
        if (!rows_ok (a->wi, a->dp, q->in_pad))
                BAD ("input projection: weights could overflow the int32 accumulator");
        for (l = 0; l < q->layers; l++) {
                const AttnQLayer *ql = &a->layer[l];

                if (!shifts_ok (ql->mqkv, ql->sqkv, 3 * D) || !shifts_ok (ql->mo, ql->so, D) ||
                    !shifts_ok (ql->m1, ql->s1, 2 * D) || !shifts_ok (ql->m2, ql->s2, D))
                        BAD ("layer %u: requantisation multiplier/shift out of range", l);
                if (!rows_ok (ql->wqkv, 3 * a->dp, a->dp) || !rows_ok (ql->wo, a->dp, a->dp) ||
                    !rows_ok (ql->w1, a->fp, a->dp) || !rows_ok (ql->w2, a->dp, a->fp))
                        BAD ("layer %u: weights could overflow the int32 accumulator", l);
        }
        if (!rows_ok (q->wy_q, q->out_pad, a->dp))
                BAD ("head: weights could overflow the int32 accumulator");
        for (k = 0; k < AUGUR_NNQ_LUT_N; k++) {
                if (a->exp_q15[k] < 0)
                        BAD ("exp table entry %u is negative", k);
        }
        if (a->exp_q15[AUGUR_NNQ_LUT_N - 1] <= 0)
                BAD ("exp table: exp(0) must be positive");
        for (k = 0; k < q->n_out; k++) {
                if (!isfinite (q->sy[k]) || !isfinite (q->by[k]))
                        BAD ("head row %u: non-finite scale or bias", k);
        }
#undef BAD
        return TRUE;
}

/* Scratch of one window run, carved from st->attn_scratch. */
typedef struct {
        int32_t *h;              /* (Tm, dp) residual stream, Q16             */
        int32_t *qkv;            /* (Tm, 3*dp) Q12                            */
        int32_t *acc;            /* (max(3dp, fp, out_pad))                   */
        int32_t *e;              /* (Tm) scores, then softmax weights         */
        int16_t *u;              /* (Tm, dp) norm output, Q10                 */
        int16_t *o;              /* (dp) attention output, Q10                */
        int16_t *u2;             /* (dp)                                      */
        int16_t *f;              /* (fp)                                      */
        int16_t *z;              /* (dp)                                      */
} AttnScratch;

static gsize
attn_scratch_layout (const AugurNNQ *q, AttnScratch *s, void *mem)
{
        const AugurNNQAttn *a = q->attn;
        const gsize Tm = q->max_len, dp = a->dp, fp = a->fp;
        gsize nacc = MAX (MAX (3 * dp, fp), (gsize) q->out_pad);
        gsize n32 = Tm * dp + Tm * 3 * dp + nacc + Tm;
        gsize n16 = Tm * dp + dp + dp + fp + dp;

        if (s) {
                int32_t *p32 = mem;
                int16_t *p16 = (int16_t *) (p32 + n32);

                s->h = p32;
                s->qkv = s->h + Tm * dp;
                s->acc = s->qkv + Tm * 3 * dp;
                s->e = s->acc + nacc;
                s->u = p16;
                s->o = s->u + Tm * dp;
                s->u2 = s->o + dp;
                s->f = s->u2 + dp;
                s->z = s->f + fp;
        }
        return n32 * sizeof (int32_t) + n16 * sizeof (int16_t);
}

static uint64_t
isqrt64 (uint64_t v)
{
        uint64_t r = (uint64_t) sqrt ((double) v);

        while (r > 0 && r * r > v)
                r--;
        while ((r + 1) * (r + 1) <= v)
                r++;
        return r;
}

/* u (Q10, D values; the pad is left alone) = rmsnorm(h (Q16)) * g (Q12). */
static void
rmsnorm_q (const int32_t *h, guint D, const int32_t *g, int16_t *u)
{
        int64_t maxabs = 0, ss = 0, eps, msq, inv;
        uint64_t r8;
        int sh;
        guint k;

        for (k = 0; k < D; k++)
                maxabs = MAX (maxabs, h[k] < 0 ? -(int64_t) h[k] : (int64_t) h[k]);
        if (maxabs == 0) {
                memset (u, 0, D * sizeof (int16_t));
                return;
        }
        /* bring max|h| to 15 bits: sh in -14..17 */
        sh = (64 - __builtin_clzll ((unsigned long long) maxabs)) - 15;
        for (k = 0; k < D; k++) {
                int64_t v = sh > 0 ? (((int64_t) h[k] + ((int64_t) 1 << (sh - 1))) >> sh)
                                   : ((int64_t) h[k] * ((int64_t) 1 << -sh));

                ss += v * v;
        }
        /* eps in the same scale: 1e-5 * 2^32 (Q16 squared) * 2^(-2 sh) */
        if (sh >= 0)
                eps = 2 * sh >= 63 ? 0 : (int64_t) ATT_EPS_Q32 >> (2 * sh);
        else
                eps = (int64_t) ATT_EPS_Q32 << (-2 * sh);
        msq = ss / D + eps;
        r8 = isqrt64 ((uint64_t) msq << 16);          /* rms * 2^8, >= 2^16 here */
        if (r8 == 0)
                r8 = 1;
        inv = (int64_t) (((uint64_t) 1 << 52) / r8);
        for (k = 0; k < D; k++) {
                int64_t v = sh > 0 ? (((int64_t) h[k] + ((int64_t) 1 << (sh - 1))) >> sh)
                                   : ((int64_t) h[k] * ((int64_t) 1 << -sh));
                int64_t n_q14 = (v * inv + ((int64_t) 1 << 29)) >> 30;

                u[k] = sat16 ((n_q14 * g[k] + (1 << 15)) >> 16);
        }
}

static void
attnq_output (const AugurNNQ *q, const AugurNNQState *st, float *out)
{
        const AugurNNQAttn *a = q->attn;
        const guint D = a->D, dp = a->dp, fp = a->fp, dh = a->dh, nh = q->heads;
        const guint n = st->n_x, L = q->layers, p0 = q->max_len - n;
        AttnScratch s;
        guint t, r, l, hd, j, k, c;

        attn_scratch_layout (q, &s, st->attn_scratch);
        if (n == 0) {
                memset (s.z, 0, dp * sizeof (int16_t));
                goto head;
        }
        for (t = 0; t < n; t++) {
                int32_t *ht = s.h + (gsize) t * dp;

                q->matvec (a->wi, dp, q->in_pad, st->xwin_q10 + (gsize) t * q->in_pad, s.acc);
                for (r = 0; r < D; r++)
                        ht[r] = sat32 (requant (s.acc[r], a->mi[r], a->si[r]) + a->bi[r] +
                                       a->pos[(gsize) (p0 + t) * D + r]);
        }
        for (l = 0; l < L; l++) {
                const AttnQLayer *ql = &a->layer[l];
                guint t0 = l + 1 == L ? n - 1 : 0;

                for (t = 0; t < n; t++) {
                        int16_t *ut = s.u + (gsize) t * dp;
                        int32_t *qt = s.qkv + (gsize) t * 3 * dp;

                        rmsnorm_q (s.h + (gsize) t * dp, D, ql->g1, ut);
                        q->matvec (ql->wqkv, 3 * dp, dp, ut, s.acc);
                        for (c = 0; c < 3; c++) {
                                for (r = 0; r < D; r++) {
                                        guint i = c * D + r;
                                        int64_t v = requant (s.acc[c * dp + r], ql->mqkv[i], ql->sqkv[i]) +
                                                    ql->bqkv[i];

                                        qt[c * dp + r] = (int32_t) CLAMP (v, -ATT_QKV_MAX, ATT_QKV_MAX);
                                }
                        }
                }
                for (t = t0; t < n; t++) {
                        int32_t *ht = s.h + (gsize) t * dp;
                        const int32_t *qt = s.qkv + (gsize) t * 3 * dp;

                        for (hd = 0; hd < nh; hd++) {
                                int32_t mx = INT32_MIN;
                                int64_t sum = 0;

                                for (j = 0; j <= t; j++) {
                                        const int32_t *kj = s.qkv + (gsize) j * 3 * dp + dp + hd * dh;
                                        int64_t dot = 0;

                                        for (k = 0; k < dh; k++)
                                                dot += (int64_t) qt[hd * dh + k] * kj[k];
                                        s.e[j] = sat32 (requant (sat32 ((dot + (1 << 11)) >> 12),
                                                                 a->att_ms[0], a->att_ms[1]));
                                        mx = MAX (mx, s.e[j]);
                                }
                                for (j = 0; j <= t; j++) {
                                        int64_t d = (int64_t) s.e[j] - mx;

                                        s.e[j] = lut (a->exp_q15, (int32_t) MAX (d, (int64_t) INT32_MIN / 2),
                                                      LUT_EXP_LO, LUT_EXP_SH);
                                        sum += s.e[j];
                                }
                                if (sum <= 0)
                                        sum = 1;   /* defensive: validated tables give >= exp(0) */
                                for (j = 0; j <= t; j++)
                                        s.e[j] = (int32_t) ((((int64_t) s.e[j] << 15) + sum / 2) / sum);
                                for (k = 0; k < dh; k++) {
                                        int64_t acc = 0;

                                        for (j = 0; j <= t; j++)
                                                acc += (int64_t) s.e[j] * s.qkv[(gsize) j * 3 * dp + 2 * dp + hd * dh + k];
                                        s.o[hd * dh + k] = sat16 ((acc + (1 << 16)) >> 17);
                                }
                        }
                        q->matvec (ql->wo, dp, dp, s.o, s.acc);
                        for (r = 0; r < D; r++)
                                ht[r] = sat32 ((int64_t) ht[r] + requant (s.acc[r], ql->mo[r], ql->so[r]) +
                                               ql->bo[r]);
                        rmsnorm_q (ht, D, ql->g2, s.u2);
                        q->matvec (ql->w1, fp, dp, s.u2, s.acc);
                        for (r = 0; r < 2 * D; r++) {
                                int64_t v = requant (s.acc[r], ql->m1[r], ql->s1[r]) + ql->b1[r];

                                s.f[r] = v > 0 ? sat16 (v) : 0;
                        }
                        q->matvec (ql->w2, dp, fp, s.f, s.acc);
                        for (r = 0; r < D; r++)
                                ht[r] = sat32 ((int64_t) ht[r] + requant (s.acc[r], ql->m2[r], ql->s2[r]) +
                                               ql->b2[r]);
                }
        }
        rmsnorm_q (s.h + (gsize) (n - 1) * dp, D, a->gf, s.z);
head:
        q->matvec (q->wy_q, q->out_pad, dp, s.z, st->acc_y);
        for (k = 0; k < q->n_out; k++)
                out[k] = (float) st->acc_y[k] * q->sy[k] + q->by[k];
}

/* ------------------------------------------------------------------------
 * State
 * ------------------------------------------------------------------------ */

AugurNNQState *
augur_nnq_state_new (const AugurNNQ *q)
{
        AugurNNQState *st;

        g_return_val_if_fail (q != NULL, NULL);

        st = g_new0 (AugurNNQState, 1);
        st->hidden = q->hidden;
        st->gates = q->gates;
        st->memory = g_new0 (int16_t, 2 * (gsize) q->hid_pad + q->in_pad);
        st->h_q14 = st->memory;
        st->c_q11 = st->h_q14 + q->hid_pad;
        st->x_q10 = st->c_q11 + q->hid_pad;
        st->memory32 = g_new0 (int32_t, 2 * (gsize) q->gh_pad + q->out_pad);
        st->acc_x = st->memory32;
        st->acc_h = st->acc_x + q->gh_pad;
        st->acc_y = st->acc_h + q->gh_pad;
        if (q->arch == AUGUR_ARCH_TRANSFORMER) {
                st->xwin_q10 = g_new0 (int16_t, (gsize) q->max_len * q->in_pad);
                st->attn_scratch = g_malloc0 (attn_scratch_layout (q, NULL, NULL));
        }
        return st;
}

void
augur_nnq_state_free (AugurNNQState *st)
{
        if (!st)
                return;
        g_free (st->memory);
        g_free (st->memory32);
        g_free (st->xwin_q10);
        g_free (st->attn_scratch);
        g_free (st);
}

void
augur_nnq_reset_state (AugurNNQState *st)
{
        g_return_if_fail (st != NULL);
        memset (st->h_q14, 0, st->hidden * sizeof (int16_t));
        memset (st->c_q11, 0, st->hidden * sizeof (int16_t));
        st->n_x = 0;
}

/* ------------------------------------------------------------------------
 * Step
 * ------------------------------------------------------------------------ */

void
augur_nnq_step (const AugurNNQ *q, AugurNNQState *st, const float *x_t)
{
        const guint H = q->hidden;
        int32_t *ax = st->acc_x, *ah = st->acc_h;
        guint k;

        g_return_if_fail (st->hidden == H && st->gates == q->gates);

        if (q->arch == AUGUR_ARCH_TRANSFORMER) {
                int16_t *slot;

                if (st->n_x == q->max_len) {
                        memmove (st->xwin_q10, st->xwin_q10 + q->in_pad,
                                 (gsize) (st->n_x - 1) * q->in_pad * sizeof (int16_t));
                        st->n_x--;
                }
                slot = st->xwin_q10 + (gsize) st->n_x * q->in_pad;
                for (k = 0; k < q->n_in; k++) {
                        float v = x_t[k] * (float) (1 << AUGUR_NNQ_X_FRAC);

                        if (!(v == v))
                                v = 0.0f;
                        v = CLAMP (v, -32768.0f, 32767.0f);
                        slot[k] = (int16_t) lrintf (v);
                }
                st->n_x++;
                return;
        }
        for (k = 0; k < q->n_in; k++) {
                float v = x_t[k] * (float) (1 << AUGUR_NNQ_X_FRAC);

                if (!(v == v))
                        v = 0.0f;   /* defensive: NaN input counts as 0 (the mean) */
                v = CLAMP (v, -32768.0f, 32767.0f);
                st->x_q10[k] = (int16_t) lrintf (v);
        }
        q->matvec (q->wx_q, q->gh_pad, q->in_pad, st->x_q10, ax);
        q->matvec (q->wh_q, q->gh_pad, q->hid_pad, st->h_q14, ah);

        if (q->arch == AUGUR_ARCH_LSTM) {
                for (k = 0; k < H; k++) {
                        int32_t pre[4], gi, gf, gg, go, tc;
                        guint g;
                        int64_t c;

                        for (g = 0; g < 4; g++) {
                                guint r = g * H + k;

                                pre[g] = sat32 (requant (ax[r], q->mx[r], q->mx_shift[r]) +
                                                requant (ah[r], q->mh[r], q->mh_shift[r]) +
                                                q->b_q12[r]);
                        }
                        gi = q_sig (q, pre[0]);
                        gf = q_sig (q, pre[1]);
                        gg = q_tanh (q, pre[2]);
                        go = q_sig (q, pre[3]);
                        c = ((int64_t) gf * st->c_q11[k] + (((int64_t) gi * gg) >> 4) +
                             (1 << 14)) >> 15;
                        st->c_q11[k] = sat16 (c);
                        tc = q_tanh (q, (int32_t) st->c_q11[k] * 2);
                        st->h_q14[k] = (int16_t) (((int64_t) go * tc + (1 << 15)) >> 16);
                }
        } else {
                /* All of h_{t-1} is read by the matvec above, so h can be
                 * overwritten in place. */
                for (k = 0; k < H; k++) {
                        guint rr = k, rz = H + k, rn = 2 * H + k;
                        int32_t r, z, n, pr, pz, pn, hn;

                        pr = sat32 (requant (ax[rr], q->mx[rr], q->mx_shift[rr]) +
                                    requant (ah[rr], q->mh[rr], q->mh_shift[rr]) + q->b_q12[rr]);
                        pz = sat32 (requant (ax[rz], q->mx[rz], q->mx_shift[rz]) +
                                    requant (ah[rz], q->mh[rz], q->mh_shift[rz]) + q->b_q12[rz]);
                        r = q_sig (q, pr);
                        z = q_sig (q, pz);
                        hn = sat32 (requant (ah[rn], q->mh[rn], q->mh_shift[rn]) + q->bhn_q12[k]);
                        pn = sat32 (requant (ax[rn], q->mx[rn], q->mx_shift[rn]) + q->b_q12[rn] +
                                    (((int64_t) r * hn + (1 << 14)) >> 15));
                        n = q_tanh (q, pn);
                        st->h_q14[k] = sat16 (((int64_t) (32768 - z) * n +
                                               (int64_t) z * ((int32_t) st->h_q14[k] * 2) +
                                               (1 << 15)) >> 16);
                }
        }
}

void
augur_nnq_output (const AugurNNQ *q, const AugurNNQState *st, float *out)
{
        guint k;

        if (q->arch == AUGUR_ARCH_TRANSFORMER) {
                attnq_output (q, st, out);
                return;
        }
        q->matvec (q->wy_q, q->out_pad, q->hid_pad, st->h_q14, st->acc_y);
        for (k = 0; k < q->n_out; k++)
                out[k] = (float) st->acc_y[k] * q->sy[k] + q->by[k];
}

void
augur_nnq_forecast_window (const AugurNNQ *q, AugurNNQState *st,
                           const float *x, guint T, float *out)
{
        guint t;

        augur_nnq_reset_state (st);
        for (t = 0; t < T; t++)
                augur_nnq_step (q, st, x + (gsize) t * q->n_in);
        augur_nnq_output (q, st, out);
}

/* ------------------------------------------------------------------------
 * Float-vs-int comparison
 * ------------------------------------------------------------------------ */

void
augur_nnq_compare (const AugurNN *nn, const AugurNNQ *q, const float *x,
                   guint B, guint T, AugurNNQDiff *ret_diff)
{
        g_autoptr (AugurNNState) fs = NULL;
        g_autoptr (AugurNNQState) qs = NULL;
        g_autofree float *yf = NULL;
        g_autofree float *yq = NULL;
        const guint I = nn->cfg.n_in, O = nn->cfg.n_out;
        double s = 0, s2 = 0, d2 = 0, dmax = 0, ls = 0, ls2 = 0, ld2 = 0, ldmax = 0;
        gsize n = 0, ln = 0;
        guint b, t, k;
        AugurNNQDiff d = { 0 };

        g_return_if_fail (nn != NULL && q != NULL && ret_diff != NULL);
        g_return_if_fail (nn->cfg.n_in == q->n_in && nn->cfg.hidden == q->hidden &&
                          nn->cfg.n_out == q->n_out && nn->cfg.arch == q->arch);

        fs = augur_nn_state_new (nn);
        qs = augur_nnq_state_new (q);
        yf = g_new (float, O);
        yq = g_new (float, O);
        for (b = 0; b < B; b++) {
                augur_nn_state_reset (fs);
                augur_nnq_reset_state (qs);
                for (t = 0; t < T; t++) {
                        const float *xt = x + ((gsize) b * T + t) * I;

                        augur_nn_step (nn, fs, xt);
                        augur_nnq_step (q, qs, xt);
                        augur_nn_state_output (nn, fs, yf);
                        augur_nnq_output (q, qs, yq);
                        for (k = 0; k < O; k++) {
                                double e = (double) yq[k] - yf[k];

                                s += yf[k];
                                s2 += (double) yf[k] * yf[k];
                                d2 += e * e;
                                dmax = MAX (dmax, fabs (e));
                                n++;
                                if (t + 1 == T) {
                                        ls += yf[k];
                                        ls2 += (double) yf[k] * yf[k];
                                        ld2 += e * e;
                                        ldmax = MAX (ldmax, fabs (e));
                                        ln++;
                                }
                        }
                }
        }
        d.n = n;
        if (n > 0) {
                double mean = s / n, var = MAX (0.0, s2 / n - mean * mean);

                d.max_abs_diff = dmax;
                d.rmse_diff = sqrt (d2 / n);
                d.out_std = sqrt (var);
                d.rel_rmse = d.out_std > 0 ? d.rmse_diff / d.out_std : 0.0;
        }
        if (ln > 0) {
                double mean = ls / ln, var = MAX (0.0, ls2 / ln - mean * mean);
                double sd = sqrt (var);

                d.last_max_abs_diff = ldmax;
                d.last_rmse_diff = sqrt (ld2 / ln);
                d.last_rel_rmse = sd > 0 ? d.last_rmse_diff / sd : 0.0;
        }
        *ret_diff = d;
}
