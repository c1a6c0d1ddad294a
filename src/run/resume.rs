//! What a run was started with, kept in `run.json` of its run directory so an interrupted run can
//! be resumed (`statebench matrix --resume DIR`) only with the same input and settings: the
//! statebench version, the workload (name, seed, a hash of the workload or trace), the checkpoint
//! interval, the cells with every resolved setting (profiles, Flink configuration keys) and the
//! repeats per cell.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::cell::{Cell, OpInput};
use crate::atomic::write_atomically;

/// The file in the run directory.
const MANIFEST_FILE: &str = "run.json";

fn one() -> u32 {
    1
}

/// What a run was started with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunManifest {
    /// statebench's version.
    pub statebench_version: String,
    /// The workload's name.
    pub workload: String,
    /// CRC-32 of the workload (its canonical JSON) or of the trace file, hex.
    pub workload_hash: String,
    /// The workload's seed.
    pub seed: u64,
    /// The checkpoint interval, ms.
    pub interval_ms: u64,
    /// The cells in order.
    pub cells: Vec<String>,
    /// Repeats per cell (1 in run.json files written before repeats).
    #[serde(default = "one")]
    pub repeats: u32,
    /// CRC-32 of every cell's resolved settings (RocksDB options from profiles, the Flink
    /// configuration and --set keys; checkpoint settings), hex.
    pub settings_hash: String,
}

impl RunManifest {
    /// The manifest of running `cells` on `input`, `repeats` times each.
    pub fn new(input: &OpInput, cells: &[Cell], repeats: u32) -> Result<RunManifest> {
        let spec = input.spec();
        let mut hasher = crc32fast::Hasher::new();
        match input {
            OpInput::Generated(spec) => hasher.update(&serde_json::to_vec(spec)?),
            OpInput::Trace { path, .. } => {
                let mut file = std::fs::File::open(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let mut buffer = vec![0; 1 << 16];
                loop {
                    let n = file
                        .read(&mut buffer)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buffer[..n]);
                }
            }
        }
        Ok(RunManifest {
            statebench_version: env!("CARGO_PKG_VERSION").to_string(),
            workload: spec.name.clone(),
            workload_hash: format!("{:08x}", hasher.finalize()),
            seed: spec.seed,
            interval_ms: cells
                .first()
                .map_or(0, |c| c.checkpoint.interval.as_millis() as u64),
            cells: cells.iter().map(Cell::id).collect(),
            repeats,
            settings_hash: format!("{:08x}", crc32fast::hash(format!("{cells:?}").as_bytes())),
        })
    }

    /// Writes `run.json` into the run directory `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        write_atomically(&dir.join(MANIFEST_FILE), &serde_json::to_vec_pretty(self)?)
    }

    /// Reads `run.json` of the run directory `dir`.
    pub fn load(dir: &Path) -> Result<RunManifest> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read(&path).with_context(|| {
            format!(
                "cannot resume {}: no {MANIFEST_FILE} (not a run directory, or a run of an \
                 older statebench)",
                dir.display()
            )
        })?;
        serde_json::from_slice(&text).with_context(|| format!("cannot read {}", path.display()))
    }

    /// Refuses to resume a run started as `self` with `now`, naming the first difference.
    pub fn check_resumable(&self, now: &RunManifest) -> Result<()> {
        let differences = [
            (
                "statebench version",
                &self.statebench_version,
                &now.statebench_version,
            ),
            ("workload name", &self.workload, &now.workload),
            ("seed", &self.seed.to_string(), &now.seed.to_string()),
            (
                "checkpoint interval (ms)",
                &self.interval_ms.to_string(),
                &now.interval_ms.to_string(),
            ),
            ("workload hash", &self.workload_hash, &now.workload_hash),
            ("cells", &self.cells.join(","), &now.cells.join(",")),
            (
                "repeats per cell",
                &self.repeats.to_string(),
                &now.repeats.to_string(),
            ),
            (
                "settings (profiles, --config, --set)",
                &self.settings_hash,
                &now.settings_hash,
            ),
        ];
        for (what, then, now) in differences {
            if then != now {
                bail!("the {what} differs: the run used {then}, this command {now}");
            }
        }
        Ok(())
    }
}
