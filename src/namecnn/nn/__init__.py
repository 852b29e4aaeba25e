"""The network: layers as forward/backward pairs, the one-hot first layer, the model, the study's reference
method, the gradient check, and the model on disk."""
