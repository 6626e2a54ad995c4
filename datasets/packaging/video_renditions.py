"""Delivery renditions of videos: MP4 where the codecs allow, WebM kept apart, upright, without metadata.

Streams are copied packet for packet (remuxed) whenever the target container can hold them and the picture
needs no turning. Only the first video and the first audio stream are copied: a phone's timed-metadata and
timecode tracks (where QuickTime keeps a location per frame) are left behind, and no container or stream
tag is written, so no location (`©xyz`, `com.apple.quicktime.location.*`, Matroska tags), make, model or
software name reaches a buyer. A video whose display matrix says to turn it is decoded, turned and encoded
again as H.264, since most frame readers ignore that matrix and would hand buyers sideways frames; sound
in a codec MP4 cannot hold (a camera's PCM) is encoded as AAC while the picture is still copied.
"""

import itertools
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.stream import Stream
from av.video.stream import VideoStream

from datasets.packaging.description import Series
from datasets.packaging.renditions import Method, Rendition, RenditionError

# What each target container holds without re-encoding, by FFmpeg codec name.
MP4_VIDEO_CODECS = {"h264", "hevc", "av1", "vp9", "mpeg4"}
MP4_AUDIO_CODECS = {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}
WEBM_VIDEO_CODECS = {"vp8", "vp9", "av1"}
WEBM_AUDIO_CODECS = {"vorbis", "opus"}
# x264 at this constant rate factor is visually lossless for most footage; "medium" is x264's own default.
TRANSCODE_CRF = "17"
TRANSCODE_PRESET = "medium"
# The filter that turns frames upright, by the clockwise rotation the display matrix asks for.
UPRIGHT_FILTERS: dict[int, list[tuple[str, str]]] = {
    90: [("transpose", "clock")],
    180: [("hflip", ""), ("vflip", "")],
    270: [("transpose", "cclock")],
}
# MP4's index at the front, so a player or a loader can start before the whole file has arrived.
MP4_OPTIONS = {"movflags": "+faststart"}


def video_rendition(source: Path, directory: Path) -> Rendition:
    """The delivery file of a video ingest accepted, written into `directory`."""
    try:
        with av.open(str(source)) as container:
            return _rendition(container, directory)
    except RenditionError:
        raise
    except (av.FFmpegError, ValueError, StopIteration) as error:
        raise RenditionError(f"the video could not be read: {error}") from error


def _rendition(container: InputContainer, directory: Path) -> Rendition:
    video = next(iter(container.streams.video), None)
    if video is None:
        raise RenditionError("the file has no video stream")
    audio = next(iter(container.streams.audio), None)
    rotation = _clockwise_rotation(container, video)
    is_webm = "webm" in container.format.name or "matroska" in container.format.name
    video_codec = video.codec_context.name
    audio_codec = audio.codec_context.name if audio else None
    if is_webm and not rotation:
        # WebM's codecs (VP8, Vorbis) do not all fit MP4: a series of its own keeps them as they are.
        series, target, video_codecs, audio_codecs = (
            Series.VIDEOS_WEBM,
            "webm",
            WEBM_VIDEO_CODECS,
            WEBM_AUDIO_CODECS,
        )
    else:
        series, target, video_codecs, audio_codecs = Series.VIDEOS, "mp4", MP4_VIDEO_CODECS, MP4_AUDIO_CODECS
    copy_video = not rotation and video_codec in video_codecs
    # WebM's audio is always Vorbis or Opus, which it holds; anything MP4 cannot hold is encoded as AAC.
    copy_audio = audio_codec in audio_codecs
    path = directory / f"delivery.{target}"
    options = MP4_OPTIONS if target == "mp4" else {}
    with av.open(str(path), "w", format=target, options=options) as output:
        width, height = _write(container, output, video, audio, rotation, copy_video, copy_audio)
    method = Method.REMUXED if copy_video and (copy_audio or audio is None) else Method.TRANSCODED
    return Rendition(path=path, series=series, width=width, height=height, method=method)


def _clockwise_rotation(container: InputContainer, video: VideoStream) -> int:
    """The clockwise turn the display matrix asks for (0, 90, 180, 270), read from the first frame."""
    first = next(container.decode(video), None)
    container.seek(0)
    if first is None:
        raise RenditionError("the video has no frame that decodes")
    return round(-first.rotation / 90) % 4 * 90


def _copied_stream(output: OutputContainer, template: Stream) -> Stream:
    stream = output.add_stream_from_template(template)
    stream.metadata.clear()  # language, handler and encoder names, and whatever a camera put there
    return stream


def _write(
    container: InputContainer,
    output: OutputContainer,
    video: VideoStream,
    audio: AudioStream | None,
    rotation: int,
    copy_video: bool,
    copy_audio: bool,
) -> tuple[int, int]:
    """One pass over the upload: each stream copied packet for packet, or decoded and encoded again (video as
    H.264 turned upright, audio as AAC). Returns the delivered picture's size."""
    video_target: Any = (
        _copied_stream(output, video) if copy_video else _h264_encoder(output, video, rotation)
    )
    audio_target: Any = None
    if audio is not None:
        audio_target = (
            _copied_stream(output, audio) if copy_audio else output.add_stream("aac", rate=audio.rate)
        )
    graph = None if copy_video else _upright_graph(video, rotation)
    pictures = 0
    for packet in container.demux(*(stream for stream in (video, audio) if stream is not None)):
        is_video = packet.stream.index == video.index
        if copy_video if is_video else copy_audio:
            if packet.dts is not None:  # not the flush packet demux yields at the end of each stream
                pictures += is_video
                packet.stream = video_target if is_video else audio_target
                output.mux(packet)
            continue
        for frame in packet.decode():
            if not is_video:
                output.mux(audio_target.encode(frame))
                continue
            upright_graph = cast(av.filter.Graph, graph)  # video is decoded only when it is not copied
            upright_graph.push(cast(av.VideoFrame, frame))
            for upright in _pulled(upright_graph):
                output.mux(video_target.encode(upright))
                pictures += 1
    if graph is not None:
        graph.push(None)
        for upright in _pulled(graph):
            output.mux(video_target.encode(upright))
            pictures += 1
        output.mux(video_target.encode())
    if audio_target is not None and not copy_audio:
        output.mux(audio_target.encode())
    if not pictures:
        raise RenditionError("the video has no frame that decodes")
    return video_target.width, video_target.height


def _h264_encoder(output: OutputContainer, video: VideoStream, rotation: int) -> VideoStream:
    encoder = output.add_stream("libx264", rate=video.average_rate or Fraction(25))
    encoder.options = {"crf": TRANSCODE_CRF, "preset": TRANSCODE_PRESET}
    encoder.pix_fmt = "yuv420p"
    # Sized before anything is muxed: the container opens every encoder with its first packet, audio or not.
    width, height = video.codec_context.width, video.codec_context.height
    if rotation in (90, 270):
        width, height = height, width
    encoder.width, encoder.height = width // 2 * 2, height // 2 * 2
    return encoder


def _upright_graph(video: VideoStream, rotation: int) -> av.filter.Graph:
    """Frames turned upright, cropped to even sides (4:2:0 chroma needs them), in the encoder's format."""
    graph = av.filter.Graph()
    steps = [graph.add_buffer(template=video)]
    steps += [graph.add(name, argument) for name, argument in UPRIGHT_FILTERS.get(rotation, [])]
    steps.append(graph.add("crop", "floor(iw/2)*2:floor(ih/2)*2"))
    steps.append(graph.add("format", "yuv420p"))
    steps.append(graph.add("buffersink"))
    for upstream, downstream in itertools.pairwise(steps):
        upstream.link_to(downstream)
    graph.configure()
    return graph


def _pulled(graph: av.filter.Graph):
    while True:
        try:
            yield graph.vpull()
        except (av.BlockingIOError, av.EOFError):
            return
