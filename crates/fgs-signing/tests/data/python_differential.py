"""The official Python signer's side of tests/python_differential.rs.

Reads from standard input the requests fgs signed (a JSON list; see the Rust test) and
writes to standard output, for each, what Huawei's official Python SDK core makes of it:

- it signs the same request (same headers, X-Sdk-Date, body, query) with the class of the
  algorithm (Signer, SM3Signer, P256SHA256Signer, SM2SM3Signer, DerivationAKSKSigner) and
  reports its canonical request, string to sign and Authorization header, which the Rust test
  compares with fgs's (HMAC algorithms: byte for byte) and verifies with fgs's verifier;
- for SDK-ECDSA-P256-SHA256 and SDK-SM2-SM3 it verifies fgs's signature of fgs's string to
  sign with the official SigningKey.verify and the private key the official signer derives
  (_derive_key), and says whether the SM2 public key has a coordinate with a leading zero
  byte (for those keys the Python SDK's Z differs from GB/T 32918's, so it cannot verify a
  standard signature).

Run by the Rust test when FGS_SIGNING_PYTHON names the directory holding huaweicloudsdkcore:

    FGS_SIGNING_PYTHON=target/tmp/official-python-sdk cargo test -p fgs-signing --test python_differential
"""

import json
import sys

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import (DerivationAKSKSigner, P256SHA256Signer, SM2SM3Signer, SM3Signer,
                                              Signer)
from huaweicloudsdkcore.signer.utils import P256SigningKey, SM2SigningKey

SIGNERS = {
    "SDK-HMAC-SHA256": Signer,
    "SDK-HMAC-SM3": SM3Signer,
    "SDK-ECDSA-P256-SHA256": P256SHA256Signer,
    "SDK-SM2-SM3": SM2SM3Signer,
    "V11-HMAC-SHA256": DerivationAKSKSigner,
}
KEYS = {"SDK-ECDSA-P256-SHA256": P256SigningKey, "SDK-SM2-SM3": SM2SigningKey}


def check(case):
    algorithm = case["algorithm"]
    signer = SIGNERS[algorithm](BasicCredentials(case["ak"], case["sk"], "project"))
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

    headers = {name: value for name, value in case["headers"]}
    request = SdkRequest(method=case["method"], schema="https", host=headers.get("Host", "localhost"),
                         resource_path=case["path"], uri=case["path"],
                         query_params=[tuple(pair) for pair in case["query"]], header_params=headers,
                         body=case["body"])
    if algorithm == "V11-HMAC-SHA256":
        signer.sign(request, case["service"], case["region"])
    else:
        signer.sign(request)
    result = {
        "canonical_request": captured["canonical_request"],
        "string_to_sign": captured["string_to_sign"],
        "authorization": request.header_params["Authorization"],
    }
    key_class = KEYS.get(algorithm)
    if key_class is not None:
        key = key_class(signer._derive_key())
        signature = bytes.fromhex(case["signature"])
        result["verified"] = bool(key.verify(signature, case["string_to_sign"].encode("utf-8")))
        x, y = key._public_key
        result["leading_zero_coordinate"] = x < 1 << 248 or y < 1 << 248
    return result


def main():
    cases = json.load(sys.stdin)
    results = []
    for case in cases:
        try:
            results.append(check(case))
        except Exception as error:  # reported to the Rust test, which fails with it
            results.append({"error": f"{type(error).__name__}: {error}"})
    json.dump(results, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
