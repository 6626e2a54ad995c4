import hashlib
import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import webdataset

from datasets.packaging.tar import BLOCK, ShardInfo, ShardWriter, padded, ustar_header

MTIME = 1_700_000_000
needs_gnu_tar = pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar is not installed")


def _media(directory: Path, sizes: list[int], seed: int = 1) -> list[Path]:
    """Files of the given sizes with distinct, seeded content."""
    directory.mkdir(exist_ok=True)
    paths = []
    for index, size in enumerate(sizes):
        block = hashlib.sha256(f"{seed}-{index}".encode()).digest()
        path = directory / f"media-{index}.bin"
        path.write_bytes((block * (size // len(block) + 1))[:size])
        paths.append(path)
    return paths


def _metadata(key: str) -> bytes:
    return b'{"key":"%s","caption":"caf\xc3\xa9 \\"quoted\\""}' % key.encode()


def _write(directory: Path, media: list[Path], **options) -> list[ShardInfo]:
    directory.mkdir(exist_ok=True)
    with ShardWriter(directory, "set-v1", mtime=MTIME, fsync=False, **options) as writer:
        for index, path in enumerate(media):
            writer.write(f"s{index:04d}", path, extension="jpg", metadata=_metadata(f"s{index:04d}"))
    return writer.finished


def test_tarfile_reads_back_every_member_with_its_bytes_and_header_fields(tmp_path):
    media = _media(tmp_path / "in", [0, 1, 511, 512, 513, 70_000])

    (shard,) = _write(tmp_path / "out", media)

    with tarfile.open(shard.path) as archive:
        members = archive.getmembers()
        assert [member.name for member in members] == [
            name for index in range(len(media)) for name in (f"s{index:04d}.jpg", f"s{index:04d}.json")
        ]
        for index, path in enumerate(media):
            assert archive.extractfile(f"s{index:04d}.jpg").read() == path.read_bytes()
            assert archive.extractfile(f"s{index:04d}.json").read() == _metadata(f"s{index:04d}")
    member = members[0]
    assert (member.mode, member.uid, member.gid, member.uname, member.gname) == (0o644, 0, 0, "", "")
    assert member.mtime == MTIME
    assert member.isreg()


def test_the_shard_ends_with_two_zero_blocks_and_is_whole_blocks(tmp_path):
    (shard,) = _write(tmp_path / "out", _media(tmp_path / "in", [100, 3000]))

    data = shard.path.read_bytes()
    assert len(data) % BLOCK == 0
    assert data[-2 * BLOCK :] == bytes(2 * BLOCK)
    assert shard.size == len(data)


def test_the_reported_sha256_and_size_are_those_of_the_file(tmp_path):
    shards = _write(tmp_path / "out", _media(tmp_path / "in", [3_000_000, 5_000_000, 10]))

    (shard,) = shards
    assert shard.sha256 == hashlib.sha256(shard.path.read_bytes()).hexdigest()
    assert shard.size == shard.path.stat().st_size
    assert (shard.samples, shard.first_key, shard.last_key) == (3, "s0000", "s0002")
    assert shard.name == "set-v1-000000.tar"
    assert not list((tmp_path / "out").glob("*.partial"))


def test_webdataset_reads_every_sample_with_identical_bytes(tmp_path):
    media = _media(tmp_path / "in", [10, 2_000_000, 4096, 77_777])
    shards = _write(tmp_path / "out", media, max_shard_bytes=1_000_000)
    assert len(shards) == 3

    dataset = webdataset.WebDataset([str(shard.path) for shard in shards], shardshuffle=False)
    samples = list(dataset)

    assert [sample["__key__"] for sample in samples] == [f"s{index:04d}" for index in range(len(media))]
    for index, sample in enumerate(samples):
        assert sample["jpg"] == media[index].read_bytes()
        assert sample["json"] == _metadata(f"s{index:04d}")


@needs_gnu_tar
def test_gnu_tar_lists_the_shard(tmp_path):
    (shard,) = _write(tmp_path / "out", _media(tmp_path / "in", [1234, 0]))

    listing = subprocess.run(
        ["tar", "-tvf", str(shard.path)], capture_output=True, text=True, check=True
    ).stdout.splitlines()

    assert len(listing) == 4
    assert listing[0].startswith("-rw-r--r-- 0/0")
    assert listing[0].split()[2] == "1234"
    assert listing[0].endswith(" s0000.jpg")
    assert listing[3].endswith(" s0001.json")


@needs_gnu_tar
def test_gnu_tar_extracts_the_shard_byte_for_byte(tmp_path):
    media = _media(tmp_path / "in", [1234, 600_000])
    (shard,) = _write(tmp_path / "out", media)
    extracted = tmp_path / "extracted"
    extracted.mkdir()

    subprocess.run(["tar", "-xf", str(shard.path), "-C", str(extracted)], check=True)

    assert (extracted / "s0001.jpg").read_bytes() == media[1].read_bytes()


def test_shards_roll_before_exceeding_the_max_size_and_never_split_a_sample(tmp_path):
    sizes = [300_000, 250_000, 400_000, 10, 600_000, 120_000, 500_000, 80_000]
    media = _media(tmp_path / "in", sizes)
    limit = 1_000_000

    shards = _write(tmp_path / "out", media, max_shard_bytes=limit)

    assert len(shards) > 1
    assert [shard.name for shard in shards] == [f"set-v1-{index:06d}.tar" for index in range(len(shards))]
    assert all(shard.size <= limit for shard in shards)
    keys = []
    for shard in shards:
        with tarfile.open(shard.path) as archive:
            names = archive.getnames()
        shard_keys = [name.split(".")[0] for name in names]
        assert shard_keys[::2] == shard_keys[1::2]  # each media member is followed by its own JSON
        assert (shard_keys[0], shard_keys[-1]) == (shard.first_key, shard.last_key)
        assert shard.samples == len(names) // 2
        keys += shard_keys[::2]
    assert keys == [f"s{index:04d}" for index in range(len(media))]


def test_a_shard_is_filled_as_far_as_the_limit_allows(tmp_path):
    media = _media(tmp_path / "in", [10_000] * 10)
    sample = 2 * BLOCK + padded(10_000) + padded(len(_metadata("s0000")))
    limit = 3 * sample + 2 * BLOCK  # exactly three samples and the end-of-archive blocks

    shards = _write(tmp_path / "out", media, max_shard_bytes=limit)

    assert [shard.samples for shard in shards] == [3, 3, 3, 1]
    assert shards[0].size == limit


def test_a_sample_larger_than_the_max_size_gets_a_shard_of_its_own(tmp_path):
    media = _media(tmp_path / "in", [1000, 50_000, 1000])

    shards = _write(tmp_path / "out", media, max_shard_bytes=20_000)

    assert [(shard.first_key, shard.samples) for shard in shards] == [
        ("s0000", 1),
        ("s0001", 1),
        ("s0002", 1),
    ]
    assert shards[1].size > 20_000
    with tarfile.open(shards[1].path) as archive:
        assert archive.extractfile("s0001.jpg").read() == media[1].read_bytes()


def test_each_finished_shard_is_passed_to_the_callback_in_order_once_complete(tmp_path):
    media = _media(tmp_path / "in", [40_000] * 5)
    seen: list[tuple[ShardInfo, bytes]] = []

    shards = _write(
        tmp_path / "out",
        media,
        max_shard_bytes=100_000,
        on_shard_finished=lambda info: seen.append((info, info.path.read_bytes())),
    )

    assert [info for info, _ in seen] == shards
    for info, data in seen:
        # Complete and under its final name when the callback runs.
        assert hashlib.sha256(data).hexdigest() == info.sha256
        assert data.endswith(bytes(2 * BLOCK))


def test_resuming_at_a_shard_index_writes_the_same_shards_as_an_uninterrupted_run(tmp_path):
    media = _media(tmp_path / "in", [30_000, 70_000, 5, 45_000, 45_000, 90_000, 1, 20_000, 60_000])
    limit = 100_000
    whole = _write(tmp_path / "whole", media, max_shard_bytes=limit)
    assert len(whole) >= 4

    # A run killed while writing shard 2, after shards 0 and 1 were reported: its partial file is left.
    killed = tmp_path / "killed"
    killed.mkdir()
    reported: list[ShardInfo] = []
    writer = ShardWriter(killed, "set-v1", mtime=MTIME, fsync=False, max_shard_bytes=limit)
    writer.on_shard_finished = reported.append
    for index, path in enumerate(media):
        if len(reported) == 2:
            break
        writer.write(f"s{index:04d}", path, extension="jpg", metadata=_metadata(f"s{index:04d}"))
    assert (killed / "set-v1-000002.tar.partial").exists()

    last_done = int(reported[-1].last_key.removeprefix("s"))
    with ShardWriter(
        killed, "set-v1", mtime=MTIME, fsync=False, max_shard_bytes=limit, start_index=reported[-1].index + 1
    ) as resumed:
        for index in range(last_done + 1, len(media)):
            resumed.write(f"s{index:04d}", media[index], extension="jpg", metadata=_metadata(f"s{index:04d}"))

    assert [(info.name, info.sha256) for info in reported + resumed.finished] == [
        (info.name, info.sha256) for info in whole
    ]
    for info in whole:
        assert (killed / info.name).read_bytes() == info.path.read_bytes()
    assert not list(killed.glob("*.partial"))


def test_the_same_samples_and_mtime_give_the_same_bytes(tmp_path):
    media = _media(tmp_path / "in", [1000, 20_000])

    first = _write(tmp_path / "first", media)
    second = _write(tmp_path / "second", media)

    assert first[0].sha256 == second[0].sha256


def test_a_stream_is_written_as_a_file_is(tmp_path):
    media = _media(tmp_path / "in", [3_500_000])
    from_path = _write(tmp_path / "path", media)
    out = tmp_path / "stream"
    out.mkdir()

    with ShardWriter(out, "set-v1", mtime=MTIME, fsync=False) as writer, media[0].open("rb") as stream:
        writer.write("s0000", stream, extension="jpg", metadata=_metadata("s0000"))

    assert writer.finished[0].sha256 == from_path[0].sha256


def test_a_stream_that_cannot_seek_is_written_given_its_size(tmp_path):
    payload = b"x" * 1_500_000

    class Unseekable(io.IOBase):
        """Like an HTTP response body (boto3's StreamingBody): read() only, no readinto()."""

        def __init__(self) -> None:
            self._source = io.BytesIO(payload)

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return self._source.read(size)

    with ShardWriter(tmp_path, "set-v1", mtime=MTIME, fsync=False) as writer:
        with pytest.raises(ValueError, match="cannot seek"):
            writer.write("a", Unseekable(), extension="mp4", metadata=b"{}")
        writer.write("a", Unseekable(), extension="mp4", metadata=b"{}", size=len(payload))

    with tarfile.open(writer.finished[0].path) as archive:
        assert archive.extractfile("a.mp4").read() == payload


def test_a_stream_shorter_than_its_size_fails_and_leaves_no_shard(tmp_path):
    with (
        pytest.raises(EOFError, match="ended after 10 of its 20 bytes"),
        ShardWriter(tmp_path, "set-v1", mtime=MTIME, fsync=False) as writer,
    ):
        writer.write("a", io.BytesIO(b"0123456789"), extension="jpg", metadata=b"{}", size=20)

    assert list(tmp_path.iterdir()) == []


def test_a_path_whose_size_differs_from_the_expected_one_is_refused(tmp_path):
    (path,) = _media(tmp_path / "in", [100])

    with ShardWriter(tmp_path, "set-v1", mtime=MTIME, fsync=False) as writer:
        with pytest.raises(ValueError, match="is 100 bytes, not the 99 expected"):
            writer.write("a", path, extension="jpg", metadata=b"{}", size=99)
        writer.write("a", path, extension="jpg", metadata=b"{}", size=100)

    assert writer.finished[0].samples == 1


@pytest.mark.parametrize(
    "key",
    ["", "Upper", "with.dot", "sp ace", "trailing/", "/leading", "a//b", "caf\u00e9", "back\\slash", "a\nb"],
)
def test_a_key_webdataset_would_not_give_back_is_refused(tmp_path, key):
    (path,) = _media(tmp_path / "in", [10])

    with (
        ShardWriter(tmp_path / "in", "set-v1", mtime=MTIME, fsync=False) as writer,
        pytest.raises(ValueError, match="sample key"),
    ):
        writer.write(key, path, extension="jpg", metadata=b"{}")

    assert writer.finished == []


@pytest.mark.parametrize("extension", ["", "JPG", "tar.gz", "json"])
def test_a_bad_media_extension_is_refused(tmp_path, extension):
    (path,) = _media(tmp_path / "in", [10])

    with (
        ShardWriter(tmp_path, "set-v1", mtime=MTIME, fsync=False) as writer,
        pytest.raises(ValueError, match="media extension"),
    ):
        writer.write("a", path, extension=extension, metadata=b"{}")


def test_a_key_repeating_the_previous_sample_is_refused(tmp_path):
    (path,) = _media(tmp_path / "in", [10])

    with ShardWriter(tmp_path, "set-v1", mtime=MTIME, fsync=False) as writer:
        writer.write("a", path, extension="jpg", metadata=b"{}")
        with pytest.raises(ValueError, match="repeats the previous sample"):
            writer.write("a", path, extension="jpg", metadata=b"{}")

    assert writer.finished[0].samples == 1


def test_a_long_name_goes_into_the_ustar_prefix_field(tmp_path):
    (path,) = _media(tmp_path / "in", [321])
    key = f"{'d' * 150}/{'k' * 90}"
    out = tmp_path / "out"
    out.mkdir()

    with ShardWriter(out, "set-v1", mtime=MTIME, fsync=False) as writer:
        writer.write(key, path, extension="jpg", metadata=b"{}")

    header = writer.finished[0].path.read_bytes()[:BLOCK]
    assert header[345 : 345 + 150] == b"d" * 150
    assert header[: 90 + 4] == b"k" * 90 + b".jpg"
    with tarfile.open(writer.finished[0].path) as archive:
        assert archive.getnames() == [f"{key}.jpg", f"{key}.json"]
        assert archive.extractfile(f"{key}.jpg").read() == path.read_bytes()
    assert (
        next(iter(webdataset.WebDataset(str(writer.finished[0].path), shardshuffle=False)))["__key__"] == key
    )


@pytest.mark.parametrize(
    "name",
    [
        "k" * 101,  # over 100 bytes with no slash to split at
        f"{'d' * 156}/{'k' * 10}.jpg",  # the part before the slash is over 155 bytes
        f"{'d' * 10}/{'k' * 101}",  # the part after the last slash is over 100 bytes
    ],
)
def test_a_name_that_fits_no_ustar_header_is_refused_with_the_limits(name):
    with pytest.raises(ValueError, match="does not fit a ustar header: it must be at most 100 bytes"):
        ustar_header(name, 0, MTIME)


def test_a_name_too_long_for_ustar_leaves_the_shard_untouched(tmp_path):
    media = _media(tmp_path / "in", [10, 10])
    out = tmp_path / "out"
    out.mkdir()

    with ShardWriter(out, "set-v1", mtime=MTIME, fsync=False) as writer:
        writer.write("a", media[0], extension="jpg", metadata=b"{}")
        with pytest.raises(ValueError, match="does not fit a ustar header"):
            writer.write("b" * 120, media[1], extension="jpg", metadata=b"{}")
        writer.write("c", media[1], extension="jpg", metadata=b"{}")

    with tarfile.open(writer.finished[0].path) as archive:
        assert archive.getnames() == ["a.jpg", "a.json", "c.jpg", "c.json"]


def test_the_header_checksum_is_what_tar_computes():
    header = ustar_header("dir/sample.jpg", 12345, MTIME)

    info = tarfile.TarInfo.frombuf(header, "ascii", "strict")

    assert (info.name, info.size, info.mtime) == ("dir/sample.jpg", 12345, MTIME)


def test_an_unusable_configuration_is_refused(tmp_path):
    with pytest.raises(ValueError, match="prefix"):
        ShardWriter(tmp_path, "a/b", mtime=MTIME)
    with pytest.raises(ValueError, match="mtime"):
        ShardWriter(tmp_path, "set", mtime=-1)
    with pytest.raises(ValueError, match="start_index"):
        ShardWriter(tmp_path, "set", mtime=MTIME, start_index=-1)


def test_fsync_on_writes_the_same_shard(tmp_path):
    media = _media(tmp_path / "in", [5000])
    out = tmp_path / "out"
    out.mkdir()

    with ShardWriter(out, "set-v1", mtime=MTIME) as writer:
        writer.write("s0000", media[0], extension="jpg", metadata=_metadata("s0000"))

    assert writer.finished[0].sha256 == _write(tmp_path / "unsynced", media)[0].sha256
