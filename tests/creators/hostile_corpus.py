"""The hostile upload corpus: files that must each be refused with a clear 4xx, leaving nothing behind.

Built in code rather than stored, so each case says how it was made. `build(tmp_dir)` returns the cases;
the video ones are encoded with PyAV.
"""

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Hostile:
    case: str
    name: str
    content: bytes
    # A fragment the refusal message must contain, so a person learns what was wrong.
    says: str


def jpeg_bytes(size=(64, 48), color=(200, 80, 40), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", quality=85, **save)
    return buffer.getvalue()


def png_bytes(size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_declaring(width: int, height: int) -> bytes:
    """A well-formed PNG header claiming huge dimensions, with a few bytes of compressed data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + _png_chunk(b"IEND", b"")
    )


def png_with_text(text: bytes) -> bytes:
    png = png_bytes()
    return png[:33] + _png_chunk(b"tEXt", b"Comment\x00" + text) + png[33:]


def jpeg_with_comment(comment: bytes) -> bytes:
    jpeg = jpeg_bytes()
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return jpeg[:2] + segment + jpeg[2:]


def jpeg_declaring(width: int, height: int) -> bytes:
    """A JPEG whose frame header claims huge dimensions (the rest is a small image's data)."""
    jpeg = bytearray(jpeg_bytes())
    sof = jpeg.find(b"\xff\xc0")
    jpeg[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(jpeg)


def gif_bytes(frames: int = 1) -> bytes:
    buffer = io.BytesIO()
    images = [Image.new("P", (32, 32), i * 40) for i in range(frames)]
    images[0].save(buffer, "GIF", save_all=frames > 1, append_images=images[1:])
    return buffer.getvalue()


def image_bytes(fmt: str, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (32, 32), 128).save(buffer, fmt)
    return buffer.getvalue()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.jpg", jpeg_bytes())
    return buffer.getvalue()


def encode_video(
    path: Path,
    *,
    container: str,
    codec: str,
    seconds: float = 1.0,
    size=(160, 120),
    audio: bool = False,
    video: bool = True,
) -> bytes:
    """A short clip made with PyAV; `video=False` makes an audio-only file."""
    with av.open(str(path), "w", format=container) as output:
        stream = None
        if video:
            stream = output.add_stream(codec, rate=12)
            stream.width, stream.height = size
            stream.pix_fmt = "yuv420p"
        audio_stream = (
            output.add_stream("aac" if container != "webm" else "libopus", rate=48000) if audio else None
        )
        frames = int(seconds * 12)
        for index in range(frames if stream else 0):
            pixels = np.full((size[1], size[0], 3), (index * 20) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                output.mux(packet)
        if stream:
            for packet in stream.encode():
                output.mux(packet)
        if audio_stream:
            samples = np.zeros((1, 1024), dtype=np.float32)
            for index in range(int(seconds * 48000 / 1024)):
                frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
                frame.rate, frame.pts = 48000, index * 1024
                for packet in audio_stream.encode(frame):
                    output.mux(packet)
            for packet in audio_stream.encode():
                output.mux(packet)
    return path.read_bytes()


def build(tmp_dir: Path) -> list[Hostile]:
    jpeg = jpeg_bytes()
    png = png_bytes()
    mp4 = encode_video(tmp_dir / "clip.mp4", container="mp4", codec="mpeg4", seconds=2)
    mdat = mp4.find(b"mdat")
    mkv = encode_video(tmp_dir / "clip.mkv", container="matroska", codec="mpeg4")
    m4a = encode_video(tmp_dir / "sound.m4a", container="mp4", codec="", audio=True, video=False)
    avi = encode_video(tmp_dir / "clip.avi", container="avi", codec="mpeg4")
    html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><rect width="9" height="9"/></svg>'
    )
    not_media = "not a photo or video we accept"
    return [
        Hostile("zero bytes", "empty.jpg", b"", "empty"),
        Hostile("one byte", "tiny.jpg", b"\xff", not_media),
        Hostile("truncated JPEG, half", "half.jpg", jpeg[: len(jpeg) // 2], "JPEG"),
        Hostile("JPEG, header only", "header.jpg", jpeg[:20], "JPEG"),
        Hostile(
            "JPEG marker then garbage", "garbage.jpg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4, "JPEG"
        ),
        Hostile("truncated PNG", "half.png", png[: len(png) // 2], "PNG"),
        Hostile("PNG signature only", "sig.png", png[:8], "PNG"),
        Hostile("truncated MP4, half", "half.mp4", mp4[: len(mp4) // 2], "MP4"),
        Hostile("MP4 without its index", "nomoov.mp4", mp4[: mdat + 64], "MP4"),
        Hostile("MP4 header then garbage", "garbage.mp4", mp4[:32] + bytes(1000), "MP4"),
        Hostile("HTML renamed .jpg", "page.jpg", html, "web page"),
        Hostile("HTML with a BOM renamed .png", "page.png", b"\xef\xbb\xbf" + html, "web page"),
        Hostile("SVG with a script renamed .jpg", "vector.jpg", svg, "web page"),
        Hostile("SVG", "vector.svg", svg, "web page"),
        Hostile("XML", "data.jpg", b'<?xml version="1.0"?><root/>', "web page"),
        Hostile("JPEG/HTML polyglot, HTML after the image", "poly.jpg", jpeg + html, "web-page code"),
        Hostile("JPEG with a script in its comment", "comment.jpg", jpeg_with_comment(html), "web-page code"),
        Hostile("PNG with HTML in a text chunk", "text.png", png_with_text(html), "web-page code"),
        Hostile("PNG declaring 50,000 x 50,000 pixels", "bomb.png", png_declaring(50_000, 50_000), "pixels"),
        Hostile(
            "JPEG declaring 65,000 x 65,000 pixels", "bomb.jpg", jpeg_declaring(65_000, 65_000), "pixels"
        ),
        Hostile("zip archive", "photos.zip", zip_bytes(), "zip"),
        Hostile("zip renamed .jpg", "photos.jpg", zip_bytes(), "zip"),
        Hostile("PDF", "release.pdf", b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", "PDF"),
        Hostile("PDF renamed .jpg", "release.jpg", b"%PDF-1.4\n%%EOF", "PDF"),
        Hostile("GIF", "anim.gif", gif_bytes(), "GIF"),
        Hostile("animated GIF renamed .jpg", "anim.jpg", gif_bytes(frames=3), "GIF"),
        Hostile("BMP", "image.bmp", image_bytes("BMP"), "BMP"),
        Hostile("FITS", "sky.fits", b"SIMPLE  =                    T" + b" " * 2850, "FITS"),
        Hostile("icon", "favicon.jpg", image_bytes("ICO"), "icon"),
        Hostile("Photoshop document", "layers.jpg", b"8BPS\x00\x01" + bytes(100), "Photoshop"),
        Hostile("gzip", "photo.jpg.gz", b"\x1f\x8b\x08\x00" + bytes(20), "gzip"),
        Hostile("7-zip", "photos.7z", b"7z\xbc\xaf\x27\x1c" + bytes(20), "7-zip"),
        Hostile("RAR", "photos.rar", b"Rar!\x1a\x07\x00" + bytes(20), "RAR"),
        Hostile("Linux program renamed .jpg", "run.jpg", b"\x7fELF\x02\x01\x01" + bytes(60), "program"),
        Hostile("double extension .jpg.exe", "photo.jpg.exe", b"MZ\x90\x00" + bytes(60), "program"),
        Hostile(
            "PHP behind a double extension", "shell.php.jpg", b"<?php system($_GET['c']); ?>", "web page"
        ),
        Hostile("MP3", "song.mp3", b"ID3\x04\x00" + bytes(100), "audio"),
        Hostile("FLAC renamed .mp4", "song.mp4", b"fLaC" + bytes(100), "audio"),
        Hostile("Ogg", "sound.webm", b"OggS" + bytes(100), "Ogg"),
        Hostile("AVI video", "clip.avi", avi, "AVI"),
        Hostile("AVI renamed .mp4", "clip.mp4", avi, "AVI"),
        Hostile("WAV", "sound.wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(40), not_media),
        Hostile("Matroska that is not WebM", "clip.webm", mkv, "WebM"),
        Hostile("audio-only MP4", "sound.mp4", m4a, "video"),
        Hostile("random bytes", "noise.jpg", np.random.default_rng(7).bytes(4096), not_media),
        Hostile("plain text", "notes.jpg", b"just some notes about a photo shoot\n" * 20, not_media),
        Hostile("JSON", "data.json", b'{"image": "not really"}', not_media),
        Hostile("CSV", "captions.jpg", b"file,caption\nphoto.jpg,hello\n", not_media),
        Hostile(
            "disguised program, right-to-left override",
            "photo\u202egpj.exe",
            b"MZ\x90\x00" + bytes(60),
            "program",
        ),
        Hostile("program with a NUL in its name", "photo.jpg\x00.exe", b"MZ\x90\x00" + bytes(60), "program"),
        Hostile("web page named ../../etc", "../../etc/passwd.jpg", html, "web page"),
        Hostile("TIFF declaring huge dimensions", "bomb.tif", b"II*\x00\x08\x00\x00\x00" + bytes(16), "TIFF"),
    ]
