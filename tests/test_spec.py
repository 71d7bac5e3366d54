import re

import pytest

from generator.errors import SpecError
from generator.spec import IDENTITY, ArtworkSpec, load_seeds


def test_id_is_stable_and_names_the_pixels(spec_factory):
    a, b = spec_factory(), spec_factory(title="a title does not change the pixels")
    assert a.id == b.id and a.id.startswith("1679700-")
    assert spec_factory(iterations=99).id != a.id
    assert spec_factory(wq="identity").id != a.id


def test_canonical_round_trips(spec_factory):
    spec = spec_factory(wq="1,2,3,4", window=(-1, 2, -3, 4))
    again = ArtworkSpec.from_dict(spec.canonical())
    assert again == spec and again.id == spec.id
    assert spec.canonical()["wq"] == [1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize("given", ["identity", "1,0,0,1", [1, 0, 0, 1], [[1, 0], [0, 1]]])
def test_matrix_spellings(spec_factory, given):
    assert spec_factory(wv=given).wv == IDENTITY


@pytest.mark.parametrize("field,value,message", [
    ("seed", -1, "seed must be in"), ("seed", 2**64, "seed must be in"),
    ("seed", "7", "seed must be an integer"), ("resolution", 0, "resolution"),
    ("points", 0, "points"), ("iterations", -1, "iterations"),
    ("window", (0, 0, 1, 2), "AMIN < AMAX"), ("window", (0, 1, 2), "4 finite"),
    ("threshold", 0, "threshold"), ("init", "random", "init must be one of"),
    ("rng", "mt", "rng must be one of"), ("wq", [1, 2], "W_Q needs 4"),
    ("cuda_threads_per_sm", 1000, "multiple of 256"), ("cuda_sms", 0, "positive integer"),
    # values as the float32 kernels see them
    ("window", (1, 1.00000001, 0, 1), "too narrow for 24 distinct float32"),
    ("window", (0, 1, 5, 5 + 1e-6), "window b .* too narrow"),
    ("threshold", 1e-50, "positive float32"),
])
def test_invalid_fields_say_what_to_fix(spec_factory, field, value, message):
    with pytest.raises(SpecError, match=message):
        spec_factory(**{field: value})


@pytest.mark.parametrize("title, code", [
    ("a\x00b", "U+0000"), ("a\tb", "U+0009"), ("one\ntwo", "U+000A"), ("a\x7fb", "U+007F"),
    ("abc\u202egnp.exe", "U+202E (RIGHT-TO-LEFT OVERRIDE)"), ("a\u2066b", "U+2066"),
    ("a\u2069b", "U+2069"), ("a\u202ab", "U+202A"), ("a\u200fb", "U+200F"),
    ("a\u2028b", "U+2028"), ("a\u200bb", "U+200B"), ("\ufeffa", "U+FEFF"),
])
def test_titles_with_control_or_format_characters_are_refused(spec_factory, title, code):
    with pytest.raises(SpecError, match=rf"^title .* holds {re.escape(code)}[^,]*, a control or "
                                        "format character; give one line of printable text$"):
        spec_factory(title=title)


@pytest.mark.parametrize("title", ["Nocturne \u00e9t\u00e9", "\U0001f469\u200d\U0001f4bb art",
                                   "\u0645\u06cc\u200c\u0631\u0648\u0645", "a\u00a0b\u3000c"])
def test_titles_keep_joiners_and_spaces_of_any_kind(spec_factory, title):
    assert spec_factory(title=title).title == title


def test_paper_seeds_file():
    specs = load_seeds("seeds/paper.toml", {"resolution": 64})
    assert [s.seed for s in specs] == [1, 1679700, 5227590, 6306593, 6549664, 8012376]
    assert specs[0].wq == specs[0].wv == IDENTITY
    assert all(s.wq is None and s.wv is None for s in specs[1:])
    assert all(s.resolution == 64 and s.title for s in specs)


@pytest.mark.parametrize("text,message", [
    ("", "no \\[\\[artwork\\]\\]"),
    ("[[artwork]]\nseed = 1\n[[artwork]]\nseed = 1\n", "artwork 2 repeats artwork 1"),
    ("[[artwork]]\nseed = 1\ncolour = 'red'\n", "artwork 1: unknown spec field"),
    ("[[artwork]\n", "cannot be read"),
    ("[[artwork]]\nseed = 1\nwindow = 'a'\n", "window needs 4 finite numbers"),
    ("[[artwork]]\nseed = 1\nthreshold = 'x'\n", "threshold needs a positive number"),
    ("[[artwork]]\ntitle = 'no seed'\n", "artwork 1 must be a table with a seed"),
    ("artwork = [1, 2]\n", "artwork 1 must be a table with a seed"),
    ("[[artwork]]\nseed = 1\ntitle = 5\n", "title must be text"),
])
def test_bad_seeds_files(tmp_path, text, message):
    path = tmp_path / "seeds.toml"
    path.write_text(text)
    with pytest.raises(SpecError, match=message):
        load_seeds(path)
    with pytest.raises(SpecError, match="does not exist"):
        load_seeds(tmp_path / "missing.toml")


def test_profile_counts_in_the_id_only_where_it_changes_the_pixels(spec_factory):
    import random

    from generator.rng import cuda_launches

    rnd = random.Random(5)
    for _ in range(300):
        spec = spec_factory(resolution=rnd.choice([1, 2, 3, 8, 40, 1500]),
                            points=rnd.choice([1, 7, 20, 300, 4096]),
                            init=rnd.choice(["shared", "per-point"]),
                            cuda_sms=rnd.randint(1, 140),
                            cuda_threads_per_sm=256 * rnd.randint(1, 8))
        numel = spec.points * 2 * (1 if spec.init == "shared" else spec.resolution**2)
        layout = cuda_launches(numel, 8, spec.cuda_sms, spec.cuda_threads_per_sm)
        unbounded = cuda_launches(numel, 8, 2**20, 2048)
        assert spec.profile_matters == (layout != unbounded), spec
    t4, h100 = {}, {"cuda_sms": 132, "cuda_threads_per_sm": 2048}
    for same in ({"resolution": 1500, "init": "shared"}, {"rng": "cpu", "init": "per-point"},
                 {"resolution": 4, "init": "per-point"}):
        assert spec_factory(**same | t4).id == spec_factory(**same | h100).id
    big = {"resolution": 1500, "init": "per-point"}
    assert spec_factory(**big | t4).id != spec_factory(**big | h100).id


@pytest.mark.parametrize("every_field", [False, True])
def test_artwork_toml_reads_back_the_same_spec(tmp_path, spec_factory, every_field):
    from generator.spec import artwork_toml

    hostile = 'a "quote", a \\ backslash, [brackets] = x, é, 🎨 and a\u00a0no-break space'
    specs = [spec_factory(title=hostile, wq="1,2,3,4.5e-7", window=(-1, 2.5, -3, 4)),
             spec_factory(seed=2**64 - 1, init="per-point", rng="cpu", threshold=1e-3)]
    path = tmp_path / "picks.toml"
    path.write_text("\n".join(artwork_toml(s, every_field=every_field) for s in specs),
                    encoding="utf-8")
    again = load_seeds(path)
    assert [s.id for s in again] == [s.id for s in specs] and again[0].title == hostile
