"""Invokes a function on the fgs emulator with Huawei's official Python SDK.

Reads FGS_ENDPOINT, FGS_AK, FGS_SK, FGS_PROJECT_ID and FGS_URN from the environment,
invokes the URN synchronously (v1, log tail) with AK/SK signing, and prints one JSON
object with what came back. A service error is printed too, with exit status 2.
"""

import json
import os
import sys

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkfunctiongraph.v2 import FunctionGraphClient, InvokeFunctionRequest


def main() -> int:
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True  # plain http on loopback; nothing to verify
    credentials = BasicCredentials(os.environ["FGS_AK"], os.environ["FGS_SK"], os.environ["FGS_PROJECT_ID"])
    client = (
        FunctionGraphClient.new_builder()
        .with_http_config(config)
        .with_credentials(credentials)
        .with_endpoints([os.environ["FGS_ENDPOINT"]])
        .build()
    )
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
        "status": response.status_code,
        "request_id": response.request_id,
        "x_cff_request_id": response.x_cff_request_id,
        "result": response.result,
        "log": response.log,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
