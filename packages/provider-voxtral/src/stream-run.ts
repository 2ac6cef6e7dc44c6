import {
  EchoPanelError,
  errorMessage,
  isEchoPanelError,
  round3,
  silentLogger,
  type Logger,
  type Segment,
  type TranscriptionEvent,
} from '@echopanel/plugin-api';
import { ReplayBuffer, type ReplayReader } from '@echopanel/engine-kit';
import { SegmentChannel } from './segment-channel.js';
import { TranscriptSegmenter, type TextSegment } from './segmenter.js';
import type { VoxtralExit, VoxtralProcess } from './voxtral-process.js';

/** voxtral.c's only input rate in --stdin raw mode. */
export const SAMPLE_RATE = 16000;
/** voxtral.c reads stdin in fread blocks of 4096 samples; writing in the same unit keeps positions granular. */
const WRITE_SAMPLES = 4096;
/** Report `transcribed` in steps of at least this many samples (1 s) rather than per write. */
const REPORT_STEP = SAMPLE_RATE;
/** First sample of "RIFF" read as s16le: voxtral.c would take a raw stream starting with it for a WAV header. */
const RIFF_FIRST_SAMPLE = 0x4952;

/** Numbers a stream works with, in samples and milliseconds. */
export interface StreamSettings {
  readonly restartLimit: number;
  readonly stallTimeoutMs: number;
  readonly stopGraceMs: number;
  readonly pauseSamples: number;
  readonly latencySamples: number;
  readonly replayMarginSamples: number;
  readonly maxReplaySamples: number;
  /** Write at most this many × real time (0 = unlimited). */
  readonly maxSpeed: number;
}

/** Where a stream gets its voxtral.c process from (the provider owns the processes). */
export interface ProcessSource {
  /** A loaded process for a new stream (the warm spare when there is one). */
  acquire(signal: AbortSignal): Promise<VoxtralProcess>;
  /** A fresh process after a crash. */
  respawn(signal: AbortSignal): Promise<VoxtralProcess>;
  /** Told about every restart (the provider's restart count). */
  onRestart(reason: EchoPanelError): void;
}

export interface StreamRunOptions {
  readonly settings: StreamSettings;
  readonly source: ProcessSource;
  /** Told, when a process finished its stream, what its engine reported spending on the audio it got. */
  readonly onEngineTiming?: (engineMs: number, audioSeconds: number) => void;
  readonly emit: (event: TranscriptionEvent) => void;
  /** Aborted by the caller's signal or by the provider (unload). */
  readonly signal: AbortSignal;
  /** True when an abort should end the stream quietly (the caller asked for it) rather than throw. */
  readonly quietAbort: () => boolean;
  readonly audioSource?: string;
  readonly logger?: Logger;
}

/** Live state of a stream, for health(). */
export interface StreamRunState {
  readonly replayBufferedSamples: number;
  readonly replayPeakSamples: number;
  readonly receivedSamples: number;
  readonly restarts: number;
  readonly pid: number | undefined;
}

function toError(err: unknown): EchoPanelError {
  if (isEchoPanelError(err)) return err;
  return new EchoPanelError('INFERENCE_FAILED', errorMessage(err), { cause: err });
}

export function abortReason(signal: AbortSignal): EchoPanelError {
  return isEchoPanelError(signal.reason) ? signal.reason : new EchoPanelError('ABORTED', 'aborted by the caller');
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return raceAbort(new Promise<void>((resolve) => setTimeout(resolve, ms)), signal);
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // The work was already started: its outcome no longer matters, but a rejection must not go unhandled.
    promise.catch(() => undefined);
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * One `transcribe` call against voxtral.c: pulls audio only as fast as the process takes it, keeps what is not yet
 * covered by a final in a bounded replay buffer, turns stdout text into partial and final segments, and on a crash
 * or hang restarts the process and re-sends the replay buffer (up to `restartLimit` times). Every sample received
 * is reported once, as transcribed, skipped or dropped.
 */
export class StreamRun {
  private proc: VoxtralProcess | undefined;
  private generation = 0;
  /** Stream sample index of the current process's first input sample. */
  private childBase = 0;
  private childWritten = 0;
  private received = 0;
  private reported = 0;
  private ack = 0;
  private restarts = 0;
  private firstWriteAt: number | undefined;
  private paceStart = 0;
  private pacedSamples = 0;
  private replayPeak = 0;
  /** Core's replay buffer: the audio from the last acknowledged sample on; a restarted process reads it again. */
  private buffer: ReplayBuffer | undefined;
  private reader: ReplayReader | undefined;
  private readonly segmenter: TranscriptSegmenter;
  private readonly channel = new SegmentChannel();
  private readonly consumerStop = new AbortController();
  private readonly stop: AbortSignal;
  private readonly logger: Logger;
  private readonly settings: StreamSettings;

  constructor(private readonly options: StreamRunOptions) {
    this.settings = options.settings;
    this.logger = options.logger ?? silentLogger;
    this.stop = AbortSignal.any([options.signal, this.consumerStop.signal]);
    this.segmenter = new TranscriptSegmenter({
      pauseSamples: this.settings.pauseSamples,
      latencySamples: this.settings.latencySamples,
    });
  }

  state(): StreamRunState {
    return {
      replayBufferedSamples: this.buffer?.heldSamples ?? 0,
      replayPeakSamples: this.replayPeak,
      receivedSamples: this.received,
      restarts: this.restarts,
      pid: this.proc?.pid,
    };
  }

  /** The process in use, if any (the provider stops it after the stream). */
  get process(): VoxtralProcess | undefined {
    return this.proc;
  }

  async *run(audio: AsyncIterable<Int16Array>): AsyncGenerator<Segment> {
    const pump = this.pump(audio).then(
      () => this.channel.close(),
      (err: unknown) => this.channel.close(err),
    );
    try {
      yield* this.channel.drain();
    } finally {
      if (!this.stop.aborted) this.consumerStop.abort(new EchoPanelError('ABORTED', 'stream cancelled'));
      await pump;
      const proc = this.proc;
      if (proc && !proc.hasExited) {
        proc.kill('SIGKILL');
        await proc.exited;
      }
    }
  }

  private position(): number {
    return this.childBase + this.childWritten;
  }

  private async pump(audio: AsyncIterable<Int16Array>): Promise<void> {
    const buffer = new ReplayBuffer(audio);
    this.buffer = buffer;
    this.reader = buffer.reader(0);
    let finished = false;
    try {
      this.attach(await raceAbort(this.options.source.acquire(this.stop), this.stop));
      // Stream until the source ends, then close stdin; a crash in either phase restarts the process, points the
      // reader back at the last acknowledged sample, and goes round again (re-sending before new audio).
      do {
        await this.streamFrames();
      } while (!(await this.finishOnce()));
      finished = true;
    } catch (raw) {
      if (buffer.sourceError !== undefined && raw === buffer.sourceError) {
        // The caller's audio iterator threw: not an engine failure.
        this.reportTranscribed(this.ack, true);
        this.dropRest(`audio source failed: ${errorMessage(raw)}`);
        throw raw;
      }
      const err = this.stop.aborted ? abortReason(this.stop) : toError(raw);
      this.reportTranscribed(this.ack, true);
      this.dropRest(this.stop.aborted ? err.message : `${err.code}: ${err.message}`);
      if (this.stop.aborted) {
        if (this.options.quietAbort() || this.consumerStop.signal.aborted) return;
        throw err;
      }
      this.options.emit({ type: 'error', code: err.code, message: err.message, recovered: false });
      throw err;
    } finally {
      // The reader is not detached: a frame still on its way (the producer was mid-next() at an abort) must arrive
      // so pull() can report it dropped.
      // Closes the caller's iterator when we stop early (not awaited: a producer blocked in next() would block us).
      if (!finished) buffer.close();
    }
  }

  /** Writes frames from the reader (replayed ones first after a restart) until the source ends. */
  private async streamFrames(): Promise<void> {
    for (;;) {
      await raceAbort(this.channel.room(), this.stop);
      const reader = this.reader!;
      const from = reader.position;
      const next = await this.pull(reader);
      if (next.done) return;
      const pcm = next.value;
      const fresh = from + pcm.length > this.received;
      if (fresh) this.received = from + pcm.length;
      this.replayPeak = Math.max(this.replayPeak, this.received - this.ack);
      try {
        await this.writeToChild(pcm, !fresh);
      } catch (err) {
        if (this.stop.aborted) throw abortReason(this.stop);
        await this.recover(await this.explain(toError(err)));
        continue;
      }
      this.boundReplay();
    }
  }

  /** Next frame from the producer, or the stop reason; a frame handed over after the stop is reported dropped. */
  private async pull(it: ReplayReader): Promise<IteratorResult<Int16Array>> {
    const from = it.position;
    const next = it.next();
    try {
      return await raceAbort(next, this.stop);
    } catch (err) {
      void next.then(
        (r) => {
          if (r.done || !r.value || from + r.value.length <= this.received) return;
          this.received = from + r.value.length;
          this.dropRest(abortReason(this.stop).message);
        },
        () => undefined,
      );
      throw err;
    }
  }

  private attach(proc: VoxtralProcess): void {
    this.proc = proc;
    const gen = ++this.generation;
    proc.setTextListener((text) => {
      if (gen !== this.generation) return;
      this.publish(this.segmenter.push(text, this.position()));
    });
  }

  private publish(segments: TextSegment[]): void {
    for (const s of segments) {
      this.channel.push({
        text: s.text,
        start: round3(s.startSample / SAMPLE_RATE),
        end: round3(s.endSample / SAMPLE_RATE),
        isFinal: s.isFinal,
        ...(this.options.audioSource ? { source: this.options.audioSource } : {}),
      });
      if (s.isFinal) this.advanceAck(this.position() - this.settings.replayMarginSamples);
    }
  }

  /** Audio up to `to` no longer needs replaying (its text is final, or it was silence long enough ago). */
  private advanceAck(to: number): void {
    const target = Math.min(Math.max(0, to), this.position());
    if (target <= this.ack) return;
    this.ack = target;
    this.buffer?.release(target);
    this.reportTranscribed(target, false);
  }

  private reportTranscribed(upTo: number, force: boolean): void {
    const n = upTo - this.reported;
    if (n <= 0 || (!force && n < REPORT_STEP)) return;
    this.options.emit({ type: 'transcribed', samples: n, start: this.reported / SAMPLE_RATE, end: upTo / SAMPLE_RATE });
    this.reported = upTo;
  }

  private dropRest(reason: string): void {
    const n = this.received - this.reported;
    if (n <= 0) return;
    this.options.emit({ type: 'dropped', samples: n, reason, start: this.reported / SAMPLE_RATE, end: this.received / SAMPLE_RATE });
    this.reported = this.received;
  }

  /** The replay buffer may not pass its limit: finalize what is pending and let go of the oldest audio. */
  private boundReplay(): void {
    if (this.received - this.ack < this.settings.maxReplaySamples) return;
    this.publish(this.segmenter.forceCut());
    this.advanceAck(this.position() - this.settings.replayMarginSamples);
  }

  private onProgress(): void {
    // While re-sending after a restart audio goes in faster than real time: pauses are not judged then.
    if (this.position() >= this.received) this.publish(this.segmenter.tick(this.position()));
    if (!this.segmenter.hasPending) this.advanceAck(this.position() - this.settings.replayMarginSamples);
  }

  /** A failed write (EPIPE) says little; once the process has exited, say how (signal, code, stderr). */
  private async explain(err: EchoPanelError): Promise<EchoPanelError> {
    const proc = this.proc;
    if (!proc || err.code !== 'WORKER_CRASHED') return err;
    if (!proc.hasExited) await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 1000))]);
    return proc.hasExited ? proc.crashError('exited') : err;
  }

  private async writeToChild(pcm: Int16Array, replayed: boolean): Promise<void> {
    const proc = this.proc!;
    for (let off = 0; off < pcm.length; off += WRITE_SAMPLES) {
      let piece = pcm.subarray(off, Math.min(pcm.length, off + WRITE_SAMPLES));
      if (this.childWritten === 0 && piece[0] === RIFF_FIRST_SAMPLE) {
        // One LSB of one sample, so voxtral.c does not mistake the raw stream for a WAV file and buffer it to EOF.
        piece = piece.slice();
        piece[0] = RIFF_FIRST_SAMPLE + 1;
      }
      this.firstWriteAt ??= performance.now();
      if (!replayed) await this.pace(piece.length);
      await this.guard(proc, proc.write(new Uint8Array(piece.buffer, piece.byteOffset, piece.byteLength)), false);
      this.childWritten += piece.length;
      this.onProgress();
    }
  }

  /** Holds writes to `maxSpeed` × real time; a producer that falls behind does not earn a burst later. */
  private async pace(samples: number): Promise<void> {
    const speed = this.settings.maxSpeed;
    if (speed <= 0) return;
    const now = performance.now();
    const due = this.paceStart + (this.pacedSamples / SAMPLE_RATE / speed) * 1000;
    if (this.pacedSamples === 0 || now > due + 500) {
      this.paceStart = now;
      this.pacedSamples = 0;
    } else if (due > now + 1) {
      await delay(due - now, this.stop);
    }
    this.pacedSamples += samples;
  }

  /**
   * Waits for `work` while watching the process: rejects when it exits (unless `exitIsExpected`), when it shows no
   * sign of life for stallTimeoutMs (it is killed), or when the stream is stopped.
   */
  private guard<T>(proc: VoxtralProcess, work: Promise<T>, exitIsExpected: boolean): Promise<T> {
    const stall = this.settings.stallTimeoutMs;
    const since = performance.now();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearInterval(timer);
        this.stop.removeEventListener('abort', onAbort);
        fn();
      };
      const timer = setInterval(
        () => {
          if (performance.now() - Math.max(since, proc.lastActivity) <= stall) return;
          proc.kill('SIGKILL');
          finish(() =>
            reject(new EchoPanelError('INFERENCE_TIMEOUT', `voxtral.c (pid ${proc.pid}) made no progress for ${stall} ms (stdin not read, no output); killed it`)),
          );
        },
        Math.min(1000, Math.max(20, stall / 4)),
      );
      const onAbort = () => finish(() => reject(abortReason(this.stop)));
      if (this.stop.aborted) onAbort();
      else this.stop.addEventListener('abort', onAbort, { once: true });
      work.then(
        (v) => finish(() => resolve(v)),
        (e) => finish(() => reject(e)),
      );
      if (!exitIsExpected) void proc.exited.then(() => finish(() => reject(proc.crashError('exited'))));
    });
  }

  private async recover(first: EchoPanelError): Promise<void> {
    let err = first;
    for (;;) {
      if (this.stop.aborted) throw abortReason(this.stop);
      if (this.restarts >= this.settings.restartLimit) {
        throw new EchoPanelError(
          err.code,
          `${err.message} (gave up after ${this.restarts} restart(s) in this stream; providers.voxtral.restartLimit is ${this.settings.restartLimit})`,
          { cause: err, details: { ...(err.details ?? {}), restarts: this.restarts } },
        );
      }
      this.restarts++;
      this.options.source.onRestart(err);
      this.options.emit({ type: 'error', code: err.code, message: err.message, recovered: true });
      this.options.emit({ type: 'restart', reason: `${err.code}: ${err.message}` });
      this.logger.warn({ code: err.code, err: err.message, replaySamples: this.received - this.ack }, 'voxtral.c failed; restarting and re-sending unacknowledged audio');
      const old = this.proc;
      this.generation++;
      old?.setTextListener(undefined);
      if (old && !old.hasExited) {
        old.kill('SIGKILL');
        await old.exited;
      }
      this.segmenter.restart();
      try {
        this.attach(await raceAbort(this.options.source.respawn(this.stop), this.stop));
        // The new process gets the audio again from the last acknowledged sample (the caller's next frames follow).
        this.reader?.detach();
        this.reader = this.buffer!.reader(this.ack);
        this.childBase = this.ack;
        this.childWritten = 0;
        return;
      } catch (e) {
        if (this.stop.aborted) throw abortReason(this.stop);
        err = await this.explain(toError(e));
      }
    }
  }

  /**
   * End of input: close stdin and wait for voxtral.c to finish. Returns false when it had to be restarted (the
   * caller re-sends the unacknowledged audio and comes back).
   */
  private async finishOnce(): Promise<boolean> {
    const proc = this.proc!;
    if (this.received < 2) {
      // voxtral.c needs 4 bytes to tell raw audio from WAV; with less it exits 1 ("Not enough data on stdin").
      proc.end();
      await proc.stop(this.settings.stopGraceMs);
      if (this.received > 0) {
        this.options.emit({ type: 'skipped', samples: this.received, reason: 'too-short', start: 0, end: this.received / SAMPLE_RATE });
        this.reported = this.received;
      }
      return true;
    }
    proc.end();
    let exit: VoxtralExit;
    try {
      exit = await this.guard(proc, proc.exited, true);
    } catch (err) {
      if (this.stop.aborted) throw abortReason(this.stop);
      await this.recover(toError(err));
      return false;
    }
    if (exit.exitCode !== 0 || exit.signal) {
      await this.recover(proc.crashError('exited'));
      return false;
    }
    this.publish(this.segmenter.flush());
    this.ack = this.received;
    this.buffer?.release(this.received);
    this.reportTranscribed(this.received, true);
    const t = proc.timings;
    const engineMs =
      t.encoderMs !== undefined ? t.encoderMs + (t.decoderMs ?? 0) : (t.wallMs ?? performance.now() - (this.firstWriteAt ?? performance.now()));
    this.options.onEngineTiming?.(engineMs, this.childWritten / SAMPLE_RATE);
    return true;
  }
}
