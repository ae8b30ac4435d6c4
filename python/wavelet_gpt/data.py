"""Prepared datasets of the npm package (`npx wavelet-gpt data ... --out DIR`): dataset.json and
tokens.bin (little-endian ids, 1, 2 or 4 bytes each, training tokens then validation), and the
crops training takes from them: random crops of T + 1 tokens drawn from a seed and the step, so
that every process of a run, however many, draws the same global batch; validation crops spread
evenly over the held-out tokens, as the package takes them."""

import json
import os

import torch

DATASET_FORMAT = 'wavelet-gpt dataset 1'
TOKEN_TYPES = {1: torch.uint8, 2: torch.int16, 4: torch.int32}


class DatasetError(ValueError):
    """A folder that is not a usable dataset; the message names the file and the field."""


class Dataset:
    def __init__(self, directory):
        meta_path = os.path.join(directory, 'dataset.json')
        if not os.path.exists(meta_path):
            raise DatasetError(f"{directory}: no dataset.json; prepare the folder with `npx wavelet-gpt data FILE --checkpoint RUN --out {directory}`")
        with open(meta_path, encoding='utf-8') as file:
            try:
                meta = json.load(file)
            except json.JSONDecodeError as error:
                raise DatasetError(f'{meta_path}: not JSON ({error})') from None
        if meta.get('format') != DATASET_FORMAT:
            raise DatasetError(f"{meta_path}: format {meta.get('format')!r}, expected {DATASET_FORMAT!r}")
        if meta.get('exampleLength') is not None:
            raise DatasetError(f"{meta_path}: a classification dataset ({meta.get('name')}); the PyTorch trainer takes sequences of text, audio or MIDI")
        width = meta.get('tokenBytes')
        if width not in TOKEN_TYPES:
            raise DatasetError(f'{meta_path}: tokenBytes {width!r}, expected 1, 2 or 4')
        tokens_path = os.path.join(directory, 'tokens.bin')
        expected = width * (meta['trainTokens'] + meta['validationTokens'])
        if not os.path.exists(tokens_path) or os.path.getsize(tokens_path) != expected:
            found = os.path.getsize(tokens_path) if os.path.exists(tokens_path) else 'no'
            raise DatasetError(f'{tokens_path}: {found} bytes, expected {expected}; prepare the folder again')
        with open(tokens_path, 'rb') as file:
            raw = bytearray(file.read())
        ids = torch.frombuffer(raw, dtype=TOKEN_TYPES[width]).long()
        if width == 2:
            ids &= 0xFFFF  # uint16 read as int16
        if width == 4:
            ids &= 0xFFFFFFFF
        self.directory = directory
        self.meta = meta
        self.tokenizer = meta['tokenizer']
        self.train = ids[:meta['trainTokens']]
        self.validation = ids[meta['trainTokens']:]

    def check(self, context, vocab_size, tokenizer):
        if tokenizer is not None and self.tokenizer != tokenizer:
            raise DatasetError(f"{self.directory}: its tokenizer differs from the checkpoint's; prepare it with `npx wavelet-gpt data FILE --checkpoint RUN`")
        for part, tokens in (('training', self.train), ('validation', self.validation)):
            if len(tokens) < context + 1:
                raise DatasetError(f'{self.directory}: {len(tokens)} {part} tokens, fewer than a crop of {context + 1}')
        if int(self.train.max()) >= vocab_size:
            raise DatasetError(f'{self.directory}: token id {int(self.train.max())} is outside the model\'s vocabulary of {vocab_size}')


def crops(source, starts, T):
    """Inputs and next-token targets (B, T) of crops of T + 1 tokens at `starts`."""
    index = torch.as_tensor(starts).unsqueeze(1) + torch.arange(T + 1)
    rows = source[index]
    return rows[:, :-1], rows[:, 1:]


def training_starts(source, global_batch, T, seed, step):
    """The crops of one step's global batch: the same for every process and for any number of them."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + step)
    return torch.randint(0, len(source) - T, (global_batch,), generator=generator)


def validation_crops(source, B, T, count):
    """`count` batches of B crops spread evenly over the held-out tokens (the package's validationBatches)."""
    room = len(source) - T - 1
    total = B * count
    starts = [(i * room) // max(1, total - 1) for i in range(total)]
    return [crops(source, starts[k * B:(k + 1) * B], T) for k in range(count)]
