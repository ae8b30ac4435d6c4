"""The npm package's checkpoints: one safetensors file holding the parameters under their names,
the optimizer's state as flat tensors in parameter order (`adamw.m`, `adamw.v`, or
`adagrad.sum`), and in the metadata the model config, the tokenizer, the network description
and the training state (step, schedule, settings). Read into a WaveletNetwork; written back in
the same form, so that `npx wavelet-gpt train --resume` continues a run trained here."""

import json
import os
from dataclasses import dataclass, field

import torch

from . import safetensors_file
from .network import WaveletNetwork

CHECKPOINT_FORMAT = 'wavelet-gpt checkpoint 1'
CHECKPOINT_FILE = 'checkpoint.safetensors'
OPTIMIZER_SLOTS = {'adamw': ('m', 'v'), 'adagrad': ('sum',)}


class CheckpointError(ValueError):
    """A file that is not a checkpoint this package can use; the message names the file and the field."""


@dataclass
class Checkpoint:
    path: str
    model: WaveletNetwork
    metadata: dict
    config: dict
    tokenizer: object
    training: dict
    # slot -> {parameter name -> tensor shaped as the parameter}; empty for weights alone
    optimizer: dict = field(default_factory=dict)

    @property
    def step(self):
        return int(self.training.get('step', 0))

    @property
    def optimizer_kind(self):
        return (self.training.get('optimizer') or {}).get('kind', 'adamw')


def checkpoint_path(path):
    """A run folder's checkpoint file, or the file given."""
    return os.path.join(path, CHECKPOINT_FILE) if os.path.isdir(path) else path


def run_folder(path):
    """The run folder of a run folder or of its checkpoint file (where its log.json is)."""
    return path if os.path.isdir(path) else os.path.dirname(path)


def _json(path, metadata, key):
    if key not in metadata:
        raise CheckpointError(f"{path}: no '{key}' in its metadata")
    try:
        return json.loads(metadata[key])
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: its '{key}' metadata is not JSON ({error})") from None


def load_checkpoint(path, map_location='cpu'):
    """A run folder's checkpoint or a checkpoint file (a lean export too) as a Checkpoint: the model with its weights, and the training state where the file holds one."""
    file = checkpoint_path(path)
    if not os.path.exists(file):
        raise CheckpointError(f"{path}: no such file{' (a run folder holds ' + CHECKPOINT_FILE + ')' if file != path else ''}")
    tensors, metadata = safetensors_file.read(file)
    if metadata.get('format') != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{file}: not a wavelet-gpt checkpoint (format {metadata.get('format')!r})")
    if 'network' not in metadata:
        raise CheckpointError(f"{file}: written by a wavelet-gpt before 0.2, without its network description; write it again with "
                              f"`npx wavelet-gpt train --resume RUN` (one more step) or `npx wavelet-gpt export --checkpoint RUN --out FILE`")
    network = _json(file, metadata, 'network')
    model = WaveletNetwork(network)
    for entry in network['parameters']:
        name, shape = entry['name'], entry['shape']
        stored = tensors.get(name)
        if stored is None:
            raise CheckpointError(f"{file}: tensor '{name}' is missing")
        if stored.dtype == torch.int8:
            raise CheckpointError(f"{file}: tensor '{name}' is int8 (a quantized export, for inference in wavelet-gpt); load a float checkpoint")
        if stored.numel() != _count(shape):
            raise CheckpointError(f"{file}: tensor '{name}' has shape {list(stored.shape)}, the network needs {shape}")
    # strict: every parameter named in the network is in the file (checked above), and only those are loaded
    model.load_state_dict({entry['name']: tensors[entry['name']].float().reshape(entry['shape']) for entry in network['parameters']})
    model.to(map_location)
    training = json.loads(metadata['training']) if 'training' in metadata else {}
    checkpoint = Checkpoint(file, model, metadata, _json(file, metadata, 'config'), _json(file, metadata, 'tokenizer'), training)
    kind = checkpoint.optimizer_kind
    if kind not in OPTIMIZER_SLOTS:
        raise CheckpointError(f"{file}: optimizer '{kind}' in its training metadata; expected one of {', '.join(OPTIMIZER_SLOTS)}")
    count = sum(_count(entry['shape']) for entry in network['parameters'])
    for slot in OPTIMIZER_SLOTS[kind]:
        flat = tensors.get(f'{kind}.{slot}')
        if flat is None:
            checkpoint.optimizer = {}
            break
        if flat.numel() != count:
            raise CheckpointError(f"{file}: '{kind}.{slot}' holds {flat.numel()} values, the parameters {count}")
        checkpoint.optimizer[slot] = _split(flat.float(), network['parameters'])
    return checkpoint


def _count(shape):
    count = 1
    for size in shape:
        count *= size
    return count


def _split(flat, parameters):
    out, offset = {}, 0
    for entry in parameters:
        size = _count(entry['shape'])
        out[entry['name']] = flat[offset:offset + size].reshape(entry['shape'])
        offset += size
    return out


def save_checkpoint(directory, base, state_dict, optimizer_kind, optimizer_slots, training):
    """Writes `directory`/checkpoint.safetensors atomically: the weights (state_dict, by name), the
    optimizer's slots (slot -> {name -> tensor}) flattened in parameter order, `base`'s metadata
    (config, tokenizer, network) and `training` (step, samplerState, plateau, settings, optimizer)."""
    parameters = base.model.description['parameters']
    tensors = {entry['name']: state_dict[entry['name']].detach().float().cpu() for entry in parameters}
    for slot in OPTIMIZER_SLOTS[optimizer_kind]:
        tensors[f'{optimizer_kind}.{slot}'] = torch.cat([optimizer_slots[slot][entry['name']].detach().float().cpu().reshape(-1) for entry in parameters])
    metadata = {key: base.metadata[key] for key in ('config', 'tokenizer', 'network')}
    metadata['format'] = CHECKPOINT_FORMAT
    metadata['training'] = json.dumps(training)
    safetensors_file.write(os.path.join(directory, CHECKPOINT_FILE), tensors, metadata)
