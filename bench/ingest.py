#!/usr/bin/env python3
"""Ingest benchmark for `tandem run`: acknowledged lead events per second through
POST /api/events batches into SQLite with durable commits.

Usage: python3 bench/ingest.py [--leads 1000] [--batches 200] [--batch 1000] [--workers 4] [--store postgres://…]
Starts target/release/tandem on journeys/ in a temp folder (build it first with
`cargo build --release`), creates the leads, then posts batches from `workers`
threads and reports events/s and per-request latency percentiles. Every event is
counted only once its request got HTTP 200, which the service sends after the
commit (fsync)."""
import argparse, http.client, json, threading, time
from tandem_service import call, create_leads, service

ap = argparse.ArgumentParser()
ap.add_argument("--leads", type=int, default=1000)
ap.add_argument("--batches", type=int, default=200)
ap.add_argument("--batch", type=int, default=1000)
ap.add_argument("--workers", type=int, default=4)
ap.add_argument("--store", help="a PostgreSQL URL (an empty database) instead of SQLite")
a = ap.parse_args()

with service(store=a.store) as (port, hdr):
    def post(conn, path, body):
        t = time.perf_counter(); call(conn, hdr, "POST", path, body)
        return time.perf_counter() - t

    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    create_leads(c, hdr, a.leads, "b")
    kinds = [("page_viewed", {"url": "/blog"}), ("email_opened", {"template": "ebook_delivery"}),
             ("page_viewed", {"url": "/bang-gia"})]
    bodies = []
    for b in range(a.batches):
        items = [{"lead": f"b{(b * a.batch + k) % a.leads}", "event": kinds[k % 3][0], "props": kinds[k % 3][1]}
                 for k in range(a.batch)]
        bodies.append(json.dumps(items))
    lat = []; lock = threading.Lock(); nxt = [0]
    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if nxt[0] >= len(bodies): return
                body = bodies[nxt[0]]; nxt[0] += 1
            d = post(conn, "/api/events", body)
            with lock: lat.append(d)
    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker) for _ in range(a.workers)]
    for t in ts: t.start()
    for t in ts: t.join()
    el = time.perf_counter() - t0
    lat.sort()
    n = a.batches * a.batch
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
    print(f"{n} events in {a.batches} batches of {a.batch} ({a.workers} workers, {a.leads} leads): "
          f"{el:.2f} s, {n / el:,.0f} acknowledged events/s; request latency p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms")
