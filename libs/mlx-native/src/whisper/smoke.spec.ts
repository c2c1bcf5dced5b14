import { core as mx } from '@frost-beta/mlx';
import { ensureWhisperFixtures, testHubDir } from '@mlx-omni/model-fixtures';
import { decodeAudioFile } from '../audio/decode-audio';
import { logMelSpectrogram } from '../audio/log-mel';
import { loadWhisper } from './load';
import { transcribe } from './transcribe';

it('smoke', async () => {
  let t = Date.now();
  const dirs = await ensureWhisperFixtures(testHubDir());
  console.log('fixtures', Date.now() - t);
  for (const [id, dir] of dirs) {
    t = Date.now();
    const whisper = await loadWhisper(dir, { hubCache: testHubDir() });
    console.log(id, 'load', Date.now() - t, whisper.weightBytes, whisper.model.alignmentHeads);
    const samples = await decodeAudioFile('/tmp/wsp/audio/hello.wav');
    t = Date.now();
    const mel = await logMelSpectrogram(samples, whisper.model.dims.nMels, { padding: 480000 });
    console.log('mel', Date.now() - t);
    t = Date.now();
    const w = mel.index(mx.Slice(0, 3000));
    const a = whisper.model.encode(w); mx.eval(a);
    console.log('encode', Date.now() - t);
    t = Date.now();
    const r = await whisper.decoder.decode(a, { task: 'transcribe', language: 'en', temperature: 0, prompt: [] });
    console.log('decode', Date.now() - t, r.tokens.length);
    t = Date.now();
    const gen = transcribe(whisper, samples, { task: 'transcribe', temperature: 0, wordTimestamps: true });
    for (;;) {
      const n = await gen.next();
      if (n.done) { console.log(n.value); break; }
      console.log(JSON.stringify(n.value).slice(0, 300));
    }
    console.log('transcribe', Date.now() - t);
  }
});
