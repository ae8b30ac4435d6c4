// What a benchmark ran on, in the report: the runtime and its version, the CPU (model where the
// runtime tells it, logical cores), memory, and the WebGPU adapter with its features and limits.
// Runs everywhere the suite does; what a runtime does not reveal (a browser hides the CPU's model)
// is null, not guessed.

import type { AdapterReport } from '../runtime/webgpu.js';
import { processorCount, threadsUnavailable } from '../runtime/wasm_threads.js';

export type RuntimeName = 'node' | 'deno' | 'bun' | 'browser' | 'workerd' | 'unknown';

export interface DeviceDescription {
  /** A short name for tables: given by the user, else made from the CPU or GPU and the runtime. */
  label: string;
  runtime: { name: RuntimeName; version: string | null; user_agent: string | null };
  os: { platform: string | null; arch: string | null; release: string | null };
  cpu: { model: string | null; logical_cores: number };
  memory_gib: number | null;
  /** The adapter the webgpu target used (null: none here, with the reason in `gpu_note`). */
  gpu: AdapterReport | null;
  gpu_note: string | null;
  /** Why wasm cannot run on more than one thread here (null: it can). */
  threads_note: string | null;
}

type Globals = { Deno?: { version?: { deno?: string } }; Bun?: { version?: string }; navigator?: { userAgent?: string; platform?: string; deviceMemory?: number; userAgentData?: { platform?: string } }; document?: unknown };

export function runtimeOf(): { name: RuntimeName; version: string | null; user_agent: string | null } {
  const g = globalThis as Globals;
  const agent = g.navigator?.userAgent ?? null;
  if (g.Deno?.version?.deno) return { name: 'deno', version: g.Deno.version.deno, user_agent: agent };
  if (g.Bun?.version) return { name: 'bun', version: g.Bun.version, user_agent: agent };
  if (agent === 'Cloudflare-Workers') return { name: 'workerd', version: null, user_agent: agent };
  if (typeof process !== 'undefined' && process.versions?.node) return { name: 'node', version: process.versions.node, user_agent: agent };
  if (agent) return { name: 'browser', version: browserVersion(agent), user_agent: agent };
  return { name: 'unknown', version: null, user_agent: null };
}

/** 'Chrome 131.0.6778.85' from a user agent, or null. */
function browserVersion(agent: string): string | null {
  const match = agent.match(/(Firefox|Edg|Chrome|Version)\/([\d.]+)/);
  if (!match) return null;
  const name = match[1] === 'Version' ? 'Safari' : match[1] === 'Edg' ? 'Edge' : match[1];
  return `${name} ${match[2]}`;
}

/** The machine: from node:os where the runtime has it (Node, Deno, Bun), else what the navigator says. */
async function machine(): Promise<Pick<DeviceDescription, 'os' | 'cpu' | 'memory_gib'>> {
  const cores = await processorCount();
  try {
    const os = await import('node:os');
    return {
      os: { platform: os.platform(), arch: os.arch(), release: os.release() },
      cpu: { model: os.cpus()[0]?.model?.trim() || null, logical_cores: cores },
      memory_gib: +(os.totalmem() / 2 ** 30).toFixed(1),
    };
  } catch {
    const nav = (globalThis as Globals).navigator;
    return {
      os: { platform: nav?.userAgentData?.platform ?? nav?.platform ?? null, arch: null, release: null },
      cpu: { model: null, logical_cores: cores },
      memory_gib: nav?.deviceMemory ?? null, // rounded by the browser, at most 8
    };
  }
}

export async function describeDevice(gpu: AdapterReport | null, gpuNote: string | null, label?: string): Promise<DeviceDescription> {
  const runtime = runtimeOf();
  const { os, cpu, memory_gib } = await machine();
  const hardware = gpu && !gpu.software ? gpu.description || gpu.device || gpu.vendor : cpu.model ?? `${cpu.logical_cores}-core CPU`;
  const runtimeName = runtime.name === 'browser' ? (runtime.version?.split(' ')[0] ?? 'browser') : runtime.name;
  return {
    label: label?.trim() || `${hardware} (${runtimeName})`,
    runtime,
    os,
    cpu,
    memory_gib,
    gpu,
    gpu_note: gpuNote,
    threads_note: threadsUnavailable() ?? null,
  };
}
