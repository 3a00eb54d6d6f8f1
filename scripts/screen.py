"""diffrob screen for one purifier of config `screen`: its compression rate, clean accuracy after purification and
the fixed-randomness PGD accuracy the run's sigmoid predicts, as typed records."""

import sys

from diffrob.attack.purified import frozen
from diffrob.data import load_image_set
from diffrob.io import read_json, write_json
from diffrob.measure.common import load_purifier
from diffrob.measure.screen import CallablePurifier, describe, load_callable, screen, screen_records
from diffrob.models.classifier import load_classifier
from diffrob.runtime import configure, device

configure(snakemake.threads, snakemake.log[0])
i, p, name = snakemake.input, snakemake.params, snakemake.wildcards.name
eval_set = load_image_set(i.eval)
entry = p.purifier
if "callable" in entry:
    purifier = CallablePurifier(load_callable(entry["callable"]), entry["callable"])
else:
    model = i.model[0] if i.model else entry["model"]  # the workflow's folder, or a folder or hub id of one's own
    purifier = load_purifier(model, entry["chain"], eval_set.indices.tolist(), entry.get("revision"))
classifier = frozen(load_classifier(i.classifier)).to(device())
sigmoid = read_json(i.sigmoid)
result = screen(purifier, classifier, eval_set, p.epsilon, p.seeds, sigmoid["fit"])
print(describe(name, result), file=sys.stderr, flush=True)  # the log
write_json({"purifier": name, **result, "records": screen_records(name, result)}, snakemake.output[0])
