"""The experiment design a configuration implies: every shard, point and pairing, derived in one place.

A configuration names samplers, t*, seeds, attacks and randomness; this module turns them into the
typed keys the measurements need (which fixed-randomness shards exist at which (sampler, t*) point,
which seed a shard is transferred to, which shards Table 5 correlates, what Fig. 1c tracks) and says,
for every artifact a configuration cannot produce, why (:meth:`Design.omissions`). It knows nothing
of files or of the workflow that schedules the work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from diffrob.attack.names import AUTOATTACK
from diffrob.paper.labels import SAMPLER_LABELS, table5_rows
from diffrob.workflow.checks import addt_on_the_sigmoids_budget


@dataclass(frozen=True, order=True)
class Point:
    """One purifier setting: a sampler at a purification depth t*."""

    sampler: str
    t_star: int

    def __str__(self) -> str:
        return f"{SAMPLER_LABELS[self.sampler]} at t* = {self.t_star}"


@dataclass(frozen=True, order=True)
class ShardKey:
    """One attack shard: ``attack`` under ``randomness`` against the purifier at ``point`` with base seed ``seed``."""

    point: Point
    attack: str
    randomness: str
    seed: int


@dataclass(frozen=True)
class Pair:
    """Two shards of the same images: whose perturbations Table 5 correlates, or whose accuracies are compared."""

    first: ShardKey
    second: ShardKey


@dataclass(frozen=True)
class Omission:
    """An artifact (or one part of it) this configuration does not produce, and why."""

    artifact: str
    item: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        """The omission as a row of ``omissions.csv``."""
        return {"artifact": self.artifact, "item": self.item, "reason": self.reason}


def _unique(values: Sequence[int]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(int(v) for v in values))


@dataclass(frozen=True)
class Design:
    """What a configuration measures. Build it with :meth:`from_config`."""

    samplers: tuple[str, ...]
    t_star: int
    seeds: tuple[int, ...]
    main_attack: str
    randomness: tuple[str, ...]
    extra: tuple[str, ...]
    extra_seeds: tuple[int, ...]
    sweep_samplers: tuple[str, ...]
    sweep_t_star: tuple[int, ...]
    sweep_seeds: tuple[int, ...]
    addt_models: tuple[str, ...] = ()  # ADDT's fine-tunes (config ``addt``); empty: no ADDT evaluation
    addt_on_sigmoid: bool = False  # ADDT's l_inf budget is the main attack's (the sigmoid's)
    addt_seeds: tuple[int, ...] = ()  # ADDT's evaluation seeds
    n_draws: int = 0  # the N-evaluation's N (measure.n_evaluation.draws; 0: none)
    autoattack: bool = False  # AutoAttack under fixed xi beside the main attack (config attack.autoattack)
    autoattack_sweep: bool = False  # ... at every point of the sigmoid too, not only the main point
    convergence_steps: tuple[int, ...] = ()  # the main attack's budgets of the convergence check (attack.convergence)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Design:
        """The design of a validated configuration (``purification``, ``attack`` and ``sweep`` sections)."""
        purification, attack, sweep = config["purification"], config["attack"], config["sweep"]
        return cls(
            samplers=tuple(purification["samplers"]),
            t_star=int(purification["t_star"]),
            seeds=_unique(purification["seeds"]),
            main_attack=str(attack.get("main", "pgd")),
            randomness=tuple(attack["randomness"]),
            extra=tuple(attack["extra"]),
            extra_seeds=_unique(attack["extra_seeds"]),
            sweep_samplers=tuple(sweep["samplers"]),
            sweep_t_star=tuple(int(t) for t in sweep["t_star"]),
            sweep_seeds=_unique(sweep["seeds"]),
            addt_models=tuple((config.get("addt") or {}).get("models", ())),
            addt_on_sigmoid=addt_on_the_sigmoids_budget(config),
            addt_seeds=_unique(((config.get("addt") or {}).get("evaluate") or {}).get("seeds", ())),
            n_draws=int(config.get("measure", {}).get("n_evaluation", {}).get("draws", 0)),
            autoattack=attack.get("autoattack") is not None,
            autoattack_sweep=bool((attack.get("autoattack") or {}).get("sweep", False)),
            convergence_steps=tuple(sorted({int(k) for k in attack.get("convergence_steps") or ()})),
        )

    # -- points and seeds ------------------------------------------------------------------------

    @property
    def main(self) -> Point:
        """The main purifier: the first sampler at the main t* (Tables 2, 4, 5, S3-S6)."""
        return Point(self.samplers[0], self.t_star)

    @property
    def eot_attack(self) -> str:
        """The EOT variant of the main attack (Table 2's third column)."""
        return f"{self.main_attack}_eot"

    def in_sweep(self, point: Point) -> bool:
        """Whether ``point`` is on the timestep sweep's grid (Table 7)."""
        return point.sampler in self.sweep_samplers and point.t_star in self.sweep_t_star

    def fixed_seeds(self, point: Point) -> tuple[int, ...]:
        """Base seeds with a fixed-randomness main-attack shard at ``point``.

        The purification seeds at the main t* for every sampler (when ``fixed`` is among the
        randomness settings), then the sweep seeds on the sweep's grid; in that order, each once.
        """
        seeds: list[int] = []
        if "fixed" in self.randomness and point.sampler in self.samplers and point.t_star == self.t_star:
            seeds += self.seeds
        if self.in_sweep(point):
            seeds += self.sweep_seeds
        return _unique(seeds)

    def points(self) -> tuple[Point, ...]:
        """Every point with fixed-randomness shards: the points of the sigmoid (Fig. 3b), sorted."""
        candidates = {Point(s, self.t_star) for s in self.samplers}
        candidates |= {Point(s, t) for s in self.sweep_samplers for t in self.sweep_t_star}
        return tuple(sorted(p for p in candidates if self.fixed_seeds(p)))

    def seeds_at(self, point: Point) -> tuple[int, ...]:
        """The base seeds a point is evaluated under: the purification seeds at the main point, and its fixed seeds."""
        return _unique((self.seeds if point == self.main else ()) + self.fixed_seeds(point))

    def clean_points(self) -> tuple[Point, ...]:
        """Points whose purified clean accuracy is measured: every sigmoid point and the main point."""
        return tuple(sorted({*self.points(), self.main}))

    def main_depth_points(self) -> tuple[Point, ...]:
        """Every sampler at the main t*, in the configuration's order (Tables 1, 6; Figs. 1c, 3a)."""
        return tuple(Point(s, self.t_star) for s in self.samplers)

    def compression_points(self) -> tuple[Point, ...]:
        """Points whose compression rate is measured: the sigmoid's and every sampler at the main t*."""
        return tuple(sorted({*self.points(), *self.main_depth_points()}))

    def compression_seeds(self, point: Point) -> tuple[int, ...]:
        """Seeds of the uniform-noise compression rate at ``point``: its fixed seeds, else the purification seeds."""
        return self.fixed_seeds(point) or self.seeds

    # -- shards ----------------------------------------------------------------------------------

    def fixed_shards(self, point: Point) -> tuple[ShardKey, ...]:
        """The fixed-randomness main-attack shards at ``point``."""
        return tuple(ShardKey(point, self.main_attack, "fixed", s) for s in self.fixed_seeds(point))

    def free_shards(self) -> tuple[ShardKey, ...]:
        """The free-randomness main-attack shards (main point, every purification seed)."""
        if "free" not in self.randomness:
            return ()
        return tuple(ShardKey(self.main, self.main_attack, "free", s) for s in self.seeds)

    def extra_shards(self, attack: str | None = None) -> tuple[ShardKey, ...]:
        """The extra attacks' shards (free randomness, main point), or those of one ``attack``."""
        attacks = self.extra if attack is None else tuple(a for a in self.extra if a == attack)
        return tuple(ShardKey(self.main, a, "free", s) for a in attacks for s in self.extra_seeds)

    def autoattack_points(self) -> tuple[Point, ...]:
        """Points whose fixed-randomness shards AutoAttack attacks too: the main point, and with ``autoattack_sweep``
        every point of the sigmoid."""
        if not self.autoattack:
            return ()
        return self.points() if self.autoattack_sweep else tuple(p for p in self.points() if p == self.main)

    def autoattack_shards(self, point: Point | None = None) -> tuple[ShardKey, ...]:
        """AutoAttack's shards (fixed randomness, the same seeds as the main attack's fixed shards), at ``point`` or
        at every point it attacks."""
        points = self.autoattack_points() if point is None else (p for p in self.autoattack_points() if p == point)
        return tuple(ShardKey(p, AUTOATTACK, "fixed", s) for p in points for s in self.fixed_seeds(p))

    def strength_pairs(self) -> tuple[Pair, ...]:
        """Paired comparisons of the main attack with AutoAttack under fixed randomness: the same point, seed, xi
        and images."""
        return tuple(Pair(ShardKey(k.point, self.main_attack, "fixed", k.seed), k) for k in self.autoattack_shards())

    def convergence_shard(self) -> ShardKey | None:
        """The fixed shard whose attack the convergence check runs to ever more steps (the main point's first seed),
        or None without one."""
        fixed = self.fixed_shards(self.main)
        return fixed[0] if self.convergence_steps and fixed else None

    def free_sets(self) -> tuple[ShardKey, ...]:
        """The adversarial sets made under free randomness (the main attack's and the extra attacks'): those the
        N-evaluation tests under N independent xi."""
        return self.free_shards() + self.extra_shards()

    def shards(self) -> tuple[ShardKey, ...]:
        """Every attack shard of the configuration."""
        fixed = tuple(k for p in self.points() for k in self.fixed_shards(p))
        return fixed + self.free_shards() + self.extra_shards() + self.autoattack_shards()

    def transfer_partner(self, key: ShardKey) -> int | None:
        """The seed s' whose xi a shard made under xi_s is tested with (Table 4), or None if there is none.

        The next seed after s, cyclically, among :meth:`seeds_at` the shard's point.
        """
        pool = self.seeds_at(key.point)
        if key.seed not in pool or len(pool) < 2:
            return None
        return pool[(pool.index(key.seed) + 1) % len(pool)]

    def trajectory_inputs(self, point: Point) -> dict[str, ShardKey]:
        """Adversarial inputs tracked along the chain at ``point`` (Fig. 1c, S1, S3; Tables S3, S4).

        The main attack's first fixed shard, and at the main point each extra attack's first shard.
        """
        inputs: dict[str, ShardKey] = {}
        fixed = self.fixed_shards(point)
        if fixed:
            inputs[self.main_attack] = fixed[0]
        if point == self.main and self.extra_seeds:
            for attack in self.extra:
                inputs[attack] = ShardKey(point, attack, "free", self.extra_seeds[0])
        return inputs

    def trajectory_seed(self, point: Point) -> int:
        """The base seed the trajectories at ``point`` are purified under: that of the tracked fixed shard."""
        fixed = self.fixed_seeds(point)
        return fixed[0] if fixed else self.seeds[0]

    def correlation_pairs(self) -> tuple[Pair, ...]:
        """Table 5's first row: pairs of fixed-randomness shards of two seeds at the main point (perturbations)."""
        fixed = {k.seed: k for k in self.fixed_shards(self.main)}
        return tuple(Pair(fixed[a], fixed[b]) for a, b in combinations(fixed, 2))

    def alignment_shard(self) -> ShardKey | None:
        """Table 5's second row: the EOT shard at the main point whose adversarial images the EOT gradient and
        the test system's gradient are compared at (the first EOT seed), or None without one."""
        shards = self.extra_shards(self.eot_attack)
        return shards[0] if shards else None

    def randomness_pairs(self) -> tuple[Pair, ...]:
        """Paired comparisons of fixed against free randomness: the main attack's fixed and free shards of each
        base seed attacked under both at the main point (the same images, the same attack)."""
        fixed = {k.seed: k for k in self.fixed_shards(self.main)}
        free = {k.seed: k for k in self.free_shards()}
        return tuple(Pair(fixed[s], free[s]) for s in fixed if s in free)

    def addt_comparisons(self) -> tuple[tuple[str, str, int], ...]:
        """(norm, setting, seed) of each paired comparison of ADDT with its clean control (both evaluated)."""
        if not {"clean", "addt"} <= set(self.addt_models):
            return ()
        return tuple((n, s, seed) for n in ("linf", "l2") for s in ("eot", "dwbox") for seed in self.addt_seeds)

    def table5_rows(self) -> tuple[str, str]:
        """Table 5's row labels: perturbations under two fixed xi; EOT gradient vs the fixed test system's."""
        return table5_rows(self.main_attack)
