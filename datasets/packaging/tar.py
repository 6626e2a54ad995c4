"""The WebDataset shard writer: ustar members written directly, shards rolled at a size, each one hashed.

A shard is a POSIX ustar archive in which each sample is two consecutive members, `<key>.<ext>` (the media
file) and `<key>.json` (its manifest row). The writer makes every header itself (mode 0644, owner 0:0, no
user or group name, the caller's mtime), so a shard's bytes depend only on its samples and that mtime: a
build killed after shard N-1 and restarted with `start_index=N` and the samples after that shard's last
key writes shards N, N+1, ... byte for byte as an uninterrupted run would have.
"""

import hashlib
import io
import os
import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self, cast

BLOCK = 512
END_OF_ARCHIVE = bytes(2 * BLOCK)
DEFAULT_MAX_SHARD_BYTES = 1_000_000_000
# The 11 octal digits of a ustar size or mtime field hold at most 8 GiB - 1.
MAX_OCTAL_11 = 8**11 - 1
NAME_BYTES = 100
PREFIX_BYTES = 155
# A shard is written in blocks of this size: large enough that syscalls and thread hand-offs per byte are
# negligible, small enough to stay in cache between being filled and being hashed.
BUFFER_BYTES = 1 << 20
# Blocks per file: one being filled while the others wait for, or go through, the hash.
BUFFERS = 4

# WebDataset splits a member name into key and extension at the first dot of its last path component.
KEY_PATTERN = re.compile(r"[a-z0-9_-]+(?:/[a-z0-9_-]+)*")
EXTENSION_PATTERN = re.compile(r"[a-z0-9]+")
PREFIX_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
METADATA_EXTENSION = "json"


def _header_template() -> bytearray:
    header = bytearray(BLOCK)
    header[100:108] = b"0000644\0"  # mode
    header[108:116] = b"0000000\0"  # uid
    header[116:124] = b"0000000\0"  # gid
    header[148:156] = b" " * 8  # the checksum is summed with its own field read as spaces
    header[156:157] = b"0"  # a regular file
    header[257:265] = b"ustar\x0000"  # POSIX magic and version
    header[329:337] = b"0000000\0"  # devmajor
    header[337:345] = b"0000000\0"  # devminor
    return header


_HEADER_TEMPLATE = bytes(_header_template())


def padded(size: int) -> int:
    """`size` rounded up to whole 512-byte blocks, as a member's data is stored."""
    return -(-size // BLOCK) * BLOCK


def split_name(name: str) -> tuple[bytes, bytes]:
    """The (prefix, name) fields of a ustar header for `name`.

    A name over 100 bytes is split at a slash into at most 155 bytes before it and 100 after; a name that
    cannot be split so is refused, because the writer emits no pax or GNU long-name records.
    """
    encoded = name.encode("ascii")
    if len(encoded) <= NAME_BYTES:
        return b"", encoded
    for index, byte in enumerate(encoded):
        if byte == ord("/") and index <= PREFIX_BYTES and len(encoded) - index - 1 <= NAME_BYTES:
            return encoded[:index], encoded[index + 1 :]
    raise ValueError(
        f"member name {name!r} is {len(encoded)} bytes and does not fit a ustar header: it must be at most "
        f"{NAME_BYTES} bytes, or split at a '/' into at most {PREFIX_BYTES} bytes before it and "
        f"{NAME_BYTES} after"
    )


def ustar_header(name: str, size: int, mtime: int) -> bytes:
    """The 512-byte ustar header of a regular file."""
    if not 0 <= size <= MAX_OCTAL_11:
        raise ValueError(f"{name!r} is {size} bytes; a ustar member holds at most {MAX_OCTAL_11} bytes")
    if not 0 <= mtime <= MAX_OCTAL_11:
        raise ValueError(f"mtime {mtime} does not fit a ustar header")
    prefix, short_name = split_name(name)
    header = bytearray(_HEADER_TEMPLATE)
    header[0 : len(short_name)] = short_name
    header[124:136] = b"%011o\0" % size
    header[136:148] = b"%011o\0" % mtime
    header[345 : 345 + len(prefix)] = prefix
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def check_key(key: str) -> None:
    """Refuse a sample key a WebDataset reader would not give back unchanged."""
    if not KEY_PATTERN.fullmatch(key):
        raise ValueError(
            f"sample key {key!r} must be lowercase ASCII letters, digits, '_' and '-' (path components "
            "joined by '/' allowed), with no dot: WebDataset splits the key from the extension at the first dot"
        )


@dataclass(frozen=True)
class ShardInfo:
    """A finished shard: complete, closed, synced to disk if the writer was asked to, under its final name."""

    index: int
    name: str
    path: Path
    size: int
    sha256: str
    samples: int
    first_key: str
    last_key: str


class HashedFile:
    """A file written in whole blocks, each hashed (sha256) by a second thread while the next one fills.

    The digest is of the bytes exactly as written, and on a machine with a second core it is ready about
    when the last byte is: writing runs at the speed of sha256 (about 1.8 GB/s a core with the CPU's SHA
    instructions) rather than of writing and then hashing. Media go through the blocks with readinto, one
    copy in and one out; copying file to file inside the kernel (copy_file_range) saves the copy in but
    leaves the hash to read everything back, which measured 15% slower.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        for _ in range(BUFFERS - 1):
            self._free.put(bytearray(BUFFER_BYTES))
        # Filled blocks in file order, with their length; None once the file is complete.
        self._filled: queue.SimpleQueue[tuple[bytearray, int] | None] = queue.SimpleQueue()
        self._block = bytearray(BUFFER_BYTES)
        self._view = memoryview(self._block)
        self._fill = 0
        self._digest = hashlib.sha256()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._hash_blocks, name=f"sha256 {path.name}", daemon=True)
        self._thread.start()

    def write(self, data: bytes | bytearray) -> None:
        view = memoryview(data)
        while view:
            count = min(len(view), BUFFER_BYTES - self._fill)
            self._view[self._fill : self._fill + count] = view[:count]
            view = view[count:]
            self._filled_by(count)

    def copy_from(self, stream: BinaryIO, size: int, label: str) -> None:
        """Append exactly `size` bytes read from `stream`; EOFError if it ends sooner."""
        readinto = getattr(stream, "readinto", None)
        remaining = size
        while remaining:
            target = self._view[self._fill : self._fill + min(remaining, BUFFER_BYTES - self._fill)]
            if readinto is not None:
                count = readinto(target) or 0
            else:  # an HTTP body, say, which only reads
                chunk = stream.read(len(target))
                count = len(chunk)
                target[:count] = chunk
            if count == 0:
                raise EOFError(f"{label} ended after {size - remaining} of its {size} bytes")
            remaining -= count
            self._filled_by(count)

    def finish(self, *, fsync: bool) -> str:
        """Write what remains, close the file (synced first if `fsync`) and return its hex sha256."""
        self._flush()
        self._filled.put(None)
        if fsync:
            os.fsync(self._fd)  # the hash catches up meanwhile
        self._stop()
        if self._error is not None:
            raise self._error
        return self._digest.hexdigest()

    def abandon(self) -> None:
        """Close the file as it is, without its digest."""
        self._filled.put(None)
        self._stop()

    def _filled_by(self, count: int) -> None:
        self._fill += count
        self.size += count
        if self._fill == BUFFER_BYTES:
            self._flush()

    def _flush(self) -> None:
        if not self._fill:
            return
        # Handed to the hash first, so it is hashed while it is written.
        self._filled.put((self._block, self._fill))
        _write_all(self._fd, self._view[: self._fill])
        self._view.release()
        self._block = self._free.get()  # waits while every other block is still being hashed
        self._view = memoryview(self._block)
        self._fill = 0

    def _stop(self) -> None:
        self._thread.join()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _hash_blocks(self) -> None:
        while (item := self._filled.get()) is not None:
            block, length = item
            try:
                with memoryview(block) as view:
                    self._digest.update(view[:length])
            except BaseException as error:  # raised in the writer's thread by finish()
                self._error = self._error or error
            self._free.put(block)


@dataclass
class _OpenShard:
    index: int
    name: str
    path: Path
    file: HashedFile
    samples: int = 0
    first_key: str = ""
    last_key: str = ""


class ShardWriter:
    """Writes samples into `<prefix>-000000.tar`, `<prefix>-000001.tar`, ... under `directory`.

    A shard takes samples until the next one would make it larger than `max_shard_bytes` (the two
    end-of-archive blocks included); a sample is never split, and one larger than the limit gets a shard of
    its own. A shard is written as `<name>.partial`, then closed (fsynced first if `fsync`), renamed, and
    passed to `on_shard_finished` with its size and sha256; a caller that records those can resume a
    killed build at the next index (see the module docstring). Leaving a `with` block on an exception
    deletes the unfinished shard.
    """

    def __init__(
        self,
        directory: Path,
        prefix: str,
        *,
        mtime: int,
        max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
        start_index: int = 0,
        on_shard_finished: Callable[[ShardInfo], None] | None = None,
        fsync: bool = True,
    ) -> None:
        if not PREFIX_PATTERN.fullmatch(prefix):
            raise ValueError(f"shard prefix {prefix!r} must be ASCII letters, digits, '.', '_' and '-'")
        if not 0 <= mtime <= MAX_OCTAL_11:
            raise ValueError(f"mtime {mtime} does not fit a ustar header")
        if max_shard_bytes < 4 * BLOCK:
            raise ValueError(f"max_shard_bytes {max_shard_bytes} cannot hold even an empty sample")
        if start_index < 0:
            raise ValueError(f"start_index {start_index} is negative")
        self.directory = directory
        self.prefix = prefix
        self.mtime = mtime
        self.max_shard_bytes = max_shard_bytes
        self.on_shard_finished = on_shard_finished
        self.fsync = fsync
        self.finished: list[ShardInfo] = []
        self._next_index = start_index
        self._shard: _OpenShard | None = None
        self._broken = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(
        self,
        key: str,
        media: Path | BinaryIO,
        *,
        extension: str,
        metadata: bytes,
        size: int | None = None,
    ) -> None:
        """Add one sample: `<key>.<extension>` with the bytes of `media`, then `<key>.json` with `metadata`.

        `media` is a path or a binary stream (readinto is used where it has one, else read); a stream that
        cannot seek needs its `size`, and a path given one must have it. Memory use does not grow with the
        media's size: it is read in blocks of BUFFER_BYTES.
        """
        if self._broken:
            raise RuntimeError(
                "this shard writer failed part-way through a sample; resume from the last shard"
            )
        check_key(key)
        if not EXTENSION_PATTERN.fullmatch(extension) or extension == METADATA_EXTENSION:
            raise ValueError(
                f"media extension {extension!r} must be lowercase ASCII letters and digits, not 'json'"
            )
        if self._shard is not None and key == self._shard.last_key:
            # A reader groups consecutive members by key, so the two samples would silently become one.
            raise ValueError(f"sample key {key!r} repeats the previous sample's")
        with _MediaSource(media, size) as source:
            media_header = ustar_header(f"{key}.{extension}", source.size, self.mtime)
            metadata_header = ustar_header(f"{key}.{METADATA_EXTENSION}", len(metadata), self.mtime)
            sample_bytes = 2 * BLOCK + padded(source.size) + padded(len(metadata))
            try:
                shard = self._shard_for(sample_bytes)
                shard.file.write(media_header)
                shard.file.copy_from(source.stream, source.size, source.label)
                shard.file.write(
                    bytes(padded(source.size) - source.size)
                    + metadata_header
                    + metadata
                    + bytes(padded(len(metadata)) - len(metadata))
                )
                shard.samples += 1
                shard.first_key = shard.first_key or key
                shard.last_key = key
            except BaseException:
                self._broken = True
                raise

    def close(self) -> None:
        """Finish the open shard, if any."""
        if self._shard is None:
            return
        if self._broken:
            self.abort()
            return
        try:
            self._finish_shard(self._shard)
        except BaseException:
            self._broken = True
            self.abort()
            raise

    def abort(self) -> None:
        """Drop the open shard without finishing it: its partial file is deleted, and no callback made."""
        shard, self._shard = self._shard, None
        if shard is None:
            return
        shard.file.abandon()
        shard.file.path.unlink(missing_ok=True)

    def _shard_for(self, sample_bytes: int) -> _OpenShard:
        shard = self._shard
        if shard is not None and shard.file.size + sample_bytes + len(END_OF_ARCHIVE) > self.max_shard_bytes:
            self._finish_shard(shard)
            shard = None
        if shard is None:
            index = self._next_index
            name = f"{self.prefix}-{index:06d}.tar"
            # A partial file left by a killed run is overwritten: it was never reported as finished.
            file = HashedFile(self.directory / f"{name}.partial")
            shard = self._shard = _OpenShard(index=index, name=name, path=self.directory / name, file=file)
        return shard

    def _finish_shard(self, shard: _OpenShard) -> None:
        shard.file.write(END_OF_ARCHIVE)
        digest = shard.file.finish(fsync=self.fsync)
        self._shard = None
        os.replace(shard.file.path, shard.path)
        if self.fsync:
            _fsync_directory(self.directory)
        info = ShardInfo(
            index=shard.index,
            name=shard.name,
            path=shard.path,
            size=shard.file.size,
            sha256=digest,
            samples=shard.samples,
            first_key=shard.first_key,
            last_key=shard.last_key,
        )
        self.finished.append(info)
        self._next_index = shard.index + 1
        if self.on_shard_finished is not None:
            self.on_shard_finished(info)


class _MediaSource:
    """A sample's media, opened, with its size known before any byte is written."""

    def __init__(self, media: Path | BinaryIO, size: int | None) -> None:
        self._opened: io.FileIO | None = None
        self.stream: BinaryIO
        if isinstance(media, Path):
            self.label = str(media)
            self._opened = io.FileIO(media, "rb")
            self.stream = cast(BinaryIO, self._opened)
            # Sized from the open file, so a rename or replace of the path meanwhile cannot mismatch.
            self.size = os.fstat(self._opened.fileno()).st_size
            if size is not None and size != self.size:
                self._opened.close()
                raise ValueError(f"{media} is {self.size} bytes, not the {size} expected")
        else:
            self.label = str(getattr(media, "name", None) or "the media stream")
            self.stream = media
            if size is None:
                if not media.seekable():
                    raise ValueError(f"{self.label} cannot seek: give its size")
                position = media.tell()
                size = media.seek(0, os.SEEK_END) - position
                media.seek(position)
            self.size = size

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._opened is not None:
            self._opened.close()


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
