"""Figures the notebooks share: image grids, kernels and feature maps.

Every function draws into a new figure and returns it; the notebook ends the cell with ``plt.show()``.
Arrays may be numpy arrays or torch tensors.

Legibility rules every figure follows (the house style is set by ``setup_notebook``): text is at least 9 pt
at 100 dpi, a number written on a coloured square takes black or white by the square's brightness
(``annotate_values``), signed maps (blue < 0 < red) carry a colour bar (``colorbar``), and tiles of a grid are
separated by white space.
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


SIGNED_CMAP = "bwr"  # blue negative, white zero, red positive


def annotate_values(ax, values, fmt: str = "{:.2g}", fontsize: float = 9) -> None:
    """Write each entry of the 2-D ``values`` on its square of ``ax``'s image, in black on light squares and
    white on dark ones (the brightness of the colour actually drawn there decides)."""
    values = _numpy(values)
    image = ax.images[-1]
    rgba = image.cmap(image.norm(values))
    for (r, c), value in np.ndenumerate(values):
        red, green, blue = rgba[r, c, :3]
        light = 0.299 * red + 0.587 * green + 0.114 * blue > 0.5
        ax.text(c, r, fmt.format(value), ha="center", va="center", fontsize=fontsize,
                color="black" if light else "white")


def colorbar(ax, label: str = "", shrink: float = 0.8):
    """A colour bar beside ``ax``'s image (for signed maps: what blue and red mean)."""
    bar = ax.figure.colorbar(ax.images[-1], ax=ax, shrink=shrink, pad=0.03)
    bar.ax.tick_params(labelsize=9)
    if label:
        bar.set_label(label, fontsize=9)
    return bar


def show_signed(ax, values, bound: float | None = None, bar: bool = True, label: str = ""):
    """Draw a signed map on ``ax`` on a colour scale centred at 0, with a colour bar unless ``bar=False``."""
    values = _numpy(values)
    bound = bound if bound is not None else (float(np.abs(values).max()) or 1.0)
    ax.imshow(values, cmap=SIGNED_CMAP, vmin=-bound, vmax=bound)
    if bar:
        colorbar(ax, label)
    return ax


def frame(ax, colour: str = "0.6") -> None:
    """A thin border and no ticks around ``ax``'s image: a signed map whose edges are 0 (white) still shows
    where it ends, and neighbouring tiles do not run together."""
    ax.axis("on")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines[:].set_visible(True)
    ax.spines[:].set_color(colour)


def show_images(images, titles: Sequence[str] | None = None, ncols: int = 8, scale: float = 1.4,
                cmap: str = "gray", symmetric: bool = False, colorbars: bool | None = None, frames: bool = False):
    """A grid of images. images: (N, H, W) or (N, 1, H, W); titles: N strings or None.

    symmetric=True centres the colour map on 0 (blue negative, red positive): right for filter responses;
    such maps get a colour bar each unless ``colorbars=False``. frames=True draws a thin border round each
    tile (``frame``), which maps with a white (zero) background need.
    """
    images = _numpy(images)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(f"show_images expects (N, H, W) or (N, 1, H, W), got shape {images.shape}")
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    colorbars = symmetric if colorbars is None else colorbars
    width = scale * ncols * (1.3 if colorbars else 1.0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, scale * nrows + (0.35 * nrows if titles else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        if symmetric:
            show_signed(ax, images[i], bar=colorbars)
        else:
            ax.imshow(images[i], cmap=cmap)
        if frames:
            frame(ax)
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
    fig.tight_layout(w_pad=1.0, h_pad=1.0)  # white space between tiles: each reads as its own picture
    return fig


def show_kernels(weights, titles: Sequence[str] | None = None, ncols: int = 8, annotate: bool = False,
                 scale: float = 1.4):
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
    fig = show_images(w, titles=titles, ncols=ncols, symmetric=True, scale=scale, colorbars=not annotate)
    if annotate:  # the numbers say what a colour bar would
        for ax, kernel in zip([ax for ax in fig.axes if ax.images], w):
            annotate_values(ax, kernel)
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
