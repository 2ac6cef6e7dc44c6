# Test fixture: faster-whisper's own mel filterbank (librosa-equivalent numpy code), as JSON.
import json
import sys

from faster_whisper.feature_extractor import FeatureExtractor

n_mels = int(sys.argv[1])
fe = FeatureExtractor(feature_size=n_mels)
print(json.dumps([float(x) for x in fe.get_mel_filters(16000, 400, n_mels).reshape(-1)]))
