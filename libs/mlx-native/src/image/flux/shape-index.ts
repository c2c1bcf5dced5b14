import { readSafetensorsHeader } from '../../io/safetensors';

/**
 * The logical shapes of a component's tensors under the names the model reads, from the safetensors
 * headers alone: for checkpoints that carry no config.json (mflux's saved format, BFL files), whose
 * dimensions are read off the tensors. A quantized module's packed width is unpacked with its bits.
 */
export class ShapeIndex {
  private constructor(private readonly shapes: ReadonlyMap<string, readonly number[]>) {}

  static async read(files: readonly string[], rename: (name: string) => string | undefined, bits: number | undefined): Promise<ShapeIndex> {
    const headers = (await Promise.all(files.map(readSafetensorsHeader))).flat();
    const named = new Map<string, readonly number[]>();
    for (const tensor of headers) {
      const name = rename(tensor.name);
      if (name !== undefined) {
        named.set(name, tensor.shape);
      }
    }
    const shapes = new Map(named);
    for (const [name, shape] of named) {
      const module = name.replace(/\.weight$/, '');
      if (name.endsWith('.weight') && named.has(`${module}.scales`) && bits !== undefined) {
        shapes.set(name, [...shape.slice(0, -1), (shape[shape.length - 1] * 32) / bits]);
      }
    }
    return new ShapeIndex(shapes);
  }

  has(name: string): boolean {
    return this.shapes.has(name);
  }

  /** The shape of `name`; throws naming the tensor when the checkpoint lacks it. */
  shape(name: string): readonly number[] {
    const shape = this.shapes.get(name);
    if (shape === undefined) {
      throw new Error(`the checkpoint has no tensor "${name}" to read its dimensions from`);
    }
    return shape;
  }

  dim(name: string, axis: number): number {
    const shape = this.shape(name);
    return shape[axis < 0 ? shape.length + axis : axis];
  }

  /** How many consecutive indices `i` from 0 have a tensor matching `pattern(i)` (block and layer counts). */
  count(pattern: (index: number) => string): number {
    let n = 0;
    while (this.shapes.has(pattern(n))) {
      n++;
    }
    return n;
  }

  names(): IterableIterator<string> {
    return this.shapes.keys();
  }
}
