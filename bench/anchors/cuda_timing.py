"""Timing of a CUDA function for the anchors: five warm-up calls, then five rounds of `reps` calls
between two CUDA events, the median round's time a call in ms (the events time the GPU's work
alone, not Python's launches)."""
import torch


def timed(fn, reps=50):
    for _ in range(5):
        fn()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(5):
        start.record()
        for _ in range(reps):
            fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / reps)
    return sorted(times)[2]
