import { z } from 'zod';

/** The provider's name: the key users write in `asr.provider` and `providers.<name>`. */
export const PROVIDER_NAME = 'dtmf-example';

/** The plugin's slice of the EchoPanel config (`providers.dtmf-example`), validated and defaulted by the host. */
export const configSchema = z
  .object({
    /** Shortest tone that counts as a key press, ms. */
    minToneMs: z.number().int().min(20).max(500).default(40),
    /** Silence that ends an utterance (one final segment), seconds. */
    pauseSeconds: z.number().min(0.1).max(5).default(0.4),
  })
  .strict();

export type ProviderConfig = z.output<typeof configSchema>;
