import { readFileSync } from 'node:fs';

export interface JobBody {
  id: string;
  status: string;
  progress: number;
  attempts: number;
  processed_by?: string;
  error?: { code: string; message: string };
  result?: unknown;
  [k: string]: unknown;
}

/** The jobs API and the synchronous endpoint of one server, as a client with the API key uses them. */
export class JobsClient {
  constructor(
    readonly url: string,
    private readonly apiKey: string,
  ) {}

  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.apiKey}` };
  }

  private form(file: string | Buffer, fields: Record<string, string>): FormData {
    const fd = new FormData();
    for (const [k, v] of Object.entries(fields)) fd.set(k, v);
    fd.set('file', new Blob([typeof file === 'string' ? readFileSync(file) : file]), 'speech.wav');
    return fd;
  }

  async submit(file: string | Buffer, fields: Record<string, string> = {}): Promise<{ status: number; body: JobBody }> {
    const res = await fetch(`${this.url}/v1/jobs`, { method: 'POST', headers: this.headers(), body: this.form(file, fields) });
    return { status: res.status, body: (await res.json()) as JobBody };
  }

  async get(id: string, query = ''): Promise<{ status: number; type: string; text: string }> {
    const res = await fetch(`${this.url}/v1/jobs/${id}${query}`, { headers: this.headers() });
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  }

  async job(id: string): Promise<JobBody> {
    const r = await this.get(id);
    if (r.status !== 200) throw new Error(`GET /v1/jobs/${id}: ${r.status} ${r.text}`);
    return JSON.parse(r.text) as JobBody;
  }

  /** Polls the job until `done` holds (throws with the last state after `timeoutMs`). */
  async waitFor(id: string, done: (j: JobBody) => boolean, timeoutMs = 120_000): Promise<JobBody> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const j = await this.job(id);
      if (done(j)) return j;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${JSON.stringify(j)} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async finished(id: string, timeoutMs?: number): Promise<JobBody> {
    return this.waitFor(id, (j) => j.status === 'completed' || j.status === 'failed', timeoutMs);
  }

  async request(method: string, pathAndQuery: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${this.url}${pathAndQuery}`, { method, headers: this.headers() });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** `POST /v1/audio/transcriptions`: the synchronous answer, as text. */
  async transcribe(file: string, fields: Record<string, string> = {}): Promise<{ status: number; type: string; text: string }> {
    const res = await fetch(`${this.url}/v1/audio/transcriptions`, { method: 'POST', headers: this.headers(), body: this.form(file, fields) });
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  }
}
