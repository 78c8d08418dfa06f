/* collect.c — see collect.h. */
#include "config.h"

#include "collect.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK (augur-collect-error-quark, augur_collect_error)

static gboolean
param_int64 (const virTypedParameter *p, gint64 *ret)
{
        switch (p->type) {
        case VIR_TYPED_PARAM_INT: *ret = p->value.i; return TRUE;
        case VIR_TYPED_PARAM_UINT: *ret = p->value.ui; return TRUE;
        case VIR_TYPED_PARAM_LLONG: *ret = p->value.l; return TRUE;
        case VIR_TYPED_PARAM_ULLONG:
                if (p->value.ul > G_MAXINT64)
                        return FALSE;
                *ret = (gint64) p->value.ul;
                return TRUE;
        default:
                return FALSE;
        }
}

/* "block.3.rd.bytes" -> TRUE with suffix "rd.bytes" when prefix is "block". */
static const char *
device_suffix (const char *field, const char *prefix)
{
        gsize plen = strlen (prefix);
        const char *p;

        if (strncmp (field, prefix, plen) != 0 || field[plen] != '.')
                return NULL;
        p = field + plen + 1;
        if (!g_ascii_isdigit (*p))
                return NULL;
        while (g_ascii_isdigit (*p))
                p++;
        return *p == '.' ? p + 1 : NULL;
}

/* Which stat a typed-parameter field is: AUGUR_STAT_N when none.  A
 * record has ~25-60 fields and the table ~25 stats, so the whole-name
 * fields are found through a hash table built once, and the per-device
 * ones ("block.N.rd.bytes", "net.N.rx.bytes") by their prefix. */
static AugurStat
field_stat (const char *field)
{
        static GHashTable *whole;     /* vir_field -> AugurStat + 1 */
        static gsize once;
        const char *dev = NULL, *suffix;
        gpointer hit;

        if (g_once_init_enter (&once)) {
                whole = g_hash_table_new (g_str_hash, g_str_equal);
                for (int f = 0; f < AUGUR_STAT_N; f++)
                        if (!augur_stat_info[f].per_device)
                                g_hash_table_insert (whole, (gpointer) augur_stat_info[f].vir_field,
                                                     GINT_TO_POINTER (f + 1));
                g_once_init_leave (&once, 1);
        }
        if (field[0] == 'b')
                dev = "block";
        else if (field[0] == 'n')
                dev = "net";
        if (dev && (suffix = device_suffix (field, dev))) {
                for (int f = 0; f < AUGUR_STAT_N; f++) {
                        gboolean is_block = f == AUGUR_STAT_BLOCK_RD_BYTES || f == AUGUR_STAT_BLOCK_WR_BYTES;

                        if (augur_stat_info[f].per_device && is_block == (dev[0] == 'b') &&
                            strcmp (suffix, augur_stat_info[f].vir_field) == 0)
                                return f;
                }
                return AUGUR_STAT_N;
        }
        hit = g_hash_table_lookup (whole, field);
        return hit ? (AugurStat) (GPOINTER_TO_INT (hit) - 1) : AUGUR_STAT_N;
}

/* The per-device counters (units.h, PER DEVICE): "PREFIX.N.name" and
 * "PREFIX.N.SUFFIX" for each suffix of the kind, into slot N. */
typedef struct {
        const char *prefix;                  /* "block.", "net."               */
        const char *const *suffix;           /* v[k]'s field suffix            */
        int n_suffix;
        gsize slots_off, n_off;              /* in AugurDomainSample            */
        guint max;
} DevKind;

static const char *const disk_suffix[AUGUR_DISK_N] = { "rd.bytes", "wr.bytes", "rd.reqs", "wr.reqs" };
static const char *const iface_suffix[AUGUR_IFACE_N] = { "rx.bytes", "tx.bytes" };
static const DevKind dev_kinds[] = {
        { "block.", disk_suffix, AUGUR_DISK_N, G_STRUCT_OFFSET (AugurDomainSample, disk),
          G_STRUCT_OFFSET (AugurDomainSample, n_disks), AUGUR_MAX_DISKS },
        { "net.", iface_suffix, AUGUR_IFACE_N, G_STRUCT_OFFSET (AugurDomainSample, iface),
          G_STRUCT_OFFSET (AugurDomainSample, n_ifaces), AUGUR_MAX_IFACES },
};

/* PREFIX.N.name and PREFIX.N.<counter> into the per-device slot N;
 * anything else is left alone.  The caller parses the summed fields from
 * the same parameters (and counts a rejected value once, there). */
static void
parse_dev_field (const virTypedParameter *p, AugurDomainSample *out)
{
        const DevKind *dk = NULL;
        const char *rest;
        char *end = NULL;
        guint64 idx;
        AugurDevCounters *d;
        guint *n;
        gint64 v;

        for (gsize i = 0; i < G_N_ELEMENTS (dev_kinds); i++)
                if (g_str_has_prefix (p->field, dev_kinds[i].prefix))
                        dk = &dev_kinds[i];
        if (!dk || !g_ascii_isdigit (p->field[strlen (dk->prefix)]))
                return;
        idx = g_ascii_strtoull (p->field + strlen (dk->prefix), &end, 10);
        if (!end || *end != '.' || idx >= dk->max)
                return;
        rest = end + 1;
        d = (AugurDevCounters *) G_STRUCT_MEMBER_P (out, dk->slots_off) + idx;
        n = G_STRUCT_MEMBER_P (out, dk->n_off);
        if (strcmp (rest, "name") == 0) {
                if (p->type != VIR_TYPED_PARAM_STRING || !p->value.s)
                        return;
                g_strlcpy (d->name, p->value.s, sizeof d->name);
                *n = MAX (*n, (guint) idx + 1);
                return;
        }
        for (int k = 0; k < dk->n_suffix; k++) {
                if (strcmp (rest, dk->suffix[k]) != 0)
                        continue;
                if (!param_int64 (p, &v) || v < 0)
                        return;
                d->v[k] = v;
                d->present |= 1u << k;
                *n = MAX (*n, (guint) idx + 1);
                return;
        }
}

void
augur_collect_parse_params (const virTypedParameter *params, int nparams,
                            AugurDomainSample *out, guint *ret_rejected)
{
        guint rejected = 0;

        out->present = 0;
        out->n_disks = 0;
        memset (out->disk, 0, sizeof out->disk);
        out->n_ifaces = 0;
        memset (out->iface, 0, sizeof out->iface);
        for (int i = 0; i < nparams; i++) {
                const virTypedParameter *p = &params[i];
                AugurStat f = field_stat (p->field);
                gint64 v;

                if (p->field[0] == 'b' || p->field[0] == 'n')
                        parse_dev_field (p, out);
                if (f == AUGUR_STAT_N)
                        continue;
                if (!param_int64 (p, &v) || v < 0) {
                        rejected++;
                        continue;
                }
                if (augur_stat_info[f].per_device && augur_sample_has (out, f)) {
                        if (v > G_MAXINT64 - out->v[f]) {
                                rejected++;
                                continue;
                        }
                        v += out->v[f];
                }
                augur_sample_set (out, f, v);
        }
        if (ret_rejected)
                *ret_rejected = rejected;
}

static void
sample_clear_func (gpointer p)
{
        augur_domain_sample_clear (p);
}

GArray *
augur_collect_sample_array_new (guint reserve)
{
        GArray *a = g_array_sized_new (FALSE, TRUE, sizeof (AugurDomainSample), reserve);

        g_array_set_clear_func (a, sample_clear_func);
        return a;
}

GArray *
augur_collect_parse_domstats_text (const char *text, GError **error)
{
        g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
        g_autoptr(GArray) out = augur_collect_sample_array_new (4);
        g_autoptr(GArray) params = g_array_new (FALSE, TRUE, sizeof (virTypedParameter));
        g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);
        g_autofree char *name = NULL;

        for (int i = 0;; i++) {
                const char *l = lines[i];

                if (l && l[0] == '#')
                        continue;                       /* fixture comments */
                if (!l || g_str_has_prefix (l, "Domain: ")) {
                        if (name) {
                                AugurDomainSample s = { 0 };

                                augur_uuid_v5_from_name (name, s.uuid);
                                s.name = g_steal_pointer (&name);
                                s.id = -1;
                                augur_collect_parse_params ((virTypedParameter *) params->data,
                                                            params->len, &s, NULL);
                                g_array_append_val (out, s);
                                g_array_set_size (params, 0);
                                g_ptr_array_set_size (strings, 0);
                        }
                        if (!l)
                                break;
                        name = g_strdup (l + strlen ("Domain: "));
                        g_strstrip (name);
                        if (name[0] == '\'' && strlen (name) >= 2) {
                                memmove (name, name + 1, strlen (name));
                                name[strlen (name) - 1] = '\0';
                        }
                        continue;
                }
                g_autofree char *t = g_strstrip (g_strdup (l));
                char *eq = strchr (t, '=');
                virTypedParameter p = { 0 };
                char *end = NULL;

                if (!*t)
                        continue;
                if (!eq || !name) {
                        g_set_error (error, AUGUR_COLLECT_ERROR, AUGUR_COLLECT_ERROR_TRANSIENT,
                                     "line %d: not 'key=value' inside a Domain block: %s", i + 1, t);
                        return NULL;
                }
                *eq = '\0';
                g_strlcpy (p.field, t, sizeof p.field);
                p.type = VIR_TYPED_PARAM_LLONG;
                p.value.l = g_ascii_strtoll (eq + 1, &end, 10);
                if ((g_str_has_prefix (t, "block.") || g_str_has_prefix (t, "net.")) &&
                    g_str_has_suffix (t, ".name")) {
                        /* A device's name: its own counters are keyed by it. */
                        p.type = VIR_TYPED_PARAM_STRING;
                        p.value.s = g_strdup (eq + 1);
                        g_ptr_array_add (strings, p.value.s);
                } else if (end == eq + 1 || *end) {
                        continue;          /* other strings (paths) are not stats */
                }
                g_array_append_val (params, p);
        }
        return g_steal_pointer (&out);
}
