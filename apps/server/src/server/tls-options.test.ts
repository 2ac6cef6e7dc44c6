import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { readTlsMaterial } from './tls-options.js';
import { selfSignedCert } from './__fixtures__/tls-cert.js';

describe('readTlsMaterial', () => {
  const a = selfSignedCert();
  const b = selfSignedCert();

  it('reads a certificate and its key, relative to the config directory', () => {
    const got = readTlsMaterial({ certFile: 'cert.pem', keyFile: 'key.pem' }, a.dir);
    expect(got.cert.toString()).toContain('BEGIN CERTIFICATE');
    expect(got.key.toString()).toContain('PRIVATE KEY');
  });

  it('a missing file is TLS_UNREADABLE naming the file and the setting', () => {
    expect(() => readTlsMaterial({ certFile: 'nope.pem', keyFile: 'key.pem' }, a.dir)).toThrow(
      expect.objectContaining({ code: 'TLS_UNREADABLE', message: expect.stringMatching(/nope\.pem \(no such file\); fix server\.tls\.certFile \(ECHOPANEL_TLS_CERT\)/) }),
    );
    expect(() => readTlsMaterial({ certFile: a.certFile, keyFile: path.join(a.dir, 'gone.pem') }, '/')).toThrow(
      expect.objectContaining({ code: 'TLS_UNREADABLE', message: expect.stringContaining('ECHOPANEL_TLS_KEY') }),
    );
  });

  it('a key of another certificate, or a file that is not PEM, is TLS_INVALID', () => {
    expect(() => readTlsMaterial({ certFile: a.certFile, keyFile: b.keyFile }, '/')).toThrow(
      expect.objectContaining({ code: 'TLS_INVALID', message: expect.stringContaining('the key must belong to the certificate') }),
    );
    const junk = path.join(a.dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate\n');
    expect(() => readTlsMaterial({ certFile: junk, keyFile: a.keyFile }, '/')).toThrow(expect.objectContaining({ code: 'TLS_INVALID' }));
  });
});
