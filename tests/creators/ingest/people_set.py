"""A labelled set of pictures with and without people, composed from images that ship in packages.

The faces are real: scikit-image's `lfw_subset` (100 tightly cropped 25 x 25 faces from Labeled Faces in the
Wild), its astronaut (a portrait, frontal) and its cameraman (a man in profile at a tripod, the only whole
person). They are pasted at the sizes a detector must handle onto real pictures with no one in them, scaled
to a 12 MP frame with a little sensor-like noise. No picture that ships in a package shows a person from
behind at a usable size, so the bodies here are the cameraman's, facing either way.

The tests and bench/bench_people_detector.py share it; the boxes are in the scene's pixels.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data

Box = tuple[int, int, int, int]  # x, y, width, height

WIDTH, HEIGHT = 4000, 3000
CATEGORIES = ("small faces", "large faces", "profile", "occluded", "bodies")
# Where the astronaut's face and the cameraman's face and body are in their 512 x 512 pictures.
ASTRONAUT_FACE: Box = (170, 55, 115, 120)
CAMERAMAN_FACE: Box = (180, 85, 90, 115)
CAMERAMAN_BODY: Box = (0, 65, 335, 447)
# Pictures of things, animals, places and textures: no person in any of them.
EMPTY_SCENES = (
    "coffee",
    "chelsea",
    "rocket",
    "stereo_motorcycle",
    "grass",
    "gravel",
    "brick",
)
EMPTY_PICTURES = (*EMPTY_SCENES, "horse", "coins", "page", "text", "moon", "hubble_deep_field", "retina")
# The shared camera corpus minus the pictures that show people (a woman at a desk, soldiers walking away) or
# a drawing of one.
CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "camera-samples" / "jpg"
CORPUS_WITH_PEOPLE = {"Konica_Minolta_DiMAGE_Z3.jpg", "long_description.jpg", "PaintTool_sample.jpg"}


@dataclass(frozen=True)
class Scene:
    name: str
    category: str  # one of CATEGORIES, or "empty"
    rgb: np.ndarray
    faces: tuple[Box, ...]
    bodies: tuple[Box, ...]


def scenes() -> Iterator[Scene]:
    """The pictures with people in them, category by category."""
    faces = _lfw_faces()
    backgrounds = iter(range(1000))

    def background() -> np.ndarray:
        return empty_scene(EMPTY_SCENES[next(backgrounds) % len(EMPTY_SCENES)])

    for index in range(4):
        small = (25, 25, 25, 40, 40, 40)
        yield _lfw_scene(f"small-{index}", "small faces", background(), faces[index * 6 :], small)
    for index in range(3):
        large = (80, 80, 200)
        yield _lfw_scene(f"large-lfw-{index}", "large faces", background(), faces[24 + index * 3 :], large)
    for face_side in (80, 200):
        scene = background()
        box = _paste_portrait(scene, data.astronaut(), ASTRONAUT_FACE, face_side, (1500, 600))
        yield Scene(f"large-astronaut-{face_side}", "large faces", scene, (box,), ())
    for face_side in (60, 100, 200):
        scene = background()
        cameraman = np.stack([data.camera()] * 3, axis=-1)
        boxes = (
            _paste_portrait(scene, cameraman, CAMERAMAN_FACE, face_side, (400, 500)),
            _paste_portrait(scene, cameraman[:, ::-1], _mirrored(CAMERAMAN_FACE), face_side, (2300, 1200)),
        )
        yield Scene(f"profile-{face_side}", "profile", scene, boxes, ())
    for index, side in enumerate((80, 200)):
        for cover in ("mouth", "side"):
            yield _occluded_scene(
                f"occluded-{cover}-{side}", background(), faces[40 + index * 4 :], side, cover
            )
    for height in (600, 1000, 1500):
        scene = background()
        cameraman = np.stack([data.camera()] * 3, axis=-1)
        scale = height / CAMERAMAN_BODY[3]
        top = HEIGHT - 50 - round(cameraman.shape[0] * scale)
        boxes = (
            _paste_scaled(scene, cameraman, scale, CAMERAMAN_BODY, (300, top)),
            _paste_scaled(scene, cameraman[:, ::-1], scale, _mirrored(CAMERAMAN_BODY), (2200, top)),
        )
        yield Scene(f"bodies-{height}", "bodies", scene, (), boxes)


def negatives() -> Iterator[Scene]:
    """Pictures with no one in them: the scenes' backgrounds at 12 MP, then pictures at their own size."""
    for name in EMPTY_SCENES:
        yield Scene(f"empty-12mp-{name}", "empty", empty_scene(name), (), ())
    for name in EMPTY_PICTURES:
        yield Scene(f"empty-{name}", "empty", _picture(name), (), ())
    for path in sorted(CORPUS.glob("*.jpg")) if CORPUS.is_dir() else ():
        if path.name not in CORPUS_WITH_PEOPLE:
            with Image.open(path) as picture:
                yield Scene(f"empty-{path.stem}", "empty", np.asarray(picture.convert("RGB")), (), ())


def empty_scene(name: str) -> np.ndarray:
    """A package's picture of no one, covering a 12 MP frame, with sensor-like noise so that it is not flat."""
    picture = _picture(name)
    height, width = picture.shape[:2]
    scale = max(WIDTH / width, HEIGHT / height)
    size = (round(width * scale), round(height * scale))
    large = cv2.resize(picture, size, interpolation=cv2.INTER_CUBIC)
    top, left = (size[1] - HEIGHT) // 2, (size[0] - WIDTH) // 2
    frame = large[top : top + HEIGHT, left : left + WIDTH].astype(np.int16)
    noise = np.random.default_rng(len(name)).integers(-4, 5, size=(HEIGHT, WIDTH, 1), dtype=np.int16)
    return np.clip(frame + noise, 0, 255).astype(np.uint8)


def small_face_scene(side: int) -> Scene:
    """One LFW face of `side` pixels in a 12 MP frame of coffee and a table top."""
    return _lfw_scene(f"one-face-{side}", "small faces", empty_scene("coffee"), _lfw_faces(), (side,))


def profile_scene() -> Scene:
    """The cameraman, in profile facing right, his face 100 px high, on grass."""
    scene = empty_scene("grass")
    cameraman = np.stack([data.camera()] * 3, axis=-1)
    box = _paste_portrait(scene, cameraman, CAMERAMAN_FACE, 100, (1500, 1000))
    return Scene("one-profile", "profile", scene, (box,), ())


def _lfw_faces() -> list[np.ndarray]:
    # The first 100 of lfw_subset are faces, the other 100 are not.
    return [np.stack([(face * 255).astype(np.uint8)] * 3, axis=-1) for face in data.lfw_subset()[:100]]


def _picture(name: str) -> np.ndarray:
    """A scikit-image sample picture as 8-bit RGB (the stereo pair's left view)."""
    picture = getattr(data, name)()
    if isinstance(picture, tuple):
        picture = picture[0]
    if picture.dtype != np.uint8:
        picture = (picture * 255).astype(np.uint8) if picture.dtype == bool else picture.astype(np.uint8)
    return _rgb(picture)


def _rgb(picture: np.ndarray) -> np.ndarray:
    if picture.ndim == 2:
        picture = np.stack([picture] * 3, axis=-1)
    return np.ascontiguousarray(picture[..., :3])


def _lfw_scene(
    name: str, category: str, scene: np.ndarray, faces: list[np.ndarray], sizes: tuple[int, ...]
) -> Scene:
    boxes = []
    for index, side in enumerate(sizes):
        # Spread over a grid of cells 600 px apart, so no two faces are near one another.
        x, y = 300 + (index % 6) * 600, 400 + (index // 6) * 900 + (index % 2) * 700
        boxes.append(_paste_scaled(scene, faces[index], side / 25, (0, 0, 25, 25), (x, y)))
    return Scene(name, category, scene, tuple(boxes), ())


def _occluded_scene(name: str, scene: np.ndarray, faces: list[np.ndarray], side: int, cover: str) -> Scene:
    """Faces with a dark bar over their lower third (a scarf, a hand) or their left third (a post)."""
    result = _lfw_scene(name, "occluded", scene, faces, (side, side))
    astronaut = data.astronaut()
    face = _paste_portrait(scene, astronaut, ASTRONAUT_FACE, side, (2600, 1600))
    for x, y, w, h in (*result.faces, face):
        if cover == "mouth":
            scene[y + h * 2 // 3 : y + h, x : x + w] = 30
        else:
            scene[y : y + h, x : x + w // 3] = 30
    return Scene(name, "occluded", scene, (*result.faces, face), ())


def _paste_portrait(
    scene: np.ndarray, picture: np.ndarray, face: Box, face_side: int, at: tuple[int, int]
) -> Box:
    """The whole picture pasted at `at`, scaled so that its face is `face_side` pixels high; the face's box."""
    return _paste_scaled(scene, picture, face_side / face[3], face, at)


def _paste_scaled(scene: np.ndarray, picture: np.ndarray, scale: float, box: Box, at: tuple[int, int]) -> Box:
    """The picture scaled by `scale` and pasted with its top left at `at`; where `box` of it landed."""
    height, width = picture.shape[:2]
    size = (round(width * scale), round(height * scale))
    resized = cv2.resize(
        np.ascontiguousarray(picture), size, interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    )
    x, y = at
    scene[y : y + size[1], x : x + size[0]] = resized[: HEIGHT - y, : WIDTH - x]
    return (
        x + round(box[0] * scale),
        y + round(box[1] * scale),
        round(box[2] * scale),
        round(box[3] * scale),
    )


def _mirrored(box: Box, width: int = 512) -> Box:
    return (width - box[0] - box[2], box[1], box[2], box[3])
