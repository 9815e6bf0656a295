//! The files of a run, listed compactly: at 100k images a `Vec<PathBuf>`
//! costs ~7 MB (a heap string and 24 bytes per path, the folder repeated in
//! each), about as much as the tiny models' whole working set; this keeps
//! the folder once and each path's remainder in one shared buffer (~20
//! bytes an image for names like `0001234.png`), and clones by reference,
//! so the sides of a run and its passes share one listing.

use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An ordered list of files: `root` joined with each name of a shared buffer.
#[derive(Debug, Clone, Default)]
pub struct ImageList {
    root: PathBuf,
    names: Arc<[u8]>,
    /// Byte span of each file's name in `names`, in list order.
    spans: Arc<[(u32, u32)]>,
    /// The part of `spans` this list covers (a shard's slice shares the rest).
    range: Range<usize>,
}

/// Builds an [`ImageList`] file by file.
#[derive(Debug, Default)]
pub(super) struct ImageListBuilder {
    root: PathBuf,
    names: Vec<u8>,
    spans: Vec<(u32, u32)>,
    /// Files outside `root`, kept whole (none for a folder walk).
    whole: bool,
}

impl ImageListBuilder {
    pub(super) fn new(root: &Path) -> Self {
        ImageListBuilder {
            root: root.to_path_buf(),
            ..Self::default()
        }
    }

    /// Adds `path`, stored relative to the root when it lies under it.
    pub(super) fn push(&mut self, path: &Path) {
        let name = match path.strip_prefix(&self.root) {
            Ok(rest) if !self.whole => rest,
            _ => {
                self.rebase_whole();
                path
            }
        };
        self.push_name(name.as_os_str().as_bytes());
    }

    fn push_name(&mut self, bytes: &[u8]) {
        // A listing past 4 GiB of names would not fit the spans; no folder comes near.
        let start = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.extend_from_slice(bytes);
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.spans.push((start, len));
    }

    /// Stores every name as a whole path from here on (a file outside the root).
    fn rebase_whole(&mut self) {
        if self.whole {
            return;
        }
        let old = std::mem::take(self).finish_unsorted();
        self.whole = true;
        for path in old.iter() {
            self.push_name(path.as_os_str().as_bytes());
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The list in component-wise path order (as `Vec<PathBuf>::sort` orders it).
    pub(super) fn finish_sorted(mut self) -> ImageList {
        let names = std::mem::take(&mut self.names);
        let name = |&(start, len): &(u32, u32)| {
            Path::new(std::ffi::OsStr::from_bytes(
                &names[start as usize..(start + len) as usize],
            ))
        };
        // No two files share a path, so an unstable sort is deterministic.
        self.spans.sort_unstable_by(|a, b| name(a).cmp(name(b)));
        self.names = names;
        self.finish_unsorted()
    }

    /// The list in the order the files were pushed.
    fn finish_unsorted(self) -> ImageList {
        let root = if self.whole {
            PathBuf::new()
        } else {
            self.root
        };
        let len = self.spans.len();
        ImageList {
            root,
            names: self.names.into(),
            spans: self.spans.into(),
            range: 0..len,
        }
    }
}

impl ImageList {
    pub fn len(&self) -> usize {
        self.range.len()
    }

    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    /// The `index`-th file, `None` past the end.
    pub fn get(&self, index: usize) -> Option<PathBuf> {
        let &(start, len) = self.spans.get(self.range.start + index)?;
        if index >= self.len() {
            return None;
        }
        let bytes = &self.names[start as usize..(start + len) as usize];
        Some(self.root.join(std::ffi::OsStr::from_bytes(bytes)))
    }

    /// The files in order.
    pub fn iter(&self) -> impl Iterator<Item = PathBuf> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// The files at positions `range` (clamped to the list), sharing this list's buffer.
    pub fn slice(&self, range: Range<usize>) -> ImageList {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        ImageList {
            range: self.range.start + start..self.range.start + end,
            ..self.clone()
        }
    }

    /// The files as paths (for callers that keep a short list).
    pub fn to_paths(&self) -> Vec<PathBuf> {
        self.iter().collect()
    }
}

/// Two lists are equal when they name the same files in the same order.
impl PartialEq for ImageList {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ImageList {}

impl From<Vec<PathBuf>> for ImageList {
    /// Files given one by one, in their order.
    fn from(paths: Vec<PathBuf>) -> Self {
        let mut builder = ImageListBuilder::new(Path::new(""));
        builder.whole = true;
        for path in &paths {
            builder.push_name(path.as_os_str().as_bytes());
        }
        builder.finish_unsorted()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_sorts_as_paths_do_and_slices_share_it() {
        let root = Path::new("/data/set");
        let files = ["b/x.png", "a.png", "a/z.png", "a-b.png", "b.png"];
        let mut builder = ImageListBuilder::new(root);
        for f in files {
            builder.push(&root.join(f));
        }
        let list = builder.finish_sorted();
        let mut expected: Vec<PathBuf> = files.iter().map(|f| root.join(f)).collect();
        expected.sort();
        assert_eq!(list.to_paths(), expected);
        assert_eq!(list.slice(1..3).to_paths(), expected[1..3].to_vec());
        assert_eq!(list.slice(4..9).to_paths(), expected[4..].to_vec());
        assert_eq!(list.slice(1..3).get(2), None);
    }

    #[test]
    fn a_file_outside_the_root_keeps_every_path_whole() {
        let mut builder = ImageListBuilder::new(Path::new("/data/set"));
        builder.push(Path::new("/data/set/a.png"));
        builder.push(Path::new("/elsewhere/b.png"));
        let list = builder.finish_sorted();
        assert_eq!(
            list.to_paths(),
            vec![
                PathBuf::from("/data/set/a.png"),
                PathBuf::from("/elsewhere/b.png")
            ]
        );
        let given = vec![PathBuf::from("z.png"), PathBuf::from("a.png")];
        assert_eq!(ImageList::from(given.clone()).to_paths(), given);
    }
}
