"""Train the embedded classifier."""

from diffrob.data import load_image_set
from diffrob.models.classifier import save_classifier, train_classifier
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
p = snakemake.params.classifier
model = train_classifier(
    load_image_set(snakemake.input.train), p["epochs"], p["batch_size"], p["lr"], p["seed"], p["width"]
)
save_classifier(model, snakemake.output[0])
