"""What a configuration does not produce, and why: every artifact (or part of one) its experiment design
(:class:`diffrob.workflow.design.Design`) leaves out, each with the reason, in paper order."""

from __future__ import annotations

from diffrob.paper.labels import ATTACK_TITLES, SAMPLER_LABELS
from diffrob.stats.fit import MIN_POINTS
from diffrob.workflow.design import Design, Omission, Point


def design_omissions(design: Design) -> tuple[Omission, ...]:
    """Every omission of ``design``, in paper order."""
    return tuple(
        _sampler_omissions(design)
        + _main_point_omissions(design)
        + _autoattack_omissions(design)
        + _convergence_omissions(design)
        + _table5_omissions(design)
        + _transfer_omissions(design)
        + _sweep_omissions(design)
        + _addt_omissions(design)
        + _n_evaluation_omissions(design)
    )


def _no_fixed_reason(design: Design, point: Point) -> str:
    why = []
    if "fixed" not in design.randomness:
        why.append(f"attack.randomness = {list(design.randomness)} has no 'fixed'")
    elif point.sampler not in design.samplers or point.t_star != design.t_star:
        why.append(f"{point} is not a purification sampler at purification.t_star")
    if not design.in_sweep(point):
        why.append(f"{point} is not on the sweep's grid (sweep.samplers x sweep.t_star)")
    return f"no fixed-randomness {ATTACK_TITLES[design.main_attack]} shard at {point}: " + "; ".join(why)


def _main_point_omissions(design: Design) -> list[Omission]:
    name, main = ATTACK_TITLES[design.main_attack], design.main
    label = SAMPLER_LABELS[main.sampler]
    out = []
    if not design.fixed_seeds(main):
        reason = _no_fixed_reason(design, main)
        out += [Omission("table2", f"{label} fixed {name}", reason), Omission("table4", "transfer", reason)]
    elif design.transfer_partner(design.fixed_shards(main)[0]) is None:
        reason = f"one base seed at {main} ({list(design.seeds_at(main))}): transfer needs a second seed s'"
        out.append(Omission("table4", "transfer", reason))
    if "free" not in design.randomness:
        reason = f"attack.randomness = {list(design.randomness)} has no 'free'"
        out.append(Omission("table2", f"{label} free {name}", reason))
    if not design.extra_shards(design.eot_attack):
        reason = f"attack.extra = {list(design.extra)} has no {design.eot_attack}"
        out.append(Omission("table2", f"{label} free {ATTACK_TITLES[design.eot_attack]}", reason))
    return out


def _autoattack_omissions(design: Design) -> list[Omission]:
    label = SAMPLER_LABELS[design.main.sampler]
    if not design.autoattack:
        reason = "attack.autoattack is null"
        return [Omission("table2", f"{label} fixed AutoAttack", reason), Omission("fig3b", "AutoAttack", reason)]
    if not design.autoattack_shards():
        reason = f"AutoAttack attacks the main attack's fixed shards, and {design.main} has none"
        return [Omission("table2", f"{label} fixed AutoAttack", reason)]
    if not design.autoattack_sweep:
        return [Omission("fig3b", "AutoAttack", "attack.autoattack.sweep is false: at the main point only")]
    return []


def _convergence_omissions(design: Design) -> list[Omission]:
    if design.convergence_shard() is not None:
        return []
    reason = f"the convergence check continues the main attack's fixed shards, and {design.main} has none"
    return [
        Omission(
            "convergence", "every budget", reason if design.convergence_steps else "attack.convergence_steps is null"
        )
    ]


def _table5_omissions(design: Design) -> list[Omission]:
    perturbations, gradients = design.table5_rows()
    out = []
    if not design.correlation_pairs():
        seeds = list(design.fixed_seeds(design.main))
        reason = f"fixed-randomness shards of {len(seeds)} seed(s) {seeds} at {design.main}; the pair needs two"
        out.append(Omission("table5", perturbations, reason))
    if design.alignment_shard() is None:
        reason = f"attack.extra = {list(design.extra)} has no {design.eot_attack}"
        out.append(Omission("table5", gradients, reason))
    return out


def _sampler_omissions(design: Design) -> list[Omission]:
    out = []
    for point in design.main_depth_points():
        if not design.fixed_seeds(point):
            reason = _no_fixed_reason(design, point)
            label = SAMPLER_LABELS[point.sampler]
            out += [Omission("table1", label, reason), Omission("table6", f"{label} PGD(fix)", reason)]
            if point == design.main:
                out.append(Omission("fig1c", f"{label} {ATTACK_TITLES[design.main_attack]}", reason))
    return out


def _transfer_omissions(design: Design) -> list[Omission]:
    out = []
    for point in design.points():
        if point != design.main and len(design.seeds_at(point)) < 2:
            reason = f"one base seed at {point} ({list(design.seeds_at(point))}): no other seed's xi to test under"
            out.append(Omission("accuracy", f"{point}: transfer", reason))
    return out


def _sweep_omissions(design: Design) -> list[Omission]:
    out = []
    if not any(design.in_sweep(p) for p in design.points()):
        reason = "sweep.samplers is empty" if not design.sweep_samplers else "no sweep point has a shard"
        out.append(Omission("table7", "timestep sweep", reason))
    elif "ddpm" not in design.sweep_samplers:
        out.append(Omission("table7", "DDPM", f"sweep.samplers = {list(design.sweep_samplers)} has no ddpm"))
    n_points = len(design.points())
    if n_points < MIN_POINTS:
        reason = (
            f"{n_points} (sampler, t*) point(s) with fixed-randomness shards; the 3-parameter sigmoid needs "
            f"at least {MIN_POINTS} (add samplers or t* to sweep)"
        )
        out.append(Omission("fig3b", "sigmoid fit", reason))
    return out


def _n_evaluation_omissions(design: Design) -> list[Omission]:
    if not design.n_draws:
        return [Omission("n_evaluation", "every set", "measure.n_evaluation.draws is 0")]
    if not design.free_sets():
        reason = "no adversarial set is made under free randomness (attack.randomness and attack.extra)"
        return [Omission("n_evaluation", "the workflow's attacks", reason)]
    return []


def _addt_omissions(design: Design) -> list[Omission]:
    if not design.addt_models:
        reason = "no addt section in the configuration (ADDT's evaluation is optional)"
        return [Omission("addt", "every model", reason)]
    out = []
    if not design.addt_on_sigmoid:
        reason = "addt.evaluate.linf.epsilon differs from attack.epsilon, the budget of the Fig. 3b sigmoid"
        out.append(Omission("addt", "sigmoid residual", reason))
    if not {"clean", "addt"} <= set(design.addt_models):
        reason = "ADDT's claims compare the addt model with the clean control: addt.models needs both"
        out.append(Omission("addt", "claims", reason))
    return out
