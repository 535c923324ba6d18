//! The standard `process_*` metrics every Prometheus client library
//! exports (resident memory, CPU time, descriptors, start time), read from
//! `/proc` at each scrape. prometheus-client has no process collector, and
//! the crates that add one pull in a second metrics stack.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Reads the process's figures on each scrape (Linux; elsewhere nothing).
#[derive(Debug, Default)]
pub(super) struct ProcessCollector;

/// What `/proc/self/stat` and friends say now.
#[derive(Debug, Default, PartialEq)]
struct Figures {
    cpu_seconds: f64,
    resident_bytes: i64,
    virtual_bytes: i64,
    start_time_seconds: i64,
    open_fds: i64,
    max_fds: i64,
}

impl Figures {
    fn read() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let boot_time = std::fs::read_to_string("/proc/stat").ok()?;
        // SAFETY: sysconf only reads configuration values.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        // SAFETY: as above.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let mut figures = parse_stat(&stat, &boot_time, ticks.max(1), page.max(1))?;
        figures.open_fds =
            std::fs::read_dir("/proc/self/fd").map_or(0, |entries| entries.count() as i64);
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct it is given.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
            figures.max_fds = i64::try_from(limit.rlim_cur).unwrap_or(i64::MAX);
        }
        Some(figures)
    }
}

/// The fields of `/proc/self/stat` after the command name (which may hold
/// spaces and parentheses, so the split is at the last `)`), and the boot
/// time from `/proc/stat`.
fn parse_stat(stat: &str, proc_stat: &str, ticks: i64, page: i64) -> Option<Figures> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Field 3 (state) is the first after the name: field n is at n - 3.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| -> Option<i64> { fields.get(n - 3)?.parse().ok() };
    let boot: i64 = proc_stat
        .lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(Figures {
        cpu_seconds: (field(14)? + field(15)?) as f64 / ticks as f64,
        virtual_bytes: field(23)?,
        resident_bytes: field(24)? * page,
        start_time_seconds: boot + field(22)? / ticks,
        open_fds: 0,
        max_fds: 0,
    })
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(figures) = Figures::read() else {
            return Ok(());
        };
        let counter = ConstCounter::new(figures.cpu_seconds);
        counter.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            None,
            counter.metric_type(),
        )?)?;
        for (name, help, value) in [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                figures.resident_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
                figures.virtual_bytes,
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds",
                figures.start_time_seconds,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors",
                figures.open_fds,
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors",
                figures.max_fds,
            ),
        ] {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields() {
        let stat = "4242 (trade (graph) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 12000 104857600 2560 18446744073709551615";
        let figures = parse_stat(stat, "cpu 1 2 3\nbtime 1700000000\n", 100, 4096).unwrap();
        assert_eq!(figures.cpu_seconds, 3.0);
        assert_eq!(figures.virtual_bytes, 104_857_600);
        assert_eq!(figures.resident_bytes, 2560 * 4096);
        assert_eq!(figures.start_time_seconds, 1_700_000_120);
    }

    #[test]
    fn this_process_reads() {
        let figures = Figures::read().expect("Linux /proc");
        assert!(
            figures.resident_bytes > 0
                && figures.open_fds > 0
                && figures.max_fds >= figures.open_fds
        );
    }
}
