#!/usr/bin/env python3
"""Cluster benchmark for `tandem run` workers sharing one PostgreSQL database
(`[cluster]` in the config): events/s with 1 and with 2 workers, and failover time.

Usage:
  python3 bench/cluster.py throughput [--workers 1,2] [--leads 1000] [--batches 200] [--batch 1000] [--clients 4]
  python3 bench/cluster.py failover [--leads 1000] [--ttl-ms 2000]

Needs target/release/tandem (`cargo build --release`) and `psql`; each run makes a fresh
database on 127.0.0.1:5432 (user postgres), `synchronous_commit = on` (the default).

throughput: starts N workers on journeys/, creates the leads, then posts batches of
lead events from `clients` threads to the workers in turn. Reports acknowledged events/s
(HTTP 200: the batch is durably queued in the inbox) and applied events/s (every event
in the partitions' input logs, the inbox empty: the engines have committed them),
both measured from the first post.

failover: starts 2 workers, creates the leads, SIGKILLs one, posts at once one event
for a lead in each partition the killed worker held, and reports the time from the
kill until the other worker has taken those partitions over, rebuilt them and applied
the events (their inbox rows gone)."""
import argparse, http.client, json, os, shutil, signal, socket, subprocess, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TANDEM = os.environ.get("TANDEM_BIN") or os.path.join(ROOT, "target", "release", "tandem")
ADMIN = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qtA"]


def sql(db, q):
    return subprocess.run([*ADMIN, "-d", db, "-c", q], check=True, capture_output=True, text=True).stdout.strip()


def fnv_partition(lead, partitions):
    h = 0xcbf29ce484222325
    for b in lead.encode():
        h ^= b; h = (h * 0x100000001b3) % (1 << 64)
    return h % partitions


class Cluster:
    def __init__(self, n, partitions, ttl_ms):
        self.db = f"tandem_bench_{os.getpid()}"
        sql("test", f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)")
        sql("test", f"CREATE DATABASE {self.db}")
        self.url = f"postgres://postgres@127.0.0.1:5432/{self.db}"
        self.partitions = partitions; self.ttl_ms = ttl_ms
        self.procs = []; self.ports = []; self.dirs = []
        for i in range(n):
            self.start(f"w{i}")
        deadline = time.time() + 60
        while int(sql(self.db, "SELECT COUNT(DISTINCT owner) FROM tandem_cluster.leases WHERE expires_at > now()") or 0) < n:
            if time.time() > deadline: raise SystemExit("the workers did not share the partitions")
            time.sleep(0.2)
        # The leases are shared; give the engines a moment to rebuild and serve.
        time.sleep(1)
        token = sql(self.db, "SELECT value FROM tandem_cluster.secrets WHERE name = 'admin_token'")
        self.hdr = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def start(self, name):
        work = tempfile.mkdtemp(prefix=f"tandem-cluster-{name}-")
        s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
        with open(os.path.join(work, "service.toml"), "w") as f:
            f.write(f'listen = "127.0.0.1:{port}"\nstore = "{self.url}"\n'
                    f'[cluster]\npartitions = {self.partitions}\nlease_ttl_ms = {self.ttl_ms}\nworker = "{name}"\n')
        p = subprocess.Popen([TANDEM, "run", os.path.join(ROOT, "journeys"), "--config", os.path.join(work, "service.toml")],
                             cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, TANDEM_LOG="warn"))
        for _ in range(600):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5); c.request("GET", "/healthz")
                if c.getresponse().status == 200: break
            except OSError: time.sleep(0.1)
        self.procs.append(p); self.ports.append(port); self.dirs.append(work)

    def post(self, conn, path, body):
        conn.request("POST", path, body, self.hdr); r = conn.getresponse(); data = r.read()
        if r.status != 200: raise SystemExit(f"{path}: {r.status} {data[:200]!r}")

    def applied(self):
        q = " + ".join(f"(SELECT COUNT(*) FROM tandem_p{p}.inputs)" for p in range(self.partitions))
        return int(sql(self.db, f"SELECT {q}"))

    def waiting(self, partitions=None):
        where = f" WHERE partition IN ({','.join(map(str, partitions))})" if partitions else ""
        return int(sql(self.db, f"SELECT COUNT(*) FROM tandem_cluster.inbox{where}"))

    def close(self):
        for p in self.procs:
            if p.poll() is None: p.terminate()
        for p in self.procs:
            try: p.wait(timeout=60)
            except subprocess.TimeoutExpired: p.kill()
        for d in self.dirs: shutil.rmtree(d, ignore_errors=True)
        sql("test", f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)")


def create_leads(cl, n):
    c = http.client.HTTPConnection("127.0.0.1", cl.ports[0], timeout=120)
    for k in range(0, n, 1000):
        leads = [{"id": f"b{i}", "fields": {"name": f"Khách {i}", "email": f"b{i}@cty{i % 97}.vn",
                  "company_size": 10 + i % 3000, "industry": ["saas", "retail", "logistics"][i % 3]}}
                 for i in range(k, min(n, k + 1000))]
        cl.post(c, "/api/leads", json.dumps(leads))
    while cl.waiting() > 0: time.sleep(0.05)


def throughput(a):
    for n in [int(x) for x in a.workers.split(",")]:
        cl = Cluster(n, a.partitions, a.ttl_ms)
        try:
            create_leads(cl, a.leads)
            base = cl.applied()
            kinds = [("page_viewed", {"url": "/blog"}), ("email_opened", {"template": "ebook_delivery"}),
                     ("page_viewed", {"url": "/bang-gia"})]
            bodies = [json.dumps([{"lead": f"b{(b * a.batch + k) % a.leads}", "event": kinds[k % 3][0], "props": kinds[k % 3][1]}
                                  for k in range(a.batch)]) for b in range(a.batches)]
            lock = threading.Lock(); nxt = [0]
            def client(i):
                conns = [http.client.HTTPConnection("127.0.0.1", p, timeout=120) for p in cl.ports]
                while True:
                    with lock:
                        if nxt[0] >= len(bodies): return
                        k = nxt[0]; nxt[0] += 1
                    cl.post(conns[k % len(conns)], "/api/events", bodies[k])
            t0 = time.perf_counter()
            ts = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)]
            for t in ts: t.start()
            for t in ts: t.join()
            acked = time.perf_counter() - t0
            total = a.batches * a.batch
            while cl.waiting() > 0 or cl.applied() - base < total: time.sleep(0.02)
            applied = time.perf_counter() - t0
            got = cl.applied() - base
            print(f"{n} worker(s), {a.partitions} partitions: {total} events in {a.batches} batches of {a.batch} "
                  f"({a.clients} clients, {a.leads} leads): acknowledged in {acked:.2f} s ({total / acked:,.0f} ev/s), "
                  f"applied in {applied:.2f} s ({total / applied:,.0f} ev/s); {got} inputs logged", flush=True)
        finally:
            cl.close()


def failover(a):
    cl = Cluster(2, a.partitions, a.ttl_ms)
    try:
        create_leads(cl, a.leads)
        victim = sql(cl.db, "SELECT string_agg(partition::text, ',') FROM tandem_cluster.leases WHERE owner = 'w1'")
        gone = [int(p) for p in victim.split(",")]
        probes = {}
        for i in range(a.leads):
            p = fnv_partition(f"b{i}", a.partitions)
            if p in gone and p not in probes: probes[p] = f"b{i}"
        body = json.dumps([{"lead": l, "event": "page_viewed", "props": {"url": "/failover"}} for l in probes.values()])
        c = http.client.HTTPConnection("127.0.0.1", cl.ports[0], timeout=120)
        t0 = time.perf_counter()
        cl.procs[1].send_signal(signal.SIGKILL); cl.procs[1].wait()
        cl.post(c, "/api/events", body)
        while cl.waiting(gone) > 0: time.sleep(0.02)
        el = time.perf_counter() - t0
        print(f"failover: lease TTL {a.ttl_ms} ms, {a.leads} leads: the {len(gone)} partitions of the killed worker "
              f"served again (probe events applied) {el:.2f} s after SIGKILL", flush=True)
    finally:
        cl.close()


ap = argparse.ArgumentParser()
ap.add_argument("mode", choices=["throughput", "failover"])
ap.add_argument("--workers", default="1,2")
ap.add_argument("--leads", type=int, default=1000)
ap.add_argument("--batches", type=int, default=200)
ap.add_argument("--batch", type=int, default=1000)
ap.add_argument("--clients", type=int, default=4)
ap.add_argument("--partitions", type=int, default=16)
ap.add_argument("--ttl-ms", type=int, default=2000)
a = ap.parse_args()
throughput(a) if a.mode == "throughput" else failover(a)
