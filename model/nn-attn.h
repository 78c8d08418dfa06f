/* nn-attn.h — the small causal attention encoder behind
 * AUGUR_ARCH_TRANSFORMER (issue #15 item 5): its float forward/backward
 * (used by nn.c, which keeps the head, the loss, Adam and the threads) and
 * its fixed-point window forward (used by nn-q.c).
 *
 * What it is: private to the model directory.  Callers use the AugurNN /
 * AugurNNQ entry points (nn.h, nn-q.h), which dispatch on the arch.
 * What it is not: a general transformer library; one shape only.
 *
 * ALGORITHM
 * =========
 * Shape legend: B windows, T positions (T <= Tm), I inputs per position,
 * D = cfg.hidden (model width), L = cfg.layers, nh = cfg.heads,
 * dh = D / nh, F = 2D (FFN width), Tm = cfg.max_len (positions learned).
 * Positions are aligned to the end of the window: the input at t uses the
 * embedding row p(t) = Tm - T + t, so the newest input is always row Tm-1.
 *
 *   h0_t = Wi x_t + bi + pos[p(t)]                                   (D)
 *   for each layer (pre-norm, residual):
 *     u_t  = rmsnorm(h_t) * g1      rmsnorm(v) = v / sqrt(mean(v^2) + 1e-5)
 *     q k v = Wqkv u_t + bqkv                                       (3D)
 *     per head: a_tj = softmax_j<=t (q_t . k_j / sqrt(dh)),  o_t = sum a_tj v_j
 *     h_t += Wo o_t + bo
 *     h_t += W2 relu(W1 rmsnorm(h_t) * g2 + b1) + b2                 (F inside)
 *   z = rmsnorm(h_{T-1}) * gf                                         (D)
 * and nn.c's head reads z exactly as it reads h_T of the RNN:
 * y = Wy dropout(z) + by.
 *
 * Body tensors (one block, this order; nn.c's tensor 0 "wx" holds the
 * whole block, wy and by are nn.c's head tensors 4 and 5):
 *   wi (D, I)  bi (D)  pos (Tm, D)
 *   per layer: g1 (D) wqkv (3D, D) bqkv (3D) wo (D, D) bo (D)
 *              g2 (D) w1 (F, D) b1 (F) w2 (D, F) b2 (D)
 *   gf (D)
 *
 * Cost per window, forward: about T*L*(3D*D + D*D + 2*D*F) + T*I*D
 * multiply-adds plus L*T*T*D for the attention; backward twice that.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "nn.h"

G_BEGIN_DECLS

#define AUGUR_ATTN_MAX_LAYERS 8u
#define AUGUR_ATTN_MAX_LEN    512u
#define AUGUR_ATTN_NORM_EPS   1e-5f
/* tensors per layer, and in the body: wi bi pos + L*10 + gf */
#define AUGUR_ATTN_LAYER_TENSORS 10u

/* Float elements of the body block for cfg. */
gsize augur_attn_n_params (const AugurNNConfig *cfg);
/* Number of body tensors (3 + 10 L + 1). */
guint augur_attn_n_tensors (const AugurNNConfig *cfg);
/* Body tensor k: its short name ("wqkv"), its layer (-1 when global),
 * offset and length in the body block. */
const char *augur_attn_tensor (const AugurNNConfig *cfg, guint k, int *ret_layer,
                               gsize *ret_offset, gsize *ret_len);
/* After a uniform init of the whole body: gains 1, biases 0, pos and the
 * residual output projections (wo, w2) scaled down. */
void augur_attn_init_fixup (const AugurNNConfig *cfg, float *body);

typedef struct _AugurAttnActs AugurAttnActs;

AugurAttnActs *augur_attn_acts_ensure (const AugurNNConfig *cfg, AugurAttnActs **ap,
                                       guint B, guint T);
void augur_attn_acts_free (AugurAttnActs *a);

/* Forward of x (B, T, I) with body weights; writes z (B, D) for the head
 * and keeps what the backward pass needs in a. */
void augur_attn_forward (const AugurNNConfig *cfg, const float *body, AugurAttnActs *a,
                         const float *x, guint B, guint T, float *z);
/* Gradients of the loss given dz (B, D), added into gbody (zeroed by the
 * caller).  Needs the forward of the same batch in a. */
void augur_attn_backward (const AugurNNConfig *cfg, const float *body, AugurAttnActs *a,
                          const float *dz, float *gbody);

G_END_DECLS
