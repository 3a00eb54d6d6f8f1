"""Attacks on the purified classifier g(f_xi(x)) under fixed or free randomness, and the robust accuracies of their
shards (Sec. 4)."""
