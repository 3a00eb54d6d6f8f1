# The files of each coarse target, listed once. The default target and the DVC stages' targets (models, attacks,
# measurements; dvc.yaml) in the Snakefile take them from here, and so does the results step, which reads the
# measurements: no stage can make a file of another.


def model_files():
    """The `models` target: the inputs, the classifier, the DDPM and ADDT's fine-tunes."""
    return [
        *(["data/inputs/train.safetensors"] if DATASET == "digits" else []),
        "data/inputs/eval.safetensors",
        "data/models/classifier.safetensors",
        "data/models/ddpm",
        *[addt_model_dir(m) for m in addt_models() if m != "base"],
    ]


def attack_files():
    """The `attacks` target: every adversarial shard, the workflow's and ADDT's, with ADDT's accuracies."""
    return [*all_shards("adversarial"), *addt_shards("safetensors"), *addt_shards("json")]


def results_inputs():
    """What the results step reads, by kind: every measurement the paper's numbers come from."""
    sigmoid = "data/measurements/sigmoid.json"
    measurements = [
        *all_measurements(),
        sigmoid,
        "data/measurements/paired.json",
        *n_evaluation_files(),
        *addt_n_evaluation_files(),
        *screen_files(),
        *([ADDT_SUMMARY] if ADDT else []),
    ]
    return {
        "classifier": "data/metrics/classifier.json",
        "purified": purified_files(),
        "shards": all_shards("metrics"),
        "measurements": measurements,
        "sigmoid": sigmoid,
    }


def measurement_files():
    """The `measurements` target: what `results` reads, and the compression rates ADDT's summary is made from."""
    inputs = results_inputs()
    listed = [inputs["classifier"], *inputs["purified"], *inputs["shards"], *inputs["measurements"]]
    return [*listed, *addt_compression_files()]


def paper_files():
    """The default target (the DVC `paper` stage): results, tables, report, metrics and the build record."""
    return [
        "paper/results.csv",
        *expand("paper/tables/table2.{ext}", ext=["csv", "md", "tex"]),
        "paper/tables/run.tex",
        "paper/report.html",
        "paper/metrics.json",
        "paper/build.json",
        *addt_files(),
    ]
