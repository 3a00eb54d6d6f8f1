# Measurements: the paper's measurements of the purifier itself (each shard's accuracies come with the shard).


def trajectory_inputs(wildcards):
    """Adversarial inputs tracked along the chain at a point, named by attack (the design's choice)."""
    return {a: shard_file("adversarial", key) for a, key in DESIGN.trajectory_inputs(point_of(wildcards)).items()}


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
        seed=lambda w: DESIGN.trajectory_seed(point_of(w)),
        partial="data/partial/trajectories/{sampler}-t{t}",  # finished inputs, kept until the output is written
    threads: 2
    resources:
        **job_resources("trajectories"),
        gpu=1,
    log:
        "logs/trajectories/{sampler}-t{t}.log",
    benchmark:
        "benchmarks/trajectories/{sampler}-t{t}.tsv"
    script:
        "../scripts/trajectories.py"


rule table1_distances:
    input:
        unpack(fid_inputs),
        shards=fixed_shards,
        ddpm="data/models/ddpm",
        classifier="data/models/classifier.safetensors",
        eval="data/inputs/eval.safetensors",
    output:
        "data/measurements/{sampler}-t{t}/table1.json",
    params:
        chain=chain_params,
        fid=config["measure"]["fid"],
        partial="data/partial/table1/{sampler}-t{t}",  # finished shards, kept until the output is written
    threads: 2
    resources:
        **job_resources("table1_distances"),
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
        partial="data/partial/randomness/{sampler}-t{t}",  # finished images, kept until the output is written
    threads: 2
    resources:
        **job_resources("randomness"),
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
        patch=config["measure"]["jacobian_patch"],
        seed=DESIGN.seeds[0],
        partial="data/partial/jacobian/{sampler}-t{t}",  # finished images, kept until the output is written
    threads: 2
    resources:
        **job_resources("jacobian"),
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
        seeds=lambda w: list(DESIGN.compression_seeds(point_of(w))),
        epsilon=config["attack"]["epsilon"],
        partial="data/partial/compression/{sampler}-t{t}",  # finished seeds and shards
    threads: 2
    resources:
        **job_resources("compression"),
        gpu=1,
    log:
        "logs/compression/{sampler}-t{t}.log",
    benchmark:
        "benchmarks/compression/{sampler}-t{t}.tsv"
    script:
        "../scripts/compression.py"


rule correlations:
    input:
        pairs=lambda w: [shard_file("adversarial", k) for p in DESIGN.correlation_pairs() for k in (p.first, p.second)],
        eval="data/inputs/eval.safetensors",
    output:
        "data/measurements/{sampler}-t{t}/correlations.json",
    params:
        pairs=[(shard_file("adversarial", p.first), shard_file("adversarial", p.second)) for p in DESIGN.correlation_pairs()],
    log:
        "logs/correlations/{sampler}-t{t}.log",
    benchmark:
        "benchmarks/correlations/{sampler}-t{t}.tsv"
    script:
        "../scripts/correlations.py"


rule gradient_alignment:
    input:
        shard=lambda w: shard_file("adversarial", DESIGN.alignment_shard()),
        ddpm="data/models/ddpm",
        classifier="data/models/classifier.safetensors",
        eval="data/inputs/eval.safetensors",
    output:
        "data/measurements/{sampler}-t{t}/gradient_alignment.json",
    params:
        chain=chain_params,
        attack=config["attack"],
        partial="data/partial/gradient_alignment/{sampler}-t{t}",  # finished batches, kept until the output is written
    threads: 2
    resources:
        **job_resources("gradient_alignment"),
        gpu=1,
    log:
        "logs/gradient_alignment/{sampler}-t{t}.log",
    benchmark:
        "benchmarks/gradient_alignment/{sampler}-t{t}.tsv"
    script:
        "../scripts/gradient_alignment.py"


rule base_classifier:
    input:
        classifier="data/models/classifier.safetensors",
        eval="data/inputs/eval.safetensors",
        compression=[measurement("compression", p) for p in DESIGN.compression_points()],
    output:
        "data/measurements/base_classifier.json",
    params:
        attack=config["attack"],
        scales=config["measure"]["base_classifier_scales"],
    threads: 2
    resources:
        gpu=1,
        **job_resources("base_classifier"),
    log:
        "logs/base_classifier.log",
    benchmark:
        "benchmarks/base_classifier.tsv"
    script:
        "../scripts/base_classifier.py"


def paired_comparisons(wildcards=None):
    """Accuracies compared image by image: fixed against free randomness (each base seed attacked under both at
    the main point) and ADDT against its clean control (each norm, setting and seed)."""
    pairs = [
        {"comparison": "fixed_vs_free", "attack": p.first.attack, "seed": p.first.seed,
         "first": shard_file("adversarial", p.first), "second": shard_file("adversarial", p.second)}
        for p in DESIGN.randomness_pairs()
    ]
    pairs += [
        {"comparison": "addt_vs_clean", "attack": f"{norm}_{setting}", "seed": seed,
         "first": addt_shard("addt", norm, setting, seed), "second": addt_shard("clean", norm, setting, seed)}
        for norm, setting, seed in DESIGN.addt_comparisons()
    ]
    return pairs


rule paired_comparisons:
    input:
        lambda w: [c[side] for c in paired_comparisons() for side in ("first", "second")],
    output:
        "data/measurements/paired.json",
    params:
        comparisons=paired_comparisons,
    localrule: True
    log:
        "logs/paired_comparisons.log",
    benchmark:
        "benchmarks/paired_comparisons.tsv"
    script:
        "../scripts/paired_comparisons.py"


N_DRAWS = config["measure"]["n_evaluation"]["draws"]


def n_evaluation_file(key):
    """The N-evaluation of one free-randomness attack shard."""
    p = key.point
    return f"data/measurements/n_evaluation/{p.sampler}-t{p.t_star}/{key.attack}-{key.randomness}-seed{key.seed}.json"


def n_evaluation_files():
    """Every N-evaluation of the workflow's own attacks (none with measure.n_evaluation.draws = 0)."""
    return [n_evaluation_file(k) for k in DESIGN.free_sets()] if N_DRAWS else []


rule n_evaluation:
    input:
        shard=lambda w: shard_file("adversarial", shard_of(w)),
        ddpm="data/models/ddpm",
        classifier="data/models/classifier.safetensors",
        eval="data/inputs/eval.safetensors",
    output:
        "data/measurements/n_evaluation/{sampler}-t{t}/{attack}-{randomness}-seed{seed}.json",
    params:
        chain=chain_params,
        draws=N_DRAWS,
        key=lambda w: {"model": "base", "attack": w.attack, "seed": int(w.seed)},
        batch_size=config["attack"]["batch_size"],  # images classified at once
        partial="data/partial/n_evaluation/{sampler}-t{t}/{attack}-{randomness}-seed{seed}",  # finished draws
    wildcard_constraints:
        randomness="free",
    threads: 2
    resources:
        **job_resources("n_evaluation"),
        gpu=1,
    log:
        "logs/n_evaluation/{sampler}-t{t}-{attack}-{randomness}-seed{seed}.log",
    benchmark:
        "benchmarks/n_evaluation/{sampler}-t{t}-{attack}-{randomness}-seed{seed}.tsv"
    script:
        "../scripts/n_evaluation.py"
