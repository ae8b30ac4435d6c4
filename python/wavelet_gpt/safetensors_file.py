"""safetensors files read and written with torch alone (the format is a JSON header and raw
little-endian bytes), so that Debian's python3-torch is all this package needs. The files are
the format's own: `safetensors.torch.load_file` reads what `write` writes, and `read` reads
what the npm package writes (checked by the package's tests)."""

import json
import struct

import torch

from .atomic import write_atomic

DTYPES = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16, 'F64': torch.float64, 'I8': torch.int8, 'I32': torch.int32, 'I64': torch.int64, 'U8': torch.uint8}
NAMES = {dtype: name for name, dtype in DTYPES.items()}


class SafetensorsError(ValueError):
    """A file that is not a readable safetensors file; the message names the file and what is wrong."""


def read(path):
    """(tensors by name, in file order; metadata) of a safetensors file. Tensors are CPU copies."""
    with open(path, 'rb') as file:
        data = file.read()
    if len(data) < 8:
        raise SafetensorsError(f'{path}: {len(data)} bytes, too short for a safetensors file')
    (length,) = struct.unpack('<Q', data[:8])
    if length > len(data) - 8:
        raise SafetensorsError(f'{path}: its header claims {length} bytes, the file has {len(data) - 8} after the length')
    try:
        header = json.loads(data[8:8 + length].decode('utf-8'))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SafetensorsError(f'{path}: the header is not JSON ({error})') from None
    metadata = header.pop('__metadata__', {}) or {}
    body = memoryview(data)[8 + length:]
    tensors = {}
    for name, entry in sorted(header.items(), key=lambda item: item[1]['data_offsets'][0]):
        dtype = DTYPES.get(entry.get('dtype'))
        if dtype is None:
            raise SafetensorsError(f"{path}: tensor '{name}' has dtype {entry.get('dtype')!r}; expected one of {', '.join(DTYPES)}")
        begin, end = entry['data_offsets']
        count = 1
        for size in entry['shape']:
            count *= size
        if end > len(body) or end - begin != count * torch.tensor([], dtype=dtype).element_size():
            raise SafetensorsError(f"{path}: tensor '{name}' of shape {entry['shape']} does not fit its bytes {begin}..{end} (cut short?)")
        raw = bytearray(body[begin:end])  # a copy: torch.frombuffer needs a writable buffer that outlives the file's bytes
        flat = torch.frombuffer(raw, dtype=dtype) if count else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(entry['shape']).clone()
    return tensors, metadata


def write(path, tensors, metadata):
    """Writes tensors (name -> tensor, in that order) and string metadata atomically: a crash leaves the old file."""
    header = {'__metadata__': {key: str(value) for key, value in metadata.items()}}
    chunks = []
    offset = 0
    for name, tensor in tensors.items():
        tensor = tensor.detach().to('cpu').contiguous()
        raw = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b''
        header[name] = {'dtype': NAMES[tensor.dtype], 'shape': list(tensor.shape), 'data_offsets': [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    encoded = json.dumps(header, separators=(',', ':')).encode('utf-8')
    encoded += b' ' * (-len(encoded) % 8)  # the data starts 8-byte aligned, as the format recommends
    write_atomic(path, [struct.pack('<Q', len(encoded)), encoded, *chunks])
