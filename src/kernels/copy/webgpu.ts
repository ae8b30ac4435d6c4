// Records a float copy with copy.wgsl (vec4 loads and stores): the bandwidth anchor for the
// WGSL kernels. Lengths must be multiples of 4 floats.

import { workgroupGrid } from '../../runtime/webgpu.js';
import { copyWgsl } from '../../generated/wgsl.js';

const WORKGROUP = 256;

export class WebGPUCopy {
  private readonly pipeline: GPUComputePipeline;
  constructor(readonly device: GPUDevice) {
    this.pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: copyWgsl }), entryPoint: 'copy_vec4' } });
  }

  encode(encoder: GPUCommandEncoder, source: GPUBuffer, target: GPUBuffer, floats: number): void {
    if (floats % 4 !== 0) throw new Error(`WebGPUCopy: ${floats} floats is not a multiple of 4`);
    const bindGroup = this.device.createBindGroup({
      layout: this.pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: source, size: floats * 4 } },
        { binding: 1, resource: { buffer: target, size: floats * 4 } },
      ],
    });
    const pass = encoder.beginComputePass();
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(...workgroupGrid(floats / 4, WORKGROUP));
    pass.end();
  }
}
