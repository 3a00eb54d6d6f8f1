"""Clean and undefended-PGD accuracy of the classifier alone."""

from diffrob.attack.evaluate import classifier_metrics
from diffrob.data import load_image_set
from diffrob.io import write_json
from diffrob.models.classifier import load_classifier
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
metrics = classifier_metrics(
    load_classifier(snakemake.input.classifier), load_image_set(snakemake.input.eval), snakemake.params.attack
)
write_json(metrics, snakemake.output[0])
