// Command-line flags declared once each (name, value, default, help): the parser (Node's util.parseArgs
// and the checks it lacks), the defaults and the usage text all read the declaration, so they cannot drift apart.

import { parseArgs } from 'node:util';
import { WaveletInputError } from '../errors.js';

export interface Flag {
  name: string;
  /** The value's placeholder in the usage (N, FILE, a|b|c). */
  value: string;
  help: string;
  /** Used when the flag is absent; none for flags that are optional or required by the command. */
  default?: string | number;
  /** How the value is read: a number (finite), an integer, a switch (`--x`; no value follows), or text (the default). */
  type?: 'number' | 'integer' | 'boolean';
  /** The values allowed, checked when given. */
  choices?: readonly string[];
  /** The least value of a number flag, checked when given. */
  min?: number;
  /** Words a number flag also takes (`--micro-batch auto`); string() reads them. */
  words?: readonly string[];
}

/** The flags given to one command, read through their declarations. */
export class Options {
  constructor(
    private readonly command: string,
    private readonly flags: Map<string, Flag>,
    private readonly given: Map<string, string>,
    /** The arguments that are not flags (files), for a command that takes them. */
    readonly positionals: readonly string[] = [],
  ) {}

  /** Whether the command has this flag at all (commands share readers of the flags they share). */
  declares(name: string): boolean {
    return this.flags.has(name);
  }

  has(name: string): boolean {
    this.flag(name); // a name not declared is a bug
    return this.given.has(name);
  }

  /** The text of a flag, or its default; undefined when neither. */
  string(name: string): string | undefined {
    const flag = this.flag(name);
    return this.given.get(name) ?? (flag.default === undefined ? undefined : String(flag.default));
  }

  number(name: string): number {
    const flag = this.flag(name);
    const text = this.string(name);
    if (text === undefined) throw new WaveletInputError(`${this.command}: --${name} is required`);
    return readNumber(flag, text);
  }

  /** A number flag that also takes words (`--threads 4`, `--threads auto`): the number, or the word given. */
  numberOrWord(name: string): number | string {
    const flag = this.flag(name);
    const text = this.string(name);
    return text !== undefined && flag.words?.includes(text) ? text : this.number(name);
  }

  /** A switch: given, or not. */
  boolean(name: string): boolean {
    const flag = this.flag(name);
    if (flag.type !== 'boolean') throw new Error(`${this.command}: --${name} is not a switch`); // a bug
    return (this.given.get(name) ?? String(flag.default ?? false)) === 'true';
  }

  /** The given values, by flag name (what the command was called with). */
  entries(): Record<string, string> {
    return Object.fromEntries(this.given);
  }

  private flag(name: string): Flag {
    const flag = this.flags.get(name);
    if (!flag) throw new Error(`${this.command}: no flag --${name} is declared`); // a bug, not a user's error
    return flag;
  }
}

/**
 * Reads the flags with Node's own parser (util.parseArgs: `--name value`, `--name=value`, switches,
 * `--name=-1` for a value starting with a dash), then checks what it cannot: every choice allowed,
 * every number a number within its bounds. Its errors become one line naming the command, with a
 * "did you mean" for a mistyped name.
 */
export function parseFlags(command: string, args: string[], flags: readonly Flag[], allowPositionals = false): Options {
  const byName = new Map(flags.map((f) => [f.name, f]));
  const declared = Object.fromEntries(flags.map((f) => [f.name, { type: f.type === 'boolean' ? ('boolean' as const) : ('string' as const) }]));
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args, options: declared, strict: true, allowPositionals }));
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const named = /'(-[^' ]*)/.exec(message)?.[1] ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const near = closest(named, flags.map((f) => f.name));
      throw new WaveletInputError(`${command}: unknown option '${named}'${near ? ` (did you mean --${near}?)` : ''}; \`wavelet-gpt ${command} --help\` lists them`);
    }
    const flag = byName.get(named.replace(/^--/, ''));
    if (flag?.type === 'boolean') throw new WaveletInputError(`${named}: a switch, given alone, without a value`);
    if (flag && /missing/.test(message)) throw new WaveletInputError(`${command}: option '${named}' needs a value (${flag.value})`);
    if (flag && /ambiguous/.test(message)) throw new WaveletInputError(`${command}: option '${named}' is followed by a dash; a value starting with one is written ${named}=VALUE`);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new WaveletInputError(`${command}: ${message.split('.')[0].toLowerCase()}; options are written --name value`);
    throw new WaveletInputError(`${command}: ${message.split('\n')[0]}`);
  }
  const given = new Map<string, string>();
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const flag = byName.get(name)!;
    const text = String(value);
    if (flag.choices && !flag.choices.includes(text)) throw new WaveletInputError(`--${name}: expected ${orList(flag.choices)}, found '${text}'`);
    // Numbers are checked now, before any work: a bad value found after an hour of training costs the hour.
    if ((flag.type === 'number' || flag.type === 'integer') && !flag.words?.includes(text)) readNumber(flag, text);
    given.set(name, text);
  }
  return new Options(command, byName, given, positionals);
}

/** A number flag's value, or an error naming the flag, what it expects and what it found. */
function readNumber(flag: Flag, text: string): number {
  const value = Number(text);
  const kind = flag.type === 'integer' ? 'an integer' : 'a number';
  const expected = `${kind}${flag.min !== undefined ? ` >= ${flag.min}` : ''}${flag.words ? ` or ${orList(flag.words)}` : ''}`;
  if (text.trim() === '' || !Number.isFinite(value) || (flag.type === 'integer' && !Number.isInteger(value)) || (flag.min !== undefined && value < flag.min)) {
    throw new WaveletInputError(`--${flag.name}: expected ${expected}, found '${text}'`);
  }
  return value;
}

/** The usage of a command: its synopsis and one line a flag, with defaults. */
export function flagsUsage(synopsis: string, summary: string, flags: readonly Flag[]): string {
  const width = Math.max(...flags.map((f) => (f.type === 'boolean' ? `--${f.name}` : `--${f.name} ${f.value}`).length));
  const lines = flags.map((f) => {
    const left = (f.type === 'boolean' ? `--${f.name}` : `--${f.name} ${f.value}`).padEnd(width);
    return `      ${left}  ${f.help}${f.default !== undefined ? ` (default ${f.default})` : ''}`;
  });
  return `  ${synopsis}\n${summary.replace(/^/gm, '        ')}\n${lines.join('\n')}`;
}

export function orList(values: readonly string[]): string {
  return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

/** The declared name nearest to a mistyped one (edit distance at most 2), if any. */
export function closest(name: string, names: string[]): string | undefined {
  const bare = name.replace(/^-+/, '').replace(/=.*/, '');
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of names) {
    const d = editDistance(bare, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}
