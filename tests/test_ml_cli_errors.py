"""Every problem a risk team can cause on the command line is one line on stderr and exit code 2, never
a traceback: the bad-input table of issue "Early-warning models a risk team can trust"."""

from __future__ import annotations

import numpy as np
import pytest
from ml_bank_panel import ARGS, bank_panel

from ml.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    good = bank_panel(n_banks=300, seed=2)
    out = {"good": good}

    def put(name, frame):
        frame.to_csv(d / name, index=False)
        out[name] = str(d / name)

    put("good.csv", good)
    bad = good.copy()
    bad["failed_next_4q"] = bad["failed_next_4q"].astype(object)
    bad.loc[5, "failed_next_4q"] = "2"
    put("label2.csv", bad)
    bad = good.copy().astype({"npl": object})
    bad.loc[8, "npl"] = "n/a%"
    put("text_feature.csv", bad)
    bad = good.copy()
    bad.loc[3, "quarter"] = "2010Q5"
    put("bad_quarter.csv", bad)
    put("duplicate.csv", __import__("pandas").concat([good, good.iloc[[10]]], ignore_index=True))
    leak = good.copy()
    leak["leak"] = leak["failed_next_4q"] + np.random.default_rng(0).normal(0, 0.01, len(leak))
    put("leak.csv", leak)
    const = good.copy()
    const[["car", "npl", "roa", "noise"]] = 1.0
    put("constant.csv", const)
    one = good.copy()
    one.loc[one["quarter"].isin(["2009Q4", "2010Q1", "2010Q2", "2010Q3"]), "failed_next_4q"] = 0.0
    put("one_class.csv", one)
    out["dir"] = d
    return out


CASES = [  # (name, argv after the data file's place is filled, expected words in the one line)
    ("file not found", ["train", "--data", "{dir}/nope.csv", *ARGS, "--name", "x"], "nope.csv: file not found"),
    ("not a panel format", ["train", "--data", "{dir}/notes.txt", *ARGS, "--name", "x"],
     "not a .csv, .parquet or schema.table"),
    ("column missing", ["train", "--data", "{good.csv}", *ARGS[:6], "--features", "car,tier9", "--name", "x"],
     "columns ['tier9'] not found (rule: named_columns_exist)"),
    ("label not 0/1", ["train", "--data", "{label2.csv}", *ARGS, "--name", "x"], "row 7: failed_next_4q='2'"),
    ("feature not a number", ["train", "--data", "{text_feature.csv}", *ARGS, "--name", "x"],
     "row 10: npl='n/a%' is not a number (rule: feature_is_numeric)"),
    ("period not a period", ["train", "--data", "{bad_quarter.csv}", *ARGS, "--name", "x"],
     "row 5: quarter='2010Q5' is not a period"),
    ("entity-period twice", ["train", "--data", "{duplicate.csv}", *ARGS, "--name", "x"],
     "(rule: entity_period_unique)"),
    ("label listed as a feature", ["train", "--data", "{good.csv}", *ARGS[:6], "--features", "car,failed_next_4q",
                                   "--name", "x"], "(rule: label_not_a_feature)"),
    ("holdout of 0 periods", ["train", "--data", "{good.csv}", *ARGS, "--name", "x", "--holdout-periods", "0"],
     "--holdout-periods 0: must be 1 or more"),
    ("training to the end", ["train", "--data", "{good.csv}", *ARGS, "--name", "x", "--train-until", "2012Q4"],
     "no labelled period in the holdout"),
    ("unreadable bound", ["train", "--data", "{good.csv}", *ARGS, "--name", "x", "--holdout-from", "soon"],
     "--holdout-from 'soon': not a period"),
    ("calibration longer than training", ["train", "--data", "{good.csv}", *ARGS, "--name", "x", "--train-until",
                                          "2010Q3", "--calibrate", "9"], "--calibrate 9: need at least 10"),
    ("cv on one period", ["train", "--data", "{good.csv}", *ARGS, "--name", "x", "--train-until", "2009Q4",
                          "--calibrate", "cv"], "--calibrate cv needs at least 2 training periods"),
    ("mixed split options", ["train", "--data", "{good.csv}", *ARGS, "--name", "x", "--train-until", "2010Q3",
                             "--holdout-periods", "3"], "--holdout-periods cannot be combined"),
    ("unknown candidate", ["train", "--data", "{good.csv}", *ARGS, "--name", "x", "--candidates", "xgb"],
     "unknown candidate(s) ['xgb']"),
    ("leaky feature", ["train", "--data", "{leak.csv}", *ARGS[:6], "--features", "car,leak", "--baseline", "camels",
                       "--name", "x"], "(rule: leakage_single_feature"),
    ("every feature constant", ["train", "--data", "{constant.csv}", *ARGS, "--name", "x"],
     "(rule: features_informative)"),
    ("one class in the fit periods", ["train", "--data", "{one_class.csv}", *ARGS, "--name", "x", "--no-register",
                                      "--train-until", "2010Q3", "--candidates", "logreg"],
     "the fit periods hold only label 0"),
    ("bad NaN policy", ["train", "--data", "{good.csv}", *ARGS, "--name", "x", "--nan-policy", "car=mean"],
     "policy must be one of median, zero"),
    ("unknown derivation", ["train", "--data", "{good.csv}", *ARGS, "--name", "x", "--derive", "lag2"],
     "--derive 'lag2': unknown ['lag2']"),
    ("cut-offs out of order", ["train", "--data", "{good.csv}", *ARGS, "--name", "x", "--no-register",
                               "--cutoffs", "red=0.1,orange=0.5"], "--cutoffs: cut-offs must be in [0, 1]"),
    ("custom panel, no name", ["train", "--data", "{good.csv}", *ARGS], "--name (the registered model's name)"),
    ("columns not named", ["train", "--data", "{good.csv}", "--name", "x"],
     "name the panel's columns with --entity --period --label --features"),
    ("no --data", ["train", "--name", "x"], "the following arguments are required: --data"),
    ("compare an unknown model", ["compare", "--name", "nobody"], "nobody: no registered model of that name"),
    ("report an unknown version", ["report", "--name", "nobody", "--ref", "7"], "no registered model"),
    ("promote without a challenger", ["promote", "--name", "nobody"], "nobody: no challenger to promote"),
    ("evaluate an unknown model", ["evaluate", "--data", "{good.csv}", *ARGS, "--name", "nobody"],
     "nobody: no registered model of that name"),
]


def _call(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse's own errors (a missing option): exit 2, one line (ml.cli._Parser)
        return int(e.code)


def _fill(arg: str, files: dict) -> str:
    for k, v in files.items():
        if isinstance(v, str):
            arg = arg.replace("{" + k + "}", v)
    return arg.replace("{dir}", str(files["dir"]))


@pytest.mark.parametrize("name, argv, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_exit_code_2(files, capsys, monkeypatch, name, argv, words):
    monkeypatch.setenv("SUPERVISION_HOME", str(files["dir"] / "home"))
    (files["dir"] / "notes.txt").write_text("not a panel\n")
    rc = _call([_fill(a, files) for a in argv])
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip() and " INFO " not in x and " WARNING " not in x]
    assert rc == 2, err
    assert len(lines) == 1, lines
    assert words in lines[0], lines[0]
    assert "Traceback" not in err
