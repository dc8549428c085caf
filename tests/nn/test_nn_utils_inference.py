"""nn.utils.batched_eval / as_model_dtype: batched eval-mode inference for models and the CLI."""

import numpy as np

import lamina
from lamina import nn
from lamina.nn.utils import as_model_dtype, batched_eval


def test_batched_eval_matches_one_pass_restores_mode_and_records_nothing():
    lamina.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 3))
    x = np.random.default_rng(0).standard_normal((10, 4))  # float64: cast to float32
    out = batched_eval(model, x, batch_size=3)
    assert model.training and out.dtype == np.float32 and out.shape == (10, 3)
    model.eval()
    with lamina.no_grad():
        np.testing.assert_allclose(out, model(lamina.tensor(x.astype(np.float32))).numpy(),
                                   rtol=1e-6)
    assert batched_eval(model, np.zeros((0, 4)), batch_size=3).shape == (0,)


def test_integer_inputs_keep_their_dtype_for_embeddings():
    lamina.manual_seed(0)
    model = nn.Sequential(nn.Embedding(5, 2), nn.Flatten())
    ids = np.array([[0, 4], [3, 1]])
    assert as_model_dtype(model, ids).dtype == ids.dtype
    np.testing.assert_array_equal(batched_eval(model, ids, batch_size=1),
                                  model.eval()(lamina.tensor(ids)).numpy())
