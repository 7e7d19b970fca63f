//! Vectors of Huawei's official Python signer for the algorithms other than `SDK-HMAC-SHA256`
//! (`tests/data/algorithm-vectors.json`, made by `tests/data/generate_algorithm_vectors.py`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use fgs_signing::{
    Algorithm, Authorization, Scope, SigningErrorKind, SigningKey, UNSIGNED_PAYLOAD, VerifyError, VerifyInput,
    parse_sdk_date, verify, verify_with,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use serde_json::Value;

const VECTORS: &str = include_str!("data/algorithm-vectors.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {value}"))
}

/// One request of the vector file, as sent.
struct Case {
    label: String,
    ak: String,
    sk: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Vec<u8>,
    sdk_date: String,
}

impl Case {
    fn from_json(case: &Value) -> Case {
        let mut headers = HeaderMap::new();
        for (name, value) in case["headers"].as_object().unwrap() {
            // Non-ASCII values travel as their UTF-8 bytes, as the official SDK sends them.
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value.as_str().unwrap().as_bytes()).unwrap(),
            );
        }
        Case {
            label: text(case, "label").to_owned(),
            ak: text(case, "ak").to_owned(),
            sk: text(case, "sk").to_owned(),
            method: text(case, "method").parse().unwrap(),
            uri: text(case, "url_as_sent").parse().unwrap(),
            headers,
            body: text(case, "body").as_bytes().to_vec(),
            sdk_date: text(case, "sdk_date").to_owned(),
        }
    }

    /// Verifies `authorization` for this request, at its own `X-Sdk-Date`, with the secret key
    /// ([`verify`]) and with `key` ([`verify_with`]); both must agree.
    fn verify(&self, authorization: &Authorization, key: &SigningKey) -> Result<(), VerifyError> {
        let input = VerifyInput {
            method: &self.method,
            uri: &self.uri,
            headers: &self.headers,
            body: &self.body,
            authorization,
        };
        let now = parse_sdk_date(&self.sdk_date).unwrap();
        let with_secret = verify(&input, self.sk.as_bytes(), now);
        let with_key = verify_with(&input, key, now);
        assert_eq!(with_secret, with_key, "{}", self.label);
        with_key
    }

    /// Whether the official Python signer hashed the empty body although the request carries
    /// the algorithm's content header (its `_process_hash_payload` looks at the body first),
    /// where fgs, like the Go signer, signs the header's value.
    fn python_hashes_empty_body(&self, algorithm: Algorithm) -> bool {
        self.body.is_empty() && self.headers.contains_key(algorithm.content_header())
    }
}

fn cases(algorithm: Algorithm) -> Vec<Value> {
    vectors()[algorithm.name()]["cases"].as_array().unwrap().clone()
}

/// Signs every case with fgs and compares the canonical request, the string to sign and the
/// Authorization header with the official signer's, byte for byte. Where Python hashed an
/// empty body despite the content header, the canonical requests differ in that last line
/// only.
fn check_hmac_cases(algorithm: Algorithm, key_for: impl Fn(&Case, &Value) -> SigningKey) -> usize {
    let mut quirks = 0;
    let all = cases(algorithm);
    assert!(all.len() >= 30, "{algorithm}: only {} cases", all.len());
    for json in &all {
        let case = Case::from_json(json);
        let label = &case.label;
        let key = key_for(&case, json);
        let signed = key
            .sign(&case.method, &case.uri, &case.headers, &case.body, &case.sdk_date)
            .unwrap_or_else(|error| panic!("{label}: {error}"));
        let python_canonical = text(json, "canonical_request");
        if case.python_hashes_empty_body(algorithm) {
            quirks += 1;
            let (head, python_hash) = python_canonical.rsplit_once('\n').unwrap();
            assert_eq!(python_hash, algorithm.empty_payload_hash(), "{label}");
            assert_eq!(
                signed.canonical_request,
                format!("{head}\n{UNSIGNED_PAYLOAD}"),
                "{label}"
            );
            assert_ne!(signed.authorization, text(json, "authorization"), "{label}");
            continue;
        }
        assert_eq!(signed.canonical_request, python_canonical, "{label}");
        assert_eq!(signed.string_to_sign, text(json, "string_to_sign"), "{label}");
        assert_eq!(signed.authorization, text(json, "authorization"), "{label}");
    }
    quirks
}

#[test]
fn hmac_sm3_signs_like_the_official_signer() {
    let quirks = check_hmac_cases(Algorithm::HmacSm3, |case, _| {
        SigningKey::new(Algorithm::HmacSm3, &case.ak, case.sk.as_bytes()).unwrap()
    });
    assert_eq!(quirks, 2);
}

#[test]
fn v11_hmac_sha256_signs_like_the_official_signer() {
    let quirks = check_hmac_cases(Algorithm::V11HmacSha256, |case, json| {
        let scope = Scope::new(text(json, "region"), text(json, "service")).unwrap();
        SigningKey::new(Algorithm::V11HmacSha256, &case.ak, case.sk.as_bytes())
            .unwrap()
            .with_scope(scope)
    });
    assert_eq!(quirks, 2);
}

#[test]
fn v11_needs_a_scope() {
    let case = Case::from_json(&cases(Algorithm::V11HmacSha256)[0]);
    let key = SigningKey::new(Algorithm::V11HmacSha256, &case.ak, case.sk.as_bytes()).unwrap();
    let error = key
        .sign(&case.method, &case.uri, &case.headers, &case.body, &case.sdk_date)
        .unwrap_err();
    assert_eq!(error.kind(), SigningErrorKind::MissingScope);
    // The other algorithms ignore a scope.
    let scope = Scope::new("cn-north-4", "functiongraph").unwrap();
    for algorithm in [Algorithm::HmacSha256, Algorithm::HmacSm3] {
        let plain = SigningKey::new(algorithm, &case.ak, case.sk.as_bytes()).unwrap();
        let scoped = plain.clone().with_scope(scope.clone());
        let sign = |key: &SigningKey| {
            key.sign(&case.method, &case.uri, &case.headers, &case.body, &case.sdk_date)
                .unwrap()
        };
        assert_eq!(sign(&plain), sign(&scoped));
    }
}

/// The elliptic-curve signatures are randomised, so the official ones are checked by verifying
/// them (see `verify_with` below); here fgs's canonical request and string to sign must be the
/// official signer's, byte for byte, and the public key fgs derives its.
#[test]
fn ecc_algorithms_canonicalise_like_the_official_signer() {
    let all = vectors();
    for algorithm in [Algorithm::EcdsaP256Sha256, Algorithm::Sm2Sm3] {
        let section = &all[algorithm.name()];
        let keys: Vec<SigningKey> = section["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| {
                let key = SigningKey::new(algorithm, text(entry, "ak"), text(entry, "sk").as_bytes()).unwrap();
                let public_key: String = key
                    .public_key()
                    .unwrap()
                    .iter()
                    .map(|byte| format!("{byte:02x}"))
                    .collect();
                assert_eq!(public_key, text(entry, "public_key"));
                key
            })
            .collect();
        let mut quirks = 0;
        for json in section["signatures"].as_array().unwrap() {
            let case = Case::from_json(json);
            let label = format!("{algorithm} {}", case.label);
            let key = &keys[usize::try_from(json["key"].as_u64().unwrap()).unwrap()];
            assert_eq!(key.access_key(), case.ak);
            let signed = key
                .sign(&case.method, &case.uri, &case.headers, &case.body, &case.sdk_date)
                .unwrap();
            let python_canonical = text(json, "canonical_request");
            if case.python_hashes_empty_body(algorithm) {
                quirks += 1;
                let (head, _) = python_canonical.rsplit_once('\n').unwrap();
                assert_eq!(
                    signed.canonical_request,
                    format!("{head}\n{UNSIGNED_PAYLOAD}"),
                    "{label}"
                );
                continue;
            }
            assert_eq!(signed.canonical_request, python_canonical, "{label}");
            assert_eq!(signed.string_to_sign, text(json, "string_to_sign"), "{label}");
            let python = text(json, "authorization");
            let (python_head, _) = python.rsplit_once("Signature=").unwrap();
            let (head, _) = signed.authorization.rsplit_once("Signature=").unwrap();
            assert_eq!(head, python_head, "{label}");
        }
        assert_eq!(quirks, 2, "{algorithm}");
    }
}

/// Every official Authorization header parses, prints back byte for byte, and verifies, with
/// the secret key and with a kept key; the requests where Python hashed the empty body despite
/// the content header too. A wrong secret key does not verify.
#[test]
fn official_signatures_of_every_algorithm_verify() {
    let all = vectors();
    let mut checked = 0;
    for algorithm in [
        Algorithm::HmacSm3,
        Algorithm::V11HmacSha256,
        Algorithm::EcdsaP256Sha256,
        Algorithm::Sm2Sm3,
    ] {
        let section = &all[algorithm.name()];
        let list = if algorithm.is_asymmetric() {
            "signatures"
        } else {
            "cases"
        };
        for json in section[list].as_array().unwrap() {
            let case = Case::from_json(json);
            let label = format!("{algorithm} {}", case.label);
            let header = text(json, "authorization");
            let authorization = Authorization::parse(header).unwrap_or_else(|error| panic!("{label}: {error}"));
            assert_eq!(authorization.algorithm, algorithm, "{label}");
            assert_eq!(authorization.access_key, case.ak, "{label}");
            assert_eq!(authorization.to_string(), header, "{label}");
            let key = SigningKey::new(algorithm, &case.ak, case.sk.as_bytes()).unwrap();
            let key = match &authorization.credential_scope {
                Some(scope) => {
                    assert_eq!(scope.region, text(json, "region"), "{label}");
                    assert_eq!(scope.service, text(json, "service"), "{label}");
                    assert_eq!(scope.date, case.sdk_date[..8], "{label}");
                    key.with_scope(Scope::new(&scope.region, &scope.service).unwrap())
                }
                None => key,
            };
            case.verify(&authorization, &key)
                .unwrap_or_else(|error| panic!("{label}: {error}"));

            let wrong = Case {
                sk: format!("{}x", case.sk),
                ..Case::from_json(json)
            };
            let wrong_key = SigningKey::new(algorithm, &case.ak, wrong.sk.as_bytes()).unwrap();
            let error = wrong.verify(&authorization, &wrong_key).unwrap_err();
            assert!(
                matches!(error, VerifyError::SignatureMismatch { .. }),
                "{label}: {error}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 100, "{checked}");
}
