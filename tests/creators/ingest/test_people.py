"""The people detector: what it must find and what it must not, on the labelled set (recall is measured in
bench/bench_people_detector.py; these check single behaviours)."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from creators import services
from creators.ingest import images, people
from creators.ingest.images import ingest_image
from creators.ingest.limits import MediaLimits
from tests.creators.ingest import people_set

LIMITS = MediaLimits()


def _jpeg(rgb: np.ndarray, path: Path) -> Path:
    Image.fromarray(rgb).save(path, quality=90)
    return path


def _found(rgb: np.ndarray) -> people.People:
    """What the detector finds in a picture, at the scale ingest searches it, in the picture's pixels."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    height, width = grey.shape
    scale = people.search_scale(width, height)
    searched = cv2.resize(grey, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    found = people.find_people(searched)
    return people.People(
        faces=[people.scaled(box, 1 / scale) for box in found.faces],
        bodies=[people.scaled(box, 1 / scale) for box in found.bodies],
    )


def test_a_25_px_face_in_a_12_mp_photo_is_counted(tmp_path: Path) -> None:
    # The same frame without the face shows what the background alone makes the detectors see.
    with_face = _jpeg(people_set.small_face_scene(25).rgb, tmp_path / "face.jpg")
    without = _jpeg(people_set.empty_scene("coffee"), tmp_path / "empty.jpg")

    faces = [ingest_image(path, tmp_path / "out", limits=LIMITS).faces for path in (with_face, without)]

    assert faces[0] == faces[1] + 1


def test_a_profile_face_is_counted() -> None:
    scene = people_set.profile_scene()

    found = _found(scene.rgb)

    (face,) = scene.faces
    assert any(people.same_object(face, box) for box in found.faces)


def test_a_profile_facing_the_other_way_is_counted() -> None:
    scene = people_set.profile_scene()
    mirrored = np.ascontiguousarray(scene.rgb[:, ::-1])
    x, y, width, height = scene.faces[0]

    found = _found(mirrored)

    face = (people_set.WIDTH - x - width, y, width, height)
    assert any(people.same_object(face, box) for box in found.faces)


def test_a_picture_of_no_one_counts_no_one() -> None:
    found = _found(people_set.empty_scene("coffee"))

    assert (found.faces, found.bodies) == ([], [])


def test_a_face_found_by_several_detectors_is_counted_once() -> None:
    haar, dlib_box, profile = (100, 100, 60, 60), (108, 112, 44, 44), (95, 98, 70, 66)

    assert len(people.merged([haar, dlib_box, profile])) == 1


def test_two_faces_side_by_side_are_counted_twice() -> None:
    assert len(people.merged([(100, 100, 60, 60), (170, 100, 60, 60)])) == 2


def test_the_search_scale_makes_the_smallest_face_the_cascade_window() -> None:
    assert people.search_scale(4000, 3000) * people.SMALLEST_FACE == pytest.approx(people.HAAR_WINDOW)


def test_a_very_large_picture_is_searched_within_the_pixel_budget() -> None:
    scale = people.search_scale(12000, 9000)

    assert 12000 * 9000 * scale**2 <= people.MAX_SEARCH_PIXELS * 1.001


@pytest.mark.django_db
def test_ingest_stores_the_faces_and_the_people_found(creator, media_root, monkeypatch) -> None:
    # The detector's recall is measured elsewhere: here, what it reports is what the asset keeps.
    monkeypatch.setattr(
        images,
        "find_people",
        lambda grey: people.People(faces=[(0, 0, 30, 30)], bodies=[(0, 0, 64, 128)] * 2),
    )
    content = _jpeg(
        people_set.empty_scene("coffee")[:600, :800].copy(), media_root / "scene.jpg"
    ).read_bytes()
    asset = services.asset_upload(
        creator=creator.creator_profile, upload=SimpleUploadedFile("scene.jpg", content)
    )

    services.asset_ingest(asset_id=asset.pk)

    asset.refresh_from_db()
    assert (asset.face_count, asset.person_count) == (1, 2)
