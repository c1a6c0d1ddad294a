//! The run directory `reports/<workload>-<UTC time>/` and the UTC timestamps it is named by.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

/// UTC civil date and time of a Unix time: (year, month, day, hour, minute, second).
fn civil_utc(unix: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (secs / 3600) as u32,
        (secs / 60 % 60) as u32,
        (secs % 60) as u32,
    )
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The current time as RFC 3339 UTC, e.g. `2026-11-24T06:40:00Z`.
pub fn utc_now_rfc3339() -> String {
    let (y, mo, d, h, mi, s) = civil_utc(unix_now());
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Creates a new, empty run directory `<reports>/<name>-<YYYYMMDD-HHMMSS>` (suffixed if taken).
pub fn run_directory(reports: &Path, name: &str) -> Result<PathBuf> {
    let (y, mo, d, h, mi, s) = civil_utc(unix_now());
    let base = format!("{name}-{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}");
    std::fs::create_dir_all(reports)
        .with_context(|| format!("cannot create {}", reports.display()))?;
    for n in 1.. {
        let dir = match n {
            1 => reports.join(&base),
            _ => reports.join(format!("{base}-{n}")),
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", dir.display())),
        }
    }
    unreachable!("an unbounded loop returns")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_are_right() {
        assert_eq!(civil_utc(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil_utc(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil_utc(1_795_587_723), (2026, 11, 25, 6, 22, 3));
    }
}
