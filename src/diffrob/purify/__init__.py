"""Purification f_xi(x): the noise xi (the one owner of randomness), the samplers' update equations, and the one
pipeline every attack and measurement calls."""
