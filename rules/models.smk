# Models: the embedded default trains its classifier and DDPM here; the paper-scale profiles download
# pretrained ones (local rules: compute nodes may have no network), check their sha256, and import them
# into the same files the embedded default writes, so every later rule is the same.

if CLASSIFIER_SOURCE == "train":

    rule train_classifier:
        input:
            train="data/inputs/train.safetensors",
        output:
            "data/models/classifier.safetensors",
        params:
            classifier=config["classifier"],
        threads: 2
        log:
            "logs/train_classifier.log",
        benchmark:
            "benchmarks/train_classifier.tsv"
        script:
            "../scripts/train_classifier.py"

else:

    rule download_classifier:
        output:
            CLASSIFIER_CHECKPOINT,
        params:
            source=config["classifier"].get("robustbench"),
        localrule: True
        log:
            "logs/download_classifier.log",
        benchmark:
            "benchmarks/download_classifier.tsv"
        script:
            "../scripts/download_classifier.py"

    rule import_classifier:
        input:
            CLASSIFIER_CHECKPOINT,
        output:
            "data/models/classifier.safetensors",
        params:
            source=config["classifier"].get("robustbench"),
        log:
            "logs/import_classifier.log",
        benchmark:
            "benchmarks/import_classifier.tsv"
        script:
            "../scripts/import_classifier.py"


if DIFFUSION_SOURCE == "train":

    rule train_ddpm:
        input:
            train="data/inputs/train.safetensors",
        output:
            directory("data/models/ddpm"),
        params:
            diffusion=config["diffusion"],
        threads: 2
        resources:
            **job_resources("train_ddpm"),
            gpu=1,
        log:
            "logs/train_ddpm.log",
        benchmark:
            "benchmarks/train_ddpm.tsv"
        script:
            "../scripts/train_ddpm.py"

else:

    rule download_diffusion:
        output:
            directory(DIFFUSION_CHECKPOINT) if DIFFUSION_SOURCE == "hub" else DIFFUSION_CHECKPOINT,
        params:
            source=DIFFUSION_SOURCE,
            settings=config["diffusion"].get(DIFFUSION_SOURCE),
        localrule: True
        log:
            "logs/download_diffusion.log",
        benchmark:
            "benchmarks/download_diffusion.tsv"
        script:
            "../scripts/download_diffusion.py"

    rule import_diffusion:
        input:
            DIFFUSION_CHECKPOINT,
        output:
            directory("data/models/ddpm"),
        params:
            source=DIFFUSION_SOURCE,
            diffusion=config["diffusion"],
        log:
            "logs/import_diffusion.log",
        benchmark:
            "benchmarks/import_diffusion.tsv"
        script:
            "../scripts/import_diffusion.py"


if FID["features"] == "inception":

    rule download_inception:
        output:
            INCEPTION_CHECKPOINT,
        params:
            url=FID["url"] or fid_weights_url(),
            sha256=FID["sha256"],
        localrule: True
        log:
            "logs/download_inception.log",
        benchmark:
            "benchmarks/download_inception.tsv"
        script:
            "../scripts/download_inception.py"


rule classifier_metrics:
    input:
        classifier="data/models/classifier.safetensors",
        eval="data/inputs/eval.safetensors",
    output:
        "data/metrics/classifier.json",
    params:
        attack=config["attack"],
    threads: 2
    resources:
        gpu=1,
        **job_resources("classifier_metrics"),
    log:
        "logs/classifier_metrics.log",
    benchmark:
        "benchmarks/classifier_metrics.tsv"
    script:
        "../scripts/classifier_metrics.py"
