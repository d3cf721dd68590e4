"""Arrow batches -> serialized `tf.train.Example`s and TFRecord framing, column at a time.

The protobuf wire format is written directly with numpy and pyarrow kernels (no per-row Python,
no TensorFlow import), so Beam workers need only numpy, pyarrow and google-crc32c. The message
equals TensorFlow's `tf.train.Example` of the row, same size; map entries are ordered
fixed-size features first, then the others, each group by name (tests/tfrecords/test_encoding.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import google_crc32c
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from twotower_assets.pipelines.feature_spec import Feature

# Wire tags (field number << 3 | wire type 2 = length-delimited).
_TAG_1 = 0x0A  # Example.features, Features.feature entry, MapEntry.key, *List.value, BytesList
_TAG_2 = 0x12  # MapEntry.value, Feature.float_list
_TAG_3 = 0x1A  # Feature.int64_list
_KIND_TAG = {"string": _TAG_1, "float": _TAG_2, "int": _TAG_3}

# A segment of a per-row header: constant bytes, a varint per row (1-D integers), raw bytes per
# row (2-D uint8), or any of these present only on the rows where a boolean mask is true.
Segment = bytes | np.ndarray | tuple[bytes | np.ndarray, np.ndarray]

_VARINT_LIMITS = np.array([1 << shift for shift in range(7, 64, 7)], dtype=np.uint64)


class EncodingError(ValueError):
    """A batch cannot be encoded; the message names the column and the offending row."""


def spec_hash(features: Sequence[Feature]) -> str:
    """A short hash of names, dtypes and shapes: readers compare it with the manifest's."""
    text = json.dumps([[f.name, f.dtype, f.shape] for f in features])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def varint_sizes(values: np.ndarray) -> np.ndarray:
    """Bytes each unsigned value takes as a protobuf varint (1..10)."""
    values = values.astype(np.uint64, copy=False)
    sizes = np.ones(len(values), dtype=np.int64)
    if not len(values):
        return sizes
    # One comparison per byte the largest value needs (most are 1-2): about 5x faster than
    # searchsorted over the ten limits, which was a quarter of the encoding time.
    top = int(values.max())
    for limit in _VARINT_LIMITS:
        if top < int(limit):
            break
        sizes += values >= limit
    return sizes


def segment_sizes(segment: Segment, rows: int) -> np.ndarray | int:
    """Bytes a segment adds to each row (an int when every row gets the same)."""
    if isinstance(segment, tuple):
        inner, present = segment
        return np.where(present, segment_sizes(inner, rows), 0)
    if isinstance(segment, bytes):
        return len(segment)
    if segment.ndim == 2:
        return segment.shape[1]
    return varint_sizes(segment)


def _write_varints(
    values: np.ndarray, sizes: np.ndarray, width: int, matrix: np.ndarray, column: int
) -> None:
    for byte in range(width):
        group = (values >> np.uint64(7 * byte)) & np.uint64(0x7F)
        more = sizes > byte + 1
        matrix[:, column + byte] = group | (more.astype(np.uint64) << np.uint64(7))


def compose(segments: Sequence[Segment], rows: int) -> tuple[pa.Array, np.ndarray]:
    """A binary array whose row i is the concatenation of every segment at row i, and sizes."""
    # Per segment: its column width in a (rows x width) byte matrix and its per-row size.
    # Bytes past a row's size (short varints, absent segments) are masked out at the end;
    # when no segment is ragged the matrix is the data as it is (no boolean indexing).
    widths: list[int] = []
    row_sizes: list[np.ndarray | int] = []
    for segment in segments:
        inner = segment[0] if isinstance(segment, tuple) else segment
        if isinstance(inner, bytes):
            size: np.ndarray | int = len(inner)
            width = len(inner)
        elif inner.ndim == 2:
            size = width = inner.shape[1]
        else:
            size = varint_sizes(inner)
            width = int(size.max()) if rows else 1
        if isinstance(segment, tuple):
            size = np.where(segment[1], size, 0)
        widths.append(width)
        row_sizes.append(size)
    total = sum(widths)
    matrix = np.empty((rows, total), dtype=np.uint8)
    mask: np.ndarray | None = None
    column = 0
    for segment, width, size in zip(segments, widths, row_sizes, strict=True):
        inner = segment[0] if isinstance(segment, tuple) else segment
        if isinstance(inner, bytes):
            matrix[:, column : column + width] = np.frombuffer(inner, dtype=np.uint8)
        elif inner.ndim == 2:
            matrix[:, column : column + width] = inner
        else:
            _write_varints(
                inner.astype(np.uint64, copy=False),
                varint_sizes(inner) if isinstance(segment, tuple) else size,
                width,
                matrix,
                column,
            )
        if not isinstance(size, int) and rows and int(size.min()) < width:
            if mask is None:
                mask = np.ones((rows, total), dtype=bool)
            mask[:, column : column + width] = np.arange(width) < size[:, None]
        column += width
    sizes = np.zeros(rows, dtype=np.int64)
    for size in row_sizes:
        sizes += size
    data = matrix.reshape(-1) if mask is None else matrix[mask]
    return _binary_from(data, sizes), sizes


def _binary_from(data: np.ndarray, sizes: np.ndarray) -> pa.Array:
    offsets = np.zeros(len(sizes) + 1, dtype=np.int32)
    np.cumsum(sizes, out=offsets[1:])
    return pa.Array.from_buffers(
        pa.binary(), len(sizes), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _slices(data: pa.Buffer, byte_offsets: np.ndarray) -> pa.Array:
    """Row i = bytes [byte_offsets[i], byte_offsets[i+1]) of `data` (zero copy)."""
    offsets = np.ascontiguousarray(byte_offsets - byte_offsets[0], dtype=np.int32)
    return pa.Array.from_buffers(
        pa.binary(),
        len(offsets) - 1,
        [None, pa.py_buffer(offsets), data.slice(int(byte_offsets[0]))],
    )


def _culprit(batch: pa.RecordBatch, row: int) -> str:
    if "pid" in batch.schema.names:
        return f"row {row} (pid {batch.column('pid')[row].as_py()})"
    if "track_uri_can" in batch.schema.names:
        return f"row {row} (track_uri_can {batch.column('track_uri_can')[row].as_py()!r})"
    return f"row {row}"


def _require_no_nulls(batch: pa.RecordBatch, array: pa.Array, name: str, what: str) -> None:
    if array.null_count:
        row = int(np.flatnonzero(np.asarray(array.is_null()))[0]) if what == "value" else -1
        where = _culprit(batch, row) if row >= 0 else "a list element"
        raise EncodingError(f"feature {name!r}: NULL {what} at {where}; every feature must be set")


def _string_values(array: pa.Array) -> pa.Array:
    if pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type):
        array = array.cast(pa.binary())
    elif pa.types.is_string(array.type):
        array = array.view(pa.binary())
    elif not pa.types.is_binary(array.type):
        raise EncodingError(f"expected strings, found {array.type}")
    return array


def _value_lengths(array: pa.Array) -> np.ndarray:
    return np.asarray(pc.binary_length(array).fill_null(0), dtype=np.int64)


def _list_payload(
    feature: Feature, column: pa.Array, batch: pa.RecordBatch
) -> tuple[list[Segment], pa.Array, np.ndarray]:
    """Header segments, data and data sizes of the *List payload of a list feature."""
    if pa.types.is_large_list(column.type):
        column = column.cast(pa.list_(column.type.value_type))
    if not pa.types.is_list(column.type):
        raise EncodingError(
            f"feature {feature.name!r}: expected a list column, found {column.type}"
        )
    _require_no_nulls(batch, column, feature.name, "value")
    list_offsets = np.asarray(column.offsets, dtype=np.int64)
    values = column.values.slice(int(list_offsets[0]), int(list_offsets[-1] - list_offsets[0]))
    list_offsets = list_offsets - list_offsets[0]
    _require_no_nulls(batch, values, feature.name, "list element")
    if feature.dtype == "string":
        values = _string_values(values)
        lengths = _value_lengths(values)
        header, _ = compose([bytes([_TAG_1]), lengths], len(values))
        elements = pc.binary_join_element_wise(header, values, b"")
        element_offsets = np.frombuffer(elements.buffers()[1], dtype=np.int32)[
            elements.offset : elements.offset + len(elements) + 1
        ]
        byte_offsets = element_offsets[list_offsets]
        return (
            [],
            _slices(elements.buffers()[2], byte_offsets),
            np.diff(byte_offsets).astype(np.int64),
        )
    if feature.dtype == "float":
        numbers = np.ascontiguousarray(
            values.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False), dtype="<f4"
        )
        byte_offsets = list_offsets * 4
        sizes = np.diff(byte_offsets)
        present = sizes > 0  # protobuf writes nothing for an empty packed field
        return (
            [(bytes([_TAG_1]), present), (sizes, present)],
            _slices(pa.py_buffer(numbers), byte_offsets),
            sizes,
        )
    raise EncodingError(f"feature {feature.name!r}: list of {feature.dtype} is not supported")


def _scalar_payload(
    feature: Feature, column: pa.Array, batch: pa.RecordBatch
) -> tuple[list[Segment], pa.Array | None, np.ndarray]:
    _require_no_nulls(batch, column, feature.name, "value")
    rows = len(column)
    if feature.dtype == "string":
        values = _string_values(column)
        lengths = _value_lengths(values)
        return [bytes([_TAG_1]), lengths], values, lengths
    if feature.dtype == "float":
        numbers = np.ascontiguousarray(
            column.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False), dtype="<f4"
        )
        raw = numbers.view(np.uint8).reshape(rows, 4)
        return [bytes([_TAG_1, 4]), raw], None, np.zeros(rows, np.int64)
    integers = np.asarray(column.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    unsigned = integers.view(np.uint64)  # protobuf int64: two's complement, 10 bytes if < 0
    return [bytes([_TAG_1]), varint_sizes(unsigned), unsigned], None, np.zeros(rows, np.int64)


def encode_examples(batch: pa.RecordBatch | pa.Table, features: Sequence[Feature]) -> pa.Array:
    """One serialized `tf.train.Example` per row of `batch` (columns named like the features)."""
    if isinstance(batch, pa.Table):
        batch = batch.combine_chunks().to_batches()[0] if batch.num_rows else None
        if batch is None:
            return pa.array([], pa.binary())
    rows = batch.num_rows
    missing = [f.name for f in features if f.name not in batch.schema.names]
    if missing:
        raise EncodingError(f"batch lacks feature columns {missing}; found {batch.schema.names}")
    # Entries without variable-length data join the Example header in one composed piece;
    # each other entry adds a composed header and its data. Fewer pieces, faster join.
    fixed: list[Segment] = []
    variable: list[tuple[list[Segment], pa.Array]] = []
    payload_sizes = np.zeros(rows, dtype=np.int64)
    for feature in sorted(features, key=lambda f: f.name):
        column = batch.column(feature.name)
        try:
            if feature.shape == "scalar":
                inner, data, data_sizes = _scalar_payload(feature, column, batch)
            else:
                inner, data, data_sizes = _list_payload(feature, column, batch)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise EncodingError(f"feature {feature.name!r} ({column.type}): {error}") from error
        list_size = sum((segment_sizes(s, rows) for s in inner), data_sizes)
        feature_size = 1 + varint_sizes(list_size) + list_size  # the Feature message
        key = feature.name.encode("utf-8")
        key_field = bytes([_TAG_1, len(key)]) + key + bytes([_TAG_2])
        entry_size = len(key_field) + varint_sizes(feature_size) + feature_size
        segments: list[Segment] = [
            bytes([_TAG_1]),
            entry_size,
            key_field,
            feature_size,
            bytes([_KIND_TAG[feature.dtype]]),
            list_size,
            *inner,
        ]
        payload_sizes += 1 + varint_sizes(entry_size) + entry_size
        if data is None:
            fixed.extend(segments)
        else:
            variable.append((segments, data))
    head, _ = compose([bytes([_TAG_1]), payload_sizes, *fixed], rows)
    pieces: list[pa.Array] = [head]
    for segments, data in variable:
        pieces.extend([compose(segments, rows)[0], data])
    return pc.binary_join_element_wise(*pieces, b"")


def _masked_crc(values: np.ndarray) -> np.ndarray:
    values = values.astype(np.uint64)
    rotated = ((values >> np.uint64(15)) | (values << np.uint64(17))) & np.uint64(0xFFFFFFFF)
    return ((rotated + np.uint64(0xA282EAD8)) & np.uint64(0xFFFFFFFF)).astype("<u4")


def frame_records(records: pa.Array) -> memoryview:
    """TFRecord framing of `records`: length, masked CRC32C of it, data, masked CRC32C of data."""
    rows = len(records)
    if rows == 0:
        return memoryview(b"")
    lengths = _value_lengths(records).astype("<u8")
    length_bytes = lengths.view(np.uint8).reshape(rows, 8)
    # Lengths repeat a lot: checksum each distinct length once.
    distinct, inverse = np.unique(lengths, return_inverse=True)
    distinct_crc = np.array(
        [google_crc32c.value(int(n).to_bytes(8, "little")) for n in distinct], dtype=np.uint64
    )
    length_crc = _masked_crc(distinct_crc)[inverse]
    # google-crc32c takes bytes objects; to_pylist makes them in C, map keeps the loop in C.
    data_crc = _masked_crc(
        np.fromiter(map(google_crc32c.value, records.to_pylist()), dtype=np.uint64, count=rows)
    )
    header = np.hstack([length_bytes, length_crc.view(np.uint8).reshape(rows, 4)])
    head = pa.Array.from_buffers(
        pa.binary(),
        rows,
        [None, pa.py_buffer(np.arange(0, 12 * rows + 1, 12, dtype=np.int32)), pa.py_buffer(header)],
    )
    tail = pa.Array.from_buffers(
        pa.binary(),
        rows,
        [None, pa.py_buffer(np.arange(0, 4 * rows + 1, 4, dtype=np.int32)), pa.py_buffer(data_crc)],
    )
    framed = pc.binary_join_element_wise(head, records, tail, b"")
    start = int(np.frombuffer(framed.buffers()[1], dtype=np.int32)[framed.offset])
    end = int(np.frombuffer(framed.buffers()[1], dtype=np.int32)[framed.offset + rows])
    return memoryview(framed.buffers()[2])[start:end]
