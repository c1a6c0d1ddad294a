//! Key and value-size distributions: each has the shape its name promises, stays in range, and
//! draws the same values from the same seed.

use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

use statebench::workload::{
    KeyChooser, KeyDistribution, KeySpec, SizeChooser, ValueSize, WorkloadSpec,
};

const N: usize = 200_000;
const KEYS: u64 = 1_000;

fn draws(distribution: KeyDistribution) -> Vec<u64> {
    let mut chooser = KeyChooser::new(&KeySpec {
        count: KEYS,
        distribution,
    })
    .unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    (0..N).map(|_| chooser.sample(&mut rng)).collect()
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

#[test]
fn every_key_distribution_stays_in_range_and_is_deterministic() {
    for d in [
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
    ] {
        let a = draws(d.clone());
        assert!(a.iter().all(|&k| k < KEYS), "{d:?}");
        assert_eq!(a, draws(d.clone()), "{d:?}");
    }
}

#[test]
fn zipfian_is_skewed_and_scrambling_moves_the_hot_keys() {
    let uniform = counts(&draws(KeyDistribution::Uniform));
    let zipf = counts(&draws(KeyDistribution::Zipfian { theta: 0.99 }));
    let scrambled = counts(&draws(KeyDistribution::ScrambledZipfian { theta: 0.99 }));
    assert!(
        share(zipf[0]) > 0.1,
        "rank 1 takes about 1/H(n) of the draws: {}",
        share(zipf[0])
    );
    assert!(share(*uniform.iter().max().unwrap()) < 0.002);
    let hottest = (0..KEYS as usize).max_by_key(|&k| scrambled[k]).unwrap();
    assert_ne!(hottest, 0, "scrambled: the hottest key is not key 0");
    let max_scrambled = *scrambled.iter().max().unwrap();
    assert!(share(max_scrambled) > 0.1, "scrambling keeps the skew");
}

#[test]
fn hotspot_sends_its_share_to_the_hot_set() {
    let c = counts(&draws(KeyDistribution::Hotspot {
        hot_fraction: 0.2,
        hot_op_fraction: 0.8,
    }));
    let hot: usize = c[..200].iter().sum();
    assert!((share(hot) - 0.8).abs() < 0.01, "{}", share(hot));
}

#[test]
fn latest_favours_recent_keys_and_sequential_counts_up() {
    let keys = draws(KeyDistribution::Latest { theta: 0.99 });
    // Draw i's newest key is i % KEYS: most draws are within a few keys of it.
    let recent = keys
        .iter()
        .enumerate()
        .filter(|(i, &k)| (*i as u64 % KEYS + KEYS - k) % KEYS < 10)
        .count();
    // Zipf(0.99) over 1000 ranks puts about 38% on the first 10; uniform would put 1%.
    assert!(share(recent) > 0.3, "{}", share(recent));
    let seq = draws(KeyDistribution::Sequential);
    assert_eq!(&seq[..3], &[0, 1, 2]);
    assert_eq!(seq[KEYS as usize], 0, "wraps at count");
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
fn value_sizes_have_their_means() {
    assert!(sizes(ValueSize::Fixed { bytes: 77 })
        .iter()
        .all(|&s| s == 77));
    let u = sizes(ValueSize::Uniform { min: 10, max: 20 });
    assert!(u.iter().all(|&s| (10..=20).contains(&s)));
    assert!((mean(&u) - 15.0).abs() < 0.1);
    let n = sizes(ValueSize::Normal {
        mean: 500.0,
        std_dev: 50.0,
    });
    assert!((mean(&n) / 500.0 - 1.0).abs() < 0.02);
    let e = sizes(ValueSize::Exponential { mean: 300.0 });
    assert!((mean(&e) / 300.0 - 1.0).abs() < 0.02);
    let clamped = sizes(ValueSize::Normal {
        mean: 5.0,
        std_dev: 50.0,
    });
    assert!(clamped.contains(&0), "negative draws are clamped to 0");
}

#[test]
fn bad_parameters_are_named() {
    let base = r#"{"name":"t","description":"d","seed":1,"events":100,"warmup_events":10,"max_parallelism":128,
        "keys":{"count":10,"distribution":DIST},"value_size":SIZE,
        "states":[{"type":"value","name":"v","read_only_fraction":0.5}]}"#;
    let error = |dist: &str, size: &str| {
        let text = base.replace("DIST", dist).replace("SIZE", size);
        format!("{:#}", WorkloadSpec::parse(&text, "w.json").unwrap_err())
    };
    let fixed = r#"{"type":"fixed","bytes":8}"#;
    let cases = [
        (
            error(
                r#"{"type":"hotspot","hot_fraction":1.5,"hot_op_fraction":0.8}"#,
                fixed,
            ),
            "keys.distribution.hot_fraction",
        ),
        (
            error(
                r#"{"type":"hotspot","hot_fraction":0.2,"hot_op_fraction":2}"#,
                fixed,
            ),
            "keys.distribution.hot_op_fraction",
        ),
        (
            error(r#"{"type":"scrambled_zipfian","theta":0}"#, fixed),
            "keys.distribution.theta",
        ),
        (
            error(r#"{"type":"constant","key":10}"#, fixed),
            "keys.distribution.key",
        ),
        (
            error(
                r#"{"type":"uniform"}"#,
                r#"{"type":"normal","mean":-1,"std_dev":1}"#,
            ),
            "value_size.mean",
        ),
        (
            error(
                r#"{"type":"uniform"}"#,
                r#"{"type":"normal","mean":10,"std_dev":-1}"#,
            ),
            "value_size.std_dev",
        ),
        (
            error(
                r#"{"type":"uniform"}"#,
                r#"{"type":"exponential","mean":0}"#,
            ),
            "value_size.mean",
        ),
    ];
    for (message, field) in cases {
        assert!(
            message.contains("w.json") && message.contains(field),
            "{field}: {message}"
        );
    }
}
