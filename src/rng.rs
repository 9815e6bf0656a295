//! numpy's legacy RandomState (MT19937), so seeded subsets match torch-fidelity.
//!
//! torch-fidelity draws its IS shuffle with `RandomState(seed).permutation(n)` and
//! its KID subsets with `RandomState(seed).choice(n, k, replace=False)`; both come
//! down to the legacy Fisher–Yates shuffle driven by masked rejection sampling
//! (`random_interval`) on 32-bit MT19937 outputs. This module reproduces exactly
//! that, and `random_sample` (53-bit doubles), nothing more.

const N: usize = 624;
const M: usize = 397;

/// numpy's legacy `RandomState(seed)` for an integer seed — bit-exact
/// `permutation`, `choice(replace=False)` and `random_sample`.
#[derive(Clone, Debug)]
pub struct NumpyRandomState {
    state: [u32; N],
    pos: usize,
}

impl NumpyRandomState {
    /// Seeds like `np.random.RandomState(seed)` (MT19937 `init_genrand`).
    pub fn new(seed: u32) -> Self {
        let mut state = [0u32; N];
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        NumpyRandomState { state, pos: N }
    }

    fn regenerate(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX_A: u32 = 0x9908_b0df;
        for i in 0..N {
            let y = (self.state[i] & UPPER) | (self.state[(i + 1) % N] & LOWER);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            self.state[i] = self.state[(i + M) % N] ^ (y >> 1) ^ mag;
        }
        self.pos = 0;
    }

    /// The next tempered 32-bit MT19937 output.
    pub fn next_u32(&mut self) -> u32 {
        if self.pos >= N {
            self.regenerate();
        }
        let mut y = self.state[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// A double in [0, 1) from 53 random bits, like `random_sample()`.
    pub fn random_sample(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// A uniform integer in [0, max] by masked rejection (numpy's `random_interval`).
    fn random_interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for shift in [1, 2, 4, 8, 16, 32] {
            mask |= mask >> shift;
        }
        if max <= u32::MAX as u64 {
            loop {
                let value = (self.next_u32() as u64) & mask;
                if value <= max {
                    return value;
                }
            }
        }
        loop {
            let hi = self.next_u32() as u64;
            let lo = self.next_u32() as u64;
            let value = ((hi << 32) | lo) & mask;
            if value <= max {
                return value;
            }
        }
    }

    /// Shuffles in place like the legacy `RandomState.shuffle` on a 1-d array.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.random_interval(i as u64) as usize;
            items.swap(i, j);
        }
    }

    /// `permutation(n)`: a shuffled `0..n`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut items: Vec<usize> = (0..n).collect();
        self.shuffle(&mut items);
        items
    }

    /// `choice(n, k, replace=False)`: the first `k` of `permutation(n)` (legacy
    /// numpy shuffles the whole population, so the stream advances by `n - 1` draws
    /// or more). Returns fewer than `k` only when `k > n`; callers check sizes first.
    pub fn choice_without_replacement(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut items = self.permutation(n);
        items.truncate(k);
        items
    }
}
