//! Zip files: torch.save's archive (torch ≥ 1.6) and release zips that hold
//! a `.pth` (StackGAN's `birds_3stages.zip` → `birds_3stages/netG_210000.pth`).
//!
//! torch's archive keeps every record under one folder (`<archive>/`):
//! `data.pkl` (the object, tensors referring to storages by persistent id),
//! `data/<key>` (each storage's raw elements), `byteorder` (`little` or
//! `big`; absent in older files, which are little-endian), `version` and
//! others this reader does not need. A zip is torch's archive when the
//! folder of its first record holds `data.pkl`, as torch itself decides;
//! otherwise it is a release zip, and the `.pth` or `.pt` in it is read — the
//! only one, or the only one whose name starts with `netG`.

use std::collections::BTreeMap;
use std::io::{Read, Seek};

use zip::ZipArchive;

use super::pickle::{Input, Machine};
use super::quoted;
use super::select::Selection;
use super::tensor::ByteOrder;
use crate::convert::Tensor;

/// Deflate expands at most ~1032-fold; a member claiming more is refused
/// before anything is allocated for it.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// What a zip holds.
pub enum ZipKind {
    /// torch's archive, with its folder name.
    Torch(String),
    /// A release zip, with the name of the checkpoint in it.
    Release(String),
}

/// Decides what `archive` is; refuses TorchScript archives and zips that hold no checkpoint.
pub fn kind<R: Read + Seek>(archive: &ZipArchive<R>) -> Result<ZipKind, String> {
    let names: Vec<&str> = archive.file_names().collect();
    let first = archive.name_for_index(0).unwrap_or_default();
    if let Some((folder, _)) = first.split_once('/')
        && archive
            .index_for_name(&format!("{folder}/data.pkl"))
            .is_some()
    {
        if archive
            .index_for_name(&format!("{folder}/constants.pkl"))
            .is_some()
        {
            return Err(
                "is a TorchScript archive (torch.jit.save), not a torch.save checkpoint; \
                 save the model's `state_dict()` with torch.save"
                    .into(),
            );
        }
        return Ok(ZipKind::Torch(folder.to_string()));
    }
    let mut candidates: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| n.ends_with(".pth") || n.ends_with(".pt"))
        .collect();
    candidates.sort_unstable();
    let generators: Vec<&str> = candidates
        .iter()
        .copied()
        .filter(|n| {
            n.rsplit('/')
                .next()
                .is_some_and(|base| base.starts_with("netG"))
        })
        .collect();
    let chosen = if generators.is_empty() {
        &candidates
    } else {
        &generators
    };
    match chosen.as_slice() {
        [one] => Ok(ZipKind::Release(one.to_string())),
        [] => Err(
            "is a zip archive holding neither a torch.save checkpoint (no data.pkl) \
                   nor a .pth or .pt file"
                .into(),
        ),
        many => Err(format!(
            "is a zip that holds {} checkpoints ({}); extract the one to read",
            many.len(),
            many.iter()
                .map(|n| quoted(n))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The size member `name` claims, checked against the file before anything is allocated.
fn claimed_size<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    name: &str,
    file_len: u64,
) -> Result<u64, String> {
    let entry = archive
        .by_name(name)
        .map_err(|e| format!("cannot open {} in the archive: {e}", quoted(name)))?;
    let (size, packed) = (entry.size(), entry.compressed_size());
    let bound = match entry.compression() {
        zip::CompressionMethod::Stored => packed,
        _ => packed
            .saturating_mul(MAX_DEFLATE_RATIO)
            .saturating_add(1024),
    };
    if packed > file_len || size > bound {
        return Err(format!(
            "{} claims {size} bytes, more than the {file_len}-byte file can hold",
            quoted(name)
        ));
    }
    Ok(size)
}

/// Reads member `name` into `dest` (its claimed size), checking its CRC-32.
fn read_into<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    name: &str,
    dest: &mut [u8],
) -> Result<(), String> {
    let mut entry = archive
        .by_name(name)
        .map_err(|e| format!("cannot open {} in the archive: {e}", quoted(name)))?;
    let damaged = |e: std::io::Error| format!("{} is damaged or truncated: {e}", quoted(name));
    entry.read_exact(dest).map_err(damaged)?;
    // Reading on to the end is where the zip reader compares the CRC-32.
    match entry.read(&mut [0]).map_err(damaged)? {
        0 => Ok(()),
        _ => Err(format!("{} holds more bytes than it claims", quoted(name))),
    }
}

/// The bytes of member `name`.
pub fn member<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    name: &str,
    file_len: u64,
) -> Result<Vec<u8>, String> {
    let size = claimed_size(archive, name, file_len)?;
    let mut bytes = vec![0; size as usize];
    read_into(archive, name, &mut bytes)?;
    Ok(bytes)
}

/// Reads the state dict of torch's archive under `folder`.
pub fn read_torch<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    folder: &str,
    file_len: u64,
) -> Result<BTreeMap<String, Tensor>, String> {
    let order = byte_order(archive, folder, file_len)?;
    let pickle = member(archive, &format!("{folder}/data.pkl"), file_len)?;
    let mut machine = Machine::new();
    let mut input = Input::new(pickle.as_slice(), pickle.len() as u64);
    let root = machine
        .load(&mut input)
        .map_err(|e| format!("{}: {e}", quoted(&format!("{folder}/data.pkl"))))?;
    let selection = Selection::find(&machine, root)?;
    selection.check_budget(&machine.storages)?;
    let mut tensors = BTreeMap::new();
    for root in selection.storages() {
        let info = &machine.storages[root];
        let name = format!("{folder}/data/{}", info.key);
        if archive.index_for_name(&name).is_none() {
            return Err(format!(
                "has no record {} for storage {}",
                quoted(&name),
                quoted(&info.key)
            ));
        }
        let size = claimed_size(archive, &name, file_len)?;
        if Some(size) != info.bytes() {
            return Err(format!(
                "record {} holds {size} bytes where its tensors declared {} {} elements",
                quoted(&name),
                info.numel,
                info.dtype.name()
            ));
        }
        let fill = |dest: &mut [u8]| read_into(archive, &name, dest);
        selection.read_storage_with(root, info, order, fill, &mut tensors)?;
    }
    Ok(tensors)
}

/// The `byteorder` record: little-endian when absent, as torch assumes.
fn byte_order<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    folder: &str,
    file_len: u64,
) -> Result<ByteOrder, String> {
    let name = format!("{folder}/byteorder");
    let Ok(record) = archive.by_name(&name) else {
        return Ok(ByteOrder::Little);
    };
    let bytes = if record.size() <= 8 {
        drop(record);
        member(archive, &name, file_len)?
    } else {
        Vec::new()
    };
    match bytes.as_slice() {
        b"little" => Ok(ByteOrder::Little),
        b"big" => Ok(ByteOrder::Big),
        other => Err(format!(
            "record {} says {}, neither little nor big",
            quoted(&name),
            quoted(&String::from_utf8_lossy(other))
        )),
    }
}
