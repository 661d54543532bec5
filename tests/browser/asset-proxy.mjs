// Serves service/assets/ from disk and forwards every other request (API, SSE) to a running
// tandem service. Used by test.mjs when TANDEM_ASSETS=disk, so the UI can be tried against
// the real API without rebuilding the binary (which embeds the assets at compile time).
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ASSETS = resolve(dirname(fileURLToPath(import.meta.url)), '../../service/assets');
const FILES = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/app.css': ['app.css', 'text/css; charset=utf-8'],
  '/vendor/uplot.js': ['vendor/uplot/uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
  '/vendor/uplot.css': ['vendor/uplot/uPlot.min.css', 'text/css; charset=utf-8'],
};

export function startAssetProxy(target) {
  const up = new URL(target);
  const server = http.createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const file = req.method === 'GET' && FILES[path];
    if (file) {
      const body = await readFile(join(ASSETS, file[0]));
      res.writeHead(200, { 'Content-Type': file[1], 'Cache-Control': 'no-cache' });
      res.end(body);
      return;
    }
    const fwd = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    fwd.on('error', () => { if (!res.headersSent) res.writeHead(502); res.end(); });
    req.pipe(fwd);
    res.on('close', () => fwd.destroy());
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({
    base: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }),
  })));
}
