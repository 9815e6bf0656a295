//! numpy legacy RandomState reproduced bit-exactly; references from numpy 2.4
//! written by tests/fixtures/metrics/make.py. Equality is exact, doubles compared
//! by their bits: integers, `random_sample` doubles and `standard_normal` draws
//! (whose `ln`/`sqrt` come from the same libm numpy uses on this platform).

use ndarray::ArrayD;
use ndarray_npy::ReadableElement;
use stackgan_eval::rng::NumpyRandomState;

use crate::util::{fixture, json, npz_array};

/// Integer-array seeds in the fixture (see `normal_keys` in make.py).
const KEY_NAMES: [&str; 4] = ["k01530", "k2020", "kmax7", "klong"];

fn array<T: ReadableElement>(name: &str) -> Vec<T> {
    let a: ArrayD<T> = npz_array(fixture("metrics/rng_ref.npz"), name);
    a.into_iter().collect()
}

fn reference(name: &str) -> Vec<usize> {
    array::<i64>(name).into_iter().map(|v| v as usize).collect()
}

fn key(name: &str) -> Vec<u32> {
    array::<i64>(&format!("key_{name}"))
        .into_iter()
        .map(|v| u32::try_from(v).unwrap())
        .collect()
}

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
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
    let json = json(fixture("metrics/reference.json"));
    let expected: Vec<f64> =
        serde_json::from_value(json["random_sample_seed11_first"].clone()).unwrap();
    let mut rng = NumpyRandomState::new(11);
    let got: Vec<f64> = (0..5).map(|_| rng.random_sample()).collect();
    assert_eq!(got, expected);
}

#[test]
fn fixture_keys_are_the_planned_ones() {
    assert_eq!(key("k01530"), [0, 1, 5, 3, 0]);
    assert_eq!(key("k2020"), [2020]);
    assert_eq!(key("kmax7"), [4294967295, 7]);
    assert_eq!(key("klong").len(), 1000);
}

#[test]
fn seeding_by_key_matches_numpy_raw_outputs() {
    for name in KEY_NAMES {
        let expected: Vec<u32> = array::<i64>(&format!("u32_{name}"))
            .into_iter()
            .map(|v| v as u32)
            .collect();
        let mut rng = NumpyRandomState::from_key(&key(name));
        let got: Vec<u32> = (0..expected.len()).map(|_| rng.next_u32()).collect();
        assert_eq!(got, expected, "key {name}");
    }
}

#[test]
fn one_element_key_is_not_the_integer_seed() {
    let mut by_key = NumpyRandomState::from_key(&[2020]);
    let mut by_int = NumpyRandomState::new(2020);
    assert_ne!(by_key.next_u32(), by_int.next_u32());
}

#[test]
fn standard_normal_matches_numpy_bits_for_odd_counts() {
    for name in KEY_NAMES {
        let expected = array::<f64>(&format!("normal_{name}"));
        assert_eq!(expected.len() % 2, 1);
        let mut rng = NumpyRandomState::from_key(&key(name));
        let got: Vec<f64> = (0..expected.len()).map(|_| rng.standard_normal()).collect();
        assert_eq!(bits(&got), bits(&expected), "key {name}");
    }
}

#[test]
fn standard_normal_of_an_integer_seed_matches_numpy_bits() {
    let expected = array::<f64>("normal_seed7");
    let mut rng = NumpyRandomState::new(7);
    let got: Vec<f64> = (0..expected.len()).map(|_| rng.standard_normal()).collect();
    assert_eq!(bits(&got), bits(&expected));
}

#[test]
fn fill_standard_normal_matches_numpy_cast_to_float32() {
    for name in KEY_NAMES {
        let expected = array::<f32>(&format!("normal_f32_{name}"));
        let mut got = vec![0f32; expected.len()];
        NumpyRandomState::from_key(&key(name)).fill_standard_normal(&mut got);
        let to_bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(to_bits(&got), to_bits(&expected), "key {name}");
    }
}

#[test]
fn cached_normal_survives_raw_draws_like_numpy() {
    // make.py: standard_normal(3), two raw u32, standard_normal(2),
    // standard_normal(1), random_sample(1) on one stream.
    for name in KEY_NAMES {
        let expected = array::<f64>(&format!("mixed_{name}"));
        let mut rng = NumpyRandomState::from_key(&key(name));
        let mut got: Vec<f64> = (0..3).map(|_| rng.standard_normal()).collect();
        got.extend((0..2).map(|_| f64::from(rng.next_u32())));
        got.extend((0..3).map(|_| rng.standard_normal()));
        got.push(rng.random_sample());
        assert_eq!(bits(&got), bits(&expected), "key {name}");
    }
}
