"""Counting the people in a picture: faces (frontal and profile) and bodies.

Every detector here has its weights in an installed package, since nothing is downloaded at run time:
OpenCV's Haar cascades (frontal, and profile run on the picture and on its mirror image for the other side),
dlib's HOG frontal face detector, and OpenCV's HOG people detector for bodies, which also finds people seen
from behind. No single one is enough (see the people detector section of docs/benchmarks.md): a face any of
them finds is counted, once however many found it.

Recall decides the settings, not speed: a false detection only asks for a release or a reviewer's note, a
missed one sells a person without a release.
"""

import functools
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import dlib
import numpy as np

Box = tuple[int, int, int, int]  # x, y, width, height

# The smallest face counted, in pixels of the original picture. The Haar cascades' window is 20 px, so the
# picture is searched at 20/25 of its size: at the 320 px the count used to work at, a 25 px face in a 12 MP
# photo was 2 px wide.
SMALLEST_FACE = 25
HAAR_WINDOW = 20
# Bounds the time: a larger picture is searched at this many pixels, and its smallest face grows with it.
# A 12 MP photo (7.7 MP at 20/25) stays under it.
MAX_SEARCH_PIXELS = 8_000_000
FRONTAL_CASCADE = "haarcascade_frontalface_alt2.xml"
PROFILE_CASCADE = "haarcascade_profileface.xml"
HAAR_SCALE_FACTOR = 1.1
HAAR_MIN_NEIGHBOURS = 3
# Profile faces are searched at half the frontal scale (faces of 50 px and more): at full scale the two
# passes over the picture and its mirror cost twice the frontal search for few more faces.
PROFILE_SCALE = 0.5
# dlib's HOG window is 80 px: at the search scale it finds faces from 100 px of the original, where it finds
# turned and badly lit faces the cascades miss.
DLIB_UPSAMPLE = 0
# The people detector's window is 64 x 128 px: at this long side a person a sixth of a 4:3 frame's height
# or taller is found. Its score threshold is its default; a tree trunk or a post is sometimes a "person".
BODY_LONG_SIDE = 1280
BODY_WIN_STRIDE = (8, 8)
BODY_SCALE = 1.05
BODY_HIT_THRESHOLD = 0.0
# Two boxes are one face or one body when they overlap this much (intersection over union), or when the
# centre of either lies inside the other: the detectors frame the same face differently.
SAME_OBJECT_OVERLAP = 0.3


@dataclass(frozen=True)
class People:
    """What was found, in the searched picture's coordinates: one box per face and per body."""

    faces: list[Box]
    bodies: list[Box]  # whether their face shows or not


def search_scale(width: int, height: int) -> float:
    """The scale at which a picture this size is searched: SMALLEST_FACE becomes the cascade's window."""
    wanted = min(1.0, HAAR_WINDOW / SMALLEST_FACE)
    budget = (MAX_SEARCH_PIXELS / max(1, width * height)) ** 0.5
    return min(wanted, budget)


def find_people(grey: np.ndarray) -> People:
    """Faces and bodies in a grey picture already at search_scale of the original."""
    equalised = cv2.equalizeHist(grey)
    # A CascadeClassifier keeps per-image state, and OpenCV already spreads each search over the cores:
    # a process runs one detection at a time.
    with _detection:
        faces = [
            *_frontal_faces(equalised),
            *_profile_faces(equalised),
            *_dlib_faces(grey),
        ]
        bodies = _bodies(grey)
    return People(faces=merged(faces), bodies=merged(bodies))


def merged(boxes: Iterable[Box]) -> list[Box]:
    """One box per object shown, bounding the boxes that show the same object (transitively)."""
    boxes = list(boxes)
    group = list(range(len(boxes)))

    def root(index: int) -> int:
        while group[index] != index:
            group[index] = group[group[index]]
            index = group[index]
        return index

    for first in range(len(boxes)):
        for second in range(first + 1, len(boxes)):
            if same_object(boxes[first], boxes[second]):
                group[root(first)] = root(second)
    groups: dict[int, list[Box]] = {}
    for index, box in enumerate(boxes):
        groups.setdefault(root(index), []).append(box)
    return [_bounding(members) for members in groups.values()]


_detection = threading.Lock()


@functools.cache
def _cascade(name: str) -> cv2.CascadeClassifier:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)  # type: ignore[attr-defined]
    if cascade.empty():
        raise RuntimeError(f"OpenCV's {name} did not load: opencv-python-headless 4.x ships it")
    return cascade


@functools.cache
def _dlib_detector() -> "dlib.fhog_object_detector":
    return dlib.get_frontal_face_detector()


@functools.cache
def _body_detector() -> cv2.HOGDescriptor:
    detector = cv2.HOGDescriptor()
    detector.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())  # type: ignore[attr-defined]
    return detector


def _haar(cascade: str, grey: np.ndarray) -> list[Box]:
    found = _cascade(cascade).detectMultiScale(
        grey,
        scaleFactor=HAAR_SCALE_FACTOR,
        minNeighbors=HAAR_MIN_NEIGHBOURS,
        minSize=(HAAR_WINDOW, HAAR_WINDOW),
    )
    return [(int(x), int(y), int(w), int(h)) for x, y, w, h in found]


def _frontal_faces(equalised: np.ndarray) -> list[Box]:
    return _haar(FRONTAL_CASCADE, equalised)


def _profile_faces(equalised: np.ndarray) -> list[Box]:
    """Profiles facing either way (the cascade knows one side only), in the search image's coordinates."""
    small, scale = _shrunk(equalised, PROFILE_SCALE)
    width = small.shape[1]
    facing = _haar(PROFILE_CASCADE, small)
    mirrored = [(width - x - w, y, w, h) for x, y, w, h in _haar(PROFILE_CASCADE, cv2.flip(small, 1))]
    return [scaled(box, 1 / scale) for box in facing + mirrored]


def _dlib_faces(grey: np.ndarray) -> list[Box]:
    found = _dlib_detector()(np.ascontiguousarray(grey), DLIB_UPSAMPLE)
    return [(r.left(), r.top(), r.width(), r.height()) for r in found]


def _bodies(grey: np.ndarray) -> list[Box]:
    """People standing, walking or seen from behind, in the search image's coordinates."""
    small, scale = _shrunk(grey, BODY_LONG_SIDE / max(grey.shape))
    if min(small.shape) < 128:
        return []  # smaller than the detector's window: no one to find at this scale
    found, _ = _body_detector().detectMultiScale(
        small, hitThreshold=BODY_HIT_THRESHOLD, winStride=BODY_WIN_STRIDE, scale=BODY_SCALE
    )
    return [scaled((int(x), int(y), int(w), int(h)), 1 / scale) for x, y, w, h in found]


def _shrunk(grey: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """The picture at `scale` when that shrinks it, else as it is (enlarging would invent no one)."""
    if scale >= 1:
        return grey, 1.0
    height, width = grey.shape
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA), scale


def scaled(box: Box, factor: float) -> Box:
    """The box in a picture `factor` times the size."""
    return (round(box[0] * factor), round(box[1] * factor), round(box[2] * factor), round(box[3] * factor))


def _bounding(boxes: list[Box]) -> Box:
    left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, bottom = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
    return (left, top, right - left, bottom - top)


def same_object(first: Box, second: Box) -> bool:
    """Whether two boxes frame the same face or body (see SAME_OBJECT_OVERLAP)."""
    ax, ay, aw, ah = first
    bx, by, bw, bh = second
    overlap_w = min(ax + aw, bx + bw) - max(ax, bx)
    overlap_h = min(ay + ah, by + bh) - max(ay, by)
    if overlap_w > 0 and overlap_h > 0:
        overlap = overlap_w * overlap_h
        if overlap / (aw * ah + bw * bh - overlap) >= SAME_OBJECT_OVERLAP:
            return True
    return _centre_inside(first, second) or _centre_inside(second, first)


def _centre_inside(box: Box, other: Box) -> bool:
    x, y = box[0] + box[2] / 2, box[1] + box[3] / 2
    return other[0] <= x <= other[0] + other[2] and other[1] <= y <= other[1] + other[3]
