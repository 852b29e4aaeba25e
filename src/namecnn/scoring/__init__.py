"""Scores of a trained model (scikit-learn metrics), paired comparisons of two models, the n-gram baseline."""
