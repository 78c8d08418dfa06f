/* ensemble.c — a model's networks averaged (forecast.h ENSEMBLE).
 *
 * What it is: the one place that runs every network of a model and
 * averages their outputs, float (eval's batch rows) and int (eval's int
 * rows, calibration, the gate, and the online predictor, one window per
 * VM and slow step).  What it is not: training the networks (train.c) or
 * storing them (model-file.c).
 *
 * The mean is taken in the networks' output space, before decoding
 * (forecast.h OUTPUTS), so every consumer decodes one output vector as it
 * did for a single network.  With one network the output is that
 * network's, bit for bit (no division, no extra rounding).
 */
#include "forecast.h"

#include <string.h>

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
        gsize len = (gsize) B * O;
        g_autofree float *tmp = NULL;

        augur_nn_predict (m->nn, x, B, T, out);
        if (n == 1)
                return;
        tmp = g_new (float, len);
        for (guint i = 1; i < n; i++) {
                augur_nn_predict (augur_model_net (m, i), x, B, T, tmp);
                for (gsize k = 0; k < len; k++)
                        out[k] += tmp[k];
        }
        for (gsize k = 0; k < len; k++)
                out[k] /= (float) n;
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
                for (guint k = 0; k < O; k++)
                        out[k] += s->tmp[k];
        }
        for (guint k = 0; k < O; k++)
                out[k] /= (float) s->n;
}
