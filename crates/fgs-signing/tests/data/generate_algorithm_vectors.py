"""Computes test vectors for every signing algorithm of Huawei's official Python SDK.

Writes algorithm-vectors.json, which tests/algorithm_vectors.rs and the unit tests of
src/key.rs read; the Rust tests never run Python. Rerun it (from the workspace root) after
installing the SDK core, e.g.

    python3 -m pip install --target target/tmp/official-python-sdk huaweicloudsdkcore==3.1.219
    PYTHONPATH=target/tmp/official-python-sdk \
        python3 crates/fgs-signing/tests/data/generate_algorithm_vectors.py \
        > crates/fgs-signing/tests/data/algorithm-vectors.json

It needs Python 3.7 or later with an OpenSSL that has SM3 (hashlib.new('sm3')), as the SDK
does. The signer classes are those of huaweicloudsdkcore/signer/signer.py:

- SM3Signer (SDK-HMAC-SM3) and DerivationAKSKSigner (V11-HMAC-SHA256): a few dozen requests
  each (methods, paths, queries, headers and bodies varied; fixed X-Sdk-Date), with the
  canonical request, the string to sign and the Authorization header the signer produced;
- P256SHA256Signer (SDK-ECDSA-P256-SHA256) and SM2SM3Signer (SDK-SM2-SM3): for several AK/SK
  pairs, the private key the signer derives (_derive_key, as hex) and its public key; then
  requests signed by the official signer (the signatures are randomised, so they are checked
  by verifying them, not by comparing them).

Everything is deterministic except the ECDSA/SM2 signatures. The captured strings come from
the signer's own methods (_process_canonical_request, _process_string_to_sign), wrapped on
the instance.
"""

import hashlib
import json
import sys

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import DerivationAKSKSigner, P256SHA256Signer, SM2SM3Signer, SM3Signer
from huaweicloudsdkcore.signer.utils import P256SigningKey, SM2SigningKey, new_sm3_hash

SDK_VERSION = "3.1.219"
HOST = "functiongraph.cn-north-4.myhuaweicloud.com"
PROJECT = "0123456789abcdef0123456789abcdef"
AK = "AKEXAMPLE1234567890"
SK = "SKEXAMPLEabcdefghijklmnopqrstuvwxyz0123"
URN = f"urn:fss:cn-north-4:{PROJECT}:function:default:hello:latest"
URN_ENCODED = URN.replace(":", "%3A")
ALIAS_PATH = f"/v2/{PROJECT}/fgs/functions/{URN_ENCODED.replace('latest', '%21prod')}/invocations"

DATES = ["20240101T120000Z", "20240229T235959Z", "19991231T000001Z", "20301015T081530Z"]
SCOPES = [
    ("cn-north-4", "functiongraph"),
    ("ap-southeast-1", "functiongraph"),
    ("cn-east-3", "iam"),
    ("eu-west-101", "FunctionGraph"),
]

# (label, method, path, query (list of pairs, as SdkRequest takes them), headers, body)
REQUESTS = [
    ("sync invoke, JSON body", "POST", f"/v2/{PROJECT}/fgs/functions/{URN_ENCODED}/invocations", [],
     {"Content-Type": "application/json"}, '{"k": "v"}'),
    ("sync invoke, raw colons in the URN", "POST", f"/v2/{PROJECT}/fgs/functions/{URN}/invocations", [],
     {"Content-Type": "application/json;charset=UTF-8"}, '{"a": [1, 2, 3]}'),
    ("alias URN with %21", "POST", ALIAS_PATH, [], {"Content-Type": "application/json"}, '{"k": "v"}'),
    ("async invoke", "POST", f"/v2/{PROJECT}/fgs/functions/{URN_ENCODED}/invocations-async", [],
     {"Content-Type": "application/json", "X-Cff-Request-Version": "v1"}, '{}'),
    ("list functions with a query", "GET", f"/v2/{PROJECT}/fgs/functions", [("marker", "0"), ("maxitems", "400")],
     {"Content-Type": "application/json"}, ""),
    ("query with spaces, repeated keys and an empty value", "GET", "/v2/things",
     [("b", "2 3"), ("a", "x"), ("a", "w y"), ("c", "")], {"Content-Type": "application/json"}, ""),
    ("query with reserved and non-ASCII characters", "GET", "/v2/things",
     [("q", "a:b/c?d&e=f"), ("name", "Jos\u00e9"), ("tilde", "~-_."), ("plus", "1+1")], {}, ""),
    ("no headers but X-Sdk-Date and Host", "GET", "/", [], {}, ""),
    ("DELETE a function", "DELETE", f"/v2/{PROJECT}/fgs/functions/{URN_ENCODED}", [], {}, ""),
    ("PUT code, JSON", "PUT", f"/v2/{PROJECT}/fgs/functions/{URN_ENCODED}/code", [],
     {"Content-Type": "application/json"}, '{"code_type": "inline", "func_code": {"file": "cHJpbnQoMSk="}}'),
    ("PATCH lowercase method", "patch", "/v2/things/1", [], {"Content-Type": "application/json"}, '{"x": null}'),
    ("non-JSON body: unsigned payload", "POST", "/v2/upload", [],
     {"Content-Type": "application/octet-stream"}, "raw bytes"),
    ("text body: unsigned payload", "PUT", "/v2/upload/notes.txt", [], {"Content-Type": "text/plain"}, "hello\nworld"),
    ("empty body with a non-JSON content type (Python hashes the empty body)", "POST", "/v2/upload", [],
     {"Content-Type": "application/octet-stream"}, ""),
    ("empty body with a text content type (Python hashes the empty body)", "GET", "/v2/things", [("k", "v")],
     {"Content-Type": "text/plain"}, ""),
    ("explicit content hash header with a body", "POST", "/v2/things", [],
     {"Content-Type": "application/json", "X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD"}, '{"big": true}'),
    ("explicit SM3 content header with a body", "POST", "/v2/things", [],
     {"Content-Type": "application/json", "X-Sdk-Content-Sm3": "UNSIGNED-PAYLOAD"}, '{"big": true}'),
    ("security token and project id", "POST", f"/v2/{PROJECT}/fgs/functions/{URN_ENCODED}/invocations", [],
     {"Content-Type": "application/json", "X-Project-Id": PROJECT, "X-Security-Token": "gQpzdG9rZW4tdmFsdWU="},
     '{"k": "v"}'),
    ("header with underscore is not signed", "GET", "/v2/things", [],
     {"X_Private": "not signed", "X-Public": "signed"}, ""),
    ("header values are trimmed", "GET", "/v2/things", [],
     {"X-Padded": "   padded value   ", "X-Inner": "a  b"}, ""),
    ("non-ASCII header value", "POST", "/v2/things", [],
     {"Content-Type": "application/json", "X-Custom": "h\u00e9llo w\u00f6rld"}, '{"k": "v"}'),
    ("non-ASCII body", "POST", "/v2/things", [],
     {"Content-Type": "application/json"}, '{"name": "Jos\u00e9 \u5317\u4eac \U0001F600"}'),
    ("User-Agent and Accept", "GET", "/v2/things", [],
     {"User-Agent": "huaweicloud-usdk-python/3.0", "Accept": "application/json"}, ""),
    ("path with encoded slash, space and non-ASCII", "GET", "/v2/a%2Fb/c%20d/caf%C3%A9", [], {}, ""),
    ("path with trailing slash and reserved characters", "GET", "/v2/a!b/(c)/*d*/", [], {}, ""),
    ("path with empty segments", "GET", "//v2//things", [], {}, ""),
    ("path with invalid escape", "GET", "/v2/a%zz", [], {}, ""),
    ("HEAD request", "HEAD", "/v2/things", [], {"Accept": "*/*"}, ""),
    ("OPTIONS request", "OPTIONS", "/v2/things", [], {"Origin": "https://example.com"}, ""),
    ("JSON body with newlines and a bson content type", "POST", "/v2/things", [],
     {"Content-Type": "application/bson"}, "line1\r\nline2\n"),
    ("many headers", "POST", "/v2/things", [("z", "1"), ("a", "2")],
     {"Content-Type": "application/json", "X-A": "1", "X-B": "2", "X-C": "3", "X-Language": "en-us",
      "X-Request-Id": "5c3e4d6f-1a2b-4c5d-8e9f-0a1b2c3d4e5f"}, '[1,2,3]'),
    ("large body", "POST", "/v2/things", [], {"Content-Type": "application/json"},
     json.dumps({"data": ["x" * 50] * 40})),
]


def sm3_hex(data: bytes) -> str:
    return new_sm3_hash(data).hexdigest()


def request_for(method, path, query, headers, body, date):
    all_headers = dict(headers)
    all_headers["X-Sdk-Date"] = date
    given = dict(all_headers)
    request = SdkRequest(method=method, schema="https", host=HOST, resource_path=path, uri=path,
                         query_params=list(query), header_params=all_headers, body=body)
    return request, given


def capture(signer):
    """Wraps the signer's canonical-request and string-to-sign steps on the instance."""
    captured = {}
    canonical = signer._process_canonical_request
    to_sign = signer._process_string_to_sign

    def canonical_wrapper(*args, **kwargs):
        captured["canonical_request"] = canonical(*args, **kwargs)
        return captured["canonical_request"]

    def to_sign_wrapper(*args, **kwargs):
        captured["string_to_sign"] = to_sign(*args, **kwargs)
        return captured["string_to_sign"]

    signer._process_canonical_request = canonical_wrapper
    signer._process_string_to_sign = to_sign_wrapper
    return captured


def sign_case(signer_class, ak, sk, label, method, path, query, headers, body, date, scope=None):
    request, given = request_for(method, path, query, headers, body, date)
    signer = signer_class(BasicCredentials(ak, sk, PROJECT))
    captured = capture(signer)
    if scope is None:
        signer.sign(request)
    else:
        region, service = scope
        signer.sign(request, service, region)
    case = {
        "label": label,
        "ak": ak,
        "sk": sk,
        "method": method,
        "url_as_sent": f"https://{HOST}{request.uri}",
        # Header values as given to the signer (Unicode; sent as their UTF-8 bytes), plus
        # those the signer added (Host, X-Sdk-Content-*), without Authorization.
        "headers": {**given, **{k: v for k, v in request.header_params.items()
                                if k not in given and k != "Authorization"}},
        "body": body,
        "sdk_date": date,
        "canonical_request": captured["canonical_request"],
        "string_to_sign": captured["string_to_sign"],
        "authorization": request.header_params["Authorization"],
    }
    if scope is not None:
        case["region"], case["service"] = scope
    return case


def hmac_cases(signer_class, with_scope):
    cases = []
    for index, (label, method, path, query, headers, body) in enumerate(REQUESTS):
        date = DATES[index % len(DATES)]
        ak, sk = (AK, SK) if index % 5 else ("AK" + str(index), "sk-" + "x" * index + "\u00e9")
        scope = SCOPES[index % len(SCOPES)] if with_scope else None
        cases.append(sign_case(signer_class, ak, sk, label, method, path, query, headers, body, date, scope))
    return cases


KEY_PAIRS = [
    (AK, SK),
    ("HPUAKEXAMPLE000000001", "SKEXAMPLE0000000000000000000000000000001"),
    ("A", "S"),
    ("QTWAOYTTINDUT2QVKYUC", "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"),
    ("AK-with-dashes_and_underscores.0123456789", "secret with spaces and \u00fcnicode \u5bc6\u94a5"),
    ("AKLONG" + "X" * 58, "SK" + "0123456789" * 10),
]


def pad(value: int) -> str:
    return format(value, "064x")


def key_entry(signer_class, key_class, ak, sk):
    signer = signer_class(BasicCredentials(ak, sk, PROJECT))
    private_key = signer._derive_key()
    key = key_class(private_key)
    x, y = key._public_key
    entry = {
        "ak": ak,
        "sk": sk,
        "private_key": pad(private_key),
        "public_key": "04" + pad(x) + pad(y),
    }
    if key_class is SM2SigningKey:
        entry["za"] = key._z.hex()
    return entry


def python_za_differs(ak, sk):
    signer = SM2SM3Signer(BasicCredentials(ak, sk, PROJECT))
    x, y = SM2SigningKey(signer._derive_key())._public_key
    return x < 1 << 248 or y < 1 << 248


def leading_zero_sm2_pair():
    """An AK/SK pair whose SM2 public key has a coordinate with a leading zero byte.

    The Python SDK's Z (utils.SM2SigningKey._za) writes each coordinate with as few bytes as
    its value needs, where GB/T 32918 (and the Go SDK's library) writes 32 bytes; for these
    keys its signatures verify only against its own Z.
    """
    for counter in range(10_000):
        ak, sk = f"AKSM2ZA{counter:05d}", "SKSM2LEADINGZERO"
        if python_za_differs(ak, sk):
            return ak, sk
    raise RuntimeError("no such key found")


def ecc_section(signer_class, key_class, key_pairs):
    keys = [key_entry(signer_class, key_class, ak, sk) for ak, sk in key_pairs]
    signatures = []
    for index, (label, method, path, query, headers, body) in enumerate(REQUESTS):
        # Every third request, and both where Python hashes an empty body despite the
        # content header.
        if index % 3 and "Python hashes the empty body" not in label:
            continue
        key_index = (index // 3) % len(key_pairs)
        ak, sk = key_pairs[key_index]
        case = sign_case(signer_class, ak, sk, label, method, path, query, headers, body,
                         DATES[index % len(DATES)])
        case["key"] = key_index
        signatures.append(case)
    # Every key signs at least one request.
    for key_index, (ak, sk) in enumerate(key_pairs):
        label, method, path, query, headers, body = REQUESTS[0]
        case = sign_case(signer_class, ak, sk, f"{label} (key {key_index})", method, path, query, headers, body,
                         DATES[0])
        case["key"] = key_index
        signatures.append(case)
    return {"keys": keys, "signatures": signatures}


def main():
    if hashlib.new("sm3", b"").hexdigest() != sm3_hex(b""):
        raise RuntimeError("SM3 is not available")
    sm2_pairs = KEY_PAIRS + [leading_zero_sm2_pair()]
    document = {
        "source": f"Huawei's official Python SDK core (huaweicloudsdkcore {SDK_VERSION}, signer/signer.py), "
                  "by generate_algorithm_vectors.py",
        "python": sys.version.split()[0],
        "SDK-HMAC-SM3": {"cases": hmac_cases(SM3Signer, with_scope=False)},
        "V11-HMAC-SHA256": {"cases": hmac_cases(DerivationAKSKSigner, with_scope=True)},
        "SDK-ECDSA-P256-SHA256": ecc_section(P256SHA256Signer, P256SigningKey, KEY_PAIRS),
        "SDK-SM2-SM3": ecc_section(SM2SM3Signer, SM2SigningKey, sm2_pairs),
    }
    json.dump(document, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
