/* nn.h — the float recurrent forecaster of augur: one LSTM or GRU layer and a
 * linear head, trained with truncated BPTT, Adam, clipping, L1/L2, dropout.
 * A third arch, AUGUR_ARCH_TRANSFORMER, replaces the recurrent layer by a
 * small causal attention encoder (nn-attn.h) behind the same entry points:
 * the head, the loss, the penalty, dropout, Adam, the threads and the model
 * file are shared; only the body's forward/backward dispatch to nn-attn.c.
 * Its penalty covers the whole body block (tensor wx), gains and position
 * rows included.
 *
 * What it is: the reference (master) model.  Training, validation loss, batch
 * prediction and a stateful single-step forward all live in nn.c, in float.
 * What it is not: the daemon's per-tick kernel (that is the fixed-point copy
 * in nn-q.h), a feature builder (model/features.c) or a file format
 * (model/blob.h).  It does no I/O and does not log above debug.
 *
 * ALGORITHM
 * =========
 * Shape legend (used in every shape comment below):
 *   B = minibatch size      T = window length (time steps)
 *   I = inputs per step     H = hidden size      O = outputs
 *   G = gates: 4 for LSTM (order i, f, g, o), 3 for GRU (order r, z, n)
 *
 * Input x is (B, T, I) row-major: window b, step t, feature i is
 * x[(b*T + t)*I + i].  Every window starts from h0 = c0 = 0, runs T steps and
 * the head reads the last hidden state only:
 *
 *   LSTM (PyTorch convention, one bias):
 *     a_t = Wx x_t + b + Wh h_{t-1}                       (G*H)
 *     i = sig(a_i)  f = sig(a_f)  g = tanh(a_g)  o = sig(a_o)
 *     c_t = f*c_{t-1} + i*g        h_t = o*tanh(c_t)
 *   GRU (PyTorch / cuDNN convention: r gates the recurrent term *after* Wh,
 *   so Wh h can be done for all gates in one matmul):
 *     ax = Wx x_t + b,  ah = Wh h_{t-1}                   (G*H) each
 *     r = sig(ax_r + ah_r)   z = sig(ax_z + ah_z)
 *     n = tanh(ax_n + r*(ah_n + bhn))
 *     h_t = (1-z)*n + z*h_{t-1}
 *   head:   y = Wy dropout(h_T) + by                      (O)
 *
 * Loss, per output column k (tau[k] fixed at augur_nn_new()):
 *   tau[k] <  0      squared error   (y - t)^2
 *   0 < tau[k] < 1   pinball         max(tau*u, (tau-1)*u),  u = t - y
 * averaged over the (b, k) entries whose mask is non-zero and whose target is
 * finite (a NAN target is always treated as missing).  The returned loss is
 * the data loss only; the penalty  l1*sum|W| + 0.5*l2*sum W^2  over the weight
 * matrices Wx, Wh, Wy (not the biases) is reported by augur_nn_reg_loss() and
 * its gradient is added by augur_nn_backward().
 *
 * Training step (augur_nn_train_batch = forward, backward, update):
 *   1. forward: X (B*T, I) * Wx^T in one sgemm; per step one sgemm
 *      H_{t-1} (B, H) * Wh^T; gate nonlinearities; head sgemm.
 *   2. backward (truncated BPTT over the window, exact within it): per step
 *      one sgemm dA_t (B, G*H) * Wh for dh_{t-1}; dWx, dWh and db are one
 *      sgemm / column sum each over all B*T rows after the time loop.
 *   3. update: global-norm clip of the full gradient (clip <= 0: off), then
 *      Adam with bias correction.
 * Cost per window is about 3*T*G*H*(I+H) multiply-adds; the activations kept
 * for the backward pass are about T*(3G+5)*H floats per window.
 *
 * Determinism: weights and dropout masks come from a private xoshiro256**
 * generator seeded by the caller.  With the same seed, the same batches in
 * the same order and the same OpenBLAS thread count, two runs produce
 * bit-identical weights.
 *
 * Threads: an AugurNN is not thread-safe (forward caches its activations in
 * the struct).  Training splits each minibatch of >= 64 windows over
 * cfg.threads (default 2) threads of its own.  Call
 * augur_nn_blas_threads_init() once at startup: it honours
 * OPENBLAS_NUM_THREADS when the caller set it, and otherwise makes OpenBLAS
 * single-threaded (the per-step matrices are too small for OpenBLAS to
 * split profitably; the batch split is ~2x, OpenBLAS threading was ~1x).
 *
 * Stateful stepping: augur_nn_step() advances a caller-owned AugurNNState by
 * one input vector, so the float and fixed-point paths (nn-q.h) can be
 * compared step by step.  The model was trained on windows that start from a
 * zero state: to reproduce augur_nn_predict() exactly, reset the state and
 * replay the last T inputs (augur_nn_state_reset + T * augur_nn_step).
 * Carrying the state forever is possible but outside what training saw.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
        AUGUR_ARCH_LSTM = 0,
        AUGUR_ARCH_GRU = 1,
        AUGUR_ARCH_TRANSFORMER = 2,   /* causal attention encoder, nn-attn.h */
        AUGUR_ARCH_N,
} AugurArch;

/* "lstm" / "gru" / "transformer"; NULL for an unknown value. */
const char *augur_arch_name (AugurArch arch);
/* Inverse of augur_arch_name(); returns -1 when the name is unknown. */
int augur_arch_from_name (const char *name);
/* Number of gates G: 4 (LSTM), 3 (GRU), 0 (transformer: no recurrence). */
guint augur_arch_gates (AugurArch arch);

/* Limits checked by augur_nn_new() and by the blob loader. */
#define AUGUR_NN_MAX_IN     4096u   /* inputs per step                       */
#define AUGUR_NN_MAX_HIDDEN 4096u   /* hidden units                          */
#define AUGUR_NN_MAX_OUT    4096u   /* outputs                               */

typedef struct {
        guint n_in;         /* I, inputs per step (>= 1)                        */
        guint hidden;       /* H, hidden units (>= 1)                           */
        guint n_out;        /* O, outputs (>= 1)                                */
        AugurArch arch;     /* LSTM or GRU                                      */
        const float *tau;   /* (O) head type per output, see ALGORITHM; copied
                             * by augur_nn_new(); NULL = all squared error     */
        float dropout;      /* drop probability on h_T before the head, [0, 1) */
        float l1;           /* L1 penalty on weight matrices, >= 0             */
        float l2;           /* L2 penalty (0.5*l2*W^2) on weight matrices      */
        float clip_norm;    /* global gradient norm clip; <= 0 disables        */
        float lr;           /* Adam learning rate                              */
        float beta1;        /* Adam first-moment decay                         */
        float beta2;        /* Adam second-moment decay                        */
        float eps;          /* Adam denominator epsilon                        */
        guint threads;      /* training threads (data parallel, 1..64);
                             * 0 = min(2, cores).  Results are bit-identical
                             * for the same seed and the same value here.     */
        /* transformer only (ignored, and not stored, for LSTM/GRU): */
        guint layers;       /* L attention blocks, 1..8 (default 2)           */
        guint heads;        /* heads, must divide hidden (default 2)          */
        guint max_len;      /* Tm positions learned, 1..512 (default 64); a
                             * window of T <= Tm uses the last T rows        */
} AugurNNConfig;

/* Fill *cfg with the shapes given and defaults for the rest:
 * tau NULL, dropout 0, l1 0, l2 1e-5, clip_norm 1, lr 1e-3, betas 0.9/0.999,
 * eps 1e-8, threads 0 (auto), layers 2, heads 2, max_len 64. */
void augur_nn_config_init (AugurNNConfig *cfg, guint n_in, guint hidden,
                           guint n_out, AugurArch arch);

/* Parameters, carved from one allocation in this order (the pointer table
 * in nn.c, and the order of the float section of the model file).
 * Transformer: wx holds the whole encoder body (nn-attn.h lists its
 * tensors), wh, b and bhn are empty, and wy (O, D), by (O) are the head. */
#define AUGUR_NN_N_TENSORS 6
typedef struct {
        float *wx;          /* (G*H, I) input projection, gate-major rows       */
        float *wh;          /* (G*H, H) recurrent projection                    */
        float *b;           /* (G*H)    gate bias                               */
        float *bhn;         /* (H) GRU recurrent bias of n; (0) for LSTM         */
        float *wy;          /* (O, H)   head weights                            */
        float *by;          /* (O)      head bias                               */
} AugurNNParams;

/* Name of parameter tensor k (0 <= k < AUGUR_NN_N_TENSORS), e.g. "wx". */
const char *augur_nn_tensor_name (guint k);

/* Float parameters a config's shapes need (0 when the shapes are invalid;
 * the training hyper-parameters are not checked). */
gsize augur_nn_count_params (const AugurNNConfig *cfg);

typedef struct _AugurNNActs AugurNNActs;   /* private: forward/backward cache */

typedef struct {
        AugurNNConfig cfg;       /* copy; cfg.tau points at tau below          */
        float *tau;              /* (O) owned copy of the head types           */
        guint gates;             /* G                                          */
        gsize tensor_len[AUGUR_NN_N_TENSORS]; /* element count per tensor     */
        gsize n_params;          /* sum of tensor_len                          */
        AugurNNParams params;    /* pointers into params_memory                */
        float *params_memory;    /* (n_params) one block                      */
        AugurNNParams grads;     /* same layout, gradients d<name>             */
        float *grads_memory;     /* (n_params)                                 */
        float *m_memory;         /* (n_params) Adam first moment               */
        float *v_memory;         /* (n_params) Adam second moment              */
        guint64 step;            /* Adam steps taken                           */
        guint64 rng[4];          /* xoshiro256** state (init, dropout)         */
        guint threads;           /* resolved cfg.threads (1 or 2 used)         */
        AugurNNActs *acts[2];    /* per training thread, lazily sized for the
                                  * largest (B, T) seen; [0] also serves
                                  * forward/predict/loss                       */
        float *worker_grads;     /* (n_params) second thread's gradients       */
} AugurNN;

/* Build a model with freshly initialised weights: U(-1/sqrt(H), 1/sqrt(H))
 * for every tensor, LSTM forget-gate bias 1.  Returns NULL (and sets
 * *error, domain AUGUR_NN_ERROR, code INVALID) when the config is out of
 * range (shapes 0 or above the limits, tau[k] not < 0 and not in (0,1),
 * dropout not in [0, 1), a negative penalty or lr <= 0).
 * (transfer full): free with augur_nn_free(). */
AugurNN *augur_nn_new (const AugurNNConfig *cfg, guint64 seed, GError **error);
void augur_nn_free (AugurNN *nn);

/* Build a model around given parameters (n_params floats in the order of
 * the pointer table), e.g. from a model file.  NULL + *error when the config
 * is invalid or n_params does not match its shapes. */
AugurNN *augur_nn_new_from_params (const AugurNNConfig *cfg,
                                   const float *params, gsize n_params,
                                   GError **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurNN, augur_nn_free)

/* The model's named tensors, finer than the pointer table for the
 * transformer (its body is split into wi, bi, pos, l<k>.wqkv, ...): count,
 * and for tensor k a name (written into buf, which it returns), its offset
 * and length in params_memory.  For LSTM/GRU these are the 6 tensors. */
guint augur_nn_n_tensors (const AugurNN *nn);
const char *augur_nn_tensor_info (const AugurNN *nn, guint k, char *buf, gsize buf_len,
                                  gsize *ret_offset, gsize *ret_len);

/* Deep copy of the weights and config (not the Adam moments, not the cache). */
AugurNN *augur_nn_copy (const AugurNN *nn);

/* --- training ---------------------------------------------------------- */

/* One optimisation step on a minibatch (forward with dropout, backward,
 * update).  x (B, T, I), y (B, O), mask (B, O) non-zero = target present,
 * or NULL for all present.  Returns the mean data loss of the batch before
 * the update (0 when no target was present; then no update is made). */
float augur_nn_train_batch (AugurNN *nn, const float *x, const float *y,
                            const guint8 *mask, guint B, guint T);

/* Mean data loss without dropout and without touching the weights or the
 * Adam state (validation).  Also returns, through ret_n when not NULL, the
 * number of (b, k) entries that counted, so callers can weight batches. */
float augur_nn_loss (AugurNN *nn, const float *x, const float *y,
                     const guint8 *mask, guint B, guint T, gsize *ret_n);

/* Predictions (no dropout) for B windows: out (B, O).  Processes large B in
 * chunks so the cache stays bounded. */
void augur_nn_predict (AugurNN *nn, const float *x, guint B, guint T,
                       float *out);

/* The three halves of augur_nn_train_batch, for tests and custom loops.
 *   forward:  runs the model on x (B, T, I); dropout iff train.  When y is
 *             not NULL it also stores y/mask for backward and returns the
 *             mean data loss; otherwise returns NAN.  The output (B, O) is
 *             readable with augur_nn_output() until the next forward.
 *   backward: gradients of (data loss of the last forward + reg loss) into
 *             nn->grads (overwritten, not accumulated).  Needs a forward
 *             with y.
 *   update:   clip + Adam step.  Returns the gradient norm before clipping. */
float augur_nn_forward (AugurNN *nn, const float *x, const float *y,
                        const guint8 *mask, guint B, guint T, gboolean train);
void augur_nn_backward (AugurNN *nn);
float augur_nn_update (AugurNN *nn);
const float *augur_nn_output (const AugurNN *nn);      /* (B, O) of last forward */
/* l1*sum|W| + 0.5*l2*sum W^2 over Wx, Wh, Wy, in double. */
double augur_nn_reg_loss (const AugurNN *nn);

/* Loss of one output value under head type tau (see ALGORITHM). */
float augur_nn_head_loss (float tau, float y, float target);
/* The sigmoid and tanh the float model uses (vectorised expf, ~1 ulp). */
float augur_nn_sigmoid (float x);
float augur_nn_tanh (float x);

/* --- stateful single step ---------------------------------------------- */

typedef struct {
        guint hidden;            /* H                                          */
        float *h;                /* (H) hidden state; transformer: z of the
                                  * last augur_nn_state_output               */
        float *c;                /* (H) LSTM cell state; unused for GRU        */
        float *scratch;          /* (G*H) gate pre-activations                 */
        /* transformer: it has no recurrent state, so a step only appends
         * x_t to the window and the output runs the encoder over it. */
        float *xwin;             /* (max_len, I) the last inputs, oldest first */
        guint n_x;               /* inputs held, <= max_len                    */
        struct _AugurAttnActs *attn; /* its forward cache (B = 1)             */
} AugurNNState;

/* (transfer full) zeroed state for this model's shapes. */
AugurNNState *augur_nn_state_new (const AugurNN *nn);
void augur_nn_state_free (AugurNNState *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurNNState, augur_nn_state_free)
void augur_nn_state_reset (AugurNNState *st);

/* Advance st by one input x_t (I).  No allocation.  Same arithmetic as one
 * step of augur_nn_forward() (modulo float summation order).  Transformer:
 * appends x_t to the window (dropping the oldest beyond max_len). */
void augur_nn_step (const AugurNN *nn, AugurNNState *st, const float *x_t);
/* Head on the current hidden state: out (O).  No dropout.  Transformer:
 * runs the encoder over the inputs held (the same arithmetic as
 * augur_nn_predict on that window). */
void augur_nn_state_output (const AugurNN *nn, const AugurNNState *st,
                            float *out);

/* Honour OPENBLAS_NUM_THREADS if set, else cap OpenBLAS at min(2, cores).
 * Idempotent; returns the thread count in force. */
int augur_nn_blas_threads_init (void);

#define AUGUR_NN_ERROR (augur_nn_error_quark ())
GQuark augur_nn_error_quark (void);

typedef enum {
        AUGUR_NN_ERROR_INVALID,      /* config or shapes out of range           */
} AugurNNError;

G_END_DECLS
