"""Invokes a function on the fgs emulator with Huawei's official Python SDK.

Reads FGS_ENDPOINT, FGS_AK, FGS_SK, FGS_PROJECT_ID and FGS_URN from the environment,
invokes the URN synchronously (v1, log tail) with AK/SK signing, and prints one JSON
object with what came back. A service error is printed too, with exit status 2.

Without FGS_PROJECT_ID, the client is given the region FGS_REGION instead, and the SDK
looks the project id up from IAM (HUAWEICLOUD_SDK_IAM_ENDPOINT, which the test points at
the emulator) before invoking; the id it found is printed as "project_id". If the lookup
fails, its error is printed as "sdk_error", with exit status 3.

FGS_SIGNING_ALGORITHM names a member of the SDK's SigningAlgorithm (HMAC_SHA256, the
default, HMAC_SM3, ECDSA_P256_SHA256, SM2_SM3); FGS_DERIVED_SERVICE turns on derived AK/SK
(V11-HMAC-SHA256) for that service name in the region FGS_REGION.
"""

import json
import os
import sys

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.region.region import Region
from huaweicloudsdkcore.signer.algorithm import SigningAlgorithm
from huaweicloudsdkfunctiongraph.v2 import FunctionGraphClient, InvokeFunctionRequest


def main() -> int:
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True  # plain http on loopback; nothing to verify
    algorithm = os.environ.get("FGS_SIGNING_ALGORITHM")
    if algorithm:
        config.signing_algorithm = SigningAlgorithm[algorithm]
    project_id = os.environ.get("FGS_PROJECT_ID")
    credentials = BasicCredentials(os.environ["FGS_AK"], os.environ["FGS_SK"], project_id)
    derived_service = os.environ.get("FGS_DERIVED_SERVICE")
    if derived_service:
        # What a service client with a derived_auth_service_name sets up (FunctionGraph's
        # has none, so the test names one), for every request.
        credentials._derived_auth_service_name = derived_service
        credentials.with_derived_predicate(lambda request: True)
    builder = FunctionGraphClient.new_builder().with_http_config(config).with_credentials(credentials)
    if derived_service:
        builder = builder.with_region(Region(os.environ["FGS_REGION"], os.environ["FGS_ENDPOINT"]))
    elif project_id:
        builder = builder.with_endpoints([os.environ["FGS_ENDPOINT"]])
    else:
        builder = builder.with_region(Region(os.environ["FGS_REGION"], os.environ["FGS_ENDPOINT"]))
    try:
        client = builder.build()
    except exceptions.SdkException as error:
        print(json.dumps({"sdk_error": str(error)}))
        return 3
    request = InvokeFunctionRequest(
        function_urn=os.environ["FGS_URN"],
        x_cff_log_type="tail",
        x_cff_request_version="v1",
        body={"name": "python"},
    )
    try:
        response = client.invoke_function(request)
    except exceptions.ClientRequestException as error:
        print(json.dumps({"status": error.status_code, "error_code": error.error_code, "error_msg": error.error_msg}))
        return 2
    print(json.dumps({
        "project_id": credentials.project_id,
        "status": response.status_code,
        "request_id": response.request_id,
        "x_cff_request_id": response.x_cff_request_id,
        "result": response.result,
        "log": response.log,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
