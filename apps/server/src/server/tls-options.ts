import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import { EchoPanelError, errorMessage } from '@echopanel/core';

/** PEM contents for Node's HTTPS server. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * Reads `server.tls` (paths relative to the config file's directory) and checks that the key fits the
 * certificate, so a bad setup fails at startup with TLS_UNREADABLE / TLS_INVALID rather than at the first
 * handshake.
 */
export function readTlsMaterial(tls: { readonly certFile: string; readonly keyFile: string }, configDir: string): TlsMaterial {
  const cert = readPem(tls.certFile, configDir, 'certificate', 'server.tls.certFile (ECHOPANEL_TLS_CERT)');
  const key = readPem(tls.keyFile, configDir, 'private key', 'server.tls.keyFile (ECHOPANEL_TLS_KEY)');
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new EchoPanelError(
      'TLS_INVALID',
      `the TLS certificate ${tls.certFile} and key ${tls.keyFile} cannot be used together: ${errorMessage(err)}; both must be PEM files and the key must belong to the certificate`,
      { cause: err, details: { certFile: tls.certFile, keyFile: tls.keyFile } },
    );
  }
  return { cert, key };
}

function readPem(file: string, configDir: string, what: string, setting: string): Buffer {
  const full = path.resolve(configDir, file);
  try {
    return readFileSync(full);
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    const why = errno === 'ENOENT' ? 'no such file' : errno === 'EACCES' ? 'permission denied' : errorMessage(err);
    throw new EchoPanelError('TLS_UNREADABLE', `cannot read the TLS ${what} ${full} (${why}); fix ${setting}`, {
      cause: err,
      details: { file: full, errno },
    });
  }
}
