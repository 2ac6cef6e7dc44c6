import { existsSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { installApiKey } from '../auth.js';
import { PANEL_DIR, panelRoute } from './panel-route.js';

// The routes alone (no engine): what is public with an API key, the headers, and an unbuilt panel.
describe('panelRoute', () => {
  /** Listens on a loopback port; returns a GET for paths on it. */
  async function serve(app: FastifyInstance): Promise<(p: string) => Promise<Response>> {
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    return (p) => fetch(url + p);
  }

  /** The status of a GET whose path is sent byte for byte. */
  function rawStatus(app: FastifyInstance, p: string): Promise<number> {
    const { port } = app.server.address() as AddressInfo;
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
  }

  beforeAll(() => {
    if (!existsSync(path.join(PANEL_DIR, 'index.html'))) throw new Error(`the panel is not built (${PANEL_DIR}): npm run build -w @echopanel/server`);
  });

  test('serves the page at / and its files under /panel/ without the API key; the API still wants it', async () => {
    const app = Fastify();
    installApiKey(app, 'secret');
    await panelRoute(app);
    app.get('/health', async () => ({ status: 'ok' }));
    const get = await serve(app);
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(await page.text()).toContain('src="panel/panel.js"');
    for (const file of ['panel.js', 'capture-worklet.js', 'panel.css']) {
      const res = await get(`/panel/${file}`);
      expect([file, res.status]).toEqual([file, 200]);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect((await get('/health')).status).toBe(401);
    // Only the files built are served: anything else under /panel/ is a 404 (and needs the key like any route).
    expect((await get('/panel/nope.js')).status).toBe(404);
    // Dot segments sent as they are (a browser would resolve them) do not reach the API without the key.
    for (const raw of ['/panel/../health', '/panel/..%2fhealth', '/panel/%2e%2e/health']) expect([raw, await rawStatus(app, raw)]).toEqual([raw, 401]);
    await app.close();
  });

  test('an unbuilt panel answers 404 PANEL_NOT_BUILT saying how to build it', async () => {
    const app = Fastify();
    await panelRoute(app, path.join(PANEL_DIR, 'missing'));
    const res = await (await serve(app))('/');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'PANEL_NOT_BUILT', message: expect.stringContaining('npm run build') } });
    await app.close();
  });
});
