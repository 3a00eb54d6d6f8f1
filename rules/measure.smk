# Measurements: accuracy per shard, and the paper's measurements of the purifier itself.


rule measure_shard:
    input:
        shard="data/adversarial/{sampler}-t{t}/{attack}-{randomness}-seed{seed}.safetensors",
        ddpm="data/models/ddpm",
        classifier="data/models/classifier.safetensors",
    output:
        "data/metrics/{sampler}-t{t}/{attack}-{randomness}-seed{seed}.json",
    params:
        chain=chain_params,
        seeds=SEEDS,
    threads: 2
    resources:
        gpu=1,
    log:
        "logs/measure_shard/{sampler}-t{t}-{attack}-{randomness}-seed{seed}.log",
    benchmark:
        "benchmarks/measure_shard/{sampler}-t{t}-{attack}-{randomness}-seed{seed}.tsv"
    script:
        "../scripts/measure_shard.py"


def trajectory_inputs(wildcards):
    """Adversarial inputs tracked along the chain: PGD (fixed, first seed), and the main sampler's extras."""
    seed = fixed_seeds(wildcards.sampler, wildcards.t)[0]
    named = {MAIN_ATTACK: shard("adversarial", wildcards.sampler, wildcards.t, MAIN_ATTACK, "fixed", seed)}
    if wildcards.sampler == MAIN and int(wildcards.t) == T_STAR:
        for attack in config["attack"]["extra"]:
            named[attack] = shard("adversarial", MAIN, T_STAR, attack, "free", config["attack"]["extra_seeds"][0])
    return named


rule trajectories:
    input:
        unpack(trajectory_inputs),
        ddpm="data/models/ddpm",
        eval="data/inputs/eval.safetensors",
    output:
        "data/measurements/{sampler}-t{t}/trajectories.json",
    params:
        chain=chain_params,
        attacks=lambda w: list(trajectory_inputs(w)),
        uniform_epsilons=config["measure"]["uniform_epsilons"],
        seed=SEEDS[0],
    threads: 2
    resources:
        gpu=1,
    log:
        "logs/trajectories/{sampler}-t{t}.log",
    benchmark:
        "benchmarks/trajectories/{sampler}-t{t}.tsv"
    script:
        "../scripts/trajectories.py"


rule table1_distances:
    input:
        shards=fixed_shards,
        ddpm="data/models/ddpm",
        classifier="data/models/classifier.safetensors",
        eval="data/inputs/eval.safetensors",
    output:
        "data/measurements/{sampler}-t{t}/table1.json",
    params:
        chain=chain_params,
    threads: 2
    resources:
        gpu=1,
    log:
        "logs/table1_distances/{sampler}-t{t}.log",
    benchmark:
        "benchmarks/table1_distances/{sampler}-t{t}.tsv"
    script:
        "../scripts/table1_distances.py"


rule randomness:
    input:
        ddpm="data/models/ddpm",
        eval="data/inputs/eval.safetensors",
    output:
        "data/measurements/{sampler}-t{t}/randomness.json",
    params:
        chain=chain_params,
        sizes=config["measure"]["randomness"],
        epsilon=config["attack"]["epsilon"],
    threads: 2
    resources:
        gpu=1,
    log:
        "logs/randomness/{sampler}-t{t}.log",
    benchmark:
        "benchmarks/randomness/{sampler}-t{t}.tsv"
    script:
        "../scripts/randomness.py"


rule jacobian:
    input:
        ddpm="data/models/ddpm",
        eval="data/inputs/eval.safetensors",
    output:
        "data/measurements/{sampler}-t{t}/jacobian.json",
    params:
        chain=chain_params,
        n_images=config["measure"]["jacobian_images"],
        seed=SEEDS[0],
    threads: 2
    resources:
        gpu=1,
    log:
        "logs/jacobian/{sampler}-t{t}.log",
    benchmark:
        "benchmarks/jacobian/{sampler}-t{t}.tsv"
    script:
        "../scripts/jacobian.py"


rule compression:
    input:
        shards=fixed_shards,
        ddpm="data/models/ddpm",
        eval="data/inputs/eval.safetensors",
    output:
        "data/measurements/{sampler}-t{t}/compression.json",
    params:
        chain=chain_params,
        epsilon=config["attack"]["epsilon"],
    threads: 2
    resources:
        gpu=1,
    log:
        "logs/compression/{sampler}-t{t}.log",
    benchmark:
        "benchmarks/compression/{sampler}-t{t}.tsv"
    script:
        "../scripts/compression.py"


rule correlations:
    input:
        fixed=fixed_shards,
        eot=lambda w: (
            [shard("adversarial", MAIN, T_STAR, "pgd_eot", "free", config["attack"]["extra_seeds"][0])]
            if "pgd_eot" in config["attack"]["extra"]
            else []
        ),
        eval="data/inputs/eval.safetensors",
    output:
        "data/measurements/{sampler}-t{t}/correlations.json",
    log:
        "logs/correlations/{sampler}-t{t}.log",
    benchmark:
        "benchmarks/correlations/{sampler}-t{t}.tsv"
    script:
        "../scripts/correlations.py"


rule base_classifier:
    input:
        classifier="data/models/classifier.safetensors",
        eval="data/inputs/eval.safetensors",
        compression=[measurement("compression", s, t) for s, t in points()],
    output:
        "data/measurements/base_classifier.json",
    params:
        attack=config["attack"],
        scales=config["measure"]["base_classifier_scales"],
    threads: 2
    log:
        "logs/base_classifier.log",
    benchmark:
        "benchmarks/base_classifier.tsv"
    script:
        "../scripts/base_classifier.py"
