#!/usr/bin/env python3
"""Dashboard benchmark for `tandem run`: the first load and each live update with many
leads in the store.

Usage: python3 bench/dashboard.py [--leads 1000000] [--workers 4] [--journey-every 10]
Starts target/release/tandem on journeys/ in a temp folder (build it first with
`cargo build --release`), creates the leads through POST /api/leads (batches of 1,000;
every tenth lead (or one in --journey-every) also gets a form_submitted event, so journeys, emails and stage
changes exist), then measures on loopback:
  - first load: GET / plus GET /api/dashboard/summary plus one journey diagram
    (GET /api/dashboard/journeys/ebook_nurture.svg), 10 times;
  - live update: POST one event, then the time until the SSE stream announces it, and
    the GET /api/dashboard/summary the page then makes, 20 times.
Also prints the service's resident memory (VmRSS). With --browser, then opens the dashboard
in headless Chromium (bench/live_bytes.mjs: 5 cold loads timed to the funnel's first paint,
then 30 s of live-update bytes while nothing changes)."""
import argparse, http.client, json, os, socket, subprocess, threading, time
from tandem_service import call, service

ap = argparse.ArgumentParser()
ap.add_argument("--leads", type=int, default=1_000_000)
ap.add_argument("--workers", type=int, default=4)
ap.add_argument("--browser", action="store_true", help="also time the page in Chromium (needs npm ci in tests/browser)")
ap.add_argument("--journey-every", type=int, default=10,
                help="one lead in this many submits the ebook form and enters a journey")
a = ap.parse_args()


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


with service() as (port, hdr):
    batches = list(range(0, a.leads, 1000))
    lock = threading.Lock()
    t0 = time.perf_counter()

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        while True:
            with lock:
                if not batches: return
                k = batches.pop()
            leads = [{"id": f"d{i}", "fields": {"name": f"Khách {i}", "email": f"d{i}@cty{i % 97}.vn",
                      "company_size": 10 + i % 3000, "industry": ["saas", "retail", "logistics"][i % 3],
                      "source": ["ebook", "webinar", "ads", "referral"][i % 4]}}
                     for i in range(k, min(a.leads, k + 1000))]
            call(conn, hdr, "POST", "/api/leads", json.dumps(leads))
            events = [{"lead": f"d{i}", "event": "form_submitted",
                       "props": {"form": "ebook_chuyen_doi_so", "page": "/ebook"}}
                      for i in range(k, min(a.leads, k + 1000), a.journey_every)]
            call(conn, hdr, "POST", "/api/events", json.dumps(events))

    ts = [threading.Thread(target=worker) for _ in range(a.workers)]
    for t in ts: t.start()
    for t in ts: t.join()
    load_s = time.perf_counter() - t0
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    summary = json.loads(call(c, hdr, "GET", "/api/dashboard/summary"))
    print(f"{a.leads:,} leads loaded in {load_s:.1f} s; funnel now: {summary['funnel']['current']}")
    first = []
    for _ in range(10):
        t = time.perf_counter()
        call(c, hdr, "GET", "/")
        call(c, hdr, "GET", "/api/dashboard/summary")
        call(c, hdr, "GET", "/api/dashboard/journeys/ebook_nurture.svg")
        first.append(time.perf_counter() - t)
    summary_only = []
    for _ in range(10):
        t = time.perf_counter(); call(c, hdr, "GET", "/api/dashboard/summary"); summary_only.append(time.perf_counter() - t)
    # The live stream: a raw socket reading SSE lines.
    s = socket.create_connection(("127.0.0.1", port))
    token = hdr["Authorization"].split()[1]
    # The token goes in the header: a token in the URL is refused (URLs end up in logs).
    s.sendall(f"GET /api/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    f = s.makefile("rb")
    def next_version():
        while True:
            line = f.readline()
            if not line: raise SystemExit("the stream ended")
            if line.startswith(b"data: "): return json.loads(line[6:])["version"]
    next_version()
    notify, update = [], []
    for i in range(20):
        t = time.perf_counter()
        call(c, hdr, "POST", "/api/events", json.dumps({"lead": f"d{i}", "event": "page_viewed", "props": {"url": "/bang-gia"}}))
        acked = time.perf_counter()
        next_version()
        seen = time.perf_counter()
        call(c, hdr, "GET", "/api/dashboard/summary")
        done = time.perf_counter()
        notify.append(seen - acked); update.append(done - acked)
        time.sleep(0.2)
    rss = 0
    import subprocess
    pid = subprocess.run(["pgrep", "-f", f"127.0.0.1:{port}"], capture_output=True, text=True).stdout.split()
    if pid:
        for line in open(f"/proc/{pid[0]}/status"):
            if line.startswith("VmRSS:"): rss = int(line.split()[1]) // 1024
    print(f"first load (page + summary + one diagram): p50 {pct(first, 0.5):.1f} ms, max {max(first) * 1000:.1f} ms; "
          f"summary alone p50 {pct(summary_only, 0.5):.1f} ms")
    print(f"live update after an event is acknowledged: stream notice p50 {pct(notify, 0.5):.1f} ms, max {max(notify) * 1000:.1f} ms; "
          f"notice + summary p50 {pct(update, 0.5):.1f} ms, max {max(update) * 1000:.1f} ms; service RSS {rss:,} MiB")
    if a.browser:
        here = os.path.dirname(os.path.abspath(__file__))
        subprocess.run(["node", os.path.join(here, "live_bytes.mjs"), "--url", f"http://127.0.0.1:{port}",
                        "--token", token, "--loads", "5", "--warmup", "2", "--seconds", "30"], check=True)
