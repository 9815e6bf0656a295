//! A native reader of PyTorch checkpoint files: both serialisations
//! torch.save has written (`legacy.rs`: the stream of torch < 1.6;
//! `archive.rs`: the zip archive since, and release zips holding a `.pth`),
//! state dicts nested under `state_dict`/`netG`/`model`, and the `module.`
//! prefix of `nn.DataParallel` — read into a [`StateDict`] without Python.
//!
//! Safety: a checkpoint is a pickle, and a pickle can name and call any
//! Python function. The pickle machine here (`pickle/`) interprets only what
//! a state dict is made of and refuses everything else with a one-line
//! message; it never executes anything (torch's own `weights_only=True`
//! loader makes the same choice). A training checkpoint that also pickles
//! other objects (an `argparse.Namespace`, numpy scalars) is refused too;
//! save its `state_dict()` alone.
//!
//! Memory is bounded by the file: every length a file claims is checked
//! against the bytes that are really there before anything is allocated
//! (a storage claiming 2⁶⁰ elements is refused, not allocated); copies a
//! pickle makes through its memo draw on a budget of one value per byte;
//! the tensors may hold at most a few times what their storages hold
//! (`select.rs`); a compressed member may claim at most deflate's maximum
//! ratio of its packed size. Storages are read one at a time, a storage
//! that is all of one tensor straight into that tensor's values, so reading
//! needs about the size of the float32 tensors.
//!
//! Values: float16, bfloat16, float32 and float64 tensors become float32
//! (float64 rounded to nearest, as torch's `.float()`), integer and bool
//! tensors int64; strides and storage offsets are honoured, so
//! non-contiguous views and tensors sharing a storage read as torch reads them.

mod archive;
mod legacy;
mod pickle;
mod select;
mod tensor;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use crate::convert::{ConvertError, StateDict, Tensor};
use archive::ZipKind;

/// The prefix `nn.DataParallel` puts before every key; dropped on reading.
const DATA_PARALLEL_PREFIX: &str = "module.";

/// Reads the state dict of a PyTorch checkpoint (`.pth`, `.pt`, or a zip
/// holding one), with `module.` prefixes dropped.
pub fn read_checkpoint(path: &Path) -> Result<StateDict, ConvertError> {
    let fail = |reason: String| ConvertError::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    let file = File::open(path).map_err(|e| {
        fail(match e.kind() {
            std::io::ErrorKind::NotFound => "does not exist".to_string(),
            _ => format!("cannot be opened: {e}"),
        })
    })?;
    let len = file
        .metadata()
        .map_err(|e| fail(format!("cannot be read: {e}")))?
        .len();
    let tensors = read_any(BufReader::new(file), len, true).map_err(fail)?;
    let mut dict = StateDict::new(path);
    dict.tensors = tensors;
    if let Some(key) = dict.tensors.keys().find_map(|key| {
        let stripped = key.strip_prefix(DATA_PARALLEL_PREFIX)?;
        dict.tensors.contains_key(stripped).then(|| key.clone())
    }) {
        return Err(fail(format!(
            "holds both {} and {}, which are the same weight once `{DATA_PARALLEL_PREFIX}` is dropped",
            quoted(&key),
            quoted(&key[DATA_PARALLEL_PREFIX.len()..])
        )));
    }
    dict.strip_prefix(DATA_PARALLEL_PREFIX);
    Ok(dict)
}

/// What the first bytes of a file say it is.
enum Format {
    Zip,
    Pickle,
    Tar,
    Html,
    Unknown([u8; 4]),
}

impl Format {
    fn sniff(head: &[u8]) -> Format {
        let text = String::from_utf8_lossy(&head[..head.len().min(64)]).to_ascii_lowercase();
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            Format::Zip
        } else if head.first() == Some(&0x80) {
            Format::Pickle
        } else if head.get(257..262) == Some(b"ustar") {
            Format::Tar
        } else if text.trim_start().starts_with("<!doctype html")
            || text.trim_start().starts_with("<html")
        {
            Format::Html
        } else {
            let mut first = [0; 4];
            let n = head.len().min(4);
            first[..n].copy_from_slice(&head[..n]);
            Format::Unknown(first)
        }
    }
}

/// Reads a checkpoint of any of the kinds this module knows from `reader`
/// (`len` bytes); `outer` is false inside a release zip (no zip in a zip).
fn read_any<R: Read + Seek>(
    mut reader: R,
    len: u64,
    outer: bool,
) -> Result<BTreeMap<String, Tensor>, String> {
    if len == 0 {
        return Err("is empty".into());
    }
    let mut head = Vec::with_capacity(512);
    (&mut reader)
        .take(512)
        .read_to_end(&mut head)
        .and_then(|_| reader.seek(SeekFrom::Start(0)))
        .map_err(|e| format!("cannot be read: {e}"))?;
    match Format::sniff(&head) {
        Format::Pickle => legacy::read(&mut pickle::Input::new(reader, len)),
        Format::Zip => {
            let mut zip = zip::ZipArchive::new(reader)
                .map_err(|e| format!("is a damaged or truncated zip archive ({e})"))?;
            match archive::kind(&zip)? {
                ZipKind::Torch(folder) => archive::read_torch(&mut zip, &folder, len),
                ZipKind::Release(name) if outer => {
                    let bytes = archive::member(&mut zip, &name, len)?;
                    let inner = bytes.len() as u64;
                    read_any(Cursor::new(bytes), inner, false)
                        .map_err(|e| format!("{}: {e}", quoted(&name)))
                }
                ZipKind::Release(_) => Err("is a zip inside a zip; extract it first".into()),
            }
        }
        Format::Tar => Err("is a tar archive (the format of torch before 0.1.10); \
                            load it with that torch and save it again"
            .into()),
        Format::Html => Err("is an HTML page, not a checkpoint (a failed download?)".into()),
        Format::Unknown(first) => Err(format!(
            "is not a PyTorch checkpoint: it starts with bytes {:02x} {:02x} {:02x} {:02x}, \
             neither torch.save's zip archive nor its legacy pickle stream",
            first[0], first[1], first[2], first[3]
        )),
    }
}

/// Text from a file, fit for a one-line message: in backquotes, long names
/// shortened, and every character that is not part of a name (letters,
/// digits, `_ . - / : + , = @ # ~ [ ]`, space) shown as its code
/// (`\u{28}`), so that a hostile name can neither break the line nor pass
/// for the message's own words.
fn quoted(text: &str) -> String {
    const LONGEST: usize = 80;
    const NAME_PUNCTUATION: &str = " _.-/:+,=@#~[]";
    let mut shown = String::new();
    for c in text.chars().take(LONGEST) {
        if c.is_alphanumeric() || NAME_PUNCTUATION.contains(c) {
            shown.push(c);
        } else {
            shown.extend(c.escape_unicode());
        }
    }
    if text.chars().count() > LONGEST {
        shown.push('…');
    }
    format!("`{shown}`")
}

#[cfg(test)]
mod tests {
    use super::quoted;

    #[test]
    fn names_from_files_are_shown_on_one_line_in_their_own_words() {
        assert_eq!(quoted("module.fc.weight"), "`module.fc.weight`");
        assert_eq!(
            quoted("birds_3stages/netG_210000.pth"),
            "`birds_3stages/netG_210000.pth`"
        );
        assert_eq!(quoted("a\nb (c)`"), "`a\\u{a}b \\u{28}c\\u{29}\\u{60}`");
        assert!(quoted(&"x".repeat(100)).ends_with("x…`"));
    }
}
