"""Figures the notebooks share: image grids, kernels and feature maps.

Every function draws into a new figure and returns it; the notebook ends the cell with ``plt.show()``.
Arrays may be numpy arrays or torch tensors.
"""

from __future__ import annotations

import math
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np


def _numpy(a) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def show_images(images, titles: Sequence[str] | None = None, ncols: int = 8, scale: float = 1.2,
                cmap: str = "gray", symmetric: bool = False):
    """A grid of images. images: (N, H, W) or (N, 1, H, W); titles: N strings or None.

    symmetric=True centres the colour map on 0 (blue negative, red positive): right for filter responses.
    """
    images = _numpy(images)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(f"show_images expects (N, H, W) or (N, 1, H, W), got shape {images.shape}")
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(scale * ncols, scale * nrows + (0.3 * nrows if titles else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        if symmetric:
            bound = float(np.abs(images[i]).max()) or 1.0
            ax.imshow(images[i], cmap="bwr", vmin=-bound, vmax=bound)
        else:
            ax.imshow(images[i], cmap=cmap)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    fig.tight_layout()
    return fig


def show_kernels(weights, titles: Sequence[str] | None = None, ncols: int = 8, annotate: bool = False,
                 scale: float = 1.2):
    """Convolution kernels on a symmetric colour scale. weights: (K, kh, kw) or (C_out, C_in, kh, kw)
    (then every (out, in) pair is one tile). annotate=True writes each weight's value in its square."""
    w = _numpy(weights)
    if w.ndim == 2:
        w = w[None]
    if w.ndim == 4:
        c_out, c_in = w.shape[:2]
        if titles is None:
            titles = [f"out {o}, in {i}" for o in range(c_out) for i in range(c_in)]
        w = w.reshape(c_out * c_in, *w.shape[2:])
    fig = show_images(w, titles=titles, ncols=ncols, symmetric=True, scale=scale)
    if annotate:
        for ax, kernel in zip(fig.axes, w):
            for (r, c), value in np.ndenumerate(kernel):
                ax.text(c, r, f"{value:.2g}", ha="center", va="center", fontsize=7)
    return fig


def show_feature_maps(maps, titles: Sequence[str] | None = None, ncols: int = 8, scale: float = 2.0):
    """Feature maps of one example. maps: (C, H, W) or (1, C, H, W), one tile per channel, centred colour
    scale; ``scale`` is the size of a tile in inches."""
    maps = _numpy(maps)
    if maps.ndim == 4:
        if maps.shape[0] != 1:
            raise ValueError(f"show_feature_maps shows one example: got a batch of {maps.shape[0]}")
        maps = maps[0]
    if titles is None:
        titles = [f"channel {c}" for c in range(len(maps))]
    return show_images(maps, titles=titles, ncols=ncols, symmetric=True, scale=scale)


def plot_sequence(*series, labels: Sequence[str] | None = None, title: str = "", offsets: Sequence[int] | None = None):
    """Stem-style plot of 1-D sequences on one axis; ``offsets`` shifts each series right (valid outputs
    start k//2 samples in, for example)."""
    fig, ax = plt.subplots()
    for i, s in enumerate(series):
        s = _numpy(s)
        start = offsets[i] if offsets else 0
        x = np.arange(start, start + len(s))
        ax.plot(x, s, marker="o", label=labels[i] if labels else None)
    if labels:
        ax.legend()
    ax.set_xlabel("position i")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
