//! `pil-bilinear` is Pillow ≤ 12's `resize(BILINEAR)` to the bit, on real
//! photographs, tall and wide downscales included (Pillow 13 runs the
//! vertical pass first on tall downscales, which moves some values by one
//! level). References: tests/fixtures/pillow12/make.py, Pillow 12.3.0.

use std::path::PathBuf;

use stackgan_eval::images::{decode_rgb, pil_bilinear_rgb8};

use crate::util::root;

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/pillow12")
}

const SOURCES: [&str; 6] = [
    "tall_90x1100",
    "tall_320x705",
    "wide_1500x90",
    "tall_200x427",
    "chelsea_451x300",
    "up_120x160",
];
const TARGETS: [(usize, usize); 2] = [(299, 299), (64, 64)];

#[test]
fn pil_bilinear_equals_pillow_12_on_tall_and_wide_photographs() {
    let mut checked = 0;
    for name in SOURCES {
        let source = decode_rgb(&fixtures().join(format!("src/{name}.png"))).unwrap();
        for (w, h) in TARGETS {
            let reference =
                decode_rgb(&fixtures().join(format!("ref/{name}_{w}x{h}.png"))).unwrap();
            let ours = pil_bilinear_rgb8(&source, h, w);
            assert_eq!(
                ours.dimensions(),
                reference.dimensions(),
                "{name} → {w}×{h}"
            );
            let differing = ours
                .as_raw()
                .iter()
                .zip(reference.as_raw())
                .filter(|(a, b)| a != b)
                .count();
            assert_eq!(
                differing, 0,
                "{name} → {w}×{h}: {differing} values differ from Pillow 12"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, SOURCES.len() * TARGETS.len());
}
