import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
from test_catalog import record

from generator import rng
from generator.catalog import THUMBNAIL, CatalogError, open_catalog
from generator.cli import main
from generator.curate import (
    COARSE_DIMENSION,
    INTRICACY,
    Criteria,
    intricacy,
    learn_taste,
    likeness,
    parse_seeds,
    picks_toml,
    preview,
    select,
    sweep,
)
from generator.errors import ArtError, SpecError
from generator.score import FEATURES
from generator.spec import SEED_MAX, load_seeds

TINY = ["--iterations", "20", "--preview", "32", "--quiet"]


def run(*args):
    return subprocess.run([sys.executable, "-m", "generator.cli", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("text,seeds", [
    ("7", [7]),
    ("1-5", [1, 2, 3, 4, 5]),
    ("9,1-3, 2 ,0", [9, 1, 2, 3, 0]),  # order kept, repeats dropped
    (f"{SEED_MAX - 1}-{SEED_MAX}", [SEED_MAX - 1, SEED_MAX]),
])
def test_seed_lists(text, seeds):
    assert list(parse_seeds(text)) == seeds


def test_seed_file(tmp_path):
    path = tmp_path / "seeds.txt"
    path.write_text("# favourites\n1679700\n5-7, 12  # and a range\n\n8012376\n")
    assert list(parse_seeds(f"@{path}")) == [1679700, 5, 6, 7, 12, 8012376]
    path.write_bytes("\ufeff1679700\r\n5-7\r\n".encode())  # as some editors save it
    assert list(parse_seeds(f"@{path}")) == [1679700, 5, 6, 7]
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(SpecError, match="not UTF-8 text"):
        parse_seeds(f"@{path}")


@pytest.mark.parametrize("text,message", [
    ("", "names no seeds"),
    ("5-1", "runs backwards"),
    ("1-x", "neither a seed"),
    ("-3", "neither a seed"),
    ("1.5", "neither a seed"),
    (f"{SEED_MAX + 1}", "past the largest seed"),
    ("1-2000000", "split the sweep"),
    ("@/nonexistent/seeds.txt", "does not exist"),
    ("@/dev/zero", "not a regular file"),  # read whole, it would never end
    ("@/dev", "not a regular file"),
    # counted, never listed: 2**64 seeds is one line, not an OverflowError
    (f"0-{SEED_MAX}", "names 18,446,744,073,709,551,616 seeds, over 1,000,000"),
    ("1-1000001", "names 1,000,001 seeds"),
    ("9" * 5000, "past the largest seed"),  # past int()'s digit limit too
    (f"1-{'0' * 30}7,{'x' * 10**6}", r"'x{40}\.\.\.' is neither"),  # quoted, not echoed whole
    (",".join(["3"] * 1_000_001), "over 1,000,000 items"),
])
def test_bad_seed_lists(text, message):
    with pytest.raises(ArtError, match=message):
        parse_seeds(text)


def test_sweep_records_each_artwork_once(tmp_path, spec_factory):
    specs = [spec_factory(seed=s, iterations=20, resolution=100) for s in (3, 1, 2, 3)]
    path = tmp_path / "c.sqlite"
    first = sweep(specs[:2], path, preview_size=32, device="cpu", workers=1)
    assert (first.requested, first.skipped, first.rendered) == (2, 0, 2)
    again = sweep(specs, path, preview_size=32, device="cpu", workers=1)
    # a repeat is counted again (the stream is not remembered) but stored once
    assert (again.requested, again.skipped, again.rendered, again.catalog_size) == (4, 3, 1, 3)
    with open_catalog(path, readonly=True) as cat:
        records = cat.records()
    assert [r.spec for r in records] == [specs[0], specs[1], specs[2]]
    assert all(r.spec.resolution == 100 for r in records)  # the final render's, not the preview's
    assert all(r.scores["display_size"] == 16 and len(r.thumbnail) == THUMBNAIL**2
               for r in records)
    full = rng.draw(specs[1])  # the matrices are the final render's too
    assert records[1].wq == full.wq.tolist() and records[1].wv == full.wv.tolist()


def _count(path) -> int:
    try:
        with open_catalog(path, readonly=True) as cat:
            return len(cat)
    except CatalogError:  # not created yet
        return 0


def _created(path) -> dict[str, str]:
    conn = sqlite3.connect(path)
    rows = dict(conn.execute("SELECT id, created FROM artworks"))
    conn.close()
    return rows


def _interrupt(args, path, at_least, signum) -> tuple[int, str]:
    """Start a sweep, send it `signum` once the catalog holds `at_least` records; its exit
    status and stderr."""
    proc = subprocess.Popen([sys.executable, "-m", "generator.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while _count(path) < at_least and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signum)
    return proc.wait(timeout=30), proc.communicate()[1]


def test_sweep_stopped_twice_then_rerun_resumes(tmp_path):
    """Ctrl-C, then kill -9, each in the middle of a sweep, then the same command to the end:
    every seed recorded exactly once, none recorded before a stop rendered again."""
    path = tmp_path / "c.sqlite"
    # Seeds enough to take several seconds on an idle machine (the driver writes a batch at
    # most four times a second): each stop must come before the end.
    n = 300
    args = ["sweep", "--seeds", f"1-{n}", "--catalog", str(path), "--init", "shared",
            "--iterations", "100", "--preview", "96", "--quiet"]
    status, err = _interrupt([*args, "--workers", "2"], path, 3, signal.SIGINT)
    assert status == 130 and "interrupted" in err and err.count("\n") == 1  # no traceback
    first = _created(path)
    assert f"{path} holds {len(first)} previews; run the same command again" in err
    status, _ = _interrupt([*args, "--workers", "2"], path, len(first) + 3, signal.SIGKILL)
    assert status == -signal.SIGKILL
    second = _created(path)
    assert 3 <= len(first) < len(second) < n, "a sweep was not caught in the middle"
    assert first.items() <= second.items()

    result = run(*args, "--workers", "1")  # resuming needs no particular worker count
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{n - len(second)} rendered (")
    assert f", {len(second)} already there" in result.stdout
    final = _created(path)
    assert len(final) == n and second.items() <= final.items()  # untouched, not redone
    with open_catalog(path, readonly=True) as cat:
        assert sorted(r.spec.seed for r in cat.records()) == list(range(1, n + 1))
    assert sorted(os.listdir(tmp_path)) == ["c.sqlite"]


SPEHAR = Criteria(target=1.4, min_white=0.05, max_white=0.95)


def test_selection_ranks_by_closeness_to_the_target():
    records = [record(1, 1.54), record(2, 1.38), record(3, 1.45), record(4, 1.43),
               record(5, 1.22), record(6, 1.62), record(7, 1.38)]
    picks = select(records, replace(SPEHAR, top=10)).picks
    assert [r.spec.seed for r in picks] == [2, 7, 4, 3, 1]  # a tie goes to the smaller seed
    picks = select(records, replace(SPEHAR, target=1.25)).picks
    assert [r.spec.seed for r in picks] == [5, 2, 7]  # the centre moves; the maximum never wins
    assert [r.spec.seed for r in select(records, replace(SPEHAR, top=2)).picks] == [2, 7]


def test_selection_rejects_degenerate_and_duplicate_images():
    blank = bytes(THUMBNAIL**2)
    near_blank = bytes([5]) * THUMBNAIL**2  # 2 % off the blank one
    records = [record(1, 1.40, white=0.01), record(2, 1.40, white=0.99),
               record(3, 1.41, thumbnail=blank), record(4, 1.42, thumbnail=near_blank),
               record(5, 1.43), record(6, 1.90), record(7, 1.40, white=0.05)]
    selection = select(records, SPEHAR)
    assert [r.spec.seed for r in selection.picks] == [7, 3, 5]
    assert (selection.considered, selection.degenerate, selection.off_target,
            selection.duplicates) == (7, 2, 1, 1)
    assert [r.spec.seed for r in select(records, replace(SPEHAR, distinct=0.01)).picks] == [
        7, 3, 4, 5]
    default = select(records)  # white 15-85 %, every record ranked
    assert (default.degenerate, default.off_target, default.duplicates) == (3, 0, 1)


def _scored(seed, rng, **fixed):
    return record(seed, scores={f: float(rng.random()) for f in FEATURES} | fixed)


def _intricacy_by_counting(records, dimension_share=1.0):
    """The percentile of each value among its column, by counting, then weighted."""
    values = np.array([[np.sign(w) * r.scores[f] for f, w in INTRICACY] for r in records])
    weights = np.abs([w * (dimension_share if f == "fractal_dimension" else 1)
                      for f, w in INTRICACY])
    return np.array([[np.mean(values[:, j] <= values[i, j]) for j in range(len(INTRICACY))]
                     for i in range(len(records))]) @ weights / weights.sum()


def test_default_order_is_mean_catalog_percentile_of_the_intricacy_scores():
    rng = np.random.default_rng(12)
    records = [_scored(s, rng, white_fraction=0.5) for s in range(40)]
    reference = _intricacy_by_counting(records)
    assert np.allclose(intricacy(records), reference)
    picks = select(records, Criteria(top=40, distinct=0)).picks
    # Equal means tie whatever the order of their sums, and ties go to the smaller seed.
    assert [r.spec.seed for r in picks] == [
        records[i].spec.seed for i in np.argsort(-np.round(reference, 9), kind="stable")]
    best = _scored(99, rng, white_fraction=0.5, **{f: 10.0 * np.sign(w) for f, w in INTRICACY})
    assert select([*records, best], Criteria(top=1)).picks == [best]
    old = record(98, 0.0, scores={"boundary_fraction": 0.1})  # version 1: D, no other
    assert select([*records, old], Criteria(top=41, distinct=0)).picks[-1] == old


def test_the_dimension_counts_in_full_on_previews_of_the_landscape_grid():
    """On previews smaller than 256², D is measured on a coarser grid than any gallery
    render's and carries COARSE_DIMENSION of its weight."""
    rng = np.random.default_rng(13)
    records = [_scored(s, rng, white_fraction=0.5) for s in range(40)]
    for side, share in ((64, COARSE_DIMENSION), (255, COARSE_DIMENSION), (256, 1.0),
                        (1024, 1.0)):
        sized = [record(r.spec.seed, scores=r.scores | {"resolution": side}) for r in records]
        assert np.allclose(intricacy(sized), _intricacy_by_counting(records, share))
    assert not np.allclose(_intricacy_by_counting(records, COARSE_DIMENSION),
                           _intricacy_by_counting(records))


def test_likeness_is_distance_to_the_nearest_favourite_in_standard_units():
    rng = np.random.default_rng(5)
    records = [_scored(s, rng, white_fraction=float(rng.uniform(0.2, 0.8))) for s in range(30)]
    favourites = [records[3], _scored(100, rng, white_fraction=0.5)]
    x = np.array([[r.scores[f] for f in FEATURES] for r in records])
    mean, std = x.mean(axis=0), x.std(axis=0)
    reference = [min(np.linalg.norm((x[i] - [f.scores[k] for k in FEATURES]) / std)
                     for f in favourites) for i in range(len(records))]
    assert mean.shape == (len(FEATURES),)
    assert np.allclose(likeness(records, [f.scores for f in favourites]), reference)
    selection = select(records, Criteria(top=30, distinct=0), favourites=favourites)
    order = [records[i] for i in np.argsort(reference, kind="stable") if i != 3]
    assert selection.picks == order  # the favourite itself is never picked
    assert selection.off_target == 1


def _logistic_reference(z, y, penalty, rate=0.05, steps=20000):
    """Plain gradient descent on the penalised log-loss, the intercept unpenalised."""
    w = np.zeros(z.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w)))
        w -= rate * (z.T @ (p - y) + penalty * np.r_[0.0, w[1:]]) / len(y)
    return w


def test_learned_taste_is_a_penalised_logistic_regression_on_standard_scores():
    rng = np.random.default_rng(8)
    records = [_scored(s, rng, white_fraction=float(rng.uniform(0.2, 0.8))) for s in range(60)]
    liked = {r.spec.id for r in records[:6]}
    disliked = {r.spec.id for r in records[6:20]}
    x = np.array([[r.scores[f] for f in FEATURES] for r in records])
    z = np.hstack([np.ones((60, 1)), (x - x.mean(axis=0)) / x.std(axis=0)])
    y = np.r_[np.ones(6), np.zeros(14)]
    w = _logistic_reference(z[:20], y, penalty=2.0)
    taste = learn_taste(records, liked, disliked, penalty=2.0)
    assert np.allclose(taste, 1 / (1 + np.exp(-(z @ w))), atol=1e-4)
    # the order select --learn gives: most likely liked first, the rated ones left out
    taste = learn_taste(records, liked, disliked)  # at select's penalty
    selection = select(records, Criteria(top=60, distinct=0), ratings=(liked, disliked))
    rest = [i for i in np.argsort(-taste, kind="stable") if i >= 20]
    assert [r.spec.seed for r in selection.picks] == [records[i].spec.seed for i in rest]
    assert selection.ranks == tuple(range(1, 41))
    assert np.allclose(selection.keys, taste[rest]) and "taste" in selection.order


def test_a_taste_learns_what_the_likes_share():
    rng = np.random.default_rng(3)
    records = [_scored(s, rng, white_fraction=0.5) for s in range(200)]
    entropy = np.array([r.scores["grey_entropy"] for r in records])
    order = np.argsort(entropy)
    liked = {records[i].spec.id for i in order[-6:-2]}  # four of the richest
    disliked = {records[i].spec.id for i in rng.choice(order[:-6], 20, replace=False)}
    picks = select(records, Criteria(top=10, distinct=0), ratings=(liked, disliked)).picks
    # the other scores are noise, which twenty-four judgements cannot quite tell apart
    assert np.mean([r.scores["grey_entropy"] for r in picks]) > np.quantile(entropy, 0.75)


def _random_catalog(path, seeds: int, rng_seed: int, **extra):
    """A catalog of `seeds` records with random scores (64² previews), `extra` added."""
    from test_catalog import record as stored

    rng = np.random.default_rng(rng_seed)
    with open_catalog(path, preview=64) as cat:
        for s in range(1, seeds + 1):
            cat.add(stored(s, scores={f: float(rng.random()) for f in FEATURES}
                           | {"white_fraction": 0.5} | extra))
    return path


def test_select_learn_through_the_cli(tmp_path, capsys):
    catalog = _random_catalog(tmp_path / "c.sqlite", 30, 4, regime="speckled", resolution=64)
    ratings = tmp_path / "ratings.toml"
    ratings.write_text("liked = [1, 2, 3]\ndisliked = [4, 5, 6]\n")
    out = tmp_path / "picks.toml"
    args = ["select", "--catalog", str(catalog), "--learn", str(ratings), "-o", str(out),
            "--top", "3"]
    assert main(args) == 0
    report = capsys.readouterr().out
    assert "learned taste" in report and "(speckled, 64² px)" in report
    assert "by the taste learned from ratings.toml" in out.read_text()
    for text, message in [("liked = [1]\ndisliked = [4, 5]", "two artworks or more"),
                          ("liked = [1, 99]\ndisliked = [4, 5]", "99, which is not in"),
                          ("liked = [1, 4]\ndisliked = [4, 5]", "both liked and disliked"),
                          ("liked = [1, 2]\nhated = [4, 5]", "unknown key 'hated'"),
                          ("liked = [1, 2", "is not TOML")]:
        ratings.write_text(text)
        assert main([*args, "--force"]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1


def test_select_prints_the_value_it_orders_by_and_the_rank(tmp_path, capsys):
    catalog = _random_catalog(tmp_path / "c.sqlite", 20, 6)
    assert main(["select", "--catalog", str(catalog), "-o", "-", "--top", "5",
                 "--distinct", "0"]) == 0
    err = capsys.readouterr().err  # with -o -, the report goes to stderr
    rows = [line.split() for line in err.splitlines()[1:6]]
    assert "intricacy" in err.splitlines()[0] and [r[0] for r in rows] == list("12345")
    values = [float(r[1]) for r in rows]
    assert values == sorted(values, reverse=True) and "(earlier estimator)" in err


@pytest.mark.parametrize("field,value", [("top", 0), ("target", 2.5), ("band", -0.1),
                                         ("min_white", 0.96), ("distinct", 1.5)])
def test_bad_criteria(field, value):
    with pytest.raises(SpecError):
        Criteria(**{field: value})


def test_picks_read_back_as_the_same_specs(tmp_path):
    records = [record(5, init="per-point"),
               record(2**64 - 1, rng="cpu", window=(-4.0, 6.5, -8.0, 2.0), wq="identity",
                      wv=(0.1, -2.0, 1e-7, 3.0), threshold=1e-6, iterations=50),
               record(9, resolution=3000, points=7, cuda_sms=132, cuda_threads_per_sm=2048)]
    path = tmp_path / "picks.toml"
    path.write_text(picks_toml(records, heading="test picks\nsecond line"))
    assert load_seeds(path) == [r.spec for r in records]
    assert [s.title for s in load_seeds(path)] == ["Seed 5", f"Seed {2**64 - 1}", "Seed 9"]
    assert "resolution = 3000" in path.read_text() and "resolution = 1500" not in path.read_text()


def test_sweep_then_select_through_the_cli(tmp_path, capsys):
    catalog, out = tmp_path / "c.sqlite", tmp_path / "picks.toml"
    assert main(["sweep", "--seeds", "1-4", "--catalog", str(catalog), "--init", "shared",
                 "--workers", "1", *TINY]) == 0
    assert "4 rendered" in capsys.readouterr().out
    select_args = ["select", "--catalog", str(catalog), "--band", "1", "--min-white", "0",
                   "--max-white", "1", "--distinct", "0", "--out", str(out)]
    assert main(select_args) == 0
    assert "picked 4 of 4" in capsys.readouterr().out
    specs = load_seeds(out)
    assert sorted(s.seed for s in specs) == [1, 2, 3, 4]
    assert all(s.init == "shared" and s.iterations == 20 and s.resolution == 1500
               for s in specs)

    picks = out.read_bytes()
    assert main(select_args) == 0  # its own earlier picks are replaced (test_cli: no other)
    assert out.read_bytes() == picks
    assert main([*select_args, "--force"]) == 0
    before = catalog.read_bytes()
    assert main([*select_args[:-1], str(catalog), "--force"]) == 2  # never the catalog
    assert "the catalog itself" in capsys.readouterr().err
    assert catalog.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["c.sqlite", "picks.toml"]


@pytest.mark.parametrize("args,message", [
    (["--seeds", "5-1"], "runs backwards"),
    (["--seeds", "1", "--preview", "31"], "preview must be in"),
    (["--seeds", "1", "--workers", "0"], "workers must be"),
    (["--seeds", "1", "--workers", "100000"], "(4 per CPU), got 100000"),
    (["--seeds", "1", "--batch", str(10**12)], "batch must be 1..1,000,000"),
])
def test_bad_sweeps_are_one_line_and_create_nothing(tmp_path, capsys, args, message):
    assert main(["sweep", "--catalog", str(tmp_path / "c.sqlite"), "--quiet", *args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert os.listdir(tmp_path) == []


def test_select_like_favourites_in_and_out_of_the_catalog(tmp_path, capsys):
    catalog, out, liked = tmp_path / "c.sqlite", tmp_path / "picks.toml", tmp_path / "fav.toml"
    assert main(["sweep", "--seeds", "1-10", "--catalog", str(catalog), "--init", "shared",
                 "--workers", "1", "--resolution", "48", *TINY]) == 0
    with open_catalog(catalog, readonly=True) as cat:
        records = cat.records()
    inside = records[2].spec
    outside = replace(inside, seed=77)  # not swept: previewed as a sweep would
    liked.write_text(picks_toml([records[2], replace(records[2], spec=outside)],
                                heading="my favourites"))
    capsys.readouterr()
    args = ["select", "--catalog", str(catalog), "--like", str(liked), "--min-white", "0",
            "--max-white", "1", "--distinct", "0", "--top", "10", "-o", str(out), "--quiet"]
    assert main(args) == 0
    assert "favourites or unscored" in capsys.readouterr().out
    favourites = [records[2], preview(outside, 32, device="cpu")]
    expected = select(records, Criteria(top=10, min_white=0, max_white=1, distinct=0),
                      favourites=favourites).picks
    assert [s.id for s in load_seeds(out)] == [r.spec.id for r in expected]
    assert inside.id not in {s.id for s in load_seeds(out)} and len(expected) == 9
    with open_catalog(catalog, readonly=True) as cat:
        assert len(cat) == 10  # the favourite's preview is not recorded

    liked.write_text("[[artwork]]\nseed = -1\n")
    assert main([*args, "--force"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fav.toml" in err


def test_select_on_an_empty_catalog_says_so(tmp_path, capsys):
    catalog = tmp_path / "c.sqlite"
    open_catalog(catalog, preview=32).close()
    assert main(["select", "--catalog", str(catalog), "-o", str(tmp_path / "p.toml")]) == 2
    err = capsys.readouterr().err
    assert "holds no artworks yet; run attnart sweep first" in err and err.count("\n") == 1
    assert not (tmp_path / "p.toml").exists()


def _first_mentions_reference(items):
    seeds = {}
    for low, high in items:
        seeds.update(dict.fromkeys(range(low, high + 1)))
    return list(seeds)


def test_overlapping_seed_lists_keep_each_seed_at_its_first_mention():
    gen = np.random.default_rng(5)
    for _ in range(200):
        items = [(int(a), int(a + b)) for a, b in zip(gen.integers(0, 60, 8),
                                                      gen.integers(0, 12, 8))]
        text = ",".join(f"{a}-{b}" for a, b in items)
        assert list(parse_seeds(text)) == _first_mentions_reference(items), text


def test_a_million_seeds_cost_no_memory_and_start_at_once(tmp_path):
    import tracemalloc

    tracemalloc.start()
    seeds = parse_seeds(f"2-1000000,{SEED_MAX}")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(seeds) == 1_000_000 and peak < 100_000
    assert list(itertools.islice(seeds, 3)) == [2, 3, 4]

    import fcntl
    import pty
    import select as select_
    import struct
    import termios

    # the progress bar of a million-seed sweep, on a terminal as a user sees it
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 wide
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "generator.cli", "sweep", "--seeds",
                             "1-1000000", "--catalog", str(tmp_path / "c.sqlite"),
                             "--iterations", "5", "--preview", "32", "--workers", "1"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=terminal)
    os.close(terminal)
    shown = b""
    try:
        while b"/1000000" not in shown and time.monotonic() - start < 30:
            if select_.select([controller], [], [], 0.1)[0]:
                shown += os.read(controller, 4096)
        waited = time.monotonic() - start
    finally:
        proc.kill()
        proc.wait()
        os.close(controller)
    # about 0.5 s alone on the 2-core machine (most of it Python and numpy starting)
    assert b"/1000000" in shown and waited < 5, (waited, shown[-200:])


def test_a_failing_seed_is_recorded_and_retried_on_request(tmp_path, capsys, monkeypatch):
    from generator import render

    catalog = tmp_path / "c.sqlite"
    args = ["sweep", "--seeds", "1-5", "--catalog", str(catalog), "--init", "shared",
            "--workers", "1", *TINY]
    real = render.render_labels

    def broken(spec, *a, **k):
        if spec.seed == 3:
            raise FloatingPointError("the landscape of seed 3 overflowed")
        return real(spec, *a, **k)
    monkeypatch.setattr(render, "render_labels", broken)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "4 rendered" in out and "1 failed" in out and "--retry-failed" in out
    assert main(["catalog", "failures", "--catalog", str(catalog)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 1 and listed[0].startswith("seed 3 ")
    assert "FloatingPointError: the landscape of seed 3 overflowed" in listed[0]

    monkeypatch.setattr(render, "render_labels", real)
    assert main(args) == 0  # not retried unasked
    assert "0 rendered" in capsys.readouterr().out and _count(catalog) == 4
    assert main([*args, "--retry-failed"]) == 0
    out = capsys.readouterr().out
    assert "1 rendered" in out and "failed" not in out
    with open_catalog(catalog, readonly=True) as cat:
        assert sorted(r.spec.seed for r in cat.records()) == [1, 2, 3, 4, 5]
        assert cat.failures() == []


def test_two_sweeps_at_once_on_a_missing_catalog_share_the_work(tmp_path):
    path = tmp_path / "c.sqlite"
    # enough seeds (a few seconds' work) that the second starts before the first is done,
    # also on a loaded machine: with 40 one process once finished before the other began
    args = [sys.executable, "-m", "generator.cli", "sweep", "--seeds", "1-300", "--catalog",
            str(path), "--init", "shared", "--workers", "1", *TINY]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    rendered = [int(out.split(" rendered")[0]) for out, _ in outputs]
    assert sum(rendered) == 300 and min(rendered) > 0, outputs  # each seed by one of them
    with open_catalog(path, readonly=True) as cat:
        assert sorted(r.spec.seed for r in cat.records()) == list(range(1, 301))
    assert sorted(os.listdir(tmp_path)) == ["c.sqlite"]


def test_a_sweep_waits_for_another_writers_lock(tmp_path, capsys):
    path = tmp_path / "c.sqlite"
    open_catalog(path, preview=32).close()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time\n"
        f"c = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
        "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(6)\n"
        "c.execute('COMMIT')\n")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "locked\n"
    start = time.monotonic()
    assert main(["sweep", "--seeds", "1-3", "--catalog", str(path), "--init", "shared",
                 "--workers", "1", *TINY]) == 0  # SQLite's own wait would give up after 5 s
    assert time.monotonic() - start > 3 and holder.wait(timeout=30) == 0
    assert "3 rendered" in capsys.readouterr().out and _count(path) == 3


def test_screening_rungs_keep_the_most_intricate_and_record_every_score(tmp_path, capsys):
    catalog = tmp_path / "c.sqlite"
    args = ["sweep", "--seeds", "1-16", "--catalog", str(catalog), "--init", "shared",
            "--iterations", "20", "--workers", "1", "--quiet", "--screen", "32:50%",
            "--screen", "48:3", "--preview", "64"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "screened 16 at 32², kept 8" in out and "screened 8 at 48², kept 3" in out
    assert "3 rendered" in out
    with open_catalog(catalog, readonly=True) as cat:
        screens, records = cat.screens(), cat.records()
    by_rung = {res: [s for s in screens if s[1] == res] for res in (32, 48)}
    assert len(by_rung[32]) == 16 and sum(s[4] for s in by_rung[32]) == 8
    assert len(by_rung[48]) == 8 and sum(s[4] for s in by_rung[48]) == 3
    for res, rows in by_rung.items():
        ranks = intricacy([record(0, scores=s[2]) for s in rows])  # the rung's own order
        assert np.allclose([s[3] for s in rows], ranks)
        kept = {s[0] for s in rows if s[4]}
        assert kept == {rows[k][0] for k in np.argsort(-ranks, kind="stable")[:len(kept)]}
    survivors = {s[0] for s in by_rung[48] if s[4]}
    assert {s[0] for s in by_rung[48]} == {s[0] for s in by_rung[32] if s[4]}
    assert {r.spec.id for r in records} == survivors  # the screened out never at 64²
    assert all(s[2]["display_size"] == s[1] // 2 for s in screens)

    assert main(args) == 0  # run again: nothing to do, the same cut
    assert "0 rendered" in capsys.readouterr().out
    with open_catalog(catalog, readonly=True) as cat:
        assert cat.screens() == screens


@pytest.mark.parametrize("screen,message", [
    ("32", "give RES:KEEP"),
    ("32:0%", "percentage above 0"),
    ("32:1.5", "whole number"),
])
def test_bad_screens_are_one_line(tmp_path, capsys, screen, message):
    with pytest.raises(SystemExit) as stop:
        main(["sweep", "--seeds", "1", "--catalog", str(tmp_path / "c.sqlite"), "--screen",
              screen])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and os.listdir(tmp_path) == []


def test_screens_must_grow_below_the_preview(tmp_path, capsys):
    assert main(["sweep", "--seeds", "1", "--catalog", str(tmp_path / "c.sqlite"),
                 "--screen", "64:10%", "--preview", "64", "--quiet"]) == 2
    assert "must grow and stay below --preview 64" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_fifos_and_devices_as_inputs_are_refused_in_one_line_at_once(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opened for reading, it would wait for a writer forever
    catalog = str(tmp_path / "c.sqlite")
    for args in (["sweep", "--seeds", "1", "--catalog", str(fifo)],
                 ["sweep", "--seeds", "1", "--catalog", "/dev/zero"],
                 ["sweep", "--seeds", f"@{fifo}", "--catalog", catalog],
                 ["sweep", "--seeds", "@/dev/zero", "--catalog", catalog],  # never ends
                 ["catalog", "ls", "--catalog", str(fifo)],
                 ["select", "-o", "-", "--catalog", str(fifo)]):
        done = subprocess.run([sys.executable, "-m", "generator.cli", *args, "--quiet"
                               if args[0] != "catalog" else "--json"],
                              capture_output=True, text=True, timeout=20)
        assert done.returncode == 2 and "not a regular file" in done.stderr, (args, done)
        assert done.stderr.count("\n") == 1, done.stderr
    assert sorted(os.listdir(tmp_path)) == ["fifo"]


def _fragile(seeds, marks, deadly=()):
    """A sweep's work function whose worker process dies (SIGKILL) on a seed in `deadly`
    every time, or on its first try only when the seed is negative."""
    for seed in seeds:
        mark = marks / str(seed)
        if seed in deadly or seed < 0 and not mark.exists():
            mark.touch()
            os.kill(os.getpid(), signal.SIGKILL)
    return [seed * 10 for seed in seeds]


def test_a_worker_process_killed_is_replaced_and_its_task_run_again(tmp_path):
    from generator.catalog import Failure
    from generator.curate import TRIES, LocalPool, _fan_out

    start = time.monotonic()
    pool = LocalPool(2)
    try:
        tasks = [[1], [-2], [3], [4], [-5], [6]]
        results = [r for batch in _fan_out(_fragile, iter(tasks), pool, (tmp_path, (4,)))
                   for r in batch]
    finally:
        pool.close(True)
    assert sorted(r for r in results if not isinstance(r, Failure)) == [-50, -20, 10, 30, 60]
    (failure,) = [r for r in results if isinstance(r, Failure)]
    assert failure.spec == 4 and f"died {TRIES} times" in failure.message
    assert "signal 9" in failure.message and "out-of-memory" in failure.message
    assert time.monotonic() - start < 20  # it used to wait forever for the lost task


def test_a_local_sweep_goes_on_when_a_worker_process_is_killed(tmp_path):
    psutil = pytest.importorskip("psutil")
    path = tmp_path / "c.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "generator.cli", "sweep", "--seeds", "1-80",
                             "--catalog", str(path), "--workers", "2", "--iterations", "100",
                             "--preview", "64", "--quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while _count(path) < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        workers = [p for p in psutil.Process(proc.pid).children()
                   if "spawn_main" in " ".join(p.cmdline())]
        assert proc.poll() is None and workers, "the sweep ended before a worker was killed"
        workers[0].kill()  # as the out-of-memory killer would
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0 and err == "", err
    assert out.startswith("80 rendered") and _count(path) == 80
    with open_catalog(path, readonly=True) as cat:
        assert cat.failures() == []


def test_seeds_another_running_sweep_claimed_are_reported_as_such(tmp_path, capsys):
    from generator.catalog import claimant

    path = tmp_path / "c.sqlite"
    args = ["sweep", "--catalog", str(path), "--init", "shared", "--workers", "1", *TINY]
    assert main([*args, "--seeds", "1"]) == 0
    with open_catalog(path, preview=32) as cat:  # as a live sweep (this process) holds them
        ids = [replace(cat.records()[0].spec, seed=s).id for s in (2, 3)]
        assert cat.claim(ids, claimant()) == set(ids)
    capsys.readouterr()
    assert main([*args, "--seeds", "1-4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 rendered") and "1 already there" in out
    assert "2 being previewed by another sweep" in out
