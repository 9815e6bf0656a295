//! The graph builder's layers for the StackGAN generators (src/convert/onnx)
//! against torch: a miniature of StackGAN's conditioning and first stages
//! (tests/fixtures/convert/make_ops.py: `Linear` with and without bias,
//! `BatchNorm1d`, GLU on vectors and maps, `view`, nearest upsampling,
//! `eps·exp(logvar/2) + mu`, a vector tiled over a map, `cat`, `Conv2d`,
//! `BatchNorm2d`, `tanh`) on seeded stand-in weights, run by ONNX Runtime.
//! Tolerance 1e-5 absolute (outputs of magnitude ≤ 2: float32 rounding;
//! measured 5.2e-7 for the images, 6e-8 for mu and logvar).
//! Plus the builder's own refusals: shapes that cannot be formed are
//! reported, not panicked on.

use std::path::Path;

use ndarray::{Array2, ArrayD};
use stackgan_eval::convert::StateDict;
use stackgan_eval::convert::onnx::{Conv2d, GraphBuilder, OnnxModel, Pool2d};
use stackgan_eval::convert::stand_in::stand_in_weights;
use stackgan_eval::rng::NumpyRandomState;
use stackgan_eval::runtime::{Runtime, RuntimeConfig};

use crate::util::{fixture, json, npz_array, temp_dir};

/// make_ops.py's `Ops` module, layer by layer.
fn ops_graph(weights: &StateDict) -> OnnxModel {
    let mut g = GraphBuilder::new(weights);
    let z = g.input("z", &[8]);
    let eps = g.input("eps", &[3]);
    let h = g.linear(&z, "fc", 64, false);
    let h = g.batch_norm(&h, "bn1", 1e-5);
    let h = g.glu(&h);
    let h = g.reshape(&h, &[2, 4, 4]);
    let h = g.upsample_nearest(&h, 2);
    let c = g.linear(&z, "ca", 6, true);
    let [mu, logvar] = <[_; 2]>::try_from(g.split_channels(&c, &[3, 3])).unwrap();
    let half = g.scale(&logvar, 0.5);
    let std = g.exp(&half);
    let noise = g.mul(&eps, &std);
    let code = g.add(&noise, &mu);
    let tiled = g.tile_spatial(&code, 8, 8);
    let h = g.concat(&[&tiled, &h]);
    let h = g.conv2d(&h, "conv", Conv2d::new(8, 3).padding(1).without_bias());
    let h = g.batch_norm(&h, "bn2", 1e-5);
    let h = g.glu(&h);
    let h = g.conv2d(&h, "head", Conv2d::new(3, 3).padding(1));
    let img = g.tanh(&h);
    g.output(&img, "img");
    g.output(&mu, "mu");
    g.output(&logvar, "logvar");
    g.finish("ops", |key| key.ends_with("num_batches_tracked"))
        .unwrap()
}

#[test]
fn stackgan_layers_equal_torch() {
    let spec = json(fixture("convert/ops.json"));
    let layout: Vec<(String, Vec<usize>)> = serde_json::from_value(spec["layout"].clone()).unwrap();
    let weights = stand_in_weights(
        &layout,
        spec["seed"].as_u64().unwrap() as u32,
        Path::new("ops.pth"),
    );
    let dir = temp_dir();
    let path = dir.path().join("ops.onnx");
    std::fs::write(&path, ops_graph(&weights).to_bytes()).unwrap();

    let batch = spec["batch"].as_u64().unwrap() as usize;
    let mut rng = NumpyRandomState::new(spec["input_seed"].as_u64().unwrap() as u32);
    let mut z = Array2::<f32>::zeros((batch, 8));
    let mut eps = Array2::<f32>::zeros((batch, 3));
    rng.fill_standard_normal(z.as_slice_mut().unwrap());
    rng.fill_standard_normal(eps.as_slice_mut().unwrap());

    let runtime = Runtime::load(RuntimeConfig::default()).unwrap();
    let mut session = runtime.open(&path).unwrap();
    let names = ["img", "mu", "logvar"];
    let inputs = [("z", z.view().into_dyn()), ("eps", eps.view().into_dyn())];
    let got = session.run(&inputs, &names).unwrap();
    for (name, got) in names.iter().zip(got) {
        let want: ArrayD<f32> = npz_array(fixture("convert/ops.npz"), name);
        assert_eq!(got.shape(), want.shape(), "{name}");
        let diff = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        eprintln!("{name}: max abs difference {diff:e}");
        assert!(diff <= 1e-5, "{name}: max abs difference {diff}");
    }
}

#[test]
fn shapes_that_cannot_be_formed_are_refused_not_panicked_on() {
    let weights = StateDict::new(Path::new("g.pth"));
    let mut g = GraphBuilder::new(&weights);
    let x = g.input("x", &[3, 4, 4]);
    let v = g.input("v", &[5]);
    g.max_pool2d(&x, Pool2d::new(7));
    g.glu(&v);
    g.reshape(&v, &[2, 2]);
    g.upsample_nearest(&v, 2);
    g.concat(&[&x, &v]);
    g.output(&x, "x");
    let error = g.finish("broken", |_| false).unwrap_err().to_string();
    for fragment in [
        "g.pth",
        "broken",
        "does not fit 4",
        "GLU over an odd number",
        "cannot reshape",
        "needs a [C, H, W] sample",
        "cannot concatenate",
        "`x` is used twice",
    ] {
        assert!(error.contains(fragment), "{fragment}: {error}");
    }
    assert_eq!(error.lines().count(), 1);
}
