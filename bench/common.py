"""Helpers shared by the benchmark scripts (not part of the product)."""

from __future__ import annotations

import resource
import statistics
import sys
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def need_shared(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        sys.exit(f"skipped: {path} is missing (the shared data folder beside the project)")
    return path


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summarize_ms(values_s: list[float]) -> str:
    ms = [v * 1000 for v in values_s]
    return (f"p50 {percentile(ms, 50):.1f} ms  p95 {percentile(ms, 95):.1f} ms  "
            f"p99 {percentile(ms, 99):.1f} ms  mean {statistics.fmean(ms):.1f} ms  n={len(ms)}")


def rss_mb() -> float:
    """Peak resident memory of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# The first administrator of the homes the benchmarks start servers on (set through
# COPILOT_ADMIN_PASSWORD when the home has no account yet).
BENCH_ADMIN_PASSWORD = "bench-Hotline-2026"  # (a password may not contain the username)


def login_headers(base_url: str) -> dict[str, str]:
    """Log in as the benchmark's administrator; the headers that carry its session."""
    import json
    import urllib.request

    request = urllib.request.Request(
        f"{base_url}/api/v1/auth/login", method="POST",
        data=json.dumps({"username": "admin", "password": BENCH_ADMIN_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as r:
        return {"Authorization": f"Bearer {json.loads(r.read())['token']}"}
