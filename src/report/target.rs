//! Output targets checked before any work: a file flag (`--json`, `--csv`,
//! `--out FILE`) needs an existing folder that takes a new file; a folder
//! flag (`--out DIR`) needs a folder that exists or can be created, empty
//! where the command requires it. The checks create nothing that stays.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

/// Why an output target cannot be used; each names the flag and the fix.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("{flag} {path}: {reason}; choose a path in a writable folder")]
    File {
        flag: String,
        path: PathBuf,
        reason: String,
    },
    #[error("{flag} {path}: {reason}; choose a writable folder")]
    Folder {
        flag: String,
        path: PathBuf,
        reason: String,
    },
    #[error("{flag} {path} is not empty ({reason}); choose an empty or new folder")]
    NotEmpty {
        flag: String,
        path: PathBuf,
        reason: String,
    },
}

/// Whether an output folder may already hold files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderUse {
    /// The command writes its named files into it, replacing older ones.
    Overwrite,
    /// The command needs it empty (or new).
    Empty,
}

/// Checks that `path` can be written as a file later.
pub fn check_file(flag: &str, path: &Path) -> Result<(), TargetError> {
    let fail = |reason: String| TargetError::File {
        flag: flag.to_string(),
        path: path.to_path_buf(),
        reason,
    };
    if path.is_dir() {
        return Err(fail("is a folder".into()));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(fail(format!("folder {} does not exist", parent.display())));
    }
    probe(parent).map_err(|e| {
        fail(format!(
            "cannot create a file in {} ({e})",
            parent.display()
        ))
    })
}

/// Checks that `path` is, or can become, an output folder used as `usage` says.
pub fn check_folder(flag: &str, path: &Path, usage: FolderUse) -> Result<(), TargetError> {
    let fail = |reason: String| TargetError::Folder {
        flag: flag.to_string(),
        path: path.to_path_buf(),
        reason,
    };
    if path.exists() {
        if !path.is_dir() {
            return Err(fail("is a file, not a folder".into()));
        }
        if usage == FolderUse::Empty
            && let Some(reason) = contents(path)
        {
            return Err(TargetError::NotEmpty {
                flag: flag.to_string(),
                path: path.to_path_buf(),
                reason,
            });
        }
        return probe(path).map_err(|e| fail(format!("cannot create files in it ({e})")));
    }
    // The nearest folder that exists must take the new one.
    let mut ancestor = path.parent();
    while let Some(folder) = ancestor {
        let folder = if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder
        };
        if folder.exists() {
            if !folder.is_dir() {
                return Err(fail(format!(
                    "cannot be created: {} is a file",
                    folder.display()
                )));
            }
            return probe(folder)
                .map_err(|e| fail(format!("cannot be created in {} ({e})", folder.display())));
        }
        ancestor = folder.parent();
    }
    Ok(())
}

/// What a non-empty folder holds, in a few words; `None` when it is empty.
fn contents(folder: &Path) -> Option<String> {
    let mut entries = std::fs::read_dir(folder).ok()?;
    let first = entries.next()?.ok()?;
    let more = entries.count();
    let name = first.file_name().to_string_lossy().into_owned();
    Some(match more {
        0 => format!("it holds {name}"),
        n => format!("it holds {name} and {n} more"),
    })
}

/// Creates and removes a file in `folder`: the only sure test that it takes new files.
fn probe(folder: &Path) -> std::io::Result<()> {
    let path = folder.join(format!(".stackgan-eval-probe-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_refused_for_the_reason_that_applies() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        let full = dir.path().join("full");
        std::fs::create_dir(&full).unwrap();
        std::fs::write(full.join("old.png"), b"x").unwrap();
        let refusals: [(Result<(), TargetError>, &str); 5] = [
            (check_file("--json", dir.path()), "is a folder"),
            (
                check_file("--json", &dir.path().join("missing/x.json")),
                "does not exist",
            ),
            (
                check_folder("--out", &file.join("out"), FolderUse::Overwrite),
                "a-file is a file",
            ),
            (
                check_folder("--out", &file, FolderUse::Overwrite),
                "not a folder",
            ),
            (check_folder("--out", &full, FolderUse::Empty), "old.png"),
        ];
        for (result, names) in refusals {
            let message = result.expect_err(names).to_string();
            assert!(message.contains(names), "{message}");
            assert!(message.contains("--"), "names the flag: {message}");
        }
        check_file("--json", &dir.path().join("new.json")).unwrap();
        check_folder("--out", &dir.path().join("new/deeper"), FolderUse::Empty).unwrap();
        check_folder("--out", &full, FolderUse::Overwrite).unwrap();
        assert!(
            !dir.path().join("new").exists(),
            "the check creates nothing"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "no probe file left behind");
    }
}
