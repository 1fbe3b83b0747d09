"""Small torch networks that several chapters build on (chapter 05 introduces them, chapter 10 reuses them)."""

from .nin import SmallNiN, count_parameters, nin_block

__all__ = ["SmallNiN", "count_parameters", "nin_block"]
