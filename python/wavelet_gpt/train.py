"""Continues a wavelet-gpt run in PyTorch, on one process or many under torchrun (DDP, or FSDP
with --fsdp), and writes it back as the npm package writes runs: checkpoint.safetensors (weights,
optimizer state, step, schedule, settings) and log.json, at every evaluation, atomically. The
package's `train --resume` continues what this writes.

  torchrun --nproc-per-node 2 -m wavelet_gpt.train --from runs/mine --data data/mine --steps 400 --out runs/torch

Each step's global batch (--batch x --accumulate sequences) is drawn from the seed and the step
alone and split evenly over the processes, so a run on 1 or on N GPUs sees the same crops and
(up to the order of float sums) takes the same steps."""

import argparse
import json
import math
import os
import statistics
import sys
import time
from contextlib import nullcontext

import torch
import torch.distributed as dist

from .atomic import write_atomic
from .checkpoint import CheckpointError, load_checkpoint, run_folder, save_checkpoint
from .data import Dataset, DatasetError, crops, training_starts, validation_crops
from .network import NetworkError
from .optim import DEFAULTS, SLOT_KEYS, clip_gradients, learning_rate, load_state, make_optimizer, plateau_after_evaluation, schedule_of, state_slots

OVERRIDES = {'steps': int, 'lr': float, 'min_lr': float, 'batch': int, 'accumulate': int, 'eval_every': int, 'eval_batches': int}


def parse(argv):
    parser = argparse.ArgumentParser(prog='python -m wavelet_gpt.train', description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--from', dest='source', required=True, metavar='RUN', help="the run to continue: a run folder (or its checkpoint.safetensors) written by `npx wavelet-gpt train` or by this trainer")
    parser.add_argument('--data', required=True, metavar='DIR', help='a prepared dataset folder (`npx wavelet-gpt data FILE --checkpoint RUN --out DIR`)')
    parser.add_argument('--out', metavar='DIR', help='where the run is written (default: the --from folder itself)')
    parser.add_argument('--steps', type=int, help='train until this step (the run\'s own total by default)')
    parser.add_argument('--lr', type=float, help='peak learning rate')
    parser.add_argument('--min-lr', type=float, help='the floor of the cosine schedule')
    parser.add_argument('--batch', type=int, help='sequences a micro-batch of the global batch (the run\'s --batch by default)')
    parser.add_argument('--accumulate', type=int, help='micro-batches a step: the global batch is batch x accumulate')
    parser.add_argument('--micro-batch', type=int, help='sequences a process runs at once (a divisor of its share); its share at once by default')
    parser.add_argument('--eval-every', type=int, help='steps between evaluations and checkpoints')
    parser.add_argument('--eval-batches', type=int, help='validation batches an evaluation')
    parser.add_argument('--fsdp', action='store_true', help='shard parameters, gradients and optimizer state over the processes (FSDP) instead of replicating them (DDP)')
    parser.add_argument('--device', choices=['cuda', 'cpu'], help='cuda where there is a GPU, otherwise cpu')
    parser.add_argument('--summary', metavar='FILE', help='also write the run\'s summary JSON (throughput, losses) to FILE')
    args = parser.parse_args(argv)
    for name in OVERRIDES:
        value = getattr(args, name)
        if value is not None and (value <= 0 if name in ('lr', 'steps', 'batch', 'accumulate', 'eval_every', 'eval_batches') else value < 0):
            parser.error(f"--{name.replace('_', '-')}: expected a positive number, found {value}")
    return args


def camel(name):
    head, *rest = name.split('_')
    return head + ''.join(part.capitalize() for part in rest)


class Processes:
    """This process's place among the processes torchrun started (one process without torchrun)."""

    def __init__(self, device):
        self.world = int(os.environ.get('WORLD_SIZE', '1'))
        self.rank = int(os.environ.get('RANK', '0'))
        local = int(os.environ.get('LOCAL_RANK', '0'))
        kind = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        self.device = torch.device(kind, local) if kind == 'cuda' else torch.device('cpu')
        if kind == 'cuda':
            torch.cuda.set_device(self.device)
        if self.world > 1:
            dist.init_process_group('nccl' if kind == 'cuda' else 'gloo')

    def total(self, value):
        """The sum over processes of a float."""
        if self.world == 1:
            return value
        tensor = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return float(tensor)

    def say(self, message):
        if self.rank == 0:
            print(message, file=sys.stderr, flush=True)


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except (CheckpointError, DatasetError, NetworkError) as error:
        print(f'wavelet_gpt.train: {error}', file=sys.stderr)
        return 2


def run(args):
    processes = Processes(args.device)
    source = load_checkpoint(args.source)
    settings = dict(source.training.get('settings') or {})
    if not settings or 'optimizer' in source.training and not source.optimizer:
        raise CheckpointError(f'{source.path}: weights alone (an export); continue a run folder, which holds its optimizer state and settings')
    if settings.get('lora') or settings.get('freeze'):
        raise CheckpointError(f'{source.path}: a fine-tuning run with frozen tensors or LoRA adapters; the PyTorch trainer trains whole models')
    for name, kind in OVERRIDES.items():
        if getattr(args, name) is not None:
            settings[camel(name)] = kind(getattr(args, name))
    out = args.out or run_folder(args.source)
    settings['data'] = args.data
    settings['out'] = out
    step0 = source.step
    if step0 >= settings['steps']:
        raise CheckpointError(f'{source.path}: the run is at step {step0} of {settings["steps"]}; give --steps above {step0}')

    dataset = Dataset(args.data)
    T = source.config['context']
    dataset.check(T, source.model.vocab_size, source.tokenizer)
    world, rank = processes.world, processes.rank
    global_batch = settings['batch'] * settings['accumulate']
    if global_batch % world:
        raise CheckpointError(f'the global batch ({settings["batch"]} x {settings["accumulate"]} = {global_batch} sequences) does not split over {world} processes; change --batch or --accumulate')
    share = global_batch // world
    micro = args.micro_batch or share
    if share % micro:
        raise CheckpointError(f'--micro-batch {micro}: expected a divisor of this process\'s share of {share} sequences')

    model = source.model.to(processes.device)
    kind = settings.get('optimizer', 'adamw')
    if args.fsdp:
        from torch.distributed.fsdp import FullyShardedDataParallel
        wrapped = FullyShardedDataParallel(model, use_orig_params=True, device_id=processes.device if processes.device.type == 'cuda' else None)
    elif world > 1:
        wrapped = torch.nn.parallel.DistributedDataParallel(model, device_ids=[processes.device] if processes.device.type == 'cuda' else None)
    else:
        wrapped = model
    shapes = {entry['name']: entry['shape'] for entry in model.description['parameters']}
    optimizer = make_optimizer(wrapped if args.fsdp else model, shapes, kind, settings.get('weightDecay'))
    t = int((source.training.get('optimizer') or {}).get('t', 0))
    if args.fsdp:
        load_sharded_state(wrapped, optimizer, kind, source, t)
    else:
        load_state(optimizer, kind, model, source.optimizer, t)
    clip = DEFAULTS[kind]['clip_norm']
    schedule = schedule_of(settings)
    plateau = source.training.get('plateau') or {'rate': settings['lr'], 'best': None, 'waited': 0}
    seed = int(settings.get('seed', 1))
    validation = validation_crops(dataset.validation, settings['batch'], T, settings['evalBatches'])

    log = read_log(args.source, source, settings, step0)
    processes.say(f'{world} process{"es" if world > 1 else ""} on {processes.device.type} ({"FSDP" if args.fsdp else "DDP" if world > 1 else "one"}), '
                  f'steps {step0} -> {settings["steps"]}, global batch {global_batch} x {T} tokens, {sum(p.numel() for p in model.parameters()):,} parameters')
    speeds, losses = [], []
    for step in range(step0, settings['steps']):
        started = time.perf_counter()
        lr = learning_rate(schedule, step, plateau)
        for group in optimizer.param_groups:
            group['lr'] = lr
        starts = training_starts(dataset.train, global_batch, T, seed, step)[rank * share:(rank + 1) * share]
        loss_sum = torch.zeros((), device=processes.device)
        for first in range(0, share, micro):
            tokens, targets = (part.to(processes.device) for part in crops(dataset.train, starts[first:first + micro], T))
            last = first + micro >= share
            with (wrapped.no_sync() if world > 1 and not last else nullcontext()):
                _, loss = wrapped(tokens, targets)
                (loss * (micro / share)).backward()
            loss_sum += loss.detach() * (micro / share)
        if args.fsdp:
            norm = float(wrapped.clip_grad_norm_(clip))
        else:
            norm = clip_gradients(model.parameters(), clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        t += 1
        loss = processes.total(float(loss_sum)) / world
        seconds = time.perf_counter() - started
        entry = {'step': step, 'loss': loss, 'lr': lr, 'gradNorm': norm, 'tokensPerSecond': round(global_batch * T / seconds)}
        if not math.isfinite(loss) or not math.isfinite(norm):
            raise CheckpointError(f'step {step}: the loss is {loss} and the gradient norm {norm}: training diverged; the last checkpoint in {out} is intact')
        speeds.append(entry['tokensPerSecond'])
        losses.append(loss)
        evaluate = (step + 1) % settings['evalEvery'] == 0 or step + 1 == settings['steps']
        if evaluate:
            entry['validationLoss'] = evaluation(wrapped, validation, processes)
            if schedule['kind'] == 'plateau':
                plateau = plateau_after_evaluation(schedule, plateau, entry['validationLoss'])
        log['entries'].append(entry)
        if evaluate:
            slots = gather_slots(wrapped, optimizer, kind, model) if args.fsdp else state_slots(optimizer, kind, model)
            weights = full_state_dict(wrapped) if args.fsdp else model.state_dict()
            if rank == 0:
                training = {'step': step + 1, 'samplerState': (seed + 1 + (step + 1) * 2654435761) % 2 ** 32,
                            'plateau': {**plateau, 'best': plateau['best'] if plateau['best'] is not None and math.isfinite(plateau['best']) else None},
                            'settings': settings, 'optimizer': {'kind': kind, 't': t}}
                write_json(os.path.join(out, 'log.json'), log)  # the log first, as the npm package writes it: it may run ahead of the checkpoint, never behind
                save_checkpoint(out, source, weights, kind, slots, training)
            processes.say(f"step {step + 1}/{settings['steps']}: loss {loss:.4f}, validation {entry['validationLoss']:.4f} nats, "
                          f"{entry['tokensPerSecond']:,} tokens/s")
    summary = {'world_size': world, 'device': processes.device.type, 'sharding': 'fsdp' if args.fsdp else 'ddp' if world > 1 else 'none',
               'steps': [step0, settings['steps']], 'global_batch': global_batch, 'context': T,
               'tokens_per_second_median': statistics.median(speeds[1:] or speeds), 'losses': losses,
               'validation_loss': log['entries'][-1].get('validationLoss'), 'torch': torch.__version__, 'out': out}
    if rank == 0:
        print(json.dumps(summary))
        if args.summary:
            write_json(args.summary, summary)
    if world > 1:
        # Every process past its last collective before any leaves: a process that left early
        # kept the others waiting in gloo's teardown (PyTorch 1.13, about one run in five).
        dist.barrier()
        del wrapped, optimizer
        dist.destroy_process_group()
    return 0


def evaluation(forward, batches, processes):
    """The mean validation loss, the batches shared out over the processes."""
    total = 0.0
    with torch.no_grad():
        for index in range(processes.rank, len(batches), processes.world):
            tokens, targets = (part.to(processes.device) for part in batches[index])
            total += float(forward(tokens, targets)[1])
    return processes.total(total) / len(batches)


def read_log(source_path, source, settings, step0):
    """The run's log up to its checkpoint's step (entries after it were not kept), or a new one."""
    path = os.path.join(run_folder(source_path), 'log.json')
    entries = []
    if os.path.exists(path):
        try:
            with open(path, encoding='utf-8') as file:
                entries = [entry for entry in json.load(file)['entries'] if entry['step'] < step0]
        except (ValueError, KeyError, TypeError):
            entries = []  # a damaged log costs its history, not the run
    return {'config': source.config, 'settings': settings, 'data': settings['data'], 'entries': entries}


def write_json(path, value):
    write_atomic(path, [json.dumps(value, indent=1).encode('utf-8')])


def full_state_dict(wrapped):
    """FSDP: the whole weights on rank 0 (None elsewhere is fine: only rank 0 writes)."""
    from torch.distributed.fsdp import FullStateDictConfig, FullyShardedDataParallel, StateDictType
    with FullyShardedDataParallel.state_dict_type(wrapped, StateDictType.FULL_STATE_DICT, FullStateDictConfig(offload_to_cpu=True, rank0_only=True)):
        state = wrapped.state_dict()
    return {name.replace('_fsdp_wrapped_module.', ''): value for name, value in state.items()}


def gather_slots(wrapped, optimizer, kind, model):
    """FSDP: the optimizer's whole state, by parameter name, on rank 0."""
    from torch.distributed.fsdp import FullyShardedDataParallel
    full = FullyShardedDataParallel.optim_state_dict(wrapped, optimizer)
    slots = {slot: {} for slot in SLOT_KEYS[kind]}
    shapes = {name: p.shape for name, p in model.named_parameters()}
    for name, shape in shapes.items():
        state = full['state'].get(name, {})
        for slot, key in SLOT_KEYS[kind].items():
            slots[slot][name] = state[key] if key in state else torch.zeros(shape)
    return slots


def load_sharded_state(wrapped, optimizer, kind, source, t):
    """FSDP: the checkpoint's optimizer state, given whole, sharded over the processes."""
    from torch.distributed.fsdp import FullyShardedDataParallel
    if not source.optimizer:
        return
    names = [entry['name'] for entry in source.model.description['parameters']]
    state = {name: {**{key: source.optimizer[slot][name].clone() for slot, key in SLOT_KEYS[kind].items()}, 'step': torch.tensor(float(t))} for name in names}
    groups = [{**{k: v for k, v in group.items() if k != 'params'}, 'params': []} for group in optimizer.param_groups]
    by_parameter = {p: name.replace('_fsdp_wrapped_module.', '') for name, p in wrapped.named_parameters()}
    for group, target in zip(optimizer.param_groups, groups):
        target['params'] = [by_parameter[p] for p in group['params']]
    loaded = FullyShardedDataParallel.optim_state_dict_to_load(wrapped, optimizer, {'state': state, 'param_groups': groups})
    optimizer.load_state_dict(loaded)


if __name__ == '__main__':
    sys.exit(main())
