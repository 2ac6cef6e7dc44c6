import { askForKey } from './api-key.js';
import { frameLevelDb, startCapture, type Capture } from './capture.js';
import { download, exportTranscript, type ExportFormat } from './export.js';
import { SERVER_RATE, type ServerMessage } from './protocol.js';
import { ServerWatch, type Health } from './server-status.js';
import { SourceStream, type StreamState } from './source-stream.js';
import { TranscriptView, laneName } from './transcript.js';
import { UploadError, uploadFile, type UploadProgress } from './upload.js';

type SourceName = 'mic' | 'system';

interface LiveSource {
  /** Set once the worklet runs. */
  capture?: Capture;
  readonly stream: SourceStream;
  /** Panel time (s) of the source's first sample. */
  readonly startedAt: number;
  samples: number;
  state: StreamState;
  detail: string;
  backlog: number;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const ui = {
  server: $('server'),
  mic: $<HTMLButtonElement>('mic'),
  system: $<HTMLButtonElement>('system'),
  stop: $<HTMLButtonElement>('stop'),
  upload: $<HTMLButtonElement>('upload'),
  file: $<HTMLInputElement>('file'),
  uploadProgress: $<HTMLProgressElement>('upload-progress'),
  uploadState: $('upload-state'),
  notice: $('notice'),
  format: $<HTMLSelectElement>('format'),
  export: $<HTMLButtonElement>('export'),
  copy: $<HTMLButtonElement>('copy'),
  clear: $<HTMLButtonElement>('clear'),
  echoCancellation: $<HTMLInputElement>('echo-cancellation'),
  noiseSuppression: $<HTMLInputElement>('noise-suppression'),
  autoGain: $<HTMLInputElement>('auto-gain'),
  connection: $('connection'),
  model: $('model'),
  degrade: $('degrade'),
  backlog: $('backlog'),
  dropped: $('dropped'),
  alert: $('alert'),
  keyDialog: $<HTMLDialogElement>('key-dialog'),
};

const view = new TranscriptView($('log'), $('partials'), $<HTMLButtonElement>('jump'));
const sources = new Map<SourceName, LiveSource>();
const meta: { provider?: string; model?: string } = {};
let context: AudioContext | undefined;
let session: { id: string; t0: number; startedAt: Date } | undefined;
let droppedSeconds = 0;

const watch = new ServerWatch(ui.keyDialog, (text, health?: Health) => {
  ui.server.textContent = text;
  if (health?.model) showModel(health.model, health.provider);
});

function showModel(model: string, provider?: string): void {
  meta.model = model;
  meta.provider = provider;
  ui.model.textContent = provider ? `${model} (${provider})` : model;
}

function alertUser(message: string | undefined): void {
  ui.alert.hidden = !message;
  ui.alert.textContent = message ?? '';
}

function now(): number {
  return session ? (performance.now() - session.t0) / 1000 : 0;
}

function micConstraints(): MediaTrackConstraints {
  return {
    channelCount: 1,
    echoCancellation: ui.echoCancellation.checked,
    noiseSuppression: ui.noiseSuppression.checked,
    autoGainControl: ui.autoGain.checked,
  };
}

async function startSource(name: SourceName, getMedia: () => Promise<MediaStream>): Promise<void> {
  if (sources.has(name)) return;
  alertUser(undefined);
  let media: MediaStream;
  try {
    media = await getMedia();
  } catch (err) {
    return alertUser(`${laneName(name)}: ${mediaError(err)}`);
  }
  if (media.getAudioTracks().length === 0) {
    for (const t of media.getTracks()) t.stop();
    return alertUser('The shared screen or tab has no audio: share again and tick "Share audio".');
  }
  context ??= new AudioContext({ latencyHint: 'interactive' });
  session ??= { id: crypto.randomUUID(), t0: performance.now(), startedAt: new Date() };
  const startedAt = now();
  const sampleRate = context.sampleRate;
  const live: LiveSource = {
    capture: undefined,
    startedAt,
    samples: 0,
    state: 'connecting',
    detail: 'connecting',
    backlog: 0,
    stream: new SourceStream({
      source: name,
      session: session.id,
      sampleRate,
      onMessage: (msg, offset) => onMessage(name, msg, offset),
      onState: (state, detail) => {
        Object.assign(live, { state, detail });
        showConnection();
        if (state === 'reconnecting') void watch.check();
        if (state === 'stopped' && sources.get(name) === live) endSource(name);
      },
      onDropped: (seconds) => addDropped(seconds),
    }),
  };
  sources.set(name, live);
  showControls();
  live.stream.start();
  try {
    live.capture = await startCapture(
      context,
      media,
      (pcm) => {
        live.stream.send(pcm, live.startedAt + live.samples / sampleRate);
        live.samples += pcm.length;
        $<HTMLMeterElement>(`level-${name}`).value = Math.max(-60, frameLevelDb(pcm));
      },
      () => void stopSource(name),
    );
  } catch (err) {
    for (const t of media.getTracks()) t.stop();
    alertUser(`${laneName(name)}: audio capture failed: ${String(err)}`);
    await stopSource(name);
  }
}

function onMessage(name: SourceName, msg: ServerMessage, offset: number): void {
  const source = sources.get(name);
  switch (msg.type) {
    case 'ready':
      showModel(msg.model, msg.provider);
      // The server reports the degrade level on joining only when it is not NORMAL (a status follows).
      ui.degrade.textContent = 'NORMAL';
      ui.degrade.classList.remove('warn');
      break;
    case 'partial':
      view.setPartial(name, msg.stable, msg.text);
      break;
    case 'final':
      view.addFinal({ source: name, start: offset + msg.start, end: offset + msg.end, text: msg.text, confidence: msg.confidence, language: msg.language });
      break;
    case 'status':
      ui.degrade.textContent = msg.degrade_level;
      ui.degrade.classList.toggle('warn', msg.degrade_level !== 'NORMAL');
      if (source && msg.backlog_seconds !== undefined) source.backlog = msg.backlog_seconds;
      showBacklog(msg.dropping === true);
      if (msg.shutting_down) ui.server.textContent = 'The server is shutting down; the panel reconnects when it is back.';
      break;
    case 'error':
      alertUser(`${laneName(name)}: ${msg.code}: ${msg.message}`);
      break;
    case 'done':
      view.clearPartial(name);
      addDropped(msg.stats.dropped_samples / SERVER_RATE);
      break;
  }
}

function showBacklog(dropping: boolean): void {
  const backlog = Math.max(0, ...[...sources.values()].map((s) => s.backlog));
  ui.backlog.textContent = `${backlog.toFixed(1)} s${dropping ? ' (server behind: dropping audio)' : ''}`;
  ui.backlog.classList.toggle('warn', dropping);
}

function addDropped(seconds: number): void {
  if (seconds <= 0) return;
  droppedSeconds += seconds;
  ui.dropped.textContent = `${droppedSeconds.toFixed(1)} s`;
  ui.dropped.classList.add('warn');
}

function showConnection(): void {
  const parts = [...sources].map(([name, s]) => `${laneName(name)}: ${s.state === 'live' ? 'live' : s.detail}`);
  ui.connection.textContent = parts.length ? parts.join('; ') : 'idle';
  ui.connection.classList.toggle('warn', [...sources.values()].some((s) => s.state === 'reconnecting'));
}

function showControls(): void {
  ui.mic.disabled = sources.has('mic');
  ui.system.disabled = sources.has('system');
  ui.stop.disabled = sources.size === 0;
}

/** The source's capture ended (stopped by the user, or by the browser). */
async function stopSource(name: SourceName): Promise<void> {
  const s = sources.get(name);
  if (!s) return;
  s.capture?.stop();
  await s.stream.stop();
  endSource(name);
}

function endSource(name: SourceName): void {
  const s = sources.get(name);
  if (!s) return;
  s.capture?.stop();
  sources.delete(name);
  $<HTMLMeterElement>(`level-${name}`).value = -60;
  showControls();
  showConnection();
  if (sources.size === 0) ui.connection.textContent = 'stopped';
}

async function upload(file: File): Promise<void> {
  alertUser(undefined);
  ui.upload.disabled = true;
  ui.uploadProgress.hidden = false;
  const progress = (p: UploadProgress) => {
    if (p.phase === 'sending') {
      ui.uploadProgress.max = 1;
      ui.uploadProgress.value = p.fraction;
      ui.uploadState.textContent = `Uploading ${file.name}: ${Math.round(p.fraction * 100)} %`;
    } else {
      ui.uploadProgress.removeAttribute('value');
      ui.uploadState.textContent = `Transcribing ${file.name}…`;
    }
  };
  try {
    for (;;) {
      try {
        const result = await uploadFile(file, progress);
        for (const s of result.segments ?? []) view.addFinal({ source: file.name, start: s.start, end: s.end, text: s.text, language: result.language });
        ui.uploadState.textContent = `${file.name}: ${result.duration.toFixed(1)} s transcribed`;
        return;
      } catch (err) {
        if (err instanceof UploadError && err.status === 401) {
          await askForKey(ui.keyDialog, err.message);
          continue;
        }
        throw err;
      }
    }
  } catch (err) {
    ui.uploadState.textContent = `${file.name}: failed`;
    alertUser(err instanceof UploadError ? `Upload: ${err.code}: ${err.message}` : `Upload: ${String(err)}`);
  } finally {
    ui.upload.disabled = false;
    ui.uploadProgress.hidden = true;
  }
}

function exported(format: ExportFormat) {
  return exportTranscript(view.lines(), format, { ...meta, startedAt: session?.startedAt ?? new Date() });
}

function mediaError(err: unknown): string {
  const name = (err as DOMException | undefined)?.name;
  if (name === 'NotAllowedError') return 'access was refused: allow it in the browser (the address bar icon) and try again.';
  if (name === 'NotFoundError') return 'no such device was found.';
  if (name === 'NotReadableError') return 'the device is in use by another program or failed.';
  return String(err);
}

ui.mic.addEventListener('click', () => void startSource('mic', () => navigator.mediaDevices.getUserMedia({ audio: micConstraints() })));
ui.system.addEventListener('click', () =>
  void startSource('system', () =>
    navigator.mediaDevices.getDisplayMedia({ video: true, audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } }),
  ),
);
ui.stop.addEventListener('click', () => {
  for (const name of [...sources.keys()]) void stopSource(name);
});
ui.upload.addEventListener('click', () => ui.file.click());
ui.file.addEventListener('change', () => {
  const file = ui.file.files?.[0];
  ui.file.value = '';
  if (file) void upload(file);
});
ui.export.addEventListener('click', () => download(exported(ui.format.value as ExportFormat)));
ui.copy.addEventListener('click', () => {
  navigator.clipboard.writeText(exported('txt').body).then(
    () => (ui.notice.textContent = 'Transcript copied'),
    (err: unknown) => alertUser(`Copy failed: ${String(err)}`),
  );
});
ui.clear.addEventListener('click', () => view.clear());

void watch.check();
