"""``lamina.deploy``: putting a network on a small device (seed Q45).

ONNX export (``export_onnx``) and import (``load_onnx``); int8 quantization (observers,
post-training static and dynamic, quantization-aware training, a QDQ ONNX file and lamina's
own int8 path); pruning (magnitude masks, gradual schedules, lottery tickets, structured filter
pruning); distillation; and ``deployment_report`` (size, FLOPs, ONNX Runtime vs lamina
latency).
"""

from .distill import DistillationLoss, distillation_step, make_distillation_step  # noqa: F401
from .observers import (HistogramObserver, MinMaxObserver,  # noqa: F401
                        MovingAverageMinMaxObserver, PercentileObserver)
from .onnx_export import export_onnx, supported_ops  # noqa: F401
from .onnx_import import OnnxModule, load_onnx  # noqa: F401
from .prune import (GradualPruning, LotteryTicket, Pruner, compressed_size_bytes,  # noqa: F401
                    magnitude_prune, polynomial_sparsity, sparsity_report)
from .qat import convert_qat, fake_quantize, fold_batchnorm, prepare_qat  # noqa: F401
from .quantize import (QuantizedConv, QuantizedLinear, QuantizedLSTM,  # noqa: F401
                       model_size_bytes, quantize_dynamic, quantize_static)
from .report import count_flops, deployment_report, format_report, ort_predict  # noqa: F401
from .structured import count_parameters, prune_filters  # noqa: F401

__all__ = ["export_onnx", "supported_ops", "load_onnx", "OnnxModule",
           "MinMaxObserver", "MovingAverageMinMaxObserver",
           "PercentileObserver", "HistogramObserver", "quantize_static", "quantize_dynamic",
           "QuantizedLinear", "QuantizedConv", "QuantizedLSTM", "model_size_bytes",
           "prepare_qat", "convert_qat", "fold_batchnorm", "fake_quantize",
           "Pruner", "magnitude_prune", "polynomial_sparsity", "GradualPruning", "LotteryTicket",
           "sparsity_report", "compressed_size_bytes", "prune_filters", "count_parameters",
           "DistillationLoss", "make_distillation_step", "distillation_step",
           "deployment_report", "format_report", "count_flops", "ort_predict"]
