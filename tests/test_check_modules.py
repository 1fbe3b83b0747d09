"""utils.checks.modules: what checks learn about a student's nn.Module."""

from torch import nn

from utils.checks.modules import training_layers


def test_training_layers_lists_normalisation_and_dropout_leaves_in_order():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4, affine=False), nn.ReLU(),
                          nn.Sequential(nn.Dropout2d(0.1), nn.Conv2d(4, 4, 1), nn.GroupNorm(2, 4)),
                          nn.Flatten(), nn.Linear(4, 3), nn.Dropout(0.5))
    assert training_layers(model) == [("1", "BatchNorm2d"), ("3.0", "Dropout2d"), ("3.2", "GroupNorm"),
                                      ("6", "Dropout")]


def test_training_layers_is_empty_for_a_plain_network():
    assert training_layers(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())) == []
