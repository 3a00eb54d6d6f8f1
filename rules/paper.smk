# The paper: long-format results, tables and figures with the paper's values beside ours, the report.

TARGETS = f"{workflow.basedir}/paper/paper_targets.csv"
TABLES = ["table1", "table4", "table5", "table6", "table7", "tableS3", "tableS4", "tableS5", "tableS6",
          "fig2", "fig3a", "fig3b", "fig3c", "accuracy", "setup", "addt"]
FIGURES = ["fig1c_l2", "figS1_linf", "figS3_uniform", "fig2_randomness", "fig3a_jacobian", "fig3b_sigmoid",
           "fig3c_base_classifier", "figS4_timesteps", "addt_models"]


rule results:
    input:
        classifier="data/metrics/classifier.json",
        purified=purified_files(),
        shards=all_shards("metrics"),
        measurements=all_measurements() + ["data/measurements/sigmoid.json"] + ([ADDT_SUMMARY] if ADDT else []),
        sigmoid="data/measurements/sigmoid.json",
    output:
        results="paper/results.csv",
        omissions="paper/omissions.csv",
    params:
        omissions=[o.as_dict() for o in DESIGN.omissions()],
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
        csv="paper/tables/table2.csv",
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


rule tables:
    input:
        results="paper/results.csv",
        omissions="paper/omissions.csv",
        targets=TARGETS,
    output:
        expand("paper/tables/{table}.{ext}", table=TABLES, ext=["csv", "md", "tex"]),
        "paper/tables/run.tex",
    log:
        "logs/tables.log",
    benchmark:
        "benchmarks/tables.tsv"
    script:
        "../scripts/tables.py"


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
    output:
        png="paper/figures/{figure}.png",
        pdf="paper/figures/{figure}.pdf",
    params:
        attack=MAIN_ATTACK,
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
        html="paper/report.html",
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
