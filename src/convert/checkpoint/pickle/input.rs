//! The bytes of a pickle, read with a known end, so that no length field can
//! make the machine allocate more than the file holds.

use std::io::Read;

pub struct Input<R> {
    reader: R,
    /// Bytes consumed so far (for messages and bounds).
    pub pos: u64,
    /// Where the input ends.
    pub end: u64,
}

impl<R: Read> Input<R> {
    pub fn new(reader: R, end: u64) -> Input<R> {
        Input {
            reader,
            pos: 0,
            end,
        }
    }

    /// Bytes left before the end.
    pub fn remaining(&self) -> u64 {
        self.end.saturating_sub(self.pos)
    }

    pub fn byte(&mut self) -> Result<u8, String> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut bytes = [0; N];
        self.fill(&mut bytes)?;
        Ok(bytes)
    }

    /// `n` bytes, refused before allocating when the input does not hold them.
    pub fn bytes(&mut self, n: u64) -> Result<Vec<u8>, String> {
        if n > self.remaining() {
            return Err(self.truncated(n));
        }
        let mut bytes = vec![0; n as usize];
        self.fill(&mut bytes)?;
        Ok(bytes)
    }

    /// Skips `n` bytes (a storage no tensor of the state dict uses, `bytes` objects).
    pub fn skip(&mut self, n: u64) -> Result<(), String> {
        if n > self.remaining() {
            return Err(self.truncated(n));
        }
        let copied = std::io::copy(&mut (&mut self.reader).take(n), &mut std::io::sink())
            .map_err(|e| format!("cannot be read at byte {}: {e}", self.pos))?;
        if copied != n {
            return Err(self.truncated(n));
        }
        self.pos += n;
        Ok(())
    }

    /// Fills `bytes` from the input, refused before reading when it does not hold them.
    pub fn fill(&mut self, bytes: &mut [u8]) -> Result<(), String> {
        let n = bytes.len() as u64;
        if n > self.remaining() {
            return Err(self.truncated(n));
        }
        self.reader.read_exact(bytes).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                self.truncated(n)
            } else {
                format!("cannot be read at byte {}: {e}", self.pos)
            }
        })?;
        self.pos += n;
        Ok(())
    }

    fn truncated(&self, wanted: u64) -> String {
        format!(
            "is truncated: {wanted} bytes are needed at byte {} but only {} follow",
            self.pos,
            self.remaining()
        )
    }

    /// A newline-terminated name (`GLOBAL`'s module and attribute).
    pub fn line(&mut self) -> Result<String, String> {
        const LONGEST: usize = 200;
        let start = self.pos;
        let mut line = Vec::new();
        loop {
            match self.byte()? {
                b'\n' => break,
                b if line.len() < LONGEST => line.push(b),
                _ => {
                    return Err(format!(
                        "a global name at byte {start} runs past {LONGEST} bytes"
                    ));
                }
            }
        }
        Ok(decode_text(line))
    }
}

/// Python 3 `str` and Python 2 `str`: UTF-8, or failing that Latin-1 (as
/// `torch.load(encoding='latin1')` reads files of Python 2).
pub fn decode_text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes)
        .unwrap_or_else(|e| e.into_bytes().iter().map(|&b| char::from(b)).collect())
}
