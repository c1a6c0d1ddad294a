//! `statebench stability`: how often repeated runs of the same matrix give the same answer. The
//! answer of a run is the recommended cell, the RocksDB cell recommended for state that outgrows
//! the heap, and the set of cells tied with the fastest on throughput; the tally counts the runs
//! that agree with the most common of each.

use std::collections::BTreeMap;
use std::fmt;

/// What one run answered.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Answer {
    /// The recommended cell (None: no recommendation).
    pub recommended: Option<String>,
    /// The RocksDB cell recommended when the state does not fit the heap (None: none eligible).
    pub rocksdb: Option<String>,
    /// The cells tied with the fastest on throughput, sorted.
    pub tied: Vec<String>,
}

/// How often the runs agreed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    /// Runs.
    pub runs: usize,
    /// The most common recommendation and how many runs gave it.
    pub recommended: (Option<String>, usize),
    /// The most common RocksDB recommendation and how many runs gave it.
    pub rocksdb: (Option<String>, usize),
    /// The most common tied set and how many runs gave it.
    pub tied: (Vec<String>, usize),
}

/// The most common value of `items` (the first to reach the count, on a tie) and its count.
fn mode<T: Ord + Clone>(items: impl Iterator<Item = T>) -> Option<(T, usize)> {
    let mut counts: BTreeMap<T, (usize, usize)> = BTreeMap::new();
    for (k, item) in items.enumerate() {
        counts.entry(item).or_insert((0, k)).0 += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1)))
        .map(|(item, (n, _))| (item, n))
}

/// The tally of `answers`.
pub fn tally(answers: &[Answer]) -> Tally {
    Tally {
        runs: answers.len(),
        recommended: mode(answers.iter().map(|a| a.recommended.clone())).unwrap_or((None, 0)),
        rocksdb: mode(answers.iter().map(|a| a.rocksdb.clone())).unwrap_or((None, 0)),
        tied: mode(answers.iter().map(|a| a.tied.clone())).unwrap_or_default(),
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "recommendation the same in {} of {} runs: {}",
            self.recommended.1,
            self.runs,
            self.recommended.0.as_deref().unwrap_or("no recommendation")
        )?;
        writeln!(
            f,
            "RocksDB recommendation the same in {} of {} runs: {}",
            self.rocksdb.1,
            self.runs,
            self.rocksdb
                .0
                .as_deref()
                .unwrap_or("no RocksDB cell eligible")
        )?;
        write!(
            f,
            "set of cells tied with the fastest the same in {} of {} runs: {}",
            self.tied.1,
            self.runs,
            self.tied.0.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(best: &str, tied: &[&str]) -> Answer {
        Answer {
            recommended: Some(best.to_string()),
            rocksdb: (best != "b").then(|| format!("rocksdb-{best}")),
            tied: tied.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn the_tally_counts_runs_that_agree_with_the_most_common_answer() {
        let answers = [
            answer("a", &["a", "b"]),
            answer("b", &["a", "b"]),
            answer("a", &["a"]),
            answer("a", &["a", "b"]),
        ];
        let t = tally(&answers);
        assert_eq!(t.recommended, (Some("a".to_string()), 3));
        assert_eq!(t.tied, (vec!["a".to_string(), "b".to_string()], 3));
        assert_eq!(t.rocksdb, (Some("rocksdb-a".to_string()), 3));
        assert_eq!(t.runs, 4);
        let text = t.to_string();
        assert!(
            text.contains("recommendation the same in 3 of 4 runs: a"),
            "{text}"
        );
        assert!(
            text.contains("RocksDB recommendation the same in 3 of 4 runs: rocksdb-a"),
            "{text}"
        );
        assert_eq!(tally(&[]).recommended, (None, 0));
    }
}
