//! A [`Table`] as HTML: the Markdown's layout ("mean ± std", published
//! values marked * sourced or † unverified, 12 hex digits of a hash, empty
//! columns left out) plus the bootstrap interval beside a value when one
//! was computed. A provenance column that reads the same in every row is
//! said once under the table instead, so tables fit a laptop's screen. Each
//! number also sits unrounded in `data-value`, so a reader (or a test) gets
//! the report's exact figure from the page.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{Page, Section, esc, render};
use crate::atomic::write_bytes_atomically;
use crate::report::markdown::{format_number, marker, with_spread};
use crate::report::table::{Cell, ColumnKind, Measure, Table};
use crate::report::{Exporter, ReportError};

/// Writes `stem.html`: a page holding the table alone.
pub struct HtmlExporter;

impl Exporter for HtmlExporter {
    fn write(&self, table: &Table, dir: &Path, stem: &str) -> Result<Vec<PathBuf>, ReportError> {
        let path = dir.join(format!("{stem}.html"));
        let page = Page {
            title: table.title.clone(),
            intro: Vec::new(),
            // The page's title is the table's: no section heading.
            sections: vec![Section {
                blocks: vec![super::Block::Table(strip_title(table))],
                ..Section::default()
            }],
        };
        write_bytes_atomically(&path, render(&page).as_bytes())
            .map_err(|e| ReportError::write(&path, e))?;
        Ok(vec![path])
    }
}

/// The table without its title (the section heading says it).
fn strip_title(table: &Table) -> Table {
    Table {
        title: String::new(),
        ..table.clone()
    }
}

/// The table as an HTML fragment, its title at heading `level` (none when empty).
pub fn table_html(table: &Table, level: usize) -> String {
    let mut out = String::new();
    if !table.title.is_empty() {
        let _ = writeln!(out, "<h{level}>{}</h{level}>", esc(&table.title));
    }
    for note in &table.notes {
        let _ = writeln!(out, "<p class=\"notes\">{}</p>", esc(note));
    }
    let filled = |i: usize| table.rows.iter().any(|row| row[i] != Cell::Empty);
    let constant = |i: usize| {
        table.columns[i].kind == ColumnKind::Provenance
            && table.rows.iter().all(|row| row[i] == table.rows[0][i])
    };
    let shown: Vec<usize> = (0..table.columns.len())
        .filter(|&i| filled(i) && !constant(i))
        .collect();
    let common: Vec<String> = (0..table.columns.len())
        .filter(|&i| filled(i) && constant(i))
        .filter_map(|i| match &table.rows[0][i] {
            Cell::Text(text) => Some(format!(
                "{} <code>{}</code>",
                esc(&table.columns[i].heading),
                esc(&short(&table.columns[i].key, text))
            )),
            _ => None,
        })
        .collect();
    out.push_str("<div class=\"table\"><table class=\"report\">\n<thead><tr>");
    for &i in &shown {
        let column = &table.columns[i];
        let _ = write!(
            out,
            "<th class=\"{}\" data-key=\"{}\">{}</th>",
            kind_class(column.kind),
            esc(&column.key),
            esc(&column.heading)
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        out.push_str("<tr>");
        for &i in &shown {
            let column = &table.columns[i];
            out.push_str(&cell_html(&row[i], &column.key, column.kind));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
    if !common.is_empty() {
        let every = if table.rows.len() == 1 {
            ""
        } else {
            "Every row: "
        };
        let _ = writeln!(out, "<p class=\"notes\">{every}{}.</p>", common.join(" · "));
    }
    if table.columns.iter().any(|c| c.kind == ColumnKind::Paper) {
        out.push_str(
            "<p class=\"legend\">Published values: * sourced (the config names the source), \
             † unverified (recalled, not found in a readable copy); hover a value for its source.</p>\n",
        );
    }
    if table
        .rows
        .iter()
        .flatten()
        .any(|c| matches!(c, Cell::Measure(Measure { ci: Some(_), .. })))
    {
        out.push_str("<p class=\"legend\">[low, high]: bootstrap interval (the percentile interval re-centred on the value; the level is the run's, 0.95 unless set).</p>\n");
    }
    out
}

/// A hash cut to the 12 hex digits that identify a model; other text as it is.
fn short(key: &str, text: &str) -> String {
    if key.ends_with("sha256") {
        text.chars().take(12).collect()
    } else {
        text.to_string()
    }
}

fn kind_class(kind: ColumnKind) -> &'static str {
    match kind {
        ColumnKind::Label => "label",
        ColumnKind::Metric => "metric",
        ColumnKind::Paper => "paper",
        ColumnKind::Provenance => "provenance",
    }
}

fn cell_html(cell: &Cell, key: &str, kind: ColumnKind) -> String {
    let key = esc(key);
    match cell {
        Cell::Text(text) if kind == ColumnKind::Label => {
            format!("<th scope=\"row\" data-key=\"{key}\">{}</th>", esc(text))
        }
        // 12 hex digits identify a model; the whole hash is the tooltip.
        Cell::Text(text) if key.ends_with("sha256") => format!(
            "<td data-key=\"{key}\"><code title=\"{}\">{}</code></td>",
            esc(text),
            esc(&short(&key, text))
        ),
        Cell::Text(text) => format!("<td data-key=\"{key}\">{}</td>", esc(text)),
        Cell::Measure(m) => {
            let ci = m.ci.map_or_else(String::new, |[low, high]| {
                format!(
                    " <span class=\"ci\" data-low=\"{low}\" data-high=\"{high}\">[{}, {}]</span>",
                    format_number(low),
                    format_number(high)
                )
            });
            format!(
                "<td class=\"num\" data-key=\"{key}\" data-value=\"{}\">{}{ci}</td>",
                m.value,
                with_spread(m.value, m.std)
            )
        }
        Cell::Paper(p) => format!(
            "<td class=\"num paper {}\" data-key=\"{key}\" data-value=\"{}\" title=\"{}\">{}{}</td>",
            p.status.name(),
            p.value,
            esc(&p.source),
            with_spread(p.value, p.std),
            marker(p.status)
        ),
        Cell::Empty => format!("<td data-key=\"{key}\">–</td>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{PaperStatus, PaperValue};

    #[test]
    fn cells_show_spread_interval_and_marks_and_keep_the_exact_value() {
        let mut table = Table::new("T <1>");
        table.column("label", "variant", ColumnKind::Label);
        table.column("fid", "FID ↓", ColumnKind::Metric);
        table.column("paper_fid", "FID (published)", ColumnKind::Paper);
        table.column("extractor_sha256", "extractor", ColumnKind::Provenance);
        table.column("unused", "never", ColumnKind::Provenance);
        table.column("resize", "resize", ColumnKind::Provenance);
        let row = table.row();
        table.set(row, "label", Cell::text("<b>&\""));
        table.set(
            row,
            "fid",
            Cell::Measure(Measure {
                value: 15.300000000000002,
                std: None,
                ci: Some([14.9, 15.75]),
            }),
        );
        table.set(
            row,
            "paper_fid",
            Cell::Paper(PaperValue {
                value: 15.3,
                std: None,
                status: PaperStatus::Unverified,
                source: "\"x\"".into(),
            }),
        );
        table.set(row, "extractor_sha256", Cell::text("0123456789abcdef"));
        table.set(row, "resize", Cell::text("clean"));
        let row = table.row();
        table.set(row, "label", Cell::text("second"));
        table.set(row, "extractor_sha256", Cell::text("fedcba9876543210"));
        table.set(row, "resize", Cell::text("clean"));
        let html = table_html(&table, 3);
        assert!(html.contains("<h3>T &lt;1&gt;</h3>"), "{html}");
        assert!(html.contains("&lt;b&gt;&amp;&quot;"), "{html}");
        assert!(
            html.contains("data-value=\"15.300000000000002\">15.3000 <span class=\"ci\""),
            "{html}"
        );
        assert!(html.contains("[14.9000, 15.7500]"), "{html}");
        assert!(html.contains("15.3000 †</td>"), "{html}");
        assert!(html.contains("title=\"&quot;x&quot;\""), "{html}");
        assert!(html.contains(">0123456789ab</code>"), "{html}");
        assert!(!html.contains("never"), "empty columns left out");
        assert!(
            html.contains("Every row: resize <code>clean</code>."),
            "{html}"
        );
        assert!(!html.contains("<td data-key=\"resize\""), "{html}");
        assert!(html.contains("bootstrap interval (the percentile interval re-centred"));
        assert!(html.contains("† unverified"));
    }

    #[test]
    fn the_exporter_writes_a_whole_page_holding_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = Table::new("Scores");
        table.column("label", "run", ColumnKind::Label);
        table.column("fid", "FID ↓", ColumnKind::Metric);
        let row = table.row();
        table.set(row, "label", Cell::text("a"));
        table.set(row, "fid", Cell::measure(Some(1.25), None));
        let written = HtmlExporter.write(&table, dir.path(), "scores").unwrap();
        assert_eq!(written, [dir.path().join("scores.html")]);
        let html = std::fs::read_to_string(&written[0]).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
        assert_eq!(
            html.matches("Scores").count(),
            2,
            "title and heading, once each"
        );
        assert!(html.contains("data-value=\"1.25\">1.2500</td>"), "{html}");
    }
}
