"""Load generator for benches/python_sdk.rs: Huawei's official Python SDK invoking one
function on the fgs emulator, from N threads (one FunctionGraphClient each), for a window.

Configured as invoke_with_official_sdk.py (crates/fgs-emulator/tests/python) configures
the SDK: AK/SK BasicCredentials with the project id, the emulator as the endpoint, the
default HttpConfig with SSL verification off (plain http on loopback), no retries (the
SDK's default). Each call builds an InvokeFunctionRequest (v1 response, no log tail)
with the event as a dict, as a user of the SDK does, and the SDK serialises it.

Environment: FGS_ENDPOINT, FGS_AK, FGS_SK, FGS_PROJECT_ID, FGS_URN, FGS_EVENT (the
event as JSON text).

    invoke_load.py info
        prints {"python": ..., "sdk": ..., "core": ...}
    invoke_load.py run CONCURRENCY WARMUP_SECONDS WINDOW_SECONDS
        every thread makes one checked call (the result must equal the event), then all
        call in a loop for WARMUP_SECONDS, then (after all have stopped) for
        WINDOW_SECONDS. It prints "start" (flushed) when the window starts, so that the
        caller can sample the emulator's CPU time, and then one JSON line:
        in_window: calls that finished inside the window; calls: calls started in it;
        errors / first_error: failed calls (an exception or a status other than 200);
        window_s: the window's length; elapsed_s: from its start until the last call
        started in it finished; cpu_s: the process's CPU time (time.process_time(),
        all threads) over elapsed_s; body_bytes: the event as the SDK serialises it.
"""

import json
import os
import sys
import threading
import time


def versions():
    from importlib.metadata import version

    return {
        "python": sys.version.split()[0],
        "implementation": sys.implementation.name,
        "sdk": version("huaweicloudsdkfunctiongraph"),
        "core": version("huaweicloudsdkcore"),
    }


def make_client():
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkfunctiongraph.v2 import FunctionGraphClient

    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True  # plain http on loopback; nothing to verify
    credentials = BasicCredentials(os.environ["FGS_AK"], os.environ["FGS_SK"], os.environ["FGS_PROJECT_ID"])
    return (
        FunctionGraphClient.new_builder()
        .with_http_config(config)
        .with_credentials(credentials)
        .with_endpoints([os.environ["FGS_ENDPOINT"]])
        .build()
    )


def run(concurrency, warmup, window):
    import simplejson
    from huaweicloudsdkcore.utils import http_utils
    from huaweicloudsdkfunctiongraph.v2 import InvokeFunctionRequest

    urn = os.environ["FGS_URN"]
    event = json.loads(os.environ["FGS_EVENT"])
    # What the SDK sends as the body (huaweicloudsdkcore.client serialises it this way).
    body_bytes = len(simplejson.dumps(http_utils.sanitize_for_serialization(event), use_decimal=True).encode())

    def invoke(client):
        request = InvokeFunctionRequest(function_urn=urn, x_cff_request_version="v1", body=event)
        response = client.invoke_function(request)
        if response.status_code != 200:
            raise RuntimeError(f"status {response.status_code}")
        return response

    clients = [make_client() for _ in range(concurrency)]
    for client in clients:  # one checked call each, outside the measurement
        result = json.loads(invoke(client).result)
        if result != event:
            raise RuntimeError(f"the result differs from the event: {result!r}")

    ready = threading.Barrier(concurrency + 1)
    go = threading.Barrier(concurrency + 1)
    phase = {"deadline": time.perf_counter() + warmup}
    counts = [None] * concurrency

    def worker(index, client):
        errors, first_error = 0, None
        deadline = phase["deadline"]
        while time.perf_counter() < deadline:  # warm-up, not counted
            try:
                invoke(client)
            except Exception as error:  # noqa: BLE001 (every failure is reported)
                errors += 1
                first_error = first_error or f"warm-up: {type(error).__name__}: {error}"
        ready.wait()
        go.wait()
        deadline = phase["deadline"]
        calls = in_window = 0
        while time.perf_counter() < deadline:
            calls += 1
            try:
                invoke(client)
            except Exception as error:  # noqa: BLE001
                errors += 1
                first_error = first_error or f"{type(error).__name__}: {error}"
                continue
            in_window += time.perf_counter() <= deadline
        counts[index] = (calls, in_window, errors, first_error)

    threads = [threading.Thread(target=worker, args=(i, c), daemon=True) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    cpu_before = time.process_time()
    started = time.perf_counter()
    phase["deadline"] = started + window
    print("start", flush=True)
    go.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    first_errors = [c[3] for c in counts if c[3]]
    print(json.dumps({
        "concurrency": concurrency,
        "in_window": sum(c[1] for c in counts),
        "calls": sum(c[0] for c in counts),
        "errors": sum(c[2] for c in counts),
        "first_error": first_errors[0] if first_errors else None,
        "window_s": window,
        "elapsed_s": elapsed,
        "cpu_s": cpu,
        "body_bytes": body_bytes,
    }))


def main():
    if sys.argv[1:2] == ["info"]:
        print(json.dumps(versions()))
        return 0
    if sys.argv[1:2] == ["run"] and len(sys.argv) == 5:
        run(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
        return 0
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main())
