"""The npm package's optimizers and schedules in PyTorch terms. AdamW (decoupled decay) and
Adagrad are PyTorch's own, which compute what the package's do (src/kernels/optimizer/ref.ts);
what differs is set here: decay on matrices only, betas (0.9, 0.95), and clipping by the global
gradient norm as the package clips (scale = clip / norm when norm > clip, no epsilon)."""

import math

import torch

from .network import decays

DEFAULTS = {
    'adamw': {'betas': (0.9, 0.95), 'eps': 1e-8, 'weight_decay': 0.1, 'clip_norm': 1.0},
    'adagrad': {'eps': 1e-10, 'weight_decay': 0.0, 'clip_norm': 1.0},
}
SLOT_KEYS = {'adamw': {'m': 'exp_avg', 'v': 'exp_avg_sq'}, 'adagrad': {'sum': 'sum'}}


def make_optimizer(module, shapes, kind, weight_decay=None):
    """PyTorch's optimizer of that kind over a module's parameters (the model, or FSDP around it), in
    two groups: matrices decay, the rest not. `shapes`: each parameter's shape by checkpoint name
    (FSDP shows flattened shards, and prefixes the names)."""
    settings = DEFAULTS[kind]
    decay = settings['weight_decay'] if weight_decay is None else weight_decay
    named = [(name.replace('_fsdp_wrapped_module.', ''), p) for name, p in module.named_parameters() if p.requires_grad]
    groups = [
        {'params': [p for name, p in named if decays(name, shapes[name])], 'weight_decay': decay},
        {'params': [p for name, p in named if not decays(name, shapes[name])], 'weight_decay': 0.0},
    ]
    if kind == 'adamw':
        return torch.optim.AdamW(groups, lr=1e-3, betas=settings['betas'], eps=settings['eps'])
    if kind == 'adagrad':
        return torch.optim.Adagrad(groups, lr=1e-3, eps=settings['eps'])
    raise ValueError(f"optimizer '{kind}': expected adamw or adagrad")


def load_state(optimizer, kind, model, slots, step):
    """The checkpoint's slots (slot -> {name -> tensor}) and update count into PyTorch's optimizer state."""
    if not slots:
        return
    by_parameter = {p: name for name, p in model.named_parameters()}
    for group in optimizer.param_groups:
        for p in group['params']:
            name = by_parameter[p]
            state = {key: slots[slot][name].to(p.device, p.dtype).clone() for slot, key in SLOT_KEYS[kind].items()}
            state['step'] = torch.tensor(float(step))
            optimizer.state[p] = state


def state_slots(optimizer, kind, model):
    """PyTorch's optimizer state as the checkpoint's slots (zeros where a parameter has not been stepped)."""
    slots = {slot: {} for slot in SLOT_KEYS[kind]}
    for name, p in model.named_parameters():
        state = optimizer.state.get(p, {})
        for slot, key in SLOT_KEYS[kind].items():
            slots[slot][name] = state[key] if key in state else torch.zeros_like(p)
    return slots


def clip_gradients(parameters, clip_norm):
    """Scales the gradients so that their global norm is at most clip_norm; returns the norm before."""
    grads = [p.grad for p in parameters if p.grad is not None]
    norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads)) if grads else torch.tensor(0.0)
    if clip_norm > 0 and float(norm) > clip_norm:
        scale = clip_norm / float(norm)
        for g in grads:
            g.mul_(scale)
    return float(norm)


def learning_rate(schedule, step, plateau=None):
    """The rate at `step` (0-based): warmup, then cosine to the floor, constant, or the plateau's (src/train/schedule.ts)."""
    peak, floor, warmup, total = schedule['peak'], schedule['floor'], schedule['warmupSteps'], schedule['totalSteps']
    if step < warmup:
        return peak * (step + 1) / warmup
    if schedule['kind'] == 'constant':
        return peak
    if schedule['kind'] == 'plateau':
        return plateau['rate'] if plateau else peak
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * progress))


def plateau_after_evaluation(schedule, state, validation_loss):
    """Plateau: the rate divided by the factor after `patience` evaluations without improvement."""
    best = state['best'] if state['best'] is not None else math.inf
    if validation_loss < best:
        return {**state, 'best': validation_loss, 'waited': 0}
    if state['waited'] + 1 < schedule['patience']:
        return {**state, 'waited': state['waited'] + 1}
    return {'rate': max(schedule['floor'], state['rate'] / schedule['factor']), 'best': best, 'waited': 0}


def schedule_of(settings):
    """The schedule a run's settings describe (the npm package's runTraining builds the same)."""
    return {'kind': settings['schedule'], 'peak': settings['lr'], 'floor': settings['minLr'], 'warmupSteps': settings['warmup'],
            'totalSteps': settings['steps'], 'patience': 3, 'factor': 3}
