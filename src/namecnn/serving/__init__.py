"""Names in, languages out: predict, the model loaded from a folder or MLflow, the pyfunc model served."""
