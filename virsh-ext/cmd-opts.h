/* cmd-opts.h — virt-augur's option tables: one parser for every command,
 * and the help generated from the same tables.
 *
 * This is virsh's shape (tools/virsh-domain-monitor.c: vshCmdInfo,
 * vshCmdOptDef, vshCmdDef): per command an info struct (one line for
 * `virt-augur help`, a paragraph for `help CMD`), an option table and a
 * handler that receives the parsed options through typed getters.  The
 * handler never sees argv; the table is the only place an option is named.
 *
 * What the parser does, for a command's arguments (argv[0] is the command
 * name; the global options were removed by main.c):
 *   - "--name VALUE", "--name=VALUE" and, where the table gives an alias,
 *     "-x VALUE".  A value is the next argument whatever it looks like
 *     ("--knob -0.5").  A flag takes no value.  A repeated option: the last
 *     one wins, except AUGUR_OPT_STRV, which keeps every value in order;
 *     with AUGUR_OPT_PAIRS, "--set a=1 b=2" is "--set a=1 --set b=2" (an
 *     argument with '=' that does not start with '-' after a value is one
 *     more value, so a positional argument after them must hold no '=').
 *   - Any other argument is positional and fills the next AUGUR_OPT_DATA
 *     row.  "-" alone is positional only where the next DATA row says
 *     AUGUR_OPT_DASH (import's PATH: standard input); elsewhere it is an
 *     unknown option, as it always was.
 *   - "--help" or "-h" in an option's place stops parsing: the caller
 *     prints augur_cmd_help() instead of running the command.
 *   - Only then are values checked, each option's final value once, in
 *     table order: required rows present, integers and numbers in their
 *     range, durations parsed, a choice one of its words.  So every usage error is reported before a
 *     handler opens a file, and names the command and the option.
 * Values that depend on other options (--since vs --from, a trace format
 * that only matters with --traces) stay AUGUR_OPT_STRING and are checked
 * by the handler, as before the tables existed.
 *
 * What it is not: getopt.  No bundled short flags (-abc), no abbreviations
 * of long names, no option that takes an optional value.
 */
#pragma once

#include <glib.h>

#define AUGUR_CMD_OPTS_ERROR (augur_cmd_opts_error_quark ())
GQuark augur_cmd_opts_error_quark (void);

typedef enum {
        AUGUR_CMD_OPTS_ERROR_USAGE,     /* the caller exits 2 (virt-augur.h) */
} AugurCmdOptsError;

typedef enum {
        AUGUR_OPT_BOOL,       /* --name: a flag                                   */
        AUGUR_OPT_STRING,     /* --name VALUE, checked by the handler             */
        AUGUR_OPT_INT,        /* --name N: decimal integer in [imin, imax]        */
        AUGUR_OPT_DOUBLE,     /* --name X: a number (g_ascii_strtod) in [min, max] */
        AUGUR_OPT_DURATION,   /* --name 90s|15m|1h|2d (augur_parse_duration_s), at
                               * least min seconds                                */
        AUGUR_OPT_STRV,       /* --name VALUE, repeatable: every value, in order  */
        AUGUR_OPT_DATA,       /* a positional argument, filled in table order     */
        AUGUR_OPT_CHOICE,     /* --name WORD, one of choices[] (the row's metavar
                               * lists them): the getter gives its index         */
} AugurOptType;

typedef enum {
        AUGUR_OPT_REQUIRED = 1 << 0,    /* missing = usage error                 */
        AUGUR_OPT_DASH = 1 << 1,        /* DATA: "-" is a value (standard input) */
        AUGUR_OPT_PAIRS = 1 << 2,       /* STRV of KEY=VALUE: "--set a=1 b=2",
                                         * the arguments after the value that
                                         * hold '=' and do not start with '-'
                                         * are more values                      */
} AugurOptFlags;

/* One row of a command's option table; the table ends with { NULL }. */
typedef struct {
        const char *name;       /* long name without "--"; for DATA the key    */
        AugurOptType type;
        unsigned int flags;     /* AugurOptFlags                               */
        char alias;             /* short form ('o' for -o), 0 for none         */
        const char *metavar;    /* the value in help and errors: "PATH",
                                 * "raw|1m|5m"; for DATA the argument's name   */
        const char *help;       /* `help CMD`: what it does, its default       */
        guint64 imin, imax;     /* AUGUR_OPT_INT: inclusive range              */
        double min, max;        /* AUGUR_OPT_DOUBLE: inclusive range;
                                 * AUGUR_OPT_DURATION: min (seconds) only      */
        const char *expect;     /* errors say "expected EXPECT, got 'v'"
                                 * instead of the range; NULL = the range      */
        const char *const *choices; /* AUGUR_OPT_CHOICE: the words, NULL-ended;
                                 * a word's index is the value (an enum's order) */
} AugurOptDef;

/* What `virt-augur help` and `help CMD` say about a command. */
typedef struct {
        const char *help;       /* one line, lower case, no final period       */
        const char *desc;       /* paragraphs for `help CMD` (wrapped when
                                 * printed; "\n\n" between paragraphs), or NULL */
} AugurCmdInfo;

typedef struct _AugurCmdOpts AugurCmdOpts;

/* Parse argv[1..argc-1] of command cmd against defs.  Returns (transfer
 * full) the options, or NULL with error (AUGUR_CMD_OPTS_ERROR_USAGE, a
 * message that starts with "cmd: " and names the option or argument).
 * The result borrows the strings of argv, which must outlive it.  When it
 * says augur_cmd_opts_help_wanted(), nothing after --help was read. */
AugurCmdOpts *augur_cmd_opts_parse (const char *cmd, const AugurOptDef *defs,
                                    int argc, char **argv, GError **error);
void augur_cmd_opts_free (AugurCmdOpts *o);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AugurCmdOpts, augur_cmd_opts_free)

gboolean augur_cmd_opts_help_wanted (const AugurCmdOpts *o);

/* Typed getters.  name must be a row of the table the options were parsed
 * with, of the getter's type (a programming error otherwise: g_assert).
 * Those that return gboolean return FALSE when the option was not given
 * and then leave *ret alone, so a default set before the call stays. */
gboolean augur_cmd_opts_bool (const AugurCmdOpts *o, const char *name);
/* AUGUR_OPT_STRING or AUGUR_OPT_DATA; NULL when not given. */
const char *augur_cmd_opts_string (const AugurCmdOpts *o, const char *name);
gboolean augur_cmd_opts_int (const AugurCmdOpts *o, const char *name, guint64 *ret);
gboolean augur_cmd_opts_double (const AugurCmdOpts *o, const char *name, double *ret);
gboolean augur_cmd_opts_duration (const AugurCmdOpts *o, const char *name, double *ret_s);
/* AUGUR_OPT_CHOICE: the index of the word given in the row's choices. */
gboolean augur_cmd_opts_choice (const AugurCmdOpts *o, const char *name, guint *ret);
/* AUGUR_OPT_STRV: the values in the order given; never NULL (empty). */
const char *const *augur_cmd_opts_strv (const AugurCmdOpts *o, const char *name);
/* Whether the option was given (any type). */
gboolean augur_cmd_opts_has (const AugurCmdOpts *o, const char *name);
/* The argv index of the option's last occurrence, -1 when not given: for
 * two options where the later one wins (top's --once and -n). */
int augur_cmd_opts_index (const AugurCmdOpts *o, const char *name);

/* Append `virt-augur help CMD`: the usage line (every option, wrapped),
 * the description and one line per option, from the same table the
 * parser reads.  The global options are the caller's to add. */
void augur_cmd_help (GString *out, const char *cmd, const AugurCmdInfo *info,
                     const AugurOptDef *defs);
