#!/usr/bin/env python3
"""Memory across program reloads: starts `tandem run` on journeys/, deploys a new
version with `POST /api/program` N times (alternating the folder's program and the same
program with one more event, so every deploy compiles and installs a new version), and
prints the process's resident memory (VmRSS) at the start and after every 50 deploys.
Whole-process figures; a program that is freed when replaced keeps the RSS flat.

Usage: python3 bench/reloads.py [--reloads 200]   (TANDEM_BIN: the binary to measure)"""
import argparse, http.client, json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tandem_service import ROOT, call, service


def folder_files():
    files = {}
    base = os.path.join(ROOT, "journeys")
    for dirpath, _, names in os.walk(base):
        for n in names:
            path = os.path.join(dirpath, n)
            rel = os.path.relpath(path, base)
            template = rel.startswith("templates" + os.sep) and rel.endswith((".md", ".html"))
            if rel.endswith(".journey") or template or rel == "tandem.toml":
                files[rel] = open(path, encoding="utf-8").read()
    return files


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reloads", type=int, default=200)
    a = ap.parse_args()
    base = folder_files()
    journey = next(k for k in base if k.endswith(".journey"))
    other = dict(base)
    other[journey] = base[journey] + "\nevent bench_reload { k: number }\n"
    pid = []
    with service(pid=pid) as (port, hdr):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        print(f"reloads 0: VmRSS {rss_kib(pid[0])} KiB")
        for i in range(1, a.reloads + 1):
            files = other if i % 2 else base
            call(conn, hdr, "POST", "/api/program", json.dumps({"files": files}))
            if i % 50 == 0:
                print(f"reloads {i}: VmRSS {rss_kib(pid[0])} KiB", flush=True)


if __name__ == "__main__":
    main()
