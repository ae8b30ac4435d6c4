// MIDI as Music Transformer's event vocabulary (Oore et al., "This time with feeling"), 388 tokens:
//   0..127 NOTE_ON(pitch), 128..255 NOTE_OFF(pitch), 256..355 TIME_SHIFT(10 ms .. 1 s),
//   356..387 VELOCITY(bin of 4 MIDI velocities), sent only when the bin changes.
// Standard MIDI Files are parsed and written by the maintained `midi-file` package. Every channel
// is merged into one performance; the sustain pedal (CC 64 >= 64) holds notes as Music
// Transformer's preprocessing does: a note released under the pedal ends when the pedal lifts,
// or when the same pitch is struck again, whichever comes first.

import midiFile from 'midi-file';
import type { MidiData, MidiEvent } from 'midi-file';
import { TokenizerInputError } from '../errors.js';

export const NOTE_ON = 0;
export const NOTE_OFF = 128;
export const TIME_SHIFT = 256;
export const VELOCITY = 356;
export const MIDI_VOCAB_SIZE = 388;
const STEP_SECONDS = 0.01;
const MAX_SHIFT_STEPS = 100;
/**
 * The longest span encoded: 6 hours, so at most 21,600 time-shift tokens besides the notes'. A
 * file's tempo map lets 45 bytes declare years (one delta of 2^28 ticks at a tick a beat); such a
 * file is refused before its tokens are made, not expanded until the process runs out of memory.
 */
export const MAX_MIDI_SECONDS = 6 * 3600;
const VELOCITY_BINS = 32;
const SUSTAIN_PEDAL = 64;

export interface Note {
  pitch: number;
  velocity: number;
  /** Seconds. */
  start: number;
  end: number;
}

/** Ticks to seconds through the tempo map of all tracks (or SMPTE time division). */
function tickClock(data: MidiData): (tick: number) => number {
  const { ticksPerBeat, framesPerSecond, ticksPerFrame } = data.header;
  if (!ticksPerBeat) {
    if (!framesPerSecond || !ticksPerFrame) throw new TokenizerInputError('MIDI: the header gives neither ticks per beat nor SMPTE frames');
    return (tick) => tick / (framesPerSecond * ticksPerFrame);
  }
  const tempos: { tick: number; usPerBeat: number }[] = [];
  for (const track of data.tracks) {
    let tick = 0;
    for (const event of track) {
      tick += event.deltaTime;
      if (event.type === 'setTempo') tempos.push({ tick, usPerBeat: event.microsecondsPerBeat });
    }
  }
  tempos.sort((a, b) => a.tick - b.tick);
  // Seconds at each tempo change, so a tick converts in O(log n).
  const segments = [{ tick: 0, seconds: 0, usPerBeat: 500000 }];
  for (const { tick, usPerBeat } of tempos) {
    const last = segments[segments.length - 1];
    segments.push({ tick, seconds: last.seconds + ((tick - last.tick) * last.usPerBeat) / 1e6 / ticksPerBeat, usPerBeat });
  }
  return (tick) => {
    let lo = 0;
    let hi = segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segments[mid].tick <= tick) lo = mid;
      else hi = mid - 1;
    }
    const s = segments[lo];
    return s.seconds + ((tick - s.tick) * s.usPerBeat) / 1e6 / ticksPerBeat;
  };
}

export function parseMidiFile(bytes: Uint8Array, what = 'MIDI file'): MidiData {
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (tag(0) !== 'MThd') throw new TokenizerInputError(`${what}: not a Standard MIDI File (starts with ${JSON.stringify(tag(0))}, expected "MThd")`);
  // midi-file reads past a cut-off chunk without complaint: check every chunk's length first.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tracks = bytes.length >= 14 ? view.getUint16(10) : 0;
  let at = 0;
  for (let chunk = 0; chunk <= tracks; chunk++) {
    if (at + 8 > bytes.length) throw new TokenizerInputError(`${what}: truncated: ${tracks} tracks declared, chunk ${chunk} is missing`);
    const length = view.getUint32(at + 4);
    if (at + 8 + length > bytes.length) throw new TokenizerInputError(`${what}: truncated: chunk ${chunk} (${tag(at)}) declares ${length} bytes, ${bytes.length - at - 8} are there`);
    if (chunk > 0 && tag(at) === 'MTrk') checkTrackEvents(bytes, at + 8, at + 8 + length, `${what}: track ${chunk - 1}`);
    at += 8 + length;
  }
  try {
    return midiFile.parseMidi(bytes);
  } catch (error) {
    throw new TokenizerInputError(`${what}: cannot be parsed, truncated or corrupt (${(error as Error).message})`);
  }
}

/**
 * Walks a track's events as midi-file will read them, checking that every length read from the
 * file stays inside the track's chunk: a length running past it once sent midi-file's reader past
 * the end, where it looped until the heap ran out (a 160-byte file, uncatchable).
 */
function checkTrackEvents(bytes: Uint8Array, start: number, end: number, what: string): void {
  let at = start;
  const fail = (reason: string): never => {
    throw new TokenizerInputError(`${what}: ${reason} at byte ${at}; truncated or corrupt`);
  };
  const byte = () => (at < end ? bytes[at++] : fail('an event runs past the end of its chunk'));
  const varInt = () => {
    let value = 0;
    for (let k = 0; k < 4; k++) {
      const b = byte();
      value = value * 128 + (b & 0x7f);
      if (!(b & 0x80)) return value;
    }
    return fail('a variable-length number longer than 4 bytes');
  };
  const skip = (length: number) => (at + length <= end ? void (at += length) : fail(`a length of ${length} bytes runs past the end of its chunk`));
  let running: number | undefined;
  while (at < end) {
    varInt(); // delta time
    const status = byte();
    if (status === 0xff) {
      byte(); // meta type
      skip(varInt());
    } else if (status === 0xf0 || status === 0xf7) {
      skip(varInt());
    } else if (status >= 0xf0) {
      fail(`status byte 0x${status.toString(16)} is not an event`);
    } else if (status & 0x80) {
      running = status;
      skip((status >> 4) === 0xc || (status >> 4) === 0xd ? 1 : 2);
    } else {
      // running status: this byte is the first parameter
      if (running === undefined) fail('a running-status event before any status byte');
      skip((running! >> 4) === 0xc || (running! >> 4) === 0xd ? 0 : 1);
    }
  }
}

/** The notes of a MIDI file, in seconds, with the sustain pedal applied. */
export function notesOf(data: MidiData): Note[] {
  const seconds = tickClock(data);
  const timeline: { tick: number; event: MidiEvent; order: number }[] = [];
  data.tracks.forEach((track) => {
    let tick = 0;
    for (const event of track) {
      tick += event.deltaTime;
      timeline.push({ tick, event, order: timeline.length });
    }
  });
  timeline.sort((a, b) => a.tick - b.tick || a.order - b.order);
  const notes: Note[] = [];
  const sounding = new Map<string, Note>(); // channel:pitch -> note held by a key
  const sustained = new Map<string, Note>(); // released under the pedal, still sounding
  const pedal = new Set<number>();
  const end = (key: string, note: Note | undefined, at: number) => {
    if (!note) return;
    note.end = Math.max(note.start, at);
    notes.push(note);
    sounding.delete(key);
    sustained.delete(key);
  };
  for (const { tick, event } of timeline) {
    const at = seconds(tick);
    if (event.type === 'noteOn' && event.velocity > 0) {
      const key = `${event.channel}:${event.noteNumber}`;
      end(key, sounding.get(key) ?? sustained.get(key), at); // a re-strike ends the note before it
      sounding.set(key, { pitch: event.noteNumber, velocity: event.velocity, start: at, end: at });
    } else if (event.type === 'noteOff' || event.type === 'noteOn') {
      const key = `${event.channel}:${event.noteNumber}`;
      const note = sounding.get(key);
      if (!note) continue;
      if (pedal.has(event.channel)) {
        sounding.delete(key);
        sustained.set(key, note);
      } else end(key, note, at);
    } else if (event.type === 'controller' && event.controllerType === SUSTAIN_PEDAL) {
      if (event.value >= 64) pedal.add(event.channel);
      else if (pedal.delete(event.channel)) {
        for (const [key, note] of [...sustained]) if (key.startsWith(`${event.channel}:`)) end(key, note, at);
      }
    }
  }
  const last = timeline.length ? seconds(timeline[timeline.length - 1].tick) : 0;
  for (const [key, note] of [...sounding, ...sustained]) end(key, note, last);
  return notes.sort((a, b) => a.start - b.start || a.pitch - b.pitch);
}

const velocityBin = (velocity: number) => Math.min(VELOCITY_BINS - 1, Math.floor((velocity * VELOCITY_BINS) / 128));

/**
 * Notes to tokens, on the 10 ms grid. Tokens name a pitch, not a channel, so first the notes are
 * made what tokens can say: each lasts at least one step, and a pitch struck while it still
 * sounds ends the note before (two onsets of one pitch on one step keep the last). Then events
 * in time order, releases before onsets at the same step. This makes decode then encode exact.
 */
export function encodeNotes(notes: Note[], what = 'MIDI'): Uint32Array {
  const span = notes.reduce((longest, note) => Math.max(longest, note.end), 0);
  if (!(span <= MAX_MIDI_SECONDS)) {
    throw new TokenizerInputError(`${what}: its notes span ${Number.isFinite(span) ? `${Math.round(span).toLocaleString('en')} s` : span}; at most ${MAX_MIDI_SECONDS.toLocaleString('en')} s (6 hours) is encoded (a damaged tempo map or timing?)`);
  }
  const quantised = notes
    .map((note) => {
      const on = Math.round(note.start / STEP_SECONDS);
      return { pitch: note.pitch, velocity: note.velocity, on, off: Math.max(on + 1, Math.round(note.end / STEP_SECONDS)) };
    })
    .sort((a, b) => a.pitch - b.pitch || a.on - b.on);
  const kept: typeof quantised = [];
  for (const note of quantised) {
    const previous = kept[kept.length - 1];
    if (previous && previous.pitch === note.pitch && previous.off > note.on) {
      if (previous.on === note.on) kept.pop();
      else previous.off = note.on;
    }
    kept.push(note);
  }
  const events: { step: number; off: boolean; pitch: number; velocity: number }[] = [];
  for (const note of kept) {
    events.push({ step: note.on, off: false, pitch: note.pitch, velocity: note.velocity });
    events.push({ step: note.off, off: true, pitch: note.pitch, velocity: note.velocity });
  }
  events.sort((a, b) => a.step - b.step || Number(b.off) - Number(a.off) || a.pitch - b.pitch);
  const tokens: number[] = [];
  let step = 0;
  let bin = -1;
  for (const event of events) {
    while (event.step > step) {
      const shift = Math.min(MAX_SHIFT_STEPS, event.step - step);
      tokens.push(TIME_SHIFT + shift - 1);
      step += shift;
    }
    if (event.off) {
      tokens.push(NOTE_OFF + event.pitch);
      continue;
    }
    const b = velocityBin(event.velocity);
    if (b !== bin) tokens.push(VELOCITY + b);
    bin = b;
    tokens.push(NOTE_ON + event.pitch);
  }
  return Uint32Array.from(tokens);
}

/** Tokens to notes. A NOTE_OFF with no sounding note is ignored; notes still on at the end stop there. */
export function decodeNotes(ids: ArrayLike<number>): Note[] {
  const notes: Note[] = [];
  const sounding = new Map<number, Note>();
  let seconds = 0;
  let velocity = 64;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= MIDI_VOCAB_SIZE) throw new TokenizerInputError(`MIDI decode: token ${i} is ${id}, expected an integer in 0..${MIDI_VOCAB_SIZE - 1}`);
    if (id < NOTE_OFF) {
      const old = sounding.get(id);
      if (old) notes.push({ ...old, end: seconds });
      sounding.set(id, { pitch: id, velocity, start: seconds, end: seconds });
    } else if (id < TIME_SHIFT) {
      const note = sounding.get(id - NOTE_OFF);
      if (note) notes.push({ ...note, end: seconds });
      sounding.delete(id - NOTE_OFF);
    } else if (id < VELOCITY) {
      seconds += (id - TIME_SHIFT + 1) * STEP_SECONDS;
    } else {
      velocity = (id - VELOCITY) * 4 + 2; // the middle of the bin
    }
  }
  for (const note of sounding.values()) notes.push({ ...note, end: seconds });
  return notes.sort((a, b) => a.start - b.start || a.pitch - b.pitch);
}

/**
 * Notes to a format-0 Standard MIDI File: 1000 ticks a second (500 ticks a beat at 120 bpm),
 * so the 10 ms grid is exact.
 */
export function writeNotesMidi(notes: Note[]): Uint8Array {
  const events: { tick: number; on: boolean; note: Note }[] = [];
  for (const note of notes) {
    events.push({ tick: Math.round(note.start * 1000), on: true, note });
    events.push({ tick: Math.round(note.end * 1000), on: false, note });
  }
  events.sort((a, b) => a.tick - b.tick || Number(a.on) - Number(b.on));
  const track: MidiEvent[] = [{ deltaTime: 0, meta: true, type: 'setTempo', microsecondsPerBeat: 500000 }];
  let tick = 0;
  for (const { tick: at, on, note } of events) {
    track.push({ deltaTime: at - tick, channel: 0, type: on ? 'noteOn' : 'noteOff', noteNumber: note.pitch, velocity: on ? note.velocity : 0 });
    tick = at;
  }
  track.push({ deltaTime: 0, meta: true, type: 'endOfTrack' });
  return Uint8Array.from(midiFile.writeMidi({ header: { format: 0, numTracks: 1, ticksPerBeat: 500 }, tracks: [track] }));
}

export class MidiTokenizer {
  readonly kind = 'midi';
  readonly vocabSize = MIDI_VOCAB_SIZE;

  encode(bytes: Uint8Array, what?: string): Uint32Array {
    return encodeNotes(notesOf(parseMidiFile(bytes, what)), what);
  }

  decode(ids: ArrayLike<number>): Uint8Array {
    return writeNotesMidi(decodeNotes(ids));
  }

  toJSON() {
    return { type: 'midi' as const };
  }
}
