"""What every benchmark shares: a best-of-N timer and the result line format."""

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Result:
    name: str
    ratio: float
    target: float | None  # the ratio the benchmark must reach, or None when it only reports
    detail: str

    @property
    def met(self) -> bool:
        return self.target is None or self.ratio >= self.target

    def line(self) -> str:
        target = (
            "" if self.target is None else f" (target >= {self.target:g}: {'met' if self.met else 'NOT MET'})"
        )
        return f"{self.name}: {self.ratio:.2f}{target}  # {self.detail}"


def best_rate(operation: Callable[[], object], *, count: int, repeats: int = 5) -> float:
    """Operations per second of the fastest of `repeats` runs of `count` calls (least disturbed by neighbours)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(count):
            operation()
        best = min(best, time.perf_counter() - started)
    return count / best
