"""Fig. 3b: fit robustness against compression over every (sampler, t*) point."""

import pandas as pd

from diffrob.io import atomic_path, write_json
from diffrob.runtime import configure
from diffrob.stats.fit import sigmoid_from_files

configure(1, snakemake.log[0])
result = sigmoid_from_files(snakemake.input.compression, snakemake.input.metrics, snakemake.params.attack)
write_json({**result, "epsilon": snakemake.params.epsilon}, snakemake.output.fit)
with atomic_path(snakemake.output.points) as tmp:
    pd.DataFrame(result["points"], columns=["sampler", "t_star", "compression", "robustness"]).to_csv(tmp, index=False)
