#!/usr/bin/env python3
"""Start-time benchmark for `tandem run`: how long a start takes on a big store, from the
newest snapshot and from the whole input log (snapshots off), measured as a user sees it:
from spawning the process until GET /healthz answers 200 (the service answers only once
the world is rebuilt), with the process's peak RSS (/proc/PID/status VmHWM) at that point.

Usage: python3 bench/start.py [--leads 1000000] [--events 9000000] [--dir DIR] [--runs 3]

Builds the store first (skipped when DIR already holds one from an earlier run with the
same sizes): target/release/tandem run on journeys/ in DIR, the leads (no email
address, so nothing is mailed) then the events (page views, ebook form submissions that
enter the nurture journey, email opens) in requests of 1,000 from 4 threads, then a clean
stop (SIGTERM), which writes the final snapshot. Then `--runs` starts of each kind, each
stopped with SIGKILL so no new snapshot is written; the world is checked to hold every
lead after each start. Build with `cargo build --release` first."""
import argparse, http.client, json, os, re, signal, socket, subprocess, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tandem_service import ROOT, call

ap = argparse.ArgumentParser()
ap.add_argument("--leads", type=int, default=1_000_000)
ap.add_argument("--events", type=int, default=9_000_000)
ap.add_argument("--dir", default="/tmp/tandem-bench-start")
ap.add_argument("--runs", type=int, default=3)
a = ap.parse_args()
TANDEM = os.path.join(ROOT, "target", "release", "tandem")
os.makedirs(a.dir, exist_ok=True)


def port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def spawn(snapshots):
    p = port()
    cfg = os.path.join(a.dir, f"service-{p}.toml")
    with open(cfg, "w") as f:
        f.write(f'listen = "127.0.0.1:{p}"\nstore = "tandem.db"\n\n[snapshots]\nenabled = {str(snapshots).lower()}\n')
    t0 = time.perf_counter()
    proc = subprocess.Popen([TANDEM, "run", os.path.join(ROOT, "journeys"), "--config", cfg], cwd=a.dir,
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(a.dir, "service.log"), "a"),
                            env=dict(os.environ, TANDEM_LOG="info"))
    while True:
        if proc.poll() is not None: raise SystemExit(f"tandem run exited with {proc.returncode}; see {a.dir}/service.log")
        try:
            c = http.client.HTTPConnection("127.0.0.1", p, timeout=5); c.request("GET", "/healthz")
            if c.getresponse().status == 200: break
        except OSError: time.sleep(0.02)
    took = time.perf_counter() - t0
    os.remove(cfg)
    token = open(os.path.join(a.dir, "tandem.token")).read().strip()
    return proc, p, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, took


def metric(p, hdr, name):
    c = http.client.HTTPConnection("127.0.0.1", p, timeout=60)
    for line in call(c, hdr, "GET", "/api/metrics").decode().splitlines():
        if line.startswith(name + " "): return float(line.split()[1])
    return None


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"): return int(line.split()[1]) / 1024
    return 0.0


marker = os.path.join(a.dir, "built")
want = f"{a.leads} {a.events}"
if not (os.path.exists(marker) and open(marker).read() == want):
    for f in ("tandem.db", "tandem.db-wal", "tandem.db-shm", "built"):
        if os.path.exists(os.path.join(a.dir, f)): os.remove(os.path.join(a.dir, f))
    proc, p, hdr, _ = spawn(True)
    t0 = time.perf_counter()
    bodies = []
    for k in range(0, a.leads, 1000):
        bodies.append(("/api/leads", json.dumps([{"id": f"k{i}", "fields": {
            "name": f"Khách {i}", "company_size": 10 + i % 3000, "industry": ["saas", "retail", "logistics"][i % 3]}}
            for i in range(k, min(a.leads, k + 1000))])))
    kinds = [("page_viewed", {"url": "/bang-gia"}), ("form_submitted", {"form": "ebook_chuyen_doi_so"}),
             ("email_opened", {"template": "ebook_delivery"}), ("page_viewed", {"url": "/blog"})]
    lock = threading.Lock(); nxt = [0]; done = [0]

    def events_body(b):
        return ("/api/events", json.dumps([{"lead": f"k{(b * 1000 + j) * 7919 % a.leads}", "event": kinds[j % 4][0],
                                             "props": kinds[j % 4][1]} for j in range(min(1000, a.events - b * 1000))]))

    def worker(items):
        conn = http.client.HTTPConnection("127.0.0.1", p, timeout=300)
        while True:
            with lock:
                if nxt[0] >= len(items): return
                i = nxt[0]; nxt[0] += 1
            path, body = items[i] if isinstance(items[i], tuple) else events_body(items[i])
            call(conn, hdr, "POST", path, body)
            with lock:
                done[0] += 1
                if done[0] % 500 == 0:
                    print(f"  {done[0]} requests, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    for items in (bodies, list(range((a.events + 999) // 1000))):
        nxt[0] = 0
        ts = [threading.Thread(target=worker, args=(items,)) for _ in range(4)]
        for t in ts: t.start()
        for t in ts: t.join()
    built = time.perf_counter() - t0
    t1 = time.perf_counter(); proc.send_signal(signal.SIGTERM); proc.wait(timeout=1800)
    print(f"store built: {a.leads:,} leads, {a.leads + a.events:,} inputs in {built:.0f} s; "
          f"clean stop (final snapshot) {time.perf_counter() - t1:.1f} s; "
          f"tandem.db {os.path.getsize(os.path.join(a.dir, 'tandem.db')) / 2**30:.2f} GiB")
    open(marker, "w").write(want)

for snapshots in (True, False):
    for r in range(a.runs):
        proc, p, hdr, took = spawn(snapshots)
        leads = metric(p, hdr, "tandem_leads")
        pos = metric(p, hdr, "tandem_start_snapshot_position")
        replayed = metric(p, hdr, "tandem_start_replayed_inputs")
        rss = rss_mib(proc.pid)
        proc.send_signal(signal.SIGKILL); proc.wait()
        assert leads == a.leads, f"{leads} leads after the start"
        print(f"start with snapshots {'on ' if snapshots else 'off'}: {took:6.2f} s to serving, peak RSS {rss:,.0f} MiB "
              f"(from snapshot at {pos:,.0f}, {replayed:,.0f} inputs replayed)")

# What a snapshot costs the engine at this size: one more input, then a clean stop, whose
# final snapshot the log times ("snapshot taken" is the engine's pause; "snapshot
# written" the writer thread's work, which the engine does not wait for while serving).
proc, p, hdr, _ = spawn(True)
c = http.client.HTTPConnection("127.0.0.1", p, timeout=60)
call(c, hdr, "POST", "/api/events", json.dumps({"lead": "k1", "event": "page_viewed", "props": {"url": "/blog"}}))
log = os.path.join(a.dir, "service.log")
before = os.path.getsize(log)
t0 = time.perf_counter(); proc.send_signal(signal.SIGTERM); proc.wait(timeout=600)
stop = time.perf_counter() - t0
with open(log, errors="replace") as f:
    f.seek(before); tail = f.read()
plain = re.sub(r"\x1b\[[0-9;]*m", "", tail)
took = re.search(r"snapshot taken.*?position=(\d+) ms=(\d+)", plain)
wrote = re.search(r"snapshot written.*?bytes=(\d+) ms=(\d+)", plain)
print(f"clean stop after one input: {stop:.2f} s; engine paused {took.group(2) if took else '?'} ms to take the snapshot, "
      f"writer {wrote.group(2) if wrote else '?'} ms to store {int(wrote.group(1)) / 2**20 if wrote else 0:,.0f} MiB")
