//! statebench: replays the keyed-state access pattern of a Flink operator against a heap backend
//! and a RocksDB backend laid out as Flink lays out its state, under Flink's predefined RocksDB
//! profiles and checkpoint settings, and reports which setting to use.
//!
//! Data flows one way, one module per stage:
//! [`workload`] (spec → op stream) → [`run`] (plan the cells from the [`config`], replay, time,
//! checkpoint through [`checkpoint`], against a [`backend`]) → [`measure`] (histograms) →
//! [`results`] (what was measured: results.json) → [`analysis`] (medians, intervals, ranking)
//! → [`report`] (md, csv, plots).
//! [`describe`] analyses a workload's op stream without measuring anything; [`stability`] tallies
//! the answers of repeated runs.
//! `fxhash` is the hasher of the in-process tables of the workload's own keys (generator models,
//! describe).

pub mod analysis;
pub mod atomic;
pub mod backend;
pub mod checkpoint;
pub mod config;
pub mod describe;
pub mod fuzz_entries;
mod fxhash;
pub mod input;
pub mod measure;
pub mod report;
pub mod results;
pub mod run;
pub mod stability;
pub mod workload;
