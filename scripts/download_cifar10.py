"""Download the CIFAR-10 binary archive (md5-checked by torchvision) and extract it."""

from diffrob.data import download_cifar10
from diffrob.runtime import configure

configure(1, snakemake.log[0])
data = snakemake.params.data
download_cifar10(data["folder"], data["cifar10_url"], data["cifar10_md5"])
