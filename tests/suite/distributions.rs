//! Key and value-size distributions: each has the shape its name promises, stays in range, draws
//! the same values from the same seed, and a bad parameter is an error naming the field.

use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

use statebench::workload::{
    KeyChooser, KeyDistribution, KeySpec, SizeChooser, ValueSize, WorkloadSpec,
};

const N: usize = 200_000;
const KEYS: u64 = 1_000;

fn draws_of(count: u64, distribution: KeyDistribution) -> Vec<u64> {
    let mut chooser = KeyChooser::new(&KeySpec {
        count,
        distribution,
    })
    .unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    (0..N).map(|_| chooser.sample(&mut rng)).collect()
}

fn draws(distribution: KeyDistribution) -> Vec<u64> {
    draws_of(KEYS, distribution)
}

fn counts(keys: &[u64]) -> Vec<usize> {
    let mut c = vec![0; KEYS as usize];
    for &k in keys {
        c[k as usize] += 1;
    }
    c
}

fn share(n: usize) -> f64 {
    n as f64 / N as f64
}

/// Share of the most frequent key and that key.
fn hottest(c: &[usize]) -> (u64, f64) {
    let key = (0..c.len())
        .max_by_key(|&k| (c[k], std::cmp::Reverse(k)))
        .unwrap();
    (key as u64, share(c[key]))
}

/// Probability of zipfian rank 1 over `n` ranks: 1 / Σ r^−theta.
fn zipf_top(n: u64, theta: f64) -> f64 {
    1.0 / (1..=n).map(|r| (r as f64).powf(-theta)).sum::<f64>()
}

fn all_key_distributions() -> Vec<KeyDistribution> {
    vec![
        KeyDistribution::Uniform,
        KeyDistribution::Zipfian { theta: 0.99 },
        KeyDistribution::ScrambledZipfian { theta: 0.99 },
        KeyDistribution::Hotspot {
            hot_fraction: 0.2,
            hot_op_fraction: 0.8,
        },
        KeyDistribution::Latest { theta: 0.99 },
        KeyDistribution::Sequential,
        KeyDistribution::Constant { key: 3 },
    ]
}

#[test]
fn every_key_distribution_stays_in_range_and_is_deterministic() {
    for d in all_key_distributions() {
        let a = draws(d.clone());
        assert!(a.iter().all(|&k| k < KEYS), "{d:?}");
        assert_eq!(a, draws(d.clone()), "{d:?}");
        if !matches!(d, KeyDistribution::Constant { .. }) {
            assert!(draws_of(1, d.clone()).iter().all(|&k| k == 0), "{d:?}");
        }
    }
}

/// FNV-1a over the draws, to pin the streams.
fn fingerprint(values: impl Iterator<Item = u64>) -> u64 {
    values.fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
        (h ^ v).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Pinned: if one of these changes, workloads using that distribution draw other keys or sizes
/// than earlier builds and other machines. Change them only with a deliberate change.
#[test]
fn the_draws_are_pinned() {
    let keys: Vec<u64> = all_key_distributions()
        .into_iter()
        .map(|d| fingerprint(draws(d).into_iter()))
        .collect();
    let sizes: Vec<u64> = all_sizes()
        .into_iter()
        .map(|s| fingerprint(sizes(s).into_iter().map(u64::from)))
        .collect();
    assert_eq!(keys, PINNED_KEYS, "keys: {keys:#x?}");
    assert_eq!(sizes, PINNED_SIZES, "sizes: {sizes:#x?}");
}

const PINNED_KEYS: [u64; 7] = [
    0x6d76_9d9e_0edf_8fa9,
    0xf109_76f6_f974_45cf,
    0xe68c_e86e_cf37_cdd3,
    0x1cf4_4d74_d233_7d30,
    0x68f1_ec77_7604_ef02,
    0x69ab_7fb5_1f43_05e5,
    0x6f77_2370_c648_f765,
];
const PINNED_SIZES: [u64; 4] = [
    0x7765_f007_def0_dce5,
    0x012d_2da4_59ea_29e5,
    0xd0d0_4123_fb6e_59b8,
    0x16e6_5ef0_cf5d_952d,
];

#[test]
fn zipfian_is_skewed_toward_the_low_ids() {
    let uniform = counts(&draws(KeyDistribution::Uniform));
    let zipf = counts(&draws(KeyDistribution::Zipfian { theta: 0.99 }));
    let (key, top) = hottest(&zipf);
    let expected = zipf_top(KEYS, 0.99);
    assert_eq!(key, 0);
    assert!((top / expected - 1.0).abs() < 0.03, "{top} vs {expected}");
    assert!(top > 50.0 * hottest(&uniform).1);
    assert!(zipf[0] > zipf[1] && zipf[1] > zipf[9] && zipf[9] > zipf[99]);
}

/// YCSB's scrambled zipfian draws ranks over 10^10 items: its hottest key takes 1/ζ(10^10, 0.99)
/// (YCSB's `ZETAN` = 26.469...) of the draws and sits where FNV-1a puts rank 0.
#[test]
fn scrambled_zipfian_moves_the_hot_keys_and_keeps_every_key_alive() {
    let scrambled = counts(&draws(KeyDistribution::ScrambledZipfian { theta: 0.99 }));
    let uniform = counts(&draws(KeyDistribution::Uniform));
    let (key, top) = hottest(&scrambled);
    // FNV-1a 64 of eight zero bytes, made non-negative as a signed number, modulo 1000.
    let rank0 = (0..8).fold(0xcbf2_9ce4_8422_2325u64, |h, _| {
        h.wrapping_mul(0x0000_0100_0000_01b3)
    });
    assert_eq!(key, (rank0 as i64).unsigned_abs() % KEYS);
    assert_ne!(key, 0, "the hottest key is not key 0");
    let expected = 1.0 / 26.469_028_201_783_02;
    assert!((top / expected - 1.0).abs() < 0.05, "{top} vs {expected}");
    assert!(top > 10.0 * hottest(&uniform).1);
    assert!(
        scrambled.iter().all(|&c| c > 0),
        "every key keeps some traffic"
    );
}

#[test]
fn hotspot_sends_its_share_to_the_hot_set() {
    let c = counts(&draws(KeyDistribution::Hotspot {
        hot_fraction: 0.2,
        hot_op_fraction: 0.8,
    }));
    let hot: usize = c[..200].iter().sum();
    assert!((share(hot) - 0.8).abs() < 0.01, "{}", share(hot));
    // Uniform inside each set: 800 and 50 draws per key on average.
    assert!(c[..200].iter().all(|&n| (650..950).contains(&n)));
    assert!(c[200..].iter().all(|&n| (15..90).contains(&n)));
}

#[test]
fn latest_favours_recently_inserted_keys() {
    let keys = draws(KeyDistribution::Latest { theta: 0.99 });
    // Draw i inserts key i % KEYS: while the key space fills, no later key is drawn.
    assert!(keys[..KEYS as usize]
        .iter()
        .enumerate()
        .all(|(i, &k)| k <= i as u64));
    let back = |i: usize, k: u64| (i as u64 % KEYS + KEYS - k) % KEYS;
    let mut by_recency = vec![0; KEYS as usize];
    for (i, &k) in keys.iter().enumerate().skip(KEYS as usize) {
        by_recency[back(i, k) as usize] += 1;
    }
    // Once the key space is full, recency is zipfian: the newest key is drawn most.
    let full = N - KEYS as usize;
    let newest = by_recency[0] as f64 / full as f64;
    let expected = zipf_top(KEYS, 0.99);
    assert!(
        (newest / expected - 1.0).abs() < 0.03,
        "{newest} vs {expected}"
    );
    assert!(by_recency[0] > by_recency[1] && by_recency[1] > by_recency[10]);
    let recent: usize = by_recency[..10].iter().sum();
    // Zipf(0.99) over 1000 ranks puts about 38% on the first 10; uniform would put 1%.
    assert!(recent as f64 / full as f64 > 0.3);
}

/// Latest's recency follows the zipfian law exactly: over the keys inserted so far while the
/// key space fills (here a huge one, which costs nothing up front), over all keys afterwards.
#[test]
fn latest_recency_is_exactly_zipfian() {
    for theta in [0.2, 0.99, 1.0, 2.5] {
        let mut counts = [0usize; 10];
        let mut chooser = KeyChooser::new(&KeySpec {
            count: 10,
            distribution: KeyDistribution::Latest { theta },
        })
        .unwrap();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        for i in 0..N + 10 {
            let key = chooser.sample(&mut rng);
            if i >= 10 {
                counts[(i as u64 % 10 + 10 - key) as usize % 10] += 1;
            }
        }
        let weights: Vec<f64> = (1..=10).map(|r| (r as f64).powf(-theta)).collect();
        let total: f64 = weights.iter().sum();
        for (back, (&n, w)) in counts.iter().zip(&weights).enumerate() {
            let p = w / total;
            let sigma = (p * (1.0 - p) / N as f64).sqrt();
            assert!(
                (share(n) - p).abs() < 5.0 * sigma,
                "theta {theta}, {back} back: {} vs {p}",
                share(n)
            );
        }
        // The second draw of a fresh key space picks key 1 (just inserted) or key 0.
        let mut newest = 0;
        for seed in 0..20_000 {
            let mut chooser = KeyChooser::new(&KeySpec {
                count: 1 << 40,
                distribution: KeyDistribution::Latest { theta },
            })
            .unwrap();
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            assert_eq!(chooser.sample(&mut rng), 0);
            let key = chooser.sample(&mut rng);
            assert!(key <= 1);
            newest += key as usize;
        }
        let p = 1.0 / (1.0 + 2f64.powf(-theta));
        let sigma = (p * (1.0 - p) / 20_000.0).sqrt();
        let got = newest as f64 / 20_000.0;
        assert!((got - p).abs() < 5.0 * sigma, "theta {theta}: {got} vs {p}");
    }
}

#[test]
fn sequential_visits_in_order_and_wraps() {
    let seq = draws(KeyDistribution::Sequential);
    assert!(seq.iter().enumerate().all(|(i, &k)| k == i as u64 % KEYS));
    assert!(draws(KeyDistribution::Constant { key: 3 })
        .iter()
        .all(|&k| k == 3));
}

fn all_sizes() -> Vec<ValueSize> {
    vec![
        ValueSize::Fixed { bytes: 77 },
        ValueSize::Uniform { min: 10, max: 20 },
        ValueSize::Normal {
            mean: 500.0,
            std_dev: 50.0,
        },
        ValueSize::Exponential { mean: 300.0 },
    ]
}

fn sizes(spec: ValueSize) -> Vec<u32> {
    let chooser = SizeChooser::new(&spec).unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
    (0..N).map(|_| chooser.sample(&mut rng)).collect()
}

fn mean(v: &[u32]) -> f64 {
    v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64
}

#[test]
fn value_sizes_have_their_shape_and_mean() {
    assert!(sizes(ValueSize::Fixed { bytes: 77 })
        .iter()
        .all(|&s| s == 77));
    let u = sizes(ValueSize::Uniform { min: 10, max: 20 });
    assert!(u.iter().all(|&s| (10..=20).contains(&s)));
    assert!((10..=20).all(|s| u.contains(&s)));
    let n = sizes(ValueSize::Normal {
        mean: 500.0,
        std_dev: 50.0,
    });
    let within_one_sd = n.iter().filter(|&&s| (450..=550).contains(&s)).count();
    assert!((share(within_one_sd) - 0.683).abs() < 0.01);
    let e = sizes(ValueSize::Exponential { mean: 300.0 });
    let above_mean = e.iter().filter(|&&s| s > 300).count();
    assert!((share(above_mean) - (-1.0f64).exp()).abs() < 0.01);
    for spec in all_sizes() {
        let s = sizes(spec.clone());
        assert_eq!(s, sizes(spec.clone()), "{spec:?}");
        let expected = SizeChooser::new(&spec).unwrap().mean();
        assert!((mean(&s) / expected - 1.0).abs() < 0.02, "{spec:?}");
    }
}

/// `mean()` counts the rounding to whole bytes and the clamping to [0, 64 MiB].
#[test]
fn size_means_include_rounding_and_clamping() {
    for spec in [
        ValueSize::Normal {
            mean: 5.0,
            std_dev: 50.0,
        },
        ValueSize::Normal {
            mean: 10.3,
            std_dev: 0.2,
        },
        ValueSize::Normal {
            mean: 67_108_860.0,
            std_dev: 100.0,
        },
        ValueSize::Exponential { mean: 0.5 },
        ValueSize::Exponential { mean: 50_000_000.0 },
    ] {
        let s = sizes(spec.clone());
        assert!(s.iter().all(|&b| b <= 64 << 20), "{spec:?}");
        let expected = SizeChooser::new(&spec).unwrap().mean();
        assert!((mean(&s) / expected - 1.0).abs() < 0.02, "{spec:?}");
    }
    let clamped = sizes(ValueSize::Normal {
        mean: 5.0,
        std_dev: 50.0,
    });
    assert!(clamped.contains(&0), "negative draws are clamped to 0");
    // E[max(X, 0)] = μ·P(X > 0) + σ·φ(μ/σ); rounding to whole bytes moves it by 3e-4.
    let chooser = SizeChooser::new(&ValueSize::Normal {
        mean: 5.0,
        std_dev: 50.0,
    })
    .unwrap();
    assert!(
        (chooser.mean() - 22.546_77).abs() < 1e-3,
        "{}",
        chooser.mean()
    );
    let exact = SizeChooser::new(&ValueSize::Normal {
        mean: 10.5,
        std_dev: 0.0,
    })
    .unwrap();
    assert_eq!(exact.mean(), 11.0, "10.5 rounds to 11, every time");
}

#[test]
fn bad_parameters_are_named() {
    let base = r#"{"name":"t","description":"d","seed":1,"events":100,"warmup_events":10,"max_parallelism":128,
        "keys":{"count":10,"distribution":DIST},"value_size":SIZE,
        "states":[{"type":"value","name":"v","read_only_fraction":0.5}]}"#;
    let parse = |dist: &str, size: &str| {
        let text = base.replace("DIST", dist).replace("SIZE", size);
        WorkloadSpec::parse(&text, "w.json").map_err(|e| format!("{e:#}"))
    };
    let fixed = r#"{"type":"fixed","bytes":8}"#;
    let uniform = r#"{"type":"uniform"}"#;
    for dist in [
        uniform,
        r#"{"type":"zipfian","theta":0.99}"#,
        r#"{"type":"scrambled_zipfian","theta":0.99}"#,
        r#"{"type":"hotspot","hot_fraction":0.2,"hot_op_fraction":0.8}"#,
        r#"{"type":"latest","theta":0.99}"#,
        r#"{"type":"sequential"}"#,
        r#"{"type":"constant","key":9}"#,
    ] {
        for size in [
            fixed,
            r#"{"type":"uniform","min":1,"max":1}"#,
            r#"{"type":"normal","mean":100,"std_dev":0}"#,
            r#"{"type":"exponential","mean":100}"#,
        ] {
            assert!(parse(dist, size).is_ok(), "{dist} {size}");
        }
    }
    // (distribution, value size, what the message must name: field, expectation, got value)
    let cases = [
        (
            r#"{"type":"hotspot","hot_fraction":1.5,"hot_op_fraction":0.8}"#,
            fixed,
            [
                "keys.distribution.hot_fraction",
                "a fraction in (0, 1)",
                "1.5",
            ],
        ),
        (
            r#"{"type":"hotspot","hot_fraction":0,"hot_op_fraction":0.8}"#,
            fixed,
            ["keys.distribution.hot_fraction", "(0, 1)", "got 0"],
        ),
        (
            r#"{"type":"hotspot","hot_fraction":0.2,"hot_op_fraction":2}"#,
            fixed,
            ["keys.distribution.hot_op_fraction", "from 0 to 1", "got 2"],
        ),
        (
            r#"{"type":"zipfian","theta":-1}"#,
            fixed,
            ["keys.distribution.theta", "> 0", "-1"],
        ),
        (
            r#"{"type":"scrambled_zipfian","theta":0}"#,
            fixed,
            ["keys.distribution.theta", "> 0", "got 0"],
        ),
        (
            r#"{"type":"latest","theta":0}"#,
            fixed,
            ["keys.distribution.theta", "> 0", "got 0"],
        ),
        (
            r#"{"type":"constant","key":10}"#,
            fixed,
            ["keys.distribution.key", "below count (10)", "got 10"],
        ),
        (
            uniform,
            r#"{"type":"fixed","bytes":67108865}"#,
            ["value_size.bytes", "at most 67108864", "67108865"],
        ),
        (
            uniform,
            r#"{"type":"uniform","min":20,"max":10}"#,
            ["value_size.min", "at most max (10)", "got 20"],
        ),
        (
            uniform,
            r#"{"type":"uniform","min":0,"max":67108865}"#,
            ["value_size.max", "at most 67108864", "67108865"],
        ),
        (
            uniform,
            r#"{"type":"normal","mean":-1,"std_dev":1}"#,
            ["value_size.mean", "> 0", "-1"],
        ),
        (
            uniform,
            r#"{"type":"normal","mean":10,"std_dev":-1}"#,
            ["value_size.std_dev", ">= 0", "-1"],
        ),
        (
            uniform,
            r#"{"type":"exponential","mean":0}"#,
            ["value_size.mean", "> 0", "got 0"],
        ),
        (
            r#"{"type":"zipfian"}"#,
            fixed,
            ["keys.distribution", "theta", ""],
        ),
        (
            r#"{"type":"hotspot","hot_fraction":0.2,"hot_op_fraction":0.8,"theta":1}"#,
            fixed,
            ["keys.distribution", "theta", ""],
        ),
        (
            uniform,
            r#"{"type":"pareto","mean":1}"#,
            ["value_size", "pareto", ""],
        ),
    ];
    for (dist, size, needles) in cases {
        let message = parse(dist, size).expect_err(&format!("{dist} {size}"));
        assert!(message.contains("w.json"), "{message}");
        for needle in needles {
            assert!(message.contains(needle), "{needle:?} not in: {message}");
        }
    }
}
