//! The integration tests, one binary (one link of RocksDB) with a module per area.

mod builtins;
mod checkpoint;
mod common;
mod config;
mod describe;
mod determinism;
mod distributions;
mod faults;
mod fuzz_corpus;
mod hardware;
mod hostile_inputs;
mod layout;
mod models;
mod open_loop;
mod profiles;
mod recommended_config;
mod results_versions;
mod rocksdb_stats;
mod semantics;
mod storage;
mod timers;
mod trace;
mod ttl;
mod verdict;
mod windows;
mod workload_errors;
