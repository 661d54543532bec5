#!/usr/bin/env python3
"""Latency benchmark for `tandem run`: from an event arriving to its email being
enqueued, at a steady offered load (default 5,000 events/s).

Usage: python3 bench/latency.py [--rate 5000] [--seconds 20] [--batch 10] [--workers 4] [--no-quiet-hours]
Starts target/release/tandem on journeys/ in a temp folder (build it first with
`cargo build --release`), creates one fresh lead per event, then sends
`form_submitted` (the ebook form) events at the given rate, `batch` events per request,
on a fixed open-loop schedule. Each event enters the ebook journey, whose first step
sends `ebook_delivery`: the service enqueues that email in the outbox in the same
transaction that stores the event, and answers HTTP 200 only after that commit. So the
time from a request's scheduled send instant to its answer bounds the event → email
enqueued latency of every event in it (queueing delay included: a late send counts
from when it should have gone). Run it outside the program's quiet hours
(21:00-08:00 Asia/Ho_Chi_Minh), or the emails are deferred instead of enqueued, or
pass --no-quiet-hours to run a copy of journeys/ whose `sending` block has none."""
import argparse, http.client, json, os, shutil, tempfile, threading, time
from tandem_service import ROOT, call, create_leads, service

ap = argparse.ArgumentParser()
ap.add_argument("--rate", type=int, default=5000)
ap.add_argument("--seconds", type=float, default=20)
ap.add_argument("--batch", type=int, default=10)
ap.add_argument("--workers", type=int, default=4)
ap.add_argument("--no-quiet-hours", action="store_true",
                help="run a copy of journeys/ without the sending block's quiet hours")
a = ap.parse_args()

program = None
if a.no_quiet_hours:
    program = os.path.join(tempfile.mkdtemp(prefix="tandem-latency-"), "journeys")
    shutil.copytree(os.path.join(ROOT, "journeys"), program)
    path = os.path.join(program, "sending.journey")
    lines = open(path, encoding="utf-8").read().splitlines(keepends=True)
    kept = [l for l in lines if not l.strip().startswith("quiet hours")]
    if len(kept) == len(lines): raise SystemExit("journeys/sending.journey has no quiet hours line")
    open(path, "w", encoding="utf-8").writelines(kept)

n = int(a.rate * a.seconds)
with service(program=program) as (port, hdr):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    create_leads(c, hdr, n, "l")
    mails_before = 0
    for line in call(c, hdr, "GET", "/api/metrics").decode().splitlines():
        if line.startswith("tandem_mail_enqueued "): mails_before = float(line.split()[1])
    requests = n // a.batch
    bodies = [json.dumps([{"lead": f"l{r * a.batch + k}", "event": "form_submitted",
                           "props": {"form": "ebook_chuyen_doi_so", "page": "/ebook"}} for k in range(a.batch)])
              for r in range(requests)]
    interval = a.batch / a.rate
    lat = []; lock = threading.Lock()
    t0 = time.perf_counter() + 0.5
    def worker(w):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for r in range(w, requests, a.workers):
            due = t0 + r * interval
            wait = due - time.perf_counter()
            if wait > 0: time.sleep(wait)
            call(conn, hdr, "POST", "/api/events", bodies[r])
            done = time.perf_counter()
            with lock: lat.append(done - due)
    ts = [threading.Thread(target=worker, args=(w,)) for w in range(a.workers)]
    for t in ts: t.start()
    for t in ts: t.join()
    el = time.perf_counter() - t0
    mails = 0
    for line in call(c, hdr, "GET", "/api/metrics").decode().splitlines():
        if line.startswith("tandem_mail_enqueued "): mails = float(line.split()[1])
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
    print(f"offered {a.rate:,} events/s for {a.seconds:g} s ({requests} requests of {a.batch}, {a.workers} workers): "
          f"achieved {n / el:,.0f} events/s; emails enqueued {mails - mails_before:,.0f} of {n:,}; "
          f"event -> email enqueued (acknowledged) latency p50 {p(0.5):.1f} ms, p90 {p(0.9):.1f} ms, "
          f"p99 {p(0.99):.1f} ms, max {lat[-1] * 1000:.1f} ms")
