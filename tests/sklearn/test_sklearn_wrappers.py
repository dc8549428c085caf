"""The wrappers' own behaviour: routing, inference of sizes, warm start, partial_fit, sample
weights, pickling and safe save/load, and a skorch parity test."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

import lamina
from lamina import nn
from lamina.sklearn import (BalancedBatchSampler, NeuralNetBinaryClassifier, NeuralNetClassifier,
                            NeuralNetRegressor, tune_threshold)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float32), y


def test_routing_get_set_params_and_clone(iris):
    net = NeuralNetClassifier(module__hidden=(8,), optimizer__weight_decay=1e-4, max_epochs=2)
    p = net.get_params()
    assert p["module__hidden"] == (8,) and p["optimizer__weight_decay"] == 1e-4
    net.set_params(module__hidden=(5, 4), lr=0.05)
    c = clone(net)
    assert c.get_params()["module__hidden"] == (5, 4) and c.lr == 0.05
    c.fit(*iris)
    widths = [m.out_features for m in c.module_.modules() if isinstance(m, nn.Linear)]
    assert widths == [5, 4, 3]  # n_features and n_classes inferred: 4 -> 5 -> 4 -> 3
    assert c.optimizer_.param_groups[0]["weight_decay"] == 1e-4
    with pytest.raises(ValueError, match="Invalid parameter"):
        net.set_params(hidden=3)
    with pytest.raises(TypeError, match="unexpected keyword"):
        NeuralNetClassifier(hiden=3).fit(*iris)


class TinyNet(nn.Module):
    def __init__(self, in_features, num_classes, width=6):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(in_features, width), nn.Tanh(),
                                  nn.Linear(width, num_classes))

    def forward(self, x):
        return self.body(x)


def test_module_class_instance_and_zoo_name(iris):
    X, y = iris
    a = NeuralNetClassifier(TinyNet, module__width=7, max_epochs=3, random_state=0).fit(X, y)
    assert a.module_.body[0].weight.shape == (7, 4)
    inst = TinyNet(4, 3)
    b = NeuralNetClassifier(inst, max_epochs=3, random_state=0).fit(X, y)
    assert b.module_ is not inst  # a copy: the estimator's parameter stays as given
    with pytest.raises(ValueError, match="zoo name|module as one of"):
        NeuralNetClassifier("nope").fit(X, y)


def test_random_state_makes_fit_repeatable_and_restores_global_rng(iris):
    X, y = iris
    lamina.manual_seed(5)
    before = lamina.rand(3).numpy()
    lamina.manual_seed(5)
    p1 = NeuralNetClassifier(max_epochs=3, random_state=1).fit(X, y).predict_proba(X)
    after = lamina.rand(3).numpy()
    p2 = NeuralNetClassifier(max_epochs=3, random_state=1).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(before, after)


def test_warm_start_and_partial_fit_continue_training(iris):
    X, y = iris
    net = NeuralNetClassifier(max_epochs=2, warm_start=True, random_state=0).fit(X, y)
    w = net.module_[0].weight.numpy().copy()
    net.fit(X, y)
    assert net.n_epochs_ == 4 and len(net.history_) == 4
    assert not np.allclose(w, net.module_[0].weight.numpy())
    cold = NeuralNetClassifier(max_epochs=2, random_state=0).fit(X, y)
    cold.fit(X, y)
    assert cold.n_epochs_ == 2
    pf = NeuralNetClassifier(random_state=0)
    for _ in range(3):
        pf.partial_fit(X[:60], y[:60], classes=[0, 1, 2])  # first part misses class 2
    assert pf.n_epochs_ == 3 and list(pf.classes_) == [0, 1, 2]
    with pytest.raises(ValueError, match="unseen labels"):
        NeuralNetClassifier(max_epochs=1).partial_fit(X[:100], y[:100]).partial_fit(X, y)


def test_sample_weight_zero_ignores_samples(iris):
    X, y = iris
    w = (y != 2).astype(float)
    net = NeuralNetClassifier(max_epochs=15, random_state=0)
    net.fit(X, np.where(y == 2, 0, y), sample_weight=w)  # class-2 rows relabelled 0, weight 0
    ref = NeuralNetClassifier(max_epochs=15, random_state=0).fit(X[y != 2], y[y != 2])
    # the zero-weight rows change only the batching, not what is learned: same decisions
    agree = np.mean(net.predict(X[y != 2]) == ref.predict(X[y != 2]))
    assert agree > 0.97


def test_history_train_split_and_callbacks(iris):
    from lamina.train import EarlyStopping
    X, y = iris
    net = NeuralNetClassifier(max_epochs=200, train_split=0.25, random_state=0, lr=0.05,
                              callbacks=[EarlyStopping(monitor="val_loss", patience=3)])
    net.fit(X, y)
    h = net.history_.history
    assert "val_loss" in h and "val_accuracy" in h and net.n_epochs_ < 200


def test_pickle_and_safe_save_load(iris, tmp_path):
    X, y = iris
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    net = NeuralNetClassifier(max_epochs=3, random_state=0).fit(X, labels)
    blob = pickle.dumps(net)
    assert b"module_" not in blob or b"_module_state" in blob
    again = pickle.loads(blob)
    np.testing.assert_array_equal(again.predict_proba(X), net.predict_proba(X))
    path = tmp_path / "net.safetensors"
    net.save_params(path)
    assert path.read_bytes()[:1] != b"\x80"  # not a pickle
    fresh = NeuralNetClassifier().load_params(path)
    np.testing.assert_array_equal(fresh.predict_proba(X), net.predict_proba(X))
    assert list(fresh.classes_) == ["setosa", "versicolor", "virginica"]
    assert fresh.predict(X[:1])[0] == net.predict(X[:1])[0]


def test_feature_names_and_n_features(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    net = NeuralNetClassifier(max_epochs=1).fit(df, y)
    assert net.n_features_in_ == 4 and list(net.feature_names_in_) == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="feature"):
        net.predict(df.iloc[:, :3])
    plain = NeuralNetClassifier(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="3 features"):
        plain.predict(X[:, :3])


def test_binary_threshold_and_tuning(iris):
    X, y = iris
    yb = (y == 2).astype(int)
    clf = NeuralNetBinaryClassifier(max_epochs=10, random_state=0).fit(X, yb)
    p = clf.predict_proba(X)
    assert p.shape == (150, 2) and np.allclose(p.sum(1), 1)
    assert clf.decision_function(X).shape == (150,)
    assert clf.set_params(threshold=0.0).predict(X).all()
    t, f1 = tune_threshold(yb, p[:, 1])
    assert 0 < t < 1 and f1 >= 0.9
    tc, cost = tune_threshold(yb, p[:, 1], cost_matrix=[[0, 1], [20, 0]])
    assert tc <= t  # expensive misses push the threshold down
    with pytest.raises(ValueError, match="Only binary"):
        NeuralNetBinaryClassifier(max_epochs=1).fit(X, y)


def test_balanced_batch_sampler_draws_classes_equally():
    y = np.array([0] * 95 + [1] * 5)
    s = BalancedBatchSampler(y, 20, seed=0)
    batches = list(s)
    assert len(batches) == 5 and all(len(b) == 20 for b in batches)
    counts = np.bincount(y[np.concatenate(batches)])
    assert counts[0] == counts[1] == 50
    again = BalancedBatchSampler(y, 20, seed=0)
    np.testing.assert_array_equal(np.concatenate(list(again)), np.concatenate(batches))


def test_regressor_multi_output_and_class_weight(iris):
    X, y = iris
    Y = np.stack([X[:, 0] * 2, X[:, 1] - X[:, 2]], 1)
    reg = NeuralNetRegressor(max_epochs=40, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (150, 2) and reg.score(X, Y) > 0.9
    bal = NeuralNetClassifier(class_weight="balanced", sampling="balanced", max_epochs=2,
                              random_state=0).fit(X[:110], y[:110])
    assert bal.predict(X).shape == (150,)


@pytest.mark.torch
def test_matches_skorch_full_batch_sgd(iris):
    """skorch (0.x, torch 2.13 CPU) and lamina give the same probabilities after 5 full-batch
    SGD epochs from the same initial weights (copied by state_dict name)."""
    torch = pytest.importorskip("torch")
    skorch = pytest.importorskip("skorch")
    X, y = iris
    ours = NeuralNetClassifier(module__hidden=(7,), optimizer="sgd", lr=0.3, max_epochs=5,
                               batch_size=150, random_state=0).fit(X, y)
    from lamina.sklearn import seeded
    fresh = NeuralNetClassifier(module__hidden=(7,))
    with seeded(0):  # fit seeds the same way before building the module
        fresh.initialize(4, 3)
    tnet = torch.nn.Sequential(torch.nn.Linear(4, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3))
    tnet.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in
                          fresh.module_.state_dict().items()})
    sk = skorch.NeuralNetClassifier(tnet, criterion=torch.nn.CrossEntropyLoss,
                                    optimizer=torch.optim.SGD, lr=0.3, max_epochs=5,
                                    batch_size=150, train_split=None, verbose=0,
                                    iterator_train__shuffle=False)
    sk.fit(X, y)
    np.testing.assert_allclose(sk.predict_proba(X), ours.predict_proba(X), atol=1e-5)

