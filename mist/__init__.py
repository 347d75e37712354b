"""mist: amortized mutual information estimation (MIST-style).

    from mist import MIEstimator
    r = MIEstimator.from_pretrained().estimate(x, y)
"""

__version__ = "0.1.0"

from mist.estimator import MIEstimator, mutual_information  # noqa: E402
from mist.result import MIResult  # noqa: E402
from mist.differentiable import MILoss  # noqa: E402
from mist.tabular import MIMatrix, mi_matrix  # noqa: E402
from mist.independence import IndependenceResult  # noqa: E402

__all__ = ["MIEstimator", "MIResult", "MILoss", "mutual_information", "mi_matrix", "MIMatrix",
           "IndependenceResult", "__version__"]
