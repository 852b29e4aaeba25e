"""Mini-batch SGD with momentum, in place."""


def momentum_step(params, grads, velocity, lr, rho):
    """v <- rho v - lr g; w <- w + v, for every array w of `params`."""
    for key, w in params.items():
        v = velocity[key]
        v *= rho
        v -= lr * grads[key]
        w += v
