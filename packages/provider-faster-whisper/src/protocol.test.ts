import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { encodeFrame, LineSplitter, parseMessage } from './protocol.js';
import { WORKER_SCRIPT_PATH } from './worker-script.js';

describe('worker protocol (host side)', () => {
  it('frames a request as uint32 LE header length + JSON header + s16le payload', () => {
    const pcm = Int16Array.from([1, -2, 32767, -32768]);
    const frame = encodeFrame({ op: 'transcribe', id: 7, beamSize: 5 }, pcm.subarray(1));
    const headerLen = frame.readUInt32LE(0);
    const header = JSON.parse(frame.subarray(4, 4 + headerLen).toString('utf8'));
    expect(header).toEqual({ op: 'transcribe', id: 7, beamSize: 5, bytes: 6, format: 's16le' });
    const payload = frame.subarray(4 + headerLen);
    expect(payload.byteLength).toBe(6);
    expect([payload.readInt16LE(0), payload.readInt16LE(2), payload.readInt16LE(4)]).toEqual([-2, 32767, -32768]);
  });

  it('frames a control message without payload', () => {
    const frame = encodeFrame({ op: 'shutdown', id: 1 });
    expect(JSON.parse(frame.subarray(4).toString())).toEqual({ op: 'shutdown', id: 1, bytes: 0 });
    expect(frame.readUInt32LE(0)).toBe(frame.byteLength - 4);
  });

  it('splits lines across chunks, including a UTF-8 character cut in half', () => {
    const s = new LineSplitter();
    const bytes = Buffer.from('{"text":"café"}\n{"a":1}\n{"b"', 'utf8');
    const cut = bytes.indexOf(0xc3) + 1; // inside "é"
    expect(s.push(bytes.subarray(0, cut))).toEqual([]);
    expect(s.push(bytes.subarray(cut))).toEqual(['{"text":"café"}', '{"a":1}']);
    expect(s.push(Buffer.from(':2}\n'))).toEqual(['{"b":2}']);
    expect(s.push(Buffer.from('tail'))).toEqual([]);
    expect(s.flush()).toBe('tail');
  });

  it('parses protocol messages and ignores anything else', () => {
    expect(parseMessage('{"type":"pong","id":3}')).toEqual({ type: 'pong', id: 3 });
    expect(parseMessage('  {"type":"bye","id":1}  ')).toEqual({ type: 'bye', id: 1 });
    expect(parseMessage('Loading model...')).toBeUndefined();
    expect(parseMessage('{"no":"type"}')).toBeUndefined();
    expect(parseMessage('{broken')).toBeUndefined();
  });

  it('finds the worker script shipped in the package next to the module', () => {
    expect(existsSync(WORKER_SCRIPT_PATH)).toBe(true);
    const pkgDir = path.dirname(path.dirname(WORKER_SCRIPT_PATH));
    const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain(path.relative(pkgDir, WORKER_SCRIPT_PATH));
  });
});
