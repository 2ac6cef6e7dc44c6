export * from './types.js';
export { runProviderConformance, createConformanceRun, conformanceReport, type ConformanceRun } from './run-conformance.js';
export { describeProviderConformance, type TestRegistrar } from './describe-conformance.js';
export { speechCorpus } from './corpus.js';
export { formatConformanceReport, formatCheckResult } from './format-report.js';
