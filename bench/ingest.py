#!/usr/bin/env python3
"""Ingest benchmark for `tandem run`: acknowledged lead events per second through
POST /api/events batches into SQLite with durable commits.

Usage: python3 bench/ingest.py [--leads 1000] [--batches 200] [--batch 1000] [--workers 4]
Starts target/release/tandem on journeys/ in a temp folder (build it first with
`cargo build --release`), creates the leads, then posts batches from `workers`
threads and reports events/s and per-request latency percentiles. Every event is
counted only once its request got HTTP 200, which the service sends after the
commit (fsync)."""
import argparse, http.client, json, os, shutil, socket, subprocess, tempfile, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--leads", type=int, default=1000)
ap.add_argument("--batches", type=int, default=200)
ap.add_argument("--batch", type=int, default=1000)
ap.add_argument("--workers", type=int, default=4)
a = ap.parse_args()

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tandem = os.path.join(root, "target", "release", "tandem")
work = tempfile.mkdtemp(prefix="tandem-bench-")
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
proc = subprocess.Popen([tandem, "run", os.path.join(root, "journeys"), "--listen", f"127.0.0.1:{port}"],
                        cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        env=dict(os.environ, TANDEM_LOG="warn"))
try:
    for _ in range(600):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5); c.request("GET", "/healthz")
            if c.getresponse().status == 200: break
        except OSError: time.sleep(0.1)
    token = open(os.path.join(work, "tandem.token")).read().strip()
    hdr = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(conn, path, body):
        t = time.perf_counter(); conn.request("POST", path, body, hdr); r = conn.getresponse(); data = r.read()
        if r.status != 200: raise SystemExit(f"{path}: {r.status} {data[:200]!r}")
        return time.perf_counter() - t

    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    leads = [{"id": f"b{i}", "fields": {"name": f"Khách {i}", "email": f"b{i}@cty{i % 97}.vn",
              "company_size": 10 + i % 3000, "industry": ["saas", "retail", "logistics"][i % 3]}} for i in range(a.leads)]
    for k in range(0, a.leads, 1000): post(c, "/api/leads", json.dumps(leads[k:k + 1000]))
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
finally:
    proc.terminate(); proc.wait(timeout=10); shutil.rmtree(work, ignore_errors=True)
