// A turn of the event loop. Work that resolves in microtasks alone (a CPU backend's step, a
// generation loop) never lets the loop run: no signal handler, message or paint gets in until it
// ends. These give the loop a turn: setImmediate where it exists (Node, Bun), else a message to
// ourselves (browsers, workers, Deno: no 4 ms clamp as nested timers have), else a timer.

/** Resolves on the event loop's next turn, after the events already waiting. */
export function nextTurn(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (callback: () => void) => void }).setImmediate;
  if (immediate) return new Promise((resolve) => immediate(resolve));
  if (typeof MessageChannel === 'function') {
    // A channel a turn, closed once used: an open port with a listener would keep a runtime alive.
    const channel = new MessageChannel();
    return new Promise((resolve) => {
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Gives the loop a turn once `everyMs` of work have passed since the last: call it between units of work. */
export function turnsEvery(everyMs: number): () => Promise<void> | undefined {
  let last = performance.now();
  return () => {
    const now = performance.now();
    if (now - last < everyMs) return undefined;
    return nextTurn().then(() => {
      last = performance.now();
    });
  };
}
