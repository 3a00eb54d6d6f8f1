"""The ``diffrob`` command. ``diffrob screen``: a purifier's compression rate, clean accuracy and predicted
fixed-randomness PGD accuracy, without an attack (:mod:`diffrob.measure.screen`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RUN_FILES = {  # a finished run's files, relative to its folder (the defaults of --run)
    "classifier": "data/models/classifier.safetensors",
    "images": "data/inputs/eval.safetensors",
    "sigmoid": "data/measurements/sigmoid.json",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="diffrob", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    screen = commands.add_parser(
        "screen",
        help="predict a purifier's robustness from its compression rate (no attack, no gradient)",
        description=(
            "Measure a purifier's uniform-noise compression rate (eq. 10) under fixed randomness and its clean "
            "accuracy after purification, and predict its fixed-randomness PGD accuracy from a finished run's "
            "sigmoid (Fig. 3b). The purifier is a diffusion model (--model with --sampler and --t-star) or a "
            "Python callable purify(images, seed) -> images on batches in [0, 1] (--callable module:name)."
        ),
    )
    which = screen.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", help="a diffusers model folder or hub id (a DDPM's UNet and scheduler)")
    which.add_argument("--callable", dest="function", metavar="MODULE:NAME", help="a purify(images, seed) callable")
    screen.add_argument("--revision", help="the hub revision of --model (a commit hash pins it)")
    screen.add_argument("--sampler", choices=["ddpm", "reverse", "ddim"], help="with --model")
    screen.add_argument("--t-star", type=int, help="with --model: the purification depth t*")
    screen.add_argument("--reverse-steps", type=int, help="with --model: respaced reverse steps (default min(10, t*))")
    screen.add_argument("--run", type=Path, default=Path("."), help="a finished run's folder (default: here)")
    for name, path in RUN_FILES.items():
        screen.add_argument(f"--{name}", type=Path, help=f"default: RUN/{path}")
    screen.add_argument("--n-images", type=int, help="screen the first N images (default: all)")
    screen.add_argument("--epsilon", type=float, help="uniform noise radius (default: the sigmoid's attack budget)")
    screen.add_argument("--seeds", type=int, nargs="+", default=[0], help="base seeds of the fixed xi (default: 0)")
    screen.add_argument("--name", help="what to call the purifier in the output (default: from the arguments)")
    screen.add_argument("--output", type=Path, help="also write the result as JSON here")
    return parser


def _purifier(args: argparse.Namespace, indices: Sequence[int]) -> tuple[Any, str]:
    """The purifier the arguments name, and its name."""
    if args.function:
        from diffrob.measure.screen import CallablePurifier, load_callable

        return CallablePurifier(load_callable(args.function), args.function), args.function
    if args.sampler is None or args.t_star is None:
        raise SystemExit("diffrob screen: --model needs --sampler and --t-star")
    from diffrob.measure.common import load_purifier

    steps = args.reverse_steps or min(10, args.t_star)
    chain = {"sampler": args.sampler, "t_star": args.t_star, "reverse_steps": steps, "keying": "sample"}
    return load_purifier(args.model, chain, indices, args.revision), f"{args.model} {args.sampler} t*={args.t_star}"


def screen_command(args: argparse.Namespace) -> dict[str, Any]:
    """Run ``diffrob screen`` with parsed arguments: print the result and return it."""
    from diffrob.attack.purified import frozen
    from diffrob.data import load_image_set
    from diffrob.io import read_json, write_json
    from diffrob.measure.screen import describe, screen
    from diffrob.models.classifier import load_classifier
    from diffrob.runtime import device

    paths = {name: getattr(args, name) or args.run / path for name, path in RUN_FILES.items()}
    eval_set = load_image_set(paths["images"])
    if args.n_images:
        eval_set = eval_set.head(args.n_images)
    sigmoid = read_json(paths["sigmoid"]) if paths["sigmoid"].is_file() else {}
    epsilon = args.epsilon if args.epsilon is not None else sigmoid.get("epsilon")
    if epsilon is None:
        raise SystemExit(f"diffrob screen: give --epsilon ({paths['sigmoid']} does not name its attack budget)")
    purifier, name = _purifier(args, eval_set.indices.tolist())
    classifier = frozen(load_classifier(paths["classifier"])).to(device())
    result = screen(purifier, classifier, eval_set, epsilon, args.seeds, sigmoid.get("fit"))
    result["purifier"] = args.name or name
    print(describe(result["purifier"], result))
    if args.output:
        write_json(result, args.output)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """The ``diffrob`` console script."""
    args = _parser().parse_args(argv)
    if args.command == "screen":
        try:
            screen_command(args)
        except (ValueError, FileNotFoundError) as err:
            print(f"diffrob screen: {err}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
