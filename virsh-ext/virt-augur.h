/* virt-augur.h — the contract between virt-augur's dispatcher (main.c) and
 * its command groups (cmd-*.c).
 *
 * Conventions (virsh's idiom): errors go to stderr prefixed "error: ", the
 * exit code is 0 on success, 1 on a runtime error, 2 on bad usage; tables
 * are aligned by default and every command takes --json.  A domain is named
 * by exact name first, then UUID, then numeric id.
 */
#pragma once

#include <glib.h>

#include "cmd-opts.h"
#include "units.h"

typedef struct {
        const char *uri;          /* -c/--connect, NULL = default            */
        const char *db_path;      /* --db, NULL = default state path         */
        const char *socket_path;  /* --socket, NULL = default                */
        gboolean json;            /* --json given anywhere on the line       */
        gboolean quiet;           /* -q/--quiet: tables without their header */
} AugurCliGlobal;

/* A command handler: the options its table declared, parsed and checked
 * by main.c (cmd-opts.h).  Returns the process exit code. */
typedef int (*AugurCmdFunc) (const AugurCliGlobal *g, const AugurCmdOpts *opts);

/* One command (virsh's vshCmdDef): its name, handler, option table and
 * help.  `virt-augur help`, `help CMD` and `CMD --help` print the tables. */
typedef struct {
        const char *name;
        AugurCmdFunc handler;
        const AugurOptDef *opts;      /* terminated by { NULL }              */
        const AugurCmdInfo *info;
} AugurCmdDef;

/* A libvirt domain with a sample this recent is live (ms): `list` without
 * --all shows only those, and `top` without augurd lists them.  Older
 * ones are stopped, gone or no longer watched. */
#define AUGUR_CLI_LIVE_MS (10 * 60 * 1000)

/* Report an error virsh-style ("error: ...") and return exit code 1. */
int augur_cli_error (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
/* Same for usage errors; returns 2. */
int augur_cli_usage (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
/* The database path to use: --db, else $AUGUR_DB, else the default. */
const char *augur_cli_db_path (const AugurCliGlobal *g);

/* Used memory in balloon terms (common/units.h), from a history row, as
 * the resize loop compares it with the balloon: plot and top show it next
 * to the allocation and the forecast, which are in the same terms.  NAN in,
 * NAN out. */
static inline double
augur_cli_used_balloon_kib (double used_kib, double balloon_kib, double memtotal_kib, double maximum_kib)
{
        return used_kib + augur_units_reservation_kib (balloon_kib, memtotal_kib, maximum_kib);
}

/* An aligned table (cmd-history.c): add rows of cells (owned GStrv, the
 * first row is the header), then print with each column as wide as its
 * widest cell and a rule under the header, or without the header and the
 * rule under -q (virsh -q); print frees the rows. */
typedef struct {
        GPtrArray *rows;     /* of GStrv */
        guint ncols;
} AugurCliTable;

void augur_cli_table_init (AugurCliTable *t, guint ncols);
/* (transfer full) unix ms as "YYYY-MM-DD HH:MM:SS" UTC; "-" when negative
 * (never), "?" when out of range. */
char *augur_cli_format_ms (gint64 ms);
void augur_cli_table_add (AugurCliTable *t, char **cells);
void augur_cli_table_print (AugurCliTable *t, const AugurCliGlobal *g);

/* The series a command reads (train, eval, forecast --host): trace files,
 * or the history store when traces is NULL. */
typedef struct {
        const char *traces;        /* --traces PATH, or NULL = the store     */
        const char *format;        /* --format, default auto                 */
        const char *start;         /* --start (Azure, PlanetLab, Alibaba)    */
        guint max_series;          /* --max-series, 0 = all                  */
} AugurCliInput;

/* The option rows of AugurCliInput, for a command's table. */
#define AUGUR_CLI_INPUT_OPT_ROWS \
        { .name = "traces", .type = AUGUR_OPT_STRING, .metavar = "PATH", \
          .help = "trace files to read (a file or a directory); without it, the history store " \
                  "(--db): 5-minute rollups at a 300 s step, 1-minute at 60 s, else raw" }, \
        { .name = "format", .type = AUGUR_OPT_STRING, .metavar = "FORMAT", \
          .help = "with --traces: bitbrains, azure, augur, planetlab or alibaba (default: auto)" }, \
        { .name = "start", .type = AUGUR_OPT_STRING, .metavar = "T", \
          .help = "with --traces: the first step's time (unix seconds or ISO 8601) for the " \
                  "formats with relative timestamps (Azure, PlanetLab, Alibaba)" }, \
        { .name = "max-series", .type = AUGUR_OPT_INT, .metavar = "N", .imin = 0, .imax = G_MAXUINT, \
          .help = "read at most N series (default 0: all)" }

void augur_cli_input_get (AugurCliInput *in, const AugurCmdOpts *opts);
/* (transfer full) every series of in (AugurSeries*): from the traces, or
 * from the store's 5-minute rollups at a 300 s step, 1-minute at 60 s,
 * else raw samples; a summary of what was read on stderr unless quiet.
 * cmd-model.c. */
GPtrArray *augur_cli_load_series (const AugurCliGlobal *g, const AugurCliInput *in, gint64 step_s,
                                  gboolean quiet, GError **error);

/* `model show FILE` (cmd-model.c, beside train's printout of the same
 * gate), called by `model` (cmd-retrain.c). */
int augur_cli_model_show (const AugurCliGlobal *g, const char *path);

/* `forecast --host` (cmd-host-forecast.c), called by cmd_forecast. */
int augur_cli_forecast_host (const AugurCliGlobal *g, const AugurCmdOpts *opts);

/* Command groups: each cmd-*.c exports its table, terminated by {NULL}. */
extern const AugurCmdDef augur_cmds_history[];   /* list status history      */
extern const AugurCmdDef augur_cmds_trace[];     /* import export            */
extern const AugurCmdDef augur_cmds_model[];     /* train eval (model owner) */
extern const AugurCmdDef augur_cmds_retrain[];   /* model status (retraining) */
extern const AugurCmdDef augur_cmds_resize[];    /* forecast actions explain */
extern const AugurCmdDef augur_cmds_policy[];    /* policy (libvirt metadata) */
extern const AugurCmdDef augur_cmds_plot[];      /* plot                     */
extern const AugurCmdDef augur_cmds_top[];       /* top                      */
extern const AugurCmdDef augur_cmds_replay[];    /* replay                   */
extern const AugurCmdDef augur_cmds_report[];    /* report (savings)         */
