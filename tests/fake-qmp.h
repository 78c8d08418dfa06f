/* fake-qmp.h — a fake QEMU monitor for tests: one thread listening on a
 * unix socket, serving one client at a time as QEMU does, answering
 * commands from a table and recording every command it received.  Modes
 * misbehave on purpose (silence, garbage, an oversize line, a wrong id). */
#pragma once

#include <glib.h>

typedef enum {
        FAKE_QMP_NORMAL,
        FAKE_QMP_SILENT,                /* accept, never write                */
        FAKE_QMP_GARBAGE_GREETING,      /* "this is not json" as the greeting */
        FAKE_QMP_GARBAGE_REPLY,         /* greeting ok, then garbage          */
        FAKE_QMP_OVERSIZE,              /* greeting ok, then a 1 MiB line     */
        FAKE_QMP_WRONG_ID,              /* replies carry another id           */
        FAKE_QMP_EVENTS,                /* an event line before every reply   */
        FAKE_QMP_QGA,                   /* a guest agent: no greeting, a stale
                                         * reply first, guest-sync-delimited
                                         * answered after 0xFF               */
} FakeQmpMode;

typedef struct FakeQmp FakeQmp;

/* Listen on path (removed first) in a new thread. */
FakeQmp *fake_qmp_new (const char *path, FakeQmpMode mode);
/* Stop the thread, remove the socket, free.  NULL-safe. */
void fake_qmp_free (FakeQmp *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeQmp, fake_qmp_free)

/* How to answer command: member is the JSON text spliced after the id,
 * e.g. "\"return\": {\"actual\": 1024}" or "\"error\": {...}".  A
 * command without an entry answers "\"return\": {}".  The command
 * "(greeting)" replaces the greeting line (give it whole, with "\r\n"). */
void fake_qmp_answer (FakeQmp *f, const char *command, const char *member);
/* The commands received, in order, each "name" or "name {args json}"
 * (qmp_capabilities included); transfer full. */
char **fake_qmp_received (FakeQmp *f);
/* Sessions accepted so far. */
guint fake_qmp_sessions (FakeQmp *f);
