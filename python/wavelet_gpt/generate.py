"""Greedy continuation of token ids by a checkpoint's model, each token from a full forward pass
over the last `context` tokens (no cache: the plainest statement of what the model predicts).

  python -m wavelet_gpt.generate --checkpoint runs/torch --tokens 3,1,4 --max-tokens 20

prints the ids of the continuation as JSON."""

import argparse
import json
import sys

import torch

from .checkpoint import CheckpointError, load_checkpoint


@torch.no_grad()
def greedy(model, tokens, count):
    """The `count` most likely next tokens, one after another, after `tokens` (a list of ids)."""
    tokens = list(tokens)
    device = next(model.parameters()).device
    for _ in range(count):
        window = torch.tensor([tokens[-model.context:]], dtype=torch.int64, device=device)
        tokens.append(int(model(window)[0, -1].argmax()))
    return tokens[-count:] if count else []


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m wavelet_gpt.generate', description=__doc__.split('\n\n')[0])
    parser.add_argument('--checkpoint', required=True, help='a run folder or checkpoint file')
    parser.add_argument('--tokens', required=True, help='the prompt as comma-separated token ids')
    parser.add_argument('--max-tokens', type=int, default=20)
    args = parser.parse_args(argv)
    try:
        run = load_checkpoint(args.checkpoint)
        prompt = [int(t) for t in args.tokens.split(',') if t.strip()]
    except (CheckpointError, ValueError) as error:
        print(f'wavelet_gpt.generate: {error}', file=sys.stderr)
        return 2
    bad = [t for t in prompt if not 0 <= t < run.model.vocab_size]
    if not prompt or bad:
        print(f'wavelet_gpt.generate: --tokens: expected ids from 0 to {run.model.vocab_size - 1}, found {args.tokens!r}', file=sys.stderr)
        return 2
    run.model.eval()
    print(json.dumps(greedy(run.model, prompt, args.max_tokens)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
