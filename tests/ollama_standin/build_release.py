#!/usr/bin/env python3
"""Build release-shaped archives of the Ollama stand-in, laid out like GitHub's release downloads.

For each version, writes ``<out>/v<version>/`` with the Linux asset named as the real release
names it (``ollama-linux-<arch>.tar.zst`` from 0.14.0, ``ollama-linux-<arch>.tgz`` for
0.3.7-0.13.x) and a ``sha256sum.txt`` with lines ``<hex>  ./<asset>`` for every asset in that
directory. An archive holds
``bin/ollama``, ``lib/ollama/standin.py``, ``lib/ollama/VERSION`` and a version-specific
``lib/ollama/libggml-<version>.so`` (so a stale lib directory is visible after an upgrade).

Output is deterministic (sorted entries, fixed mtime, root owner); a file whose content would
not change is left untouched. Prints ``wrote <path>`` for each file written, so callers can
report a change.

    build_release.py --out DIR --version 0.32.15 [--version 0.13.5 ...] [--arch amd64 --arch arm64]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
LAUNCHER = os.path.join(HERE, "bin", "ollama")
LIBRARY = os.path.join(HERE, "lib", "standin.py")
ARCHES = ("amd64", "arm64")
MTIME = 1735689600  # 2025-01-01T00:00:00Z, for every archive entry
FIRST_TGZ = (0, 3, 7)
FIRST_TAR_ZST = (0, 14, 0)


def parse_version(text: str) -> tuple[int, int, int]:
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a release version (X.Y.Z): {text!r}")
    version = tuple(int(part) for part in match.groups())
    if version < FIRST_TGZ:
        raise argparse.ArgumentTypeError(f"{text}: releases before 0.3.7 ship a bare binary, not reproduced here")
    return version


def version_argument(text: str) -> str:
    """argparse type: a valid version, kept as written (it names the v<version> directory)."""
    parse_version(text)
    return text


def asset_name(version: tuple[int, int, int], arch: str) -> str:
    """The Linux asset's name in the GitHub release of ``version``."""
    extension = "tar.zst" if version >= FIRST_TAR_ZST else "tgz"
    return f"ollama-linux-{arch}.{extension}"


def archive_members(version: str) -> list[tuple[str, int, bytes | None]]:
    """(path, mode, content) of every entry, directories with content None, sorted by path."""
    with open(LAUNCHER, "rb") as f:
        launcher = f.read()
    with open(LIBRARY, "rb") as f:
        library = f.read()
    members = [
        ("bin", 0o755, None),
        ("bin/ollama", 0o755, launcher),
        ("lib", 0o755, None),
        ("lib/ollama", 0o755, None),
        ("lib/ollama/VERSION", 0o644, f"{version}\n".encode()),
        (f"lib/ollama/libggml-{version}.so", 0o644, f"ollama-gate stand-in library for ollama {version}\n".encode()),
        ("lib/ollama/standin.py", 0o644, library),
    ]
    return sorted(members)


def tar_bytes(version: str) -> bytes:
    """An uncompressed tar of the release, identical for identical inputs."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path, mode, content in archive_members(version):
            info = tarfile.TarInfo(path)
            info.mode, info.mtime = mode, MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def compress(data: bytes, asset: str) -> bytes:
    """gzip (no name, zero mtime in the header) for .tgz; the zstd CLI for .tar.zst."""
    if asset.endswith(".tgz"):
        buffer = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as gz:
            gz.write(data)
        return buffer.getvalue()
    zstd = shutil.which("zstd")
    if zstd is None:
        sys.exit("build_release.py: the zstd command is needed to build .tar.zst assets (apt-get install zstd)")
    return subprocess.run([zstd, "-q", "-19", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout


def write_if_changed(path: str, data: bytes) -> None:
    """Writes ``data`` unless the file already holds exactly that; reports what it did."""
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                print(f"up to date {path}")
                return
    except FileNotFoundError:
        pass
    partial = path + ".partial"
    with open(partial, "wb") as f:
        f.write(data)
    os.replace(partial, path)
    print(f"wrote {path}")


def build(out: str, version_text: str, arches: list[str]) -> None:
    version = parse_version(version_text)
    directory = os.path.join(out, f"v{version_text}")
    os.makedirs(directory, exist_ok=True)
    tar = tar_bytes(version_text)
    for arch in arches:
        asset = asset_name(version, arch)
        write_if_changed(os.path.join(directory, asset), compress(tar, asset))
    sums = []
    for asset in sorted(name for name in os.listdir(directory) if name.startswith("ollama-linux-")
                        and not name.endswith(".partial")):
        with open(os.path.join(directory, asset), "rb") as f:
            sums.append(f"{hashlib.sha256(f.read()).hexdigest()}  ./{asset}\n")
    write_if_changed(os.path.join(directory, "sha256sum.txt"), "".join(sums).encode())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output directory (gets one v<version>/ per version)")
    parser.add_argument("--version", dest="versions", action="append", required=True, type=version_argument,
                        help="release version X.Y.Z (0.3.7 or later), repeatable")
    parser.add_argument("--arch", dest="arches", action="append", choices=ARCHES,
                        help="architecture, repeatable (default: amd64 and arm64)")
    args = parser.parse_args(argv)
    arches = sorted(set(args.arches or ARCHES))
    for version in dict.fromkeys(args.versions):
        build(args.out, version, arches)
    return 0


if __name__ == "__main__":
    sys.exit(main())
