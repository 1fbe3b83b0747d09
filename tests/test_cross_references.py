"""Every "chapter NN" in a notebook points at a chapter of the plan, and at the right one for its topic."""

import re

import pytest

from utils.authoring.build import solution_paths
from utils.authoring.cells import read_notebook
from tests.conftest import REPO_ROOT

# The chapter plan (DEVELOPERS.md). A chapter may point forward to a planned chapter; backwards only to one
# that exists. Topic words: a sentence that names one of them next to a chapter number must name its chapter.
PLAN = {
    0: ("getting started", []),
    1: ("why convolutions", ["equivariance", "sparse interactions", "parameter sharing"]),
    2: ("convolution, kernels and channels", ["cross-correlation", "channels"]),
    3: ("padding, stride and dilation", ["padding", "stride", "dilation", "im2col"]),
    4: ("pooling", ["pooling"]),
    5: ("1x1 convolutions and Network in Network", ["1x1", "network in network"]),
    6: ("backpropagation; a NumPy CNN", ["backprop", "backward pass"]),
    7: ("dropout and regularization", ["dropout", "weight decay"]),
    8: ("batch normalization", ["batch norm"]),
    9: ("LeNet, AlexNet, VGG", ["lenet", "alexnet", "vgg", "classic networks"]),
    10: ("NiN, GoogLeNet, ResNet", ["googlenet", "resnet", "inception", "residual"]),
}
REFERENCE = re.compile(r"\b[Cc]hapters?\s+(\d{2}(?:\s*(?:,|and|or|to|–|-)\s*\d{2})*)")
SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]|$)")


def references(text):
    """(numbers, sentence) for every chapter reference in ``text``; "chapters 06 to 08" gives 6, 7 and 8."""
    found = []
    for sentence in SENTENCE.findall(text):
        for match in REFERENCE.finditer(sentence):
            numbers = [int(n) for n in re.findall(r"\d{2}", match.group(1))]
            if re.search(r"\bto\b|–|-", match.group(1)) and len(numbers) == 2:
                numbers = list(range(numbers[0], numbers[1] + 1))
            found.append((numbers, sentence.strip()))
    return found


def test_references_are_parsed_with_ranges():
    assert references("See chapters 06 to 08. And chapter 03, then chapters 09 and 10.") == [
        ([6, 7, 8], "See chapters 06 to 08."), ([3], "And chapter 03, then chapters 09 and 10."),
        ([9, 10], "And chapter 03, then chapters 09 and 10.")]


def test_a_topic_named_with_the_wrong_chapter_is_caught():
    problems = wrong_topic([([6, 7, 8], "the classic networks of chapters 06 to 08")])
    assert problems and "classic networks" in problems[0]


def wrong_topic(found):
    problems = []
    for numbers, sentence in found:
        lowered = sentence.lower()
        for chapter, (_, words) in PLAN.items():
            for word in words:
                if chapter not in numbers and _near_a_reference(lowered, word, numbers):
                    problems.append(f"{sentence!r} names {word!r} (chapter {chapter:02d}) with chapter(s) {numbers}")
    return problems


def _near_a_reference(sentence, word, numbers):
    """The topic word stands within a few words of the chapter number (not elsewhere in a long sentence)."""
    for n in numbers:
        for match in re.finditer(rf"\b{n:02d}\b", sentence):
            window = sentence[max(0, match.start() - 60): match.end() + 60]
            if word in window:
                return True
    return False


@pytest.mark.parametrize("path", solution_paths(REPO_ROOT), ids=lambda p: p.stem)
def test_every_chapter_reference_matches_the_plan(path):
    existing = {int(p.name[:2]) for p in solution_paths(REPO_ROOT)}
    current = int(path.name[:2])
    problems = []
    for cell in read_notebook(path).cells:
        found = references(cell.source)
        for numbers, sentence in found:
            for n in numbers:
                if n not in PLAN:
                    problems.append(f"{sentence!r}: there is no chapter {n:02d} in the plan")
                elif n <= current and n not in existing:
                    problems.append(f"{sentence!r}: chapter {n:02d} does not exist yet")
        problems += wrong_topic(found)
    assert not problems, "\n".join(problems)
