/** Messages `/v1/stream` sends (see apps/server/src/server/stream/stream-connection.ts). */
export type ServerMessage =
  | { type: 'ready'; session: string; source: string; provider: string; model: string; sample_rate: number; segmentation: string }
  | { type: 'partial'; text: string; stable: string; start: number; end: number; source?: string }
  | { type: 'final'; text: string; start: number; end: number; confidence: number | null; language: string; source?: string }
  | {
      type: 'status';
      degrade_level: string;
      rtf: number;
      backlog_seconds?: number;
      dropping?: boolean;
      shutting_down?: boolean;
    }
  | { type: 'error'; code: string; message: string }
  | { type: 'done'; session?: string; source?: string; stats: DoneStats };

export interface DoneStats {
  received_samples: number;
  transcribed_samples: number;
  silence_samples: number;
  dropped_samples: number;
  drop_reasons?: Record<string, number>;
  finals: number;
}

/** The server's 16 kHz: sample counts in `done` stats are at this rate. */
export const SERVER_RATE = 16000;

/** The OpenAI-style error body every HTTP route answers with. */
export interface ApiErrorBody {
  error?: { code?: string; message?: string };
}

/** A failed request's message: the server's own (code: message) when it sent one. */
export async function responseError(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as ApiErrorBody;
    if (body.error?.message) return `${body.error.code ?? res.status}: ${body.error.message}`;
  } catch {
    // not JSON: fall through to the status line
  }
  return `HTTP ${res.status} ${res.statusText}`;
}
