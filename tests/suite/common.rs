//! Shared helpers of the integration tests.

use statebench::backend::rocksdb::{PredefinedProfile, RocksDbConfig, TimerFactory};
use std::path::Path;
use std::time::Duration;

use statebench::backend::{Backend, BackendConfig, Outcome, StateLayout};
use statebench::checkpoint::{CheckpointMode, CheckpointSetting};
use statebench::config::FlinkConfig;
use statebench::results::CellResult;
use statebench::run::{run_cell, Cell, CellPaths, OpInput};
use statebench::workload::{fill_value, OpGenerator, StateOp, WorkloadSpec};

/// A small workload touching every state kind and every op the generator makes, over few keys
/// so that keys repeat, lists are cleared and map entries removed.
pub fn mixed_spec(events: u64, keys: u64) -> WorkloadSpec {
    let json = format!(
        r#"{{
  "name": "mixed", "description": "test", "seed": 3, "events": {events}, "warmup_events": {warmup},
  "max_parallelism": 128,
  "keys": {{ "count": {keys}, "distribution": {{ "type": "zipfian", "theta": 0.8 }} }},
  "value_size": {{ "type": "uniform", "min": 0, "max": 100 }},
  "states": [
    {{ "type": "value", "name": "v", "read_only_fraction": 0.3 }},
    {{ "type": "list", "name": "l", "get_fraction": 0.2, "clear_fraction": 0.1 }},
    {{ "type": "map", "name": "m", "user_keys": 8,
       "mix": {{ "put": 0.4, "get": 0.2, "iterate": 0.1, "contains": 0.1, "remove": 0.2 }} }}
  ]
}}"#,
        warmup = events / 10
    );
    WorkloadSpec::parse(&json, "mixed").unwrap()
}

/// A sliding-window workload with disorder and allowed lateness: window namespaces and timers.
pub fn window_spec(events: u64, keys: u64) -> WorkloadSpec {
    sliding_window_spec(events, keys, 100, 25)
}

/// A sliding-window workload with windows of `size_ms` every `slide_ms`: long windows over few
/// keys keep many timers pending per key group.
pub fn sliding_window_spec(events: u64, keys: u64, size_ms: u64, slide_ms: u64) -> WorkloadSpec {
    let json = format!(
        r#"{{ "name": "windows", "description": "test", "seed": 5, "events": {events},
        "warmup_events": {warmup}, "max_parallelism": 256,
        "keys": {{ "count": {keys}, "distribution": {{ "type": "zipfian", "theta": 0.7 }} }},
        "value_size": {{ "type": "uniform", "min": 1, "max": 64 }},
        "stream": {{ "gap": {{ "type": "exponential", "mean_ms": 1 }}, "out_of_order_fraction": 0.2,
                    "max_delay_ms": 30, "watermark_delay_ms": 10, "watermark_interval_ms": 20 }},
        "operator": {{ "type": "sliding_window", "size_ms": {size_ms}, "slide_ms": {slide_ms},
                       "aggregation": "holistic", "allowed_lateness_ms": 10 }} }}"#,
        warmup = events / 10
    );
    WorkloadSpec::parse(&json, "windows").unwrap()
}

/// The whole op stream of a spec.
pub fn all_ops(spec: &WorkloadSpec) -> Vec<StateOp> {
    let mut generator = OpGenerator::new(spec).unwrap();
    let (mut ops, mut all) = (Vec::new(), Vec::new());
    while generator.next_event(&mut ops) {
        all.extend_from_slice(&ops);
    }
    all
}

/// The layout of a spec.
pub fn layout(spec: &WorkloadSpec) -> StateLayout {
    StateLayout::of(spec)
}

/// The heap backend, RocksDB under every predefined profile, and RocksDB with HEAP timers.
pub fn every_backend() -> Vec<BackendConfig> {
    let mut all = vec![BackendConfig::HashMap];
    all.extend(
        PredefinedProfile::ALL
            .into_iter()
            .map(|p| BackendConfig::RocksDb(RocksDbConfig::new(p))),
    );
    let mut heap_timers = RocksDbConfig::new(PredefinedProfile::Default);
    heap_timers.timers = TimerFactory::Heap;
    all.push(BackendConfig::RocksDb(heap_timers));
    all
}

/// Applies ops in order (materializing their values) and returns what each found.
pub fn apply(backend: &mut dyn Backend, ops: &[StateOp]) -> Vec<Outcome> {
    let mut value = Vec::new();
    ops.iter()
        .map(|op| {
            match op.kind.value() {
                Some(v) => fill_value(v, &mut value),
                None => value.clear(),
            }
            backend.apply(op, &value).unwrap()
        })
        .collect()
}

/// A cell's scratch directory (`work/`) and run directory, under `dir`.
pub fn cell_paths(dir: &Path) -> CellPaths {
    CellPaths {
        work: dir.join("work"),
        run: dir.to_path_buf(),
    }
}

/// Runs one cell of `spec` on `backend` with checkpoints of `mode` every `interval`.
pub fn run(
    spec: &WorkloadSpec,
    backend: BackendConfig,
    mode: CheckpointMode,
    interval: Duration,
    paths: &CellPaths,
) -> CellResult {
    run_input(
        &OpInput::Generated(spec.clone()),
        backend,
        mode,
        interval,
        paths,
    )
}

/// Runs one cell of `input`, as [`run`].
pub fn run_input(
    input: &OpInput,
    backend: BackendConfig,
    mode: CheckpointMode,
    interval: Duration,
    paths: &CellPaths,
) -> CellResult {
    let cell = Cell::new(backend, CheckpointSetting::new(mode, interval));
    run_cell(input, &cell, paths, &mut |_, _| {}).unwrap()
}

/// Flink's default configuration with `key` set to `value` when one is given (as `--set
/// key=value` would), or the error setting it gives.
pub fn flink_config_with(key: &str, value: Option<&str>) -> anyhow::Result<FlinkConfig> {
    let mut config = FlinkConfig::default();
    if let Some(value) = value {
        config.set(&format!("{key}={value}"))?;
    }
    Ok(config)
}
