# The paper: long-format results, tables and figures with the paper's values beside ours, the report. The tables,
# figures and report are also Snakemake report outputs (`snakemake --report report.html`), captioned from
# diffrob.paper.captions through rules/report/*.rst and grouped by the paper's sections.
from diffrob.paper.captions import FIGURE_CAPTIONS, TABLE_CAPTIONS, section_of
from diffrob.workflow.parameters import reverse_steps_at

TARGETS = f"{workflow.basedir}/paper/paper_targets.csv"
TABLES = list(TABLE_CAPTIONS)  # every comparison table but Table 2, which has a rule of its own
FIGURES = list(FIGURE_CAPTIONS)


rule results:
    input:
        **results_inputs(),
    output:
        results="paper/results.csv",
        omissions="paper/omissions.csv",
    log:
        "logs/results.log",
    benchmark:
        "benchmarks/results.tsv"
    conda:
        CONDA_ENV
    params:
        omissions=[o.as_dict() for o in design_omissions(DESIGN)]
        + [{"artifact": "screen", "item": name, "reason": why} for name, why in SCREEN_LEFT_OUT],
        screened=list(SCREENED),
        dataset=config["dataset"],
        main_sampler=MAIN,
        main_t=T_STAR,
        main_attack=MAIN_ATTACK,
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
    log:
        "logs/table2.log",
    benchmark:
        "benchmarks/table2.tsv"
    conda:
        CONDA_ENV
    params:
        sampler=MAIN,
        settings={
            "epsilon": config["attack"]["epsilon"],
            "t_star": T_STAR,
            "reverse_steps": reverse_steps_at(config["purification"]["reverse_steps"], T_STAR),
            "steps": config["attack"]["steps"],
            "eot_samples": config["attack"]["eot_samples"],
            "dataset": config["dataset"],
            "attack": MAIN_ATTACK,
            "autoattack": config["attack"]["autoattack"],
        },
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
    log:
        "logs/table/{table}.log",
    benchmark:
        "benchmarks/table/{table}.tsv"
    wildcard_constraints:
        table="|".join(TABLES),
    conda:
        CONDA_ENV
    params:
        caption=lambda w: TABLE_CAPTIONS[w.table],  # also the Snakemake report's caption
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
    conda:
        CONDA_ENV
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
    log:
        "logs/figure/{figure}.log",
    benchmark:
        "benchmarks/figure/{figure}.tsv"
    wildcard_constraints:
        figure="|".join(FIGURES),
    conda:
        CONDA_ENV
    params:
        attack=MAIN_ATTACK,
        steps=config["attack"]["steps"],
        caption=lambda w: FIGURE_CAPTIONS[w.figure],  # the Snakemake report's caption
    script:
        "../scripts/figure.py"


rule report:
    input:
        **({"speed": "paper/benchmarks.json"} if Path("paper/benchmarks.json").exists() else {}),
        results="paper/results.csv",
        omissions="paper/omissions.csv",
        targets=TARGETS,
        tables=expand("paper/tables/{table}.md", table=TABLES + ["table2"]),
        figures=expand("paper/figures/{figure}.png", figure=FIGURES),
        build="paper/build.json",
    output:
        md="paper/report.md",
        html=report("paper/report.html", caption="report/claims.rst", category="0 Claims"),
    log:
        "logs/report.log",
    benchmark:
        "benchmarks/report.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/report.py"


rule build_info:
    output:
        "paper/build.json",
    log:
        "logs/build_info.log",
    benchmark:
        "benchmarks/build_info.tsv"
    conda:
        CONDA_ENV
    params:
        config=config,
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
    conda:
        CONDA_ENV
    shell:
        """
        if ! command -v latexmk >/dev/null; then
            echo "paper/ms.pdf needs LaTeX: sudo apt-get install latexmk texlive-latex-recommended" \
                "texlive-latex-extra (Debian/Ubuntu), then rerun: snakemake paper/ms.pdf" | tee {log} >&2
            exit 1
        fi
        cd paper && latexmk -pdf -interaction=nonstopmode -halt-on-error ms.tex >../{log} 2>&1
        """


rule metrics_summary:
    input:
        "paper/results.csv",
    output:
        "paper/metrics.json",
    log:
        "logs/metrics_summary.log",
    benchmark:
        "benchmarks/metrics_summary.tsv"
    conda:
        CONDA_ENV
    params:
        sampler=MAIN,
        attack=MAIN_ATTACK,
    script:
        "../scripts/metrics_summary.py"
