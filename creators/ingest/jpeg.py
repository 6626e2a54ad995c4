"""A JPEG's structure read from its markers alone, without decoding a pixel.

The markup filter (sniff.py) reads every segment but the compressed data; the image prober (images.py) reads
the frame header, how much compressed data there is and whether the file reaches the end of its picture.
Both walk the file the way libjpeg does, so neither sees a different file from the decoder's.
"""

import mmap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

Buffer = bytes | mmap.mmap

START_OF_SCAN = 0xDA
END_OF_IMAGE = 0xD9
COMMENT = 0xFE
# Markers that stand alone, without a length: TEM, the restart markers and SOI.
STANDALONE = frozenset({0x01, *range(0xD0, 0xD8), 0xD8})
# Start-of-frame markers (C4 defines Huffman tables, C8 is reserved, CC defines arithmetic conditioning).
FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Frames whose decoding holds every DCT coefficient of the picture at once, whatever scale it is decoded at.
PROGRESSIVE_FRAMES = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
ARITHMETIC_FRAMES = frozenset(range(0xC9, 0xD0)) - {0xCC}

PartKind = Literal["segment", "scan", "end", "junk", "after", "cut"]


@dataclass(frozen=True)
class Part:
    """A stretch of the file: a marker segment (scan headers included), a scan's compressed data, an EOI
    marker, bytes between segments that libjpeg skips ("junk"), whatever follows the last picture ("after"),
    or "cut": the file ends before its picture does (the stretch runs from there to the end of the file)."""

    kind: PartKind
    start: int
    end: int
    marker: int | None = None


@dataclass(frozen=True)
class Frame:
    """The first picture's frame header and what its scans hold."""

    marker: int
    width: int
    height: int
    # (horizontal, vertical) sampling factor of each component.
    sampling: tuple[tuple[int, int], ...]
    # Whether the first scan covers fewer components than the frame: then, as in a progressive JPEG, libjpeg
    # keeps every coefficient of the picture until the last scan.
    multiple_scans: bool
    scan_bytes: int  # compressed data, across every scan of the picture
    complete: bool  # the picture's EOI is in the file

    @property
    def progressive(self) -> bool:
        return self.marker in PROGRESSIVE_FRAMES

    @property
    def arithmetic(self) -> bool:
        return self.marker in ARITHMETIC_FRAMES

    def blocks(self) -> int:
        """8 x 8 blocks of DCT coefficients in the whole picture, across its components."""
        most_h = max(h for h, _ in self.sampling)
        most_v = max(v for _, v in self.sampling)
        return sum(
            -(-self.width * h // (8 * most_h)) * -(-self.height * v // (8 * most_v)) for h, v in self.sampling
        )


def parts(data: Buffer) -> Iterator[Part]:
    """Every part of a JPEG in order, pictures stored one after another (CIPA's Multi-Picture Format) included."""
    position = 2  # after SOI
    while position < len(data):
        if data[position] != 0xFF:
            # libjpeg skips bytes up to the next marker (with a warning): so do we, and so must the filters.
            following = data.find(b"\xff", position)
            following = len(data) if following == -1 else following
            yield Part("junk", position, following)
            position = following
            continue
        if position + 2 > len(data):
            break
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1  # fill byte
            continue
        if marker == END_OF_IMAGE:
            yield Part("end", position, position + 2, marker)
            if data[position + 2 : position + 5] == b"\xff\xd8\xff":
                position += 4  # the next picture's first marker, past its SOI
                continue
            if position + 2 < len(data):
                yield Part("after", position + 2, len(data))
            return
        if marker in STANDALONE:
            position += 2
            continue
        if position + 4 > len(data):
            break
        segment_end = position + 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        if segment_end > len(data):
            break
        yield Part("segment", position, segment_end, marker)
        position = segment_end
        if marker == START_OF_SCAN:
            scan_end = _scan_data_end(data, position)
            yield Part("scan", position, scan_end)
            position = scan_end
    yield Part("cut", min(position, len(data)), len(data))


def _scan_data_end(data: Buffer, position: int) -> int:
    """Where a scan's compressed data ends: the first marker that is neither a stuffed 0xFF nor a restart."""
    while (position := data.find(b"\xff", position)) != -1 and position + 1 < len(data):
        following = data[position + 1]
        if following != 0x00 and not 0xD0 <= following <= 0xD7 and following != 0xFF:
            return position
        position += 1
    return len(data)


def first_frame(data: Buffer) -> Frame | None:
    """The first picture's frame, or None when the file has no readable frame header before its first scan."""
    frame: tuple[int, int, int, tuple[tuple[int, int], ...]] | None = None
    multiple_scans = False
    scan_bytes = 0
    first_scan = True
    complete = False
    for part in parts(data):
        if part.kind == "segment" and part.marker in FRAME_MARKERS and frame is None:
            header = data[part.start + 4 : part.end]
            if len(header) < 6 or len(header) < 6 + 3 * header[5]:
                return None
            sampling = tuple(
                (header[7 + 3 * index] >> 4, header[7 + 3 * index] & 0x0F) for index in range(header[5])
            )
            if not sampling or any(h == 0 or v == 0 for h, v in sampling):
                return None
            height, width = int.from_bytes(header[1:3], "big"), int.from_bytes(header[3:5], "big")
            frame = (part.marker, width, height, sampling)
        elif part.kind == "segment" and part.marker == START_OF_SCAN:
            if frame is None:
                return None
            if first_scan and part.end > part.start + 4:
                multiple_scans = data[part.start + 4] < len(frame[3])
            first_scan = False
        elif part.kind == "scan":
            scan_bytes += part.end - part.start
        elif part.kind in ("end", "cut"):
            complete = part.kind == "end"
            break
    if frame is None:
        return None
    marker, width, height, sampling = frame
    return Frame(marker, width, height, sampling, multiple_scans, scan_bytes, complete)
