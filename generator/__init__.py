"""attention-art: convergence landscapes of an attention-like map, rendered, scored, published."""

__version__ = "0.1.0"
