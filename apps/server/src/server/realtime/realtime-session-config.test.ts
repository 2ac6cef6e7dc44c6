import { parseClientEvent, type RealtimeRequestError } from './realtime-events.js';
import { DEFAULT_SESSION_CONFIG, applyBetaSession, applyGaSession, betaSessionObject, gaSessionObject } from './realtime-session-config.js';

function ga(session: Record<string, unknown>) {
  const e = parseClientEvent(JSON.stringify({ type: 'session.update', session: { type: 'transcription', ...session } }));
  if (e.type !== 'session.update') throw new Error(e.type);
  return e.session;
}

function beta(session: Record<string, unknown>) {
  const e = parseClientEvent(JSON.stringify({ type: 'transcription_session.update', session }));
  if (e.type !== 'transcription_session.update') throw new Error(e.type);
  return e.session;
}

describe('realtime session settings', () => {
  it('GA: formats (G.711 at 8 kHz, pcm at any rate), turn detection defaults, absent fields kept', () => {
    let c = applyGaSession(DEFAULT_SESSION_CONFIG, ga({ audio: { input: { format: { type: 'audio/pcmu' }, transcription: { model: 'whisper-1', language: 'en', prompt: 'EchoPanel' } } } }));
    expect(c.format).toEqual({ type: 'audio/pcmu', rate: 8000 });
    expect(c.transcription).toEqual({ model: 'whisper-1', language: 'en', prompt: 'EchoPanel' });
    expect(c.turnDetection).toEqual({ type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500, idle_timeout_ms: null });
    c = applyGaSession(c, ga({ audio: { input: { format: { type: 'audio/pcm', rate: 16000 }, turn_detection: { type: 'semantic_vad', eagerness: 'low' } } } }));
    expect(c.format).toEqual({ type: 'audio/pcm', rate: 16000 });
    expect(c.transcription.language).toBe('en');
    expect(c.turnDetection).toMatchObject({ type: 'semantic_vad', silence_duration_ms: 500 });
    c = applyGaSession(c, ga({ audio: { input: { turn_detection: null, noise_reduction: { type: 'far_field' } } }, include: ['item.input_audio_transcription.logprobs'] }));
    expect(c.turnDetection).toBeNull();
    expect(gaSessionObject('s1', c)).toMatchObject({
      type: 'transcription',
      id: 's1',
      audio: { input: { format: { type: 'audio/pcm', rate: 16000 }, turn_detection: null, noise_reduction: { type: 'far_field' } } },
      include: ['item.input_audio_transcription.logprobs'],
    });
  });

  it('beta: flat fields, g711 names, the same settings underneath', () => {
    const c = applyBetaSession(DEFAULT_SESSION_CONFIG, beta({ input_audio_format: 'g711_alaw', input_audio_transcription: { model: 'gpt-4o-transcribe' }, turn_detection: { type: 'server_vad', silence_duration_ms: 800 } }));
    expect(c.format).toEqual({ type: 'audio/pcma', rate: 8000 });
    expect(c.turnDetection).toMatchObject({ silence_duration_ms: 800, threshold: 0.5 });
    expect(betaSessionObject('s2', c)).toMatchObject({ id: 's2', input_audio_format: 'g711_alaw', input_audio_transcription: { model: 'gpt-4o-transcribe' } });
  });

  it('refuses what it cannot honour with the parameter named', () => {
    const error = (text: string) => {
      try {
        parseClientEvent(text);
      } catch (err) {
        return (err as RealtimeRequestError).body();
      }
      throw new Error('no error');
    };
    expect(error(JSON.stringify({ type: 'session.update', event_id: 'x', session: { type: 'transcription', audio: { input: { format: { type: 'audio/opus' } } } } }))).toMatchObject({
      code: 'invalid_value',
      param: 'session.audio.input.format.type',
      event_id: 'x',
    });
    expect(error(JSON.stringify({ type: 'session.update', session: { type: 'transcription', audio: { input: { turn_detection: { threshold: 2 } } } } }))).toMatchObject({
      param: 'session.audio.input.turn_detection.threshold',
    });
    expect(error(JSON.stringify({ type: 'transcription_session.update', session: { input_audio_format: 'mp3' } }))).toMatchObject({ param: 'session.input_audio_format' });
    expect(error(JSON.stringify({ type: 'input_audio_buffer.append', audio: 'abc' }))).toMatchObject({ code: 'invalid_value', param: 'audio' });
    expect(error('[1]')).toMatchObject({ code: 'invalid_json' });
  });
});
