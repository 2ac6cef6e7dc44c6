import { formatSrt, formatText, formatVtt } from './subtitles.js';

const segs = [
  { text: ' Hello there. ', start: 0.5, end: 1.25, isFinal: true },
  { text: '  ', start: 2, end: 2.5, isFinal: true },
  { text: 'Second line', start: 3725.004, end: 3727.5, isFinal: true },
];

describe('subtitles', () => {
  it('srt and vtt with hour-long timestamps, blank segments left out', () => {
    expect(formatSrt(segs)).toBe('1\n00:00:00,500 --> 00:00:01,250\nHello there.\n\n2\n01:02:05,004 --> 01:02:07,500\nSecond line\n');
    expect(formatVtt(segs)).toBe('WEBVTT\n\n00:00:00.500 --> 00:00:01.250\nHello there.\n\n01:02:05.004 --> 01:02:07.500\nSecond line\n');
  });

  it('plain text: trimmed segments joined by spaces', () => {
    expect(formatText(segs)).toBe('Hello there. Second line');
  });
});
