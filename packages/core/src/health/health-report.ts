import { type ASRProvider, errorMessage, type Logger, type ProviderHealthReport } from '@echopanel/plugin-api';
import { z } from 'zod';
import { formatZodIssues } from '../config/format-zod-issues.js';

const bytes = z.number().int().nonnegative();

/** The plugin-api's {@link ProviderHealthReport}, checked where a plugin's answer enters the host. */
export const providerHealthReportSchema = z.strictObject({
  state: z.enum(['UNINITIALIZED', 'LOADING', 'WARMING_UP', 'READY', 'ERROR', 'UNLOADING']).optional(),
  modelResident: z.boolean().optional(),
  memory: z.strictObject({ workerRssBytes: bytes.optional(), modelResidentBytes: bytes.optional() }).optional(),
  workerPid: z.number().int().positive().optional(),
  restarts: z.number().int().nonnegative().optional(),
  extra: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Reads a plugin's optional `health()` report. A report that throws or does not match the contract is logged
 * once per provider (warn, with the plugin name and the first problem) and ignored: the host's own
 * measurements stand without it.
 */
export class HealthReportReader {
  private warned = false;

  constructor(
    private readonly provider: ASRProvider,
    private readonly logger: Logger,
  ) {}

  read(): ProviderHealthReport {
    if (!this.provider.health) return {};
    let raw: unknown;
    try {
      raw = this.provider.health();
    } catch (err) {
      this.warnOnce(`threw: ${errorMessage(err)}`);
      return {};
    }
    const parsed = providerHealthReportSchema.safeParse(raw);
    if (parsed.success) return parsed.data;
    this.warnOnce(formatZodIssues(parsed.error, 'health()', providerHealthReportSchema));
    return {};
  }

  private warnOnce(problem: string): void {
    if (this.warned) return;
    this.warned = true;
    this.logger.warn(
      { provider: this.provider.name, problem },
      `provider ${this.provider.name}: health() ${problem}; its report is ignored (the host measures timings and accounting itself)`,
    );
  }
}
