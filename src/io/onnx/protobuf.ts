// The protobuf wire format, writing only: what ONNX files need (varints, length-delimited fields,
// 32-bit floats). ONNX's schema is fixed and small, so its few messages are written by hand here
// (onnx.ts) instead of taking a protobuf library and generated code into the package.

/** One message being written: fields in the order they are added. */
export class ProtoMessage {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }

  private key(field: number, wireType: 0 | 2 | 5): void {
    this.varintValue(BigInt((field << 3) | wireType));
  }

  private varintValue(value: bigint): void {
    // Negative int64s are written as their 64-bit two's complement, ten bytes (protobuf's rule).
    let v = BigInt.asUintN(64, value);
    const bytes: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v) byte |= 0x80;
      bytes.push(byte);
    } while (v);
    this.push(Uint8Array.from(bytes));
  }

  /** An integer field (int32, int64, enum), or one entry of a repeated one. */
  int(field: number, value: number | bigint): this {
    this.key(field, 0);
    this.varintValue(BigInt(value));
    return this;
  }

  ints(field: number, values: readonly (number | bigint)[]): this {
    for (const value of values) this.int(field, value);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.push(bytes);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.varintValue(BigInt(value.length));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, value: ProtoMessage): this {
    return this.bytes(field, value.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}
