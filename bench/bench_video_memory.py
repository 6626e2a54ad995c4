"""Whether a video's ingest memory grows with its size: a ~2 GB MP4 against a ~200 MB one of the same clip.

The requirement: "a 2 GB video is ingested with memory that does not grow with its size". One high-bitrate
clip is remuxed (stream copy, no re-encode) into both files, and each is ingested in a fresh process so its
peak RSS is its own.
"""

import itertools
import json
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import av
import numpy as np

from bench.harness import Result

NAME = "video_ingest_peak_rss_2gb_vs_200mb"
SMALL_BYTES = 200 * 1000**2
LARGE_BYTES = 2 * 1000**3
# Both videos, the clip and slack, checked where the files go (a temporary directory).
MIN_FREE_BYTES = 6 * 1000**3
CLIP_SECONDS = 10
CLIP_FPS = 24
CLIP_SIZE = (1280, 720)
PROJECT = Path(__file__).resolve().parent.parent

# The child reports its own peak from VmHWM: ru_maxrss would not do, since Linux carries it across exec, so a
# child starts at the parent's RSS, and RUSAGE_CHILDREN folds all runs into one maximum.
CHILD = """
import json, re, sys, tempfile, time
from pathlib import Path
from creators.ingest.limits import MediaLimits
from creators.ingest.video import ingest_video
started = time.perf_counter()
with tempfile.TemporaryDirectory() as derivatives:
    result = ingest_video(Path(sys.argv[1]), Path(derivatives), limits=MediaLimits()) if sys.argv[1] else None
status = Path("/proc/self/status").read_text()
print(json.dumps({
    "seconds": time.perf_counter() - started,
    "peak_rss_mb": int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) / 1024,
    "duration": result.duration_seconds if result else 0,
    "keyframes": len(result.keyframe_phashes) if result else 0,
}))
"""


def _encode_clip(path: Path) -> None:
    """A short 720p clip whose grain keeps the bitrate high (~50 Mbit/s), so few copies make gigabytes."""
    width, height = CLIP_SIZE
    rng = np.random.default_rng(0)
    grains = [rng.integers(0, 16, (height, width, 1), dtype=np.uint8) for _ in range(7)]
    y, x = np.mgrid[0:height, 0:width]
    scene = (x + y // 3) % 256
    picture = np.stack([scene, (scene + 85) % 256, (scene + 170) % 256], axis=-1).astype(np.uint8)
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=CLIP_FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.gop_size = CLIP_FPS
        video.options = {"preset": "ultrafast", "qp": "20"}
        for index in range(CLIP_SECONDS * CLIP_FPS):
            moved = np.roll(picture, 8 * index, axis=1)
            frame = av.VideoFrame.from_ndarray(moved + grains[index % len(grains)])
            frame.pts = index
            out.mux(video.encode(frame))
        out.mux(video.encode(None))


def _remux(clip: Path, path: Path, target_bytes: int) -> None:
    """The clip's packets written over and over, timestamps shifted, until about target_bytes are written."""
    written = 0
    with av.open(str(path), "w", format="mp4") as out:
        with av.open(str(clip)) as source:
            template = source.streams.video[0]
            stream = out.add_stream_from_template(template)
            assert template.duration is not None
            shift = template.duration
        for copy in itertools.count():
            with av.open(str(clip)) as source:
                for packet in source.demux(source.streams.video[0]):
                    if packet.dts is None:
                        continue  # the demuxer's end-of-stream marker
                    if packet.is_keyframe and written >= target_bytes:
                        return  # ends before a keyframe, so the file ends on a whole group of pictures
                    packet.pts = None if packet.pts is None else packet.pts + copy * shift
                    packet.dts += copy * shift
                    packet.stream = stream
                    written += packet.size
                    out.mux(packet)


def _ingest_in_child(path: Path | None) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, str(path) if path else ""],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout)


def run() -> list[Result]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-video-"))
    try:
        free = shutil.disk_usage(workdir).free
        if free < MIN_FREE_BYTES:
            return [
                Result(
                    NAME,
                    math.nan,
                    None,
                    f"skipped: {free / 1e9:.1f} GB free under {workdir.parent}, the benchmark needs "
                    f"{MIN_FREE_BYTES / 1e9:.0f} GB",
                )
            ]
        clip = workdir / "clip.mp4"
        _encode_clip(clip)
        small, large = workdir / "small.mp4", workdir / "large.mp4"
        _remux(clip, small, SMALL_BYTES)
        _remux(clip, large, LARGE_BYTES)
        baseline = _ingest_in_child(None)
        small_run = _ingest_in_child(small)
        large_run = _ingest_in_child(large)
        detail = (
            f"peak RSS {small_run['peak_rss_mb']:.1f} MB for {small.stat().st_size / 1e6:,.0f} MB "
            f"({small_run['duration']:.0f} s, {small_run['keyframes']} keyframes, {small_run['seconds']:.1f} s wall) "
            f"vs {large_run['peak_rss_mb']:.1f} MB for {large.stat().st_size / 1e6:,.0f} MB "
            f"({large_run['duration']:.0f} s, {large_run['keyframes']} keyframes, {large_run['seconds']:.1f} s wall); "
            f"imports alone {baseline['peak_rss_mb']:.0f} MB; 720p H.264 at "
            f"{clip.stat().st_size * 8 / CLIP_SECONDS / 1e6:.0f} Mbit/s"
        )
        return [Result(NAME, small_run["peak_rss_mb"] / large_run["peak_rss_mb"], 0.9, detail)]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
