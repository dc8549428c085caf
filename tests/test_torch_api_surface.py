"""The names PyTorch users call exist in lamina and behave as in torch (2.13)."""

import os

import numpy as np
import pytest

import lamina
from lamina import nn, optim
from lamina.testing import check_op

TOP = ("tensor zeros ones full empty arange linspace eye rand randn randint randperm zeros_like "
       "ones_like full_like empty_like rand_like randn_like from_numpy as_tensor manual_seed "
       "no_grad enable_grad set_grad_enabled inference_mode is_grad_enabled cat concat stack "
       "chunk split flatten reshape squeeze unsqueeze transpose permute where clamp clip abs exp "
       "log sqrt sigmoid tanh relu softmax log_softmax sum mean std var max min argmax argmin "
       "matmul mm bmm mv addmm addmv baddbmm outer dot allclose equal isnan isfinite topk sort "
       "argsort gather cumsum prod norm float32 float64 float double half int long bool uint8 "
       "int64 int32 float16 device cuda save load is_tensor is_floating_point get_rng_state "
       "set_rng_state set_num_threads get_num_threads numel maximum minimum pow sin cos floor "
       "ceil round sign logsumexp masked_fill narrow flip roll normal einsum tril triu diag "
       "diagonal meshgrid repeat_interleave bernoulli multinomial floor_divide remainder fmod "
       "result_type trunc").split()
METHODS = ("clone detach numel item tolist numpy to cpu size dim view reshape view_as expand "
           "expand_as repeat permute transpose t contiguous squeeze unsqueeze flatten sum mean "
           "std var max min argmax argmin abs exp log sqrt pow clamp sigmoid tanh relu softmax "
           "log_softmax matmul mm bmm mv outer dot addmm new_zeros new_ones new_full new_empty "
           "new_tensor zero_ fill_ add_ sub_ mul_ div_ copy_ normal_ uniform_ clamp_ "
           "requires_grad_ backward register_hook retain_grad float double long int bool half "
           "type_as masked_fill gather index_select topk sort argsort chunk split eq ne lt le gt "
           "ge all any norm cumsum prod is_floating_point element_size nelement unbind square "
           "floor round sign neg __format__ squeeze_ unsqueeze_ t_ transpose_ apply_ tril triu "
           "diag diagonal repeat_interleave bernoulli multinomial __floordiv__ __mod__ "
           "remainder").split()
NN = ("Module Linear Conv1d Conv2d ConvTranspose2d MaxPool2d AvgPool2d AdaptiveAvgPool2d "
      "BatchNorm1d BatchNorm2d LayerNorm GroupNorm Dropout Dropout2d Embedding LSTM GRU RNN "
      "LSTMCell GRUCell RNNCell Sequential ModuleList ModuleDict Parameter ReLU LeakyReLU Sigmoid "
      "Tanh GELU SiLU ELU Softmax LogSoftmax Flatten Unflatten Identity MSELoss L1Loss "
      "CrossEntropyLoss NLLLoss BCELoss BCEWithLogitsLoss SmoothL1Loss HuberLoss KLDivLoss "
      "MultiheadAttention TransformerEncoderLayer TransformerEncoder init functional utils "
      "ParameterList ParameterDict").split()
F_NAMES = ("relu leaky_relu sigmoid tanh gelu silu elu softmax log_softmax dropout linear conv1d "
           "conv2d max_pool2d avg_pool2d adaptive_avg_pool2d batch_norm layer_norm embedding "
           "cross_entropy nll_loss mse_loss l1_loss binary_cross_entropy "
           "binary_cross_entropy_with_logits smooth_l1_loss kl_div one_hot pad normalize "
           "cosine_similarity softplus huber_loss interpolate").split()
INIT = ("xavier_uniform_ xavier_normal_ kaiming_uniform_ kaiming_normal_ zeros_ ones_ constant_ "
        "normal_ uniform_ orthogonal_ calculate_gain trunc_normal_ eye_").split()
OPTIM = "SGD Adam AdamW RMSprop Adagrad Adadelta NAdam LBFGS Optimizer lr_scheduler".split()
SCHED = ("StepLR MultiStepLR ExponentialLR CosineAnnealingLR ReduceLROnPlateau LambdaLR "
         "OneCycleLR LinearLR SequentialLR CosineAnnealingWarmRestarts CyclicLR").split()


@pytest.mark.parametrize("where,names", [
    (lamina, TOP), (lamina.Tensor, METHODS), (nn, NN), (nn.functional, F_NAMES),
    (nn.init, INIT), (optim, OPTIM), (optim.lr_scheduler, SCHED),
    (nn.utils, ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
                "vector_to_parameters"])])
def test_common_torch_names_exist(where, names):
    missing = [n for n in names if not hasattr(where, n)]
    assert not missing, f"missing in {getattr(where, '__name__', where)}: {missing}"


def test_utils_data_is_lamina_data():
    from lamina.utils.data import DataLoader, Dataset, TensorDataset
    assert DataLoader is lamina.data.DataLoader and Dataset is lamina.data.Dataset
    assert TensorDataset is lamina.data.TensorDataset and lamina.utils.data is lamina.data


def test_dataloader_accepts_torch_worker_kwargs():
    ds = lamina.utils.data.TensorDataset(lamina.randn(10, 2), lamina.arange(10))
    dl = lamina.utils.data.DataLoader(ds, batch_size=4, shuffle=False, num_workers=2,
                                      pin_memory=True, persistent_workers=True,
                                      prefetch_factor=2, timeout=0, worker_init_fn=print,
                                      multiprocessing_context=None, generator=None)
    assert [int(y.shape[0]) for _, y in dl] == [4, 4, 2]


def test_load_accepts_map_location_and_weights_only(tmp_path):
    m = nn.Linear(2, 3)
    path = os.path.join(tmp_path, "w.pt")
    lamina.save(m.state_dict(), path)
    sd = lamina.load(path, map_location="cpu", weights_only=True)
    m2 = nn.Linear(2, 3)
    m2.load_state_dict(sd)
    np.testing.assert_array_equal(m2.weight.array, m.weight.array)


def test_dtype_aliases_and_predicates():
    assert lamina.float == lamina.float32 and lamina.double == lamina.float64
    assert lamina.half == lamina.float16 and lamina.int == lamina.int32
    assert lamina.long == lamina.int64 and lamina.bool == np.dtype(bool)
    assert lamina.is_tensor(lamina.ones(2)) and not lamina.is_tensor(np.ones(2))
    assert lamina.is_floating_point(lamina.ones(2))
    assert not lamina.is_floating_point(lamina.arange(3))
    assert lamina.ones(2, dtype=lamina.float64).new_zeros(3).dtype == lamina.float64


def test_legacy_tensor_constructor_gives_zeros():
    t = lamina.Tensor(2, 3)
    assert t.shape == (2, 3) and float(np.abs(t.array).sum()) == 0.0


def test_rng_state_round_trips():
    lamina.manual_seed(3)
    state = lamina.get_rng_state()
    assert state.dtype == lamina.uint8 and state.ndim == 1
    a = lamina.randn(5).array.copy()
    lamina.set_rng_state(state)
    np.testing.assert_array_equal(lamina.randn(5).array, a)


def test_inference_mode_context_and_decorator():
    x = lamina.ones(2, requires_grad=True)
    with lamina.inference_mode():
        assert not (x * 2).requires_grad

    @lamina.inference_mode()
    def f(v):
        return v * 2

    assert not f(x).requires_grad and lamina.is_grad_enabled()
    with lamina.inference_mode(False):
        assert (x * 2).requires_grad


def test_num_threads():
    pytest.importorskip("threadpoolctl")
    n = lamina.get_num_threads()
    assert isinstance(n, int) and n >= 1
    lamina.set_num_threads(1)
    assert lamina.get_num_threads() == 1
    lamina.set_num_threads(n)


def test_format_of_zero_dim_tensor():
    assert "{:+.2f}".format(lamina.tensor(1.5)) == "+1.50"
    assert f"{lamina.tensor(3):04d}" == "0003"
    with pytest.raises(TypeError):
        "{:.2f}".format(lamina.ones(2))


def test_blas_rank_errors():
    with pytest.raises(ValueError, match="mm: expected a 2-D and a 2-D"):
        lamina.mm(lamina.ones(3), lamina.ones(3, 2))
    with pytest.raises(ValueError, match="bmm"):
        lamina.bmm(lamina.ones(2, 3, 4), lamina.ones(3, 4, 5))


@pytest.mark.torch
@pytest.mark.parametrize("name,shapes,kw", [
    ("mm", [(3, 4), (4, 2)], {}), ("bmm", [(2, 3, 4), (2, 4, 5)], {}),
    ("mv", [(3, 4), (4,)], {}), ("dot", [(4,), (4,)], {}), ("outer", [(3,), (4,)], {}),
    ("addmm", [(3, 2), (3, 4), (4, 2)], {"beta": 0.5, "alpha": 2.0}),
    ("addmv", [(3,), (3, 4), (4,)], {"beta": 0.5, "alpha": 2.0}),
    ("baddbmm", [(2, 3, 5), (2, 3, 4), (2, 4, 5)], {"beta": 0.5, "alpha": 2.0})])
def test_blas_ops_gradcheck_and_torch_parity(name, shapes, kw):
    torch = pytest.importorskip("torch")
    rs = np.random.default_rng(0)
    ins = [rs.standard_normal(s) for s in shapes]
    ours, theirs = getattr(lamina, name), getattr(torch, name)
    check_op(lambda *a: ours(*a, **kw), ins, ref=None,
             torch_fn=lambda *a: theirs(*a, **kw))


@pytest.mark.parametrize("shape", [(40, 30), (20, 30, 4)])
def test_dropout2d_on_2d_and_3d_input_follows_torch(shape):
    m = nn.Dropout2d(0.5)
    x = lamina.ones(*shape)
    with pytest.warns(UserWarning, match="dropout2d"):
        y = m(x).array
    assert y.shape == shape and set(np.unique(y)) <= {0.0, 2.0}
    flat = y.reshape(shape[0], shape[1], -1)
    assert (flat == flat[..., :1]).all()  # one decision per (n, c), as torch 2.13
    assert 0.3 < (flat[..., 0] > 0).mean() < 0.7
    m.eval()
    np.testing.assert_array_equal(m(x).array, x.array)
