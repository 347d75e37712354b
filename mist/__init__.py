"""mist: amortized mutual information estimation (MIST-style)."""

__version__ = "0.1.0"
