import sharp from 'sharp';
import type { ImageOutputFormat } from '@mlx-omni/jobs';

export const IMAGE_CONTENT_TYPES: Readonly<Record<ImageOutputFormat, string>> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };

/**
 * Encodes RGB pixels with sharp (libvips). `compression` is OpenAI's output_compression, 0-100, for
 * the lossy formats: it is the encoder's quality; PNG is lossless and ignores it.
 */
export function encodeImage(rgb: Uint8Array, width: number, height: number, format: ImageOutputFormat, compression: number): Promise<Buffer> {
  const image = sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), { raw: { width, height, channels: 3 } });
  switch (format) {
    case 'png':
      return image.png().toBuffer();
    case 'jpeg':
      return image.jpeg({ quality: Math.max(1, compression) }).toBuffer();
    case 'webp':
      return image.webp({ quality: Math.max(1, compression), lossless: compression === 100 }).toBuffer();
  }
}
