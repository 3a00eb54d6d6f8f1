# The paper: long-format results, tables and figures with the paper's values beside ours, the report. The tables,
# figures and report are also Snakemake report outputs (`snakemake --report report.html`), captioned from
# diffrob.captions through rules/report/*.rst and grouped by the paper's sections.
from diffrob.captions import FIGURE_CAPTIONS, TABLE_CAPTIONS, section_of


TARGETS = f"{workflow.basedir}/paper/paper_targets.csv"
TABLES = list(TABLE_CAPTIONS)  # every comparison table but Table 2, which has a rule of its own
FIGURES = list(FIGURE_CAPTIONS)


rule results:
    input:
        classifier="data/metrics/classifier.json",
        purified=purified_files(),
        shards=all_shards("metrics"),
        measurements=all_measurements()
        + ["data/measurements/sigmoid.json", "data/measurements/paired.json"]
        + n_evaluation_files()
        + addt_n_evaluation_files()
        + screen_files()
        + ([ADDT_SUMMARY] if ADDT else []),
        sigmoid="data/measurements/sigmoid.json",
    output:
        results="paper/results.csv",
        omissions="paper/omissions.csv",
    params:
        omissions=[o.as_dict() for o in DESIGN.omissions()]
        + [{"artifact": "screen", "item": name, "reason": why} for name, why in SCREEN_LEFT_OUT],
        screened=list(SCREENED),
        dataset=config["dataset"],
        main_sampler=MAIN,
        main_t=T_STAR,
        main_attack=MAIN_ATTACK,
    log:
        "logs/results.log",
    benchmark:
        "benchmarks/results.tsv"
    script:
        "../scripts/results.py"


rule table2:
    input:
        results="paper/results.csv",
        omissions="paper/omissions.csv",
        targets=TARGETS,
    output:
        csv=report("paper/tables/table2.csv", caption="report/table2.rst", category=section_of("table2")),
        md="paper/tables/table2.md",
        tex="paper/tables/table2.tex",
    params:
        sampler=MAIN,
        settings={
            "epsilon": config["attack"]["epsilon"],
            "t_star": T_STAR,
            "reverse_steps": min(config["purification"]["reverse_steps"], T_STAR),
            "steps": config["attack"]["steps"],
            "eot_samples": config["attack"]["eot_samples"],
            "dataset": config["dataset"],
            "attack": MAIN_ATTACK,
        },
    log:
        "logs/table2.log",
    benchmark:
        "benchmarks/table2.tsv"
    script:
        "../scripts/table2.py"


rule table:
    input:
        results="paper/results.csv",
        omissions="paper/omissions.csv",
        targets=TARGETS,
    output:
        csv=report(
            "paper/tables/{table}.csv",
            caption="report/result.rst",
            category=lambda w: section_of(w.table),
            labels=lambda w: {"artifact": w.table, "kind": "table"},
        ),
        md="paper/tables/{table}.md",
        tex="paper/tables/{table}.tex",
    params:
        caption=lambda w: TABLE_CAPTIONS[w.table],  # also the Snakemake report's caption
    wildcard_constraints:
        table="|".join(TABLES),
    log:
        "logs/table/{table}.log",
    benchmark:
        "benchmarks/table/{table}.tsv"
    script:
        "../scripts/table.py"


rule run_macros:
    input:
        "paper/results.csv",
    output:
        "paper/tables/run.tex",
    log:
        "logs/run_macros.log",
    benchmark:
        "benchmarks/run_macros.tsv"
    script:
        "../scripts/run_macros.py"


rule figure:
    input:
        trajectories=main_depth_measurements("trajectories"),
        randomness=measurement("randomness"),
        jacobian=main_depth_measurements("jacobian"),
        sigmoid="data/measurements/sigmoid.json",
        base_classifier="data/measurements/base_classifier.json",
        classifier="data/metrics/classifier.json",
        results="paper/results.csv",
        omissions="paper/omissions.csv",
        n_evaluation=n_evaluation_files() + addt_n_evaluation_files(),
    output:
        png=report(
            "paper/figures/{figure}.png",
            caption="report/result.rst",
            category=lambda w: section_of(w.figure),
            labels=lambda w: {"artifact": w.figure, "kind": "figure"},
        ),
        pdf="paper/figures/{figure}.pdf",
    params:
        attack=MAIN_ATTACK,
        caption=lambda w: FIGURE_CAPTIONS[w.figure],  # the Snakemake report's caption
    wildcard_constraints:
        figure="|".join(FIGURES),
    log:
        "logs/figure/{figure}.log",
    benchmark:
        "benchmarks/figure/{figure}.tsv"
    script:
        "../scripts/figure.py"


rule report:
    input:
        results="paper/results.csv",
        omissions="paper/omissions.csv",
        targets=TARGETS,
        tables=expand("paper/tables/{table}.md", table=TABLES + ["table2"]),
        figures=expand("paper/figures/{figure}.png", figure=FIGURES),
        build="paper/build.json",
        **({"speed": "paper/benchmarks.json"} if Path("paper/benchmarks.json").exists() else {}),
    output:
        md="paper/report.md",
        html=report("paper/report.html", caption="report/claims.rst", category="0 Claims"),
    log:
        "logs/report.log",
    benchmark:
        "benchmarks/report.tsv"
    script:
        "../scripts/report.py"


rule build_info:
    output:
        "paper/build.json",
    params:
        config=config,
    log:
        "logs/build_info.log",
    benchmark:
        "benchmarks/build_info.tsv"
    script:
        "../scripts/build_info.py"


rule manuscript:
    input:
        tex="paper/ms.tex",
        tables=expand("paper/tables/{table}.tex", table=TABLES + ["table2", "run"]),
        figures=expand("paper/figures/{figure}.pdf", figure=FIGURES),
    output:
        "paper/ms.pdf",
    log:
        "logs/manuscript.log",
    benchmark:
        "benchmarks/manuscript.tsv"
    shell:
        """
        if ! command -v latexmk >/dev/null; then
            echo "paper/ms.pdf needs LaTeX: sudo apt-get install latexmk texlive-latex-recommended" \
                 "texlive-latex-extra (Debian/Ubuntu), then rerun: snakemake paper/ms.pdf" | tee {log} >&2
            exit 1
        fi
        cd paper && latexmk -pdf -interaction=nonstopmode -halt-on-error ms.tex > ../{log} 2>&1
        """


rule metrics_summary:
    input:
        "paper/results.csv",
    output:
        "paper/metrics.json",
    params:
        sampler=MAIN,
        attack=MAIN_ATTACK,
    log:
        "logs/metrics_summary.log",
    benchmark:
        "benchmarks/metrics_summary.tsv"
    script:
        "../scripts/metrics_summary.py"
