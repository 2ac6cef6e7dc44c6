import { BroadcastChannel } from 'node:worker_threads';
import { EchoPanelError, openPcmFile } from '@echopanel/core';
import { jobFailure } from './job-errors.js';
import type { JobFailure, JobRequest, JobResult } from './job-types.js';
import type { JobContext } from './job-transcriber.js';
import { transcribeJob } from './job-transcriber.js';

/**
 * The sandboxed processor (a worker thread) decodes; the model lives once, in the server's main thread. They
 * talk over a BroadcastChannel: the sandbox sends the decoded PCM's path, the main thread transcribes it and
 * answers with progress and the result.
 */
type ToEngine =
  | { readonly type: 'transcribe'; readonly call: string; readonly pcmFile: string; readonly request: JobRequest }
  | { readonly type: 'abort'; readonly call: string };
type FromEngine =
  | { readonly type: 'progress'; readonly call: string; readonly progress: number }
  | { readonly type: 'done'; readonly call: string; readonly result: JobResult }
  | { readonly type: 'failed'; readonly call: string; readonly failure: JobFailure };

/** Main thread: transcribes what sandboxes on `name` send. Returns the function that stops serving. */
export function serveEngineChannel(name: string, ctx: JobContext): () => void {
  const channel = new BroadcastChannel(name);
  const calls = new Map<string, AbortController>();
  channel.onmessage = (event) => {
    const msg = (event as { data: ToEngine }).data;
    if (msg.type === 'abort') return calls.get(msg.call)?.abort();
    const abort = new AbortController();
    calls.set(msg.call, abort);
    const reply = (m: FromEngine) => channel.postMessage(m);
    void (async () => {
      const pcm = await openPcmFile(msg.pcmFile);
      try {
        const result = await transcribeJob(ctx, pcm, msg.request, abort.signal, (progress) => reply({ type: 'progress', call: msg.call, progress }));
        reply({ type: 'done', call: msg.call, result });
      } finally {
        await pcm.close();
      }
    })()
      .catch((err: unknown) => reply({ type: 'failed', call: msg.call, failure: jobFailure(err) }))
      .finally(() => calls.delete(msg.call));
  };
  return () => {
    for (const c of calls.values()) c.abort();
    channel.close();
  };
}

/** Sandbox: has the main thread transcribe `pcmFile`; rejects with the engine's EchoPanelError. */
export function transcribeViaEngine(name: string, call: string, pcmFile: string, request: JobRequest, signal: AbortSignal, onProgress: (p: number) => void): Promise<JobResult> {
  const channel = new BroadcastChannel(name);
  return new Promise<JobResult>((resolve, reject) => {
    const onAbort = () => channel.postMessage({ type: 'abort', call } satisfies ToEngine);
    signal.addEventListener('abort', onAbort, { once: true });
    channel.onmessage = (event) => {
      const msg = (event as { data: FromEngine | ToEngine }).data;
      if (msg.call !== call) return;
      if (msg.type === 'progress') onProgress(msg.progress);
      else if (msg.type === 'done') resolve(msg.result);
      else if (msg.type === 'failed') reject(new EchoPanelError(msg.failure.code, msg.failure.message));
    };
    channel.postMessage({ type: 'transcribe', call, pcmFile, request } satisfies ToEngine);
  }).finally(() => channel.close());
}
