import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator.cli import main


def run(*args, cwd=None):
    """The real entry point in a fresh interpreter, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "generator.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


SMALL = ["--resolution", "16", "--iterations", "20", "--quiet"]


def test_render_writes_png_and_sidecar(tmp_path, capsys):
    out = tmp_path / "art.png"
    assert main(["render", "1679700", *SMALL, "--size", "8", "--json", "-o", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert printed == sidecar
    assert sidecar["seed"] == 1679700 and sidecar["resolution"] == 16 and sidecar["size"] == 8
    assert len(sidecar["W_Q"]) == 2 and len(sidecar["W_V"][1]) == 2
    assert out.read_bytes().startswith(b"\x89PNG")


def test_sidecar_rerenders_the_same_bytes(tmp_path):
    first = tmp_path / "first.png"
    assert main(["render", "8012376", *SMALL, "--window", "-4,6,-8,2", "-o", str(first)]) == 0
    meta = json.loads(first.with_suffix(".json").read_text())
    again = tmp_path / "again.png"
    flat = [",".join(repr(v) for row in meta[m] for v in row) for m in ("W_Q", "W_V")]
    args = ["render", str(meta["seed"]), "--quiet", "--resolution", str(meta["resolution"]),
            "--iterations", str(meta["iterations"]), "--points", str(meta["points"]),
            "--window", ",".join(map(str, meta["window"])), "--init", meta["init"],
            "--threshold", str(meta["threshold"]), "--rng", meta["rng"],
            "--wq", flat[0], "--wv", flat[1], "-o", str(again)]
    assert main(args) == 0
    assert again.read_bytes() == first.read_bytes()


def test_negative_window_values_parse_as_typed(tmp_path):
    out = tmp_path / "w.png"
    assert main(["render", "1", *SMALL, "--window", "-2,-1,-8,8", "-o", str(out)]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["window"] == [-2, -1, -8, 8]


BAD = [
    (["render", "1", "--resolution", "0"], "resolution"),
    (["render", "1", "--resolution", "100000"], "resolution"),
    (["render", "1", "--window", "1,1,-8,8"], "AMIN < AMAX"),
    (["render", "1", "--window", "-8,8,5,-5"], "BMIN < BMAX"),
    (["render", "1", "--window", "-8,8"], "4 comma-separated"),
    (["render", "one"], "seed must be an integer"),
    (["render", "-1"], "seed"),
    (["render", str(2**64)], "seed must be in"),
    (["render", "1", "--wq", "1,2,3"], "W_Q needs 4 numbers"),
    (["render", "1", "--wv", "1,nan,0,1"], "W_V must hold finite"),
    (["render", "1", "--wq", "x,y,z,w"], "W_Q needs 4 numbers"),
    (["render", "1", "--threshold", "-1"], "threshold"),
    (["render", "1", "--size", "0"], "size"),
    (["render", "1", "--cuda-sms", "10"], "go together"),
    (["render", "1", "--cuda-sms", "0", "--cuda-threads-per-sm", "1024"], "positive integer"),
    (["render", "1", "--window", "1,1.00000001,0,1"], "too narrow"),
    (["render", "1", "--threshold", "1e-50"], "positive float32"),
    (["render", "1", "--frobnicate"], "unrecognized arguments"),
    (["render", "1", "--wq", "1e39,0,0,1"], "finite float32"),
    (["render", "1", "--window=-1e39,1e39,0,1"], "finite float32"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, args, message):
    out = tmp_path / "out.png"
    result = run(args[0], *SMALL, *args[1:], "-o", str(out))  # the case's options win
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_output_folder_must_exist(tmp_path):
    result = run("render", "1", *SMALL, "-o", str(tmp_path / "missing" / "out.png"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "does not exist" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_leaves_no_partial_files(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "generator.cli", "render", "5", "--quiet",
                             "--resolution", "3000", "--backend", "reference", "-o", "big.png"],
                            cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    time.sleep(4)  # well into the render
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert os.listdir(tmp_path) == []


def test_spec_prints_matrices_without_rendering(tmp_path):
    result = run("spec", "6306593", "--json", cwd=tmp_path)
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["seed"] == 6306593 and len(data["W_Q"]) == 2
    assert os.listdir(tmp_path) == []
    assert run("spec", "6306593", "--json", "-o", "-", cwd=tmp_path).stdout == result.stdout
    assert run("spec", "6306593", "--json", "-o", "s.json", cwd=tmp_path).returncode == 0
    assert (tmp_path / "s.json").read_text() == result.stdout
    assert run("spec", "6306593", "-o", "s.json", cwd=tmp_path).returncode == 0  # its own
    assert (tmp_path / "s.json").read_text().startswith("# attnart spec: seed 6306593")
    (tmp_path / "mine.txt").write_text("my notes on W_Q\n")
    mine = run("spec", "6306593", "-o", "mine.txt", cwd=tmp_path)  # never over a file unasked
    assert mine.returncode == 2 and "--force" in mine.stderr
    assert (tmp_path / "mine.txt").read_text() == "my notes on W_Q\n"


def test_bench_compares_every_backend_with_the_reference():
    result = run("bench", "--resolution", "32", "--iterations", "30", "--seed", "8012376")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "reference timed on 1,024 of 1,024 px" in lines[0]
    costs = [line for line in lines if line.startswith("speed field on cpu: ")]
    assert len(costs) == 1 and "over labels alone" in costs[0]
    rows = {line.split()[0]: line.split() for line in lines[2:] if line not in costs}
    assert rows["reference"][4] == "1.0x" and "cpu+speed" in rows
    for name, row in rows.items():  # every backend of this machine, each agreeing
        assert float(row[1]) > 0 and float(row[5].rstrip("%")) >= 99.0, name


def test_sidecar_name_taken_by_a_folder(tmp_path):
    (tmp_path / "art.json").mkdir()
    result = run("render", "1", *SMALL, "-o", str(tmp_path / "art.png"))
    assert result.returncode == 2 and "art.json is a folder" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art.json"]


def test_bench_needs_a_reference_sample():
    result = run("bench", "--resolution", "16", "--reference-pixels", "0")
    assert result.returncode == 2 and "reference pixels must be at least 1" in result.stderr


def _options(parser):
    """(command, option strings, help) of every option of every subcommand."""
    for name, sub in parser.commands.items():
        for action in sub._actions:
            if action.dest != "help":
                yield name, action.option_strings or [action.dest], action.help


def test_every_option_has_a_help_line():
    from generator.cli import _parser

    missing = [(name, opts) for name, opts, text in _options(_parser())
               if not text or text.startswith("(")]
    assert missing == []


def test_unknown_option_points_to_the_subcommands_help(tmp_path):
    done = run("build", "--out", str(tmp_path / "s"), "--bogus", "1")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "--bogus" in done.stderr and "(see attnart build --help)" in done.stderr
    assert not (tmp_path / "s").exists()


def test_render_says_what_it_wrote_unless_quiet(tmp_path, capsys):
    out = tmp_path / "art.png"
    assert main(["render", "1", "--resolution", "16", "--iterations", "5", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"wrote {out} (16×16) and {out.with_suffix('.json')} in" in err
    assert main(["render", "1", *SMALL, "-o", str(out)]) == 0
    assert capsys.readouterr().err == ""


def test_select_to_stdout_and_catalog_listing(tmp_path, capsys):
    catalog = tmp_path / "c.sqlite"
    assert main(["sweep", "--seeds", "1-3", "--catalog", str(catalog), "--init", "shared",
                 "--workers", "1", "--preview", "32", *SMALL]) == 0
    capsys.readouterr()
    assert main(["select", "--catalog", str(catalog), "--band", "2", "--min-white", "0",
                 "--max-white", "1", "--distinct", "0", "-o", "-"]) == 0
    out, err = capsys.readouterr()
    assert out.count("[[artwork]]") == 3 and "picked 3 of 3" in err
    assert sorted(os.listdir(tmp_path)) == ["c.sqlite"]  # no file named '-', no WAL left

    assert main(["catalog", "ls", "--catalog", str(catalog), "--json",
                 "--sort", "fractal_dimension"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["seed"] for r in rows) == [1, 2, 3]
    dims = [r["fractal_dimension"] for r in rows]
    assert dims == sorted(dims, reverse=True)
    assert main(["catalog", "ls", "--catalog", str(catalog)]) == 0
    *table, footer = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["rank", "seed", "id"] and len(table) == 4
    assert "fractal_dimension" in table[0].split() and "on 32² previews" in footer
    assert max(len(line) for line in table) <= 80  # fits a terminal
    assert main(["catalog", "ls", "--catalog", str(catalog), "--sort", "rank",
                 "--columns", "rank,seed,grey_entropy"]) == 0
    *table, _ = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["rank", "seed", "grey_entropy"]
    assert [int(line.split()[0]) for line in table[1:]] == [1, 2, 3]
    assert main(["select", "--catalog", str(catalog), "--band", "2", "--min-white", "0",
                 "--max-white", "1", "--distinct", "0", "-o", "-"]) == 0
    picked = [int(line.split("seed = ")[1]) for line in capsys.readouterr().out.splitlines()
              if line.startswith("seed = ")]
    assert picked == [int(line.split()[1]) for line in table[1:]]  # rank is select's order
    assert main(["catalog", "show", "2", "--catalog", str(catalog)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["seed"] == 2 and shown["spec"]["init"] == "shared"
    for args, message in ((["show", "99"], "no artwork with seed or id 99"),
                          (["ls", "--sort", "nope"], "not a number the catalog holds"),
                          (["ls", "--columns", "seed,nope"], "not a column of the catalog"),
                          (["show"], "give a SEED or ID")):
        assert main(["catalog", *args, "--catalog", str(catalog)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1


# ---- outputs a user owns ----------------------------------------------------------------


def test_render_replaces_its_own_output_and_nothing_else(tmp_path, capsys):
    out, sidecar = tmp_path / "results.png", tmp_path / "results.json"
    sidecar.write_text('{"my": "own notes"}')
    assert main(["render", "1", *SMALL, "-o", str(out)]) == 2
    assert "results.json exists and is not a sidecar attnart wrote" in capsys.readouterr().err
    assert sidecar.read_text() == '{"my": "own notes"}' and not out.exists()
    sidecar.unlink()
    out.write_bytes(b"my own picture")
    assert main(["render", "1", *SMALL, "-o", str(out)]) == 2
    assert "was not written by attnart render" in capsys.readouterr().err
    assert out.read_bytes() == b"my own picture" and not sidecar.exists()

    out.chmod(0o444)  # protected: refused, even with --force
    assert main(["render", "1", *SMALL, "--force", "-o", str(out)]) == 2
    assert "results.png is read-only" in capsys.readouterr().err
    assert out.read_bytes() == b"my own picture"
    out.chmod(0o640)  # --force replaces it, keeping the user's permissions
    assert main(["render", "1", *SMALL, "--force", "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG") and out.stat().st_mode & 0o777 == 0o640
    first = out.read_bytes()
    assert main(["render", "2", *SMALL, "-o", str(out)]) == 0  # its own: replaced
    assert out.read_bytes() != first and json.loads(sidecar.read_text())["seed"] == 2


def test_outputs_go_through_symlinks_and_never_replace_special_files(tmp_path, capsys):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "art.png"
    link.symlink_to(real / "target.png")
    (tmp_path / "art.json").symlink_to(real / "target.json")
    assert main(["render", "1", *SMALL, "-o", str(link)]) == 0
    assert link.is_symlink() and (real / "target.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "art.json").is_symlink() and (real / "target.json").is_file()

    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    assert main(["render", "1", *SMALL, "--force", "-o", str(fifo)]) == 2
    err = capsys.readouterr().err
    assert "pipe.png is not a regular file" in err and err.count("\n") == 1
    assert fifo.is_fifo() and not (tmp_path / "pipe.json").exists()


def test_select_writes_through_a_link_and_refuses_a_device(tmp_path, capsys):
    catalog = tmp_path / "c.sqlite"
    assert main(["sweep", "--seeds", "1-2", "--catalog", str(catalog), "--init", "shared",
                 "--workers", "1", "--preview", "32", *SMALL]) == 0
    criteria = ["--band", "2", "--min-white", "0", "--max-white", "1", "--distinct", "0"]
    target = tmp_path / "picks-real.toml"
    target.write_text("old")
    link = tmp_path / "picks.toml"
    link.symlink_to(target)
    assert main(["select", "--catalog", str(catalog), *criteria, "-o", str(link),
                 "--force"]) == 0
    assert link.is_symlink() and "[[artwork]]" in target.read_text()
    capsys.readouterr()
    device = tmp_path / "null"
    device.symlink_to("/dev/null")
    assert main(["select", "--catalog", str(catalog), *criteria, "-o", str(device),
                 "--force"]) == 2
    assert "is not a regular file" in capsys.readouterr().err
    assert device.is_symlink() and Path("/dev/null").is_char_device()


def test_a_palette_alone_means_shade_speed(tmp_path, capsys):
    out = tmp_path / "p.png"
    assert main(["render", "5", *SMALL, "--palette", "fire", "--json", "-o", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["shade"] == "speed"
    assert main(["render", "5", *SMALL, "--palette", "fire", "--shade", "binary",
                 "-o", str(tmp_path / "b.png")]) == 2
    assert "drop --shade binary" in capsys.readouterr().err
    assert not (tmp_path / "b.png").exists()


def test_select_replaces_its_own_picks_and_nothing_else(tmp_path, capsys):
    catalog = tmp_path / "c.sqlite"
    assert main(["sweep", "--seeds", "1-6", "--preview", "32", "--iterations", "20",
                 "--catalog", str(catalog)]) == 0
    picks, mine = tmp_path / "picks.toml", tmp_path / "mine.toml"
    for _ in range(2):  # the second run replaces the first one's file
        assert main(["select", "--catalog", str(catalog), "-o", str(picks), "--top", "2"]) == 0
    mine.write_text('[[artwork]]\nseed = 1\n')
    capsys.readouterr()
    assert main(["select", "--catalog", str(catalog), "-o", str(mine), "--top", "2"]) == 2
    assert "not written by attnart" in capsys.readouterr().err
    assert mine.read_text() == '[[artwork]]\nseed = 1\n'


def test_explore_help_lists_only_what_explore_uses():
    text = _parser_help("explore")
    assert "--port" in text and "--palette" in text
    for unused in ("--resolution", "--quiet"):
        assert unused not in text


def _parser_help(name: str) -> str:
    from generator.cli import _parser

    return _parser().commands[name].format_help()


def test_score_reads_a_speed_shaded_render_by_its_palette(tmp_path, capsys):
    colour, binary = tmp_path / "colour.png", tmp_path / "binary.png"
    common = ["render", "1679700", *SMALL, "--resolution", "48", "--init", "shared"]
    assert main([*common, "--palette", "fire", "-o", str(colour)]) == 0
    assert main([*common, "-o", str(binary)]) == 0
    capsys.readouterr()
    scores = []
    for image in (colour, binary):
        assert main(["score", str(image), "--json"]) == 0
        scores.append(json.loads(capsys.readouterr().out))
    assert scores[0] == scores[1]  # the colours' classes are the binary labels
    colour.with_suffix(".json").unlink()  # without its sidecar a colour image is refused
    assert main(["score", str(colour)]) == 2
    assert "is in colour" in capsys.readouterr().err
