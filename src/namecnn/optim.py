"""Mini-batch SGD with momentum, in place."""


def momentum_step(params, grads, velocity, lr, rho):
    """v <- rho v - lr g; p <- p + v, for every array of `params`."""
    for key, p in params.items():
        v = velocity[key]
        v *= rho
        v -= lr * grads[key]
        p += v
