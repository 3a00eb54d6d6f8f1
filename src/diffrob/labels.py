"""The paper's names for our samplers and attacks: the one table every rendering reads."""

SAMPLER_LABELS = {"ddpm": "DDPM", "reverse": "Reverse", "ddim": "DDIM"}
ATTACK_LABELS = {"pgd": "PGD (Full)", "pgd_eot": "PGD-EOT", "bpda": "BPDA", "bpda_eot": "BPDA-EOT"}
ATTACK_TITLES = {"pgd": "PGD", "pgd_eot": "PGD-EOT", "bpda": "BPDA", "bpda_eot": "BPDA-EOT"}
PAPER_DATASET_NAMES = {"cifar10": "CIFAR-10", "imagenet": "ImageNet"}
