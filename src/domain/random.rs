//! Random strings for ids and secrets.

use rand::distr::{Alphanumeric, SampleString};

/// `len` characters of `[A-Za-z0-9]`, uniformly distributed, from rand's OS-seeded CSPRNG.
pub(crate) fn random_base62(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}
