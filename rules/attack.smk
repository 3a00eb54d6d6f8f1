# Attacks: one shard per (sampler, t*, attack, randomness, seed). PGD differentiates through the whole
# chain; BPDA replaces the purifier's backward pass by the identity; *_eot average K randomness draws.


rule attack:
    input:
        ddpm="data/models/ddpm",
        classifier="data/models/classifier.safetensors",
        eval="data/inputs/eval.safetensors",
    output:
        "data/adversarial/{sampler}-t{t}/{attack}-{randomness}-seed{seed}.safetensors",
    params:
        chain=chain_params,
        attack=config["attack"],
        # finished batches, kept across kills and resubmissions until the shard is written
        partial="data/partial/adversarial/{sampler}-t{t}/{attack}-{randomness}-seed{seed}",
    threads: 2
    resources:
        **job_resources("attack"),
        gpu=1,
    log:
        "logs/attack/{sampler}-t{t}-{attack}-{randomness}-seed{seed}.log",
    benchmark:
        "benchmarks/attack/{sampler}-t{t}-{attack}-{randomness}-seed{seed}.tsv"
    script:
        "../scripts/attack.py"
