import { melFilterbank } from './mel-filters.js';

describe('melFilterbank', () => {
  it('has Whisper’s shape: 80 or 128 mel rows over 201 FFT bins', () => {
    expect(melFilterbank()).toMatchObject({ nMels: 80, nBins: 201 });
    const m128 = melFilterbank({ nMels: 128 });
    expect(m128.data.length).toBe(128 * 201);
  });

  it('is a bank of non-negative triangles with Slaney area normalization', () => {
    const { data, nMels, nBins } = melFilterbank();
    let lastPeak = -1;
    for (let m = 0; m < nMels; m++) {
      const row = data.subarray(m * nBins, (m + 1) * nBins);
      expect(Math.min(...row)).toBeGreaterThanOrEqual(0);
      const peak = row.indexOf(Math.max(...row));
      // Peaks move up the spectrum (equal bins are allowed for the narrow low filters).
      expect(peak).toBeGreaterThanOrEqual(lastPeak);
      lastPeak = peak;
      // Rises to the peak, falls after it.
      for (let k = 1; k <= peak; k++) expect(row[k]).toBeGreaterThanOrEqual(row[k - 1]);
      for (let k = peak + 1; k < nBins; k++) expect(row[k]).toBeLessThanOrEqual(row[k - 1]);
    }
    // Slaney norm scales each triangle to unit area in Hz (height 2 / base width). Below 1 kHz the 80 filters are
    // spaced 37.2 Hz apart (base 74.5 Hz, peak 0.0268); the 40 Hz bins sample the first one at 0.0247.
    expect(Math.max(...data.subarray(0, nBins))).toBeCloseTo(0.0247, 3);
    const area = (m: number): number => data.subarray(m * nBins, (m + 1) * nBins).reduce((a, b) => a + b, 0) * (8000 / (nBins - 1));
    // Wide high filters (hundreds of Hz) are sampled finely enough by 40 Hz bins for the sum to approximate it.
    for (const m of [55, 65, 79]) expect(area(m)).toBeCloseTo(1, 1);
  });
});
