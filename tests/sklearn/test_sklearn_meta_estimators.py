"""The wrappers inside scikit-learn's (and imbalanced-learn's) meta-estimators."""

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.ensemble import (AdaBoostClassifier, BaggingClassifier, StackingClassifier,
                              VotingClassifier)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from lamina.sklearn import NeuralNetClassifier


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _net(**kw):
    return NeuralNetClassifier(**{"max_epochs": 10, "random_state": 0, **kw})


def test_pipeline_cross_val_and_grid_search():
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), _net())
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.93
    grid = GridSearchCV(pipe, {"neuralnetclassifier__module__hidden": [(4,), (16,)],
                               "neuralnetclassifier__lr": [1e-3, 1e-2]}, cv=2)
    grid.fit(X, y)
    assert set(grid.best_params_) == {"neuralnetclassifier__module__hidden",
                                      "neuralnetclassifier__lr"}
    assert grid.best_estimator_.score(X, y) > 0.95


def test_randomized_search_routes_optimizer_params(iris):
    X, y = iris
    search = RandomizedSearchCV(_net(max_epochs=5), {"optimizer__weight_decay": [0.0, 1e-3],
                                                     "module__hidden": [(8,), (16,)]},
                                n_iter=3, cv=2, random_state=0).fit(X, y)
    assert search.best_estimator_.optimizer_.param_groups[0]["weight_decay"] in (0.0, 1e-3)


def test_column_transformer_mixed_types_with_missing_values():
    pd = pytest.importorskip("pandas")
    rs = np.random.default_rng(0)
    n = 300
    num = rs.normal(size=(n, 2))
    cat = rs.choice(["red", "green", "blue"], size=n)
    y = ((num[:, 0] + (cat == "red") * 1.5) > 0.5).astype(int)
    num[rs.random((n, 2)) < 0.1] = np.nan
    df = pd.DataFrame({"a": num[:, 0], "b": num[:, 1], "colour": cat})
    pre = ColumnTransformer([("num", make_pipeline(SimpleImputer(), StandardScaler()),
                              ["a", "b"]),
                             ("cat", OneHotEncoder(), ["colour"])])
    model = make_pipeline(pre, _net(max_epochs=30)).fit(df, y)
    assert model.score(df, y) > 0.85


def test_calibration_bagging_stacking_voting(iris):
    X, y = iris
    cal = CalibratedClassifierCV(_net(), cv=3).fit(X, y)
    assert np.allclose(cal.predict_proba(X).sum(1), 1) and cal.score(X, y) > 0.85
    bag = BaggingClassifier(_net(max_epochs=5), n_estimators=3, random_state=0).fit(X, y)
    assert bag.score(X, y) > 0.85
    stack = StackingClassifier([("a", _net(module__hidden=(8,))), ("b", _net(lr=0.03))],
                               final_estimator=LogisticRegression(), cv=3).fit(X, y)
    assert stack.score(X, y) > 0.9
    vote = VotingClassifier([("a", _net()), ("lr", LogisticRegression())],
                            voting="soft").fit(X, y)
    assert vote.score(X, y) > 0.9


def test_adaboost_honours_sample_weights():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    weak = _net(max_epochs=2, module__hidden=(2,), lr=0.003)
    ada = AdaBoostClassifier(weak, n_estimators=4, random_state=0).fit(X, y)
    assert len(ada.estimators_) == 4
    # later learners fit the re-weighted (hard) samples: their weighted error is larger
    assert ada.estimator_errors_[1] > 2 * ada.estimator_errors_[0]
    assert ada.score(X, y) > 0.9


def test_imblearn_pipeline_with_smote():
    imblearn = pytest.importorskip("imblearn")
    from imblearn.over_sampling import SMOTE
    from imblearn.pipeline import make_pipeline as imb_pipeline
    X, y = load_breast_cancer(return_X_y=True)
    keep = np.concatenate([np.flatnonzero(y == 1), np.flatnonzero(y == 0)[:30]])
    X, y = X[keep], y[keep]
    pipe = imb_pipeline(StandardScaler(), SMOTE(random_state=0), _net())
    assert imblearn.__version__ and cross_val_score(pipe, X, y, cv=3,
                                                    scoring="balanced_accuracy").mean() > 0.85
