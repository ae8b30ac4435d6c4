// MIDI events: real files from Debian's openttd-openmsx, and files written here with midi-file,
// whose note times the test computes itself from the tempo map.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import midiFile from 'midi-file';
import type { MidiEvent } from 'midi-file';
import { TokenizerInputError } from '../../src/errors.js';
import { MidiTokenizer, decodeNotes, notesOf, parseMidiFile } from '../../src/tokenizers/index.js';
import { NOTE_OFF, TIME_SHIFT, VELOCITY } from '../../src/tokenizers/midi.js';
import { seededRandom } from '../helpers.js';

const OPENMSX = '/usr/share/games/openttd/baseset/openmsx';

test('real files (openttd-openmsx): parse, and tokens -> MIDI -> tokens is stable', () => {
  const files = readdirSync(OPENMSX).filter((f) => f.endsWith('.mid'));
  assert.ok(files.length >= 20, `${files.length} MIDI files in ${OPENMSX} (Debian package openttd-openmsx)`);
  const tokenizer = new MidiTokenizer();
  for (const file of files) {
    const tokens = tokenizer.encode(readFileSync(`${OPENMSX}/${file}`), file);
    assert.ok(tokens.length > 100, `${file}: ${tokens.length} tokens`);
    assert.ok(tokens.every((t) => t < 388));
    const again = tokenizer.encode(tokenizer.decode(tokens));
    assert.equal(Array.from(again), Array.from(tokens), `${file} stable`);
  }
});

test('note timing survives within 10 ms through tempo changes, with two tracks', () => {
  const random = seededRandom(4);
  const ticksPerBeat = 480;
  const tempos = [{ tick: 0, us: 500000 }, { tick: 4 * 480, us: 300000 }, { tick: 9 * 480, us: 750000 }];
  const secondsAt = (tick: number) => {
    let s = 0;
    for (let i = 0; i < tempos.length; i++) {
      const end = i + 1 < tempos.length ? Math.min(tick, tempos[i + 1].tick) : tick;
      if (end > tempos[i].tick) s += ((end - tempos[i].tick) * tempos[i].us) / 1e6 / ticksPerBeat;
    }
    return s;
  };
  const conductor: MidiEvent[] = [];
  let last = 0;
  for (const { tick, us } of tempos) {
    conductor.push({ deltaTime: tick - last, meta: true, type: 'setTempo', microsecondsPerBeat: us });
    last = tick;
  }
  conductor.push({ deltaTime: 0, meta: true, type: 'endOfTrack' });
  const expected: { pitch: number; start: number; end: number }[] = [];
  const raw: { tick: number; on: boolean; pitch: number; velocity: number }[] = [];
  for (let k = 0; k < 60; k++) {
    const start = Math.floor(random() * 14 * 480);
    const pitch = 40 + k; // distinct pitches: no overlaps to resolve
    const end = start + 60 + Math.floor(random() * 600);
    const velocity = 20 + Math.floor(random() * 100);
    raw.push({ tick: start, on: true, pitch, velocity }, { tick: end, on: false, pitch, velocity });
    expected.push({ pitch, start: secondsAt(start), end: secondsAt(end) });
  }
  raw.sort((a, b) => a.tick - b.tick);
  const notesTrack: MidiEvent[] = [];
  last = 0;
  for (const e of raw) {
    notesTrack.push({ deltaTime: e.tick - last, channel: 1, type: e.on ? 'noteOn' : 'noteOff', noteNumber: e.pitch, velocity: e.on ? e.velocity : 64 });
    last = e.tick;
  }
  notesTrack.push({ deltaTime: 0, meta: true, type: 'endOfTrack' });
  const bytes = Uint8Array.from(midiFile.writeMidi({ header: { format: 1, numTracks: 2, ticksPerBeat }, tracks: [conductor, notesTrack] }));
  const tokenizer = new MidiTokenizer();
  const decoded = notesOf(parseMidiFile(tokenizer.decode(tokenizer.encode(bytes))));
  assert.is(decoded.length, expected.length);
  for (const note of expected) {
    const found = decoded.find((d) => d.pitch === note.pitch)!;
    assert.ok(Math.abs(found.start - note.start) <= 0.01, `pitch ${note.pitch} onset ${found.start} vs ${note.start}`);
    assert.ok(Math.abs(found.end - note.end) <= 0.01, `pitch ${note.pitch} release ${found.end} vs ${note.end}`);
  }
});

test('vocabulary: shifts of at most 1 s, velocity only when its bin changes, the sustain pedal holds notes', () => {
  const track: MidiEvent[] = [
    { deltaTime: 0, meta: true, type: 'setTempo', microsecondsPerBeat: 500000 },
    { deltaTime: 0, channel: 0, type: 'noteOn', noteNumber: 60, velocity: 100 },
    { deltaTime: 0, channel: 0, type: 'noteOn', noteNumber: 64, velocity: 101 }, // same bin: no new VELOCITY
    { deltaTime: 0, channel: 0, type: 'controller', controllerType: 64, value: 127 },
    { deltaTime: 250, channel: 0, type: 'noteOff', noteNumber: 60, velocity: 0 }, // 0.25 s (1 ms a tick), under the pedal
    { deltaTime: 1250, channel: 0, type: 'controller', controllerType: 64, value: 0 }, // pedal up at 1.5 s
    { deltaTime: 0, channel: 0, type: 'noteOff', noteNumber: 64, velocity: 0 },
    { deltaTime: 0, meta: true, type: 'endOfTrack' },
  ];
  const bytes = Uint8Array.from(midiFile.writeMidi({ header: { format: 0, numTracks: 1, ticksPerBeat: 500 }, tracks: [track] }));
  const tokens = Array.from(new MidiTokenizer().encode(bytes));
  assert.equal(tokens, [VELOCITY + 25, 60, 64, TIME_SHIFT + 99, TIME_SHIFT + 49, NOTE_OFF + 60, NOTE_OFF + 64]);
  assert.equal(decodeNotes(tokens).map((n) => [n.pitch, n.start, +n.end.toFixed(6)]), [[60, 0, 1.5], [64, 0, 1.5]]);
});

test('bad input: a truncated file, a file that is not MIDI, tokens out of range', () => {
  const tokenizer = new MidiTokenizer();
  const file = readFileSync(`${OPENMSX}/${readdirSync(OPENMSX).find((f) => f.endsWith('.mid'))}`);
  assert.throws(() => tokenizer.encode(file.subarray(0, file.length / 2), 'half.mid'), (e: Error) => e instanceof TokenizerInputError && /half.mid: truncated: chunk \d+ \(MTrk\) declares \d+ bytes/.test(e.message));
  assert.throws(() => tokenizer.encode(new TextEncoder().encode('RIFF....WAVE'), 'sound.wav'), /sound.wav: not a Standard MIDI File \(starts with "RIFF"/);
  assert.throws(() => tokenizer.decode([12, 388]), /token 1 is 388, expected an integer in 0..387/);
});

/** A Standard MIDI File of one track with the given event bytes (the end-of-track event added). */
function smf(division: number, events: number[]): Uint8Array {
  const track = [...events, 0x00, 0xff, 0x2f, 0x00];
  const u32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return Uint8Array.from([0x4d, 0x54, 0x68, 0x64, ...u32(6), 0, 0, 0, 1, (division >> 8) & 255, division & 255, 0x4d, 0x54, 0x72, 0x6b, ...u32(track.length), ...track]);
}

test('a file whose timing declares years is refused with the bound, before its tokens are made', () => {
  // 51 bytes: a note held for 2^28 - 1 ticks at one tick a beat (0.5 s): 4 years, 1.3e8 time shifts
  const years = smf(1, [0x00, 0x90, 60, 100, 0xff, 0xff, 0xff, 0x7f, 0x80, 60, 0]);
  assert.throws(() => new MidiTokenizer().encode(years, 'years.mid'), (e: Error) => e instanceof TokenizerInputError && /years.mid: its notes span 134,217,728 s; at most 21,600 s \(6 hours\) is encoded/.test(e.message));
  // the same note for 5 hours is music, and encodes
  const hours = smf(1, [0x00, 0x90, 60, 100, 0x82, 0x99, 0x20, 0x80, 60, 0]); // 36,000 ticks: 18,000 s
  const tokens = new MidiTokenizer().encode(hours);
  assert.ok(Math.abs(decodeNotes(tokens)[0].end - 18000) < 0.01, 'the note ends at 18,000 s');
});

test('a track whose event lengths run past its chunk is refused before midi-file reads it (this file once ran the heap out)', () => {
  // random file 1401 of the fuzz below, found when it grew from 300 files to 3,000
  const body = [61, 216, 12, 74, 225, 214, 30, 252, 242, 76, 219, 191, 239, 46, 81, 63, 44, 20, 181, 191, 252, 141, 103, 233, 237, 54, 250, 141, 116, 121, 131, 1, 255, 101, 159, 229, 172, 248, 36, 124, 58, 201, 83, 30, 67, 186, 110, 208, 169, 191, 126, 146, 62, 111, 38, 72, 249, 175, 52, 137, 249, 95, 216, 55, 183, 110, 221, 176, 97, 245, 170, 243, 176, 40, 176, 216, 146, 4, 73, 248, 164, 120, 233, 226, 25, 113, 53, 112, 218, 168, 220, 93, 176, 121];
  assert.throws(() => new MidiTokenizer().encode(smf(78, body), 'heap.mid'), (e: Error) => e instanceof TokenizerInputError && /heap.mid: track 0: .* at byte \d+; truncated or corrupt/.test(e.message));
  // a meta event declaring 2^28 bytes in a 20-byte track
  assert.throws(() => new MidiTokenizer().encode(smf(96, [0x00, 0xff, 0x01, 0xff, 0xff, 0xff, 0x7f, 0x41]), 'long.mid'), /long.mid: track 0: a length of 268435455 bytes runs past the end of its chunk/);
});

test('random track bodies (seeded, 3,000 files): each gives tokens or a clear error', () => {
  const random = seededRandom(18);
  const tokenizer = new MidiTokenizer();
  for (let n = 0; n < 3000; n++) {
    const body = Array.from({ length: 8 + Math.floor(random() * 120) }, () => Math.floor(random() * 256));
    const division = 1 + Math.floor(random() * 960);
    try {
      const tokens = tokenizer.encode(smf(division, body), `random${n}.mid`);
      assert.ok(tokens.every((t) => t < 388), `random${n}: tokens in the vocabulary`);
    } catch (error) {
      assert.ok(error instanceof TokenizerInputError, `random${n}: ${(error as Error).stack}`);
    }
  }
});

test.run();
