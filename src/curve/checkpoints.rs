//! Which checkpoints a curve covers: the files `--checkpoints` names (a glob
//! pattern, a folder or a file), each with the training iteration its name
//! gives, in iteration order.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::CurveError;

/// How a checkpoint is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointFormat {
    /// An ONNX generator with its manifest beside it: used as it is.
    Onnx,
    /// A PyTorch checkpoint (`.pth`, `.pt`, or a release `.zip`): converted natively first.
    PyTorch,
}

impl CheckpointFormat {
    /// The format a file name's extension says, if it is a checkpoint's.
    fn of(path: &Path) -> Option<CheckpointFormat> {
        match path.extension()?.to_str()? {
            "onnx" => Some(CheckpointFormat::Onnx),
            "pth" | "pt" | "zip" => Some(CheckpointFormat::PyTorch),
            _ => None,
        }
    }
}

/// One checkpoint of a training run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub path: PathBuf,
    /// The training iteration (or epoch) the file name gives.
    pub iteration: u64,
    pub format: CheckpointFormat,
}

impl Checkpoint {
    /// The file name without its extension (`netG_210000`).
    pub fn stem(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The file name (`netG_210000.pth`).
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// The iteration a checkpoint's file name gives: the last number in its stem
/// (`netG_210000.pth` → 210000, `netG_epoch_120.pth` → 120).
pub fn iteration(path: &Path) -> Result<u64, CurveError> {
    let none = || CurveError::NoIteration {
        path: path.to_path_buf(),
    };
    let stem = path.file_stem().and_then(|s| s.to_str()).ok_or_else(none)?;
    let end = stem.rfind(|c: char| c.is_ascii_digit()).ok_or_else(none)? + 1;
    let start = stem[..end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    stem[start..end].parse().map_err(|_| none())
}

/// Every checkpoint `sources` name, in iteration order. A source is a glob
/// pattern (`'runs/netG_*.pth'`), a folder (every `.onnx`, `.pth`, `.pt` and
/// `.zip` in it but StackGAN's discriminators, `netD*`), or one file. Two
/// checkpoints with the same iteration are refused.
pub fn discover(sources: &[PathBuf]) -> Result<Vec<Checkpoint>, CurveError> {
    let mut paths = BTreeSet::new();
    for source in sources {
        paths.extend(expand(source)?);
    }
    let mut checkpoints = paths
        .into_iter()
        .map(|path| {
            let format = CheckpointFormat::of(&path).ok_or_else(|| CurveError::Pattern {
                pattern: path.display().to_string(),
                reason: "not a checkpoint; give .onnx generators (with their manifests) or .pth, .pt or .zip PyTorch checkpoints".into(),
            })?;
            Ok(Checkpoint {
                iteration: iteration(&path)?,
                path,
                format,
            })
        })
        .collect::<Result<Vec<_>, CurveError>>()?;
    checkpoints.sort_by(|a, b| (a.iteration, &a.path).cmp(&(b.iteration, &b.path)));
    if let Some(pair) = checkpoints
        .windows(2)
        .find(|pair| pair[0].iteration == pair[1].iteration)
    {
        return Err(CurveError::SameIteration {
            iteration: pair[0].iteration,
            first: pair[0].path.clone(),
            second: pair[1].path.clone(),
        });
    }
    Ok(checkpoints)
}

/// The files one source names.
fn expand(source: &Path) -> Result<Vec<PathBuf>, CurveError> {
    let text = source.to_string_lossy();
    let fail = |reason: String| CurveError::Pattern {
        pattern: text.to_string(),
        reason,
    };
    if source.is_dir() {
        let entries =
            std::fs::read_dir(source).map_err(|e| fail(format!("cannot read the folder ({e})")))?;
        let mut files = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|e| fail(format!("cannot read the folder ({e})")))?
                .path();
            let discriminator = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("netD"));
            if path.is_file() && CheckpointFormat::of(&path).is_some() && !discriminator {
                files.push(path);
            }
        }
        if files.is_empty() {
            return Err(fail(
                "the folder holds no .onnx, .pth, .pt or .zip checkpoint; give the folder of the generator's checkpoints".into(),
            ));
        }
        return Ok(files);
    }
    if source.is_file() {
        return Ok(vec![source.to_path_buf()]);
    }
    if !text.contains(['*', '?', '[']) {
        return Err(fail(
            "no such file or folder; give a folder, a file or a quoted pattern such as 'runs/netG_*.pth'".into(),
        ));
    }
    let matches = glob::glob(&text).map_err(|e| {
        fail(format!(
            "not a valid pattern ({e}); quote it, e.g. 'runs/netG_*.pth'"
        ))
    })?;
    let mut files = Vec::new();
    for entry in matches {
        let path = entry.map_err(|e| fail(format!("cannot read {}", e.path().display())))?;
        // A pattern such as `runs/netG_*` also matches the manifests beside ONNX files.
        if path.is_file() && CheckpointFormat::of(&path).is_some() {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(fail(
            "matches no .onnx, .pth, .pt or .zip file; check the pattern".into(),
        ));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_iteration_is_the_last_number_of_the_name() {
        for (name, expected) in [
            ("runs/netG_210000.pth", 210000),
            ("netG_epoch_120.pth", 120),
            ("model2_step_0500.onnx", 500),
            ("7.pt", 7),
            ("netG_300_final.zip", 300),
        ] {
            assert_eq!(iteration(Path::new(name)).ok(), Some(expected), "{name}");
        }
        for name in ["netG.pth", "final.onnx", "netG_99999999999999999999999.pth"] {
            let error = iteration(Path::new(name)).unwrap_err().to_string();
            assert!(error.contains(name) && error.contains("rename"), "{error}");
        }
    }

    #[test]
    fn folders_and_patterns_give_checkpoints_in_iteration_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "netG_1000.pth",
            "netG_200.pth",
            "netG_30.onnx",
            "netG_30.toml",
            "netD0.pth",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let found = discover(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<_> = found.iter().map(|c| (c.name(), c.iteration)).collect();
        assert_eq!(
            names,
            [
                ("netG_30.onnx".to_string(), 30),
                ("netG_200.pth".to_string(), 200),
                ("netG_1000.pth".to_string(), 1000)
            ]
        );
        assert_eq!(found[0].format, CheckpointFormat::Onnx);
        let pattern = dir.path().join("netG_*");
        let by_pattern = discover(&[pattern, dir.path().join("netG_200.pth")]).unwrap();
        assert_eq!(by_pattern, found);
        std::fs::write(dir.path().join("netG_200.onnx"), b"x").unwrap();
        let error = discover(&[dir.path().to_path_buf()])
            .unwrap_err()
            .to_string();
        assert!(error.contains("iteration 200"), "{error}");
        let none = discover(&[dir.path().join("nothing_*.pth")])
            .unwrap_err()
            .to_string();
        assert!(
            error.lines().count() == 1 && none.contains("matches no"),
            "{none}"
        );
    }
}
