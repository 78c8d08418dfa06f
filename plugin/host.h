/* host.h — host context for the tick: /proc/meminfo, /proc/loadavg and
 * /proc/pressure/{cpu,memory,io} (PSI, when the kernel has it).
 *
 * proc_root is injected ("/proc" live, a temp dir in tests) so the parsers
 * can be fed fixtures, as oomd's readers are.  A missing or unreadable file
 * leaves its fields absent; it is never an error for the tick. */
#pragma once

#include "units.h"

void augur_host_read (const char *proc_root, AugurHostSample *ret);
