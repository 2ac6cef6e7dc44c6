export * from './echopanel-error.js';
