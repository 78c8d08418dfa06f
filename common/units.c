/* units.c — the units contract (see units.h) as code: the raw-field table
 * and the derivation of rates from counters. */
#include "units.h"

#include <math.h>

const AugurStatInfo augur_stat_info[AUGUR_STAT_N] = {
        [AUGUR_STAT_STATE] = { "state", "state.state", AUGUR_STAT_GAUGE, FALSE },
        [AUGUR_STAT_BALLOON_CURRENT_KIB] = { "mem_actual_kib", "balloon.current", AUGUR_STAT_GAUGE, FALSE },
        [AUGUR_STAT_BALLOON_MAXIMUM_KIB] = { "mem_max_kib", "balloon.maximum", AUGUR_STAT_GAUGE, FALSE },
        [AUGUR_STAT_BALLOON_SWAP_IN_KIB] = { "mem_swap_in_kib", "balloon.swap_in", AUGUR_STAT_COUNTER, FALSE },
        [AUGUR_STAT_BALLOON_SWAP_OUT_KIB] = { "mem_swap_out_kib", "balloon.swap_out", AUGUR_STAT_COUNTER, FALSE },
        [AUGUR_STAT_BALLOON_MAJOR_FAULT] = { "mem_major_fault", "balloon.major_fault", AUGUR_STAT_COUNTER, FALSE },
        [AUGUR_STAT_BALLOON_MINOR_FAULT] = { "mem_minor_fault", "balloon.minor_fault", AUGUR_STAT_COUNTER, FALSE },
        [AUGUR_STAT_BALLOON_UNUSED_KIB] = { "mem_unused_kib", "balloon.unused", AUGUR_STAT_GAUGE, FALSE },
        [AUGUR_STAT_BALLOON_AVAILABLE_KIB] = { "mem_available_kib", "balloon.available", AUGUR_STAT_GAUGE, FALSE },
        [AUGUR_STAT_BALLOON_USABLE_KIB] = { "mem_usable_kib", "balloon.usable", AUGUR_STAT_GAUGE, FALSE },
        [AUGUR_STAT_BALLOON_DISK_CACHES_KIB] = { "mem_disk_caches_kib", "balloon.disk_caches", AUGUR_STAT_GAUGE, FALSE },
        [AUGUR_STAT_BALLOON_RSS_KIB] = { "mem_rss_kib", "balloon.rss", AUGUR_STAT_GAUGE, FALSE },
        [AUGUR_STAT_BALLOON_LAST_UPDATE_S] = { "mem_last_update_s", "balloon.last-update", AUGUR_STAT_GAUGE, FALSE },
        [AUGUR_STAT_CPU_TIME_NS] = { "cpu_time_ns", "cpu.time", AUGUR_STAT_COUNTER, FALSE },
        [AUGUR_STAT_CPU_USER_NS] = { "cpu_user_ns", "cpu.user", AUGUR_STAT_COUNTER, FALSE },
        [AUGUR_STAT_CPU_SYSTEM_NS] = { "cpu_system_ns", "cpu.system", AUGUR_STAT_COUNTER, FALSE },
        [AUGUR_STAT_VCPU_CURRENT] = { "vcpus_current", "vcpu.current", AUGUR_STAT_GAUGE, FALSE },
        [AUGUR_STAT_VCPU_MAXIMUM] = { "vcpus_max", "vcpu.maximum", AUGUR_STAT_GAUGE, FALSE },
        [AUGUR_STAT_BLOCK_RD_BYTES] = { "block_rd_bytes", "rd.bytes", AUGUR_STAT_COUNTER, TRUE },
        [AUGUR_STAT_BLOCK_WR_BYTES] = { "block_wr_bytes", "wr.bytes", AUGUR_STAT_COUNTER, TRUE },
        [AUGUR_STAT_NET_RX_BYTES] = { "net_rx_bytes", "rx.bytes", AUGUR_STAT_COUNTER, TRUE },
        [AUGUR_STAT_NET_TX_BYTES] = { "net_tx_bytes", "tx.bytes", AUGUR_STAT_COUNTER, TRUE },
};

void
augur_domain_sample_clear (AugurDomainSample *s)
{
        if (!s)
                return;
        g_clear_pointer (&s->name, g_free);
        s->present = 0;
}

static double
counter_delta (const AugurDomainSample *prev, const AugurDomainSample *cur,
               AugurStat f, double dt_s)
{
        if (!prev || !augur_sample_has (prev, f) || !augur_sample_has (cur, f))
                return NAN;
        if (dt_s <= 0 || dt_s > AUGUR_MAX_RATE_GAP_S)
                return NAN;
        /* A counter that goes backwards was reset (domain restarted, device
         * re-plugged): the interval's true delta is unknown.  Like
         * oomd_pgscan_rate() we assume the source was recreated, and return
         * unknown rather than a negative or made-up value. */
        if (cur->v[f] < prev->v[f])
                return NAN;
        return (double) (cur->v[f] - prev->v[f]);
}

static double
gauge (const AugurDomainSample *s, AugurStat f)
{
        return augur_sample_has (s, f) ? (double) s->v[f] : NAN;
}

void
augur_units_derive (const AugurDomainSample *prev,
                    const AugurDomainSample *cur,
                    double dt_s,
                    AugurDerived *ret,
                    AugurDeltas *ret_deltas)
{
        double avail = gauge (cur, AUGUR_STAT_BALLOON_AVAILABLE_KIB);
        double usable = gauge (cur, AUGUR_STAT_BALLOON_USABLE_KIB);
        double actual = gauge (cur, AUGUR_STAT_BALLOON_CURRENT_KIB);
        double maximum = gauge (cur, AUGUR_STAT_BALLOON_MAXIMUM_KIB);
        AugurDeltas d;

        for (int f = 0; f < AUGUR_STAT_N; f++)
                d.d[f] = augur_stat_info[f].kind == AUGUR_STAT_COUNTER
                         ? counter_delta (prev, cur, f, dt_s) : NAN;

        ret->mem_used_kib = avail - usable;          /* NAN if either missing */
        /* Autodeflate: the balloon's pages read as used; take them out. */
        if (!isnan (ret->mem_used_kib) && augur_units_memtotal_at_maximum (actual, avail, maximum))
                ret->mem_used_kib -= maximum - actual;
        if (!isnan (ret->mem_used_kib) && ret->mem_used_kib < 0)
                ret->mem_used_kib = NAN;             /* absurd: treat as missing */
        ret->mem_prov_kib = isnan (maximum) ? actual : maximum;
        ret->vcpus = gauge (cur, AUGUR_STAT_VCPU_CURRENT);
        ret->cpu_cores = gauge (cur, AUGUR_STAT_VCPU_MAXIMUM);
        if (!(ret->cpu_cores > 0))
                ret->cpu_cores = ret->vcpus;
        ret->cpu_cores_used = d.d[AUGUR_STAT_CPU_TIME_NS] / dt_s / 1e9;
        ret->cpu_pct = ret->cpu_cores > 0 ? 100.0 * ret->cpu_cores_used / ret->cpu_cores : NAN;
        ret->disk_rd_kibps = d.d[AUGUR_STAT_BLOCK_RD_BYTES] / dt_s / 1024.0;
        ret->disk_wr_kibps = d.d[AUGUR_STAT_BLOCK_WR_BYTES] / dt_s / 1024.0;
        ret->net_rx_kibps = d.d[AUGUR_STAT_NET_RX_BYTES] / dt_s / 1024.0;
        ret->net_tx_kibps = d.d[AUGUR_STAT_NET_TX_BYTES] / dt_s / 1024.0;
        if (ret_deltas)
                *ret_deltas = d;
}

void
augur_units_model_row (const AugurDerived *d, double *ret)
{
        for (int c = 0; c < AUGUR_COL_N_TRACE; c++)
                ret[c] = NAN;
        ret[AUGUR_COL_CPU_CORES] = d->cpu_cores;
        ret[AUGUR_COL_CPU_PCT] = d->cpu_pct;
        ret[AUGUR_COL_MEM_PROV_KIB] = d->mem_prov_kib;
        ret[AUGUR_COL_MEM_USED_KIB] = d->mem_used_kib;
        ret[AUGUR_COL_DISK_RD_KIBPS] = d->disk_rd_kibps;
        ret[AUGUR_COL_DISK_WR_KIBPS] = d->disk_wr_kibps;
        ret[AUGUR_COL_NET_RX_KIBPS] = d->net_rx_kibps;
        ret[AUGUR_COL_NET_TX_KIBPS] = d->net_tx_kibps;
}

const char *const augur_host_field_column[AUGUR_HOST_N] = {
        [AUGUR_HOST_MEM_TOTAL_KIB] = "mem_total_kib",
        [AUGUR_HOST_MEM_FREE_KIB] = "mem_free_kib",
        [AUGUR_HOST_MEM_AVAILABLE_KIB] = "mem_available_kib",
        [AUGUR_HOST_SWAP_TOTAL_KIB] = "swap_total_kib",
        [AUGUR_HOST_SWAP_FREE_KIB] = "swap_free_kib",
        [AUGUR_HOST_LOAD1] = "load1",
        [AUGUR_HOST_LOAD5] = "load5",
        [AUGUR_HOST_LOAD15] = "load15",
        [AUGUR_HOST_PSI_CPU_SOME_AVG10] = "psi_cpu_some_avg10",
        [AUGUR_HOST_PSI_MEM_SOME_AVG10] = "psi_mem_some_avg10",
        [AUGUR_HOST_PSI_MEM_FULL_AVG10] = "psi_mem_full_avg10",
        [AUGUR_HOST_PSI_IO_SOME_AVG10] = "psi_io_some_avg10",
        [AUGUR_HOST_PSI_IO_FULL_AVG10] = "psi_io_full_avg10",
};
