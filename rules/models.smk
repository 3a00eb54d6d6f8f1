# Models: the embedded default trains its classifier and DDPM here; the paper-scale profiles download
# pretrained ones (local rules: compute nodes may have no network), check their sha256, and import them
# into the same files the embedded default writes, so every later rule is the same.

if CLASSIFIER_SOURCE == "train":

    rule train_classifier:
        input:
            train="data/inputs/train.safetensors",
        output:
            "data/models/classifier.safetensors",
        log:
            "logs/train_classifier.log",
        benchmark:
            "benchmarks/train_classifier.tsv"
        conda:
            CONDA_ENV
        threads: 2
        params:
            classifier=config["classifier"],
        script:
            "../scripts/train_classifier.py"

else:

    rule download_classifier:
        output:
            CLASSIFIER_CHECKPOINT,
        log:
            "logs/download_classifier.log",
        benchmark:
            "benchmarks/download_classifier.tsv"
        localrule: True
        conda:
            CONDA_ENV
        params:
            source=config["classifier"].get("robustbench"),
        script:
            "../scripts/download_classifier.py"

    rule import_classifier:
        input:
            CLASSIFIER_CHECKPOINT,
        output:
            "data/models/classifier.safetensors",
        log:
            "logs/import_classifier.log",
        benchmark:
            "benchmarks/import_classifier.tsv"
        conda:
            CONDA_ENV
        params:
            source=config["classifier"].get("robustbench"),
        script:
            "../scripts/import_classifier.py"


if DIFFUSION_SOURCE == "train":

    rule train_ddpm:
        input:
            train="data/inputs/train.safetensors",
        output:
            directory("data/models/ddpm"),
        log:
            "logs/train_ddpm.log",
        benchmark:
            "benchmarks/train_ddpm.tsv"
        conda:
            CONDA_ENV
        threads: 2
        resources:
            **job_resources("train_ddpm"),
            gpu=1,
        params:
            diffusion=config["diffusion"],
        script:
            "../scripts/train_ddpm.py"

else:

    rule download_diffusion:
        output:
            directory(DIFFUSION_CHECKPOINT) if DIFFUSION_SOURCE == "hub" else DIFFUSION_CHECKPOINT,
        log:
            "logs/download_diffusion.log",
        benchmark:
            "benchmarks/download_diffusion.tsv"
        localrule: True
        conda:
            CONDA_ENV
        params:
            source=DIFFUSION_SOURCE,
            settings=config["diffusion"].get(DIFFUSION_SOURCE),
        script:
            "../scripts/download_diffusion.py"

    rule import_diffusion:
        input:
            DIFFUSION_CHECKPOINT,
        output:
            directory("data/models/ddpm"),
        log:
            "logs/import_diffusion.log",
        benchmark:
            "benchmarks/import_diffusion.tsv"
        conda:
            CONDA_ENV
        params:
            source=DIFFUSION_SOURCE,
            diffusion=config["diffusion"],
        script:
            "../scripts/import_diffusion.py"


if FID["features"] == "inception":

    rule download_inception:
        output:
            INCEPTION_CHECKPOINT,
        log:
            "logs/download_inception.log",
        benchmark:
            "benchmarks/download_inception.tsv"
        localrule: True
        conda:
            CONDA_ENV
        params:
            url=FID["url"] or fid_weights_url(),
            sha256=FID["sha256"],
        script:
            "../scripts/download_inception.py"


rule classifier_metrics:
    input:
        classifier="data/models/classifier.safetensors",
        eval="data/inputs/eval.safetensors",
    output:
        "data/metrics/classifier.json",
    log:
        "logs/classifier_metrics.log",
    benchmark:
        "benchmarks/classifier_metrics.tsv"
    conda:
        CONDA_ENV
    threads: 2
    resources:
        **job_resources("classifier_metrics"),
        gpu=1,
    params:
        attack=ATTACK,
    script:
        "../scripts/classifier_metrics.py"
