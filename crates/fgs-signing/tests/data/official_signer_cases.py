"""Computes extra SDK-HMAC-SHA256 vectors with Huawei's official Python signer.

Regenerate official-signer-cases.json (run from this directory):

    python3 -m pip install --target /tmp/pysdk huaweicloudsdkcore==3.1.219
    PYTHONPATH=/tmp/pysdk python3 official_signer_cases.py > official-signer-cases.json

Each case records what the signer was given, the URL it sends (the signer rewrites the
query into its canonical form), its canonical request and the Authorization header.
"""

import json

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

AK = "AKEXAMPLE1234567890"
SK = "SKEXAMPLEabcdefghijklmnopqrstuvwxyz0123"
HOST = "functiongraph.cn-north-4.myhuaweicloud.com"
PROJECT = "0123456789abcdef0123456789abcdef"
DATE = "20240101T120000Z"
ALIAS_PATH = (
    f"/v2/{PROJECT}/fgs/functions/urn%3Afss%3Acn-north-4%3A{PROJECT}%3Afunction%3Adefault%3Ahello%3A%21prod/invocations"
)

CASES = [
    ("alias URN, percent-encoded as sent by the Python SDK", "POST", ALIAS_PATH, [],
     {"Content-Type": "application/json"}, '{"k": "v"}'),
    ("alias URN sent raw, as the Go and Node SDKs do", "POST", ALIAS_PATH.replace("%3A", ":").replace("%21", "!"), [],
     {"Content-Type": "application/json"}, '{"k": "v"}'),
    ("query with spaces, repeated keys and an empty value", "GET", "/v2/things", [("b", "2 3"), ("a", "x"), ("a", "w y"), ("c", "")],
     {"Content-Type": "application/json"}, ""),
    ("non-ASCII header value", "POST", ALIAS_PATH, [],
     {"Content-Type": "application/json", "X-Custom": "h\u00e9llo w\u00f6rld"}, '{"k": "v"}'),
    ("non-ASCII body", "POST", ALIAS_PATH, [],
     {"Content-Type": "application/json"}, '{"name": "Jos\u00e9 \u5317\u4eac"}'),
    ("empty body", "POST", ALIAS_PATH, [], {"Content-Type": "application/json"}, ""),
    ("non-JSON body: unsigned payload", "POST", "/v2/upload", [], {"Content-Type": "application/octet-stream"}, "raw bytes"),
]


def compute(label, method, path, query, headers, body):
    captured = {}
    original = Signer._process_canonical_request

    def capture(self, request, signed_headers):
        value = original(self, request, signed_headers)
        captured["canonical_request"] = value
        return value

    Signer._process_canonical_request = capture
    try:
        all_headers = dict(headers)
        all_headers["X-Project-Id"] = PROJECT
        all_headers["X-Sdk-Date"] = DATE
        given = dict(all_headers)
        request = SdkRequest(method=method, schema="https", host=HOST, resource_path=path, uri=path,
                             query_params=list(query), header_params=all_headers, body=body)
        Signer(BasicCredentials(AK, SK, PROJECT)).sign(request)
    finally:
        Signer._process_canonical_request = original
    return {
        "label": label,
        "inputs": {
            "ak": AK, "sk": SK, "method": method,
            "url_as_sent": f"https://{HOST}{request.uri}",
            # Header values as given to the signer (Unicode; sent as their UTF-8 bytes), plus
            # those the signer added (Host, X-Sdk-Content-Sha256), without Authorization.
            "headers": {**given, **{k: v for k, v in request.header_params.items()
                                    if k not in given and k != "Authorization"}},
            "body": body,
            "timestamp": DATE,
        },
        "output": {
            "canonical_request": captured["canonical_request"],
            "authorization": request.header_params["Authorization"],
        },
    }


print(json.dumps({
    "source": "Huawei's official Python signer (huaweicloudsdkcore 3.1.219, signer.Signer), by official_signer_cases.py",
    "cases": [compute(*case) for case in CASES],
}, indent=1, ensure_ascii=False))
