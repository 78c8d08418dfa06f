/* fuzz-driver.h — the plain (automake) driver every fuzz target shares.
 *
 * Each tests/fuzz-*.c is one libFuzzer target (LLVMFuzzerTestOneInput,
 * built by tests/run-fuzz.sh with -DAUGUR_FUZZ_LIBFUZZER) and, without
 * libFuzzer, a GTest program built from the same file and this driver:
 *   fuzz-X [FILE...]   runs each FILE (e.g. a crash reproducer);
 *   fuzz-X             every seed of tests/data/CORPUS and a deterministic
 *                      set of mutations of each (seeded by the file name).
 * A mutation makes 1..4 edits at random places past the first `keep`
 * bytes (selector bytes a target reads its mode from): overwrite with any
 * byte, overwrite with one of `replace`, cut the input there, or insert
 * one of `insert`; an input never grows past its length + 8. */
#pragma once

#include <glib.h>

typedef struct {
        const char *name;               /* test paths /NAME/files, /NAME/seeds */
        const char *corpus;             /* directory under tests/data          */
        guint mutations;                /* per seed                            */
        gsize keep;                     /* leading bytes never mutated         */
        const char *replace;            /* (n_replace) bytes an edit may write */
        gsize n_replace;
        const char *insert;             /* (n_insert) bytes an edit may insert */
        gsize n_insert;
        void (*run_one) (const guint8 *data, gsize size);
        GLogWriterFunc writer;          /* NULL = GLib's default writer        */
} AugurFuzzTarget;

/* g_test_init, the tests above, g_test_run; returns g_test_run's result. */
int augur_fuzz_main (const AugurFuzzTarget *t, int argc, char **argv);
