"""Photos and a video drawn on the spot for the demo site: nothing is downloaded, every run makes the same."""

import io
import math
import random
import tempfile
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SIZE = (1600, 1067)


def _sky(
    draw: ImageDraw.ImageDraw, top: tuple[int, int, int], bottom: tuple[int, int, int], height: int
) -> None:
    for y in range(height):
        t = y / max(1, height - 1)
        draw.line(
            [(0, y), (SIZE[0], y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        )


def _landscape(rng: random.Random) -> Image.Image:
    image = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(image)
    _sky(draw, (70, 130, 200), (250, 200, 150), SIZE[1])
    sun = (rng.randrange(200, 1400), rng.randrange(120, 400))
    draw.ellipse([sun[0] - 70, sun[1] - 70, sun[0] + 70, sun[1] + 70], fill=(255, 230, 160))
    for layer, color in enumerate([(90, 120, 90), (60, 95, 60), (35, 70, 40)]):
        base = 520 + layer * 160
        points = (
            [(0, SIZE[1])]
            + [
                (x, base - 120 * math.sin(x / (180 + 60 * layer) + rng.random() * 6) - rng.randrange(40))
                for x in range(0, SIZE[0] + 40, 40)
            ]
            + [(SIZE[0], SIZE[1])]
        )
        draw.polygon(points, fill=color)
    return image


def _city(rng: random.Random) -> Image.Image:
    image = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(image)
    _sky(draw, (20, 24, 60), (120, 70, 110), SIZE[1])
    x = 0
    while x < SIZE[0]:
        width, height = rng.randrange(90, 220), rng.randrange(300, 900)
        shade = rng.randrange(30, 70)
        draw.rectangle([x, SIZE[1] - height, x + width, SIZE[1]], fill=(shade, shade, shade + 15))
        for wy in range(SIZE[1] - height + 20, SIZE[1] - 20, 34):
            for wx in range(x + 12, x + width - 20, 28):
                if rng.random() < 0.45:
                    draw.rectangle([wx, wy, wx + 14, wy + 18], fill=(250, 220, 120))
        x += width + rng.randrange(4, 30)
    return image


def _food(rng: random.Random) -> Image.Image:
    image = Image.new("RGB", SIZE, (150, 100, 70))
    draw = ImageDraw.Draw(image)
    for y in range(0, SIZE[1], 60):  # the wooden table's boards
        draw.line([(0, y), (SIZE[0], y)], fill=(120, 80, 55), width=4)
    cx, cy = SIZE[0] // 2, SIZE[1] // 2
    draw.ellipse([cx - 420, cy - 420, cx + 420, cy + 420], fill=(245, 245, 240))
    for _ in range(14):
        px, py, r = cx + rng.randrange(-260, 260), cy + rng.randrange(-260, 260), rng.randrange(30, 90)
        color = rng.choice([(200, 40, 40), (240, 180, 40), (60, 150, 60), (230, 120, 50)])
        draw.ellipse([px - r, py - r, px + r, py + r], fill=color)
    return image.filter(ImageFilter.GaussianBlur(1.2))


def _architecture(rng: random.Random) -> Image.Image:
    image = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(image)
    _sky(draw, (150, 190, 230), (220, 235, 250), SIZE[1])
    left, right = 300, 1300
    draw.rectangle([left, 300, right, SIZE[1]], fill=(225, 215, 195))
    draw.polygon([(left - 60, 300), ((left + right) // 2, 80), (right + 60, 300)], fill=(180, 90, 70))
    for x in range(left + 60, right - 40, 140):
        draw.rectangle([x, 360, x + 50, SIZE[1]], fill=(240, 235, 225))
        draw.rectangle([x + 50, 360, x + 58, SIZE[1]], fill=(190, 180, 160))
    return image


SCENES = {"nature": _landscape, "street": _city, "food": _food, "architecture": _architecture}


def demo_photos(count: int) -> list[tuple[str, str, bytes]]:
    """(file name, category, JPEG bytes) for `count` drawn photos, cycling through the scenes."""
    photos = []
    scenes = list(SCENES.items())
    for index in range(count):
        category, draw_scene = scenes[index % len(scenes)]
        image = draw_scene(random.Random(index))  # noqa: S311 (drawing, not security)
        noise = np.random.default_rng(index).normal(0, 6, (SIZE[1], SIZE[0], 3))
        image = Image.fromarray(np.clip(np.asarray(image, dtype=np.float64) + noise, 0, 255).astype(np.uint8))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=88)
        photos.append((f"demo-{category}-{index + 1}.jpg", category, buffer.getvalue()))
    return photos


def demo_video(seconds: int = 4, size: tuple[int, int] = (640, 360), fps: int = 24) -> bytes:
    """An H.264 MP4 of a ball crossing a gradient: a small motion-rich clip."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "demo.mp4"
        with av.open(str(path), "w", format="mp4") as output:
            stream = output.add_stream("libx264", rate=fps)
            stream.width, stream.height = size
            stream.pix_fmt = "yuv420p"
            xs = np.linspace(0, 255, size[0], dtype=np.float64)
            background = np.repeat(
                np.stack([xs, xs[::-1], np.full_like(xs, 140)], axis=-1)[None], size[1], axis=0
            )
            yy, xx = np.mgrid[0 : size[1], 0 : size[0]]
            for index in range(seconds * fps):
                t = index / (seconds * fps)
                bx, by = int(40 + t * (size[0] - 80)), int(size[1] / 2 + math.sin(t * 12) * size[1] / 3)
                frame = background.copy()
                frame[(xx - bx) ** 2 + (yy - by) ** 2 < 30**2] = (250, 250, 250)
                for packet in stream.encode(
                    av.VideoFrame.from_ndarray(frame.astype(np.uint8), format="rgb24")
                ):
                    output.mux(packet)
            for packet in stream.encode():
                output.mux(packet)
        return path.read_bytes()


def demo_signature(name: str) -> bytes:
    """A drawn signature for `name`, as the signing page's pad sends it: dark ink on a transparent PNG."""
    rng = random.Random(name)  # noqa: S311 (drawing, not security)
    image = Image.new("RGBA", (480, 160), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    x, points = 20.0, []
    for letter in name:
        height = 45 if letter.isupper() else 25
        for step in range(4):
            x += 3 + rng.random() * 3
            points.append((x, 95 - height * math.sin(step * math.pi / 3) + rng.uniform(-4, 4)))
    draw.line(points, fill=(20, 25, 70, 255), width=4, joint="curve")
    draw.line([(30, 125), (min(x, 460), 118)], fill=(20, 25, 70, 255), width=3)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def demo_release_scan(lines: list[str], signer: str, image_format: str) -> bytes:
    """A scanned paper release: a printed page of `lines`, signed by hand; PDF or JPEG bytes."""
    page = Image.new("RGB", (850, 1100), (250, 249, 244))
    draw = ImageDraw.Draw(page)
    title, body = ImageFont.load_default(size=30), ImageFont.load_default(size=18)
    draw.text((70, 70), lines[0], fill=(20, 20, 20), font=title)
    for row, line in enumerate(lines[1:]):
        draw.text((70, 140 + row * 32), line, fill=(40, 40, 40), font=body)
    ink = Image.open(io.BytesIO(demo_signature(signer)))
    page.paste(ink, (70, 880), ink)
    draw.line([(70, 1010), (520, 1010)], fill=(90, 90, 90), width=2)
    draw.text((70, 1020), signer, fill=(40, 40, 40), font=body)
    buffer = io.BytesIO()
    page.save(buffer, image_format, **({"quality": 85} if image_format == "JPEG" else {"resolution": 100.0}))
    return buffer.getvalue()
