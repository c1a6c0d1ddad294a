//! What the repeats say, computed from results alone: seeded resampling, so the same results
//! always give the same intervals.

pub mod rng;
