//! Differential test against Huawei's official Python SDK core.
//!
//! The SDK is pip-installed by this test (pinned in
//! `crates/fgs-emulator/tests/python/requirements.txt`, the interop test's pins) into
//! cargo's per-target temporary directory, once; `FGS_SIGNING_PYTHON` names another
//! directory holding `huaweicloudsdkcore` instead. As for the interop test, Python 3.8+ with
//! pip is a prerequisite: without it the test fails saying so, and `FGS_SKIP_PYTHON=1`
//! skips it on purpose (printing `SKIPPED`). `FGS_SIGNING_CASES` sets the number of
//! requests per algorithm (60 by default, so that CI runs it in about a minute; 200 for a
//! longer run):
//!
//! ```text
//! FGS_SIGNING_CASES=200 cargo test -p fgs-signing --test python_differential -- --nocapture
//! ```
//!
//! fgs signs the generated requests of each algorithm (paths and queries with reserved, encoded
//! and non-ASCII characters, random headers with padded and non-ASCII values, unsigned
//! payloads, empty and non-ASCII bodies, dates from 1970 to 2099, several AK/SK pairs);
//! `tests/data/python_differential.py` has the official signer sign the same requests and,
//! for ECDSA and SM2, verify fgs's signatures with its own `SigningKey.verify` and derived
//! key. Then, for every request:
//!
//! - the canonical request and the string to sign are the official signer's, byte for byte
//!   (where Python hashes an empty body despite the content header, the canonical requests
//!   differ in that last line only), and for the HMAC algorithms the Authorization header;
//! - the official verifier accepts fgs's ECDSA and SM2 signatures (except, for SM2, under a
//!   key whose public key has a leading zero byte, where Python's `Z` is not GB/T 32918's);
//! - fgs's verifier accepts the official signer's Authorization header.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, UNIX_EPOCH};

use fgs_signing::{
    Algorithm, Authorization, SigningKey, UNSIGNED_PAYLOAD, VerifyInput, format_sdk_date, parse_sdk_date, verify,
    wants_unsigned_payload,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use serde_json::{Value, json};

#[path = "../../fgs-emulator/tests/python/support.rs"]
mod python_support;

/// Requests per algorithm unless `FGS_SIGNING_CASES` says otherwise.
const DEFAULT_PER_ALGORITHM: usize = 60;

/// xorshift64*: deterministic, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn text(&mut self, alphabet: &[&str], max: usize) -> String {
        let length = self.below(max + 1);
        (0..length).map(|_| *self.pick(alphabet)).collect()
    }
}

const UNRESERVED: &[&str] = &["a", "b", "z", "A", "Q", "Z", "0", "7", "9", "-", "_", ".", "~"];
const RESERVED: &[&str] = &[
    ":", "@", "!", "$", "&", "'", "(", ")", "*", "+", ",", ";", "=", " ", "%", "?", "#", "[", "]", "\"", "<", ">", "^",
    "`", "{", "|", "}",
];
const NON_ASCII: &[&str] = &["\u{e9}", "\u{fc}", "\u{5317}", "\u{4eac}", "\u{1F600}", "\u{3b1}"];

/// Characters that may stay unencoded in a path or query of an `http::Uri`.
const RAW_OK: &str = ":@!$'()*+,;=";

fn decoded(rng: &mut Rng, max: usize) -> String {
    let length = rng.below(max + 1);
    (0..length)
        .map(|_| match rng.below(10) {
            0..=5 => *rng.pick(UNRESERVED),
            6..=8 => *rng.pick(RESERVED),
            _ => *rng.pick(NON_ASCII),
        })
        .collect()
}

/// Percent-encodes `text` as a client might: unreserved characters raw, some sub-delimiters
/// raw (except those in `always`), everything else as `%XX` in upper or lower case.
fn encode(rng: &mut Rng, text: &str, always: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let raw_ok = c.is_ascii_alphanumeric() || "-_.~".contains(c) || (RAW_OK.contains(c) && !always.contains(c));
        if raw_ok && !rng.chance(10) {
            out.push(c);
        } else {
            let mut buffer = [0_u8; 4];
            for byte in c.encode_utf8(&mut buffer).bytes() {
                if rng.chance(50) {
                    out.push_str(&format!("%{byte:02X}"));
                } else {
                    out.push_str(&format!("%{byte:02x}"));
                }
            }
        }
    }
    out
}

const KEY_PAIRS: &[(&str, &str)] = &[
    ("AKEXAMPLE1234567890", "SKEXAMPLEabcdefghijklmnopqrstuvwxyz0123"),
    ("QTWAOYTTINDUT2QVKYUC", "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"),
    // Its SM2 public key has a coordinate with a leading zero byte (see algorithm-vectors.json).
    ("AKSM2ZA00003", "SKSM2LEADINGZERO"),
    ("A", "s"),
];
const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/json;charset=UTF-8",
    "application/bson",
    "application/octet-stream",
    "text/plain",
    "multipart/form-data; boundary=x",
];
const SCOPES: &[(&str, &str)] = &[
    ("cn-north-4", "functiongraph"),
    ("ap-southeast-1", "iam"),
    ("eu-west-101", "FunctionGraph"),
];

/// One generated request, signed by fgs.
struct Generated {
    algorithm: Algorithm,
    ak: String,
    sk: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
    sdk_date: String,
    signed: fgs_signing::Signed,
    /// What the Python script is given.
    json: Value,
}

fn generate(rng: &mut Rng, algorithm: Algorithm) -> Generated {
    let (ak, sk) = if rng.chance(70) {
        let (ak, sk) = *rng.pick(KEY_PAIRS);
        (ak.to_owned(), sk.to_owned())
    } else {
        let alphabet = ["A", "K", "x", "7", "0", "Z"];
        (
            format!("AK{}", rng.text(&alphabet, 20)),
            format!("sk{}", decoded(rng, 30)),
        )
    };
    let method = rng
        .pick(&["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
        .to_owned();

    let mut path = String::new();
    for _ in 0..rng.below(5) {
        path.push('/');
        let segment = decoded(rng, 8);
        path.push_str(&encode(rng, &segment, "?#"));
    }
    if path.is_empty() || rng.chance(20) {
        path.push('/');
    }
    let mut query_pairs = Vec::new();
    let mut query = String::new();
    for index in 0..rng.below(5) {
        let key = format!("k{}", decoded(rng, 4));
        let value = decoded(rng, 6);
        if index > 0 {
            query.push('&');
        }
        query.push_str(&encode(rng, &key, "&=+?#"));
        if !value.is_empty() || rng.chance(50) {
            query.push('=');
            query.push_str(&encode(rng, &value, "&=+?#"));
        }
        query_pairs.push(json!([key, value]));
    }
    let target = if query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{query}")
    };
    let uri: Uri = target.parse().unwrap_or_else(|error| panic!("{target:?}: {error}"));

    let seconds = 1_u64 + rng.next() % 4_102_444_799; // up to 2099-12-31
    let sdk_date = format_sdk_date(UNIX_EPOCH + Duration::from_secs(seconds));
    // Header names as Huawei's signers write them (the Python one reads `Content-Type` and
    // adds the content header by their exact names).
    let mut named: Vec<(String, String)> = vec![
        ("X-Sdk-Date".to_owned(), sdk_date.clone()),
        (
            "Host".to_owned(),
            format!("{}.example.com", rng.text(&["a", "b", "1"], 6)),
        ),
    ];
    let content_type = rng.chance(70).then(|| (*rng.pick(CONTENT_TYPES)).to_owned());
    if let Some(content_type) = &content_type {
        named.push(("Content-Type".to_owned(), content_type.clone()));
    }
    if wants_unsigned_payload(content_type.as_deref()) {
        let name = if algorithm.content_header() == "x-sdk-content-sm3" {
            "X-Sdk-Content-Sm3"
        } else {
            "X-Sdk-Content-Sha256"
        };
        named.push((name.to_owned(), UNSIGNED_PAYLOAD.to_owned()));
    }
    for index in 0..rng.below(4) {
        let name = match rng.below(6) {
            0 => "X-Project-Id".to_owned(),
            1 => "X-Security-Token".to_owned(),
            2 => "User-Agent".to_owned(),
            3 => format!("X_Unsigned_{index}"),
            _ => format!("X-Fgs-{index}{}", rng.text(&["a", "B", "9", "-"], 5)),
        };
        if named.iter().any(|(other, _)| other.eq_ignore_ascii_case(&name)) {
            continue;
        }
        let padding = |rng: &mut Rng| (*rng.pick(&["", " ", "  ", "\t", " \t "])).to_owned();
        let inner: String = (0..rng.below(12))
            .map(|_| match rng.below(8) {
                0 => *rng.pick(NON_ASCII),
                1 => " ",
                _ => *rng.pick(&["a", "Z", "0", "-", "=", "/", ":", ";", ",", "\"", "\u{e9}"]),
            })
            .collect();
        let value = format!("{}{}{}", padding(rng), inner.trim(), padding(rng));
        named.push((name, value));
    }
    let body = match rng.below(4) {
        0 => String::new(),
        1 => r#"{"k": "v", "n": [1, 2, 3]}"#.to_owned(),
        2 => decoded(rng, 40),
        _ => format!("{{\"name\": \"{}\"}}", rng.text(NON_ASCII, 8)),
    };

    let mut headers = HeaderMap::new();
    for (name, value) in &named {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    let scope = *rng.pick(SCOPES);
    let key = SigningKey::new(algorithm, &ak, sk.as_bytes()).unwrap();
    let key = if algorithm.needs_scope() {
        key.with_scope(fgs_signing::Scope::new(scope.0, scope.1).unwrap())
    } else {
        key
    };
    let method: Method = method.parse().unwrap();
    let signed = key.sign(&method, &uri, &headers, body.as_bytes(), &sdk_date).unwrap();
    let json = json!({
        "algorithm": algorithm.name(),
        "ak": ak,
        "sk": sk,
        "method": method.as_str(),
        "path": path,
        "query": query_pairs,
        "headers": named,
        "body": body,
        "region": scope.0,
        "service": scope.1,
        "string_to_sign": signed.string_to_sign,
        "signature": signed.signature,
    });
    Generated {
        algorithm,
        ak,
        sk,
        method,
        uri,
        headers,
        body,
        sdk_date,
        signed,
        json,
    }
}

/// The pinned SDK, installed once into a directory of this test's own (the interop test
/// installs into another, so two test binaries never install over each other).
fn install_sdk(python: &str) -> PathBuf {
    python_support::install_sdk(
        python,
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../fgs-emulator/tests/python/requirements.txt"),
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("official-python-sdk-signing"),
    )
}

fn run_python(python: &str, directory: &Path, input: &Value) -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/python_differential.py");
    let mut child = Command::new(python)
        .arg(script)
        .env("PYTHONPATH", directory)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let text = serde_json::to_vec(input).unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&text).unwrap());
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success(), "the Python script failed: {}", output.status);
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn fgs_and_the_official_python_signer_agree() {
    let Some(python) = python_support::python_or_skip("the differential test against the official Python signer")
    else {
        return;
    };
    let directory = match std::env::var_os("FGS_SIGNING_PYTHON") {
        Some(directory) => PathBuf::from(directory),
        None => install_sdk(&python),
    };
    let per_algorithm = std::env::var("FGS_SIGNING_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_PER_ALGORITHM);
    let mut rng = Rng(0x05EE_DF95_0000_0001);
    let generated: Vec<Generated> = Algorithm::ALL
        .iter()
        .flat_map(|algorithm| (0..per_algorithm).map(|_| *algorithm).collect::<Vec<_>>())
        .map(|algorithm| generate(&mut rng, algorithm))
        .collect();
    let input = Value::Array(generated.iter().map(|case| case.json.clone()).collect());
    let results = run_python(&python, &directory, &input);
    assert_eq!(results.len(), generated.len());

    let (mut python_empty_body, mut leading_zero, mut verified_by_python) = (0, 0, 0);
    for (index, (case, result)) in generated.iter().zip(&results).enumerate() {
        let algorithm = case.algorithm;
        let label = format!("case {index} ({algorithm}): {}", case.json);
        if let Some(error) = result.get("error") {
            panic!("{label}: Python: {error}");
        }
        let text = |key: &str| result[key].as_str().unwrap_or_else(|| panic!("{label}: no {key}"));
        let python_canonical = text("canonical_request");
        let quirk = case.body.is_empty() && case.headers.contains_key(algorithm.content_header());
        if quirk {
            python_empty_body += 1;
            let (head, hash) = python_canonical.rsplit_once('\n').unwrap();
            assert_eq!(hash, algorithm.empty_payload_hash(), "{label}");
            assert_eq!(
                case.signed.canonical_request,
                format!("{head}\n{UNSIGNED_PAYLOAD}"),
                "{label}"
            );
        } else {
            assert_eq!(case.signed.canonical_request, python_canonical, "{label}");
            assert_eq!(case.signed.string_to_sign, text("string_to_sign"), "{label}");
            if !algorithm.is_asymmetric() {
                assert_eq!(case.signed.authorization, text("authorization"), "{label}");
            }
        }
        if algorithm.is_asymmetric() {
            let zero = algorithm == Algorithm::Sm2Sm3 && result["leading_zero_coordinate"] == true;
            leading_zero += usize::from(zero);
            let verified = result["verified"] == true;
            verified_by_python += usize::from(verified);
            assert_eq!(verified, !zero, "{label}: verified by the official SigningKey.verify");
        }

        // fgs verifies what the official signer signed.
        let authorization = Authorization::parse(text("authorization")).unwrap_or_else(|e| panic!("{label}: {e}"));
        let input = VerifyInput {
            method: &case.method,
            uri: &case.uri,
            headers: &case.headers,
            body: case.body.as_bytes(),
            authorization: &authorization,
        };
        let now = parse_sdk_date(&case.sdk_date).unwrap();
        verify(&input, case.sk.as_bytes(), now).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(authorization.access_key, case.ak);
    }
    println!(
        "python_differential: {} requests agree ({} with Python's empty-body hash, {} ECDSA/SM2 signatures \
         verified by the official verifier, {} SM2 under a key with a leading zero coordinate)",
        generated.len(),
        python_empty_body,
        verified_by_python,
        leading_zero
    );
    assert!(python_empty_body > 0 && leading_zero > 0);
}
