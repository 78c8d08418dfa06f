/* cli-json.c — virt-augur's JSON writer (see cli-json.h).  A walk over a
 * JsonNode tree; json-glib builds and parses, only the writing is ours. */
#include "config.h"

#include "cli-json.h"

#include <math.h>
#include <string.h>

/* Significant digits of a double's fraction (cli-json.h, NUMBERS). */
#define SIGNIFICANT_DIGITS 6
/* The most digits a double holds (DBL_DECIMAL_DIG). */
#define DOUBLE_DIGITS_MAX 17

static void
append_number (GString *out, double v)
{
        char fmt[16], buf[G_ASCII_DTOSTR_BUF_SIZE];
        int digits = SIGNIFICANT_DIGITS;

        if (!isfinite (v)) {
                g_string_append (out, "null");
                return;
        }
        if (fabs (v) >= 1)
                digits = MAX (digits, MIN ((int) floor (log10 (fabs (v))) + 1, DOUBLE_DIGITS_MAX));
        g_snprintf (fmt, sizeof fmt, "%%.%dg", digits);
        g_string_append (out, g_ascii_formatd (buf, sizeof buf, fmt, v));
}

static void
append_string (GString *out, const char *s)
{
        g_string_append_c (out, '"');
        for (const char *p = s; *p; p++) {
                unsigned char c = (unsigned char) *p;

                if (c == '"' || c == '\\')
                        g_string_append_printf (out, "\\%c", c);
                else if (c == '\n')
                        g_string_append (out, "\\n");
                else if (c == '\r')
                        g_string_append (out, "\\r");
                else if (c == '\t')
                        g_string_append (out, "\\t");
                else if (c < 0x20 || c == 0x7f)
                        g_string_append_printf (out, "\\u%04x", c);
                else
                        g_string_append_c (out, (char) c);
        }
        g_string_append_c (out, '"');
}

static void
newline (GString *out, gboolean pretty, guint level)
{
        if (!pretty)
                return;
        g_string_append_c (out, '\n');
        for (guint i = 0; i < level; i++)
                g_string_append (out, "  ");
}

static void
append_node (GString *out, JsonNode *n, gboolean pretty, guint level)
{
        switch (json_node_get_node_type (n)) {
        case JSON_NODE_NULL:
                g_string_append (out, "null");
                return;
        case JSON_NODE_VALUE:
                switch (json_node_get_value_type (n)) {
                case G_TYPE_INT64:
                        g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (n));
                        return;
                case G_TYPE_DOUBLE:
                        append_number (out, json_node_get_double (n));
                        return;
                case G_TYPE_BOOLEAN:
                        g_string_append (out, json_node_get_boolean (n) ? "true" : "false");
                        return;
                case G_TYPE_STRING:
                        append_string (out, json_node_get_string (n));
                        return;
                default:
                        g_assert_not_reached ();        /* json-glib holds no other values */
                }
        case JSON_NODE_ARRAY: {
                JsonArray *a = json_node_get_array (n);
                guint len = json_array_get_length (a);

                g_string_append_c (out, '[');
                for (guint i = 0; i < len; i++) {
                        if (i)
                                g_string_append_c (out, ',');
                        newline (out, pretty, level + 1);
                        append_node (out, json_array_get_element (a, i), pretty, level + 1);
                }
                if (len)
                        newline (out, pretty, level);
                g_string_append_c (out, ']');
                return;
        }
        case JSON_NODE_OBJECT: {
                JsonObject *o = json_node_get_object (n);
                /* In the order the members were added (json-glib keeps it). */
                g_autoptr(GList) names = json_object_get_members (o);

                g_string_append_c (out, '{');
                for (GList *l = names; l; l = l->next) {
                        if (l != names)
                                g_string_append_c (out, ',');
                        newline (out, pretty, level + 1);
                        append_string (out, l->data);
                        g_string_append (out, pretty ? " : " : ":");
                        append_node (out, json_object_get_member (o, l->data), pretty, level + 1);
                }
                if (names)
                        newline (out, pretty, level);
                g_string_append_c (out, '}');
                return;
        }
        }
        g_assert_not_reached ();
}

char *
augur_cli_json_text (JsonNode *root, gboolean pretty)
{
        GString *out = g_string_new (NULL);

        append_node (out, root, pretty, 0);
        return g_string_free (out, FALSE);
}

void
augur_cli_json_print (JsonBuilder *b, gboolean pretty)
{
        g_autoptr(JsonNode) root = json_builder_get_root (b);
        g_autofree char *text = augur_cli_json_text (root, pretty);

        g_print ("%s\n", text);
}

void
augur_cli_json_domain (JsonBuilder *b, const char *name, const char *uuid)
{
        json_builder_set_member_name (b, "domain");
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "name");
        if (name)
                json_builder_add_string_value (b, name);
        else
                json_builder_add_null_value (b);
        json_builder_set_member_name (b, "uuid");
        if (uuid)
                json_builder_add_string_value (b, uuid);
        else
                json_builder_add_null_value (b);
        json_builder_end_object (b);
}

void
augur_cli_json_num (JsonBuilder *b, const char *key, double v)
{
        json_builder_set_member_name (b, key);
        if (isnan (v))
                json_builder_add_null_value (b);
        else
                json_builder_add_double_value (b, v);
}

void
augur_cli_json_count (JsonBuilder *b, const char *key, gint64 v)
{
        json_builder_set_member_name (b, key);
        if (v < 0)
                json_builder_add_null_value (b);
        else
                json_builder_add_int_value (b, v);
}
