//! The clock every op is timed with: the CPU's time-stamp counter where it is an honest
//! monotonic clock, the OS monotonic clock (`Instant`) elsewhere.
//!
//! Two clock reads per op are the largest part of the harness's own cost: `Instant::now()`
//! (`clock_gettime` through the vDSO) costs 20–30 ns here, a bare `rdtsc` under 10. The TSC
//! is used only where it ticks at a constant rate through frequency changes and sleep states
//! (`constant_tsc` and `nonstop_tsc` in /proc/cpuinfo) and the kernel itself keeps time with it
//! (its clocksource is `tsc`, so it found the counters synchronized across CPUs). Its rate is
//! calibrated once per process against `Instant` over [`CALIBRATION`]; ticks become
//! nanoseconds by one fixed-point multiplication.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long the TSC is calibrated against the OS clock: long enough that the two reads'
/// jitter (well under 1 µs) is below 10^-4 of it.
const CALIBRATION: Duration = Duration::from_millis(20);

/// Fractional bits of the ticks-to-nanoseconds factor.
const SHIFT: u32 = 32;

/// A point in time on the [`Clock`]: ticks of its counter, comparable only within one process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticks(u64);

impl Ticks {
    /// Ticks from `earlier` to `self` (0 if `earlier` is later).
    #[inline(always)]
    pub fn ticks_since(self, earlier: Ticks) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// The time `ticks` after `self`.
    #[inline(always)]
    pub fn plus(self, ticks: u64) -> Ticks {
        Ticks(self.0.saturating_add(ticks))
    }
}

/// Which counter the clock reads.
#[derive(Clone, Copy, Debug)]
enum Source {
    /// The x86-64 time-stamp counter.
    Tsc,
    /// Nanoseconds of `Instant` since the clock's origin.
    Os,
}

/// A calibrated monotonic clock; [`Clock::get`] is the process's one instance.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    source: Source,
    /// Nanoseconds per tick, fixed point with [`SHIFT`] fractional bits.
    ns_per_tick: u64,
    /// The counter at `origin`.
    origin_ticks: u64,
    /// The OS clock when the counter read `origin_ticks`.
    origin: Instant,
    /// What one read of the clock costs, ns: the mean of back-to-back reads, measured once
    /// ([`read_cost_ns`]). How often ops are timed is chosen from it (`measure::sampling`).
    read_ns: f64,
}

impl Clock {
    /// The process's clock, calibrated on first use.
    pub fn get() -> &'static Clock {
        static CLOCK: OnceLock<Clock> = OnceLock::new();
        CLOCK.get_or_init(|| {
            let mut clock = match tsc_is_honest() {
                true => Clock::calibrate_tsc(),
                false => Clock::os(),
            };
            clock.read_ns = read_cost_ns(&clock);
            clock
        })
    }

    /// The OS monotonic clock, in nanoseconds.
    fn os() -> Clock {
        Clock {
            source: Source::Os,
            ns_per_tick: 1 << SHIFT,
            origin_ticks: 0,
            origin: Instant::now(),
            read_ns: 0.0,
        }
    }

    /// The TSC, its rate measured against `Instant` over [`CALIBRATION`].
    fn calibrate_tsc() -> Clock {
        let (origin, origin_ticks) = paired_read();
        std::thread::sleep(CALIBRATION);
        let (end, end_ticks) = paired_read();
        let ns = (end - origin).as_nanos();
        let ticks = u128::from(end_ticks.saturating_sub(origin_ticks)).max(1);
        Clock {
            source: Source::Tsc,
            ns_per_tick: ((ns << SHIFT) / ticks) as u64,
            origin_ticks,
            origin,
            read_ns: 0.0,
        }
    }

    /// Whether this clock reads the TSC (else the OS monotonic clock).
    pub fn is_tsc(&self) -> bool {
        matches!(self.source, Source::Tsc)
    }

    /// The current time.
    #[inline(always)]
    pub fn now(&self) -> Ticks {
        Ticks(match self.source {
            Source::Tsc => read_tsc(),
            Source::Os => self.origin.elapsed().as_nanos() as u64,
        })
    }

    /// What one read of the clock costs, ns (measured once per process).
    pub fn read_ns(&self) -> f64 {
        self.read_ns
    }

    /// Nanoseconds in `ticks` ticks, with the fraction: for means of many short spans, which
    /// whole nanoseconds would round away.
    pub fn nanos_f64(&self, ticks: f64) -> f64 {
        ticks * self.ns_per_tick as f64 / (1u64 << SHIFT) as f64
    }

    /// Nanoseconds from `start` to `end` (0 if `end` is earlier).
    #[inline(always)]
    pub fn nanos_between(&self, start: Ticks, end: Ticks) -> u64 {
        self.nanos(end.ticks_since(start))
    }

    /// Nanoseconds in `ticks` ticks.
    #[inline(always)]
    pub fn nanos(&self, ticks: u64) -> u64 {
        ((u128::from(ticks) * u128::from(self.ns_per_tick)) >> SHIFT) as u64
    }

    /// Ticks in `d` (rounded up).
    pub fn ticks(&self, d: Duration) -> u64 {
        let ticks = (d.as_nanos() << SHIFT).div_ceil(u128::from(self.ns_per_tick.max(1)));
        ticks.min(u128::from(u64::MAX)) as u64
    }

    /// The time `d` after `t`.
    pub fn after(&self, t: Ticks, d: Duration) -> Ticks {
        t.plus(self.ticks(d))
    }

    /// The OS clock's reading at `t`, for what is scheduled by `Instant` (checkpoints,
    /// statistics samples).
    pub fn instant(&self, t: Ticks) -> Instant {
        self.origin + Duration::from_nanos(self.nanos_between(Ticks(self.origin_ticks), t))
    }
}

/// Back-to-back reads timed per try.
const READS: u32 = 4096;

/// What one read of `clock` costs, ns: the least mean of [`READS`] back-to-back reads over five
/// tries (the least, so a try preempted by another process does not count), about 0.2 ms.
fn read_cost_ns(clock: &Clock) -> f64 {
    (0..5)
        .map(|_| {
            let start = clock.now();
            let mut last = start;
            for _ in 0..READS {
                last = std::hint::black_box(clock.now());
            }
            clock.nanos_f64(last.ticks_since(start) as f64) / f64::from(READS)
        })
        .fold(f64::INFINITY, f64::min)
}

/// `Instant::now()` and the TSC read as close together as three tries allow: the pair whose
/// TSC reads around the OS read are nearest, their midpoint.
fn paired_read() -> (Instant, u64) {
    (0..3)
        .map(|_| {
            let before = read_tsc();
            let instant = Instant::now();
            let after = read_tsc();
            (after - before, instant, before + (after - before) / 2)
        })
        .min_by_key(|(spread, _, _)| *spread)
        .map(|(_, instant, ticks)| (instant, ticks))
        .expect("three reads")
}

/// The time-stamp counter. Not serializing: an op's start may be read a few cycles early or
/// its end late, which is noise far below a state access.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn read_tsc() -> u64 {
    // SAFETY: RDTSC exists on every x86-64 CPU and has no side effects.
    unsafe { std::arch::x86_64::_rdtsc() }
}

/// No TSC on this architecture; [`tsc_is_honest`] is false, so this is never read.
#[cfg(not(target_arch = "x86_64"))]
fn read_tsc() -> u64 {
    0
}

/// Whether the TSC is a monotonic clock of constant rate, synchronized across CPUs.
fn tsc_is_honest() -> bool {
    if !cfg!(target_arch = "x86_64") {
        return false;
    }
    let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let clocksource =
        std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .unwrap_or_default();
    tsc_flags_are_honest(&flags, &clocksource)
}

/// The decision of [`tsc_is_honest`] from the texts of /proc/cpuinfo and the kernel's current
/// clocksource.
fn tsc_flags_are_honest(cpuinfo: &str, clocksource: &str) -> bool {
    let flags: Vec<&str> = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    flags.contains(&"constant_tsc") && flags.contains(&"nonstop_tsc") && clocksource.trim() == "tsc"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tsc_is_used_only_when_constant_nonstop_and_the_kernels_clock() {
        let cpu = "processor\t: 0\nflags\t\t: fpu tsc constant_tsc nonstop_tsc sse\n";
        assert!(tsc_flags_are_honest(cpu, "tsc\n"));
        assert!(!tsc_flags_are_honest(cpu, "kvm-clock\n"));
        assert!(!tsc_flags_are_honest(
            "flags\t\t: fpu tsc constant_tsc sse\n",
            "tsc\n"
        ));
        assert!(!tsc_flags_are_honest("", "tsc"));
    }

    #[test]
    fn the_clock_is_monotonic() {
        let clock = Clock::get();
        let mut last = clock.now();
        for _ in 0..100_000 {
            let now = clock.now();
            assert!(now >= last);
            last = now;
        }
    }

    /// Over a span of sleeping, the clock and `Instant` agree within 1 % (calibration error
    /// is about 10^-4; the slack is for the reads being preempted).
    #[test]
    fn the_clock_agrees_with_the_os_clock() {
        let clock = Clock::get();
        let (t0, i0) = (clock.now(), Instant::now());
        std::thread::sleep(Duration::from_millis(100));
        let (t1, i1) = (clock.now(), Instant::now());
        let ours = clock.nanos_between(t0, t1) as f64;
        let os = (i1 - i0).as_nanos() as f64;
        assert!(
            (ours / os - 1.0).abs() < 0.01,
            "clock {ours} ns, Instant {os} ns"
        );
        let converted = clock
            .instant(t1)
            .duration_since(clock.instant(t0))
            .as_nanos() as f64;
        assert!((converted / os - 1.0).abs() < 0.01, "{converted} vs {os}");
        assert_eq!(clock.nanos_between(t1, t0), 0);
    }

    /// A read costs something, and far less than a microsecond on any machine this runs on.
    #[test]
    fn a_read_has_a_measured_cost() {
        let read = Clock::get().read_ns();
        assert!(read > 0.0 && read < 1_000.0, "{read} ns");
    }
}
