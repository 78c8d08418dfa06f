/* cmd-opts.c — virt-augur's table-driven option parser and the help it
 * generates; see cmd-opts.h.  Pure: no I/O, no exit, so tests/test-cli-ops
 * runs it on tables of its own. */
#include "config.h"

#include "cmd-opts.h"
#include "util.h"

#include <string.h>

G_DEFINE_QUARK (augur-cmd-opts-error-quark, augur_cmd_opts_error)

/* Help is wrapped to this many columns, and an option whose spelling is
 * wider than OPT_COL_MAX starts its help on the next line. */
#define HELP_WIDTH 80
#define OPT_COL_MAX 24

/* One table row's value after parsing. */
typedef struct {
        gboolean given;
        int index;              /* argv index of the last occurrence          */
        const char *text;       /* last value (borrowed from argv)            */
        char *spelled;          /* how it was written: "-n", "--out"          */
        union {
                guint64 i;      /* INT, and CHOICE's index                    */
                double d;       /* DOUBLE, and DURATION in seconds            */
        } v;
        GPtrArray *list;        /* STRV: (const char *) values + NULL         */
} OptValue;

struct _AugurCmdOpts {
        const AugurOptDef *defs;
        guint n;
        OptValue *vals;         /* (n) aligned with defs                      */
        gboolean help;
};

void
augur_cmd_opts_free (AugurCmdOpts *o)
{
        if (!o)
                return;
        for (guint i = 0; i < o->n; i++) {
                g_free (o->vals[i].spelled);
                if (o->vals[i].list)
                        g_ptr_array_unref (o->vals[i].list);
        }
        g_free (o->vals);
        g_free (o);
}

gboolean
augur_cmd_opts_help_wanted (const AugurCmdOpts *o)
{
        return o->help;
}

static gssize
find_long (const AugurOptDef *defs, const char *name, gsize len)
{
        for (gssize i = 0; defs[i].name; i++)
                if (defs[i].type != AUGUR_OPT_DATA && strlen (defs[i].name) == len &&
                    strncmp (defs[i].name, name, len) == 0)
                        return i;
        return -1;
}

static gssize
find_alias (const AugurOptDef *defs, char c)
{
        for (gssize i = 0; defs[i].name; i++)
                if (defs[i].type != AUGUR_OPT_DATA && defs[i].alias && defs[i].alias == c)
                        return i;
        return -1;
}

/* The next DATA row not filled yet, or -1. */
static gssize
next_data (const AugurCmdOpts *o)
{
        for (guint j = 0; j < o->n; j++)
                if (o->defs[j].type == AUGUR_OPT_DATA && !o->vals[j].given)
                        return j;
        return -1;
}

static gboolean
usage (GError **error, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
usage (GError **error, const char *fmt, ...)
{
        g_autofree char *msg = NULL;
        va_list ap;

        va_start (ap, fmt);
        msg = g_strdup_vprintf (fmt, ap);
        va_end (ap);
        g_set_error_literal (error, AUGUR_CMD_OPTS_ERROR, AUGUR_CMD_OPTS_ERROR_USAGE, msg);
        return FALSE;
}

/* An integer as virt-augur always took one: g_ascii_string_to_unsigned
 * (train, model status), or _to_signed when there is a sign (top -n, plot
 * --width took "+5" that way).  Decimal only, no spaces. */
static gboolean
parse_int (const char *text, guint64 lo, guint64 hi, guint64 *ret)
{
        gint64 s;

        if (text[0] == '+' || text[0] == '-') {
                if (!g_ascii_string_to_signed (text, 10, (gint64) MIN (lo, (guint64) G_MAXINT64),
                                               (gint64) MIN (hi, (guint64) G_MAXINT64), &s, NULL))
                        return FALSE;
                *ret = (guint64) s;
                return TRUE;
        }
        return g_ascii_string_to_unsigned (text, 10, lo, hi, ret, NULL);
}

/* Check one given option's final value; fill v. */
static gboolean
check_value (const char *cmd, const AugurOptDef *d, OptValue *v, GError **error)
{
        g_autoptr(GError) local = NULL;
        char *end = NULL;

        switch (d->type) {
        case AUGUR_OPT_INT:
                if (parse_int (v->text, d->imin, d->imax, &v->v.i))
                        return TRUE;
                if (d->expect)
                        return usage (error, "%s: %s: expected %s, got '%s'", cmd, v->spelled, d->expect, v->text);
                return usage (error, "%s: %s: expected an integer in [%" G_GUINT64_FORMAT ", %"
                              G_GUINT64_FORMAT "], got '%s'", cmd, v->spelled, d->imin, d->imax, v->text);
        case AUGUR_OPT_DOUBLE:
                v->v.d = g_ascii_strtod (v->text, &end);
                if (end != v->text && *end == '\0' && v->v.d >= d->min && v->v.d <= d->max)
                        return TRUE;
                if (d->expect)
                        return usage (error, "%s: %s: expected %s, got '%s'", cmd, v->spelled, d->expect, v->text);
                return usage (error, "%s: %s: expected a number in [%g, %g], got '%s'",
                              cmd, v->spelled, d->min, d->max, v->text);
        case AUGUR_OPT_DURATION:
                if (!augur_parse_duration_s (v->text, &v->v.d, &local))
                        return usage (error, "%s: %s: %s", cmd, v->spelled, local->message);
                if (v->v.d < d->min)
                        return usage (error, "%s: %s: at least %g s", cmd, v->spelled, d->min);
                return TRUE;
        case AUGUR_OPT_CHOICE:
                for (guint k = 0; d->choices[k]; k++)
                        if (strcmp (v->text, d->choices[k]) == 0) {
                                v->v.i = k;
                                return TRUE;
                        }
                return usage (error, "%s: %s: expected %s, got '%s'", cmd, v->spelled, d->metavar, v->text);
        case AUGUR_OPT_BOOL:
        case AUGUR_OPT_STRING:
        case AUGUR_OPT_STRV:
        case AUGUR_OPT_DATA:
                return TRUE;
        }
        g_assert_not_reached ();
}

AugurCmdOpts *
augur_cmd_opts_parse (const char *cmd, const AugurOptDef *defs, int argc, char **argv, GError **error)
{
        g_autoptr(AugurCmdOpts) o = g_new0 (AugurCmdOpts, 1);

        g_return_val_if_fail (cmd && defs, NULL);
        o->defs = defs;
        while (defs[o->n].name)
                o->n++;
        o->vals = g_new0 (OptValue, MAX (o->n, 1));

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                const char *inline_value = NULL;
                gssize k = -1;
                OptValue *v;

                if (a[0] == '-' && a[1] == '\0') {
                        /* "-": standard input where the next DATA row takes it. */
                        k = next_data (o);
                        if (k < 0 || !(defs[k].flags & AUGUR_OPT_DASH)) {
                                usage (error, "%s: unknown option '%s'", cmd, a);
                                return NULL;
                        }
                }
                if (a[0] != '-' || a[1] == '\0') {
                        /* Positional: the next DATA row not filled yet. */
                        k = next_data (o);
                        if (k < 0) {
                                usage (error, "%s: unexpected argument '%s'", cmd, a);
                                return NULL;
                        }
                        o->vals[k].given = TRUE;
                        o->vals[k].index = i;
                        o->vals[k].text = a;
                        continue;
                }
                if (strcmp (a, "--help") == 0 || strcmp (a, "-h") == 0) {
                        o->help = TRUE;
                        return g_steal_pointer (&o);
                }
                if (a[1] == '-') {
                        const char *eq = strchr (a + 2, '=');

                        k = find_long (defs, a + 2, eq ? (gsize) (eq - a - 2) : strlen (a + 2));
                        inline_value = eq ? eq + 1 : NULL;
                } else if (a[2] == '\0') {
                        k = find_alias (defs, a[1]);
                }
                if (k < 0) {
                        usage (error, "%s: unknown option '%s'", cmd, a);
                        return NULL;
                }
                v = &o->vals[k];
                g_free (v->spelled);
                v->spelled = inline_value ? g_strndup (a, inline_value - 1 - a) : g_strdup (a);
                v->given = TRUE;
                v->index = i;
                if (defs[k].type == AUGUR_OPT_BOOL) {
                        if (inline_value) {
                                usage (error, "%s: %s takes no value", cmd, v->spelled);
                                return NULL;
                        }
                        continue;
                }
                if (!inline_value) {
                        if (i + 1 >= argc) {
                                usage (error, "%s: %s needs a value", cmd, v->spelled);
                                return NULL;
                        }
                        inline_value = argv[++i];
                }
                v->text = inline_value;
                if (defs[k].type == AUGUR_OPT_STRV) {
                        if (!v->list)
                                v->list = g_ptr_array_new ();
                        g_ptr_array_add (v->list, (gpointer) inline_value);
                        /* AUGUR_OPT_PAIRS: "--set a=1 b=2", the next
                         * KEY=VALUE-shaped arguments are more values. */
                        while ((defs[k].flags & AUGUR_OPT_PAIRS) && i + 1 < argc &&
                               argv[i + 1][0] != '-' && strchr (argv[i + 1], '='))
                                g_ptr_array_add (v->list, argv[++i]);
                }
        }

        for (guint j = 0; j < o->n; j++) {
                const AugurOptDef *d = &defs[j];

                if (!o->vals[j].given) {
                        if (!(d->flags & AUGUR_OPT_REQUIRED))
                                continue;
                        if (d->type == AUGUR_OPT_DATA)
                                usage (error, "%s: missing %s", cmd, d->metavar);
                        else
                                usage (error, "%s: missing --%s %s", cmd, d->name, d->metavar);
                        return NULL;
                }
                if (!check_value (cmd, d, &o->vals[j], error))
                        return NULL;
        }
        for (guint j = 0; j < o->n; j++)
                if (o->vals[j].list)
                        g_ptr_array_add (o->vals[j].list, NULL);
        return g_steal_pointer (&o);
}

/* The value of row name, which must exist and be one of the types given
 * (a programming error otherwise). */
static const OptValue *
lookup (const AugurCmdOpts *o, const char *name, int type1, int type2)
{
        for (guint j = 0; j < o->n; j++) {
                if (strcmp (o->defs[j].name, name) != 0)
                        continue;
                g_assert (type1 < 0 || (int) o->defs[j].type == type1 || (int) o->defs[j].type == type2);
                return &o->vals[j];
        }
        g_error ("virt-augur: no option '%s' in this command's table", name);
}

gboolean
augur_cmd_opts_bool (const AugurCmdOpts *o, const char *name)
{
        return lookup (o, name, AUGUR_OPT_BOOL, AUGUR_OPT_BOOL)->given;
}

gboolean
augur_cmd_opts_choice (const AugurCmdOpts *o, const char *name, guint *ret)
{
        const OptValue *v = lookup (o, name, AUGUR_OPT_CHOICE, AUGUR_OPT_CHOICE);

        if (v->given)
                *ret = (guint) v->v.i;
        return v->given;
}

const char *
augur_cmd_opts_string (const AugurCmdOpts *o, const char *name)
{
        const OptValue *v = lookup (o, name, AUGUR_OPT_STRING, AUGUR_OPT_DATA);

        return v->given ? v->text : NULL;
}

gboolean
augur_cmd_opts_int (const AugurCmdOpts *o, const char *name, guint64 *ret)
{
        const OptValue *v = lookup (o, name, AUGUR_OPT_INT, AUGUR_OPT_INT);

        if (v->given)
                *ret = v->v.i;
        return v->given;
}

gboolean
augur_cmd_opts_double (const AugurCmdOpts *o, const char *name, double *ret)
{
        const OptValue *v = lookup (o, name, AUGUR_OPT_DOUBLE, AUGUR_OPT_DOUBLE);

        if (v->given)
                *ret = v->v.d;
        return v->given;
}

gboolean
augur_cmd_opts_duration (const AugurCmdOpts *o, const char *name, double *ret_s)
{
        const OptValue *v = lookup (o, name, AUGUR_OPT_DURATION, AUGUR_OPT_DURATION);

        if (v->given)
                *ret_s = v->v.d;
        return v->given;
}

const char *const *
augur_cmd_opts_strv (const AugurCmdOpts *o, const char *name)
{
        static const char *const none[] = { NULL };
        const OptValue *v = lookup (o, name, AUGUR_OPT_STRV, AUGUR_OPT_STRV);

        return v->list ? (const char *const *) v->list->pdata : none;
}

gboolean
augur_cmd_opts_has (const AugurCmdOpts *o, const char *name)
{
        return lookup (o, name, -1, -1)->given;
}

int
augur_cmd_opts_index (const AugurCmdOpts *o, const char *name)
{
        const OptValue *v = lookup (o, name, -1, -1);

        return v->given ? v->index : -1;
}

/* ------------------------------------------------------------------ help */

/* Append text word-wrapped to HELP_WIDTH: the first line continues at
 * column col (the caller already wrote that much), the next ones start
 * with indent spaces.  A "\n" in text starts a new line. */
static void
append_wrapped (GString *out, const char *text, gsize col, gsize indent)
{
        g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

        for (guint l = 0; lines[l]; l++) {
                g_auto(GStrv) words = g_strsplit (lines[l], " ", -1);
                gboolean first = TRUE;

                if (l > 0) {
                        g_string_append_c (out, '\n');
                        if (*lines[l])
                                g_string_append_printf (out, "%*s", (int) indent, "");
                        col = indent;
                }
                for (guint w = 0; words[w]; w++) {
                        gsize len = g_utf8_strlen (words[w], -1);

                        if (!*words[w])
                                continue;
                        if (!first && col + 1 + len > HELP_WIDTH) {
                                g_string_append_printf (out, "\n%*s", (int) indent, "");
                                col = indent;
                        } else if (!first) {
                                g_string_append_c (out, ' ');
                                col++;
                        }
                        g_string_append (out, words[w]);
                        col += len;
                        first = FALSE;
                }
        }
        g_string_append_c (out, '\n');
}

/* "[--since DURATION]", "DOMAIN", "--out FILE", "[--set KEY=VALUE]..." */
static char *
synopsis_word (const AugurOptDef *d)
{
        gboolean req = (d->flags & AUGUR_OPT_REQUIRED) != 0;

        if (d->type == AUGUR_OPT_DATA)
                return g_strdup_printf (req ? "%s" : "[%s]", d->metavar);
        if (d->type == AUGUR_OPT_BOOL)
                return g_strdup_printf ("[--%s]", d->name);
        if (d->type == AUGUR_OPT_STRV)
                return g_strdup_printf ("[--%s %s]...", d->name, d->metavar);
        return g_strdup_printf (req ? "--%s %s" : "[--%s %s]", d->name, d->metavar);
}

/* "DOMAIN", "--since DURATION", "-o, --out FILE" */
static char *
option_spelling (const AugurOptDef *d)
{
        g_autofree char *alias = d->alias ? g_strdup_printf ("-%c, ", d->alias) : g_strdup ("");

        if (d->type == AUGUR_OPT_DATA)
                return g_strdup (d->metavar);
        if (d->type == AUGUR_OPT_BOOL)
                return g_strdup_printf ("%s--%s", alias, d->name);
        return g_strdup_printf ("%s--%s %s", alias, d->name, d->metavar);
}

void
augur_cmd_help (GString *out, const char *cmd, const AugurCmdInfo *info, const AugurOptDef *defs)
{
        const gsize indent = strlen ("Usage: virt-augur ");
        gsize col;

        /* The synopsis wraps between words only: "[--from T]" stays whole. */
        g_string_append_printf (out, "Usage: virt-augur %s", cmd);
        col = indent + strlen (cmd);
        for (guint j = 0; defs[j].name; j++) {
                g_autofree char *w = synopsis_word (&defs[j]);
                gsize len = strlen (w);

                if (col + 1 + len > HELP_WIDTH) {
                        g_string_append_printf (out, "\n%*s%s", (int) indent, "", w);
                        col = indent + len;
                } else {
                        g_string_append_printf (out, " %s", w);
                        col += 1 + len;
                }
        }
        g_string_append_c (out, '\n');
        if (info && info->desc) {
                g_string_append (out, "\n  ");
                append_wrapped (out, info->desc, 2, 2);
        } else if (info && info->help) {
                g_string_append_printf (out, "\n  %s.\n", info->help);
        }
        if (!defs[0].name)
                return;
        g_string_append (out, "\nOptions:\n");
        for (guint j = 0; defs[j].name; j++) {
                g_autofree char *sp = option_spelling (&defs[j]);
                gsize len = g_utf8_strlen (sp, -1);

                g_string_append_printf (out, "  %s", sp);
                if (len > OPT_COL_MAX)
                        g_string_append_printf (out, "\n%*s", 2 + OPT_COL_MAX + 2, "");
                else
                        g_string_append_printf (out, "%*s", (int) (OPT_COL_MAX - len + 2), "");
                append_wrapped (out, defs[j].help ? defs[j].help : "", 2 + OPT_COL_MAX + 2, 2 + OPT_COL_MAX + 2);
        }
}
