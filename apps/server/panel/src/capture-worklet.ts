/**
 * AudioWorklet processor: collects the mono input (the node is set to one channel, so Web Audio downmixes) into
 * frames of about 100 ms and posts them to the page, which sends them as `pcm_f32le` at the context's rate.
 */
class CaptureProcessor extends AudioWorkletProcessor {
  private readonly frame = new Float32Array(Math.round(sampleRate / 10));
  private filled = 0;

  process(inputs: Float32Array[][]): boolean {
    const channel = inputs[0]?.[0];
    if (!channel) return true;
    let read = 0;
    while (read < channel.length) {
      const n = Math.min(channel.length - read, this.frame.length - this.filled);
      this.frame.set(channel.subarray(read, read + n), this.filled);
      this.filled += n;
      read += n;
      if (this.filled === this.frame.length) {
        const out = this.frame.slice();
        this.port.postMessage(out, [out.buffer]);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor('echopanel-capture', CaptureProcessor);
