import { z } from 'zod';
import { MAX_LANGUAGE_CHARS, MAX_PROMPT_CHARS } from '../request-fields.js';

/** The input audio as the session decodes it. */
export type RealtimeAudioFormat = { readonly type: 'audio/pcm'; readonly rate: number } | { readonly type: 'audio/pcmu' | 'audio/pcma'; readonly rate: 8000 };

export interface RealtimeTurnDetection {
  /** `semantic_vad` is accepted and runs as `server_vad` (no semantic model here). */
  readonly type: 'server_vad' | 'semantic_vad';
  readonly threshold: number;
  readonly prefix_padding_ms: number;
  readonly silence_duration_ms: number;
  readonly idle_timeout_ms: number | null;
}

/** A transcription session's settings, whichever shape (GA or beta) set them. */
export interface RealtimeSessionConfig {
  readonly format: RealtimeAudioFormat;
  readonly transcription: { readonly model: string; readonly language?: string; readonly prompt?: string };
  /** null: the client commits (`input_audio_buffer.commit`). */
  readonly turnDetection: RealtimeTurnDetection | null;
  readonly noiseReduction: { readonly type: 'near_field' | 'far_field' } | null;
  readonly include: readonly string[];
}

export const DEFAULT_TURN_DETECTION: RealtimeTurnDetection = {
  type: 'server_vad',
  threshold: 0.5,
  prefix_padding_ms: 300,
  silence_duration_ms: 500,
  idle_timeout_ms: null,
};

export const DEFAULT_SESSION_CONFIG: RealtimeSessionConfig = {
  format: { type: 'audio/pcm', rate: 24000 },
  transcription: { model: 'whisper-1' },
  turnDetection: DEFAULT_TURN_DETECTION,
  noiseReduction: null,
  include: [],
};

const transcriptionSchema = z
  .object({
    model: z.string().min(1).max(200).optional(),
    language: z.string().max(MAX_LANGUAGE_CHARS).optional(),
    prompt: z.string().max(MAX_PROMPT_CHARS).optional(),
  })
  .passthrough()
  .nullable();

const turnDetectionSchema = z
  .object({
    type: z.enum(['server_vad', 'semantic_vad']).default('server_vad'),
    threshold: z.number().gt(0).lt(1).optional(),
    prefix_padding_ms: z.number().int().min(0).max(10000).optional(),
    silence_duration_ms: z.number().int().min(50).max(10000).optional(),
    idle_timeout_ms: z.number().int().min(1000).max(3_600_000).nullable().optional(),
    eagerness: z.enum(['low', 'medium', 'high', 'auto']).optional(),
    create_response: z.boolean().optional(),
    interrupt_response: z.boolean().optional(),
  })
  .strict()
  .nullable();

const noiseReductionSchema = z.object({ type: z.enum(['near_field', 'far_field']) }).passthrough().nullable();
const includeSchema = z.array(z.string()).max(8);

/** GA `session.update`: `session: { type: "transcription", audio: { input: {…} }, include }`. */
export const gaSessionSchema = z
  .object({
    type: z.literal('transcription', { error: 'this endpoint serves transcription sessions only: session.type must be "transcription"' }),
    audio: z
      .object({
        input: z
          .object({
            format: z
              .object({ type: z.enum(['audio/pcm', 'audio/pcmu', 'audio/pcma']), rate: z.number().int().min(8000).max(384000).optional() })
              .strict()
              .optional(),
            transcription: transcriptionSchema.optional(),
            turn_detection: turnDetectionSchema.optional(),
            noise_reduction: noiseReductionSchema.optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    include: includeSchema.optional(),
  })
  .strict();

/** Beta `transcription_session.update`: flat `input_audio_*` fields. */
export const betaSessionSchema = z
  .object({
    input_audio_format: z.enum(['pcm16', 'g711_ulaw', 'g711_alaw']).optional(),
    input_audio_transcription: transcriptionSchema.optional(),
    turn_detection: turnDetectionSchema.optional(),
    input_audio_noise_reduction: noiseReductionSchema.optional(),
    include: includeSchema.optional(),
    // Beta clients send these too; a transcription session has no use for them.
    modalities: z.array(z.string()).optional(),
    client_secret: z.unknown().optional(),
  })
  .strict();

type TurnDetectionInput = z.output<typeof turnDetectionSchema>;
type TranscriptionInput = z.output<typeof transcriptionSchema>;

/** Applies a GA `session` object to the current settings (absent fields keep their value). */
export function applyGaSession(current: RealtimeSessionConfig, s: z.output<typeof gaSessionSchema>): RealtimeSessionConfig {
  const input = s.audio?.input;
  const f = input?.format;
  return merge(current, {
    format: f ? (f.type === 'audio/pcm' ? { type: 'audio/pcm', rate: f.rate ?? 24000 } : { type: f.type, rate: 8000 }) : undefined,
    transcription: input?.transcription,
    turnDetection: input?.turn_detection,
    noiseReduction: input?.noise_reduction,
    include: s.include,
  });
}

const BETA_FORMATS = {
  pcm16: { type: 'audio/pcm', rate: 24000 },
  g711_ulaw: { type: 'audio/pcmu', rate: 8000 },
  g711_alaw: { type: 'audio/pcma', rate: 8000 },
} as const satisfies Record<string, RealtimeAudioFormat>;

/** Applies a beta `transcription_session.update` session object. */
export function applyBetaSession(current: RealtimeSessionConfig, s: z.output<typeof betaSessionSchema>): RealtimeSessionConfig {
  return merge(current, {
    format: s.input_audio_format ? BETA_FORMATS[s.input_audio_format] : undefined,
    transcription: s.input_audio_transcription,
    turnDetection: s.turn_detection,
    noiseReduction: s.input_audio_noise_reduction,
    include: s.include,
  });
}

function merge(
  current: RealtimeSessionConfig,
  u: {
    format?: RealtimeAudioFormat;
    transcription?: TranscriptionInput;
    turnDetection?: TurnDetectionInput;
    noiseReduction?: { type: 'near_field' | 'far_field' } | null;
    include?: string[];
  },
): RealtimeSessionConfig {
  const t = u.transcription;
  return {
    format: u.format ?? current.format,
    transcription:
      t === undefined
        ? current.transcription
        : {
            model: t?.model ?? current.transcription.model,
            ...(t?.language ? { language: t.language } : {}),
            ...(t?.prompt ? { prompt: t.prompt } : {}),
          },
    turnDetection:
      u.turnDetection === undefined
        ? current.turnDetection
        : u.turnDetection === null
          ? null
          : {
              type: u.turnDetection.type,
              threshold: u.turnDetection.threshold ?? DEFAULT_TURN_DETECTION.threshold,
              prefix_padding_ms: u.turnDetection.prefix_padding_ms ?? DEFAULT_TURN_DETECTION.prefix_padding_ms,
              silence_duration_ms: u.turnDetection.silence_duration_ms ?? DEFAULT_TURN_DETECTION.silence_duration_ms,
              idle_timeout_ms: u.turnDetection.idle_timeout_ms ?? null,
            },
    noiseReduction: u.noiseReduction === undefined ? current.noiseReduction : u.noiseReduction ? { type: u.noiseReduction.type } : null,
    include: u.include ?? current.include,
  };
}

/** The `session` object of GA `session.created` / `session.updated`. */
export function gaSessionObject(id: string, c: RealtimeSessionConfig): Record<string, unknown> {
  return {
    type: 'transcription',
    object: 'realtime.transcription_session',
    id,
    audio: {
      input: {
        format: c.format,
        transcription: { model: c.transcription.model, language: c.transcription.language ?? null, prompt: c.transcription.prompt ?? '' },
        turn_detection: c.turnDetection,
        noise_reduction: c.noiseReduction,
      },
    },
    include: c.include,
  };
}

/** The `session` object of beta `transcription_session.created` / `.updated`. */
export function betaSessionObject(id: string, c: RealtimeSessionConfig): Record<string, unknown> {
  const format = c.format.type === 'audio/pcmu' ? 'g711_ulaw' : c.format.type === 'audio/pcma' ? 'g711_alaw' : 'pcm16';
  return {
    id,
    object: 'realtime.transcription_session',
    modalities: ['text'],
    input_audio_format: format,
    input_audio_transcription: { model: c.transcription.model, language: c.transcription.language ?? null, prompt: c.transcription.prompt ?? '' },
    turn_detection: c.turnDetection,
    input_audio_noise_reduction: c.noiseReduction,
    include: c.include,
  };
}
