/* ensemble.c — a model's networks combined (forecast.h ENSEMBLE).
 *
 * What it is: the one place that runs every network of a model and
 * combines their outputs, float (eval's batch rows) and int (eval's int
 * rows, calibration, the gate, and the online predictor, one window per
 * VM and slow step).  What it is not: training the networks (train.c) or
 * storing them (model-file.c).
 *
 * Point head: the mean.  Upper head: the maximum (ENSEMBLE says why).
 * Both in the networks' output space, before decoding (forecast.h
 * OUTPUTS), so every consumer decodes one output vector as it did for a
 * single network.  With one network the output is that network's, bit
 * for bit (no division, no extra rounding).
 */
#include "forecast.h"

#include <string.h>

/* Is output k (of O = targets x heads x H) an upper head's? */
static inline gboolean
is_upper (guint k, guint H)
{
        return (k / H) % AUGUR_FORECAST_HEADS == 1;
}

/* out = the combination of out (network 1 .. i) and net (network i + 1);
 * the points are summed here and divided by n at the end. */
static void
combine (float *out, const float *net, guint O, guint H)
{
        for (guint k = 0; k < O; k++)
                out[k] = is_upper (k, H) ? MAX (out[k], net[k]) : out[k] + net[k];
}

static void
finish (float *out, guint O, guint H, guint n)
{
        for (guint k = 0; k < O; k++)
                if (!is_upper (k, H))
                        out[k] /= (float) n;
}

struct _AugurModelQState {
        guint n;
        AugurNNQState *st[AUGUR_MODEL_MAX_NETS];
        float *tmp;                     /* (O) one network's output */
};

guint
augur_model_n_nets (const AugurModel *m)
{
        return CLAMP (m->n_nets, 1, AUGUR_MODEL_MAX_NETS);
}

AugurNN *
augur_model_net (const AugurModel *m, guint i)
{
        return i == 0 ? m->nn : m->more_nn[i - 1];
}

AugurNNQ *
augur_model_netq (const AugurModel *m, guint i)
{
        return i == 0 ? m->nnq : m->more_nnq[i - 1];
}

void
augur_model_predict (const AugurModel *m, const float *x, guint B, guint T, float *out)
{
        guint n = augur_model_n_nets (m), O = m->nn->cfg.n_out;
        g_autofree float *tmp = NULL;

        augur_nn_predict (m->nn, x, B, T, out);
        if (n == 1)
                return;
        tmp = g_new (float, (gsize) B * O);
        for (guint i = 1; i < n; i++) {
                augur_nn_predict (augur_model_net (m, i), x, B, T, tmp);
                for (guint b = 0; b < B; b++)
                        combine (out + (gsize) b * O, tmp + (gsize) b * O, O, m->H);
        }
        for (guint b = 0; b < B; b++)
                finish (out + (gsize) b * O, O, m->H, n);
}

AugurModelQState *
augur_model_q_state_new (const AugurModel *m)
{
        AugurModelQState *s = g_new0 (AugurModelQState, 1);

        s->n = augur_model_n_nets (m);
        for (guint i = 0; i < s->n; i++)
                s->st[i] = augur_nnq_state_new (augur_model_netq (m, i));
        s->tmp = g_new0 (float, m->nnq->n_out);
        return s;
}

void
augur_model_q_state_free (AugurModelQState *s)
{
        if (!s)
                return;
        for (guint i = 0; i < s->n; i++)
                augur_nnq_state_free (s->st[i]);
        g_free (s->tmp);
        g_free (s);
}

void
augur_model_forecast_window (const AugurModel *m, AugurModelQState *s,
                             const float *x, guint T, float *out)
{
        guint O = m->nnq->n_out;

        g_return_if_fail (s->n == augur_model_n_nets (m));
        augur_nnq_forecast_window (m->nnq, s->st[0], x, T, out);
        if (s->n == 1)
                return;
        for (guint i = 1; i < s->n; i++) {
                augur_nnq_forecast_window (augur_model_netq (m, i), s->st[i], x, T, s->tmp);
                combine (out, s->tmp, O, m->H);
        }
        finish (out, O, m->H, s->n);
}
