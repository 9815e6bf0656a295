//! numpy legacy RandomState reproduced bit-exactly; references from numpy 2.4
//! written by tests/fixtures/metrics/make.py (exact equality: these are integers
//! and exactly representable doubles).

use std::fs::File;

use ndarray::Array1;
use ndarray_npy::NpzReader;
use stackgan_eval::rng::NumpyRandomState;

const DIR: &str = "tests/fixtures/metrics";

fn reference(name: &str) -> Vec<usize> {
    let mut npz = NpzReader::new(File::open(format!("{DIR}/rng_ref.npz")).unwrap()).unwrap();
    let a: Array1<i64> = npz.by_name(name).unwrap();
    a.iter().map(|&v| v as usize).collect()
}

#[test]
fn permutation_matches_numpy_for_several_seeds_and_sizes() {
    for seed in [0u32, 1, 2020, 12345, 4294967295] {
        for n in [1usize, 2, 10, 1000] {
            let expected = reference(&format!("perm_{seed}_{n}"));
            assert_eq!(
                NumpyRandomState::new(seed).permutation(n),
                expected,
                "seed {seed}, n {n}"
            );
        }
    }
}

#[test]
fn permutation_matches_numpy_beyond_two_to_the_sixteen() {
    assert_eq!(
        NumpyRandomState::new(2020).permutation(70000),
        reference("perm_2020_70000")
    );
}

#[test]
fn choice_without_replacement_continues_the_stream_like_numpy() {
    let mut rng = NumpyRandomState::new(2020);
    let mut drawn = rng.choice_without_replacement(300, 100);
    drawn.extend(rng.choice_without_replacement(250, 100));
    drawn.extend(rng.choice_without_replacement(100000, 7));
    assert_eq!(drawn, reference("choice_2020_seq"));
}

#[test]
fn random_sample_matches_numpy_doubles() {
    let json: serde_json::Value =
        serde_json::from_reader(File::open(format!("{DIR}/reference.json")).unwrap()).unwrap();
    let expected: Vec<f64> =
        serde_json::from_value(json["random_sample_seed11_first"].clone()).unwrap();
    let mut rng = NumpyRandomState::new(11);
    let got: Vec<f64> = (0..5).map(|_| rng.random_sample()).collect();
    assert_eq!(got, expected);
}
