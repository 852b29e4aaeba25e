"""A strong non-neural baseline: character n-gram TF-IDF and logistic regression with balanced class weights."""
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline


def fit(names, y, ngram=(1, 4), C=10.0, analyzer="char_wb", max_iter=2000, seed=0):
    """A fitted scikit-learn pipeline: names (list of str) -> class probabilities."""
    clf = make_pipeline(TfidfVectorizer(analyzer=analyzer, ngram_range=tuple(ngram), sublinear_tf=True),
                        LogisticRegression(C=C, class_weight="balanced", max_iter=max_iter, random_state=seed))
    return clf.fit(list(names), y)
