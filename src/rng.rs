//! numpy's legacy RandomState (MT19937), so seeded subsets match torch-fidelity.
//!
//! torch-fidelity draws its IS shuffle with `RandomState(seed).permutation(n)` and
//! its KID subsets with `RandomState(seed).choice(n, k, replace=False)`; both come
//! down to the legacy Fisher–Yates shuffle driven by masked rejection sampling
//! (`random_interval`) on 32-bit MT19937 outputs. This module reproduces exactly
//! that, `random_sample` (53-bit doubles), seeding by an integer array
//! (`RandomState([k0, k1, ...])`, MT19937 `init_by_array`) and `standard_normal`
//! (the legacy polar Box–Muller with its cached second value), so generator
//! noise can be drawn exactly as a numpy script would draw it.

const N: usize = 624;
const M: usize = 397;

/// numpy's legacy `RandomState` seeded by an integer or an integer array —
/// bit-exact `permutation`, `choice(replace=False)`, `random_sample` and
/// `standard_normal`.
#[derive(Clone, Debug)]
pub struct NumpyRandomState {
    state: [u32; N],
    pos: usize,
    /// The second value of the last polar Box–Muller pair, not yet returned
    /// (numpy's `has_gauss`/`gauss`); seeding clears it.
    gauss: Option<f64>,
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
        NumpyRandomState {
            state,
            pos: N,
            gauss: None,
        }
    }

    /// Seeds like `np.random.RandomState([k0, k1, ...])` with a Python list or a
    /// 1-d array of two or more entries (MT19937 `init_by_array`, which starts from
    /// `init_genrand(19650218)`). numpy squeezes a one-element *array* to a scalar
    /// and seeds it with [`new`](Self::new); a one-element *list* comes here.
    ///
    /// numpy rejects an empty key; passing one is the caller's bug (checked in
    /// debug builds; release builds seed as if the key were `[0]`).
    pub fn from_key(key: &[u32]) -> Self {
        debug_assert!(!key.is_empty(), "numpy rejects an empty RandomState seed");
        let key_len = key.len().max(1);
        let mut rng = NumpyRandomState::new(19_650_218);
        let mt = &mut rng.state;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key_len) {
            let prev = mt[i - 1];
            mt[i] = (mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key.get(j).copied().unwrap_or(0))
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key_len {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = mt[i - 1];
            mt[i] =
                (mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        rng
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

    /// One draw of `standard_normal()`: numpy's `legacy_gauss`, the polar
    /// Box–Muller method on two `random_sample` doubles. Each accepted pair
    /// yields two normals; the second is cached and returned by the next call.
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(cached) = self.gauss.take() {
            return cached;
        }
        loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// Fills `out` like `standard_normal(out.len()).astype(np.float32)`: draws
    /// in float64, in order, each rounded to float32.
    pub fn fill_standard_normal(&mut self, out: &mut [f32]) {
        for v in out {
            *v = self.standard_normal() as f32;
        }
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

    /// `randint(0, high, size)` (legacy, int64): each draw is masked
    /// rejection on 32-bit outputs when `high − 1` fits in 32 bits.
    pub fn randint(&mut self, high: usize, size: usize) -> Vec<usize> {
        let max = high.saturating_sub(1) as u64;
        (0..size)
            .map(|_| self.random_interval(max) as usize)
            .collect()
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
        // The permutation's capacity is `n`: KID keeps 200 draws, which at
        // 100k images would hold 160 MB of unused slots.
        items.shrink_to_fit();
        items
    }
}

#[cfg(test)]
mod tests {
    use super::NumpyRandomState;

    #[test]
    fn randint_draws_what_numpy_draws() {
        // numpy 2.4: RandomState(7).randint(0, 10, 12), RandomState(7).randint(0, 1000, 5),
        // RandomState(1).randint(0, 5, 3) then .randint(0, 70000, 3) on the same stream.
        assert_eq!(
            NumpyRandomState::new(7).randint(10, 12),
            [4, 9, 6, 3, 3, 7, 7, 9, 7, 8, 9, 8]
        );
        assert_eq!(
            NumpyRandomState::new(7).randint(1000, 5),
            [175, 196, 537, 502, 579]
        );
        let mut rng = NumpyRandomState::new(1);
        assert_eq!(rng.randint(5, 3), [3, 4, 0]);
        assert_eq!(rng.randint(70000, 3), [50057, 21440, 20609]);
    }
}
