"""Figures (matplotlib) and the Markdown report built from the stages' outputs."""
