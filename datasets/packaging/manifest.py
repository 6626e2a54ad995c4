"""The manifest: one row per sample, as manifest.parquet, as manifest.jsonl, and as each sample's `<key>.json`.

The rows come in column by column (as a query's `values_list` gives them) and go into Arrow arrays whole,
which checks every value against SCHEMA in C. The JSON text is then made from those arrays with Arrow's own
kernels, a column at a time (numbers cast to text, strings escaped and quoted, lists joined), never a
Python object per row: so the three forms hold the same values, and a sample's `<key>.json` in its shard
is byte for byte its line in manifest.jsonl, without the newline.
"""

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from datasets.packaging.tar import KEY_PATTERN, check_key

PARQUET_NAME = "manifest.parquet"
JSONL_NAME = "manifest.jsonl"
# Rows turned into JSON at a time: memory stays flat however many samples there are, and the per-batch
# overhead is already negligible at this size.
JSON_BATCH_ROWS = 8192
# JSON's two-character escapes, applied in this order (the backslash first, so no escape is escaped again).
SHORT_ESCAPES = [("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")]
KEY_REGEX = f"^(?:{KEY_PATTERN.pattern})$"  # for Arrow's RE2, whose $ is only the end of the text
# An item of `license_terms`: "<terms slug>/<terms version>", as license_terms_item makes it.
LICENSE_TERMS_REGEX = r"^[-a-zA-Z0-9_]+/[1-9][0-9]*$"

CONSTRAINT = pa.struct(
    [pa.field("use", pa.string(), nullable=False), pa.field("text", pa.string(), nullable=False)]
)

# What the camera recorded that buyers use, moved here from the file (which delivers none of its metadata).
CAMERA = pa.struct(
    [
        pa.field("make", pa.string()),
        pa.field("model", pa.string()),
        pa.field("lens", pa.string()),
        pa.field("focal_length_mm", pa.float64()),
        pa.field("exposure_time_s", pa.float64()),
        pa.field("f_number", pa.float64()),
        pa.field("iso", pa.int32()),
    ]
)
# Where it was taken, to a tenth of a degree (about 10 km): never the exact spot.
PLACE = pa.struct([pa.field("latitude", pa.float64()), pa.field("longitude", pa.float64())])

SCHEMA = pa.schema(
    [
        pa.field("key", pa.string(), nullable=False),
        # Of the delivered file, the `<key>.<ext>` in the shard.
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("bytes", pa.int64(), nullable=False),
        pa.field("media_type", pa.string(), nullable=False),
        # How the delivered file was made from the upload (datasets.packaging.renditions.Method), and the
        # upload's own type: "jpeg-as-uploaded" keeps the compressed picture, "jpeg-lossless-rotation" turned
        # it on whole blocks, "jpeg-reencoded" and "converted" encoded the pixels again, "remuxed" copied the
        # video and audio streams, "transcoded" encoded the video or its sound again.
        pa.field("rendition", pa.string(), nullable=False),
        pa.field("source_media_type", pa.string(), nullable=False),
        # "c2pa" when the file embeds a signed C2PA manifest naming its rights; otherwise why not.
        pa.field("content_credentials", pa.string(), nullable=False),
        # The IPTC digital source type the upload declared, or digitalCapture when it declared none.
        pa.field("digital_source_type", pa.string(), nullable=False),
        # Of the delivered pixels, upright.
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("duration", pa.float64()),  # seconds; videos only
        # Naive datetimes are taken as UTC.
        pa.field("capture_time", pa.timestamp("ms", tz="UTC")),
        pa.field("tags", pa.list_(pa.string()), nullable=False),
        pa.field("caption", pa.string()),
        # Every tier the sample may be licensed under, as license_terms_item names it: "research/1".
        pa.field("license_terms", pa.list_(pa.string()), nullable=False),
        # The CAWG uses the creator consented to (data_mining, ai_inference, ai_training,
        # ai_generative_training), and the creator's words for those consented to with a constraint.
        pa.field("consent_uses", pa.list_(pa.string()), nullable=False),
        pa.field("consent_constraints", pa.list_(CONSTRAINT), nullable=False),
        pa.field("consent_id", pa.string(), nullable=False),
        pa.field("release_ids", pa.list_(pa.string()), nullable=False),
        pa.field("creator_id", pa.string(), nullable=False),  # pseudonymous, stable within the site
        pa.field("camera", CAMERA),
        pa.field("place", PLACE),
        pa.field("blur", pa.float64()),  # variance of the Laplacian; higher is sharper
        pa.field("exposure", pa.float64()),  # mean luminance, 0 (black) to 1 (white), as ingest measures it
        pa.field("resolution_class", pa.string()),
        pa.field("motion", pa.float64()),  # 0 (still) to 1; videos only
        pa.field("face_count", pa.int32()),
    ]
)


NONE = type(None)


def license_terms_item(slug: str, version: int) -> str:
    """One tier as the `license_terms` column names it: "<terms slug>/<terms version>"."""
    return f"{slug}/{version}"


def manifest_table(columns: Mapping[str, Sequence[object]]) -> pa.Table:
    """The manifest as an Arrow table of SCHEMA, from one sequence of values per column (named as in SCHEMA).

    Raises ValueError for a missing or unknown column, columns of different lengths, a value of the wrong
    type, a null where the schema has none, NaN or an infinity (JSON cannot carry them), or a key that is
    not a valid, unique sample key, or a sample without license terms or with one not named as
    license_terms_item names it.
    """
    names = SCHEMA.names
    missing, unknown = set(names) - set(columns), set(columns) - set(names)
    if missing or unknown:
        raise ValueError(f"manifest columns: missing {sorted(missing)}, unknown {sorted(unknown)}")
    lengths = {name: len(columns[name]) for name in names}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"manifest columns differ in length: {lengths}")
    arrays = [_array(field, columns[field.name]) for field in SCHEMA]
    keys = arrays[names.index("key")]
    # A manifest key becomes the member names of its sample in the shard.
    valid = pc.match_substring_regex(keys, KEY_REGEX)
    if not pc.all(valid).as_py():
        check_key(keys.filter(pc.invert(valid))[0].as_py())  # raises, naming the key and the rule
    if pc.count_distinct(keys).as_py() != len(keys):
        raise ValueError("manifest keys repeat: each sample needs its own key")
    _check_license_terms(arrays[names.index("license_terms")])
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def _array(field: pa.Field, values: Sequence[object]) -> pa.Array:
    if pa.types.is_list(field.type) and set(map(type, values)) - {list, tuple, NONE}:
        # Arrow would take a string for the list of its characters, a dict for the list of its keys.
        raise ValueError(f"manifest column {field.name!r} must hold lists")
    try:
        array = pa.array(values, type=field.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as error:
        raise ValueError(f"manifest column {field.name!r}: {error}") from error
    _check_values(field.name, array, nullable=field.nullable)
    return array


def _check_license_terms(terms: pa.ListArray) -> None:
    if pc.any(pc.equal(pc.list_value_length(terms), 0)).as_py():
        raise ValueError("manifest column 'license_terms': a sample must be licensable under some tier")
    items = terms.flatten()
    valid = pc.match_substring_regex(items, LICENSE_TERMS_REGEX)
    if not pc.all(valid).as_py():
        invalid = items.filter(pc.invert(valid))[0].as_py()
        raise ValueError(
            f"manifest column 'license_terms': {invalid!r} is not '<terms slug>/<terms version>', e.g. 'research/1'"
        )


def _check_values(name: str, array: pa.Array, *, nullable: bool) -> None:
    if not nullable and array.null_count:
        raise ValueError(f"manifest column {name!r} has {array.null_count} null value(s)")
    if pa.types.is_list(array.type):
        _check_values(f"{name}[]", array.flatten(), nullable=False)
    elif pa.types.is_struct(array.type):
        for child_field, child in zip(array.type, array.flatten(), strict=True):
            _check_values(f"{name}.{child_field.name}", child, nullable=child_field.nullable)
    elif pa.types.is_floating(array.type) and pc.any(pc.invert(pc.is_finite(array))).as_py():
        raise ValueError(f"manifest column {name!r} holds NaN or an infinity, which JSON cannot carry")


def sample_json(table: pa.Table) -> Iterator[bytes]:
    """Each row as compact JSON (members in SCHEMA order, capture time as RFC 3339 UTC), in row order.

    Each is the `<key>.json` of its sample in the shards, and its line in manifest.jsonl.
    """
    for lines in _json_lines(table):
        for line in lines.cast(pa.binary()).to_pylist():
            yield line[:-1]


def write_manifest(directory: Path, table: pa.Table) -> tuple[Path, Path]:
    """Write manifest.parquet (zstd) and manifest.jsonl (the sample_json of each row) into `directory`."""
    parquet_path, jsonl_path = directory / PARQUET_NAME, directory / JSONL_NAME
    # Arrow lets go of the GIL while it encodes and compresses, so the Parquet file is written on the
    # second core while this thread makes the JSON.
    with ThreadPoolExecutor(max_workers=1) as pool:
        parquet = pool.submit(pq.write_table, table, parquet_path, compression="zstd")
        with jsonl_path.open("wb") as stream:
            for lines in _json_lines(table):
                stream.write(_text_bytes(lines).data)
        parquet.result()
    return parquet_path, jsonl_path


def _json_lines(table: pa.Table) -> Iterator[pa.StringArray]:
    """Batches of rows as JSON text, each row ending in a newline."""
    for batch in table.to_batches(max_chunksize=JSON_BATCH_ROWS):
        yield _object_text(list(batch.schema), batch.columns, close="}\n")


def _json_text(array: pa.Array) -> pa.StringArray:
    """Each value of the array as JSON text, a null as `null`."""
    kind = array.type
    if pa.types.is_timestamp(kind):
        # "2024-05-01 12:00:05.123" (UTC, cast without its zone: many times faster than strftime) as
        # "2024-05-01T12:00:05.123Z", RFC 3339.
        naive = pc.cast(pc.cast(array, pa.timestamp(kind.unit)), pa.string())
        text = pc.replace_substring(naive, " ", "T", max_replacements=1)
        text = pc.binary_join_element_wise('"', text, 'Z"', "")
    elif pa.types.is_integer(kind):
        text = pc.cast(array, pa.string())
    elif pa.types.is_floating(kind):
        # Arrow writes the shortest text that reads back as the same double; ".0" keeps a whole number a
        # float to JSON readers, as Python's json writes it.
        text = pc.cast(array, pa.string())
        if pc.any(pc.equal(pc.floor(array), array)).as_py():  # checked on the numbers: much cheaper
            whole = pc.match_substring_regex(text, r"^-?[0-9]+$")  # not "1e+20"
            text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    elif pa.types.is_string(kind):
        text = _string_text(array)
    elif pa.types.is_list(kind) and kind.value_type == pa.string() and not _needs_escape(array.flatten()):
        # Items that need no escaping are quoted and joined in one pass: '","' between, '["' '"]' around.
        joined = pc.binary_join_element_wise('["', pc.binary_join(array, '","'), '"]', "")
        text = pc.if_else(pc.equal(pc.list_value_length(array), 0), pa.scalar("[]"), joined)
    elif pa.types.is_list(kind):
        items = _json_text(array.flatten())
        offsets = pc.subtract(array.offsets, array.offsets[0])
        joined = pc.binary_join(pa.ListArray.from_arrays(offsets, items), ",")
        text = pc.binary_join_element_wise("[", joined, "]", "")
    elif pa.types.is_struct(kind):
        text = _object_text(list(kind), array.flatten(), close="}")
    else:
        raise TypeError(f"no JSON text for Arrow type {kind}")
    if array.null_count:
        text = pc.if_else(pc.is_valid(array), text, pa.scalar("null"))
    return text


def _string_text(strings: pa.Array) -> pa.StringArray:
    if not _needs_escape(strings):
        return pc.binary_join_element_wise('"', strings, '"', "")
    data = _text_bytes(strings)
    if np.any((data < 0x20) & (data != ord("\t")) & (data != ord("\n")) & (data != ord("\r"))):
        # Rare enough (a stray control character in a caption) to leave to orjson, value by value.
        return pa.array(map(orjson.dumps, strings.to_pylist()), pa.string())
    for character, escape in SHORT_ESCAPES:
        if np.any(data == ord(character)):  # a pass over the bytes is cheaper than a replace that finds none
            strings = pc.replace_substring(strings, character, escape)
    return pc.binary_join_element_wise('"', strings, '"', "")


def _text_bytes(strings: pa.Array) -> np.ndarray:
    """The UTF-8 bytes of the array's strings, end to end (a view of its data buffer, not a copy)."""
    offsets = np.frombuffer(
        strings.buffers()[1], dtype=np.int32, count=len(strings) + 1, offset=4 * strings.offset
    )
    data = strings.buffers()[2]
    return np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]] if data else np.empty(0, np.uint8)


def _needs_escape(strings: pa.Array) -> bool:
    """Whether any string holds a quote, a backslash or a control character."""
    data = _text_bytes(strings)
    # One vectorised pass over the bytes: an order faster than a regular expression string by string.
    return bool(np.any((data < 0x20) | (data == ord('"')) | (data == ord("\\"))))


def _object_text(fields: list[pa.Field], children: Sequence[pa.Array], *, close: str) -> pa.StringArray:
    parts: list[pa.Array | str] = []
    for index, (field, child) in enumerate(zip(fields, children, strict=True)):
        parts += [("{" if index == 0 else ",") + orjson.dumps(field.name).decode() + ":", _json_text(child)]
    return pc.binary_join_element_wise(*parts, close, "")
