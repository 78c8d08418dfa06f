/* main.c — virt-augur's dispatcher: global options, then one command.
 *
 *   virt-augur [-c URI] [--db PATH] [--json] COMMAND [ARGS…]
 *
 * Global options are accepted before or after the command (so
 * `virt-augur history vm1 --db x.db` works, as the data-path issue asks).
 * Commands live in cmd-*.c tables (name, handler, option table, help);
 * this file routes, parses the command's options with its table
 * (cmd-opts.h) and prints the help generated from the tables. */
#include "config.h"

#include "virt-augur.h"

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define AUGUR_DEFAULT_DB LOCALSTATEDIR "/lib/augur/augur.db"

static const AugurCmdDef *const groups[] = {
        augur_cmds_history,
        augur_cmds_trace,
        augur_cmds_model,
        augur_cmds_retrain,
        augur_cmds_resize,
        augur_cmds_policy,
        augur_cmds_plot,
        augur_cmds_top,
        augur_cmds_replay,
        augur_cmds_report,
};

int
augur_cli_error (const char *fmt, ...)
{
        va_list ap;

        fputs ("error: ", stderr);
        va_start (ap, fmt);
        vfprintf (stderr, fmt, ap);
        va_end (ap);
        fputc ('\n', stderr);
        return 1;
}

int
augur_cli_usage (const char *fmt, ...)
{
        va_list ap;

        fputs ("error: ", stderr);
        va_start (ap, fmt);
        vfprintf (stderr, fmt, ap);
        va_end (ap);
        fputs ("\n(see 'virt-augur help')\n", stderr);
        return 2;
}

const char *
augur_cli_db_path (const AugurCliGlobal *g)
{
        const char *env = g_getenv ("AUGUR_DB");

        if (g->db_path)
                return g->db_path;
        if (env && *env)
                return env;
        return AUGUR_DEFAULT_DB;
}

static const AugurCmdDef *
find_command (const char *name)
{
        for (gsize i = 0; i < G_N_ELEMENTS (groups); i++)
                for (const AugurCmdDef *c = groups[i]; c->name; c++)
                        if (strcmp (c->name, name) == 0)
                                return c;
        return NULL;
}

/* `virt-augur help CMD` and `virt-augur CMD --help`: the command's table. */
static int
command_help (const AugurCmdDef *c)
{
        g_autoptr(GString) out = g_string_new (NULL);

        augur_cmd_help (out, c->name, c->info, c->opts);
        g_string_append (out, "\nGlobal options, before or after the command: -c/--connect URI, --db PATH,\n"
                              "--socket PATH, --json (see 'virt-augur help').\n");
        fputs (out->str, stdout);
        return 0;
}

/* `virt-augur help [CMD]`: every command's one line, or one command. */
static int
cmd_help (const char *topic)
{
        if (topic) {
                const AugurCmdDef *c = find_command (topic);

                if (!c)
                        return augur_cli_usage ("help: unknown command '%s'", topic);
                return command_help (c);
        }
        g_print ("Usage: virt-augur [-c URI] [--db PATH] [--json] COMMAND [ARGS...]\n\n"
                 "Commands:\n");
        for (gsize i = 0; i < G_N_ELEMENTS (groups); i++)
                for (const AugurCmdDef *c = groups[i]; c->name; c++)
                        g_print ("  %-10s %s\n", c->name, c->info->help);
        g_print ("\nA domain is named by name, UUID or numeric id.  --db defaults to $AUGUR_DB,\n"
                 "then " AUGUR_DEFAULT_DB ".  'virt-augur help COMMAND' (or COMMAND --help)\n"
                 "lists a command's options.\n");
        return 0;
}

/* Take a global option at argv[*i] (with its value), or return FALSE. */
static gboolean
take_global (AugurCliGlobal *g, int argc, char **argv, int *i, int *ret_exit)
{
        const char *a = argv[*i];
        const char **slot = NULL;
        const char *opt = NULL;

        if (strcmp (a, "--json") == 0) {
                g->json = TRUE;
                return TRUE;
        }
        if (strcmp (a, "-c") == 0 || strcmp (a, "--connect") == 0)
                slot = &g->uri, opt = a;
        else if (strcmp (a, "--db") == 0)
                slot = &g->db_path, opt = a;
        else if (strcmp (a, "--socket") == 0)
                slot = &g->socket_path, opt = a;
        else if (g_str_has_prefix (a, "--connect=")) {
                g->uri = a + strlen ("--connect=");
                return TRUE;
        } else if (g_str_has_prefix (a, "--db=")) {
                g->db_path = a + strlen ("--db=");
                return TRUE;
        } else if (g_str_has_prefix (a, "--socket=")) {
                g->socket_path = a + strlen ("--socket=");
                return TRUE;
        }
        if (!slot)
                return FALSE;
        if (*i + 1 >= argc) {
                *ret_exit = augur_cli_usage ("option %s needs a value", opt);
                return TRUE;
        }
        *slot = argv[++*i];
        return TRUE;
}

int
main (int argc, char **argv)
{
        AugurCliGlobal g = { 0 };
        g_autoptr(GPtrArray) rest = g_ptr_array_new ();
        g_autoptr(AugurCmdOpts) opts = NULL;
        g_autoptr(GError) error = NULL;
        const AugurCmdDef *c;
        int exit_code = -1;

        setlocale (LC_ALL, "");
        for (int i = 1; i < argc; i++) {
                if (strcmp (argv[i], "--") == 0) {
                        for (i++; i < argc; i++)
                                g_ptr_array_add (rest, argv[i]);
                        break;
                }
                if (take_global (&g, argc, argv, &i, &exit_code)) {
                        if (exit_code >= 0)
                                return exit_code;
                        continue;
                }
                g_ptr_array_add (rest, argv[i]);
        }
        if (rest->len == 0 || strcmp (rest->pdata[0], "help") == 0 ||
            strcmp (rest->pdata[0], "--help") == 0 || strcmp (rest->pdata[0], "-h") == 0)
                return cmd_help (rest->len > 1 ? rest->pdata[1] : NULL);
        if (strcmp (rest->pdata[0], "--version") == 0 || strcmp (rest->pdata[0], "version") == 0) {
                g_print ("virt-augur %s\n", PACKAGE_VERSION);
                return 0;
        }
        if (!(c = find_command (rest->pdata[0])))
                return augur_cli_usage ("unknown command: '%s'", (char *) rest->pdata[0]);
        if (!(opts = augur_cmd_opts_parse (c->name, c->opts, (int) rest->len, (char **) rest->pdata, &error))) {
                /* A usage error (exit 2) that points at the command's help. */
                g_printerr ("error: %s\n(see 'virt-augur help %s')\n", error->message, c->name);
                return 2;
        }
        if (augur_cmd_opts_help_wanted (opts))
                return command_help (c);
        return c->handler (&g, opts);
}
