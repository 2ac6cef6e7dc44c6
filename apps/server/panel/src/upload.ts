import { authHeaders } from './api-key.js';
import type { ApiErrorBody } from './protocol.js';

/** `verbose_json` as the server answers it (the fields the panel shows). */
export interface VerboseTranscript {
  text: string;
  language: string;
  duration: number;
  segments?: { start: number; end: number; text: string; avg_logprob: number }[];
}

/** Sending (fraction of the bytes), then transcribing (no fraction: the server says nothing until done). */
export type UploadProgress = { phase: 'sending'; fraction: number } | { phase: 'transcribing' };

/** Thrown with the server's error (code and message) or the network's. */
export class UploadError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * Uploads `file` to `/v1/audio/transcriptions` (verbose_json). XMLHttpRequest, because fetch reports no upload
 * progress.
 */
export function uploadFile(file: File, onProgress: (p: UploadProgress) => void): Promise<VerboseTranscript> {
  const form = new FormData();
  form.append('file', file, file.name);
  form.append('response_format', 'verbose_json');
  const xhr = new XMLHttpRequest();
  xhr.open('POST', new URL('v1/audio/transcriptions', location.href));
  for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
  xhr.responseType = 'json';
  xhr.upload.onprogress = (e) => onProgress({ phase: 'sending', fraction: e.lengthComputable ? e.loaded / e.total : 0 });
  xhr.upload.onload = () => onProgress({ phase: 'transcribing' });
  return new Promise((resolve, reject) => {
    xhr.onload = () => {
      if (xhr.status === 200) return resolve(xhr.response as VerboseTranscript);
      const body = xhr.response as ApiErrorBody | null;
      reject(new UploadError(body?.error?.code ?? `HTTP_${xhr.status}`, body?.error?.message ?? `the server answered ${xhr.status}`, xhr.status));
    };
    xhr.onerror = () => reject(new UploadError('NETWORK_ERROR', 'the upload failed: the server could not be reached', 0));
    xhr.send(form);
  });
}
