"""The layer table (utils/nets/summary.py) against numbers computed by hand."""

import torch
from torch import nn

from utils.nets.summary import Row, print_summary, summary


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def test_lenet5_by_hand():
    table = summary(lenet5(), (1, 1, 28, 28))
    convs_and_linears = [row for row in table if row.type in ("Conv2d", "Linear")]
    assert convs_and_linears == [
        # K*C*F*F + K parameters; K*C*F*F*H'*W' multiply-adds
        Row("0", "Conv2d", (1, 6, 28, 28), 6 * 25 + 6, 6 * 1 * 25 * 28 * 28),
        Row("3", "Conv2d", (1, 16, 10, 10), 16 * 6 * 25 + 16, 16 * 6 * 25 * 10 * 10),
        Row("7", "Linear", (1, 120), 400 * 120 + 120, 400 * 120),
        Row("9", "Linear", (1, 84), 120 * 84 + 84, 120 * 84),
        Row("11", "Linear", (1, 10), 84 * 10 + 10, 84 * 10),
    ]
    assert [row.output_shape for row in table if row.type == "MaxPool2d"] == [(1, 6, 14, 14), (1, 16, 5, 5)]
    assert all(row.parameters == row.multiply_adds == 0 for row in table if row.type in ("ReLU", "MaxPool2d"))
    assert len(table) == 12 and table.output_shape == (1, 10)
    assert table.total_parameters == table.trainable_parameters == 61_706
    assert table.total_multiply_adds == 117_600 + 240_000 + 48_000 + 10_080 + 840 == 416_520


class Toy(nn.Module):
    """Non-square filter with stride and padding, a grouped 1x1 convolution with batch norm, a linear layer,
    and one linear layer applied twice (its weights count once)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, (3, 5), stride=2, padding=1)       # 9x11 -> 5x5
        self.grouped = nn.Conv2d(4, 6, 1, groups=2, bias=False)
        self.norm = nn.BatchNorm2d(6)
        self.fc = nn.Linear(150, 7)
        self.shared = nn.Linear(7, 7)
        self.frozen = nn.Parameter(torch.zeros(2), requires_grad=False)  # not in any leaf

    def forward(self, x):
        x = self.norm(self.grouped(self.conv(x))).flatten(1)
        return self.shared(self.shared(self.fc(x))), x


def test_toy_with_groups_stride_batch_and_shared_layer():
    model = Toy().train()
    running_mean = model.norm.running_mean.clone()
    table = summary(model, (2, 3, 9, 11))
    assert [(r.name, r.output_shape, r.parameters, r.multiply_adds) for r in table] == [
        ("conv", (2, 4, 5, 5), 4 * 3 * 15 + 4, 2 * 4 * 3 * 15 * 25),     # N * K * C * F_h * F_w * H' * W'
        ("grouped", (2, 6, 5, 5), 6 * 2, 2 * 6 * 2 * 25),                # C / groups = 2 inputs per output
        ("norm", (2, 6, 5, 5), 12, 0),
        ("fc", (2, 7), 150 * 7 + 7, 2 * 150 * 7),
        ("shared", (2, 7), 56, 2 * 49),
        ("shared", (2, 7), 56, 2 * 49),
    ]
    assert table.total_parameters == 184 + 12 + 12 + 1057 + 56 + 2
    assert table.trainable_parameters == table.total_parameters - 2
    assert table.total_multiply_adds == 9000 + 600 + 2100 + 2 * 98
    assert table.output_shape == ((2, 7), (2, 150))
    assert model.training and torch.equal(model.norm.running_mean, running_mean), "summary must not train"


def test_print_summary_lists_every_row_and_the_totals(capsys):
    result = print_summary(lenet5(), (1, 1, 28, 28))
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    assert lines[0].split() == ["layer", "type", "output", "shape", "parameters", "multiply-adds"]
    assert "117,600" in printed and "61,706" in printed and "416,520" in printed
    assert len(lines) == 2 + len(result) + 4
    assert str(result) == printed.rstrip("\n")
