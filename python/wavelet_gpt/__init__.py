"""wavelet-gpt's models in PyTorch: the npm package's checkpoints as torch modules, trained on
many GPUs with torchrun and written back for the npm package."""

from .checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from .network import NetworkError, WaveletNetwork

__all__ = ['Checkpoint', 'CheckpointError', 'NetworkError', 'WaveletNetwork', 'load_checkpoint', 'save_checkpoint']
