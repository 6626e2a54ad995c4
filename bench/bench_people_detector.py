"""How many of the people in a picture ingest finds: the people detector against the Haar count it replaced.

The pictures are the labelled set of tests/creators/ingest/people_set.py: real faces and a real person from
scikit-image's sample data, pasted at 25 to 200 px (faces) and 600 to 1500 px (bodies) into 12 MP frames of
pictures with no one in them, profiles, faces partly covered by a bar; and pictures of no one, at 12 MP and
at their own size, for false detections. Both detectors see the same decoded grey picture, each at its own
scale; time is per picture, over the whole set, in the same run.
"""

import time
from collections.abc import Callable

import cv2
import numpy as np

from bench.harness import Result
from creators.ingest import people
from tests.creators.ingest import people_set

Box = people.Box

# The count ingest ran before: frontal faces only, alt2 cascade, at 320 px long side, faces of 32 px there.
BASELINE_LONG_SIDE = 320
BASELINE_MIN_FACE = 32
BASELINE_SCALE_FACTOR = 1.15
BASELINE_MIN_NEIGHBOURS = 3


def run() -> list[Result]:
    positives = list(people_set.scenes())
    negatives = list(people_set.negatives())
    found: dict[str, dict[str, list[int]]] = {"baseline": {}, "people": {}}
    false: dict[str, list[int]] = {"baseline": [], "people": []}
    seconds = {"baseline": 0.0, "people": 0.0}
    detectors: dict[str, Callable[[np.ndarray], people.People]] = {
        "baseline": _baseline,
        "people": _people,
    }
    _people(cv2.cvtColor(negatives[0].rgb, cv2.COLOR_RGB2GRAY))  # loads the detectors' weights
    for scene in [*positives, *negatives]:
        grey = cv2.cvtColor(scene.rgb, cv2.COLOR_RGB2GRAY)
        for name, detect in detectors.items():
            started = time.perf_counter()
            result = detect(grey)
            seconds[name] += time.perf_counter() - started
            if scene.category == "empty":
                false[name].append(len(result.faces) + len(result.bodies))
                continue
            wanted, got = (
                (scene.bodies, result.bodies) if scene.category == "bodies" else (scene.faces, result.faces)
            )
            hits = sum(any(people.same_object(box, one) for one in got) for box in wanted)
            counts = found[name].setdefault(scene.category, [0, 0])
            counts[0] += hits
            counts[1] += len(wanted)

    pictures = len(positives) + len(negatives)
    per_picture = {name: 1000 * total / pictures for name, total in seconds.items()}
    recall = {
        name: sum(hits for hits, _ in counts.values()) / sum(total for _, total in counts.values())
        for name, counts in found.items()
    }
    by_category = "; ".join(
        f"{category} {found['baseline'][category][0]}/{found['baseline'][category][1]} -> "
        f"{found['people'][category][0]}/{found['people'][category][1]}"
        for category in people_set.CATEGORIES
    )
    return [
        Result(
            name="people_detector_recall",
            # The Haar count finds none of them, so the figure is the share found, not a ratio to it.
            ratio=recall["people"],
            target=None,
            detail=f"recall {recall['baseline']:.2f} -> {recall['people']:.2f} (Haar at "
            f"{BASELINE_LONG_SIDE} px -> people detector); {by_category}",
        ),
        Result(
            name="people_detector_false_detections_per_empty_picture",
            ratio=sum(false["people"]) / len(negatives),
            target=None,
            detail=f"{sum(false['people'])} faces or bodies in {len(negatives)} pictures of no one "
            f"({sum(1 for count in false['people'] if count)} pictures with any), against "
            f"{sum(false['baseline'])} faces ({sum(1 for count in false['baseline'] if count)} pictures) "
            "for the Haar count",
        ),
        Result(
            name="people_detector_time_vs_haar_count",
            ratio=per_picture["people"] / per_picture["baseline"],
            target=None,
            detail=f"{per_picture['people']:.0f} ms vs {per_picture['baseline']:.0f} ms per picture, "
            f"{pictures} pictures, most of them 12 MP; from the decoded grey picture, scaling included",
        ),
    ]


def _people(grey: np.ndarray) -> people.People:
    height, width = grey.shape
    scale = people.search_scale(width, height)
    if scale < 1:
        size = (round(width * scale), round(height * scale))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    found = people.find_people(grey)
    return people.People(
        faces=[people.scaled(box, 1 / scale) for box in found.faces],
        bodies=[people.scaled(box, 1 / scale) for box in found.bodies],
    )


def _baseline(grey: np.ndarray) -> people.People:
    height, width = grey.shape
    scale = BASELINE_LONG_SIDE / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(grey, size, interpolation=cv2.INTER_AREA if scale < 0.9 else cv2.INTER_LINEAR)
    faces = people._cascade(people.FRONTAL_CASCADE).detectMultiScale(
        cv2.equalizeHist(small),
        scaleFactor=BASELINE_SCALE_FACTOR,
        minNeighbors=BASELINE_MIN_NEIGHBOURS,
        minSize=(BASELINE_MIN_FACE, BASELINE_MIN_FACE),
    )
    return people.People(
        faces=[people.scaled((int(x), int(y), int(w), int(h)), 1 / scale) for x, y, w, h in faces],
        bodies=[],
    )
