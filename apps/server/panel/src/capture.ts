/** A running capture of one MediaStream through the AudioWorklet. */
export interface Capture {
  readonly sampleRate: number;
  /** Stops the tracks and disconnects the worklet. */
  stop(): void;
}

const WORKLET_URL = new URL('./capture-worklet.js', import.meta.url);
const loaded = new WeakMap<AudioContext, Promise<void>>();

/**
 * Feeds `media`'s audio through the capture worklet: `onFrame` gets mono float frames of ~100 ms at the
 * context's rate; `onEnded` fires when the browser ends the source (the user stopped sharing, the device left).
 */
export async function startCapture(
  context: AudioContext,
  media: MediaStream,
  onFrame: (pcm: Float32Array) => void,
  onEnded: () => void,
): Promise<Capture> {
  if (!loaded.has(context)) loaded.set(context, context.audioWorklet.addModule(WORKLET_URL));
  await loaded.get(context);
  const input = context.createMediaStreamSource(media);
  const node = new AudioWorkletNode(context, 'echopanel-capture', {
    numberOfInputs: 1,
    numberOfOutputs: 1,
    channelCount: 1,
    channelCountMode: 'explicit',
    channelInterpretation: 'speakers',
  });
  node.port.onmessage = (e: MessageEvent<Float32Array>) => onFrame(e.data);
  input.connect(node);
  // Pulls the graph; the processor writes nothing to its output, so nothing is played back.
  node.connect(context.destination);
  // Any track ending ends the source: Chrome's "Stop sharing" ends the screen's video track with its audio.
  for (const t of media.getTracks()) t.addEventListener('ended', onEnded, { once: true });
  if (context.state === 'suspended') await context.resume();
  return {
    sampleRate: context.sampleRate,
    stop() {
      node.port.onmessage = null;
      input.disconnect();
      node.disconnect();
      for (const t of media.getTracks()) t.stop();
    },
  };
}

/** RMS level of a frame in dBFS (floor -100). */
export function frameLevelDb(pcm: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += pcm[i] * pcm[i];
  return 20 * Math.log10(Math.max(Math.sqrt(sum / Math.max(1, pcm.length)), 1e-5));
}
