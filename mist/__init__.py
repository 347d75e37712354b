"""mist: amortized mutual information estimation (MIST-style).

    from mist import MIEstimator
    r = MIEstimator.from_pretrained().estimate(x, y)
"""

__version__ = "0.1.0"

from mist.estimator import MIEstimator, MIResult, mutual_information  # noqa: E402
from mist.differentiable import MILoss  # noqa: E402
from mist._runtime import tune_cpu_allocator  # noqa: E402

__all__ = ["MIEstimator", "MIResult", "MILoss", "mutual_information", "tune_cpu_allocator", "__version__"]
