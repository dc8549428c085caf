"""Optimizer base behaviour: groups, state, checkpoints, validation, dtypes."""

import json

import numpy as np
import pytest

import lamina
from lamina import optim
from lamina.autograd import Parameter

ALL = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
    ("Adadelta", dict(weight_decay=0.01)),
    ("NAdam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1)),
]
IDS = [n for n, _ in ALL]


def params(dtype=np.float64, seed=0):
    rs = np.random.default_rng(seed)
    return [Parameter(rs.standard_normal(s).astype(dtype)) for s in [(4, 3), (3,), (2, 2)]]


def train(opt, ps, steps, t0=0):
    for t in range(t0, t0 + steps):
        for i, p in enumerate(ps):
            p.grad = (np.sin(p.array * (i + 1) + 0.3 * t) + 0.5 * p.array).astype(p.array.dtype)
        opt.step()


@pytest.mark.parametrize("name,kw", ALL, ids=IDS)
def test_state_dict_round_trip_is_exact(name, kw):
    ps = params()
    opt = getattr(optim, name)(ps, **kw)
    train(opt, ps, 10)
    sd = opt.state_dict()
    ps2 = [Parameter(p.array.copy()) for p in ps]
    opt2 = getattr(optim, name)(ps2, lr=123.0)  # hyper-parameters come from the state dict
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    train(opt, ps, 10, t0=10)
    train(opt2, ps2, 10, t0=10)
    for a, b in zip(ps, ps2):
        np.testing.assert_array_equal(a.array, b.array)
    # the snapshot did not change as training went on (arrays are copies)
    key = next(k for k, v in opt.state[ps[0]].items() if isinstance(v, np.ndarray))
    assert not np.array_equal(sd["state"][0][key], opt.state[ps[0]][key])


@pytest.mark.parametrize("name,kw", ALL, ids=IDS)
def test_state_dict_survives_safetensors_and_json(name, kw):
    st = pytest.importorskip("safetensors.numpy")
    ps = params()
    opt = getattr(optim, name)(ps, **kw)
    train(opt, ps, 5)
    sd = opt.state_dict()
    arrays, scalars = {}, {}
    for idx, s in sd["state"].items():
        for k, v in s.items():
            assert isinstance(v, (np.ndarray, int, float)), (k, type(v))
            if isinstance(v, np.ndarray):
                arrays[f"{idx}.{k}"] = v
            else:
                scalars[f"{idx}.{k}"] = v
    blob = st.load(st.save(arrays))
    meta = json.loads(json.dumps({"scalars": scalars, "param_groups": sd["param_groups"]}))
    state = {}
    for key, v in list(blob.items()) + list(meta["scalars"].items()):
        idx, k = key.split(".", 1)
        state.setdefault(idx, {})[k] = v  # string keys, as JSON gives them
    ps2 = [Parameter(p.array.copy()) for p in ps]
    opt2 = getattr(optim, name)(ps2)
    opt2.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    train(opt, ps, 5, t0=5)
    train(opt2, ps2, 5, t0=5)
    for a, b in zip(ps, ps2):
        np.testing.assert_array_equal(a.array, b.array)
    assert isinstance(opt2.param_groups[0].get("betas", ()), tuple)


@pytest.mark.parametrize("name,kw", ALL, ids=IDS)
def test_float32_stays_float32(name, kw):
    ps = params(np.float32)
    opt = getattr(optim, name)(ps, **kw)
    train(opt, ps, 3)
    for p in ps:
        assert p.array.dtype == np.float32
        for v in opt.state[p].values():
            if isinstance(v, np.ndarray):
                assert v.dtype == np.float32
            else:
                assert isinstance(v, (int, float))
    # a float64 checkpoint loaded into float32 parameters is cast to float32
    ps2 = params(np.float32)
    opt2 = getattr(optim, name)(ps2, **kw)
    sd = opt.state_dict()
    sd["state"] = {k: {n: (v.astype(np.float64) if isinstance(v, np.ndarray) else v)
                       for n, v in s.items()} for k, s in sd["state"].items()}
    opt2.load_state_dict(sd)
    assert all(v.dtype == np.float32 for s in opt2.state.values() for v in s.values()
               if isinstance(v, np.ndarray))


def test_params_without_grad_are_skipped():
    a, b = params()[:2]
    opt = optim.Adam([a, b], lr=0.1)
    b0 = b.array.copy()
    a.grad = np.ones_like(a.array)
    opt.step()
    assert b not in opt.state and a in opt.state
    np.testing.assert_array_equal(b.array, b0)
    assert opt.state[a]["step"] == 1


def test_zero_grad_and_closure():
    w = Parameter(np.array([1.0, -2.0]))
    opt = optim.SGD([w], lr=0.5)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        calls.append(lamina.is_grad_enabled())
        return loss

    with lamina.no_grad():
        loss = opt.step(closure)
    assert calls == [True] and float(loss) == pytest.approx(5.0)
    np.testing.assert_allclose(w.array, [0.0, 0.0])  # w - 0.5 * 2w
    w.grad = np.ones(2)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad, [0.0, 0.0])
    opt.zero_grad()
    assert w.grad is None


def test_param_groups_and_add_param_group():
    a, b, c = params()
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["params"] == [b]
    opt.add_param_group({"params": [c], "momentum": 0.0})
    assert opt.param_groups[2]["lr"] == 0.1
    with pytest.raises(ValueError, match="only one param group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="SGD: expected lr >= 0, got -1"):
        opt.add_param_group({"params": [Parameter(np.zeros(2))], "lr": -1})
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1], [2]]
    # Adagrad creates its accumulators eagerly, as PyTorch does
    ada = optim.Adagrad([a], initial_accumulator_value=0.3)
    ada.add_param_group({"params": [b]})
    np.testing.assert_array_equal(ada.state[b]["sum"], np.full(3, 0.3))


@pytest.mark.parametrize("make,msg", [
    (lambda p: optim.SGD(p, lr=-0.1), "SGD: expected lr >= 0, got -0.1"),
    (lambda p: optim.SGD(p, momentum=-1), "SGD: expected momentum >= 0, got -1"),
    (lambda p: optim.SGD(p, nesterov=True), "SGD: expected momentum > 0 and dampening == 0"),
    (lambda p: optim.SGD(p, weight_decay=-1), "weight_decay >= 0"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.9)), r"Adam: expected 0 <= betas\[0\] < 1, got 1.0"),
    (lambda p: optim.AdamW(p, betas=(0.9, -0.1)), r"AdamW: expected 0 <= betas\[1\] < 1"),
    (lambda p: optim.Adam(p, eps=-1e-8), "Adam: expected eps >= 0"),
    (lambda p: optim.RMSprop(p, alpha=-0.5), "RMSprop: expected alpha >= 0, got -0.5"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "Adagrad: expected lr_decay >= 0"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), "initial_accumulator_value"),
    (lambda p: optim.Adadelta(p, rho=1.5), "Adadelta: expected 0 <= rho <= 1, got 1.5"),
    (lambda p: optim.NAdam(p, momentum_decay=-1), "NAdam: expected momentum_decay >= 0"),
    (lambda p: optim.SGD([], lr=0.1), "SGD: expected a non-empty iterable"),
])
def test_validation_errors(make, msg):
    with pytest.raises(ValueError, match=msg):
        make(params())


def test_type_errors():
    p = Parameter(np.zeros(3))
    with pytest.raises(TypeError, match="a single Tensor"):
        optim.SGD(p)
    with pytest.raises(TypeError, match="Parameters"):
        optim.SGD([np.zeros(3)])
    with pytest.raises(ValueError, match="leaf"):
        optim.SGD([Parameter(np.ones(2)) * 2.0])
    with pytest.raises(ValueError, match="at most once"):
        optim.SGD([p, p])


def test_load_state_dict_mismatch_errors():
    ps = params()
    opt = optim.Adam(ps, lr=0.1)
    train(opt, ps, 1)
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="param group sizes"):
        optim.Adam(ps[:2]).load_state_dict(sd)
    other = [Parameter(np.zeros((9,))), *ps[1:]]
    with pytest.raises(lamina.ShapeError, match="state 'exp_avg' of shape"):
        optim.Adam(other).load_state_dict(sd)


def test_pure_step_functions_work_on_arrays():
    p, g = np.ones(3, np.float32), np.full(3, 2.0, np.float32)
    buf = optim.sgd_step(p, g, None, lr=0.1, momentum=0.9)
    np.testing.assert_allclose(p, 0.8)
    np.testing.assert_array_equal(buf, g)
    assert buf is not g and p.dtype == np.float32
    m, v = np.zeros(3, np.float32), np.zeros(3, np.float32)
    optim.adam_step(p, g, m, v, None, 1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    np.testing.assert_allclose(p, 0.7, rtol=1e-6)  # the first Adam step moves by lr
    assert m.dtype == v.dtype == p.dtype == np.float32


def test_repr_lists_groups():
    r = repr(optim.SGD(params(), lr=0.1))
    assert "SGD (" in r and "lr: 0.1" in r
