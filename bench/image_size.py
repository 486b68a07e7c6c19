#!/usr/bin/env python3
"""Where the container image's bytes go (docs/performance.md, "Container image").

    bench/image_size.py [OUT_DIR]     # OUT_DIR: hack/image's --out (default build/image)

Reads OUT_DIR/image.json and the layer hack/image wrote, and prints the image's compressed
and uncompressed sizes, then one row per part of the root filesystem: its files' bytes and
what each part costs gzip-compressed on its own (gzip -6, as umoci's layer; the parts add
up to slightly more than the layer, which shares one gzip stream). Sizes are
deterministic: the same binary and Debian packages give the same numbers, so one run is
enough.
"""
import gzip
import io
import json
import os
import subprocess
import sys
import tarfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def part_of(name, owners):
    if name == "neo4j-operator":
        return "binary (stripped)"
    if name.startswith("usr/share/zoneinfo/"):
        return "tzdata (/usr/share/zoneinfo)"
    if name.startswith("etc/ssl/"):
        return "CA certificates"
    if name.startswith(("usr/share/doc/", "var/lib/dpkg/")):
        return "copyright + dpkg status"
    if name in owners:
        return "lib: " + owners[name]
    return "other (/etc files, links, dirs)"


def main():
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "image"))
    summary = json.load(open(os.path.join(out, "image.json")))
    layer = summary["layers"][0]["digest"].split(":", 1)[1]
    raw = gzip.decompress(open(os.path.join(summary["ociLayout"], "blobs", "sha256", layer), "rb").read())

    # Which Debian package each shipped library file belongs to.
    owners = {}
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        members = tar.getmembers()
        paths = ["/" + m.name for m in members if m.isfile() and "/lib/" in "/" + m.name and ".so" in m.name]
        asked = {}
        for p in paths:
            asked[p] = p[1:]
            if p.startswith("/usr/lib/"):
                asked[p[len("/usr"):]] = p[1:]
        q = subprocess.run(["dpkg-query", "-S", *asked], capture_output=True, text=True)
        for line in q.stdout.splitlines():
            pkg, _, path = line.partition(": ")
            if path in asked:
                owners[asked[path]] = pkg.split(":", 1)[0]
        parts = {}
        for m in members:
            if not m.isfile():
                continue
            data = tar.extractfile(m).read()
            part = parts.setdefault(part_of(m.name, owners), [0, 0, 0, bytearray()])
            part[0] += 1
            part[1] += len(data)
            part[3] += data
    mib = 1048576
    print(f"image {summary['reference']}  manifest {summary['manifestDigest']}")
    print(f"compressed (layer, as pulled): {summary['compressedBytes']} bytes = "
          f"{summary['compressedBytes'] / mib:.2f} MiB")
    print(f"uncompressed (layer tar):      {summary['uncompressedLayerBytes']} bytes = "
          f"{summary['uncompressedLayerBytes'] / mib:.2f} MiB; files {summary['fileBytes'] / mib:.2f} MiB")
    print(f"entries: {summary['entries']}")
    rows = []
    for name, (n, size, _, data) in parts.items():
        rows.append((len(gzip.compress(bytes(data), 6)), size, n, name))
    rows.sort(reverse=True)
    print(f"\n{'part':44} {'files':>5} {'bytes':>10} {'gzip':>10}")
    for gz, size, n, name in rows:
        print(f"{name:44} {n:5} {size:10} {gz:10}")
    print(f"{'total':44} {sum(r[2] for r in rows):5} {sum(r[1] for r in rows):10} {sum(r[0] for r in rows):10}")


if __name__ == "__main__":
    main()
