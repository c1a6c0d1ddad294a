//! report.md: the answer first (recommendation and Flink config), then the headline table, the
//! plots, and one section per cell.

use std::fmt::Write;

use anyhow::Result;

use super::format::{bytes, latency, millis, rate};
use super::recommend::{flink_config, recommend, Recommendation, TIE_FRACTION};
use super::recovery::{recovery_cell, storage_and_recovery};
use super::summary::checkpoint_stats;
use super::{Exporter, PLOTS};
use crate::checkpoint::CheckpointMode;
use crate::config::BackendType;
use crate::results::{CellResult, DiskProbe, Results};

/// Writes report.md.
pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn file_name(&self) -> &'static str {
        "report.md"
    }

    fn render(&self, results: &Results) -> Result<Vec<u8>> {
        let mut md = String::new();
        header(&mut md, results)?;
        answer(&mut md, results, &recommend(results))?;
        headline(&mut md, results)?;
        max_rates(&mut md, results)?;
        writeln!(md, "## Plots\n")?;
        for (name, title) in PLOTS {
            writeln!(md, "![{title}](plots/{name}.png)\n")?;
        }
        for cell in &results.cells {
            cell_section(&mut md, cell)?;
        }
        not_measured(&mut md, results)?;
        Ok(md.into_bytes())
    }
}

/// Random 4 KiB reads per second at queue depth 1 above which a device cannot be a spinning disk
/// (a 15k rpm disk seeks in about 3 ms: a few hundred reads per second).
const SOLID_STATE_QD1_IOPS: f64 = 1000.0;

/// The measured disk, beside what the kernel claims (and where the two disagree).
fn disk_line(md: &mut String, d: &DiskProbe) -> Result<()> {
    let k = &d.kernel;
    let claim = match k.rotational {
        Some(true) => "rotational",
        Some(false) => "non-rotational",
        None => "rotational: unknown",
    };
    writeln!(
        md,
        "Disk {} (measured{}): fsync p50 {} · p99 {} · 4 KiB random reads {}/s at queue depth 1, \
         {}/s at 16 · sequential read {:.0} MB/s, write {:.0} MB/s. The kernel says: {}, scheduler {}.{}\n",
        k.device,
        if d.direct_io { ", direct I/O" } else { " through the page cache: this filesystem has no direct I/O, so these are memory speeds" },
        latency(d.fsync_latency_us.p50 * 1e3),
        latency(d.fsync_latency_us.p99 * 1e3),
        rate(d.randread_4k_iops_qd1),
        rate(d.randread_4k_iops_qd16),
        d.seq_read_mb_s,
        d.seq_write_mb_s,
        claim,
        k.scheduler.as_deref().unwrap_or("unknown"),
        if k.rotational == Some(true) && d.direct_io && d.randread_4k_iops_qd1 > SOLID_STATE_QD1_IOPS {
            " The kernel's \"rotational\" is wrong here: no spinning disk serves that many random reads at queue depth 1."
        } else {
            ""
        }
    )?;
    Ok(())
}

fn header(md: &mut String, r: &Results) -> Result<()> {
    let w = &r.workload;
    let m = &r.machine;
    writeln!(md, "# statebench: {}\n", w.name)?;
    writeln!(md, "{}\n", w.description)?;
    writeln!(
        md,
        "Run {} · statebench {} · RocksDB {} · seed {} · {} events ({} warm-up) · max parallelism {}\n",
        r.created,
        r.statebench_version,
        if r.rocksdb_version.is_empty() { "n/a" } else { &r.rocksdb_version },
        w.seed,
        w.events,
        w.warmup_events,
        w.max_parallelism
    )?;
    writeln!(
        md,
        "Machine: {} · {} CPUs · {} memory · {} · data on {} ({}) at `{}`\n",
        m.cpu_model,
        m.cpus,
        bytes(m.memory_bytes),
        m.os,
        m.device,
        m.filesystem,
        m.data_dir
    )?;
    if let Some(disk) = &m.disk {
        disk_line(md, disk)?;
    }
    if let Some(version) = r.converted_from {
        writeln!(
            md,
            "> Converted from results.json version {version}, which recorded each cell's backend, \
             profile name, timer service and checkpoint setting but not the Flink keys it ran with: \
             keys from `--config`, `--set` and user profiles are missing from the configurations \
             below.\n"
        )?;
    }
    Ok(())
}

fn answer(md: &mut String, r: &Results, rec: &Recommendation) -> Result<()> {
    for &i in &rec.unverified {
        writeln!(
            md,
            "> **WARNING: cell `{}` restored a checkpoint that does NOT match the state it captured. \
             Its numbers are not trustworthy.**\n",
            r.cells[i].id
        )?;
    }
    writeln!(md, "## Recommendation\n")?;
    let Some(best) = rec.best.map(|i| &r.cells[i]) else {
        writeln!(
            md,
            "No cell both checkpointed and restored a verified checkpoint, so there is nothing to \
             recommend for a job that needs fault tolerance. Run the matrix (`statebench matrix`).\n"
        )?;
        return Ok(());
    };
    let stats = checkpoint_stats(best).unwrap_or_default();
    write!(
        md,
        "**Use `{}`**: {} ops/s ({} events/s) with checkpoints every {}, all-ops p99 {}, \
         p99.9 {}; each checkpoint stalled the operator for {} on average.",
        best.id,
        rate(best.ops_per_s),
        rate(best.events_per_s),
        millis(best.setup.checkpoint_interval_ms as f64),
        latency(best.all_ops.p99_ns as f64),
        latency(best.all_ops.p999_ns as f64),
        millis(stats.avg_sync_ms),
    )?;
    if let Some(runner) = rec.runner_up.map(|i| &r.cells[i]) {
        let ahead = (best.ops_per_s / runner.ops_per_s - 1.0) * 100.0;
        if rec.is_near_tie(r) {
            write!(
                md,
                " The runner-up `{}` is within {:.0}% ({ahead:.1}% slower): a tie at this run \
                 length; repeat or lengthen the run before choosing between them.",
                runner.id,
                TIE_FRACTION * 100.0
            )?;
        } else {
            write!(
                md,
                " It runs {} the runner-up `{}`.",
                speedup(best.ops_per_s, runner.ops_per_s),
                runner.id
            )?;
        }
    }
    if let Some(free) = rec.best_without_checkpoints.map(|i| &r.cells[i]) {
        let cost = (1.0 - best.ops_per_s / free.ops_per_s) * 100.0;
        let verdict = if cost.abs() < TIE_FRACTION * 100.0 {
            format!("checkpointing has no cost measurable at this run length ({cost:+.1}%)")
        } else {
            format!("checkpointing costs {cost:.0}% of the throughput here")
        };
        write!(
            md,
            " Without checkpoints the fastest cell, `{}`, ran at {} ops/s: {verdict}.",
            free.id,
            rate(free.ops_per_s)
        )?;
    }
    writeln!(md, "\n")?;
    writeln!(
        md,
        "```yaml\n# config.yaml (Flink 2.x)\n{}\n```\n",
        flink_config(&best.setup)
    )?;
    if best.setup.backend == BackendType::HashMap {
        write!(
            md,
            "The heap backend keeps all state as objects on the TaskManager's JVM heap: choose it only if \
             the state fits there with room to spare (the last checkpoint held {}; objects on a heap take \
             several times their serialized size).",
            bytes(stats.last_size_bytes)
        )?;
        if let Some(rocks) = rec.best_rocksdb.map(|i| &r.cells[i]) {
            write!(
                md,
                " If it does not, use `{}` ({} ops/s, p99 {}):\n\n```yaml\n{}\n```",
                rocks.id,
                rate(rocks.ops_per_s),
                latency(rocks.all_ops.p99_ns as f64),
                flink_config(&rocks.setup)
            )?;
        }
        writeln!(md, "\n")?;
    }
    explain_rocksdb(md, r, rec)?;
    if let Some(tail) = rec.lowest_tail.map(|i| &r.cells[i]) {
        writeln!(
            md,
            "If tail latency matters more than throughput: `{}` has the lowest p99.9 ({}) at {} ops/s.\n",
            tail.id,
            latency(tail.all_ops.p999_ns as f64),
            rate(tail.ops_per_s)
        )?;
    }
    Ok(())
}

/// `2.4×` for large ratios, `35% faster than` for small ones.
fn speedup(fast: f64, slow: f64) -> String {
    let ratio = fast / slow;
    if ratio >= 2.0 {
        format!("{ratio:.1}× as fast as")
    } else {
        format!("{:.0}% faster than", (ratio - 1.0) * 100.0)
    }
}

/// Why the best RocksDB cell beats the next one, in RocksDB's own numbers.
fn explain_rocksdb(md: &mut String, r: &Results, rec: &Recommendation) -> Result<()> {
    let Some(best) = rec.best_rocksdb else {
        return Ok(());
    };
    let next = (0..r.cells.len())
        .filter(|&i| {
            i != best
                && r.cells[i].rocksdb.is_some()
                && r.cells[i].setup.checkpoint_mode != CheckpointMode::None
        })
        .max_by(|&x, &y| r.cells[x].ops_per_s.total_cmp(&r.cells[y].ops_per_s));
    let (a, Some(b)) = (&r.cells[best], next.map(|i| &r.cells[i])) else {
        return Ok(());
    };
    if let (Some(sa), Some(sb)) = (&a.rocksdb, &b.rocksdb) {
        writeln!(
            md,
            "RocksDB's view of the two best RocksDB cells, `{}` vs `{}`: write amplification \
             {:.2}× vs {:.2}×, block cache hit rate {:.1}% vs {:.1}%, {} vs {} of blocks read per \
             get, write stalls {} vs {}, average checkpoint stall {} vs {}.\n",
            a.id,
            b.id,
            sa.write_amplification,
            sb.write_amplification,
            100.0 * sa.block_cache_hit_rate,
            100.0 * sb.block_cache_hit_rate,
            bytes(sa.block_bytes_per_get as u64),
            bytes(sb.block_bytes_per_get as u64),
            millis(sa.stall_ms),
            millis(sb.stall_ms),
            millis(checkpoint_stats(a).map_or(0.0, |s| s.avg_sync_ms)),
            millis(checkpoint_stats(b).map_or(0.0, |s| s.avg_sync_ms)),
        )?;
    }
    Ok(())
}

fn verified_mark(cell: &CellResult) -> &'static str {
    match &cell.restore {
        Some(r) if r.verified => "✔",
        Some(_) => "✘",
        None => "—",
    }
}

/// Flink's keys for unaligned checkpoints (2.x and its 1.x name).
const UNALIGNED_KEYS: [&str; 2] = [
    "execution.checkpointing.unaligned.enabled",
    "execution.checkpointing.unaligned",
];

/// What the report's numbers do not include, and why that is no gap for the choice it makes.
fn not_measured(md: &mut String, r: &Results) -> Result<()> {
    if let Some(ttl) = &r.workload.ttl {
        writeln!(md, "## State TTL and time\n")?;
        writeln!(
            md,
            "Every state has a TTL of {} ms. Flink measures TTL in processing time (the TaskManager's \
             clock when the state is accessed). A replay runs at this machine's speed, not the job's, \
             so the harness lets the event's own time stand in for processing time (one millisecond \
             per event where the workload has no event-time stream): the same entries expire in every \
             cell and on every machine. A job that lags its input expires less than this; one catching \
             up on a backlog expires more.\n",
            ttl.ttl_ms
        )?;
    }
    writeln!(md, "## Unaligned checkpoints\n")?;
    let set: Vec<String> = r
        .cells
        .iter()
        .flat_map(|c| &c.setup.flink_keys)
        .filter(|k| UNALIGNED_KEYS.contains(&k.key.as_str()))
        .map(|k| format!("`{}: {}`", k.key, k.value))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    writeln!(
        md,
        "Unaligned checkpoints change how a checkpoint barrier crosses the network, not what the state \
         backend does: an aligned barrier waits at each input until it arrived on all of them, while an \
         unaligned one overtakes the buffered records and the in-flight network buffers are written into \
         the checkpoint as channel state. That shortens checkpoints under backpressure and adds those \
         buffers to the checkpoint's size, but the backend's part (the sync phase's flush and native \
         checkpoint or heap copy, the async upload, the restore) is the same either way, and that part is \
         what this report measures. A single operator replaying its state accesses has no network \
         channels, so the choice does not show here; size it with your job's backpressure and network \
         buffers (`taskmanager.network.*`).{}\n",
        if set.is_empty() {
            String::new()
        } else {
            format!(
                " Your configuration sets {}: accepted and recorded with each cell, and carried into \
                 the recommended config.yaml.",
                set.join(", ")
            )
        }
    )?;
    Ok(())
}

fn headline(md: &mut String, r: &Results) -> Result<()> {
    writeln!(md, "## Headline\n")?;
    writeln!(
        md,
        "| cell | ops/s | events/s | recovery | p50 | p99 | p99.9 | max | checkpoints | avg sync | avg async | last size | restore | verified | write amp | cache hits |"
    )?;
    writeln!(
        md,
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|:-:|--:|--:|"
    )?;
    for c in &r.cells {
        let s = checkpoint_stats(c);
        let dash = || "—".to_string();
        writeln!(
            md,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.id,
            rate(c.ops_per_s),
            rate(c.events_per_s),
            recovery_cell(c),
            latency(c.all_ops.p50_ns as f64),
            latency(c.all_ops.p99_ns as f64),
            latency(c.all_ops.p999_ns as f64),
            latency(c.all_ops.max_ns as f64),
            s.as_ref().map_or(0, |s| s.count),
            s.as_ref().map_or_else(dash, |s| millis(s.avg_sync_ms)),
            s.as_ref().map_or_else(dash, |s| millis(s.avg_async_ms)),
            s.as_ref().map_or_else(dash, |s| bytes(s.last_size_bytes)),
            c.restore
                .as_ref()
                .map_or_else(dash, |x| millis(x.restore_ms)),
            verified_mark(c),
            c.rocksdb
                .as_ref()
                .map_or_else(dash, |r| format!("{:.2}×", r.write_amplification)),
            c.rocksdb
                .as_ref()
                .map_or_else(dash, |r| format!("{:.1}%", 100.0 * r.block_cache_hit_rate)),
        )?;
    }
    writeln!(md)?;
    Ok(())
}

/// The highest rate each cell sustained within the p99 target, when `--find-max-rate` ran.
fn max_rates(md: &mut String, r: &Results) -> Result<()> {
    let searched: Vec<_> = r
        .cells
        .iter()
        .filter_map(|c| c.max_rate.as_ref().map(|m| (c, m)))
        .collect();
    let Some((_, first)) = searched.first() else {
        return Ok(());
    };
    writeln!(md, "## Highest sustained rate\n")?;
    writeln!(
        md,
        "The highest arrival rate each cell carried with its events' p99 latency, measured from \
         each event's intended start (so checkpoint sync phases and write stalls count), within \
         {}: short open-loop probes on fresh backends, doubling then bisecting to 5 %.\n",
        millis(first.p99_target_ms)
    )?;
    writeln!(
        md,
        "| cell | max rate (events/s) | lowest failing rate | probes |"
    )?;
    writeln!(md, "|---|--:|--:|--:|")?;
    for (c, m) in searched {
        writeln!(
            md,
            "| `{}` | {} | {} | {} |",
            c.id,
            m.rate_per_s.map_or("none passed".to_string(), rate),
            m.failed_at_per_s.map_or("none failed".to_string(), rate),
            m.probes.len()
        )?;
    }
    writeln!(md)?;
    Ok(())
}

/// An open-loop cell's event latencies, corrected and uncorrected.
fn open_loop(md: &mut String, c: &CellResult) -> Result<()> {
    if let Some(o) = &c.open_loop {
        writeln!(
            md,
            "Open loop at {} events/s ({} events/s achieved). Event latency from the intended \
             start (corrected for coordinated omission: time waiting behind a checkpoint sync \
             phase or a stall counts) and from the actual start:\n",
            rate(o.rate_per_s),
            rate(c.events_per_s)
        )?;
        writeln!(
            md,
            "| event latency | mean | p50 | p90 | p99 | p99.9 | max |"
        )?;
        writeln!(md, "|---|--:|--:|--:|--:|--:|--:|")?;
        for (name, l) in [("corrected", &o.corrected), ("uncorrected", &o.uncorrected)] {
            writeln!(
                md,
                "| {name} | {} | {} | {} | {} | {} | {} |",
                latency(l.mean_ns),
                latency(l.p50_ns as f64),
                latency(l.p90_ns as f64),
                latency(l.p99_ns as f64),
                latency(l.p999_ns as f64),
                latency(l.max_ns as f64)
            )?;
        }
        writeln!(md)?;
    }
    if let Some(m) = &c.max_rate {
        let probes: Vec<String> = m
            .probes
            .iter()
            .map(|p| {
                format!(
                    "{}/s: p99 {} ({})",
                    rate(p.rate_per_s),
                    millis(p.p99_ms),
                    if p.passed { "pass" } else { "fail" }
                )
            })
            .collect();
        writeln!(
            md,
            "Rate search, p99 within {}: {}. Probes: {}.\n",
            millis(m.p99_target_ms),
            match m.rate_per_s {
                Some(r) => format!("sustains {} events/s", rate(r)),
                None => "no probed rate passed".to_string(),
            },
            probes.join("; ")
        )?;
    }
    Ok(())
}

fn cell_section(md: &mut String, c: &CellResult) -> Result<()> {
    writeln!(md, "## `{}`\n", c.id)?;
    writeln!(
        md,
        "{} measured events, {} ops in {:.2} s: {} ops/s.\n",
        c.measured_events,
        c.measured_ops,
        c.elapsed_s,
        rate(c.ops_per_s)
    )?;
    let set: Vec<String> = c
        .setup
        .flink_keys
        .iter()
        .filter(|k| !k.source.is_implied())
        .map(|k| format!("`{}: {}` ({})", k.key, k.value, k.source))
        .collect();
    writeln!(
        md,
        "Flink keys beyond the defaults and the predefined profile's: {}.\n",
        set.join(", ")
    )?;
    writeln!(md, "| op | count | mean | p50 | p90 | p99 | p99.9 | max |")?;
    writeln!(md, "|---|--:|--:|--:|--:|--:|--:|--:|")?;
    for o in c.ops.iter().chain(std::iter::once(&c.all_ops)) {
        writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            o.op,
            o.count,
            latency(o.mean_ns),
            latency(o.p50_ns as f64),
            latency(o.p90_ns as f64),
            latency(o.p99_ns as f64),
            latency(o.p999_ns as f64),
            latency(o.max_ns as f64)
        )?;
    }
    writeln!(md)?;
    open_loop(md, c)?;
    match checkpoint_stats(c) {
        Some(s) => writeln!(
            md,
            "Checkpoints ({}, every {}): {} taken; sync phase avg {} / max {}; async phase avg {}; \
             {} written per checkpoint on average; last checkpoint {}; {} files written, {} reused.\n",
            c.setup.checkpoint_mode,
            millis(c.setup.checkpoint_interval_ms as f64),
            s.count,
            millis(s.avg_sync_ms),
            millis(s.max_sync_ms),
            millis(s.avg_async_ms),
            bytes(s.avg_bytes_written),
            bytes(s.last_size_bytes),
            s.files_written,
            s.files_reused
        )?,
        None => writeln!(md, "Checkpointing off.\n")?,
    }
    if let Some(x) = &c.restore {
        writeln!(
            md,
            "Restore of checkpoint {}: {} ({} entries, {}), {}.\n",
            x.checkpoint_id,
            millis(x.restore_ms),
            x.entries,
            bytes(x.bytes),
            if x.verified {
                "verified equal to the state it captured"
            } else {
                "**DOES NOT MATCH the state it captured**"
            }
        )?;
    }
    storage_and_recovery(md, c)?;
    if let Some(sp) = &c.savepoint {
        writeln!(
            md,
            "Savepoint (Flink's canonical format, at the end of input): {} in {} files, sync phase {}, \
             written in {}{}.\n",
            bytes(sp.size_bytes),
            sp.files_written,
            millis(sp.sync_ms),
            millis(sp.async_ms),
            c.savepoint_restore.as_ref().map_or(String::new(), |x| format!(
                "; restored in {} ({} entries), {}",
                millis(x.restore_ms),
                x.entries,
                if x.verified {
                    "verified equal to the live state"
                } else {
                    "**DOES NOT MATCH the live state**"
                }
            ))
        )?;
    }
    let checked = c
        .checkpoints
        .iter()
        .filter(|k| k.verified.is_some())
        .count();
    if checked > 0 {
        writeln!(
            md,
            "Every checkpoint was restored and verified ({checked} checked, {} matched). That holds a \
             view of the state across each checkpoint and restores beside the run, which perturbs \
             these numbers; run without `--verify-every-checkpoint` to measure.\n",
            c.checkpoints
                .iter()
                .filter(|k| k.verified == Some(true))
                .count()
        )?;
    }
    if let Some(r) = &c.rocksdb {
        let levels: Vec<String> = r
            .files_per_level
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(level, n)| format!("L{level} {n}"))
            .collect();
        writeln!(
            md,
            "RocksDB over the measured part: write amplification {:.2}×, space amplification {:.2}×, \
             block cache hit rate {:.1}%, {} of blocks read per get; {} write stalls ({}); \
             {} written by the operator, {} flushed, compactions read {} and wrote {}. \
             At the end: memtables {}, block cache {}, SST files {} (live data {}), files per level: {}. \
             (RocksDB's statistics, tickers only, were on to measure this; Flink keeps them off \
             unless its RocksDB native metrics are enabled. `cargo bench --bench overhead` \
             measures their cost, statistics on against off.)\n",
            r.write_amplification,
            r.space_amplification,
            100.0 * r.block_cache_hit_rate,
            bytes(r.block_bytes_per_get as u64),
            r.stall_count,
            millis(r.stall_ms),
            bytes(r.user_bytes_written),
            bytes(r.flush_bytes),
            bytes(r.compaction_read_bytes),
            bytes(r.compaction_write_bytes),
            bytes(r.memtable_bytes),
            bytes(r.block_cache_usage),
            bytes(r.sst_bytes),
            bytes(r.live_data_bytes),
            if levels.is_empty() { "none".to_string() } else { levels.join(", ") }
        )?;
    }
    if let Some(log) = &c.histogram_log {
        writeln!(
            md,
            "Latency per second as an HdrHistogram interval log: [{log}]({log})\n"
        )?;
    }
    if let Some(options) = &c.options_file {
        writeln!(md, "Effective RocksDB options: [{options}]({options})\n")?;
    }
    Ok(())
}
