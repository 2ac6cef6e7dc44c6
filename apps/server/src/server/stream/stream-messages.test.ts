import { type ProtocolError, parseClientMessage } from './stream-messages.js';
import { SessionRegistry } from './session-registry.js';

const code = (text: string) => {
  try {
    parseClientMessage(text);
    return 'ok';
  } catch (e) {
    return (e as ProtocolError).code;
  }
};

describe('stream protocol messages', () => {
  it('fills start defaults and rejects what the protocol does not know', () => {
    expect(parseClientMessage('{"type":"start"}')).toEqual({
      kind: 'start',
      start: { type: 'start', sample_rate: 16000, encoding: 'pcm_s16le', source: 'mic' },
    });
    expect(parseClientMessage('{"type":"stop"}')).toEqual({ kind: 'stop' });
    expect(code('nope')).toBe('INVALID_JSON');
    expect(code('null')).toBe('UNKNOWN_MESSAGE_TYPE');
    expect(code('{"type":"pause"}')).toBe('UNKNOWN_MESSAGE_TYPE');
    expect(code('{"type":"start","sample_rate":12.5}')).toBe('INVALID_MESSAGE');
    expect(code('{"type":"start","source":"../x"}')).toBe('INVALID_MESSAGE');
    expect(code('{"type":"start","extra":1}')).toBe('INVALID_MESSAGE');
  });
});

describe('SessionRegistry', () => {
  it('groups sources by session and bounds concurrent streams', () => {
    const r = new SessionRegistry(2);
    const a = r.join('mic');
    if ('code' in a) throw new Error(a.message);
    expect(r.join('mic', a.session)).toMatchObject({ code: 'SOURCE_IN_USE' });
    const b = r.join('system', a.session);
    expect(b).toEqual({ session: a.session, source: 'system' });
    expect(r.join('mic')).toMatchObject({ code: 'TOO_MANY_SESSIONS' });
    expect(r.sources(a.session).sort()).toEqual(['mic', 'system']);
    r.leave(a);
    r.leave(a);
    expect(r.activeStreams).toBe(1);
    r.leave(b as { session: string; source: string });
    expect(r.activeSessions).toBe(0);
  });
});
