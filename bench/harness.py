"""What every benchmark shares: a best-of-N timer and the result line format."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # Django is set up only when the benchmarks run
    from creators.models import MediaAsset
    from datasets.models import Dataset


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


def sellable_asset(dataset: "Dataset", **fields: Any) -> "MediaAsset":
    """A media asset with an active consent for every use, included in `dataset` (fields as MediaAssetFactory's)."""
    from creators.models import MediaAsset
    from tests.factories import ConsentFactory, MediaAssetFactory

    asset = cast(MediaAsset, MediaAssetFactory(**fields))
    ConsentFactory(asset=asset)
    dataset.included_assets.add(asset)
    return asset
