"""Shared by the bench scripts: starts target/release/tandem run on journeys/ in a
temporary folder (fresh store) and gives its port and authorization header. Set
TANDEM_BIN to run another build (an A/B against a copy of an earlier binary)."""
import contextlib, http.client, json, os, shutil, socket, subprocess, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextlib.contextmanager
def service(extra_args=(), store=None, program=None, pid=None, keep=None):
    """`store`: a PostgreSQL URL instead of the default SQLite file in the temp folder;
    `program`: a program folder instead of journeys/; `pid`: a list the process id is
    appended to (to read its memory); `keep`: a folder the SQLite store is copied into
    after the service stops."""
    tandem = os.environ.get("TANDEM_BIN") or os.path.join(ROOT, "target", "release", "tandem")
    work = tempfile.mkdtemp(prefix="tandem-bench-")
    if store:
        with open(os.path.join(work, "service.toml"), "w") as f:
            f.write(f'store = "{store}"\n')
        extra_args = (*extra_args, "--config", os.path.join(work, "service.toml"))
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    proc = subprocess.Popen([tandem, "run", program or os.path.join(ROOT, "journeys"), "--listen", f"127.0.0.1:{port}", *extra_args],
                            cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, TANDEM_LOG="warn"))
    if pid is not None:
        pid.append(proc.pid)
    try:
        for _ in range(600):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5); c.request("GET", "/healthz")
                if c.getresponse().status == 200: break
            except OSError: time.sleep(0.1)
        token = open(os.path.join(work, "tandem.token")).read().strip()
        yield port, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    finally:
        proc.terminate(); proc.wait(timeout=120)
        if keep:
            for name in ("tandem.db", "tandem.db-wal", "tandem.db-shm"):
                if os.path.exists(os.path.join(work, name)):
                    shutil.copy(os.path.join(work, name), keep)
        shutil.rmtree(work, ignore_errors=True)


def call(conn, hdr, method, path, body=None):
    """One request; exits on a non-200 answer. Returns the body."""
    conn.request(method, path, body, hdr); r = conn.getresponse(); data = r.read()
    if r.status != 200: raise SystemExit(f"{path}: {r.status} {data[:200]!r}")
    return data


def create_leads(conn, hdr, n, prefix):
    """Creates n leads `{prefix}{i}` in requests of 1,000."""
    for k in range(0, n, 1000):
        leads = [{"id": f"{prefix}{i}", "fields": {"name": f"Khách {i}", "email": f"{prefix}{i}@cty{i % 97}.vn",
                  "company_size": 10 + i % 3000, "industry": ["saas", "retail", "logistics"][i % 3]}}
                 for i in range(k, min(n, k + 1000))]
        call(conn, hdr, "POST", "/api/leads", json.dumps(leads))
