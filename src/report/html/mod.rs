//! One HTML page per run: a typed [`Page`] (sections of paragraphs,
//! provenance, tables, figures, branch grids, failure triage) rendered to a
//! single self-contained file — CSS inline, no script, every image a file
//! beside it (see [`Assets`]) — that opens from `file://` and prints.
//! Everything that comes from a user's files (labels, paths, notes) goes
//! through [`esc`]; the page is a pure function of its model, so the same
//! inputs give the same bytes.

mod assets;
mod grid;
mod table;
mod triage;

use std::fmt::Write as _;

pub use assets::{AssetError, Assets, ImageRef};
pub use grid::{BranchGrid, GridRow};
pub use table::{HtmlExporter, table_html};
pub use triage::{Thumbnail, TriageView};

/// The style sheet, inlined into every page.
const STYLE: &str = include_str!("style.css");

/// A page: a title, a few lines of introduction, and the sections.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub title: String,
    pub intro: Vec<String>,
    pub sections: Vec<Section>,
}

/// One run (or one part of a run) on the page.
#[derive(Debug, Clone, Default)]
pub struct Section {
    pub heading: String,
    /// The file the section was read from, shown under the heading.
    pub source: Option<String>,
    /// What was run and with which models: `(field, value)`.
    pub provenance: Vec<(String, String)>,
    pub blocks: Vec<Block>,
}

/// What a section holds, in order.
#[derive(Debug, Clone)]
pub enum Block {
    /// A sub-heading inside the section.
    Heading(String),
    Paragraph(String),
    /// Something the reader must know (a figure that could not be drawn).
    Note(String),
    Table(crate::report::Table),
    /// Charts and maps, laid out side by side where the page is wide enough.
    Figures(Vec<Figure>),
    Grid(BranchGrid),
    Triage(TriageView),
}

/// A chart or map the run wrote, with its caption.
#[derive(Debug, Clone)]
pub struct Figure {
    pub image: ImageRef,
    pub caption: String,
}

/// `text` safe inside HTML text and double-quoted attributes.
pub fn esc(text: &str) -> String {
    html_escape::encode_quoted_attribute(text).into_owned()
}

/// The page as one HTML document.
pub fn render(page: &Page) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
        esc(&page.title),
        esc(&page.title)
    );
    for line in &page.intro {
        let _ = writeln!(out, "<p class=\"intro\">{}</p>", esc(line));
    }
    if page.sections.len() > 1 {
        out.push_str("<nav><ol>\n");
        for (i, section) in page.sections.iter().enumerate() {
            let _ = writeln!(
                out,
                "<li><a href=\"#s{}\">{}</a></li>",
                i + 1,
                esc(&section.heading)
            );
        }
        out.push_str("</ol></nav>\n");
    }
    for (i, section) in page.sections.iter().enumerate() {
        render_section(&mut out, section, i + 1);
    }
    let _ = writeln!(
        out,
        "<footer>Written by stackgan-eval {}.</footer>\n</main>\n</body>\n</html>",
        esc(env!("CARGO_PKG_VERSION"))
    );
    out
}

fn render_section(out: &mut String, section: &Section, number: usize) {
    let _ = writeln!(out, "<section id=\"s{number}\">");
    if !section.heading.is_empty() {
        let _ = writeln!(out, "<h2>{}</h2>", esc(&section.heading));
    }
    if let Some(source) = &section.source {
        let _ = writeln!(
            out,
            "<p class=\"source\">from <code>{}</code></p>",
            esc(source)
        );
    }
    if !section.provenance.is_empty() {
        out.push_str("<dl class=\"provenance\">\n");
        for (field, value) in &section.provenance {
            let _ = writeln!(
                out,
                "<dt>{}</dt><dd><code>{}</code></dd>",
                esc(field),
                esc(value)
            );
        }
        out.push_str("</dl>\n");
    }
    for block in &section.blocks {
        match block {
            Block::Heading(text) => {
                let _ = writeln!(out, "<h3>{}</h3>", esc(text));
            }
            Block::Paragraph(text) => {
                let _ = writeln!(out, "<p>{}</p>", esc(text));
            }
            Block::Note(text) => {
                let _ = writeln!(out, "<p class=\"note\">{}</p>", esc(text));
            }
            Block::Table(table) => out.push_str(&table_html(table, 3)),
            Block::Figures(figures) => {
                out.push_str("<div class=\"figures\">\n");
                for figure in figures {
                    let _ = writeln!(
                        out,
                        "<figure>{}<figcaption>{}</figcaption></figure>",
                        figure.image.img_tag(&figure.caption),
                        esc(&figure.caption)
                    );
                }
                out.push_str("</div>\n");
            }
            Block::Grid(grid) => out.push_str(&grid.html()),
            Block::Triage(view) => out.push_str(&view.html()),
        }
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_escaped_everywhere_it_lands() {
        let page = Page {
            title: "<b>&\"".into(),
            intro: vec!["a <script>".into()],
            sections: vec![Section {
                heading: "h<i>".into(),
                source: Some("x\"y.json".into()),
                provenance: vec![("k&".into(), "<v>".into())],
                blocks: vec![Block::Paragraph("q1<".into()), Block::Note("q2>'".into())],
            }],
        };
        let html = render(&page);
        for raw in [
            "<b>&\"", "<script>", "h<i>", "x\"y", "k&<", "<v>", "q1<", "q2>", "'",
        ] {
            assert!(!html.contains(raw), "{raw} left unescaped");
        }
        assert!(html.contains("&lt;b&gt;&amp;&quot;"));
        assert!(html.contains("<style>"), "CSS inline");
        assert!(!html.contains("<script"), "no script");
    }
}
