"""The paper's measurements, one module per family of quantities: distances along the chain (Sec. 3.1), randomness
(Sec. 3.2), compression and the Jacobian (Sec. 5), gradients, the N-evaluation, FID features and the gradient-free
screen."""
