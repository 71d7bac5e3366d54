"""`attnart` subcommands: parse, build the spec, call one library function, report."""

from __future__ import annotations

import argparse
import codecs
import os
import sys
import time
import traceback
from pathlib import Path

from generator import __version__
from generator.cache import RenderCache
from generator.curate import SEEDS_HELP, Criteria, Rung, check_out, parse_seeds, pick, sweep
from generator.errors import ArtError, SpecError
from generator.files import json_text, os_problem, write_files
from generator.spec import CUDA_PROFILES, DEFAULT_TITLE, SEED_MAX, ArtworkSpec

# Options whose value may start with '-' (a negative number), which argparse would otherwise
# take for an option: `--window -8,8,-8,8` must work as users type it.
LIST_OPTIONS = ("--window", "--wq", "--wv", "--zoom-to")


class Parser(argparse.ArgumentParser):
    commands: dict[str, argparse.ArgumentParser]  # the subcommands' parsers, by name

    def error(self, message):  # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def parse_args(self, args=None, namespace=None):
        """As argparse's, but an unknown option is reported by its subcommand, whose --help
        lists the options it does know."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            owner = self.commands.get(getattr(parsed, "command", None), self)
            owner.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed


def _seed(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be an integer in 0..{SEED_MAX}, got {text!r}")
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"seed must be in 0..{SEED_MAX}, got {value}")
    return value


def _text(arg: str) -> str:
    """Text for a page, as typed: under a locale that cannot decode it, Python hands over the
    bytes as surrogates, which are UTF-8 wherever a terminal could type them."""
    try:
        return os.fsencode(arg).decode("utf-8")
    except UnicodeDecodeError:
        raise argparse.ArgumentTypeError(f"{ascii(arg)} is not UTF-8 text") from None


def _screen(text: str) -> Rung:
    try:
        return Rung.parse(text)
    except SpecError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _numbers(count: int):
    def parse(text: str) -> tuple[float, ...]:
        try:
            values = tuple(float(v) for v in text.split(","))
        except ValueError:
            values = ()
        if len(values) != count:
            raise argparse.ArgumentTypeError(f"needs {count} comma-separated numbers, "
                                             f"got {text!r}")
        return values
    return parse


def _add_spec_options(p: argparse.ArgumentParser, *, resolution: bool = True) -> None:
    d = ArtworkSpec(seed=0)  # the defaults, shown in --help
    g = p.add_argument_group("artwork")
    if resolution:
        g.add_argument("--resolution", type=int, default=d.resolution, metavar="N",
                       help="grid points per axis (default %(default)s)")
    else:
        p.set_defaults(resolution=d.resolution)
    g.add_argument("--points", type=int, default=d.points, metavar="N",
                   help="number of unit vectors n (default %(default)s)")
    g.add_argument("--iterations", type=int, default=d.iterations, metavar="T",
                   help="steps of the map (default %(default)s)")
    g.add_argument("--window", type=_numbers(4), default=d.window,
                   metavar="AMIN,AMAX,BMIN,BMAX", help="the (a, b) window (default -8,8,-8,8)")
    g.add_argument("--threshold", type=float, default=d.threshold,
                   help="synchronised when max_i |x_i1 - x_11| < this (default %(default)s)")
    g.add_argument("--init", choices=("per-point", "shared"), default=d.init,
                   help="per-point: own random X(0) per grid point, as the paper's code "
                        "(default); shared: one X(0) for all, as the paper's text")
    g.add_argument("--wq", metavar="a11,a12,a21,a22|identity",
                   help="explicit W_Q instead of the seed's")
    g.add_argument("--wv", metavar="a11,a12,a21,a22|identity",
                   help="explicit W_V instead of the seed's")
    r = p.add_argument_group("random stream")
    r.add_argument("--rng", choices=("cuda", "cpu"), default=d.rng,
                   help="cuda: torch's CUDA generator, emulated on any device (default); "
                        "cpu: torch's CPU generator")
    r.add_argument("--cuda-profile", choices=sorted(CUDA_PROFILES), default="t4",
                   help="GPU whose launch grid shapes large draws (default t4, the paper's)")
    r.add_argument("--cuda-sms", type=int, metavar="N", help="SM count of another GPU")
    r.add_argument("--cuda-threads-per-sm", type=int, metavar="M",
                   help="max threads per SM of another GPU")


def _add_colour_options(p: argparse.ArgumentParser) -> None:
    from generator import shade

    g = p.add_argument_group("colour")
    g.add_argument("--shade", choices=shade.SHADES,
                   help="binary: white = synchronised, the paper's look (default); speed: "
                        "colour by how fast each pixel synchronised or how far it stayed "
                        "(the default with --palette or --palette-file)")
    g.add_argument("--palette", metavar="NAME",
                   help=f"colours of --shade speed: {', '.join(shade.PALETTES)} (default "
                        f"{shade.DEFAULT_PALETTE}; the last three are diverging), or your own "
                        "as #rrggbb,#rrggbb,... low to high")
    g.add_argument("--palette-file", type=Path, metavar="FILE",
                   help="your own palette instead: #rrggbb colours, low to high")


def _colour(args) -> dict:
    """The spec's shade and palette from the colour options (binary where there are none)."""
    from generator import shade

    palette, path = getattr(args, "palette", None), getattr(args, "palette_file", None)
    if path is not None:
        if palette is not None:
            raise ArtError("give --palette or --palette-file, not both")
        palette = shade.read_palette_file(path)
    elif palette is not None and palette.startswith("#"):
        palette = shade.parse_colours(palette.split(","), "--palette")
    chosen = getattr(args, "shade", None)
    if chosen == "binary" and palette is not None:
        raise ArtError("a palette colours --shade speed, not binary; drop --shade binary or "
                       "the palette")
    return {"shade": chosen or ("binary" if palette is None else "speed"), "palette": palette}


def _spec(args, seed: int | None = None) -> ArtworkSpec:
    sms, threads = CUDA_PROFILES[args.cuda_profile]
    if (args.cuda_sms is None) != (args.cuda_threads_per_sm is None):
        raise ArtError("--cuda-sms and --cuda-threads-per-sm go together; give both")
    return ArtworkSpec(**_colour(args),
        seed=args.seed if seed is None else seed, resolution=args.resolution,
        points=args.points, iterations=args.iterations, window=args.window,
        threshold=args.threshold, init=args.init, wq=args.wq, wv=args.wv, rng=args.rng,
        cuda_sms=sms if args.cuda_sms is None else args.cuda_sms,
        cuda_threads_per_sm=threads if args.cuda_threads_per_sm is None
        else args.cuda_threads_per_sm)


def _progress(args) -> bool:
    return sys.stderr.isatty() and not args.quiet


def cmd_render(args) -> None:
    from generator.render import render, resolve_device

    spec = _spec(args)
    started = time.perf_counter()
    meta = render(spec, args.output, device=resolve_device(args.device), backend=args.backend,
                  size=args.size, force=args.force, progress=_progress(args))
    if not args.quiet:
        print(f"wrote {args.output} ({meta['size']}×{meta['size']}) and "
              f"{args.output.with_suffix('.json')} in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
    if args.json:
        print(json_text(meta), end="")


def cmd_animate(args) -> None:
    from generator.animate import Motion, animate
    from generator.render import resolve_device

    spec = _spec(args)
    motion = Motion(target=args.zoom_to, width=args.to_width, morph=args.morph)
    started = time.perf_counter()
    meta = animate(spec, motion, args.output, seconds=args.seconds, fps=args.fps,
                   device=resolve_device(args.device), backend=args.backend,
                   every_frame=args.every_frame, force=args.force, progress=_progress(args))
    if not args.quiet:
        made = f", from {meta['keyframes']} keyframes" if meta["keyframes"] else ""
        print(f"wrote {args.output} ({meta['frames']} frames of {meta['size']}×{meta['size']} "
              f"at {meta['fps']} fps{made}) in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)


SPEC_MARK = b"# attnart spec"  # what spec's text output begins with


def cmd_spec(args) -> None:
    from generator import rng
    from generator.render import describe

    meta = describe(spec := _spec(args), rng.draw(spec))
    if args.json:
        text = json_text(meta)
    else:
        text = f"{SPEC_MARK.decode()}: seed {meta['seed']} ({spec.rng} stream), id {meta['id']}\n"
        for name in ("W_Q", "W_V"):
            rows = [" ".join(f"{v:8.4f}" for v in row) for row in meta[name]]
            text += f"{name} = [{rows[0]}]\n      [{rows[1]}]\n"
    if str(args.output) == "-":
        _write_data(text)
    else:  # its own earlier output, text or JSON (the sidecar's W_Q), is replaced
        check_out(args.output, force=args.force, suffix=".json" if args.json else ".txt",
                  marks=(SPEC_MARK, b'"W_Q": ['))
        write_files({args.output: text.encode()})


def cmd_bench(args) -> None:
    from generator.bench import SPEED, bench
    from generator.render import resolve_device

    device = resolve_device(args.device)
    spec = _spec(args)
    rows = bench(spec, device, reference_pixels=args.reference_pixels)
    ref = rows[0]
    print(f"seed {spec.seed}, {spec.resolution}² {spec.init}, T={spec.iterations}, "
          f"n={spec.points}, device {device}; reference timed on {ref.pixels:,} of "
          f"{spec.resolution**2:,} px (evenly spread)")
    print(f"{'backend':<13} {'seconds':>9} {'Mpix/s':>9} {'s/Mpix':>9} {'speed-up':>9} "
          f"{'agreement':>10}")
    for row in rows:
        speedup = row.mpix_per_s / ref.mpix_per_s
        print(f"{row.backend:<13} {row.seconds:9.3f} {row.mpix_per_s:9.4f} "
              f"{1 / row.mpix_per_s:9.2f} {speedup:8.1f}x {row.agreement:10.4%}")
    seconds = {row.backend: row.seconds for row in rows}
    for name, time_with in seconds.items():
        if name.endswith(SPEED):
            alone = seconds[name.removesuffix(SPEED)]
            print(f"speed field on {name.removesuffix(SPEED)}: {time_with / alone - 1:+.1%} time "
                  "over labels alone (measured in this run)")


def cmd_score(args) -> None:
    from generator.score import is_render, load_labels, measured, score

    labels = load_labels(args.image)
    result = score(labels, display=args.display,
                   landscape=args.landscape or is_render(args.image)).as_dict()
    if args.json:
        print(json_text(result), end="")
        return
    print(f"fractal dimension {result['fractal_dimension']:.3f} ({measured(result)}, grain "
          f"{result['grain']:.2f}, r² "
          f"{result['r2']:.3f}; {result['raw_fractal_dimension']:.3f} box-counting the "
          f"pixels), white {result['white_fraction']:.1%}, grey {result['grey_fraction']:.1%}, "
          f"entropy {result['grey_entropy']:.2f} bits, zlib {result['compression']:.3f}, "
          f"lacunarity {result['lacunarity']:.2f}, speckle {result['speckle']:.3f}, solid black "
          f"{result['solid_black']:.1%}, " + ", ".join(result["traits"].values()))


def _seeds_file(args) -> list[ArtworkSpec]:
    """The artworks of --seeds (the paper's six when not given), command-line defaults under."""
    from generator.spec import load_seeds
    from generator.theme import paper_seeds

    defaults = _spec(args, seed=0).canonical()
    del defaults["seed"], defaults["wq"], defaults["wv"]
    return load_seeds(args.seeds or paper_seeds(), defaults)


def _report_repaired(folder: Path, names: list[str]) -> None:
    for name in names:
        print(f"attnart: {folder / name} was damaged (it did not decode); made it again",
              file=sys.stderr)


def cmd_build(args) -> None:
    from generator.render import resolve_device
    from generator.site import build
    from generator.spec import COLLECTION_KEYS, load_collection

    specs = _seeds_file(args)
    given = {key: getattr(args, key) for key in COLLECTION_KEYS if getattr(args, key) is not None}
    collection = {"title": DEFAULT_TITLE, "artist": "", "license": ""} | (
        load_collection(args.seeds) if args.seeds else {}) | given
    result = build(specs, args.out, device=resolve_device(args.device), backend=args.backend,
                   base_url=args.base_url, templates=args.templates, force=args.force,
                   cache=RenderCache(args.cache), deep_zoom=args.deep_zoom,
                   live_pages=not args.no_live, progress=_progress(args), **collection)
    _report_repaired(args.out, result.repaired)
    for title in result.gone:
        print(f"attnart: removed {title} from {args.out}: it left the seeds file (its render "
              "stays in the cache)", file=sys.stderr)
    index = (args.out / "index.html").resolve()
    if not args.quiet:
        if not args.base_url:
            print("attnart: no --base-url: social cards, feed.xml and sitemap.xml need "
                  "absolute URLs and were left out", file=sys.stderr)
        made = [f"{len(result.rendered)} rendered"] + [
            f"{len(ids)} {what} made" for what, ids in (("deep-zoom pyramids", result.pyramids),
                                                        ("videos", result.videos)) if ids]
        print(f"{args.out}: {len(result.records)} artworks, {', '.join(made)}, "
              f"{len(result.removed)} stale files removed; open {index.as_uri()}",
              file=sys.stderr)
    if args.open:
        _open_in_browser(index.as_uri())


def _open_in_browser(url: str) -> None:
    import webbrowser

    try:
        opened = webbrowser.open(url)
    except webbrowser.Error:
        opened = False
    if not opened:
        print(f"attnart: could not open a browser here (no display or browser found); open "
              f"{url} yourself", file=sys.stderr)


def cmd_jekyll(args) -> None:
    from generator.jekyll import export
    from generator.render import resolve_device
    from generator.spec import load_collection

    specs = _seeds_file(args)
    collection = (load_collection(args.seeds) if args.seeds else {}) | {
        key: getattr(args, key) for key in ("title", "description")
        if getattr(args, key) is not None}
    result = export(specs, args.site_dir, page=args.page, style=args.style, size=args.size,
                    with_pages=args.with_pages, title=collection.get("title"),
                    description=collection.get("description"), templates=args.templates,
                    force=args.force, device=resolve_device(args.device), backend=args.backend,
                    render_cache=RenderCache(args.cache), progress=_progress(args))
    _report_repaired(args.site_dir, result.repaired)
    print(f"style: {result.style} ({result.why})")
    print(f"{result.page}: {'written' if result.page_written else 'unchanged'}; "
          f"{len(result.images_written)} images written, {len(result.images_unchanged)} "
          f"unchanged, {len(result.rendered)} rendered")
    if result.pages_removed:
        print(f"removed the {len(result.pages_removed)} files of the artwork pages under "
              "attnart/ (no --with-pages this time)")
    if result.url:
        print(f"page: {result.url}")
    for note in result.notes:
        print(f"attnart: {note}", file=sys.stderr)


def cmd_sweep(args) -> None:
    from generator.catalog import open_catalog

    seeds = parse_seeds(args.seeds)
    specs = (_spec(args, seed) for seed in seeds)  # streamed: no list of a million specs
    try:
        result = sweep(specs, args.catalog, preview_size=args.preview, device=args.device,
                       backend=args.backend, workers=args.workers, cluster=args.cluster,
                       batch=args.batch, screens=args.screen, retry_failed=args.retry_failed,
                       total=len(seeds), progress=_progress(args))
    except KeyboardInterrupt:
        try:
            with open_catalog(args.catalog, readonly=True) as cat:
                held = f"{args.catalog} holds {len(cat)} previews"
        except (ArtError, OSError):
            held = "nothing was stored"
        raise KeyboardInterrupt(f"{held}; run the same command again to resume") from None
    rate = result.rendered / result.seconds * 60 if result.rendered else 0.0
    for resolution, candidates, kept in result.screened:
        print(f"screened {candidates} at {resolution}², kept {kept}")
    failed = (f"; {result.failed} failed (see attnart catalog failures; --retry-failed tries "
              "them again)" if result.failed else "")
    others = (f", {result.claimed} being previewed by another sweep of it" if result.claimed
              else "")
    print(f"{result.rendered} rendered ({rate:.1f}/min at {args.preview}²), "
          f"{result.skipped - result.claimed} already there; {args.catalog} holds "
          f"{result.catalog_size}{others}{failed}")


def cmd_select(args) -> None:
    from generator.score import measured

    criteria = Criteria(top=args.top, target=args.target_dimension, band=args.band,
                        min_white=args.min_white, max_white=args.max_white,
                        distinct=args.distinct)
    to_stdout = str(args.out) == "-"
    selection = pick(args.catalog, None if to_stdout else args.out, criteria, force=args.force,
                     like=args.like, learn=args.learn, device=args.device,
                     progress=_progress(args))
    # with -o -, the seeds file is the output and the report goes to stderr
    report = sys.stderr if to_stdout else sys.stdout
    print(f"rank  {selection.order} (the order; ranks count near-duplicates passed over)  "
          "seed  D (regime, measured on)  white  id", file=report)
    for rank, key, record in zip(selection.ranks, selection.keys, selection.picks):
        s = record.scores
        where = f" ({measured(s) or 'earlier estimator'})"
        print(f"{rank:4d}  {key:.3f}  seed {record.spec.seed:<10d} D "
              f"{s['fractal_dimension']:.3f}{where}  white {s['white_fraction']:6.1%}  "
              f"{record.spec.id}", file=report)
    if args.like:
        other = f"{selection.off_target} favourites or unscored, "
    elif args.target_dimension is not None:
        other = f"{selection.off_target} outside the band, "
    else:
        other = ""
    print(f"picked {len(selection.picks)} of {selection.considered}: {selection.degenerate} "
          f"mostly one colour, {other}{selection.duplicates} near-duplicates passed over; "
          f"wrote {'standard output' if to_stdout else args.out}", file=report)
    if to_stdout:
        _write_data(selection.toml)


def cmd_review(args) -> None:
    from generator.review import write_review

    result = write_review(args.catalog, args.out, top=args.top, force=args.force,
                          size=args.size, templates=args.templates)
    print(f"{args.out}: {result.shown} candidates of {result.considered}; open it in a browser, "
          "tick favourites, then copy or download them as a seeds TOML")


# What `catalog ls` shows unless --columns says: what fits a terminal of 80 columns.
CATALOG_COLUMNS = ("rank", "seed", "id", "order", "fractal_dimension", "white_fraction")


def cmd_catalog(args) -> None:
    import numpy as np

    from generator.catalog import open_catalog
    from generator.curate import intricacy

    if (args.action == "show") != (args.artwork is not None):
        raise ArtError("give a SEED or ID with catalog show, and none with catalog ls")
    if args.top is not None and args.top < 1:
        raise ArtError(f"--top must be 1 or more, got {args.top}")
    with open_catalog(args.catalog, readonly=True) as cat:
        if args.action == "failures":
            for spec, message in cat.failures():
                # one line a seed, whatever the message (Dask's span lines) or its escapes
                flat = " ".join("".join(c if c.isprintable() else " " for c in message).split())
                print(f"seed {spec.seed}  {spec.id}  {flat}")
            return
        records, preview = cat.records(), cat.preview
    # select's default order, and its rank among the whole catalog
    order = intricacy(records) if records else []
    ranks = {r.spec.id: 1 + int(np.sum(order > value)) for r, value in zip(records, order)}
    rows = [{"rank": ranks[r.spec.id], "seed": r.spec.seed, "id": r.spec.id,
             "order": float(value)} | r.scores
            | {"spec": r.spec.canonical()} for r, value in zip(records, order)]
    if args.action == "show":
        rows = [row for row in rows if args.artwork in (str(row["seed"]), row["id"])]
        if not rows:
            raise ArtError(f"catalog {args.catalog} holds no artwork with seed or id "
                           f"{args.artwork}; list them with attnart catalog ls")
        print(json_text(rows[0]), end="")
        return
    numbers = sorted({k for row in rows for k, v in row.items()
                      if isinstance(v, (int, float)) and not isinstance(v, bool)})
    if args.sort:
        if args.sort not in numbers:
            raise ArtError(f"--sort {args.sort}: not a number the catalog holds; choose one "
                           f"of {', '.join(numbers)}")
        low_first = args.sort == "rank"  # rank 1 first; every score highest first
        rows.sort(key=lambda row: row.get(args.sort, float("inf" if low_first else "-inf")),
                  reverse=not low_first)
    rows = rows[:args.top] if args.top else rows
    if args.json:
        print(json_text(rows), end="")
        return
    columns = args.columns.split(",") if args.columns else list(CATALOG_COLUMNS)
    unknown = [c for c in columns if c not in {"id", *numbers}]
    if unknown:
        raise ArtError(f"--columns {','.join(unknown)}: not a column of the catalog; choose "
                       f"among id, {', '.join(numbers)}")
    table = [columns] + [[f"{row.get(k):.4g}" if isinstance(row.get(k), float)
                          else str(row.get(k, "")) for k in columns] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        print("  ".join(cell.rjust(w) for cell, w in zip(line, widths)).rstrip())
    print(f"{len(records)} artworks scored on {preview}² previews; rank and order: select's "
          "default order (see attnart select --help)")


def cmd_cache(args) -> None:
    from generator.cache import RenderCache, human, parse_size

    cache = RenderCache(args.cache)
    if args.limit is not None:
        cache.set_limit(parse_size(args.limit))
    gone = ""
    if args.clear or args.limit is not None:  # everything, or down to the new limit
        gone = f"; removed {len(cache.evict(0 if args.clear else None))}"
    use = cache.usage()
    print(f"{use.folder}: {use.renders} renders, {human(use.size)} of {human(use.limit)}{gone}")


def cmd_theme(args) -> None:
    from generator.theme import copy_builtin

    written = copy_builtin(args.copy)
    print(f"copied the built-in theme into {args.copy} ({len(written)} files); build with "
          f"--templates {args.copy}", file=sys.stderr)


def cmd_explore(args) -> None:
    try:
        from generator.explore.app import LOOPBACK, create_app
        from generator.explore.server import bind, serve, url_of
    except ImportError as e:
        if (e.name or "").split(".")[0] not in ("starlette", "uvicorn"):
            raise
        raise ArtError("attnart explore needs the explore extra: "
                       "pip install 'attention-art[explore]'") from None
    from generator.render import resolve_device

    if not 0 <= args.port <= 65535:
        raise ArtError(f"--port must be in 0..65535 (0: any free port), got {args.port}")
    local = args.host in LOOPBACK
    app = create_app(_spec(args), save=args.save, device=resolve_device(args.device),
                     backend=args.backend, hosts=LOOPBACK if local else ("*",))
    sock = bind(args.host, args.port)
    url = url_of(sock)
    if not local:
        print(f"attnart: warning: serving on {args.host}: anyone who can reach this machine "
              "can use the explorer and make it render", file=sys.stderr)
    print(f"attnart explore: {url} (Ctrl-C stops)", flush=True)
    if args.open:
        _open_in_browser(url)
    serve(app, sock)


def cmd_export_token(args) -> None:
    from generator.files import check_ours, make_folder, write_files
    from generator.live import token_files, tokens_written

    files = token_files(_spec(args), args.platform)
    make_folder(args.output, "output")
    # the folder's other files (fxhash.js, a zip's extras) are the user's: only ours replaced
    check_ours(args.output, list(files), tokens_written(args.output),
               writer="attnart export-token", force=args.force)
    write_files({args.output / name: data for name, data in files.items()}, root=args.output)
    if not args.quiet:
        print(f"attnart export-token: wrote {', '.join(files)} into {args.output} for "
              f"{args.platform}")


def _parser() -> Parser:
    parser = Parser(prog="attnart", description="Render, score, curate and publish the "
                    "convergence landscapes of an attention-like map.")
    parser.add_argument("--version", action="version", version=f"attnart {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, func, help, seed=True, resolution=True):
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        if seed:
            p.add_argument("seed", type=_seed, metavar="SEED", help=f"0..{SEED_MAX}")
        _add_spec_options(p, resolution=resolution)
        return p

    def themed(p):
        p.add_argument("--seeds", type=Path, metavar="FILE.toml",
                       help="seeds TOML of [[artwork]] tables (default: the paper's six "
                            "artworks, built in; seeds/paper.toml in the repository)")
        p.add_argument("--templates", type=Path, metavar="DIR",
                       help="a theme folder whose files replace the built-in theme's of the "
                            "same name; start one with attnart theme --copy DIR")
        p.add_argument("--force", action="store_true",
                       help="replace files in the way that attnart did not write")

    def cached(p):
        p.add_argument("--cache", type=Path, metavar="DIR",
                       help="the render cache shared by every site you build (default "
                            "$ATTNART_CACHE, else the user cache folder: attnart cache shows it)")

    def runtime(p, quiet=True):
        p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                       help="where to compute (default auto: CUDA when there is one)")
        p.add_argument("--backend", default="auto",
                       help="auto (fastest available), reference, cpu or triton")
        if quiet:
            p.add_argument("--quiet", action="store_true",
                           help="no progress bar and no report of what was written")

    p = command("render", cmd_render, "render one artwork to a PNG and its JSON sidecar")
    runtime(p)
    _add_colour_options(p)
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.png",
                   help="the image to write; its sidecar OUT.json is written beside it")
    p.add_argument("--size", type=int, metavar="N",
                   help="write the image downsampled to N×N, antialiased")
    p.add_argument("--force", action="store_true",
                   help="replace OUT.png and OUT.json even when attnart did not write them "
                        "(an earlier render's are replaced anyway)")
    p.add_argument("--json", action="store_true", help="print the metadata as JSON")

    p = command("animate", cmd_animate, "render a zoom or a morph to an H.264 MP4 video")
    p.set_defaults(resolution=720)
    runtime(p)
    _add_colour_options(p)
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.mp4",
                   help="the video to write")
    p.add_argument("--zoom-to", type=_numbers(2), metavar="A,B",
                   help="zoom exponentially towards the point (a, b) of the window")
    p.add_argument("--to-width", type=float, metavar="W",
                   help="the width of the last frame's window (with --zoom-to)")
    p.add_argument("--morph", type=_seed, metavar="SEED2",
                   help="move W_Q and W_V linearly to SEED2's (X(0) stays SEED's)")
    p.add_argument("--seconds", type=float, default=10.0,
                   help="length of the video (default %(default)s)")
    p.add_argument("--fps", type=int, default=30, help="frames per second (default %(default)s)")
    p.add_argument("--every-frame", action="store_true",
                   help="render every frame of a zoom exactly (slow) instead of resampling "
                        "keyframes")
    p.add_argument("--force", action="store_true",
                   help="replace OUT.mp4 even when attnart did not make it (a video of "
                        "attnart animate is replaced anyway)")

    p = command("spec", cmd_spec, "print an artwork's spec (W_Q, W_V, parameters) unrendered")
    p.add_argument("--json", action="store_true", help="as JSON")
    p.add_argument("-o", "--output", type=Path, default=Path("-"), metavar="FILE",
                   help="write it to FILE instead (default -, standard output)")
    p.add_argument("--force", action="store_true",
                   help="replace FILE even when attnart did not write it (a spec of attnart "
                        "spec is replaced anyway)")

    p = command("bench", cmd_bench, "time every backend against the reference", seed=False)
    p.set_defaults(resolution=500)
    p.add_argument("--seed", type=_seed, default=1679700,
                   help="the artwork to time (default %(default)s)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where to compute (default auto: CUDA when there is one)")
    p.add_argument("--reference-pixels", type=int, default=16384, metavar="N",
                   help="grid points the slow reference computes (default %(default)s)")

    p = sub.add_parser("score", help="score a black-and-white image by boundary complexity",
                       description="score a black-and-white image by boundary complexity")
    p.set_defaults(func=cmd_score)
    p.add_argument("image", type=Path, metavar="IMAGE.png",
                   help="a black-and-white image (grey levels are thresholded at 50%%)")
    p.add_argument("--display", type=int, default=512, metavar="N",
                   help="side of the displayed image the tone and texture scores measure; "
                        "the fractal dimension is measured on the image's own pixels, or on "
                        "a render's 256² grid (see --landscape) (default %(default)s)")
    p.add_argument("--landscape", action="store_true",
                   help="IMAGE is a render of the map (known without this from the sidecar "
                        "or the PNG text attnart render writes): its crisp boundary is "
                        "measured at a sweep preview's density of samples, whatever its size")
    p.add_argument("--json", action="store_true", help="as JSON")

    p = command("build", cmd_build, "render every artwork of a seeds file into a folder",
                seed=False)
    runtime(p)
    themed(p)
    cached(p)
    p.add_argument("--out", type=Path, default=Path("site"),
                   help="the site's folder, created when missing (default %(default)s)")
    p.add_argument("--open", action="store_true", help="open the gallery in a browser after")
    c = p.add_argument_group("the collection (also keys of a [collection] table in the seeds "
                             "file; the command line wins)")
    c.add_argument("--title", type=_text, metavar="TEXT",
                   help=f"the gallery's title (default {DEFAULT_TITLE})")
    c.add_argument("--description", type=_text, metavar="TEXT",
                   help="what the index says of the collection, and the metadata's description "
                        "(default: what the pictures show, binary or colour)")
    c.add_argument("--artist", type=_text, metavar="NAME",
                   help="shown on every page, and the metadata's artist")
    c.add_argument("--license", type=_text, metavar="SPDX-OR-TEXT",
                   help="e.g. CC-BY-4.0: shown on every page, and the metadata's license")
    c.add_argument("--base-url", type=_text, default="", metavar="URL",
                   help="where the site will live: absolute URLs in the metadata, and the "
                        "social cards (Open Graph, Twitter), feed.xml and sitemap.xml that "
                        "need them; pages link relatively either way")
    p.add_argument("--deep-zoom", type=int, metavar="N",
                   help="also render each artwork at N×N as a tile pyramid its page zooms "
                        "into (e.g. 8192)")
    p.add_argument("--no-live", action="store_true",
                   help="leave out the live pages (live/ID.html: each artwork rendering "
                        "itself in WebGL2, its token's animation_url)")

    p = command("jekyll", cmd_jekyll, "write the artworks and their page into a Jekyll site",
                seed=False)
    runtime(p)
    p.add_argument("--site-dir", type=Path, required=True, metavar="PATH",
                   help="the Jekyll site's folder (must exist)")
    themed(p)
    cached(p)
    p.add_argument("--page", type=Path,
                   help="the page, relative to the site; when it exists only its generated "
                        "gallery block changes (default: the page attnart wrote, wherever it "
                        "is, else _pages/attention-dynamics-art.md when the site builds "
                        "_pages, else attention-dynamics-art.md)")
    p.add_argument("--style", choices=("auto", "v1", "v2", "plain"), default="auto",
                   help="v1 or v2, the author's two pages (v1 cites with jekyll-scholar), or "
                        "plain, a page of your own; auto keeps an existing page's, else v1 on "
                        "a site with jekyll-scholar, plain elsewhere; another style than an "
                        "existing page's needs --force (default %(default)s)")
    c = p.add_argument_group("the plain page (also keys of a [collection] table in the seeds "
                             "file; the command line wins)")
    c.add_argument("--title", type=_text, metavar="TEXT",
                   help=f"its title (default {DEFAULT_TITLE})")
    c.add_argument("--description", type=_text, metavar="TEXT",
                   help="its introduction (default: what the pictures show)")
    p.add_argument("--size", type=int, metavar="N",
                   help="images N×N, antialiased (default 1000, or the resolution if smaller)")
    p.add_argument("--with-pages", action="store_true",
                   help="also emit the gallery's artwork pages under attnart/, linked from "
                        "each image")

    p = command("sweep", cmd_sweep, "preview, score and catalog every seed of a list; "
                "stopped and run again, it resumes", seed=False)
    runtime(p)
    p.add_argument("--seeds", required=True, metavar="LIST", help=SEEDS_HELP)
    p.add_argument("--preview", type=int, default=256, metavar="N",
                   help="render and score at N×N; --resolution is recorded as the final "
                        "render's; one catalog holds one preview size (default %(default)s)")
    p.add_argument("--catalog", type=Path, default=Path("catalog.sqlite"),
                   help="SQLite catalog, created when missing (default %(default)s)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="processes (default: 1 on a GPU, 2 on a CPU)")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="run on a Dask cluster: a scheduler's address (tcp://HOST:8786), or "
                        "local for a LocalCluster here; needs attention-art[cluster]")
    p.add_argument("--batch", type=int, metavar="N",
                   help="seeds per cluster task (default 4 on CPUs, 64 with --device cuda)")
    p.add_argument("--screen", type=_screen, action="append", default=[],
                   metavar="RES:KEEP",
                   help="preview every seed at RES² first and keep the best KEEP (10%% or "
                        "a count) by intricacy; repeatable, e.g. --screen 48:20%% --screen "
                        "96:25%%; the catalog records every rung's scores")
    p.add_argument("--retry-failed", action="store_true",
                   help="preview again the seeds an earlier run recorded as failed")

    p = command("export-token", cmd_export_token, "write the artwork as a generative token: "
                "index.html and live.js rendering in WebGL2 from the platform's hash")
    p.add_argument("--platform", choices=("fxhash", "artblocks"), default="fxhash",
                   help="whose hash picks each token's seed (default %(default)s); SEED "
                        "renders when the page is opened alone")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR",
                   help="the folder to write index.html and live.js into")
    p.add_argument("--force", action="store_true",
                   help="replace index.html and live.js even when attnart did not write them")
    p.add_argument("--quiet", action="store_true", help="no report of what was written")

    # tiles have their own size: --resolution and --quiet would do nothing here
    p = command("explore", cmd_explore, "explore a seed's landscape in the browser: a local "
                "server renders tiles as you pan and zoom", seed=False, resolution=False)
    runtime(p, quiet=False)
    _add_colour_options(p)
    p.add_argument("seed", type=_seed, nargs="?", default=1679700, metavar="SEED",
                   help="where to start (default %(default)s); the page changes it")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default %(default)s: this machine only)")
    p.add_argument("--port", type=int, default=8765,
                   help="port (default %(default)s; 0 picks a free one)")
    p.add_argument("--save", type=Path, metavar="PICKS.toml",
                   help="seeds file that 'save this view' appends to (created if missing); "
                        "without it saving is off")
    p.add_argument("--open", action="store_true", help="open the page in a browser")

    d = Criteria()
    p = sub.add_parser("select", help="pick the best artworks of a catalog into a seeds file",
                       description="pick the best artworks of a catalog into a seeds file, "
                                   "mostly-one-colour and near-duplicate images left out. "
                                   "Default order: most intricate first, by the weighted "
                                   "mean percentile in the catalog of grey-level entropy, "
                                   "(downwards) compression, solid black area and speckle "
                                   "(calibrated so that the paper's five published artworks "
                                   "rank in the top quarter of random seeds; see README). "
                                   "People differ: "
                                   "Spehar et al. (2016) found preference types for smooth, "
                                   "medium and complex fractals, so no single order suits "
                                   "all; --target-dimension ranks by closeness to a fractal "
                                   "dimension instead (Spehar et al. 2003: 1.3-1.5 on "
                                   "average), --like by likeness to your favourites.")
    p.set_defaults(func=cmd_select)
    p.add_argument("--catalog", type=Path, default=Path("catalog.sqlite"),
                   help="the catalog a sweep wrote (default %(default)s)")
    p.add_argument("-o", "--out", type=Path, required=True, metavar="PICKS.toml",
                   help="seeds file to write, in seeds/paper.toml's format; - for standard "
                        "output")
    p.add_argument("--force", action="store_true",
                   help="replace --out even when attnart did not write it (a seeds file of "
                        "attnart select is replaced anyway)")
    p.add_argument("--top", type=int, default=d.top, metavar="N",
                   help="pick at most N (default %(default)s)")
    p.add_argument("--like", type=Path, metavar="FAVOURITES.toml",
                   help="rank by likeness to the artworks of this seeds file (e.g. one "
                        "exported by attnart review): nearest favourite first, in the "
                        "standardised scores; favourites missing from the catalog are "
                        "previewed as a sweep would")
    p.add_argument("--learn", type=Path, metavar="RATINGS.toml",
                   help="rank by a taste learned from your judgements: a TOML file with "
                        "liked = [...] and disliked = [...] (artwork ids or seeds of the "
                        "catalog, two of each at least; attnart review exports it); a "
                        "logistic regression on the standardised scores, most likely liked "
                        "first")
    p.add_argument("--target-dimension", type=float, metavar="D",
                   help="rank by closeness of the fractal dimension to D instead, within "
                        "--band; 1.4 follows Spehar et al. 2003, though one target cannot suit "
                        "every preference type (Spehar et al. 2016)")
    p.add_argument("--band", type=float, default=d.band, metavar="W",
                   help="with --target-dimension, pick only |D - target| <= W "
                        "(default %(default)s)")
    p.add_argument("--min-white", type=float, default=d.min_white, metavar="F",
                   help="leave out images less white than F (default %(default)s)")
    p.add_argument("--max-white", type=float, default=d.max_white, metavar="F",
                   help="leave out images whiter than F (default %(default)s)")
    p.add_argument("--distinct", type=float, default=d.distinct, metavar="F",
                   help="leave out images whose 32² thumbnail differs from a better pick's "
                        "by less than F, in mean grey level 0..1 (default %(default)s)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where to preview favourites missing from the catalog (default auto)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("review", help="write a contact sheet of a catalog's best candidates",
                       description="write a contact sheet of a catalog's best candidates, in "
                                   "select's default order: one self-contained HTML file "
                                   "(works from file://) with the sweep's preview images and "
                                   "scores, sortable by each score; tick favourites and copy "
                                   "or download them as a seeds TOML for attnart build or "
                                   "select --like. Nothing is rendered.")
    p.set_defaults(func=cmd_review)
    p.add_argument("--catalog", type=Path, default=Path("catalog.sqlite"),
                   help="the catalog a sweep wrote (default %(default)s)")
    p.add_argument("-o", "--out", type=Path, required=True, metavar="REVIEW.html",
                   help="the page to write")
    p.add_argument("--force", action="store_true",
                   help="replace --out even when attnart did not write it (a sheet of "
                        "attnart review is replaced anyway)")
    p.add_argument("--top", type=int, default=200, metavar="N",
                   help="show the best N candidates (default %(default)s)")
    p.add_argument("--size", type=int, default=128, choices=(128, 256),
                   help="each preview's side on the sheet, in pixels (default %(default)s; "
                        "a click opens it large)")
    p.add_argument("--templates", type=Path, metavar="DIR",
                   help="a theme folder whose review.html replaces the built-in one (start "
                        "one with attnart theme --copy DIR)")

    p = sub.add_parser("catalog", help="list a catalog's artworks and scores",
                       description="list a catalog's artworks and their preview scores")
    p.set_defaults(func=cmd_catalog)
    p.add_argument("action", choices=("ls", "show", "failures"),
                   help="ls: every artwork, a row each; show: one artwork, whole, as JSON; "
                        "failures: the seeds whose preview raised, with the message")
    p.add_argument("artwork", nargs="?", metavar="SEED|ID",
                   help="with show: the artwork's seed or id")
    p.add_argument("--catalog", type=Path, default=Path("catalog.sqlite"),
                   help="the catalog a sweep wrote (default %(default)s)")
    p.add_argument("--sort", metavar="KEY",
                   help="with ls: sort by this score, highest first, or by rank (select's "
                        "default order) (default: sweep order)")
    p.add_argument("--columns", metavar="A,B,...",
                   help="with ls: these columns (default " + ",".join(CATALOG_COLUMNS) +
                        "; any score of catalog show's, e.g. grey_entropy)")
    p.add_argument("--top", type=int, metavar="N", help="with ls: the first N rows only")
    p.add_argument("--json", action="store_true", help="with ls: JSON instead of a table")

    p = sub.add_parser("cache", help="show or clear the render cache",
                       description="the render cache: each full-resolution render once for "
                                   "all the sites you build; without options, where it is, "
                                   "how many renders it holds and their size")
    p.set_defaults(func=cmd_cache)
    cached(p)
    p.add_argument("--clear", action="store_true", help="remove every render")
    p.add_argument("--limit", metavar="SIZE",
                   help="keep the cache under SIZE (e.g. 2G; default 4G), removing the renders "
                        "used least recently now and after each build")

    p = sub.add_parser("theme", help="start a theme of your own from the built-in one",
                       description="copy the built-in gallery theme (pages, partials, static "
                                   "files, Jekyll pages) into a new folder, to edit and pass "
                                   "to build and jekyll with --templates")
    p.set_defaults(func=cmd_theme)
    p.add_argument("--copy", type=Path, required=True, metavar="DIR",
                   help="a new or empty folder to copy the built-in theme into")

    parser.commands = sub.choices
    return parser


def _join_list_values(argv: list[str]) -> list[str]:
    out = []
    tokens = iter(argv)
    for token in tokens:
        if token in LIST_OPTIONS:
            value = next(tokens, None)
            out.append(token if value is None else f"{token}={value}")
        else:
            out.append(token)
    return out


# What a terminal that cannot show a character gets instead: these for the few the messages
# use, Python's backslash escape for anything else.
_PLAIN = {"²": "^2", "×": "x", "—": "--", "–": "-", "…": "...", "←": "<-", "→": "->",
          "ᵀ": "^T", "≤": "<=", "≥": ">=", "±": "+-", "·": "."}


def _plain(error: UnicodeEncodeError) -> tuple[str, int]:
    bad = error.object[error.start:error.end]
    return "".join(_PLAIN.get(c, f"\\u{ord(c):04x}") for c in bad), error.end


codecs.register_error("attnart-plain", _plain)


def _any_terminal() -> None:
    """Messages survive any locale: what stdout or stderr cannot encode is written plainly."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="attnart-plain")


def _write_data(text: str) -> None:
    """A file's contents to standard output: as UTF-8 whatever the locale (TOML and JSON are
    UTF-8 by definition), never transliterated as messages are."""
    sys.stdout.flush()
    if hasattr(sys.stdout, "buffer"):
        sys.stdout.buffer.write(text.encode())
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(text)


def main(argv: list[str] | None = None) -> int:
    _any_terminal()
    args = _parser().parse_args(_join_list_values(sys.argv[1:] if argv is None else argv))
    try:
        args.func(args)
    except ArtError as e:
        print(f"attnart: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the machine said no somewhere we did not foresee: say what it said
        print(f"attnart: error: {os_problem(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        said = e.args[0] if e.args else "nothing half-written was left"
        print(f"attnart: interrupted; {said}", file=sys.stderr)
        return 130
    except Exception:  # a bug: never dressed up as the user's problem
        traceback.print_exc()
        print(f"attnart: internal error: this is a bug in attnart {__version__}; please "
              "report it with the lines above", file=sys.stderr)
        return 70  # EX_SOFTWARE
    return 0


if __name__ == "__main__":
    sys.exit(main())
