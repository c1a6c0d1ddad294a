//! Reads the OPTIONS file RocksDB writes into its directory: the effective options of a run,
//! saved beside its results and checked by tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The newest `OPTIONS-NNNNNN` file in a RocksDB directory.
pub fn latest_options_file(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let number: u64 = name.strip_prefix("OPTIONS-")?.parse().ok()?;
            Some((number, e.path()))
        })
        .max()
        .map(|(_, path)| path)
}

/// An OPTIONS file: section header (e.g. `CFOptions "value"`) → option → value.
pub type OptionsFile = BTreeMap<String, BTreeMap<String, String>>;

/// Parses an OPTIONS file (INI-like: `[Section "name"]` then `key=value` lines).
pub fn parse_options_file(path: &Path) -> Result<OptionsFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read RocksDB options file {}", path.display()))?;
    let mut sections = OptionsFile::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = header.to_string();
            sections.entry(current.clone()).or_default();
        } else if let Some((key, value)) = line.split_once('=') {
            sections
                .entry(current.clone())
                .or_default()
                .insert(key.trim().to_string(), value.trim().to_string());
        }
    }
    Ok(sections)
}

/// The RocksDB version an options file was written by.
pub fn rocksdb_version(file: &OptionsFile) -> Option<String> {
    file.get("Version")?.get("rocksdb_version").cloned()
}
