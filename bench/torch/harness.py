"""Shared helper for bench/torch/*.py: the same measurement as bench/Harness/Measure.cs.

Usage in a suite script:
    from harness import main
    main({"workload name": lambda: torch.mm(a, b), ...})
It honours --budget SECONDS and --filter TEXT and prints {name: median_seconds} as the last stdout line.
"""
import json
import sys
import time


def measure(body, budget=1.5):
    """Median seconds per call: warm up, then batches of ~5 ms, median of the per-call batch times."""
    start = time.perf_counter()
    warm = 0
    while warm < 3 or time.perf_counter() - start < max(0.5, 0.25 * budget):
        body()
        warm += 1
    per_call = (time.perf_counter() - start) / warm
    batch = max(1, int(min(1_000_000, 0.005 / max(per_call, 1e-9))))
    samples = []
    start = time.perf_counter()
    while len(samples) < 5 or time.perf_counter() - start < 0.75 * budget:
        t0 = time.perf_counter()
        for _ in range(batch):
            body()
        samples.append((time.perf_counter() - t0) / batch)
        if len(samples) >= 10_000:
            break
    samples.sort()
    return samples[len(samples) // 2]


def main(workloads):
    budget, name_filter = 1.5, None
    args = sys.argv[1:]
    for i, a in enumerate(args):
        if a == "--budget":
            budget = float(args[i + 1])
        elif a == "--filter":
            name_filter = args[i + 1].lower()
    result = {}
    for name, body in workloads.items():
        if name_filter and name_filter not in name.lower():
            continue
        result[name] = measure(body, budget)
        print(f"torch: {name}: {result[name] * 1e3:.4f} ms", file=sys.stderr)
    print(json.dumps(result))
