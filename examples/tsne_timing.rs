//! Times `analysis::embed` on a feature matrix for `benches/peer/tsne_peer.py`.
//!
//! `cargo run --release --example tsne_timing -- FEATURES.npy MAP_OUT.npy [SEED]`
//! reads N×D float32 features, runs the default t-SNE (PCA-50, perplexity 30,
//! θ 0.5, 1000 iterations), writes the N×2 float64 map and prints one JSON line
//! with the seconds spent in PCA and in the whole call.

use std::time::Instant;

use anyhow::Context;
use ndarray::Array2;
use ndarray_npy::{read_npy, write_npy};
use stackgan_eval::analysis::{TsneConfig, embed, principal_components};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: tsne_timing FEATURES.npy MAP_OUT.npy [SEED]");
    };
    let seed = match rest.first() {
        Some(s) => s.parse().context("SEED must be an integer")?,
        None => 0,
    };
    let features: Array2<f32> = read_npy(input).with_context(|| format!("reading {input}"))?;
    let cfg = TsneConfig {
        seed,
        ..TsneConfig::default()
    };

    let start = Instant::now();
    let scores = principal_components(features.view(), cfg.pca_dims)?;
    let pca_s = start.elapsed().as_secs_f64();
    drop(scores);

    let start = Instant::now();
    let map = embed(features.view(), &cfg)?;
    let total_s = start.elapsed().as_secs_f64();
    write_npy(output, &map).with_context(|| format!("writing {output}"))?;
    println!(
        "{{\"samples\": {}, \"dims\": {}, \"pca_s\": {pca_s:.3}, \"embed_s\": {total_s:.3}}}",
        features.nrows(),
        features.ncols()
    );
    Ok(())
}
