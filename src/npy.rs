//! numpy's `.npy` and `.npz` files as users hand them over: the header is
//! checked before any data is read, so that a file of the wrong dtype or
//! rank is described as numpy would describe it ("int64 array of shape
//! (5, 3)"), and a header that promises more data than the file holds is
//! refused before memory is set aside for it.
//!
//! Also numpy's fixed-width unicode arrays (`<U{n}`), which hold file names
//! losslessly: bytes that are not UTF-8 become U+DC80…U+DCFF, Python's
//! `surrogateescape` convention (`os.fsdecode`/`os.fsencode`).

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use ndarray_npy::ReadNpyExt;
use ndarray_npy::npy::header::Header;

/// numpy refuses longer headers unless told otherwise (`max_header_size`).
const MAX_HEADER_BYTES: usize = 10_000;

/// Deeper nesting than any real dtype description is refused before the
/// header is parsed (a parser recursing into it could exhaust the stack).
const MAX_HEADER_NESTING: usize = 16;

/// What an `.npy` holds, from its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// numpy's type string, such as `<f4` (`[structured]` for a record dtype).
    pub descr: String,
    pub shape: Vec<usize>,
    /// Offset of the first data byte.
    data_start: usize,
}

impl NpyHeader {
    /// Parses the header of `bytes` (a whole `.npy`) and checks that the
    /// data it announces fits in what follows it.
    pub fn parse(bytes: &[u8]) -> Result<NpyHeader, String> {
        let text = header_text(bytes)?;
        let nesting = text
            .bytes()
            .try_fold((0usize, 0usize), |(depth, deepest), b| {
                let depth = match b {
                    b'(' | b'[' | b'{' => depth + 1,
                    b')' | b']' | b'}' => depth.checked_sub(1)?,
                    _ => depth,
                };
                Some((depth, deepest.max(depth)))
            });
        match nesting {
            Some((_, deepest)) if deepest <= MAX_HEADER_NESTING => {}
            _ => return Err("its header is not a numpy array description".into()),
        }
        // The parser's own message is a multi-line diagram; it adds nothing here.
        let header = Header::from_reader(&mut &bytes[..])
            .map_err(|_| "its header is not a numpy array description".to_string())?;
        // A structured dtype is a list; only its kind matters for messages.
        let descr = match header.type_descriptor.as_string() {
            Some(descr) => descr.clone(),
            None => "[structured]".into(),
        };
        let data_start = header_start(bytes)? + text.len() + 1;
        let parsed = NpyHeader {
            descr,
            shape: header.shape,
            data_start,
        };
        let data = bytes.len() - data_start;
        if let Some(needed) = parsed.data_bytes()
            && needed > data
        {
            return Err(format!(
                "its header announces {} ({needed} bytes) but only {data} bytes follow; the file is truncated or corrupt",
                parsed.describe()
            ));
        }
        Ok(parsed)
    }

    /// numpy's name of the dtype: `float32`, `int64`, `<U12` strings, …
    pub fn dtype(&self) -> String {
        let mut chars = self.descr.chars();
        let (Some(order), Some(kind)) = (chars.next(), chars.next()) else {
            return format!("dtype {}", self.descr);
        };
        let size: Option<usize> = chars.as_str().parse().ok();
        if !"<>|=".contains(order) {
            return "structured dtype".into();
        }
        let bits = |name: &str| size.map_or(name.to_string(), |s| format!("{name}{}", 8 * s));
        let big = if order == '>' && size.is_some_and(|s| s > 1) {
            " (big-endian)"
        } else {
            ""
        };
        let name = match kind {
            'f' => bits("float"),
            'i' => bits("int"),
            'u' => bits("uint"),
            'c' => bits("complex"),
            'b' => "bool".into(),
            'U' => format!("string ({})", self.descr),
            'S' => format!("bytes ({})", self.descr),
            'O' => "object (pickled Python objects)".into(),
            'M' | 'm' => format!("datetime ({})", self.descr),
            _ => format!("dtype {}", self.descr),
        };
        format!("{name}{big}")
    }

    /// Whether the values are float32 or float64 (either byte order).
    pub fn is_float(&self) -> bool {
        matches!(self.descr.as_str(), "<f4" | ">f4" | "<f8" | ">f8")
    }

    /// "a float64 array of shape (3, 4)", "an int64 array of shape (5,)".
    pub fn describe(&self) -> String {
        let dtype = self.dtype();
        let article = if dtype.starts_with(['a', 'e', 'i', 'o']) {
            "an"
        } else {
            "a"
        };
        format!(
            "{article} {dtype} array of shape {}",
            shape_text(&self.shape)
        )
    }

    /// Bytes of data the header announces, when the dtype has a fixed size.
    fn data_bytes(&self) -> Option<usize> {
        let mut chars = self.descr.chars();
        chars.next()?;
        let kind = chars.next()?;
        let size: usize = chars.as_str().parse().ok()?;
        let item = if kind == 'U' {
            size.checked_mul(4)?
        } else {
            size
        };
        self.shape
            .iter()
            .try_fold(item, |n, &d| n.checked_mul(d))
            .or(Some(usize::MAX))
    }
}

/// A name taken from a user's file, with control characters escaped so
/// that a message stays on one line.
pub fn printable(name: &str) -> String {
    name.escape_debug().to_string()
}

/// A shape as numpy prints it: `(5,)`, `(3, 4)`, `()`.
pub fn shape_text(shape: &[usize]) -> String {
    match shape {
        [single] => format!("({single},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Where the header text starts: after magic, version and length.
fn header_start(bytes: &[u8]) -> Result<usize, String> {
    if bytes.get(..6) != Some(b"\x93NUMPY") {
        return Err("it is not a numpy .npy array (no \\x93NUMPY signature)".into());
    }
    match bytes.get(6) {
        Some(1) => Ok(10),
        Some(2 | 3) => Ok(12),
        _ => Err("its .npy format version is not 1, 2 or 3".into()),
    }
}

/// The header text (without its final newline), bounds-checked.
fn header_text(bytes: &[u8]) -> Result<&str, String> {
    let start = header_start(bytes)?;
    let length = match start {
        10 => bytes
            .get(8..10)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize),
        _ => bytes
            .get(8..12)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize),
    };
    let text = length
        .filter(|&n| (1..=MAX_HEADER_BYTES).contains(&n))
        .and_then(|n| bytes.get(start..start + n))
        .and_then(|h| h.strip_suffix(b"\n"))
        .and_then(|h| std::str::from_utf8(h).ok());
    text.ok_or_else(|| "its header is cut short or malformed".to_string())
}

/// Why an array could not be read as floats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FloatArrayError {
    /// Not an `.npy` at all, or a header that cannot be trusted.
    Malformed(String),
    /// A readable array, but not of float32/float64 values.
    NotFloat(NpyHeader),
}

impl std::fmt::Display for FloatArrayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FloatArrayError::Malformed(reason) => f.write_str(reason),
            FloatArrayError::NotFloat(header) => write!(
                f,
                "it holds {}, not float32 or float64 values",
                header.describe()
            ),
        }
    }
}

/// A whole `.npy` as float64 values of any rank (float32 or float64 stored).
pub fn read_f64(bytes: &[u8]) -> Result<ArrayD<f64>, FloatArrayError> {
    let header = NpyHeader::parse(bytes).map_err(FloatArrayError::Malformed)?;
    if !header.is_float() {
        return Err(FloatArrayError::NotFloat(header));
    }
    let malformed = |e: ndarray_npy::ReadNpyError| {
        FloatArrayError::Malformed(format!("its data cannot be read ({e})"))
    };
    if header.descr.ends_with('8') {
        ArrayD::<f64>::read_npy(bytes).map_err(malformed)
    } else {
        ArrayD::<f32>::read_npy(bytes)
            .map(|a| a.mapv(f64::from))
            .map_err(malformed)
    }
}

/// A whole `.npy` as float32 values of any rank (float64 is rounded).
pub fn read_f32(bytes: &[u8]) -> Result<(ArrayD<f32>, NpyHeader), FloatArrayError> {
    let header = NpyHeader::parse(bytes).map_err(FloatArrayError::Malformed)?;
    if !header.is_float() {
        return Err(FloatArrayError::NotFloat(header));
    }
    let malformed = |e: ndarray_npy::ReadNpyError| {
        FloatArrayError::Malformed(format!("its data cannot be read ({e})"))
    };
    let array = if header.descr.ends_with('8') {
        ArrayD::<f64>::read_npy(bytes)
            .map(|a| a.mapv(|v| v as f32))
            .map_err(malformed)?
    } else {
        ArrayD::<f32>::read_npy(bytes).map_err(malformed)?
    };
    Ok((array, header))
}

/// Why an `.npz` could not be opened; reads as a reason after the file's name.
#[derive(Debug, thiserror::Error)]
pub enum NpzError {
    #[error("cannot open it ({0}); check the path")]
    Open(std::io::Error),
    #[error("it is not a readable .npz archive ({0}); it may be truncated")]
    NotArchive(String),
}

/// An `.npz` archive opened for reading its arrays by name.
pub struct Npz {
    archive: zip::ZipArchive<BufReader<File>>,
    /// Array names without the `.npy` suffix, in archive order.
    names: Vec<String>,
}

impl Npz {
    /// Opens `path`.
    pub fn open(path: &Path) -> Result<Npz, NpzError> {
        let file = File::open(path).map_err(NpzError::Open)?;
        let archive = zip::ZipArchive::new(BufReader::new(file))
            .map_err(|e| NpzError::NotArchive(e.to_string()))?;
        let names = archive
            .file_names()
            .map(|n| n.strip_suffix(".npy").unwrap_or(n).to_string())
            .collect();
        Ok(Npz { archive, names })
    }

    /// Array names without the `.npy` suffix.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// The bytes of array `name` (a whole `.npy`). Memory grows with the data
    /// really found, never with the sizes the archive claims.
    pub fn bytes(&mut self, name: &str) -> Result<Vec<u8>, String> {
        let unreadable = |e: &dyn std::fmt::Display| {
            format!(
                "array `{}` cannot be read from the archive ({e})",
                printable(name)
            )
        };
        let with_suffix = format!("{name}.npy");
        let stored = if self.archive.index_for_name(&with_suffix).is_some() {
            with_suffix
        } else {
            name.to_string()
        };
        let mut entry = self.archive.by_name(&stored).map_err(|e| unreadable(&e))?;
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|e| unreadable(&e))?;
        Ok(bytes)
    }
}

/// A numpy `<U{n}` array (UTF-32 little-endian, NUL-padded) of paths; bytes
/// that are not UTF-8 are stored as U+DC80…U+DCFF (`surrogateescape`).
pub fn unicode_array(paths: &[PathBuf]) -> Vec<u8> {
    let encoded: Vec<Vec<u32>> = paths.iter().map(|p| escape_path(p)).collect();
    let width = encoded.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut bytes = header_bytes(&format!("<U{width}"), &[paths.len()]);
    for points in &encoded {
        bytes.extend(points.iter().flat_map(|c| c.to_le_bytes()));
        bytes.extend(std::iter::repeat_n(0u8, 4 * (width - points.len())));
    }
    bytes
}

/// Paths from a numpy `<U{n}` 1-D array, undoing `surrogateescape`.
pub fn read_unicode_array(bytes: &[u8]) -> Result<Vec<PathBuf>, String> {
    let header = NpyHeader::parse(bytes)?;
    let width = header
        .descr
        .strip_prefix("<U")
        .and_then(|w| w.parse::<usize>().ok());
    let (Some(width), [count]) = (width, header.shape.as_slice()) else {
        return Err(format!(
            "it holds {}, not a 1-D array of strings",
            header.describe()
        ));
    };
    let record = width * 4;
    let data = &bytes[header.data_start..];
    (0..*count)
        .map(|i| {
            let points = data[i * record..(i + 1) * record]
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .take_while(|&c| c != 0);
            unescape_path(points).ok_or_else(|| {
                format!("entry {i} is not a file name (a code point that is neither a character nor an escaped byte)")
            })
        })
        .collect()
}

/// A version-1.0 `.npy` header for a little-endian C-order array, padded
/// to a multiple of 64 bytes as numpy writes it.
pub fn header_bytes(descr: &str, shape: &[usize]) -> Vec<u8> {
    let mut dict = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': {}, }}",
        shape_text(shape)
    );
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let mut header = b"\x93NUMPY\x01\x00".to_vec();
    header.extend((dict.len() as u16).to_le_bytes());
    header.extend(dict.as_bytes());
    header
}

/// Code points of a path: its UTF-8 characters, and U+DC00 + b for a byte b
/// that is not part of valid UTF-8.
fn escape_path(path: &Path) -> Vec<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let mut points = Vec::new();
        for chunk in path.as_os_str().as_bytes().utf8_chunks() {
            points.extend(chunk.valid().chars().map(u32::from));
            points.extend(chunk.invalid().iter().map(|&b| 0xDC00 + u32::from(b)));
        }
        points
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().chars().map(u32::from).collect()
    }
}

/// The inverse of [`escape_path`]; `None` for a code point that is neither.
fn unescape_path(points: impl Iterator<Item = u32>) -> Option<PathBuf> {
    let mut bytes = Vec::new();
    for point in points {
        match char::from_u32(point) {
            Some(c) => bytes.extend(c.encode_utf8(&mut [0; 4]).as_bytes()),
            None if (0xDC80..=0xDCFF).contains(&point) => bytes.push((point - 0xDC00) as u8),
            None => return None,
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        Some(PathBuf::from(OsString::from_vec(bytes)))
    }
    #[cfg(not(unix))]
    {
        String::from_utf8(bytes)
            .ok()
            .map(|s| PathBuf::from(OsString::from(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_describe_dtype_and_shape_as_numpy_does() {
        let bytes = {
            let mut b = header_bytes("<i8", &[5, 3]);
            b.extend([0u8; 120]);
            b
        };
        let header = NpyHeader::parse(&bytes).unwrap();
        assert_eq!(header.describe(), "an int64 array of shape (5, 3)");
        assert!(!header.is_float());
        assert_eq!(shape_text(&[7]), "(7,)");
        assert_eq!(shape_text(&[]), "()");
    }

    #[test]
    fn a_header_that_promises_more_data_than_the_file_holds_is_refused() {
        let mut bytes = header_bytes("<f4", &[1_000_000_000, 2048]);
        bytes.extend([0u8; 16]);
        let error = NpyHeader::parse(&bytes).unwrap_err();
        assert!(error.contains("truncated"), "{error}");
    }

    #[test]
    fn paths_round_trip_through_unicode_arrays_losslessly() {
        let mut paths = vec![PathBuf::from("a/ü.png"), PathBuf::from("")];
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            paths.push(PathBuf::from(OsString::from_vec(
                b"caf\xe9/\xff.png".to_vec(),
            )));
        }
        let bytes = unicode_array(&paths);
        assert_eq!(
            (bytes.len() - (10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize)) % 4,
            0
        );
        assert_eq!(read_unicode_array(&bytes).unwrap(), paths);
    }
}
