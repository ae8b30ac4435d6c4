// Reading and writing float32 arrays of the module's memory by index: the helpers every layer
// file uses (pointers are byte offsets).

@inline
export function f(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

@inline
export function setF(p: usize, i: i32, v: f32): void {
  store<f32>(p + (<usize>i << 2), v);
}

/** The byte offset of element i. */
@inline
export function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}
