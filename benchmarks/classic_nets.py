"""The classic networks of chapters 09 and 10 on the FULL Fashion-MNIST (60,000 / 10,000), on a CPU.

Trains each 28x28 variant (``lenet_fashion``, ``alexnet_fashion``, ``vgg_fashion``, ``nin_fashion``,
``googlenet_fashion``, ``resnet_fashion``, all with their default arguments) with ``utils.training.fit``, for
3 seeds, and prints per net the test accuracy (median and min over the seeds), the median training wall time
and the number of parameters, next to the target taken from the textbook's table (10 epochs on a V100 GPU on
images upsampled to 96-224 pixels): the same accuracy within the same time, on 2 CPU cores::

    python benchmarks/classic_nets.py                    # all nets, 3 seeds (about 50 minutes on 2 cores)
    python benchmarks/classic_nets.py --quick --nets lenet,resnet
    python benchmarks/classic_nets.py --results runs.json --markdown   # resumable; a table for the README

The dataset comes from ``utils.data`` (e.g. Debian's ``dataset-fashion-mnist``; see
``utils/data/fashion_mnist.py``). Each net has its own recipe below (epochs, batch size, optimiser, one-cycle
learning rate, light augmentation); all train in channels-last layout under bfloat16 autocast, which roughly
halves the time on CPUs with bfloat16 instructions (AVX-512 BF16, AMX) and costs no accuracy here. The time
is that of the training steps only (``History.seconds``); the test set is evaluated once, at the end.
"wall s" is the median training wall time, "CPU s" the median CPU time of the training (all threads added
up). "met" compares the accuracy and the wall time with the target. Wall times need an otherwise idle
machine: with 2 threads on 2 cores, one busy neighbour makes every parallel region wait for the slower
thread, and a run can become several times slower than with one thread. On a busy machine use
``--threads 1``: the CPU time, which other processes do not inflate, is then what the run takes on one idle
core.
The benchmark is not part of the test suite.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.data.fashion_mnist import load_fashion_mnist, to_tensors  # noqa: E402
from utils.nets.alexnet import alexnet_fashion  # noqa: E402
from utils.nets.googlenet import googlenet_fashion  # noqa: E402
from utils.nets.lenet import lenet_fashion  # noqa: E402
from utils.nets.nin import nin_fashion  # noqa: E402
from utils.nets.resnet import resnet_fashion  # noqa: E402
from utils.nets.vgg import vgg_fashion  # noqa: E402
from utils.training import evaluate, fit, random_crop_flip  # noqa: E402

BEST_TARGET = 0.93   # the best of the six nets should reach this


@dataclass(frozen=True)
class Recipe:
    epochs: int
    batch_size: int
    lr: float
    optimizer: str = "sgd"          # with momentum 0.9
    weight_decay: float = 5e-4
    schedule: str = "onecycle"
    flip: bool = False              # mirror each training image left-right with probability 1/2
    shift: int = 0                  # and shift it by up to this many pixels each way
    label_smoothing: float = 0.0


@dataclass(frozen=True)
class Net:
    make: object                    # the *_fashion function, called with its defaults
    recipe: Recipe
    target_accuracy: float          # the textbook's test accuracy ...
    target_seconds: float           # ... and training time on its V100


NETS = {
    "lenet": Net(lenet_fashion, Recipe(epochs=5, batch_size=128, lr=0.05), 0.802, 45),
    # with SGD (lr 0.05) AlexNet's dropout head lands between 0.876 and 0.890 depending on the seed
    "alexnet": Net(alexnet_fashion, Recipe(epochs=5, batch_size=128, lr=0.002, optimizer="adamw",
                                           weight_decay=0.05, label_smoothing=0.1), 0.880, 209),
    # without batch norm, VGG's default initialisation barely moves under SGD for an epoch: AdamW does not wait
    "vgg": Net(vgg_fashion, Recipe(epochs=14, batch_size=128, lr=0.002, optimizer="adamw", weight_decay=0.05,
                                   label_smoothing=0.1, flip=True), 0.918, 306),
    "nin": Net(nin_fashion, Recipe(epochs=4, batch_size=128, lr=0.05), 0.837, 258),
    "googlenet": Net(googlenet_fashion, Recipe(epochs=4, batch_size=128, lr=0.1), 0.888, 217),
    "resnet": Net(resnet_fashion, Recipe(epochs=5, batch_size=128, lr=0.1), 0.911, 164),
}


class BFloat16Autocast(nn.Module):
    """Runs the wrapped network under CPU bfloat16 autocast and returns float32 scores."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return self.net(x).float()


def run(name: str, seed: int, train, test, recipe: Recipe, progress: bool, bf16: bool = True) -> dict:
    net = NETS[name]
    torch.manual_seed(seed)                        # the initial weights depend on the seed too
    model = net.make().to(memory_format=torch.channels_last)
    parameters = sum(p.numel() for p in model.parameters())
    trained = BFloat16Autocast(model) if bf16 else model
    cpu_start = time.process_time()
    history = fit(trained, train, epochs=recipe.epochs, lr=recipe.lr, optimizer=recipe.optimizer,
                  batch_size=recipe.batch_size, weight_decay=recipe.weight_decay, seed=seed, progress=progress,
                  schedule=recipe.schedule,
                  augment=random_crop_flip(recipe.shift, recipe.flip) if recipe.flip or recipe.shift else None,
                  label_smoothing=recipe.label_smoothing)
    cpu_seconds = time.process_time() - cpu_start      # all threads together: unaffected by other processes
    accuracy = evaluate(trained, test)
    return {"net": name, "seed": seed, "recipe": asdict(recipe), "train_size": len(train[1]),
            "accuracy": accuracy, "seconds": history.seconds, "cpu_seconds": cpu_seconds, "parameters": parameters,
            "train_loss": history.train_loss, "threads": torch.get_num_threads(),
            "load_average": os.getloadavg()[0]}


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {torch.get_num_threads()} threads, torch {torch.__version__}"


def describe(recipe: Recipe) -> str:
    text = (f"{recipe.epochs} epochs, batch {recipe.batch_size}, {recipe.optimizer} {recipe.lr:g} "
            f"{recipe.schedule or 'constant'}, wd {recipe.weight_decay:g}")
    if recipe.label_smoothing:
        text += f", smoothing {recipe.label_smoothing:g}"
    if recipe.flip:
        text += ", flips"
    return text + (f", shifts up to {recipe.shift} px" if recipe.shift else "")


def table(runs: list[dict], names: list[str], markdown: bool) -> str:
    header = ["net", "parameters", "recipe", "test accuracy median (min)", "wall s", "CPU s",
              "target (textbook, V100)", "met: accuracy / time"]
    rows, best, best_name = [], 0.0, "none"
    for name in names:
        mine = [r for r in runs if r["net"] == name]
        if not mine:
            continue
        net, recipe = NETS[name], Recipe(**mine[0]["recipe"])
        accuracy = statistics.median(r["accuracy"] for r in mine)
        seconds = statistics.median(r["seconds"] for r in mine)
        cpu_seconds = statistics.median(r.get("cpu_seconds", float("nan")) for r in mine)
        if accuracy > best:
            best, best_name = accuracy, name
        met = [accuracy >= net.target_accuracy, seconds <= net.target_seconds]
        rows.append([name, f"{mine[0]['parameters']:,}",
                     describe(recipe),
                     f"{accuracy:.3f} ({min(r['accuracy'] for r in mine):.3f}), {len(mine)} seeds",
                     f"{seconds:.0f}", f"{cpu_seconds:.0f}",
                     f">= {net.target_accuracy:.3f} in {net.target_seconds:.0f} s",
                     " / ".join("yes" if m else "NO" for m in met)])
    footer = f"best median accuracy {best:.3f} ({best_name}): target >= {BEST_TARGET} {'met' if best >= BEST_TARGET else 'NOT met'}"
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines + ["", footer])
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:], footer])


@functools.lru_cache(maxsize=1)
def load(train_size: int | None = None):
    """The full Fashion-MNIST as tensors (the first ``train_size`` training images if given)."""
    images, labels = load_fashion_mnist("train", source="full")
    if train_size:
        images, labels = images[:train_size], labels[:train_size]
    return to_tensors(images, labels), to_tensors(*load_fashion_mnist("test", source="full"))


def worker(name, seed, recipe, train_size, threads, progress, bf16) -> dict:
    """One run, in this process or in a pool worker."""
    torch.set_num_threads(threads)
    train, test = load(train_size)
    return run(name, seed, train, test, recipe, progress, bf16)


def overridden(recipe: Recipe, settings: list[str]) -> Recipe:
    """``recipe`` with FIELD=VALUE settings applied, each VALUE converted to the field's type."""
    fields = asdict(recipe)
    for setting in settings:
        key, _, value = setting.partition("=")
        if key not in fields:
            raise SystemExit(f"--set {setting}: no recipe field {key!r} (fields: {', '.join(fields)})")
        kind = type(fields[key])
        fields[key] = value.lower() in ("1", "true", "yes") if kind is bool else \
            None if value.lower() == "none" else kind(value) if fields[key] is not None else value
    return Recipe(**fields)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", default=",".join(NETS), help="comma-separated subset of " + ",".join(NETS))
    parser.add_argument("--quick", action="store_true", help="one seed instead of three")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 3, 1 with --quick)")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                        help="torch threads (default: every CPU this process may use)")
    parser.add_argument("--workers", type=int, default=1,
                        help="runs at a time, in separate processes (e.g. --workers 2 --threads 1 on 2 busy cores)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a recipe field for every selected net, e.g. --set epochs=2 (tuning)")
    parser.add_argument("--train-size", type=int, default=None, help="train on the first N images (tuning)")
    parser.add_argument("--results", type=Path, default=None,
                        help="JSON file of runs: read first (finished runs are skipped), rewritten after each run")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--no-bf16", action="store_true", help="train in float32")
    parser.add_argument("--progress", action="store_true", help="show a progress bar per run")
    args = parser.parse_args(argv)

    names = [n.strip() for n in args.nets.split(",") if n.strip()]
    unknown = [n for n in names if n not in NETS]
    if unknown:
        parser.error(f"unknown nets {unknown}; choose from {', '.join(NETS)}")
    seeds = range(args.seeds or (1 if args.quick else 3))
    torch.set_num_threads(args.threads)
    train, test = load(args.train_size)
    print(f"Fashion-MNIST: {len(train[1]):,} training and {len(test[1]):,} test images; {machine()}; "
          f"load average {os.getloadavg()[0]:.2f} at the start", flush=True)
    if args.threads * args.workers > 1 and os.getloadavg()[0] > 0.5:
        print(f"note: other processes are running; wall times with {args.threads} threads x {args.workers} "
              "workers will be inflated (see --threads)", flush=True)

    runs = json.loads(args.results.read_text()) if args.results and args.results.exists() else []
    recipes = {name: overridden(NETS[name].recipe, args.set) for name in names}

    def same_setup(r):   # a run done with this recipe, data and thread count
        return (r["net"] in recipes and r["recipe"] == asdict(recipes[r["net"]])
                and r["train_size"] == len(train[1]) and r["threads"] == args.threads)

    todo = [(name, seed) for seed in seeds for name in names     # seed by seed: a cut-short run stays even
            if not any(r["net"] == name and r["seed"] == seed and same_setup(r) for r in runs)]
    jobs = [(name, seed, recipes[name], args.train_size, args.threads, args.progress, not args.no_bf16)
            for name, seed in todo]

    def record(result):
        runs.append(result)
        print(f"{result['net']:<10} seed {result['seed']}: test accuracy {result['accuracy']:.4f}, training "
              f"{result['seconds']:.1f} s ({result['cpu_seconds']:.0f} CPU s), "
              f"load average {result['load_average']:.2f}", flush=True)
        if args.results:
            args.results.write_text(json.dumps(runs, indent=1) + "\n")

    if args.workers == 1:
        for job in jobs:
            record(worker(*job))
    else:   # separate processes (spawned: OpenMP does not survive a fork), each loads the data itself
        import concurrent.futures
        import multiprocessing

        with concurrent.futures.ProcessPoolExecutor(args.workers,
                                                    mp_context=multiprocessing.get_context("spawn")) as pool:
            for future in concurrent.futures.as_completed([pool.submit(worker, *job) for job in jobs]):
                record(future.result())
    current = [r for r in runs if same_setup(r) and r["seed"] in seeds]
    print()
    print(table(current, names, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
