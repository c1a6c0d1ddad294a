//! What the cell's process uses of the machine, from Linux's `/proc`: bytes it caused to be read
//! from and written to the block device, its CPU time, the machine's iowait, and how long the
//! operator thread ran and waited for a core. Read at the start
//! and the end of the measured part; the difference is the evidence for which resource binds.

use std::fs;

use crate::results::ResourceUse;

/// Clock ticks per second of `/proc/*/stat` and `/proc/stat` (`USER_HZ`, 100 on every Linux ABI
/// statebench builds for).
const USER_HZ: f64 = 100.0;

/// The process's and the machine's counters at one moment, read on the operator thread (its
/// run-queue wait is that thread's own).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcessCounters {
    /// `/proc/self/io` `read_bytes`.
    read_bytes: u64,
    /// `/proc/self/io` `write_bytes`.
    write_bytes: u64,
    /// utime + stime of the whole process, ticks.
    cpu_ticks: u64,
    /// The machine's iowait ticks (`/proc/stat` `cpu` line, summed over CPUs).
    iowait_ticks: u64,
    /// The machine's ticks of every kind, summed over CPUs.
    total_ticks: u64,
    /// Nanoseconds the calling (operator) thread has run on a CPU.
    thread_cpu_ns: u64,
    /// Nanoseconds the calling (operator) thread has waited on a run queue.
    run_delay_ns: u64,
}

impl ProcessCounters {
    /// The counters now; None where `/proc` cannot be read (not Linux, or restricted).
    pub fn now() -> Option<ProcessCounters> {
        let schedstat = fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
        let schedstat = |field| {
            schedstat
                .split_whitespace()
                .nth(field)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        let io = fs::read_to_string("/proc/self/io").ok()?;
        let field = |name: &str| {
            io.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
        };
        let (cpu_ticks, (iowait_ticks, total_ticks)) = (
            process_cpu_ticks(&fs::read_to_string("/proc/self/stat").ok()?)?,
            machine_ticks(&fs::read_to_string("/proc/stat").ok()?)?,
        );
        Some(ProcessCounters {
            read_bytes: field("read_bytes:")?,
            write_bytes: field("write_bytes:")?,
            cpu_ticks,
            iowait_ticks,
            total_ticks,
            // Absent without schedstats in the kernel: no running or waiting is then reported.
            thread_cpu_ns: schedstat(0),
            run_delay_ns: schedstat(1),
        })
    }

    /// Nanoseconds the operator thread (the one that read both) ran on a CPU from `self` to
    /// `end`: what the thread itself cost, which other processes sharing the cores do not
    /// stretch as they stretch wall time (0 without schedstats).
    pub fn thread_cpu_ns_until(&self, end: &ProcessCounters) -> u64 {
        end.thread_cpu_ns.saturating_sub(self.thread_cpu_ns)
    }

    /// What was used from `self` to `end`, over `elapsed_s` seconds of wall time.
    pub fn used_until(&self, end: &ProcessCounters, elapsed_s: f64) -> ResourceUse {
        let cpu_s = end.cpu_ticks.saturating_sub(self.cpu_ticks) as f64 / USER_HZ;
        let total = end.total_ticks.saturating_sub(self.total_ticks);
        ResourceUse {
            device_read_bytes: end.read_bytes.saturating_sub(self.read_bytes),
            device_write_bytes: end.write_bytes.saturating_sub(self.write_bytes),
            cpu_s,
            cores_busy: cpu_s / elapsed_s.max(1e-9),
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            iowait_fraction: match total {
                0 => 0.0,
                t => end.iowait_ticks.saturating_sub(self.iowait_ticks) as f64 / t as f64,
            },
            cpu_wait_fraction: end.run_delay_ns.saturating_sub(self.run_delay_ns) as f64
                / (elapsed_s.max(1e-9) * 1e9),
        }
    }
}

/// utime + stime from the text of `/proc/<pid>/stat` (fields 14 and 15, counted after the
/// parenthesised command name, which may itself hold spaces and parentheses).
fn process_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) is index 11 and stime (15) index 12.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// (iowait, total) ticks from the text of `/proc/stat`'s aggregate `cpu` line.
fn machine_ticks(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user already).
    let total = ticks.iter().take(8).sum();
    Some((*ticks.get(4)?, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_read_past_a_command_name_with_spaces() {
        let stat = "4242 (state bench) (x) R 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0 100";
        assert_eq!(process_cpu_ticks(stat), Some(300));
        assert_eq!(process_cpu_ticks("4242 (short) R 1"), None);
    }

    #[test]
    fn iowait_is_the_fifth_cpu_column() {
        let stat = "cpu  100 5 50 800 40 1 2 2 0 0\ncpu0 50 2 25 400 20 0 1 1 0 0\n";
        assert_eq!(machine_ticks(stat), Some((40, 1000)));
    }

    #[test]
    fn this_process_uses_cpu_and_the_difference_says_so() {
        let Some(start) = ProcessCounters::now() else {
            eprintln!("SKIPPED: /proc is not readable here");
            return;
        };
        // Burn CPU until the process's tick counter moves (at most a few ticks: 10 ms each).
        let mut x = 1u64;
        let end = loop {
            for i in 0..1_000_000u64 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
            }
            let now = ProcessCounters::now().unwrap();
            if now.cpu_ticks > start.cpu_ticks {
                break now;
            }
        };
        std::hint::black_box(x);
        let used = start.used_until(&end, 1.0);
        assert!(used.cpu_s >= 0.01, "{used:?}");
        assert!((0.0..=1.0).contains(&used.iowait_fraction));
        assert!(used.cores >= 1);
    }
}
