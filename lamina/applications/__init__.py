"""Applications built on lamina's models: anomaly detection (seed Q34), ...

Example:
    >>> from lamina.applications import AutoencoderDetector, evaluate_detector
    >>> det = AutoencoderDetector().fit(X_normal)
    >>> evaluate_detector(y_test, det.score_samples(X_test), det.predict(X_test))
"""

from .anomaly import (AutoencoderDetector, BaseDetector, DeepSVDD,  # noqa: F401
                      GANDiscriminatorDetector, LSTMForecastDetector, VAEDetector,
                      evaluate_detector)
from . import selfsupervised, transfer  # noqa: F401  (transfer learning Q33, self-supervised Q39)
