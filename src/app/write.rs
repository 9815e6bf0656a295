//! Writers several commands share: a JSON result that falls back to stdout,
//! an ablation's report folder, and a collapse report's folder.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use super::figures::write_maps;
use super::tables::{ablation_table, collapse_table};
use crate::ablation::{Ablation, AblationReport};
use crate::analysis::TsneConfig;
use crate::collapse::{Collapse, CollapseReport, MapOptions};
use crate::metrics::DuplicateThreshold;
use crate::report::{
    self, ChartExporter, CsvExporter, Exporter, JsonExporter, MarkdownExporter, Table, json_text,
    write_json,
};
use crate::scoring::ModelRun;
use crate::shard::Partial;

/// Writes `value` as JSON to `path` (given with `flag`); when it cannot be
/// written the result is printed to stdout before the error, so a long
/// run's numbers are never lost.
pub(super) fn json_or_stdout(
    flag: &str,
    path: &Path,
    value: &impl Serialize,
) -> anyhow::Result<()> {
    if let Err(error) = write_json(path, value) {
        print!("{}", json_text(value)?);
        anyhow::bail!(
            "{flag} {}: {error}; the result is printed on stdout instead",
            path.display()
        );
    }
    Ok(())
}

/// The ablation's folder: `real-features.npz` (the reference folder's
/// features), `ablation.csv`/`.md`/`.json`, a chart per metric, and the
/// t-SNE folder. Returns the table and the paths written.
pub(super) fn ablation_folder(
    out: &Path,
    ablation: &Ablation,
    report: &AblationReport,
) -> anyhow::Result<(Table, Vec<PathBuf>)> {
    std::fs::create_dir_all(out).with_context(|| {
        format!(
            "cannot create --out {}; choose a writable folder",
            out.display()
        )
    })?;
    if let Some(features) = &report.reference_features {
        features.write(&out.join("real-features.npz"))?;
    }
    let table = ablation_table(ablation, report);
    let details = JsonExporter::new(&report.variants)?;
    let exporters: [&dyn Exporter; 4] = [&CsvExporter, &MarkdownExporter, &details, &ChartExporter];
    let mut written = report::write_all(&table, out, "ablation", &exporters)?;
    if let (Some(tsne), Some(map)) = (&report.tsne, &ablation.tsne) {
        let dir = out.join("tsne");
        collapse_folder(&dir, tsne, map)?;
        written.push(dir);
    }
    Ok((table, written))
}

/// What `collapse.json` holds beside the table.
#[derive(Serialize)]
struct CollapseDetails<'a> {
    collapse: &'a [Collapse],
    tsne: &'a TsneConfig,
    reference: &'a str,
    duplicate_threshold: &'a DuplicateThreshold,
    prdc_k: usize,
    extractor: Option<&'a ModelRun>,
}

/// A collapse report's folder: the t-SNE figures and coordinates, and
/// `collapse.csv`/`.md`/`.json`. Returns the collapse table.
pub(super) fn collapse_folder(
    dir: &Path,
    report: &CollapseReport,
    map: &MapOptions,
) -> anyhow::Result<Table> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create {}; choose a writable --out", dir.display()))?;
    write_maps(dir, report, map, &feature_label(report))?;
    let table = collapse_table(report);
    let details = JsonExporter::new(&CollapseDetails {
        collapse: &report.collapse,
        tsne: &report.tsne,
        reference: &report.reference,
        duplicate_threshold: &report.threshold,
        prdc_k: report.prdc_k,
        extractor: report.extractor.as_ref(),
    })?;
    let exporters: [&dyn Exporter; 3] = [&CsvExporter, &MarkdownExporter, &details];
    report::write_all(&table, dir, "collapse", &exporters)?;
    Ok(table)
}

/// The file stem of the extractor that ran (the default one included), which
/// names the features in figure titles; `stored` when every set was a feature file.
fn feature_label(report: &CollapseReport) -> String {
    report
        .extractor
        .as_ref()
        .and_then(|model| Path::new(&model.path).file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "stored".into())
}

/// A shard's partial result at `out` (the path the command writes anyway),
/// with the pass's warnings on stderr and one line saying what to do next.
pub(super) fn write_partial(
    partial: &Partial,
    warnings: &[String],
    out: &Path,
    quiet: bool,
) -> anyhow::Result<()> {
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    partial.write(out)?;
    if !quiet {
        let header = &partial.header;
        println!(
            "wrote {}: shard {} of the {} run, items {}..{} of {}{}; combine every shard with `stackgan-eval merge PART... --out FILE`",
            out.display(),
            header.shard,
            header.kind,
            header.start,
            header.end,
            header.items,
            if header.skipped > 0 {
                format!(" ({} unreadable skipped)", header.skipped)
            } else {
                String::new()
            }
        );
    }
    Ok(())
}
