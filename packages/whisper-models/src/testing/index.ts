export * from './ct2-writer.js';
export * from './ggml-reader.js';
