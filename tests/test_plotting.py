"""The shared figures: right number of panels, symmetric colour scales, clear errors on bad shapes."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from utils.plotting import plot_sequence, show_feature_maps, show_images, show_kernels  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_image_grid_has_one_titled_panel_per_image():
    fig = show_images(np.zeros((5, 1, 28, 28)), titles=list("abcde"), ncols=3)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 6 and len(shown) == 5
    assert [ax.get_title() for ax in shown] == list("abcde")


def test_kernels_use_a_colour_scale_centred_on_zero():
    fig = show_kernels(torch.tensor([[[[-1.0, 0.0, 2.0]]]]), annotate=True)
    image = fig.axes[0].images[0]
    assert image.get_clim() == (-2.0, 2.0)
    assert fig.axes[0].get_title() == "out 0, in 0"
    assert [t.get_text() for t in fig.axes[0].texts] == ["-1", "0", "2"]


def test_feature_maps_of_one_example():
    fig = show_feature_maps(np.random.default_rng(0).normal(size=(1, 3, 6, 6)))
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["channel 0", "channel 1", "channel 2"]
    with pytest.raises(ValueError, match="one example"):
        show_feature_maps(np.zeros((2, 3, 6, 6)))


def test_bad_shape_is_explained():
    with pytest.raises(ValueError, match=r"expects \(N, H, W\) or \(N, 1, H, W\)"):
        show_images(np.zeros((4, 3, 8, 8)))


def test_sequences_share_one_axis():
    fig = plot_sequence([1, 2, 3], [0, 1], labels=["x", "y"], offsets=[0, 1])
    lines = fig.axes[0].get_lines()
    assert [list(line.get_xdata()) for line in lines] == [[0, 1, 2], [1, 2]]


def test_annotations_are_black_on_light_squares_and_white_on_dark_ones():
    fig = show_kernels(np.array([[-4.0, -0.1, 0.0, 4.0]]), annotate=True)
    colours = [t.get_color() for t in fig.axes[0].texts]
    assert colours == ["white", "black", "black", "white"]


def test_signed_maps_carry_a_colour_bar_and_tiles_are_separated():
    fig = show_images(np.random.default_rng(0).normal(size=(3, 5, 7)), symmetric=True)
    with_images = [ax for ax in fig.axes if ax.images]
    assert len(with_images) == 3 and len(fig.axes) == 6  # three maps, three colour bars
    boxes = [ax.get_position() for ax in with_images]
    assert boxes[0].x1 < boxes[1].x0 and boxes[1].x1 < boxes[2].x0
