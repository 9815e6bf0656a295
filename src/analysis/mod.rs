//! Analyses of feature sets beyond the scalar metrics: t-SNE maps for
//! mode-collapse figures, with the PCA in front of them and the
//! trustworthiness score that says how faithful a map is.

pub mod neighbours;
pub mod pca;
pub mod trustworthiness;
pub mod tsne;

pub use pca::{PcaError, principal_components};
pub use trustworthiness::{TrustworthinessError, trustworthiness};
pub use tsne::{TsneConfig, TsneError, embed, largest_perplexity};
