import { fileURLToPath } from 'node:url';
import { jestPreset } from '../../jest.preset.js';

export default {
  ...jestPreset(import.meta.url),
  testEnvironment: fileURLToPath(new URL('./jest.environment.js', import.meta.url)),
};
