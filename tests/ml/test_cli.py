"""``python -m ml``: the command list, and one clear line with exit status 2 on user errors.

Every subcommand (train, evaluate, embed, export, calibrate, ensemble) is tried against bad
arguments, a missing data folder, an empty one, a folder of non-images and checkpoints
that are not ours (random bytes, a ``torch.save`` of a plain tensor, a dict of the wrong
kind, a model where a resumable ``last.pt`` is needed).

Each real process pays about 3-5 s for ``import torch`` on this 2-core machine, so a few
cases (every kind that needs no torch, and two that do) run as a real subprocess with
the venv's python; the full matrix calls ``ml.cli.main`` in-process, which is the very
function ``python -m ml`` runs (``ml/__main__.py``: ``sys.exit(main())``).
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from ml.cli import main

from ml_testkit import REPO

PYTHON = sys.executable


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_model_path):
    d = tmp_path_factory.mktemp("cli")
    (d / "empty").mkdir()
    for w in ("writer_001", "writer_002"):
        g = d / "junk" / w / "genuine"
        g.mkdir(parents=True)
        for i in range(3):
            (g / f"{i:02d}.png").write_bytes(b"not a png at all " * 8)
    (d / "troot" / "syn").mkdir(parents=True)  # a training root whose dataset is a copy of junk
    for w in ("writer_001", "writer_002"):
        g = d / "troot" / "syn" / w / "genuine"
        g.mkdir(parents=True)
        for i in range(3):
            (g / f"{i:02d}.png").write_bytes(b"GIF89a but not really " * 8)
    (d / "random.pt").write_bytes(bytes(range(256)) * 16)
    torch.save(torch.zeros(3), d / "tensor.pt")
    torch.save({"kind": "someone-elses-model", "format": 1, "state_dict": {}}, d / "wrongkind.pt")
    return {"dir": d, "model": str(tiny_model_path)}


def _cases(f):
    d, model = f["dir"], f["model"]
    out = str(d / "out.npz")
    train = ["train", f"out={d}/run", f"data.cache_dir={d}/cache", "threads=1"]
    return {
        # bad arguments
        "no command": ["nosuch"],
        "train unknown flag": ["train", "--bogus"],
        "train unknown config key": ["train", "nokey=1"],
        "train override without =": ["train", "optim.epochs"],
        "train missing config file": ["train", "--config", str(d / "nope.yaml")],
        "evaluate without --data": ["evaluate"],
        "evaluate bad --references": ["evaluate", "--data", str(d), "--references", "x"],
        "evaluate zero --references": ["evaluate", "--data", str(d / "junk"), "--references", "0", "--model", model],
        "embed without --out": ["embed", "--data", str(d)],
        "export bad --format": ["export", "--model", model, "--out", str(d / "x"), "--format", "nope"],
        "export without --out": ["export", "--model", model],
        "ensemble without --out": ["ensemble", "--models", model, model],
        "ensemble of one model": ["ensemble", "--models", model, "--out", str(d / "ens.pt")],
        # missing data folder
        "train missing data": train + [f"data.root={d}/nowhere"],
        "evaluate missing data": ["evaluate", "--data", str(d / "nowhere"), "--model", model],
        "embed missing data": ["embed", "--data", str(d / "nowhere"), "--out", out, "--model", model],
        # empty data folder
        "train empty data": train + [f"data.root={d}/empty", "data.datasets=[syn]"],
        "train empty dataset": train + [f"data.root={d}", "data.datasets=[empty]"],
        "evaluate empty data": ["evaluate", "--data", str(d / "empty"), "--model", model],
        "embed empty data": ["embed", "--data", str(d / "empty"), "--out", out, "--model", model],
        # a folder of non-images
        "train non-images": train + [f"data.root={d}/troot", "data.datasets=[syn]"],
        "evaluate non-images": ["evaluate", "--data", str(d / "junk"), "--model", model],
        "embed non-images": ["embed", "--data", str(d / "junk"), "--out", out, "--model", model],
        # checkpoints that are not ours
        **{
            f"{cmd} {kind} checkpoint": args + [str(d / f"{kind}.pt")]
            for kind in ("random", "tensor", "wrongkind", "missing")
            for cmd, args in {
                "train --resume": train + [f"data.root={d}/troot", "data.datasets=[syn]", "--resume"],
                "evaluate": ["evaluate", "--data", str(d / "junk"), "--model"],
                "embed": ["embed", "--data", str(d / "junk"), "--out", out, "--model"],
                "export": ["export", "--out", str(d / "x.ts"), "--model"],
                "calibrate": ["calibrate", "--model"],
                "ensemble": ["ensemble", "--out", str(d / "ens.pt"), "--models", model],
            }.items()
        },
        "train --resume of a model, not a last.pt": train + [f"data.root={d}/troot", "data.datasets=[syn]", "--resume", model],
    }


CASE_NAMES = list(_cases({"dir": REPO, "model": "m"}))


def _one_error_line(err: str):
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err


@pytest.mark.parametrize("name", CASE_NAMES)
def test_user_error_is_one_line_and_status_2(name, files, capsys):
    argv = _cases(files)[name]
    rc = main(argv)
    captured = capsys.readouterr()
    assert rc == 2, captured.err
    _one_error_line(captured.err)


def _run(*args, timeout=120):
    return subprocess.run([PYTHON, "-m", "ml", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)


def test_help_lists_the_commands(capsys):
    r = _run("--help")  # one real process: the top-level help
    assert r.returncode == 0
    for cmd in ("train", "calibrate", "ensemble", "evaluate", "identify", "embed", "export", "compare", "calibration-study"):
        assert cmd in r.stdout
    for cmd in ("train", "calibrate", "ensemble", "evaluate", "identify", "embed", "export"):  # in-process (see above)
        with pytest.raises(SystemExit) as exit_:
            main([cmd, "--help"])
        assert exit_.value.code == 0 and "usage:" in capsys.readouterr().out


def test_bare_command_shows_help_and_an_error_on_stderr():
    r = _run()
    assert r.returncode == 2 and r.stdout == ""
    assert "usage:" in r.stderr and r.stderr.strip().splitlines()[-1].startswith("error: no command given")


@pytest.mark.parametrize(
    "name",
    [
        "no command",
        "train unknown flag",
        "evaluate without --data",
        "embed without --out",  # no torch import
        # two that import torch (3-5 s each); evaluate and embed run as processes in test_end_to_end
        "train --resume random checkpoint",
        "export tensor checkpoint",
    ],
)
def test_real_process_exit_status_and_one_line(name, files):
    r = _run(*_cases(files)[name])
    assert r.returncode == 2, r.stderr
    _one_error_line(r.stderr)
    assert r.stdout == ""
