//! Helpers shared by unit tests: the test fixtures, and a small deterministic random source for
//! no-panic loops.

#[path = "../tests/common/fixtures.rs"]
pub mod fixtures;

/// xorshift64: deterministic, dependency-free, good enough to shake parsers.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Up to `max` pieces drawn from `alphabet`, concatenated.
    pub fn string(&mut self, max: u64, alphabet: &[&str]) -> String {
        (0..self.next() % (max + 1))
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize])
            .collect()
    }
}
