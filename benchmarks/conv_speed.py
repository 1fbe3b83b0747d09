"""Speed of the NumPy convolution layers against PyTorch on CPU.

    python benchmarks/conv_speed.py [--threads 2] [--repeats 7]

Layer: x (100, 3, 31, 31), w (25, 3, 3, 3), stride 2, pad 1, float64 for all three implementations
(torch runs F.conv2d on float64 tensors; its backward is autograd). The naive loops are timed on a
slice of the batch and scaled to the full batch (the work is linear in N). Budget (docs/DESIGN):
the im2col forward and backward within 3x of torch.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.layers import conv_backward_fast, conv_backward_naive, conv_forward_fast, conv_forward_naive  # noqa: E402

BUDGET = 3.0


def best_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the budget machine has 2 cores)")
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--naive-batch", type=int, default=4, help="batch slice the naive loops are timed on")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 3, 31, 31))
    w = rng.normal(size=(25, 3, 3, 3))
    b = rng.normal(size=25)
    stride, pad = 2, 1
    out, cache = conv_forward_fast(x, w, b, stride, pad)
    dout = rng.normal(size=out.shape)

    # correctness first: all three agree
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    t_out = F.conv2d(tx, tw, tb, stride=stride, padding=pad)
    t_out.backward(torch.from_numpy(dout), retain_graph=True)
    dx, dw, db = conv_backward_fast(dout, cache)
    n = args.naive_batch
    naive_out, naive_cache = conv_forward_naive(x[:n], w, b, stride, pad)
    assert np.allclose(out, t_out.detach().numpy()) and np.allclose(naive_out, out[:n])
    assert np.allclose(dx, tx.grad.numpy()) and np.allclose(dw, tw.grad.numpy()) and np.allclose(db, tb.grad.numpy())

    scale = x.shape[0] / n
    naive_fwd = best_time(lambda: conv_forward_naive(x[:n], w, b, stride, pad), 1) * scale
    naive_bwd = best_time(lambda: conv_backward_naive(dout[:n], naive_cache), 1) * scale
    fast_fwd = best_time(lambda: conv_forward_fast(x, w, b, stride, pad), args.repeats)
    fast_bwd = best_time(lambda: conv_backward_fast(dout, cache), args.repeats)
    tx_, tw_, tb_ = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
    with torch.no_grad():
        torch_fwd = best_time(lambda: F.conv2d(tx_, tw_, tb_, stride=stride, padding=pad), args.repeats)
    t_dout = torch.from_numpy(dout)

    def torch_backward():
        torch.autograd.grad(t_out, (tx, tw, tb), t_dout, retain_graph=True)

    torch_bwd = best_time(torch_backward, args.repeats)

    print(f"conv layer x {x.shape}, w {w.shape}, stride {stride}, pad {pad}; float64; "
          f"torch threads {torch.get_num_threads()}; best of {args.repeats} "
          f"(naive: one run on {n} images, scaled x{scale:g})")
    print(f"{'pass':<9}{'naive (s)':>11}{'fast (s)':>11}{'torch (s)':>11}{'naive/fast':>12}{'fast/torch':>12}")
    ok = True
    for name, t_naive, t_fast, t_torch in [("forward", naive_fwd, fast_fwd, torch_fwd),
                                           ("backward", naive_bwd, fast_bwd, torch_bwd)]:
        ratio = t_fast / t_torch
        ok &= ratio <= BUDGET
        print(f"{name:<9}{t_naive:>11.4f}{t_fast:>11.5f}{t_torch:>11.5f}{t_naive / t_fast:>11.0f}x{ratio:>11.2f}x")
    print(f"budget: fast within {BUDGET:g}x of torch -> {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
