"""``framepipe index``: the exact index of every video of SOURCES, built in parallel, written as one store
that the datasets, the Keras sequences, ``framepipe.ray`` and ``framepipe clips`` read with ``index=STORE``
(``--index STORE``) instead of opening every video before the first batch."""

from __future__ import annotations

import os

import click

from .common import common_options, echo_json, plural, progress


@click.command(short_help="Index many videos once, into a store the datasets read.")
@click.argument("sources", nargs=-1, required=True)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="The store's folder (replaced if it exists).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default="the CPUs",
    help="Processes that index at once.",
)
@click.option("--stream", type=click.IntRange(min=0), help="Video stream index (default: each file's best).")
@click.option("--ray", "use_ray", is_flag=True, help="Index on the Ray cluster (ray.init(address='auto')).")
@common_options()
def index(sources, out, jobs, stream, use_ray, quiet, as_json) -> None:
    """Build the exact index of every video of SOURCES (folders, globs, manifests, videos) into one store
    at --out: ClipDataset(..., index=STORE) and the other readers then open nothing before the first batch.

    A video that changes afterwards (size, modification time, ETag) is indexed again when read, never
    trusted. Videos that cannot be read are listed once at the end (exit status 1 if none could be).
    """
    from framepipe._adapters.listing import resolve_sources

    listed = []
    for source in sources:
        try:
            listed.extend(resolve_sources(source))
        except (ValueError, OSError) as exc:
            raise click.ClickException(str(exc)) from None
    if use_ray:
        import ray

        if not ray.is_initialized():
            ray.init(address="auto")
    from framepipe._adapters.indexing import build_store

    with progress(len(listed), quiet=quiet, unit="video", desc="indexing") as bar:
        folder, done, failed = build_store(listed, out, stream=stream, jobs=jobs, use_ray=use_ray, bar=bar)
    if as_json:
        echo_json(dict(store=folder, videos=done, failed=[dict(path=p, error=e) for p, e in failed]))
    elif not quiet:
        click.echo(
            f"{plural(done, 'video')} indexed -> {folder}" + (f"; {len(failed)} failed" if failed else "")
        )
    for path, error in failed[:20]:
        click.echo(f"failed {error if path in error else f'{path}: {error}'}", err=True)
    if len(failed) > 20:
        click.echo(f"... and {len(failed) - 20} more (the store's toc.json lists them all)", err=True)
    if not done:
        raise click.ClickException("no video could be indexed")
