export * from './model-resolver.js';
export * from './ct2-to-ggml.js';
export * from './ggml-file.js';
export { melFilterbank } from './mel-filters.js';
