"""Submit → result latency through the Python SDK: ``run`` (one request, POST /tasks/run) against
``submit`` then ``result()`` by push (tasks.watch SSE) and by long-poll.

    python scripts/bench_wait.py --url http://127.0.0.1:4000 --api-key KEY --model mlp.onnx [--n 20]

The model must take one float32 input; it is fed zeros of its declared shape (symbolic dims as 1).
Prints one line per path: median and p90 in milliseconds (sequential tasks, verification "none").
The first task of each path is left out (connections and the model's signature warm up).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from stun_client import StunClient


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--n", type=int, default=20)
    args = ap.parse_args()
    for path in ("run", "push", "long-poll"):
        with StunClient(args.url, args.api_key, push=path == "push") as stun:
            model = stun.upload_model(args.model)
            spec = model.inputs[0]
            x = np.zeros([d if isinstance(d, int) else 1 for d in spec.shape], dtype=np.float32)
            ms: list[float] = []
            for _ in range(args.n + 1):
                t0 = time.perf_counter()
                task = stun.run(model, {spec.name: x}, verification="none") if path == "run" else stun.submit(model, {spec.name: x}, verification="none")
                task.result(timeout=120)
                ms.append((time.perf_counter() - t0) * 1000)
                assert task.path == path, task.path
            ms = sorted(ms[1:])
            print(f"{path:9}  n={args.n}  median {statistics.median(ms):.1f} ms  p90 {ms[int(0.9 * (len(ms) - 1))]:.1f} ms")


if __name__ == "__main__":
    main()
