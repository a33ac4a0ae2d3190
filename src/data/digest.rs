//! FNV-1a (64 bits): the checksum `manifest.csv` records for every output file, and the
//! fingerprints of data and parameters in `config.csv`. It catches damage (a truncated file, an
//! edited cell), not tampering: anyone can recompute it.

use std::io::{self, Read, Write};
use std::path::Path;

/// FNV-1a over bytes, 64 bits (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
///
/// ```
/// use precision_audit::data::digest::Fnv1a;
///
/// let mut hash = Fnv1a::new();
/// hash.update(b"a");
/// assert_eq!(hash.hex(), "af63dc4c8601ec8c");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a::new()
    }
}

impl Fnv1a {
    /// The hash of nothing.
    pub const fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    /// Hashes `bytes` after what came before.
    pub fn update(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The hash as 16 lowercase hexadecimal digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// A file's size and checksum, as `manifest.csv` records them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digest {
    /// Its size in bytes.
    pub bytes: u64,
    /// Its FNV-1a hash, 16 hexadecimal digits.
    pub fnv1a: String,
}

impl Digest {
    /// The digest of the file at `path`.
    pub fn of_file(path: &Path) -> io::Result<Digest> {
        let mut file = std::fs::File::open(path)?;
        let mut hashing = Hashing::new(io::sink());
        let mut buffer = vec![0; 1 << 16];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                return Ok(hashing.digest());
            }
            hashing.write_all(&buffer[..n])?;
        }
    }
}

/// A writer that hashes and counts what it passes on.
#[derive(Debug)]
pub struct Hashing<W> {
    inner: W,
    hash: Fnv1a,
    bytes: u64,
}

impl<W> Hashing<W> {
    /// Passes everything on to `inner`.
    pub fn new(inner: W) -> Self {
        Hashing {
            inner,
            hash: Fnv1a::new(),
            bytes: 0,
        }
    }

    /// What has been written so far.
    pub fn digest(&self) -> Digest {
        Digest {
            bytes: self.bytes,
            fnv1a: self.hash.hex(),
        }
    }

    /// The writer underneath.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published FNV-1a 64 test vectors.
    #[test]
    fn known_vectors() {
        let hex = |bytes: &[u8]| {
            let mut hash = Fnv1a::new();
            hash.update(bytes);
            hash.hex()
        };
        assert_eq!(hex(b""), "cbf29ce484222325");
        assert_eq!(hex(b"a"), "af63dc4c8601ec8c");
        assert_eq!(hex(b"foobar"), "85944171f73967e8");
    }

    #[test]
    fn a_file_digest_counts_and_hashes_its_bytes() {
        let dir = crate::data::scratch::dir("digest");
        let path = crate::data::scratch::file(&dir, "f.csv", b"foobar");
        let digest = Digest::of_file(&path).unwrap();
        assert_eq!(digest.bytes, 6);
        assert_eq!(digest.fnv1a, "85944171f73967e8");
    }
}
