//! Lowercase hexadecimal SHA-256 and HMAC-SHA256, the two digests of the algorithm.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Lowercase hexadecimal SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex_lower(&Sha256::digest(data))
}

/// Lowercase hexadecimal form of `bytes`.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0F)]));
    }
    out
}

/// Lowercase hexadecimal HMAC-SHA256 of `data` keyed with `key`, or the empty string if the
/// key is refused (HMAC accepts keys of any length, so this does not happen).
pub(crate) fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(data);
    hex_lower(&mac.finalize().into_bytes())
}
