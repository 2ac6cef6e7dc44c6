// onnxruntime-node's native binding builds output tensors from typed arrays of the main V8 realm, while jest runs
// tests (and onnxruntime-common's `instanceof Float32Array` checks) in a separate vm realm. Sharing the
// main realm's typed-array constructors makes both sides agree; nothing else about the environment changes.
import NodeEnvironment from 'jest-environment-node';

const SHARED = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView',
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
];

export default class OnnxNodeEnvironment extends (NodeEnvironment.TestEnvironment ?? NodeEnvironment) {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}
