/* nn-q.h — fixed-point inference for the augur LSTM/GRU (the per-tick kernel).
 *
 * What it is: an integer copy of an AugurNN that advances one time step per
 * call with no allocation, plus the float<->int boundary (inputs in, outputs
 * out).  What it is not: trainable; it is always derived from a float model
 * (augur_nnq_from_float) or loaded with it from a model file (blob.h).
 *
 * Q-FORMAT (Qn = signed integer holding value * 2^n)
 * =========
 *   quantity              storage  format  range              resolution
 *   input x_t             int16    Q10     [-32, 32) saturate  ~0.001
 *   hidden h              int16    Q14     [-1, 1]            6.1e-5
 *   LSTM cell c           int16    Q11     [-16, 16) saturate  4.9e-4
 *   gate outputs          int16    Q15     sigmoid [0,1), tanh (-1,1)
 *   gate pre-activation   int32    Q12     (no saturation; the LUT clamps)
 *   weights Wx, Wh, Wy    int16    per-row float scale s_r: w = q * s_r
 *   accumulators          int32    exact (see OVERFLOW)
 *   biases b, bhn         int32    Q12
 *   row requantisation    int32 multiplier M_r and shift S_r, round-half-up:
 *                         pre_q12 = (acc * M_r + 2^(S_r-1)) >> S_r
 *   outputs               float    y = acc * s_r * 2^-14 + by
 *
 * Nonlinearities are 513-entry Q15 tables with linear interpolation:
 * sigmoid on [-8, 8) step 1/32 (max error ~1.2e-5), tanh on [-4, 4) step 1/64
 * (max error ~2.3e-5); inputs outside clamp to the end values.  The tables
 * live in the AugurNNQ (no globals).
 *
 * OVERFLOW: the row scale is s_r = max(max|w| / 32767, sum|w| * X / (2^31-1))
 * where X is the largest |activation| the row multiplies (32768 for x in Q10,
 * 16384 for h in Q14), so  sum_k |q_k| * X < 2^31  and an int32 accumulator
 * can never overflow, whatever the inputs.  For typical rows the first term
 * wins (full 16-bit weights); a row with many large weights loses a few bits
 * instead of wrapping.  The loader re-checks this bound on every row.
 *
 * Per step cost at H = 32, I = 30: about G*H*(I+H) int16 multiply-adds with
 * SSE2 pmaddwd (AVX2 when the CPU has it; the results are bit-identical),
 * G*H table lookups and no allocation or float work except quantising x_t.
 *
 * ERROR: against the float model the error comes from input rounding
 * (2^-11 per input), weight rounding (s_r/2), the tables and h/c rounding;
 * tests/test-nn.c measures it (max abs diff and RMSE / output std).
 *
 * State: the caller owns one AugurNNQState per VM and carries it from tick
 * to tick.  The model was trained on windows starting from a zero state, so
 * to reproduce the float window forecast exactly reset the state and replay
 * the last T inputs (augur_nnq_forecast_window does that).
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "nn.h"

G_BEGIN_DECLS

/* TRANSFORMER Q-FORMAT (nn-attn.h for the equations)
 * =====================
 *   quantity              storage  format  notes
 *   input x, norm out u   int16    Q10     [-32, 32) saturate; the matvec input
 *   residual stream h     int32    Q16     saturating adds
 *   q, k, v               int32    Q12     clamped to +-256 (2^20)
 *   scores, softmax arg   int32    Q12     (q.k >> 12) * M >> S, M = 1/sqrt(dh)
 *   softmax weights       int32    Q15     e = EXP(s - max), a = e * 2^15 / sum e
 *   attention out o       int16    Q10     sum a v (int64) >> 17
 *   FFN hidden f          int16    Q10     relu, saturate
 *   norm gains g          int32    Q12
 *   biases                int32    Q16 (into h), Q12 (qkv), Q10 (FFN hidden)
 *   weights               int16    per-row scale, the same OVERFLOW bound as
 *                                  below with X = 32768 for every matrix
 * RMSNorm in integers: shift the row so max|h| has 15 bits, sum of squares
 * in int64 (+ eps in the same scale), floor sqrt (exact), one int64
 * reciprocal per row, n = h * inv >> 30 in Q14, u = n * g >> 16.
 * EXP is a 513-entry Q15 table of exp on [-16, 0), step 1/32, interpolated
 * like the sigmoid below; arguments below -16 give exp(-16).
 * The window runs whole on every output: every position through layers
 * 1..L-1, and only the last position's query, Wo and FFN in layer L.
 */

#define AUGUR_NNQ_X_FRAC   10   /* Q-format of the quantised input           */
#define AUGUR_NNQ_H_FRAC   14   /* Q-format of h                             */
#define AUGUR_NNQ_C_FRAC   11   /* Q-format of the LSTM cell state           */
#define AUGUR_NNQ_A_FRAC   15   /* Q-format of gate outputs                  */
#define AUGUR_NNQ_P_FRAC   12   /* Q-format of gate pre-activations          */
#define AUGUR_NNQ_LUT_N    513  /* table entries (512 intervals)             */

/* acc[r] = sum_k w[r*cols + k] * v[k] for r < rows (rows % 4 == 0,
 * cols % 16 == 0). */
typedef void (*AugurNNQMatvec) (const int16_t *w, guint rows, guint cols,
                                const int16_t *v, int32_t *acc);

typedef struct _AugurNNQAttn AugurNNQAttn;   /* private, nn-q.c */

typedef struct {
        AugurArch arch;
        guint n_in;              /* I                                          */
        guint hidden;            /* H                                          */
        guint n_out;             /* O                                          */
        guint gates;             /* G                                          */
        guint in_pad;            /* I rounded up to 16 (SIMD width)            */
        guint hid_pad;           /* H rounded up to 16                         */
        guint gh_pad;            /* G*H rounded up to 4 (rows per kernel pass) */
        guint out_pad;           /* O rounded up to 4                          */
        /* One int16 block, carved in this order (also the file order): */
        int16_t *wx_q;           /* (gh_pad, in_pad)  w = q * sx[r], zero pad  */
        int16_t *wh_q;           /* (gh_pad, hid_pad) w = q * sh[r], zero pad  */
        int16_t *wy_q;           /* (out_pad, hid_pad) w = q * sy[k]*2^14      */
        int16_t *sig_q15;        /* (LUT_N) sigmoid(-8 + k/32)                 */
        int16_t *tanh_q15;       /* (LUT_N) tanh(-4 + k/64)                    */
        int16_t *i16_memory;
        gsize i16_len;
        /* One int32 block, carved in this order: */
        int32_t *b_q12;          /* (G*H) gate bias                           */
        int32_t *bhn_q12;        /* (H) GRU only, else (0)                    */
        int32_t *mx;             /* (G*H) requant multiplier of Wx x, Q31     */
        int32_t *mx_shift;       /* (G*H) its shift S_r, 1..62                */
        int32_t *mh;             /* (G*H) requant multiplier of Wh h, Q31     */
        int32_t *mh_shift;       /* (G*H) its shift, 1..62                    */
        int32_t *i32_memory;
        gsize i32_len;
        /* One float block, carved (the output boundary only): */
        float *sy;               /* (O) head row scale times 2^-14             */
        float *by;               /* (O) head bias                              */
        float *f32_memory;
        gsize f32_len;
        AugurNNQMatvec matvec;   /* SSE2 or AVX2 kernel, chosen at creation    */
        /* transformer (TRANSFORMER Q-FORMAT below); 0 / NULL otherwise.  Its
         * blocks are the same three, carved differently; wy_q, sy and by
         * keep their meaning (wy_q reads z in Q10, so sy = s_r * 2^-10). */
        guint layers, heads, max_len;
        AugurNNQAttn *attn;      /* pointers into the blocks                  */
} AugurNNQ;

/* Per-VM state, carried tick to tick.  All scratch lives here too, so one
 * AugurNNQ can be shared (read-only) by many states / threads. */
typedef struct {
        guint hidden;            /* H                                          */
        guint gates;             /* G                                          */
        int16_t *h_q14;          /* (hid_pad) hidden state, zero padded        */
        int16_t *c_q11;          /* (hid_pad) LSTM cell state                  */
        int16_t *x_q10;          /* (in_pad) quantised input, zero padded      */
        int16_t *memory;         /* one block for the int16 arrays             */
        int32_t *acc_x;          /* (gh_pad) Wx x accumulators                 */
        int32_t *acc_h;          /* (gh_pad) Wh h accumulators                 */
        int32_t *acc_y;          /* (out_pad) head accumulators                */
        int32_t *memory32;       /* one block for the int32 arrays             */
        /* transformer: the window (a step appends, the output runs it) */
        int16_t *xwin_q10;       /* (max_len, in_pad) oldest first            */
        guint n_x;               /* inputs held, <= max_len                    */
        gpointer attn_scratch;   /* one block, carved by nn-q.c               */
} AugurNNQState;

/* Quantise a float model.  Cannot fail for a valid AugurNN.
 * (transfer full): free with augur_nnq_free(). */
AugurNNQ *augur_nnq_from_float (const AugurNN *nn);
void augur_nnq_free (AugurNNQ *q);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurNNQ, augur_nnq_free)

/* (transfer full) zeroed per-VM state. */
AugurNNQState *augur_nnq_state_new (const AugurNNQ *q);
void augur_nnq_state_free (AugurNNQState *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurNNQState, augur_nnq_state_free)
void augur_nnq_reset_state (AugurNNQState *st);

/* Advance st by one step with input x_t (I floats, quantised here).  No
 * allocation; const model, so one AugurNNQ serves many states. */
void augur_nnq_step (const AugurNNQ *q, AugurNNQState *st, const float *x_t);
/* Head on the current state, dequantised: out (O). */
void augur_nnq_output (const AugurNNQ *q, const AugurNNQState *st, float *out);
/* Reset st, step through x (T, I), write the head output (O). */
void augur_nnq_forecast_window (const AugurNNQ *q, AugurNNQState *st,
                                const float *x, guint T, float *out);

/* Check the invariants the kernel relies on (shapes, shifts in range, the
 * OVERFLOW bound on every row).  Used by the blob loader; FALSE + *error
 * (AUGUR_NN_ERROR_INVALID) when violated. */
gboolean augur_nnq_validate (const AugurNNQ *q, GError **error);
/* Empty model with blocks allocated for the shapes (for the blob loader). */
AugurNNQ *augur_nnq_new_empty (AugurArch arch, guint n_in, guint hidden,
                               guint n_out);
/* The same for a transformer (cfg's arch, shapes, layers, heads, max_len);
 * NULL when the config is invalid. */
AugurNNQ *augur_nnq_new_empty_cfg (const AugurNNConfig *cfg);
/* Element counts of the int16, int32 and float blocks for cfg's shapes
 * (any arch), without allocating: the loader checks a section's length
 * against them first.  FALSE when the config is invalid. */
gboolean augur_nnq_block_sizes (const AugurNNConfig *cfg, gsize *ret_n16,
                                gsize *ret_n32, gsize *ret_nf);

/* Float-vs-int comparison, step by step.  For each of the B windows in
 * x (B, T, I): reset a float and an int state, step both T times, and
 * compare the O outputs after every step (augur_nn_step vs augur_nnq_step).
 * out_std is pooled over all outputs and steps; callers whose outputs have
 * very different scales should compare per output column themselves.
 * This is the helper to run on real trace windows: tests/test-nn.c uses it
 * on synthetic ones with the bound documented there. */
typedef struct {
        gsize n;                 /* values compared (B * T * O)                */
        double max_abs_diff;     /* max |y_int - y_float| over all steps       */
        double rmse_diff;        /* sqrt(mean (y_int - y_float)^2)             */
        double out_std;          /* std of y_float over the same values        */
        double rel_rmse;         /* rmse_diff / out_std (0 if std is 0)         */
        double last_max_abs_diff;/* the same three at the last step only       */
        double last_rmse_diff;
        double last_rel_rmse;
} AugurNNQDiff;

void augur_nnq_compare (const AugurNN *nn, const AugurNNQ *q, const float *x,
                        guint B, guint T, AugurNNQDiff *ret_diff);

G_END_DECLS
