//! The elliptic-curve algorithms: `SDK-ECDSA-P256-SHA256` and `SDK-SM2-SM3`.
//!
//! Both derive their private key from the AK/SK pair like Huawei's SDKs
//! (`P256SHA256Signer._derive_key`), sign the string to sign, and send the signature as the
//! lowercase hexadecimal DER of `SEQUENCE { INTEGER r, INTEGER s }`.
//!
//! Huawei's SDKs pick the nonce at random; fgs derives it from the key and the message
//! (RFC 6979), which no verifier can tell apart and which needs no random number generator.

use ecdsa::elliptic_curve::ops::{MulByGenerator, Reduce};
use ecdsa::elliptic_curve::point::AffineCoordinates;
use ecdsa::elliptic_curve::sec1::ToEncodedPoint;
use ecdsa::elliptic_curve::{Curve, CurveArithmetic, Field, FieldBytes, FieldBytesEncoding, NonZeroScalar, PrimeField};
use p256::ecdsa::signature::{Signer, Verifier};
use sm2::dsa::signature::hazmat::PrehashVerifier;
use sm3::{Digest, Sm3};
use zeroize::{Zeroize, Zeroizing};

use crate::algorithm::Algorithm;
use crate::digest::hex_lower;
use crate::error::{SigningError, SigningErrorKind};

/// The private scalar `d` of an elliptic-curve algorithm, derived from the AK/SK pair as
/// Huawei's `P256SHA256Signer._derive_key` does (NIST SP 800-108 counter mode, then
/// FIPS 186-4 B.4.2 "testing candidates"):
///
/// for `counter` in `0..0xff`: `candidate` = HMAC(key = SK, `00 00 00 01` || algorithm name
/// || `00` || AK || `counter` || `00 00 01 00`) read as a big-endian integer, with the
/// algorithm's hash (SHA-256 or SM3); the first `candidate <= n - 2` gives
/// `d = candidate + 1`.
pub(crate) fn derive_secret_scalar<C>(
    algorithm: Algorithm,
    access_key: &str,
    secret_key: &[u8],
) -> Result<NonZeroScalar<C>, SigningError>
where
    C: CurveArithmetic,
{
    let hash = algorithm.hash_function();
    // n - 2 is -2 modulo n.
    let n_minus_two = (-C::Scalar::ONE.double()).to_repr();
    let name = algorithm.name().as_bytes();
    let mut data = Vec::with_capacity(4 + name.len() + 1 + access_key.len() + 1 + 4);
    for counter in 0..0xff_u8 {
        data.clear();
        data.extend_from_slice(&[0, 0, 0, 1]);
        data.extend_from_slice(name);
        data.push(0);
        data.extend_from_slice(access_key.as_bytes());
        data.push(counter);
        data.extend_from_slice(&[0, 0, 1, 0]);
        let candidate = Zeroizing::new(hash.hmac(secret_key, &data).ok_or_else(derivation_failed)?);
        // Both are big-endian and of the same length, so the byte order is the number order.
        if candidate.as_slice() > n_minus_two.as_slice() {
            continue;
        }
        let mut repr = FieldBytes::<C>::default();
        if repr.len() != candidate.len() {
            return Err(derivation_failed());
        }
        repr.copy_from_slice(candidate.as_slice());
        let scalar = Option::<C::Scalar>::from(C::Scalar::from_repr(repr.clone()));
        repr.as_mut_slice().zeroize();
        let mut scalar = scalar.ok_or_else(derivation_failed)?;
        let mut d = scalar + C::Scalar::ONE;
        scalar.zeroize();
        let secret = Option::<NonZeroScalar<C>>::from(NonZeroScalar::new(d));
        d.zeroize();
        return secret.ok_or_else(derivation_failed);
    }
    Err(derivation_failed())
}

fn derivation_failed() -> SigningError {
    SigningError::new(
        SigningErrorKind::KeyDerivation,
        "no private key can be derived from this access key and secret key",
    )
}

/// The lowercase hexadecimal form of a DER signature, and back.
fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes
        .chunks(2)
        .map(|pair| {
            let digit = |byte: u8| char::from(byte).to_digit(16);
            let high = digit(*pair.first()?)?;
            let low = digit(*pair.get(1)?)?;
            u8::try_from(high * 16 + low).ok()
        })
        .collect()
}

// ---------------------------------------------------------------- P-256

/// The key of `SDK-ECDSA-P256-SHA256` (zeroized on drop by `ecdsa`).
#[derive(Clone)]
pub(crate) struct P256Key {
    signing_key: p256::ecdsa::SigningKey,
}

impl P256Key {
    pub(crate) fn derive(access_key: &str, secret_key: &[u8]) -> Result<P256Key, SigningError> {
        let secret = derive_secret_scalar::<p256::NistP256>(Algorithm::EcdsaP256Sha256, access_key, secret_key)?;
        Ok(P256Key {
            signing_key: p256::ecdsa::SigningKey::from(secret),
        })
    }

    /// The public key, SEC1 uncompressed (`04 || x || y`).
    pub(crate) fn public_key(&self) -> Vec<u8> {
        self.signing_key
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    }

    /// Hex DER of the ECDSA signature of SHA-256(`message`).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<String, SigningError> {
        let signature: p256::ecdsa::DerSignature = self.signing_key.try_sign(message).map_err(|_| {
            SigningError::new(
                SigningErrorKind::KeyDerivation,
                "the SDK-ECDSA-P256-SHA256 signature cannot be computed",
            )
        })?;
        Ok(hex_lower(signature.as_bytes()))
    }

    /// Whether `signature` (hex DER) is a valid signature of `message` by this key.
    pub(crate) fn verify(&self, message: &[u8], signature: &str) -> bool {
        let Some(der) = parse_hex(signature) else {
            return false;
        };
        let Ok(signature) = p256::ecdsa::Signature::from_der(&der) else {
            return false;
        };
        self.signing_key.verifying_key().verify(message, &signature).is_ok()
    }

    #[cfg(test)]
    pub(crate) fn private_key_hex(&self) -> String {
        hex_lower(&self.signing_key.to_bytes())
    }
}

// ---------------------------------------------------------------- SM2

/// The default distinguishing identifier of GB/T 32918 and of Huawei's SDKs.
const SM2_DEFAULT_ID: &str = "1234567812345678";

/// The SM2 curve's `a`, `b` and generator, as GB/T 32918.5 writes them (32 bytes each).
const SM2_CURVE_PARAMETERS: [[u8; 32]; 4] = [
    hex32("fffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffc"),
    hex32("28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93"),
    hex32("32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7"),
    hex32("bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0"),
];

/// 32 bytes from 64 lowercase hexadecimal digits, at compile time (a malformed literal fails
/// the build).
const fn hex32(text: &str) -> [u8; 32] {
    const fn digit(byte: u8) -> u8 {
        match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            _ => 16,
        }
    }
    let bytes = text.as_bytes();
    assert!(bytes.len() == 64, "expected 64 hexadecimal digits");
    let mut out = [0_u8; 32];
    let mut index = 0;
    while index < 32 {
        let (high, low) = (digit(bytes[2 * index]), digit(bytes[2 * index + 1]));
        assert!(high < 16 && low < 16, "expected lowercase hexadecimal digits");
        out[index] = high * 16 + low;
        index += 1;
    }
    out
}

/// `Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA)` of GB/T 32918.2 for the default
/// identifier. With `minimal`, the coordinates of the public key are written with as few
/// bytes as their value needs, as Huawei's Python SDK does (`SM2SigningKey._za` with
/// `_int_to_bytes`); the two differ for the keys one of whose coordinates starts with a zero
/// byte (about one in 128).
fn sm2_z(public_key: &sm2::PublicKey, minimal: bool) -> [u8; 32] {
    let mut sm3 = Sm3::new();
    // ENTL, the identifier's length in bits, two bytes big-endian (128 fits in them).
    let entl = u16::try_from(SM2_DEFAULT_ID.len() * 8).unwrap_or_default();
    sm3.update(entl.to_be_bytes());
    sm3.update(SM2_DEFAULT_ID);
    for parameter in &SM2_CURVE_PARAMETERS {
        sm3.update(parameter);
    }
    let point = public_key.to_encoded_point(false);
    for coordinate in [point.x(), point.y()].into_iter().flatten() {
        let bytes = coordinate.as_slice();
        let start = if minimal {
            bytes.iter().position(|&byte| byte != 0).unwrap_or(bytes.len())
        } else {
            0
        };
        sm3.update(bytes.get(start..).unwrap_or_default());
    }
    sm3.finalize().into()
}

/// The key of `SDK-SM2-SM3`.
#[derive(Clone)]
pub(crate) struct Sm2Key {
    /// The private scalar, zeroized on drop.
    secret: NonZeroScalar<sm2::Sm2>,
    public_key: sm2::PublicKey,
    verifying_key: sm2::dsa::VerifyingKey,
    /// `Z` of GB/T 32918, with which fgs signs.
    z: [u8; 32],
    /// `Z` as Huawei's Python SDK computes it, if it differs from `z`.
    python_z: Option<[u8; 32]>,
}

impl Drop for Sm2Key {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl Sm2Key {
    pub(crate) fn derive(access_key: &str, secret_key: &[u8]) -> Result<Sm2Key, SigningError> {
        let secret = derive_secret_scalar::<sm2::Sm2>(Algorithm::Sm2Sm3, access_key, secret_key)?;
        let public_key = sm2::PublicKey::from_secret_scalar(&secret);
        let verifying_key = sm2::dsa::VerifyingKey::new(SM2_DEFAULT_ID, public_key).map_err(|_| derivation_failed())?;
        let z = sm2_z(&public_key, false);
        let python_z = Some(sm2_z(&public_key, true)).filter(|python_z| *python_z != z);
        Ok(Sm2Key {
            secret,
            public_key,
            verifying_key,
            z,
            python_z,
        })
    }

    /// The public key, SEC1 uncompressed (`04 || x || y`).
    pub(crate) fn public_key(&self) -> Vec<u8> {
        self.public_key.to_encoded_point(false).as_bytes().to_vec()
    }

    /// `e = SM3(Z || message)`.
    fn prehash(z: &[u8; 32], message: &[u8]) -> [u8; 32] {
        Sm3::new().chain_update(z).chain_update(message).finalize().into()
    }

    /// Hex DER of the SM2 signature of `message` (GB/T 32918.2 with the default identifier;
    /// the nonce from RFC 6979 with SM3).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<String, SigningError> {
        let failed = || {
            SigningError::new(
                SigningErrorKind::KeyDerivation,
                "the SDK-SM2-SM3 signature cannot be computed",
            )
        };
        let prehash = Sm2Key::prehash(&self.z, message);
        let (r, s) = sm2_sign_prehash(&self.secret, &prehash).ok_or_else(failed)?;
        let signature = ecdsa::Signature::<sm2::Sm2>::from_scalars(r.to_bytes(), s.to_bytes()).map_err(|_| failed())?;
        Ok(hex_lower(signature.to_der().as_bytes()))
    }

    /// Whether `signature` (hex DER) is a valid signature of `message` by this key, with the
    /// `Z` of GB/T 32918 or the one of Huawei's Python SDK.
    pub(crate) fn verify(&self, message: &[u8], signature: &str) -> bool {
        let Some(der) = parse_hex(signature) else {
            return false;
        };
        let Ok(parsed) = ecdsa::Signature::<sm2::Sm2>::from_der(&der) else {
            return false;
        };
        let (r, s) = parsed.split_bytes();
        let Ok(signature) = sm2::dsa::Signature::from_scalars(r, s) else {
            return false;
        };
        [Some(self.z), self.python_z].into_iter().flatten().any(|z| {
            self.verifying_key
                .verify_prehash(&Sm2Key::prehash(&z, message), &signature)
                .is_ok()
        })
    }

    #[cfg(test)]
    pub(crate) fn private_key_hex(&self) -> String {
        hex_lower(&self.secret.to_repr())
    }

    /// [`Sm2Key::verify`] with the `Z` of GB/T 32918 only.
    #[cfg(test)]
    pub(crate) fn verify_standard_z_only(&self, message: &[u8], signature: &str) -> bool {
        let mut key = self.clone();
        key.python_z = None;
        key.verify(message, signature)
    }

    #[cfg(test)]
    pub(crate) fn z_values(&self) -> ([u8; 32], Option<[u8; 32]>) {
        (self.z, self.python_z)
    }
}

/// SM2 signing (GB/T 32918.2, steps A2 to A7) of the prehash `e = SM3(Z || M)` with the
/// secret `d`, the nonce `k` from RFC 6979 (HMAC-DRBG with SM3) as the `sm2` crate chooses
/// it. `None` in the cases the standard repeats with another `k` (`r = 0`, `r + k = n`,
/// `s = 0`), which have a probability of about 2^-256.
fn sm2_sign_prehash(secret: &NonZeroScalar<sm2::Sm2>, prehash: &[u8; 32]) -> Option<(sm2::Scalar, sm2::Scalar)> {
    use sm2::{FieldBytes, ProjectivePoint, Scalar, U256};

    let e = <Scalar as Reduce<U256>>::reduce_bytes(FieldBytes::from_slice(prehash));
    let order = FieldBytesEncoding::<sm2::Sm2>::encode_field_bytes(&sm2::Sm2::ORDER);
    let mut secret_repr = secret.to_repr();
    let mut k_repr = rfc6979::generate_k::<Sm3, _>(&secret_repr, &order, &e.to_bytes(), &[]);
    secret_repr.as_mut_slice().zeroize();
    let k = Option::<Scalar>::from(Scalar::from_repr(k_repr));
    k_repr.as_mut_slice().zeroize();
    let mut k = Zeroizing::new(k?);
    let x1 = ProjectivePoint::mul_by_generator(&*k).to_affine().x();
    let r = e + <Scalar as Reduce<U256>>::reduce_bytes(&x1);
    if bool::from(r.is_zero()) || bool::from((r + *k).is_zero()) {
        return None;
    }
    let d = Zeroizing::new(**secret);
    let mut d_plus_one_inverse = Zeroizing::new(Option::<Scalar>::from((*d + Scalar::ONE).invert())?);
    let s = *d_plus_one_inverse * (*k - r * *d);
    k.zeroize();
    d_plus_one_inverse.zeroize();
    if bool::from(s.is_zero()) {
        return None;
    }
    Some((r, s))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use ecdsa::elliptic_curve::group::prime::PrimeCurveAffine;
    use sm2::dsa::signature::Verifier as _;

    use super::*;

    #[test]
    fn sm2_parameters_are_the_curve_s() {
        let generator = sm2::AffinePoint::generator().to_encoded_point(false);
        assert_eq!(generator.x().unwrap().as_slice(), SM2_CURVE_PARAMETERS[2]);
        assert_eq!(generator.y().unwrap().as_slice(), SM2_CURVE_PARAMETERS[3]);
    }

    #[test]
    fn sm2_signatures_verify_with_the_sm2_crate() {
        for index in 0..20 {
            let key = Sm2Key::derive(&format!("AK{index}"), b"SK").unwrap();
            let message = format!("message {index}");
            let signature = key.sign(message.as_bytes()).unwrap();
            assert!(key.verify(message.as_bytes(), &signature));
            assert!(!key.verify(b"another message", &signature));
            // The sm2 crate computes Z itself (GB/T 32918, 32-byte coordinates).
            let der = parse_hex(&signature).unwrap();
            let (r, s) = ecdsa::Signature::<sm2::Sm2>::from_der(&der).unwrap().split_bytes();
            let signature = sm2::dsa::Signature::from_scalars(r, s).unwrap();
            key.verifying_key.verify(message.as_bytes(), &signature).unwrap();
        }
    }

    #[test]
    fn p256_signatures_are_deterministic_der() {
        let key = P256Key::derive("AK", b"SK").unwrap();
        let signature = key.sign(b"message").unwrap();
        assert_eq!(signature, key.sign(b"message").unwrap());
        assert!(signature.starts_with("30"));
        assert!(key.verify(b"message", &signature));
        assert!(!key.verify(b"messagf", &signature));
        assert!(!key.verify(b"message", &signature.to_uppercase()[..signature.len() - 1]));
        assert!(key.verify(b"message", &signature.to_uppercase()));
        assert!(!key.verify(b"message", "zz"));
        assert!(!key.verify(b"message", ""));
    }

    #[test]
    fn parse_hex_cases() {
        assert_eq!(parse_hex(""), Some(vec![]));
        assert_eq!(parse_hex("00ff7A"), Some(vec![0, 255, 122]));
        assert_eq!(parse_hex("0"), None);
        assert_eq!(parse_hex("0g"), None);
        assert_eq!(parse_hex("+1"), None);
    }
}
