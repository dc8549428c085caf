"""Interpretability: Captum's attribution methods (names, arguments and semantics of Captum 0.9),
SHAP and LIME, global explanations, rule extraction, faithfulness metrics and sanity checks.

Each explainer is ``Method(model, ...)`` with ``.attribute(inputs, target=None, ...)``
returning a Tensor shaped as the inputs (layer methods: shaped as the layer). Explainers see
the model through forward hooks only and leave its parameters, flags and mode as they were.
Pictures live in :mod:`lamina.explain.plot` (matplotlib, imported on use).
"""

from .deeplift import DeepLift, DeepLiftShap
from .faithfulness import aopc, deletion_curve, infidelity, insertion_curve, sensitivity_max
from .global_ import (GlobalSurrogate, Rule, extract_rules, partial_dependence,
                      permutation_importance)
from .gradient import (Deconvolution, GradientShap, GuidedBackprop, InputXGradient,
                       IntegratedGradients, NoiseTunnel, Saliency, approximation_parameters)
from .layer import LayerAttribution, LayerGradCam, LayerGradCamPlusPlus, LayerIntegratedGradients
from .lrp import LRP, Alpha1_Beta0_Rule, EpsilonRule, GammaRule, IdentityRule, PropagationRule
from .perturbation import FeatureAblation, Occlusion
from .sanity import sanity_check, shuffled_label_model, spearman
from .shapley import KernelShap, Lime, ShapleyValues, ShapleyValueSampling

__all__ = [
    # gradient methods
    "Saliency", "InputXGradient", "IntegratedGradients", "NoiseTunnel", "GuidedBackprop",
    "Deconvolution", "GradientShap", "DeepLift", "DeepLiftShap", "approximation_parameters",
    # layer methods
    "LayerAttribution", "LayerGradCam", "LayerGradCamPlusPlus", "LayerIntegratedGradients",
    # relevance propagation
    "LRP", "PropagationRule", "EpsilonRule", "GammaRule", "Alpha1_Beta0_Rule", "IdentityRule",
    # perturbation and Shapley
    "FeatureAblation", "Occlusion", "ShapleyValues", "ShapleyValueSampling", "KernelShap",
    "Lime",
    # global
    "permutation_importance", "partial_dependence", "GlobalSurrogate", "extract_rules", "Rule",
    # trust
    "deletion_curve", "insertion_curve", "aopc", "infidelity", "sensitivity_max",
    "sanity_check", "shuffled_label_model", "spearman",
]
