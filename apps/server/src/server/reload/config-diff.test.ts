import { changedPaths, restartReason } from './config-diff.js';

describe('changedPaths', () => {
  it('lists the changed leaves as dotted paths, arrays compared whole, added and removed keys included', () => {
    const before = { server: { port: 8080, corsOrigins: ['a'] }, asr: { provider: 'faster-whisper' }, providers: { x: { model: 'tiny.en' } } };
    const after = { server: { port: 8080, corsOrigins: ['a', 'b'] }, asr: { provider: 'whisper-cpp', fallback: 'x' }, providers: {} };
    expect(changedPaths(before, after)).toEqual(['asr.fallback', 'asr.provider', 'providers.x', 'server.corsOrigins']);
    expect(changedPaths(before, structuredClone(before))).toEqual([]);
  });
});

describe('restartReason', () => {
  it('names the listener for bind address, port and TLS; other start-time settings say so', () => {
    for (const p of ['server.host', 'server.port', 'server.tls.certFile']) expect(restartReason(p)).toMatch(/listener/);
    expect(restartReason('server.limits.maxSessions')).toMatch(/^read when the server starts/);
    expect(restartReason('server.portal')).not.toMatch(/listener/);
  });
});
