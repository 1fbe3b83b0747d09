"""The training loop that chapters 09 and 10 (and the classic-nets benchmark) share.

``fit`` trains a classifier with mini-batch gradient descent on the cross-entropy loss and returns a
:class:`History`; ``evaluate`` measures accuracy; ``plot_history`` draws the curves::

    history = fit(model, train=(x_train, y_train), test=(x_test, y_test), epochs=3, lr=0.05)
    print(history.test_accuracy[-1], history.seconds)
    plot_history(history)

Images may be float tensors or numpy arrays of shape (N, 1, 28, 28), or (N, 28, 28) (a channel axis is
added); uint8 images are scaled to [0, 1]. Labels are integers 0..classes-1.

Reproducible: with the same model initialisation and the same ``seed``, two runs give the same numbers.
The batches are shuffled by a ``torch.Generator`` seeded with ``seed``; dropout and augmentation draw from
the global generator, which ``fit`` seeds inside ``torch.random.fork_rng``, so the caller's random state is
the same after the call as before. ``fit`` does not change ``torch.set_num_threads``: the caller chooses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

__all__ = ["History", "fit", "evaluate", "plot_history", "as_tensors", "random_crop_flip"]


@dataclass
class History:
    """What ``fit`` measured, one entry per epoch.

    ``train_loss`` is the mean cross-entropy over the epoch's batches and ``train_accuracy`` the fraction of
    training images classified correctly *while* the epoch trained (train mode, weights still changing), so
    both are cheap by-products of training. ``test_accuracy`` is measured after each epoch in eval mode
    (empty without test data). ``seconds`` is the wall time of the training steps only (evaluation is not
    counted); ``epoch_seconds`` splits it by epoch.
    """

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)  # the rate at the end of each epoch

    @property
    def seconds(self) -> float:
        return float(sum(self.epoch_seconds))

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def __str__(self) -> str:
        if not self.train_loss:
            return "History(no epoch trained)"
        test = f", test accuracy {self.test_accuracy[-1]:.3f}" if self.test_accuracy else ""
        return (f"{self.epochs} epochs in {self.seconds:.1f} s: train loss {self.train_loss[-1]:.3f}, "
                f"train accuracy {self.train_accuracy[-1]:.3f}{test}")


def as_tensors(images, labels) -> tuple[torch.Tensor, torch.Tensor]:
    """Images -> float32 tensor (N, C, H, W); labels -> int64 tensor (N,). uint8 images are divided by 255."""
    x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    if x.dtype == torch.uint8:
        x = x.float() / 255.0
    elif not x.is_floating_point():
        x = x.float()
    if x.dim() == 3:                                   # (N, H, W): one channel
        x = x.unsqueeze(1)
    if x.dim() != 4:
        raise ValueError(f"images must have shape (N, C, H, W) or (N, H, W), got {tuple(x.shape)}")
    y = torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor) else labels).long()
    if y.shape != (x.shape[0],):
        raise ValueError(f"labels must have shape ({x.shape[0]},) to match the images, got {tuple(y.shape)}")
    return x, y


def random_crop_flip(padding: int = 2, flip: bool = True) -> Callable[[torch.Tensor], torch.Tensor]:
    """Light augmentation for ``fit(augment=...)``: each image of a batch (N, C, H, W) is shifted by up to
    ``padding`` pixels each way (zero padding, then a random H x W crop) and, if ``flip``, mirrored left-right
    with probability 1/2. Random numbers come from the global generator (seeded by ``fit``)."""

    def augment(x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        if padding:
            padded = nn.functional.pad(x, (padding, padding, padding, padding))
            # one shift per image: gather rows and columns through index arithmetic, no Python loop
            dy = torch.randint(0, 2 * padding + 1, (n, 1, 1, 1))
            dx = torch.randint(0, 2 * padding + 1, (n, 1, 1, 1))
            rows = (torch.arange(h).view(1, 1, h, 1) + dy).expand(n, x.shape[1], h, padded.shape[3])
            padded = padded.gather(2, rows)
            cols = (torch.arange(w).view(1, 1, 1, w) + dx).expand(n, x.shape[1], h, w)
            x = padded.gather(3, cols)
        if flip:
            mirrored = torch.rand(n) < 0.5
            x = torch.where(mirrored.view(n, 1, 1, 1), x.flip(3), x)
        return x

    return augment


def _optimizer(model: nn.Module, optimizer, lr: float, weight_decay: float, momentum: float):
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    parameters = [p for p in model.parameters() if p.requires_grad]
    name = str(optimizer).lower()
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be 'sgd', 'adam', 'adamw' or a torch.optim.Optimizer, got {optimizer!r}")


def _scheduler(optimizer, schedule, total_steps: int):
    if schedule is None:
        return None
    if schedule == "onecycle":       # warm up for 25% of the steps, then anneal to ~0 (Smith, 2018)
        top = [group["lr"] for group in optimizer.param_groups]
        # one step more than batches: the last step() (after the last batch) lands on the minimum
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=top, total_steps=total_steps + 1,
                                                   pct_start=0.25, cycle_momentum=False)
    if schedule == "cosine":         # from lr down to 0 along half a cosine, one step per batch
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    raise ValueError(f"schedule must be None, 'onecycle' or 'cosine', got {schedule!r}")


def fit(model: nn.Module, train, test=None, epochs: int = 3, lr: float = 0.05, optimizer="sgd",
        batch_size: int = 64, weight_decay: float = 0.0, seed: int = 0, progress: bool = True, *,
        momentum: float = 0.9, schedule: str | None = None, augment: Callable | None = None,
        label_smoothing: float = 0.0) -> History:
    """Train ``model`` on ``train = (images, labels)`` for ``epochs`` passes; return the :class:`History`.

    optimizer: "sgd" (with ``momentum``, default 0.9), "adam", "adamw", or a ready ``torch.optim.Optimizer``
    over the model's parameters (then ``lr``, ``weight_decay`` and ``momentum`` are its own).
    schedule: None (constant rate), "onecycle" (rise to ``lr``, then fall to ~0) or "cosine" (fall from
    ``lr`` to 0); stepped after every batch. augment: a function batch -> batch applied to each training
    batch, e.g. :func:`random_crop_flip`. label_smoothing: as in ``nn.CrossEntropyLoss``.
    The last batch of an epoch may be smaller; a last batch of a single image is skipped, since batch
    normalisation cannot train on one image. progress: show a tqdm bar (loss and accuracy so far).
    ``test = (images, labels)`` is evaluated after each epoch. The model is left in eval mode.
    """
    from tqdm.auto import tqdm

    x_train, y_train = as_tensors(*train)
    test = as_tensors(*test) if test is not None else None
    n = len(y_train)
    batches_per_epoch = n // batch_size + (n % batch_size > 1)
    opt = _optimizer(model, optimizer, lr, weight_decay, momentum)
    scheduler = _scheduler(opt, schedule, epochs * batches_per_epoch)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    shuffler = torch.Generator().manual_seed(seed)
    history = History()
    bar = tqdm(total=epochs * batches_per_epoch, disable=not progress, unit="batch", leave=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for epoch in range(epochs):
            model.train()
            order = torch.randperm(n, generator=shuffler)
            loss_sum = torch.zeros(())
            correct = torch.zeros((), dtype=torch.long)
            seen = 0
            start = time.perf_counter()
            for first in range(0, n, batch_size):
                index = order[first:first + batch_size]
                if len(index) < 2 and seen:
                    continue
                x, y = x_train[index], y_train[index]
                if augment is not None:
                    x = augment(x)
                scores = model(x)
                loss = loss_fn(scores, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if scheduler is not None:
                    scheduler.step()
                with torch.no_grad():      # kept as tensors: no per-batch synchronisation with Python
                    loss_sum += loss.detach() * len(y)
                    correct += (scores.argmax(1) == y).sum()
                seen += len(y)
                bar.update(1)
                if progress and bar.n % 20 == 0:
                    bar.set_postfix(epoch=epoch + 1, loss=f"{loss_sum.item() / seen:.3f}",
                                    accuracy=f"{correct.item() / seen:.3f}", refresh=False)
            history.epoch_seconds.append(time.perf_counter() - start)
            history.train_loss.append(loss_sum.item() / seen)
            history.train_accuracy.append(correct.item() / seen)
            history.learning_rate.append(opt.param_groups[0]["lr"])
            if test is not None:
                history.test_accuracy.append(evaluate(model, test))
                bar.set_postfix(epoch=epoch + 1, loss=f"{history.train_loss[-1]:.3f}",
                                test_accuracy=f"{history.test_accuracy[-1]:.3f}")
    bar.close()
    model.eval()
    return history


def evaluate(model: nn.Module, data, batch_size: int = 256) -> float:
    """The fraction of ``data = (images, labels)`` that ``model`` classifies correctly (highest score).

    Runs in eval mode (dropout off, batch normalisation with its running statistics) under ``no_grad``, and
    puts the model back in the mode it was in.
    """
    x, y = as_tensors(*data)
    was_training = model.training
    model.eval()
    correct = 0
    try:
        with torch.no_grad():
            for first in range(0, len(y), batch_size):
                scores = model(x[first:first + batch_size])
                correct += int((scores.argmax(1) == y[first:first + batch_size]).sum())
    finally:
        model.train(was_training)
    return correct / max(len(y), 1)


def plot_history(history: History, ax=None):
    """Training loss (left panel) and training/test accuracy (right panel) against the epoch.

    ax: None (a new figure with two panels), a pair of axes, or one axes (loss on it, accuracy on a twin
    y-axis on the right). Returns the two axes.
    """
    import matplotlib.pyplot as plt

    twin = ax is not None and not isinstance(ax, (list, tuple, np.ndarray))
    if ax is None:
        _, (loss_ax, accuracy_ax) = plt.subplots(1, 2, figsize=(7, 3), layout="constrained")
    elif twin:
        loss_ax, accuracy_ax = ax, ax.twinx()
    else:
        loss_ax, accuracy_ax = ax
    epochs = np.arange(1, history.epochs + 1)
    loss_ax.plot(epochs, history.train_loss, "o-", color="C0", label="training loss")
    accuracy_ax.plot(epochs, history.train_accuracy, "s--", color="C1", label="training accuracy")
    if history.test_accuracy:
        accuracy_ax.plot(epochs, history.test_accuracy, "^-", color="C2", label="test accuracy")
    loss_ax.set_ylabel("cross-entropy loss")
    accuracy_ax.set_ylabel("accuracy")
    for axes in (loss_ax, accuracy_ax):
        axes.set_xlabel("epoch")
        if history.epochs <= 12:
            axes.set_xticks(epochs)
    if twin:                                   # one legend for the two y-axes
        lines = loss_ax.get_lines() + accuracy_ax.get_lines()
        loss_ax.legend(lines, [line.get_label() for line in lines], loc="center right")
    else:
        loss_ax.legend(loc="upper right")
        accuracy_ax.legend(loc="lower right")
    return loss_ax, accuracy_ax
