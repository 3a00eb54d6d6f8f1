"""Download the diffusion model: a hub repository at a pinned revision (or its mirror), or a URL; sha256-checked."""

from diffrob.io import fetch_checked, url_fetcher
from diffrob.models.hub import download_hub
from diffrob.runtime import configure

configure(1, snakemake.log[0])
settings = snakemake.params.settings
if snakemake.params.source == "hub":
    download_hub(
        settings["repo_id"], settings["revision"], snakemake.output[0], settings["sha256"], settings.get("mirror")
    )
else:
    fetch_checked(url_fetcher(settings["url"]), snakemake.output[0], settings["sha256"])
