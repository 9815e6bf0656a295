//! The paper's side-by-side figures: one row per sample (the same text and
//! noise), one column per branch (64², 128², 256²) or per variant of an
//! ablation, each image at its native size.

use std::fmt::Write as _;

use super::assets::ImageRef;
use super::esc;

/// A grid of samples with its caption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchGrid {
    pub caption: String,
    /// Column headings (`64×64`, or a variant's name).
    pub columns: Vec<String>,
    pub rows: Vec<GridRow>,
}

/// One sample across the columns; `None` where a column has no image of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridRow {
    /// What the sample is (`sample 3: image 0, caption 3`).
    pub label: String,
    pub cells: Vec<Option<ImageRef>>,
}

impl BranchGrid {
    pub fn html(&self) -> String {
        let mut out =
            String::from("<figure class=\"grid\">\n<table class=\"grid\">\n<thead><tr><th></th>");
        for column in &self.columns {
            let _ = write!(out, "<th>{}</th>", esc(column));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for row in &self.rows {
            let _ = write!(out, "<tr><th scope=\"row\">{}</th>", esc(&row.label));
            for (column, cell) in self.columns.iter().zip(&row.cells) {
                match cell {
                    Some(image) => {
                        let alt = format!("{}, {column}", row.label);
                        let _ = write!(out, "<td>{}</td>", image.img_tag(&alt));
                    }
                    None => out.push_str("<td class=\"missing\">missing</td>"),
                }
            }
            out.push_str("</tr>\n");
        }
        let _ = writeln!(
            out,
            "</tbody>\n</table>\n<figcaption>{}</figcaption>\n</figure>",
            esc(&self.caption)
        );
        out
    }
}
