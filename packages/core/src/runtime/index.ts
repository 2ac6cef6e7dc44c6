export * from './create-runtime.js';
export * from './project-python.js';
