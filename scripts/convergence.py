"""The convergence check: the main attack's accuracy after each number of steps on the main point's first fixed
shard (resumable), beside AutoAttack's after each of its attacks."""

from diffrob.attack.convergence import convergence_measurement
from diffrob.attack.evaluate import Defence, run_convergence
from diffrob.data import load_image_set
from diffrob.io import read_json, write_json
from diffrob.resume import BatchStore, job_identity
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
i, p = snakemake.input, snakemake.params
eval_set = load_image_set(i.eval)
identity = {"chain": p.chain, "attack": p.attack, "seed": p.seed, "budgets": p.budgets}
store = BatchStore(p.partial, job_identity(identity, [i.ddpm, i.classifier, i.eval]))
defence = Defence(i.ddpm, i.classifier, p.chain)
accuracy = run_convergence(defence, eval_set, p.attack, p.attack_name, p.seed, p.budgets, store)
autoattack = read_json(i.autoattack[0]) if i.autoattack else None
result = convergence_measurement(accuracy, p.attack_name, p.seed, len(eval_set), read_json(i.shard), autoattack)
write_json(result, snakemake.output[0])
store.finish()
