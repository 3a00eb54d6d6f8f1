"""Download pytorch-fid's FID Inception weights, sha256-checked."""

from diffrob.io import fetch_checked, url_fetcher
from diffrob.runtime import configure

configure(1, snakemake.log[0])
fetch_checked(url_fetcher(snakemake.params.url), snakemake.output[0], snakemake.params.sha256)
