//! SHA-256 as lowercase hex: the trial log's hash chain, the checksums of the library, hardware
//! configuration and protocol logged with every trial, and the export's manifest.

use sha2::{Digest, Sha256};

/// The SHA-256 of some bytes, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The SHA-256 of several parts, each followed by a newline (the trial log's row hash: the
/// parts cannot run into each other).
pub fn sha256_lines(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    hex(&h.finalize())
}

/// The SHA-256 of a value's JSON form (its content, whatever the file's layout).
pub fn checksum<T: serde::Serialize>(value: &T) -> String {
    sha256_hex(serde_json::to_string(value).unwrap_or_default().as_bytes())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_the_standard_sha256_in_hex() {
        // FIPS 180-2's example: SHA-256("abc").
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256_lines(&["ab", "c"]), sha256_hex(b"ab\nc\n"));
        assert_eq!(checksum(&"abc"), sha256_hex(b"\"abc\""));
    }
}
