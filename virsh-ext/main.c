/* main.c — virt-augur's dispatcher: global options, then one command.
 *
 *   virt-augur [-c URI] [--db PATH] [--socket PATH] [--json] [-q] COMMAND [ARGS…]
 *   virt-augur -v | -V | --version[=short|long]
 *
 * Global options are accepted before or after the command (so
 * `virt-augur history vm1 --db x.db` works);
 * the version options, as virsh's, only before it.  Commands live in
 * cmd-*.c tables (name, handler, option table, help), help and version in
 * this file's own; this file routes, parses the command's options with its
 * table (cmd-opts.h) and prints the help generated from the tables.  A
 * word in the command's place that starts with '-' is an unknown option,
 * not an unknown command. */
#include "config.h"

#include "virt-augur.h"

#include <cairo.h>
#include <json-glib/json-glib.h>
#include <libvirt/libvirt.h>
#include <locale.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store.h"

#define AUGUR_DEFAULT_DB LOCALSTATEDIR "/lib/augur/augur.db"

extern const AugurCmdDef augur_cmds_main[];

static const AugurCmdDef *const groups[] = {
        augur_cmds_main,
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
                              "--socket PATH, --json, -q/--quiet (see 'virt-augur help').\n");
        fputs (out->str, stdout);
        return 0;
}

/* `virt-augur help [CMD]`: every command's one line and the global
 * options, or one command. */
static int
general_help (void)
{
        g_print ("Usage: virt-augur [-c URI] [--db PATH] [--socket PATH] [--json] [-q]\n"
                 "                  COMMAND [ARGS...]\n"
                 "       virt-augur -v | -V | --version[=short|long]\n\n"
                 "Commands:\n");
        for (gsize i = 0; i < G_N_ELEMENTS (groups); i++)
                for (const AugurCmdDef *c = groups[i]; c->name; c++)
                        g_print ("  %-10s %s\n", c->name, c->info->help);
        g_print ("\nGlobal options (before or after the command):\n"
                 "  -c, --connect URI   libvirt or pve:/// URI (policy; default: libvirt's)\n"
                 "  --db PATH           history database (default: $AUGUR_DB, then\n"
                 "                      " AUGUR_DEFAULT_DB ")\n"
                 "  --socket PATH       augurd's socket (default: $AUGUR_SOCKET, then [daemon]\n"
                 "                      socket in augur.conf, then\n"
                 "                      " RUNSTATEDIR "/augur/augurd.sock)\n"
                 "  --json              machine-readable output\n"
                 "  -q, --quiet         tables without their header (for scripts)\n"
                 "Before the command only:\n"
                 "  -v, --version[=short]  the version number\n"
                 "  -V, --version=long     the version and the libraries built and running with\n"
                 "\nA domain is named by name, UUID or numeric id.  'virt-augur help COMMAND'\n"
                 "(or COMMAND --help) lists a command's options.\n");
        return 0;
}

static const AugurOptDef opts_help[] = {
        { .name = "command", .type = AUGUR_OPT_DATA, .metavar = "COMMAND",
          .help = "the command to describe; without it, every command and the global options" },
        { NULL },
};

static const AugurCmdInfo info_help = {
        .help = "the commands, or one command's options",
        .desc = "Without COMMAND: every command with one line, and the global options.  With "
                "COMMAND (the same as COMMAND --help): its synopsis, description and every option "
                "with its default, from the table the command parses its options with.",
};

static int
cmd_help (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        const char *topic = augur_cmd_opts_string (opts, "command");
        const AugurCmdDef *c;

        if (!topic)
                return general_help ();
        if (!(c = find_command (topic)))
                return augur_cli_usage ("help: unknown command '%s'", topic);
        return command_help (c);
}

/* virsh -V: the version, then what it was built with and runs with. */
static void
print_long_version (void)
{
        unsigned long lv = 0;

        g_print ("virt-augur %s, the command-line tool of augur\n", PACKAGE_VERSION);
        g_print ("Built with: libvirt %d.%d.%d, GLib %d.%d.%d, json-glib %s, SQLite %s, cairo %s\n",
                 LIBVIR_VERSION_NUMBER / 1000000, LIBVIR_VERSION_NUMBER / 1000 % 1000,
                 LIBVIR_VERSION_NUMBER % 1000, GLIB_MAJOR_VERSION, GLIB_MINOR_VERSION, GLIB_MICRO_VERSION,
                 JSON_VERSION_S, SQLITE_VERSION, CAIRO_VERSION_STRING);
        if (virGetVersion (&lv, NULL, NULL) < 0)
                lv = 0;
        g_print ("Running with: libvirt %lu.%lu.%lu, GLib %u.%u.%u, SQLite %s, cairo %s\n",
                 lv / 1000000, lv / 1000 % 1000, lv % 1000, glib_major_version, glib_minor_version,
                 glib_micro_version, sqlite3_libversion (), cairo_version_string ());
        g_print ("History database schema: version %d\n", augur_store_schema_version ());
}

static const AugurOptDef opts_version[] = {
        { NULL },
};

static const AugurCmdInfo info_version = {
        .help = "the version and the libraries it was built and runs with",
        .desc = "The version, the libraries virt-augur was built with and runs with, and the "
                "history database's schema version it reads (as -V).",
};

static int
cmd_version (const AugurCliGlobal *g, const AugurCmdOpts *opts)
{
        print_long_version ();
        return 0;
}

const AugurCmdDef augur_cmds_main[] = {
        { "help", cmd_help, opts_help, &info_help },
        { "version", cmd_version, opts_version, &info_version },
        { NULL },
};

/* -v, -V, --version[=short|long] before the command: TRUE (and the exit
 * code) when argv[i] is one of them. */
static gboolean
take_version (const char *a, int *ret_exit)
{
        if (strcmp (a, "-v") == 0 || strcmp (a, "--version") == 0 || strcmp (a, "--version=short") == 0) {
                g_print ("%s\n", PACKAGE_VERSION);
                *ret_exit = 0;
                return TRUE;
        }
        if (strcmp (a, "-V") == 0 || strcmp (a, "--version=long") == 0) {
                print_long_version ();
                *ret_exit = 0;
                return TRUE;
        }
        if (g_str_has_prefix (a, "--version=")) {
                *ret_exit = augur_cli_usage ("--version takes short or long, not '%s'", a + strlen ("--version="));
                return TRUE;
        }
        return FALSE;
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
        if (strcmp (a, "-q") == 0 || strcmp (a, "--quiet") == 0) {
                g->quiet = TRUE;
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
                if (rest->len == 0 && take_version (argv[i], &exit_code))
                        return exit_code;
                if (take_global (&g, argc, argv, &i, &exit_code)) {
                        if (exit_code >= 0)
                                return exit_code;
                        continue;
                }
                g_ptr_array_add (rest, argv[i]);
        }
        if (rest->len == 0 || strcmp (rest->pdata[0], "--help") == 0 || strcmp (rest->pdata[0], "-h") == 0)
                return general_help ();
        if (((char *) rest->pdata[0])[0] == '-')
                return augur_cli_usage ("unknown option '%s'", (char *) rest->pdata[0]);
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
