export * from './ct2-to-ggml.js';
export * from './ct2-model-file.js';
export * from './ggml-file.js';
export { melFilterbank } from './mel-filters.js';
