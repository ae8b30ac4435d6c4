// The dataset preparers on tiny inputs, against what each is made of: espeak-ng's own WAV through
// the mu-law tokenizer, MIDI files through the event tokenizer; and the dataset folder format
// (round trip at each token width, a file cut short named with the fix).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDataset, loadDataset, midiEvents, prepareDataset, saveDataset, speak, splitTokens, VALIDATION_FRACTION, type Dataset } from '../../src/data/datasets.js';
import { gpt2Tokenizer, text8Tokenizer } from '../../src/tokenizers/index.js';
import { decodeNotes, encodeNotes, writeNotesMidi } from '../../src/tokenizers/midi.js';
import { MuLawTokenizer } from '../../src/tokenizers/mulaw.js';

const dir = mkdtempSync(join(tmpdir(), 'wavelet-gpt-datasets-'));

test('speak: espeak-ng WAV, mu-law at 16 kHz, voices one after another, the same every time', async () => {
  const tokens = await speak('Call me Ishmael.', ['en-us', 'en-gb']);
  const wav = join(dir, 'one.wav');
  execFileSync('espeak-ng', ['-v', 'en-gb', '-w', wav, 'Call me Ishmael.']);
  const second = (await MuLawTokenizer.create()).encodeWav(readFileSync(wav));
  assert.equal(Array.from(tokens.subarray(tokens.length - second.length)), Array.from(second), 'the second voice ends the sequence');
  assert.ok(tokens.length > 16000 * 0.5 && tokens.length < 16000 * 6, `${tokens.length} samples for two short sentences`);
  assert.equal(Array.from(await speak('Call me Ishmael.', ['en-us', 'en-gb'])), Array.from(tokens), 'deterministic');
});

test('midiEvents: every .mid of a folder in name order, each as the event tokenizer reads it', () => {
  const songs = join(dir, 'songs');
  execFileSync('mkdir', ['-p', songs]);
  const a = [{ pitch: 60, velocity: 80, start: 0, end: 0.5 }, { pitch: 64, velocity: 100, start: 0.25, end: 1 }];
  const b = [{ pitch: 40, velocity: 60, start: 0.1, end: 0.3 }];
  writeFileSync(join(songs, 'b.mid'), writeNotesMidi(b));
  writeFileSync(join(songs, 'a.mid'), writeNotesMidi(a));
  writeFileSync(join(songs, 'notes.txt'), 'not music');
  const events = midiEvents(songs);
  const [ea, eb] = [encodeNotes(a), encodeNotes(b)];
  assert.equal(Array.from(events), [...ea, ...eb]);
  assert.equal(decodeNotes(eb).map((n) => n.pitch), [40]);
  assert.throws(() => midiEvents(join(dir, 'nowhere')), /no such folder: .*apt-get install -y openttd-openmsx/);
});

test('splitTokens: the last tenth is validation', () => {
  const { train, validation } = splitTokens(Uint32Array.from({ length: 100 }, (_, i) => i));
  assert.is(train.length, 100 * (1 - VALIDATION_FRACTION));
  assert.is(validation[0], 90);
});

test('dataset folders: saved and loaded at 1, 2 and 4 bytes a token; cut short, a clear error', async () => {
  const text8 = await text8Tokenizer();
  const mulaw = await MuLawTokenizer.create();
  const bpe = await gpt2Tokenizer();
  const cases: [string, Dataset][] = [
    ['u8', { name: 'tiny-text8', symbol: 'character', source: 'test', tokenizer: text8, ...splitTokens(text8.encode('Call me Ishmael. Some years ago')) }],
    ['u16', { name: 'tiny-bpe', symbol: 'token', source: 'test', tokenizer: bpe, ...splitTokens(bpe.encode('Call me Ishmael. Some years ago, never mind how long')) }],
    ['u8 audio', { name: 'tiny-audio', symbol: 'sample', source: 'test', tokenizer: mulaw, ...splitTokens(Uint32Array.from({ length: 50 }, (_, i) => (i * 37) % 256)) }],
  ];
  for (const [what, dataset] of cases) {
    const folder = join(dir, what.replace(' ', '-'));
    saveDataset(folder, dataset);
    const back = await loadDataset(folder);
    assert.equal(Array.from(back.train), Array.from(dataset.train), `${what} train`);
    assert.equal(Array.from(back.validation), Array.from(dataset.validation), `${what} validation`);
    assert.equal(back.tokenizer.toJSON(), dataset.tokenizer.toJSON(), `${what} tokenizer`);
  }
  const bpeFolder = join(dir, 'u16');
  assert.is(readFileSync(join(bpeFolder, 'tokens.bin')).length, 2 * (cases[1][1].train.length + cases[1][1].validation.length));
  truncateSync(join(bpeFolder, 'tokens.bin'), 3);
  await loadDataset(bpeFolder).then(
    () => assert.unreachable('a cut file loaded'),
    (error: Error) => assert.match(error.message, /tokens\.bin: 3 bytes, expected \d+ \(cut short\?\); prepare it again with 'wavelet-gpt data'/),
  );
});

test('ensureDataset: a folder that no longer loads is prepared again', async () => {
  const folder = join(dir, 'moby');
  const first = await ensureDataset('text8-moby', folder);
  truncateSync(join(folder, 'tokens.bin'), 10);
  const again = await ensureDataset('text8-moby', folder);
  assert.is(again.train.length, first.train.length);
  assert.equal(Array.from(again.validation.subarray(0, 50)), Array.from(first.validation.subarray(0, 50)));
  assert.ok(Array.from(first.train.subarray(0, 1000)).every((t) => t < 27), 'text8: 27 symbols');
});

test('--dataset-size: taken by the datasets that have a size, refused by name by the others (it was silently ignored)', async () => {
  await prepareDataset('bpe-moby', { size: 1000 }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /--dataset-size: dataset 'bpe-moby' takes no size .*the datasets with one: speech \(characters read aloud, default 2,000\), listops \(expressions, default 10,000\), listops-short/));
  await prepareDataset('listops-short', { size: 0 }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /--dataset-size: expected a positive integer, found 0/));
  const small = await prepareDataset('listops-short', { size: 50 });
  assert.is((small.train.length + small.validation.length) / (small.exampleLength! + 1), 50);
});

test.run();
