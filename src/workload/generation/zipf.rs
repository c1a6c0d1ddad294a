//! Zipf over ranks `1..=n`, P(k) ∝ k^−theta, by table: a draw is two random words, a table
//! look-up and integer arithmetic, with no transcendental call (a `pow` per draw held key
//! generation to a few million keys per second).
//!
//! Ranks `1..=HEAD` are one cell each of an alias table (Walker, Vose). Above them the ranks
//! are cut into buckets growing geometrically (each about 1/1024 as wide as its first rank is
//! high), one cell each, weighted by their exact mass; a rank within a bucket is drawn with a
//! density falling linearly from its first rank to its last, which is the true density to
//! within 10^-6 of it (the curvature of k^−theta over a bucket that narrow). Few cells for
//! any n (about 8192 + 1024·ln(n/8192), 22 000 for YCSB's 10^10 items), so the table is built
//! in about a millisecond.
//!
//! Every probability is computed with [`ln`] and [`exp`] below, made of IEEE-754 additions,
//! multiplications and divisions only (no libm, which differs in the last bit between
//! platforms), and turned into integer thresholds: the same table, hence the same keys, on
//! every machine.

use rand::Rng;

/// Ranks drawn one cell each.
const HEAD: u64 = 8192;
/// A bucket above [`HEAD`] starting at rank a spans a / 2^BUCKET_SHIFT ranks.
const BUCKET_SHIFT: u32 = 10;

/// One cell of the alias table: kept with probability `keep / 2^32`, else its alias is taken
/// (a cell always kept is its own alias). Eight bytes, so the table is half the size of one
/// with a 64-bit threshold: a draw touches one random cell, and the smaller the table the more
/// of it stays in cache.
#[derive(Clone, Copy, Debug)]
struct Slot {
    keep: u32,
    alias: u32,
}

/// The ranks of one cell: `first..first + width`; within them the density falls by `slope`
/// (a fraction of 2^64) per rank.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    first: u64,
    width: u64,
    slope: u64,
}

/// Zipf over ranks `1..=n` (see the module).
#[derive(Clone, Debug)]
pub(super) struct ZipfTable {
    slots: Vec<Slot>,
    /// One per cell; ranks `1..=HEAD` are cells `0..HEAD` without looking here.
    buckets: Vec<Bucket>,
}

impl ZipfTable {
    /// Zipf over `1..=n` (n ≥ 1), for a validated theta (> 0, finite).
    pub(super) fn new(n: u64, theta: f64) -> ZipfTable {
        let n = n.max(1);
        let head = n.min(HEAD);
        let mut weights: Vec<f64> = (1..=head).map(|k| exp(-theta * ln(k as f64))).collect();
        let mut buckets: Vec<Bucket> = (1..=head)
            .map(|k| Bucket {
                first: k,
                width: 1,
                slope: 0,
            })
            .collect();
        let mut first = head + 1;
        while first <= n {
            let width = (first >> BUCKET_SHIFT).clamp(1, n - first + 1);
            let last = first + width - 1;
            weights.push(bucket_mass(first, last, theta));
            // The secant of the density over the bucket, relative to its first rank's.
            let fall = if width == 1 {
                0.0
            } else {
                let drop = 1.0 - exp(-theta * (ln(last as f64) - ln(first as f64)));
                drop / (width - 1) as f64
            };
            buckets.push(Bucket {
                first,
                width,
                slope: fraction_to_u64(fall),
            });
            first = last + 1;
        }
        ZipfTable {
            slots: alias_table(&weights),
            buckets,
        }
    }

    /// Draws one rank.
    #[inline(always)]
    pub(super) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let cells = self.slots.len() as u64;
        let (cell, frac) = scale(rng.next_u64(), cells);
        let slot = self.slots[cell as usize];
        // Without a branch: which way it goes is a coin toss the predictor would lose.
        let kept = (((frac >> 32) as u32) < slot.keep) as u64;
        let alias = u64::from(slot.alias);
        let cell = alias ^ ((cell ^ alias) & kept.wrapping_neg());
        if cell < HEAD {
            return cell + 1;
        }
        let bucket = self.buckets[cell as usize];
        loop {
            let (offset, frac) = scale(rng.next_u64(), bucket.width);
            // Kept with probability 1 − offset·slope: the density's fall across the bucket.
            if u128::from(frac) >= u128::from(offset) * u128::from(bucket.slope) {
                return bucket.first + offset;
            }
        }
    }
}

/// A uniform word as an index in `0..n` and a uniform fraction (of 2^64) left over:
/// the high and low words of `word · n`.
#[inline(always)]
fn scale(word: u64, n: u64) -> (u64, u64) {
    let product = u128::from(word) * u128::from(n);
    ((product >> 64) as u64, product as u64)
}

/// A probability in `[0, 1]` as a fraction of 2^32 (1 saturating).
fn fraction_to_u32(p: f64) -> u32 {
    const TWO_32: f64 = 4_294_967_296.0;
    (p.clamp(0.0, 1.0) * TWO_32) as u32
}

/// A probability in `[0, 1]` as a fraction of 2^64 (1 saturating).
fn fraction_to_u64(p: f64) -> u64 {
    const TWO_64: f64 = 18_446_744_073_709_551_616.0;
    (p.clamp(0.0, 1.0) * TWO_64) as u64
}

/// Σ k^−theta over `first..=last` (first > [`HEAD`]): the midpoint rule over
/// `[first − ½, last + ½]` with its first Euler–Maclaurin correction, exact to 10^−14 of the
/// sum for ranks this high.
fn bucket_mass(first: u64, last: u64, theta: f64) -> f64 {
    let (a, b) = (first as f64 - 0.5, last as f64 + 0.5);
    let integral = h_integral(b, theta) - h_integral(a, theta);
    // f'(x) = −theta · x^(−theta−1).
    let derivative = |x: f64| -theta * exp(-(theta + 1.0) * ln(x));
    integral - (derivative(b) - derivative(a)) / 24.0
}

/// H(x) = (x^(1−theta) − 1) / (1 − theta), an antiderivative of x^−theta (ln x at theta = 1).
fn h_integral(x: f64, theta: f64) -> f64 {
    let ln_x = ln(x);
    exp_m1_over((1.0 - theta) * ln_x) * ln_x
}

/// Vose's alias table over `weights` (positive).
fn alias_table(weights: &[f64]) -> Vec<Slot> {
    let n = weights.len();
    let total: f64 = weights.iter().sum();
    let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
    let mut slots: Vec<Slot> = (0..n)
        .map(|i| Slot {
            keep: u32::MAX,
            alias: i as u32,
        })
        .collect();
    let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| scaled[i] < 1.0);
    while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
        small.pop();
        slots[s] = Slot {
            keep: fraction_to_u32(scaled[s]),
            alias: l as u32,
        };
        scaled[l] -= 1.0 - scaled[s];
        if scaled[l] < 1.0 {
            large.pop();
            small.push(l);
        }
    }
    // What is left is 1 up to rounding: kept always (their default, their own alias).
    slots
}

/// ln 2, split so that `k · LN2_HI` is exact for the exponents met here (Cody and Waite).
/// (fdlibm's `ln2_hi` and `ln2_lo`, by their bits).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);

/// Natural logarithm of a positive, finite, normal x, to about 1 ulp, from IEEE basic
/// operations only: x = m · 2^e with m in [√½, √2), ln m = 2 atanh((m − 1)/(m + 1)).
pub(super) fn ln(x: f64) -> f64 {
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    // |t| ≤ 0.172, so 2t·Σ t^2i/(2i + 1) to i = 13 leaves under 10^−21.
    let series = (0..=13)
        .rev()
        .fold(0.0, |acc, i| acc * t2 + 1.0 / f64::from(2 * i + 1));
    let e = e as f64;
    e * LN2_HI + (2.0 * t * series + e * LN2_LO)
}

/// e^x for |x| < 700, to about 1 ulp, from IEEE basic operations only: x = k ln 2 + r with
/// |r| ≤ ½ ln 2, e^r by its Taylor series, 2^k from the exponent bits.
pub(super) fn exp(x: f64) -> f64 {
    let k = (x / std::f64::consts::LN_2).round();
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // |r| ≤ 0.35: terms to r^20/20! leave under 10^−27.
    let series = (1..=20)
        .rev()
        .fold(1.0, |acc, i| 1.0 + acc * r / f64::from(i));
    series * f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

/// (e^x − 1) / x, 1 at 0, without cancellation near 0.
fn exp_m1_over(x: f64) -> f64 {
    if x.abs() < 0.5 {
        // Σ x^i / (i + 1)!: terms to x^20 leave under 10^−25.
        (1..=21)
            .rev()
            .fold(1.0, |acc, i| 1.0 + acc * x / f64::from(i + 1))
    } else {
        (exp(x) - 1.0) / x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_and_exp_agree_with_the_platform_to_a_few_ulps() {
        for &x in &[
            1e-300, 1e-9, 0.3, 0.5, 1.0, 1.5, 2.0, 10.0, 8193.5, 1e10, 1e300,
        ] {
            let (ours, std) = (ln(x), x.ln());
            assert!(
                (ours - std).abs() <= 4.0 * f64::EPSILON * std.abs().max(1.0),
                "ln {x}"
            );
        }
        for &x in &[-700.0, -23.0, -1.0, -1e-9, 0.0, 1e-9, 0.25, 1.0, 5.5, 300.0] {
            let (ours, std) = (exp(x), x.exp());
            assert!((ours / std - 1.0).abs() <= 4.0 * f64::EPSILON, "exp {x}");
        }
        for x in [-0.4f64, -1e-12, 0.0, 1e-12, 0.3, 0.6, 2.0] {
            let std = if x == 0.0 { 1.0 } else { x.exp_m1() / x };
            assert!(
                (exp_m1_over(x) / std - 1.0).abs() <= 4.0 * f64::EPSILON,
                "{x}"
            );
        }
    }

    #[test]
    fn bucket_masses_are_the_sums_they_stand_for() {
        for theta in [0.5, 0.99, 1.0, 1.5] {
            let direct: f64 = (9000..=9999u64).map(|k| (k as f64).powf(-theta)).sum();
            let mass = bucket_mass(9000, 9999, theta);
            assert!(
                (mass / direct - 1.0).abs() < 1e-12,
                "{theta}: {mass} vs {direct}"
            );
        }
    }

    #[test]
    fn the_alias_table_keeps_every_weight() {
        let weights = [5.0, 1.0, 1.0, 0.5, 2.5];
        let slots = alias_table(&weights);
        let mut mass = [0.0; 5];
        for (i, slot) in slots.iter().enumerate() {
            let keep = slot.keep as f64 / 2f64.powi(32);
            mass[i] += keep / 5.0;
            mass[slot.alias as usize] += (1.0 - keep) / 5.0;
        }
        for (m, w) in mass.iter().zip(weights) {
            assert!((m - w / 10.0).abs() < 1e-9, "{mass:?}");
        }
    }

    #[test]
    fn buckets_cover_every_rank_once() {
        let n = 3_000_000;
        let table = ZipfTable::new(n, 0.99);
        let mut next = 1;
        for b in &table.buckets {
            assert_eq!(b.first, next);
            next += b.width;
        }
        assert_eq!(next, n + 1);
        assert_eq!(table.slots.len(), table.buckets.len());
    }
}
