//! report.md: the answer first (one sentence with its confidence, then the Flink config), then the
//! ranking with intervals, how it was measured, the plots, and one section per cell.

use std::fmt::Write;

use anyhow::Result;

use super::binding::{binding_paragraph, resources_line};
use super::format::{bytes, latency, millis, rate};
use super::recommend::{flink_config, recommend, Criterion, Recommendation};
use super::recovery::storage_and_recovery;
use super::summary::checkpoint_stats;
use super::{Exporter, PLOTS};
use crate::analysis::trend::{TREND_CHANGE, TREND_P};
use crate::analysis::{analyze, throughput_ratio, MIN_CHECKPOINT_INTERVALS};
use crate::backend::rocksdb::RocksStatistics;
use crate::checkpoint::CheckpointMode;
use crate::config::BackendType;
use crate::measure::READ_BUDGET;
use crate::results::{
    Analysis, CellResult, CellStatistics, DiskProbe, Estimate, OpLatency, Results, RocksDbStats,
};
use crate::run::MAX_EXTENSION;

/// Writes report.md.
pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn file_name(&self) -> &'static str {
        "report.md"
    }

    fn render(&self, results: &Results) -> Result<Vec<u8>> {
        let mut md = String::new();
        let analysis = analyze(results);
        header(&mut md, results)?;
        let recommendation = recommend(results, &analysis);
        answer(&mut md, results, &analysis, &recommendation)?;
        binding_paragraph(&mut md, results, recommendation.best())?;
        headline(&mut md, results, &analysis)?;
        max_rates(&mut md, results)?;
        protocol(&mut md, results, &analysis)?;
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
    if r.converted_from == Some(2) {
        writeln!(
            md,
            "> Converted from results.json version 2, which ran each cell once in one process.\n"
        )?;
    }
    if let Some(version @ 1) = r.converted_from {
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

/// A median with its interval, in `unit`'s words: `61.2 k (95% CI 58.0 k–63.9 k)`.
fn with_ci(e: &Estimate, unit: &dyn Fn(f64) -> String) -> String {
    format!(
        "{} (95% CI {}–{})",
        unit(e.median),
        unit(e.low),
        unit(e.high)
    )
}

/// A ratio above 1 as a percentage ahead: `12% (95% CI 5–20%)`.
fn ahead(e: &Estimate) -> String {
    let pct = |v: f64| format!("{:.0}", (v - 1.0) * 100.0);
    format!(
        "{}% (95% CI {}–{}%)",
        pct(e.median),
        pct(e.low),
        pct(e.high)
    )
}

/// The practical margin as a percentage, e.g. `10%`.
fn margin_pct(a: &Analysis) -> String {
    format!("{:.0}%", a.practical_margin * 100.0)
}

/// The one sentence the report leads with: the answer and how sure the run is of it.
pub fn lead_sentence(r: &Results, a: &Analysis, rec: &Recommendation) -> String {
    let choice = &rec.choice;
    let Some(best) = choice.best else {
        return "**No recommendation**: no cell both checkpointed, restored verified checkpoints \
                in every repeat and kept the constraints."
            .to_string();
    };
    let id = |i: usize| format!("`{}`", r.cells[i].id);
    let n = a.cells[best].repeats;
    let others: Vec<String> = choice
        .tied
        .iter()
        .filter(|&&i| i != best)
        .map(|&i| id(i))
        .collect();
    let margin = margin_pct(a);
    match (choice.decided_by, choice.runner_up) {
        (Some(Criterion::Throughput), Some((runner, lead))) => format!(
            "**Use {}**, with confidence: it is faster than every other eligible cell beyond the \
             noise and by more than {margin}, {} ahead of the runner-up {} over {n} repeats each.",
            id(best),
            ahead(&lead),
            id(runner)
        ),
        (Some(Criterion::Throughput), None) => format!(
            "**Use {}**: the only cell that checkpoints, restored verified checkpoints in all {n} \
             repeats and keeps the constraints.",
            id(best)
        ),
        (Some(Criterion::Defaults), _) => format!(
            "**Use {}**, but it is a tie: {} cells are tied on throughput (with {}: no difference \
             beyond the noise and larger than {margin}), and none is better than the others by \
             such a difference on checkpoint duration, memory or recovery either, so the pick is \
             the one closest to Flink's defaults.",
            id(best),
            choice.tied.len(),
            others.join(", ")
        ),
        (Some(criterion), _) => format!(
            "**Use {}**: it is tied on throughput with {} (the 95% interval of each one's \
             throughput ratio to the fastest reaches within {margin} of 1, over {n} repeats), and \
             is chosen among them for {criterion}, better beyond the noise and by more than \
             {margin}.",
            id(best),
            others.join(", ")
        ),
        (None, _) => String::new(),
    }
}

fn answer(md: &mut String, r: &Results, a: &Analysis, rec: &Recommendation) -> Result<()> {
    for &i in &rec.unverified {
        writeln!(
            md,
            "> **WARNING: cell `{}` restored a checkpoint that does NOT match the state it captured. \
             Its numbers are not trustworthy.**\n",
            r.cells[i].id
        )?;
    }
    writeln!(md, "## Recommendation\n")?;
    writeln!(md, "{}\n", lead_sentence(r, a, rec))?;
    ruled_out(md, r, rec)?;
    let Some(b) = rec.best() else {
        writeln!(
            md,
            "Run the matrix (`statebench matrix`) for cells that checkpoint, or relax the \
             constraints.\n"
        )?;
        return Ok(());
    };
    let (best, stats) = (&r.cells[b], &a.cells[b]);
    let none = || "—".to_string();
    writeln!(
        md,
        "`{}`: {} ops/s, {} events/s, with checkpoints every {}; all-ops p99 {}, p99.9 {}; \
         mean checkpoint {}; recovery {}.\n",
        best.id,
        with_ci(&stats.ops_per_s, &rate),
        rate(stats.events_per_s.median),
        millis(best.setup.checkpoint_interval_ms as f64),
        with_ci(&stats.p99_ns, &latency),
        latency(stats.p999_ns.median),
        stats
            .checkpoint_ms
            .as_ref()
            .map_or_else(none, |e| with_ci(e, &millis)),
        stats
            .recovery_ms
            .as_ref()
            .map_or_else(none, |e| with_ci(e, &millis)),
    )?;
    if rec.choice.tied.len() > 1 {
        writeln!(
            md,
            "Tied on throughput (each one's ratio to the fastest, `{}`, has a 95% interval \
             reaching within {} of 1):\n",
            r.cells[rec.choice.fastest.unwrap_or(b)].id,
            margin_pct(a)
        )?;
        writeln!(
            md,
            "| cell | ops/s | mean checkpoint | peak memory | recovery |"
        )?;
        writeln!(md, "|---|--:|--:|--:|--:|")?;
        for &i in &rec.choice.tied {
            let s = &a.cells[i];
            writeln!(
                md,
                "| `{}`{} | {} | {} | {} | {} |",
                r.cells[i].id,
                if i == b { " (picked)" } else { "" },
                with_ci(&s.ops_per_s, &rate),
                s.checkpoint_ms
                    .as_ref()
                    .map_or_else(none, |e| with_ci(e, &millis)),
                s.peak_rss_bytes
                    .as_ref()
                    .map_or_else(none, |e| bytes(e.median as u64)),
                s.recovery_ms
                    .as_ref()
                    .map_or_else(none, |e| with_ci(e, &millis)),
            )?;
        }
        writeln!(md)?;
    }
    if let Some(free) = rec.best_without_checkpoints {
        let cost = throughput_ratio(r, b, free);
        let verdict = if cost.contains(1.0) {
            "checkpointing has no cost beyond the noise here".to_string()
        } else {
            let pct = |v: f64| format!("{:.0}", (1.0 - v) * 100.0);
            format!(
                "checkpointing costs {}% of the throughput here (95% CI {}–{}%)",
                pct(cost.median),
                pct(cost.high),
                pct(cost.low)
            )
        };
        writeln!(
            md,
            "Without checkpoints the fastest cell, `{}`, ran at {} ops/s: {verdict}.\n",
            r.cells[free].id,
            rate(a.cells[free].ops_per_s.median),
        )?;
    }
    if stats.drifting() || stats.short() {
        writeln!(md, "> Note on `{}`: {}\n", best.id, steadiness(stats))?;
    }
    writeln!(
        md,
        "```yaml\n# config.yaml (Flink 2.x)\n{}\n```\n",
        flink_config(&best.setup)
    )?;
    if best.setup.backend == BackendType::HashMap {
        write!(
            md,
            "The heap backend keeps all state as objects on the TaskManager's JVM heap: choose it only if \
             the state fits there with room to spare (the last checkpoint held {}, the process peaked at \
             {}; objects on a heap take several times their serialized size; `--heap-budget` rules the \
             heap out when the measured footprint exceeds it).",
            bytes(best.checkpoints.last().map_or(0, |c| c.size_bytes)),
            stats.peak_rss_bytes.as_ref().map_or_else(none, |e| bytes(e.median as u64)),
        )?;
        if let Some(rocks) = rec.rocksdb.best {
            write!(
                md,
                " If it does not, use `{}` ({} ops/s, p99 {}{}):\n\n```yaml\n{}\n```",
                r.cells[rocks].id,
                rate(a.cells[rocks].ops_per_s.median),
                latency(a.cells[rocks].p99_ns.median),
                match rec.rocksdb.decided_by {
                    Some(Criterion::Throughput) | None => String::new(),
                    Some(c) =>
                        format!("; tied on throughput with other RocksDB cells, chosen for {c}"),
                },
                flink_config(&r.cells[rocks].setup)
            )?;
        }
        writeln!(md, "\n")?;
    }
    explain_rocksdb(md, r, rec)?;
    if let Some(tail) = rec.lowest_tail {
        writeln!(
            md,
            "If tail latency matters more than throughput: `{}` has the lowest p99.9 ({}) at {} ops/s.\n",
            r.cells[tail].id,
            with_ci(&a.cells[tail].p999_ns, &latency),
            rate(a.cells[tail].ops_per_s.median)
        )?;
    }
    Ok(())
}

/// The cells the constraints ruled out, and why.
fn ruled_out(md: &mut String, r: &Results, rec: &Recommendation) -> Result<()> {
    if rec.ruled_out.is_empty() {
        return Ok(());
    }
    writeln!(md, "Ruled out by your constraints:\n")?;
    for (i, why) in &rec.ruled_out {
        writeln!(md, "- `{}`: {why}.", r.cells[*i].id)?;
    }
    writeln!(md)?;
    Ok(())
}

/// What is wrong with a cell's steady state, in words.
fn steadiness(s: &CellStatistics) -> String {
    let mut notes = Vec::new();
    for st in &s.steady {
        if let Some(t) = st.trend.filter(|t| t.drifting) {
            notes.push(format!(
                "repeat {} drifted: throughput {} {:.0}% over its {:.1} s (Mann–Kendall p = {:.1e})",
                st.repeat,
                if t.change < 0.0 { "fell" } else { "rose" },
                t.change.abs() * 100.0,
                st.measured_s,
                t.p_value
            ));
        }
        if !st.enough_intervals {
            notes.push(format!(
                "repeat {} measured only {:.1} checkpoint intervals (fewer than {MIN_CHECKPOINT_INTERVALS:.0}: \
                 lengthen the workload for a fair checkpoint cost)",
                st.repeat, st.checkpoint_intervals
            ));
        }
    }
    notes.join("; ")
}

/// Why the best RocksDB cell beats the next one, in RocksDB's own numbers.
fn explain_rocksdb(md: &mut String, r: &Results, rec: &Recommendation) -> Result<()> {
    let Some(best) = rec.rocksdb.best else {
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
        let tickers = match (tickers_of(sa), tickers_of(sb)) {
            (Some((wa, ha, ga, sta)), Some((wb, hb, gb, stb))) => format!(
                "write amplification {wa:.2}× vs {wb:.2}×, block cache hit rate {:.1}% vs {:.1}%, \
                 {} vs {} of blocks read per get, write stall time {} vs {}, ",
                100.0 * ha,
                100.0 * hb,
                bytes(ga as u64),
                bytes(gb as u64),
                millis(sta),
                millis(stb),
            ),
            _ => String::new(),
        };
        writeln!(
            md,
            "RocksDB's view (median repeat of each) of the recommended RocksDB cell `{}` and the \
             next fastest `{}`: {tickers}space amplification {:.2}× vs {:.2}×, SST files {} vs {}, \
             {} vs {} write stalls and delays, average checkpoint stall {} vs {}.\n",
            a.id,
            b.id,
            sa.space_amplification,
            sb.space_amplification,
            bytes(sa.sst_bytes),
            bytes(sb.sst_bytes),
            sa.stall_count,
            sb.stall_count,
            millis(checkpoint_stats(a).map_or(0.0, |s| s.avg_sync_ms)),
            millis(checkpoint_stats(b).map_or(0.0, |s| s.avg_sync_ms)),
        )?;
    }
    Ok(())
}

/// A cell's ticker figures (write amplification, cache hit rate, bytes per get, stall ms), when
/// RocksDB's statistics were on.
fn tickers_of(r: &RocksDbStats) -> Option<(f64, f64, f64, f64)> {
    Some((
        r.write_amplification?,
        r.block_cache_hit_rate?,
        r.block_bytes_per_get?,
        r.stall_ms?,
    ))
}

/// How the numbers were taken: repeats, order, processes, page cache, warm-up, steady state.
fn protocol(md: &mut String, r: &Results, a: &Analysis) -> Result<()> {
    let p = &r.protocol;
    writeln!(md, "## How this was measured\n")?;
    if p.repeats <= 1 {
        writeln!(
            md,
            "Each cell ran once (results written before repeats, or `--repeats 1`): the intervals \
             rest on the variation within that one run only, and ties cannot be told from \
             run-to-run noise. Run with `--repeats 3` or more for an answer that survives a second \
             run.\n"
        )?;
    } else {
        writeln!(
            md,
            "Every cell ran {} times{}, in an interleaved order shuffled with seed {} (every cell's \
             first repeat before any cell's second, never one cell twice in a row). Page cache: {}.\n",
            p.repeats,
            if p.child_processes { ", each repeat in a fresh process with a fresh directory" } else { "" },
            p.order_seed,
            p.page_cache
        )?;
    }
    writeln!(
        md,
        "Warm-up: the first {} events (the workload's `warmup_events`) are applied but not measured; \
         the rule is by events so every cell starts measuring at the same op. Steady state is \
         enforced: a checkpointing cell whose measured part would hold fewer than \
         {MIN_CHECKPOINT_INTERVALS:.0} checkpoint intervals keeps replaying the same \
         deterministic stream past the workload's events until it holds them (at most \
         {MAX_EXTENSION}× the events; a trace cannot be continued and is flagged instead), so it \
         measures every op the other cells measure and then more, on state that grew a little \
         further. Intervals are 95% \
         percentile-bootstrap intervals ({} resamples, seed {}) of the median over repeats; for \
         throughput each resampled repeat is also resampled over its seconds (blocks of \
         consecutive seconds). A ratio's interval comes from resampling both cells; a difference \
         counts when that interval excludes 1. A repeat drifts when its per-second throughput has \
         a Mann–Kendall trend with p < {} whose Theil–Sen slope moves it by at least {:.0}% over \
         the measured part; a checkpointing repeat should measure at least \
         {MIN_CHECKPOINT_INTERVALS:.0} checkpoint intervals.\n",
        r.workload.warmup_events,
        a.resamples,
        a.seed,
        TREND_P,
        TREND_CHANGE * 100.0
    )?;
    writeln!(
        md,
        "Throughput is over the operator's time: the measured part's wall time less what the \
         operator thread spent generating the op batches (the harness's generator and value \
         bytes, timed with a clock read each side of a batch; each cell gives it), so it is the \
         state backend and the replay loop; checkpoint sync phases and anything else on the \
         thread stay in. Wall-clock figures (checkpoint intervals, the timeline) are wall time. \
         Latency: where a clock read is under {budget} % of an op's time every op is timed; \
         elsewhere 1 in k ops (heap: tens; RocksDB: one to a few), a seeded sample with one op \
         at a random place in each block of k (so no op pattern aliases with it), k chosen from \
         the ops' median time so the reads take at most {budget} % of it (`--time-every-op` times them all); every \
         op counts for throughput and op counts, and each cell says its k. Percentile intervals \
         resample repeats and seconds, not ops, so the sample leaves them as they are; a tail \
         percentile rests on the timed ops only.\n",
        budget = READ_BUDGET * 100.0
    )?;
    let workload_events = r.workload.events.saturating_sub(r.workload.warmup_events);
    let extended: Vec<String> = r
        .cells
        .iter()
        .filter(|c| c.repeats.iter().any(|rep| rep.extended_events.is_some()))
        .map(|c| {
            let events: Vec<String> = c
                .repeats
                .iter()
                .map(|rep| rate(rep.extended_events.unwrap_or(workload_events) as f64))
                .collect();
            format!("- `{}`: {} events measured", c.id, events.join(", "))
        })
        .collect();
    if !extended.is_empty() {
        writeln!(
            md,
            "Measured past the workload's {} events to hold {MIN_CHECKPOINT_INTERVALS:.0} \
             checkpoint intervals (per repeat):\n\n{}\n",
            rate(workload_events as f64),
            extended.join("\n")
        )?;
    }
    let flagged: Vec<String> = r
        .cells
        .iter()
        .zip(&a.cells)
        .filter(|(_, s)| s.drifting() || s.short())
        .map(|(c, s)| format!("- `{}`: {}", c.id, steadiness(s)))
        .collect();
    if !flagged.is_empty() {
        writeln!(md, "Not in a steady state:\n\n{}\n", flagged.join("\n"))?;
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

fn headline(md: &mut String, r: &Results, a: &Analysis) -> Result<()> {
    writeln!(md, "## Ranking\n")?;
    writeln!(
        md,
        "By median throughput over the repeats, with 95% intervals. \"vs fastest\" is the ratio to \
         the fastest cell; = marks a cell tied with it (the interval holds 1); > marks a cell \
         faster than the next one beyond the noise. The recommendation acts only on \
         differences beyond the noise and larger than {} (its interval wholly outside 1 ± {}), so \
         a cell marked > here can still be tied there. ⚠ marks a cell not in a steady state (see \
         \"How this was measured\").\n",
        margin_pct(a),
        margin_pct(a)
    )?;
    // RocksDB's ticker figures get columns only when some cell measured them.
    let tickers = r
        .cells
        .iter()
        .any(|c| c.rocksdb.as_ref().and_then(tickers_of).is_some());
    writeln!(
        md,
        "| # | cell | ops/s | vs fastest | | p99 | p99.9 | checkpoints | mean checkpoint | last size | recovery | peak memory | verified |{}",
        if tickers { " write amp | cache hits |" } else { "" }
    )?;
    writeln!(
        md,
        "|--:|---|--:|--:|:-:|--:|--:|--:|--:|--:|--:|--:|:-:|{}",
        if tickers { "--:|--:|" } else { "" }
    )?;
    for (rank, ranked) in a.ranking.iter().enumerate() {
        let Some(i) = r.cells.iter().position(|c| c.id == ranked.cell) else {
            continue;
        };
        let (c, s) = (&r.cells[i], &a.cells[i]);
        let dash = || "—".to_string();
        let e = &ranked.ratio_to_fastest;
        write!(
            md,
            "| {} | `{}`{} | {} | {:.2} ({:.2}–{:.2}) | {}{} | {} | {} | {} | {} | {} | {} | {} | {} |",
            rank + 1,
            c.id,
            if s.drifting() || s.short() { " ⚠" } else { "" },
            with_ci(&s.ops_per_s, &rate),
            e.median,
            e.low,
            e.high,
            if ranked.tied_with_fastest { "=" } else { "" },
            if ranked.ahead_of_next == Some(true) { ">" } else { "" },
            with_ci(&s.p99_ns, &latency),
            latency(s.p999_ns.median),
            c.checkpoints.len(),
            s.checkpoint_ms.as_ref().map_or_else(dash, |e| millis(e.median)),
            s.checkpoint_bytes.as_ref().map_or_else(dash, |e| bytes(e.median as u64)),
            s.recovery_ms.as_ref().map_or_else(dash, |e| millis(e.median)),
            s.peak_rss_bytes.as_ref().map_or_else(dash, |e| bytes(e.median as u64)),
            verified_mark(c),
        )?;
        match c.rocksdb.as_ref().and_then(tickers_of) {
            Some((write_amp, hits, _, _)) => {
                writeln!(md, " {write_amp:.2}× | {:.1}% |", 100.0 * hits)?
            }
            None if tickers => writeln!(md, " — | — |")?,
            None => writeln!(md)?,
        }
    }
    writeln!(md)?;
    let unmeasured = r
        .cells
        .iter()
        .any(|c| c.rocksdb.as_ref().is_some_and(|s| tickers_of(s).is_none()));
    if unmeasured {
        writeln!(md, "{STATISTICS_OFF}\n")?;
    }
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
            writeln!(md, "| {name} | {} |", latency_columns(l))?;
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
        "{} measured events, {} ops in {:.2} s, of which {:.2} s ({:.1} ns per op) generating \
         the op batches, left out: {} ops/s. {}\n",
        c.measured_events,
        c.measured_ops,
        c.elapsed_s,
        c.generation_s,
        c.generation_ns_per_op,
        rate(c.ops_per_s),
        latency_timing(c)
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
        writeln!(md, "| {} | {} | {} |", o.op, o.count, latency_columns(o))?;
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
        writeln!(md, "{}\n", rocksdb_paragraph(r, &levels))?;
    }
    resources_line(md, c)?;
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

/// What RocksDB's own numbers say about a cell's measured part: the ticker figures when the
/// DB had a statistics object (and which one, with what it costs), else that they were not
/// measured and why; the properties always.
fn rocksdb_paragraph(r: &RocksDbStats, levels: &[String]) -> String {
    let tickers = match tickers_of(r) {
        Some((write_amp, hits, per_get, stall_ms)) => format!(
            "write amplification {write_amp:.2}×, block cache hit rate {:.1}%, {} of blocks read \
             per get, write stall time {}; {} written by the operator, {} flushed, compactions read \
             {} and wrote {}; ",
            100.0 * hits,
            bytes(per_get as u64),
            millis(stall_ms),
            r.user_bytes_written.map_or_else(String::new, bytes),
            r.flush_bytes.map_or_else(String::new, bytes),
            r.compaction_read_bytes.map_or_else(String::new, bytes),
            r.compaction_write_bytes.map_or_else(String::new, bytes),
        ),
        None => String::new(),
    };
    let source = match r.statistics {
        RocksStatistics::Off => STATISTICS_OFF,
        RocksStatistics::Tickers => {
            "RocksDB's statistics, tickers only, were on to measure the amplification, hit rate \
             and stall time (`--rocksdb-statistics`); Flink keeps them off unless a \
             statistics-based native metric is enabled, and they cost this cell some throughput: \
             `cargo bench --bench overhead` measures statistics on against off."
        }
        RocksStatistics::Flink => {
            "RocksDB's statistics were on as Flink turns them on for its statistics-based native \
             metrics (`state.backend.rocksdb.metrics.*`): tickers and histograms, at a cost to \
             throughput that a job with those metrics pays too."
        }
    };
    format!(
        "RocksDB over the measured part: {tickers}space amplification {:.2}×, {} write stalls \
         and delays. At the end: memtables {}, block cache {}, SST files {} (live data {}), files \
         per level: {}. {source}",
        r.space_amplification,
        r.stall_count,
        bytes(r.memtable_bytes),
        bytes(r.block_cache_usage),
        bytes(r.sst_bytes),
        bytes(r.live_data_bytes),
        if levels.is_empty() {
            "none".to_string()
        } else {
            levels.join(", ")
        }
    )
}

/// Why RocksDB's ticker figures are missing from a cell that ran without statistics.
const STATISTICS_OFF: &str = "Write amplification, block cache hit rate, bytes read per get and \
    stall time were not measured: they come from RocksDB's statistics object, which Flink does \
    not create unless a statistics-based native metric is enabled, and which costs a RocksDB cell \
    several percent of its throughput (`cargo bench --bench overhead`, statistics on against \
    off). Run with `--rocksdb-statistics` to measure them at that cost.";

/// A latency summary as table cells: mean, p50, p90, p99, p99.9 and max.
/// How a cell's ops were timed, in a sentence (empty for results that timed every op before
/// sampling existed).
fn latency_timing(c: &CellResult) -> String {
    let Some(s) = &c.latency_sampling else {
        return String::new();
    };
    let read = format!("{:.1} ns", s.clock_read_ns);
    match (s.every_op_forced, s.stride, s.op_ns) {
        (true, _, _) => "Latency: every op timed (`--time-every-op`).".to_string(),
        (false, 1, Some(op)) => format!(
            "Latency: every op timed (a clock read, {read}, is under {} % of an op's {}).",
            READ_BUDGET * 100.0,
            latency(op)
        ),
        (false, 1, None) => "Latency: every op timed (too few ops to choose a stride).".into(),
        (false, k, op) => format!(
            "Latency timed on 1 in {k} ops ({} timed), a seeded sample: a clock read ({read}) \
             would be {} of an op's time; throughput from all ops.",
            s.timed_ops,
            op.map_or_else(
                || "much".to_string(),
                |op| format!("{:.0} %", s.clock_read_ns / op * 100.0)
            )
        ),
    }
}

fn latency_columns(l: &OpLatency) -> String {
    [
        l.mean_ns,
        l.p50_ns as f64,
        l.p90_ns as f64,
        l.p99_ns as f64,
        l.p999_ns as f64,
        l.max_ns as f64,
    ]
    .map(latency)
    .join(" | ")
}
