//! Every seeded draw of the crate: which generator and stream each consumer reads, and the draws
//! themselves (uniform numbers, bounded integers, Fisher–Yates shuffles). No other module builds
//! a generator or turns its output into a number, so the recipe below is the whole story.
//!
//! # Generators and streams
//!
//! A seed `s` gives the generator `ChaCha20Rng::seed_from_u64(s)` (rand_chacha 0.10), and a
//! [`Stream`] picks one of its independent streams, so that drawing more from one (a wider
//! network, more epochs) never shifts another:
//!
//! | consumer | seed | stream |
//! |---|---|---|
//! | the built-in dataset's features ([`Stream::Data`]) | `--data-seed` | 0 |
//! | initial weights, Glorot uniform ([`Stream::Init`]) | `--seed` | 0 |
//! | the batch shuffle of each epoch ([`Stream::Shuffle`]) | `--seed` | 1 |
//! | dropout masks ([`Stream::Dropout`]) | `--seed` | 2 |
//! | stochastic rounding of the update ([`Stream::UpdateRounding`]) | `--seed` | 3 |
//!
//! Data and initial weights share stream 0 but not the seed: `--data-seed` is kept apart from
//! `--seed` so that the data stay fixed while the seed changes.
//!
//! `--update-rounding stochastic` draws one [`uniform`] per parameter element per step, whatever
//! the values: steps in order, within a step the parameter tensors in order (layer by layer,
//! weight then bias), elements row-major. The position in the stream is therefore a function of
//! (step, tensor, element) alone, and every format (the reference too, which rounds to nearest
//! and ignores its draws) reads the same numbers.
//!
//! Outside Rust: the 32-byte ChaCha20 key is eight PCG32 outputs (rand_core's `seed_from_u64`:
//! `state = state · 0x5851F42D4C957F2D + 0xA17654E46FBE17F3 mod 2⁶⁴`, then
//! `rotr32(((state >> 18) ^ state) >> 27, state >> 59)`, little-endian); the block counter starts
//! at zero and the stream number is the 64-bit nonce; each `next_u64` is the next 8 bytes of
//! keystream read little-endian. (Checked against Python's `cryptography` ChaCha20.)
//!
//! The shuffled summation orders of the order study are not drawn from `--seed`: order `k`
//! seeds ChaCha8 (`ChaCha8Rng::seed_from_u64`, stream 0, [`order_generator`]) with `k` [`mix`]ed
//! with the training step, then with the op's position in the step, and takes one
//! [`permutation`] per reduction.
//!
//! # Draws
//!
//! - [`uniform`] in [0, 1): `u = (next_u64() >> 11) · 2⁻⁵³`, the top 53 bits of one 64-bit
//!   output, so every `u` is an exact multiple of 2⁻⁵³ and at most 1 − 2⁻⁵³.
//! - [`below`]`(n)` in 0..n: Lemire's multiply-shift `(next_u64() · n) >> 64` (128-bit product;
//!   bias below n / 2⁶⁴, no rejection, one output per draw).
//! - [`shuffle`]: Fisher–Yates from the last position down: for `i = len − 1, …, 1`, swap
//!   positions `i` and `below(i + 1)`.

use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::{ChaCha8Rng, ChaCha20Rng};

/// The ChaCha20 stream a consumer of a seed reads (see the module documentation's table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stream {
    /// The built-in dataset's features, of `--data-seed`.
    Data,
    /// Initial weights, of `--seed`.
    Init,
    /// The batch shuffle of each epoch, of `--seed`.
    Shuffle,
    /// Dropout masks, of `--seed`.
    Dropout,
    /// The uniforms of `--update-rounding stochastic`, of `--seed`.
    UpdateRounding,
}

impl Stream {
    /// The ChaCha20 stream number (nonce).
    pub const fn id(self) -> u64 {
        match self {
            Stream::Data | Stream::Init => 0,
            Stream::Shuffle => 1,
            Stream::Dropout => 2,
            Stream::UpdateRounding => 3,
        }
    }
}

/// The ChaCha20 generator of `seed`, positioned at the start of `stream`.
pub fn generator(seed: u64, stream: Stream) -> ChaCha20Rng {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(stream.id());
    rng
}

/// The ChaCha8 generator of a (mixed) summation-order seed.
pub fn order_generator(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `seed` with `nonce` mixed in by SplitMix64's finaliser, so that successive ops and steps get
/// independent summation orders from one order seed.
pub fn mix(seed: u64, nonce: u64) -> u64 {
    let mut z = seed ^ nonce.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 2⁻⁵³, exactly.
const TWO_POW_MINUS_53: f64 = 1.0 / 9_007_199_254_740_992.0;

/// One uniform number in [0, 1): the top 53 bits of the next 64-bit output, scaled exactly.
/// Every seeded real of the crate (data, initial weights, dropout, stochastic rounding) is drawn
/// with it.
pub fn uniform<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * TWO_POW_MINUS_53
}

/// A uniform integer below `bound` by Lemire's multiply-shift (bias below bound / 2⁶⁴).
pub fn below<R: Rng + ?Sized>(rng: &mut R, bound: usize) -> usize {
    ((u128::from(rng.next_u64()) * bound as u128) >> 64) as usize
}

/// Shuffles `items` in place: Fisher–Yates from the last position down.
pub fn shuffle<R: Rng + ?Sized, T>(rng: &mut R, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i + 1);
        items.swap(i, j);
    }
}

/// A [`shuffle`]d permutation of 0..n.
pub fn permutation<R: Rng + ?Sized>(rng: &mut R, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    shuffle(rng, &mut order);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_of_one_seed_are_independent() {
        let first = |stream| generator(42, stream).next_u64();
        assert_ne!(first(Stream::Init), first(Stream::Shuffle));
        assert_ne!(first(Stream::Shuffle), first(Stream::Dropout));
        assert_ne!(first(Stream::Dropout), first(Stream::UpdateRounding));
        // Stream 0 is the generator's default: the data and initial weights of one seed agree.
        assert_eq!(
            first(Stream::Data),
            ChaCha20Rng::seed_from_u64(42).next_u64()
        );
        assert_eq!(first(Stream::Data), first(Stream::Init));
    }

    #[test]
    fn uniform_is_the_top_53_bits() {
        let mut rng = generator(5, Stream::Dropout);
        let mut copy = rng.clone();
        for _ in 0..100 {
            let u = uniform(&mut rng);
            let expected = (copy.next_u64() >> 11) as f64 / 2f64.powi(53);
            assert_eq!(u.to_bits(), expected.to_bits());
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn shuffles_are_pinned_permutations() {
        // Pinned so that a change of generator, bound reduction or swap order cannot pass
        // unnoticed: the batch order of epoch 1 for --seed 42 over 10 rows, and one summation
        // order of 10 terms.
        let epoch = permutation(&mut generator(42, Stream::Shuffle), 10);
        assert_eq!(epoch, PINNED_EPOCH);
        let order = permutation(&mut order_generator(7), 10);
        assert_eq!(order, PINNED_ORDER);
        for mut p in [epoch, order] {
            p.sort();
            assert_eq!(p, (0..10).collect::<Vec<_>>());
        }
        assert_eq!(permutation(&mut order_generator(7), 0), Vec::<usize>::new());
        assert_eq!(permutation(&mut order_generator(7), 1), [0]);
    }

    const PINNED_EPOCH: [usize; 10] = [8, 5, 6, 2, 3, 4, 1, 7, 9, 0];
    const PINNED_ORDER: [usize; 10] = [4, 6, 2, 0, 8, 3, 7, 5, 9, 1];

    #[test]
    fn mixing_separates_nonces() {
        assert_ne!(mix(1, 1), mix(1, 2));
        assert_ne!(mix(1, 1), mix(2, 1));
    }
}
