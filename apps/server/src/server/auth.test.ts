import { assertSafeBind, isLoopbackHost } from './auth.js';

describe('bind safety', () => {
  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect([h, isLoopbackHost(h)]).toEqual([h, true]);
    for (const h of ['0.0.0.0', '::', '192.168.1.5', 'example.com', '128.0.0.1']) expect([h, isLoopbackHost(h)]).toEqual([h, false]);
  });

  it('refuses a public bind without a key', () => {
    expect(() => assertSafeBind('0.0.0.0', undefined)).toThrow(/API key/);
    expect(() => assertSafeBind('0.0.0.0', 'k')).not.toThrow();
    expect(() => assertSafeBind('127.0.0.1', undefined)).not.toThrow();
  });
});
