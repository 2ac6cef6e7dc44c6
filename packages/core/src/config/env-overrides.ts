import { EchoPanelError } from '@echopanel/plugin-api';

/**
 * Environment variables that override the config file (applied after loading, before validation).
 * Listed in the README; every name here is also shown by `echopanel providers --json`'s config dump.
 */
export const ENV_OVERRIDES: ReadonlyArray<{ readonly name: string; readonly path: readonly string[]; readonly type: 'string' | 'number' | 'boolean'; readonly description: string }> = [
  { name: 'ECHOPANEL_ASR_PROVIDER', path: ['asr', 'provider'], type: 'string', description: 'provider name or auto' },
  { name: 'ECHOPANEL_ASR_FALLBACK', path: ['asr', 'fallback'], type: 'string', description: 'failover provider' },
  { name: 'ECHOPANEL_LANGUAGE', path: ['asr', 'language'], type: 'string', description: 'transcription language' },
  { name: 'ECHOPANEL_CHUNK_SECONDS', path: ['asr', 'chunkSeconds'], type: 'number', description: 'fixed chunk length' },
  { name: 'ECHOPANEL_SEGMENTATION', path: ['asr', 'segmentation'], type: 'string', description: 'vad or fixed' },
  { name: 'ECHOPANEL_WARMUP_LEVEL', path: ['asr', 'warmupLevel'], type: 'number', description: 'warmup level 1-3' },
  { name: 'ECHOPANEL_DEGRADE_ENABLED', path: ['asr', 'degrade', 'enabled'], type: 'boolean', description: 'degrade ladder on/off' },
  { name: 'ECHOPANEL_VAD_ENABLED', path: ['vad', 'enabled'], type: 'boolean', description: 'VAD on/off' },
  { name: 'ECHOPANEL_HOST', path: ['server', 'host'], type: 'string', description: 'bind address' },
  { name: 'ECHOPANEL_PORT', path: ['server', 'port'], type: 'number', description: 'port' },
  { name: 'ECHOPANEL_API_KEY', path: ['server', 'apiKey'], type: 'string', description: 'API key required by the server' },
  { name: 'ECHOPANEL_TLS_CERT', path: ['server', 'tls', 'certFile'], type: 'string', description: 'TLS certificate (PEM) for HTTPS/WSS' },
  { name: 'ECHOPANEL_TLS_KEY', path: ['server', 'tls', 'keyFile'], type: 'string', description: 'TLS private key (PEM) for HTTPS/WSS' },
  { name: 'ECHOPANEL_REDIS_URL', path: ['jobs', 'redisUrl'], type: 'string', description: 'Redis for the shared job queue' },
  { name: 'ECHOPANEL_JOBS_DIR', path: ['jobs', 'storageDir'], type: 'string', description: 'job audio directory (shared by replicas)' },
  { name: 'ECHOPANEL_JOBS_CONCURRENCY', path: ['jobs', 'concurrency'], type: 'number', description: 'jobs transcribed at once' },
  { name: 'ECHOPANEL_MODEL_DIR', path: ['models', 'dir'], type: 'string', description: 'model store directory' },
  { name: 'ECHOPANEL_ALLOW_DOWNLOAD', path: ['models', 'allowDownload'], type: 'boolean', description: 'allow model downloads' },
  { name: 'ECHOPANEL_WHISPER_MODEL', path: ['providers', 'faster-whisper', 'model'], type: 'string', description: 'faster-whisper model' },
  { name: 'ECHOPANEL_WHISPER_DEVICE', path: ['providers', 'faster-whisper', 'device'], type: 'string', description: 'faster-whisper device' },
  { name: 'ECHOPANEL_WHISPER_COMPUTE', path: ['providers', 'faster-whisper', 'computeType'], type: 'string', description: 'faster-whisper compute type' },
  { name: 'ECHOPANEL_WHISPER_CPP_MODEL', path: ['providers', 'whisper-cpp', 'model'], type: 'string', description: 'whisper.cpp model' },
  { name: 'ECHOPANEL_VOXTRAL_BIN', path: ['providers', 'voxtral', 'binary'], type: 'string', description: 'voxtral.c binary' },
  { name: 'ECHOPANEL_VOXTRAL_MODEL_DIR', path: ['providers', 'voxtral', 'modelDir'], type: 'string', description: 'voxtral model dir' },
];

/** Returns a copy of `raw` with the environment's overrides applied; INVALID_CONFIG names a variable whose value does not parse. */
export function applyEnvOverrides(raw: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const o of ENV_OVERRIDES) {
    const v = env[o.name];
    if (v === undefined || v === '') continue;
    const value = parseOverride(o.name, o.type, v);
    let node = out;
    for (const key of o.path.slice(0, -1)) {
      if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[o.path[o.path.length - 1]] = value;
  }
  return out;
}

function parseOverride(name: string, type: 'string' | 'number' | 'boolean', v: string): string | number | boolean {
  if (type === 'string') return v;
  if (type === 'number') {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new EchoPanelError('INVALID_CONFIG', `${name}=${JSON.stringify(v)} is not a number`);
    return n;
  }
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new EchoPanelError('INVALID_CONFIG', `${name}=${JSON.stringify(v)} is not a boolean (use true or false, 1 or 0, yes or no, on or off)`);
}
