"""nn.summary: rows per leaf layer with qualified names, shapes and counts; totals; no side
effects on the model."""

import numpy as np

import lamina as L
import lamina.nn as nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.bn = nn.BatchNorm1d(8)
        self.scale = nn.Parameter(np.ones(8, dtype=np.float32))  # a direct parameter

    def forward(self, x):
        return self.bn(self.fc(x)) * self.scale


def _model():
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), Block(), nn.Dropout(0.5),
                         nn.Linear(8, 3))


def test_summary_table_content(capsys):
    model = _model()
    model[1].freeze()
    text = nn.summary(model, (3, 4))
    assert capsys.readouterr().out.strip() == text.strip()
    lines = text.splitlines()
    assert lines[0].startswith("Sequential summary (input (1, 3, 4))")

    def row(name):
        return next(ln.split() for ln in lines if ln.split() and ln.split()[0] == name)

    assert row("0") == ["0", "Flatten", "(1,", "12)", "0"]
    assert row("1") == ["1", "Linear", "(1,", "8)", "104"]
    assert row("3.fc") == ["3.fc", "Linear", "(1,", "8)", "72"]
    assert row("3.bn") == ["3.bn", "BatchNorm1d", "(1,", "8)", "16"]
    assert row("3") == ["3", "Block", "(1,", "8)", "8"]  # holds its own parameter
    assert row("5") == ["5", "Linear", "(1,", "3)", "27"]
    order = [ln.split()[0] for ln in lines if ln.split() and ln.split()[0][0].isdigit()]
    assert order == ["0", "1", "2", "3.fc", "3.bn", "3", "4", "5"]  # call order
    total = 104 + 72 + 16 + 8 + 27
    assert f"Total params: {total:,}" in text
    assert f"Trainable params: {total - 104:,}" in text
    assert "Non-trainable params: 104" in text
    assert "Output shape: (1, 3)" in text


def test_summary_has_no_side_effects():
    model = _model()
    model.train()
    bn = model[3].bn
    rm = bn.running_mean.numpy().copy()
    nn.summary(model, (3, 4), print_fn=None)
    assert model.training and model[4].training and bn.training
    np.testing.assert_array_equal(bn.running_mean.numpy(), rm)
    assert int(bn.num_batches_tracked.item()) == 0
    assert not model[1]._forward_hooks and not bn._forward_hooks
    assert all(p.grad is None for p in model.parameters())


def test_lamina_summary_alias_and_single_module():
    assert L.summary is nn.summary
    text = L.summary(nn.Linear(4, 2), (4,), print_fn=None)
    assert "Linear" in text and "(1, 2)" in text and "Total params: 10" in text


def test_summary_multiple_inputs():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 2), nn.Linear(5, 2)

        def forward(self, x, y):
            return self.a(x) + self.b(y)

    text = nn.summary(Two(), [(3,), (5,)], print_fn=None)
    assert "(1, 3), (1, 5)" in text and "Total params: 20" in text


def test_module_summary_method_matches_function(capsys):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    text = model.summary((4,))
    assert text == nn.summary(model, (4,), print_fn=None)
    assert "Total params: 67" in text  # 4*8+8 + 8*3+3
    assert "Total params: 67" in capsys.readouterr().out  # printed by default, as Keras does
