"""The shared training loop (utils/training.py): it learns, it is reproducible, it evaluates in eval mode."""

import numpy as np
import pytest
import torch
from torch import nn

from utils.training import History, as_tensors, evaluate, fit, plot_history, random_crop_flip


def blobs(n=240, seed=0):
    """Three well-separated classes of 1x4x4 'images' (a bright quadrant per class): learnable in a few epochs."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(0.0, 0.3, (n, 1, 4, 4)).astype(np.float32)
    for label, (r, c) in enumerate([(0, 0), (0, 2), (2, 0)]):
        x[y == label, 0, r:r + 2, c:c + 2] += 2.0
    return x, y


def small_net(dropout=0.0, batch_norm=False):
    torch.manual_seed(0)
    layers = [nn.Flatten(), nn.Linear(16, 12)]
    layers += [nn.BatchNorm1d(12)] if batch_norm else []
    layers += [nn.ReLU(), nn.Dropout(dropout), nn.Linear(12, 3)]
    return nn.Sequential(*layers)


def test_loss_decreases_and_accuracy_rises():
    x, y = blobs()
    history = fit(small_net(), (x, y), test=blobs(90, seed=1), epochs=4, lr=0.05, batch_size=16, progress=False)
    assert isinstance(history, History) and history.epochs == 4
    assert len(history.train_accuracy) == len(history.test_accuracy) == len(history.epoch_seconds) == 4
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.test_accuracy[-1] > 0.9
    assert history.seconds == pytest.approx(sum(history.epoch_seconds)) and history.seconds > 0
    assert "4 epochs" in str(history)


def test_same_seed_same_run_and_caller_random_state_untouched():
    x, y = blobs()
    runs = []
    for _ in range(2):
        model = small_net(dropout=0.5)
        torch.manual_seed(123)
        before = torch.rand(3)
        torch.manual_seed(123)
        history = fit(model, (x, y), epochs=2, batch_size=16, seed=7, progress=False,
                      augment=random_crop_flip(padding=1))
        assert torch.equal(torch.rand(3), before), "fit must not consume the caller's random numbers"
        runs.append((history, torch.cat([p.detach().flatten() for p in model.parameters()])))
    assert runs[0][0].train_loss == runs[1][0].train_loss
    assert torch.equal(runs[0][1], runs[1][1])
    other = small_net(dropout=0.5)
    fit(other, (x, y), epochs=2, batch_size=16, seed=8, progress=False)
    assert not torch.equal(torch.cat([p.detach().flatten() for p in other.parameters()]), runs[0][1])


def test_numpy_uint8_images_without_channel_axis():
    x, y = as_tensors(np.full((5, 28, 28), 255, dtype=np.uint8), np.arange(5))
    assert x.shape == (5, 1, 28, 28) and x.dtype == torch.float32 and float(x.max()) == 1.0
    assert y.dtype == torch.int64
    with pytest.raises(ValueError, match="labels"):
        as_tensors(np.zeros((5, 28, 28)), np.arange(4))


def test_threads_unchanged_and_model_left_in_eval_mode():
    x, y = blobs(65)
    threads = torch.get_num_threads()
    model = small_net(batch_norm=True)      # 65 = 64 + 1: the batch of one image must be skipped, not crash
    history = fit(model, (x, y), epochs=1, batch_size=64, progress=False)
    assert torch.get_num_threads() == threads
    assert not model.training and history.epochs == 1


class Recorder(nn.Module):
    """Scores = the first three pixels; records the mode and grad state it ran under."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled(), len(x)))
        return x.flatten(1)[:, :3]


def test_evaluate_counts_correct_in_eval_mode_without_grad():
    x = np.zeros((5, 1, 2, 2), dtype=np.float32)
    predicted = [0, 1, 2, 2, 0]
    for i, p in enumerate(predicted):
        x[i, 0].flat[p] = 1.0
    labels = np.array([0, 1, 2, 0, 1])                 # the last two are wrong: 3 of 5
    model = Recorder().train()
    assert evaluate(model, (x, labels), batch_size=2) == pytest.approx(0.6)
    assert model.calls == [(False, False, 2), (False, False, 2), (False, False, 1)]
    assert model.training, "evaluate must restore the mode it found"


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_schedules_end_near_zero(schedule):
    x, y = blobs(64)
    history = fit(small_net(), (x, y), epochs=2, lr=0.1, batch_size=16, schedule=schedule, progress=False)
    assert history.learning_rate[-1] < 1e-3 < 0.1


def test_adam_and_ready_optimizer():
    x, y = blobs()
    model = small_net()
    history = fit(model, (x, y), epochs=3, lr=0.01, optimizer="adam", batch_size=16, progress=False)
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    ready = torch.optim.SGD(model.parameters(), lr=0.0)
    weights = [p.detach().clone() for p in model.parameters()]
    fit(model, (x, y), epochs=1, optimizer=ready, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters())), "a ready optimizer's lr is used"
    with pytest.raises(ValueError, match="optimizer"):
        fit(model, (x, y), epochs=1, optimizer="rmsprop", progress=False)


def test_random_crop_flip_shifts_and_mirrors_each_image():
    torch.manual_seed(0)
    x = torch.arange(40 * 2 * 5 * 6, dtype=torch.float32).view(40, 2, 5, 6) + 1   # no zero pixel inside
    flipped = random_crop_flip(padding=0, flip=True)(x)
    same = [(flipped[i] == x[i]).all().item() for i in range(40)]
    mirrored = [(flipped[i] == x[i].flip(2)).all().item() for i in range(40)]
    assert all(s or m for s, m in zip(same, mirrored)) and 5 < sum(mirrored) < 35
    shifted = random_crop_flip(padding=2, flip=False)(x)
    padded = nn.functional.pad(x, (2, 2, 2, 2))
    offsets = set()
    for i in range(40):
        matches = [(dy, dx) for dy in range(5) for dx in range(5)
                   if torch.equal(shifted[i], padded[i, :, dy:dy + 5, dx:dx + 6])]
        assert matches, f"image {i} is not a shifted copy"
        offsets.add(matches[0])
    assert len(offsets) > 5, "the shifts should vary between images"


def test_plot_history_two_panels_or_twin_axes():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = History(train_loss=[1.0, 0.5], train_accuracy=[0.6, 0.8], test_accuracy=[0.55, 0.75],
                      epoch_seconds=[1.0, 1.0])
    loss_ax, accuracy_ax = plot_history(history)
    assert loss_ax is not accuracy_ax and loss_ax.get_ylabel() and accuracy_ax.get_xlabel() == "epoch"
    assert len(accuracy_ax.get_lines()) == 2
    _, ax = plt.subplots()
    loss_ax, accuracy_ax = plot_history(history, ax=ax)
    assert loss_ax is ax and accuracy_ax is not ax
    assert len(ax.get_legend().get_texts()) == 3
    plt.close("all")
