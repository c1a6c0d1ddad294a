//! Human units for reports: latencies, sizes and rates.

/// A latency in nanoseconds as `850 ns`, `1.24 µs`, `3.4 ms` or `1.20 s`.
pub fn latency(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{} µs", three_digits(ns / 1e3))
    } else if ns < 1e9 {
        format!("{} ms", three_digits(ns / 1e6))
    } else {
        format!("{} s", three_digits(ns / 1e9))
    }
}

/// Milliseconds as a latency.
pub fn millis(ms: f64) -> String {
    latency(ms * 1e6)
}

/// Bytes as `512 B`, `1.5 KiB`, `20.3 MiB`, `1.25 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{} {}", three_digits(value), UNITS[unit])
}

/// A rate per second as `950`, `12.3 k`, `1.23 M`.
pub fn rate(per_s: f64) -> String {
    if per_s < 1e3 {
        format!("{per_s:.0}")
    } else if per_s < 1e6 {
        format!("{} k", three_digits(per_s / 1e3))
    } else {
        format!("{} M", three_digits(per_s / 1e6))
    }
}

/// Three significant digits without trailing noise: 1.24, 12.4, 124.
fn three_digits(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_chosen_per_value() {
        assert_eq!(latency(850.0), "850 ns");
        assert_eq!(latency(1_240.0), "1.24 µs");
        assert_eq!(latency(3_400_000.0), "3.40 ms");
        assert_eq!(latency(1.2e9), "1.20 s");
        assert_eq!(millis(25.5), "25.5 ms");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.50 KiB");
        assert_eq!(bytes(20 << 20), "20.0 MiB");
        assert_eq!(rate(950.0), "950");
        assert_eq!(rate(1_234_567.0), "1.23 M");
    }
}
