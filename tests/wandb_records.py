"""Read the history of an offline wandb run from its `run-*.wandb` file (tests only).

wandb has no public reader for offline runs. The file is a LevelDB-style log: a 7-byte header, then
32 KiB blocks of records (crc32 u32, length u16, type u8: 1 full, 2 first, 3 middle, 4 last), each
holding a serialised `wandb_internal_pb2.Record`.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

_BLOCK, _RECORD_HEADER, _FILE_HEADER = 32 * 1024, 7, 7


def _payloads(data: bytes):
    position, pieces = _FILE_HEADER, []
    while position + _RECORD_HEADER <= len(data):
        left_in_block = _BLOCK - position % _BLOCK
        if left_in_block < _RECORD_HEADER:  # block trailer padding
            position += left_in_block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[position:position + _RECORD_HEADER])
        if kind == 0 and length == 0:  # zero padding at the end
            break
        pieces.append(data[position + _RECORD_HEADER:position + _RECORD_HEADER + length])
        position += _RECORD_HEADER + length
        if kind in (1, 4):
            yield b"".join(pieces)
            pieces = []


def wandb_history(run_file: Path) -> list[dict]:
    """Every `run.log` row of the run, as {key: decoded JSON value}, in order."""
    from wandb.proto import wandb_internal_pb2

    rows = []
    for payload in _payloads(Path(run_file).read_bytes()):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        if record.WhichOneof("record_type") == "history":
            rows.append({item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item})
    return rows
