//! Lowercase hexadecimal digests and HMACs: SHA-256 and SM3, the two hash functions of the
//! algorithms.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sm3::Sm3;

/// The hash function an algorithm uses everywhere (payload hash, canonical-request hash, HMAC
/// and, for the elliptic-curve algorithms, the key derivation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashFunction {
    /// SHA-256.
    Sha256,
    /// SM3 (GB/T 32905-2016).
    Sm3,
}

impl HashFunction {
    /// Lowercase hexadecimal digest of `data`.
    pub(crate) fn hex(self, data: &[u8]) -> String {
        hex_lower(&self.digest(data))
    }

    /// The digest of `data` (32 bytes for both functions).
    pub(crate) fn digest(self, data: &[u8]) -> [u8; 32] {
        match self {
            HashFunction::Sha256 => Sha256::digest(data).into(),
            HashFunction::Sm3 => Sm3::digest(data).into(),
        }
    }

    /// HMAC of `data` keyed with `key` (32 bytes for both functions), or `None` if the key is
    /// refused (HMAC accepts keys of any length, so this does not happen).
    pub(crate) fn hmac(self, key: &[u8], data: &[u8]) -> Option<[u8; 32]> {
        match self {
            HashFunction::Sha256 => {
                let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
                mac.update(data);
                Some(mac.finalize().into_bytes().into())
            }
            HashFunction::Sm3 => {
                let mut mac = Hmac::<Sm3>::new_from_slice(key).ok()?;
                mac.update(data);
                Some(mac.finalize().into_bytes().into())
            }
        }
    }

    /// Lowercase hexadecimal HMAC of `data` keyed with `key`, or the empty string if the key is
    /// refused (which does not happen; `signatures_match` never accepts an empty signature).
    pub(crate) fn hmac_hex(self, key: &[u8], data: &[u8]) -> String {
        self.hmac(key, data).map(|tag| hex_lower(&tag)).unwrap_or_default()
    }
}

/// Lowercase hexadecimal SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    HashFunction::Sha256.hex(data)
}

/// Lowercase hexadecimal form of `bytes`.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().saturating_mul(2));
    push_hex(bytes, &mut out);
    out
}

/// Appends the lowercase hexadecimal form of `bytes` to `out`.
pub(crate) fn push_hex(bytes: &[u8], out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len().saturating_mul(2));
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0F)]));
    }
}

/// Lowercase hexadecimal HMAC-SHA256 of `data` keyed with `key`.
pub(crate) fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    HashFunction::Sha256.hmac_hex(key, data)
}
