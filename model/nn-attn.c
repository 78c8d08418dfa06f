/* nn-attn.c — float forward and hand-written backward of the causal
 * attention encoder (AUGUR_ARCH_TRANSFORMER).  The algorithm and the tensor
 * order are in nn-attn.h; nn.c owns the head, the loss, Adam, dropout and
 * the training threads, and calls in here for the body.
 *
 * IMPLEMENTATION NOTES
 * ====================
 * Rows are (b, t) batch-major as in nn.c: row r = b*T + t of an (R, X)
 * buffer, R = B*T.  Every projection is one sgemm over all R rows; only
 * the attention itself (T x T per head, tiny) is plain loops.
 *
 * Cache per layer l (AttnLayerActs), all (R, X) unless noted:
 *   hin (D)   residual stream entering the layer
 *   rs1 (R)   1/rms of hin          n1 (D) hin * rs1       u1 (D) n1 * g1
 *   qkv (3D)  projections           att (B, nh, T, T) softmax rows (j <= t)
 *   o (D)     attention output before Wo
 *   hmid (D)  hin + Wo o + bo
 *   rs2 (R), n2 (D), u2 (D)         the FFN's norm
 *   f (F)     relu(W1 u2 + b1)
 * plus hL (R, D) after the last layer, rsf (B), nf (B, D) the final norm of
 * the last position, and backward scratch dres, dmid (R, D), dqkv (R, 3D),
 * df (R, F), du (R, D).
 *
 * RMSNorm backward (n = v * rs, rs = (mean v^2 + eps)^-1/2, y = g n):
 *   dn = dy * g,  dv = rs * (dn - n * sum(dn * n) / D),  dg += dy * n.
 * Softmax backward per row: ds_j = a_j (da_j - sum_k a_k da_k).
 */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "nn-attn.h"

#undef I

typedef struct {
        float *g1, *wqkv, *bqkv, *wo, *bo, *g2, *w1, *b1, *w2, *b2;
} AttnLayerP;

typedef struct {
        float *wi, *bi, *pos;
        AttnLayerP layer[AUGUR_ATTN_MAX_LAYERS];
        float *gf;
} AttnP;

static const char *const layer_tensor_names[AUGUR_ATTN_LAYER_TENSORS] = {
        "g1", "wqkv", "bqkv", "wo", "bo", "g2", "w1", "b1", "w2", "b2",
};

/* Lengths of the body tensors in order; returns the count. */
static guint
attn_lengths (const AugurNNConfig *cfg, gsize *len)
{
        const gsize I = cfg->n_in, D = cfg->hidden, F = 2 * D, Tm = cfg->max_len;
        guint n = 0, l;

        len[n++] = D * I;
        len[n++] = D;
        len[n++] = Tm * D;
        for (l = 0; l < cfg->layers; l++) {
                len[n++] = D;
                len[n++] = 3 * D * D;
                len[n++] = 3 * D;
                len[n++] = D * D;
                len[n++] = D;
                len[n++] = D;
                len[n++] = F * D;
                len[n++] = F;
                len[n++] = D * F;
                len[n++] = D;
        }
        len[n++] = D;
        return n;
}

#define MAX_BODY_TENSORS (4 + AUGUR_ATTN_LAYER_TENSORS * AUGUR_ATTN_MAX_LAYERS)

gsize
augur_attn_n_params (const AugurNNConfig *cfg)
{
        gsize len[MAX_BODY_TENSORS], s = 0;
        guint n, k;

        g_return_val_if_fail (cfg->layers <= AUGUR_ATTN_MAX_LAYERS, 0);
        n = attn_lengths (cfg, len);
        for (k = 0; k < n; k++)
                s += len[k];
        return s;
}

guint
augur_attn_n_tensors (const AugurNNConfig *cfg)
{
        return 4 + AUGUR_ATTN_LAYER_TENSORS * cfg->layers;
}

const char *
augur_attn_tensor (const AugurNNConfig *cfg, guint k, int *ret_layer,
                   gsize *ret_offset, gsize *ret_len)
{
        static const char *const glob[3] = { "wi", "bi", "pos" };
        gsize len[MAX_BODY_TENSORS], off = 0;
        guint n, j;

        n = attn_lengths (cfg, len);
        g_return_val_if_fail (k < n, NULL);
        for (j = 0; j < k; j++)
                off += len[j];
        if (ret_offset)
                *ret_offset = off;
        if (ret_len)
                *ret_len = len[k];
        if (k < 3) {
                if (ret_layer)
                        *ret_layer = -1;
                return glob[k];
        }
        if (k == n - 1) {
                if (ret_layer)
                        *ret_layer = -1;
                return "gf";
        }
        if (ret_layer)
                *ret_layer = (int) ((k - 3) / AUGUR_ATTN_LAYER_TENSORS);
        return layer_tensor_names[(k - 3) % AUGUR_ATTN_LAYER_TENSORS];
}

static void
attn_point (const AugurNNConfig *cfg, const float *body, AttnP *p)
{
        gsize len[MAX_BODY_TENSORS];
        float *it = (float *) body;
        guint n, k = 0, l;

        n = attn_lengths (cfg, len);
        memset (p, 0, sizeof *p);
        p->wi = it; it += len[k++];
        p->bi = it; it += len[k++];
        p->pos = it; it += len[k++];
        for (l = 0; l < cfg->layers; l++) {
                AttnLayerP *lp = &p->layer[l];
                float **ptrs[AUGUR_ATTN_LAYER_TENSORS] = {
                        &lp->g1, &lp->wqkv, &lp->bqkv, &lp->wo, &lp->bo,
                        &lp->g2, &lp->w1, &lp->b1, &lp->w2, &lp->b2,
                };
                guint j;

                for (j = 0; j < AUGUR_ATTN_LAYER_TENSORS; j++) {
                        *ptrs[j] = it;
                        it += len[k++];
                }
        }
        p->gf = it;
        k++;
        g_assert (k == n);
}

void
augur_attn_init_fixup (const AugurNNConfig *cfg, float *body)
{
        const gsize D = cfg->hidden, F = 2 * D;
        const float res_scale = 1.0f / sqrtf (2.0f * (float) cfg->layers);
        AttnP p;
        gsize i;
        guint l;

        attn_point (cfg, body, &p);
        memset (p.bi, 0, D * sizeof (float));
        for (i = 0; i < (gsize) cfg->max_len * D; i++)
                p.pos[i] *= 0.1f;
        for (l = 0; l < cfg->layers; l++) {
                AttnLayerP *lp = &p.layer[l];

                for (i = 0; i < D; i++) {
                        lp->g1[i] = 1.0f;
                        lp->g2[i] = 1.0f;
                        lp->bo[i] = 0.0f;
                        lp->b2[i] = 0.0f;
                }
                memset (lp->bqkv, 0, 3 * D * sizeof (float));
                memset (lp->b1, 0, F * sizeof (float));
                for (i = 0; i < D * D; i++)
                        lp->wo[i] *= res_scale;
                /* W2 reads F = 2D inputs: U(-1/sqrt(F)) then the residual scale */
                for (i = 0; i < D * F; i++)
                        lp->w2[i] *= res_scale * 0.70710678f;
        }
        for (i = 0; i < D; i++)
                p.gf[i] = 1.0f;
}

/* ------------------------------------------------------------------------
 * Cache
 * ------------------------------------------------------------------------ */

typedef struct {
        float *hin, *rs1, *n1, *u1, *qkv, *att, *o, *hmid, *rs2, *n2, *u2, *f;
} AttnLayerActs;

struct _AugurAttnActs {
        gsize cap_rows;          /* B*T the block was sized for               */
        guint cap_b, cap_t;      /* B and T (att is B*nh*T*T)                 */
        guint B, T;              /* shapes of the last forward                */
        float *x;                /* (R, I)                                     */
        AttnLayerActs layer[AUGUR_ATTN_MAX_LAYERS];
        float *hL;               /* (R, D)                                     */
        float *rsf;              /* (B)                                        */
        float *nf;               /* (B, D)                                     */
        float *dres, *dmid;      /* (R, D)                                     */
        float *dqkv;             /* (R, 3D)                                    */
        float *df;               /* (R, F)                                     */
        float *du;               /* (R, D)                                     */
        float *memory;
};

void
augur_attn_acts_free (AugurAttnActs *a)
{
        if (!a)
                return;
        g_free (a->memory);
        g_free (a);
}

AugurAttnActs *
augur_attn_acts_ensure (const AugurNNConfig *cfg, AugurAttnActs **ap, guint B, guint T)
{
        AugurAttnActs *a = *ap;
        const gsize I = cfg->n_in, D = cfg->hidden, F = 2 * D, nh = cfg->heads;
        gsize R, total, per_layer;
        guint cap_b, cap_t, l;
        float *it;

        if (a && a->cap_b >= B && a->cap_t >= T && a->cap_rows >= (gsize) B * T)
                return a;
        if (!a)
                a = *ap = g_new0 (AugurAttnActs, 1);
        cap_b = MAX (B, a->cap_b);
        cap_t = MAX (T, a->cap_t);
        R = (gsize) cap_b * cap_t;
        per_layer = R * (12 * D + 2) + (gsize) cap_b * nh * cap_t * cap_t;
        total = R * I + cfg->layers * per_layer + R * D + cap_b + (gsize) cap_b * D +
                R * (2 * D + 3 * D + F + D);
        g_free (a->memory);
        a->memory = g_new0 (float, total);
        it = a->memory;
#define TAKE(ptr, n) do { (ptr) = it; it += (n); } while (0)
        TAKE (a->x, R * I);
        for (l = 0; l < cfg->layers; l++) {
                AttnLayerActs *la = &a->layer[l];

                TAKE (la->hin, R * D);
                TAKE (la->rs1, R);
                TAKE (la->n1, R * D);
                TAKE (la->u1, R * D);
                TAKE (la->qkv, R * 3 * D);
                TAKE (la->att, (gsize) cap_b * nh * cap_t * cap_t);
                TAKE (la->o, R * D);
                TAKE (la->hmid, R * D);
                TAKE (la->rs2, R);
                TAKE (la->n2, R * D);
                TAKE (la->u2, R * D);
                TAKE (la->f, R * F);
        }
        TAKE (a->hL, R * D);
        TAKE (a->rsf, cap_b);
        TAKE (a->nf, (gsize) cap_b * D);
        TAKE (a->dres, R * D);
        TAKE (a->dmid, R * D);
        TAKE (a->dqkv, R * 3 * D);
        TAKE (a->df, R * F);
        TAKE (a->du, R * D);
#undef TAKE
        g_assert ((gsize) (it - a->memory) == total);
        a->cap_rows = R;
        a->cap_b = cap_b;
        a->cap_t = cap_t;
        return a;
}

/* ------------------------------------------------------------------------
 * Pieces
 * ------------------------------------------------------------------------ */

/* rows x D: n = v * rs, u = n * g, rs = 1/sqrt(mean v^2 + eps) */
static void
rmsnorm_fwd (gsize rows, gsize D, const float *v, gsize ldv, const float *g,
             float *rs, float *n, float *u)
{
        gsize r, k;

        for (r = 0; r < rows; r++) {
                const float *vr = v + r * ldv;
                double ss = 0.0;
                float s;

                for (k = 0; k < D; k++)
                        ss += (double) vr[k] * vr[k];
                s = (float) (1.0 / sqrt (ss / (double) D + AUGUR_ATTN_NORM_EPS));
                rs[r] = s;
                for (k = 0; k < D; k++) {
                        n[r * D + k] = vr[k] * s;
                        u[r * D + k] = n[r * D + k] * g[k];
                }
        }
}

/* dv (+)= rmsnorm backward of du; dg += du * n.  accumulate: add into dv. */
static void
rmsnorm_bwd (gsize rows, gsize D, const float *du, const float *n, const float *rs,
             const float *g, float *dg, float *dv, gsize lddv, gboolean accumulate)
{
        gsize r, k;

        for (r = 0; r < rows; r++) {
                const float *dur = du + r * D, *nr = n + r * D;
                float *dvr = dv + r * lddv;
                double c = 0.0;

                for (k = 0; k < D; k++) {
                        c += (double) dur[k] * g[k] * nr[k];
                        dg[k] += dur[k] * nr[k];
                }
                c /= (double) D;
                for (k = 0; k < D; k++) {
                        float d = rs[r] * (dur[k] * g[k] - nr[k] * (float) c);

                        dvr[k] = accumulate ? dvr[k] + d : d;
                }
        }
}

static void
add_bias_rows (float *out, gsize rows, gsize n, const float *b)
{
        gsize r, k;

        for (r = 0; r < rows; r++)
                for (k = 0; k < n; k++)
                        out[r * n + k] += b[k];
}

static void
colsum_add (float *acc, const float *src, gsize rows, gsize n)
{
        gsize r, k;

        for (r = 0; r < rows; r++)
                for (k = 0; k < n; k++)
                        acc[k] += src[r * n + k];
}

/* out (rows, n) = in (rows, k) W^T, W (n, k); beta 0 or 1. */
static void
mm_nt (gsize rows, gsize n, gsize k, const float *in, const float *w, float beta, float *out)
{
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) rows, (int) n, (int) k,
                     1.0f, in, (int) k, w, (int) k, beta, out, (int) n);
}

/* out (rows, k) = d (rows, n) W, W (n, k) */
static void
mm_nn (gsize rows, gsize n, gsize k, const float *d, const float *w, float beta, float *out)
{
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) rows, (int) k, (int) n,
                     1.0f, d, (int) n, w, (int) k, beta, out, (int) k);
}

/* dW (n, k) += d (rows, n)^T in (rows, k) */
static void
mm_tn_acc (gsize rows, gsize n, gsize k, const float *d, const float *in, float *dw)
{
        cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, (int) n, (int) k, (int) rows,
                     1.0f, d, (int) n, in, (int) k, 1.0f, dw, (int) k);
}

/* ------------------------------------------------------------------------
 * Forward
 * ------------------------------------------------------------------------ */

void
augur_attn_forward (const AugurNNConfig *cfg, const float *body, AugurAttnActs *a,
                    const float *x, guint B, guint T, float *z)
{
        const gsize I = cfg->n_in, D = cfg->hidden, F = 2 * D, L = cfg->layers;
        const gsize nh = cfg->heads, dh = D / nh, R = (gsize) B * T;
        const gsize p0 = cfg->max_len - T;
        const float scale = 1.0f / sqrtf ((float) dh);
        float *srow = g_newa (float, T);
        AttnP p;
        gsize b, t, j, k, l, hd;

        g_return_if_fail (T >= 1 && T <= cfg->max_len);
        attn_point (cfg, body, &p);
        a->B = B;
        a->T = T;
        memcpy (a->x, x, R * I * sizeof (float));

        /* h0 = X Wi^T + bi + pos */
        {
                float *h0 = a->layer[0].hin;

                if (L == 0)
                        h0 = a->hL;
                mm_nt (R, D, I, a->x, p.wi, 0.0f, h0);
                for (b = 0; b < B; b++)
                        for (t = 0; t < T; t++)
                                for (k = 0; k < D; k++)
                                        h0[(b * T + t) * D + k] += p.bi[k] + p.pos[(p0 + t) * D + k];
        }

        for (l = 0; l < L; l++) {
                AttnLayerActs *la = &a->layer[l];
                const AttnLayerP *lp = &p.layer[l];
                float *hout = l + 1 < L ? a->layer[l + 1].hin : a->hL;

                rmsnorm_fwd (R, D, la->hin, D, lp->g1, la->rs1, la->n1, la->u1);
                mm_nt (R, 3 * D, D, la->u1, lp->wqkv, 0.0f, la->qkv);
                add_bias_rows (la->qkv, R, 3 * D, lp->bqkv);

                /* causal attention per window and head */
                for (b = 0; b < B; b++) {
                        for (hd = 0; hd < nh; hd++) {
                                for (t = 0; t < T; t++) {
                                        const float *q = la->qkv + (b * T + t) * 3 * D + hd * dh;
                                        float *arow = la->att + ((b * nh + hd) * T + t) * T;
                                        float *o = la->o + (b * T + t) * D + hd * dh;
                                        float mx = -INFINITY, sum = 0.0f;

                                        for (j = 0; j <= t; j++) {
                                                const float *kk = la->qkv + (b * T + j) * 3 * D + D + hd * dh;
                                                float s = 0.0f;

                                                for (k = 0; k < dh; k++)
                                                        s += q[k] * kk[k];
                                                srow[j] = s * scale;
                                                mx = MAX (mx, srow[j]);
                                        }
                                        for (j = 0; j <= t; j++) {
                                                srow[j] = expf (srow[j] - mx);
                                                sum += srow[j];
                                        }
                                        for (k = 0; k < dh; k++)
                                                o[k] = 0.0f;
                                        for (j = 0; j < T; j++) {
                                                const float *vv = la->qkv + (b * T + j) * 3 * D + 2 * D + hd * dh;

                                                arow[j] = j <= t ? srow[j] / sum : 0.0f;
                                                if (j > t)
                                                        continue;
                                                for (k = 0; k < dh; k++)
                                                        o[k] += arow[j] * vv[k];
                                        }
                                }
                        }
                }
                /* hmid = hin + o Wo^T + bo */
                memcpy (la->hmid, la->hin, R * D * sizeof (float));
                mm_nt (R, D, D, la->o, lp->wo, 1.0f, la->hmid);
                add_bias_rows (la->hmid, R, D, lp->bo);
                /* FFN */
                rmsnorm_fwd (R, D, la->hmid, D, lp->g2, la->rs2, la->n2, la->u2);
                mm_nt (R, F, D, la->u2, lp->w1, 0.0f, la->f);
                add_bias_rows (la->f, R, F, lp->b1);
                for (k = 0; k < R * F; k++)
                        la->f[k] = la->f[k] > 0.0f ? la->f[k] : 0.0f;
                memcpy (hout, la->hmid, R * D * sizeof (float));
                mm_nt (R, D, F, la->f, lp->w2, 1.0f, hout);
                add_bias_rows (hout, R, D, lp->b2);
        }

        /* final norm of the last position */
        for (b = 0; b < B; b++)
                rmsnorm_fwd (1, D, a->hL + (b * T + T - 1) * D, D, p.gf, a->rsf + b,
                             a->nf + b * D, z + b * D);
}

/* ------------------------------------------------------------------------
 * Backward
 * ------------------------------------------------------------------------ */

void
augur_attn_backward (const AugurNNConfig *cfg, const float *body, AugurAttnActs *a,
                     const float *dz, float *gbody)
{
        const gsize I = cfg->n_in, D = cfg->hidden, F = 2 * D, L = cfg->layers;
        const gsize nh = cfg->heads, dh = D / nh;
        const guint B = a->B, T = a->T;
        const gsize R = (gsize) B * T, p0 = cfg->max_len - T;
        const float scale = 1.0f / sqrtf ((float) dh);
        float *da = g_newa (float, T);
        AttnP p, g;
        gsize b, t, j, k, hd;
        gsize l;

        attn_point (cfg, body, &p);
        attn_point (cfg, gbody, &g);

        /* dres = d hL: only the last position of each window */
        memset (a->dres, 0, R * D * sizeof (float));
        for (b = 0; b < B; b++)
                rmsnorm_bwd (1, D, dz + b * D, a->nf + b * D, a->rsf + b, p.gf, g.gf,
                             a->dres + (b * T + T - 1) * D, D, FALSE);

        for (l = L; l-- > 0;) {
                AttnLayerActs *la = &a->layer[l];
                const AttnLayerP *lp = &p.layer[l];
                AttnLayerP *lg = &g.layer[l];

                /* FFN: out = hmid + f W2^T + b2, f = relu(u2 W1^T + b1) */
                mm_tn_acc (R, D, F, a->dres, la->f, lg->w2);
                colsum_add (lg->b2, a->dres, R, D);
                mm_nn (R, D, F, a->dres, lp->w2, 0.0f, a->df);
                for (k = 0; k < R * F; k++) {
                        if (!(la->f[k] > 0.0f))
                                a->df[k] = 0.0f;
                }
                mm_tn_acc (R, F, D, a->df, la->u2, lg->w1);
                colsum_add (lg->b1, a->df, R, F);
                mm_nn (R, F, D, a->df, lp->w1, 0.0f, a->du);
                memcpy (a->dmid, a->dres, R * D * sizeof (float));
                rmsnorm_bwd (R, D, a->du, la->n2, la->rs2, lp->g2, lg->g2, a->dmid, D, TRUE);

                /* attention: hmid = hin + o Wo^T + bo */
                mm_tn_acc (R, D, D, a->dmid, la->o, lg->wo);
                colsum_add (lg->bo, a->dmid, R, D);
                mm_nn (R, D, D, a->dmid, lp->wo, 0.0f, a->du);       /* du := d o */
                memset (a->dqkv, 0, R * 3 * D * sizeof (float));
                for (b = 0; b < B; b++) {
                        for (hd = 0; hd < nh; hd++) {
                                for (t = 0; t < T; t++) {
                                        const float *q = la->qkv + (b * T + t) * 3 * D + hd * dh;
                                        const float *arow = la->att + ((b * nh + hd) * T + t) * T;
                                        const float *dout = a->du + (b * T + t) * D + hd * dh;
                                        float *dq = a->dqkv + (b * T + t) * 3 * D + hd * dh;
                                        float dot = 0.0f;

                                        for (j = 0; j <= t; j++) {
                                                const float *vv = la->qkv + (b * T + j) * 3 * D + 2 * D + hd * dh;
                                                float *dv = a->dqkv + (b * T + j) * 3 * D + 2 * D + hd * dh;
                                                float s = 0.0f;

                                                for (k = 0; k < dh; k++) {
                                                        s += dout[k] * vv[k];
                                                        dv[k] += arow[j] * dout[k];
                                                }
                                                da[j] = s;
                                                dot += arow[j] * s;
                                        }
                                        for (j = 0; j <= t; j++) {
                                                const float *kk = la->qkv + (b * T + j) * 3 * D + D + hd * dh;
                                                float *dk = a->dqkv + (b * T + j) * 3 * D + D + hd * dh;
                                                float ds = arow[j] * (da[j] - dot) * scale;

                                                for (k = 0; k < dh; k++) {
                                                        dq[k] += ds * kk[k];
                                                        dk[k] += ds * q[k];
                                                }
                                        }
                                }
                        }
                }
                mm_tn_acc (R, 3 * D, D, a->dqkv, la->u1, lg->wqkv);
                colsum_add (lg->bqkv, a->dqkv, R, 3 * D);
                mm_nn (R, 3 * D, D, a->dqkv, lp->wqkv, 0.0f, a->du);  /* du := d u1 */
                memcpy (a->dres, a->dmid, R * D * sizeof (float));
                rmsnorm_bwd (R, D, a->du, la->n1, la->rs1, lp->g1, lg->g1, a->dres, D, TRUE);
        }

        /* input: h0 = X Wi^T + bi + pos */
        mm_tn_acc (R, D, I, a->dres, a->x, g.wi);
        colsum_add (g.bi, a->dres, R, D);
        for (b = 0; b < B; b++)
                for (t = 0; t < T; t++)
                        for (k = 0; k < D; k++)
                                g.pos[(p0 + t) * D + k] += a->dres[(b * T + t) * D + k];
}
