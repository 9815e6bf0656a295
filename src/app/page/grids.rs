//! The paper's side-by-side figures from a run's samples: the first rows of
//! a generation folder's `samples.csv` through every branch, or through
//! every generator variant an ablation kept. Samples are copied into the
//! page's `assets/` (their folders are rarely kept with a report).

use std::path::Path;

use super::super::runs::Run;
use crate::generate::SAMPLES_CSV;
use crate::metrics::Triage;
use crate::report::html::{Assets, Block, BranchGrid, GridRow, ImageRef};

/// Samples per grid: the paper's figures show a handful.
const GRID_SAMPLES: usize = 4;

/// A generation folder's `samples.csv`: its header and first rows.
struct SampleList {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn sample_list(folder: &Path) -> anyhow::Result<SampleList> {
    let path = folder.join(SAMPLES_CSV);
    let unreadable = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!(
            "{}: {e}; pass a folder that generate or eval --out wrote",
            path.display()
        )
    };
    let mut reader = csv::Reader::from_path(&path).map_err(|e| unreadable(&e))?;
    let header = reader
        .headers()
        .map_err(|e| unreadable(&e))?
        .iter()
        .map(String::from)
        .collect();
    let mut rows = Vec::new();
    for record in reader.records().take(GRID_SAMPLES) {
        rows.push(
            record
                .map_err(|e| unreadable(&e))?
                .iter()
                .map(String::from)
                .collect(),
        );
    }
    Ok(SampleList { header, rows })
}

impl SampleList {
    fn field<'a>(&self, row: &'a [String], name: &str) -> &'a str {
        self.header
            .iter()
            .position(|h| h == name)
            .and_then(|i| row.get(i))
            .map_or("", String::as_str)
    }

    /// `(resolution, column)` of each branch's PNG column, lowest first.
    fn branches(&self) -> Vec<(u32, usize)> {
        let mut branches: Vec<(u32, usize)> = self
            .header
            .iter()
            .enumerate()
            .filter_map(|(i, h)| Some((h.strip_prefix("png_")?.parse().ok()?, i)))
            .collect();
        branches.sort_unstable();
        branches
    }

    fn label(&self, row: &[String]) -> String {
        format!(
            "sample {}: image {}, caption {}",
            self.field(row, "sample"),
            self.field(row, "image"),
            self.field(row, "caption")
        )
    }
}

/// An image of a sample, or `None` (shown as missing) when it cannot be read.
fn sample_image(folder: &Path, file: &str, name: &str, assets: &mut Assets) -> Option<ImageRef> {
    if file.is_empty() {
        return None;
    }
    assets.copy(&folder.join(file), name).ok()
}

/// The same samples through every branch, at native size.
pub(super) fn branch_grid(
    folder: &Path,
    label: &str,
    assets: &mut Assets,
) -> anyhow::Result<Block> {
    let list = sample_list(folder)?;
    let branches = list.branches();
    let rows = list
        .rows
        .iter()
        .map(|row| GridRow {
            label: list.label(row),
            cells: branches
                .iter()
                .map(|&(resolution, column)| {
                    let name = format!("{label}-{resolution}-{}", list.field(row, "sample"));
                    sample_image(
                        folder,
                        row.get(column).map_or("", String::as_str),
                        &name,
                        assets,
                    )
                })
                .collect(),
        })
        .collect();
    Ok(Block::Grid(BranchGrid {
        caption: format!(
            "The same text embedding and noise through each branch of the generator, at native size (the first {} samples of {}).",
            list.rows.len(),
            folder.join(SAMPLES_CSV).display()
        ),
        columns: branches.iter().map(|(r, _)| format!("{r}×{r}")).collect(),
        rows,
    }))
}

/// The same samples through every generator variant of an ablation, when
/// the ablation kept them (`OUT/samples/NN/`, written with a `[tsne]` section).
pub(super) fn variant_grid(
    run: &Run,
    variants: &[(String, Vec<Option<Triage>>)],
    assets: &mut Assets,
) -> anyhow::Result<Block> {
    let mut columns = Vec::new();
    let mut lists = Vec::new();
    for (i, (name, _)) in variants.iter().enumerate() {
        let folder = run.folder.join("samples").join(format!("{:02}", i + 1));
        if folder.join(SAMPLES_CSV).is_file() {
            columns.push(name.clone());
            lists.push((folder.clone(), sample_list(&folder)?));
        }
    }
    let Some((_, first)) = lists.first() else {
        return Ok(Block::Paragraph(
            "No grid across variants: this ablation kept no samples. `ablation` keeps its generator variants' samples (in samples/NN/) only when its config has a [tsne] section; add one to compare the variants' images side by side."
                .into(),
        ));
    };
    let rows = (0..first.rows.len())
        .map(|r| GridRow {
            label: first.label(&first.rows[r]),
            cells: lists
                .iter()
                .enumerate()
                .map(|(v, (folder, list))| {
                    let row = list.rows.get(r)?;
                    let &(_, column) = list.branches().last()?;
                    let name = format!("variant-{}-{r}", v + 1);
                    sample_image(
                        folder,
                        row.get(column).map_or("", String::as_str),
                        &name,
                        assets,
                    )
                })
                .collect(),
        })
        .collect();
    Ok(Block::Grid(BranchGrid {
        caption: "The same text and noise through each generator variant, at native size (the first samples each variant wrote).".into(),
        columns,
        rows,
    }))
}
