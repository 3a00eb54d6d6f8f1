"""Download a RobustBench classifier's weights file, sha256-checked."""

from diffrob.models.robustbench import download_robustbench
from diffrob.runtime import configure

configure(1, snakemake.log[0])
rb = snakemake.params.source
download_robustbench(
    rb["name"], rb["dataset"], rb["threat_model"], snakemake.output[0], rb["sha256"], url=rb.get("url")
)
