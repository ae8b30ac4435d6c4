"""The PyTorch side of test/python/parity.test.ts: reads a checkpoint written by the npm
package, runs the network on the tokens given, takes one optimizer step as the PyTorch trainer
takes it (wavelet_gpt/optim.py), writes the result back as a checkpoint, and prints what it
computed as JSON. Usage: torch_side.py REQUEST.json [OUT_DIR] (checkpoint, tokens, targets, lr, out; the
paths relative to the request's folder)."""

import json
import os
import sys

import torch

from wavelet_gpt import load_checkpoint, save_checkpoint
from wavelet_gpt.optim import DEFAULTS, clip_gradients, load_state, make_optimizer, state_slots

request = json.load(open(sys.argv[1]))
here = os.path.dirname(os.path.abspath(sys.argv[1]))
out = os.path.join(here, request['out']) if len(sys.argv) < 3 else sys.argv[2]
torch.manual_seed(0)
run = load_checkpoint(os.path.join(here, request['checkpoint']))
model = run.model
tokens = torch.tensor(request['tokens'], dtype=torch.int64)
targets = torch.tensor(request['targets'], dtype=torch.int64)
weights_before = torch.cat([model.tensor(e['name']).detach().reshape(-1) for e in model.description['parameters']])

logits, loss = model(tokens, targets)
loss.backward()
kind = run.optimizer_kind
shapes = {e['name']: e['shape'] for e in model.description['parameters']}
optimizer = make_optimizer(model, shapes, kind)
load_state(optimizer, kind, model, run.optimizer, run.training['optimizer']['t'])
for group in optimizer.param_groups:
    group['lr'] = request['lr']
norm = clip_gradients(model.parameters(), DEFAULTS[kind]['clip_norm'])
optimizer.step()
training = {**run.training, 'step': run.step + 1, 'optimizer': {'kind': kind, 't': run.training['optimizer']['t'] + 1}}
save_checkpoint(out, run, model.state_dict(), kind, state_slots(optimizer, kind, model), training)
json.dump({
    'torch': torch.__version__,
    'state_dict_names': list(model.state_dict().keys()),
    'weights_before': weights_before.tolist(),
    'logits': logits.detach().reshape(-1).tolist(),
    'loss': float(loss),
    'grad_norm': norm,
    'weights_after': torch.cat([model.tensor(e['name']).detach().reshape(-1) for e in model.description['parameters']]).tolist(),
}, sys.stdout)
