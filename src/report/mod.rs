//! Report outputs. `plot`: PNG figures (t-SNE scatter plots and image maps,
//! bar charts with error bars) drawn with plotters and an embedded font.

mod image_map;
pub mod plot;
