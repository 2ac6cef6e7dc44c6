// Whisper's mel filterbank: librosa.filters.mel(sr, n_fft, n_mels) with its defaults (Slaney mel scale,
// Slaney area normalization), which is what openai/whisper ships in mel_filters.npz. CTranslate2 models do not
// carry it, so the converter computes it.

const F_SP = 200 / 3;
const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
const LOG_STEP = Math.log(6.4) / 27;

function hzToMel(hz: number): number {
  return hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP : hz / F_SP;
}

function melToHz(mel: number): number {
  return mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL)) : F_SP * mel;
}

/** The filterbank as `nMels` rows of `nFft / 2 + 1` float32 weights, row-major. */
export function melFilterbank(options: { sampleRate?: number; nFft?: number; nMels?: number } = {}): {
  nMels: number;
  nBins: number;
  data: Float32Array;
} {
  const sampleRate = options.sampleRate ?? 16000;
  const nFft = options.nFft ?? 400;
  const nMels = options.nMels ?? 80;
  const nBins = Math.floor(nFft / 2) + 1;
  const fftFreqs = Array.from({ length: nBins }, (_, i) => (i * (sampleRate / 2)) / (nBins - 1));
  const maxMel = hzToMel(sampleRate / 2);
  const melF = Array.from({ length: nMels + 2 }, (_, i) => melToHz((i * maxMel) / (nMels + 1)));
  const data = new Float32Array(nMels * nBins);
  for (let m = 0; m < nMels; m++) {
    const lowerWidth = melF[m + 1] - melF[m];
    const upperWidth = melF[m + 2] - melF[m + 1];
    const enorm = 2 / (melF[m + 2] - melF[m]);
    for (let k = 0; k < nBins; k++) {
      const lower = (fftFreqs[k] - melF[m]) / lowerWidth;
      const upper = (melF[m + 2] - fftFreqs[k]) / upperWidth;
      // librosa stores the triangle in float32 before normalizing; mirror that rounding.
      data[m * nBins + k] = Math.fround(Math.max(0, Math.min(lower, upper))) * enorm;
    }
  }
  return { nMels, nBins, data };
}
