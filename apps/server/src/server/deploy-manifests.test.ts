import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ENV_OVERRIDES, loadConfig } from '@echopanel/core';
import { parse } from 'yaml';
import { REPO_ROOT } from './__fixtures__/real-engine.js';
import { stopServer, testServer } from './__fixtures__/test-server.js';

// deploy/ (the reference deployment) is documentation that runs: it must name what the server really has.
const DEPLOY = path.join(REPO_ROOT, 'deploy');
const read = (f: string) => readFileSync(path.join(DEPLOY, f), 'utf8');

interface ComposeService {
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  hostname?: string;
}
const compose = parse(read('compose.yaml'), { merge: true }) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
const replicas = Object.entries(compose.services).filter(([name]) => name.startsWith('echopanel-'));
const haproxy = read('haproxy.cfg');
const dockerfile = read('Dockerfile');
const configPath = /"--config", "([^"]+)"/.exec(dockerfile)?.[1];

/** What the environment gives the container: compose's values with `${VAR:?…}` filled as an operator would. */
function containerEnv(service: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v).replace(/\$\{[^}]+\}/g, 'an-operator-key')]));
}

function serverSources(dir: string): string {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.includes('.test.') && !e.parentPath.includes('__fixtures__'))
    .map((e) => readFileSync(path.join(e.parentPath, e.name), 'utf8'))
    .join('\n');
}

it('has two replicas on Redis behind the load balancer', () => {
  expect(replicas.length).toBeGreaterThanOrEqual(2);
  expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['redis', 'lb']));
});

it('every ECHOPANEL_* variable it sets is one the server reads', () => {
  const overrides = new Set(ENV_OVERRIDES.map((o) => o.name));
  const sources = serverSources(path.join(REPO_ROOT, 'apps/server/src')) + serverSources(path.join(REPO_ROOT, 'packages/core/src'));
  for (const [, service] of replicas) {
    for (const name of Object.keys(service.environment ?? {})) {
      expect({ name, known: overrides.has(name) || sources.includes(`'${name}'`) || sources.includes(`.${name}`) }).toEqual({ name, known: true });
    }
  }
});

it("the config file and the replicas' environment load as a valid config, pointing at the mounts and services", async () => {
  expect(configPath).toBeDefined();
  for (const [name, service] of replicas) {
    const mounts = new Map((service.volumes ?? []).map((v) => [v.split(':')[1], v.split(':')[0]]));
    // The config file is mounted where the image's command reads it.
    expect(mounts.get(configPath!)).toBe('./echopanel.config.json');
    const { config } = await loadConfig({ configFile: path.join(DEPLOY, 'echopanel.config.json'), env: containerEnv(service) });
    expect({ name, redis: config.jobs.redisUrl, host: config.server.host }).toEqual({ name, redis: expect.stringMatching(/^redis:\/\/redis:\d+$/), host: '0.0.0.0' });
    // Job audio on a named volume every replica mounts.
    expect(mounts.get(config.jobs.storageDir!)).toBe('jobs');
    expect(Object.keys(compose.volumes)).toContain('jobs');
    // The load balancer reaches each replica on the port it listens on, and the healthcheck asks that port.
    expect(haproxy).toMatch(new RegExp(`^\\s*server ${name} ${name}:${config.server.port} check`, 'm'));
    expect(service.healthcheck?.test.join(' ')).toContain(`127.0.0.1:${config.server.port}/health/ready`);
    // Docker waits long enough for the drain: readiness off first, then streams and jobs finish.
    expect(Number.parseInt(service.stop_grace_period ?? '10s', 10) * 1000).toBeGreaterThan(config.server.drainDelayMs + config.server.shutdownGraceMs);
  }
});

describe('against a real server', () => {
  let server: Awaited<ReturnType<typeof testServer>> | undefined;
  beforeAll(async () => {
    server = await testServer({ server: { apiKey: 'deploy-test-key' } });
  });
  afterAll(() => stopServer(server));

  it('the probed paths exist and answer without the API key (load balancers have none)', async () => {
    const probed = new Set<string>();
    for (const m of haproxy.matchAll(/uri (\/\S*)/g)) probed.add(m[1]);
    for (const [, s] of replicas) for (const m of (s.healthcheck?.test.join(' ') ?? '').matchAll(/:\d+(\/[\w/]+)/g)) probed.add(m[1]);
    expect([...probed]).toEqual(['/health/ready']);
    for (const p of probed) {
      const res = await fetch(`${server!.server.url}${p}`);
      const body = (await res.json()) as { status?: string };
      expect({ p, status: [200, 503].includes(res.status), body: typeof body.status }).toEqual({ p, status: true, body: 'string' });
    }
  });
});
