"""One scenario, printed as one JSON line, for the cross-protocol conformance test (REST, tRPC,
GraphQL, gRPC, the TypeScript SDK and this SDK must print the same answers).

    python conformance_scenario.py --url URL --model PATH --inputs JSONFILE

With a NEW account: create it, faucet 5000, upload the model, submit one task with the inputs
(``{"<name>": {"dtype", "dims", "data": [...]}}``, verification mode "none"), wait for the result,
fetch the receipt, then GET a task id that does not exist. Prints::

    {"balanceAfterFaucet": "5000", "modelSha256": "<hex>", "taskStatus": "completed",
     "outputs": {"<name>": {"dtype", "dims", "data": [6 significant digits]}},
     "receiptModelSha256": "<hex>", "receiptKeys": [sorted], "errorCode": "TASK_NOT_FOUND"}
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from stun_client import StunApiError, StunClient, tensor_from_values, tensor_to_values


def sig6(v: Any) -> Any:
    """A number rounded to 6 significant digits (ints and non-numbers unchanged)."""
    if isinstance(v, bool) or not isinstance(v, float):
        return v
    return float(f"{v:.6g}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--inputs", required=True)
    args = ap.parse_args(argv)

    with open(args.inputs, encoding="utf-8") as f:
        spec: dict[str, Any] = json.load(f)
    inputs = {name: tensor_from_values(t, name=name) for name, t in spec.items()}

    created = StunClient.create_account(args.url)
    with StunClient(args.url, created.api_key) as stun:
        account = stun.faucet(5000)
        model = stun.upload_model(args.model)
        task = stun.submit(model, inputs, verification="none")
        info = task.wait(timeout=120)
        receipt = stun.receipt(task.id)
        try:
            stun.get_task("tsk_doesnotexist0000000000")
            error_code = None
        except StunApiError as e:
            error_code = e.code

    outputs = {}
    for name, arr in sorted((info.outputs or {}).items()):
        values = tensor_to_values(arr)
        values["data"] = [sig6(v) for v in values["data"]]
        outputs[name] = values
    result = {
        "balanceAfterFaucet": str(account.balance),
        "modelSha256": model.sha256,
        "taskStatus": info.status,
        "outputs": outputs,
        "receiptModelSha256": None if receipt is None else receipt.model_sha256,
        "receiptKeys": [] if receipt is None else sorted(receipt.raw.keys()),
        "errorCode": error_code,
    }
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
