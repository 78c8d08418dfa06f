/* host.c — see host.h. */
#include "config.h"

#include "host.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void
read_meminfo (const char *proc_root, AugurHostSample *h)
{
        static const struct {
                const char *key;
                AugurHostField f;
        } keys[] = {
                { "MemTotal:", AUGUR_HOST_MEM_TOTAL_KIB },
                { "MemFree:", AUGUR_HOST_MEM_FREE_KIB },
                { "MemAvailable:", AUGUR_HOST_MEM_AVAILABLE_KIB },
                { "SwapTotal:", AUGUR_HOST_SWAP_TOTAL_KIB },
                { "SwapFree:", AUGUR_HOST_SWAP_FREE_KIB },
        };
        g_autofree char *path = g_build_filename (proc_root, "meminfo", NULL);
        g_autofree char *text = NULL;
        g_auto(GStrv) lines = NULL;

        if (!g_file_get_contents (path, &text, NULL, NULL))
                return;
        lines = g_strsplit (text, "\n", -1);
        for (int i = 0; lines[i]; i++)
                for (gsize k = 0; k < G_N_ELEMENTS (keys); k++) {
                        char *end = NULL;
                        gint64 v;

                        if (!g_str_has_prefix (lines[i], keys[k].key))
                                continue;
                        v = g_ascii_strtoll (lines[i] + strlen (keys[k].key), &end, 10);
                        if (end != lines[i] + strlen (keys[k].key) && v >= 0)
                                augur_host_set (h, keys[k].f, (double) v);
                }
}

static void
read_loadavg (const char *proc_root, AugurHostSample *h)
{
        g_autofree char *path = g_build_filename (proc_root, "loadavg", NULL);
        g_autofree char *text = NULL;
        double l1, l5, l15;

        if (!g_file_get_contents (path, &text, NULL, NULL))
                return;
        if (sscanf (text, "%lf %lf %lf", &l1, &l5, &l15) != 3 ||
            !isfinite (l1) || !isfinite (l5) || !isfinite (l15) || l1 < 0 || l5 < 0 || l15 < 0)
                return;
        augur_host_set (h, AUGUR_HOST_LOAD1, l1);
        augur_host_set (h, AUGUR_HOST_LOAD5, l5);
        augur_host_set (h, AUGUR_HOST_LOAD15, l15);
}

/* "some avg10=0.12 avg60=... total=..." / "full avg10=..." */
static void
read_psi (const char *proc_root, const char *name, AugurHostSample *h,
          int some_field, int full_field)
{
        g_autofree char *path = g_build_filename (proc_root, "pressure", name, NULL);
        g_autofree char *text = NULL;
        g_auto(GStrv) lines = NULL;

        if (!g_file_get_contents (path, &text, NULL, NULL))
                return;
        lines = g_strsplit (text, "\n", -1);
        for (int i = 0; lines[i]; i++) {
                double v;
                int field;

                if (g_str_has_prefix (lines[i], "some "))
                        field = some_field;
                else if (g_str_has_prefix (lines[i], "full "))
                        field = full_field;
                else
                        continue;
                if (field < 0)
                        continue;
                if (sscanf (lines[i] + 5, "avg10=%lf", &v) == 1 && isfinite (v) && v >= 0 && v <= 100)
                        augur_host_set (h, field, v);
        }
}

void
augur_host_read (const char *proc_root, AugurHostSample *ret)
{
        memset (ret, 0, sizeof *ret);
        read_meminfo (proc_root, ret);
        read_loadavg (proc_root, ret);
        read_psi (proc_root, "cpu", ret, AUGUR_HOST_PSI_CPU_SOME_AVG10, -1);
        read_psi (proc_root, "memory", ret, AUGUR_HOST_PSI_MEM_SOME_AVG10, AUGUR_HOST_PSI_MEM_FULL_AVG10);
        read_psi (proc_root, "io", ret, AUGUR_HOST_PSI_IO_SOME_AVG10, AUGUR_HOST_PSI_IO_FULL_AVG10);
}
