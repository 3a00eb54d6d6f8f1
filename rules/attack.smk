# Attacks: one shard per (sampler, t*, attack, randomness, seed). PGD differentiates through the whole
# chain; BPDA replaces the purifier's backward pass by the identity; *_eot average K randomness draws.
# The same job then measures the shard's accuracies under its own, a fresh and the partner seed's xi
# (Tables 2, 4): a job of its own would spend more on starting (torch, diffusers) than on measuring.


rule attack:
    input:
        ddpm="data/models/ddpm",
        classifier="data/models/classifier.safetensors",
        eval="data/inputs/eval.safetensors",
    output:
        shard="data/adversarial/{sampler}-t{t}/{attack}-{randomness}-seed{seed}.safetensors",
        metrics="data/adversarial/{sampler}-t{t}/{attack}-{randomness}-seed{seed}.json",
    log:
        "logs/attack/{sampler}-t{t}-{attack}-{randomness}-seed{seed}.log",
    benchmark:
        "benchmarks/attack/{sampler}-t{t}-{attack}-{randomness}-seed{seed}.tsv"
    conda:
        CONDA_ENV
    threads: 2
    resources:
        **job_resources("attack"),
        gpu=1,
    params:
        chain=chain_params,
        attack=attack_params,
        partner=lambda w: DESIGN.transfer_partner(shard_of(w)),
        # finished batches, kept across kills and resubmissions until the shard and its metrics are written
        partial="data/partial/adversarial/{sampler}-t{t}/{attack}-{randomness}-seed{seed}",
        measured="data/partial/metrics/{sampler}-t{t}/{attack}-{randomness}-seed{seed}",
    script:
        "../scripts/attack.py"
