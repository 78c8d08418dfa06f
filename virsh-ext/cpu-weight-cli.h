/* cpu-weight-cli.h — what virt-augur says of the CPU weight rows
 * (actuations of kind AUGUR_CPU_SHARES_KIND, plugin/resize-cpu.h AUDIT):
 * the actions table and JSON objects, explain's sentence and report's
 * paragraph.  One file for the words, so actions, explain and report say
 * the same thing; the commands' own files only call it. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "virt-augur.h"
#include "store.h"
#include "store-decisions.h"
#include "replay.h"

/* The CPU weight rows among acts (a new array; transfer full). */
GArray *augur_cli_cpu_weight_rows (const GArray *acts);

/* actions: rows as JSON objects {"ts", domain, "kind": "cpu-shares",
 * "from_shares", "to_shares", "reason"} appended to an open array. */
void augur_cli_cpu_weight_json (JsonBuilder *b, AugurStore *st, const GArray *rows);
/* actions: the "CPU weight:" table; nothing when rows is empty. */
void augur_cli_cpu_weight_table (AugurStore *st, const GArray *rows, const AugurCliGlobal *g);

/* explain: one sentence on the guest's latest CPU weight row, if any. */
void augur_cli_cpu_weight_explain (AugurStore *st, gint64 domain_id);

/* report: per guest with rows in [from_ms, to_ms], raises, restores,
 * yields and the time its weight was raised.  Text: a paragraph (nothing
 * without rows); JSON: the member "cpu_weight": [...] appended to s (a
 * hand-written object, cmd-report.c). */
void augur_cli_cpu_weight_report (AugurStore *st, gint64 from_ms, gint64 to_ms, GString *json,
                                  const AugurCliGlobal *g);

/* replay --contended-host Q: the contended host (policy/replay-cpu.h)
 * over r with cfg, printed (a table, or one JSON line
 * {"contended_host": {...}} after the result's).  FALSE after
 * printing the error. */
gboolean augur_cli_replay_cpu (const AugurCliGlobal *g, AugurReplay *r, const AugurReplayConfig *cfg, double q);
