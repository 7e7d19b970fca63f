//! The string to sign and the signature (steps 7 and 8 of the algorithm), and their comparison.

use crate::digest::{hmac_sha256_hex, sha256_hex};

/// The signing algorithm's name, the first word of the `Authorization`
/// header and of the string to sign.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// The string to sign (step 7 of the algorithm):
/// `SDK-HMAC-SHA256\n<sdk_date>\n<lowercase hex SHA-256 of canonical_request>`.
///
/// # Example
///
/// ```
/// use fgs_signing::string_to_sign;
///
/// assert_eq!(
///     string_to_sign("20240101T120000Z", ""),
///     "SDK-HMAC-SHA256\n20240101T120000Z\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/// );
/// ```
#[must_use]
pub fn string_to_sign(sdk_date: &str, canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{sdk_date}\n{}", sha256_hex(canonical_request.as_bytes()))
}

/// The signature (step 8 of the algorithm): lowercase hexadecimal
/// HMAC-SHA256 of `string_to_sign`, keyed with the secret key's bytes.
#[must_use]
pub fn signature(secret_key: &[u8], string_to_sign: &str) -> String {
    // Should the key ever be refused, the signature is the empty string, which
    // `signatures_match` never accepts.
    hmac_sha256_hex(secret_key, string_to_sign.as_bytes())
}

/// Compares two signatures in constant time for equal lengths (a length
/// difference returns `false` at once). An empty `expected` never matches.
#[must_use]
pub fn signatures_match(expected: &str, actual: &str) -> bool {
    let (expected, actual) = (expected.as_bytes(), actual.as_bytes());
    if expected.is_empty() || expected.len() != actual.len() {
        return false;
    }
    let difference = expected.iter().zip(actual).fold(0_u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(difference) == 0
}
