//! Which tool wrote a file: the one provenance stamp every JSON document carries.

use serde::{Deserialize, Serialize};

const TOOL: &str = "stackgan-eval";

/// `"tool": "stackgan-eval", "tool_version": "…"`, flattened into documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub tool: String,
    pub tool_version: String,
}

impl Stamp {
    /// This build of the tool.
    pub fn current() -> Stamp {
        Stamp {
            tool: TOOL.to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// Whether a document read back was written by this tool (any version).
    pub fn is_ours(&self) -> bool {
        self.tool == TOOL
    }
}

impl Default for Stamp {
    fn default() -> Self {
        Stamp::current()
    }
}
