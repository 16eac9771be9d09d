"""gwaudit: audit and compliance reporting for a Barndoor LLM Gateway."""

__version__ = "0.1.0"
