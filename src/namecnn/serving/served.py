"""The file MLflow logs as the model's code ("models from code"): loading the model runs it, with the package
on the path from the model's code/ folder, instead of unpickling a Python object."""
import mlflow.models

from namecnn.serving.pyfunc import NameCNNModel

mlflow.models.set_model(NameCNNModel())
