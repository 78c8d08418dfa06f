/* test-host.c — host context readers (plugin/host.c) on fixture /proc
 * trees: full, without PSI (older kernels), and garbage. */
#include "config.h"

#include <glib/gstdio.h>

#include "host.h"
#include "testutil.h"

static char *
make_proc (gboolean psi, gboolean garbage)
{
        char *dir = g_dir_make_tmp ("augur-proc-XXXXXX", NULL);
        g_autofree char *pdir = g_build_filename (dir, "pressure", NULL);
        g_autofree char *mi = g_build_filename (dir, "meminfo", NULL);
        g_autofree char *la = g_build_filename (dir, "loadavg", NULL);

        g_assert_true (g_file_set_contents (mi, garbage ? "MemTotal: lots kB\n\x01\x02" :
                "MemTotal:       24596736 kB\nMemFree:        20000000 kB\n"
                "MemAvailable:   22000000 kB\nBuffers: 1 kB\nSwapTotal:             0 kB\n"
                "SwapFree:              0 kB\n", -1, NULL));
        g_assert_true (g_file_set_contents (la, garbage ? "nan 1 2 3/4 5\n" : "0.52 0.40 0.31 2/345 6789\n", -1, NULL));
        if (psi) {
                g_autofree char *c = g_build_filename (pdir, "cpu", NULL);
                g_autofree char *m = g_build_filename (pdir, "memory", NULL);
                g_autofree char *io = g_build_filename (pdir, "io", NULL);

                g_assert_cmpint (g_mkdir (pdir, 0700), ==, 0);
                g_assert_true (g_file_set_contents (c, "some avg10=12.50 avg60=3.00 avg300=1.00 total=123\n"
                                                       "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", -1, NULL));
                g_assert_true (g_file_set_contents (m, "some avg10=1.25 avg60=0.00 avg300=0.00 total=1\n"
                                                       "full avg10=0.75 avg60=0.00 avg300=0.00 total=1\n", -1, NULL));
                g_assert_true (g_file_set_contents (io, "some avg10=500.0 avg60=0.00 avg300=0.00 total=1\n"
                                                        "full avg10=2.00 avg60=0.00 avg300=0.00 total=1\n", -1, NULL));
        }
        return dir;
}

static void
test_full (void)
{
        g_autofree char *dir = make_proc (TRUE, FALSE);
        AugurHostSample h;

        augur_host_read (dir, &h);
        g_assert_cmpfloat (h.v[AUGUR_HOST_MEM_TOTAL_KIB], ==, 24596736);
        g_assert_cmpfloat (h.v[AUGUR_HOST_MEM_AVAILABLE_KIB], ==, 22000000);
        g_assert_cmpfloat (h.v[AUGUR_HOST_SWAP_TOTAL_KIB], ==, 0);
        g_assert_cmpfloat_with_epsilon (h.v[AUGUR_HOST_LOAD1], 0.52, 1e-9);
        g_assert_cmpfloat_with_epsilon (h.v[AUGUR_HOST_LOAD15], 0.31, 1e-9);
        g_assert_cmpfloat_with_epsilon (h.v[AUGUR_HOST_PSI_CPU_SOME_AVG10], 12.5, 1e-9);
        g_assert_cmpfloat_with_epsilon (h.v[AUGUR_HOST_PSI_MEM_FULL_AVG10], 0.75, 1e-9);
        g_assert_cmpfloat_with_epsilon (h.v[AUGUR_HOST_PSI_IO_FULL_AVG10], 2.0, 1e-9);
        /* 500 % is impossible for PSI: rejected, stays absent. */
        g_assert_false ((h.present >> AUGUR_HOST_PSI_IO_SOME_AVG10) & 1);
        augur_test_rm_rf (dir);
}

static void
test_no_psi (void)
{
        g_autofree char *dir = make_proc (FALSE, FALSE);
        AugurHostSample h;

        augur_host_read (dir, &h);
        g_assert_true ((h.present >> AUGUR_HOST_MEM_TOTAL_KIB) & 1);
        g_assert_false ((h.present >> AUGUR_HOST_PSI_CPU_SOME_AVG10) & 1);
        g_assert_false ((h.present >> AUGUR_HOST_PSI_MEM_SOME_AVG10) & 1);
        augur_test_rm_rf (dir);
}

static void
test_garbage_and_missing (void)
{
        g_autofree char *dir = make_proc (FALSE, TRUE);
        AugurHostSample h;

        augur_host_read (dir, &h);
        g_assert_cmpuint (h.present, ==, 0);
        augur_host_read ("/nonexistent-augur-proc", &h);
        g_assert_cmpuint (h.present, ==, 0);
        augur_test_rm_rf (dir);
}

static void
test_live_proc (void)
{
        AugurHostSample h;

        augur_host_read ("/proc", &h);
        g_assert_true ((h.present >> AUGUR_HOST_MEM_TOTAL_KIB) & 1);
        g_assert_true ((h.present >> AUGUR_HOST_LOAD1) & 1);
        g_assert_cmpfloat (h.v[AUGUR_HOST_MEM_TOTAL_KIB], >, 0);
}

int
main (int argc, char **argv)
{
        g_test_init (&argc, &argv, NULL);
        g_test_add_func ("/host/full", test_full);
        g_test_add_func ("/host/no-psi", test_no_psi);
        g_test_add_func ("/host/garbage-and-missing", test_garbage_and_missing);
        g_test_add_func ("/host/live-proc", test_live_proc);
        return g_test_run ();
}
