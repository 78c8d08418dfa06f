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

AugurNNQ *
augur_nnq_new_empty (AugurArch arch, guint n_in, guint hidden, guint n_out)
{
        AugurNNQ *q;
        gsize GH;
        int16_t *p16;
        int32_t *p32;

        g_return_val_if_fail ((guint) arch < AUGUR_ARCH_N, NULL);
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
        return st;
}

void
augur_nnq_state_free (AugurNNQState *st)
{
        if (!st)
                return;
        g_free (st->memory);
        g_free (st->memory32);
        g_free (st);
}

void
augur_nnq_reset_state (AugurNNQState *st)
{
        g_return_if_fail (st != NULL);
        memset (st->h_q14, 0, st->hidden * sizeof (int16_t));
        memset (st->c_q11, 0, st->hidden * sizeof (int16_t));
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
